//! Complaints: a contact's grievance, optionally about an order, a product or a deal (and the
//! contact's company), with category, severity, an assignee and a response due moment from the
//! severity's SLA. Subject, description and resolution are sensitive, encrypted under the
//! contact's key (the `links.rs` rule). Status moves only by transitions
//! (`ComplaintStatus::can_become`), each recorded with who and when; resolving needs a
//! resolution text.

use crate::audit::AuditEvent;
use crate::authz::{CollectionAction, FieldGroup, RecordAction, RecordType};
use crate::cursor;
use crate::links::LinkInput;
use crate::record_access::Placement;
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::from_millis;
use custodian_domain::error::Validator;
use custodian_domain::feedback::{
    ComplaintCategory, ComplaintStatus, Severity, block_text, limits, line_text,
};
use custodian_domain::{
    CompanyId, ComplaintId, ContactId, DealId, FieldError, OrderId, ProductId, UserId,
};
use custodian_store::ConnectionTrait;
use custodian_store::entities::{complaint, complaint_status_change};
use custodian_store::page::{After, Direction, KeyValue};
use custodian_store::repo::complaints::Sort as ComplaintSortKey;
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TABLE: &str = "complaints";
const ENTITY: &str = "complaint";

/// The restricted field group of a complaint's free text, when a change writes it.
fn text_groups(text: bool) -> Vec<&'static str> {
    if text {
        vec![FieldGroup::PreferencesFeedback.code()]
    } else {
        Vec::new()
    }
}
/// Status changes listed per complaint (a complaint changes status a handful of times).
const MAX_HISTORY: u64 = 500;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintInput {
    pub contact_id: Uuid,
    pub subject: String,
    pub description: String,
    /// product_quality, delivery, billing, service or other.
    pub category: String,
    /// low, medium, high or critical: decides the response due moment.
    pub severity: String,
    /// Who handles it; nobody yet when absent.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// The contact's company when absent.
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub order_id: Option<Uuid>,
    #[serde(default)]
    pub product_id: Option<Uuid>,
    #[serde(default)]
    pub deal_id: Option<Uuid>,
}

/// Changes to an open complaint. The contact is fixed (it decides the key).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintPatch {
    pub version: i64,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// Recomputes the response due moment from when the complaint was logged.
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    pub assignee_id: Option<Option<Uuid>>,
}

/// Moves a complaint to another status at the version the client saw.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintTransition {
    pub version: i64,
    /// investigating, resolved, closed or rejected (see the allowed transitions).
    pub status: String,
    /// Required to resolve: what was done.
    #[serde(default)]
    pub resolution: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct ComplaintView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ComplaintId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub contact_id: ContactId,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub order_id: Option<OrderId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub product_id: Option<ProductId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub deal_id: Option<DealId>,
    pub subject: String,
    /// Sensitive: in the detail view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Sensitive: in the detail view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    pub category: String,
    pub severity: String,
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub assignee_id: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub response_due_at: time::OffsetDateTime,
    /// Still open or investigating after the response due moment.
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<time::OffsetDateTime>,
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

impl ComplaintView {
    pub fn is_final(&self) -> bool {
        ComplaintStatus::parse("status", &self.status).is_ok_and(ComplaintStatus::is_final)
    }
}

/// One status change: `from_status` is null for the entry that logged the complaint.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ComplaintChangeView {
    pub from_status: Option<String>,
    pub to_status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub changed_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub changed_at: time::OffsetDateTime,
}

crate::redacted_debug!(
    ComplaintInput,
    ComplaintPatch,
    ComplaintTransition,
    ComplaintView
);

crate::cursor::sort_orders!(
    /// Most urgent response first is what the complaint queue wants.
    ComplaintSort: ComplaintSortKey,
    "must be one of: due, -due, -severity, severity, -created, created, -updated, updated",
    {
        DueAsc = "due" => (Due, Asc),
        DueDesc = "-due" => (Due, Desc),
        SeverityDesc = "-severity" => (Severity, Desc),
        SeverityAsc = "severity" => (Severity, Asc),
        CreatedDesc = "-created" => (Created, Desc),
        CreatedAsc = "created" => (Created, Asc),
        UpdatedDesc = "-updated" => (Updated, Desc),
        UpdatedAsc = "updated" => (Updated, Asc),
    }
);

#[derive(Debug, Clone, Default)]
pub struct ComplaintQuery {
    /// Any of these statuses (codes); all when empty.
    pub statuses: Vec<String>,
    pub severity: Option<String>,
    pub category: Option<String>,
    pub assignee: Option<crate::tasks::Assignee>,
    /// Only pending complaints whose response is overdue.
    pub overdue: bool,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub deleted: Deleted,
    pub sort: ComplaintSort,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ComplaintPage {
    pub items: Vec<ComplaintView>,
    pub next_cursor: Option<String>,
}

struct ComplaintData {
    subject: String,
    description: String,
    category: ComplaintCategory,
    severity: Severity,
}

impl ComplaintData {
    fn parse(
        subject: &str,
        description: &str,
        category: &str,
        severity: &str,
    ) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let subject = v.check(line_text("subject", subject, limits::SUBJECT));
        let description = v.check(block_text("description", description, limits::DESCRIPTION));
        let category = v.check(ComplaintCategory::parse("category", category));
        let severity = v.check(Severity::parse("severity", severity));
        v.finish()?;
        let missing = || CoreError::Internal("validated complaint field missing");
        Ok(Self {
            subject: subject.ok_or_else(missing)?,
            description: description.ok_or_else(missing)?,
            category: category.ok_or_else(missing)?,
            severity: severity.ok_or_else(missing)?,
        })
    }
}

fn not_found() -> CoreError {
    CoreError::NotFound { entity: ENTITY }
}

fn complaint_closed() -> CoreError {
    CoreError::Rule {
        code: "complaint_closed",
        message: "the complaint is closed or rejected and can no longer be changed",
    }
}

impl Core {
    pub async fn create_complaint(
        &self,
        actor: &Actor,
        input: ComplaintInput,
    ) -> Result<ComplaintView, CoreError> {
        let result = async {
            let data = ComplaintData::parse(
                &input.subject,
                &input.description,
                &input.category,
                &input.severity,
            )?;
            let conn = self.store().conn();
            let links = self
                .resolve_links(
                    conn,
                    actor,
                    LinkInput {
                        contact_id: Some(input.contact_id),
                        company_id: input.company_id,
                        deal_id: input.deal_id,
                    },
                    true,
                )
                .await?;
            let mut v = Validator::new();
            if let Some(order) = input.order_id {
                let live = repo::orders::get(conn, order)
                    .await?
                    .is_some_and(|o| o.deleted_at.is_none());
                if !live {
                    v.push(FieldError::new(
                        "order_id",
                        "unknown_order",
                        "no order with this id exists",
                    ));
                }
            }
            if let Some(product) = input.product_id {
                let live = repo::products::get(conn, product)
                    .await?
                    .is_some_and(|p| p.deleted_at.is_none());
                if !live {
                    v.push(FieldError::new(
                        "product_id",
                        "unknown_product",
                        "no product with this id exists",
                    ));
                }
            }
            v.finish()?;
            crate::check_user(conn, "assignee_id", input.assignee_id).await?;
            let contact_id = links.contact_id.ok_or(CoreError::Internal(
                "a complaint's contact was checked but is missing",
            ))?;
            let now = self.now();
            let placement = Placement::new(actor, links.about.as_ref());
            let mut row = complaint::Model {
                id: ComplaintId::new_at(now).as_uuid(),
                contact_id,
                company_id: links.company_id,
                order_id: input.order_id,
                product_id: input.product_id,
                deal_id: links.deal_id,
                dek_id: links.key.id(),
                subject_ct: Vec::new(),
                description_ct: Vec::new(),
                category: String::new(),
                severity: String::new(),
                severity_rank: 0,
                status: ComplaintStatus::Open.code().to_owned(),
                assignee_id: input.assignee_id,
                resolution_ct: None,
                response_due_at: now,
                resolved_at: None,
                closed_at: None,
                created_by: actor.user_id.as_uuid(),
                team: placement.team,
                region: placement.region,
                sensitivity: placement.sensitivity,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                version: 1,
            };
            self.fill_complaint(&links.key, &mut row, &data)?;
            self.authorize_new(actor, &row)?;
            self.require_group_update(actor, &row, "description", FieldGroup::PreferencesFeedback)?;
            let fields: Vec<&str> = [
                ("contact_id", true),
                ("subject", true),
                ("description", true),
                ("category", true),
                ("severity", true),
                ("assignee_id", input.assignee_id.is_some()),
                ("company_id", input.company_id.is_some()),
                ("order_id", input.order_id.is_some()),
                ("product_id", input.product_id.is_some()),
                ("deal_id", input.deal_id.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect();
            let event = AuditEvent::by(actor, AuditCode::DataCreate)
                .target(ENTITY, row.id)
                .detail("fields", fields)
                .detail("groups", text_groups(true));
            let txn = self.store().begin().await?;
            repo::complaints::insert(&txn, row.clone()).await?;
            self.record_complaint_change(&txn, actor, &row, None, now)
                .await?;
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.publish_complaint(actor, &links.key, &row)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    pub async fn get_complaint(
        &self,
        actor: &Actor,
        id: ComplaintId,
    ) -> Result<ComplaintView, CoreError> {
        let conn = self.store().conn();
        let row = repo::complaints::get(conn, id.as_uuid()).await?;
        let row = self.authorized(actor, row, RecordAction::Read).await?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        let view = self.publish_complaint(actor, &key, &row)?;
        self.audit_read(AuditEvent::by(actor, AuditCode::DataRead).target(ENTITY, row.id))
            .await?;
        Ok(view)
    }

    pub async fn update_complaint(
        &self,
        actor: &Actor,
        id: ComplaintId,
        patch: ComplaintPatch,
    ) -> Result<ComplaintView, CoreError> {
        let result = async {
            let conn = self.store().conn();
            let existing = self.live_complaint(conn, actor, id, patch.version).await?;
            for (field, named) in [
                ("subject", patch.subject.is_some()),
                ("description", patch.description.is_some()),
            ] {
                if named {
                    self.require_group_update(
                        actor,
                        &existing,
                        field,
                        FieldGroup::PreferencesFeedback,
                    )?;
                }
            }
            if ComplaintStatus::parse("status", &existing.status)
                .is_ok_and(ComplaintStatus::is_final)
            {
                return Err(complaint_closed());
            }
            let fields: Vec<&str> = [
                ("subject", patch.subject.is_some()),
                ("description", patch.description.is_some()),
                ("category", patch.category.is_some()),
                ("severity", patch.severity.is_some()),
                ("assignee_id", patch.assignee_id.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect();
            let event = AuditEvent::by(actor, AuditCode::DataUpdate)
                .target(ENTITY, existing.id)
                .detail("fields", fields)
                .detail(
                    "groups",
                    text_groups(patch.subject.is_some() || patch.description.is_some()),
                )
                .detail("from_version", existing.version)
                .detail("to_version", existing.version + 1);
            let key = self.keys().data_key(conn, existing.dek_id).await?;
            let old = self.complaint_view(&key, &existing, true)?;
            let data = ComplaintData::parse(
                patch.subject.as_deref().unwrap_or(&old.subject),
                patch
                    .description
                    .as_deref()
                    .unwrap_or(old.description.as_deref().unwrap_or_default()),
                patch.category.as_deref().unwrap_or(&existing.category),
                patch.severity.as_deref().unwrap_or(&existing.severity),
            )?;
            let assignee = patch.assignee_id.unwrap_or(existing.assignee_id);
            crate::check_user(conn, "assignee_id", assignee).await?;
            let mut row = existing.clone();
            self.fill_complaint(&key, &mut row, &data)?;
            row.assignee_id = assignee;
            let txn = self.store().begin().await?;
            self.write_complaint(&txn, &existing, &mut row).await?;
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.publish_complaint(actor, &key, &row)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    /// Moves the complaint along its allowed transitions (409 `invalid_transition`
    /// otherwise); resolving requires a resolution (422 `resolution_required`).
    pub async fn transition_complaint(
        &self,
        actor: &Actor,
        id: ComplaintId,
        request: ComplaintTransition,
    ) -> Result<ComplaintView, CoreError> {
        let result = async {
            let mut v = Validator::new();
            let next = v.check(ComplaintStatus::parse("status", &request.status));
            let resolution = request
                .resolution
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .and_then(|r| v.check(block_text("resolution", r, limits::RESOLUTION)));
            let blank = request
                .resolution
                .as_deref()
                .is_none_or(|r| r.trim().is_empty());
            if next == Some(ComplaintStatus::Resolved) && blank {
                v.push(FieldError::new(
                    "resolution",
                    "resolution_required",
                    "say how the complaint was resolved",
                ));
            }
            if resolution.is_some() && next.is_some_and(|n| n != ComplaintStatus::Resolved) {
                v.push(FieldError::new(
                    "resolution",
                    "not_applicable",
                    "a resolution is given only when resolving",
                ));
            }
            v.finish()?;
            let next = next.ok_or(CoreError::Internal("validated status missing"))?;
            let conn = self.store().conn();
            let existing = self.live_complaint(conn, actor, id, request.version).await?;
            if request.resolution.is_some() {
                self.require_group_update(
                    actor,
                    &existing,
                    "resolution",
                    FieldGroup::PreferencesFeedback,
                )?;
            }
            let current = ComplaintStatus::parse("status", &existing.status)
                .map_err(|_| CoreError::Internal("stored complaint status is unknown"))?;
            if !current.can_become(next) {
                return Err(CoreError::Rule {
                    code: "invalid_transition",
                    message: "this status change is not allowed from the complaint's current status",
                });
            }
            let key = self.keys().data_key(conn, existing.dek_id).await?;
            let now = self.now().max(existing.updated_at);
            let mut row = existing.clone();
            row.status = next.code().to_owned();
            match next {
                ComplaintStatus::Resolved => {
                    row.resolved_at = Some(now);
                    row.resolution_ct = resolution
                        .as_ref()
                        .map(|r| {
                            self.keys().encrypt(
                                &key,
                                TABLE,
                                "resolution",
                                row.id,
                                r.as_bytes(),
                                self.rng(),
                            )
                        })
                        .transpose()?;
                }
                ComplaintStatus::Closed | ComplaintStatus::Rejected => row.closed_at = Some(now),
                // Back to investigating: the resolution did not satisfy; it stays on record
                // until a new one replaces it.
                ComplaintStatus::Investigating | ComplaintStatus::Open => row.resolved_at = None,
            }
            let txn = self.store().begin().await?;
            self.write_complaint(&txn, &existing, &mut row).await?;
            self.record_complaint_change(&txn, actor, &row, Some(&existing.status), now)
                .await?;
            let stamps = [
                ("resolved_at", existing.resolved_at != row.resolved_at),
                ("closed_at", existing.closed_at != row.closed_at),
                ("resolution", resolution.is_some()),
            ];
            let mut fields = vec!["status"];
            fields.extend(
                stamps
                    .into_iter()
                    .filter_map(|(name, changed)| changed.then_some(name)),
            );
            let event = AuditEvent::by(actor, AuditCode::DataUpdate)
                .target(ENTITY, row.id)
                .detail("fields", fields)
                .detail("groups", text_groups(resolution.is_some()))
                .detail("status_from", existing.status.clone())
                .detail("status_to", row.status.clone())
                .detail("from_version", existing.version)
                .detail("to_version", row.version);
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.publish_complaint(actor, &key, &row)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    /// The status history, oldest first.
    pub async fn complaint_history(
        &self,
        actor: &Actor,
        id: ComplaintId,
    ) -> Result<Vec<ComplaintChangeView>, CoreError> {
        let conn = self.store().conn();
        let row = repo::complaints::get(conn, id.as_uuid())
            .await?
            .filter(|c| c.deleted_at.is_none());
        self.authorized(actor, row, RecordAction::Read).await?;
        let rows = repo::complaints::history(conn, id.as_uuid(), MAX_HISTORY).await?;
        Ok(rows
            .into_iter()
            .map(|r| ComplaintChangeView {
                from_status: r.from_status,
                to_status: r.to_status,
                changed_by: UserId(r.changed_by),
                changed_at: from_millis(r.changed_at),
            })
            .collect())
    }

    pub async fn delete_complaint(&self, actor: &Actor, id: ComplaintId) -> Result<(), CoreError> {
        self.set_complaint_deleted(actor, id, true)
            .await
            .map(|_| ())
    }

    pub async fn restore_complaint(
        &self,
        actor: &Actor,
        id: ComplaintId,
    ) -> Result<ComplaintView, CoreError> {
        self.set_complaint_deleted(actor, id, false).await
    }

    async fn set_complaint_deleted(
        &self,
        actor: &Actor,
        id: ComplaintId,
        delete: bool,
    ) -> Result<ComplaintView, CoreError> {
        let action = if delete {
            RecordAction::Delete
        } else {
            RecordAction::Restore
        };
        let row = repo::complaints::get(self.store().conn(), id.as_uuid()).await?;
        self.authorized(actor, row, action).await?;
        let txn = self.store().begin().await?;
        let outcome = repo::complaints::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome(ENTITY, delete, outcome)?;
        let row = repo::complaints::get(&txn, id.as_uuid())
            .await?
            .ok_or_else(not_found)?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, delete, ENTITY, row.id)],
        )
        .await?;
        txn.commit().await?;
        let key = self
            .keys()
            .data_key(self.store().conn(), row.dek_id)
            .await?;
        self.publish_complaint(actor, &key, &row)
    }

    pub async fn list_complaints(
        &self,
        actor: &Actor,
        query: ComplaintQuery,
    ) -> Result<ComplaintPage, CoreError> {
        self.require_collection(actor, RecordType::Complaint, CollectionAction::List)
            .await?;
        let access = self.read_filter(actor, RecordType::Complaint)?;
        let limit = cursor::page_size(query.limit)?;
        let sort_code = query.sort.code();
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(sort_code, c))
            .transpose()?;
        let mut v = Validator::new();
        let mut statuses: Vec<ComplaintStatus> = query
            .statuses
            .iter()
            .filter(|s| !s.trim().is_empty())
            .filter_map(|s| v.check(ComplaintStatus::parse("status", s)))
            .collect();
        let severity = query
            .severity
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| v.check(Severity::parse("severity", s)));
        let category = query
            .category
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| v.check(ComplaintCategory::parse("category", s)));
        v.finish()?;
        if query.overdue {
            if statuses.is_empty() {
                statuses = vec![ComplaintStatus::Open, ComplaintStatus::Investigating];
            } else {
                statuses.retain(|s| s.is_pending());
                if statuses.is_empty() {
                    return Ok(ComplaintPage {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
            }
        }
        let filter = repo::complaints::Filter {
            statuses: statuses.iter().map(|s| s.code().to_owned()).collect(),
            severity: severity.map(|s| s.code().to_owned()),
            category: category.map(|c| c.code().to_owned()),
            assignee_id: query.assignee.map(|a| match a {
                crate::tasks::Assignee::Me => actor.user_id.as_uuid(),
                crate::tasks::Assignee::User(id) => id,
            }),
            due_before: query.overdue.then(|| self.now()),
            contact_id: query.contact_id,
            company_id: query.company_id,
            order_id: query.order_id,
            deleted: query.deleted,
            access: Some(access.condition.clone()),
        };
        let conn = self.store().conn();
        let (sort, direction) = query.sort.parts();
        let key_of = |last: &complaint::Model| {
            (
                KeyValue::Int(match sort {
                    ComplaintSortKey::Due => last.response_due_at,
                    ComplaintSortKey::Severity => last.severity_rank,
                    ComplaintSortKey::Created => last.created_at,
                    ComplaintSortKey::Updated => last.updated_at,
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
                        repo::complaints::list(conn, filter, sort, direction, after.as_ref(), limit)
                            .await
                    }
                },
                key_of,
            )
            .await?;
        let next_cursor = cursor::next(sort_code, &page, key_of);
        let key_ids: Vec<Uuid> = page.items.iter().map(|r| r.dek_id).collect();
        let keys = self.keys().data_keys(conn, &key_ids).await?;
        let items = page
            .items
            .iter()
            .zip(keys)
            .map(|(row, key)| self.complaint_view(&key, row, false))
            .collect::<Result<Vec<_>, CoreError>>()?;
        self.audit_page_read(actor, ENTITY, page.items.iter().map(|r| r.id))
            .await?;
        Ok(ComplaintPage { items, next_cursor })
    }

    /// The publishable view: the free text (description, resolution) only to callers who
    /// read preferences and feedback on it.
    fn publish_complaint(
        &self,
        actor: &Actor,
        key: &DataKey,
        row: &complaint::Model,
    ) -> Result<ComplaintView, CoreError> {
        let text = self.reads_group(actor, row, FieldGroup::PreferencesFeedback);
        self.complaint_view(key, row, text)
    }

    /// A complaint the actor may update, live and at the expected version.
    async fn live_complaint<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        id: ComplaintId,
        expected_version: i64,
    ) -> Result<complaint::Model, CoreError> {
        let row = repo::complaints::get(conn, id.as_uuid()).await?;
        let row = self.authorized(actor, row, RecordAction::Update).await?;
        crate::check_changeable(
            row.deleted_at,
            row.version,
            expected_version,
            "the complaint is deleted; restore it before changing it",
        )?;
        Ok(row)
    }

    async fn write_complaint<C: ConnectionTrait>(
        &self,
        txn: &C,
        before: &complaint::Model,
        row: &mut complaint::Model,
    ) -> Result<(), CoreError> {
        row.updated_at = self.now().max(before.updated_at);
        row.version = before.version + 1;
        let outcome = repo::complaints::update_versioned(txn, row.clone(), before.version).await?;
        crate::versioned_write(ENTITY, outcome)
    }

    async fn record_complaint_change<C: ConnectionTrait>(
        &self,
        txn: &C,
        actor: &Actor,
        row: &complaint::Model,
        from: Option<&str>,
        at: i64,
    ) -> Result<(), CoreError> {
        repo::complaints::insert_change(
            txn,
            complaint_status_change::Model {
                id: custodian_domain::ids::uuid_at(at),
                complaint_id: row.id,
                complaint_version: row.version,
                from_status: from.map(str::to_owned),
                to_status: row.status.clone(),
                changed_by: actor.user_id.as_uuid(),
                changed_at: at,
            },
        )
        .await?;
        Ok(())
    }

    fn fill_complaint(
        &self,
        key: &DataKey,
        row: &mut complaint::Model,
        data: &ComplaintData,
    ) -> Result<(), CoreError> {
        row.subject_ct = self.keys().encrypt(
            key,
            TABLE,
            "subject",
            row.id,
            data.subject.as_bytes(),
            self.rng(),
        )?;
        row.description_ct = self.keys().encrypt(
            key,
            TABLE,
            "description",
            row.id,
            data.description.as_bytes(),
            self.rng(),
        )?;
        row.category = data.category.code().to_owned();
        row.severity = data.severity.code().to_owned();
        row.severity_rank = data.severity.rank();
        row.response_due_at = row.created_at + data.severity.response_millis();
        Ok(())
    }

    /// `detail` adds the sensitive description and resolution.
    fn complaint_view(
        &self,
        key: &DataKey,
        row: &complaint::Model,
        detail: bool,
    ) -> Result<ComplaintView, CoreError> {
        let decrypt = |column: &'static str, ct: &[u8]| {
            self.keys().decrypt_string(key, TABLE, column, row.id, ct)
        };
        let subject = decrypt("subject", &row.subject_ct)?;
        let (description, resolution) = if detail {
            (
                Some(decrypt("description", &row.description_ct)?),
                row.resolution_ct
                    .as_deref()
                    .map(|ct| decrypt("resolution", ct))
                    .transpose()?,
            )
        } else {
            (None, None)
        };
        let pending =
            ComplaintStatus::parse("status", &row.status).is_ok_and(ComplaintStatus::is_pending);
        Ok(ComplaintView {
            id: ComplaintId(row.id),
            contact_id: ContactId(row.contact_id),
            company_id: row.company_id.map(CompanyId),
            order_id: row.order_id.map(OrderId),
            product_id: row.product_id.map(ProductId),
            deal_id: row.deal_id.map(DealId),
            subject,
            description,
            resolution,
            category: row.category.clone(),
            severity: row.severity.clone(),
            status: row.status.clone(),
            assignee_id: row.assignee_id.map(UserId),
            response_due_at: from_millis(row.response_due_at),
            overdue: pending && row.response_due_at < self.now(),
            resolved_at: row.resolved_at.map(from_millis),
            closed_at: row.closed_at.map(from_millis),
            created_by: UserId(row.created_by),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
        })
    }
}
