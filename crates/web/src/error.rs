//! One error type for every HTTP response that is not a success: JSON `{code, message, details}`
//! with a stable machine code and a sentence a person can act on. Internals are logged, never
//! returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use custodian_core::CoreError;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    #[schema(ignore)]
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `validation_failed`, `stale_version`.
    #[schema(value_type = String)]
    pub code: &'static str,
    /// A sentence a person can act on.
    pub message: String,
    /// Per-field problems (`[{field, code, message}]`) or other structured detail.
    #[serde(skip_serializing_if = "Value::is_null")]
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Sign in, or send an API token as `Authorization: Bearer <token>`.",
        )
    }

    pub fn enrolment_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "second_factor_enrolment_required",
            "Your organisation requires two-step verification. Set up an authenticator app first: POST /api/v1/account/totp, then confirm a code at /api/v1/account/totp/confirm.",
        )
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "The request lacks a valid CSRF token; reload the page and try again.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side; it has been logged. Try again later.",
        )
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        match e {
            CoreError::Validation(errors) => Self::new(
                S::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Some fields are invalid; see details.",
            )
            .with_details(serde_json::to_value(errors).unwrap_or_default()),
            CoreError::ImportInvalid(report) => Self::new(
                S::UNPROCESSABLE_ENTITY,
                "import_invalid",
                "Some rows cannot be imported, so nothing was imported. Fix the lines listed in details (or run a dry run) and upload the file again.",
            )
            .with_details(serde_json::to_value(&report).unwrap_or_default()),
            CoreError::NotFound { entity } => {
                Self::new(S::NOT_FOUND, "not_found", format!("No such {entity}."))
            }
            CoreError::Conflict(message) => Self::new(S::CONFLICT, "conflict", message),
            CoreError::Rule { code, message } => Self::new(S::CONFLICT, code, message),
            CoreError::StaleVersion { current_version } => Self::new(
                S::CONFLICT,
                "stale_version",
                "The record was changed by someone else since you loaded it; reload it and apply your change again.",
            )
            .with_details(serde_json::json!({ "current_version": current_version })),
            CoreError::Unauthenticated => Self::unauthenticated(),
            CoreError::InvalidCredentials => Self::new(
                S::UNAUTHORIZED,
                "invalid_credentials",
                "E-mail or password is incorrect.",
            ),
            CoreError::InvalidSetupCode => Self::new(
                S::BAD_REQUEST,
                "invalid_setup_code",
                "The setup code is invalid, already used or expired. Restart the server to print a new one.",
            ),
            CoreError::InvalidCode => Self::new(
                S::UNAUTHORIZED,
                "invalid_code",
                "The code is wrong, already used or expired. Enter the current code from your authenticator app, or one of your recovery codes.",
            ),
            CoreError::SignInExpired => Self::new(
                S::UNAUTHORIZED,
                "sign_in_expired",
                "This sign-in has expired or had too many wrong codes. Sign in again with your password.",
            ),
            CoreError::Throttled { retry_after_secs } => Self::new(
                S::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!(
                    "Too many sign-in attempts. Wait {} and try again, or ask an administrator to unlock the account.",
                    human_wait(retry_after_secs)
                ),
            )
            .with_details(serde_json::json!({ "retry_after_secs": retry_after_secs })),
            CoreError::TooManyCodes { retry_after_secs } => Self::new(
                S::TOO_MANY_REQUESTS,
                "too_many_codes",
                format!(
                    "Too many codes were sent to this account. Wait {} and ask again, or use another way to confirm (an authenticator app or a recovery code).",
                    human_wait(retry_after_secs)
                ),
            )
            .with_details(serde_json::json!({ "retry_after_secs": retry_after_secs })),
            CoreError::ChannelUnavailable(channel) => Self::new(
                S::SERVICE_UNAVAILABLE,
                "channel_unavailable",
                match channel {
                    custodian_core::outbound::Channel::Email => "This server cannot send e-mail yet. Ask an administrator to configure SMTP ([mail] in custodian.toml).",
                    custodian_core::outbound::Channel::Sms => "This server cannot send text messages yet. Ask an administrator to configure an SMS provider ([sms] in custodian.toml).",
                },
            ),
            CoreError::DeliveryFailed(channel) => Self::new(
                S::BAD_GATEWAY,
                "delivery_failed",
                match channel {
                    custodian_core::outbound::Channel::Email => "The e-mail could not be sent; nothing was changed. Try again in a minute; if it keeps failing, an administrator can see why in the server log.",
                    custodian_core::outbound::Channel::Sms => "The text message could not be sent. Try again in a minute, or use another way to confirm.",
                },
            ),
            CoreError::InvalidLink => Self::new(
                S::BAD_REQUEST,
                "invalid_link",
                "This link is invalid, already used or expired. Ask for a new one: an administrator can resend an invitation, and \"Forgot password?\" on the sign-in page sends a new reset link.",
            ),
            CoreError::PasskeyRejected => Self::new(
                S::UNAUTHORIZED,
                "passkey_rejected",
                "The passkey could not be verified. Try again with a passkey registered to this account on this site, or use another way to sign in.",
            ),
            CoreError::PasskeyRequestExpired => Self::new(
                S::BAD_REQUEST,
                "passkey_request_expired",
                "This passkey request expired or was already used. Start again.",
            ),
            CoreError::PasskeysUnavailable => Self::new(
                S::SERVICE_UNAVAILABLE,
                "passkeys_unavailable",
                "Passkeys are not available on this server: its public address must be an https:// host name, not an IP address. Ask an administrator to set server.public_url.",
            ),
            CoreError::SsoFailed { .. } => Self::new(
                S::UNAUTHORIZED,
                "sso_failed",
                "Signing in with your organisation's account did not complete. Try again; if it keeps failing, sign in with your password or ask an administrator (the reason is in the server log).",
            ),
            CoreError::SsoNotConfigured => Self::new(
                S::NOT_FOUND,
                "sso_not_configured",
                "Single sign-on is not set up on this server; sign in with your password.",
            ),
            CoreError::SsoUnavailable => Self::new(
                S::SERVICE_UNAVAILABLE,
                "sso_unavailable",
                "Your organisation's identity provider could not be reached. Try again in a minute, or sign in with your password.",
            ),
            CoreError::ReauthenticationRequired => Self::new(
                S::FORBIDDEN,
                "reauthentication_required",
                "Confirm it is you first: send your password, or a code from your authenticator app if you use one, to POST /api/v1/auth/reauthenticate, then repeat this request.",
            ),
            CoreError::Denied { error, .. } => Self::from(*error),
            CoreError::InvalidPolicy(e) => Self::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid_policy",
                format!("The policies were not accepted: {e}. Correct them and send them again; `custodian policy check FILE` checks a file offline."),
            ),
            CoreError::Forbidden => {
                Self::new(S::FORBIDDEN, "forbidden", "You are not allowed to do this.")
            }
            CoreError::FieldNotPermitted { field, group } => Self::new(
                S::FORBIDDEN,
                "field_not_permitted",
                format!(
                    "You may not change {field}: your roles do not allow editing the {group} of this record. Leave the field out of the request."
                ),
            )
            .with_details(serde_json::json!({ "field": field, "field_group": group })),
            CoreError::ExportApprovalRequired { threshold } => Self::new(
                S::CONFLICT,
                "export_approval_required",
                format!(
                    "This export holds more than {threshold} records, so someone else must approve it first. Request it with POST /api/v1/export-requests (with a reason), and download it from /api/v1/export-requests/{{id}}/download once someone allowed to approve exports (a privacy officer, by default) has approved it."
                ),
            )
            .with_details(serde_json::json!({ "threshold": threshold })),
            CoreError::AuditUnavailable => Self::new(
                S::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "The audit log cannot be written right now, so nothing that must be audited is done. Try again in a moment; if this lasts, an administrator should check the database.",
            ),
            CoreError::InvalidCursor => Self::new(
                S::BAD_REQUEST,
                "invalid_cursor",
                "The cursor is invalid; start again from the first page.",
            ),
            CoreError::DataIntegrity { table, column } => {
                tracing::error!(code = "data_integrity", table, column, "integrity failure served as 500");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "data_integrity",
                    "Stored data failed its integrity check and was not shown. An administrator has been notified through the log.",
                )
            }
            other => {
                tracing::error!(error = %other, debug = ?other, "internal error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        // A 429 tells clients how long to wait in the header too.
        let retry_after = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| self.details["retry_after_secs"].as_u64())
            .flatten();
        let mut response = (status, Json(self)).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

/// "45 seconds", "3 minutes": the wait of a throttled attempt, in words.
pub(crate) fn human_wait(secs: i64) -> String {
    if secs < 120 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", (secs + 59) / 60)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
