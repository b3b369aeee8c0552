//! The signed-in user's own security: second factors (authenticator app, recovery codes) and
//! sessions; and administrators' view of any user's sessions.

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use custodian_core::second_factor::SecondFactorStatus;
use custodian_core::secrets::{ExposeSecret, SecretString};
use custodian_core::sessions::SessionView;
use custodian_core::tokens::{ApiTokenRequest, ApiTokenView};
use custodian_domain::{SessionId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Renders an `otpauth://` URI as an SVG QR code, server-side (no script on the page).
pub(crate) fn qr_svg(uri: &SecretString) -> Result<String, crate::error::ApiError> {
    let code = qrcode::QrCode::with_error_correction_level(
        uri.expose_secret().as_bytes(),
        qrcode::EcLevel::M,
    )
    .map_err(|_| crate::error::ApiError::internal())?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

#[utoipa::path(get, path = "/api/v1/account/second-factors", tag = "account",
    responses((status = 200, body = SecondFactorStatus), (status = 401, body = crate::error::ApiError)))]
pub async fn status(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<SecondFactorStatus>> {
    Ok(Json(state.core.second_factor_status(&auth.actor).await?))
}

/// A started authenticator enrolment. Shown once; confirm it with a code.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpEnrolmentBody {
    /// Base32 key to type into the app.
    key: String,
    /// The `otpauth://` URI the QR code holds.
    uri: String,
    /// The QR code as an SVG document.
    qr_svg: String,
}

impl std::fmt::Debug for TotpEnrolmentBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolmentBody { .. }")
    }
}

#[utoipa::path(post, path = "/api/v1/account/totp", tag = "account",
    responses((status = 201, description = "Enrolment started; not active until confirmed", body = TotpEnrolmentBody),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 409, description = "`totp_already_enabled`", body = crate::error::ApiError)))]
pub async fn begin_totp(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<(StatusCode, Json<TotpEnrolmentBody>)> {
    let enrolment = state.core.begin_totp_enrolment(&auth.actor).await?;
    let qr_svg = qr_svg(&enrolment.uri)?;
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrolmentBody {
            key: enrolment.key.expose_secret().to_owned(),
            uri: enrolment.uri.expose_secret().to_owned(),
            qr_svg,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotp {
    /// The six digits the app shows now.
    #[schema(value_type = String, format = Password)]
    code: SecretString,
}

impl std::fmt::Debug for ConfirmTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmTotp { .. }")
    }
}

/// Recovery codes, shown this once: each signs in once in place of the authenticator.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_codes: Option<Vec<String>>,
    /// Present when confirming replaced a session restricted by the MFA policy: the response
    /// sets the new session cookie; send this token as `X-CSRF-Token` from now on.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodes { .. }")
    }
}

fn exposed(codes: Vec<SecretString>) -> Vec<String> {
    codes.iter().map(|c| c.expose_secret().to_owned()).collect()
}

#[utoipa::path(post, path = "/api/v1/account/totp/confirm", tag = "account", request_body = ConfirmTotp,
    responses((status = 200, description = "Active from now on; the first recovery codes if there were none", body = RecoveryCodes),
        (status = 401, description = "`invalid_code`", body = crate::error::ApiError),
        (status = 409, description = "`no_totp_enrolment`", body = crate::error::ApiError)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    auth: Authenticated,
    jar: CookieJar,
    ApiJson(body): ApiJson<ConfirmTotp>,
) -> ApiResult<(CookieJar, Json<RecoveryCodes>)> {
    let confirmed = state
        .core
        .confirm_totp(&auth.actor, body.code.expose_secret())
        .await?;
    Ok(factor_added(jar, confirmed))
}

/// The answer to adding a second factor: first recovery codes, and the replacement session's
/// cookie and CSRF token when an enrolment-only session was upgraded.
pub(crate) fn factor_added(
    jar: CookieJar,
    added: custodian_core::second_factor::FactorAdded,
) -> (CookieJar, Json<RecoveryCodes>) {
    let (jar, csrf_token) = match &added.new_session {
        Some(grant) => (
            jar.add(crate::auth::session_cookie(&grant.token)),
            Some(custodian_core::auth::csrf_token(
                grant.token.expose_secret(),
            )),
        ),
        None => (jar, None),
    };
    (
        jar,
        Json(RecoveryCodes {
            recovery_codes: added.recovery_codes.map(exposed),
            csrf_token,
        }),
    )
}

#[utoipa::path(delete, path = "/api/v1/account/totp", tag = "account",
    responses((status = 204, description = "Authenticator and recovery codes removed"),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError)))]
pub async fn remove_totp(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<StatusCode> {
    state.core.remove_totp(&auth.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/account/recovery-codes", tag = "account",
    responses((status = 200, description = "Ten new codes; the old ones stop working", body = RecoveryCodes),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 409, description = "`totp_not_enabled`", body = crate::error::ApiError)))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<RecoveryCodes>> {
    let codes = state.core.regenerate_recovery_codes(&auth.actor).await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: Some(exposed(codes)),
        csrf_token: None,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionList {
    items: Vec<SessionView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ended {
    /// How many sessions ended.
    ended: usize,
}

#[utoipa::path(get, path = "/api/v1/account/sessions", tag = "account",
    responses((status = 200, description = "Your running sessions, most recently used first", body = SessionList)))]
pub async fn my_sessions(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<SessionList>> {
    Ok(Json(SessionList {
        items: state.core.list_my_sessions(&auth.actor).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/account/sessions/{id}", tag = "account",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Ended; its cookie no longer works"), (status = 404, body = crate::error::ApiError)))]
pub async fn end_my_session(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .end_my_session(&auth.actor, SessionId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/account/sessions/end-others", tag = "account",
    responses((status = 200, description = "All your other sessions ended", body = Ended)))]
pub async fn end_my_other_sessions(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<Ended>> {
    let ended = state.core.end_my_other_sessions(&auth.actor).await?;
    Ok(Json(Ended { ended }))
}

/// Recent security activity, newest first (at most 30 events).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecurityEventList {
    items: Vec<custodian_core::security_events::SecurityEventView>,
}

#[utoipa::path(get, path = "/api/v1/account/security-events", tag = "account",
    responses((status = 200, description = "Your recent security activity: sign-ins (and from new devices), failures, sessions used from a second network or after they ended, refused API tokens", body = SecurityEventList),
        (status = 401, body = crate::error::ApiError)))]
pub async fn my_security_events(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<SecurityEventList>> {
    Ok(Json(SecurityEventList {
        items: state.core.my_security_events(&auth.actor).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/security-events", tag = "account",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SecurityEventList), (status = 403, body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError)))]
pub async fn user_security_events(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SecurityEventList>> {
    Ok(Json(SecurityEventList {
        items: state
            .core
            .user_security_events(&auth.actor, UserId(id))
            .await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", tag = "account",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SessionList), (status = 403, body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError)))]
pub async fn user_sessions(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SessionList>> {
    Ok(Json(SessionList {
        items: state
            .core
            .list_user_sessions(&auth.actor, UserId(id))
            .await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/sessions/end-all", tag = "account",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Ended), (status = 403, body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError)))]
pub async fn end_user_sessions(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Ended>> {
    let ended = state
        .core
        .end_user_sessions(&auth.actor, UserId(id))
        .await?;
    Ok(Json(Ended { ended }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

impl std::fmt::Debug for ChangePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePassword { .. }")
    }
}

#[utoipa::path(post, path = "/api/v1/account/password", tag = "account", request_body = ChangePassword,
    responses((status = 200, description = "Changed; every other session of yours ended", body = Ended),
        (status = 422, description = "`password_incorrect` on `current_password`, or the policy's codes on `password`", body = crate::error::ApiError)))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ChangePassword>,
) -> ApiResult<Json<Ended>> {
    let ended = state
        .core
        .change_password(&auth.actor, body.current_password, body.new_password)
        .await?;
    Ok(Json(Ended { ended }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StrengthRequest {
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// The e-mail address the password is for, if known: its name part is a context word.
    #[serde(default)]
    email: String,
}

impl std::fmt::Debug for StrengthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StrengthRequest { .. }")
    }
}

/// zxcvbn's advice: a score and stable codes (`password_warning.*`, `password_suggestion.*`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StrengthBody {
    /// 0 (very weak) to 4 (very strong).
    score: u8,
    warning: Option<&'static str>,
    suggestions: Vec<&'static str>,
}

#[utoipa::path(post, path = "/api/v1/auth/password-strength", tag = "auth", request_body = StrengthRequest,
    responses((status = 200, description = "Advice only: the policy decides when the password is set", body = StrengthBody)),
    security(()))]
pub async fn password_strength(ApiJson(body): ApiJson<StrengthRequest>) -> Json<StrengthBody> {
    let advice = custodian_core::auth::password_strength(&body.password, &body.email);
    Json(StrengthBody {
        score: advice.score,
        warning: advice.warning,
        suggestions: advice.suggestions,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unlocked {
    /// False when the account had no failed attempts on record.
    unlocked: bool,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "account",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "Sign-in back-off and lockout lifted", body = Unlocked),
        (status = 403, body = crate::error::ApiError), (status = 404, body = crate::error::ApiError)))]
pub async fn unlock_user(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Unlocked>> {
    let unlocked = state.core.unlock_user(&auth.actor, UserId(id)).await?;
    Ok(Json(Unlocked { unlocked }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenList {
    items: Vec<ApiTokenView>,
}

#[utoipa::path(get, path = "/api/v1/account/tokens", tag = "account",
    responses((status = 200, description = "Your live API tokens (never their secrets)", body = TokenList)))]
pub async fn my_tokens(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<TokenList>> {
    Ok(Json(TokenList {
        items: state.core.list_my_api_tokens(&auth.actor).await?,
    }))
}

/// A new token: the secret is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedTokenBody {
    #[schema(value_type = String, format = Uuid)]
    id: custodian_domain::ApiTokenId,
    /// Send as `Authorization: Bearer <token>`.
    token: String,
}

impl std::fmt::Debug for CreatedTokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CreatedTokenBody { .. }")
    }
}

#[utoipa::path(post, path = "/api/v1/account/tokens", tag = "account", request_body = ApiTokenRequest,
    responses((status = 201, body = CreatedTokenBody),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 422, description = "`invalid_scope`, `invalid_network`, `out_of_range`", body = crate::error::ApiError)))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ApiTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedTokenBody>)> {
    let created = state.core.create_my_api_token(&auth.actor, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenBody {
            id: created.id,
            token: created.token.expose_secret().to_owned(),
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/account/tokens/{id}", tag = "account",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Revoked: it stops working on its next request"),
        (status = 404, body = crate::error::ApiError)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .revoke_my_api_token(&auth.actor, custodian_domain::ApiTokenId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
