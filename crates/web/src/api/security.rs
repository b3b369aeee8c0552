//! Security monitoring for security officers (`security.monitor`): alerts raised by the
//! monitoring rules (list, open, own, acknowledge, resolve, annotate), the dashboard, and an
//! audit-log verification on demand.

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use custodian_core::monitor::Verification;
use custodian_core::monitor::alerts::{
    AlertChange, AlertDetail, AlertFilter, AlertPage, SecurityDashboard,
};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertParams {
    /// Statuses, comma-separated (`open,acknowledged`).
    status: Option<String>,
    /// A rule code (`mass_read`).
    rule: Option<String>,
    /// Alerts about this user.
    user: Option<Uuid>,
    /// Alerts this user owns.
    owner: Option<Uuid>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1–200, default 50
    limit: Option<u64>,
}

impl AlertParams {
    pub(crate) fn filter(&self) -> AlertFilter {
        AlertFilter {
            statuses: self
                .status
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            rule: self
                .rule
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            subject_user_id: self.user,
            owner_id: self.owner,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/security/alerts", tag = "security", params(AlertParams),
    responses((status = 200, description = "Newest first", body = AlertPage),
        (status = 403, description = "Without `security.monitor` (security officers)", body = crate::error::ApiError),
        (status = 422, description = "`invalid_alert_status`, `unknown_alert_rule`", body = crate::error::ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<AlertParams>,
) -> ApiResult<Json<AlertPage>> {
    Ok(Json(
        state
            .core
            .list_alerts(&auth.actor, &p.filter(), p.cursor.as_deref(), p.limit)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/security/alerts/{id}", tag = "security",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The alert, its notes and webhook deliveries", body = AlertDetail),
        (status = 403, body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<AlertDetail>> {
    Ok(Json(state.core.get_alert(&auth.actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/security/alerts/{id}", tag = "security",
    params(("id" = Uuid, Path)), request_body = AlertChange,
    responses((status = 200, description = "Changed (audited as `alert_changed`)", body = AlertDetail),
        (status = 403, body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError),
        (status = 409, description = "`stale_version`: someone changed the alert meanwhile", body = crate::error::ApiError),
        (status = 422, description = "`invalid_alert_status`, `invalid_uuid`, `unknown_user`, `too_long`, `nothing_to_change`", body = crate::error::ApiError)))]
pub async fn change(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(change): ApiJson<AlertChange>,
) -> ApiResult<Json<AlertDetail>> {
    Ok(Json(
        state.core.change_alert(&auth.actor, id, change).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/security/dashboard", tag = "security",
    responses((status = 200, description = "Unresolved alerts, counts per rule over 30 days, the rules, the last verification", body = SecurityDashboard),
        (status = 403, body = crate::error::ApiError)))]
pub async fn dashboard(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<SecurityDashboard>> {
    Ok(Json(state.core.security_dashboard(&auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/security/verify", tag = "security",
    responses((status = 200, description = "The whole audit log verified now; problems raise an `audit_verification` alert", body = Verification),
        (status = 403, body = crate::error::ApiError)))]
pub async fn verify(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<Verification>> {
    Ok(Json(state.core.verify_audit_now(&auth.actor).await?))
}

#[utoipa::path(get, path = "/api/v1/metrics", tag = "security",
    responses((status = 200, description = "Prometheus text exposition (version 0.0.4): HTTP requests and latency by route template, sign-ins by outcome, audit events by code, audit appends with latency and failures, alerts raised and by status, the audit log's size, unsigned tail and checkpoint age. For a scraper, create an API token with the `metrics:read` scope for a user who may `security.monitor`.", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, body = crate::error::ApiError),
        (status = 403, body = crate::error::ApiError)))]
pub async fn metrics(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let text = state.core.metrics_text(&auth.actor).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
