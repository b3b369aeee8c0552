//! Contacts: people at customers, each a data subject with its own data key. Personal fields
//! are encrypted with that key (AAD binds table, column and row); e-mail, phone and name are
//! searchable through truncated blind indexes.

use crate::audit::AuditEvent;
use crate::authz::fields::{FieldGroups, GroupAccess};
use crate::authz::{Action, CollectionAction, FieldGroup, RecordAction, RecordAttrs, RecordType};
use crate::contact_access::{
    changed_access_attribute, contact_attrs, contact_input_fields, contact_patch_fields,
};
use crate::cursor;
use crate::custom_fields::{self as cf, CustomValues};
use crate::patch;
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::from_millis;
use custodian_domain::custom_fields::FieldEntity;
use custodian_domain::error::Validator;
use custodian_domain::search::{name_tokens, normalize_for_match};
use custodian_domain::values::{
    Address, Email, JobTitle, Notes, PersonName, Phone, Region, Tag, Team, limits, parse_tags,
};
use custodian_domain::{CompanyId, ContactId, FieldError, UserId};
use custodian_store::ConnectionTrait;
use custodian_store::entities::contact;
use custodian_store::page::{Direction, KeyValue};
use custodian_store::repo;
use custodian_store::repo::BulkInsert;
pub use custodian_store::repo::Deleted;
use custodian_store::repo::contacts::Sort as ContactSortKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TABLE: &str = "contacts";
const ENTITY: &str = "contact";
/// Most candidate rows a blind-index search will decrypt and confirm.
const SEARCH_CANDIDATE_CAP: u64 = 2_000;
/// Most contacts created in one batch transaction.
pub const MAX_BATCH: usize = 1_000;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// A new contact as submitted (API or form). Parsed into value objects before anything is stored.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: String,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub team: Option<String>,
    /// The territory; by default the creating user's region.
    #[serde(default)]
    pub region: Option<String>,
    /// 0 (ordinary, the default) to 9; users see a record only with a clearance at least as
    /// high.
    #[serde(default)]
    pub sensitivity: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values by key, each of the field's type.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom_fields: CustomValues,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// A partial update. `version` is the version the client last saw: if the contact changed
/// since, the update is refused with a conflict instead of overwriting someone's work.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub emails: Option<Vec<String>>,
    #[serde(default)]
    pub phones: Option<Vec<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub company_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub team: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub region: Option<Option<String>>,
    #[serde(default)]
    pub sensitivity: Option<i64>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Custom field values to change by key; `null` clears one, keys left out stay.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_fields: Option<CustomValues>,
}

crate::redacted_debug!(ContactInput, ContactPatch, ContactView, ContactSummary);

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// A contact as its reader sees it.
#[derive(Clone, Serialize)]
pub struct ContactView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ContactId,
    pub name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub job_title: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    pub address: Option<String>,
    pub notes: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    pub team: Option<String>,
    pub region: Option<String>,
    pub sensitivity: i64,
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
    /// Custom field values by key (personal and sensitive ones included: a detail view).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_fields: Option<CustomValues>,
    /// What the caller gets of each field group (`contact_details`: e-mails, phones, address;
    /// `notes`; `sensitive_custom`: sensitive custom fields): `full`, `masked` (shown as
    /// `zh***@e***.com`; `POST …/reveal` shows them after step-up) or `hidden` (empty here).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub field_groups: FieldGroups,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// A row of a contact list: what a list shows, without notes or address.
#[derive(Clone, Serialize)]
pub struct ContactSummary {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ContactId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    pub team: Option<String>,
    pub region: Option<String>,
    pub tags: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<time::OffsetDateTime>,
    /// Public and internal custom field values (personal ones are on the detail view only).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom_fields: CustomValues,
    /// As on the detail view (`contact_details` only: a list shows no notes).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub field_groups: FieldGroups,
}

crate::cursor::sort_orders!(
    ContactSort: ContactSortKey,
    "must be one of: created, -created, updated, -updated (contacts cannot be sorted by encrypted fields)",
    {
        CreatedDesc = "-created" => (Created, Desc),
        CreatedAsc = "created" => (Created, Asc),
        UpdatedDesc = "-updated" => (Updated, Desc),
        UpdatedAsc = "updated" => (Updated, Asc),
    }
);

/// A list request: filters on non-sensitive columns, exact search by e-mail or phone, word
/// search by name, keyset pagination.
#[derive(Clone, Default)]
pub struct ContactQuery {
    pub owner_id: Option<Uuid>,
    pub team: Option<String>,
    pub company_id: Option<Uuid>,
    pub tag: Option<String>,
    pub deleted: Deleted,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    /// Exact match on a public or internal custom field: (key, value).
    pub custom_field: Option<(String, String)>,
    /// `Some(true)`: only contacts who asked not to be contacted; `Some(false)`: everyone
    /// else (what a campaign sends to).
    pub do_not_contact: Option<bool>,
    pub sort: ContactSort,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}
crate::redacted_debug!(ContactQuery);

#[derive(Debug, Clone)]
pub struct ContactPage {
    pub items: Vec<ContactSummary>,
    pub next_cursor: Option<String>,
}

/// A new contact ready to store: everything computed, nothing written.
pub(crate) struct PreparedContact {
    actor: Uuid,
    index_version: i64,
    key: std::sync::Arc<DataKey>,
    key_row: custodian_store::entities::data_key::Model,
    row: contact::Model,
    tokens: [(&'static str, Vec<i64>); 3],
    data: ContactData,
    custom: Vec<custodian_store::entities::custom_field_value::Model>,
}

impl PreparedContact {
    pub(crate) fn id(&self) -> ContactId {
        ContactId(self.row.id)
    }
}

/// Validated contact fields.
struct ContactData {
    name: PersonName,
    emails: Vec<Email>,
    phones: Vec<Phone>,
    job_title: Option<JobTitle>,
    company_id: Option<Uuid>,
    address: Option<Address>,
    notes: Option<Notes>,
    owner_id: Option<Uuid>,
    team: Option<Team>,
    region: Option<Region>,
    sensitivity: i64,
    tags: Vec<Tag>,
}

/// Highest record sensitivity.
pub const MAX_SENSITIVITY: i64 = 9;

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

fn list_of<T>(
    v: &mut Validator,
    field: &str,
    raw: &[String],
    max: usize,
    parse: impl Fn(&str, &str) -> Result<T, FieldError>,
) -> Vec<T>
where
    T: PartialEq,
{
    if raw.len() > max {
        v.push(FieldError::new(
            field,
            "too_many",
            format!("at most {max} values are allowed"),
        ));
        return Vec::new();
    }
    let mut out: Vec<T> = Vec::new();
    for (i, item) in raw.iter().enumerate().filter(|(_, s)| !s.trim().is_empty()) {
        if let Some(parsed) = v.check(parse(&format!("{field}[{i}]"), item))
            && !out.contains(&parsed)
        {
            out.push(parsed);
        }
    }
    out
}

impl ContactData {
    fn parse(input: &ContactInput) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let name = v.check(PersonName::parse("name", &input.name));
        let emails = list_of(
            &mut v,
            "emails",
            &input.emails,
            limits::EMAILS,
            Email::parse,
        );
        let phones = list_of(
            &mut v,
            "phones",
            &input.phones,
            limits::PHONES,
            Phone::parse,
        );
        let job_title = optional(&mut v, input.job_title.as_deref(), |s| {
            JobTitle::parse("job_title", s)
        });
        let address = optional(&mut v, input.address.as_deref(), |s| {
            Address::parse("address", s)
        });
        let notes = optional(&mut v, input.notes.as_deref(), |s| Notes::parse("notes", s));
        let team = optional(&mut v, input.team.as_deref(), |s| Team::parse("team", s));
        let region = optional(&mut v, input.region.as_deref(), |s| {
            Region::parse("region", s)
        });
        let sensitivity = input.sensitivity.unwrap_or(0);
        if !(0..=MAX_SENSITIVITY).contains(&sensitivity) {
            v.push(FieldError::new(
                "sensitivity",
                "out_of_range",
                format!("must be from 0 (ordinary) to {MAX_SENSITIVITY}"),
            ));
        }
        let tags = v.check(parse_tags("tags", &input.tags)).unwrap_or_default();
        v.finish()?;
        Ok(Self {
            name: name.ok_or(CoreError::Internal("validated name missing"))?,
            emails,
            phones,
            job_title,
            company_id: input.company_id,
            address,
            notes,
            owner_id: input.owner_id,
            team,
            region,
            sensitivity,
            tags,
        })
    }

    fn to_input(view: &ContactView) -> ContactInput {
        ContactInput {
            name: view.name.clone(),
            emails: view.emails.clone(),
            phones: view.phones.clone(),
            job_title: view.job_title.clone(),
            company_id: view.company_id.map(|c| c.as_uuid()),
            address: view.address.clone(),
            notes: view.notes.clone(),
            owner_id: view.owner_id.map(|u| u.as_uuid()),
            team: view.team.clone(),
            region: view.region.clone(),
            sensitivity: Some(view.sensitivity),
            tags: view.tags.clone(),
            custom_fields: CustomValues::new(),
        }
    }
}

fn apply_patch(mut input: ContactInput, patch: ContactPatch) -> ContactInput {
    if let Some(v) = patch.name {
        input.name = v;
    }
    if let Some(v) = patch.emails {
        input.emails = v;
    }
    if let Some(v) = patch.phones {
        input.phones = v;
    }
    if let Some(v) = patch.job_title {
        input.job_title = v;
    }
    if let Some(v) = patch.company_id {
        input.company_id = v;
    }
    if let Some(v) = patch.address {
        input.address = v;
    }
    if let Some(v) = patch.notes {
        input.notes = v;
    }
    if let Some(v) = patch.owner_id {
        input.owner_id = v;
    }
    if let Some(v) = patch.team {
        input.team = v;
    }
    if let Some(v) = patch.region {
        input.region = v;
    }
    if let Some(v) = patch.sensitivity {
        input.sensitivity = Some(v);
    }
    if let Some(v) = patch.tags {
        input.tags = v;
    }
    input
}

fn json_list(items: &[&str]) -> Vec<u8> {
    serde_json::to_vec(items).unwrap_or_default()
}

/// The fields a new contact sets (names only: the event never holds a value).
fn input_field_names(input: &ContactInput) -> Vec<&'static str> {
    let mut names = vec!["name"];
    for (name, set) in [
        ("emails", !input.emails.is_empty()),
        ("phones", !input.phones.is_empty()),
        ("job_title", input.job_title.is_some()),
        ("company_id", input.company_id.is_some()),
        ("address", input.address.is_some()),
        ("notes", input.notes.is_some()),
        ("owner_id", input.owner_id.is_some()),
        ("custom_fields", !input.custom_fields.is_empty()),
    ] {
        if set {
            names.push(name);
        }
    }
    names
}

/// The fields a patch names.
fn patch_field_names(patch: &ContactPatch) -> Vec<&'static str> {
    [
        ("name", patch.name.is_some()),
        ("emails", patch.emails.is_some()),
        ("phones", patch.phones.is_some()),
        ("job_title", patch.job_title.is_some()),
        ("company_id", patch.company_id.is_some()),
        ("address", patch.address.is_some()),
        ("notes", patch.notes.is_some()),
        ("owner_id", patch.owner_id.is_some()),
        ("team", patch.team.is_some()),
        ("region", patch.region.is_some()),
        ("sensitivity", patch.sensitivity.is_some()),
        ("tags", patch.tags.is_some()),
        ("custom_fields", patch.custom_fields.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

impl Core {
    pub async fn create_contact(
        &self,
        actor: &Actor,
        input: ContactInput,
    ) -> Result<ContactView, CoreError> {
        // All parsing and cryptography happen before the transaction: the write lock is held
        // only for the inserts.
        let fields = self
            .field_set(self.store().conn(), FieldEntity::Contact)
            .await?;
        let (prepared, custom) = match self.prepare_contact_with_fields(actor, &input, &fields) {
            Ok(prepared) => prepared,
            Err(e) => return Err(self.refused_contact_write(actor, Uuid::nil(), e).await),
        };
        let key = prepared.key.clone();
        let row = prepared.row.clone();
        let event = AuditEvent::by(actor, AuditCode::DataCreate)
            .target(ENTITY, row.id)
            .fields(
                &contact_input_fields(&input, &fields),
                &input_field_names(&input),
            );
        let pending = self.prepare_audit(self.store().conn(), event).await?;
        self.inner.contact_writer.create(prepared, pending).await?;
        let mut view = self.contact_view(&key, &row)?;
        view.custom_fields = Some(custom.values()?);
        let attrs = contact_attrs(&row, Vec::new());
        Ok(self.publish_contact_with(actor, &attrs, view, &fields.sensitive_keys()))
    }

    /// Creates many contacts in one transaction: all or none (imports, demo data).
    pub async fn create_contacts(
        &self,
        actor: &Actor,
        inputs: &[ContactInput],
    ) -> Result<Vec<ContactId>, CoreError> {
        if inputs.len() > MAX_BATCH {
            return Err(FieldError::new(
                "contacts",
                "too_many",
                format!("at most {MAX_BATCH} contacts per batch"),
            )
            .into());
        }
        let fields = self
            .field_set(self.store().conn(), FieldEntity::Contact)
            .await?;
        let prepared = inputs
            .iter()
            .map(|input| {
                self.prepare_contact_with_fields(actor, input, &fields)
                    .map(|(p, _)| p)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ids = prepared.iter().map(|p| ContactId(p.row.id)).collect();
        let txn = self.store().begin().await?;
        // A batch mostly repeats a few owners and companies: each is checked once.
        let mut checked = std::collections::HashSet::new();
        for contact in &prepared {
            if checked.insert((contact.data.company_id, contact.data.owner_id)) {
                check_references(&txn, contact.actor, &contact.data).await?;
            }
        }
        let events = prepared
            .iter()
            .zip(inputs)
            .map(|(contact, input)| {
                AuditEvent::by(actor, AuditCode::DataCreate)
                    .target(ENTITY, contact.row.id)
                    .fields(
                        &contact_input_fields(input, &fields),
                        &input_field_names(input),
                    )
            })
            .collect();
        insert_prepared_many(&txn, prepared).await?;
        self.audit_in(&txn, events).await?;
        txn.commit().await?;
        Ok(ids)
    }

    /// [`Core::prepare_contact`] with the contact's custom values validated against `fields`
    /// and encrypted under the new contact's key; every problem of both is reported at once.
    /// Also returns the validated custom values (a view shows them through `values()`).
    pub(crate) fn prepare_contact_with_fields(
        &self,
        actor: &Actor,
        input: &ContactInput,
        fields: &cf::FieldSet,
    ) -> Result<(PreparedContact, cf::CustomChanges), CoreError> {
        let custom = fields.check(&input.custom_fields, true);
        let (mut prepared, custom) = cf::merge(self.prepare_contact(actor, input), custom)?;
        let attrs = contact_attrs(&prepared.row, Vec::new());
        if let Some(refused) =
            self.forbidden_field(actor, &attrs, &contact_input_fields(input, fields))
        {
            return Err(refused);
        }
        prepared.custom = self.encode_custom(
            FieldEntity::Contact,
            &prepared.key,
            prepared.row.id,
            &custom,
            prepared.row.created_at,
        )?;
        Ok((prepared, custom))
    }

    /// Validates, creates the contact's data key, encrypts and computes search tokens: no I/O.
    pub(crate) fn prepare_contact(
        &self,
        actor: &Actor,
        input: &ContactInput,
    ) -> Result<PreparedContact, CoreError> {
        let mut data = ContactData::parse(input)?;
        data.owner_id.get_or_insert(actor.user_id.as_uuid());
        if data.region.is_none() {
            // A new record belongs to its creator's territory unless they name one.
            data.region = actor
                .principal
                .region
                .as_deref()
                .and_then(|r| Region::parse("region", r).ok());
        }
        let now = self.now();
        let id = ContactId::new_at(now);
        let (key, key_row) = self
            .keys()
            .new_data_key(&format!("contact:{id}"), self.rng(), now)?;
        let row = self.encrypt_contact(&key, id.as_uuid(), &data, now, now, None, 1)?;
        let create = Action::Record(RecordAction::Create);
        if !self.permits_record(
            actor,
            create,
            RecordType::Contact,
            &contact_attrs(&row, Vec::new()),
        ) {
            return Err(CoreError::Forbidden);
        }
        let tokens = self.contact_tokens(&data)?;
        Ok(PreparedContact {
            actor: actor.user_id.as_uuid(),
            index_version: self.keys().index_version(),
            key,
            key_row,
            row,
            tokens,
            data,
            custom: Vec::new(),
        })
    }

    pub async fn get_contact(
        &self,
        actor: &Actor,
        id: ContactId,
    ) -> Result<ContactView, CoreError> {
        let (row, attrs) = self
            .authorized_contact(actor, id, RecordAction::Read)
            .await?;
        let conn = self.store().conn();
        let key = self.keys().data_key(conn, row.dek_id).await?;
        let mut view = self.contact_view(&key, &row)?;
        view.custom_fields = Some(
            self.record_custom(conn, FieldEntity::Contact, row.id, &key)
                .await?,
        );
        let view = self.publish_contact(actor, &attrs, view).await?;
        self.audit_contact_read(actor, &attrs, row.id).await?;
        Ok(view)
    }

    pub async fn update_contact(
        &self,
        actor: &Actor,
        id: ContactId,
        patch: ContactPatch,
    ) -> Result<ContactView, CoreError> {
        let conn = self.store().conn();
        let (existing, before) = self
            .authorized_contact(actor, id, RecordAction::Update)
            .await?;
        let key = self.keys().data_key(conn, existing.dek_id).await?;
        let current = self.contact_view(&key, &existing)?;
        if current.deleted_at.is_some() {
            return Err(CoreError::Conflict(
                "the contact is deleted; restore it before editing",
            ));
        }
        let expected = patch.version;
        if expected != current.version {
            return Err(CoreError::StaleVersion {
                current_version: current.version,
            });
        }
        let fields = self.field_set(conn, FieldEntity::Contact).await?;
        let written = contact_patch_fields(&patch, &fields);
        let event = AuditEvent::by(actor, AuditCode::DataUpdate)
            .target(ENTITY, id.as_uuid())
            .fields(&written, &patch_field_names(&patch))
            .detail("from_version", expected)
            .detail("to_version", expected + 1);
        let custom = fields.check(&patch.custom_fields.clone().unwrap_or_default(), false);
        let (data, custom) = cf::merge(
            ContactData::parse(&apply_patch(ContactData::to_input(&current), patch)),
            custom,
        )?;
        // Encrypt before taking the write lock; the versioned write below still refuses the
        // change if anyone wrote since `existing` was read.
        let now = self.now().max(existing.updated_at);
        let row = self.encrypt_contact(
            &key,
            id.as_uuid(),
            &data,
            existing.created_at,
            now,
            None,
            expected + 1,
        )?;
        // The record as it will be must still be one the actor may change: nobody moves a
        // record to a territory, owner or sensitivity beyond their own reach.
        let after = contact_attrs(&row, before.case_handlers.clone());
        let update = Action::Record(RecordAction::Update);
        let refused = if self.permits_record(actor, update, RecordType::Contact, &after) {
            self.forbidden_field(actor, &after, &written)
        } else {
            Some(CoreError::FieldNotPermitted {
                field: changed_access_attribute(&before, &after).to_owned(),
                group: "access attributes",
            })
        };
        if let Some(refused) = refused {
            return Err(self
                .refused_contact_write(actor, id.as_uuid(), refused)
                .await);
        }
        let txn = self.store().begin().await?;
        check_references(&txn, actor.user_id.as_uuid(), &data).await?;
        crate::versioned_write(
            "contact",
            repo::contacts::update_versioned(&txn, row.clone(), expected).await?,
        )?;
        self.write_contact_indexes(&txn, id.as_uuid(), &data)
            .await?;
        self.write_custom(&txn, FieldEntity::Contact, &key, id.as_uuid(), &custom, now)
            .await?;
        let values = self
            .record_custom(&txn, FieldEntity::Contact, id.as_uuid(), &key)
            .await?;
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        let mut view = self.contact_view(&key, &row)?;
        view.custom_fields = Some(values);
        Ok(self.publish_contact_with(actor, &after, view, &fields.sensitive_keys()))
    }

    /// A merge of imported values into an existing contact, validated and encrypted; nothing
    /// written. Imported non-empty values replace the contact's; e-mails, phones and tags are
    /// added to the contact's own.
    pub(crate) async fn prepare_merge<C: ConnectionTrait>(
        &self,
        conn: &C,
        existing: contact::Model,
        imported: &ContactInput,
        fields: &cf::FieldSet,
    ) -> Result<PreparedMerge, CoreError> {
        let key = self.keys().data_key(conn, existing.dek_id).await?;
        let current = self.contact_view(&key, &existing)?;
        let merged = merged_input(ContactData::to_input(&current), imported);
        // Only the imported custom values change; the contact's others stay as they are.
        let custom = fields.check(&imported.custom_fields, false);
        let (data, custom) = cf::merge(ContactData::parse(&merged), custom)?;
        let now = self.now().max(existing.updated_at);
        let row = self.encrypt_contact(
            &key,
            existing.id,
            &data,
            existing.created_at,
            now,
            None,
            existing.version + 1,
        )?;
        Ok(PreparedMerge {
            expected_version: existing.version,
            row,
            data,
            key,
            custom,
            now,
        })
    }

    /// Writes a prepared merge; a contact changed since it was read is a 409.
    pub(crate) async fn write_merge<C: ConnectionTrait>(
        &self,
        txn: &C,
        merge: PreparedMerge,
    ) -> Result<(), CoreError> {
        let id = merge.row.id;
        crate::versioned_write(
            "contact",
            repo::contacts::update_versioned(txn, merge.row, merge.expected_version).await?,
        )?;
        self.write_contact_indexes(txn, id, &merge.data).await?;
        self.write_custom(
            txn,
            FieldEntity::Contact,
            &merge.key,
            id,
            &merge.custom,
            merge.now,
        )
        .await
    }

    /// Soft delete: the record leaves lists and search but can be restored.
    pub async fn delete_contact(&self, actor: &Actor, id: ContactId) -> Result<(), CoreError> {
        self.set_contact_deleted(actor, id, true).await.map(|_| ())
    }

    pub async fn restore_contact(
        &self,
        actor: &Actor,
        id: ContactId,
    ) -> Result<ContactView, CoreError> {
        self.set_contact_deleted(actor, id, false).await
    }

    async fn set_contact_deleted(
        &self,
        actor: &Actor,
        id: ContactId,
        delete: bool,
    ) -> Result<ContactView, CoreError> {
        let action = if delete {
            RecordAction::Delete
        } else {
            RecordAction::Restore
        };
        let (_, attrs) = self.authorized_contact(actor, id, action).await?;
        let txn = self.store().begin().await?;
        let outcome = repo::contacts::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome("contact", delete, outcome)?;
        let row = repo::contacts::get(&txn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "contact" })?;
        let key = self.keys().data_key(&txn, row.dek_id).await?;
        let values = self
            .record_custom(&txn, FieldEntity::Contact, row.id, &key)
            .await?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, delete, ENTITY, row.id)],
        )
        .await?;
        txn.commit().await?;
        let mut view = self.contact_view(&key, &row)?;
        view.custom_fields = Some(values);
        let attrs = RecordAttrs {
            deleted: row.deleted_at.is_some(),
            ..attrs
        };
        self.publish_contact(actor, &attrs, view).await
    }

    pub async fn list_contacts(
        &self,
        actor: &Actor,
        query: ContactQuery,
    ) -> Result<ContactPage, CoreError> {
        self.require_collection(actor, RecordType::Contact, CollectionAction::List)
            .await?;
        let limit = cursor::page_size(query.limit)?;
        let sort_code = query.sort.code();
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(sort_code, c))
            .transpose()?;
        let ids = self.search_contact_ids(actor, &query).await?;
        let custom_value = match &query.custom_field {
            Some((key, value)) => Some(self.custom_filter(FieldEntity::Contact, key, value).await?),
            None => None,
        };
        let conn = self.store().conn();
        let filter = repo::contacts::Filter {
            owner_id: query.owner_id,
            team: query.team.clone(),
            company_id: query.company_id,
            tag: query.tag.as_deref().map(str::to_lowercase),
            deleted: query.deleted,
            ids,
            custom_value,
            do_not_contact: query.do_not_contact,
            access: None,
        };
        let (sort, direction) = query.sort.parts();
        let key_of = |last: &contact::Model| {
            (
                KeyValue::Int(match sort {
                    repo::contacts::Sort::Created => last.created_at,
                    repo::contacts::Sort::Updated => last.updated_at,
                }),
                last.id,
            )
        };
        let page = self
            .list_readable_contacts(actor, filter, sort, direction, after, limit, key_of)
            .await?;
        let (page, attrs) = page;
        let next_cursor = cursor::next(sort_code, &page, key_of);
        let items = self
            .summarize_contacts(conn, &page.items)
            .await?
            .into_iter()
            .zip(&attrs)
            .map(|(summary, attrs)| self.publish_summary(actor, attrs, summary))
            .collect::<Vec<_>>();
        if !page.items.is_empty() {
            // A list shows names and contact details: a read of every contact on the page.
            let ids: Vec<String> = page.items.iter().map(|c| c.id.to_string()).collect();
            self.audit_read(
                AuditEvent::by(actor, AuditCode::DataRead)
                    .detail("list", ENTITY)
                    .detail("count", ids.len())
                    .detail("ids", ids),
            )
            .await?;
        }
        Ok(ContactPage { items, next_cursor })
    }

    /// Resolves the search parameters to the confirmed matching ids, or `None` when the query
    /// has no search parameter.
    async fn search_contact_ids(
        &self,
        actor: &Actor,
        query: &ContactQuery,
    ) -> Result<Option<Vec<Uuid>>, CoreError> {
        let mut result: Option<Vec<Uuid>> = None;
        let mut narrow = |ids: Vec<Uuid>| {
            result = Some(match result.take() {
                None => ids,
                Some(prev) => prev.into_iter().filter(|id| ids.contains(id)).collect(),
            });
        };
        if let Some(raw) = query.email.as_deref() {
            let email = Email::parse("email", raw)?;
            let wanted = email.as_str();
            narrow(
                self.blind_search(actor, SearchField::Email, &[wanted.to_owned()], |emails| {
                    emails.iter().any(|e| e == wanted)
                })
                .await?,
            );
        }
        if let Some(raw) = query.phone.as_deref() {
            let phone = Phone::parse("phone", raw)?;
            let wanted = phone.as_str();
            narrow(
                self.blind_search(actor, SearchField::Phone, &[wanted.to_owned()], |phones| {
                    phones.iter().any(|p| p == wanted)
                })
                .await?,
            );
        }
        if let Some(raw) = query.name.as_deref() {
            let words = name_tokens(raw);
            if words.is_empty() || raw.chars().count() > limits::NAME {
                return Err(FieldError::new(
                    "name",
                    "invalid_search",
                    "enter at least one word of the name (at most 200 characters)",
                )
                .into());
            }
            let wanted = normalize_for_match(raw);
            narrow(
                self.blind_search(actor, SearchField::Name, &words, |names| {
                    names.iter().any(|name| {
                        normalize_for_match(name).contains(&wanted)
                            || words.iter().all(|w| name_tokens(name).contains(w))
                    })
                })
                .await?,
            );
        }
        Ok(result)
    }

    /// Contacts whose `field` carries every one of the normalised `values`, confirmed by
    /// `matches` on the decrypted contact.
    async fn blind_search(
        &self,
        actor: &Actor,
        field: SearchField,
        values: &[String],
        matches: impl Fn(&[String]) -> bool,
    ) -> Result<Vec<Uuid>, CoreError> {
        let conn = self.store().conn();
        let index = field.index();
        let tokens = values
            .iter()
            .map(|v| self.keys().blind(TABLE, index, v))
            .collect::<Result<Vec<_>, _>>()?;
        let candidates =
            repo::search_tokens::candidates(conn, ENTITY, index, &tokens, SEARCH_CANDIDATE_CAP)
                .await?;
        if candidates.len() as u64 >= SEARCH_CANDIDATE_CAP {
            // Never return a silently partial answer.
            return Err(FieldError::new(
                index,
                "too_many_matches",
                "matches too many contacts to search through; add more of the name (or search by e-mail or phone)",
            )
            .into());
        }
        self.confirm(actor, conn, &candidates, field, matches).await
    }

    /// Decrypts candidate rows and keeps those the predicate confirms: blind indexes are
    /// truncated, so a token match is only a candidate. A search by e-mail or phone only
    /// matches contacts whose details the actor reads in full: otherwise it would confirm a
    /// value the caller sees only masked.
    async fn confirm<C: ConnectionTrait>(
        &self,
        actor: &Actor,
        conn: &C,
        candidates: &[Uuid],
        field: SearchField,
        matches: impl Fn(&[String]) -> bool,
    ) -> Result<Vec<Uuid>, CoreError> {
        let mut rows = repo::contacts::get_many(conn, candidates).await?;
        if matches!(field, SearchField::Email | SearchField::Phone) {
            let attrs = self.contacts_attrs(conn, &rows).await?;
            let mut attrs = attrs.iter();
            rows.retain(|_| {
                attrs.next().is_some_and(|a| {
                    self.group_access(actor, RecordType::Contact, a, FieldGroup::ContactDetails)
                        == GroupAccess::Full
                })
            });
        }
        let key_ids: Vec<Uuid> = rows.iter().map(|r| r.dek_id).collect();
        let keys = self.keys().data_keys(conn, &key_ids).await?;
        let mut out = Vec::new();
        for (row, key) in rows.iter().zip(keys) {
            if matches(&field.values(&self.fields(&key, row))?) {
                out.push(row.id);
            }
        }
        Ok(out)
    }

    async fn summarize_contacts<C: ConnectionTrait>(
        &self,
        conn: &C,
        rows: &[contact::Model],
    ) -> Result<Vec<ContactSummary>, CoreError> {
        let key_ids: Vec<Uuid> = rows.iter().map(|r| r.dek_id).collect();
        let keys = self.keys().data_keys(conn, &key_ids).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut custom = self
            .custom_values(conn, FieldEntity::Contact, &ids, None)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, key) in rows.iter().zip(keys) {
            let f = self.fields(&key, row);
            out.push(ContactSummary {
                id: ContactId(row.id),
                name: f.name()?,
                email: f.list("emails", &row.emails_ct)?.into_iter().next(),
                phone: f.list("phones", &row.phones_ct)?.into_iter().next(),
                job_title: f.text("job_title", &row.job_title_ct)?,
                company_id: row.company_id.map(CompanyId),
                owner_id: row.owner_id.map(UserId),
                team: row.team.clone(),
                region: row.region.clone(),
                tags: row_tags(&row.tags)?,
                updated_at: from_millis(row.updated_at),
                deleted_at: row.deleted_at.map(from_millis),
                custom_fields: custom.remove(&row.id).unwrap_or_default(),
                field_groups: FieldGroups::new(),
            });
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn encrypt_contact(
        &self,
        key: &DataKey,
        id: Uuid,
        data: &ContactData,
        created_at: i64,
        updated_at: i64,
        deleted_at: Option<i64>,
        version: i64,
    ) -> Result<contact::Model, CoreError> {
        let k = self.keys();
        let rng = self.rng();
        let enc =
            |column: &'static str, bytes: &[u8]| k.encrypt(key, TABLE, column, id, bytes, rng);
        let enc_opt = |column: &'static str, text: Option<&str>| {
            text.map(|t| enc(column, t.as_bytes())).transpose()
        };
        Ok(contact::Model {
            id,
            dek_id: key.id(),
            name_ct: enc("name", data.name.as_str().as_bytes())?,
            emails_ct: if data.emails.is_empty() {
                None
            } else {
                let emails: Vec<&str> = data.emails.iter().map(Email::as_str).collect();
                Some(enc("emails", &json_list(&emails))?)
            },
            phones_ct: if data.phones.is_empty() {
                None
            } else {
                let phones: Vec<&str> = data.phones.iter().map(Phone::as_str).collect();
                Some(enc("phones", &json_list(&phones))?)
            },
            job_title_ct: enc_opt("job_title", data.job_title.as_ref().map(JobTitle::as_str))?,
            address_ct: enc_opt("address", data.address.as_ref().map(Address::as_str))?,
            notes_ct: enc_opt("notes", data.notes.as_ref().map(Notes::as_str))?,
            company_id: data.company_id,
            owner_id: data.owner_id,
            team: data.team.as_ref().map(|t| t.as_str().to_owned()),
            region: data.region.as_ref().map(|r| r.as_str().to_owned()),
            sensitivity: data.sensitivity,
            tags: serde_json::to_string(&tag_strings(&data.tags)).unwrap_or_default(),
            created_at,
            updated_at,
            deleted_at,
            version,
        })
    }

    /// Blind-index tokens of every searchable field.
    fn contact_tokens(
        &self,
        data: &ContactData,
    ) -> Result<[(&'static str, Vec<i64>); 3], CoreError> {
        let k = self.keys();
        let blind = |field: &'static str, values: Vec<String>| -> Result<_, CoreError> {
            let tokens = values
                .iter()
                .map(|v| k.blind(TABLE, field, v))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((field, tokens))
        };
        Ok([
            blind(
                "email",
                data.emails.iter().map(|e| e.as_str().to_owned()).collect(),
            )?,
            blind(
                "phone",
                data.phones.iter().map(|p| p.as_str().to_owned()).collect(),
            )?,
            blind("name", name_tokens(data.name.as_str()))?,
        ])
    }

    /// Replaces the search tokens and tags of an existing contact.
    async fn write_contact_indexes<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: Uuid,
        data: &ContactData,
    ) -> Result<(), CoreError> {
        let version = self.keys().index_version();
        repo::search_tokens::replace(conn, ENTITY, id, version, &self.contact_tokens(data)?)
            .await?;
        repo::tags::replace(conn, ENTITY, id, &tag_strings(&data.tags)).await?;
        Ok(())
    }

    /// A contact's e-mail addresses alone (duplicate checks decrypt nothing else).
    pub(crate) fn contact_emails(
        &self,
        key: &DataKey,
        row: &contact::Model,
    ) -> Result<Vec<String>, CoreError> {
        self.fields(key, row).list("emails", &row.emails_ct)
    }

    fn fields<'a>(&'a self, key: &'a DataKey, row: &'a contact::Model) -> Fields<'a> {
        Fields {
            keys: self.keys(),
            key,
            row,
        }
    }

    pub(crate) fn contact_view(
        &self,
        key: &DataKey,
        row: &contact::Model,
    ) -> Result<ContactView, CoreError> {
        let f = self.fields(key, row);
        Ok(ContactView {
            id: ContactId(row.id),
            name: f.name()?,
            emails: f.list("emails", &row.emails_ct)?,
            phones: f.list("phones", &row.phones_ct)?,
            job_title: f.text("job_title", &row.job_title_ct)?,
            company_id: row.company_id.map(CompanyId),
            address: f.text("address", &row.address_ct)?,
            notes: f.text("notes", &row.notes_ct)?,
            owner_id: row.owner_id.map(UserId),
            team: row.team.clone(),
            region: row.region.clone(),
            sensitivity: row.sensitivity,
            tags: row_tags(&row.tags)?,
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
            custom_fields: None,
            field_groups: FieldGroups::new(),
        })
    }
}

/// Decrypts the fields of one contact row with its data key.
struct Fields<'a> {
    keys: &'a crate::KeyRing,
    key: &'a DataKey,
    row: &'a contact::Model,
}

impl Fields<'_> {
    fn name(&self) -> Result<String, CoreError> {
        self.keys
            .decrypt_string(self.key, TABLE, "name", self.row.id, &self.row.name_ct)
    }

    fn text(
        &self,
        column: &'static str,
        ct: &Option<Vec<u8>>,
    ) -> Result<Option<String>, CoreError> {
        ct.as_deref()
            .map(|ct| {
                self.keys
                    .decrypt_string(self.key, TABLE, column, self.row.id, ct)
            })
            .transpose()
    }

    /// E-mails and phones are stored as one encrypted JSON list each.
    fn list(&self, column: &'static str, ct: &Option<Vec<u8>>) -> Result<Vec<String>, CoreError> {
        let Some(ct) = ct else {
            return Ok(Vec::new());
        };
        let bytes = self
            .keys
            .decrypt(self.key, TABLE, column, self.row.id, ct)?;
        serde_json::from_slice(&bytes).map_err(|_| CoreError::DataIntegrity {
            table: TABLE,
            column,
        })
    }
}

/// The searchable column a blind-index search confirms against.
#[derive(Debug, Clone, Copy)]
enum SearchField {
    Email,
    Phone,
    Name,
}

impl SearchField {
    fn index(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Name => "name",
        }
    }

    /// Decrypts only this column of a candidate: confirming a match needs nothing else.
    fn values(self, fields: &Fields<'_>) -> Result<Vec<String>, CoreError> {
        match self {
            Self::Email => fields.list("emails", &fields.row.emails_ct),
            Self::Phone => fields.list("phones", &fields.row.phones_ct),
            Self::Name => fields.name().map(|n| vec![n]),
        }
    }
}

/// Company and owner must exist (and the company be live). The actor is known to exist.
async fn check_references<C: ConnectionTrait>(
    conn: &C,
    actor: Uuid,
    data: &ContactData,
) -> Result<(), CoreError> {
    let mut v = Validator::new();
    if let Some(company) = data.company_id {
        let live = repo::companies::get(conn, company)
            .await?
            .is_some_and(|c| c.deleted_at.is_none());
        if !live {
            v.push(FieldError::new(
                "company_id",
                "unknown_company",
                "no company with this id exists",
            ));
        }
    }
    if let Some(owner) = data.owner_id
        && owner != actor
        && repo::users::get_live(conn, owner).await?.is_none()
    {
        v.push(FieldError::new(
            "owner_id",
            "unknown_user",
            "no user with this id exists",
        ));
    }
    Ok(v.finish()?)
}

/// A contact update computed by [`Core::prepare_merge`].
pub(crate) struct PreparedMerge {
    expected_version: i64,
    row: contact::Model,
    data: ContactData,
    key: std::sync::Arc<DataKey>,
    custom: cf::CustomChanges,
    now: i64,
}

/// Imported values over a contact's current ones: non-empty scalars replace, lists are joined
/// (without repeating a value already there).
pub(crate) fn merged_input(mut current: ContactInput, imported: &ContactInput) -> ContactInput {
    fn join(into: &mut Vec<String>, more: &[String]) {
        for value in more {
            if !into.iter().any(|v| v.eq_ignore_ascii_case(value)) {
                into.push(value.clone());
            }
        }
    }
    fn replace(into: &mut Option<String>, with: &Option<String>) {
        if let Some(v) = with.as_ref().filter(|v| !v.trim().is_empty()) {
            *into = Some(v.clone());
        }
    }
    if !imported.name.trim().is_empty() {
        current.name = imported.name.clone();
    }
    join(&mut current.emails, &imported.emails);
    join(&mut current.phones, &imported.phones);
    join(&mut current.tags, &imported.tags);
    replace(&mut current.job_title, &imported.job_title);
    replace(&mut current.address, &imported.address);
    replace(&mut current.notes, &imported.notes);
    replace(&mut current.team, &imported.team);
    if imported.company_id.is_some() {
        current.company_id = imported.company_id;
    }
    for (key, value) in &imported.custom_fields {
        current.custom_fields.insert(key.clone(), value.clone());
    }
    current
}

/// Writes many prepared contacts with multi-row inserts. The caller has checked what they
/// refer to (imports resolve companies themselves; the owner is the importing user).
pub(crate) async fn insert_prepared_many<C: ConnectionTrait>(
    txn: &C,
    prepared: Vec<PreparedContact>,
) -> Result<(), CoreError> {
    let mut bulk = BulkInsert::new(txn.get_database_backend());
    add_prepared_many(&mut bulk, prepared);
    Ok(bulk.execute(txn).await?)
}

/// The inserts of many prepared contacts, built without I/O (an import builds them on its
/// worker threads): data keys, then contacts, tokens, tags and custom values.
pub(crate) fn add_prepared_many(bulk: &mut BulkInsert, prepared: Vec<PreparedContact>) {
    use custodian_store::entities::{record_tag, search_token};
    let mut keys = Vec::with_capacity(prepared.len());
    let mut rows = Vec::with_capacity(prepared.len());
    let mut tokens = Vec::new();
    let mut tags = Vec::new();
    let mut custom = Vec::new();
    for p in prepared {
        custom.extend(p.custom);
        let id = p.row.id;
        for (field, values) in &p.tokens {
            let mut unique = values.clone();
            unique.sort_unstable();
            unique.dedup();
            tokens.extend(unique.into_iter().map(|token| search_token::Model {
                entity: ENTITY.to_owned(),
                field: (*field).to_owned(),
                token,
                entity_id: id,
                index_version: p.index_version,
            }));
        }
        tags.extend(
            tag_strings(&p.data.tags)
                .into_iter()
                .map(|tag| record_tag::Model {
                    entity: ENTITY.to_owned(),
                    tag,
                    entity_id: id,
                }),
        );
        keys.push(p.key_row);
        rows.push(p.row);
    }
    // In index order: B-tree inserts that land next to each other touch far fewer pages.
    tokens.sort_unstable_by(|a, b| (&a.field, a.token).cmp(&(&b.field, b.token)));
    repo::data_keys::add_many(bulk, keys);
    repo::contacts::add_many(bulk, rows);
    repo::search_tokens::add_many(bulk, tokens);
    repo::tags::add_many(bulk, tags);
    repo::custom_fields::add_many(bulk, custom);
}

/// Writes a prepared contact: data key, row, search tokens, tags.
pub(crate) async fn insert_prepared<C: ConnectionTrait>(
    txn: &C,
    prepared: &PreparedContact,
) -> Result<(), CoreError> {
    let id = prepared.row.id;
    check_references(txn, prepared.actor, &prepared.data).await?;
    repo::data_keys::insert(txn, prepared.key_row.clone()).await?;
    repo::contacts::insert(txn, prepared.row.clone()).await?;
    repo::search_tokens::insert_new(txn, ENTITY, id, prepared.index_version, &prepared.tokens)
        .await?;
    repo::tags::insert_new(txn, ENTITY, id, &tag_strings(&prepared.data.tags)).await?;
    repo::custom_fields::insert_many(txn, prepared.custom.clone()).await?;
    Ok(())
}

/// Group commit for contact creation. Concurrent creates queue here; one task writes whatever
/// has queued (up to [`GROUP_MAX`]) in one transaction, each contact inside its own savepoint
/// so one failure rolls back only that contact, and answers every request only after the
/// commit — one fsync for many contacts, the same durability for each.
#[derive(Debug, Clone)]
pub(crate) struct ContactWriter {
    queue: tokio::sync::mpsc::Sender<CreateJob>,
}

const GROUP_MAX: usize = 64;

struct CreateJob {
    prepared: PreparedContact,
    /// The `data_create` event, appended with the group.
    audit: crate::audit::PendingEvent,
    reply: tokio::sync::oneshot::Sender<Result<(), CoreError>>,
}

impl ContactWriter {
    /// Starts the writer task; it ends when the last `ContactWriter` is dropped.
    pub(crate) fn start(
        store: custodian_store::Store,
        audit: crate::audit::checkpoints::Trigger,
    ) -> Self {
        let (queue, mut jobs) = tokio::sync::mpsc::channel::<CreateJob>(1_024);
        tokio::spawn(async move {
            while let Some(first) = jobs.recv().await {
                let mut group = vec![first];
                while group.len() < GROUP_MAX {
                    match jobs.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                write_group(&store, &audit, group).await;
            }
        });
        Self { queue }
    }

    async fn create(
        &self,
        prepared: PreparedContact,
        audit: crate::audit::PendingEvent,
    ) -> Result<(), CoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send(CreateJob {
                prepared,
                audit,
                reply,
            })
            .await
            .map_err(|_| CoreError::Internal("the contact writer has stopped"))?;
        answer
            .await
            .map_err(|_| CoreError::Internal("the contact writer dropped a request"))?
    }
}

async fn write_group(
    store: &custodian_store::Store,
    audit: &crate::audit::checkpoints::Trigger,
    group: Vec<CreateJob>,
) {
    use custodian_store::TransactionTrait;
    let txn = match store.begin().await {
        Ok(txn) => txn,
        Err(e) => {
            tracing::error!(error = %e, "cannot begin a contact write");
            return fail_all(group, "storage unavailable");
        }
    };
    let mut results = Vec::with_capacity(group.len());
    for job in &group {
        let result = match txn.begin().await {
            Ok(savepoint) => match insert_prepared(&savepoint, &job.prepared).await {
                Ok(()) => savepoint.commit().await.map_err(CoreError::from),
                Err(e) => {
                    // Back to the savepoint: this contact only, the rest of the group stays.
                    if let Err(rollback) = savepoint.rollback().await {
                        tracing::error!(error = %rollback, "savepoint rollback failed");
                    }
                    Err(e)
                }
            },
            Err(e) => Err(CoreError::from(e)),
        };
        results.push(result);
    }
    // The created contacts' events, in the same transaction: no event, no contacts.
    let events = group
        .iter()
        .zip(&results)
        .filter(|(_, result)| result.is_ok())
        .map(|(job, _)| job.audit.clone())
        .collect();
    let appended = match crate::audit::chain_and_insert(
        &txn,
        events,
        audit.metrics(),
        crate::metrics::AppendKind::Write,
    )
    .await
    {
        Ok(appended) => appended,
        Err(e) => {
            tracing::error!(target: "security", error = %e, "audit append failed; the contact group was not written");
            return fail_all(group, "the audit log could not be written");
        }
    };
    match txn.commit().await {
        Ok(()) => {
            audit.appended(appended);
            for (job, result) in group.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "contact group commit failed; nothing was written");
            fail_all(group, "the write could not be committed");
        }
    }
}

fn fail_all(group: Vec<CreateJob>, reason: &'static str) {
    for job in group {
        let _ = job.reply.send(Err(CoreError::Internal(reason)));
    }
}

/// Tags stored with the row (a JSON array).
pub(crate) fn row_tags(json: &str) -> Result<Vec<String>, CoreError> {
    serde_json::from_str(json).map_err(|_| CoreError::DataIntegrity {
        table: "records",
        column: "tags",
    })
}

pub(crate) fn tag_strings(tags: &[Tag]) -> Vec<String> {
    tags.iter().map(|t| t.as_str().to_owned()).collect()
}
