//! The product catalogue (administrators manage it, everyone reads it) and contacts' interests
//! in products. Products are business data; an interest level says something about a person
//! and is encrypted under the contact's key.

use crate::audit::AuditEvent;
use crate::authz::FieldAccess;
use crate::cursor;
use crate::patch;
use crate::{Actor, Core, CoreError};
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::from_millis;
use custodian_domain::error::Validator;
use custodian_domain::money::Currency;
use custodian_domain::purchases::{
    InterestLevel, Sku, UnitOfMeasure, block_text, limits, line_text,
};
use custodian_domain::search::normalize_for_match;
use custodian_domain::{ContactId, FieldError, ProductId, UserId};
use custodian_store::entities::{product, product_interest};
use custodian_store::page::{Direction, KeyValue};
use custodian_store::repo::products::Sort as ProductSortKey;
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const INTERESTS_TABLE: &str = "product_interests";
/// Products are catalogue settings (administrators manage them, they describe no one): their
/// changes are configuration changes.
const PRODUCT: &str = "product";
/// The audit target of a contact's product interests: the contact's id (interests say
/// something about the person).
const INTERESTS: &str = "product_interests";

fn product_event(actor: &Actor, id: Uuid, change: &str) -> AuditEvent {
    AuditEvent::by(actor, AuditCode::ConfigChange)
        .target(PRODUCT, id)
        .detail("setting", PRODUCT)
        .detail("change", change)
}

/// The fields a patch names.
fn patch_field_names(patch: &ProductPatch) -> Vec<&'static str> {
    [
        ("sku", patch.sku.is_some()),
        ("name", patch.name.is_some()),
        ("description", patch.description.is_some()),
        ("category", patch.category.is_some()),
        ("list_price", patch.list_price.is_some()),
        ("currency", patch.currency.is_some()),
        ("unit", patch.unit.is_some()),
        ("active", patch.active.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}
/// Interests listed per contact (a catalogue-sized bound, not a page).
pub const MAX_INTERESTS: u64 = 500;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// Stock-keeping unit; stored upper-cased, unique.
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// Decimal string in `currency`, e.g. "5120.00".
    pub list_price: String,
    /// ISO 4217 code.
    pub currency: String,
    /// each, kg, t, g, l, m3, bbl, m, m2, box, pallet, set or h.
    pub unit: String,
    /// Inactive products cannot be put on orders. Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub version: i64,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub category: Option<Option<String>>,
    #[serde(default)]
    pub list_price: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ProductView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    /// Exact decimal string with the currency's decimals.
    pub list_price: String,
    pub currency: String,
    pub unit: String,
    pub active: bool,
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

crate::cursor::sort_orders!(
    ProductSort: ProductSortKey,
    "must be one of: name, -name, -updated, updated",
    {
        NameAsc = "name" => (Name, Asc),
        NameDesc = "-name" => (Name, Desc),
        UpdatedDesc = "-updated" => (Updated, Desc),
        UpdatedAsc = "updated" => (Updated, Asc),
    }
);

#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// Name prefix, case-insensitive.
    pub q: Option<String>,
    pub category: Option<String>,
    pub active: Option<bool>,
    pub deleted: Deleted,
    pub sort: ProductSort,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ProductPage {
    pub items: Vec<ProductView>,
    pub next_cursor: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterestInput {
    pub product_id: Uuid,
    /// low, medium or high.
    pub level: String,
}

/// A contact's interest in a product. The level is personal (encrypted at rest).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct InterestView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub product_id: ProductId,
    pub sku: String,
    pub product_name: String,
    pub level: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub recorded_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: time::OffsetDateTime,
}

impl std::fmt::Debug for InterestView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterestView")
            .field("product_id", &self.product_id)
            .finish_non_exhaustive()
    }
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

/// A product's fields, validated.
struct ProductData {
    sku: Sku,
    name: String,
    description: Option<String>,
    category: Option<String>,
    currency: Currency,
    list_price_minor: i64,
    unit: UnitOfMeasure,
    active: bool,
}

impl ProductData {
    fn parse(input: &ProductInput) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let sku = v.check(Sku::parse("sku", &input.sku));
        let name = v.check(line_text("name", &input.name, limits::PRODUCT_NAME));
        let description = present(input.description.as_deref())
            .and_then(|d| v.check(block_text("description", d, limits::DESCRIPTION)));
        let category = present(input.category.as_deref())
            .and_then(|c| v.check(line_text("category", c, limits::CATEGORY)));
        let currency = v.check(Currency::parse("currency", &input.currency));
        let list_price_minor =
            currency.and_then(|c| v.check(c.parse_amount("list_price", &input.list_price)));
        let unit = v.check(UnitOfMeasure::parse("unit", &input.unit));
        v.finish()?;
        let missing = || CoreError::Internal("validated product field missing");
        Ok(Self {
            sku: sku.ok_or_else(missing)?,
            name: name.ok_or_else(missing)?,
            description,
            category,
            currency: currency.ok_or_else(missing)?,
            list_price_minor: list_price_minor.ok_or_else(missing)?,
            unit: unit.ok_or_else(missing)?,
            active: input.active.unwrap_or(true),
        })
    }

    fn apply(&self, mut row: product::Model) -> product::Model {
        row.sku = self.sku.as_str().to_owned();
        row.name_sort = normalize_for_match(&self.name);
        row.name = self.name.clone();
        row.description = self.description.clone();
        row.category = self.category.clone();
        row.list_price_minor = self.list_price_minor;
        row.currency = self.currency.code().to_owned();
        row.unit = self.unit.code().to_owned();
        row.active = i64::from(self.active);
        row
    }
}

fn apply_patch(view: &ProductView, patch: ProductPatch) -> ProductInput {
    ProductInput {
        sku: patch.sku.unwrap_or_else(|| view.sku.clone()),
        name: patch.name.unwrap_or_else(|| view.name.clone()),
        description: patch
            .description
            .unwrap_or_else(|| view.description.clone()),
        category: patch.category.unwrap_or_else(|| view.category.clone()),
        list_price: patch.list_price.unwrap_or_else(|| view.list_price.clone()),
        currency: patch.currency.unwrap_or_else(|| view.currency.clone()),
        unit: patch.unit.unwrap_or_else(|| view.unit.clone()),
        active: Some(patch.active.unwrap_or(view.active)),
    }
}

fn sku_taken(e: custodian_store::StoreError) -> CoreError {
    if e.is_unique_violation() {
        CoreError::Rule {
            code: "sku_taken",
            message: "another product (possibly a deleted one) already has this SKU",
        }
    } else {
        e.into()
    }
}

pub(crate) fn stored_currency(table: &'static str, code: &str) -> Result<Currency, CoreError> {
    Currency::parse("currency", code).map_err(|_| CoreError::DataIntegrity {
        table,
        column: "currency",
    })
}

pub(crate) fn product_view(row: &product::Model) -> Result<ProductView, CoreError> {
    let currency = stored_currency("products", &row.currency)?;
    Ok(ProductView {
        id: ProductId(row.id),
        sku: row.sku.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        category: row.category.clone(),
        list_price: currency.format_amount(row.list_price_minor),
        currency: row.currency.clone(),
        unit: row.unit.clone(),
        active: row.active != 0,
        created_at: from_millis(row.created_at),
        updated_at: from_millis(row.updated_at),
        deleted_at: row.deleted_at.map(from_millis),
        version: row.version,
    })
}

impl Core {
    pub async fn create_product(
        &self,
        actor: &Actor,
        input: ProductInput,
    ) -> Result<ProductView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageSettings)
            .await?;
        let data = ProductData::parse(&input)?;
        let now = self.now();
        let row = data.apply(product::Model {
            id: ProductId::new_at(now).as_uuid(),
            sku: String::new(),
            name: String::new(),
            name_sort: String::new(),
            description: None,
            category: None,
            list_price_minor: 0,
            currency: String::new(),
            unit: String::new(),
            active: 1,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
        });
        let txn = self.store().begin().await?;
        repo::products::insert(&txn, row.clone())
            .await
            .map_err(sku_taken)?;
        let fields: Vec<&str> = [
            ("sku", true),
            ("name", true),
            ("description", input.description.is_some()),
            ("category", input.category.is_some()),
            ("list_price", true),
            ("currency", true),
            ("unit", true),
            ("active", input.active.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        self.audit_in(
            &txn,
            vec![product_event(actor, row.id, "create").detail("fields", fields)],
        )
        .await?;
        txn.commit().await?;
        product_view(&row)
    }

    pub async fn get_product(
        &self,
        _actor: &Actor,
        id: ProductId,
    ) -> Result<ProductView, CoreError> {
        let row = repo::products::get(self.store().conn(), id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "product" })?;
        product_view(&row)
    }

    pub async fn update_product(
        &self,
        actor: &Actor,
        id: ProductId,
        patch: ProductPatch,
    ) -> Result<ProductView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageSettings)
            .await?;
        let txn = self.store().begin().await?;
        let existing = repo::products::get(&txn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "product" })?;
        crate::check_changeable(
            existing.deleted_at,
            existing.version,
            patch.version,
            "the product is deleted; restore it before changing it",
        )?;
        let expected = patch.version;
        let event = product_event(actor, existing.id, "update")
            .detail("fields", patch_field_names(&patch))
            .detail("from_version", expected)
            .detail("to_version", expected + 1);
        let data = ProductData::parse(&apply_patch(&product_view(&existing)?, patch))?;
        let mut row = data.apply(existing.clone());
        row.updated_at = self.now().max(existing.updated_at);
        row.version = existing.version + 1;
        let outcome = repo::products::update_versioned(&txn, row.clone(), expected)
            .await
            .map_err(sku_taken)?;
        crate::versioned_write("product", outcome)?;
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        product_view(&row)
    }

    pub async fn delete_product(&self, actor: &Actor, id: ProductId) -> Result<(), CoreError> {
        self.set_product_deleted(actor, id, true).await.map(|_| ())
    }

    pub async fn restore_product(
        &self,
        actor: &Actor,
        id: ProductId,
    ) -> Result<ProductView, CoreError> {
        self.set_product_deleted(actor, id, false).await
    }

    async fn set_product_deleted(
        &self,
        actor: &Actor,
        id: ProductId,
        delete: bool,
    ) -> Result<ProductView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageSettings)
            .await?;
        let txn = self.store().begin().await?;
        let outcome = repo::products::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome("product", delete, outcome)?;
        let row = repo::products::get(&txn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "product" })?;
        let change = if delete { "delete" } else { "restore" };
        self.audit_in(&txn, vec![product_event(actor, row.id, change)])
            .await?;
        txn.commit().await?;
        product_view(&row)
    }

    pub async fn list_products(
        &self,
        _actor: &Actor,
        query: ProductQuery,
    ) -> Result<ProductPage, CoreError> {
        let limit = cursor::page_size(query.limit)?;
        let sort_code = query.sort.code();
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(sort_code, c))
            .transpose()?;
        let mut v = Validator::new();
        for (field, value, max) in [
            ("q", &query.q, limits::PRODUCT_NAME),
            ("category", &query.category, limits::CATEGORY),
        ] {
            if value.as_ref().is_some_and(|s| s.chars().count() > max) {
                v.push(FieldError::new(
                    field,
                    "too_long",
                    format!("must be at most {max} characters"),
                ));
            }
        }
        v.finish()?;
        let filter = repo::products::Filter {
            name_prefix: query
                .q
                .as_deref()
                .map(|q| normalize_for_match(q.trim()))
                .filter(|q| !q.is_empty()),
            category: present(query.category.as_deref()).map(|c| c.trim().to_owned()),
            active: query.active,
            deleted: query.deleted,
        };
        let (sort, direction) = query.sort.parts();
        let page = repo::products::list(
            self.store().conn(),
            &filter,
            sort,
            direction,
            after.as_ref(),
            limit,
        )
        .await?;
        let next_cursor = cursor::next(sort_code, &page, |last| {
            (
                match sort {
                    ProductSortKey::Name => KeyValue::Text(last.name_sort.clone()),
                    ProductSortKey::Updated => KeyValue::Int(last.updated_at),
                },
                last.id,
            )
        });
        let items = page
            .items
            .iter()
            .map(product_view)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProductPage { items, next_cursor })
    }

    // -----------------------------------------------------------------------------------------
    // Product interests

    /// The contact's product interests, most recent first.
    pub async fn list_product_interests(
        &self,
        actor: &Actor,
        contact: ContactId,
    ) -> Result<Vec<InterestView>, CoreError> {
        let conn = self.store().conn();
        let row = self
            .contact_preferences_access(actor, contact, FieldAccess::Read)
            .await?;
        let interests =
            repo::product_interests::for_contact(conn, contact.as_uuid(), MAX_INTERESTS).await?;
        if interests.is_empty() {
            return Ok(Vec::new());
        }
        self.audit_read(
            AuditEvent::by(actor, AuditCode::DataRead)
                .target(INTERESTS, contact.as_uuid())
                .detail("count", interests.len()),
        )
        .await?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        let ids: Vec<Uuid> = interests.iter().map(|i| i.product_id).collect();
        let products = repo::products::get_many(conn, &ids).await?;
        interests
            .iter()
            .map(|i| {
                let product = products.iter().find(|p| p.id == i.product_id);
                Ok(InterestView {
                    product_id: ProductId(i.product_id),
                    sku: product.map(|p| p.sku.clone()).unwrap_or_default(),
                    product_name: product.map(|p| p.name.clone()).unwrap_or_default(),
                    level: self.keys().decrypt_string(
                        &key,
                        INTERESTS_TABLE,
                        "level",
                        i.id,
                        &i.level_ct,
                    )?,
                    recorded_by: UserId(i.recorded_by),
                    recorded_at: from_millis(i.recorded_at),
                })
            })
            .collect()
    }

    /// Records (or re-records, replacing the level) the contact's interest in a product.
    pub async fn set_product_interest(
        &self,
        actor: &Actor,
        contact: ContactId,
        input: InterestInput,
    ) -> Result<InterestView, CoreError> {
        let level = InterestLevel::parse("level", &input.level)?;
        let now = self.now();
        let row = self
            .contact_preferences_access(actor, contact, FieldAccess::Update)
            .await?;
        let txn = self.store().begin().await?;
        let product = repo::products::get(&txn, input.product_id)
            .await?
            .filter(|p| p.deleted_at.is_none())
            .ok_or_else(|| {
                CoreError::from(FieldError::new(
                    "product_id",
                    "unknown_product",
                    "no product with this id exists",
                ))
            })?;
        let key = self.keys().data_key(&txn, row.dek_id).await?;
        let id = custodian_domain::ids::uuid_at(now);
        let level_ct = self.keys().encrypt(
            &key,
            INTERESTS_TABLE,
            "level",
            id,
            level.code().as_bytes(),
            self.rng(),
        )?;
        let replaced = repo::product_interests::delete(&txn, row.id, product.id).await?;
        repo::product_interests::insert(
            &txn,
            product_interest::Model {
                id,
                contact_id: row.id,
                product_id: product.id,
                level_ct,
                recorded_by: actor.user_id.as_uuid(),
                recorded_at: now,
            },
        )
        .await?;
        let code = if replaced {
            AuditCode::DataUpdate
        } else {
            AuditCode::DataCreate
        };
        let event = AuditEvent::by(actor, code)
            .target(INTERESTS, row.id)
            .detail("fields", ["level"])
            .detail(
                "groups",
                [crate::authz::FieldGroup::PreferencesFeedback.code()],
            )
            .detail("product_id", product.id.to_string());
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok(InterestView {
            product_id: ProductId(product.id),
            sku: product.sku,
            product_name: product.name,
            level: level.code().to_owned(),
            recorded_by: actor.user_id,
            recorded_at: from_millis(now),
        })
    }

    pub async fn remove_product_interest(
        &self,
        actor: &Actor,
        contact: ContactId,
        product: ProductId,
    ) -> Result<(), CoreError> {
        self.contact_preferences_access(actor, contact, FieldAccess::Update)
            .await?;
        let txn = self.store().begin().await?;
        if !repo::product_interests::delete(&txn, contact.as_uuid(), product.as_uuid()).await? {
            return Err(CoreError::NotFound {
                entity: "product interest",
            });
        }
        let event = AuditEvent::by(actor, AuditCode::DataDelete)
            .target(INTERESTS, contact.as_uuid())
            .detail("product_id", product.as_uuid().to_string());
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok(())
    }
}
