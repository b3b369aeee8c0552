use super::{PageBody, parse_deleted};
use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use custodian_core::orders::{
    CustomerRef, OrderInput, OrderPatch, OrderQuery, OrderSort, OrderView, PurchaseSummary,
    TransitionOrder,
};
use custodian_domain::{CompanyId, ContactId, OrderId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
    /// -ordered_on (default), ordered_on, -created, created, -updated, updated
    sort: Option<String>,
    /// draft, placed, paid, fulfilled, cancelled or refunded
    status: Option<String>,
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    deleted: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "purchases", params(ListParams),
    responses((status = 200, description = "A page of orders (without notes and lines)", body = inline(PageBody<OrderView>)),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<PageBody<OrderView>>> {
    let query = OrderQuery {
        status: p.status,
        contact_id: p.contact_id,
        company_id: p.company_id,
        deleted: parse_deleted(p.deleted.as_deref())?,
        sort: p
            .sort
            .as_deref()
            .map(OrderSort::parse)
            .transpose()?
            .unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = state.core.list_orders(&auth.actor, query).await?;
    Ok(Json(PageBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "purchases", request_body = OrderInput,
    responses((status = 201, description = "A draft order with its number, lines and exact totals", body = OrderView), (status = 401, body = ApiError),
        (status = 422, description = "Per-field codes such as `lines[2].quantity` `negative_quantity`, `currency_mismatch`, `inactive_product`, `unknown_product`, `too_many_lines`, `line_total_too_large`, `customer_required`; nothing is written", body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(input): ApiJson<OrderInput>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    let view = state.core.create_order(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "purchases", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderView), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(state.core.get_order(&auth.actor, OrderId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/orders/{id}", tag = "purchases", params(("id" = String, Path, format = Uuid)), request_body = OrderPatch,
    responses((status = 200, body = OrderView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, or `order_not_draft`: only drafts are edited", body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<OrderPatch>,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(
        state
            .core
            .update_order(&auth.actor, OrderId(id), patch)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/transition", tag = "purchases", params(("id" = String, Path, format = Uuid)), request_body = TransitionOrder,
    responses((status = 200, body = OrderView), (status = 404, body = ApiError),
        (status = 409, description = "`stale_version`, `invalid_transition` or `order_empty`", body = ApiError), (status = 422, description = "`invalid_status`", body = ApiError)))]
pub async fn transition(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<TransitionOrder>,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(
        state
            .core
            .transition_order(&auth.actor, OrderId(id), request)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/orders/{id}", tag = "purchases", params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Soft-deleted; restorable"), (status = 404, body = ApiError),
        (status = 409, description = "`order_not_deletable`: only draft or cancelled orders", body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.core.delete_order(&auth.actor, OrderId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/restore", tag = "purchases", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(
        state.core.restore_order(&auth.actor, OrderId(id)).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PurchaseParams {
    limit: Option<u64>,
    cursor: Option<String>,
}

/// Totals over the orders that count (placed, paid, fulfilled) and the orders, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PurchasesBody {
    pub summary: PurchaseSummary,
    pub items: Vec<OrderView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

async fn purchases(
    state: &AppState,
    auth: &Authenticated,
    customer: CustomerRef,
    p: PurchaseParams,
) -> ApiResult<Json<PurchasesBody>> {
    let history = state
        .core
        .customer_purchases(&auth.actor, customer, p.cursor, p.limit)
        .await?;
    Ok(Json(PurchasesBody {
        summary: history.summary,
        items: history.orders.items,
        next_cursor: history.orders.next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}/purchases", tag = "purchases", params(("id" = String, Path, format = Uuid), PurchaseParams),
    responses((status = 200, body = PurchasesBody), (status = 404, body = ApiError)))]
pub async fn contact_purchases(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<PurchaseParams>,
) -> ApiResult<Json<PurchasesBody>> {
    purchases(&state, &auth, CustomerRef::Contact(ContactId(id)), p).await
}

#[utoipa::path(get, path = "/api/v1/companies/{id}/purchases", tag = "purchases", params(("id" = String, Path, format = Uuid), PurchaseParams),
    responses((status = 200, body = PurchasesBody), (status = 404, body = ApiError)))]
pub async fn company_purchases(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<PurchaseParams>,
) -> ApiResult<Json<PurchasesBody>> {
    purchases(&state, &auth, CustomerRef::Company(CompanyId(id)), p).await
}
