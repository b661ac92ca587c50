//! The documents a project needs to enter the statistics database (入库资料,
//! DOMAIN.md "Entering the statistics database"), by project kind: the
//! checklists a sector service is configured with, published in its catalog
//! (so the aggregator and front ends read the same lists), and which
//! documents of its checklist a project still lacks.

use citydash_proto::v1;

/// The default checklist (DOMAIN.md): approval or filing document,
/// construction contract, dated site photos, business licence of the
/// building unit. The format of `--readiness-checklists`: checklists
/// separated by `;`, each `kind:code=名称,code=名称`, the one without a kind
/// the default.
pub const DEFAULT: &str = "approval=立项审批或备案文件,construction_contract=施工合同,site_photos=带日期的现场照片,business_licence=建设单位营业执照";

/// The checklists of one sector, by project kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Checklists(Vec<v1::ReadinessChecklist>);

impl Default for Checklists {
    fn default() -> Self {
        Self::parse(DEFAULT).expect("the default checklist parses")
    }
}

impl Checklists {
    /// Parses the `--readiness-checklists` format (see [`DEFAULT`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lists: Vec<v1::ReadinessChecklist> = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, docs) = match part.split_once(':') {
                Some((kind, docs)) => (kind.trim(), docs),
                None => ("", part),
            };
            if lists.iter().any(|l| l.project_kind == kind) {
                return Err(format!("checklist {kind:?} given twice"));
            }
            let mut documents = Vec::new();
            for doc in docs.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                let (code, name) = doc
                    .split_once('=')
                    .ok_or_else(|| format!("{doc:?}: expected code=名称"))?;
                let (code, name) = (code.trim(), name.trim());
                if code.is_empty()
                    || name.is_empty()
                    || documents.iter().any(|d: &v1::ReadinessDocument| d.code == code)
                {
                    return Err(format!("{doc:?}: a document needs a code of its own and a name"));
                }
                documents.push(v1::ReadinessDocument {
                    code: code.to_owned(),
                    name_zh: name.to_owned(),
                });
            }
            if documents.is_empty() {
                return Err(format!("checklist {kind:?} has no documents"));
            }
            lists.push(v1::ReadinessChecklist {
                project_kind: kind.to_owned(),
                documents,
            });
        }
        if !lists.iter().any(|l| l.project_kind.is_empty()) {
            return Err("no default checklist (one without a kind)".to_owned());
        }
        Ok(Self(lists))
    }

    /// The checklists a catalog publishes (the default when it has none).
    pub fn from_catalog(lists: &[v1::ReadinessChecklist]) -> Self {
        if lists.iter().any(|l| l.project_kind.is_empty()) {
            Self(lists.to_vec())
        } else {
            Self::default()
        }
    }

    /// Every checklist, the default among them.
    pub fn all(&self) -> &[v1::ReadinessChecklist] {
        &self.0
    }

    /// The checklist of project kind `kind`; `None` for a kind not configured.
    pub fn of_kind(&self, kind: &str) -> Option<&v1::ReadinessChecklist> {
        self.0.iter().find(|l| l.project_kind == kind)
    }

    /// The documents of `p`'s checklist it does not have, in checklist order
    /// (a kind not configured reads the default checklist).
    pub fn missing<'a>(&'a self, p: &v1::Project) -> Vec<&'a v1::ReadinessDocument> {
        let list = self
            .of_kind(&p.kind)
            .or_else(|| self.of_kind(""))
            .map_or(&[][..], |l| &l.documents[..]);
        list.iter()
            .filter(|d| !p.readiness.iter().any(|i| i.code == d.code && i.present))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklists_parse_and_name_what_is_missing() {
        let lists = Checklists::parse(&format!("{DEFAULT};farm:land_lease=土地流转合同")).expect("parses");
        assert_eq!(lists.all().len(), 2);
        let mut p = v1::Project {
            readiness: vec![
                v1::ReadinessItem {
                    code: "approval".into(),
                    present: true,
                },
                v1::ReadinessItem {
                    code: "site_photos".into(),
                    present: false,
                },
            ],
            ..Default::default()
        };
        let codes: Vec<&str> = lists.missing(&p).iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["construction_contract", "site_photos", "business_licence"]);
        p.kind = "farm".into();
        assert_eq!(lists.missing(&p).len(), 1);
        assert!(Checklists::parse("farm:x=甲").is_err(), "no default");
        assert!(Checklists::parse("a=甲,a=乙").is_err(), "a code twice");
        assert!(Checklists::parse("a").is_err(), "no name");
    }
}
