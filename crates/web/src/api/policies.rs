//! Policy administration (administrators with `admin.policies`): the policies in force and
//! their history, proposals with a reason and a diff, approval by a second administrator,
//! "explain" and "who can read this record".

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::authz::Authz;
use custodian_core::policies::{
    ExplainRequest, ExplainView, PolicyOverview, PolicyVersionDetail, PolicyVersionView,
    ProposePolicies, ReaderView,
};
use serde::{Deserialize, Serialize};

#[utoipa::path(get, path = "/api/v1/policies", tag = "policies",
    responses((status = 200, body = PolicyOverview), (status = 403, body = crate::error::ApiError)))]
pub async fn overview(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<PolicyOverview>> {
    Ok(Json(state.core.policy_overview(&auth.actor).await?))
}

/// The schema policies are validated against.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SchemaBody {
    /// Cedar schema text: entity types, their attributes, actions and the context.
    pub schema: String,
}

#[utoipa::path(get, path = "/api/v1/policies/schema", tag = "policies",
    responses((status = 200, body = SchemaBody), (status = 403, body = crate::error::ApiError)))]
pub async fn schema(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<SchemaBody>> {
    state.core.policy_overview(&auth.actor).await?;
    Ok(Json(SchemaBody {
        schema: Authz::schema_text(),
    }))
}

#[utoipa::path(post, path = "/api/v1/policies", tag = "policies", request_body = ProposePolicies,
    responses((status = 201, description = "Proposed (two-person rule) or in force", body = PolicyVersionView),
        (status = 422, description = "`invalid_policy`, `reason_required`", body = crate::error::ApiError),
        (status = 409, description = "`policy_lockout`: no administrator could manage policies and roles", body = crate::error::ApiError),
        (status = 403, description = "`reauthentication_required`: confirm it is you first", body = crate::error::ApiError)))]
pub async fn propose(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ProposePolicies>,
) -> ApiResult<(StatusCode, Json<PolicyVersionView>)> {
    let view = state.core.propose_policies(&auth.actor, body).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/policies/versions/{version}", tag = "policies",
    params(("version" = i64, Path)),
    responses((status = 200, body = PolicyVersionDetail), (status = 404, body = crate::error::ApiError)))]
pub async fn version(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(version): ApiPath<i64>,
) -> ApiResult<Json<PolicyVersionDetail>> {
    Ok(Json(state.core.policy_version(&auth.actor, version).await?))
}

#[utoipa::path(post, path = "/api/v1/policies/versions/{version}/approve", tag = "policies",
    params(("version" = i64, Path)),
    responses((status = 200, description = "In force from the next request on every server", body = PolicyVersionView),
        (status = 409, description = "`second_approver_required`, `not_proposed`, `policy_lockout`", body = crate::error::ApiError)))]
pub async fn approve(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(version): ApiPath<i64>,
) -> ApiResult<Json<PolicyVersionView>> {
    Ok(Json(
        state.core.approve_policies(&auth.actor, version).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/policies/versions/{version}/reject", tag = "policies",
    params(("version" = i64, Path)),
    responses((status = 200, body = PolicyVersionView), (status = 409, description = "`not_proposed`", body = crate::error::ApiError)))]
pub async fn reject(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(version): ApiPath<i64>,
) -> ApiResult<Json<PolicyVersionView>> {
    Ok(Json(
        state.core.reject_policies(&auth.actor, version).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/policies/explain", tag = "policies", request_body = ExplainRequest,
    responses((status = 200, body = ExplainView),
        (status = 422, description = "`unknown_user`, `unknown_action`, `invalid_resource`", body = crate::error::ApiError)))]
pub async fn explain(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ExplainRequest>,
) -> ApiResult<Json<ExplainView>> {
    Ok(Json(state.core.explain(&auth.actor, body).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReadersQuery {
    /// `Type:id`, e.g. `Contact:0190…`.
    pub resource: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReaderList {
    items: Vec<ReaderView>,
}

#[utoipa::path(get, path = "/api/v1/policies/readers", tag = "policies", params(ReadersQuery),
    responses((status = 200, body = ReaderList), (status = 404, body = crate::error::ApiError)))]
pub async fn readers(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<ReadersQuery>,
) -> ApiResult<Json<ReaderList>> {
    Ok(Json(ReaderList {
        items: state
            .core
            .who_can_read(&auth.actor, &query.resource)
            .await?,
    }))
}
