//! Messages that leave the server: e-mail over SMTP (always TLS: STARTTLS required, or
//! implicit TLS) and SMS through a pluggable gateway (an HTTP webhook, or a file for
//! development). Configuration chooses them at start; use cases only ever see the traits.
//!
//! What goes out is composed here too, in the recipient's language, so no handler builds
//! message text. Codes and links are secrets: the message types print no content in `Debug`.

use crate::notifications::{DeliveryError, DeliveryFuture};
use crate::{Core, CoreError};
use custodian_domain::FieldError;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// One e-mail: plain text only (no remote content, nothing to render).
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}
crate::redacted_debug!(OutgoingMail);

/// One text message.
pub struct OutgoingSms {
    /// E.164, e.g. `+8613800138000`.
    pub to: String,
    pub text: String,
}
crate::redacted_debug!(OutgoingSms);

pub trait Mailer: Send + Sync + fmt::Debug {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> DeliveryFuture<'a>;
}

pub trait SmsGateway: Send + Sync + fmt::Debug {
    /// The provider's configuration name (`webhook`, `file`).
    fn provider(&self) -> &'static str;
    fn send<'a>(&'a self, sms: &'a OutgoingSms) -> DeliveryFuture<'a>;
}

/// How the SMTP connection is secured. There is no plaintext option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connect, then STARTTLS, which must succeed (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    ImplicitTls,
}

pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// `Custodian <no-reply@example.com>`.
    pub from: String,
    /// A PEM CA certificate trusted besides the system's (a private relay).
    pub extra_root_pem: Option<Vec<u8>>,
    pub timeout: Duration,
}
crate::redacted_debug!(SmtpSettings);

/// Sends through an SMTP relay with lettre; certificates are verified (system roots through
/// the platform verifier, plus an optional private CA), TLS 1.2 or newer.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmtpMailer { .. }")
    }
}

fn config_error(key: &str, message: &str) -> CoreError {
    CoreError::Config(vec![FieldError::new(key, "invalid", message)])
}

impl SmtpMailer {
    pub fn new(settings: SmtpSettings) -> Result<Self, CoreError> {
        let from: Mailbox = settings.from.parse().map_err(|_| {
            config_error(
                "mail.from",
                "must be an address such as `Custodian <no-reply@example.com>`",
            )
        })?;
        let mut tls = TlsParameters::builder(settings.host.clone());
        if let Some(pem) = &settings.extra_root_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|_| config_error("mail.ca_file", "must hold a PEM CA certificate"))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|_| config_error("mail.smtp_host", "TLS could not be set up for this host"))?;
        // `builder_dangerous` only means "no TLS preset": `.tls(...)` below always sets one.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host)
            .port(settings.port)
            .timeout(Some(settings.timeout))
            .tls(match settings.security {
                SmtpSecurity::StartTls => Tls::Required(tls),
                SmtpSecurity::ImplicitTls => Tls::Wrapper(tls),
            });
        if let (Some(user), Some(password)) = (settings.username, settings.password) {
            builder =
                builder.credentials(Credentials::new(user, password.expose_secret().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let to: Mailbox = mail.to.parse().map_err(|_| DeliveryError {
                code: "invalid_recipient",
                permanent: true,
            })?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone())
                .map_err(|_| DeliveryError {
                    code: "invalid_message",
                    permanent: true,
                })?;
            match self.transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e) => {
                    // The error may quote the server's reply, which can echo the recipient:
                    // only its class is logged.
                    let code = if e.is_permanent() {
                        "smtp_rejected"
                    } else if e.is_tls() {
                        "smtp_tls"
                    } else if e.is_timeout() {
                        "smtp_timeout"
                    } else {
                        "smtp_unavailable"
                    };
                    tracing::warn!(code, "e-mail not sent");
                    Err(DeliveryError {
                        code,
                        permanent: e.is_permanent(),
                    })
                }
            }
        })
    }
}

/// POSTs `{"to": "+86…", "message": "…"}` as JSON to the gateway's URL, with an optional
/// bearer token. 2xx is sent; 4xx is permanent; anything else is tried again.
pub struct WebhookSms {
    url: reqwest::Url,
    bearer: Option<SecretString>,
    client: reqwest::Client,
}

impl fmt::Debug for WebhookSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSms { .. }")
    }
}

/// A URL this server calls out to: HTTPS, or plain HTTP only to a loopback address (a relay or
/// test service on the same host). `field` and `example` go into the configuration error.
pub(crate) fn outbound_url(
    field: &'static str,
    url: &str,
    example: &'static str,
) -> Result<reqwest::Url, CoreError> {
    let url: reqwest::Url = url
        .parse()
        .map_err(|_| config_error(field, &format!("must be a URL such as {example}")))?;
    let loopback = url.host_str().is_some_and(|h| {
        h == "localhost"
            || h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(config_error(
            field,
            "must use https:// (plain http:// only to a loopback address)",
        ));
    }
    Ok(url)
}

impl WebhookSms {
    /// The URL must be HTTPS, except on a loopback address (a relay on the same host).
    pub fn new(url: &str, bearer: Option<SecretString>) -> Result<Self, CoreError> {
        let url = outbound_url("sms.webhook_url", url, "https://sms.example.com/send")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| CoreError::Internal("HTTP client for the SMS gateway"))?;
        Ok(Self {
            url,
            bearer,
            client,
        })
    }
}

impl SmsGateway for WebhookSms {
    fn provider(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(&'a self, sms: &'a OutgoingSms) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let mut request = self
                .client
                .post(self.url.clone())
                .json(&serde_json::json!({ "to": sms.to, "message": sms.text }));
            if let Some(token) = &self.bearer {
                request = request.bearer_auth(token.expose_secret());
            }
            match request.send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => {
                    let permanent = r.status().is_client_error();
                    tracing::warn!(
                        status = r.status().as_u16(),
                        "SMS gateway refused a message"
                    );
                    Err(DeliveryError {
                        code: if permanent {
                            "sms_rejected"
                        } else {
                            "sms_unavailable"
                        },
                        permanent,
                    })
                }
                Err(_) => {
                    tracing::warn!("SMS gateway unreachable");
                    Err(DeliveryError {
                        code: "sms_unavailable",
                        permanent: false,
                    })
                }
            }
        })
    }
}

/// Development only: appends each message as a JSON line to a file (mode 0600). The codes in
/// it are live, so the server warns at start when this provider is configured.
#[derive(Debug)]
pub struct FileSms {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileSms {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }
}

impl SmsGateway for FileSms {
    fn provider(&self) -> &'static str {
        "file"
    }

    fn send<'a>(&'a self, sms: &'a OutgoingSms) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let _guard = self.lock.lock().await;
            let mut line = serde_json::json!({ "to": sms.to, "message": sms.text }).to_string();
            line.push('\n');
            let path = self.path.clone();
            let written = tokio::task::spawn_blocking(move || {
                let mut options = std::fs::OpenOptions::new();
                options.create(true).append(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                options.open(&path)?.write_all(line.as_bytes())
            })
            .await;
            match written {
                Ok(Ok(())) => Ok(()),
                _ => Err(DeliveryError {
                    code: "sms_file",
                    permanent: false,
                }),
            }
        })
    }
}

/// The transports this server was configured with, and the address links point at.
#[derive(Debug, Default)]
pub(crate) struct Outbound {
    mailer: RwLock<Option<Arc<dyn Mailer>>>,
    sms: RwLock<Option<Arc<dyn SmsGateway>>>,
    public_url: RwLock<String>,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = value;
}

impl Core {
    /// Sets the e-mail transport: one-time codes, invitations, password resets and new-device
    /// notices go through it, and task notifications are e-mailed as well (set the public URL
    /// first: their links point at it).
    pub fn set_mailer(&self, mailer: Arc<dyn Mailer>) {
        write(&self.inner.outbound.mailer, Some(mailer.clone()));
        self.add_notification_transport(Arc::new(crate::notifications::EmailNotifications::new(
            mailer,
            self.public_url(),
        )));
    }

    pub fn set_sms_gateway(&self, gateway: Arc<dyn SmsGateway>) {
        write(&self.inner.outbound.sms, Some(gateway));
    }

    /// The address people reach the server at (`https://crm.example.com`): links in e-mails
    /// point at it, and its host is the passkeys' relying party.
    pub fn set_public_url(&self, url: &str) {
        let url = url.trim_end_matches('/');
        write(&self.inner.outbound.public_url, url.to_owned());
        self.inner.relying_party.configure(url);
    }

    pub(crate) fn public_url(&self) -> String {
        read(&self.inner.outbound.public_url)
    }

    pub fn mail_configured(&self) -> bool {
        read(&self.inner.outbound.mailer).is_some()
    }

    pub fn sms_configured(&self) -> bool {
        read(&self.inner.outbound.sms).is_some()
    }

    pub(crate) async fn send_mail(&self, mail: OutgoingMail) -> Result<(), CoreError> {
        let mailer = read(&self.inner.outbound.mailer)
            .ok_or(CoreError::ChannelUnavailable(Channel::Email))?;
        mailer
            .send(&mail)
            .await
            .map_err(|_| CoreError::DeliveryFailed(Channel::Email))
    }

    pub(crate) async fn send_sms(&self, sms: OutgoingSms) -> Result<(), CoreError> {
        let gateway =
            read(&self.inner.outbound.sms).ok_or(CoreError::ChannelUnavailable(Channel::Sms))?;
        gateway
            .send(&sms)
            .await
            .map_err(|_| CoreError::DeliveryFailed(Channel::Sms))
    }
}

/// Where a one-time code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// Whether text for this user should be Chinese.
pub(crate) fn is_chinese(locale: Option<&str>) -> bool {
    locale.is_some_and(|l| l.starts_with("zh"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_urls_are_https_or_loopback_http() {
        for ok in [
            "https://sms.example.com/send",
            "http://127.0.0.1:8080/hook",
            "http://localhost:9000",
            "http://[::1]:9000/x",
        ] {
            assert!(outbound_url("f", ok, "https://x").is_ok(), "{ok}");
        }
        for bad in [
            "http://sms.example.com/send",
            "http://10.0.0.5/hook",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(
                matches!(
                    outbound_url("f", bad, "https://x"),
                    Err(CoreError::Config(_))
                ),
                "{bad}"
            );
        }
    }
}
