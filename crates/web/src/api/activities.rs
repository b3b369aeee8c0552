use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::activities::{
    ActivityInput, ActivityPage, ActivityPatch, ActivityQuery, ActivityView,
};
use custodian_core::links::RecordKind;
use custodian_domain::ActivityId;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    deal_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    /// call, meeting, email or note
    kind: Option<String>,
    /// exclude (default), only or include
    deleted: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineParams {
    limit: Option<u64>,
    cursor: Option<String>,
}

fn page_body(page: ActivityPage) -> Json<PageBody<ActivityView>> {
    Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

#[utoipa::path(get, path = "/api/v1/activities", tag = "activities", params(ListParams),
    responses((status = 200, description = "Activities, newest first", body = inline(PageBody<ActivityView>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<ActivityView>>> {
    let query = ActivityQuery {
        contact_id: p.contact_id,
        company_id: p.company_id,
        deal_id: p.deal_id,
        owner_id: p.owner_id,
        kind: p.kind,
        deleted: parse_deleted(p.deleted.as_deref())?,
        cursor: p.cursor,
        limit: p.limit,
    };
    Ok(page_body(
        state.core.list_activities(&auth.actor, query).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/activities", tag = "activities", request_body = ActivityInput,
    responses((status = 201, body = ActivityView), (status = 401, body = ApiError),
        (status = 422, description = "Invalid fields, or `link_required` / `unknown_contact` / `unknown_company` / `unknown_deal`", body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<ActivityInput>,
) -> ApiResult<(StatusCode, Json<ActivityView>)> {
    let view = state.core.create_activity(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "activities", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ActivityView), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ActivityView>> {
    Ok(Json(
        state.core.get_activity(&auth.actor, ActivityId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/activities/{id}", tag = "activities", params(("id" = String, Path, format = Uuid)), request_body = ActivityPatch,
    responses((status = 200, body = ActivityView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, or the activity is deleted", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ActivityPatch>,
) -> ApiResult<Json<ActivityView>> {
    Ok(Json(
        state
            .core
            .update_activity(&auth.actor, ActivityId(id), patch)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/activities/{id}", tag = "activities", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .delete_activity(&auth.actor, ActivityId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/activities/{id}/restore", tag = "activities", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ActivityView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ActivityView>> {
    Ok(Json(
        state
            .core
            .restore_activity(&auth.actor, ActivityId(id))
            .await?,
    ))
}

async fn timeline(
    state: AppState,
    auth: Authenticated,
    kind: RecordKind,
    id: Uuid,
    p: TimelineParams,
) -> ApiResult<Json<PageBody<ActivityView>>> {
    Ok(page_body(
        state
            .core
            .timeline(&auth.actor, kind, id, p.cursor, p.limit)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}/timeline", tag = "activities",
    params(("id" = String, Path, format = Uuid), TimelineParams),
    responses((status = 200, description = "The contact's activities, newest first", body = inline(PageBody<ActivityView>)),
        (status = 404, body = ApiError)))]
pub async fn contact_timeline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<TimelineParams>,
) -> ApiResult<Json<PageBody<ActivityView>>> {
    timeline(state, auth, RecordKind::Contact, id, p).await
}

#[utoipa::path(get, path = "/api/v1/companies/{id}/timeline", tag = "activities",
    params(("id" = String, Path, format = Uuid), TimelineParams),
    responses((status = 200, description = "Activities on the company and its people, newest first", body = inline(PageBody<ActivityView>)),
        (status = 404, body = ApiError)))]
pub async fn company_timeline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<TimelineParams>,
) -> ApiResult<Json<PageBody<ActivityView>>> {
    timeline(state, auth, RecordKind::Company, id, p).await
}

#[utoipa::path(get, path = "/api/v1/deals/{id}/timeline", tag = "activities",
    params(("id" = String, Path, format = Uuid), TimelineParams),
    responses((status = 200, description = "The deal's activities, newest first", body = inline(PageBody<ActivityView>)),
        (status = 404, body = ApiError)))]
pub async fn deal_timeline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<TimelineParams>,
) -> ApiResult<Json<PageBody<ActivityView>>> {
    timeline(state, auth, RecordKind::Deal, id, p).await
}
