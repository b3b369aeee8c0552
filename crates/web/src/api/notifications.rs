use super::PageBody;
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use custodian_core::notifications::{NotificationQuery, NotificationView};
use custodian_domain::NotificationId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    /// `true`: unread ones only.
    unread: Option<bool>,
}

/// The signed-in user's notifications, newest first. Nobody sees anyone else's.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(ListParams),
    responses((status = 200, description = "A page of your notifications", body = inline(PageBody<NotificationView>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<NotificationView>>> {
    let query = NotificationQuery {
        unread_only: p.unread.unwrap_or(false),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_notifications(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnreadCount {
    /// Unread notifications, counted up to 100.
    pub unread: u64,
    /// True when there are at least 100 (the count stopped there).
    pub capped: bool,
}

#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications",
    responses((status = 200, body = UnreadCount), (status = 401, body = ApiError)))]
pub async fn unread_count(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<UnreadCount>> {
    let unread = state.core.unread_notification_count(&auth.actor).await?;
    Ok(Json(UnreadCount {
        unread,
        capped: unread >= custodian_core::notifications::UNREAD_COUNT_CAP,
    }))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = NotificationView), (status = 404, description = "No such notification of yours", body = ApiError)))]
pub async fn mark_read(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<NotificationView>> {
    Ok(Json(
        state
            .core
            .mark_notification_read(&auth.actor, NotificationId(id))
            .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MarkedRead {
    /// How many were unread.
    pub marked: u64,
}

#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    responses((status = 200, body = MarkedRead), (status = 401, body = ApiError)))]
pub async fn mark_all_read(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<MarkedRead>> {
    let marked = state.core.mark_all_notifications_read(&auth.actor).await?;
    Ok(Json(MarkedRead { marked }))
}
