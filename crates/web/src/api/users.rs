//! User administration (administrators): the directory with attributes and second-factor
//! state, attributes, disable/enable, and resetting second factors.

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::mfa_policy::{MfaRequirement, MfaRequirementInput};
use custodian_core::users::{UserAdminView, UserAttributes};
use custodian_domain::UserId;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserList {
    items: Vec<UserAdminView>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = UserList), (status = 403, body = crate::error::ApiError)))]
pub async fn list(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Json<UserList>> {
    Ok(Json(UserList {
        items: state.core.list_users(&auth.actor).await?,
    }))
}

#[utoipa::path(put, path = "/api/v1/users/{id}/attributes", tag = "users",
    params(("id" = Uuid, Path)), request_body = UserAttributes,
    responses((status = 204, description = "Saved; absent or empty values clear"),
        (status = 422, description = "`invalid_label`", body = crate::error::ApiError),
        (status = 403, body = crate::error::ApiError), (status = 404, body = crate::error::ApiError)))]
pub async fn set_attributes(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UserAttributes>,
) -> ApiResult<StatusCode> {
    state
        .core
        .set_user_attributes(&auth.actor, UserId(id), body)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's roles.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// `administrator`, `sales`, `marketing`, `support`, `manager`, `auditor`,
    /// `privacy_officer`, `security_officer`, `all_regions`, `all_records`.
    pub roles: Vec<String>,
}

#[utoipa::path(put, path = "/api/v1/users/{id}/roles", tag = "users",
    params(("id" = Uuid, Path)), request_body = Roles,
    responses((status = 200, description = "The roles now held; effective on the user's next request", body = Roles),
        (status = 403, description = "`reauthentication_required`: confirm it is you first; `forbidden` otherwise", body = crate::error::ApiError),
        (status = 403, body = crate::error::ApiError), (status = 404, body = crate::error::ApiError),
        (status = 409, description = "`last_administrator`", body = crate::error::ApiError),
        (status = 422, description = "`invalid_role`", body = crate::error::ApiError)))]
pub async fn set_roles(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Roles>,
) -> ApiResult<Json<Roles>> {
    let roles = state
        .core
        .set_user_roles(&auth.actor, UserId(id), &body.roles)
        .await?;
    Ok(Json(Roles { roles }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Disabled {
    /// Sessions ended with it.
    sessions_ended: usize,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "Disabled; every session ended at once", body = Disabled),
        (status = 409, description = "`cannot_disable_self`", body = crate::error::ApiError),
        (status = 403, body = crate::error::ApiError), (status = 404, body = crate::error::ApiError)))]
pub async fn disable(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Disabled>> {
    let sessions_ended = state.core.disable_user(&auth.actor, UserId(id)).await?;
    Ok(Json(Disabled { sessions_ended }))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "May sign in again"),
        (status = 403, body = crate::error::ApiError), (status = 404, body = crate::error::ApiError)))]
pub async fn enable(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.core.enable_user(&auth.actor, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/users/{id}/reset-second-factors", tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Authenticator and recovery codes removed; the user's sessions ended"),
        (status = 403, description = "`forbidden`, or `reauthentication_required` (your own step-up first)", body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError)))]
pub async fn reset_second_factors(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .reset_second_factors(&auth.actor, UserId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaPolicy {
    /// Who must use a second factor.
    rules: Vec<MfaRequirement>,
}

#[utoipa::path(get, path = "/api/v1/mfa-policy", tag = "users",
    responses((status = 200, body = MfaPolicy), (status = 403, body = crate::error::ApiError)))]
pub async fn mfa_policy(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<MfaPolicy>> {
    Ok(Json(MfaPolicy {
        rules: state.core.mfa_policy(&auth.actor).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/mfa-policy", tag = "users", request_body = MfaRequirementInput,
    responses((status = 201, description = "Covered users without an authenticator must set one up at their next sign-in", body = MfaRequirement),
        (status = 403, description = "`forbidden` or `reauthentication_required`", body = crate::error::ApiError),
        (status = 409, body = crate::error::ApiError), (status = 422, body = crate::error::ApiError)))]
pub async fn add_mfa_requirement(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<MfaRequirementInput>,
) -> ApiResult<(StatusCode, Json<MfaRequirement>)> {
    let rule = state.core.add_mfa_requirement(&auth.actor, body).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

#[utoipa::path(delete, path = "/api/v1/mfa-policy/{id}", tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError)))]
pub async fn remove_mfa_requirement(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.core.remove_mfa_requirement(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
