//! Custom field definitions: everyone reads them (forms need them), administrators change them.

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::custom_fields::{
    Archived, CustomFieldInput, CustomFieldPatch, CustomFieldView,
};
use custodian_domain::CustomFieldId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `contact`, `company` or `deal`; all entities when absent.
    entity: Option<String>,
    /// Include archived fields (default false).
    archived: Option<bool>,
}

/// Definitions in display order (bounded: at most 50 per entity).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomFieldList {
    pub items: Vec<CustomFieldView>,
}

#[utoipa::path(get, path = "/api/v1/custom-fields", tag = "custom fields", params(ListParams),
    responses((status = 200, body = CustomFieldList), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<CustomFieldList>> {
    let archived = if p.archived.unwrap_or(false) {
        Archived::Include
    } else {
        Archived::Exclude
    };
    let items = state
        .core
        .list_custom_fields(&auth.actor, p.entity.as_deref(), archived)
        .await?;
    Ok(Json(CustomFieldList { items }))
}

#[utoipa::path(post, path = "/api/v1/custom-fields", tag = "custom fields", request_body = CustomFieldInput,
    responses((status = 201, body = CustomFieldView), (status = 403, description = "Administrators only", body = ApiError),
        (status = 409, description = "`custom_field_key_taken` or `custom_field_limit`", body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<CustomFieldInput>,
) -> ApiResult<(StatusCode, Json<CustomFieldView>)> {
    let view = state.core.create_custom_field(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/custom-fields/{id}", tag = "custom fields", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = CustomFieldView), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<CustomFieldView>> {
    Ok(Json(
        state
            .core
            .get_custom_field(&auth.actor, CustomFieldId(id))
            .await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/custom-fields/{id}", tag = "custom fields", params(("id" = String, Path, format = Uuid)), request_body = CustomFieldPatch,
    responses((status = 200, body = CustomFieldView), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, `custom_field_type_locked`, `custom_field_classification_locked` or `option_in_use`", body = ApiError),
        (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<CustomFieldPatch>,
) -> ApiResult<Json<CustomFieldView>> {
    Ok(Json(
        state
            .core
            .update_custom_field(&auth.actor, CustomFieldId(id), patch)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/custom-fields/{id}/archive", tag = "custom fields", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Archived: hidden from forms, values kept", body = CustomFieldView), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn archive(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<CustomFieldView>> {
    Ok(Json(
        state
            .core
            .archive_custom_field(&auth.actor, CustomFieldId(id), true)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/custom-fields/{id}/restore", tag = "custom fields", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Back on forms", body = CustomFieldView), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<CustomFieldView>> {
    Ok(Json(
        state
            .core
            .archive_custom_field(&auth.actor, CustomFieldId(id), false)
            .await?,
    ))
}
