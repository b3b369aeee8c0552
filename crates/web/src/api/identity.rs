//! Invitations, password resets, and codes sent by e-mail or SMS: proving the account's
//! e-mail address and a phone number, turning those channels on as second factors, and asking
//! for a code at sign-in or step-up.
//!
//! Link tokens and codes travel only in request bodies, never in URLs.

use crate::AppState;
use crate::auth::{Authenticated, Client, sign_in_from_jar};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use custodian_core::CoreError;
use custodian_core::account_links::InvitationSent;
use custodian_core::outbound::Channel;
use custodian_core::secrets::{ExposeSecret, SecretString};
use custodian_core::sent_codes::SignInOptions;
use custodian_domain::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `email` or `sms`.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelName {
    Email,
    Sms,
}

impl From<ChannelName> for Channel {
    fn from(c: ChannelName) -> Self {
        match c {
            ChannelName::Email => Channel::Email,
            ChannelName::Sms => Channel::Sms,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendCodeRequest {
    channel: ChannelName,
}

#[utoipa::path(post, path = "/api/v1/auth/second-factor/send-code", tag = "auth", request_body = SendCodeRequest,
    responses((status = 202, description = "A six-digit code is on its way; send it to `POST /api/v1/auth/second-factor` within ten minutes"),
        (status = 401, description = "`sign_in_expired`", body = crate::error::ApiError),
        (status = 409, description = "`channel_not_enabled`", body = crate::error::ApiError),
        (status = 429, description = "`too_many_codes` (one a minute, ten an hour)", body = crate::error::ApiError),
        (status = 502, description = "`delivery_failed`", body = crate::error::ApiError),
        (status = 503, description = "`channel_unavailable`", body = crate::error::ApiError)),
    security(("sign_in_cookie" = [])))]
pub async fn send_sign_in_code(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<SendCodeRequest>,
) -> ApiResult<StatusCode> {
    let pending = sign_in_from_jar(&jar).ok_or(CoreError::SignInExpired)?;
    state
        .core
        .send_sign_in_code(&pending, body.channel.into())
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(get, path = "/api/v1/auth/second-factor/options", tag = "auth",
    responses((status = 200, description = "How this sign-in can be finished (a recovery code always works)", body = SignInOptions),
        (status = 401, description = "`sign_in_expired`", body = crate::error::ApiError)),
    security(("sign_in_cookie" = [])))]
pub async fn sign_in_options(
    State(state): State<AppState>,
    jar: CookieJar,
) -> ApiResult<Json<SignInOptions>> {
    let pending = sign_in_from_jar(&jar).ok_or(CoreError::SignInExpired)?;
    Ok(Json(state.core.sign_in_options(&pending).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/reauthenticate/send-code", tag = "auth", request_body = SendCodeRequest,
    responses((status = 202, description = "A code is on its way; send it to `POST /api/v1/auth/reauthenticate`"),
        (status = 409, description = "`channel_not_enabled`", body = crate::error::ApiError),
        (status = 429, description = "`too_many_codes`", body = crate::error::ApiError)))]
pub async fn send_step_up_code(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<SendCodeRequest>,
) -> ApiResult<StatusCode> {
    state
        .core
        .send_step_up_code(&auth.actor, body.channel.into())
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The six digits received.
    #[schema(value_type = String, format = Password)]
    code: SecretString,
}

impl std::fmt::Debug for CodeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeBody { .. }")
    }
}

#[utoipa::path(post, path = "/api/v1/account/email/send-code", tag = "account",
    responses((status = 202, description = "A code was sent to the account's address"),
        (status = 409, description = "Already confirmed", body = crate::error::ApiError),
        (status = 429, description = "`too_many_codes`", body = crate::error::ApiError),
        (status = 503, description = "`channel_unavailable`: e-mail is not set up", body = crate::error::ApiError)))]
pub async fn send_email_code(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<StatusCode> {
    state.core.start_email_verification(&auth.actor).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/account/email/confirm", tag = "account", request_body = CodeBody,
    responses((status = 204, description = "The address is confirmed"),
        (status = 401, description = "`invalid_code`", body = crate::error::ApiError)))]
pub async fn confirm_email(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<StatusCode> {
    state
        .core
        .confirm_email(&auth.actor, body.code.expose_secret())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneBody {
    /// E.164: `+` and the country code, e.g. `+86 138 0013 8000`.
    phone: String,
}

impl std::fmt::Debug for PhoneBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneBody { .. }")
    }
}

#[utoipa::path(put, path = "/api/v1/account/phone", tag = "account", request_body = PhoneBody,
    responses((status = 202, description = "Saved unconfirmed; a code was sent by SMS"),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 409, description = "`sms_codes_enabled`: turn SMS codes off first", body = crate::error::ApiError),
        (status = 422, description = "`invalid_phone`", body = crate::error::ApiError),
        (status = 503, description = "`channel_unavailable`: SMS is not set up", body = crate::error::ApiError)))]
pub async fn set_phone(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<PhoneBody>,
) -> ApiResult<StatusCode> {
    state.core.set_phone(&auth.actor, &body.phone).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(delete, path = "/api/v1/account/phone", tag = "account",
    responses((status = 204, description = "Removed"),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 409, description = "`sms_codes_enabled`", body = crate::error::ApiError)))]
pub async fn remove_phone(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<StatusCode> {
    state.core.remove_phone(&auth.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/account/phone/send-code", tag = "account",
    responses((status = 202, description = "A new code was sent to the unconfirmed number"),
        (status = 429, description = "`too_many_codes`", body = crate::error::ApiError)))]
pub async fn resend_phone_code(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<StatusCode> {
    state.core.resend_phone_code(&auth.actor).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/account/phone/confirm", tag = "account", request_body = CodeBody,
    responses((status = 204, description = "The number is confirmed"),
        (status = 401, description = "`invalid_code`", body = crate::error::ApiError)))]
pub async fn confirm_phone(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<StatusCode> {
    state
        .core
        .confirm_phone(&auth.actor, body.code.expose_secret())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/account/sent-codes/{channel}", tag = "account",
    params(("channel" = String, Path, description = "`email` or `sms`")),
    responses((status = 200, description = "Sign-in and step-up now accept codes by this channel; the first recovery codes if there were none", body = super::account::RecoveryCodes),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 409, description = "`email_not_verified` or `phone_not_verified`", body = crate::error::ApiError)))]
pub async fn enable_sent_codes(
    State(state): State<AppState>,
    auth: Authenticated,
    jar: CookieJar,
    ApiPath(channel): ApiPath<ChannelName>,
) -> ApiResult<(CookieJar, Json<super::account::RecoveryCodes>)> {
    let added = state
        .core
        .enable_sent_codes(&auth.actor, channel.into())
        .await?;
    Ok(super::account::factor_added(jar, added))
}

#[utoipa::path(delete, path = "/api/v1/account/sent-codes/{channel}", tag = "account",
    params(("channel" = String, Path, description = "`email` or `sms`")),
    responses((status = 204, description = "Turned off"),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 409, description = "`second_factor_required`: the MFA policy needs another factor first", body = crate::error::ApiError)))]
pub async fn disable_sent_codes(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(channel): ApiPath<ChannelName>,
) -> ApiResult<StatusCode> {
    state
        .core
        .disable_sent_codes(&auth.actor, channel.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    email: String,
    #[serde(default)]
    display_name: String,
    /// Roles to give (`sales`, `marketing`, `administrator`, …); none: no access until an
    /// administrator assigns some.
    #[serde(default)]
    roles: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/users/invitations", tag = "users", request_body = InviteRequest,
    responses((status = 201, description = "The user was added as `invited` and e-mailed a one-time link", body = InvitationSent),
        (status = 409, description = "The e-mail address is taken", body = crate::error::ApiError),
        (status = 422, body = crate::error::ApiError),
        (status = 502, description = "`delivery_failed`: nothing was added", body = crate::error::ApiError),
        (status = 503, description = "`channel_unavailable`: e-mail is not set up", body = crate::error::ApiError)))]
pub async fn invite(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<InviteRequest>,
) -> ApiResult<(StatusCode, Json<InvitationSent>)> {
    let sent = state
        .core
        .invite_user(&auth.actor, &body.email, &body.display_name, &body.roles)
        .await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/invitation", tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "A new link was sent; the previous one stopped working", body = InvitationSent),
        (status = 409, description = "Already accepted", body = crate::error::ApiError)))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<InvitationSent>> {
    Ok(Json(
        state
            .core
            .resend_invitation(&auth.actor, UserId(id))
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteUserQuery {
    /// The active user who takes over the deleted user's records and tasks.
    reassign_to: Uuid,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserDeleted {
    records_reassigned: u64,
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path), DeleteUserQuery),
    responses((status = 200, description = "Deleted: sign-in removed, personal data erased, records moved", body = UserDeleted),
        (status = 403, description = "`reauthentication_required` (your own step-up first)", body = crate::error::ApiError),
        (status = 409, description = "`cannot_delete_self` or `last_administrator`", body = crate::error::ApiError),
        (status = 422, description = "`reassign_to` is not an active user", body = crate::error::ApiError)))]
pub async fn delete_user(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<DeleteUserQuery>,
) -> ApiResult<Json<UserDeleted>> {
    let records_reassigned = state
        .core
        .delete_user(&auth.actor, UserId(id), UserId(query.reassign_to))
        .await?;
    Ok(Json(UserDeleted { records_reassigned }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkPassword {
    /// The token from the e-mailed link (after `#token=`).
    #[schema(value_type = String, format = Password)]
    token: SecretString,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

impl std::fmt::Debug for LinkPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkPassword { .. }")
    }
}

#[utoipa::path(post, path = "/api/v1/auth/invitation/accept", tag = "auth", request_body = LinkPassword,
    responses((status = 204, description = "The account is active; sign in with the new password"),
        (status = 400, description = "`invalid_link`: unknown, used or expired", body = crate::error::ApiError),
        (status = 422, description = "The password breaks the policy", body = crate::error::ApiError)),
    security(()))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<LinkPassword>,
) -> ApiResult<StatusCode> {
    state
        .core
        .accept_invitation(&body.token, body.password, client.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    email: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotRequest,
    responses((status = 202, description = "If the address has an active account, a reset link is on its way (the answer is the same either way)")),
    security(()))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ForgotRequest>,
) -> ApiResult<StatusCode> {
    state.core.request_password_reset(&body.email);
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = LinkPassword,
    responses((status = 204, description = "Password changed; every session ended. Sign in again (with your second factor, if you have one)"),
        (status = 400, description = "`invalid_link`", body = crate::error::ApiError),
        (status = 422, description = "The password breaks the policy", body = crate::error::ApiError)),
    security(()))]
pub async fn reset_password(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<LinkPassword>,
) -> ApiResult<StatusCode> {
    state
        .core
        .reset_password(&body.token, body.password, client.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
