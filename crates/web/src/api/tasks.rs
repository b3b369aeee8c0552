use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::tasks::{
    Assignee, TaskAction, TaskInput, TaskPatch, TaskQuery, TaskSort, TaskView,
};
use custodian_domain::TaskId;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    /// due (default; no due date last), -due, -priority, priority, -created, created, -updated, updated
    sort: Option<String>,
    /// `me` or a user id ("my tasks": `assignee=me&status=open,in_progress`).
    assignee: Option<String>,
    /// One or more of open, in_progress, done, cancelled, comma-separated.
    status: Option<String>,
    /// `true`: only tasks due before now that are still open or in progress.
    overdue: Option<bool>,
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    deal_id: Option<Uuid>,
    deleted: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(ListParams),
    responses((status = 200, description = "A page of tasks", body = inline(PageBody<TaskView>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<TaskView>>> {
    let query = TaskQuery {
        assignee: p.assignee.as_deref().map(Assignee::parse).transpose()?,
        statuses: p
            .status
            .as_deref()
            .map(|s| s.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default(),
        overdue: p.overdue.unwrap_or(false),
        contact_id: p.contact_id,
        company_id: p.company_id,
        deal_id: p.deal_id,
        deleted: parse_deleted(p.deleted.as_deref())?,
        sort: p
            .sort
            .as_deref()
            .map(TaskSort::parse)
            .transpose()?
            .unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_tasks(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = TaskInput,
    responses((status = 201, body = TaskView), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<TaskInput>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    let view = state.core.create_task(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = TaskView), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TaskView>> {
    Ok(Json(state.core.get_task(&auth.actor, TaskId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path, format = Uuid)), request_body = TaskPatch,
    responses((status = 200, body = TaskView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, or `task_closed` (reopen it first)", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> ApiResult<Json<TaskView>> {
    Ok(Json(
        state
            .core
            .update_task(&auth.actor, TaskId(id), patch)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "tasks", params(("id" = String, Path, format = Uuid)), request_body = TaskAction,
    responses((status = 200, body = TaskView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, or `task_closed` (cancelled)", body = ApiError)))]
pub async fn complete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<TaskAction>,
) -> ApiResult<Json<TaskView>> {
    Ok(Json(
        state
            .core
            .complete_task(&auth.actor, TaskId(id), request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/reopen", tag = "tasks", params(("id" = String, Path, format = Uuid)), request_body = TaskAction,
    responses((status = 200, body = TaskView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn reopen(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<TaskAction>,
) -> ApiResult<Json<TaskView>> {
    Ok(Json(
        state
            .core
            .reopen_task(&auth.actor, TaskId(id), request)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.core.delete_task(&auth.actor, TaskId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/restore", tag = "tasks", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = TaskView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TaskView>> {
    Ok(Json(
        state.core.restore_task(&auth.actor, TaskId(id)).await?,
    ))
}
