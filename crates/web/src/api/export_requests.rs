//! Bulk exports that need a second person's approval (separation of duties): request with a
//! reason, approve or reject (someone else, with `approve_export`), withdraw, and the one
//! download of an approved request by its requester.

use crate::AppState;
use crate::api::transfer::download;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalApiJson};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use custodian_core::CoreError;
use custodian_core::export_requests::{
    Decision, ExportRequestPage, ExportRequestQuery, ExportRequestView, NewExportRequest,
    RequestScope,
};
use custodian_core::exports::{ExportFilters, ExportRequest};
use serde::Deserialize;
use uuid::Uuid;

/// A request for an export. No `Debug`: the reason is free text that may name a person.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequestBody {
    /// contacts, companies or deals
    pub kind: String,
    /// csv (default) or json
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub filters: ExportFilters,
    /// Why the file is needed (shown to the approvers; at most 500 characters).
    pub reason: String,
}

impl ExportRequestBody {
    fn into_request(self) -> Result<NewExportRequest, CoreError> {
        let format = self.format.as_deref().unwrap_or("");
        Ok(NewExportRequest {
            export: ExportRequest::parse(&self.kind, format, self.filters)?,
            reason: self.reason,
        })
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// mine (default: your requests) or approvals (requests you may decide on)
    scope: Option<String>,
    /// pending, approved, rejected, withdrawn or downloaded
    status: Option<String>,
    cursor: Option<String>,
    /// 1–100, default 50
    limit: Option<u64>,
}

/// A decision's optional note to the requester (no `Debug`: free text).
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// At most 500 characters.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/export-requests", tag = "transfer",
    request_body = ExportRequestBody,
    responses(
        (status = 201, description = "Waiting for someone else's approval", body = ExportRequestView),
        (status = 403, description = "Not allowed to export this collection", body = ApiError),
        (status = 409, description = "`too_many_pending_exports`", body = ApiError),
        (status = 422, description = "`reason_required`, `invalid_kind`, `invalid_format`", body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ExportRequestBody>,
) -> ApiResult<(StatusCode, Json<ExportRequestView>)> {
    let request = body.into_request()?;
    let view = state.core.request_export(&auth.actor, request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/export-requests", tag = "transfer", params(ListParams),
    responses((status = 200, body = ExportRequestPage),
        (status = 403, description = "`scope=approvals` without `approve_export` on any collection", body = ApiError),
        (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<ExportRequestPage>> {
    let scope = RequestScope::parse(p.scope.as_deref().unwrap_or("")).map_err(CoreError::from)?;
    let query = ExportRequestQuery {
        scope,
        status: p.status,
        cursor: p.cursor,
        limit: p.limit,
    };
    Ok(Json(
        state.core.list_export_requests(&auth.actor, query).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/export-requests/{id}", tag = "transfer",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ExportRequestView),
        (status = 404, description = "Neither yours nor one you may decide on", body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ExportRequestView>> {
    Ok(Json(state.core.export_request(&auth.actor, id).await?))
}

async fn decide(
    state: &AppState,
    auth: &Authenticated,
    id: Uuid,
    decision: Decision,
    body: DecisionBody,
) -> ApiResult<Json<ExportRequestView>> {
    Ok(Json(
        state
            .core
            .decide_export_request(&auth.actor, id, decision, &body.note)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/export-requests/{id}/approve", tag = "transfer",
    params(("id" = Uuid, Path)), request_body(content = DecisionBody, description = "Optional"),
    responses((status = 200, description = "Approved: its requester can download it once", body = ExportRequestView),
        (status = 403, description = "`forbidden` (no `approve_export`) or `reauthentication_required`", body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "`second_approver_required` (your own request), `export_request_decided`", body = ApiError)))]
pub async fn approve(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    OptionalApiJson(body): OptionalApiJson<DecisionBody>,
) -> ApiResult<Json<ExportRequestView>> {
    decide(&state, &auth, id, Decision::Approve, body).await
}

#[utoipa::path(post, path = "/api/v1/export-requests/{id}/reject", tag = "transfer",
    params(("id" = Uuid, Path)), request_body(content = DecisionBody, description = "Optional"),
    responses((status = 200, body = ExportRequestView),
        (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "`withdraw_instead` (your own request), `export_request_decided`", body = ApiError)))]
pub async fn reject(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    OptionalApiJson(body): OptionalApiJson<DecisionBody>,
) -> ApiResult<Json<ExportRequestView>> {
    decide(&state, &auth, id, Decision::Reject, body).await
}

#[utoipa::path(post, path = "/api/v1/export-requests/{id}/withdraw", tag = "transfer",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ExportRequestView), (status = 404, body = ApiError),
        (status = 409, description = "`not_requester`, `export_request_decided`", body = ApiError)))]
pub async fn withdraw(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ExportRequestView>> {
    Ok(Json(
        state.core.withdraw_export_request(&auth.actor, id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/export-requests/{id}/download", tag = "transfer",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The file, streamed; once per approval", content_type = "text/csv"),
        (status = 404, body = ApiError),
        (status = 409, description = "`export_not_approved`, `export_already_downloaded`, `export_approval_expired`, `not_requester`", body = ApiError)))]
pub async fn download_file(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    Ok(download(
        state.core.download_approved_export(&auth.actor, id).await?,
    ))
}
