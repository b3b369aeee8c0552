//! Global search (a POST: the entry may be an e-mail address, a phone number or a name, which
//! never belong in a URL) and the signed-in user's saved views.

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::saved_views::{SavedView, SavedViewInput, SavedViewPatch};
use custodian_core::search::SearchResults;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// An e-mail address, a phone number (+ and country code) or words of a name.
    q: String,
}

impl std::fmt::Debug for SearchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchRequest { .. }")
    }
}

#[utoipa::path(post, path = "/api/v1/search", tag = "search", request_body = SearchRequest,
    responses((status = 200, description = "Up to 10 records per kind. E-mail: contacts and leads (exact); phone: contacts (exact E.164); name: contacts by whole words (CJK by two-character pieces), companies and deals by the start of their name/title. No substring search on encrypted fields.", body = SearchResults),
        (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn search(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(request): ApiJson<SearchRequest>,
) -> ApiResult<Json<SearchResults>> {
    Ok(Json(state.core.search(&auth.actor, &request.q).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ViewParams {
    /// contacts, companies, deals or leads
    entity: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ViewList {
    items: Vec<SavedView>,
}

#[utoipa::path(get, path = "/api/v1/views", tag = "search", params(ViewParams),
    responses((status = 200, description = "Your saved views", body = ViewList), (status = 422, body = ApiError)))]
pub async fn list_views(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ViewParams>,
) -> ApiResult<Json<ViewList>> {
    let items = state
        .core
        .saved_views(&auth.actor, p.entity.as_deref())
        .await?;
    Ok(Json(ViewList { items }))
}

#[utoipa::path(post, path = "/api/v1/views", tag = "search", request_body = SavedViewInput,
    responses((status = 201, body = SavedView),
        (status = 409, description = "`too_many_views`", body = ApiError),
        (status = 422, description = "`invalid_entity`, `unknown_filter`, `personal_filter` (e-mail, phone and name searches are never saved), `invalid_view_name`", body = ApiError)))]
pub async fn create_view(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<SavedViewInput>,
) -> ApiResult<(StatusCode, Json<SavedView>)> {
    let view = state.core.create_saved_view(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(patch, path = "/api/v1/views/{id}", tag = "search", params(("id" = String, Path, format = Uuid)), request_body = SavedViewPatch,
    responses((status = 200, body = SavedView), (status = 404, description = "No such view of yours", body = ApiError),
        (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn update_view(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<SavedViewPatch>,
) -> ApiResult<Json<SavedView>> {
    Ok(Json(
        state.core.update_saved_view(&auth.actor, id, patch).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/views/{id}", tag = "search", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ApiError)))]
pub async fn delete_view(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.core.delete_saved_view(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
