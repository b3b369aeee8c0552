//! Leads: prospective contacts with a source, a status and a score. A lead is a data subject
//! with a data key of its own. Conversion turns it into a contact (and optionally a company and
//! a deal) in one transaction: the personal fields are re-encrypted under the new contact's
//! key, the lead's ciphertext is cleared and its data key destroyed, so nothing of the person
//! stays readable under the old key.

use crate::audit::AuditEvent;
use crate::authz::fields::{GroupAccess, mask_email, mask_phone};
use crate::authz::{CollectionAction, FieldGroup, RecordAction, RecordType};
use crate::companies::CompanyInput;
use crate::contacts::{ContactInput, insert_prepared};
use crate::cursor;
use crate::deals::DealInput;
use crate::patch;
use crate::record_access::{AccessRow, Placement};
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::from_millis;
use custodian_domain::error::Validator;
use custodian_domain::values::{
    CompanyName, Email, JobTitle, LeadScore, LeadSource, LeadStatus, Notes, OutcomeReason,
    PersonName, Phone,
};
use custodian_domain::{CompanyId, ContactId, DealId, FieldError, LeadId, UserId};
use custodian_store::ConnectionTrait;
use custodian_store::entities::lead;
use custodian_store::page::{After, Direction, KeyValue};
use custodian_store::repo::leads::Sort as LeadSortKey;
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

const TABLE: &str = "leads";
const ENTITY: &str = "lead";
/// Most blind-index candidates examined for one e-mail search.
const SEARCH_CANDIDATE_CAP: u64 = 2_000;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    /// The prospect's company as they name it; becomes a company on conversion if asked.
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// web, referral, event, trade_show, cold_call, partner, advertising or other (default).
    #[serde(default)]
    pub source: Option<String>,
    /// 0–100, default 0.
    #[serde(default)]
    pub score: Option<i64>,
    #[serde(default)]
    pub owner_id: Option<Uuid>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub company_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub notes: Option<Option<String>>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub score: Option<i64>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub owner_id: Option<Option<Uuid>>,
    /// `new` or `contacted`; qualification, disqualification and conversion have their own
    /// actions.
    #[serde(default)]
    pub status: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualifyLead {
    pub version: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisqualifyLead {
    pub version: i64,
    /// Why, in your words (encrypted with the lead's key).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The deal to open when converting, if any; it is linked to the new contact and company.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversionDeal {
    pub title: String,
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub pipeline_id: Option<Uuid>,
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    #[serde(default)]
    pub expected_close_on: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertLead {
    pub version: i64,
    /// Link the new contact to this existing company…
    #[serde(default)]
    pub company_id: Option<Uuid>,
    /// …or create a company from the lead's `company_name`.
    #[serde(default)]
    pub create_company: bool,
    #[serde(default)]
    pub deal: Option<ConversionDeal>,
}

/// What a converted lead became.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ConversionRefs {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub contact_id: Option<ContactId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub deal_id: Option<DealId>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub converted_at: time::OffsetDateTime,
}

/// A lead. Once converted its personal fields are gone (they live on in the contact), so
/// `name` and the rest are absent and `converted` says where to look.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct LeadView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: LeadId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub company_name: Option<String>,
    /// Sensitive: in the detail view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub source: String,
    pub status: String,
    pub score: i64,
    /// Why it was disqualified (personal free text): in the detail view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted: Option<ConversionRefs>,
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

crate::redacted_debug!(LeadInput, LeadPatch, DisqualifyLead, LeadView);

crate::cursor::sort_orders!(
    LeadSort: LeadSortKey,
    "must be one of: updated, -updated, created, -created, score, -score",
    {
        UpdatedDesc = "-updated" => (Updated, Desc),
        UpdatedAsc = "updated" => (Updated, Asc),
        CreatedDesc = "-created" => (Created, Desc),
        CreatedAsc = "created" => (Created, Asc),
        ScoreDesc = "-score" => (Score, Desc),
        ScoreAsc = "score" => (Score, Asc),
    }
);

#[derive(Debug, Clone, Default)]
pub struct LeadQuery {
    pub status: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<Uuid>,
    pub min_score: Option<i64>,
    /// Exact e-mail (blind index, then confirmed on the decrypted value).
    pub email: Option<String>,
    pub deleted: Deleted,
    pub sort: LeadSort,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct LeadPage {
    pub items: Vec<LeadView>,
    pub next_cursor: Option<String>,
}

/// A lead's own fields, validated.
struct LeadData {
    name: PersonName,
    email: Option<Email>,
    phone: Option<Phone>,
    job_title: Option<JobTitle>,
    company_name: Option<CompanyName>,
    notes: Option<Notes>,
    source: LeadSource,
    score: LeadScore,
    owner_id: Option<Uuid>,
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

impl LeadData {
    fn parse(input: &LeadInput) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let name = v.check(PersonName::parse("name", &input.name));
        let email = present(input.email.as_deref()).and_then(|e| v.check(Email::parse("email", e)));
        let phone = present(input.phone.as_deref()).and_then(|p| v.check(Phone::parse("phone", p)));
        let job_title = present(input.job_title.as_deref())
            .and_then(|j| v.check(JobTitle::parse("job_title", j)));
        let company_name = present(input.company_name.as_deref())
            .and_then(|c| v.check(CompanyName::parse("company_name", c)));
        let notes = present(input.notes.as_deref()).and_then(|n| v.check(Notes::parse("notes", n)));
        let source = match present(input.source.as_deref()) {
            Some(s) => v.check(LeadSource::parse("source", s)),
            None => Some(LeadSource::Other),
        };
        let score = v.check(LeadScore::parse("score", input.score.unwrap_or(0)));
        v.finish()?;
        let missing = || CoreError::Internal("validated lead field missing");
        Ok(Self {
            name: name.ok_or_else(missing)?,
            email,
            phone,
            job_title,
            company_name,
            notes,
            source: source.ok_or_else(missing)?,
            score: score.ok_or_else(missing)?,
            owner_id: input.owner_id,
        })
    }
}

fn apply_patch(mut input: LeadInput, patch: LeadPatch) -> LeadInput {
    if let Some(v) = patch.name {
        input.name = v;
    }
    if let Some(v) = patch.email {
        input.email = v;
    }
    if let Some(v) = patch.phone {
        input.phone = v;
    }
    if let Some(v) = patch.job_title {
        input.job_title = v;
    }
    if let Some(v) = patch.company_name {
        input.company_name = v;
    }
    if let Some(v) = patch.notes {
        input.notes = v;
    }
    if let Some(v) = patch.source {
        input.source = Some(v);
    }
    if let Some(v) = patch.score {
        input.score = Some(v);
    }
    if let Some(v) = patch.owner_id {
        input.owner_id = v;
    }
    input
}

fn rule(code: &'static str, message: &'static str) -> CoreError {
    CoreError::Rule { code, message }
}

/// Refuses changes to a lead whose life as a lead is over.
fn ensure_changeable(row: &lead::Model) -> Result<(), CoreError> {
    if row.deleted_at.is_some() {
        return Err(CoreError::Conflict(
            "the lead is deleted; restore it before changing it",
        ));
    }
    if row.status == LeadStatus::Converted.code() {
        return Err(rule(
            "lead_converted",
            "the lead has been converted; work with the contact it became",
        ));
    }
    Ok(())
}

/// The fields of a new lead with their groups, and whether the input sets them.
fn lead_fields(input: &LeadInput) -> [(&'static str, FieldGroup, bool); 3] {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    [
        ("email", FieldGroup::ContactDetails, set(&input.email)),
        ("phone", FieldGroup::ContactDetails, set(&input.phone)),
        ("notes", FieldGroup::Notes, set(&input.notes)),
    ]
}

/// The fields a new lead sets (names only: an audit event never holds a value).
fn input_field_names(input: &LeadInput) -> Vec<&'static str> {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    [
        ("name", true),
        ("email", set(&input.email)),
        ("phone", set(&input.phone)),
        ("job_title", set(&input.job_title)),
        ("company_name", set(&input.company_name)),
        ("notes", set(&input.notes)),
        ("source", input.source.is_some()),
        ("score", input.score.is_some()),
        ("owner_id", input.owner_id.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The fields a patch names.
fn patch_field_names(patch: &LeadPatch) -> Vec<&'static str> {
    [
        ("name", patch.name.is_some()),
        ("email", patch.email.is_some()),
        ("phone", patch.phone.is_some()),
        ("job_title", patch.job_title.is_some()),
        ("company_name", patch.company_name.is_some()),
        ("notes", patch.notes.is_some()),
        ("source", patch.source.is_some()),
        ("score", patch.score.is_some()),
        ("owner_id", patch.owner_id.is_some()),
        ("status", patch.status.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The restricted field groups among the fields written (their classification).
fn written_groups(written: impl IntoIterator<Item = (FieldGroup, bool)>) -> Vec<&'static str> {
    let mut groups: Vec<&str> = written
        .into_iter()
        .filter_map(|(group, set)| set.then_some(group.code()))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// The event of a change of the lead's status (qualified, disqualified).
fn status_event(before: &lead::Model, after: &lead::Model, actor: &Actor) -> AuditEvent {
    let mut fields = vec!["status"];
    if before.status_reason_ct.is_some() || after.status_reason_ct.is_some() {
        fields.push("status_reason");
    }
    AuditEvent::by(actor, AuditCode::DataUpdate)
        .target(ENTITY, after.id)
        .detail("fields", fields)
        .detail("status_from", before.status.clone())
        .detail("status_to", after.status.clone())
        .detail("from_version", before.version)
        .detail("to_version", after.version)
}

impl Core {
    pub async fn create_lead(
        &self,
        actor: &Actor,
        input: LeadInput,
    ) -> Result<LeadView, CoreError> {
        let result = async {
            let mut data = LeadData::parse(&input)?;
            data.owner_id.get_or_insert(actor.user_id.as_uuid());
            let now = self.now();
            let id = LeadId::new_at(now);
            let (key, key_row) =
                self.keys()
                    .new_data_key(&format!("lead:{id}"), self.rng(), now)?;
            let placement = Placement::new(actor, None);
            let mut row = lead::Model {
                id: id.as_uuid(),
                dek_id: key.id(),
                name_ct: None,
                email_ct: None,
                phone_ct: None,
                job_title_ct: None,
                notes_ct: None,
                status_reason_ct: None,
                company_name: None,
                source: String::new(),
                status: LeadStatus::New.code().to_owned(),
                score: 0,
                owner_id: None,
                converted_contact_id: None,
                converted_company_id: None,
                converted_deal_id: None,
                converted_at: None,
                team: placement.team,
                region: placement.region,
                sensitivity: placement.sensitivity,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                version: 1,
            };
            self.encrypt_lead(&key, &mut row, &data)?;
            self.authorize_new(actor, &row)?;
            for (field, group, written) in lead_fields(&input) {
                if written {
                    self.require_group_update(actor, &row, field, group)?;
                }
            }
            let tokens = self.lead_tokens(&data)?;
            let txn = self.store().begin().await?;
            crate::check_user(&txn, "owner_id", data.owner_id).await?;
            repo::data_keys::insert(&txn, key_row).await?;
            repo::leads::insert(&txn, row.clone()).await?;
            repo::search_tokens::insert_new(
                &txn,
                ENTITY,
                row.id,
                self.keys().index_version(),
                &tokens,
            )
            .await?;
            let groups = written_groups(lead_fields(&input).map(|(_, g, set)| (g, set)));
            let event = AuditEvent::by(actor, AuditCode::DataCreate)
                .target(ENTITY, row.id)
                .detail("fields", input_field_names(&input))
                .detail("groups", groups);
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.publish_lead(actor, Some(&key), &row, true)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    pub async fn get_lead(&self, actor: &Actor, id: LeadId) -> Result<LeadView, CoreError> {
        let conn = self.store().conn();
        let row = repo::leads::get(conn, id.as_uuid()).await?;
        let row = self.authorized(actor, row, RecordAction::Read).await?;
        let view = self.lead_view_loading_key(actor, conn, &row, true).await?;
        self.audit_read(AuditEvent::by(actor, AuditCode::DataRead).target(ENTITY, row.id))
            .await?;
        Ok(view)
    }

    /// The view with what the actor may read: contact details full, masked or withheld;
    /// notes and the status reason only with notes.
    fn publish_lead(
        &self,
        actor: &Actor,
        key: Option<&DataKey>,
        row: &lead::Model,
        detail: bool,
    ) -> Result<LeadView, CoreError> {
        let notes = self.reads_group(actor, row, FieldGroup::Notes);
        let mut view = self.lead_view(key, row, detail && notes)?;
        let details = self.group_access(
            actor,
            RecordType::Lead,
            &row.access_attrs(),
            FieldGroup::ContactDetails,
        );
        match details {
            GroupAccess::Full => {}
            GroupAccess::Masked => {
                view.email = view.email.map(|e| mask_email(&e));
                view.phone = view.phone.map(|p| mask_phone(&p));
            }
            GroupAccess::Hidden => {
                view.email = None;
                view.phone = None;
            }
        }
        Ok(view)
    }

    pub async fn update_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        patch: LeadPatch,
    ) -> Result<LeadView, CoreError> {
        let result = async {
            let status = match patch.status.as_deref() {
                None => None,
                Some(raw) => match LeadStatus::parse("status", raw)? {
                    s @ (LeadStatus::New | LeadStatus::Contacted) => Some(s),
                    _ => {
                        return Err(FieldError::new(
                            "status",
                            "invalid_status_change",
                            "only new or contacted can be set here; qualify, disqualify and convert have their own actions",
                        )
                        .into());
                    }
                },
            };
            let (existing, key) = self.changeable_lead(actor, id, patch.version).await?;
            let restricted = [
                ("email", FieldGroup::ContactDetails, patch.email.is_some()),
                ("phone", FieldGroup::ContactDetails, patch.phone.is_some()),
                ("notes", FieldGroup::Notes, patch.notes.is_some()),
            ];
            for (field, group, named) in restricted {
                if named {
                    self.require_group_update(actor, &existing, field, group)?;
                }
            }
            let event = AuditEvent::by(actor, AuditCode::DataUpdate)
                .target(ENTITY, existing.id)
                .detail("fields", patch_field_names(&patch))
                .detail(
                    "groups",
                    written_groups(restricted.map(|(_, g, named)| (g, named))),
                )
                .detail("from_version", existing.version)
                .detail("to_version", existing.version + 1);
            let current = self.lead_view(Some(&key), &existing, true)?;
            let data = LeadData::parse(&apply_patch(to_input(&current), patch))?;
            let mut row = existing.clone();
            self.encrypt_lead(&key, &mut row, &data)?;
            if let Some(status) = status {
                row.status = status.code().to_owned();
                row.status_reason_ct = None;
            }
            self.authorize_changed(actor, &existing.access_attrs(), &row)?;
            let tokens = self.lead_tokens(&data)?;
            let txn = self.store().begin().await?;
            crate::check_user(&txn, "owner_id", data.owner_id).await?;
            self.write_lead(&txn, &existing, &mut row).await?;
            repo::search_tokens::replace(&txn, ENTITY, row.id, self.keys().index_version(), &tokens)
                .await?;
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.publish_lead(actor, Some(&key), &row, true)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    /// Marks the lead qualified (from new, contacted or disqualified).
    pub async fn qualify_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        request: QualifyLead,
    ) -> Result<LeadView, CoreError> {
        let (existing, key) = self.changeable_lead(actor, id, request.version).await?;
        if existing.status == LeadStatus::Qualified.code() {
            return self.publish_lead(actor, Some(&key), &existing, true);
        }
        let mut row = existing.clone();
        row.status = LeadStatus::Qualified.code().to_owned();
        row.status_reason_ct = None;
        let txn = self.store().begin().await?;
        self.write_lead(&txn, &existing, &mut row).await?;
        self.audit_in(&txn, vec![status_event(&existing, &row, actor)])
            .await?;
        txn.commit().await?;
        self.publish_lead(actor, Some(&key), &row, true)
    }

    pub async fn disqualify_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        request: DisqualifyLead,
    ) -> Result<LeadView, CoreError> {
        let reason = present(request.reason.as_deref())
            .map(|r| OutcomeReason::parse("reason", r))
            .transpose()?;
        let (existing, key) = self.changeable_lead(actor, id, request.version).await?;
        let mut row = existing.clone();
        row.status = LeadStatus::Disqualified.code().to_owned();
        row.status_reason_ct = reason
            .map(|r| self.encrypt_field(&key, "status_reason", row.id, r.as_str()))
            .transpose()?;
        let txn = self.store().begin().await?;
        self.write_lead(&txn, &existing, &mut row).await?;
        self.audit_in(&txn, vec![status_event(&existing, &row, actor)])
            .await?;
        txn.commit().await?;
        self.publish_lead(actor, Some(&key), &row, true)
    }

    /// Converts the lead into a contact (its personal fields re-encrypted under the contact's
    /// new key), optionally a company and a deal, all in one transaction; then clears the
    /// lead's ciphertext and destroys its data key. A disqualified lead must be qualified
    /// first; a converted one cannot be converted again.
    pub async fn convert_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        request: ConvertLead,
    ) -> Result<LeadView, CoreError> {
        let result = async {
            if request.create_company && request.company_id.is_some() {
                return Err(FieldError::new(
                    "create_company",
                    "conflicting_company",
                    "either link an existing company (company_id) or create one, not both",
                )
                .into());
            }
            let (existing, key) = self.changeable_lead(actor, id, request.version).await?;
            if existing.status == LeadStatus::Disqualified.code() {
                return Err(rule(
                    "lead_disqualified",
                    "the lead is disqualified; qualify it before converting it",
                ));
            }
            let lead = self.lead_view(Some(&key), &existing, true)?;
            let now = self.now().max(existing.updated_at);
            let new_company = match (request.create_company, &lead.company_name) {
                (false, _) => None,
                (true, Some(name)) => Some((CompanyId::new_at(now), name.clone())),
                (true, None) => {
                    return Err(FieldError::new(
                        "create_company",
                        "company_name_required",
                        "the lead has no company name to create a company from; add one or link an existing company",
                    )
                    .into());
                }
            };
            let company_id = new_company
                .as_ref()
                .map(|(id, _)| id.as_uuid())
                .or(request.company_id);
            // Encrypt under the contact's own new key before taking the write lock.
            let contact = self.prepare_contact(
                actor,
                &ContactInput {
                    name: lead.name.clone().unwrap_or_default(),
                    emails: lead.email.clone().into_iter().collect(),
                    phones: lead.phone.clone().into_iter().collect(),
                    job_title: lead.job_title.clone(),
                    company_id,
                    address: None,
                    notes: lead.notes.clone(),
                    owner_id: existing.owner_id,
                    // The contact stays where the lead was.
                    team: existing.team.clone(),
                    region: existing.region.clone(),
                    sensitivity: Some(existing.sensitivity),
                    tags: Vec::new(),
                    custom_fields: Default::default(),
                },
            )?;
            let contact_fields =
                converted_contact_fields(&lead, company_id.is_some(), existing.owner_id.is_some());
            let txn = self.store().begin().await?;
            let mut events = Vec::new();
            if let Some((company_id, name)) = &new_company {
                let input = CompanyInput {
                    name: name.clone(),
                    owner_id: existing.owner_id,
                    ..CompanyInput::default()
                };
                self.insert_company(&txn, actor, &input, *company_id, now)
                    .await?;
                let mut fields = vec!["name"];
                if input.owner_id.is_some() {
                    fields.push("owner_id");
                }
                events.push(
                    AuditEvent::by(actor, AuditCode::DataCreate)
                        .target("company", company_id.as_uuid())
                        .detail("fields", fields)
                        .detail("converted_from", existing.id.to_string()),
                );
            }
            insert_prepared(&txn, &contact).await?;
            events.push(
                AuditEvent::by(actor, AuditCode::DataCreate)
                    .target("contact", contact.id().as_uuid())
                    .detail("fields", contact_fields.0)
                    .detail("groups", contact_fields.1)
                    .detail("converted_from", existing.id.to_string()),
            );
            let deal_id = match &request.deal {
                Some(deal) => {
                    let input = DealInput {
                        title: deal.title.clone(),
                        pipeline_id: deal.pipeline_id,
                        stage_id: deal.stage_id,
                        amount: deal.amount.clone(),
                        currency: deal.currency.clone(),
                        expected_close_on: deal.expected_close_on.clone(),
                        owner_id: existing.owner_id,
                        company_id,
                        contact_id: Some(contact.id().as_uuid()),
                        custom_fields: Default::default(),
                    };
                    let deal_id = self.insert_deal(&txn, actor, &input, now).await?.0.id;
                    events.push(
                        AuditEvent::by(actor, AuditCode::DataCreate)
                            .target("deal", deal_id)
                            .detail("fields", crate::deals::input_field_names(&input))
                            .detail("converted_from", existing.id.to_string()),
                    );
                    Some(deal_id)
                }
                None => None,
            };
            let mut row = existing.clone();
            row.name_ct = None;
            row.email_ct = None;
            row.phone_ct = None;
            row.job_title_ct = None;
            row.notes_ct = None;
            row.status_reason_ct = None;
            row.status = LeadStatus::Converted.code().to_owned();
            row.converted_contact_id = Some(contact.id().as_uuid());
            row.converted_company_id = company_id;
            row.converted_deal_id = deal_id;
            row.converted_at = Some(now);
            self.write_lead(&txn, &existing, &mut row).await?;
            repo::search_tokens::delete_for(&txn, ENTITY, row.id).await?;
            repo::data_keys::destroy(&txn, existing.dek_id, now).await?;
            let mut converted_to = serde_json::Map::new();
            converted_to.insert("contact".into(), contact.id().as_uuid().to_string().into());
            if let Some(company) = company_id {
                converted_to.insert("company".into(), company.to_string().into());
            }
            if let Some(deal) = deal_id {
                converted_to.insert("deal".into(), deal.to_string().into());
            }
            events.push(
                AuditEvent::by(actor, AuditCode::DataUpdate)
                    .target(ENTITY, row.id)
                    .detail("fields", cleared_fields(&existing))
                    .detail("status_from", existing.status.clone())
                    .detail("status_to", row.status.clone())
                    .detail("converted_to", serde_json::Value::Object(converted_to))
                    .detail("key_destroyed", true)
                    .detail("from_version", existing.version)
                    .detail("to_version", row.version),
            );
            self.audit_in(&txn, events).await?;
            txn.commit().await?;
            self.keys().forget(existing.dek_id);
            self.publish_lead(actor, None, &row, true)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    pub async fn delete_lead(&self, actor: &Actor, id: LeadId) -> Result<(), CoreError> {
        self.set_lead_deleted(actor, id, true).await.map(|_| ())
    }

    pub async fn restore_lead(&self, actor: &Actor, id: LeadId) -> Result<LeadView, CoreError> {
        self.set_lead_deleted(actor, id, false).await
    }

    async fn set_lead_deleted(
        &self,
        actor: &Actor,
        id: LeadId,
        delete: bool,
    ) -> Result<LeadView, CoreError> {
        let action = if delete {
            RecordAction::Delete
        } else {
            RecordAction::Restore
        };
        let row = repo::leads::get(self.store().conn(), id.as_uuid()).await?;
        self.authorized(actor, row, action).await?;
        let txn = self.store().begin().await?;
        let outcome = repo::leads::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome("lead", delete, outcome)?;
        let row = repo::leads::get(&txn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "lead" })?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, delete, ENTITY, row.id)],
        )
        .await?;
        txn.commit().await?;
        self.lead_view_loading_key(actor, self.store().conn(), &row, true)
            .await
    }

    pub async fn list_leads(&self, actor: &Actor, query: LeadQuery) -> Result<LeadPage, CoreError> {
        self.require_collection(actor, RecordType::Lead, CollectionAction::List)
            .await?;
        let access = self.read_filter(actor, RecordType::Lead)?;
        let limit = cursor::page_size(query.limit)?;
        let sort_code = query.sort.code();
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(sort_code, c))
            .transpose()?;
        let mut v = Validator::new();
        let status =
            present(query.status.as_deref()).and_then(|s| v.check(LeadStatus::parse("status", s)));
        let source =
            present(query.source.as_deref()).and_then(|s| v.check(LeadSource::parse("source", s)));
        let min_score = query
            .min_score
            .and_then(|s| v.check(LeadScore::parse("min_score", s)));
        let email = present(query.email.as_deref()).and_then(|e| v.check(Email::parse("email", e)));
        v.finish()?;
        let conn = self.store().conn();
        let ids = match &email {
            Some(email) => Some(self.leads_with_email(actor, conn, email).await?),
            None => None,
        };
        let filter = repo::leads::Filter {
            status: status.map(|s| s.code().to_owned()),
            source: source.map(|s| s.code().to_owned()),
            owner_id: query.owner_id,
            min_score: min_score.map(|s| i64::from(s.value())),
            ids,
            deleted: query.deleted,
            access: Some(access.condition.clone()),
        };
        let (sort, direction) = query.sort.parts();
        let key_of = |last: &lead::Model| {
            (
                KeyValue::Int(match sort {
                    LeadSortKey::Created => last.created_at,
                    LeadSortKey::Updated => last.updated_at,
                    LeadSortKey::Score => last.score,
                }),
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
                        repo::leads::list(conn, filter, sort, direction, after.as_ref(), limit)
                            .await
                    }
                },
                key_of,
            )
            .await?;
        let next_cursor = cursor::next(sort_code, &page, key_of);
        // One query for the page's missing keys; converted leads have none left to load.
        let live = |row: &&lead::Model| row.status != LeadStatus::Converted.code();
        let key_ids: Vec<Uuid> = page.items.iter().filter(live).map(|r| r.dek_id).collect();
        let mut keys = self.keys().data_keys(conn, &key_ids).await?.into_iter();
        let items = page
            .items
            .iter()
            .map(|row| {
                let key = if live(&row) { keys.next() } else { None };
                self.publish_lead(actor, key.as_deref(), row, false)
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        self.audit_page_read(actor, ENTITY, page.items.iter().map(|r| r.id))
            .await?;
        Ok(LeadPage { items, next_cursor })
    }

    /// Leads whose e-mail is exactly `email`, among those whose contact details the actor
    /// reads in full (a search must not confirm a value the caller sees only masked).
    async fn leads_with_email<C: ConnectionTrait>(
        &self,
        actor: &Actor,
        conn: &C,
        email: &Email,
    ) -> Result<Vec<Uuid>, CoreError> {
        let token = self.keys().blind(TABLE, "email", email.as_str())?;
        let candidates =
            repo::search_tokens::candidates(conn, ENTITY, "email", &[token], SEARCH_CANDIDATE_CAP)
                .await?;
        if candidates.len() as u64 >= SEARCH_CANDIDATE_CAP {
            // Never a silently partial answer.
            return Err(FieldError::new(
                "email",
                "too_many_matches",
                "matches too many leads to search through",
            )
            .into());
        }
        // Blind indexes are truncated, so a token match is only a candidate: confirm it on the
        // decrypted e-mail alone.
        let rows = repo::leads::get_many(conn, &candidates).await?;
        let key_ids: Vec<Uuid> = rows.iter().map(|r| r.dek_id).collect();
        let keys = self.keys().data_keys(conn, &key_ids).await?;
        let mut confirmed = Vec::new();
        for (row, key) in rows.iter().zip(keys) {
            let Some(ct) = row.email_ct.as_deref() else {
                continue;
            };
            if !self.reads_group(actor, row, FieldGroup::ContactDetails) {
                continue;
            }
            if self
                .keys()
                .decrypt_string(&key, TABLE, "email", row.id, ct)?
                == email.as_str()
            {
                confirmed.push(row.id);
            }
        }
        Ok(confirmed)
    }

    /// The lead at the version the client saw, still a lead, with its key.
    async fn changeable_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        expected_version: i64,
    ) -> Result<(lead::Model, Arc<DataKey>), CoreError> {
        let conn = self.store().conn();
        let row = repo::leads::get(conn, id.as_uuid()).await?;
        let row = self.authorized(actor, row, RecordAction::Update).await?;
        ensure_changeable(&row)?;
        if row.version != expected_version {
            return Err(CoreError::StaleVersion {
                current_version: row.version,
            });
        }
        let key = self.keys().data_key(conn, row.dek_id).await?;
        Ok((row, key))
    }

    /// Versioned write of `row` over `before`; a concurrent change is a 409.
    async fn write_lead<C: ConnectionTrait>(
        &self,
        txn: &C,
        before: &lead::Model,
        row: &mut lead::Model,
    ) -> Result<(), CoreError> {
        row.updated_at = self.now().max(before.updated_at);
        row.version = before.version + 1;
        let outcome = repo::leads::update_versioned(txn, row.clone(), before.version).await?;
        crate::versioned_write("lead", outcome)
    }

    fn encrypt_field(
        &self,
        key: &DataKey,
        column: &'static str,
        id: Uuid,
        value: &str,
    ) -> Result<Vec<u8>, CoreError> {
        self.keys()
            .encrypt(key, TABLE, column, id, value.as_bytes(), self.rng())
    }

    fn encrypt_lead(
        &self,
        key: &DataKey,
        row: &mut lead::Model,
        data: &LeadData,
    ) -> Result<(), CoreError> {
        let id = row.id;
        let enc = |column, value: Option<&str>| {
            value
                .map(|v| self.encrypt_field(key, column, id, v))
                .transpose()
        };
        row.name_ct = enc("name", Some(data.name.as_str()))?;
        row.email_ct = enc("email", data.email.as_ref().map(Email::as_str))?;
        row.phone_ct = enc("phone", data.phone.as_ref().map(Phone::as_str))?;
        row.job_title_ct = enc("job_title", data.job_title.as_ref().map(JobTitle::as_str))?;
        row.notes_ct = enc("notes", data.notes.as_ref().map(Notes::as_str))?;
        row.company_name = data.company_name.as_ref().map(|c| c.as_str().to_owned());
        row.source = data.source.code().to_owned();
        row.score = i64::from(data.score.value());
        row.owner_id = data.owner_id;
        Ok(())
    }

    fn lead_tokens(&self, data: &LeadData) -> Result<[(&'static str, Vec<i64>); 1], CoreError> {
        let email = data
            .email
            .as_ref()
            .map(|e| self.keys().blind(TABLE, "email", e.as_str()))
            .transpose()?;
        Ok([("email", email.into_iter().collect())])
    }

    /// Converted leads have no key left to load (it was destroyed) and no ciphertext to read.
    async fn lead_view_loading_key<C: ConnectionTrait>(
        &self,
        actor: &Actor,
        conn: &C,
        row: &lead::Model,
        detail: bool,
    ) -> Result<LeadView, CoreError> {
        if row.status == LeadStatus::Converted.code() {
            return self.publish_lead(actor, None, row, detail);
        }
        let key = self.keys().data_key(conn, row.dek_id).await?;
        self.publish_lead(actor, Some(&key), row, detail)
    }

    /// `detail` adds the sensitive notes and the status reason.
    fn lead_view(
        &self,
        key: Option<&DataKey>,
        row: &lead::Model,
        detail: bool,
    ) -> Result<LeadView, CoreError> {
        let read =
            |column: &'static str, ct: &Option<Vec<u8>>| -> Result<Option<String>, CoreError> {
                match (key, ct.as_deref()) {
                    (Some(key), Some(ct)) => Ok(Some(
                        self.keys().decrypt_string(key, TABLE, column, row.id, ct)?,
                    )),
                    _ => Ok(None),
                }
            };
        Ok(LeadView {
            id: LeadId(row.id),
            name: read("name", &row.name_ct)?,
            email: read("email", &row.email_ct)?,
            phone: read("phone", &row.phone_ct)?,
            job_title: read("job_title", &row.job_title_ct)?,
            company_name: row.company_name.clone(),
            notes: if detail {
                read("notes", &row.notes_ct)?
            } else {
                None
            },
            source: row.source.clone(),
            status: row.status.clone(),
            score: row.score,
            status_reason: if detail {
                read("status_reason", &row.status_reason_ct)?
            } else {
                None
            },
            owner_id: row.owner_id.map(UserId),
            converted: row.converted_at.map(|at| ConversionRefs {
                contact_id: row.converted_contact_id.map(ContactId),
                company_id: row.converted_company_id.map(CompanyId),
                deal_id: row.converted_deal_id.map(DealId),
                converted_at: from_millis(at),
            }),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
        })
    }
}

fn to_input(view: &LeadView) -> LeadInput {
    LeadInput {
        name: view.name.clone().unwrap_or_default(),
        email: view.email.clone(),
        phone: view.phone.clone(),
        job_title: view.job_title.clone(),
        company_name: view.company_name.clone(),
        notes: view.notes.clone(),
        source: Some(view.source.clone()),
        score: Some(view.score),
        owner_id: view.owner_id.map(|u| u.as_uuid()),
    }
}

/// The fields of the contact a conversion creates (names), and the restricted field groups
/// among them.
fn converted_contact_fields(
    lead: &LeadView,
    with_company: bool,
    with_owner: bool,
) -> (Vec<&'static str>, Vec<&'static str>) {
    let fields = [
        ("name", true),
        ("emails", lead.email.is_some()),
        ("phones", lead.phone.is_some()),
        ("job_title", lead.job_title.is_some()),
        ("company_id", with_company),
        ("notes", lead.notes.is_some()),
        ("owner_id", with_owner),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    let groups = written_groups([
        (
            FieldGroup::ContactDetails,
            lead.email.is_some() || lead.phone.is_some(),
        ),
        (FieldGroup::Notes, lead.notes.is_some()),
    ]);
    (fields, groups)
}

/// The fields a conversion changes on the lead: its status, and the personal fields it held,
/// which are cleared.
fn cleared_fields(before: &lead::Model) -> Vec<&'static str> {
    let mut fields = vec!["status"];
    for (name, held) in [
        ("name", before.name_ct.is_some()),
        ("email", before.email_ct.is_some()),
        ("phone", before.phone_ct.is_some()),
        ("job_title", before.job_title_ct.is_some()),
        ("notes", before.notes_ct.is_some()),
        ("status_reason", before.status_reason_ct.is_some()),
    ] {
        if held {
            fields.push(name);
        }
    }
    fields
}
