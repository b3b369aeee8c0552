//! The audit vocabulary (stable codes after the OWASP Logging Vocabulary) and the canonical
//! bytes of an audit event, which its leaf hash covers.

use serde::Serialize;

/// What happened. Codes are stable: reports, alerts and SIEM rules match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditCode {
    // Authentication.
    AuthnLoginSuccess,
    AuthnLoginFail,
    AuthnLoginNewDevice,
    AuthnLoginSuccessAfterFail,
    AuthnSecondFactorFail,
    AuthnUnknownCredential,
    AuthnLinkInvalid,
    AuthnSsoFail,
    AuthnOversizedRequest,
    // Sessions.
    SessionNetworkChanged,
    SessionUseAfterEnd,
    // Authorization.
    AuthzFail,
    AuthzTokenRefused,
    AuthzPolicyChange,
    // Data.
    DataReveal,
    DataExportApproval,
    DataRead,
    DataCreate,
    DataUpdate,
    DataDelete,
    DataRestore,
    DataExport,
    DataImport,
    // Permissions and user administration.
    AuthzRoleChange,
    UserCreate,
    UserUpdate,
    UserDisable,
    UserEnable,
    UserDelete,
    UserMfaReset,
    // Sign-out, passwords, tokens and sessions.
    AuthnLogout,
    AuthnPasswordChange,
    AuthnTokenCreated,
    AuthnTokenRevoked,
    /// A second factor added, removed or renewed (detail `factor`, `change`).
    AuthnMfaChange,
    SessionEnded,
    // Administrative configuration (pipelines, custom fields, the product catalogue, the MFA
    // policy) and reads of the audit log itself.
    ConfigChange,
    AuditRead,
    /// Events older than the retention period removed below a signed checkpoint (detail
    /// `below`, `cutoff`, `retention_days`, `root`).
    AuditPruned,
    // Monitoring: an alert raised by a rule, changed by a person, or acted on by a rule.
    AlertRaised,
    AlertChanged,
    AlertAction,
}

/// Every code, for documentation, filters and tests.
pub const ALL_CODES: &[AuditCode] = &[
    AuditCode::AuthnLoginSuccess,
    AuditCode::AuthnLoginFail,
    AuditCode::AuthnLoginNewDevice,
    AuditCode::AuthnLoginSuccessAfterFail,
    AuditCode::AuthnSecondFactorFail,
    AuditCode::AuthnUnknownCredential,
    AuditCode::AuthnLinkInvalid,
    AuditCode::AuthnSsoFail,
    AuditCode::AuthnOversizedRequest,
    AuditCode::SessionNetworkChanged,
    AuditCode::SessionUseAfterEnd,
    AuditCode::AuthzFail,
    AuditCode::AuthzTokenRefused,
    AuditCode::AuthzPolicyChange,
    AuditCode::DataReveal,
    AuditCode::DataExportApproval,
    AuditCode::DataRead,
    AuditCode::DataCreate,
    AuditCode::DataUpdate,
    AuditCode::DataDelete,
    AuditCode::DataRestore,
    AuditCode::DataExport,
    AuditCode::DataImport,
    AuditCode::AuthzRoleChange,
    AuditCode::UserCreate,
    AuditCode::UserUpdate,
    AuditCode::UserDisable,
    AuditCode::UserEnable,
    AuditCode::UserDelete,
    AuditCode::UserMfaReset,
    AuditCode::AuthnLogout,
    AuditCode::AuthnPasswordChange,
    AuditCode::AuthnTokenCreated,
    AuditCode::AuthnTokenRevoked,
    AuditCode::AuthnMfaChange,
    AuditCode::SessionEnded,
    AuditCode::ConfigChange,
    AuditCode::AuditRead,
    AuditCode::AuditPruned,
    AuditCode::AlertRaised,
    AuditCode::AlertChanged,
    AuditCode::AlertAction,
];

impl AuditCode {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::AuthnLoginSuccess => "authn_login_success",
            Self::AuthnLoginFail => "authn_login_fail",
            Self::AuthnLoginNewDevice => "authn_login_new_device",
            Self::AuthnLoginSuccessAfterFail => "authn_login_success_after_fail",
            Self::AuthnSecondFactorFail => "authn_second_factor_fail",
            Self::AuthnUnknownCredential => "authn_unknown_credential",
            Self::AuthnLinkInvalid => "authn_link_invalid",
            Self::AuthnSsoFail => "authn_sso_fail",
            Self::AuthnOversizedRequest => "authn_oversized_request",
            Self::SessionNetworkChanged => "session_network_changed",
            Self::SessionUseAfterEnd => "session_use_after_end",
            Self::AuthzFail => "authz_fail",
            Self::AuthzTokenRefused => "authz_token_refused",
            Self::AuthzPolicyChange => "authz_policy_change",
            Self::DataReveal => "data_reveal",
            Self::DataExportApproval => "data_export_approval",
            Self::DataRead => "data_read",
            Self::DataCreate => "data_create",
            Self::DataUpdate => "data_update",
            Self::DataDelete => "data_delete",
            Self::DataRestore => "data_restore",
            Self::DataExport => "data_export",
            Self::DataImport => "data_import",
            Self::AuthzRoleChange => "authz_role_change",
            Self::UserCreate => "user_create",
            Self::UserUpdate => "user_update",
            Self::UserDisable => "user_disable",
            Self::UserEnable => "user_enable",
            Self::UserDelete => "user_delete",
            Self::UserMfaReset => "user_mfa_reset",
            Self::AuthnLogout => "authn_logout",
            Self::AuthnPasswordChange => "authn_password_change",
            Self::AuthnTokenCreated => "authn_token_created",
            Self::AuthnTokenRevoked => "authn_token_revoked",
            Self::AuthnMfaChange => "authn_mfa_change",
            Self::SessionEnded => "session_ended",
            Self::ConfigChange => "config_change",
            Self::AuditRead => "audit_read",
            Self::AuditPruned => "audit_pruned",
            Self::AlertRaised => "alert_raised",
            Self::AlertChanged => "alert_changed",
            Self::AlertAction => "alert_action",
        }
    }

    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        ALL_CODES.iter().copied().find(|c| c.code() == code)
    }

    /// The category: the part of the code before the first underscore.
    #[must_use]
    pub fn category(self) -> &'static str {
        let code = self.code();
        code.split('_').next().unwrap_or(code)
    }

    /// Whether this is a refusal or failure by nature (the outcome of the others is recorded
    /// per event).
    #[must_use]
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::AuthnLoginFail
                | Self::AuthnSecondFactorFail
                | Self::AuthnUnknownCredential
                | Self::AuthnLinkInvalid
                | Self::AuthnSsoFail
                | Self::AuthnOversizedRequest
                | Self::SessionUseAfterEnd
                | Self::AuthzFail
                | Self::AuthzTokenRefused
        )
    }
}

/// Whether the action happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in user (session).
    User,
    /// An API token (its owning user is the actor id).
    Token,
    /// An administrator on the server's command line.
    Cli,
    /// The server itself (scheduled jobs).
    System,
    /// Nobody known: a refusal before anyone was identified.
    Anonymous,
}

impl ActorKind {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Token => "token",
            Self::Cli => "cli",
            Self::System => "system",
            Self::Anonymous => "anonymous",
        }
    }
}

/// Most bytes of one event's detail (JSON): detail carries codes, ids, counts and field
/// names, never free text, so this bounds a bug rather than a use.
pub const MAX_DETAIL_BYTES: usize = 16 * 1024;

/// The columns an event's leaf hash covers, in a fixed order. Every value is length-prefixed
/// (or fixed-width), so no two different events encode to the same bytes.
#[derive(Debug, Clone, Copy)]
pub struct LeafFields<'a> {
    pub seq: i64,
    pub id: uuid::Uuid,
    pub occurred_at: i64,
    pub code: &'a str,
    pub outcome: &'a str,
    pub actor_kind: &'a str,
    pub actor_id: Option<uuid::Uuid>,
    pub credential_id: Option<uuid::Uuid>,
    pub target_type: Option<&'a str>,
    pub target_id: Option<uuid::Uuid>,
    pub node: &'a str,
    pub client_ct: Option<&'a [u8]>,
    pub detail: Option<&'a str>,
}

/// Version byte of the encoding below.
const LEAF_FORMAT: u8 = 1;

impl LeafFields<'_> {
    /// The canonical bytes (format 1).
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.detail.map_or(0, str::len));
        out.push(LEAF_FORMAT);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&self.occurred_at.to_be_bytes());
        for text in [self.code, self.outcome, self.actor_kind] {
            put_bytes(&mut out, Some(text.as_bytes()));
        }
        put_uuid(&mut out, self.actor_id);
        put_uuid(&mut out, self.credential_id);
        put_bytes(&mut out, self.target_type.map(str::as_bytes));
        put_uuid(&mut out, self.target_id);
        put_bytes(&mut out, Some(self.node.as_bytes()));
        put_bytes(&mut out, self.client_ct);
        put_bytes(&mut out, self.detail.map(str::as_bytes));
        out
    }
}

/// Absent: a zero byte. Present: a one byte, the length (u32, big-endian), the bytes.
fn put_bytes(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

fn put_uuid(out: &mut Vec<u8>, value: Option<uuid::Uuid>) {
    match value {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

/// Makes a value safe to put in an event: control characters (CR, LF, ESC of ANSI escapes,
/// …) become `\u{..}` text, and the result is at most `max_chars` characters, so a value
/// can neither forge a log line nor flood the log.
#[must_use]
pub fn sanitize(value: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max_chars));
    for c in value.chars().take(max_chars) {
        if c.is_control() {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf<'a>(detail: Option<&'a str>, target: Option<&'a str>) -> LeafFields<'a> {
        LeafFields {
            seq: 4,
            id: uuid::Uuid::from_u128(9),
            occurred_at: 1_700_000_000_000,
            code: "data_update",
            outcome: "success",
            actor_kind: "user",
            actor_id: Some(uuid::Uuid::from_u128(1)),
            credential_id: None,
            target_type: target,
            target_id: None,
            node: "host",
            client_ct: None,
            detail,
        }
    }

    #[test]
    fn codes_are_unique_parse_back_and_have_a_category() {
        let mut seen = std::collections::HashSet::new();
        for code in ALL_CODES {
            assert!(seen.insert(code.code()), "{} twice", code.code());
            assert_eq!(AuditCode::parse(code.code()), Some(*code));
            assert!(
                [
                    "authn", "session", "authz", "data", "user", "config", "audit", "alert"
                ]
                .contains(&code.category()),
                "{}",
                code.code()
            );
        }
        assert_eq!(AuditCode::parse("nothing"), None);
    }

    #[test]
    fn moving_bytes_between_fields_changes_the_encoding() {
        // "a" as target type and no detail, against no target type and "a" as detail.
        let one = leaf(None, Some("a")).canonical_bytes();
        let two = leaf(Some("a"), None).canonical_bytes();
        assert_ne!(one, two);
        // Every field counts: a different sequence number is different bytes.
        let mut moved = leaf(None, Some("a"));
        moved.seq = 5;
        assert_ne!(moved.canonical_bytes(), one);
    }

    #[test]
    fn sanitize_escapes_line_breaks_and_escapes_and_bounds_length() {
        let dirty = "ok\r\nFAKE line\u{1b}[31mred\"quote";
        let clean = sanitize(dirty, 100);
        assert!(!clean.contains('\n') && !clean.contains('\r') && !clean.contains('\u{1b}'));
        assert!(clean.contains("\\u{a}") && clean.contains("\\u{1b}"));
        assert!(
            clean.contains("\"quote"),
            "quotes stay; JSON encoding escapes them"
        );
        assert_eq!(sanitize(&"x".repeat(1_000_000), 512).chars().count(), 512);
    }
}
