//! Feeds of the audit log to a SIEM: JSON lines appended to a file (for a log shipper), and
//! RFC 5424 syslog over TLS (RFC 5425, octet-counted frames) or, where asked, plain TCP.
//!
//! Each feed reads the log in order from a cursor of its own (`audit_cursors`), sends a batch,
//! and only then moves the cursor (compare-and-set, no lock held while sending): delivery is
//! at least once. After a crash between sending and moving, or when two PostgreSQL servers
//! feed the same syslog receiver, a batch can arrive twice; every record carries the event's
//! id and position, so receivers can drop repeats. A new feed starts at the beginning of the
//! log. A failing receiver is retried with doubling back-off (up to a minute); nothing is
//! skipped. The file feed's cursor is per node (each server appends to its own file).
//!
//! Records carry the client's IP address and user agent (a SIEM correlates on them): send
//! them over TLS, to a receiver that is itself covered by the organisation's data protection.

use super::query::AuditEventView;
use crate::{Core, CoreError};
use custodian_store::repo;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Events per batch.
const BATCH: u64 = 500;
/// How often a feed looks for events when no append woke it (other processes' appends).
const POLL: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Private enterprise number in the structured data id. 32473 is the number RFC 5612 sets
/// aside for documentation; an organisation with its own number configures nothing here —
/// SIEM parsers match on the SD-ID as a whole.
const SD_ID: &str = "custodian@32473";
/// Facility 13, "log audit" (RFC 5424 §6.2.1).
pub const DEFAULT_FACILITY: u8 = 13;

/// Where the audit log is fed.
#[derive(Default)]
pub struct SiemSettings {
    /// JSON lines, appended and synced per batch.
    pub jsonl_file: Option<PathBuf>,
    pub syslog: Option<SyslogTarget>,
}
crate::redacted_debug!(SiemSettings);

/// An RFC 5424 receiver.
pub struct SyslogTarget {
    /// `host:port`.
    pub address: String,
    /// TLS with this server name and trust; None: plain TCP.
    pub tls: Option<(
        rustls::pki_types::ServerName<'static>,
        Arc<rustls::ClientConfig>,
    )>,
    pub facility: u8,
}
crate::redacted_debug!(SyslogTarget);

impl SyslogTarget {
    /// A TLS receiver at `address`, verified as `server_name` against the PEM CA file, or the
    /// system's roots when there is none.
    pub fn tls(
        address: &str,
        server_name: &str,
        ca_file: Option<&std::path::Path>,
        facility: u8,
    ) -> Result<Self, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|_| format!("cannot read the CA file {}", path.display()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| format!("{} is not a PEM certificate file", path.display()))?;
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|_| format!("{} holds an unusable certificate", path.display()))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        if roots.is_empty() {
            return Err("no certificate to trust: set the CA file".to_owned());
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|_| "the TLS versions are not available".to_owned())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
            .map_err(|_| format!("`{server_name}` is not a server name"))?;
        Self::check_address(address)?;
        Ok(Self {
            address: address.to_owned(),
            tls: Some((name, Arc::new(config))),
            facility,
        })
    }

    /// A plain-TCP receiver (a relay on a trusted network).
    pub fn plain(address: &str, facility: u8) -> Result<Self, String> {
        Self::check_address(address)?;
        Ok(Self {
            address: address.to_owned(),
            tls: None,
            facility,
        })
    }

    fn check_address(address: &str) -> Result<(), String> {
        match address.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
            _ => Err(format!("`{address}` is not host:port")),
        }
    }
}

/// A feed's destination and its open connection or file.
enum Sink {
    File(PathBuf),
    Syslog {
        target: SyslogTarget,
        node: String,
        conn: Option<Box<dyn Stream>>,
    },
}

trait Stream: tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// Severity (RFC 5424 §6.2.1): alerts 1, failures and refusals 4, the rest 6.
fn severity(event: &AuditEventView) -> u8 {
    if event.code.starts_with("alert_") {
        1
    } else if event.outcome == "failure" {
        4
    } else {
        6
    }
}

/// PARAM-VALUE escaping (RFC 5424 §6.3.3).
fn param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A printable-ASCII header field of at most `max` characters, `-` when empty.
fn header_field(value: &str, max: usize) -> String {
    let field: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() {
        "-".to_owned()
    } else {
        field
    }
}

/// One RFC 5424 message: header, structured data, and the event as JSON (UTF-8, with BOM).
pub fn syslog_message(
    event: &AuditEventView,
    facility: u8,
    node: &str,
) -> Result<String, CoreError> {
    let pri = u16::from(facility) * 8 + u16::from(severity(event));
    let timestamp = custodian_domain::clock::from_millis(event.occurred_at)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| CoreError::Internal("an event time did not format"))?;
    let json = serde_json::to_string(event)
        .map_err(|_| CoreError::Internal("an audit event did not serialise"))?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    Ok(format!(
        "<{pri}>1 {timestamp} {host} custodian - {msgid} [{SD_ID} seq=\"{seq}\" id=\"{id}\" outcome=\"{outcome}\" actor_kind=\"{kind}\" actor=\"{actor}\" target_type=\"{ttype}\" target=\"{target}\"] \u{feff}{json}",
        host = header_field(node, 255),
        msgid = header_field(&event.code, 32),
        seq = event.seq,
        id = event.id,
        outcome = param(&event.outcome),
        kind = param(&event.actor_kind),
        actor = opt(event.actor_id.map(|a| a.to_string())),
        ttype = param(event.target_type.as_deref().unwrap_or_default()),
        target = opt(event.target_id.map(|t| t.to_string())),
    ))
}

impl Sink {
    fn cursor_name(&self, node: &str) -> String {
        match self {
            Sink::File(_) => format!("siem_file:{node}"),
            Sink::Syslog { .. } => "siem_syslog".to_owned(),
        }
    }

    async fn send(&mut self, events: &[AuditEventView]) -> Result<(), String> {
        match self {
            Sink::File(path) => {
                let mut text = String::new();
                for event in events {
                    text.push_str(&serde_json::to_string(event).map_err(|_| "serialise")?);
                    text.push('\n');
                }
                let mut file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&*path)
                    .await
                    .map_err(|e| format!("open: {}", e.kind()))?;
                file.write_all(text.as_bytes())
                    .await
                    .map_err(|e| format!("write: {}", e.kind()))?;
                file.sync_data()
                    .await
                    .map_err(|e| format!("sync: {}", e.kind()))
            }
            Sink::Syslog { target, node, conn } => {
                let mut frames = Vec::new();
                for event in events {
                    let message = syslog_message(event, target.facility, node)
                        .map_err(|_| "format".to_owned())?;
                    // Octet counting (RFC 5425 §4.3): "MSG-LEN SP SYSLOG-MSG".
                    frames.extend_from_slice(format!("{} ", message.len()).as_bytes());
                    frames.extend_from_slice(message.as_bytes());
                }
                if conn.is_none() {
                    *conn = Some(connect(target).await?);
                }
                let Some(stream) = conn.as_mut() else {
                    return Err("not connected".to_owned());
                };
                let written = async {
                    stream.write_all(&frames).await?;
                    stream.flush().await
                }
                .await;
                if let Err(e) = written {
                    // Reconnect next time; the batch is sent again then.
                    *conn = None;
                    return Err(format!("send: {}", e.kind()));
                }
                Ok(())
            }
        }
    }
}

async fn connect(target: &SyslogTarget) -> Result<Box<dyn Stream>, String> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(&target.address),
    )
    .await
    .map_err(|_| "connect timeout".to_owned())?
    .map_err(|e| format!("connect: {}", e.kind()))?;
    let _ = tcp.set_nodelay(true);
    match &target.tls {
        None => Ok(Box::new(tcp)),
        Some((name, config)) => {
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name.clone(), tcp)
                .await
                .map_err(|_| "TLS handshake failed".to_owned())?;
            Ok(Box::new(tls))
        }
    }
}

impl Core {
    /// Starts one task per configured feed; they end with the core.
    pub fn start_siem(&self, settings: SiemSettings) {
        let node = self.inner.audit.node().to_owned();
        let mut sinks = Vec::new();
        if let Some(path) = settings.jsonl_file {
            sinks.push(Sink::File(path));
        }
        if let Some(target) = settings.syslog {
            sinks.push(Sink::Syslog {
                target,
                node: node.clone(),
                conn: None,
            });
        }
        for mut sink in sinks {
            let weak = Arc::downgrade(&self.inner);
            let mut appends = self.inner.audit.trigger().subscribe();
            let cursor = sink.cursor_name(&node);
            tokio::spawn(async move {
                let mut backoff = Duration::from_secs(1);
                loop {
                    let Some(inner) = weak.upgrade() else { return };
                    let core = Core { inner };
                    let wait = match core.feed(&cursor, &mut sink).await {
                        Ok(()) => {
                            backoff = Duration::from_secs(1);
                            POLL
                        }
                        Err(e) => {
                            tracing::warn!(feed = %cursor, error = %e, "audit feed failed; retrying");
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                            backoff
                        }
                    };
                    drop(core);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        changed = appends.changed() => {
                            if changed.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    }

    /// Sends every event after the feed's cursor, batch by batch.
    async fn feed(&self, cursor: &str, sink: &mut Sink) -> Result<(), String> {
        let db = |e: CoreError| format!("database: {e}");
        loop {
            // Nothing is written until there is something to send: an idle feed costs reads.
            let from = match repo::alerts::cursor(self.store().conn(), cursor)
                .await
                .map_err(|e| db(e.into()))?
            {
                Some(from) => from,
                None => {
                    repo::alerts::ensure_cursor(self.store().writer(), cursor, 0, self.now())
                        .await
                        .map_err(|e| db(e.into()))?;
                    0
                }
            };
            let rows = repo::audit::events_from(self.store().scan_conn(), from, BATCH)
                .await
                .map_err(|e| db(e.into()))?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(());
            };
            let mut events = Vec::with_capacity(rows.len());
            for row in rows {
                events.push(self.audit_view(row).await.map_err(db)?);
            }
            sink.send(&events).await?;
            repo::alerts::advance_cursor(self.store().writer(), cursor, from, last + 1, self.now())
                .await
                .map_err(|e| db(e.into()))?;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn event(code: &str, outcome: &str) -> AuditEventView {
        AuditEventView {
            id: uuid::Uuid::nil(),
            seq: 7,
            occurred_at: 1_795_600_800_123,
            code: code.to_owned(),
            outcome: outcome.to_owned(),
            actor_kind: "user".to_owned(),
            actor_id: None,
            credential_id: None,
            target_type: Some("contact\"]".to_owned()),
            target_id: None,
            node: "n1".to_owned(),
            ip: None,
            user_agent: None,
            detail: None,
            leaf_hash: String::new(),
        }
    }

    #[test]
    fn messages_follow_rfc_5424() {
        let m = syslog_message(&event("authn_login_fail", "failure"), 13, "web 1").unwrap();
        // facility 13 × 8 + warning 4
        assert!(m.starts_with("<108>1 2026-11-25T10:00:00.123Z web1 custodian - authn_login_fail [custodian@32473 seq=\"7\""), "{m}");
        assert!(m.contains("target_type=\"contact\\\"\\]\""), "{m}");
        assert!(m.contains("] \u{feff}{\"id\""), "{m}");
        let alert = syslog_message(&event("alert_raised", "success"), 13, "n").unwrap();
        assert!(alert.starts_with("<105>1 "));
        let info = syslog_message(&event("data_read", "success"), 13, "").unwrap();
        assert!(
            info.starts_with("<110>1 2026-11-25T10:00:00.123Z - custodian"),
            "{info}"
        );
    }

    #[test]
    fn addresses_and_names_are_checked() {
        assert!(SyslogTarget::plain("siem.example.com:6514", 13).is_ok());
        assert!(SyslogTarget::plain("siem.example.com", 13).is_err());
        assert!(SyslogTarget::plain(":6514", 13).is_err());
    }
}
