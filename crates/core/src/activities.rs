//! Activities: calls, meetings, e-mails (logged, not sent) and notes, linked to a contact, a
//! company and/or a deal, and the timelines that show them newest first on every record.
//! Subject and body are encrypted with the key the links decide (`links.rs`): the contact's
//! own key when a contact is involved, else the organisation key.

use crate::audit::AuditEvent;
use crate::authz::{CollectionAction, FieldGroup, RecordAction, RecordType};
use crate::cursor;
use crate::links::{LinkInput, RecordKind};
use crate::patch;
use crate::record_access::{AccessRow, Placement};
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::from_millis;
use custodian_domain::error::Validator;
use custodian_domain::values::{
    ActivityDirection, ActivityKind, ActivitySubject, CallOutcome, Moment, Notes, limits,
};
use custodian_domain::{ActivityId, CompanyId, ContactId, DealId, FieldError, UserId};
use custodian_store::entities::activity;
use custodian_store::page::{After, KeyValue};
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TABLE: &str = "activities";
const ENTITY: &str = "activity";
/// Cursors of activity lists and timelines (always newest first).
const SORT: &str = "-occurred";

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    /// call, meeting, email or note.
    pub kind: String,
    /// One line; required except for notes.
    #[serde(default)]
    pub subject: Option<String>,
    /// What was said or agreed; required for notes.
    #[serde(default)]
    pub body: Option<String>,
    /// inbound or outbound (calls and e-mails only).
    #[serde(default)]
    pub direction: Option<String>,
    /// connected, left_voicemail, no_answer, busy or wrong_number (calls only).
    #[serde(default)]
    pub outcome: Option<String>,
    /// Calls and meetings only, 0–1440.
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    /// When it happened (RFC 3339); now when absent. Future times are allowed for meetings
    /// that are planned.
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// Who had the interaction; the person logging it when absent.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub deal_id: Option<Uuid>,
    /// Log an outbound call or e-mail to a contact who asked not to be contacted anyway (e.g.
    /// a legally required notice). Without it that is refused with 409 `do_not_contact`.
    #[serde(default)]
    pub override_do_not_contact: bool,
}

/// Changes to an activity. Its links are fixed: they decide the key its text is encrypted
/// with, so an activity logged on the wrong record is deleted and logged again.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    pub version: i64,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub subject: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub body: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub direction: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub outcome: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub duration_minutes: Option<Option<i64>>,
    #[serde(default)]
    pub occurred_at: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub owner_id: Option<Option<Uuid>>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct ActivityView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ActivityId,
    pub kind: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub direction: Option<String>,
    pub outcome: Option<String>,
    pub duration_minutes: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: time::OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub contact_id: Option<ContactId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub deal_id: Option<DealId>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub created_by: UserId,
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

crate::redacted_debug!(ActivityInput, ActivityPatch, ActivityView);

#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub kind: Option<String>,
    pub deleted: Deleted,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ActivityPage {
    pub items: Vec<ActivityView>,
    pub next_cursor: Option<String>,
}

/// An activity's own fields, validated together (which fields apply depends on the kind).
struct ActivityData {
    kind: ActivityKind,
    subject: Option<ActivitySubject>,
    body: Option<Notes>,
    direction: Option<ActivityDirection>,
    outcome: Option<CallOutcome>,
    duration_minutes: Option<i64>,
    occurred_at: Option<i64>,
    owner_id: Option<Uuid>,
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

fn not_applicable(v: &mut Validator, field: &str, kind: ActivityKind) {
    v.push(FieldError::new(
        field,
        "not_applicable",
        format!("does not apply to an activity of kind {}", kind.code()),
    ));
}

impl ActivityData {
    fn parse(input: &ActivityInput) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let kind = v.check(ActivityKind::parse("kind", &input.kind));
        let subject = present(input.subject.as_deref())
            .and_then(|s| v.check(ActivitySubject::parse("subject", s)));
        let body = present(input.body.as_deref()).and_then(|b| v.check(Notes::parse("body", b)));
        let direction = present(input.direction.as_deref())
            .and_then(|d| v.check(ActivityDirection::parse("direction", d)));
        let outcome = present(input.outcome.as_deref())
            .and_then(|o| v.check(CallOutcome::parse("outcome", o)));
        let occurred_at = present(input.occurred_at.as_deref())
            .and_then(|at| v.check(Moment::parse("occurred_at", at, false)))
            .map(|m| custodian_domain::clock::to_millis(m.at));
        if let Some(minutes) = input.duration_minutes
            && !(0..=limits::DURATION_MINUTES).contains(&minutes)
        {
            v.push(FieldError::new(
                "duration_minutes",
                "out_of_range",
                format!("must be between 0 and {}", limits::DURATION_MINUTES),
            ));
        }
        if let Some(kind) = kind {
            use ActivityKind::{Call, Email, Meeting, Note};
            if input
                .subject
                .as_deref()
                .and_then(|s| present(Some(s)))
                .is_none()
                && kind != Note
            {
                v.push(FieldError::new(
                    "subject",
                    "required",
                    "give the call, meeting or e-mail a subject",
                ));
            }
            if input
                .body
                .as_deref()
                .and_then(|s| present(Some(s)))
                .is_none()
                && kind == Note
            {
                v.push(FieldError::new(
                    "body",
                    "required",
                    "a note needs some text",
                ));
            }
            if direction.is_some() && !matches!(kind, Call | Email) {
                not_applicable(&mut v, "direction", kind);
            }
            if outcome.is_some() && kind != Call {
                not_applicable(&mut v, "outcome", kind);
            }
            if input.duration_minutes.is_some() && !matches!(kind, Call | Meeting) {
                not_applicable(&mut v, "duration_minutes", kind);
            }
        }
        v.finish()?;
        Ok(Self {
            kind: kind.ok_or(CoreError::Internal("validated activity kind missing"))?,
            subject,
            body,
            direction,
            outcome,
            duration_minutes: input.duration_minutes,
            occurred_at,
            owner_id: input.owner_id,
        })
    }
}

fn apply_patch(mut input: ActivityInput, patch: ActivityPatch) -> ActivityInput {
    if let Some(v) = patch.kind {
        input.kind = v;
    }
    if let Some(v) = patch.subject {
        input.subject = v;
    }
    if let Some(v) = patch.body {
        input.body = v;
    }
    if let Some(v) = patch.direction {
        input.direction = v;
    }
    if let Some(v) = patch.outcome {
        input.outcome = v;
    }
    if let Some(v) = patch.duration_minutes {
        input.duration_minutes = v;
    }
    if let Some(v) = patch.occurred_at {
        input.occurred_at = Some(v);
    }
    if let Some(v) = patch.owner_id {
        input.owner_id = v;
    }
    input
}

fn to_input(view: &ActivityView) -> ActivityInput {
    ActivityInput {
        kind: view.kind.clone(),
        subject: view.subject.clone(),
        body: view.body.clone(),
        direction: view.direction.clone(),
        outcome: view.outcome.clone(),
        duration_minutes: view.duration_minutes,
        occurred_at: None,
        owner_id: view.owner_id.map(|u| u.as_uuid()),
        contact_id: None,
        company_id: None,
        deal_id: None,
        override_do_not_contact: false,
    }
}

/// The fields a new activity sets (names only: an audit event never holds a value).
fn input_field_names(input: &ActivityInput) -> Vec<&'static str> {
    [
        ("kind", true),
        ("subject", input.subject.is_some()),
        ("body", input.body.is_some()),
        ("direction", input.direction.is_some()),
        ("outcome", input.outcome.is_some()),
        ("duration_minutes", input.duration_minutes.is_some()),
        ("occurred_at", input.occurred_at.is_some()),
        ("owner_id", input.owner_id.is_some()),
        ("contact_id", input.contact_id.is_some()),
        ("company_id", input.company_id.is_some()),
        ("deal_id", input.deal_id.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The fields a patch names.
fn patch_field_names(patch: &ActivityPatch) -> Vec<&'static str> {
    [
        ("kind", patch.kind.is_some()),
        ("subject", patch.subject.is_some()),
        ("body", patch.body.is_some()),
        ("direction", patch.direction.is_some()),
        ("outcome", patch.outcome.is_some()),
        ("duration_minutes", patch.duration_minutes.is_some()),
        ("occurred_at", patch.occurred_at.is_some()),
        ("owner_id", patch.owner_id.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The restricted field group a change of the body writes.
fn body_groups(body: bool) -> Vec<&'static str> {
    if body {
        vec![FieldGroup::Notes.code()]
    } else {
        Vec::new()
    }
}

impl Core {
    pub async fn create_activity(
        &self,
        actor: &Actor,
        input: ActivityInput,
    ) -> Result<ActivityView, CoreError> {
        let result = async {
            let mut data = ActivityData::parse(&input)?;
            data.owner_id.get_or_insert(actor.user_id.as_uuid());
            let now = self.now();
            let links = LinkInput {
                contact_id: input.contact_id,
                company_id: input.company_id,
                deal_id: input.deal_id,
            };
            let txn = self.store().begin().await?;
            let resolved = self.resolve_links(&txn, actor, links, true).await?;
            crate::check_user(&txn, "owner_id", data.owner_id).await?;
            // Reaching out to someone who asked not to be contacted is refused unless the user
            // says explicitly that this one must happen.
            let outbound = matches!(data.kind, ActivityKind::Call | ActivityKind::Email)
                && data.direction == Some(ActivityDirection::Outbound);
            let do_not_contact = match resolved.contact_id {
                Some(contact) if outbound => {
                    repo::contact_preferences::is_do_not_contact(&txn, contact).await?
                }
                _ => false,
            };
            if do_not_contact && !input.override_do_not_contact {
                return Err(CoreError::Rule {
                    code: "do_not_contact",
                    message: "the contact asked not to be contacted; confirm the override to log an outbound call or e-mail anyway",
                });
            }
            let placement = Placement::new(actor, resolved.about.as_ref());
            let mut row = activity::Model {
                id: ActivityId::new_at(now).as_uuid(),
                kind: String::new(),
                direction: None,
                outcome: None,
                dek_id: resolved.key.id(),
                subject_ct: None,
                body_ct: None,
                duration_minutes: None,
                occurred_at: now,
                owner_id: None,
                contact_id: resolved.contact_id,
                company_id: resolved.company_id,
                deal_id: resolved.deal_id,
                created_by: actor.user_id.as_uuid(),
                team: placement.team,
                region: placement.region,
                sensitivity: placement.sensitivity,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                version: 1,
            };
            self.fill_activity(&resolved.key, &mut row, &data)?;
            self.authorize_new(actor, &row)?;
            if data.body.is_some() {
                self.require_group_update(actor, &row, "body", FieldGroup::Notes)?;
            }
            repo::activities::insert(&txn, row.clone()).await?;
            let mut event = AuditEvent::by(actor, AuditCode::DataCreate)
                .target(ENTITY, row.id)
                .detail("fields", input_field_names(&input))
                .detail("groups", body_groups(data.body.is_some()));
            if do_not_contact {
                // The contact asked not to be contacted, and the user overrode it.
                event = event.detail("do_not_contact_overridden", true);
            }
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.publish_activity(actor, &resolved.key, &row)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    pub async fn get_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
    ) -> Result<ActivityView, CoreError> {
        let view = self.read_activity(actor, id).await?;
        self.audit_read(
            AuditEvent::by(actor, AuditCode::DataRead).target(ENTITY, view.id.as_uuid()),
        )
        .await?;
        Ok(view)
    }

    /// The activity as the actor may read it, without a read event (a change shows it after).
    async fn read_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
    ) -> Result<ActivityView, CoreError> {
        let conn = self.store().conn();
        let row = self
            .authorized_activity(actor, id, RecordAction::Read)
            .await?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        self.publish_activity(actor, &key, &row)
    }

    async fn authorized_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
        action: RecordAction,
    ) -> Result<activity::Model, CoreError> {
        let row = repo::activities::get(self.store().conn(), id.as_uuid()).await?;
        self.authorized(actor, row, action).await
    }

    /// The view, without the body unless the actor reads notes on it.
    fn publish_activity(
        &self,
        actor: &Actor,
        key: &DataKey,
        row: &activity::Model,
    ) -> Result<ActivityView, CoreError> {
        let mut view = self.activity_view(key, row)?;
        if !self.reads_group(actor, row, FieldGroup::Notes) {
            view.body = None;
        }
        Ok(view)
    }

    pub async fn update_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
        patch: ActivityPatch,
    ) -> Result<ActivityView, CoreError> {
        let result = async {
            let conn = self.store().conn();
            let existing = self
                .authorized_activity(actor, id, RecordAction::Update)
                .await?;
            if patch.body.is_some() {
                self.require_group_update(actor, &existing, "body", FieldGroup::Notes)?;
            }
            crate::check_changeable(
                existing.deleted_at,
                existing.version,
                patch.version,
                "the activity is deleted; restore it before changing it",
            )?;
            let key = self.keys().data_key(conn, existing.dek_id).await?;
            let current = self.activity_view(&key, &existing)?;
            let event = AuditEvent::by(actor, AuditCode::DataUpdate)
                .target(ENTITY, existing.id)
                .detail("fields", patch_field_names(&patch))
                .detail("groups", body_groups(patch.body.is_some()))
                .detail("from_version", existing.version)
                .detail("to_version", existing.version + 1);
            let data = ActivityData::parse(&apply_patch(to_input(&current), patch))?;
            let mut row = existing.clone();
            self.fill_activity(&key, &mut row, &data)?;
            if data.occurred_at.is_none() {
                row.occurred_at = existing.occurred_at;
            }
            row.updated_at = self.now().max(existing.updated_at);
            row.version = existing.version + 1;
            self.authorize_changed(actor, &existing.access_attrs(), &row)?;
            let txn = self.store().begin().await?;
            crate::check_user(&txn, "owner_id", data.owner_id).await?;
            let outcome =
                repo::activities::update_versioned(&txn, row.clone(), existing.version).await?;
            crate::versioned_write(ENTITY, outcome)?;
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.publish_activity(actor, &key, &row)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    pub async fn delete_activity(&self, actor: &Actor, id: ActivityId) -> Result<(), CoreError> {
        self.authorized_activity(actor, id, RecordAction::Delete)
            .await?;
        self.set_activity_deleted(actor, id, true).await
    }

    pub async fn restore_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
    ) -> Result<ActivityView, CoreError> {
        self.authorized_activity(actor, id, RecordAction::Restore)
            .await?;
        self.set_activity_deleted(actor, id, false).await?;
        self.read_activity(actor, id).await
    }

    async fn set_activity_deleted(
        &self,
        actor: &Actor,
        id: ActivityId,
        delete: bool,
    ) -> Result<(), CoreError> {
        let txn = self.store().begin().await?;
        let outcome = repo::activities::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome(ENTITY, delete, outcome)?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, delete, ENTITY, id.as_uuid())],
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Activities newest first, filtered by record, owner and kind.
    pub async fn list_activities(
        &self,
        actor: &Actor,
        query: ActivityQuery,
    ) -> Result<ActivityPage, CoreError> {
        self.require_collection(actor, RecordType::Activity, CollectionAction::List)
            .await?;
        let access = self.read_filter(actor, RecordType::Activity)?;
        let limit = cursor::page_size(query.limit)?;
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(SORT, c))
            .transpose()?;
        let kind = present(query.kind.as_deref())
            .map(|k| ActivityKind::parse("kind", k))
            .transpose()?;
        let filter = repo::activities::Filter {
            contact_id: query.contact_id,
            company_id: query.company_id,
            deal_id: query.deal_id,
            owner_id: query.owner_id,
            kind: kind.map(|k| k.code().to_owned()),
            deleted: query.deleted,
            access: Some(access.condition.clone()),
        };
        let conn = self.store().conn();
        let key_of = |last: &activity::Model| (KeyValue::Int(last.occurred_at), last.id);
        let page = self
            .readable_page(
                actor,
                &access,
                limit,
                after,
                {
                    let filter = &filter;
                    move |after: Option<After>| async move {
                        repo::activities::list(conn, filter, after.as_ref(), limit).await
                    }
                },
                key_of,
            )
            .await?;
        let next_cursor = cursor::next(SORT, &page, key_of);
        // One query for the keys the page needs (a contact's timeline needs one).
        let key_ids: Vec<Uuid> = page.items.iter().map(|r| r.dek_id).collect();
        let keys = self.keys().data_keys(conn, &key_ids).await?;
        let items = page
            .items
            .iter()
            .zip(keys)
            .map(|(row, key)| self.publish_activity(actor, &key, row))
            .collect::<Result<Vec<_>, CoreError>>()?;
        self.audit_page_read(actor, ENTITY, page.items.iter().map(|r| r.id))
            .await?;
        Ok(ActivityPage { items, next_cursor })
    }

    /// A record's timeline: its live activities the actor may read, newest first. 404 when the
    /// record does not exist, is deleted or is not readable.
    pub async fn timeline(
        &self,
        actor: &Actor,
        kind: RecordKind,
        id: Uuid,
        cursor: Option<String>,
        limit: Option<u64>,
    ) -> Result<ActivityPage, CoreError> {
        self.require_live_record(actor, kind, id).await?;
        let mut query = ActivityQuery {
            cursor,
            limit,
            ..ActivityQuery::default()
        };
        match kind {
            RecordKind::Contact => query.contact_id = Some(id),
            RecordKind::Company => query.company_id = Some(id),
            RecordKind::Deal => query.deal_id = Some(id),
        }
        self.list_activities(actor, query).await
    }

    fn fill_activity(
        &self,
        key: &DataKey,
        row: &mut activity::Model,
        data: &ActivityData,
    ) -> Result<(), CoreError> {
        let id = row.id;
        let enc = |column, value: Option<&str>| {
            value
                .map(|v| {
                    self.keys()
                        .encrypt(key, TABLE, column, id, v.as_bytes(), self.rng())
                })
                .transpose()
        };
        row.kind = data.kind.code().to_owned();
        row.subject_ct = enc(
            "subject",
            data.subject.as_ref().map(ActivitySubject::as_str),
        )?;
        row.body_ct = enc("body", data.body.as_ref().map(Notes::as_str))?;
        row.direction = data.direction.map(|d| d.code().to_owned());
        row.outcome = data.outcome.map(|o| o.code().to_owned());
        row.duration_minutes = data.duration_minutes;
        if let Some(at) = data.occurred_at {
            row.occurred_at = at;
        }
        row.owner_id = data.owner_id;
        Ok(())
    }

    fn activity_view(
        &self,
        key: &DataKey,
        row: &activity::Model,
    ) -> Result<ActivityView, CoreError> {
        let read = |column: &'static str, ct: &Option<Vec<u8>>| {
            ct.as_deref()
                .map(|ct| self.keys().decrypt_string(key, TABLE, column, row.id, ct))
                .transpose()
        };
        Ok(ActivityView {
            id: ActivityId(row.id),
            kind: row.kind.clone(),
            subject: read("subject", &row.subject_ct)?,
            body: read("body", &row.body_ct)?,
            direction: row.direction.clone(),
            outcome: row.outcome.clone(),
            duration_minutes: row.duration_minutes,
            occurred_at: from_millis(row.occurred_at),
            owner_id: row.owner_id.map(UserId),
            contact_id: row.contact_id.map(ContactId),
            company_id: row.company_id.map(CompanyId),
            deal_id: row.deal_id.map(DealId),
            created_by: UserId(row.created_by),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
        })
    }
}
