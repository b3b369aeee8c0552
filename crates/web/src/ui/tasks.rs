//! Task pages: "My tasks" / "Overdue" / "All" views with filters, the task form, the detail
//! page with complete / reopen / delete / restore, and the "Tasks" section shown on contact,
//! company and deal pages. Titles and notes are personal: held only for rendering, never put
//! into a URL (links to a new task carry only record ids).

use super::deals::{invalid_query, optional_id, parse_version, who};
use super::session::{CsrfOnly, csrf_checked_id};
use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, bad_request, build_url,
    field_message, format_time, normalize_newlines, optional, parse_id, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::contacts::Deleted;
use custodian_core::links::RecordKind;
use custodian_core::tasks::{
    Assignee, TaskAction, TaskInput, TaskPatch, TaskQuery, TaskSort, TaskView,
};
use custodian_domain::values::{TaskPriority, TaskStatus};
use custodian_domain::{FieldError, TaskId};
use serde::Deserialize;
use std::fmt;

const NAV: &str = "tasks";
const FORM_FIELDS: &[&str] = &[
    "title",
    "notes",
    "due_date",
    "due_time",
    "remind_at",
    "priority",
    "status",
    "assignee_id",
    "company_id",
];
const FILTER_FIELDS: &[&str] = &["status", "sort"];
/// Sort orders offered by the list: (code, catalog key). The first is the default.
const SORTS: &[(&str, &str)] = &[
    ("due", "tasks.sort_due"),
    ("-priority", "tasks.sort_priority"),
    ("-created", "tasks.sort_created"),
    ("-updated", "tasks.sort_updated"),
];
/// Open tasks shown on a record's page.
const RECORD_TASKS: u64 = 10;

pub(crate) fn status_label(t: &Tr<'_>, code: &str) -> String {
    t.t(&format!("task_status.{code}")).to_owned()
}

pub(crate) fn priority_label(t: &Tr<'_>, code: &str) -> String {
    t.t(&format!("task_priority.{code}")).to_owned()
}

fn options(
    t: &Tr<'_>,
    codes: &[&'static str],
    label: fn(&Tr<'_>, &str) -> String,
    selected: &str,
) -> Vec<SelectOption> {
    codes
        .iter()
        .map(|c| SelectOption {
            value: (*c).to_owned(),
            label: label(t, c),
            selected: *c == selected,
        })
        .collect()
}

fn status_codes() -> Vec<&'static str> {
    TaskStatus::ALL.iter().map(|s| s.code()).collect()
}

fn priority_codes() -> Vec<&'static str> {
    TaskPriority::ALL.iter().map(|p| p.code()).collect()
}

/// `YYYY-MM-DD` of a UTC moment.
fn date_part(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `HH:MM` of a UTC moment.
fn time_part(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// The due moment as shown: the date alone for all-day tasks.
fn due_text(task: &TaskView) -> String {
    match task.due_at {
        Some(d) if task.due_all_day => format!("{} UTC", date_part(d)),
        Some(d) => format_time(d),
        None => String::new(),
    }
}

/// The catalog's status texts are the deals' and leads'; a task's get their own.
fn task_field_errors(errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| match (e.field.as_str(), e.code) {
            (_, "invalid_status") => {
                FieldError::new(e.field.clone(), "invalid_task_status", e.message.clone())
            }
            (_, "invalid_status_change") => FieldError::new(
                e.field.clone(),
                "invalid_task_status_change",
                e.message.clone(),
            ),
            ("due_at", code) => FieldError::new("due_date", code, e.message.clone()),
            _ => e.clone(),
        })
        .collect()
}

fn rule_message(t: &Tr<'_>, code: &str) -> String {
    let key = format!("error.{code}");
    match t.t(&key) {
        text if text == key => t.t("error.conflict").to_owned(),
        text => text.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Rows (list and record sections)
// ---------------------------------------------------------------------------------------------

/// A task in a table. Holds the title (personal) only for rendering.
pub(crate) struct TaskRow {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) status: String,
    pub(crate) status_code: String,
    pub(crate) priority: String,
    pub(crate) priority_code: String,
    pub(crate) due: String,
    pub(crate) overdue: bool,
    pub(crate) assignee: String,
}

fn task_row(v: &Viewer, t: &Tr<'_>, task: TaskView) -> TaskRow {
    TaskRow {
        id: task.id.to_string(),
        status: status_label(t, &task.status),
        priority: priority_label(t, &task.priority),
        due: due_text(&task),
        overdue: task.overdue,
        assignee: who(v, task.assignee_id),
        status_code: task.status,
        priority_code: task.priority,
        title: task.title,
    }
}

/// The "Tasks" section of a contact, company or deal page: its open tasks by due date and
/// a link to add one linked to it.
pub(crate) struct RecordTasks {
    pub(crate) rows: Vec<TaskRow>,
    pub(crate) more_href: Option<String>,
    pub(crate) new_href: String,
}

pub(crate) async fn record_tasks(
    v: &Viewer,
    kind: RecordKind,
    id: uuid::Uuid,
) -> Result<RecordTasks, UiError> {
    let mut query = TaskQuery {
        statuses: vec!["open".to_owned(), "in_progress".to_owned()],
        limit: Some(RECORD_TASKS),
        ..TaskQuery::default()
    };
    match kind {
        RecordKind::Contact => query.contact_id = Some(id),
        RecordKind::Company => query.company_id = Some(id),
        RecordKind::Deal => query.deal_id = Some(id),
    }
    let page = v.core().list_tasks(v.actor(), query).await.ui(v)?;
    let t = v.t();
    let param = format!("{}_id", kind.as_str());
    let id_text = id.to_string();
    Ok(RecordTasks {
        more_href: page
            .next_cursor
            .map(|_| build_url("/tasks", &[("view", "all"), (param.as_str(), &id_text)])),
        new_href: build_url("/tasks/new", &[(param.as_str(), &id_text)]),
        rows: page
            .items
            .into_iter()
            .map(|task| task_row(v, &t, task))
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListParams {
    /// `mine` (default), `overdue` or `all`.
    view: String,
    status: String,
    sort: String,
    deleted: String,
    contact_id: String,
    company_id: String,
    deal_id: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "tasks/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    view: &'static str,
    rows: Vec<TaskRow>,
    deleted: bool,
    statuses: Vec<SelectOption>,
    sorts: Vec<SelectOption>,
    filtered: bool,
    errors: FormErrors,
    next_href: Option<String>,
    first_href: String,
    paged: bool,
    /// Record filters carried by the filter form.
    contact_id: String,
    company_id: String,
    deal_id: String,
}

pub(crate) async fn list(
    v: Viewer,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let t = v.t();
    let view: &'static str = match p.view.trim() {
        "overdue" => "overdue",
        "all" => "all",
        _ => "mine",
    };
    let deleted = p.deleted == "only";
    let mut errors = FormErrors::default();
    let sort = match p.sort.trim() {
        "" => TaskSort::default(),
        raw => TaskSort::parse(raw).unwrap_or_else(|_| {
            let e = FieldError::new("sort", "invalid_sort", "choose a sort order from the list");
            errors.add("sort", field_message(&t, &e));
            TaskSort::default()
        }),
    };
    let ids = [
        optional_id("contact_id", &p.contact_id),
        optional_id("company_id", &p.company_id),
        optional_id("deal_id", &p.deal_id),
    ];
    if ids.iter().any(Result::is_err) {
        return Err(v.fail(invalid_query()));
    }
    let [contact_id, company_id, deal_id] = ids.map(|r| r.ok().flatten());
    // "My tasks" are the open ones unless a status is chosen.
    let statuses = match (p.status.trim(), view) {
        ("", "mine") => vec!["open".to_owned(), "in_progress".to_owned()],
        ("", _) => Vec::new(),
        (s, _) => vec![s.to_owned()],
    };
    let (rows, next_cursor, status) = if errors.any() {
        (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        let query = TaskQuery {
            assignee: (view == "mine").then_some(Assignee::Me),
            statuses,
            overdue: view == "overdue",
            contact_id,
            company_id,
            deal_id,
            deleted: if deleted {
                Deleted::Only
            } else {
                Deleted::Exclude
            },
            sort,
            cursor: Some(p.cursor.trim().to_owned()).filter(|c| !c.is_empty()),
            ..TaskQuery::default()
        };
        match v.core().list_tasks(v.actor(), query).await {
            Ok(page) => (
                page.items
                    .into_iter()
                    .map(|task| task_row(&v, &t, task))
                    .collect(),
                page.next_cursor,
                StatusCode::OK,
            ),
            Err(CoreError::Validation(field_errors)) => {
                errors =
                    FormErrors::from_fields(&t, &task_field_errors(&field_errors), FILTER_FIELDS);
                (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return Err(v.fail(e)),
        }
    };
    let filter_url = |cursor: &str| {
        build_url(
            "/tasks",
            &[
                ("view", if view == "mine" { "" } else { view }),
                ("status", p.status.trim()),
                ("sort", p.sort.trim()),
                ("deleted", if deleted { "only" } else { "" }),
                ("contact_id", p.contact_id.trim()),
                ("company_id", p.company_id.trim()),
                ("deal_id", p.deal_id.trim()),
                ("cursor", cursor),
            ],
        )
    };
    let page = ListPage {
        statuses: options(&t, &status_codes(), status_label, p.status.trim()),
        sorts: SORTS
            .iter()
            .map(|(code, key)| SelectOption {
                value: (*code).to_owned(),
                label: t.t(key).to_owned(),
                selected: *code == p.sort.trim()
                    || (p.sort.trim().is_empty() && *code == SORTS[0].0),
            })
            .collect(),
        next_href: next_cursor.map(|c| filter_url(&c)),
        first_href: filter_url(""),
        paged: !p.cursor.trim().is_empty(),
        filtered: !p.status.trim().is_empty()
            || contact_id.is_some()
            || company_id.is_some()
            || deal_id.is_some(),
        t,
        chrome: v.chrome(NAV),
        view,
        rows,
        deleted,
        errors,
        contact_id: p.contact_id.trim().to_owned(),
        company_id: p.company_id.trim().to_owned(),
        deal_id: p.deal_id.trim().to_owned(),
    };
    Ok(render(status, &page))
}

// ---------------------------------------------------------------------------------------------
// Detail, complete, reopen
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "tasks/detail.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    task: TaskView,
    id: String,
    status: String,
    priority: String,
    due: String,
    remind: String,
    assignee: String,
    creator: String,
    created: String,
    updated: String,
    completed: Option<String>,
    deleted_at: Option<String>,
    closed: bool,
    message: Option<String>,
}

async fn detail_page(
    v: &Viewer,
    status: StatusCode,
    id: TaskId,
    message: Option<String>,
) -> Result<Response, UiError> {
    let task = v.core().get_task(v.actor(), id).await.ui(v)?;
    let t = v.t();
    let page = DetailPage {
        id: task.id.to_string(),
        status: status_label(&t, &task.status),
        priority: priority_label(&t, &task.priority),
        due: due_text(&task),
        remind: task.remind_at.map(format_time).unwrap_or_default(),
        assignee: who(v, task.assignee_id),
        creator: who(v, task.created_by),
        created: format_time(task.created_at),
        updated: format_time(task.updated_at),
        completed: task.completed_at.map(format_time),
        deleted_at: task.deleted_at.map(format_time),
        closed: task.is_closed(),
        message,
        t,
        chrome: v.chrome(NAV),
        task,
    };
    Ok(render(status, &page))
}

pub(crate) async fn detail(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = TaskId(parse_id(&raw).ui(&v)?);
    detail_page(&v, StatusCode::OK, id, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ActionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
}

async fn action(
    v: Viewer,
    raw: &str,
    form: Result<Form<ActionForm>, FormRejection>,
    complete: bool,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = TaskId(parse_id(raw).ui(&v)?);
    let result = match parse_version(&form.version) {
        Ok(version) if complete => {
            v.core()
                .complete_task(v.actor(), id, TaskAction { version })
                .await
        }
        Ok(version) => {
            v.core()
                .reopen_task(v.actor(), id, TaskAction { version })
                .await
        }
        Err(e) => Err(e.into()),
    };
    let t = v.t();
    let message = match result {
        Ok(task) => return Ok(Redirect::to(&format!("/tasks/{}", task.id)).into_response()),
        Err(CoreError::StaleVersion { .. } | CoreError::Validation(_)) => {
            t.t("tasks.stale_detail").to_owned()
        }
        Err(CoreError::Rule { code, .. }) => rule_message(&t, code),
        Err(e @ CoreError::Conflict(_)) => {
            return Err(v.fail(e).with_message_key("tasks.deleted_cannot_change"));
        }
        Err(e) => return Err(v.fail(e)),
    };
    detail_page(&v, StatusCode::CONFLICT, id, Some(message)).await
}

pub(crate) async fn complete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, UiError> {
    action(v, &raw, form, true).await
}

pub(crate) async fn reopen(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, UiError> {
    action(v, &raw, form, false).await
}

// ---------------------------------------------------------------------------------------------
// Create and edit
// ---------------------------------------------------------------------------------------------

/// The task form as submitted. Times are UTC (the page says so). Redacted `Debug`.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct TaskForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    pub(crate) title: String,
    pub(crate) notes: String,
    /// `YYYY-MM-DD`.
    pub(crate) due_date: String,
    /// `HH:MM`, optional: without it the task is due by the end of the day.
    pub(crate) due_time: String,
    /// `YYYY-MM-DDTHH:MM` (a `datetime-local` input), UTC.
    pub(crate) remind_at: String,
    pub(crate) priority: String,
    pub(crate) status: String,
    /// Empty: the signed-in user.
    pub(crate) assignee_id: String,
    pub(crate) contact_id: String,
    pub(crate) company_id: String,
    pub(crate) deal_id: String,
    pub(crate) version: String,
}

impl fmt::Debug for TaskForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskForm { .. }")
    }
}

impl TaskForm {
    fn from_view(task: &TaskView) -> Self {
        Self {
            title: task.title.clone(),
            notes: task.notes.clone().unwrap_or_default(),
            due_date: task.due_at.map(date_part).unwrap_or_default(),
            due_time: match task.due_at {
                Some(d) if !task.due_all_day => time_part(d),
                _ => String::new(),
            },
            remind_at: task
                .remind_at
                .map(|r| format!("{}T{}", date_part(r), time_part(r)))
                .unwrap_or_default(),
            priority: task.priority.clone(),
            status: task.status.clone(),
            assignee_id: task.assignee_id.to_string(),
            contact_id: task.contact_id.map(|c| c.to_string()).unwrap_or_default(),
            company_id: task.company_id.map(|c| c.to_string()).unwrap_or_default(),
            deal_id: task.deal_id.map(|d| d.to_string()).unwrap_or_default(),
            version: task.version.to_string(),
            ..Self::default()
        }
    }

    fn due(&self) -> Option<String> {
        let date = self.due_date.trim();
        let time = self.due_time.trim();
        match (date.is_empty(), time.is_empty()) {
            (true, _) => None,
            (false, true) => Some(date.to_owned()),
            (false, false) => Some(format!("{date}T{time}:00Z")),
        }
    }

    fn remind(&self) -> Option<String> {
        let raw = self.remind_at.trim();
        (!raw.is_empty()).then(|| {
            if raw.len() == 16 {
                format!("{raw}:00Z")
            } else {
                format!("{raw}Z")
            }
        })
    }

    pub(crate) fn to_input(&self) -> Result<TaskInput, FieldError> {
        Ok(TaskInput {
            title: normalize_newlines(&self.title),
            notes: optional(&self.notes),
            assignee_id: optional_id("assignee_id", &self.assignee_id)?,
            due_at: self.due(),
            remind_at: self.remind(),
            priority: optional(&self.priority),
            status: optional(&self.status),
            contact_id: optional_id("contact_id", &self.contact_id)?,
            company_id: optional_id("company_id", &self.company_id)?,
            deal_id: optional_id("deal_id", &self.deal_id)?,
        })
    }

    /// Every field of the form is sent: a cleared field is cleared.
    pub(crate) fn to_patch(&self) -> Result<TaskPatch, FieldError> {
        let version = parse_version(&self.version)?;
        let input = self.to_input()?;
        Ok(TaskPatch {
            version,
            title: Some(input.title),
            notes: Some(input.notes),
            assignee_id: input.assignee_id,
            due_at: Some(input.due_at),
            remind_at: Some(input.remind_at),
            priority: input.priority,
            status: input.status,
            contact_id: Some(input.contact_id),
            company_id: Some(input.company_id),
            deal_id: Some(input.deal_id),
        })
    }
}

#[derive(Template)]
#[template(path = "tasks/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    cancel_href: String,
    form: TaskForm,
    editing: bool,
    priorities: Vec<SelectOption>,
    statuses: Vec<SelectOption>,
    assignees: Vec<SelectOption>,
    companies: Vec<SelectOption>,
    errors: FormErrors,
    stale: bool,
}

async fn form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    form: TaskForm,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    let t = v.t();
    let editing = id.is_some();
    let me = v.actor().user_id.to_string();
    // No user directory yet (identity work): yourself, or whoever has the task now.
    let mut assignees = vec![SelectOption {
        value: me.clone(),
        label: t.t("tasks.assignee_me").to_owned(),
        selected: form.assignee_id.trim().is_empty() || form.assignee_id.trim() == me,
    }];
    if !form.assignee_id.trim().is_empty() && form.assignee_id.trim() != me {
        assignees.push(SelectOption {
            value: form.assignee_id.trim().to_owned(),
            label: form.assignee_id.trim().to_owned(),
            selected: true,
        });
    }
    let status_choices: Vec<&'static str> = if editing {
        status_codes()
    } else {
        vec!["open", "in_progress"]
    };
    let priority = match form.priority.trim() {
        "" => "normal",
        p => p,
    };
    let page = FormPage {
        priorities: options(&t, &priority_codes(), priority_label, priority),
        statuses: options(&t, &status_choices, status_label, form.status.trim()),
        companies: super::contacts::company_options(v, form.company_id.trim()).await?,
        assignees,
        t,
        chrome: v.chrome(NAV),
        title_key: if editing {
            "tasks.edit_title"
        } else {
            "tasks.new_title"
        },
        action: id.map_or_else(|| "/tasks".to_owned(), |id| format!("/tasks/{id}")),
        cancel_href: id.map_or_else(|| "/tasks".to_owned(), |id| format!("/tasks/{id}")),
        form,
        editing,
        errors,
        stale,
    };
    Ok(render(status, &page))
}

fn form_errors(t: &Tr<'_>, errors: &[FieldError]) -> FormErrors {
    FormErrors::from_fields(t, &task_field_errors(errors), FORM_FIELDS)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewParams {
    contact_id: String,
    company_id: String,
    deal_id: String,
}

/// The empty form, linked to the record it was opened from (`?contact_id=…`).
pub(crate) async fn new_form(
    v: Viewer,
    params: Result<Query<NewParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let form = TaskForm {
        priority: "normal".to_owned(),
        status: "open".to_owned(),
        contact_id: p.contact_id,
        company_id: p.company_id,
        deal_id: p.deal_id,
        ..TaskForm::default()
    };
    form_page(&v, StatusCode::OK, None, form, FormErrors::default(), false).await
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<TaskForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let result = match form.to_input() {
        Ok(input) => v.core().create_task(v.actor(), input).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(task) => Ok(Redirect::to(&format!("/tasks/{}", task.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = form_errors(&v.t(), &field_errors);
            form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn edit_form(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = TaskId(parse_id(&raw).ui(&v)?);
    let task = v.core().get_task(v.actor(), id).await.ui(&v)?;
    if task.deleted_at.is_some() {
        return Err(v
            .fail(CoreError::Conflict(
                "the task is deleted; restore it before changing it",
            ))
            .with_message_key("tasks.deleted_cannot_change"));
    }
    if task.is_closed() {
        return detail_page(
            &v,
            StatusCode::CONFLICT,
            id,
            Some(rule_message(&v.t(), "task_closed")),
        )
        .await;
    }
    let id_text = task.id.to_string();
    form_page(
        &v,
        StatusCode::OK,
        Some(&id_text),
        TaskForm::from_view(&task),
        FormErrors::default(),
        false,
    )
    .await
}

pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<TaskForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = TaskId(parse_id(&raw).ui(&v)?);
    let id_text = id.to_string();
    let result = match form.to_patch() {
        Ok(patch) => v.core().update_task(v.actor(), id, patch).await,
        Err(e) => Err(e.into()),
    };
    let (status, errors, stale) = match result {
        Ok(task) => return Ok(Redirect::to(&format!("/tasks/{}", task.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            form_errors(&v.t(), &field_errors),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(CoreError::Rule { code, .. }) => {
            let message = rule_message(&v.t(), code);
            return detail_page(&v, StatusCode::CONFLICT, id, Some(message)).await;
        }
        Err(e @ CoreError::Conflict(_)) => {
            return Err(v.fail(e).with_message_key("tasks.deleted_cannot_change"));
        }
        Err(e) => return Err(v.fail(e)),
    };
    form_page(&v, status, Some(&id_text), form, errors, stale).await
}

pub(crate) async fn delete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    v.core().delete_task(v.actor(), TaskId(id)).await.ui(&v)?;
    Ok(Redirect::to("/tasks").into_response())
}

pub(crate) async fn restore(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    let task = v.core().restore_task(v.actor(), TaskId(id)).await.ui(&v)?;
    Ok(Redirect::to(&format!("/tasks/{}", task.id)).into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn task_form_becomes_input_and_patch() {
        let form = TaskForm {
            title: "Call 王".into(),
            due_date: "2030-03-05".into(),
            remind_at: "2030-03-05T09:30".into(),
            priority: "high".into(),
            version: "4".into(),
            ..TaskForm::default()
        };
        let input = form.to_input().unwrap();
        assert_eq!(input.due_at.as_deref(), Some("2030-03-05"));
        assert_eq!(input.remind_at.as_deref(), Some("2030-03-05T09:30:00Z"));
        assert_eq!(input.assignee_id, None);
        let timed = TaskForm {
            due_time: "17:00".into(),
            ..form
        };
        assert_eq!(
            timed.to_input().unwrap().due_at.as_deref(),
            Some("2030-03-05T17:00:00Z")
        );
        let patch = timed.to_patch().unwrap();
        assert_eq!((patch.version, patch.notes), (4, Some(None)));
        let bad = TaskForm {
            contact_id: "nope".into(),
            ..TaskForm::default()
        };
        assert_eq!(bad.to_input().unwrap_err().field, "contact_id");
    }
}
