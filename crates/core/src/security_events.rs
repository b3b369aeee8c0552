//! Security events: what happened to an account that its owner should see under "recent
//! security activity" (and that the audit work will turn into alerts): sign-ins, sign-ins from
//! a new device or network (also e-mailed to the user), success after many failures, wrong
//! second factors, a session used from a second, distant network, an ended session presented
//! again, and API tokens used outside their scope or networks.
//!
//! The client (IP address, user agent) is stored as field ciphertext; "seen before" compares
//! keyed hashes of the network (IPv4 address, IPv6 /64) and of the device family (the user agent
//! with version numbers removed, so a browser update is not a new device). A session remembers
//! the keyed hash of its wide network (IPv4 /16, IPv6 /48): a request from another wide network
//! is the "two far-apart networks at once" signal. Without a geolocation database, "far apart"
//! means "different wide network"; it is reported once per session.

use crate::auth::SessionGrant;
use crate::sessions::ClientInfo;
use crate::{Actor, Core, CoreError};
use custodian_domain::audit::AuditCode;
use custodian_store::entities::{security_event, session, user};
use custodian_store::repo;
use serde::Serialize;
use std::net::IpAddr;

/// Refusals that name no account are recorded at most this often per network and kind.
const ANONYMOUS_EVERY_MS: i64 = 60_000;
/// How far back "seen before" looks.
const DEVICE_MEMORY_MS: i64 = 365 * 24 * 60 * 60 * 1000;
/// Failures before a success that make the success worth reporting.
const FAILURES_WORTH_REPORTING: i64 = 5;
/// Events shown as recent activity.
pub const RECENT_EVENTS: u64 = 30;

/// What happened. The codes are stable (OWASP Logging Vocabulary style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEventKind {
    /// A complete sign-in (every factor done).
    SignIn,
    /// A wrong password (or a disabled account) for an existing account.
    SignInFailed,
    /// A sign-in from a network or device family the account had not used.
    NewDeviceSignIn,
    /// A sign-in after several failures in a row.
    SignInAfterFailures,
    /// A wrong or reused code, or a passkey that did not verify, at sign-in or step-up.
    SecondFactorFailed,
    /// A session used from a second wide network.
    SessionNetworkChanged,
    /// A session presented after it had been ended.
    EndedSessionUsed,
    /// An API token used outside its scopes or networks.
    TokenRefused,
    /// A session cookie or API token that is no credential (forged, tampered, from another
    /// installation): detail `session` or `api_token`.
    UnknownCredential,
    /// An invitation or password-reset link that is unknown, used or expired: detail the
    /// link's kind.
    InvalidLink,
    /// A sign-in with the identity provider that was refused: detail the reason code.
    SsoRefused,
    /// A body over the size limit posted where credentials go: detail the path.
    OversizedCredentials,
    /// The policies refused an action: detail the action and the resource
    /// (`update Contact::<id>`).
    AccessDenied,
    /// A masked value was shown in full: detail the field group and the record.
    Reveal,
    /// The authorization policies were proposed, put in force or rejected: detail what and
    /// the version (`activated v3`).
    PolicyChange,
    /// A bulk export was requested, approved, rejected, withdrawn or downloaded, or its
    /// requester tried to approve it: detail what, the request and the kind
    /// (`approved <id> contacts`).
    ExportApproval,
}

impl SecurityEventKind {
    /// Stable code: the audit log's for the same event.
    pub fn code(self) -> &'static str {
        self.audit_code().code()
    }

    /// The same event in the audit log's vocabulary.
    pub fn audit_code(self) -> AuditCode {
        match self {
            Self::SignIn => AuditCode::AuthnLoginSuccess,
            Self::SignInFailed => AuditCode::AuthnLoginFail,
            Self::NewDeviceSignIn => AuditCode::AuthnLoginNewDevice,
            Self::SignInAfterFailures => AuditCode::AuthnLoginSuccessAfterFail,
            Self::SecondFactorFailed => AuditCode::AuthnSecondFactorFail,
            Self::SessionNetworkChanged => AuditCode::SessionNetworkChanged,
            Self::EndedSessionUsed => AuditCode::SessionUseAfterEnd,
            Self::TokenRefused => AuditCode::AuthzTokenRefused,
            Self::UnknownCredential => AuditCode::AuthnUnknownCredential,
            Self::InvalidLink => AuditCode::AuthnLinkInvalid,
            Self::SsoRefused => AuditCode::AuthnSsoFail,
            Self::OversizedCredentials => AuditCode::AuthnOversizedRequest,
            Self::AccessDenied => AuditCode::AuthzFail,
            Self::Reveal => AuditCode::DataReveal,
            Self::PolicyChange => AuditCode::AuthzPolicyChange,
            Self::ExportApproval => AuditCode::DataExportApproval,
        }
    }
}

/// An event about to be recorded.
pub(crate) struct NewSecurityEvent<'a> {
    pub kind: SecurityEventKind,
    pub user_id: Option<uuid::Uuid>,
    pub session_id: Option<uuid::Uuid>,
    pub client: Option<&'a ClientInfo>,
    /// Non-personal detail, e.g. `passkey`, `scope`, `failures=7`.
    pub detail: Option<String>,
}

/// Keyed hashes of a client's network and device family ("seen before" compares these).
#[derive(Debug, Default)]
struct ClientKeys {
    network: Option<Vec<u8>>,
    device: Option<Vec<u8>>,
}

/// An event as the account's owner (or an administrator) sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct SecurityEventView {
    pub id: uuid::Uuid,
    /// Stable code, e.g. `authn_login_new_device`.
    pub kind: String,
    /// Unix milliseconds.
    pub occurred_at: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}
crate::redacted_debug!(SecurityEventView);

/// The user agent without version numbers: the same browser on the same system after an
/// update is the same device family.
fn device_family(user_agent: &str) -> String {
    let mut family = String::with_capacity(user_agent.len());
    let mut chars = user_agent.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            // A version: digits joined by dots or underscores.
            while chars
                .peek()
                .is_some_and(|n| n.is_ascii_digit() || *n == '.' || *n == '_')
            {
                chars.next();
            }
        } else {
            family.push(c);
        }
    }
    family.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The wide network: IPv4 /16, IPv6 /48 (a move between them is a move between providers or
/// places, not a renewed lease).
fn wide_network(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.0.0/16", o[0], o[1])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

impl Core {
    /// Keyed hash of the client's wide network (kept on sessions).
    pub(crate) fn wide_network_key(
        &self,
        ip: Option<IpAddr>,
    ) -> Result<Option<Vec<u8>>, CoreError> {
        ip.map(|ip| self.keys().lookup("sessions", "network", &wide_network(ip)))
            .transpose()
    }

    /// Keyed hashes of the client's network and device family, computed once per event source.
    fn client_keys(&self, client: &ClientInfo) -> Result<ClientKeys, CoreError> {
        let network = client
            .ip
            .map(|ip| {
                self.keys().lookup(
                    "security_events",
                    "network",
                    &crate::throttle::network_of(ip),
                )
            })
            .transpose()?;
        let device = client
            .user_agent
            .as_deref()
            .map(|ua| {
                self.keys()
                    .lookup("security_events", "device", &device_family(ua))
            })
            .transpose()?;
        Ok(ClientKeys { network, device })
    }

    /// Records an event (and a log line without personal data, for monitoring).
    pub(crate) async fn record_security_event(
        &self,
        event: NewSecurityEvent<'_>,
    ) -> Result<(), CoreError> {
        let keys = match event.client {
            Some(client) => self.client_keys(client)?,
            None => ClientKeys::default(),
        };
        self.insert_security_event(event, &keys, &[]).await
    }

    /// Records an event with more detail for its audit event only (the monitor's
    /// fingerprints of a failed sign-in).
    pub(crate) async fn record_security_event_with(
        &self,
        event: NewSecurityEvent<'_>,
        audit_detail: &[(&'static str, String)],
    ) -> Result<(), CoreError> {
        let keys = match event.client {
            Some(client) => self.client_keys(client)?,
            None => ClientKeys::default(),
        };
        self.insert_security_event(event, &keys, audit_detail).await
    }

    /// Records an event whose client's keys are already computed.
    async fn insert_security_event(
        &self,
        event: NewSecurityEvent<'_>,
        keys: &ClientKeys,
        audit_detail: &[(&'static str, String)],
    ) -> Result<(), CoreError> {
        let now = self.now();
        let id = custodian_domain::ids::uuid_at(now);
        let client_ct = match event.client {
            Some(client) => {
                self.seal_client(self.store().conn(), "security_events", id, client)
                    .await?
            }
            None => None,
        };
        tracing::info!(
            target: "security",
            kind = event.kind.code(),
            user_id = ?event.user_id,
            session_id = ?event.session_id,
            detail = event.detail.as_deref().unwrap_or(""),
            "security event"
        );
        let mut audit = crate::audit::AuditEvent::for_user(
            event.user_id,
            event.session_id,
            event.kind.audit_code(),
        );
        if let Some(client) = event.client {
            audit = audit.client(client);
        }
        if let Some(detail) = &event.detail {
            audit = audit.detail("detail", detail.as_str());
        }
        for (key, value) in audit_detail {
            audit = audit.detail(key, value.as_str());
        }
        // The account's own record and the audit log's, together or not at all.
        let txn = self.store().begin().await?;
        repo::security_events::insert(
            &txn,
            security_event::Model {
                id,
                user_id: event.user_id,
                session_id: event.session_id,
                kind: event.kind.code().to_owned(),
                occurred_at: now,
                client_ct,
                network_lookup: keys.network.clone(),
                device_lookup: keys.device.clone(),
                detail: event.detail,
            },
        )
        .await?;
        self.audit_in(&txn, vec![audit]).await?;
        txn.commit().await?;
        Ok(())
    }

    /// After a complete sign-in: the sign-in event, and the signals it carries — a device or
    /// network this account had not used (also e-mailed to the user), or many failures before
    /// it.
    pub(crate) async fn after_sign_in(
        &self,
        user_id: uuid::Uuid,
        grant: &SessionGrant,
        client: &ClientInfo,
        failures_before: i64,
    ) -> Result<(), CoreError> {
        let keys = self.client_keys(client)?;
        let (any_before, network_seen, device_seen) = repo::security_events::seen_before(
            self.store().conn(),
            user_id,
            SecurityEventKind::SignIn.code(),
            self.now() - DEVICE_MEMORY_MS,
            keys.network.as_deref(),
            keys.device.as_deref(),
        )
        .await?;
        let event = |kind, detail| NewSecurityEvent {
            kind,
            user_id: Some(user_id),
            session_id: Some(grant.session_id.as_uuid()),
            client: Some(client),
            detail,
        };
        self.insert_security_event(event(SecurityEventKind::SignIn, None), &keys, &[])
            .await?;
        if any_before && !(network_seen && device_seen) {
            let detail = match (network_seen, device_seen) {
                (false, false) => "network+device",
                (false, true) => "network",
                _ => "device",
            };
            self.insert_security_event(
                event(SecurityEventKind::NewDeviceSignIn, Some(detail.to_owned())),
                &keys,
                &[],
            )
            .await?;
            self.notify_new_sign_in(user_id, client.clone());
        }
        if failures_before >= FAILURES_WORTH_REPORTING {
            self.insert_security_event(
                event(
                    SecurityEventKind::SignInAfterFailures,
                    Some(format!("failures={failures_before}")),
                ),
                &keys,
                &[],
            )
            .await?;
        }
        Ok(())
    }

    /// E-mails the user about a sign-in from a new device, after the answer (a slow or failing
    /// mail server must not hold up the sign-in; a failure is logged).
    fn notify_new_sign_in(&self, user_id: uuid::Uuid, client: ClientInfo) {
        if !self.mail_configured() {
            return;
        }
        let core = self.clone();
        tokio::spawn(async move {
            if let Err(e) = core.send_new_sign_in_mail(user_id, &client).await {
                tracing::warn!(error = %e, "new sign-in notice not sent");
            }
        });
    }

    async fn send_new_sign_in_mail(
        &self,
        user_id: uuid::Uuid,
        client: &ClientInfo,
    ) -> Result<(), CoreError> {
        let user = self.active_user(user_id).await?;
        let email = self.user_email(&user).await?;
        let zh = crate::outbound::is_chinese(user.locale.as_deref());
        let link = format!("{}/account/security", self.public_url());
        let mail = crate::messages::new_sign_in_mail(email, self.now(), client, &link, zh);
        self.send_mail(mail).await
    }

    /// A request on a session from `ip` (wide network key `here`): the first time it comes
    /// from a wide network other than the one the session was opened from, that is recorded.
    pub(crate) async fn check_session_network(
        &self,
        row: &session::Model,
        here: Option<&[u8]>,
        ip: Option<IpAddr>,
    ) -> Result<(), CoreError> {
        let (Some(opened_from), Some(here)) = (row.network_lookup.as_deref(), here) else {
            return Ok(());
        };
        if opened_from == here || row.network_changed_at.is_some() {
            return Ok(());
        }
        if repo::security_events::mark_network_changed(self.store().writer(), row.id, self.now())
            .await?
        {
            let client = ClientInfo::new(ip, None);
            self.record_security_event(NewSecurityEvent {
                kind: SecurityEventKind::SessionNetworkChanged,
                user_id: Some(row.user_id),
                session_id: Some(row.id),
                client: Some(&client),
                detail: None,
            })
            .await?;
        }
        Ok(())
    }

    /// An ended session presented again: recorded the first time (a stolen cookie, or a tab
    /// left open — either way its owner should know).
    pub(crate) async fn report_ended_session_use(
        &self,
        row: &session::Model,
        ip: Option<IpAddr>,
    ) -> Result<(), CoreError> {
        if row.used_after_end_at.is_some()
            || !repo::security_events::mark_used_after_end(
                self.store().writer(),
                row.id,
                self.now(),
            )
            .await?
        {
            return Ok(());
        }
        let client = ClientInfo::new(ip, None);
        self.record_security_event(NewSecurityEvent {
            kind: SecurityEventKind::EndedSessionUsed,
            user_id: Some(row.user_id),
            session_id: Some(row.id),
            client: Some(&client),
            detail: row.end_reason.clone(),
        })
        .await
    }

    /// A refusal that names no account (an unknown credential or link, a failed single
    /// sign-on): recorded at most once a minute per client network, kind and detail, so a flood
    /// of them costs one row a minute, not one per request.
    pub(crate) async fn record_anonymous_refusal(
        &self,
        kind: SecurityEventKind,
        ip: Option<IpAddr>,
        detail: &'static str,
    ) -> Result<(), CoreError> {
        let client = ClientInfo::new(ip, None);
        let keys = self.client_keys(&client)?;
        if repo::security_events::recent_from_network(
            self.store().conn(),
            kind.code(),
            detail,
            keys.network.as_deref(),
            self.now() - ANONYMOUS_EVERY_MS,
        )
        .await?
        {
            return Ok(());
        }
        self.insert_security_event(
            NewSecurityEvent {
                kind,
                user_id: None,
                session_id: None,
                client: Some(&client),
                detail: Some(detail.to_owned()),
            },
            &keys,
            &[],
        )
        .await
    }

    /// A body over the size limit was posted to `path`, where credentials go (refused before
    /// any handler ran).
    pub async fn record_oversized_credentials(
        &self,
        ip: Option<IpAddr>,
        path: &'static str,
    ) -> Result<(), CoreError> {
        self.record_anonymous_refusal(SecurityEventKind::OversizedCredentials, ip, path)
            .await
    }

    /// An API token was refused for its scope or networks (`reason`: `scope` or `network`).
    pub async fn record_token_refusal(
        &self,
        actor: &Actor,
        reason: &'static str,
        ip: Option<IpAddr>,
    ) -> Result<(), CoreError> {
        let client = ClientInfo::new(ip, None);
        self.record_security_event(NewSecurityEvent {
            kind: SecurityEventKind::TokenRefused,
            user_id: Some(actor.user_id.as_uuid()),
            session_id: None,
            client: Some(&client),
            detail: Some(reason.to_owned()),
        })
        .await
    }

    /// A wrong second factor at sign-in or step-up (`how`: `code`, `passkey` or `password`),
    /// from `client` (by default where the session was opened).
    pub(crate) async fn record_second_factor_failure(
        &self,
        user_id: uuid::Uuid,
        session_id: uuid::Uuid,
        how: &'static str,
        client: Option<&ClientInfo>,
    ) -> Result<(), CoreError> {
        let client = match client {
            Some(client) => client.clone(),
            None => {
                self.session_client(custodian_domain::SessionId(session_id))
                    .await?
            }
        };
        self.record_security_event(NewSecurityEvent {
            kind: SecurityEventKind::SecondFactorFailed,
            user_id: Some(user_id),
            session_id: Some(session_id),
            client: Some(&client),
            detail: Some(how.to_owned()),
        })
        .await
    }

    /// The signed-in user's recent security activity, newest first.
    pub async fn my_security_events(
        &self,
        actor: &Actor,
    ) -> Result<Vec<SecurityEventView>, CoreError> {
        self.security_events_of(actor.user_id.as_uuid()).await
    }

    /// Any user's recent security activity (administrators).
    pub async fn user_security_events(
        &self,
        actor: &Actor,
        user_id: custodian_domain::UserId,
    ) -> Result<Vec<SecurityEventView>, CoreError> {
        self.require(actor, crate::authz::SystemAction::MonitorSecurity)
            .await?;
        let user: user::Model = self.user_row(user_id).await?;
        self.security_events_of(user.id).await
    }

    async fn security_events_of(
        &self,
        user_id: uuid::Uuid,
    ) -> Result<Vec<SecurityEventView>, CoreError> {
        let rows =
            repo::security_events::recent_for_user(self.store().conn(), user_id, RECENT_EVENTS)
                .await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let client = self
                .open_client_of("security_events", row.id, row.client_ct.as_deref())
                .await?;
            views.push(SecurityEventView {
                id: row.id,
                kind: row.kind,
                occurred_at: row.occurred_at,
                ip: client.ip,
                user_agent: client.user_agent,
                detail: row.detail,
            });
        }
        Ok(views)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_browser_update_is_the_same_device_family() {
        let before = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/155.0.8001.12 Safari/537.36";
        let after = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.73 Safari/537.36";
        assert_eq!(device_family(before), device_family(after));
        let mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";
        assert_ne!(device_family(before), device_family(mac));
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_ne!(device_family(before), device_family(firefox));
    }

    #[test]
    fn wide_networks_are_ipv4_16_and_ipv6_48() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            wide_network(ip("203.0.113.7")),
            wide_network(ip("203.0.200.1"))
        );
        assert_ne!(
            wide_network(ip("203.0.113.7")),
            wide_network(ip("203.1.113.7"))
        );
        assert_eq!(
            wide_network(ip("2001:db8:1:2::1")),
            wide_network(ip("2001:db8:1:ffff::9"))
        );
        assert_ne!(
            wide_network(ip("2001:db8:1::1")),
            wide_network(ip("2001:db8:2::1"))
        );
        assert_eq!(
            wide_network(ip("::ffff:203.0.113.7")),
            wide_network(ip("203.0.1.1")),
            "IPv4-mapped addresses count as IPv4"
        );
    }
}
