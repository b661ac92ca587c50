//! Who is calling. The [`crate::layer::AuthLayer`] runs the service's
//! [`Authenticator`] on every request and attaches an [`Identity`]: a verified
//! [`Principal`], or why there is none. Handlers read it with
//! [`Identity::of`]; nothing in a request message can change it.

use serde::{Deserialize, Serialize};
use tonic::Request;

/// What a principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A sector agency: writes its own sectors and regions, reads everything.
    Agency,
    /// The statistics bureau: writes city indicators, reads everything.
    Statistics,
    /// The finance bureau: writes city indicators (budget revenue), reads everything.
    Finance,
    /// Development and reform (发改委): writes city indicators (fixed-asset investment), reads everything.
    DevelopmentReform,
    /// Reads only (the mayor's office, a wall screen).
    Viewer,
    /// The supervision office (两办督查室): opens supervision orders by
    /// hand, closes them by hand with a reason, takes snapshots, reads
    /// everything; writes no sector data.
    Supervision,
    /// Locks periods, corrects locked data, reads the audit trail.
    Admin,
}

impl Role {
    /// The role's name as tokens and audit rows write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agency => "agency",
            Role::Statistics => "statistics",
            Role::Finance => "finance",
            Role::DevelopmentReform => "development_reform",
            Role::Viewer => "viewer",
            Role::Supervision => "supervision",
            Role::Admin => "admin",
        }
    }
}

/// The verified identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The agency or user, written into every record it pushes.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Sectors it may write (agencies); `*` for all.
    pub sectors: Vec<String>,
    /// Regions it may write; empty for all.
    pub regions: Vec<String>,
    /// Responsible units (by code) it answers for on supervision orders;
    /// empty for every unit of its sectors.
    pub units: Vec<String>,
}

impl Principal {
    /// The caller when a service runs without a token key (development):
    /// everyone is `anonymous` and may do everything.
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".to_owned(),
            role: Role::Admin,
            sectors: vec!["*".to_owned()],
            regions: Vec::new(),
            units: Vec::new(),
        }
    }

    /// Whether it may write records of `sector` (a `SectorSpec::NAME`; the
    /// city level is "city").
    pub fn may_write_sector(&self, sector: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Agency => self.sectors.iter().any(|s| s == sector || s == "*"),
            Role::Statistics | Role::Finance | Role::DevelopmentReform => sector == "city",
            Role::Viewer | Role::Supervision => false,
        }
    }

    /// Whether it may write projects and their progress into `sector`'s
    /// service: agencies into their own sectors; at the city level only
    /// development and reform (发改委, which answers for fixed-asset
    /// investment): a statistics or finance push there would count in the
    /// city's investment. Admins anywhere.
    pub fn may_write_projects(&self, sector: &str) -> bool {
        match self.role {
            Role::Statistics | Role::Finance => false,
            Role::DevelopmentReform => sector == "city",
            _ => self.may_write_sector(sector),
        }
    }

    /// Whether it may write records of `region`.
    pub fn may_write_region(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == region)
    }

    /// Whether it answers for the supervision orders of `unit` in `sector`:
    /// an agency of the sector, for every unit unless its token names some.
    pub fn answers_for(&self, sector: &str, unit: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Agency => {
                self.sectors.iter().any(|s| s == sector || s == "*")
                    && (self.units.is_empty() || self.units.iter().any(|u| u == unit))
            }
            _ => false,
        }
    }

    /// Whether it supervises: opens and closes orders by hand, takes snapshots.
    pub fn supervises(&self) -> bool {
        matches!(self.role, Role::Supervision | Role::Admin)
    }

    /// Whether it is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// `Ok` for an admin, else PERMISSION_DENIED saying who may not do
    /// `doing` (in Chinese: "查看令牌使用记录"): the one wording of every
    /// admin-only call.
    pub fn require_admin(&self, doing: &str) -> Result<(), crate::Error> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(crate::Error::PermissionDenied(format!(
                "{}（{}）不是管理员，不能{doing}",
                self.name,
                self.role.as_str()
            )))
        }
    }
}

/// What authentication made of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A verified principal.
    Verified(Principal),
    /// No valid credentials, and why. Only state-changing requests get this
    /// far (to be audited and refused); others are refused at the door.
    Unauthenticated(String),
}

impl Identity {
    /// The identity attached to `request`. A request the layer did not see
    /// has none, and is refused: the check fails closed.
    pub fn of<T>(request: &Request<T>) -> Identity {
        request
            .extensions()
            .get::<Identity>()
            .cloned()
            .unwrap_or_else(|| Identity::Unauthenticated("请求未经身份验证层处理".to_owned()))
    }

    /// A request taken apart for the engine, which knows no gRPC: the
    /// identity attached to it and its message.
    pub fn with_message<T>(request: Request<T>) -> (Identity, T) {
        (Identity::of(&request), request.into_inner())
    }
}

/// Turns a caller's credentials into a verified principal, or says why not.
pub trait Authenticator: Send + Sync + 'static {
    /// Verifies the caller's credentials: the request headers, and the client
    /// certificate (DER) the TLS handshake already verified, if any.
    fn authenticate(&self, headers: &http::HeaderMap, client_cert: Option<&[u8]>) -> Result<Principal, String>;
    /// Whether callers must present credentials at all.
    fn requires_credentials(&self) -> bool;
}

/// Accepts every caller as [`Principal::anonymous`]: a service without a
/// token key, for development only.
#[derive(Debug, Default, Clone, Copy)]
pub struct Anonymous;

impl Authenticator for Anonymous {
    fn authenticate(&self, _headers: &http::HeaderMap, _client_cert: Option<&[u8]>) -> Result<Principal, String> {
        Ok(Principal::anonymous())
    }

    fn requires_credentials(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role, sectors: &[&str], regions: &[&str]) -> Principal {
        Principal {
            name: "x".into(),
            role,
            sectors: sectors.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            units: Vec::new(),
        }
    }

    #[test]
    fn a_request_the_layer_did_not_see_is_unauthenticated() {
        let request = Request::new(());
        assert!(matches!(Identity::of(&request), Identity::Unauthenticated(_)));
    }

    #[test]
    fn roles_write_only_their_scope() {
        let agri = p(Role::Agency, &["agriculture"], &["chengguan"]);
        assert!(agri.may_write_sector("agriculture") && !agri.may_write_sector("industry"));
        assert!(agri.may_write_region("chengguan") && !agri.may_write_region("dongcheng"));
        assert!(p(Role::Statistics, &[], &[]).may_write_sector("city"));
        assert!(!p(Role::Statistics, &[], &[]).may_write_sector("agriculture"));
        assert!(!p(Role::Viewer, &["agriculture"], &[]).may_write_sector("agriculture"));
        assert!(p(Role::Admin, &[], &[]).may_write_sector("tourism"));
        assert!(!p(Role::Supervision, &[], &[]).may_write_sector("city"));
    }

    #[test]
    fn an_agency_answers_for_its_own_units_orders() {
        let agri = p(Role::Agency, &["agriculture"], &[]);
        assert!(agri.answers_for("agriculture", "nyncj") && agri.answers_for("agriculture", "slj"));
        assert!(!agri.answers_for("industry", "gxj"));
        let one = Principal {
            units: vec!["nyncj".into()],
            ..agri
        };
        assert!(one.answers_for("agriculture", "nyncj") && !one.answers_for("agriculture", "slj"));
        let office = p(Role::Supervision, &[], &[]);
        assert!(!office.answers_for("agriculture", "nyncj") && office.supervises());
        assert!(!p(Role::Viewer, &[], &[]).supervises() && p(Role::Admin, &[], &[]).supervises());
    }
}
