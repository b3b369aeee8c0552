//! Errors of the use cases. The web layer maps each to one HTTP status and stable code; the
//! messages here are safe to show (no personal data, no internals).

use custodian_crypto::CryptoError;
use custodian_domain::{DomainError, FieldError};
use custodian_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("invalid input: {}", custodian_domain::error::describe(.0))]
    Validation(Vec<FieldError>),
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("{0}")]
    Conflict(&'static str),
    /// The request breaks a rule given the record's current state (a closed deal moved, a
    /// stage removed while deals sit in it): 409 with its own stable code.
    #[error("{message}")]
    Rule {
        code: &'static str,
        message: &'static str,
    },
    /// An import with rows that cannot be imported: nothing was written; the report lists
    /// every bad row.
    #[error("the file has rows that cannot be imported; nothing was imported")]
    ImportInvalid(Box<crate::imports::ImportReport>),
    #[error("the record was changed by someone else; reload it and apply your change again")]
    StaleVersion { current_version: i64 },
    #[error("authentication required")]
    Unauthenticated,
    #[error("e-mail or password is incorrect")]
    InvalidCredentials,
    #[error("the setup code is invalid, used or expired")]
    InvalidSetupCode,
    /// A wrong, reused or expired second-factor code (TOTP or recovery code).
    #[error("the code is wrong, already used or expired")]
    InvalidCode,
    /// The sign-in waiting for its second factor ended (too old, too many wrong codes).
    #[error("the sign-in expired; sign in again")]
    SignInExpired,
    /// Too many failed sign-in attempts for this account or network: wait, then try again.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: i64 },
    /// Too many codes were sent to this user lately: wait, or use another factor.
    #[error("too many codes sent; try again in {retry_after_secs} seconds")]
    TooManyCodes { retry_after_secs: i64 },
    /// No transport for this channel is configured on this server.
    #[error("sending by {} is not set up on this server", .0.as_str())]
    ChannelUnavailable(crate::outbound::Channel),
    /// The transport refused or could not be reached; the details are in the server log.
    #[error("the message could not be sent by {}", .0.as_str())]
    DeliveryFailed(crate::outbound::Channel),
    /// An invitation or password-reset link that is unknown, used or expired.
    #[error("the link is invalid, already used or expired")]
    InvalidLink,
    /// A passkey answer that did not verify (unknown credential, wrong origin or RP ID, bad
    /// signature, counter gone back, no user verification).
    #[error("the passkey could not be verified; try again or use another way to sign in")]
    PasskeyRejected,
    /// The passkey request was finished already, expired, or belongs to another sign-in.
    #[error("the passkey request expired or was already used; start again")]
    PasskeyRequestExpired,
    /// The server's public URL is not a host name, which passkeys need.
    #[error(
        "passkeys are not available on this server: its public address (server.public_url) must be an https:// host name"
    )]
    PasskeysUnavailable,
    /// Signing in with the organisation's identity provider did not complete. The reason (a
    /// stable code such as `id_token_invalid`) goes to the log and the security events, never
    /// into the answer.
    #[error("sign-in with the identity provider did not complete")]
    SsoFailed { reason: &'static str },
    /// No identity provider is configured.
    #[error("single sign-on is not set up on this server")]
    SsoNotConfigured,
    /// The identity provider could not be reached.
    #[error("the identity provider could not be reached")]
    SsoUnavailable,
    /// A sensitive action on a session whose last sign-in or step-up is too old.
    #[error("confirm it is you before doing this")]
    ReauthenticationRequired,
    #[error("you are not allowed to do this")]
    Forbidden,
    /// Policy text that does not parse or does not match the authorization model.
    #[error("{0}")]
    InvalidPolicy(crate::authz::PolicyError),
    /// A denial decided inside a transaction: the use case records it as a security event
    /// once the transaction has ended ([`crate::Core::recording_denials`]) and answers with
    /// `error`.
    #[error("{error}")]
    Denied {
        action: String,
        target: String,
        error: Box<CoreError>,
    },
    /// A write names a field the caller may not change (mass assignment is refused, never
    /// silently dropped).
    #[error("you may not change {field} ({group})")]
    FieldNotPermitted { field: String, group: &'static str },
    /// An export larger than the bulk threshold without an approved request for it.
    #[error("the export holds more than {threshold} records and needs someone else's approval")]
    ExportApprovalRequired { threshold: u64 },
    #[error("the cursor is invalid; start again from the first page")]
    InvalidCursor,
    #[error("invalid configuration")]
    Config(Vec<FieldError>),
    #[error(
        "the key file does not match this database: {0}. Restore the key file that belongs to this database (from your offline key backup), or point --data-dir / --database-url at the matching pair"
    )]
    KeyMismatch(String),
    /// Stored data failed authentication on decryption: tampering, a moved ciphertext or a
    /// destroyed key. Never carries the data.
    #[error("stored data could not be decrypted")]
    DataIntegrity {
        table: &'static str,
        column: &'static str,
    },
    #[error("cryptographic failure")]
    Crypto(#[from] CryptoError),
    #[error("storage failure")]
    Store(#[from] StoreError),
    /// The audit log cannot be written: what would be done unaudited is refused.
    #[error("the audit log cannot be written right now")]
    AuditUnavailable,
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<DomainError> for CoreError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => CoreError::Validation(errors),
        }
    }
}

impl From<FieldError> for CoreError {
    fn from(e: FieldError) -> Self {
        CoreError::Validation(vec![e])
    }
}

impl From<custodian_store::DbErr> for CoreError {
    fn from(e: custodian_store::DbErr) -> Self {
        CoreError::Store(StoreError::Db(e))
    }
}
