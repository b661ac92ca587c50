//! Responsible units (责任单位) are data (DOMAIN.md): the city's administrator
//! registers each unit once (code, names, aliases, parent), on the city
//! engine the aggregator hosts. Every engine keeps a [`UnitDirectory`], the
//! registry as last read, refreshed before a write that names a unit when it
//! is more than a second old; a push naming a unit by name, short name or
//! alias stores its code, and an unknown or retired name is refused with the
//! closest registered names. An engine with no registry to read (a sector
//! run on its own, for development) keeps units as pushed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use citydash_proto::v1;
use futures::future::BoxFuture;

use crate::validate::Item;

/// How old the registry may be before a write that names a unit reads it again.
pub const REFRESH_AFTER: Duration = Duration::from_secs(1);

/// The registry as last read: units by code, and every name, short name and
/// alias to its unit's code.
#[derive(Debug, Clone, Default)]
pub struct Units {
    by_code: HashMap<String, v1::ResponsibleUnit>,
    by_name: HashMap<String, String>,
}

/// How a unit a push names resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A registered unit's code.
    Code(String),
    /// A unit that was retired, by its name.
    Retired(String),
    /// No unit of that name; the closest registered names.
    Unknown(Vec<String>),
}

/// Every name a unit may be pushed by: its code, full name, short names and aliases.
pub(crate) fn spellings(u: &v1::ResponsibleUnit) -> impl Iterator<Item = &str> {
    [u.code.as_str(), u.name_zh.as_str()]
        .into_iter()
        .chain(u.short_names.iter().map(String::as_str))
        .chain(u.aliases.iter().map(String::as_str))
        .filter(|s| !s.trim().is_empty())
}

impl Units {
    /// The registry of `units`.
    pub fn new(units: impl IntoIterator<Item = v1::ResponsibleUnit>) -> Self {
        let mut out = Self::default();
        for u in units {
            out.insert(u);
        }
        out
    }

    /// Adds or replaces one unit (its old names go).
    pub fn insert(&mut self, u: v1::ResponsibleUnit) {
        if let Some(old) = self.by_code.remove(&u.code) {
            for s in spellings(&old) {
                if self.by_name.get(s.trim()) == Some(&old.code) {
                    self.by_name.remove(s.trim());
                }
            }
        }
        for s in spellings(&u) {
            self.by_name.insert(s.trim().to_owned(), u.code.clone());
        }
        self.by_code.insert(u.code.clone(), u);
    }

    /// Whether no unit is registered: pushes then keep units as written.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// Every registered unit, in no order.
    pub fn all(&self) -> impl Iterator<Item = &v1::ResponsibleUnit> {
        self.by_code.values()
    }

    /// The unit of `code`, if registered.
    pub fn get(&self, code: &str) -> Option<&v1::ResponsibleUnit> {
        self.by_code.get(code)
    }

    /// The unit `text` names (code, name, short name or alias), if any.
    pub fn find(&self, text: &str) -> Option<&v1::ResponsibleUnit> {
        self.by_name.get(text.trim()).and_then(|c| self.by_code.get(c))
    }

    /// The name every view shows for `code`: the registered name, else `code` as stored.
    pub fn name<'a>(&'a self, code: &'a str) -> &'a str {
        self.by_code.get(code).map_or(code, |u| u.name_zh.as_str())
    }

    /// How a push naming `text` resolves.
    pub fn resolve(&self, text: &str) -> Resolved {
        match self.find(text) {
            Some(u) if u.retired => Resolved::Retired(u.name_zh.clone()),
            Some(u) => Resolved::Code(u.code.clone()),
            None => {
                let names = self.by_code.values().filter(|u| !u.retired).flat_map(|u| {
                    [u.name_zh.as_str()]
                        .into_iter()
                        .chain(u.short_names.iter().map(String::as_str))
                });
                let near = citydash_runtime::suggest::closest(text.trim(), names, 3);
                let mut named: Vec<String> = Vec::new();
                for n in near {
                    if let Some(u) = self.find(n)
                        && !named.contains(&u.name_zh)
                    {
                        named.push(u.name_zh.clone());
                    }
                }
                Resolved::Unknown(named)
            }
        }
    }
}

/// Reads the whole registry (every unit, retired ones included).
pub type Loader = Arc<dyn Fn() -> BoxFuture<'static, Result<Vec<v1::ResponsibleUnit>, String>> + Send + Sync>;

/// An engine's view of the registry: the units as last read, and how to read them again.
pub struct UnitDirectory {
    current: RwLock<Arc<Units>>,
    loaded: Mutex<Option<Instant>>,
    stale: std::sync::atomic::AtomicBool,
    loader: Option<Loader>,
}

impl std::fmt::Debug for UnitDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitDirectory")
            .field("units", &self.current().by_code.len())
            .field("configured", &self.loader.is_some())
            .finish()
    }
}

impl UnitDirectory {
    /// No registry: units are kept as pushed.
    pub fn none() -> Self {
        Self {
            current: RwLock::new(Arc::new(Units::default())),
            loaded: Mutex::new(None),
            stale: std::sync::atomic::AtomicBool::new(false),
            loader: None,
        }
    }

    /// A registry read with `loader`.
    pub fn with_loader(loader: Loader) -> Self {
        Self {
            loader: Some(loader),
            ..Self::none()
        }
    }

    /// Whether this engine reads a registry.
    pub fn configured(&self) -> bool {
        self.loader.is_some()
    }

    /// The registry as last read.
    pub fn current(&self) -> Arc<Units> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads the registry again when it is older than [`REFRESH_AFTER`].
    /// A failed read keeps the last one; `Err` only when there has never been one.
    pub async fn refresh(&self) -> Result<Arc<Units>, String> {
        let last = *self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let stale = self.stale.load(std::sync::atomic::Ordering::Relaxed);
        if !stale && last.is_some_and(|at| at.elapsed() < REFRESH_AFTER) {
            return Ok(self.current());
        }
        self.refresh_now().await
    }

    /// Marks the registry as out of date: the next write that names a unit reads it again.
    pub fn invalidate(&self) {
        self.stale.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Reads the registry again now, whatever its age (as [`UnitDirectory::refresh`] otherwise).
    pub async fn refresh_now(&self) -> Result<Arc<Units>, String> {
        let Some(loader) = &self.loader else {
            return Ok(self.current());
        };
        let last = *self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        match loader().await {
            Ok(units) => {
                let units = Arc::new(Units::new(units));
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&units);
                *self.loaded.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                self.stale.store(false, std::sync::atomic::Ordering::Relaxed);
                Ok(units)
            }
            Err(why) if last.is_some() => {
                tracing::warn!(error = %why, "reading the unit registry failed; using the last one read");
                Ok(self.current())
            }
            Err(why) => Err(why),
        }
    }
}

/// Every registered unit, page by page, from the `UnitsService` on `channel`:
/// how a sector and `citydash export` read the registry.
pub async fn list_all(
    channel: citydash_runtime::auth::AuthedChannel,
) -> Result<Vec<v1::ResponsibleUnit>, tonic::Status> {
    let mut client = v1::units_service_client::UnitsServiceClient::new(channel);
    let mut units = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_units(v1::ListUnitsRequest {
                page_size: 1000,
                page_token,
            })
            .await?
            .into_inner();
        units.extend(page.units);
        if page.next_page_token.is_empty() {
            return Ok(units);
        }
        page_token = page.next_page_token;
    }
}

impl Item<'_> {
    /// A required responsible unit, resolved through `units`: its code, or
    /// (with no registry) the text as pushed.
    pub fn unit(&mut self, field: &str, text: &str, units: &Units) -> Option<String> {
        if text.trim().is_empty() {
            self.add(field, "必填，不能为空");
            return None;
        }
        self.optional_unit(field, text, units)
    }

    /// An optional responsible unit (empty stays empty), resolved as [`Item::unit`].
    pub fn optional_unit(&mut self, field: &str, text: &str, units: &Units) -> Option<String> {
        self.optional_text(field, text);
        if text.trim().is_empty() || units.is_empty() {
            return Some(text.trim().to_owned());
        }
        match units.resolve(text) {
            Resolved::Code(code) => Some(code),
            Resolved::Retired(name) => {
                self.add(field, format!("责任单位「{name}」已撤销，请填写承接其职责的单位"));
                None
            }
            Resolved::Unknown(near) if near.is_empty() => {
                self.add(field, format!("未登记的责任单位「{text}」：请先由管理员登记"));
                None
            }
            Resolved::Unknown(near) => {
                self.add(
                    field,
                    format!("未登记的责任单位「{text}」，是否为：{}？", near.join("、")),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::check_registration;

    fn unit(code: &str, name: &str, short: &[&str]) -> v1::ResponsibleUnit {
        v1::ResponsibleUnit {
            code: code.into(),
            name_zh: name.into(),
            short_names: short.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn names_and_aliases_resolve_to_one_code_and_typos_to_suggestions() {
        let mut units = Units::new([
            unit("nyncj", "市农业农村局", &["农业农村局"]),
            unit("gxj", "市工信局", &["工信局"]),
        ]);
        assert_eq!(units.resolve("农业农村局"), Resolved::Code("nyncj".into()));
        assert_eq!(units.resolve(" 市农业农村局 "), Resolved::Code("nyncj".into()));
        assert_eq!(units.resolve("nyncj"), Resolved::Code("nyncj".into()));
        assert_eq!(
            units.resolve("市农业农材局"),
            Resolved::Unknown(vec!["市农业农村局".into()])
        );
        // A rename: the old name goes, the code stays.
        units.insert(unit("nyncj", "市农业农村和乡村振兴局", &["农业农村局"]));
        assert_eq!(units.resolve("农业农村局"), Resolved::Code("nyncj".into()));
        assert!(matches!(units.resolve("市农业农村局"), Resolved::Unknown(_)));
        assert_eq!(units.name("nyncj"), "市农业农村和乡村振兴局");
        assert_eq!(units.name("not-registered"), "not-registered");
        let mut retired = unit("gxj", "市工信局", &[]);
        retired.retired = true;
        units.insert(retired);
        assert_eq!(units.resolve("市工信局"), Resolved::Retired("市工信局".into()));
    }

    #[test]
    fn a_name_may_belong_to_one_unit_only() {
        let units = Units::new([unit("nyncj", "市农业农村局", &["农业农村局"])]);
        let mut v = citydash_runtime::Violations::new();
        check_registration(&[unit("other", "农业农村局", &[])], &units, &mut v);
        let fields: Vec<&str> = v.as_slice().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["units[0].name_zh"]);
        let mut v = citydash_runtime::Violations::new();
        let mut child = unit("child", "下属单位", &[]);
        child.parent_code = "nowhere".into();
        check_registration(&[child], &units, &mut v);
        assert_eq!(v.as_slice()[0].field, "units[0].parent_code");
    }
}
