//! Purchase pages: the product catalogue (administrators edit it), orders (list with filters,
//! detail with lines and totals and the status actions, a form with a line editor that works
//! without JavaScript through a fixed number of blank lines; `app.js` adds more), and the
//! purchase-history and product-interest sections of the contact and company pages.
//!
//! Order notes are sensitive: shown on the order page only, never in a URL or a log. Ids in
//! URLs (`/orders?contact=…`) identify records, not people's data.

use super::deals::{currency_options, group_digits, invalid_query, optional_id, parse_version};
use super::session::{CsrfOnly, csrf_checked_id};
use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, bad_request, build_url,
    field_message, format_time, normalize_newlines, optional, parse_id, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::contacts::Deleted;
use custodian_core::orders::{
    CustomerRef, LineInput, OrderInput, OrderPatch, OrderQuery, OrderView, TransitionOrder,
};
use custodian_core::products::{
    InterestInput, ProductInput, ProductPatch, ProductQuery, ProductView,
};
use custodian_domain::purchases::{OrderStatus, UnitOfMeasure};
use custodian_domain::{ContactId, FieldError, OrderId, ProductId};
use serde::Deserialize;
use std::fmt;

const ORDERS_NAV: &str = "orders";
const PRODUCTS_NAV: &str = "products";
/// Blank lines the order form offers (without JavaScript this is how many lines can be added
/// per save; `app.js` adds rows on demand).
pub(crate) const BLANK_LINES: usize = 3;
/// Orders shown in a contact's or company's purchase-history section.
const SECTION_ORDERS: u64 = 10;
const ORDER_FIELDS: &[&str] = &["company_id", "currency", "ordered_on", "notes", "lines"];
const PRODUCT_FIELDS: &[&str] = &[
    "sku",
    "name",
    "category",
    "description",
    "list_price",
    "currency",
    "unit",
];

/// `USD 1,219,359.48`.
pub(crate) fn money(amount: &str, currency: &str) -> String {
    format!("{currency} {}", group_digits(amount))
}

fn status_label(t: &Tr<'_>, status: &str) -> String {
    t.t(&format!("order_status.{status}")).to_owned()
}

fn status_options(t: &Tr<'_>, selected: &str) -> Vec<SelectOption> {
    OrderStatus::ALL
        .iter()
        .map(|s| SelectOption {
            value: s.code().to_owned(),
            label: status_label(t, s.code()),
            selected: s.code() == selected,
        })
        .collect()
}

async fn product_options(v: &Viewer, active_only: bool) -> Result<Vec<ProductView>, UiError> {
    Ok(v.core()
        .list_products(
            v.actor(),
            ProductQuery {
                active: active_only.then_some(true),
                limit: Some(200),
                ..ProductQuery::default()
            },
        )
        .await
        .ui(v)?
        .items)
}

fn product_label(p: &ProductView) -> String {
    format!(
        "{} — {} ({} / {})",
        p.sku,
        p.name,
        money(&p.list_price, &p.currency),
        p.unit
    )
}

// ---------------------------------------------------------------------------------------------
// Purchase-history section (contact and company pages)
// ---------------------------------------------------------------------------------------------

pub(crate) struct OrderRow {
    pub(crate) id: String,
    pub(crate) number: String,
    pub(crate) ordered_on: String,
    pub(crate) status: String,
    pub(crate) status_code: String,
    pub(crate) total: String,
    pub(crate) lines: i64,
}

fn order_row(t: &Tr<'_>, o: &OrderView) -> OrderRow {
    OrderRow {
        id: o.id.to_string(),
        number: o.number.clone(),
        ordered_on: o.ordered_on.clone(),
        status: status_label(t, &o.status),
        status_code: o.status.clone(),
        total: money(&o.total, &o.currency),
        lines: o.line_count,
    }
}

pub(crate) struct InterestRow {
    pub(crate) product_id: String,
    pub(crate) product: String,
    pub(crate) level: String,
    pub(crate) recorded: String,
}

/// What the contact and company pages show under "Purchase history".
pub(crate) struct PurchaseSection {
    /// `contact` or `company`: the filter name in `/orders?…`.
    pub(crate) kind: &'static str,
    pub(crate) id: String,
    pub(crate) order_count: i64,
    pub(crate) totals: Vec<String>,
    pub(crate) last_ordered_on: String,
    pub(crate) orders: Vec<OrderRow>,
    pub(crate) more: bool,
}

/// A contact's product interests (preferences and feedback), with the form to add one for
/// those who may change them.
pub(crate) struct InterestSection {
    pub(crate) id: String,
    pub(crate) interests: Vec<InterestRow>,
    /// Empty when the viewer may not change interests (or no product is active).
    pub(crate) products: Vec<SelectOption>,
    pub(crate) levels: Vec<SelectOption>,
    pub(crate) editable: bool,
}

impl fmt::Debug for InterestSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InterestSection").finish_non_exhaustive()
    }
}

impl fmt::Debug for PurchaseSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PurchaseSection")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The customer's purchases, for callers who read purchase history (marketing does not).
pub(crate) async fn purchase_section(
    v: &Viewer,
    customer: CustomerRef,
    readable: bool,
) -> Result<Option<PurchaseSection>, UiError> {
    if !readable {
        return Ok(None);
    }
    let t = v.t();
    let history = v
        .core()
        .customer_purchases(v.actor(), customer, None, Some(SECTION_ORDERS))
        .await
        .ui(v)?;
    let (kind, id) = match customer {
        CustomerRef::Contact(id) => ("contact", id.to_string()),
        CustomerRef::Company(id) => ("company", id.to_string()),
    };
    Ok(Some(PurchaseSection {
        kind,
        id,
        order_count: history.summary.order_count,
        totals: history
            .summary
            .totals
            .iter()
            .map(|total| money(&total.amount, &total.currency))
            .collect(),
        last_ordered_on: history.summary.last_ordered_on.unwrap_or_default(),
        orders: history
            .orders
            .items
            .iter()
            .map(|o| order_row(&t, o))
            .collect(),
        more: history.orders.next_cursor.is_some(),
    }))
}

/// A contact's product interests, for callers who read preferences and feedback (`readable`);
/// the form to add one when they may also change them (`editable`).
pub(crate) async fn interest_section(
    v: &Viewer,
    contact: ContactId,
    readable: bool,
    editable: bool,
) -> Result<Option<InterestSection>, UiError> {
    if !readable {
        return Ok(None);
    }
    let t = v.t();
    let interests = v
        .core()
        .list_product_interests(v.actor(), contact)
        .await
        .ui(v)?
        .into_iter()
        .map(|i| InterestRow {
            product_id: i.product_id.to_string(),
            product: format!("{} — {}", i.sku, i.product_name),
            level: t.t(&format!("interest_level.{}", i.level)).to_owned(),
            recorded: format_time(i.recorded_at),
        })
        .collect();
    let products = if editable {
        product_options(v, false)
            .await?
            .iter()
            .map(|p| SelectOption {
                value: p.id.to_string(),
                label: format!("{} — {}", p.sku, p.name),
                selected: false,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Some(InterestSection {
        id: contact.to_string(),
        interests,
        products,
        levels: ["low", "medium", "high"]
            .iter()
            .map(|l| SelectOption {
                value: (*l).to_owned(),
                label: t.t(&format!("interest_level.{l}")).to_owned(),
                selected: *l == "medium",
            })
            .collect(),
        editable,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InterestForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    product_id: String,
    level: String,
}

pub(crate) async fn add_interest(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<InterestForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let product_id = match optional_id("product_id", &form.product_id) {
        Ok(Some(p)) => p,
        Ok(None) | Err(_) => {
            return Err(v.fail(CoreError::from(FieldError::new(
                "product_id",
                "invalid_choice",
                "choose a product",
            ))));
        }
    };
    v.core()
        .set_product_interest(
            v.actor(),
            ContactId(id),
            InterestInput {
                product_id,
                level: form.level,
            },
        )
        .await
        .ui(&v)?;
    Ok(Redirect::to(&format!("/contacts/{id}#purchases")).into_response())
}

pub(crate) async fn remove_interest(
    v: Viewer,
    Path((raw, raw_product)): Path<(String, String)>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    let product = parse_id(&raw_product).ui(&v)?;
    v.core()
        .remove_product_interest(v.actor(), ContactId(id), ProductId(product))
        .await
        .ui(&v)?;
    Ok(Redirect::to(&format!("/contacts/{id}#purchases")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Order list
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListParams {
    status: String,
    contact: String,
    company: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "orders/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<OrderRow>,
    statuses: Vec<SelectOption>,
    contact: String,
    company: String,
    filtered: bool,
    errors: FormErrors,
    next_href: Option<String>,
    first_href: String,
    paged: bool,
    new_href: String,
}

pub(crate) async fn list(
    v: Viewer,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let t = v.t();
    let mut errors = FormErrors::default();
    let mut id_filter = |field: &str, raw: &str| {
        optional_id(field, raw).unwrap_or_else(|e| {
            errors.general.push(field_message(&t, &e));
            None
        })
    };
    let contact_id = id_filter("contact", &p.contact);
    let company_id = id_filter("company", &p.company);
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let (rows, next_cursor, status) = if errors.any() {
        (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        let query = OrderQuery {
            status: non_empty(&p.status),
            contact_id,
            company_id,
            deleted: Deleted::Exclude,
            cursor: non_empty(&p.cursor),
            ..OrderQuery::default()
        };
        match v.core().list_orders(v.actor(), query).await {
            Ok(page) => (
                page.items.iter().map(|o| order_row(&t, o)).collect(),
                page.next_cursor,
                StatusCode::OK,
            ),
            Err(CoreError::Validation(field_errors)) => {
                errors = FormErrors::from_fields(&t, &field_errors, &["status"]);
                (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return Err(v.fail(e)),
        }
    };
    let href = |cursor: &str| {
        build_url(
            "/orders",
            &[
                ("status", p.status.trim()),
                ("contact", p.contact.trim()),
                ("company", p.company.trim()),
                ("cursor", cursor),
            ],
        )
    };
    let page = ListPage {
        statuses: status_options(&t, p.status.trim()),
        t,
        chrome: v.chrome(ORDERS_NAV),
        rows,
        contact: p.contact.trim().to_owned(),
        company: p.company.trim().to_owned(),
        filtered: [&p.status, &p.contact, &p.company]
            .iter()
            .any(|s| !s.trim().is_empty()),
        errors,
        next_href: next_cursor.map(|c| href(&c)),
        first_href: href(""),
        paged: !p.cursor.trim().is_empty(),
        new_href: build_url(
            "/orders/new",
            &[("contact", p.contact.trim()), ("company", p.company.trim())],
        ),
    };
    Ok(render(status, &page))
}

// ---------------------------------------------------------------------------------------------
// Order detail and transitions
// ---------------------------------------------------------------------------------------------

struct LineRowView {
    description: String,
    sku: String,
    quantity: String,
    unit_price: String,
    discount: String,
    gross: String,
    total: String,
}

struct Action {
    status: String,
    label: String,
    danger: bool,
}

#[derive(Template)]
#[template(path = "orders/detail.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    o: OrderView,
    id: String,
    status: String,
    lines: Vec<LineRowView>,
    subtotal: String,
    discount_total: String,
    total: String,
    company: Option<(String, String)>,
    is_draft: bool,
    deletable: bool,
    actions: Vec<Action>,
    timeline: Vec<(String, String)>,
    message: Option<String>,
}

async fn detail_page(
    v: &Viewer,
    status: StatusCode,
    id: OrderId,
    message: Option<String>,
) -> Result<Response, UiError> {
    let o = v.core().get_order(v.actor(), id).await.ui(v)?;
    let t = v.t();
    let products = product_options(v, false).await?;
    let sku = |pid: Option<ProductId>| {
        pid.and_then(|p| products.iter().find(|x| x.id == p))
            .map(|p| p.sku.clone())
            .unwrap_or_default()
    };
    let lines = o
        .lines
        .iter()
        .flatten()
        .map(|l| LineRowView {
            description: l.description.clone(),
            sku: sku(l.product_id),
            quantity: group_digits(&l.quantity),
            unit_price: group_digits(&l.unit_price),
            discount: if l.discount == "0" {
                String::new()
            } else {
                format!("{} %", l.discount)
            },
            gross: group_digits(&l.gross),
            total: group_digits(&l.total),
        })
        .collect();
    let company = match o.company_id {
        Some(cid) => match v.core().get_company(v.actor(), cid).await {
            Ok(c) => Some((c.id.to_string(), c.name)),
            Err(CoreError::NotFound { .. }) => None,
            Err(e) => return Err(v.fail(e)),
        },
        None => None,
    };
    let current = OrderStatus::parse("status", &o.status).ok();
    let actions = OrderStatus::ALL
        .iter()
        .filter(|next| current.is_some_and(|c| c.can_become(**next)))
        .map(|next| Action {
            status: next.code().to_owned(),
            label: t.t(&format!("orders.to_{}", next.code())).to_owned(),
            danger: matches!(next, OrderStatus::Cancelled | OrderStatus::Refunded),
        })
        .collect();
    let timeline = [
        ("placed", o.placed_at),
        ("paid", o.paid_at),
        ("fulfilled", o.fulfilled_at),
        ("cancelled", o.cancelled_at),
        ("refunded", o.refunded_at),
    ]
    .iter()
    .filter_map(|(s, at)| at.map(|at| (status_label(&t, s), format_time(at))))
    .collect();
    let page = DetailPage {
        id: o.id.to_string(),
        status: status_label(&t, &o.status),
        lines,
        subtotal: money(&o.subtotal, &o.currency),
        discount_total: money(&o.discount_total, &o.currency),
        total: money(&o.total, &o.currency),
        company,
        is_draft: o.status == "draft" && o.deleted_at.is_none(),
        deletable: (o.status == "draft" || o.status == "cancelled") && o.deleted_at.is_none(),
        actions,
        timeline,
        message,
        t,
        chrome: v.chrome(ORDERS_NAV),
        o,
    };
    Ok(render(status, &page))
}

pub(crate) async fn detail(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = OrderId(parse_id(&raw).ui(&v)?);
    detail_page(&v, StatusCode::OK, id, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TransitionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    status: String,
}

pub(crate) async fn transition(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<TransitionForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = OrderId(parse_id(&raw).ui(&v)?);
    let version = parse_version(&form.version).map_err(|e| v.fail(CoreError::from(e)))?;
    let request = TransitionOrder {
        version,
        status: form.status,
    };
    match v.core().transition_order(v.actor(), id, request).await {
        Ok(o) => Ok(Redirect::to(&format!("/orders/{}", o.id)).into_response()),
        Err(CoreError::StaleVersion { .. }) => {
            let message = v.t().t("orders.stale_notice").to_owned();
            detail_page(&v, StatusCode::CONFLICT, id, Some(message)).await
        }
        Err(CoreError::Rule { code, .. }) => {
            let message = v.t().t(&format!("error.{code}")).to_owned();
            detail_page(&v, StatusCode::CONFLICT, id, Some(message)).await
        }
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn delete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    v.core().delete_order(v.actor(), OrderId(id)).await.ui(&v)?;
    Ok(Redirect::to("/orders").into_response())
}

// ---------------------------------------------------------------------------------------------
// Order form
// ---------------------------------------------------------------------------------------------

/// One editable line of the order form.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineRow {
    pub(crate) product_id: String,
    pub(crate) description: String,
    pub(crate) quantity: String,
    pub(crate) unit_price: String,
    pub(crate) discount: String,
    pub(crate) error: Option<String>,
}

impl LineRow {
    fn is_blank(&self) -> bool {
        [
            &self.product_id,
            &self.description,
            &self.quantity,
            &self.unit_price,
            &self.discount,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// The order form as submitted. Line fields repeat once per row, in row order, so the form is
/// read as a list of pairs (a map would keep only one value per name).
#[derive(Default)]
pub(crate) struct OrderForm {
    csrf: String,
    contact_id: String,
    company_id: String,
    currency: String,
    ordered_on: String,
    notes: String,
    version: String,
    lines: Vec<LineRow>,
}

impl fmt::Debug for OrderForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderForm")
            .field("lines", &self.lines.len())
            .finish_non_exhaustive()
    }
}

impl OrderForm {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        let mut row: Option<LineRow> = None;
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "_csrf" => &mut form.csrf,
                "contact_id" => &mut form.contact_id,
                "company_id" => &mut form.company_id,
                "currency" => &mut form.currency,
                "ordered_on" => &mut form.ordered_on,
                "notes" => &mut form.notes,
                "version" => &mut form.version,
                // `line_product` opens a row; the other line fields fill the open row.
                "line_product" => {
                    if let Some(done) = row.take() {
                        form.lines.push(done);
                    }
                    row.insert(LineRow::default()).product_id = value;
                    continue;
                }
                "line_description" | "line_quantity" | "line_unit_price" | "line_discount" => {
                    let current = row.get_or_insert_with(LineRow::default);
                    match name.as_str() {
                        "line_description" => &mut current.description,
                        "line_quantity" => &mut current.quantity,
                        "line_unit_price" => &mut current.unit_price,
                        _ => &mut current.discount,
                    }
                }
                _ => continue,
            };
            *slot = value;
        }
        if let Some(done) = row.take() {
            form.lines.push(done);
        }
        form
    }

    /// The non-blank rows as line inputs, and for each the row it came from.
    fn line_inputs(&self) -> Result<(Vec<LineInput>, Vec<usize>), FieldError> {
        let mut inputs = Vec::new();
        let mut rows = Vec::new();
        for (i, row) in self.lines.iter().enumerate().filter(|(_, r)| !r.is_blank()) {
            inputs.push(LineInput {
                product_id: optional_id(
                    &format!("lines[{}].product_id", inputs.len()),
                    &row.product_id,
                )?,
                description: optional(&row.description),
                quantity: row.quantity.trim().to_owned(),
                unit_price: optional(&row.unit_price),
                discount: optional(&row.discount),
                currency: None,
            });
            rows.push(i);
        }
        Ok((inputs, rows))
    }

    fn to_input(&self) -> Result<(OrderInput, Vec<usize>), FieldError> {
        let (lines, rows) = self.line_inputs()?;
        Ok((
            OrderInput {
                contact_id: optional_id("contact_id", &self.contact_id)?,
                company_id: optional_id("company_id", &self.company_id)?,
                deal_id: None,
                currency: self.currency.trim().to_owned(),
                ordered_on: optional(&self.ordered_on),
                notes: optional(&normalize_newlines(&self.notes)),
                owner_id: None,
                lines,
            },
            rows,
        ))
    }

    fn to_patch(&self) -> Result<(OrderPatch, Vec<usize>), FieldError> {
        let version = parse_version(&self.version)?;
        let (input, rows) = self.to_input()?;
        Ok((
            OrderPatch {
                version,
                contact_id: Some(input.contact_id),
                company_id: Some(input.company_id),
                deal_id: None,
                currency: Some(input.currency),
                ordered_on: input.ordered_on,
                notes: Some(input.notes),
                owner_id: None,
                lines: Some(input.lines),
            },
            rows,
        ))
    }

    fn from_view(o: &OrderView) -> Self {
        Self {
            csrf: String::new(),
            contact_id: o.contact_id.map(|c| c.to_string()).unwrap_or_default(),
            company_id: o.company_id.map(|c| c.to_string()).unwrap_or_default(),
            currency: o.currency.clone(),
            ordered_on: o.ordered_on.clone(),
            notes: o.notes.clone().unwrap_or_default(),
            version: o.version.to_string(),
            lines: o
                .lines
                .iter()
                .flatten()
                .map(|l| LineRow {
                    product_id: l.product_id.map(|p| p.to_string()).unwrap_or_default(),
                    description: l.description.clone(),
                    quantity: l.quantity.clone(),
                    unit_price: l.unit_price.clone(),
                    discount: if l.discount == "0" {
                        String::new()
                    } else {
                        l.discount.clone()
                    },
                    error: None,
                })
                .collect(),
        }
    }
}

struct ProductChoice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "orders/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    cancel_href: String,
    form: OrderForm,
    editing: bool,
    currencies: Vec<SelectOption>,
    companies: Vec<SelectOption>,
    products: Vec<ProductChoice>,
    errors: FormErrors,
    stale: bool,
}

async fn form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    mut form: OrderForm,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    let products = product_options(v, true)
        .await?
        .iter()
        .map(|p| ProductChoice {
            value: p.id.to_string(),
            label: product_label(p),
        })
        .collect();
    form.lines.retain(|l| !l.is_blank() || l.error.is_some());
    form.lines
        .extend(std::iter::repeat_with(LineRow::default).take(BLANK_LINES));
    let page = FormPage {
        t: v.t(),
        chrome: v.chrome(ORDERS_NAV),
        title_key: if id.is_some() {
            "orders.edit_title"
        } else {
            "orders.new_title"
        },
        action: id.map_or_else(|| "/orders".to_owned(), |id| format!("/orders/{id}")),
        cancel_href: id.map_or_else(|| "/orders".to_owned(), |id| format!("/orders/{id}")),
        currencies: currency_options(&form.currency),
        companies: super::contacts::company_options(v, form.company_id.trim()).await?,
        form,
        editing: id.is_some(),
        products,
        errors,
        stale,
    };
    Ok(render(status, &page))
}

/// Puts line errors (`lines[2].quantity`) next to the row they came from; the rest onto the
/// form's fields.
fn apply_errors(
    t: &Tr<'_>,
    form: &mut OrderForm,
    rows: &[usize],
    errors: &[FieldError],
) -> FormErrors {
    let mut rest = Vec::new();
    for e in errors {
        let line = e
            .field
            .strip_prefix("lines[")
            .and_then(|s| s.split(']').next())
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| rows.get(n))
            .and_then(|row| form.lines.get_mut(*row));
        match line {
            Some(row) => {
                let message = field_message(t, e);
                row.error = Some(match row.error.take() {
                    Some(previous) => format!("{previous} {message}"),
                    None => message,
                });
            }
            None => rest.push(e.clone()),
        }
    }
    let mut out = FormErrors::from_fields(t, &rest, ORDER_FIELDS);
    if form.lines.iter().any(|l| l.error.is_some()) && out.general.is_empty() {
        out.add("lines", t.t("orders.line_errors").to_owned());
    }
    out
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewParams {
    contact: String,
    company: String,
}

pub(crate) async fn new_form(
    v: Viewer,
    params: Result<Query<NewParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let p = params.map(|Query(p)| p).unwrap_or_default();
    let mut form = OrderForm {
        currency: "CNY".to_owned(),
        ..OrderForm::default()
    };
    if let Ok(Some(contact)) = optional_id("contact", &p.contact) {
        form.contact_id = contact.to_string();
        if let Ok(c) = v.core().get_contact(v.actor(), ContactId(contact)).await {
            form.company_id = c.company_id.map(|c| c.to_string()).unwrap_or_default();
        }
    }
    if let Ok(Some(company)) = optional_id("company", &p.company) {
        form.company_id = company.to_string();
    }
    form_page(&v, StatusCode::OK, None, form, FormErrors::default(), false).await
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(pairs)) = form else {
        return Err(v.fail(bad_request()));
    };
    let mut form = OrderForm::from_pairs(pairs);
    v.check_csrf(&form.csrf)?;
    let t = v.t();
    let (input, rows) = match form.to_input() {
        Ok(x) => x,
        Err(e) => {
            let errors = FormErrors::from_fields(&t, &[e], ORDER_FIELDS);
            return form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            )
            .await;
        }
    };
    match v.core().create_order(v.actor(), input).await {
        Ok(o) => Ok(Redirect::to(&format!("/orders/{}", o.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = apply_errors(&t, &mut form, &rows, &field_errors);
            form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn edit_form(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = parse_id(&raw).ui(&v)?;
    let o = v.core().get_order(v.actor(), OrderId(id)).await.ui(&v)?;
    if o.status != "draft" || o.deleted_at.is_some() {
        return Ok(Redirect::to(&format!("/orders/{id}")).into_response());
    }
    let id = o.id.to_string();
    form_page(
        &v,
        StatusCode::OK,
        Some(&id),
        OrderForm::from_view(&o),
        FormErrors::default(),
        false,
    )
    .await
}

pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(pairs)) = form else {
        return Err(v.fail(bad_request()));
    };
    let mut form = OrderForm::from_pairs(pairs);
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let id_text = id.to_string();
    let t = v.t();
    let (patch, rows) = match form.to_patch() {
        Ok(x) => x,
        Err(e) => {
            let errors = FormErrors::from_fields(&t, &[e], ORDER_FIELDS);
            return form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&id_text),
                form,
                errors,
                false,
            )
            .await;
        }
    };
    let (status, errors, stale) = match v.core().update_order(v.actor(), OrderId(id), patch).await {
        Ok(o) => return Ok(Redirect::to(&format!("/orders/{}", o.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            apply_errors(&t, &mut form, &rows, &field_errors),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(e) => return Err(v.fail(e)),
    };
    form_page(&v, status, Some(&id_text), form, errors, stale).await
}

// ---------------------------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------------------------

struct ProductRow {
    id: String,
    sku: String,
    name: String,
    category: String,
    price: String,
    unit: String,
    active: bool,
}

/// What the product list shows: every live product, the active or inactive ones, or the
/// archived (deleted) ones, which administrators can restore.
const PRODUCT_STATUSES: &[&str] = &["active", "inactive", "archived"];
const PRODUCT_FILTER_FIELDS: &[&str] = &["q", "category", "status"];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProductListParams {
    q: String,
    category: String,
    /// `""` (all live), `active`, `inactive` or `archived`.
    status: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "products/list.html")]
struct ProductListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<ProductRow>,
    q: String,
    category: String,
    statuses: Vec<SelectOption>,
    archived: bool,
    filtered: bool,
    admin: bool,
    errors: FormErrors,
    next_href: Option<String>,
}

pub(crate) async fn products(
    v: Viewer,
    params: Result<Query<ProductListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let t = v.t();
    let status = p.status.trim();
    let mut errors = FormErrors::default();
    if !status.is_empty() && !PRODUCT_STATUSES.contains(&status) {
        errors.add(
            "status",
            field_message(
                &t,
                &FieldError::new("status", "invalid_choice", "choose a value from the list"),
            ),
        );
    }
    let archived = status == "archived";
    let query = ProductQuery {
        q: Some(p.q.trim().to_owned()).filter(|q| !q.is_empty()),
        category: Some(p.category.trim().to_owned()).filter(|c| !c.is_empty()),
        active: match status {
            "active" => Some(true),
            "inactive" => Some(false),
            _ => None,
        },
        deleted: if archived {
            Deleted::Only
        } else {
            Deleted::Exclude
        },
        cursor: Some(p.cursor.trim().to_owned()).filter(|c| !c.is_empty()),
        ..ProductQuery::default()
    };
    let (items, next_cursor, http_status) = if errors.any() {
        (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        match v.core().list_products(v.actor(), query).await {
            Ok(page) => (page.items, page.next_cursor, StatusCode::OK),
            Err(CoreError::Validation(field_errors)) => {
                errors = FormErrors::from_fields(&t, &field_errors, PRODUCT_FILTER_FIELDS);
                (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return Err(v.fail(e)),
        }
    };
    let rows = items
        .iter()
        .map(|p| ProductRow {
            id: p.id.to_string(),
            sku: p.sku.clone(),
            name: p.name.clone(),
            category: p.category.clone().unwrap_or_default(),
            price: money(&p.list_price, &p.currency),
            unit: t.t(&format!("unit.{}", p.unit)).to_owned(),
            active: p.active,
        })
        .collect();
    let statuses = PRODUCT_STATUSES
        .iter()
        .map(|s| SelectOption {
            value: (*s).to_owned(),
            label: t.t(&format!("products.status_{s}")).to_owned(),
            selected: *s == status,
        })
        .collect();
    let page = ProductListPage {
        t,
        chrome: v.chrome(PRODUCTS_NAV),
        rows,
        statuses,
        archived,
        filtered: [&p.q, &p.category, &p.status]
            .iter()
            .any(|s| !s.trim().is_empty()),
        admin: v.is_admin(),
        errors,
        next_href: next_cursor.map(|c| {
            build_url(
                "/products",
                &[
                    ("q", p.q.trim()),
                    ("category", p.category.trim()),
                    ("status", status),
                    ("cursor", &c),
                ],
            )
        }),
        q: p.q,
        category: p.category,
    };
    Ok(render(http_status, &page))
}

/// Archives a product (a soft delete): it leaves the lists and can no longer be put on new
/// orders; orders that have it keep it. Administrators only (the core checks).
pub(crate) async fn archive_product(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    v.core()
        .delete_product(v.actor(), ProductId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to("/products?status=archived").into_response())
}

/// A product has no page of its own: its address leads to its form.
pub(crate) async fn show_product(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = parse_id(&raw).ui(&v)?;
    Ok(Redirect::to(&format!("/products/{id}/edit")).into_response())
}

pub(crate) async fn restore_product(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    v.core()
        .restore_product(v.actor(), ProductId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to("/products").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProductForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    sku: String,
    name: String,
    category: String,
    description: String,
    list_price: String,
    currency: String,
    unit: String,
    active: String,
    version: String,
}

impl ProductForm {
    fn to_input(&self) -> ProductInput {
        ProductInput {
            sku: self.sku.clone(),
            name: self.name.clone(),
            description: optional(&self.description),
            category: optional(&self.category),
            list_price: self.list_price.trim().to_owned(),
            currency: self.currency.clone(),
            unit: self.unit.clone(),
            active: Some(!self.active.is_empty()),
        }
    }

    fn from_view(p: &ProductView) -> Self {
        Self {
            csrf: String::new(),
            sku: p.sku.clone(),
            name: p.name.clone(),
            category: p.category.clone().unwrap_or_default(),
            description: p.description.clone().unwrap_or_default(),
            list_price: p.list_price.clone(),
            currency: p.currency.clone(),
            unit: p.unit.clone(),
            active: if p.active {
                "on".to_owned()
            } else {
                String::new()
            },
            version: p.version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "products/form.html")]
struct ProductFormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    action: String,
    editing: bool,
    /// Editing an archived product: the page offers its restore instead of a save.
    archived: bool,
    form: ProductForm,
    currencies: Vec<SelectOption>,
    units: Vec<SelectOption>,
    errors: FormErrors,
    stale: bool,
}

fn product_form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    form: ProductForm,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    product_form_page_with(v, status, id, false, form, errors, stale)
}

fn product_form_page_with(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    archived: bool,
    form: ProductForm,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    if !v.is_admin() {
        return Err(v.fail(CoreError::Forbidden));
    }
    let t = v.t();
    let page = ProductFormPage {
        units: UnitOfMeasure::ALL
            .iter()
            .map(|u| SelectOption {
                value: u.code().to_owned(),
                label: t.t(&format!("unit.{}", u.code())).to_owned(),
                selected: u.code() == form.unit,
            })
            .collect(),
        t,
        chrome: v.chrome(PRODUCTS_NAV),
        action: id.map_or_else(|| "/products".to_owned(), |id| format!("/products/{id}")),
        editing: id.is_some(),
        archived,
        currencies: currency_options(&form.currency),
        form,
        errors,
        stale,
    };
    Ok(render(status, &page))
}

pub(crate) async fn new_product(v: Viewer) -> Result<Response, UiError> {
    let form = ProductForm {
        currency: "CNY".to_owned(),
        unit: "each".to_owned(),
        active: "on".to_owned(),
        ..ProductForm::default()
    };
    product_form_page(&v, StatusCode::OK, None, form, FormErrors::default(), false)
}

pub(crate) async fn create_product(
    v: Viewer,
    form: Result<Form<ProductForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    match v.core().create_product(v.actor(), form.to_input()).await {
        Ok(_) => Ok(Redirect::to("/products").into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = FormErrors::from_fields(&v.t(), &field_errors, PRODUCT_FIELDS);
            product_form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            )
        }
        Err(CoreError::Rule {
            code: "sku_taken", ..
        }) => {
            let mut errors = FormErrors::default();
            errors.add("sku", v.t().t("error.sku_taken").to_owned());
            product_form_page(&v, StatusCode::CONFLICT, None, form, errors, false)
        }
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn edit_product(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = parse_id(&raw).ui(&v)?;
    let p = v
        .core()
        .get_product(v.actor(), ProductId(id))
        .await
        .ui(&v)?;
    let id = p.id.to_string();
    product_form_page_with(
        &v,
        StatusCode::OK,
        Some(&id),
        p.deleted_at.is_some(),
        ProductForm::from_view(&p),
        FormErrors::default(),
        false,
    )
}

pub(crate) async fn update_product(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ProductForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let id_text = id.to_string();
    let version = parse_version(&form.version).map_err(|e| v.fail(CoreError::from(e)))?;
    let input = form.to_input();
    let patch = ProductPatch {
        version,
        sku: Some(input.sku),
        name: Some(input.name),
        description: Some(input.description),
        category: Some(input.category),
        list_price: Some(input.list_price),
        currency: Some(input.currency),
        unit: Some(input.unit),
        active: input.active,
    };
    let t = v.t();
    let (status, errors, stale) = match v
        .core()
        .update_product(v.actor(), ProductId(id), patch)
        .await
    {
        Ok(_) => return Ok(Redirect::to("/products").into_response()),
        Err(CoreError::Validation(field_errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            FormErrors::from_fields(&t, &field_errors, PRODUCT_FIELDS),
            false,
        ),
        Err(CoreError::Rule {
            code: "sku_taken", ..
        }) => {
            let mut errors = FormErrors::default();
            errors.add("sku", t.t("error.sku_taken").to_owned());
            (StatusCode::CONFLICT, errors, false)
        }
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(e) => return Err(v.fail(e)),
    };
    product_form_page(&v, status, Some(&id_text), form, errors, stale)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn repeated_line_fields_become_rows() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let form = OrderForm::from_pairs(vec![
            pair("_csrf", "tok"),
            pair("currency", "USD"),
            pair("line_product", ""),
            pair("line_description", "Freight"),
            pair("line_quantity", "1"),
            pair("line_unit_price", "0.05"),
            pair("line_discount", ""),
            pair("line_product", ""),
            pair("line_description", ""),
            pair("line_quantity", ""),
            pair("line_unit_price", ""),
            pair("line_discount", ""),
            pair("line_product", "0190d5e4-0000-7000-8000-000000000000"),
            pair("line_description", ""),
            pair("line_quantity", "2.5"),
            pair("line_unit_price", ""),
            pair("line_discount", "10"),
        ]);
        assert_eq!(form.lines.len(), 3);
        let (input, rows) = form.to_input().unwrap();
        assert_eq!(rows, [0, 2], "blank rows are skipped");
        assert_eq!(input.lines[0].description.as_deref(), Some("Freight"));
        assert_eq!(input.lines[1].quantity, "2.5");
        assert!(input.lines[1].product_id.is_some());
        assert_eq!(money("1219359.48", "USD"), "USD 1,219,359.48");
    }
}
