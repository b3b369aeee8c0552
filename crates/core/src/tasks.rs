//! Tasks: something a user has to do, by when and how urgently, optionally about a contact,
//! company or deal. The title and notes are free text about people, encrypted under the key
//! [`Core::resolve_links`] picks (the linked contact's own key, else the organisation key).
//! Assigning a task to someone else notifies them; a reminder moment makes the reminder sweep
//! notify the assignee once (see `notifications.rs`).

use crate::audit::AuditEvent;
use crate::authz::{CollectionAction, RecordAction, RecordType};
use crate::cursor;
use crate::links::{LinkInput, ResolvedLinks};
use crate::notifications::NotificationKind;
use crate::patch;
use crate::record_access::{AccessRow, Placement};
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::{from_millis, to_millis};
use custodian_domain::error::Validator;
use custodian_domain::values::{Moment, Notes, TaskPriority, TaskStatus, TaskTitle};
use custodian_domain::{CompanyId, ContactId, DealId, FieldError, TaskId, UserId};
use custodian_store::ConnectionTrait;
use custodian_store::entities::task;
use custodian_store::page::{After, Direction, KeyValue};
use custodian_store::repo::tasks::Sort as TaskSortKey;
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

const TABLE: &str = "tasks";
const ENTITY: &str = "task";
/// The statuses of a task still to be done.
pub const ACTIVE_STATUSES: &[TaskStatus] = &[TaskStatus::Open, TaskStatus::InProgress];

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub title: String,
    #[serde(default)]
    pub notes: Option<String>,
    /// Who does it; the creator when absent.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// RFC 3339 timestamp, or a date (`2026-12-31`: due by the end of that day, UTC).
    #[serde(default)]
    pub due_at: Option<String>,
    /// RFC 3339 timestamp; not after `due_at`. The assignee gets an in-app reminder then.
    #[serde(default)]
    pub remind_at: Option<String>,
    /// low, normal (default), high or urgent.
    #[serde(default)]
    pub priority: Option<String>,
    /// open (default) or in_progress.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub deal_id: Option<Uuid>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    pub version: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub notes: Option<Option<String>>,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub due_at: Option<Option<String>>,
    /// Changing it re-arms the reminder.
    #[serde(default, deserialize_with = "patch::nullable")]
    pub remind_at: Option<Option<String>>,
    #[serde(default)]
    pub priority: Option<String>,
    /// open, in_progress, done or cancelled (done stamps `completed_at`). A closed task is
    /// changed only by reopening it.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub contact_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub company_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub deal_id: Option<Option<Uuid>>,
}

/// Complete or reopen at the version the client saw.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskAction {
    pub version: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct TaskView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: TaskId,
    pub title: String,
    /// Sensitive: in the detail view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub assignee_id: UserId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub created_by: UserId,
    pub status: String,
    pub priority: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<time::OffsetDateTime>,
    /// The due moment was given as a date: it is the end of that day (UTC).
    pub due_all_day: bool,
    /// Due before now and still to be done.
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub remind_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub reminded_at: Option<time::OffsetDateTime>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub contact_id: Option<ContactId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub deal_id: Option<DealId>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub completed_at: Option<time::OffsetDateTime>,
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

impl TaskView {
    pub fn is_closed(&self) -> bool {
        TaskStatus::parse("status", &self.status).is_ok_and(TaskStatus::is_closed)
    }
}

macro_rules! redacted_debug {
    ($($name:ident),+) => {
        $(impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} {{ .. }}", stringify!($name))
            }
        })+
    };
}
redacted_debug!(TaskInput, TaskPatch, TaskView);

crate::cursor::sort_orders!(
    /// Due date first (no due date last) is what "my tasks" wants.
    TaskSort: TaskSortKey,
    "must be one of: due, -due, -priority, priority, -created, created, -updated, updated",
    {
        DueAsc = "due" => (Due, Asc),
        DueDesc = "-due" => (Due, Desc),
        PriorityDesc = "-priority" => (Priority, Desc),
        PriorityAsc = "priority" => (Priority, Asc),
        CreatedDesc = "-created" => (Created, Desc),
        CreatedAsc = "created" => (Created, Asc),
        UpdatedDesc = "-updated" => (Updated, Desc),
        UpdatedAsc = "updated" => (Updated, Asc),
    }
);

/// Whose tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    /// The acting user.
    Me,
    User(Uuid),
}

impl Assignee {
    /// `me` or a user id.
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw.trim() {
            "me" => Ok(Self::Me),
            other => Uuid::parse_str(other).map(Self::User).map_err(|_| {
                FieldError::new("assignee", "invalid_assignee", "must be `me` or a user id").into()
            }),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub assignee: Option<Assignee>,
    /// Any of these statuses (codes); all when empty.
    pub statuses: Vec<String>,
    /// Only tasks due before now that are still to be done.
    pub overdue: bool,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub deleted: Deleted,
    pub sort: TaskSort,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct TaskPage {
    pub items: Vec<TaskView>,
    pub next_cursor: Option<String>,
}

/// A task's own fields, validated.
struct TaskData {
    title: TaskTitle,
    notes: Option<Notes>,
    assignee_id: Option<Uuid>,
    due: Option<Moment>,
    remind_at: Option<i64>,
    priority: TaskPriority,
    status: TaskStatus,
    links: LinkInput,
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

impl TaskData {
    /// `statuses` are those this request may set.
    fn parse(input: &TaskInput, statuses: &[TaskStatus]) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let title = v.check(TaskTitle::parse("title", &input.title));
        let notes = present(input.notes.as_deref()).and_then(|n| v.check(Notes::parse("notes", n)));
        let due = present(input.due_at.as_deref())
            .and_then(|d| v.check(Moment::parse("due_at", d, true)));
        let remind = present(input.remind_at.as_deref())
            .and_then(|r| v.check(Moment::parse("remind_at", r, false)));
        if let (Some(due), Some(remind)) = (due, remind)
            && remind.at > due.at
        {
            v.push(FieldError::new(
                "remind_at",
                "remind_after_due",
                "must not be after the due moment",
            ));
        }
        let priority = match present(input.priority.as_deref()) {
            Some(p) => v.check(TaskPriority::parse("priority", p)),
            None => Some(TaskPriority::Normal),
        };
        let status = match present(input.status.as_deref()) {
            Some(s) => match v.check(TaskStatus::parse("status", s)) {
                Some(s) if !statuses.contains(&s) => {
                    v.push(FieldError::new(
                        "status",
                        "invalid_status_change",
                        "a new task is open or in_progress",
                    ));
                    None
                }
                other => other,
            },
            None => Some(TaskStatus::Open),
        };
        v.finish()?;
        let missing = || CoreError::Internal("validated task field missing");
        Ok(Self {
            title: title.ok_or_else(missing)?,
            notes,
            assignee_id: input.assignee_id,
            due,
            remind_at: remind.map(|r| to_millis(r.at)),
            priority: priority.ok_or_else(missing)?,
            status: status.ok_or_else(missing)?,
            links: LinkInput {
                contact_id: input.contact_id,
                company_id: input.company_id,
                deal_id: input.deal_id,
            },
        })
    }
}

fn rfc3339(ms: i64) -> String {
    from_millis(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The stored task as input again, so a patch is validated exactly like a new task.
fn to_input(row: &task::Model, title: String, notes: Option<String>) -> TaskInput {
    TaskInput {
        title,
        notes,
        assignee_id: Some(row.assignee_id),
        due_at: row.due_at.map(|d| {
            if row.due_all_day {
                let date = from_millis(d).date();
                format!(
                    "{:04}-{:02}-{:02}",
                    date.year(),
                    u8::from(date.month()),
                    date.day()
                )
            } else {
                rfc3339(d)
            }
        }),
        remind_at: row.remind_at.map(rfc3339),
        priority: Some(row.priority.clone()),
        status: Some(row.status.clone()),
        contact_id: row.contact_id,
        company_id: row.company_id,
        deal_id: row.deal_id,
    }
}

fn apply_patch(mut input: TaskInput, patch: &TaskPatch) -> TaskInput {
    if let Some(v) = &patch.title {
        input.title = v.clone();
    }
    if let Some(v) = &patch.notes {
        input.notes = v.clone();
    }
    if let Some(v) = patch.assignee_id {
        input.assignee_id = Some(v);
    }
    if let Some(v) = &patch.due_at {
        input.due_at = v.clone();
    }
    if let Some(v) = &patch.remind_at {
        input.remind_at = v.clone();
    }
    if let Some(v) = &patch.priority {
        input.priority = Some(v.clone());
    }
    if let Some(v) = &patch.status {
        input.status = Some(v.clone());
    }
    // Links change together: naming any of them replaces the implied ones too, so a task moved
    // from one contact's deal to another's does not keep the first contact.
    if patch.contact_id.is_some() || patch.company_id.is_some() || patch.deal_id.is_some() {
        input.contact_id = patch.contact_id.unwrap_or(input.contact_id);
        input.company_id = patch.company_id.unwrap_or(input.company_id);
        input.deal_id = patch.deal_id.unwrap_or(input.deal_id);
    }
    input
}

fn task_closed() -> CoreError {
    CoreError::Rule {
        code: "task_closed",
        message: "the task is done or cancelled; reopen it before changing it",
    }
}

fn is_active(status: &str) -> bool {
    ACTIVE_STATUSES.iter().any(|s| s.code() == status)
}

fn not_found() -> CoreError {
    CoreError::NotFound { entity: ENTITY }
}

/// The fields a new task sets (names only: an audit event never holds a value).
fn input_field_names(input: &TaskInput) -> Vec<&'static str> {
    [
        ("title", true),
        ("notes", input.notes.is_some()),
        ("assignee_id", input.assignee_id.is_some()),
        ("due_at", input.due_at.is_some()),
        ("remind_at", input.remind_at.is_some()),
        ("priority", input.priority.is_some()),
        ("status", input.status.is_some()),
        ("contact_id", input.contact_id.is_some()),
        ("company_id", input.company_id.is_some()),
        ("deal_id", input.deal_id.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The fields a patch names.
fn patch_field_names(patch: &TaskPatch) -> Vec<&'static str> {
    [
        ("title", patch.title.is_some()),
        ("notes", patch.notes.is_some()),
        ("assignee_id", patch.assignee_id.is_some()),
        ("due_at", patch.due_at.is_some()),
        ("remind_at", patch.remind_at.is_some()),
        ("priority", patch.priority.is_some()),
        ("status", patch.status.is_some()),
        ("contact_id", patch.contact_id.is_some()),
        ("company_id", patch.company_id.is_some()),
        ("deal_id", patch.deal_id.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The event of a change of the task's status (completed, reopened), after the write.
fn status_event(actor: &Actor, before: &task::Model, after: &task::Model) -> AuditEvent {
    AuditEvent::by(actor, AuditCode::DataUpdate)
        .target(ENTITY, after.id)
        .detail("fields", ["status", "completed_at"])
        .detail("status_from", before.status.clone())
        .detail("status_to", after.status.clone())
        .detail("from_version", before.version)
        .detail("to_version", after.version)
}

impl Core {
    pub async fn create_task(
        &self,
        actor: &Actor,
        input: TaskInput,
    ) -> Result<TaskView, CoreError> {
        let result = async {
            let data = TaskData::parse(&input, ACTIVE_STATUSES)?;
            let assignee = data.assignee_id.unwrap_or(actor.user_id.as_uuid());
            let now = self.now();
            let id = TaskId::new_at(now);
            let conn = self.store().conn();
            check_assignee(conn, assignee).await?;
            let links = self.resolve_links(conn, actor, data.links, false).await?;
            let placement = Placement::new(actor, links.about.as_ref());
            let mut row = task::Model {
                id: id.as_uuid(),
                dek_id: links.key.id(),
                title_ct: Vec::new(),
                notes_ct: None,
                assignee_id: assignee,
                created_by: actor.user_id.as_uuid(),
                status: data.status.code().to_owned(),
                priority: String::new(),
                priority_rank: 0,
                due_at: None,
                due_all_day: false,
                due_key: i64::MAX,
                remind_at: None,
                reminded_at: None,
                contact_id: None,
                company_id: None,
                deal_id: None,
                completed_at: None,
                team: placement.team,
                region: placement.region,
                sensitivity: placement.sensitivity,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                version: 1,
            };
            self.fill_task(&mut row, &data, &links)?;
            self.authorize_new(actor, &row)?;
            let txn = self.store().begin().await?;
            repo::tasks::insert(&txn, row.clone()).await?;
            let event = AuditEvent::by(actor, AuditCode::DataCreate)
                .target(ENTITY, row.id)
                .detail("fields", input_field_names(&input));
            if assignee != actor.user_id.as_uuid() {
                self.notify(
                    &txn,
                    assignee,
                    NotificationKind::TaskAssigned,
                    row.id,
                    Some(actor.user_id.as_uuid()),
                    now,
                )
                .await?;
            }
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.task_view(&links.key, &row, true)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    pub async fn get_task(&self, actor: &Actor, id: TaskId) -> Result<TaskView, CoreError> {
        let conn = self.store().conn();
        let row = repo::tasks::get(conn, id.as_uuid()).await?;
        let row = self.authorized(actor, row, RecordAction::Read).await?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        let view = self.task_view(&key, &row, true)?;
        self.audit_read(AuditEvent::by(actor, AuditCode::DataRead).target(ENTITY, row.id))
            .await?;
        Ok(view)
    }

    /// Changes an open task. Closed tasks refuse every change but reopening (`task_closed`).
    pub async fn update_task(
        &self,
        actor: &Actor,
        id: TaskId,
        patch: TaskPatch,
    ) -> Result<TaskView, CoreError> {
        let result = async {
            let (existing, key) = self.changeable_task(actor, id, patch.version).await?;
            let (title, notes) = self.task_text(&key, &existing)?;
            let input = apply_patch(to_input(&existing, title, notes), &patch);
            let mut event = AuditEvent::by(actor, AuditCode::DataUpdate)
                .target(ENTITY, existing.id)
                .detail("fields", patch_field_names(&patch));
            let data = TaskData::parse(&input, TaskStatus::ALL)?;
            let conn = self.store().conn();
            if data.assignee_id != Some(existing.assignee_id)
                && let Some(assignee) = data.assignee_id
            {
                check_assignee(conn, assignee).await?;
            }
            let links = self.resolve_links(conn, actor, data.links, false).await?;
            let mut row = existing.clone();
            self.fill_task(&mut row, &data, &links)?;
            self.authorize_changed(actor, &existing.access_attrs(), &row)?;
            let now = self.now().max(existing.updated_at);
            if data.status == TaskStatus::Done {
                row.completed_at = Some(now);
            }
            let rearm = row.remind_at != existing.remind_at;
            if rearm {
                row.reminded_at = None;
            }
            if row.status != existing.status {
                event = event
                    .detail("status_from", existing.status.clone())
                    .detail("status_to", row.status.clone());
            }
            let event = event
                .detail("from_version", existing.version)
                .detail("to_version", existing.version + 1);
            let txn = self.store().begin().await?;
            self.write_task(&txn, &existing, &mut row, rearm).await?;
            if row.assignee_id != existing.assignee_id && row.assignee_id != actor.user_id.as_uuid()
            {
                self.notify(
                    &txn,
                    row.assignee_id,
                    NotificationKind::TaskAssigned,
                    row.id,
                    Some(actor.user_id.as_uuid()),
                    now,
                )
                .await?;
            }
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.task_view(&links.key, &row, true)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    /// Marks the task done (stamping `completed_at`). Completing a done task is a no-op.
    pub async fn complete_task(
        &self,
        actor: &Actor,
        id: TaskId,
        request: TaskAction,
    ) -> Result<TaskView, CoreError> {
        let conn = self.store().conn();
        let existing = self.live_task(conn, actor, id, request.version).await?;
        let key = self.keys().data_key(conn, existing.dek_id).await?;
        if existing.status == TaskStatus::Done.code() {
            return self.task_view(&key, &existing, true);
        }
        if existing.status == TaskStatus::Cancelled.code() {
            return Err(task_closed());
        }
        let mut row = existing.clone();
        row.status = TaskStatus::Done.code().to_owned();
        row.completed_at = Some(self.now().max(existing.updated_at));
        let txn = self.store().begin().await?;
        self.write_task(&txn, &existing, &mut row, false).await?;
        self.audit_in(&txn, vec![status_event(actor, &existing, &row)])
            .await?;
        txn.commit().await?;
        self.task_view(&key, &row, true)
    }

    /// Opens a done or cancelled task again (`completed_at` cleared). Reopening an open task
    /// is a no-op.
    pub async fn reopen_task(
        &self,
        actor: &Actor,
        id: TaskId,
        request: TaskAction,
    ) -> Result<TaskView, CoreError> {
        let conn = self.store().conn();
        let existing = self.live_task(conn, actor, id, request.version).await?;
        let key = self.keys().data_key(conn, existing.dek_id).await?;
        if is_active(&existing.status) {
            return self.task_view(&key, &existing, true);
        }
        let mut row = existing.clone();
        row.status = TaskStatus::Open.code().to_owned();
        row.completed_at = None;
        let txn = self.store().begin().await?;
        self.write_task(&txn, &existing, &mut row, false).await?;
        self.audit_in(&txn, vec![status_event(actor, &existing, &row)])
            .await?;
        txn.commit().await?;
        self.task_view(&key, &row, true)
    }

    pub async fn delete_task(&self, actor: &Actor, id: TaskId) -> Result<(), CoreError> {
        self.set_task_deleted(actor, id, true).await.map(|_| ())
    }

    pub async fn restore_task(&self, actor: &Actor, id: TaskId) -> Result<TaskView, CoreError> {
        self.set_task_deleted(actor, id, false).await
    }

    async fn set_task_deleted(
        &self,
        actor: &Actor,
        id: TaskId,
        delete: bool,
    ) -> Result<TaskView, CoreError> {
        let action = if delete {
            RecordAction::Delete
        } else {
            RecordAction::Restore
        };
        let row = repo::tasks::get(self.store().conn(), id.as_uuid()).await?;
        self.authorized(actor, row, action).await?;
        let txn = self.store().begin().await?;
        let outcome = repo::tasks::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome(ENTITY, delete, outcome)?;
        let row = repo::tasks::get(&txn, id.as_uuid())
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
        self.task_view(&key, &row, true)
    }

    pub async fn list_tasks(&self, actor: &Actor, query: TaskQuery) -> Result<TaskPage, CoreError> {
        self.require_collection(actor, RecordType::Task, CollectionAction::List)
            .await?;
        let access = self.read_filter(actor, RecordType::Task)?;
        let limit = cursor::page_size(query.limit)?;
        let sort_code = query.sort.code();
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(sort_code, c))
            .transpose()?;
        let mut v = Validator::new();
        let mut statuses: Vec<TaskStatus> = query
            .statuses
            .iter()
            .filter(|s| !s.trim().is_empty())
            .filter_map(|s| v.check(TaskStatus::parse("status", s)))
            .collect();
        v.finish()?;
        let now = self.now();
        if query.overdue {
            if statuses.is_empty() {
                statuses = ACTIVE_STATUSES.to_vec();
            } else {
                statuses.retain(|s| !s.is_closed());
                if statuses.is_empty() {
                    // Closed tasks are never overdue.
                    return Ok(TaskPage {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
            }
        }
        let filter = repo::tasks::Filter {
            assignee_id: query.assignee.map(|a| match a {
                Assignee::Me => actor.user_id.as_uuid(),
                Assignee::User(id) => id,
            }),
            statuses: statuses.iter().map(|s| s.code().to_owned()).collect(),
            due_before: query.overdue.then_some(now),
            contact_id: query.contact_id,
            company_id: query.company_id,
            deal_id: query.deal_id,
            deleted: query.deleted,
            access: Some(access.condition.clone()),
        };
        let conn = self.store().conn();
        let (sort, direction) = query.sort.parts();
        let key_of = |last: &task::Model| {
            (
                KeyValue::Int(match sort {
                    TaskSortKey::Due => last.due_key,
                    TaskSortKey::Priority => last.priority_rank,
                    TaskSortKey::Created => last.created_at,
                    TaskSortKey::Updated => last.updated_at,
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
                        repo::tasks::list(conn, filter, sort, direction, after.as_ref(), limit)
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
            .map(|(row, key)| self.task_view(&key, row, false))
            .collect::<Result<Vec<_>, CoreError>>()?;
        self.audit_page_read(actor, ENTITY, page.items.iter().map(|r| r.id))
            .await?;
        Ok(TaskPage { items, next_cursor })
    }

    /// A live, open task at the version the client saw, with its key.
    async fn changeable_task(
        &self,
        actor: &Actor,
        id: TaskId,
        expected_version: i64,
    ) -> Result<(task::Model, Arc<DataKey>), CoreError> {
        let conn = self.store().conn();
        let row = self.live_task(conn, actor, id, expected_version).await?;
        if !is_active(&row.status) {
            return Err(task_closed());
        }
        let key = self.keys().data_key(conn, row.dek_id).await?;
        Ok((row, key))
    }

    /// A task the actor may update, live and at the expected version.
    async fn live_task<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        id: TaskId,
        expected_version: i64,
    ) -> Result<task::Model, CoreError> {
        let row = repo::tasks::get(conn, id.as_uuid()).await?;
        let row = self.authorized(actor, row, RecordAction::Update).await?;
        crate::check_changeable(
            row.deleted_at,
            row.version,
            expected_version,
            "the task is deleted; restore it before changing it",
        )?;
        Ok(row)
    }

    async fn write_task<C: ConnectionTrait>(
        &self,
        txn: &C,
        before: &task::Model,
        row: &mut task::Model,
        rearm: bool,
    ) -> Result<(), CoreError> {
        row.updated_at = self.now().max(before.updated_at);
        row.version = before.version + 1;
        let outcome =
            repo::tasks::update_versioned(txn, row.clone(), before.version, rearm).await?;
        crate::versioned_write(ENTITY, outcome)
    }

    /// Writes the validated fields into the row, encrypting the text under the links' key.
    fn fill_task(
        &self,
        row: &mut task::Model,
        data: &TaskData,
        links: &ResolvedLinks,
    ) -> Result<(), CoreError> {
        let key = &links.key;
        row.dek_id = key.id();
        row.title_ct = self.keys().encrypt(
            key,
            TABLE,
            "title",
            row.id,
            data.title.as_str().as_bytes(),
            self.rng(),
        )?;
        row.notes_ct = data
            .notes
            .as_ref()
            .map(|n| {
                self.keys().encrypt(
                    key,
                    TABLE,
                    "notes",
                    row.id,
                    n.as_str().as_bytes(),
                    self.rng(),
                )
            })
            .transpose()?;
        if let Some(assignee) = data.assignee_id {
            row.assignee_id = assignee;
        }
        row.status = data.status.code().to_owned();
        if !data.status.is_closed() {
            row.completed_at = None;
        }
        row.priority = data.priority.code().to_owned();
        row.priority_rank = data.priority.rank();
        row.due_at = data.due.map(|d| to_millis(d.at));
        row.due_all_day = data.due.is_some_and(|d| d.all_day);
        row.due_key = row.due_at.unwrap_or(i64::MAX);
        row.remind_at = data.remind_at;
        row.contact_id = links.contact_id;
        row.company_id = links.company_id;
        row.deal_id = links.deal_id;
        Ok(())
    }

    fn task_text(
        &self,
        key: &DataKey,
        row: &task::Model,
    ) -> Result<(String, Option<String>), CoreError> {
        let title = self
            .keys()
            .decrypt_string(key, TABLE, "title", row.id, &row.title_ct)?;
        let notes = row
            .notes_ct
            .as_deref()
            .map(|ct| self.keys().decrypt_string(key, TABLE, "notes", row.id, ct))
            .transpose()?;
        Ok((title, notes))
    }

    /// The task's title only (notifications render it at read time).
    pub(crate) fn task_title(&self, key: &DataKey, row: &task::Model) -> Result<String, CoreError> {
        self.keys()
            .decrypt_string(key, TABLE, "title", row.id, &row.title_ct)
    }

    /// `detail` adds the sensitive notes.
    fn task_view(
        &self,
        key: &DataKey,
        row: &task::Model,
        detail: bool,
    ) -> Result<TaskView, CoreError> {
        let (title, notes) = if detail {
            self.task_text(key, row)?
        } else {
            (self.task_title(key, row)?, None)
        };
        let now = self.now();
        Ok(TaskView {
            id: TaskId(row.id),
            title,
            notes,
            assignee_id: UserId(row.assignee_id),
            created_by: UserId(row.created_by),
            status: row.status.clone(),
            priority: row.priority.clone(),
            due_at: row.due_at.map(from_millis),
            due_all_day: row.due_all_day,
            overdue: is_active(&row.status) && row.due_at.is_some_and(|d| d < now),
            remind_at: row.remind_at.map(from_millis),
            reminded_at: row.reminded_at.map(from_millis),
            contact_id: row.contact_id.map(ContactId),
            company_id: row.company_id.map(CompanyId),
            deal_id: row.deal_id.map(DealId),
            completed_at: row.completed_at.map(from_millis),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
        })
    }
}

async fn check_assignee<C: ConnectionTrait>(conn: &C, user: Uuid) -> Result<(), CoreError> {
    let active = repo::users::get(conn, user)
        .await?
        .is_some_and(|u| u.status == crate::auth::STATUS_ACTIVE);
    if !active {
        return Err(FieldError::new(
            "assignee_id",
            "unknown_user",
            "no active user with this id exists",
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn remind_after_due_and_closed_statuses_are_refused_on_create() {
        let input = TaskInput {
            title: "Call back".into(),
            due_at: Some("2026-03-05".into()),
            remind_at: Some("2026-03-06T09:00:00Z".into()),
            status: Some("done".into()),
            priority: Some("asap".into()),
            ..TaskInput::default()
        };
        let Err(CoreError::Validation(errors)) = TaskData::parse(&input, ACTIVE_STATUSES) else {
            panic!("expected validation errors");
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
        assert!(codes.contains(&"remind_after_due"), "{codes:?}");
        assert!(codes.contains(&"invalid_status_change"), "{codes:?}");
        assert!(codes.contains(&"invalid_priority"), "{codes:?}");
        // A reminder on the due day, before its end, is fine.
        let ok = TaskInput {
            title: "Call back".into(),
            due_at: Some("2026-03-05".into()),
            remind_at: Some("2026-03-05T09:00:00Z".into()),
            ..TaskInput::default()
        };
        assert!(TaskData::parse(&ok, ACTIVE_STATUSES).is_ok());
    }

    #[test]
    fn stored_task_round_trips_through_input() {
        let row = task::Model {
            id: Uuid::nil(),
            dek_id: Uuid::nil(),
            title_ct: Vec::new(),
            notes_ct: None,
            assignee_id: Uuid::nil(),
            created_by: Uuid::nil(),
            status: "open".into(),
            priority: "high".into(),
            priority_rank: 2,
            due_at: Some(to_millis(
                time::macros::datetime!(2026-03-05 23:59:59.999 UTC),
            )),
            due_all_day: true,
            due_key: 0,
            remind_at: Some(to_millis(time::macros::datetime!(2026-03-05 01:00 UTC))),
            reminded_at: None,
            contact_id: None,
            company_id: None,
            deal_id: None,
            completed_at: None,
            team: None,
            region: None,
            sensitivity: 0,
            created_at: 0,
            updated_at: 0,
            deleted_at: None,
            version: 1,
        };
        let input = to_input(&row, "t".into(), None);
        assert_eq!(input.due_at.as_deref(), Some("2026-03-05"));
        let data = TaskData::parse(&input, TaskStatus::ALL).unwrap();
        assert_eq!(data.due.map(|d| to_millis(d.at)), row.due_at);
        assert_eq!(data.remind_at, row.remind_at);
    }
}
