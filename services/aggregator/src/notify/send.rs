//! How an event is put to a destination: the DingTalk and WeCom robots'
//! documented text messages (DingTalk's signature when a secret is set) and
//! the generic JSON webhook signed with HMAC-SHA256, and the one HTTP client
//! that sends them: a timeout, no redirects (a request goes only to the
//! configured address), TLS verified against the web's roots.

use std::time::Duration;

use base64::Engine as _;
use citydash_proto::v1::{DestinationKind, NotificationEvent};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::outbox::{Queued, StoredDestination};

/// Headers of the generic webhook.
pub const EVENT_ID_HEADER: &str = "x-citydash-event-id";
/// Unix seconds the request was signed at.
pub const TIMESTAMP_HEADER: &str = "x-citydash-timestamp";
/// `sha256=` and the hex HMAC-SHA256, keyed by the secret, of
/// `"{timestamp}.{body}"`.
pub const SIGNATURE_HEADER: &str = "x-citydash-signature";

/// Whether `url` may be a destination: https, or http to a loopback host
/// (a receiver on the same machine). The reason when not.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "不是有效的网址".to_owned())?;
    match (parsed.scheme(), parsed.host_str()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some("127.0.0.1" | "localhost" | "[::1]")) => Ok(()),
        ("http", Some(_)) => Err("须使用 https（仅本机地址可用 http）".to_owned()),
        _ => Err("须为 https 网址".to_owned()),
    }
}

/// An address as answers show it: its scheme and host, the rest (tokens,
/// keys) redacted.
pub fn redact(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| format!("{}://{h}/…", u.scheme())))
        .unwrap_or_else(|| "…".to_owned())
}

fn hmac_sha256(key: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The generic webhook's signature of `body` at `timestamp` (unix seconds).
pub fn webhook_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("sha256={}", hex::encode(hmac_sha256(secret, &message)))
}

/// DingTalk's `sign` of `timestamp` (unix milliseconds): base64 of the
/// HMAC-SHA256 of `"{timestamp}\n{secret}"`, keyed by the secret, URL-encoded.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mac = hmac_sha256(secret, format!("{timestamp_ms}\n{secret}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac);
    b64.chars()
        .map(|c| match c {
            '+' => "%2B".to_owned(),
            '/' => "%2F".to_owned(),
            '=' => "%3D".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The event's name in the generic webhook's JSON (`alert_red`, …).
pub fn event_name(event: i32) -> String {
    NotificationEvent::try_from(event)
        .map_or("unspecified", |e| e.as_str_name())
        .trim_start_matches("NOTIFICATION_EVENT_")
        .to_ascii_lowercase()
}

/// A request ready to send.
pub struct Request {
    /// Where.
    pub url: String,
    /// Headers beyond the content type.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The request that puts `row` to `destination` at `now_ms`.
pub fn request(destination: &StoredDestination, row: &Queued, now_ms: i64) -> Request {
    let text_message = || {
        serde_json::json!({ "msgtype": "text", "text": { "content": row.text } })
            .to_string()
            .into_bytes()
    };
    match DestinationKind::try_from(destination.kind).unwrap_or(DestinationKind::Webhook) {
        DestinationKind::Dingtalk => {
            let url = if destination.secret.is_empty() {
                destination.url.clone()
            } else {
                let sep = if destination.url.contains('?') { '&' } else { '?' };
                format!(
                    "{}{sep}timestamp={now_ms}&sign={}",
                    destination.url,
                    dingtalk_sign(&destination.secret, now_ms)
                )
            };
            Request {
                url,
                headers: Vec::new(),
                body: text_message(),
            }
        }
        DestinationKind::Wecom => Request {
            url: destination.url.clone(),
            headers: Vec::new(),
            body: text_message(),
        },
        DestinationKind::Webhook | DestinationKind::Unspecified => {
            let body = serde_json::json!({
                "event_id": row.event_id,
                "event": event_name(row.event),
                "unit_code": row.unit_code,
                "unit_name": row.unit_name,
                "text": row.text,
                "created_at": row.created_at,
            })
            .to_string()
            .into_bytes();
            let timestamp = now_ms / 1000;
            let mut headers = vec![
                (EVENT_ID_HEADER, row.event_id.clone()),
                (TIMESTAMP_HEADER, timestamp.to_string()),
            ];
            if !destination.secret.is_empty() {
                headers.push((
                    SIGNATURE_HEADER,
                    webhook_signature(&destination.secret, timestamp, &body),
                ));
            }
            Request {
                url: destination.url.clone(),
                headers,
                body,
            }
        }
    }
}

/// What an attempt came to: accepted, or the HTTP status (0 for none) and why not.
pub type Outcome = Result<i32, (i32, String)>;

/// Sends requests: one client, a timeout on every request, no redirects.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// A sender whose every request gives up after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("citydash/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client })
    }

    /// Sends `request` for a destination of `kind`: accepted on a 2xx, and
    /// for the robots only when their answer's `errcode` is 0.
    pub async fn send(&self, kind: i32, request: Request) -> Outcome {
        let mut builder = self
            .client
            .post(&request.url)
            .header("content-type", "application/json; charset=utf-8")
            .body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        // The address carries the robot's token: errors are told without it.
        let response = builder.send().await.map_err(|e| (0, describe(e)))?;
        let status = i32::from(response.status().as_u16());
        if !response.status().is_success() {
            return Err((status, format!("HTTP {status}")));
        }
        let robot = matches!(
            DestinationKind::try_from(kind),
            Ok(DestinationKind::Dingtalk | DestinationKind::Wecom)
        );
        if robot {
            let body = response.bytes().await.map_err(|e| (status, describe(e)))?;
            let answer: serde_json::Value =
                serde_json::from_slice(&body).map_err(|_| (status, "答复不是 JSON".to_owned()))?;
            match answer.get("errcode").and_then(serde_json::Value::as_i64) {
                Some(0) => {}
                code => {
                    let msg = answer.get("errmsg").and_then(|m| m.as_str()).unwrap_or_default();
                    return Err((status, format!("errcode {}: {msg}", code.unwrap_or(-1))));
                }
            }
        }
        Ok(status)
    }
}

/// An error without its URL (which holds the token).
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "超时"
    } else if e.is_connect() {
        "无法连接"
    } else if e.is_body() || e.is_decode() {
        "答复读取失败"
    } else {
        "请求失败"
    };
    format!("{kind}: {}", e.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_a_loopback_http_address_is_a_destination() {
        assert!(check_url("https://oapi.dingtalk.com/robot/send?access_token=x").is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("http://example.com/hook").is_err());
        assert!(check_url("ftp://example.com").is_err());
        assert!(check_url("not a url").is_err());
        assert_eq!(
            redact("https://oapi.dingtalk.com/robot/send?access_token=x"),
            "https://oapi.dingtalk.com/…"
        );
    }

    #[test]
    fn signatures_are_the_documented_hmacs() {
        // Known answers from `printf '1700000000.{}' | openssl dgst -sha256 -hmac s3cret`
        // and `printf '1700000000000\nSEC' | openssl dgst -sha256 -hmac SEC -binary | base64`.
        assert_eq!(
            webhook_signature("s3cret", 1_700_000_000, b"{}"),
            "sha256=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"
        );
        assert_eq!(
            dingtalk_sign("SEC", 1_700_000_000_000),
            "r%2B2we0q01lkZqz38LA5IPNbHN81U1leRf3Au4PSQb6Q%3D"
        );
        assert_eq!(event_name(NotificationEvent::OrderDueSoon as i32), "order_due_soon");
    }
}
