//! Communication preferences: one versioned record per contact saying how (channel,
//! language), how often and whether at all (do-not-contact, per-channel opt-outs) the
//! organisation may reach them. The enumerations are plain so campaigns can filter on them in
//! the database (`classification.rs` says why); the do-not-contact reason is the person's own
//! words, encrypted under the contact's key.

use crate::audit::AuditEvent;
use crate::authz::{Action, FieldAccess, FieldGroup, RecordAction, RecordType};
use crate::{Actor, Core, CoreError};
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::{from_millis, to_millis};
use custodian_domain::error::Validator;
use custodian_domain::feedback::{
    ContactChannel, ContactFrequency, PreferredLanguage, block_text, limits,
};
use custodian_domain::values::Moment;
use custodian_domain::{ContactId, FieldError, UserId};
use custodian_store::ConnectionTrait;
use custodian_store::entities::{contact, contact_preference};
use custodian_store::repo;
use serde::{Deserialize, Serialize};

const TABLE: &str = "contact_preferences";
const ENTITY: &str = "contact preferences";
/// The audit target: the contact's preferences, by the contact's id (the record has no id of
/// its own in the API).
const TARGET: &str = "contact_preferences";

/// The whole preference record (PUT semantics): absent optional fields are cleared.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    /// The version read (0 when the contact has no preferences yet).
    pub version: i64,
    /// email, phone, sms, wechat or post.
    #[serde(default)]
    pub channel: Option<String>,
    /// en, zh-CN, zh-TW, ja, ko, de, fr or es.
    #[serde(default)]
    pub language: Option<String>,
    /// weekly, monthly, quarterly or only_essential.
    #[serde(default)]
    pub frequency: Option<String>,
    /// Channels the contact opted out of (each once).
    #[serde(default)]
    pub opt_outs: Vec<String>,
    #[serde(default)]
    pub do_not_contact: bool,
    /// When the contact asked (RFC 3339 or a date); now when switched on without it, kept
    /// while it stays on.
    #[serde(default)]
    pub do_not_contact_since: Option<String>,
    /// In the contact's words; only with `do_not_contact`.
    #[serde(default)]
    pub do_not_contact_reason: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct PreferencesView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub contact_id: ContactId,
    pub channel: Option<String>,
    pub language: Option<String>,
    pub frequency: Option<String>,
    pub opt_outs: Vec<String>,
    pub do_not_contact: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub do_not_contact_since: Option<time::OffsetDateTime>,
    pub do_not_contact_reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub updated_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub updated_at: Option<time::OffsetDateTime>,
    /// 0 until the preferences are first saved.
    pub version: i64,
}

crate::redacted_debug!(PreferencesInput, PreferencesView);

impl PreferencesView {
    fn empty(contact: ContactId) -> Self {
        Self {
            contact_id: contact,
            channel: None,
            language: None,
            frequency: None,
            opt_outs: Vec::new(),
            do_not_contact: false,
            do_not_contact_since: None,
            do_not_contact_reason: None,
            updated_by: None,
            updated_at: None,
            version: 0,
        }
    }
}

struct PreferencesData {
    channel: Option<ContactChannel>,
    language: Option<PreferredLanguage>,
    frequency: Option<ContactFrequency>,
    opt_outs: Vec<ContactChannel>,
    do_not_contact: bool,
    since: Option<i64>,
    reason: Option<String>,
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

impl PreferencesData {
    fn parse(input: &PreferencesInput) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let channel = present(input.channel.as_deref())
            .and_then(|c| v.check(ContactChannel::parse("channel", c)));
        let language = present(input.language.as_deref())
            .and_then(|l| v.check(PreferredLanguage::parse("language", l)));
        let frequency = present(input.frequency.as_deref())
            .and_then(|f| v.check(ContactFrequency::parse("frequency", f)));
        let mut opt_outs = Vec::new();
        for (i, raw) in input.opt_outs.iter().enumerate() {
            if let Some(c) = v.check(ContactChannel::parse(&format!("opt_outs[{i}]"), raw)) {
                if opt_outs.contains(&c) {
                    v.push(FieldError::new(
                        format!("opt_outs[{i}]"),
                        "duplicate_channel",
                        "name each channel once",
                    ));
                } else {
                    opt_outs.push(c);
                }
            }
        }
        opt_outs.sort();
        let since = present(input.do_not_contact_since.as_deref())
            .and_then(|s| v.check(Moment::parse("do_not_contact_since", s, true)))
            .map(|m| to_millis(m.at));
        let reason = present(input.do_not_contact_reason.as_deref())
            .and_then(|r| v.check(block_text("do_not_contact_reason", r, limits::REASON)));
        if !input.do_not_contact {
            for (field, given) in [
                ("do_not_contact_since", since.is_some()),
                ("do_not_contact_reason", reason.is_some()),
            ] {
                if given {
                    v.push(FieldError::new(
                        field,
                        "not_applicable",
                        "only applies when do_not_contact is true",
                    ));
                }
            }
        }
        v.finish()?;
        Ok(Self {
            channel,
            language,
            frequency,
            opt_outs,
            do_not_contact: input.do_not_contact,
            since,
            reason,
        })
    }
}

fn join_codes(channels: &[ContactChannel]) -> String {
    channels
        .iter()
        .map(|c| c.code())
        .collect::<Vec<_>>()
        .join(",")
}

fn split_codes(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Core {
    /// A live contact the actor may read, whose preferences and feedback they may `access`
    /// (read or update): 404 if they may not read the contact, 403 if not its preferences.
    pub(crate) async fn contact_preferences_access(
        &self,
        actor: &Actor,
        id: ContactId,
        access: FieldAccess,
    ) -> Result<contact::Model, CoreError> {
        let (row, attrs) = self
            .authorized_contact(actor, id, RecordAction::Read)
            .await?;
        if row.deleted_at.is_some() {
            return Err(CoreError::NotFound { entity: "contact" });
        }
        let action = Action::Field(FieldGroup::PreferencesFeedback, access);
        if !self.permits_record(actor, action, RecordType::Contact, &attrs) {
            return Err(self
                .denied(actor, action, &format!("Contact::{}", row.id))
                .await?);
        }
        Ok(row)
    }

    /// The contact's preferences; a contact without any has the empty record at version 0.
    pub async fn get_preferences(
        &self,
        actor: &Actor,
        contact: ContactId,
    ) -> Result<PreferencesView, CoreError> {
        let conn = self.store().conn();
        self.contact_preferences_access(actor, contact, FieldAccess::Read)
            .await?;
        let view = match repo::contact_preferences::get_for_contact(conn, contact.as_uuid()).await?
        {
            Some(row) => self.preferences_view(conn, &row).await?,
            None => PreferencesView::empty(contact),
        };
        self.audit_read(
            AuditEvent::by(actor, AuditCode::DataRead)
                .target(TARGET, contact.as_uuid())
                .detail("version", view.version),
        )
        .await?;
        Ok(view)
    }

    /// Replaces the contact's preferences at the version the client read (0: none yet).
    pub async fn set_preferences(
        &self,
        actor: &Actor,
        contact: ContactId,
        input: PreferencesInput,
    ) -> Result<PreferencesView, CoreError> {
        let data = PreferencesData::parse(&input)?;
        let conn = self.store().conn();
        let contact_row = self
            .contact_preferences_access(actor, contact, FieldAccess::Update)
            .await?;
        let existing = repo::contact_preferences::get_for_contact(conn, contact.as_uuid()).await?;
        let current_version = existing.as_ref().map_or(0, |r| r.version);
        if current_version != input.version {
            return Err(CoreError::StaleVersion { current_version });
        }
        let key = self.keys().data_key(conn, contact_row.dek_id).await?;
        let now = self.now();
        let mut row = existing.clone().unwrap_or(contact_preference::Model {
            id: custodian_domain::ids::uuid_at(now),
            contact_id: contact.as_uuid(),
            dek_id: key.id(),
            channel: None,
            language: None,
            frequency: None,
            opt_outs: String::new(),
            do_not_contact: false,
            do_not_contact_since: None,
            do_not_contact_reason_ct: None,
            updated_by: actor.user_id.as_uuid(),
            created_at: now,
            updated_at: now,
            version: 0,
        });
        row.dek_id = key.id();
        row.channel = data.channel.map(|c| c.code().to_owned());
        row.language = data.language.map(|l| l.code().to_owned());
        row.frequency = data.frequency.map(|f| f.code().to_owned());
        row.opt_outs = join_codes(&data.opt_outs);
        row.do_not_contact_since = if data.do_not_contact {
            data.since
                .or(row.do_not_contact_since.filter(|_| row.do_not_contact))
                .or(Some(now))
        } else {
            None
        };
        row.do_not_contact = data.do_not_contact;
        row.do_not_contact_reason_ct = data
            .reason
            .as_ref()
            .map(|r| {
                self.keys().encrypt(
                    &key,
                    TABLE,
                    "do_not_contact_reason",
                    row.id,
                    r.as_bytes(),
                    self.rng(),
                )
            })
            .transpose()?;
        row.updated_by = actor.user_id.as_uuid();
        row.updated_at = now.max(row.updated_at);
        row.version = current_version + 1;
        let code = if existing.is_some() {
            AuditCode::DataUpdate
        } else {
            AuditCode::DataCreate
        };
        let event = AuditEvent::by(actor, code)
            .target(TARGET, contact.as_uuid())
            .detail(
                "fields",
                self.changed_preferences(conn, existing.as_ref(), &row, &data)
                    .await?,
            )
            .detail("groups", [FieldGroup::PreferencesFeedback.code()])
            .detail("from_version", current_version)
            .detail("to_version", row.version);
        let txn = self.store().begin().await?;
        match existing {
            None => repo::contact_preferences::insert(&txn, row.clone())
                .await
                .map_err(|e| {
                    // Someone else saved the first version meanwhile.
                    if e.is_unique_violation() {
                        CoreError::StaleVersion { current_version: 1 }
                    } else {
                        e.into()
                    }
                })?,
            Some(_) => {
                let outcome =
                    repo::contact_preferences::update_versioned(&txn, row.clone(), current_version)
                        .await?;
                crate::versioned_write(ENTITY, outcome)?;
            }
        }
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        self.preferences_view(conn, &row).await
    }

    /// The names of the preferences a save changes (all it sets for a first save).
    async fn changed_preferences<C: ConnectionTrait>(
        &self,
        conn: &C,
        before: Option<&contact_preference::Model>,
        after: &contact_preference::Model,
        data: &PreferencesData,
    ) -> Result<Vec<&'static str>, CoreError> {
        let old_reason = match before {
            Some(before) => match &before.do_not_contact_reason_ct {
                Some(ct) => {
                    let key = self.keys().data_key(conn, before.dek_id).await?;
                    Some(self.keys().decrypt_string(
                        &key,
                        TABLE,
                        "do_not_contact_reason",
                        before.id,
                        ct,
                    )?)
                }
                None => None,
            },
            None => None,
        };
        let empty = contact_preference::Model {
            channel: None,
            language: None,
            frequency: None,
            opt_outs: String::new(),
            do_not_contact: false,
            do_not_contact_since: None,
            ..after.clone()
        };
        let before = before.unwrap_or(&empty);
        Ok([
            ("channel", before.channel != after.channel),
            ("language", before.language != after.language),
            ("frequency", before.frequency != after.frequency),
            ("opt_outs", before.opt_outs != after.opt_outs),
            (
                "do_not_contact",
                before.do_not_contact != after.do_not_contact,
            ),
            (
                "do_not_contact_since",
                before.do_not_contact_since != after.do_not_contact_since,
            ),
            ("do_not_contact_reason", old_reason != data.reason),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect())
    }

    async fn preferences_view<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &contact_preference::Model,
    ) -> Result<PreferencesView, CoreError> {
        let reason = match &row.do_not_contact_reason_ct {
            Some(ct) => {
                let key = self.keys().data_key(conn, row.dek_id).await?;
                Some(self.keys().decrypt_string(
                    &key,
                    TABLE,
                    "do_not_contact_reason",
                    row.id,
                    ct,
                )?)
            }
            None => None,
        };
        Ok(PreferencesView {
            contact_id: ContactId(row.contact_id),
            channel: row.channel.clone(),
            language: row.language.clone(),
            frequency: row.frequency.clone(),
            opt_outs: split_codes(&row.opt_outs),
            do_not_contact: row.do_not_contact,
            do_not_contact_since: row.do_not_contact_since.map(from_millis),
            do_not_contact_reason: reason,
            updated_by: Some(UserId(row.updated_by)),
            updated_at: Some(from_millis(row.updated_at)),
            version: row.version,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn bad_preferences_are_refused_with_their_codes() {
        let input = PreferencesInput {
            channel: Some("fax".into()),
            language: Some("klingon".into()),
            frequency: Some("daily".into()),
            opt_outs: vec!["sms".into(), "sms".into()],
            do_not_contact_reason: Some("moved away".into()),
            ..PreferencesInput::default()
        };
        let Err(CoreError::Validation(errors)) = PreferencesData::parse(&input) else {
            panic!("expected validation errors");
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
        for code in [
            "invalid_channel",
            "invalid_language",
            "invalid_frequency",
            "duplicate_channel",
            "not_applicable",
        ] {
            assert!(codes.contains(&code), "{code}: {codes:?}");
        }
        let ok = PreferencesData::parse(&PreferencesInput {
            opt_outs: vec!["sms".into(), "email".into()],
            ..PreferencesInput::default()
        })
        .unwrap();
        assert_eq!(join_codes(&ok.opt_outs), "email,sms");
        assert_eq!(split_codes("email,sms"), vec!["email", "sms"]);
        assert!(split_codes("").is_empty());
    }
}
