//! Who is calling. Every request that reaches a handler carries a
//! [`Principal`] in its extensions, put there by the service's
//! [`Authenticator`]. Identity comes only from what the authenticator verified,
//! never from a field of the request. Today the only authenticator is
//! [`Anonymous`]; signed agency tokens plug in here.

use std::sync::Arc;

use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

/// The verified identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable name of the agency or user, written into every record it pushes.
    pub name: String,
}

impl Principal {
    /// The identity used when no authentication is configured.
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".to_owned(),
        }
    }

    /// The principal the authenticator attached to `request`; anonymous when
    /// none was (a handler called directly in a unit test).
    pub fn of<T>(request: &Request<T>) -> Principal {
        request
            .extensions()
            .get::<Principal>()
            .cloned()
            .unwrap_or_else(Principal::anonymous)
    }
}

/// Turns request metadata into a verified principal, or refuses the request.
pub trait Authenticator: Send + Sync + 'static {
    /// Verifies the caller's credentials.
    fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Status>;
}

/// Accepts every caller as [`Principal::anonymous`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Anonymous;

impl Authenticator for Anonymous {
    fn authenticate(&self, _metadata: &MetadataMap) -> Result<Principal, Status> {
        Ok(Principal::anonymous())
    }
}

/// A tonic interceptor that runs an [`Authenticator`] and attaches the principal.
#[derive(Clone)]
pub struct AuthInterceptor {
    authenticator: Arc<dyn Authenticator>,
}

impl AuthInterceptor {
    /// Wraps an authenticator.
    pub fn new(authenticator: Arc<dyn Authenticator>) -> Self {
        Self { authenticator }
    }
}

impl tonic::service::Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let principal = self.authenticator.authenticate(request.metadata())?;
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}
