use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::deals::{
    BoardView, CloseDeal, DealInput, DealPatch, DealQuery, DealSort, DealView, MoveDeal,
    PipelineInput, PipelinePatch, PipelineView, ReopenDeal, StageChangeView,
};
use custodian_domain::{DealId, PipelineId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PipelineList {
    pub items: Vec<PipelineView>,
}

#[utoipa::path(get, path = "/api/v1/pipelines", tag = "deals",
    responses((status = 200, body = PipelineList), (status = 401, body = ApiError)))]
pub async fn list_pipelines(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<PipelineList>> {
    Ok(Json(PipelineList {
        items: state.core.list_pipelines(&auth.actor).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/pipelines", tag = "deals", request_body = PipelineInput,
    responses((status = 201, body = PipelineView), (status = 401, body = ApiError), (status = 403, description = "Administrators only", body = ApiError), (status = 422, body = ApiError)))]
pub async fn create_pipeline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<PipelineInput>,
) -> ApiResult<(StatusCode, Json<PipelineView>)> {
    let view = state.core.create_pipeline(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}", tag = "deals", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PipelineView), (status = 404, body = ApiError)))]
pub async fn get_pipeline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<PipelineView>> {
    Ok(Json(
        state.core.get_pipeline(&auth.actor, PipelineId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/pipelines/{id}", tag = "deals", params(("id" = String, Path, format = Uuid)), request_body = PipelinePatch,
    responses((status = 200, body = PipelineView), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "Stale version, or `stage_in_use`: a removed stage still holds deals", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update_pipeline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<PipelinePatch>,
) -> ApiResult<Json<PipelineView>> {
    Ok(Json(
        state
            .core
            .update_pipeline(&auth.actor, PipelineId(id), patch)
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BoardParams {
    /// Open deals listed per stage (1–100, default 20).
    per_stage: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/board", tag = "deals", params(("id" = String, Path, format = Uuid), BoardParams),
    responses((status = 200, body = BoardView), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn board(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<BoardParams>,
) -> ApiResult<Json<BoardView>> {
    Ok(Json(
        state
            .core
            .deal_board(&auth.actor, PipelineId(id), p.per_stage)
            .await?,
    ))
}

#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    /// updated, -updated (default), created, -created, title, -title
    sort: Option<String>,
    pipeline_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    /// open, won or lost
    status: Option<String>,
    owner_id: Option<Uuid>,
    company_id: Option<Uuid>,
    contact_id: Option<Uuid>,
    /// Expected close on or after, `YYYY-MM-DD`.
    close_from: Option<String>,
    /// Expected close on or before, `YYYY-MM-DD`.
    close_to: Option<String>,
    /// Title prefix, case-insensitive.
    q: Option<String>,
    deleted: Option<String>,
}

impl std::fmt::Debug for ListParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListParams { .. }")
    }
}

#[utoipa::path(get, path = "/api/v1/deals", tag = "deals", params(ListParams),
    responses((status = 200, description = "A page of deals", body = inline(PageBody<DealView>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<DealView>>> {
    let query = DealQuery {
        pipeline_id: p.pipeline_id,
        stage_id: p.stage_id,
        status: p.status,
        owner_id: p.owner_id,
        company_id: p.company_id,
        contact_id: p.contact_id,
        close_from: p.close_from,
        close_to: p.close_to,
        q: p.q,
        deleted: parse_deleted(p.deleted.as_deref())?,
        sort: p
            .sort
            .as_deref()
            .map(DealSort::parse)
            .transpose()?
            .unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_deals(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/deals", tag = "deals", request_body = DealInput,
    responses((status = 201, body = DealView), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<DealInput>,
) -> ApiResult<(StatusCode, Json<DealView>)> {
    let view = state.core.create_deal(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/deals/{id}", tag = "deals", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = DealView), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DealView>> {
    Ok(Json(state.core.get_deal(&auth.actor, DealId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/deals/{id}", tag = "deals", params(("id" = String, Path, format = Uuid)), request_body = DealPatch,
    responses((status = 200, body = DealView), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<DealPatch>,
) -> ApiResult<Json<DealView>> {
    Ok(Json(
        state
            .core
            .update_deal(&auth.actor, DealId(id), patch)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/deals/{id}/move", tag = "deals", params(("id" = String, Path, format = Uuid)), request_body = MoveDeal,
    responses((status = 200, body = DealView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version` (someone changed the deal since you loaded it) or `deal_closed`", body = ApiError),
        (status = 422, description = "`unknown_stage`", body = ApiError)))]
pub async fn move_stage(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<MoveDeal>,
) -> ApiResult<Json<DealView>> {
    Ok(Json(
        state
            .core
            .move_deal(&auth.actor, DealId(id), request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/deals/{id}/close", tag = "deals", params(("id" = String, Path, format = Uuid)), request_body = CloseDeal,
    responses((status = 200, body = DealView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version` or `deal_closed`", body = ApiError), (status = 422, body = ApiError)))]
pub async fn close(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<CloseDeal>,
) -> ApiResult<Json<DealView>> {
    Ok(Json(
        state
            .core
            .close_deal(&auth.actor, DealId(id), request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/deals/{id}/reopen", tag = "deals", params(("id" = String, Path, format = Uuid)), request_body = ReopenDeal,
    responses((status = 200, body = DealView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version` or `deal_open`", body = ApiError), (status = 422, body = ApiError)))]
pub async fn reopen(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<ReopenDeal>,
) -> ApiResult<Json<DealView>> {
    Ok(Json(
        state
            .core
            .reopen_deal(&auth.actor, DealId(id), request)
            .await?,
    ))
}

#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    limit: Option<u64>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/deals/{id}/history", tag = "deals", params(("id" = String, Path, format = Uuid), HistoryParams),
    responses((status = 200, description = "Stage and status changes, newest first", body = inline(PageBody<StageChangeView>)), (status = 404, body = ApiError)))]
pub async fn history(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> ApiResult<Json<PageBody<StageChangeView>>> {
    let page = state
        .core
        .deal_history(&auth.actor, DealId(id), p.cursor.as_deref(), p.limit)
        .await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(delete, path = "/api/v1/deals/{id}", tag = "deals", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.core.delete_deal(&auth.actor, DealId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/deals/{id}/restore", tag = "deals", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = DealView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DealView>> {
    Ok(Json(
        state.core.restore_deal(&auth.actor, DealId(id)).await?,
    ))
}
