//! Complaints: the queue with its filters, the record, its transitions and status history.

use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::complaints::{
    ComplaintChangeView, ComplaintInput, ComplaintPatch, ComplaintQuery, ComplaintSort,
    ComplaintTransition, ComplaintView,
};
use custodian_core::tasks::Assignee;
use custodian_domain::ComplaintId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    /// due (default: response due first), -due, -severity, severity, -created, created, -updated, updated
    sort: Option<String>,
    /// One or more of open, investigating, resolved, closed, rejected, comma-separated.
    status: Option<String>,
    /// low, medium, high or critical.
    severity: Option<String>,
    /// product_quality, delivery, billing, service or other.
    category: Option<String>,
    /// `me` or a user id.
    assignee: Option<String>,
    /// `true`: open or investigating past the response due moment.
    overdue: Option<bool>,
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    order_id: Option<Uuid>,
    deleted: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/complaints", tag = "feedback", params(ListParams),
    responses((status = 200, description = "A page of complaints (subjects only)", body = inline(PageBody<ComplaintView>)),
        (status = 400, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<ComplaintView>>> {
    let query = ComplaintQuery {
        statuses: p
            .status
            .as_deref()
            .map(|s| s.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default(),
        severity: p.severity,
        category: p.category,
        assignee: p.assignee.as_deref().map(Assignee::parse).transpose()?,
        overdue: p.overdue.unwrap_or(false),
        contact_id: p.contact_id,
        company_id: p.company_id,
        order_id: p.order_id,
        deleted: parse_deleted(p.deleted.as_deref())?,
        sort: p
            .sort
            .as_deref()
            .map(ComplaintSort::parse)
            .transpose()?
            .unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_complaints(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/complaints", tag = "feedback", request_body = ComplaintInput,
    responses((status = 201, body = ComplaintView), (status = 422, description = "e.g. `invalid_category`, `invalid_severity`, `unknown_contact`", body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<ComplaintInput>,
) -> ApiResult<(StatusCode, Json<ComplaintView>)> {
    let view = state.core.create_complaint(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ComplaintView), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ComplaintView>> {
    Ok(Json(
        state
            .core
            .get_complaint(&auth.actor, ComplaintId(id))
            .await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/complaints/{id}", tag = "feedback", params(("id" = String, Path, format = Uuid)), request_body = ComplaintPatch,
    responses((status = 200, body = ComplaintView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, or `complaint_closed`", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ComplaintPatch>,
) -> ApiResult<Json<ComplaintView>> {
    Ok(Json(
        state
            .core
            .update_complaint(&auth.actor, ComplaintId(id), patch)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/complaints/{id}/transition", tag = "feedback", params(("id" = String, Path, format = Uuid)), request_body = ComplaintTransition,
    responses((status = 200, body = ComplaintView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, or `invalid_transition`", body = ApiError),
        (status = 422, description = "`resolution_required`", body = ApiError)))]
pub async fn transition(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<ComplaintTransition>,
) -> ApiResult<Json<ComplaintView>> {
    Ok(Json(
        state
            .core
            .transition_complaint(&auth.actor, ComplaintId(id), request)
            .await?,
    ))
}

/// A complaint's status history, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryBody {
    pub items: Vec<ComplaintChangeView>,
}

#[utoipa::path(get, path = "/api/v1/complaints/{id}/history", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HistoryBody), (status = 404, body = ApiError)))]
pub async fn history(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<HistoryBody>> {
    let items = state
        .core
        .complaint_history(&auth.actor, ComplaintId(id))
        .await?;
    Ok(Json(HistoryBody { items }))
}

#[utoipa::path(delete, path = "/api/v1/complaints/{id}", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .delete_complaint(&auth.actor, ComplaintId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/complaints/{id}/restore", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ComplaintView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ComplaintView>> {
    Ok(Json(
        state
            .core
            .restore_complaint(&auth.actor, ComplaintId(id))
            .await?,
    ))
}
