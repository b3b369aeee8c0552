use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::contact_access::RevealedDetails;
use custodian_core::contacts::{
    ContactInput, ContactPatch, ContactQuery, ContactSort, ContactSummary, ContactView,
};
use custodian_domain::ContactId;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    sort: Option<String>,
    owner_id: Option<Uuid>,
    team: Option<String>,
    company_id: Option<Uuid>,
    tag: Option<String>,
    deleted: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    /// Key of a public or internal custom field to filter on (with `cf_value`, exact match).
    cf_key: Option<String>,
    cf_value: Option<String>,
    /// `false`: leave out contacts who asked not to be contacted (campaigns); `true`: only them.
    do_not_contact: Option<bool>,
}

impl std::fmt::Debug for ListParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListParams { .. }")
    }
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ListParams),
    responses((status = 200, description = "A page of contacts", body = inline(PageBody<ContactSummary>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<ContactSummary>>> {
    let query = ContactQuery {
        owner_id: p.owner_id,
        team: p.team,
        company_id: p.company_id,
        tag: p.tag,
        deleted: parse_deleted(p.deleted.as_deref())?,
        email: p.email,
        phone: p.phone,
        name: p.name,
        custom_field: match (p.cf_key, p.cf_value) {
            (Some(key), Some(value)) => Some((key, value)),
            (None, None) => None,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "`cf_key` and `cf_value` go together.",
                ));
            }
        },
        do_not_contact: p.do_not_contact,
        sort: p
            .sort
            .as_deref()
            .map(ContactSort::parse)
            .transpose()?
            .unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_contacts(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body = ContactInput,
    responses((status = 201, body = ContactView), (status = 401, body = ApiError), (status = 413, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<(StatusCode, Json<ContactView>)> {
    let view = state.core.create_contact(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ContactView), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ContactView>> {
    Ok(Json(
        state.core.get_contact(&auth.actor, ContactId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path, format = Uuid)), request_body = ContactPatch,
    responses((status = 200, body = ContactView), (status = 404, body = ApiError), (status = 409, description = "Stale version or deleted record", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ContactPatch>,
) -> ApiResult<Json<ContactView>> {
    Ok(Json(
        state
            .core
            .update_contact(&auth.actor, ContactId(id), patch)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .delete_contact(&auth.actor, ContactId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/contacts/{id}/reveal", tag = "contacts", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The contact details in full (recorded as a security event)", body = RevealedDetails),
        (status = 403, description = "`reauthentication_required`: confirm it is you first; `forbidden` otherwise", body = ApiError),
        (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn reveal(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<RevealedDetails>> {
    Ok(Json(
        state
            .core
            .reveal_contact_details(&auth.actor, ContactId(id))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/contacts/{id}/restore", tag = "contacts", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ContactView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ContactView>> {
    Ok(Json(
        state
            .core
            .restore_contact(&auth.actor, ContactId(id))
            .await?,
    ))
}
