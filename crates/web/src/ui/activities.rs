//! Timelines on the contact, company and deal pages, and the pages to log, edit and delete an
//! activity. Subjects and bodies are personal: held in memory for rendering only. Timeline
//! cursors in URLs carry a time and an id, nothing personal.

use super::deals::{optional_id, parse_version, who};
use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, bad_request, format_time,
    optional, parse_id, render, safe_return_to,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::activities::{ActivityInput, ActivityPatch, ActivityView};
use custodian_core::links::RecordKind;
use custodian_domain::values::{ActivityDirection, ActivityKind, CallOutcome};
use custodian_domain::{ActivityId, FieldError};
use serde::Deserialize;
use std::fmt;
use uuid::Uuid;

const FORM_FIELDS: &[&str] = &[
    "kind",
    "subject",
    "body",
    "direction",
    "outcome",
    "duration_minutes",
    "occurred_at",
    "contact_id",
];
/// Entries per timeline page on a record's page.
const TIMELINE_PAGE: u64 = 20;

fn record_path(kind: RecordKind, id: Uuid) -> String {
    let base = match kind {
        RecordKind::Contact => "/contacts",
        RecordKind::Company => "/companies",
        RecordKind::Deal => "/deals",
    };
    format!("{base}/{id}")
}

/// The page an activity belongs on: its contact's, else its deal's, else its company's.
fn home_of(a: &ActivityView) -> String {
    match (a.contact_id, a.deal_id, a.company_id) {
        (Some(c), _, _) => record_path(RecordKind::Contact, c.as_uuid()),
        (None, Some(d), _) => record_path(RecordKind::Deal, d.as_uuid()),
        (None, None, Some(c)) => record_path(RecordKind::Company, c.as_uuid()),
        (None, None, None) => "/contacts".to_owned(),
    }
}

fn kind_label(t: &Tr<'_>, code: &str) -> String {
    t.t(&format!("activity.kind.{code}")).to_owned()
}

fn options<T: Copy>(
    t: &Tr<'_>,
    all: &[T],
    code: impl Fn(T) -> &'static str,
    prefix: &str,
    selected: &str,
) -> Vec<SelectOption> {
    all.iter()
        .map(|v| {
            let value = code(*v);
            SelectOption {
                value: value.to_owned(),
                label: t.t(&format!("{prefix}.{value}")).to_owned(),
                selected: value == selected,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The timeline block shown on record pages
// ---------------------------------------------------------------------------------------------

pub(crate) struct TimelineEntry {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) kind_label: String,
    pub(crate) subject: Option<String>,
    pub(crate) body: Option<String>,
    /// Direction, outcome and duration, already translated and joined.
    pub(crate) facts: String,
    pub(crate) when: String,
    pub(crate) who: String,
}

/// A record's timeline: one page of entries, the quick-log form and the paging links.
pub(crate) struct Timeline {
    pub(crate) link_field: &'static str,
    pub(crate) record_id: String,
    pub(crate) record_path: String,
    pub(crate) entries: Vec<TimelineEntry>,
    pub(crate) older_href: Option<String>,
    pub(crate) newest_href: Option<String>,
    pub(crate) kinds: Vec<SelectOption>,
}

impl fmt::Debug for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Timeline { .. }")
    }
}

/// `?timeline=<cursor>` on a record page shows older entries.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TimelineQuery {
    pub(crate) timeline: Option<String>,
}

fn entry(v: &Viewer, t: &Tr<'_>, a: &ActivityView) -> TimelineEntry {
    let mut facts = Vec::new();
    if let Some(d) = &a.direction {
        facts.push(t.t(&format!("activity.direction.{d}")).to_owned());
    }
    if let Some(o) = &a.outcome {
        facts.push(t.t(&format!("activity.outcome.{o}")).to_owned());
    }
    if let Some(m) = a.duration_minutes {
        facts.push(t.t("activity.minutes").replace("{n}", &m.to_string()));
    }
    TimelineEntry {
        id: a.id.to_string(),
        kind: a.kind.clone(),
        kind_label: kind_label(t, &a.kind),
        subject: a.subject.clone(),
        body: a.body.clone(),
        facts: facts.join(" · "),
        when: format_time(a.occurred_at),
        who: a.owner_id.map(|u| who(v, u)).unwrap_or_default(),
    }
}

/// Loads the timeline of a record for its page.
pub(crate) async fn timeline(
    v: &Viewer,
    kind: RecordKind,
    id: Uuid,
    cursor: Option<String>,
) -> Result<Timeline, UiError> {
    let t = v.t();
    let first_page = cursor.is_none();
    let page = v
        .core()
        .timeline(v.actor(), kind, id, cursor, Some(TIMELINE_PAGE))
        .await
        .ui(v)?;
    let path = record_path(kind, id);
    Ok(Timeline {
        link_field: match kind {
            RecordKind::Contact => "contact_id",
            RecordKind::Company => "company_id",
            RecordKind::Deal => "deal_id",
        },
        record_id: id.to_string(),
        entries: page.items.iter().map(|a| entry(v, &t, a)).collect(),
        older_href: page
            .next_cursor
            .map(|c| format!("{path}?timeline={c}#timeline")),
        newest_href: (!first_page).then(|| format!("{path}#timeline")),
        kinds: options(
            &t,
            ActivityKind::ALL,
            ActivityKind::code,
            "activity.kind",
            "note",
        ),
        record_path: path,
    })
}

// ---------------------------------------------------------------------------------------------
// Log and edit
// ---------------------------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ActivityForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    subject: String,
    body: String,
    direction: String,
    outcome: String,
    duration_minutes: String,
    /// `datetime-local` value, read as UTC like every time the UI shows.
    occurred_at: String,
    contact_id: String,
    company_id: String,
    deal_id: String,
    return_to: String,
    version: String,
    /// Checkbox: log an outbound call or e-mail to a do-not-contact contact anyway.
    override_do_not_contact: String,
}

impl fmt::Debug for ActivityForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ActivityForm { .. }")
    }
}

/// `2026-03-01T09:30` (what `datetime-local` sends) → RFC 3339 in UTC.
fn occurred_at(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let seconds = if raw.len() == 16 { ":00" } else { "" };
    Some(format!("{raw}{seconds}Z"))
}

fn local_input(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

impl ActivityForm {
    fn from_view(a: &ActivityView, return_to: String) -> Self {
        Self {
            kind: a.kind.clone(),
            subject: a.subject.clone().unwrap_or_default(),
            body: a.body.clone().unwrap_or_default(),
            direction: a.direction.clone().unwrap_or_default(),
            outcome: a.outcome.clone().unwrap_or_default(),
            duration_minutes: a
                .duration_minutes
                .map(|m| m.to_string())
                .unwrap_or_default(),
            occurred_at: local_input(a.occurred_at),
            return_to,
            version: a.version.to_string(),
            ..Self::default()
        }
    }

    fn duration(&self) -> Result<Option<i64>, FieldError> {
        let raw = self.duration_minutes.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse().map(Some).map_err(|_| {
            FieldError::new(
                "duration_minutes",
                "invalid_number",
                "must be a whole number",
            )
        })
    }

    fn to_input(&self) -> Result<ActivityInput, Vec<FieldError>> {
        let contact = optional_id("contact_id", &self.contact_id);
        let company = optional_id("company_id", &self.company_id);
        let deal = optional_id("deal_id", &self.deal_id);
        let duration = self.duration();
        let errors: Vec<FieldError> = [
            contact.as_ref().err(),
            company.as_ref().err(),
            deal.as_ref().err(),
            duration.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ActivityInput {
            kind: self.kind.clone(),
            subject: optional(&self.subject),
            body: optional(&self.body),
            direction: optional(&self.direction),
            outcome: optional(&self.outcome),
            duration_minutes: duration.ok().flatten(),
            occurred_at: occurred_at(&self.occurred_at),
            owner_id: None,
            contact_id: contact.ok().flatten(),
            company_id: company.ok().flatten(),
            deal_id: deal.ok().flatten(),
            override_do_not_contact: !self.override_do_not_contact.trim().is_empty(),
        })
    }

    fn to_patch(&self) -> Result<ActivityPatch, Vec<FieldError>> {
        let version = parse_version(&self.version).map_err(|e| vec![e])?;
        let duration = self.duration().map_err(|e| vec![e])?;
        Ok(ActivityPatch {
            version,
            kind: Some(self.kind.clone()),
            subject: Some(optional(&self.subject)),
            body: Some(optional(&self.body)),
            direction: Some(optional(&self.direction)),
            outcome: Some(optional(&self.outcome)),
            duration_minutes: Some(duration),
            occurred_at: occurred_at(&self.occurred_at),
            owner_id: None,
        })
    }

    fn return_to(&self) -> Option<&str> {
        safe_return_to(self.return_to.trim())
    }
}

#[derive(Template)]
#[template(path = "activities/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    editing: bool,
    stale: bool,
    form: ActivityForm,
    errors: FormErrors,
    kinds: Vec<SelectOption>,
    directions: Vec<SelectOption>,
    outcomes: Vec<SelectOption>,
    cancel_href: String,
}

fn form_page(
    v: &Viewer,
    status: StatusCode,
    editing: Option<&str>,
    form: ActivityForm,
    errors: FormErrors,
    stale: bool,
) -> Response {
    let t = v.t();
    let kind = if form.kind.is_empty() {
        "note"
    } else {
        form.kind.as_str()
    };
    let page = FormPage {
        kinds: options(
            &t,
            ActivityKind::ALL,
            ActivityKind::code,
            "activity.kind",
            kind,
        ),
        directions: options(
            &t,
            ActivityDirection::ALL,
            ActivityDirection::code,
            "activity.direction",
            &form.direction,
        ),
        outcomes: options(
            &t,
            CallOutcome::ALL,
            CallOutcome::code,
            "activity.outcome",
            &form.outcome,
        ),
        title_key: if editing.is_some() {
            "activities.edit_title"
        } else {
            "activities.new_title"
        },
        action: editing.map_or_else(
            || "/activities".to_owned(),
            |id| format!("/activities/{id}"),
        ),
        editing: editing.is_some(),
        stale,
        cancel_href: form.return_to().unwrap_or("/contacts").to_owned(),
        t,
        chrome: v.chrome(""),
        form,
        errors,
    };
    render(status, &page)
}

/// `/activities/new?contact_id=…` (or `company_id`, `deal_id`): the full form.
pub(crate) async fn new_form(
    v: Viewer,
    query: Result<Query<NewQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(q)) = query else {
        return Err(v.fail(bad_request()));
    };
    let mut form = ActivityForm {
        kind: "note".to_owned(),
        ..ActivityForm::default()
    };
    let linked = [
        (RecordKind::Contact, q.contact_id),
        (RecordKind::Company, q.company_id),
        (RecordKind::Deal, q.deal_id),
    ];
    for (kind, id) in linked {
        if let Some(id) = id {
            form.return_to = record_path(kind, id);
            let field = match kind {
                RecordKind::Contact => &mut form.contact_id,
                RecordKind::Company => &mut form.company_id,
                RecordKind::Deal => &mut form.deal_id,
            };
            *field = id.to_string();
        }
    }
    Ok(form_page(
        &v,
        StatusCode::OK,
        None,
        form,
        FormErrors::default(),
        false,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NewQuery {
    contact_id: Option<Uuid>,
    company_id: Option<Uuid>,
    deal_id: Option<Uuid>,
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<ActivityForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let t = v.t();
    let result = match form.to_input() {
        Ok(input) => v.core().create_activity(v.actor(), input).await,
        Err(errors) => Err(CoreError::Validation(errors)),
    };
    match result {
        Ok(a) => {
            let back = form.return_to().map_or_else(|| home_of(&a), str::to_owned);
            Ok(Redirect::to(&format!("{back}#timeline")).into_response())
        }
        Err(CoreError::Validation(errors)) => Ok(form_page(
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            form,
            FormErrors::from_fields(&t, &errors, FORM_FIELDS),
            false,
        )),
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn edit_form(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = parse_id(&raw).ui(&v)?;
    let a = v
        .core()
        .get_activity(v.actor(), ActivityId(id))
        .await
        .ui(&v)?;
    if a.deleted_at.is_some() {
        return Err(v.fail(CoreError::NotFound { entity: "activity" }));
    }
    let form = ActivityForm::from_view(&a, home_of(&a));
    Ok(form_page(
        &v,
        StatusCode::OK,
        Some(&raw),
        form,
        FormErrors::default(),
        false,
    ))
}

pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ActivityForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let t = v.t();
    let result = match form.to_patch() {
        Ok(patch) => {
            v.core()
                .update_activity(v.actor(), ActivityId(id), patch)
                .await
        }
        Err(errors) => Err(CoreError::Validation(errors)),
    };
    match result {
        Ok(a) => {
            let back = form.return_to().map_or_else(|| home_of(&a), str::to_owned);
            Ok(Redirect::to(&format!("{back}#timeline")).into_response())
        }
        Err(CoreError::Validation(errors)) => Ok(form_page(
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&raw),
            form,
            FormErrors::from_fields(&t, &errors, FORM_FIELDS),
            false,
        )),
        Err(CoreError::StaleVersion { .. }) => Ok(form_page(
            &v,
            StatusCode::CONFLICT,
            Some(&raw),
            form,
            FormErrors::default(),
            true,
        )),
        Err(e) => Err(v.fail(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeleteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    return_to: String,
}

/// Deletes (restorably, through the API) and returns to the record page it was shown on.
pub(crate) async fn delete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = ActivityId(parse_id(&raw).ui(&v)?);
    let back = match safe_return_to(form.return_to.trim()) {
        Some(back) => back.to_owned(),
        None => home_of(&v.core().get_activity(v.actor(), id).await.ui(&v)?),
    };
    v.core().delete_activity(v.actor(), id).await.ui(&v)?;
    Ok(Redirect::to(&format!("{back}#timeline")).into_response())
}
