//! Passkeys: registering and managing them, and using one to sign in (without a password),
//! as the second step of a password sign-in, or for step-up.
//!
//! Every use is two calls: `…/options` starts a ceremony and returns the options for
//! `navigator.credentials.create()` / `.get()` with a `ceremony_id`; the browser's answer goes
//! back with that id within five minutes. A ceremony finishes once.

use crate::AppState;
use crate::api::account::{RecoveryCodes, factor_added};
use crate::api::session::{SessionBody, signed_in};
use crate::auth::{Authenticated, Client, clear_sign_in_cookie, sign_in_from_jar};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use custodian_core::CoreError;
use custodian_core::passkeys::{PasskeyChallenge, PasskeyView};
use serde::Deserialize;
use uuid::Uuid;

/// The browser's answer to a ceremony.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAnswer {
    ceremony_id: Uuid,
    /// The `PublicKeyCredential` the browser returned, in WebAuthn's JSON form (binary fields
    /// base64url without padding).
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// A new passkey: the browser's answer to the registration, and the name to show for it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasskey {
    ceremony_id: Uuid,
    /// Up to 64 characters, e.g. the device it lives on.
    name: String,
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyName {
    name: String,
}

#[utoipa::path(get, path = "/api/v1/account/passkeys", tag = "account",
    responses((status = 200, description = "Your passkeys, oldest first", body = [PasskeyView]),
        (status = 401, body = crate::error::ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<Vec<PasskeyView>>> {
    Ok(Json(state.core.list_passkeys(&auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/account/passkeys/registration", tag = "account",
    responses((status = 200, description = "Options for `navigator.credentials.create()`", body = PasskeyChallenge),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 409, description = "`too_many_passkeys`", body = crate::error::ApiError),
        (status = 503, description = "`passkeys_unavailable`", body = crate::error::ApiError)))]
pub async fn begin_registration(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<PasskeyChallenge>> {
    Ok(Json(
        state.core.begin_passkey_registration(&auth.actor).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/account/passkeys", tag = "account", request_body = NewPasskey,
    responses((status = 201, description = "Registered; first recovery codes when it is your first second factor", body = RecoveryCodes),
        (status = 400, description = "`passkey_request_expired`", body = crate::error::ApiError),
        (status = 401, description = "`passkey_rejected`", body = crate::error::ApiError),
        (status = 409, description = "Already registered", body = crate::error::ApiError),
        (status = 422, description = "A bad name or credential", body = crate::error::ApiError)))]
pub async fn finish_registration(
    State(state): State<AppState>,
    auth: Authenticated,
    jar: CookieJar,
    ApiJson(body): ApiJson<NewPasskey>,
) -> ApiResult<(StatusCode, CookieJar, Json<RecoveryCodes>)> {
    let added = state
        .core
        .finish_passkey_registration(&auth.actor, body.ceremony_id, &body.name, body.credential)
        .await?;
    let (jar, codes) = factor_added(jar, added);
    Ok((StatusCode::CREATED, jar, codes))
}

#[utoipa::path(patch, path = "/api/v1/account/passkeys/{id}", tag = "account", request_body = PasskeyName,
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Renamed"), (status = 404, body = crate::error::ApiError)))]
pub async fn rename(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PasskeyName>,
) -> ApiResult<StatusCode> {
    state
        .core
        .rename_passkey(&auth.actor, id, &body.name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/account/passkeys/{id}", tag = "account",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "`reauthentication_required`", body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError),
        (status = 409, description = "`second_factor_required`", body = crate::error::ApiError)))]
pub async fn remove(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.core.remove_passkey(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/passkey/options", tag = "auth",
    responses((status = 200, description = "Options for `navigator.credentials.get()` (any passkey of this site)", body = PasskeyChallenge),
        (status = 429, description = "`too_many_attempts`", body = crate::error::ApiError),
        (status = 503, description = "`passkeys_unavailable`", body = crate::error::ApiError)),
    security(()))]
pub async fn begin_sign_in(
    State(state): State<AppState>,
    Client(client): Client,
) -> ApiResult<Json<PasskeyChallenge>> {
    Ok(Json(state.core.begin_passkey_sign_in(&client).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/passkey", tag = "auth", request_body = PasskeyAnswer,
    responses((status = 200, description = "Signed in with a passkey alone; sets the session cookie", body = SessionBody),
        (status = 400, description = "`passkey_request_expired`", body = crate::error::ApiError),
        (status = 401, description = "`passkey_rejected`", body = crate::error::ApiError),
        (status = 429, description = "`too_many_attempts`", body = crate::error::ApiError)),
    security(()))]
pub async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    Client(client): Client,
    ApiJson(body): ApiJson<PasskeyAnswer>,
) -> ApiResult<(CookieJar, Json<SessionBody>)> {
    let grant = state
        .core
        .finish_passkey_sign_in(body.ceremony_id, body.credential, &client)
        .await?;
    signed_in(&state, jar, &grant).await
}

#[utoipa::path(post, path = "/api/v1/auth/second-factor/passkey/options", tag = "auth",
    responses((status = 200, description = "Options for `navigator.credentials.get()` (this account's passkeys)", body = PasskeyChallenge),
        (status = 401, description = "`sign_in_expired`", body = crate::error::ApiError),
        (status = 409, description = "`no_passkeys`", body = crate::error::ApiError)),
    security(("sign_in_cookie" = [])))]
pub async fn begin_second_factor(
    State(state): State<AppState>,
    jar: CookieJar,
) -> ApiResult<Json<PasskeyChallenge>> {
    let pending = sign_in_from_jar(&jar).ok_or(CoreError::SignInExpired)?;
    Ok(Json(
        state.core.begin_passkey_second_factor(&pending).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/auth/second-factor/passkey", tag = "auth", request_body = PasskeyAnswer,
    responses((status = 200, description = "Signed in; sets the session cookie and ends the sign-in", body = SessionBody),
        (status = 401, description = "`passkey_rejected` (try again) or `sign_in_expired`", body = crate::error::ApiError)),
    security(("sign_in_cookie" = [])))]
pub async fn second_factor(
    State(state): State<AppState>,
    jar: CookieJar,
    Client(client): Client,
    ApiJson(body): ApiJson<PasskeyAnswer>,
) -> ApiResult<(CookieJar, Json<SessionBody>)> {
    let pending = sign_in_from_jar(&jar).ok_or(CoreError::SignInExpired)?;
    let grant = state
        .core
        .complete_sign_in_with_passkey(&pending, body.ceremony_id, body.credential, &client)
        .await?;
    signed_in(&state, jar.add(clear_sign_in_cookie()), &grant).await
}

#[utoipa::path(post, path = "/api/v1/auth/reauthenticate/passkey/options", tag = "auth",
    responses((status = 200, description = "Options for `navigator.credentials.get()`", body = PasskeyChallenge),
        (status = 409, description = "`no_passkeys`", body = crate::error::ApiError)))]
pub async fn begin_step_up(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<PasskeyChallenge>> {
    Ok(Json(state.core.begin_passkey_step_up(&auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/reauthenticate/passkey", tag = "auth", request_body = PasskeyAnswer,
    responses((status = 204, description = "Confirmed: sensitive actions are allowed for the configured window"),
        (status = 401, description = "`passkey_rejected`; five failures end the session", body = crate::error::ApiError)))]
pub async fn step_up(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<PasskeyAnswer>,
) -> ApiResult<StatusCode> {
    state
        .core
        .reauthenticate_with_passkey(&auth.actor, body.ceremony_id, body.credential)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
