//! Sales orders with lines, their status transitions, and per-customer purchase history.
//!
//! Amounts are exact integers in the currency's minor unit, computed with the one rounding rule
//! of `custodian_domain::purchases` (per line, half to even). An order is checked completely
//! before anything is written and written in one transaction (number, order, lines), so a
//! refused order leaves nothing behind — not even a used number.
//!
//! The notes are free text and may name people: they are encrypted under the contact's key when
//! a contact is the customer, else the organisation key (`links::resolve_links`). Amounts,
//! lines and status identify no one and stay plain so totals are sums in the database.

use crate::audit::AuditEvent;
use crate::authz::{Action, CollectionAction, FieldAccess, FieldGroup, RecordAction, RecordType};
use crate::cursor;
use crate::links::LinkInput;
use crate::patch;
use crate::products::stored_currency;
use crate::record_access::{AccessRow, Placement};
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::from_millis;
use custodian_domain::error::Validator;
use custodian_domain::money::Currency;
use custodian_domain::purchases::{
    MAX_AMOUNT_MINOR, OrderStatus, format_discount, format_quantity, limits, line_amounts,
    line_text, order_number, parse_discount, parse_quantity,
};
use custodian_domain::values::{CalendarDate, Notes};
use custodian_domain::{CompanyId, ContactId, DealId, FieldError, OrderId, ProductId, UserId};
use custodian_store::ConnectionTrait;
use custodian_store::entities::{order, order_line, product};
use custodian_store::page::{After, Direction, KeyValue};
use custodian_store::repo::orders::{Customer, Sort as OrderSortKey};
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

const TABLE: &str = "orders";
const ENTITY: &str = "order";

/// The fields a new order sets (names only: an audit event never holds a value).
fn input_field_names(input: &OrderInput) -> Vec<&'static str> {
    [
        ("contact_id", input.contact_id.is_some()),
        ("company_id", input.company_id.is_some()),
        ("deal_id", input.deal_id.is_some()),
        ("currency", true),
        ("ordered_on", input.ordered_on.is_some()),
        ("notes", input.notes.is_some()),
        ("owner_id", input.owner_id.is_some()),
        ("lines", !input.lines.is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The fields a patch names.
fn patch_field_names(patch: &OrderPatch) -> Vec<&'static str> {
    [
        ("contact_id", patch.contact_id.is_some()),
        ("company_id", patch.company_id.is_some()),
        ("deal_id", patch.deal_id.is_some()),
        ("currency", patch.currency.is_some()),
        ("ordered_on", patch.ordered_on.is_some()),
        ("notes", patch.notes.is_some()),
        ("owner_id", patch.owner_id.is_some()),
        ("lines", patch.lines.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// A catalogue product; without one, `description` and `unit_price` are required.
    #[serde(default)]
    pub product_id: Option<Uuid>,
    /// Defaults to the product's name.
    #[serde(default)]
    pub description: Option<String>,
    /// Decimal string greater than 0 with at most 3 decimals, e.g. "12.5".
    pub quantity: String,
    /// Decimal string in the order's currency; defaults to the product's list price (which
    /// must then be in the order's currency).
    #[serde(default)]
    pub unit_price: Option<String>,
    /// Percentage 0–100 with at most 2 decimals, e.g. "7.5". Default 0.
    #[serde(default)]
    pub discount: Option<String>,
    /// The line's currency, if the client states it: must be the order's.
    #[serde(default)]
    pub currency: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The customer: a contact and/or a company (a deal's are taken when only the deal is
    /// given; a contact's company is filled in).
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub deal_id: Option<Uuid>,
    /// ISO 4217 code of every amount on the order.
    pub currency: String,
    /// `YYYY-MM-DD`; defaults to today (UTC).
    #[serde(default)]
    pub ordered_on: Option<String>,
    /// Free text, encrypted at rest.
    #[serde(default)]
    pub notes: Option<String>,
    /// Defaults to the caller.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// At most 200 lines.
    #[serde(default)]
    pub lines: Vec<LineInput>,
}

impl std::fmt::Debug for OrderInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderInput")
            .field("currency", &self.currency)
            .field("lines", &self.lines.len())
            .finish_non_exhaustive()
    }
}

/// Changes to a draft order. `lines`, when given, replaces the whole set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPatch {
    pub version: i64,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub contact_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub company_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub deal_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub ordered_on: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub lines: Option<Vec<LineInput>>,
}

impl std::fmt::Debug for OrderPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderPatch")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionOrder {
    pub version: i64,
    /// placed, paid, fulfilled, cancelled or refunded (allowed: draft → placed | cancelled,
    /// placed → paid | cancelled, paid → fulfilled | refunded, fulfilled → refunded).
    pub status: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct LineView {
    pub position: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub product_id: Option<ProductId>,
    pub description: String,
    /// Exact decimal, up to 3 places.
    pub quantity: String,
    pub unit_price: String,
    /// Percent, up to 2 places.
    pub discount: String,
    /// quantity × unit price, rounded half to even to the minor unit.
    pub gross: String,
    pub discount_amount: String,
    /// gross − discount_amount.
    pub total: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct OrderView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: OrderId,
    /// `SO-000123`.
    pub number: String,
    pub status: String,
    pub currency: String,
    pub ordered_on: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub contact_id: Option<ContactId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub deal_id: Option<DealId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    /// Sensitive free text: in the detail view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Sum of the lines' gross amounts.
    pub subtotal: String,
    pub discount_total: String,
    pub total: String,
    pub line_count: i64,
    /// In the detail view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineView>>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub placed_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub paid_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub fulfilled_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub cancelled_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub refunded_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<time::OffsetDateTime>,
    pub version: i64,
}

impl std::fmt::Debug for OrderView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderView")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Counted orders' value in one currency.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PurchaseTotal {
    pub currency: String,
    pub orders: i64,
    pub amount: String,
}

/// A customer's purchase totals over the orders that count: placed, paid and fulfilled
/// (drafts are not orders yet; cancelled and refunded ones were undone; deleted ones are gone).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PurchaseSummary {
    pub order_count: i64,
    /// Per currency, never converted.
    pub totals: Vec<PurchaseTotal>,
    pub last_ordered_on: Option<String>,
    /// The statuses counted, for the reader.
    pub counted_statuses: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub struct OrderPage {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PurchaseHistory {
    pub summary: PurchaseSummary,
    pub orders: OrderPage,
}

crate::cursor::sort_orders!(
    OrderSort: OrderSortKey,
    "must be one of: -ordered_on, ordered_on, -created, created, -updated, updated",
    {
        OrderedDesc = "-ordered_on" => (OrderedOn, Desc),
        OrderedAsc = "ordered_on" => (OrderedOn, Asc),
        CreatedDesc = "-created" => (Created, Desc),
        CreatedAsc = "created" => (Created, Asc),
        UpdatedDesc = "-updated" => (Updated, Desc),
        UpdatedAsc = "updated" => (Updated, Asc),
    }
);

#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub status: Option<String>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deleted: Deleted,
    pub sort: OrderSort,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Whose purchase history to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerRef {
    Contact(ContactId),
    Company(CompanyId),
}

fn rule(code: &'static str, message: &'static str) -> CoreError {
    CoreError::Rule { code, message }
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

fn today(now: i64) -> String {
    let d = from_millis(now).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The order's own fields, validated (lines separately, against the catalogue).
struct Header {
    currency: Currency,
    ordered_on: String,
    notes: Option<Notes>,
}

fn parse_header(
    v: &mut Validator,
    currency: &str,
    ordered_on: Option<&str>,
    notes: Option<&str>,
    line_count: usize,
    now: i64,
) -> Option<Header> {
    let currency = v.check(Currency::parse("currency", currency));
    let ordered_on = match present(ordered_on) {
        Some(d) => v
            .check(CalendarDate::parse("ordered_on", d))
            .map(|d| d.to_string()),
        None => Some(today(now)),
    };
    let notes = present(notes).and_then(|n| v.check(Notes::parse("notes", n)));
    if line_count > limits::LINES {
        v.push(FieldError::new(
            "lines",
            "too_many_lines",
            format!("an order may have at most {} lines", limits::LINES),
        ));
    }
    Some(Header {
        currency: currency?,
        ordered_on: ordered_on?,
        notes,
    })
}

/// Validated lines with their amounts, and the order's sums.
struct PricedLines {
    lines: Vec<order_line::Model>,
    subtotal: i64,
    discount: i64,
    total: i64,
}

/// Checks and prices every line against the catalogue, recording every problem in `v`.
/// `allowed_inactive` are products already on the order (a draft keeps lines whose product was
/// deactivated since; new lines need an active product).
fn price_lines(
    v: &mut Validator,
    order_id: Uuid,
    currency: Currency,
    inputs: &[LineInput],
    products: &HashMap<Uuid, product::Model>,
    allowed_inactive: &HashSet<Uuid>,
) -> PricedLines {
    let mut out = PricedLines {
        lines: Vec::new(),
        subtotal: 0,
        discount: 0,
        total: 0,
    };
    let mut overflow = false;
    for (i, input) in inputs.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let mut ok = true;
        let product = match input.product_id {
            None => None,
            Some(id) => match products.get(&id).filter(|p| p.deleted_at.is_none()) {
                None => {
                    v.push(FieldError::new(
                        field("product_id"),
                        "unknown_product",
                        "no product with this id exists",
                    ));
                    ok = false;
                    None
                }
                Some(p) if p.active == 0 && !allowed_inactive.contains(&p.id) => {
                    v.push(FieldError::new(
                        field("product_id"),
                        "inactive_product",
                        "the product is inactive and cannot be put on orders",
                    ));
                    ok = false;
                    None
                }
                Some(p) => Some(p),
            },
        };
        let quantity = v.check(parse_quantity(&field("quantity"), &input.quantity));
        let discount = match present(input.discount.as_deref()) {
            Some(d) => v.check(parse_discount(&field("discount"), d)),
            None => Some(0),
        };
        if let Some(code) = present(input.currency.as_deref()) {
            match v.check(Currency::parse(&field("currency"), code)) {
                Some(c) if c != currency => {
                    v.push(FieldError::new(
                        field("currency"),
                        "currency_mismatch",
                        "every line must be in the order's currency",
                    ));
                    ok = false;
                }
                Some(_) => {}
                None => ok = false,
            }
        }
        let unit_price = match (present(input.unit_price.as_deref()), product) {
            (Some(raw), _) => v.check(currency.parse_amount(&field("unit_price"), raw)),
            (None, Some(p)) if p.currency == currency.code() => Some(p.list_price_minor),
            (None, Some(_)) => {
                v.push(FieldError::new(
                    field("unit_price"),
                    "currency_mismatch",
                    "the product's list price is in another currency; give a unit price in the order's currency",
                ));
                None
            }
            (None, None) => {
                if ok {
                    v.push(FieldError::new(
                        field("unit_price"),
                        "unit_price_required",
                        "give a unit price for a line without a product",
                    ));
                }
                None
            }
        };
        let description = match (present(input.description.as_deref()), product) {
            (Some(d), _) => v.check(line_text(
                &field("description"),
                d,
                limits::LINE_DESCRIPTION,
            )),
            (None, Some(p)) => Some(p.name.clone()),
            (None, None) => {
                if ok {
                    v.push(FieldError::new(
                        field("description"),
                        "description_required",
                        "describe a line without a product",
                    ));
                }
                None
            }
        };
        let (Some(quantity), Some(discount), Some(unit_price), Some(description), true) =
            (quantity, discount, unit_price, description, ok)
        else {
            continue;
        };
        let Some(amounts) = line_amounts(quantity, unit_price, discount) else {
            v.push(FieldError::new(
                format!("lines[{i}]"),
                "line_total_too_large",
                "the line's amount is too large; split it or check quantity and price",
            ));
            continue;
        };
        match (
            out.subtotal.checked_add(amounts.gross),
            out.discount.checked_add(amounts.discount),
            out.total.checked_add(amounts.net),
        ) {
            (Some(s), Some(d), Some(t)) if s <= MAX_AMOUNT_MINOR => {
                out.subtotal = s;
                out.discount = d;
                out.total = t;
            }
            _ => overflow = true,
        }
        out.lines.push(order_line::Model {
            id: custodian_domain::ids::uuid_at(0),
            order_id,
            position: i64::try_from(i).unwrap_or(i64::MAX),
            product_id: product.map(|p| p.id),
            description,
            quantity_milli: quantity,
            unit_price_minor: unit_price,
            discount_bp: discount,
            gross_minor: amounts.gross,
            discount_minor: amounts.discount,
            total_minor: amounts.net,
        });
    }
    if overflow {
        v.push(FieldError::new(
            "lines",
            "order_total_too_large",
            "the order's total is too large; split it into several orders",
        ));
    }
    out
}

fn line_view(currency: Currency, l: &order_line::Model) -> LineView {
    LineView {
        position: l.position,
        product_id: l.product_id.map(ProductId),
        description: l.description.clone(),
        quantity: format_quantity(l.quantity_milli),
        unit_price: currency.format_amount(l.unit_price_minor),
        discount: format_discount(l.discount_bp),
        gross: currency.format_amount(l.gross_minor),
        discount_amount: currency.format_amount(l.discount_minor),
        total: currency.format_amount(l.total_minor),
    }
}

/// The stored lines as input again (a patch that leaves lines alone re-checks them).
fn line_inputs(currency: Currency, lines: &[order_line::Model]) -> Vec<LineInput> {
    lines
        .iter()
        .map(|l| LineInput {
            product_id: l.product_id,
            description: Some(l.description.clone()),
            quantity: format_quantity(l.quantity_milli),
            unit_price: Some(currency.format_amount(l.unit_price_minor)),
            discount: Some(format_discount(l.discount_bp)),
            currency: Some(currency.code().to_owned()),
        })
        .collect()
}

impl Core {
    pub async fn create_order(
        &self,
        actor: &Actor,
        input: OrderInput,
    ) -> Result<OrderView, CoreError> {
        let result = async {
            let now = self.now();
            let id = OrderId::new_at(now).as_uuid();
            let mut v = Validator::new();
            let header = parse_header(
                &mut v,
                &input.currency,
                input.ordered_on.as_deref(),
                input.notes.as_deref(),
                input.lines.len(),
                now,
            );
            let links = LinkInput {
                contact_id: input.contact_id,
                company_id: input.company_id,
                deal_id: input.deal_id,
            };
            if links.is_empty() {
                v.push(customer_required());
            }
            let txn = self.store().begin().await?;
            let priced = match &header {
                Some(h) if input.lines.len() <= limits::LINES => {
                    let products = load_products(&txn, &input.lines).await?;
                    Some(price_lines(
                        &mut v,
                        id,
                        h.currency,
                        &input.lines,
                        &products,
                        &HashSet::new(),
                    ))
                }
                _ => None,
            };
            let owner_id = input.owner_id.or(Some(actor.user_id.as_uuid()));
            check_owner(&txn, &mut v, owner_id).await?;
            v.finish()?;
            let (Some(header), Some(priced)) = (header, priced) else {
                return Err(CoreError::Internal("validated order missing"));
            };
            let resolved = self.resolve_links(&txn, actor, links, false).await?;
            if resolved.contact_id.is_none() && resolved.company_id.is_none() {
                return Err(customer_required().into());
            }
            let placement = Placement::new(actor, resolved.about.as_ref());
            let number = order_number(repo::orders::next_number(&txn).await?);
            let row = order::Model {
                id,
                number,
                status: OrderStatus::Draft.code().to_owned(),
                currency: header.currency.code().to_owned(),
                ordered_on: header.ordered_on,
                contact_id: resolved.contact_id,
                company_id: resolved.company_id,
                deal_id: resolved.deal_id,
                owner_id,
                dek_id: resolved.key.id(),
                notes_ct: self.encrypt_notes(&resolved.key, id, header.notes.as_ref())?,
                subtotal_minor: priced.subtotal,
                discount_minor: priced.discount,
                total_minor: priced.total,
                line_count: i64::try_from(priced.lines.len()).unwrap_or(i64::MAX),
                placed_at: None,
                paid_at: None,
                fulfilled_at: None,
                cancelled_at: None,
                refunded_at: None,
                team: placement.team,
                region: placement.region,
                sensitivity: placement.sensitivity,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                version: 1,
            };
            self.authorize_new(actor, &row)?;
            let lines = with_line_ids(priced.lines, now);
            repo::orders::insert(&txn, row.clone()).await?;
            repo::orders::replace_lines(&txn, id, lines.clone()).await?;
            let event = AuditEvent::by(actor, AuditCode::DataCreate)
                .target(ENTITY, id)
                .detail("fields", input_field_names(&input))
                .detail("lines", lines.len());
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.order_view(Some(&resolved.key), &row, Some(&lines))
        }
        .await;
        self.recording_denials(actor, result).await
    }

    pub async fn get_order(&self, actor: &Actor, id: OrderId) -> Result<OrderView, CoreError> {
        let conn = self.store().conn();
        let row = repo::orders::get(conn, id.as_uuid()).await?;
        let row = self.authorized(actor, row, RecordAction::Read).await?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        let lines = repo::orders::lines(conn, row.id).await?;
        let view = self.order_view(Some(&key), &row, Some(&lines))?;
        self.audit_read(AuditEvent::by(actor, AuditCode::DataRead).target(ENTITY, row.id))
            .await?;
        Ok(view)
    }

    /// Changes a draft order; `lines`, when given, replaces every line in the same transaction.
    pub async fn update_order(
        &self,
        actor: &Actor,
        id: OrderId,
        patch: OrderPatch,
    ) -> Result<OrderView, CoreError> {
        let result = async {
            self.authorized_order(actor, id, RecordAction::Update)
                .await?;
            let now = self.now();
            let txn = self.store().begin().await?;
            let (existing, old_key) = self.live_order(&txn, id, patch.version).await?;
            if existing.status != OrderStatus::Draft.code() {
                return Err(rule(
                    "order_not_draft",
                    "only draft orders can be edited; placed orders change through their status",
                ));
            }
            let event = AuditEvent::by(actor, AuditCode::DataUpdate)
                .target(ENTITY, existing.id)
                .detail("fields", patch_field_names(&patch))
                .detail("from_version", existing.version)
                .detail("to_version", existing.version + 1);
            let old_currency = stored_currency(TABLE, &existing.currency)?;
            let existing_lines = repo::orders::lines(&txn, existing.id).await?;
            let old_notes = self.decrypt_notes(&old_key, &existing)?;
            let currency = patch
                .currency
                .clone()
                .unwrap_or_else(|| existing.currency.clone());
            let ordered_on = patch
                .ordered_on
                .clone()
                .unwrap_or_else(|| existing.ordered_on.clone());
            let notes = match patch.notes {
                Some(n) => n,
                None => old_notes,
            };
            let inputs = patch
                .lines
                .unwrap_or_else(|| line_inputs(old_currency, &existing_lines));
            let mut v = Validator::new();
            let header = parse_header(
                &mut v,
                &currency,
                Some(&ordered_on),
                notes.as_deref(),
                inputs.len(),
                now,
            );
            let links = LinkInput {
                contact_id: patch.contact_id.unwrap_or(existing.contact_id),
                company_id: patch.company_id.unwrap_or(existing.company_id),
                deal_id: patch.deal_id.unwrap_or(existing.deal_id),
            };
            if links.is_empty() {
                v.push(customer_required());
            }
            let priced = match &header {
                Some(h) if inputs.len() <= limits::LINES => {
                    let products = load_products(&txn, &inputs).await?;
                    let on_order: HashSet<Uuid> =
                        existing_lines.iter().filter_map(|l| l.product_id).collect();
                    Some(price_lines(
                        &mut v,
                        existing.id,
                        h.currency,
                        &inputs,
                        &products,
                        &on_order,
                    ))
                }
                _ => None,
            };
            let owner_id = patch.owner_id.unwrap_or(existing.owner_id);
            check_owner(&txn, &mut v, owner_id).await?;
            v.finish()?;
            let (Some(header), Some(priced)) = (header, priced) else {
                return Err(CoreError::Internal("validated order missing"));
            };
            let resolved = self.resolve_links(&txn, actor, links, false).await?;
            if resolved.contact_id.is_none() && resolved.company_id.is_none() {
                return Err(customer_required().into());
            }
            let mut row = existing.clone();
            row.currency = header.currency.code().to_owned();
            row.ordered_on = header.ordered_on;
            row.contact_id = resolved.contact_id;
            row.company_id = resolved.company_id;
            row.deal_id = resolved.deal_id;
            row.owner_id = owner_id;
            row.dek_id = resolved.key.id();
            row.notes_ct = self.encrypt_notes(&resolved.key, row.id, header.notes.as_ref())?;
            row.subtotal_minor = priced.subtotal;
            row.discount_minor = priced.discount;
            row.total_minor = priced.total;
            row.line_count = i64::try_from(priced.lines.len()).unwrap_or(i64::MAX);
            row.updated_at = now.max(existing.updated_at);
            row.version = existing.version + 1;
            self.authorize_changed(actor, &existing.access_attrs(), &row)?;
            let lines = with_line_ids(priced.lines, now);
            let outcome =
                repo::orders::update_versioned(&txn, row.clone(), existing.version).await?;
            crate::versioned_write("order", outcome)?;
            repo::orders::replace_lines(&txn, row.id, lines.clone()).await?;
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.order_view(Some(&resolved.key), &row, Some(&lines))
        }
        .await;
        self.recording_denials(actor, result).await
    }

    /// Moves an order along its status (see [`OrderStatus::can_become`]), stamping the time.
    pub async fn transition_order(
        &self,
        actor: &Actor,
        id: OrderId,
        request: TransitionOrder,
    ) -> Result<OrderView, CoreError> {
        let next = OrderStatus::parse("status", &request.status)?;
        self.authorized_order(actor, id, RecordAction::Update)
            .await?;
        let txn = self.store().begin().await?;
        let (existing, key) = self.live_order(&txn, id, request.version).await?;
        let current = OrderStatus::parse("status", &existing.status).map_err(|_| {
            CoreError::DataIntegrity {
                table: TABLE,
                column: "status",
            }
        })?;
        if !current.can_become(next) {
            return Err(rule(
                "invalid_transition",
                "the order cannot move to this status from its current one (draft → placed or cancelled; placed → paid or cancelled; paid → fulfilled or refunded; fulfilled → refunded)",
            ));
        }
        if next == OrderStatus::Placed && existing.line_count == 0 {
            return Err(rule(
                "order_empty",
                "an order needs at least one line before it is placed",
            ));
        }
        let now = self.now().max(existing.updated_at);
        let mut row = existing.clone();
        row.status = next.code().to_owned();
        let (stamp, stamp_field) = match next {
            OrderStatus::Placed => (&mut row.placed_at, "placed_at"),
            OrderStatus::Paid => (&mut row.paid_at, "paid_at"),
            OrderStatus::Fulfilled => (&mut row.fulfilled_at, "fulfilled_at"),
            OrderStatus::Cancelled => (&mut row.cancelled_at, "cancelled_at"),
            OrderStatus::Refunded => (&mut row.refunded_at, "refunded_at"),
            OrderStatus::Draft => return Err(CoreError::Internal("no transition to draft")),
        };
        *stamp = Some(now);
        row.updated_at = now;
        row.version = existing.version + 1;
        let outcome = repo::orders::update_versioned(&txn, row.clone(), existing.version).await?;
        crate::versioned_write("order", outcome)?;
        let lines = repo::orders::lines(&txn, row.id).await?;
        let event = AuditEvent::by(actor, AuditCode::DataUpdate)
            .target(ENTITY, row.id)
            .detail("fields", ["status", stamp_field])
            .detail("status_from", existing.status.clone())
            .detail("status_to", row.status.clone())
            .detail("from_version", existing.version)
            .detail("to_version", row.version);
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        self.order_view(Some(&key), &row, Some(&lines))
    }

    /// Soft-deletes a draft or cancelled order. Orders that were placed are financial history:
    /// cancel or refund them instead.
    pub async fn delete_order(&self, actor: &Actor, id: OrderId) -> Result<(), CoreError> {
        self.authorized_order(actor, id, RecordAction::Delete)
            .await?;
        let txn = self.store().begin().await?;
        let existing = repo::orders::get(&txn, id.as_uuid())
            .await?
            .filter(|o| o.deleted_at.is_none())
            .ok_or(CoreError::NotFound { entity: "order" })?;
        if existing.status != OrderStatus::Draft.code()
            && existing.status != OrderStatus::Cancelled.code()
        {
            return Err(rule(
                "order_not_deletable",
                "only draft or cancelled orders can be deleted; cancel or refund the order instead",
            ));
        }
        let outcome = repo::orders::set_deleted(&txn, id.as_uuid(), true, self.now()).await?;
        crate::soft_delete_outcome("order", true, outcome)?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, true, ENTITY, existing.id)],
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn restore_order(&self, actor: &Actor, id: OrderId) -> Result<OrderView, CoreError> {
        self.authorized_order(actor, id, RecordAction::Restore)
            .await?;
        let txn = self.store().begin().await?;
        let outcome = repo::orders::set_deleted(&txn, id.as_uuid(), false, self.now()).await?;
        crate::soft_delete_outcome("order", false, outcome)?;
        let row = repo::orders::get(&txn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "order" })?;
        let key = self.keys().data_key(&txn, row.dek_id).await?;
        let lines = repo::orders::lines(&txn, row.id).await?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, false, ENTITY, row.id)],
        )
        .await?;
        txn.commit().await?;
        self.order_view(Some(&key), &row, Some(&lines))
    }

    pub async fn list_orders(
        &self,
        actor: &Actor,
        query: OrderQuery,
    ) -> Result<OrderPage, CoreError> {
        self.require_collection(actor, RecordType::Order, CollectionAction::List)
            .await?;
        let access = self.read_filter(actor, RecordType::Order)?;
        let limit = cursor::page_size(query.limit)?;
        let sort_code = query.sort.code();
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(sort_code, c))
            .transpose()?;
        let status = present(query.status.as_deref())
            .map(|s| OrderStatus::parse("status", s))
            .transpose()?;
        let filter = repo::orders::Filter {
            status: status.map(|s| s.code().to_owned()),
            contact_id: query.contact_id,
            company_id: query.company_id,
            deleted: query.deleted,
            access: Some(access.condition.clone()),
        };
        let (sort, direction) = query.sort.parts();
        let conn = self.store().conn();
        let key_of = |last: &order::Model| {
            (
                match sort {
                    OrderSortKey::OrderedOn => KeyValue::Text(last.ordered_on.clone()),
                    OrderSortKey::Created => KeyValue::Int(last.created_at),
                    OrderSortKey::Updated => KeyValue::Int(last.updated_at),
                },
                last.id,
            )
        };
        let page = self
            .readable_page(
                actor,
                &access,
                limit,
                after,
                {
                    let filter = &filter;
                    move |after: Option<After>| async move {
                        repo::orders::list(conn, filter, sort, direction, after.as_ref(), limit)
                            .await
                    }
                },
                key_of,
            )
            .await?;
        let next_cursor = cursor::next(sort_code, &page, key_of);
        let items = page
            .items
            .iter()
            .map(|row| self.order_view(None, row, None))
            .collect::<Result<Vec<_>, _>>()?;
        // Whose purchases: a customer's orders are their purchase history.
        self.audit_page_read(actor, ENTITY, page.items.iter().map(|r| r.id))
            .await?;
        Ok(OrderPage { items, next_cursor })
    }

    /// A customer's totals (see [`PurchaseSummary`]) and orders, newest first.
    pub async fn customer_purchases(
        &self,
        actor: &Actor,
        customer: CustomerRef,
        cursor_text: Option<String>,
        limit: Option<u64>,
    ) -> Result<PurchaseHistory, CoreError> {
        let conn = self.store().conn();
        let (repo_customer, mut query) = match customer {
            CustomerRef::Contact(id) => {
                let (_, attrs) = self
                    .authorized_contact(actor, id, RecordAction::Read)
                    .await?;
                self.require_purchase_history(actor, RecordType::Contact, &attrs)
                    .await?;
                (
                    Customer::Contact(id.as_uuid()),
                    OrderQuery {
                        contact_id: Some(id.as_uuid()),
                        ..OrderQuery::default()
                    },
                )
            }
            CustomerRef::Company(id) => {
                let row = repo::companies::get(conn, id.as_uuid()).await?;
                let attrs = self
                    .authorized(actor, row, RecordAction::Read)
                    .await?
                    .access_attrs();
                self.require_purchase_history(actor, RecordType::Company, &attrs)
                    .await?;
                (
                    Customer::Company(id.as_uuid()),
                    OrderQuery {
                        company_id: Some(id.as_uuid()),
                        ..OrderQuery::default()
                    },
                )
            }
        };
        query.cursor = cursor_text;
        query.limit = limit;
        let counted = OrderStatus::counted();
        let codes: Vec<&str> = counted.iter().map(|s| s.code()).collect();
        let rows = repo::orders::customer_totals(conn, repo_customer, &codes).await?;
        let mut summary = PurchaseSummary {
            order_count: 0,
            totals: Vec::new(),
            last_ordered_on: None,
            counted_statuses: codes.clone(),
        };
        for row in rows {
            let currency = stored_currency(TABLE, &row.currency)?;
            summary.order_count = summary.order_count.saturating_add(row.orders);
            summary.totals.push(PurchaseTotal {
                currency: currency.code().to_owned(),
                orders: row.orders,
                amount: currency.format_amount(row.amount),
            });
            if row.last_ordered_on > summary.last_ordered_on {
                summary.last_ordered_on = row.last_ordered_on;
            }
        }
        let orders = self.list_orders(actor, query).await?;
        Ok(PurchaseHistory { summary, orders })
    }

    async fn authorized_order(
        &self,
        actor: &Actor,
        id: OrderId,
        action: RecordAction,
    ) -> Result<order::Model, CoreError> {
        let row = repo::orders::get(self.store().conn(), id.as_uuid()).await?;
        self.authorized(actor, row, action).await
    }

    /// How much of a field group of a customer (contact or company) the actor reads, without
    /// recording anything: for pages deciding which sections to show. Not found or not
    /// readable is `Hidden`.
    pub async fn customer_group_access(
        &self,
        actor: &Actor,
        customer: CustomerRef,
        group: FieldGroup,
    ) -> Result<crate::authz::fields::GroupAccess, CoreError> {
        let conn = self.store().conn();
        let target = match customer {
            CustomerRef::Contact(id) => match repo::contacts::get(conn, id.as_uuid()).await? {
                Some(row) => Some((
                    RecordType::Contact,
                    self.contact_attrs_of(conn, &row).await?,
                )),
                None => None,
            },
            CustomerRef::Company(id) => repo::companies::get(conn, id.as_uuid())
                .await?
                .map(|row| (RecordType::Company, row.access_attrs())),
        };
        let read = Action::Record(RecordAction::Read);
        Ok(match target {
            Some((record, attrs)) if self.permits_record(actor, read, record, &attrs) => {
                self.group_access(actor, record, &attrs, group)
            }
            _ => crate::authz::fields::GroupAccess::Hidden,
        })
    }

    /// A customer's purchase history is its own field group: marketing may read a contact
    /// but not what they bought.
    async fn require_purchase_history(
        &self,
        actor: &Actor,
        record: RecordType,
        attrs: &crate::authz::RecordAttrs,
    ) -> Result<(), CoreError> {
        let action = Action::Field(FieldGroup::PurchaseHistory, FieldAccess::Read);
        if self.permits_record(actor, action, record, attrs) {
            return Ok(());
        }
        Err(self
            .denied(
                actor,
                action,
                &format!("{}::{}", record.cedar_type(), attrs.id),
            )
            .await?)
    }

    /// The order, not deleted, at the version the client saw, with its key.
    async fn live_order<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: OrderId,
        expected_version: i64,
    ) -> Result<(order::Model, Arc<DataKey>), CoreError> {
        let row = repo::orders::get(conn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "order" })?;
        crate::check_changeable(
            row.deleted_at,
            row.version,
            expected_version,
            "the order is deleted; restore it before changing it",
        )?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        Ok((row, key))
    }

    fn encrypt_notes(
        &self,
        key: &DataKey,
        id: Uuid,
        notes: Option<&Notes>,
    ) -> Result<Option<Vec<u8>>, CoreError> {
        notes
            .map(|n| {
                self.keys()
                    .encrypt(key, TABLE, "notes", id, n.as_str().as_bytes(), self.rng())
            })
            .transpose()
    }

    fn decrypt_notes(
        &self,
        key: &DataKey,
        row: &order::Model,
    ) -> Result<Option<String>, CoreError> {
        row.notes_ct
            .as_deref()
            .map(|ct| self.keys().decrypt_string(key, TABLE, "notes", row.id, ct))
            .transpose()
    }

    /// `key` and `lines` for the detail view; lists pass `None` and omit notes and lines.
    fn order_view(
        &self,
        key: Option<&DataKey>,
        row: &order::Model,
        lines: Option<&[order_line::Model]>,
    ) -> Result<OrderView, CoreError> {
        let currency = stored_currency(TABLE, &row.currency)?;
        Ok(OrderView {
            id: OrderId(row.id),
            number: row.number.clone(),
            status: row.status.clone(),
            currency: row.currency.clone(),
            ordered_on: row.ordered_on.clone(),
            contact_id: row.contact_id.map(ContactId),
            company_id: row.company_id.map(CompanyId),
            deal_id: row.deal_id.map(DealId),
            owner_id: row.owner_id.map(UserId),
            notes: match key {
                Some(key) => self.decrypt_notes(key, row)?,
                None => None,
            },
            subtotal: currency.format_amount(row.subtotal_minor),
            discount_total: currency.format_amount(row.discount_minor),
            total: currency.format_amount(row.total_minor),
            line_count: row.line_count,
            lines: lines.map(|ls| ls.iter().map(|l| line_view(currency, l)).collect()),
            placed_at: row.placed_at.map(from_millis),
            paid_at: row.paid_at.map(from_millis),
            fulfilled_at: row.fulfilled_at.map(from_millis),
            cancelled_at: row.cancelled_at.map(from_millis),
            refunded_at: row.refunded_at.map(from_millis),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
        })
    }
}

fn customer_required() -> FieldError {
    FieldError::new(
        "contact_id",
        "customer_required",
        "an order needs a customer: a contact, a company, or a deal that has one",
    )
}

fn with_line_ids(lines: Vec<order_line::Model>, now: i64) -> Vec<order_line::Model> {
    lines
        .into_iter()
        .map(|mut l| {
            l.id = custodian_domain::ids::uuid_at(now);
            l
        })
        .collect()
}

async fn load_products<C: ConnectionTrait>(
    conn: &C,
    lines: &[LineInput],
) -> Result<HashMap<Uuid, product::Model>, CoreError> {
    let ids: Vec<Uuid> = lines
        .iter()
        .filter_map(|l| l.product_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    Ok(repo::products::get_many(conn, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

async fn check_owner<C: ConnectionTrait>(
    conn: &C,
    v: &mut Validator,
    owner_id: Option<Uuid>,
) -> Result<(), CoreError> {
    if let Some(owner) = owner_id
        && repo::users::get_live(conn, owner).await?.is_none()
    {
        v.push(FieldError::new(
            "owner_id",
            "unknown_user",
            "no user with this id exists",
        ));
    }
    Ok(())
}
