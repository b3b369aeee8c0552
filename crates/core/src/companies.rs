//! Companies (accounts). Not data subjects: their address is encrypted under the organisation
//! data key; name, industry, size, region and website are internal and stay sortable.

use crate::audit::AuditEvent;
use crate::authz::{CollectionAction, RecordAction, RecordType};
use crate::contacts::{row_tags, tag_strings};
use crate::cursor;
use crate::custom_fields::{self as cf, CustomValues};
use crate::patch;
use crate::record_access::{AccessRow, Placement};
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::from_millis;
use custodian_domain::custom_fields::FieldEntity;
use custodian_domain::error::Validator;
use custodian_domain::values::{
    Address, CompanyName, CompanySize, Industry, Region, Tag, Website, parse_tags,
};
use custodian_domain::{CompanyId, FieldError, UserId};
use custodian_store::ConnectionTrait;
use custodian_store::entities::company;
use custodian_store::page::{After, Direction, KeyValue};
use custodian_store::repo::companies::Sort as CompanySortKey;
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TABLE: &str = "companies";
const ENTITY: &str = "company";

pub(crate) fn to_ms(t: time::OffsetDateTime) -> i64 {
    custodian_domain::clock::to_millis(t)
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    pub name: String,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values by key, each of the field's type.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom_fields: CustomValues,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub size: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Custom field values to change by key; `null` clears one, keys left out stay.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_fields: Option<CustomValues>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct CompanyView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: CompanyId,
    pub name: String,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    /// Personal-classified (may locate a sole trader): encrypted at rest, omitted from lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub website: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    pub tags: Vec<String>,
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
    /// Custom field values by key: all of them on the detail view, public and internal ones
    /// in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_fields: Option<CustomValues>,
}

crate::cursor::sort_orders!(
    CompanySort: CompanySortKey,
    "must be one of: name, -name, created, -created, updated, -updated",
    {
        NameAsc = "name" => (Name, Asc),
        NameDesc = "-name" => (Name, Desc),
        CreatedDesc = "-created" => (Created, Desc),
        CreatedAsc = "created" => (Created, Asc),
        UpdatedDesc = "-updated" => (Updated, Desc),
        UpdatedAsc = "updated" => (Updated, Asc),
    }
);

#[derive(Debug, Clone, Default)]
pub struct CompanyQuery {
    pub owner_id: Option<Uuid>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    pub tag: Option<String>,
    /// Name prefix, case-insensitive.
    pub q: Option<String>,
    pub deleted: Deleted,
    pub sort: CompanySort,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

impl std::fmt::Debug for CompanyInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompanyInput { .. }")
    }
}

impl std::fmt::Debug for CompanyPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompanyPatch { .. }")
    }
}

impl std::fmt::Debug for CompanyView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address is personal data; the rest is shown.
        f.debug_struct("CompanyView")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct CompanyPage {
    pub items: Vec<CompanyView>,
    pub next_cursor: Option<String>,
}

struct CompanyData {
    name: CompanyName,
    industry: Option<Industry>,
    size: Option<CompanySize>,
    region: Option<Region>,
    address: Option<Address>,
    website: Option<Website>,
    owner_id: Option<Uuid>,
    tags: Vec<Tag>,
}

fn optional<T>(
    v: &mut Validator,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Option<T> {
    match raw {
        Some(s) if !s.trim().is_empty() => v.check(parse(s)),
        _ => None,
    }
}

impl CompanyData {
    fn parse(input: &CompanyInput) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let name = v.check(CompanyName::parse("name", &input.name));
        let industry = optional(&mut v, input.industry.as_deref(), |s| {
            Industry::parse("industry", s)
        });
        let size = optional(&mut v, input.size.as_deref(), |s| {
            CompanySize::parse("size", s)
        });
        let region = optional(&mut v, input.region.as_deref(), |s| {
            Region::parse("region", s)
        });
        let address = optional(&mut v, input.address.as_deref(), |s| {
            Address::parse("address", s)
        });
        let website = optional(&mut v, input.website.as_deref(), |s| {
            Website::parse("website", s)
        });
        let tags = v.check(parse_tags("tags", &input.tags)).unwrap_or_default();
        v.finish()?;
        Ok(Self {
            name: name.ok_or(CoreError::Internal("validated name missing"))?,
            industry,
            size,
            region,
            address,
            website,
            owner_id: input.owner_id,
            tags,
        })
    }
}

fn to_input(view: &CompanyView) -> CompanyInput {
    CompanyInput {
        name: view.name.clone(),
        industry: view.industry.clone(),
        size: view.size.clone(),
        region: view.region.clone(),
        address: view.address.clone(),
        website: view.website.clone(),
        owner_id: view.owner_id.map(|u| u.as_uuid()),
        tags: view.tags.clone(),
        custom_fields: CustomValues::new(),
    }
}

fn apply_patch(mut input: CompanyInput, patch: CompanyPatch) -> CompanyInput {
    if let Some(v) = patch.name {
        input.name = v;
    }
    if let Some(v) = patch.industry {
        input.industry = v;
    }
    if let Some(v) = patch.size {
        input.size = v;
    }
    if let Some(v) = patch.region {
        input.region = v;
    }
    if let Some(v) = patch.address {
        input.address = v;
    }
    if let Some(v) = patch.website {
        input.website = v;
    }
    if let Some(v) = patch.owner_id {
        input.owner_id = v;
    }
    if let Some(v) = patch.tags {
        input.tags = v;
    }
    input
}

/// The fields a new company sets (names only).
fn input_field_names(input: &CompanyInput) -> Vec<&'static str> {
    [
        ("name", true),
        ("industry", input.industry.is_some()),
        ("size", input.size.is_some()),
        ("region", input.region.is_some()),
        ("address", input.address.is_some()),
        ("website", input.website.is_some()),
        ("owner_id", input.owner_id.is_some()),
        ("tags", !input.tags.is_empty()),
        ("custom_fields", !input.custom_fields.is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The fields a patch names.
fn patch_field_names(patch: &CompanyPatch) -> Vec<&'static str> {
    [
        ("name", patch.name.is_some()),
        ("industry", patch.industry.is_some()),
        ("size", patch.size.is_some()),
        ("region", patch.region.is_some()),
        ("address", patch.address.is_some()),
        ("website", patch.website.is_some()),
        ("owner_id", patch.owner_id.is_some()),
        ("tags", patch.tags.is_some()),
        ("custom_fields", patch.custom_fields.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

impl Core {
    pub async fn create_company(
        &self,
        actor: &Actor,
        input: CompanyInput,
    ) -> Result<CompanyView, CoreError> {
        let result = async {
            let now = self.now();
            let txn = self.store().begin().await?;
            let fields = self.field_set(&txn, FieldEntity::Company).await?;
            let custom = fields.check(&input.custom_fields, true);
            let ((row, key), custom) = cf::merge(
                self.insert_company(&txn, actor, &input, CompanyId::new_at(now), now)
                    .await,
                custom,
            )?;
            self.write_custom(&txn, FieldEntity::Company, &key, row.id, &custom, now)
                .await?;
            let event = AuditEvent::by(actor, AuditCode::DataCreate)
                .target(ENTITY, row.id)
                .detail("fields", input_field_names(&input));
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            let mut view = self.company_view(Some(&key), &row)?;
            view.custom_fields = Some(custom.values()?);
            Ok(view)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    /// Validates and writes a new company inside the caller's transaction (creation, lead
    /// conversion).
    pub(crate) async fn insert_company<C: ConnectionTrait>(
        &self,
        txn: &C,
        actor: &Actor,
        input: &CompanyInput,
        id: CompanyId,
        now: i64,
    ) -> Result<(company::Model, std::sync::Arc<DataKey>), CoreError> {
        let mut data = CompanyData::parse(input)?;
        data.owner_id.get_or_insert(actor.user_id.as_uuid());
        self.check_company_owner(txn, &data).await?;
        let key = self.keys().org_key(txn).await?;
        let placement = Placement::new(actor, None);
        let row = self.encrypt_company(&key, id.as_uuid(), &data, &placement, now, now, 1)?;
        self.authorize_new(actor, &row)?;
        repo::companies::insert(txn, row.clone()).await?;
        repo::tags::insert_new(txn, ENTITY, id.as_uuid(), &tag_strings(&data.tags)).await?;
        Ok((row, key))
    }

    pub async fn get_company(
        &self,
        actor: &Actor,
        id: CompanyId,
    ) -> Result<CompanyView, CoreError> {
        let view = self.read_company(actor, id).await?;
        self.audit_read(AuditEvent::by(actor, AuditCode::DataRead).target(ENTITY, id.as_uuid()))
            .await?;
        Ok(view)
    }

    /// The company as the actor may read it, without a read event (a change reads it first
    /// and records the change instead).
    async fn read_company(&self, actor: &Actor, id: CompanyId) -> Result<CompanyView, CoreError> {
        let conn = self.store().conn();
        let row = self
            .authorized_company(actor, id, RecordAction::Read)
            .await?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        let mut view = self.company_view(Some(&key), &row)?;
        view.custom_fields = Some(
            self.record_custom(conn, FieldEntity::Company, row.id, &key)
                .await?,
        );
        Ok(view)
    }

    pub async fn update_company(
        &self,
        actor: &Actor,
        id: CompanyId,
        patch: CompanyPatch,
    ) -> Result<CompanyView, CoreError> {
        let result = async {
            let before = self
                .authorized_company(actor, id, RecordAction::Update)
                .await?
                .access_attrs();
            let current = self.read_company(actor, id).await?;
            if current.deleted_at.is_some() {
                return Err(CoreError::Conflict(
                    "the company is deleted; restore it before editing",
                ));
            }
            let expected = patch.version;
            if expected != current.version {
                return Err(CoreError::StaleVersion {
                    current_version: current.version,
                });
            }
            let custom_input = patch.custom_fields.clone().unwrap_or_default();
            let event = AuditEvent::by(actor, AuditCode::DataUpdate)
                .target(ENTITY, id.as_uuid())
                .detail("fields", patch_field_names(&patch))
                .detail("from_version", expected)
                .detail("to_version", expected + 1);
            let now = self.now().max(to_ms(current.updated_at));
            let txn = self.store().begin().await?;
            let fields = self.field_set(&txn, FieldEntity::Company).await?;
            let (data, custom) = cf::merge(
                CompanyData::parse(&apply_patch(to_input(&current), patch)),
                fields.check(&custom_input, false),
            )?;
            self.check_company_owner(&txn, &data).await?;
            let existing = repo::companies::get(&txn, id.as_uuid())
                .await?
                .ok_or(CoreError::NotFound { entity: "company" })?;
            let key = self.keys().data_key(&txn, existing.dek_id).await?;
            let row = self.encrypt_company(
                &key,
                id.as_uuid(),
                &data,
                &Placement::of(&existing),
                existing.created_at,
                now,
                expected + 1,
            )?;
            self.authorize_changed(actor, &before, &row)?;
            crate::versioned_write(
                "company",
                repo::companies::update_versioned(&txn, row.clone(), expected).await?,
            )?;
            repo::tags::replace(&txn, ENTITY, id.as_uuid(), &tag_strings(&data.tags)).await?;
            self.write_custom(&txn, FieldEntity::Company, &key, row.id, &custom, now)
                .await?;
            let values = self
                .record_custom(&txn, FieldEntity::Company, row.id, &key)
                .await?;
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            let mut view = self.company_view(Some(&key), &row)?;
            view.custom_fields = Some(values);
            Ok(view)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    pub async fn delete_company(&self, actor: &Actor, id: CompanyId) -> Result<(), CoreError> {
        self.set_company_deleted(actor, id, true).await.map(|_| ())
    }

    pub async fn restore_company(
        &self,
        actor: &Actor,
        id: CompanyId,
    ) -> Result<CompanyView, CoreError> {
        self.set_company_deleted(actor, id, false).await
    }

    async fn set_company_deleted(
        &self,
        actor: &Actor,
        id: CompanyId,
        delete: bool,
    ) -> Result<CompanyView, CoreError> {
        let action = if delete {
            RecordAction::Delete
        } else {
            RecordAction::Restore
        };
        self.authorized_company(actor, id, action).await?;
        let txn = self.store().begin().await?;
        let outcome = repo::companies::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome("company", delete, outcome)?;
        let row = repo::companies::get(&txn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "company" })?;
        let key = self.keys().data_key(&txn, row.dek_id).await?;
        let values = self
            .record_custom(&txn, FieldEntity::Company, row.id, &key)
            .await?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, delete, ENTITY, row.id)],
        )
        .await?;
        txn.commit().await?;
        let mut view = self.company_view(Some(&key), &row)?;
        view.custom_fields = Some(values);
        Ok(view)
    }

    pub async fn list_companies(
        &self,
        actor: &Actor,
        query: CompanyQuery,
    ) -> Result<CompanyPage, CoreError> {
        self.require_collection(actor, RecordType::Company, CollectionAction::List)
            .await?;
        let access = self.read_filter(actor, RecordType::Company)?;
        let limit = cursor::page_size(query.limit)?;
        let sort_code = query.sort.code();
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(sort_code, c))
            .transpose()?;
        let mut v = Validator::new();
        let industry = optional(&mut v, query.industry.as_deref(), |s| {
            Industry::parse("industry", s)
        });
        let size = optional(&mut v, query.size.as_deref(), |s| {
            CompanySize::parse("size", s)
        });
        let region = optional(&mut v, query.region.as_deref(), |s| {
            Region::parse("region", s)
        });
        if query.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            v.push(FieldError::new(
                "q",
                "too_long",
                "must be at most 200 characters",
            ));
        }
        v.finish()?;
        let filter = repo::companies::Filter {
            owner_id: query.owner_id,
            industry: industry.map(|i| i.code().to_owned()),
            size_band: size.map(|s| s.code().to_owned()),
            region: region.map(|r| r.as_str().to_owned()),
            tag: query.tag.as_deref().map(str::to_lowercase),
            name_prefix: query
                .q
                .as_deref()
                .map(|q| name_sort_key(q.trim()))
                .filter(|q| !q.is_empty()),
            deleted: query.deleted,
            access: Some(access.condition.clone()),
        };
        let (sort, direction) = query.sort.parts();
        let conn = self.store().conn();
        let key_of = |last: &company::Model| {
            (
                match sort {
                    repo::companies::Sort::Created => KeyValue::Int(last.created_at),
                    repo::companies::Sort::Updated => KeyValue::Int(last.updated_at),
                    repo::companies::Sort::Name => KeyValue::Text(last.name_sort.clone()),
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
                        repo::companies::list(conn, filter, sort, direction, after.as_ref(), limit)
                            .await
                    }
                },
                key_of,
            )
            .await?;
        let next_cursor = cursor::next(sort_code, &page, key_of);
        let ids: Vec<Uuid> = page.items.iter().map(|r| r.id).collect();
        let mut custom = self
            .custom_values(conn, FieldEntity::Company, &ids, None)
            .await?;
        let items = page
            .items
            .iter()
            .map(|row| {
                let mut view = self.company_view(None, row)?;
                view.custom_fields = Some(custom.remove(&row.id).unwrap_or_default());
                Ok(view)
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        Ok(CompanyPage { items, next_cursor })
    }

    async fn authorized_company(
        &self,
        actor: &Actor,
        id: CompanyId,
        action: RecordAction,
    ) -> Result<company::Model, CoreError> {
        let row = repo::companies::get(self.store().conn(), id.as_uuid()).await?;
        self.authorized(actor, row, action).await
    }

    async fn check_company_owner<C: ConnectionTrait>(
        &self,
        conn: &C,
        data: &CompanyData,
    ) -> Result<(), CoreError> {
        if let Some(owner) = data.owner_id
            && repo::users::get_live(conn, owner).await?.is_none()
        {
            return Err(
                FieldError::new("owner_id", "unknown_user", "no user with this id exists").into(),
            );
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn encrypt_company(
        &self,
        key: &DataKey,
        id: Uuid,
        data: &CompanyData,
        placement: &Placement,
        created_at: i64,
        updated_at: i64,
        version: i64,
    ) -> Result<company::Model, CoreError> {
        let address_ct = data
            .address
            .as_ref()
            .map(|a| {
                self.keys()
                    .encrypt(key, TABLE, "address", id, a.as_str().as_bytes(), self.rng())
            })
            .transpose()?;
        Ok(company::Model {
            id,
            name: data.name.as_str().to_owned(),
            name_sort: name_sort_key(data.name.as_str()),
            industry: data.industry.map(|i| i.code().to_owned()),
            size_band: data.size.map(|s| s.code().to_owned()),
            // The territory can be moved, not removed (that would open it to every region).
            region: data
                .region
                .as_ref()
                .map(|r| r.as_str().to_owned())
                .or_else(|| placement.region.clone()),
            website: data.website.as_ref().map(|w| w.as_str().to_owned()),
            address_ct,
            dek_id: key.id(),
            owner_id: data.owner_id,
            tags: serde_json::to_string(&tag_strings(&data.tags)).unwrap_or_default(),
            team: placement.team.clone(),
            sensitivity: placement.sensitivity,
            created_at,
            updated_at,
            deleted_at: None,
            version,
        })
    }

    /// `key` is the organisation key for the detail view, `None` for lists, which omit the
    /// (personal) address and so need not decrypt it.
    pub(crate) fn company_view(
        &self,
        key: Option<&DataKey>,
        row: &company::Model,
    ) -> Result<CompanyView, CoreError> {
        Ok(CompanyView {
            id: CompanyId(row.id),
            name: row.name.clone(),
            industry: row.industry.clone(),
            size: row.size_band.clone(),
            region: row.region.clone(),
            address: match (key, row.address_ct.as_deref()) {
                (Some(key), Some(ct)) => Some(
                    self.keys()
                        .decrypt_string(key, TABLE, "address", row.id, ct)?,
                ),
                _ => None,
            },
            website: row.website.clone(),
            owner_id: row.owner_id.map(UserId),
            tags: row_tags(&row.tags)?,
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
            custom_fields: None,
        })
    }
}

pub(crate) fn name_sort_key(name: &str) -> String {
    custodian_domain::search::normalize_for_match(name)
}
