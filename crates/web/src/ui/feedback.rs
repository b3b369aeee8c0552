//! Preferences and feedback pages: the preferences, feedback (surveys) and complaints
//! sections of the contact page with their forms, the complaints queue with its detail page
//! (transitions, history), and the NPS / CSAT summary page. Comments, complaint texts and
//! the do-not-contact reason are personal: held only for rendering, never put into a URL.

use super::deals::{invalid_query, optional_id, parse_version, who};
use super::session::{CsrfOnly, csrf_checked_id};
use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, bad_request, build_url,
    format_time, normalize_newlines, optional, parse_id, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::complaints::{
    ComplaintInput, ComplaintQuery, ComplaintTransition, ComplaintView,
};
use custodian_core::contacts::Deleted;
use custodian_core::preferences::{PreferencesInput, PreferencesView};
use custodian_core::surveys::{SurveyInput, SurveyQuery, SurveySummary};
use custodian_core::tasks::Assignee;
use custodian_domain::feedback::{
    ComplaintCategory, ComplaintStatus, ContactChannel, ContactFrequency, PreferredLanguage,
    Severity, SurveyKind,
};
use custodian_domain::{ComplaintId, ContactId, FieldError};
use serde::Deserialize;
use std::fmt;

/// Rows shown in the contact page's feedback and complaints sections.
const SECTION_ROWS: u64 = 10;
const COMPLAINT_FIELDS: &[&str] = &["subject", "description", "category", "severity"];

fn label(t: &Tr<'_>, group: &str, code: &str) -> String {
    t.t(&format!("{group}.{code}")).to_owned()
}

fn options(t: &Tr<'_>, group: &str, codes: &[&str], selected: &str) -> Vec<SelectOption> {
    codes
        .iter()
        .map(|c| SelectOption {
            value: (*c).to_owned(),
            label: label(t, group, c),
            selected: *c == selected,
        })
        .collect()
}

fn channel_codes() -> Vec<&'static str> {
    ContactChannel::ALL.iter().map(|c| c.code()).collect()
}

fn status_label(t: &Tr<'_>, code: &str) -> String {
    label(t, "complaint_status", code)
}

/// Complaint status texts are the complaint's own (the catalog's `invalid_status` is a deal's).
fn complaint_errors(errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| match e.code {
            "invalid_status" => FieldError::new(
                e.field.clone(),
                "invalid_complaint_status",
                e.message.clone(),
            ),
            _ => e.clone(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Contact page sections
// ---------------------------------------------------------------------------------------------

pub(crate) struct OptOut {
    pub(crate) code: String,
    pub(crate) label: String,
    pub(crate) checked: bool,
}

pub(crate) struct SurveyRow {
    pub(crate) kind: String,
    pub(crate) score: i64,
    pub(crate) comment: String,
    pub(crate) channel: String,
    pub(crate) responded: String,
}

pub(crate) struct ComplaintRow {
    pub(crate) id: String,
    pub(crate) subject: String,
    pub(crate) status: String,
    pub(crate) status_code: String,
    pub(crate) severity: String,
    pub(crate) severity_code: String,
    pub(crate) category: String,
    pub(crate) due: String,
    pub(crate) overdue: bool,
    pub(crate) assignee: String,
}

fn complaint_row(v: &Viewer, t: &Tr<'_>, c: ComplaintView) -> ComplaintRow {
    ComplaintRow {
        id: c.id.to_string(),
        status: status_label(t, &c.status),
        severity: label(t, "severity", &c.severity),
        category: label(t, "complaint_category", &c.category),
        due: format_time(c.response_due_at),
        overdue: c.overdue,
        assignee: c.assignee_id.map(|a| who(v, a)).unwrap_or_default(),
        status_code: c.status,
        severity_code: c.severity,
        subject: c.subject,
    }
}

/// What the contact page shows about preferences and feedback. Holds personal text (the
/// do-not-contact reason, comments, complaint subjects) only for rendering.
pub(crate) struct ContactFeedback {
    pub(crate) contact_id: String,
    pub(crate) prefs: PreferencesView,
    pub(crate) channel: String,
    pub(crate) language: String,
    pub(crate) frequency: String,
    pub(crate) opted_out: Vec<String>,
    pub(crate) dnc_since: String,
    pub(crate) channels: Vec<SelectOption>,
    pub(crate) languages: Vec<SelectOption>,
    pub(crate) frequencies: Vec<SelectOption>,
    pub(crate) opt_outs: Vec<OptOut>,
    pub(crate) summary: SurveySummary,
    pub(crate) surveys: Vec<SurveyRow>,
    pub(crate) kinds: Vec<SelectOption>,
    pub(crate) survey_channels: Vec<SelectOption>,
    pub(crate) complaints: Vec<ComplaintRow>,
    pub(crate) more_complaints: bool,
}

impl fmt::Debug for ContactFeedback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContactFeedback { .. }")
    }
}

pub(crate) async fn contact_feedback(
    v: &Viewer,
    contact: ContactId,
) -> Result<ContactFeedback, UiError> {
    let t = v.t();
    let prefs = v.core().get_preferences(v.actor(), contact).await.ui(v)?;
    let survey_query = SurveyQuery {
        contact_id: Some(contact.as_uuid()),
        limit: Some(SECTION_ROWS),
        ..SurveyQuery::default()
    };
    let summary = v
        .core()
        .survey_summary(v.actor(), survey_query.clone())
        .await
        .ui(v)?;
    let surveys = v.core().list_surveys(v.actor(), survey_query).await.ui(v)?;
    let complaints = v
        .core()
        .list_complaints(
            v.actor(),
            ComplaintQuery {
                contact_id: Some(contact.as_uuid()),
                limit: Some(SECTION_ROWS),
                sort: custodian_core::complaints::ComplaintSort::CreatedDesc,
                ..ComplaintQuery::default()
            },
        )
        .await
        .ui(v)?;
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let languages: Vec<&str> = PreferredLanguage::ALL.iter().map(|l| l.code()).collect();
    let frequencies: Vec<&str> = ContactFrequency::ALL.iter().map(|f| f.code()).collect();
    let kinds: Vec<&str> = SurveyKind::ALL.iter().map(|k| k.code()).collect();
    Ok(ContactFeedback {
        contact_id: contact.to_string(),
        channel: prefs
            .channel
            .as_deref()
            .map(|c| label(&t, "channel", c))
            .unwrap_or_default(),
        language: prefs
            .language
            .as_deref()
            .map(|l| label(&t, "language", l))
            .unwrap_or_default(),
        frequency: prefs
            .frequency
            .as_deref()
            .map(|f| label(&t, "frequency", f))
            .unwrap_or_default(),
        opted_out: prefs
            .opt_outs
            .iter()
            .map(|c| label(&t, "channel", c))
            .collect(),
        dnc_since: prefs
            .do_not_contact_since
            .map(format_time)
            .unwrap_or_default(),
        channels: options(&t, "channel", &channel_codes(), &opt(&prefs.channel)),
        languages: options(&t, "language", &languages, &opt(&prefs.language)),
        frequencies: options(&t, "frequency", &frequencies, &opt(&prefs.frequency)),
        opt_outs: channel_codes()
            .into_iter()
            .map(|c| OptOut {
                code: c.to_owned(),
                label: label(&t, "channel", c),
                checked: prefs.opt_outs.iter().any(|o| o == c),
            })
            .collect(),
        summary,
        surveys: surveys
            .items
            .into_iter()
            .map(|s| SurveyRow {
                kind: label(&t, "survey_kind", &s.kind),
                score: s.score,
                comment: s.comment.unwrap_or_default(),
                channel: s
                    .channel
                    .as_deref()
                    .map(|c| label(&t, "channel", c))
                    .unwrap_or_default(),
                responded: format_time(s.responded_at),
            })
            .collect(),
        kinds: options(&t, "survey_kind", &kinds, "nps"),
        survey_channels: options(&t, "channel", &channel_codes(), ""),
        more_complaints: complaints.next_cursor.is_some(),
        complaints: complaints
            .items
            .into_iter()
            .map(|c| complaint_row(v, &t, c))
            .collect(),
        prefs,
    })
}

/// The preferences form (all of it is sent: PUT semantics).
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct PreferencesForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    channel: String,
    language: String,
    frequency: String,
    opt_out_email: String,
    opt_out_phone: String,
    opt_out_sms: String,
    opt_out_wechat: String,
    opt_out_post: String,
    do_not_contact: String,
    do_not_contact_reason: String,
}

impl fmt::Debug for PreferencesForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreferencesForm { .. }")
    }
}

impl PreferencesForm {
    fn to_input(&self) -> Result<PreferencesInput, FieldError> {
        let opt_outs = [
            ("email", &self.opt_out_email),
            ("phone", &self.opt_out_phone),
            ("sms", &self.opt_out_sms),
            ("wechat", &self.opt_out_wechat),
            ("post", &self.opt_out_post),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(c, _)| c.to_owned())
        .collect();
        let do_not_contact = !self.do_not_contact.trim().is_empty();
        Ok(PreferencesInput {
            version: parse_version(&self.version)?,
            channel: optional(&self.channel),
            language: optional(&self.language),
            frequency: optional(&self.frequency),
            opt_outs,
            do_not_contact,
            do_not_contact_since: None,
            // A reason typed while the box is unticked is dropped with it.
            do_not_contact_reason: optional(&self.do_not_contact_reason).filter(|_| do_not_contact),
        })
    }
}

pub(crate) async fn save_preferences(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<PreferencesForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = ContactId(parse_id(&raw).ui(&v)?);
    let input = form.to_input().map_err(CoreError::from).ui(&v)?;
    v.core()
        .set_preferences(v.actor(), id, input)
        .await
        .ui(&v)?;
    Ok(Redirect::to(&format!("/contacts/{id}#preferences")).into_response())
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct SurveyForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    score: String,
    comment: String,
    channel: String,
    /// `YYYY-MM-DD`, optional: today when empty.
    responded_on: String,
}

impl fmt::Debug for SurveyForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SurveyForm { .. }")
    }
}

pub(crate) async fn record_survey(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<SurveyForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let score = form.score.trim().parse::<i64>().map_err(|_| {
        CoreError::from(FieldError::new(
            "score",
            "score_out_of_range",
            "enter a whole number",
        ))
    });
    let score = score.ui(&v)?;
    v.core()
        .create_survey(
            v.actor(),
            SurveyInput {
                contact_id: id,
                kind: form.kind.clone(),
                score,
                comment: optional(&form.comment),
                channel: optional(&form.channel),
                responded_at: optional(&form.responded_on),
                deal_id: None,
                order_id: None,
            },
        )
        .await
        .ui(&v)?;
    Ok(Redirect::to(&format!("/contacts/{id}#feedback")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Complaints queue
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListParams {
    status: String,
    severity: String,
    /// `me` or empty (everyone).
    assignee: String,
    /// `true`: overdue only.
    overdue: String,
    deleted: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "complaints/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<ComplaintRow>,
    statuses: Vec<SelectOption>,
    severities: Vec<SelectOption>,
    mine: bool,
    overdue: bool,
    deleted: bool,
    next_href: Option<String>,
}

pub(crate) async fn list(
    v: Viewer,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let t = v.t();
    let mine = p.assignee.trim() == "me";
    let overdue = p.overdue.trim() == "true";
    let deleted = p.deleted.trim() == "only";
    let query = ComplaintQuery {
        statuses: optional(&p.status).into_iter().collect(),
        severity: optional(&p.severity),
        assignee: mine.then_some(Assignee::Me),
        overdue,
        deleted: if deleted {
            Deleted::Only
        } else {
            Deleted::Exclude
        },
        cursor: optional(&p.cursor),
        ..ComplaintQuery::default()
    };
    let page = v
        .core()
        .list_complaints(v.actor(), query)
        .await
        .map_err(|e| match e {
            CoreError::Validation(errors) => CoreError::Validation(complaint_errors(&errors)),
            e => e,
        })
        .ui(&v)?;
    let statuses: Vec<&str> = ComplaintStatus::ALL.iter().map(|s| s.code()).collect();
    let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.code()).collect();
    let page = ListPage {
        rows: page
            .items
            .into_iter()
            .map(|c| complaint_row(&v, &t, c))
            .collect(),
        next_href: page.next_cursor.map(|c| {
            build_url(
                "/complaints",
                &[
                    ("status", p.status.trim()),
                    ("severity", p.severity.trim()),
                    ("assignee", p.assignee.trim()),
                    ("overdue", p.overdue.trim()),
                    ("deleted", p.deleted.trim()),
                    ("cursor", &c),
                ],
            )
        }),
        statuses: options(&t, "complaint_status", &statuses, p.status.trim()),
        severities: options(&t, "severity", &severities, p.severity.trim()),
        t,
        chrome: v.chrome("complaints"),
        mine,
        overdue,
        deleted,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------
// New complaint
// ---------------------------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ComplaintForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    contact_id: String,
    subject: String,
    description: String,
    category: String,
    severity: String,
    /// `me` or empty.
    assign_to_me: String,
}

impl fmt::Debug for ComplaintForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ComplaintForm { .. }")
    }
}

#[derive(Template)]
#[template(path = "complaints/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    form: ComplaintForm,
    contact_name: String,
    categories: Vec<SelectOption>,
    severities: Vec<SelectOption>,
    errors: FormErrors,
}

async fn form_page(
    v: &Viewer,
    status: StatusCode,
    form: ComplaintForm,
    errors: FormErrors,
) -> Result<Response, UiError> {
    let t = v.t();
    let contact_id = optional_id("contact_id", &form.contact_id)
        .map_err(|_| invalid_query())
        .ui(v)?
        .ok_or_else(invalid_query)
        .ui(v)?;
    let contact = v
        .core()
        .get_contact(v.actor(), ContactId(contact_id))
        .await
        .ui(v)?;
    let categories: Vec<&str> = ComplaintCategory::ALL.iter().map(|c| c.code()).collect();
    let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.code()).collect();
    let page = FormPage {
        categories: options(&t, "complaint_category", &categories, form.category.trim()),
        severities: options(&t, "severity", &severities, form.severity.trim()),
        t,
        chrome: v.chrome("complaints"),
        contact_name: contact.name,
        form,
        errors,
    };
    Ok(render(status, &page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewParams {
    contact_id: String,
}

pub(crate) async fn new_form(
    v: Viewer,
    params: Result<Query<NewParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let form = ComplaintForm {
        contact_id: p.contact_id,
        severity: "medium".to_owned(),
        assign_to_me: "me".to_owned(),
        ..ComplaintForm::default()
    };
    form_page(&v, StatusCode::OK, form, FormErrors::default()).await
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<ComplaintForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let contact_id = parse_id(&form.contact_id).ui(&v)?;
    let input = ComplaintInput {
        contact_id,
        subject: normalize_newlines(&form.subject),
        description: normalize_newlines(&form.description),
        category: form.category.clone(),
        severity: form.severity.clone(),
        assignee_id: (!form.assign_to_me.trim().is_empty()).then(|| v.actor().user_id.as_uuid()),
        ..ComplaintInput::default()
    };
    match v.core().create_complaint(v.actor(), input).await {
        Ok(c) => Ok(Redirect::to(&format!("/complaints/{}", c.id)).into_response()),
        Err(CoreError::Validation(errors)) => {
            let errors =
                FormErrors::from_fields(&v.t(), &complaint_errors(&errors), COMPLAINT_FIELDS);
            form_page(&v, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await
        }
        Err(e) => Err(v.fail(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Detail, transitions, history
// ---------------------------------------------------------------------------------------------

pub(crate) struct HistoryRow {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) by: String,
    pub(crate) at: String,
}

pub(crate) struct TransitionChoice {
    pub(crate) code: &'static str,
    pub(crate) label: String,
    pub(crate) needs_resolution: bool,
}

#[derive(Template)]
#[template(path = "complaints/detail.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    c: ComplaintView,
    id: String,
    contact_name: String,
    status: String,
    severity: String,
    category: String,
    due: String,
    assignee: String,
    created: String,
    deleted_at: Option<String>,
    transitions: Vec<TransitionChoice>,
    history: Vec<HistoryRow>,
    message: Option<String>,
}

async fn detail_page(
    v: &Viewer,
    status: StatusCode,
    id: ComplaintId,
    message: Option<String>,
) -> Result<Response, UiError> {
    let c = v.core().get_complaint(v.actor(), id).await.ui(v)?;
    let t = v.t();
    let history = if c.deleted_at.is_none() {
        v.core().complaint_history(v.actor(), id).await.ui(v)?
    } else {
        Vec::new()
    };
    let contact_name = match v.core().get_contact(v.actor(), c.contact_id).await {
        Ok(contact) => contact.name,
        Err(CoreError::NotFound { .. }) => String::new(),
        Err(e) => return Err(v.fail(e)),
    };
    let current = ComplaintStatus::parse("status", &c.status).ok();
    let transitions = ComplaintStatus::ALL
        .iter()
        .filter(|next| current.is_some_and(|cur| cur.can_become(**next)))
        .map(|next| TransitionChoice {
            code: next.code(),
            label: t.t(&format!("complaints.to_{}", next.code())).to_owned(),
            needs_resolution: *next == ComplaintStatus::Resolved,
        })
        .collect();
    let page = DetailPage {
        id: c.id.to_string(),
        status: status_label(&t, &c.status),
        severity: label(&t, "severity", &c.severity),
        category: label(&t, "complaint_category", &c.category),
        due: format_time(c.response_due_at),
        assignee: c.assignee_id.map(|a| who(v, a)).unwrap_or_default(),
        created: format_time(c.created_at),
        deleted_at: c.deleted_at.map(format_time),
        history: history
            .into_iter()
            .map(|h| HistoryRow {
                from: h
                    .from_status
                    .as_deref()
                    .map(|s| status_label(&t, s))
                    .unwrap_or_default(),
                to: status_label(&t, &h.to_status),
                by: who(v, h.changed_by),
                at: format_time(h.changed_at),
            })
            .collect(),
        transitions: if c.deleted_at.is_none() {
            transitions
        } else {
            Vec::new()
        },
        contact_name,
        message,
        t,
        chrome: v.chrome("complaints"),
        c,
    };
    Ok(render(status, &page))
}

pub(crate) async fn detail(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = ComplaintId(parse_id(&raw).ui(&v)?);
    detail_page(&v, StatusCode::OK, id, None).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct TransitionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    status: String,
    resolution: String,
}

impl fmt::Debug for TransitionForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransitionForm { .. }")
    }
}

pub(crate) async fn transition(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<TransitionForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = ComplaintId(parse_id(&raw).ui(&v)?);
    let result = match parse_version(&form.version) {
        Ok(version) => {
            v.core()
                .transition_complaint(
                    v.actor(),
                    id,
                    ComplaintTransition {
                        version,
                        status: form.status.clone(),
                        resolution: optional(&form.resolution),
                    },
                )
                .await
        }
        Err(e) => Err(e.into()),
    };
    let t = v.t();
    let (status, message) = match result {
        Ok(c) => return Ok(Redirect::to(&format!("/complaints/{}", c.id)).into_response()),
        Err(CoreError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            complaint_errors(&errors)
                .iter()
                .map(|e| super::support::field_message(&t, e))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(CoreError::StaleVersion { .. }) => {
            (StatusCode::CONFLICT, t.t("complaints.stale").to_owned())
        }
        Err(CoreError::Rule {
            code: "invalid_transition",
            ..
        }) => (
            StatusCode::CONFLICT,
            t.t("complaints.invalid_transition").to_owned(),
        ),
        Err(e) => return Err(v.fail(e)),
    };
    detail_page(&v, status, id, Some(message)).await
}

pub(crate) async fn delete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    v.core()
        .delete_complaint(v.actor(), ComplaintId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to("/complaints").into_response())
}

pub(crate) async fn restore(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    let c = v
        .core()
        .restore_complaint(v.actor(), ComplaintId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to(&format!("/complaints/{}", c.id)).into_response())
}

// ---------------------------------------------------------------------------------------------
// NPS / CSAT summary
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SummaryParams {
    from: String,
    to: String,
    company_id: String,
}

#[derive(Template)]
#[template(path = "feedback/summary.html")]
struct SummaryPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    from: String,
    to: String,
    companies: Vec<SelectOption>,
    summary: Option<SurveySummary>,
    errors: FormErrors,
}

pub(crate) async fn summary(
    v: Viewer,
    params: Result<Query<SummaryParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let t = v.t();
    let company_id = optional_id("company_id", &p.company_id)
        .map_err(|_| invalid_query())
        .ui(&v)?;
    let query = SurveyQuery {
        company_id,
        from: optional(&p.from),
        to: optional(&p.to),
        ..SurveyQuery::default()
    };
    let (summary, errors, status) = match v.core().survey_summary(v.actor(), query).await {
        Ok(s) => (Some(s), FormErrors::default(), StatusCode::OK),
        Err(CoreError::Validation(errors)) => (
            None,
            FormErrors::from_fields(&t, &errors, &["from", "to"]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return Err(v.fail(e)),
    };
    let page = SummaryPage {
        companies: super::contacts::company_options(&v, p.company_id.trim()).await?,
        t,
        chrome: v.chrome("feedback"),
        from: p.from.trim().to_owned(),
        to: p.to.trim().to_owned(),
        summary,
        errors,
    };
    Ok(render(status, &page))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn preferences_form_becomes_input() {
        let form = PreferencesForm {
            version: "2".into(),
            channel: "wechat".into(),
            opt_out_sms: "on".into(),
            opt_out_post: "on".into(),
            do_not_contact_reason: "typed, then unticked".into(),
            ..PreferencesForm::default()
        };
        let input = form.to_input().unwrap();
        assert_eq!(input.version, 2);
        assert_eq!(input.opt_outs, vec!["sms", "post"]);
        assert!(!input.do_not_contact && input.do_not_contact_reason.is_none());
        let bad = PreferencesForm::default();
        assert_eq!(bad.to_input().unwrap_err().field, "version");
    }
}
