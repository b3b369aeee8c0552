use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::companies::{
    CompanyInput, CompanyPatch, CompanyQuery, CompanySort, CompanyView,
};
use custodian_domain::CompanyId;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    sort: Option<String>,
    owner_id: Option<Uuid>,
    industry: Option<String>,
    size: Option<String>,
    region: Option<String>,
    tag: Option<String>,
    deleted: Option<String>,
    q: Option<String>,
}

impl std::fmt::Debug for ListParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListParams { .. }")
    }
}

#[utoipa::path(get, path = "/api/v1/companies", tag = "companies", params(ListParams),
    responses((status = 200, description = "A page of companies", body = inline(PageBody<CompanyView>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<CompanyView>>> {
    let query = CompanyQuery {
        owner_id: p.owner_id,
        industry: p.industry,
        size: p.size,
        region: p.region,
        tag: p.tag,
        deleted: parse_deleted(p.deleted.as_deref())?,
        q: p.q,
        sort: p
            .sort
            .as_deref()
            .map(CompanySort::parse)
            .transpose()?
            .unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_companies(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/companies", tag = "companies", request_body = CompanyInput,
    responses((status = 201, body = CompanyView), (status = 401, body = ApiError), (status = 413, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<CompanyInput>,
) -> ApiResult<(StatusCode, Json<CompanyView>)> {
    let view = state.core.create_company(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/companies/{id}", tag = "companies", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = CompanyView), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<CompanyView>> {
    Ok(Json(
        state.core.get_company(&auth.actor, CompanyId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/companies/{id}", tag = "companies", params(("id" = String, Path, format = Uuid)), request_body = CompanyPatch,
    responses((status = 200, body = CompanyView), (status = 404, body = ApiError), (status = 409, description = "Stale version or deleted record", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<CompanyPatch>,
) -> ApiResult<Json<CompanyView>> {
    Ok(Json(
        state
            .core
            .update_company(&auth.actor, CompanyId(id), patch)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/companies/{id}", tag = "companies", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .delete_company(&auth.actor, CompanyId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/companies/{id}/restore", tag = "companies", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = CompanyView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<CompanyView>> {
    Ok(Json(
        state
            .core
            .restore_company(&auth.actor, CompanyId(id))
            .await?,
    ))
}
