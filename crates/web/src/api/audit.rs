//! The audit log for auditors and security officers (`audit.read`): search, one event with
//! its inclusion proof against a signed checkpoint, and the checkpoints.

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use custodian_core::CoreError;
use custodian_core::audit::checkpoints::SignedCheckpoint;
use custodian_core::audit::query::{AuditFilter, AuditPage, AuditProof};
use custodian_domain::FieldError;
use custodian_domain::audit::AuditCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Who acted (user id).
    actor: Option<Uuid>,
    /// The record concerned (id).
    target: Option<Uuid>,
    /// Event codes, comma-separated (`authn_login_fail,authz_fail`).
    code: Option<String>,
    /// success or failure
    outcome: Option<String>,
    /// From this time on (RFC 3339, e.g. 2026-11-01T00:00:00Z).
    from: Option<String>,
    /// Before this time (RFC 3339).
    to: Option<String>,
    /// `next_before` of the previous page.
    before: Option<i64>,
    /// 1–200, default 50
    limit: Option<u64>,
}

impl SearchParams {
    /// The parameters the UI's filter form produces.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        actor: Option<Uuid>,
        target: Option<Uuid>,
        code: Option<String>,
        outcome: Option<String>,
        from: Option<String>,
        to: Option<String>,
        before: Option<i64>,
    ) -> Self {
        Self {
            actor,
            target,
            code,
            outcome,
            from,
            to,
            before,
            limit: None,
        }
    }
}

fn parse_time(field: &str, value: Option<&str>) -> Result<Option<i64>, CoreError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let parsed =
        time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
            FieldError::new(
                field,
                "invalid_time",
                "use an RFC 3339 time such as 2026-11-01T00:00:00Z",
            )
        })?;
    Ok(Some(
        i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
    ))
}

impl SearchParams {
    pub(crate) fn filter(&self) -> Result<AuditFilter, CoreError> {
        let mut codes = Vec::new();
        for code in self.code.as_deref().unwrap_or("").split(',').map(str::trim) {
            if code.is_empty() {
                continue;
            }
            let known = AuditCode::parse(code).ok_or_else(|| {
                FieldError::new(
                    "code",
                    "unknown_event_code",
                    format!(
                        "`{}` is not an audit event code",
                        custodian_domain::audit::sanitize(code, 64)
                    ),
                )
            })?;
            codes.push(known.code().to_owned());
        }
        let outcome = match self.outcome.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(o @ ("success" | "failure")) => Some(o.to_owned()),
            Some(_) => {
                return Err(FieldError::new(
                    "outcome",
                    "invalid_audit_outcome",
                    "choose success or failure",
                )
                .into());
            }
        };
        Ok(AuditFilter {
            actor_id: self.actor,
            target_id: self.target,
            codes,
            outcome,
            from: parse_time("from", self.from.as_deref())?,
            to: parse_time("to", self.to.as_deref())?,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit", params(SearchParams),
    responses((status = 200, description = "Newest first", body = AuditPage),
        (status = 403, description = "Without `audit.read` (auditors, security officers)", body = crate::error::ApiError),
        (status = 422, description = "`unknown_event_code`, `invalid_audit_outcome`, `invalid_time`", body = crate::error::ApiError)))]
pub async fn search(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<AuditPage>> {
    let filter = p.filter()?;
    Ok(Json(
        state
            .core
            .audit_events(&auth.actor, &filter, p.before, p.limit)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/events/{id}/proof", tag = "audit",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The event, its audit path and the signed checkpoint it verifies against", body = AuditProof),
        (status = 403, body = crate::error::ApiError),
        (status = 404, body = crate::error::ApiError)))]
pub async fn proof(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<AuditProof>> {
    Ok(Json(state.core.audit_proof(&auth.actor, id).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckpointList {
    pub items: Vec<SignedCheckpoint>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointParams {
    /// 1–200, default 50
    limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/audit/checkpoints", tag = "audit", params(CheckpointParams),
    responses((status = 200, description = "Newest first", body = CheckpointList),
        (status = 403, body = crate::error::ApiError)))]
pub async fn checkpoints(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<CheckpointParams>,
) -> ApiResult<Json<CheckpointList>> {
    let items = state
        .core
        .audit_checkpoints(&auth.actor, p.limit.unwrap_or(50))
        .await?;
    Ok(Json(CheckpointList { items }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// From this time on (RFC 3339).
    from: String,
    /// Before this time (RFC 3339); at most 366 days after `from`.
    to: String,
}

#[utoipa::path(get, path = "/api/v1/audit/report", tag = "audit", params(ReportParams),
    responses((status = 200, description = "The audit report of the range: sign-ins and failures by day, second-factor coverage (privileged users without one named), privileged changes, reads of personal data by user, exports, alerts and their handling, and a verification of the whole log run for the report", body = custodian_core::audit::report::AuditReport),
        (status = 403, body = crate::error::ApiError),
        (status = 422, description = "`invalid_time`, `required`, `invalid_range`, `range_too_long`", body = crate::error::ApiError)))]
pub async fn report(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Json<custodian_core::audit::report::AuditReport>> {
    let from = required_time("from", &p.from)?;
    let to = required_time("to", &p.to)?;
    Ok(Json(state.core.audit_report(&auth.actor, from, to).await?))
}

/// A time parameter that must be given.
fn required_time(field: &str, value: &str) -> Result<i64, CoreError> {
    parse_time(field, Some(value))?.ok_or_else(|| {
        FieldError::new(
            field,
            "required",
            "give a time such as 2026-11-01T00:00:00Z",
        )
        .into()
    })
}

#[utoipa::path(get, path = "/api/v1/audit/retention", tag = "audit",
    responses((status = 200, description = "How long events are kept and what was pruned", body = custodian_core::audit::retention::RetentionStatus),
        (status = 403, body = crate::error::ApiError)))]
pub async fn retention(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<custodian_core::audit::retention::RetentionStatus>> {
    Ok(Json(state.core.audit_retention_status(&auth.actor).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// From this time on (RFC 3339).
    from: String,
    /// Before this time (RFC 3339).
    to: String,
}

#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(ExportParams),
    responses((status = 200, description = "JSON lines: a signed checkpoint, then each event of the range with its canonical bytes and inclusion proof (verify offline with `custodian audit verify-export`)", content_type = "application/x-ndjson", body = String),
        (status = 403, body = crate::error::ApiError),
        (status = 409, description = "`export_range_too_large` (over 100000 events), `audit_unsigned`", body = crate::error::ApiError),
        (status = 422, description = "`invalid_time`, `invalid_range`", body = crate::error::ApiError)))]
pub async fn export(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let from = required_time("from", &p.from)?;
    let to = required_time("to", &p.to)?;
    let body = state.core.audit_export(&auth.actor, from, to).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/x-ndjson"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"custodian-audit-export.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}
