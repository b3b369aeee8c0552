use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use custodian_core::dashboard::{DashboardQuery, DashboardView};
use serde::Deserialize;

/// Every filter is text so that a bad value is a 422 with a field and a stable code, like any
/// other validation error (a malformed id or number would otherwise be a 400 `invalid_query`).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardParams {
    /// The pipeline for the deal figures (UUID); the first pipeline when absent.
    pipeline_id: Option<String>,
    /// Calendar months of won/lost history, the current month included: 1–24, default 6.
    months: Option<String>,
    /// First day of the activities period, `YYYY-MM-DD` (UTC); default 29 days before `to`.
    from: Option<String>,
    /// Last day of the activities period, inclusive, `YYYY-MM-DD` (UTC); default today.
    /// At most 366 days in all.
    to: Option<String>,
    /// Only this currency's amounts (ISO 4217); counts are never filtered.
    currency: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/dashboard", tag = "dashboard", params(DashboardParams),
    responses((status = 200, body = DashboardView), (status = 401, body = ApiError),
        (status = 422, body = ApiError, description = "invalid_id, unknown_pipeline, out_of_range, invalid_date, invalid_range or invalid_currency")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<DashboardParams>,
) -> ApiResult<Json<DashboardView>> {
    let query = DashboardQuery {
        pipeline_id: p.pipeline_id,
        months: p.months,
        from: p.from,
        to: p.to,
        currency: p.currency,
    };
    Ok(Json(state.core.dashboard(&auth.actor, query).await?))
}
