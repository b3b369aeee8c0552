//! Communication preferences of a contact and satisfaction survey responses with their NPS
//! and CSAT summary.

use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::preferences::{PreferencesInput, PreferencesView};
use custodian_core::surveys::{SurveyInput, SurveyPatch, SurveyQuery, SurveySummary, SurveyView};
use custodian_domain::{ContactId, SurveyResponseId};
use serde::Deserialize;
use uuid::Uuid;

#[utoipa::path(get, path = "/api/v1/contacts/{id}/preferences", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The contact's communication preferences (version 0: none saved yet)", body = PreferencesView),
        (status = 404, body = ApiError)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<PreferencesView>> {
    Ok(Json(
        state
            .core
            .get_preferences(&auth.actor, ContactId(id))
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/contacts/{id}/preferences", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    request_body = PreferencesInput,
    responses((status = 200, body = PreferencesView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`", body = ApiError), (status = 422, body = ApiError)))]
pub async fn put_preferences(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<PreferencesInput>,
) -> ApiResult<Json<PreferencesView>> {
    Ok(Json(
        state
            .core
            .set_preferences(&auth.actor, ContactId(id), input)
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SurveyParams {
    limit: Option<u64>,
    cursor: Option<String>,
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    /// nps or csat.
    kind: Option<String>,
    /// Responded at or after (RFC 3339, or a date: from its start, UTC).
    from: Option<String>,
    /// Responded at or before (RFC 3339, or a date: to its end, UTC).
    to: Option<String>,
    deleted: Option<String>,
}

impl SurveyParams {
    fn query(self) -> Result<SurveyQuery, ApiError> {
        Ok(SurveyQuery {
            contact_id: self.contact_id,
            company_id: self.company_id,
            kind: self.kind,
            from: self.from,
            to: self.to,
            deleted: parse_deleted(self.deleted.as_deref())?,
            cursor: self.cursor,
            limit: self.limit,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/surveys", tag = "feedback", params(SurveyParams),
    responses((status = 200, description = "Survey responses, newest first", body = inline(PageBody<SurveyView>)),
        (status = 400, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list_surveys(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<SurveyParams>,
) -> ApiResult<Json<PageBody<SurveyView>>> {
    let page = state.core.list_surveys(&auth.actor, p.query()?).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/surveys/summary", tag = "feedback", params(SurveyParams),
    responses((status = 200, description = "NPS and CSAT over the selected live responses (cursor and limit are ignored)", body = SurveySummary),
        (status = 400, body = ApiError), (status = 422, body = ApiError)))]
pub async fn survey_summary(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<SurveyParams>,
) -> ApiResult<Json<SurveySummary>> {
    Ok(Json(
        state.core.survey_summary(&auth.actor, p.query()?).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/surveys", tag = "feedback", request_body = SurveyInput,
    responses((status = 201, body = SurveyView), (status = 422, description = "e.g. `score_out_of_range`, `invalid_survey_kind`, `unknown_contact`", body = ApiError)))]
pub async fn create_survey(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<SurveyInput>,
) -> ApiResult<(StatusCode, Json<SurveyView>)> {
    let view = state.core.create_survey(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = SurveyView), (status = 404, body = ApiError)))]
pub async fn get_survey(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SurveyView>> {
    Ok(Json(
        state
            .core
            .get_survey(&auth.actor, SurveyResponseId(id))
            .await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/surveys/{id}", tag = "feedback", params(("id" = String, Path, format = Uuid)), request_body = SurveyPatch,
    responses((status = 200, body = SurveyView), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn update_survey(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<SurveyPatch>,
) -> ApiResult<Json<SurveyView>> {
    Ok(Json(
        state
            .core
            .update_survey(&auth.actor, SurveyResponseId(id), patch)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/surveys/{id}", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError)))]
pub async fn delete_survey(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .delete_survey(&auth.actor, SurveyResponseId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/surveys/{id}/restore", tag = "feedback", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = SurveyView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore_survey(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SurveyView>> {
    Ok(Json(
        state
            .core
            .restore_survey(&auth.actor, SurveyResponseId(id))
            .await?,
    ))
}
