//! The one place that maps failures to gRPC status codes. Libraries return
//! [`Error`]; handlers turn it into a `tonic::Status` with `?`, so a client
//! always gets the same code, and field violations it can act on, for the
//! same kind of failure.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A bad field of a request: the path of the field (`projects[2].region_code`)
/// and what is wrong with it, in words a clerk understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the offending field in the request.
    pub field: String,
    /// What is wrong.
    pub description: String,
}

/// Collects field violations while a request is validated.
#[derive(Debug, Default, Clone)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one violation.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The violations recorded so far.
    pub fn as_slice(&self) -> &[FieldViolation] {
        &self.0
    }

    /// `Ok(())` when empty, else [`Error::Invalid`].
    pub fn into_result(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0))
        }
    }
}

/// Every failure a service reports to its clients.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The request is malformed; nothing was changed.
    #[error("invalid request: {} field violation(s)", .0.len())]
    Invalid(Vec<FieldViolation>),
    /// The named thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is well formed but the system's state forbids it
    /// (a locked period, say).
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// The caller has no valid credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// A dependency (the database) is down; the client may retry with the same request_id.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; details are logged, not sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// One violation as an error.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(violations) => {
                let summary = violations
                    .iter()
                    .take(3)
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                let more = violations.len().saturating_sub(3);
                let message = if more > 0 {
                    format!("invalid request: {summary}; and {more} more")
                } else {
                    format!("invalid request: {summary}")
                };
                let details = ErrorDetails::with_bad_request(
                    violations
                        .into_iter()
                        .map(|v| tonic_types::FieldViolation::new(v.field, v.description))
                        .collect::<Vec<_>>(),
                );
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            Error::NotFound(what) => Status::not_found(what),
            Error::FailedPrecondition(why) => Status::failed_precondition(why),
            Error::Unauthenticated(why) => Status::unauthenticated(why),
            Error::PermissionDenied(why) => Status::permission_denied(why),
            Error::Unavailable(why) => {
                tracing::warn!(reason = %why, "dependency unavailable");
                Status::unavailable(why)
            }
            Error::Internal(why) => {
                tracing::error!(error = %why, "internal failure");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_carries_every_field_violation() {
        let mut v = Violations::new();
        v.add("projects[0].code", "must not be empty");
        v.add("projects[1].region_code", "unknown region \"x\"");
        let status: Status = v.into_result().unwrap_err().into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad = status.get_details_bad_request().expect("bad request details");
        let fields: Vec<_> = bad.field_violations.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["projects[0].code", "projects[1].region_code"]);
        assert!(status.message().contains("projects[0].code"));
    }

    #[test]
    fn internal_hides_details() {
        let status: Status = Error::Internal("disk on fire".into()).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("disk"));
    }
}
