//! Authorization of contacts: the access attributes of a row, what a caller gets of each field
//! group (full, masked, hidden), the fields a write may touch (mass assignment is refused by
//! name), and revealing masked contact details after step-up.

use crate::authz::fields::{FieldGroups, GroupAccess, MASKED_ADDRESS, mask_email, mask_phone};
use crate::authz::{Action, FieldAccess, FieldGroup, RecordAction, RecordAttrs, RecordType};
use crate::contacts::{ContactInput, ContactPatch, ContactSummary, ContactView};
use crate::custom_fields::{CustomValues, FieldSet};
use crate::security_events::{NewSecurityEvent, SecurityEventKind};
use crate::{Actor, Core, CoreError};
use custodian_domain::ContactId;
use custodian_domain::custom_fields::FieldEntity;
use custodian_store::ConnectionTrait;
use custodian_store::entities::contact;
use custodian_store::page::{After, Direction, KeyValue, Page};
use custodian_store::repo;
use serde::Serialize;
use uuid::Uuid;

/// The field groups a contact has: its own fields' (details, notes, sensitive custom fields)
/// and the records about it that pages show beside it (preferences and feedback, purchase
/// history), so one decision round tells a page which sections to show.
pub(crate) const CONTACT_GROUPS: [FieldGroup; 5] = [
    FieldGroup::ContactDetails,
    FieldGroup::Notes,
    FieldGroup::SensitiveCustom,
    FieldGroup::PreferencesFeedback,
    FieldGroup::PurchaseHistory,
];

/// A contact row's access attributes, with the users handling a complaint about it.
pub(crate) fn contact_attrs(row: &contact::Model, case_handlers: Vec<Uuid>) -> RecordAttrs {
    RecordAttrs {
        id: row.id,
        owner: row.owner_id,
        team: row.team.clone(),
        region: row.region.clone(),
        sensitivity: row.sensitivity,
        deleted: row.deleted_at.is_some(),
        case_handlers,
    }
}

/// A contact's details shown in full after a reveal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct RevealedDetails {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub address: Option<String>,
}
crate::redacted_debug!(RevealedDetails);

impl Core {
    /// The access attributes of contact rows, one query for their case handlers.
    pub(crate) async fn contacts_attrs<C: ConnectionTrait>(
        &self,
        conn: &C,
        rows: &[contact::Model],
    ) -> Result<Vec<RecordAttrs>, CoreError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let handlers = repo::complaints::case_handlers(conn, &ids).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let mine = handlers
                    .iter()
                    .filter(|(contact, _)| *contact == row.id)
                    .map(|(_, user)| *user)
                    .collect();
                contact_attrs(row, mine)
            })
            .collect())
    }

    pub(crate) async fn contact_attrs_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &contact::Model,
    ) -> Result<RecordAttrs, CoreError> {
        let mut attrs = self.contacts_attrs(conn, std::slice::from_ref(row)).await?;
        attrs.pop().ok_or(CoreError::Internal("contact attributes"))
    }

    /// A readable contact row for `action`, or 404 (not readable) / 403 (readable, not this).
    pub(crate) async fn authorized_contact(
        &self,
        actor: &Actor,
        id: ContactId,
        action: RecordAction,
    ) -> Result<(contact::Model, RecordAttrs), CoreError> {
        let conn = self.store().conn();
        let row = repo::contacts::get(conn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "contact" })?;
        let attrs = self.contact_attrs_of(conn, &row).await?;
        self.require_record(actor, Action::Record(action), RecordType::Contact, &attrs)
            .await?;
        Ok((row, attrs))
    }

    /// The view with only what the actor may read of each field group.
    pub(crate) async fn publish_contact(
        &self,
        actor: &Actor,
        attrs: &RecordAttrs,
        view: ContactView,
    ) -> Result<ContactView, CoreError> {
        let fields = self
            .field_set(self.store().conn(), FieldEntity::Contact)
            .await?;
        Ok(self.publish_contact_with(actor, attrs, view, &fields.sensitive_keys()))
    }

    /// Records that the actor read the contact, with the field groups they were shown.
    pub(crate) async fn audit_contact_read(
        &self,
        actor: &Actor,
        attrs: &RecordAttrs,
        id: uuid::Uuid,
    ) -> Result<(), CoreError> {
        let groups = self.field_groups(actor, RecordType::Contact, attrs, &CONTACT_GROUPS);
        self.audit_read(
            crate::audit::AuditEvent::by(actor, custodian_domain::audit::AuditCode::DataRead)
                .target("contact", id)
                .groups_read(&groups),
        )
        .await
    }

    /// [`Core::publish_contact`] with the sensitive custom fields' keys at hand (exports).
    pub(crate) fn publish_contact_with(
        &self,
        actor: &Actor,
        attrs: &RecordAttrs,
        mut view: ContactView,
        sensitive_keys: &[String],
    ) -> ContactView {
        let groups = self.field_groups(actor, RecordType::Contact, attrs, &CONTACT_GROUPS);
        match groups.get(FieldGroup::ContactDetails.code()) {
            Some(GroupAccess::Full) => {}
            Some(GroupAccess::Masked) => {
                view.emails = view.emails.iter().map(|e| mask_email(e)).collect();
                view.phones = view.phones.iter().map(|p| mask_phone(p)).collect();
                view.address = view.address.map(|_| MASKED_ADDRESS.to_owned());
            }
            _ => {
                view.emails.clear();
                view.phones.clear();
                view.address = None;
            }
        }
        if groups.get(FieldGroup::Notes.code()) != Some(&GroupAccess::Full) {
            view.notes = None;
        }
        if groups.get(FieldGroup::SensitiveCustom.code()) != Some(&GroupAccess::Full)
            && let Some(values) = view.custom_fields.as_mut()
        {
            for key in sensitive_keys {
                values.remove(key);
            }
        }
        view.field_groups = groups;
        view
    }

    /// A list row with only the contact details the actor may read.
    pub(crate) fn publish_summary(
        &self,
        actor: &Actor,
        attrs: &RecordAttrs,
        mut summary: ContactSummary,
    ) -> ContactSummary {
        let access = self.group_access(
            actor,
            RecordType::Contact,
            attrs,
            FieldGroup::ContactDetails,
        );
        match access {
            GroupAccess::Full => {}
            GroupAccess::Masked => {
                summary.email = summary.email.map(|e| mask_email(&e));
                summary.phone = summary.phone.map(|p| mask_phone(&p));
            }
            GroupAccess::Hidden => {
                summary.email = None;
                summary.phone = None;
            }
        }
        let mut groups = FieldGroups::new();
        groups.insert(FieldGroup::ContactDetails.code(), access);
        summary.field_groups = groups;
        summary
    }

    /// The first field of a write whose group the actor may not update on the record as it
    /// will be, as the error naming it.
    pub(crate) fn forbidden_field(
        &self,
        actor: &Actor,
        attrs: &RecordAttrs,
        written: &[(String, FieldGroup)],
    ) -> Option<CoreError> {
        if written.is_empty() {
            return None;
        }
        // Each group once, all in one decision round (an import decides this for every row).
        let mut groups: Vec<FieldGroup> = Vec::new();
        for (_, group) in written {
            if !groups.contains(group) {
                groups.push(*group);
            }
        }
        let actions: Vec<Action> = groups
            .iter()
            .map(|g| Action::Field(*g, FieldAccess::Update))
            .collect();
        let ctx = self.request_context(actor);
        let allowed = self
            .authz()
            .allowed_actions(
                &actor.principal,
                &actions,
                crate::authz::Resource::Record(RecordType::Contact, attrs),
                &ctx,
            )
            .unwrap_or_default();
        written.iter().find_map(|(field, group)| {
            let may = groups
                .iter()
                .position(|g| g == group)
                .and_then(|i| allowed.get(i).copied())
                .unwrap_or(false);
            (!may).then(|| CoreError::FieldNotPermitted {
                field: field.clone(),
                group: group.code(),
            })
        })
    }

    /// Records a refused contact write as a security event and passes the error on.
    pub(crate) async fn refused_contact_write(
        &self,
        actor: &Actor,
        id: Uuid,
        error: CoreError,
    ) -> CoreError {
        let action = match &error {
            CoreError::FieldNotPermitted { group, .. } => {
                FieldGroup::from_code(group).map(|g| Action::Field(g, FieldAccess::Update))
            }
            CoreError::Forbidden => Some(Action::Record(RecordAction::Create)),
            _ => None,
        };
        if let Some(action) = action {
            let target = match &error {
                CoreError::FieldNotPermitted { field, .. } => format!("Contact::{id} {field}"),
                _ => format!("Contact::{id}"),
            };
            if let Err(e) = self.denied(actor, action, &target).await {
                return e;
            }
        }
        error
    }

    /// Whether the actor may write `group` on the contact `id`, or on a new contact of their
    /// own when `id` is `None` (forms leave out what the caller may not change).
    pub async fn may_write_contact_group(
        &self,
        actor: &Actor,
        id: Option<ContactId>,
        group: FieldGroup,
    ) -> Result<bool, CoreError> {
        let attrs = match id {
            Some(id) => {
                let conn = self.store().conn();
                match repo::contacts::get(conn, id.as_uuid()).await? {
                    Some(row) => self.contact_attrs_of(conn, &row).await?,
                    None => return Ok(false),
                }
            }
            None => RecordAttrs {
                id: Uuid::nil(),
                owner: Some(actor.user_id.as_uuid()),
                team: actor.principal.team.clone(),
                region: actor.principal.region.clone(),
                sensitivity: 0,
                deleted: false,
                case_handlers: Vec::new(),
            },
        };
        let action = Action::Field(group, FieldAccess::Update);
        Ok(self.permits_record(actor, action, RecordType::Contact, &attrs))
    }

    /// Shows a contact's masked details in full: for a caller who sees them masked and may
    /// reveal them (the default policies: marketing, after step-up). Recorded as a security
    /// event naming the record and the field group.
    pub async fn reveal_contact_details(
        &self,
        actor: &Actor,
        id: ContactId,
    ) -> Result<RevealedDetails, CoreError> {
        let (row, attrs) = self
            .authorized_contact(actor, id, RecordAction::Read)
            .await?;
        let reveal = Action::Field(FieldGroup::ContactDetails, FieldAccess::Reveal);
        let access = self.group_access(
            actor,
            RecordType::Contact,
            &attrs,
            FieldGroup::ContactDetails,
        );
        if access == GroupAccess::Hidden {
            return Err(self
                .denied(actor, reveal, &format!("Contact::{}", attrs.id))
                .await?);
        }
        if access == GroupAccess::Masked
            && !self.permits_record(actor, reveal, RecordType::Contact, &attrs)
        {
            // The policies tie reveal to a recent step-up: ask for it rather than refuse.
            self.require_recent_auth(actor)?;
            return Err(self
                .denied(actor, reveal, &format!("Contact::{}", attrs.id))
                .await?);
        }
        let key = self
            .keys()
            .data_key(self.store().conn(), row.dek_id)
            .await?;
        let view = self.contact_view(&key, &row)?;
        self.record_security_event(NewSecurityEvent {
            kind: SecurityEventKind::Reveal,
            user_id: Some(actor.user_id.as_uuid()),
            session_id: actor.session_id().map(|s| s.as_uuid()),
            client: None,
            detail: Some(format!("contact_details Contact::{}", row.id)),
        })
        .await?;
        Ok(RevealedDetails {
            emails: view.emails,
            phones: view.phones,
            address: view.address,
        })
    }
}

/// The fields a new contact sets, with their groups (empty values set nothing).
pub(crate) fn contact_input_fields(input: &ContactInput, fields: &FieldSet) -> Written {
    let details = FieldGroup::ContactDetails;
    let mut written = Vec::new();
    if input.emails.iter().any(|e| !e.trim().is_empty()) {
        written.push(("emails".to_owned(), details));
    }
    if input.phones.iter().any(|p| !p.trim().is_empty()) {
        written.push(("phones".to_owned(), details));
    }
    if input
        .address
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty())
    {
        written.push(("address".to_owned(), details));
    }
    if input.notes.as_deref().is_some_and(|n| !n.trim().is_empty()) {
        written.push(("notes".to_owned(), FieldGroup::Notes));
    }
    sensitive_custom_fields(&input.custom_fields, fields, &mut written);
    written
}

/// The fields a patch names, with their groups (naming one is writing it, even unchanged).
pub(crate) fn contact_patch_fields(patch: &ContactPatch, fields: &FieldSet) -> Written {
    let details = FieldGroup::ContactDetails;
    let mut written = Vec::new();
    for (name, present) in [
        ("emails", patch.emails.is_some()),
        ("phones", patch.phones.is_some()),
        ("address", patch.address.is_some()),
    ] {
        if present {
            written.push((name.to_owned(), details));
        }
    }
    if patch.notes.is_some() {
        written.push(("notes".to_owned(), FieldGroup::Notes));
    }
    if let Some(custom) = &patch.custom_fields {
        sensitive_custom_fields(custom, fields, &mut written);
    }
    written
}

/// Fields a write touches, each with its field group.
pub(crate) type Written = Vec<(String, FieldGroup)>;

fn sensitive_custom_fields(values: &CustomValues, fields: &FieldSet, written: &mut Written) {
    for key in fields.sensitive_keys() {
        if values.contains_key(&key) {
            written.push((format!("custom_fields.{key}"), FieldGroup::SensitiveCustom));
        }
    }
}

/// Pages read at most while filling one page under policies the query cannot express.
const MAX_FILL_ROUNDS: usize = 20;

impl Core {
    /// A page of the contacts the actor may read, with their access attributes. The policies'
    /// condition goes into the query, so pages are full and the cursor stays exact; if some
    /// policy could not be expressed in SQL the query is wider, each row is decided on its own
    /// and further pages are read until this one is full.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn list_readable_contacts(
        &self,
        actor: &Actor,
        mut filter: repo::contacts::Filter,
        sort: repo::contacts::Sort,
        direction: Direction,
        after: Option<After>,
        limit: u64,
        key_of: impl Fn(&contact::Model) -> (KeyValue, Uuid),
    ) -> Result<(Page<contact::Model>, Vec<RecordAttrs>), CoreError> {
        let ctx = self.request_context(actor);
        let policy = self.authz().record_filter(
            &actor.principal,
            Action::Record(RecordAction::Read),
            RecordType::Contact,
            &ctx,
        )?;
        filter.access = Some(policy.condition);
        let conn = self.store().conn();
        if policy.exact {
            let page =
                repo::contacts::list(conn, &filter, sort, direction, after.as_ref(), limit).await?;
            let attrs = self.contacts_attrs(conn, &page.items).await?;
            return Ok((page, attrs));
        }
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        let read = Action::Record(RecordAction::Read);
        let (mut items, mut kept) = (Vec::new(), Vec::new());
        let mut after = after;
        for _ in 0..MAX_FILL_ROUNDS {
            let page =
                repo::contacts::list(conn, &filter, sort, direction, after.as_ref(), limit).await?;
            let attrs = self.contacts_attrs(conn, &page.items).await?;
            after = page.items.last().map(|last| {
                let (key, id) = key_of(last);
                After { key, id }
            });
            for (row, attrs) in page.items.into_iter().zip(attrs) {
                if self.permits_record(actor, read, RecordType::Contact, &attrs) {
                    items.push(row);
                    kept.push(attrs);
                    if items.len() == wanted {
                        return Ok((
                            Page {
                                items,
                                has_more: true,
                            },
                            kept,
                        ));
                    }
                }
            }
            if !page.has_more {
                return Ok((
                    Page {
                        items,
                        has_more: false,
                    },
                    kept,
                ));
            }
        }
        // Many rows in a row were not readable: a short page, and the cursor goes on from it.
        Ok((
            Page {
                items,
                has_more: true,
            },
            kept,
        ))
    }
}

/// Which access attribute a write changed (for the error naming it).
pub(crate) fn changed_access_attribute(before: &RecordAttrs, after: &RecordAttrs) -> &'static str {
    if before.region != after.region {
        "region"
    } else if before.owner != after.owner {
        "owner_id"
    } else if before.team != after.team {
        "team"
    } else if before.sensitivity != after.sensitivity {
        "sensitivity"
    } else {
        "contact"
    }
}
