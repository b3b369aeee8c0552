//! Tunables of the use cases, validated once at start.

use crate::CoreError;
use custodian_crypto::password::PasswordParams;
use custodian_domain::FieldError;

#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// A session ends after this long without a request.
    pub session_idle_secs: i64,
    /// A session ends this long after login, whatever its activity.
    pub session_absolute_secs: i64,
    /// Running sessions a user may hold; signing in once more ends the least recently used.
    pub session_max_per_user: usize,
    /// A sensitive action needs a sign-in or step-up at most this long ago.
    pub reauth_window_secs: i64,
    /// Consecutive failed sign-ins that lock an account (NIST: at most 100).
    pub login_lockout_threshold: i64,
    /// How long a lockout lasts after the last failure (also when counters start over).
    pub login_lockout_secs: i64,
    /// A throttled sign-in is answered this late (at most until it would be allowed).
    pub login_throttled_delay_ms: i64,
    /// The longest life an API token may be given (days).
    pub api_token_max_days: u32,
    pub password_min_length: usize,
    pub password_params: PasswordParams,
    /// How long an invitation link works.
    pub invitation_ttl_secs: i64,
    /// How long a password-reset link works.
    pub password_reset_ttl_secs: i64,
    /// How long the first administrator's setup code stays valid.
    pub setup_code_ttl_secs: i64,
    /// Rows expected per searchable table; sets blind-index truncation (CipherSweet's rule).
    pub search_expected_rows: u64,
    /// Unwrapped data keys kept in memory.
    pub data_key_cache_size: usize,
    /// A change of the authorization policies takes effect only once a second administrator
    /// approves it (separation of duties).
    pub policy_two_person_rule: bool,
    /// An export of more than this many records needs someone else's approval before it can
    /// be downloaded (separation of duties); `None`: no export needs approval.
    pub export_approval_above_rows: Option<u64>,
    /// How long an approved export stays downloadable.
    pub export_approval_ttl_secs: i64,
}

impl Default for CoreSettings {
    fn default() -> Self {
        Self {
            session_idle_secs: 30 * 60,
            session_absolute_secs: 12 * 60 * 60,
            session_max_per_user: 10,
            reauth_window_secs: 10 * 60,
            login_lockout_threshold: 100,
            login_lockout_secs: 60 * 60,
            login_throttled_delay_ms: 1000,
            api_token_max_days: 365,
            password_min_length: 12,
            password_params: PasswordParams::default(),
            invitation_ttl_secs: 3 * 24 * 60 * 60,
            password_reset_ttl_secs: 30 * 60,
            setup_code_ttl_secs: 24 * 60 * 60,
            search_expected_rows: 1_000_000,
            data_key_cache_size: 10_000,
            policy_two_person_rule: true,
            export_approval_above_rows: Some(1000),
            export_approval_ttl_secs: 24 * 60 * 60,
        }
    }
}

/// The largest "bulk" threshold: exports are counted up to one past it, so it bounds that count.
pub const MAX_EXPORT_APPROVAL_ROWS: u64 = 1_000_000;

/// The longest password accepted. NIST 800-63B asks for at least 64; the cap only bounds the
/// hashing work an attacker can request.
pub const PASSWORD_MAX_LENGTH: usize = 256;

impl CoreSettings {
    pub fn validate(&self) -> Result<(), CoreError> {
        let mut errors = Vec::new();
        if self.session_idle_secs < 60 || self.session_idle_secs > self.session_absolute_secs {
            errors.push(FieldError::new(
                "session.idle_timeout_secs",
                "out_of_range",
                "must be at least 60 and no longer than session.absolute_timeout_secs",
            ));
        }
        if self.session_absolute_secs > 30 * 24 * 60 * 60 {
            errors.push(FieldError::new(
                "session.absolute_timeout_secs",
                "out_of_range",
                "must be at most 30 days (2592000)",
            ));
        }
        if !(1..=1000).contains(&self.session_max_per_user) {
            errors.push(FieldError::new(
                "session.max_per_user",
                "out_of_range",
                "must be between 1 and 1000",
            ));
        }
        if !(30..=24 * 60 * 60).contains(&self.reauth_window_secs) {
            errors.push(FieldError::new(
                "session.reauth_window_secs",
                "out_of_range",
                "must be between 30 seconds and one day (86400)",
            ));
        }
        if !(10..=100).contains(&self.login_lockout_threshold) {
            errors.push(FieldError::new(
                "login.lockout_threshold",
                "out_of_range",
                "must be between 10 and 100 consecutive failures (NIST SP 800-63B allows at most 100)",
            ));
        }
        if !(60..=7 * 24 * 60 * 60).contains(&self.login_lockout_secs) {
            errors.push(FieldError::new(
                "login.lockout_secs",
                "out_of_range",
                "must be between 60 seconds and 7 days (604800)",
            ));
        }
        if !(0..=10_000).contains(&self.login_throttled_delay_ms) {
            errors.push(FieldError::new(
                "login.throttled_delay_ms",
                "out_of_range",
                "must be between 0 and 10000 milliseconds",
            ));
        }
        if !(1..=3650).contains(&self.api_token_max_days) {
            errors.push(FieldError::new(
                "api_tokens.max_days",
                "out_of_range",
                "must be between 1 and 3650 days",
            ));
        }
        if !(8..=64).contains(&self.password_min_length) {
            errors.push(FieldError::new(
                "password.min_length",
                "out_of_range",
                "must be between 8 and 64 (NIST SP 800-63B asks for at least 8; 15 is recommended)",
            ));
        }
        if let Err(e) = self.password_params.validate() {
            errors.push(FieldError::new(
                "password.argon2",
                "too_weak",
                e.to_string(),
            ));
        }
        if !(60 * 60..=30 * 24 * 60 * 60).contains(&self.invitation_ttl_secs) {
            errors.push(FieldError::new(
                "users.invitation_ttl_hours",
                "out_of_range",
                "must be between 1 hour and 30 days (720 hours)",
            ));
        }
        if !(5 * 60..=24 * 60 * 60).contains(&self.password_reset_ttl_secs) {
            errors.push(FieldError::new(
                "password.reset_link_minutes",
                "out_of_range",
                "must be between 5 minutes and one day (1440)",
            ));
        }
        if self.data_key_cache_size == 0 {
            errors.push(FieldError::new(
                "crypto.data_key_cache_size",
                "out_of_range",
                "must be at least 1",
            ));
        }
        if self.search_expected_rows < 16 {
            errors.push(FieldError::new(
                "search.expected_rows",
                "out_of_range",
                "must be at least 16",
            ));
        }
        if self
            .export_approval_above_rows
            .is_some_and(|rows| !(1..=MAX_EXPORT_APPROVAL_ROWS).contains(&rows))
        {
            errors.push(FieldError::new(
                "authorization.bulk_export_rows",
                "out_of_range",
                "must be between 1 and 1000000 records",
            ));
        }
        if !(60 * 60..=7 * 24 * 60 * 60).contains(&self.export_approval_ttl_secs) {
            errors.push(FieldError::new(
                "authorization.bulk_export_download_hours",
                "out_of_range",
                "must be between 1 hour and 7 days (168 hours)",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Config(errors))
        }
    }
}
