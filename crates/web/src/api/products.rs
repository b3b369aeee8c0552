use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::products::{
    InterestInput, InterestView, ProductInput, ProductPatch, ProductQuery, ProductSort, ProductView,
};
use custodian_domain::{ContactId, ProductId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    /// name (default), -name, -updated, updated
    sort: Option<String>,
    /// Name prefix, case-insensitive.
    q: Option<String>,
    category: Option<String>,
    active: Option<bool>,
    deleted: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/products", tag = "purchases", params(ListParams),
    responses((status = 200, description = "A page of catalogue products", body = inline(PageBody<ProductView>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<ProductView>>> {
    let query = ProductQuery {
        q: p.q,
        category: p.category,
        active: p.active,
        deleted: parse_deleted(p.deleted.as_deref())?,
        sort: p
            .sort
            .as_deref()
            .map(ProductSort::parse)
            .transpose()?
            .unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_products(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/products", tag = "purchases", request_body = ProductInput,
    responses((status = 201, body = ProductView), (status = 403, description = "Administrators only", body = ApiError),
        (status = 409, description = "`sku_taken`", body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<ProductInput>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    let view = state.core.create_product(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "purchases", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ProductView), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ProductView>> {
    Ok(Json(
        state.core.get_product(&auth.actor, ProductId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "purchases", params(("id" = String, Path, format = Uuid)), request_body = ProductPatch,
    responses((status = 200, body = ProductView), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version` or `sku_taken`", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> ApiResult<Json<ProductView>> {
    Ok(Json(
        state
            .core
            .update_product(&auth.actor, ProductId(id), patch)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "purchases", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .core
        .delete_product(&auth.actor, ProductId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/products/{id}/restore", tag = "purchases", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ProductView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ProductView>> {
    Ok(Json(
        state
            .core
            .restore_product(&auth.actor, ProductId(id))
            .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InterestList {
    pub items: Vec<InterestView>,
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}/product-interests", tag = "purchases", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = InterestList), (status = 404, body = ApiError)))]
pub async fn list_interests(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<InterestList>> {
    Ok(Json(InterestList {
        items: state
            .core
            .list_product_interests(&auth.actor, ContactId(id))
            .await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/contacts/{id}/product-interests", tag = "purchases", params(("id" = String, Path, format = Uuid)), request_body = InterestInput,
    responses((status = 200, description = "Recorded (replacing an earlier level for the same product)", body = InterestView),
        (status = 404, body = ApiError), (status = 422, description = "`unknown_product`, `invalid_level`", body = ApiError)))]
pub async fn set_interest(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<InterestInput>,
) -> ApiResult<Json<InterestView>> {
    Ok(Json(
        state
            .core
            .set_product_interest(&auth.actor, ContactId(id), input)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}/product-interests/{product_id}", tag = "purchases",
    params(("id" = String, Path, format = Uuid), ("product_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Removed"), (status = 404, body = ApiError)))]
pub async fn remove_interest(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((id, product_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    state
        .core
        .remove_product_interest(&auth.actor, ContactId(id), ProductId(product_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
