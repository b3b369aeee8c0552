use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::leads::{
    ConvertLead, DisqualifyLead, LeadInput, LeadPatch, LeadQuery, LeadSort, LeadView, QualifyLead,
};
use custodian_domain::LeadId;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    /// updated, -updated (default), created, -created, score, -score
    sort: Option<String>,
    /// new, contacted, qualified, disqualified or converted
    status: Option<String>,
    source: Option<String>,
    owner_id: Option<Uuid>,
    min_score: Option<i64>,
    /// Exact e-mail address (searched through its blind index).
    email: Option<String>,
    deleted: Option<String>,
}

impl std::fmt::Debug for ListParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListParams { .. }")
    }
}

#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", params(ListParams),
    responses((status = 200, description = "A page of leads", body = inline(PageBody<LeadView>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<LeadView>>> {
    let query = LeadQuery {
        status: p.status,
        source: p.source,
        owner_id: p.owner_id,
        min_score: p.min_score,
        email: p.email,
        deleted: parse_deleted(p.deleted.as_deref())?,
        sort: p
            .sort
            .as_deref()
            .map(LeadSort::parse)
            .transpose()?
            .unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_leads(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/leads", tag = "leads", request_body = LeadInput,
    responses((status = 201, body = LeadView), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<LeadInput>,
) -> ApiResult<(StatusCode, Json<LeadView>)> {
    let view = state.core.create_lead(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = LeadView), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<LeadView>> {
    Ok(Json(state.core.get_lead(&auth.actor, LeadId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/leads/{id}", tag = "leads", params(("id" = String, Path, format = Uuid)), request_body = LeadPatch,
    responses((status = 200, body = LeadView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, or `lead_converted`", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<LeadPatch>,
) -> ApiResult<Json<LeadView>> {
    Ok(Json(
        state
            .core
            .update_lead(&auth.actor, LeadId(id), patch)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/leads/{id}/qualify", tag = "leads", params(("id" = String, Path, format = Uuid)), request_body = QualifyLead,
    responses((status = 200, body = LeadView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn qualify(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<QualifyLead>,
) -> ApiResult<Json<LeadView>> {
    Ok(Json(
        state
            .core
            .qualify_lead(&auth.actor, LeadId(id), request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/leads/{id}/disqualify", tag = "leads", params(("id" = String, Path, format = Uuid)), request_body = DisqualifyLead,
    responses((status = 200, body = LeadView), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn disqualify(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<DisqualifyLead>,
) -> ApiResult<Json<LeadView>> {
    Ok(Json(
        state
            .core
            .disqualify_lead(&auth.actor, LeadId(id), request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/leads/{id}/convert", tag = "leads", params(("id" = String, Path, format = Uuid)), request_body = ConvertLead,
    responses((status = 200, description = "The converted lead, pointing at the contact (and company and deal) it became", body = LeadView),
        (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, `lead_converted` (converted already) or `lead_disqualified`", body = ApiError),
        (status = 422, body = ApiError)))]
pub async fn convert(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<ConvertLead>,
) -> ApiResult<Json<LeadView>> {
    Ok(Json(
        state
            .core
            .convert_lead(&auth.actor, LeadId(id), request)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/leads/{id}", tag = "leads", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.core.delete_lead(&auth.actor, LeadId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/leads/{id}/restore", tag = "leads", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = LeadView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<LeadView>> {
    Ok(Json(
        state.core.restore_lead(&auth.actor, LeadId(id)).await?,
    ))
}
