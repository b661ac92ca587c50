//! The one place that maps failures to gRPC status codes. Libraries return
//! [`Error`]; handlers turn it into a `tonic::Status` with `?`, so a client
//! always gets the same code, and field violations it can act on, for the
//! same kind of failure.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// How many field violations a status carries in detail: the rest are
/// counted (`ErrorInfo.metadata.violations`), so the details stay under 8 KiB
/// and every default client can read them. A client fixes these and sends
/// again to see the next.
pub const MAX_DETAILED_VIOLATIONS: usize = 16;

/// The `domain` of every `google.rpc.ErrorInfo` citydash sends.
pub const ERROR_DOMAIN: &str = "citydash";

/// Stable machine-readable reasons (`google.rpc.ErrorInfo.reason`): a client
/// branches on these, never on the text.
pub mod reason {
    /// A field is missing, malformed or out of range.
    pub const FIELD_INVALID: &str = "FIELD_INVALID";
    /// A fact (a start, a completion, a period reported) is dated after today, city time.
    pub const FACT_IN_FUTURE: &str = "FACT_IN_FUTURE";
    /// A finding of the plausibility checks was not confirmed with an explanation.
    pub const PLAUSIBILITY_UNCONFIRMED: &str = "PLAUSIBILITY_UNCONFIRMED";
    /// The period is locked: its statistics are published.
    pub const PERIOD_LOCKED: &str = "PERIOD_LOCKED";
    /// A supervision order's state forbids the action (it is closed, or
    /// its alert already has an open order).
    pub const ORDER_STATE: &str = "ORDER_STATE";
    /// The named thing does not exist.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// No valid credentials.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The caller may not do this.
    pub const PERMISSION_DENIED: &str = "PERMISSION_DENIED";
    /// The request does not decode (bad UTF-8, a truncated message, too deep).
    pub const MALFORMED_REQUEST: &str = "MALFORMED_REQUEST";
    /// Too many requests, or the service is busy.
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// A dependency is down; retry with the same request_id.
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    /// A failure on our side.
    pub const INTERNAL: &str = "INTERNAL";
    /// A change-feed follower's position no longer names the source's
    /// changes (the source's database was replaced or restored from a
    /// backup): the follower rebuilds from sequence 0.
    pub const FEED_DIVERGED: &str = "FEED_DIVERGED";
}

/// The `ErrorInfo` reason a status carries, if any.
pub fn reason_of(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

/// A bad field of a request: the path of the field (`projects[2].region_code`),
/// why (a stable reason) and what is wrong with it, in Chinese words a clerk
/// understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the offending field in the request.
    pub field: String,
    /// What is wrong, in Chinese.
    pub description: String,
    /// Stable reason, one of [`reason`].
    pub reason: &'static str,
}

/// Collects field violations while a request is validated.
#[derive(Debug, Default, Clone)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one violation (reason [`reason::FIELD_INVALID`]).
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.add_with(field, reason::FIELD_INVALID, description);
    }

    /// Records one violation with its own reason.
    pub fn add_with(&mut self, field: impl Into<String>, reason: &'static str, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
            reason,
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

/// Every failure a service reports to its clients. Messages are Chinese.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The request is malformed; nothing was changed.
    #[error("invalid request: {} field violation(s)", .0.len())]
    Invalid(Vec<FieldViolation>),
    /// The request's bytes do not decode as its message; nothing was changed.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The named thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is well formed but the system's state forbids it
    /// (a locked period, say); `reason` is one of [`reason`].
    #[error("failed precondition: {message}")]
    FailedPrecondition {
        /// Stable reason.
        reason: &'static str,
        /// Why, in Chinese.
        message: String,
    },
    /// The caller has no valid credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Too many requests from this caller, or the service is busy; retry later.
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
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
        let mut v = Violations::new();
        v.add(field, description);
        Error::Invalid(v.0)
    }

    /// The gRPC code's name and the message the caller is sent, as an
    /// audit row records a refusal: code that is not gRPC's names it
    /// without knowing gRPC.
    pub fn as_sent(&self) -> (String, String) {
        let status = Status::from(self.clone());
        (format!("{:?}", status.code()), status.message().to_owned())
    }
}

/// The three details of every status: `ErrorInfo` (stable reason, domain
/// `citydash`, the field in metadata), a zh-CN `LocalizedMessage`, and for
/// bad fields `BadRequest` with one violation per field (each with its
/// reason and Chinese text).
fn status(
    code: Code,
    reason: &'static str,
    message: String,
    field: Option<&str>,
    violations: &[FieldViolation],
) -> Status {
    let mut metadata = std::collections::HashMap::new();
    if let Some(field) = field {
        metadata.insert("field".to_owned(), field.to_owned());
    }
    if !violations.is_empty() {
        metadata.insert("violations".to_owned(), violations.len().to_string());
    }
    let violations = &violations[..violations.len().min(MAX_DETAILED_VIOLATIONS)];
    let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    details.set_localized_message("zh-CN", message.clone());
    if !violations.is_empty() {
        details.set_bad_request(
            violations
                .iter()
                .map(|v| tonic_types::FieldViolation {
                    field: v.field.clone(),
                    description: v.description.clone(),
                    reason: v.reason.to_owned(),
                    localized_message: Some(tonic_types::LocalizedMessage::new("zh-CN", v.description.clone())),
                })
                .collect::<Vec<_>>(),
        );
    }
    Status::with_error_details(code, message, details)
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(violations) => {
                let summary = violations
                    .iter()
                    .take(3)
                    .map(|v| format!("{}：{}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("；");
                let more = violations.len().saturating_sub(3);
                let message = if more > 0 {
                    format!("请求有误，未写入任何数据：{summary}；另有 {more} 处")
                } else {
                    format!("请求有误，未写入任何数据：{summary}")
                };
                // One reason for the whole status: the violations' own when they share it.
                let first = violations.first().map_or(reason::FIELD_INVALID, |v| v.reason);
                let reason = if violations.iter().all(|v| v.reason == first) {
                    first
                } else {
                    reason::FIELD_INVALID
                };
                let field = violations.first().map(|v| v.field.clone());
                status(Code::InvalidArgument, reason, message, field.as_deref(), &violations)
            }
            Error::NotFound(what) => status(Code::NotFound, reason::NOT_FOUND, what, None, &[]),
            Error::FailedPrecondition { reason, message } => {
                status(Code::FailedPrecondition, reason, message, None, &[])
            }
            Error::Unauthenticated(why) => status(Code::Unauthenticated, reason::UNAUTHENTICATED, why, None, &[]),
            Error::PermissionDenied(why) => status(Code::PermissionDenied, reason::PERMISSION_DENIED, why, None, &[]),
            Error::ResourceExhausted(why) => status(Code::ResourceExhausted, reason::RATE_LIMITED, why, None, &[]),
            Error::Unavailable(why) => {
                tracing::warn!(reason = %why, "dependency unavailable");
                status(
                    Code::Unavailable,
                    reason::UNAVAILABLE,
                    format!("服务暂时不可用，请用同一 request_id 重试：{why}"),
                    None,
                    &[],
                )
            }
            Error::Malformed(why) => status(
                Code::InvalidArgument,
                reason::MALFORMED_REQUEST,
                format!("请求无法解码，请检查客户端与 citydash 的 proto 定义是否一致：{why}"),
                None,
                &[],
            ),
            Error::Internal(why) => {
                tracing::error!(error = %why, "internal failure");
                status(Code::Internal, reason::INTERNAL, "服务内部错误".to_owned(), None, &[])
            }
        }
    }
}

/// The failure of a request that did not decode, from the status the gRPC
/// library answered it with (INTERNAL, by its choice): `None` for any other
/// status. The library names these failures only in its messages, so they
/// are told apart by them; a test holds each one.
pub fn decode_failure(status: &Status) -> Option<Error> {
    const DECODE_FAILURES: [&str; 4] = [
        "failed to decode Protobuf message",
        "Unexpected EOF decoding stream",
        "protocol error: received message with",
        "Error decompressing",
    ];
    (status.code() == Code::Internal && DECODE_FAILURES.iter().any(|m| status.message().starts_with(m)))
        .then(|| Error::Malformed(status.message().to_owned()))
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
    fn every_status_carries_error_info_and_a_chinese_message() {
        let mut v = Violations::new();
        v.add_with("reports[0].period", reason::FACT_IN_FUTURE, "报告期晚于本月");
        let status: Status = v.into_result().unwrap_err().into();
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("FACT_IN_FUTURE", "citydash")
        );
        assert_eq!(
            info.metadata.get("field").map(String::as_str),
            Some("reports[0].period")
        );
        let localized = status.get_details_localized_message().expect("localized");
        assert_eq!(localized.locale, "zh-CN");
        assert!(localized.message.contains("报告期晚于本月"), "{}", localized.message);
        let bad = status.get_details_bad_request().expect("bad request");
        assert_eq!(bad.field_violations[0].reason, "FACT_IN_FUTURE");
        let locked: Status = Error::FailedPrecondition {
            reason: reason::PERIOD_LOCKED,
            message: "2026-06 已锁定".into(),
        }
        .into();
        assert_eq!(
            locked.get_details_error_info().map(|i| i.reason),
            Some("PERIOD_LOCKED".to_owned())
        );
    }

    #[test]
    fn many_violations_stay_readable_by_a_default_client() {
        let mut v = Violations::new();
        for i in 0..1000 {
            v.add(
                format!("reports[{i}].investment_completed_yuan"),
                "不能为负数（收到 -1）。".repeat(3),
            );
        }
        let status: Status = v.into_result().unwrap_err().into();
        assert!(
            status.details().len() < 8 * 1024,
            "{} bytes of details",
            status.details().len()
        );
        let bad = status.get_details_bad_request().expect("bad request");
        assert_eq!(bad.field_violations.len(), MAX_DETAILED_VIOLATIONS);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.metadata.get("violations").map(String::as_str), Some("1000"));
    }

    #[test]
    fn internal_hides_details() {
        let status: Status = Error::Internal("disk on fire".into()).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("disk"));
    }
}
