//! Alerts posted to a webhook (a SIEM, a chat bridge, an on-call tool), signed so the receiver
//! can tell them from forgeries: header `Custodian-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256 of "<t>.<body>" under the shared secret>`. Deliveries are rows committed with
//! the alert, retried with doubling back-off, and given up after a few attempts.

use crate::{Core, CoreError};
use custodian_store::entities::{alert, alert_delivery};
use custodian_store::repo;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;

/// The channel name of webhook deliveries.
pub const CHANNEL: &str = "webhook";
/// Deliveries attempted per run.
const BATCH: u64 = 50;
/// After this many failed attempts a delivery is given up (`failed`).
const MAX_ATTEMPTS: i64 = 5;
/// First retry after a minute, doubling.
const RETRY_BASE_MS: i64 = 60_000;
/// A receiver that does not answer within this long has failed the attempt.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where alerts are posted.
pub struct WebhookTarget {
    pub url: reqwest::Url,
    pub secret: SecretString,
}
crate::redacted_debug!(WebhookTarget);

impl WebhookTarget {
    /// Checks the address: HTTPS, or plain HTTP only to this host (a local relay).
    pub fn new(url: &str, secret: SecretString) -> Result<Self, String> {
        let url = reqwest::Url::parse(url).map_err(|_| "not a URL".to_owned())?;
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err("must be https:// (plain http:// only to this host)".to_owned()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials; the secret signs each delivery".to_owned());
        }
        if secret.expose_secret().len() < 16 {
            return Err("the secret must be at least 16 characters".to_owned());
        }
        Ok(Self { url, secret })
    }
}

/// The HTTP client of deliveries: bounded time, no redirects (a redirect could send a signed
/// alert elsewhere).
pub(crate) fn client() -> Result<reqwest::Client, CoreError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| CoreError::Internal("the webhook HTTP client could not be built"))
}

/// What a delivery posts: the alert's codes, counts and ids — no personal value.
pub(crate) fn payload(alert: &alert::Model, delivery: uuid::Uuid, public_url: &str) -> Value {
    let detail: Value = serde_json::from_str(&alert.detail).unwrap_or(Value::Null);
    json!({
        "type": "alert.raised",
        "delivery": delivery,
        "alert": {
            "id": alert.id,
            "rule": alert.rule,
            "severity": alert.severity,
            "status": alert.status,
            "subject_user_id": alert.subject_user_id,
            "action": alert.action,
            "occurrences": alert.occurrences,
            "detail": detail,
            "created_at": alert.created_at,
            "url": format!("{public_url}/security/alerts/{}", alert.id),
        }
    })
}

impl Core {
    /// Posts every due webhook delivery; returns how many were delivered.
    pub async fn deliver_alert_webhooks(&self) -> Result<usize, CoreError> {
        let Some(running) = self.running_monitor() else {
            return Ok(0);
        };
        let Some(target) = &running.settings.webhook else {
            return Ok(0);
        };
        let now = self.now();
        let due = repo::alerts::due_deliveries(self.store().conn(), now, BATCH).await?;
        let mut delivered = 0;
        for row in due {
            let Some(alert) = repo::alerts::get(self.store().conn(), row.alert_id).await? else {
                continue;
            };
            let result = self.post_alert(running, target, &alert, row.id).await;
            let attempts = row.attempts + 1;
            let updated = match result {
                Ok(()) => {
                    delivered += 1;
                    alert_delivery::Model {
                        status: "delivered".to_owned(),
                        attempts,
                        delivered_at: Some(self.now()),
                        last_error: None,
                        ..row
                    }
                }
                Err(code) => {
                    tracing::warn!(alert = %alert.id, error = code, attempts, "alert webhook delivery failed");
                    let doublings = u32::try_from(attempts - 1).unwrap_or(0).min(20);
                    alert_delivery::Model {
                        status: if attempts >= MAX_ATTEMPTS {
                            "failed".to_owned()
                        } else {
                            "pending".to_owned()
                        },
                        attempts,
                        next_attempt_at: now + (RETRY_BASE_MS << doublings),
                        last_error: Some(code),
                        ..row
                    }
                }
            };
            repo::alerts::update_delivery(self.store().writer(), updated).await?;
        }
        Ok(delivered)
    }

    /// One signed POST; the error is a short code (never a body or a secret).
    async fn post_alert(
        &self,
        running: &super::Running,
        target: &WebhookTarget,
        alert: &alert::Model,
        delivery: uuid::Uuid,
    ) -> Result<(), String> {
        let body = serde_json::to_vec(&payload(alert, delivery, &self.public_url()))
            .map_err(|_| "serialise".to_owned())?;
        let timestamp = self.now().div_euclid(1000);
        let signature = custodian_crypto::mac::webhook_signature(
            target.secret.expose_secret().as_bytes(),
            timestamp,
            &body,
        );
        let response = running
            .http
            .post(target.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                "Custodian-Signature",
                format!("t={timestamp},v1={signature}"),
            )
            .header("Custodian-Delivery", delivery.to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timeout".to_owned()
                } else {
                    "connect".to_owned()
                }
            })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("http_{}", response.status().as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("0123456789abcdef".to_owned())
    }

    #[test]
    fn only_https_or_a_local_relay_is_accepted() {
        assert!(WebhookTarget::new("https://siem.example.com/hook", secret()).is_ok());
        assert!(WebhookTarget::new("http://127.0.0.1:9000/hook", secret()).is_ok());
        assert!(WebhookTarget::new("http://localhost/hook", secret()).is_ok());
        assert!(WebhookTarget::new("http://siem.example.com/hook", secret()).is_err());
        assert!(WebhookTarget::new("https://u:p@siem.example.com/", secret()).is_err());
        assert!(WebhookTarget::new("not a url", secret()).is_err());
        assert!(
            WebhookTarget::new(
                "https://siem.example.com/",
                SecretString::from("short".to_owned())
            )
            .is_err()
        );
    }
}
