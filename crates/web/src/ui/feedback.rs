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
    ComplaintInput, ComplaintPage, ComplaintPatch, ComplaintQuery, ComplaintTransition,
    ComplaintView,
};
use custodian_core::contacts::Deleted;
use custodian_core::preferences::{PreferencesInput, PreferencesView};
use custodian_core::surveys::{
    SurveyInput, SurveyPage, SurveyPatch, SurveyQuery, SurveySummary, SurveyView,
};
use custodian_core::tasks::Assignee;
use custodian_domain::feedback::{
    ComplaintCategory, ComplaintStatus, ContactChannel, ContactFrequency, PreferredLanguage,
    Severity, SurveyKind,
};
use custodian_domain::{ComplaintId, ContactId, FieldError, SurveyResponseId};
use serde::Deserialize;
use std::fmt;

/// Rows shown in the contact page's feedback and complaints sections.
const SECTION_ROWS: u64 = 10;
const COMPLAINT_FIELDS: &[&str] = &["subject", "description", "category", "severity"];
const COMPLAINT_EDIT_FIELDS: &[&str] = &[
    "subject",
    "description",
    "category",
    "severity",
    "assignee_id",
];
const PREFERENCE_FIELDS: &[&str] = &[
    "channel",
    "language",
    "frequency",
    "opt_outs",
    "do_not_contact_reason",
];
const SURVEY_FIELDS: &[&str] = &["kind", "score", "comment", "channel", "responded_on"];

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
    pub(crate) id: String,
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
    /// The preferences form's version, box and reason: the saved ones, or what was submitted
    /// when the form comes back with errors.
    pub(crate) pref_version: String,
    pub(crate) pref_dnc: bool,
    pub(crate) pref_reason: String,
    pub(crate) pref_errors: FormErrors,
    pub(crate) pref_stale: bool,
    pub(crate) summary: SurveySummary,
    pub(crate) surveys: Vec<SurveyRow>,
    pub(crate) kinds: Vec<SelectOption>,
    pub(crate) survey_channels: Vec<SelectOption>,
    /// The survey form's text fields (empty, or what was submitted).
    pub(crate) survey_score: String,
    pub(crate) survey_comment: String,
    pub(crate) survey_date: String,
    pub(crate) survey_errors: FormErrors,
    pub(crate) complaints: Vec<ComplaintRow>,
    pub(crate) more_complaints: bool,
}

impl ContactFeedback {
    /// The preferences form is shown unfolded when it came back with a problem.
    pub(crate) fn pref_open(&self) -> bool {
        self.pref_stale || self.pref_errors.any()
    }

    pub(crate) fn survey_open(&self) -> bool {
        self.survey_errors.any()
    }
}

/// A form of the contact page's sections that came back refused, shown again in its section
/// with the messages next to its fields and what was typed kept.
#[derive(Default)]
pub(crate) enum Returned {
    #[default]
    Nothing,
    Preferences {
        form: PreferencesForm,
        errors: FormErrors,
        stale: bool,
    },
    Survey {
        form: SurveyForm,
        errors: FormErrors,
    },
}

impl fmt::Debug for Returned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Returned { .. }")
    }
}

impl fmt::Debug for ContactFeedback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContactFeedback { .. }")
    }
}

pub(crate) async fn contact_feedback(
    v: &Viewer,
    contact: ContactId,
    returned: Returned,
) -> Result<ContactFeedback, UiError> {
    let t = v.t();
    let prefs = v.core().get_preferences(v.actor(), contact).await.ui(v)?;
    let (summary, surveys, complaints) =
        feedback_lists(v, FeedbackOf::Contact(contact.as_uuid())).await?;
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let languages: Vec<&str> = PreferredLanguage::ALL.iter().map(|l| l.code()).collect();
    let frequencies: Vec<&str> = ContactFrequency::ALL.iter().map(|f| f.code()).collect();
    let kinds: Vec<&str> = SurveyKind::ALL.iter().map(|k| k.code()).collect();
    let (returned_prefs, returned_survey) = match returned {
        Returned::Nothing => (None, None),
        Returned::Preferences {
            form,
            errors,
            stale,
        } => (Some((form, errors, stale)), None),
        Returned::Survey { form, errors } => (None, Some((form, errors))),
    };
    // What the two forms show: the saved state, or a refused submission.
    let (pf, pref_errors, pref_stale, pref_opt_outs) = match returned_prefs {
        Some((form, errors, stale)) => {
            let opted = form.opt_out_codes();
            (form, errors, stale, opted)
        }
        None => (
            PreferencesForm {
                version: prefs.version.to_string(),
                channel: opt(&prefs.channel),
                language: opt(&prefs.language),
                frequency: opt(&prefs.frequency),
                do_not_contact: if prefs.do_not_contact {
                    "on".to_owned()
                } else {
                    String::new()
                },
                do_not_contact_reason: opt(&prefs.do_not_contact_reason),
                ..PreferencesForm::default()
            },
            FormErrors::default(),
            false,
            prefs.opt_outs.clone(),
        ),
    };
    let (sf, survey_errors) = returned_survey.unwrap_or_else(|| {
        (
            SurveyForm {
                kind: "nps".to_owned(),
                ..SurveyForm::default()
            },
            FormErrors::default(),
        )
    });
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
        channels: options(&t, "channel", &channel_codes(), pf.channel.trim()),
        languages: options(&t, "language", &languages, pf.language.trim()),
        frequencies: options(&t, "frequency", &frequencies, pf.frequency.trim()),
        opt_outs: channel_codes()
            .into_iter()
            .map(|c| OptOut {
                code: c.to_owned(),
                label: label(&t, "channel", c),
                checked: pref_opt_outs.iter().any(|o| o == c),
            })
            .collect(),
        pref_version: pf.version.trim().to_owned(),
        pref_dnc: !pf.do_not_contact.trim().is_empty(),
        pref_reason: pf.do_not_contact_reason,
        pref_errors,
        pref_stale,
        summary,
        surveys: surveys
            .items
            .into_iter()
            .map(|s| SurveyRow {
                id: s.id.to_string(),
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
        kinds: options(&t, "survey_kind", &kinds, sf.kind.trim()),
        survey_channels: options(&t, "channel", &channel_codes(), sf.channel.trim()),
        survey_score: sf.score,
        survey_comment: sf.comment,
        survey_date: sf.responded_on,
        survey_errors,
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
    /// The ticked opt-out boxes' channel codes.
    fn opt_out_codes(&self) -> Vec<String> {
        [
            ("email", &self.opt_out_email),
            ("phone", &self.opt_out_phone),
            ("sms", &self.opt_out_sms),
            ("wechat", &self.opt_out_wechat),
            ("post", &self.opt_out_post),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(c, _)| c.to_owned())
        .collect()
    }

    fn to_input(&self) -> Result<PreferencesInput, FieldError> {
        let opt_outs = self.opt_out_codes();
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
    let result = match form.to_input() {
        Ok(input) => v.core().set_preferences(v.actor(), id, input).await,
        Err(e) => Err(e.into()),
    };
    let t = v.t();
    let (status, errors, stale) = match result {
        Ok(_) => return Ok(Redirect::to(&format!("/contacts/{id}#preferences")).into_response()),
        Err(CoreError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            FormErrors::from_fields(&t, &errors, PREFERENCE_FIELDS),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(e) => return Err(v.fail(e)),
    };
    let returned = Returned::Preferences {
        form,
        errors,
        stale,
    };
    super::contacts::detail_page(&v, status, id, None, returned).await
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

/// A score as typed: blank is `required`, anything but a whole number `invalid_number`.
fn parse_score(raw: &str) -> Result<i64, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new("score", "required", "enter the score"));
    }
    raw.parse::<i64>()
        .map_err(|_| FieldError::new("score", "invalid_number", "enter a whole number"))
}

/// Survey errors onto the form: the API's `responded_at` is the form's `responded_on`.
fn survey_errors(t: &Tr<'_>, errors: &[FieldError]) -> FormErrors {
    let mapped: Vec<FieldError> = errors
        .iter()
        .map(|e| match e.field.as_str() {
            "responded_at" => FieldError::new("responded_on", e.code, e.message.clone()),
            _ => e.clone(),
        })
        .collect();
    FormErrors::from_fields(t, &mapped, SURVEY_FIELDS)
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
    let result = match parse_score(&form.score) {
        Ok(score) => {
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
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/contacts/{id}#feedback")).into_response()),
        Err(CoreError::Validation(errors)) => {
            let errors = survey_errors(&v.t(), &errors);
            let returned = Returned::Survey { form, errors };
            super::contacts::detail_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                ContactId(id),
                None,
                returned,
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Correcting and deleting a survey response
// ---------------------------------------------------------------------------------------------

/// The edit form of a response: its kind and contact are fixed (they decide the scale and
/// the key), the rest can be corrected.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct SurveyEditForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    score: String,
    comment: String,
    channel: String,
    /// `YYYY-MM-DD`; the response's own moment is kept while the date is unchanged.
    responded_on: String,
}

impl fmt::Debug for SurveyEditForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SurveyEditForm { .. }")
    }
}

/// `YYYY-MM-DD` of a moment in UTC.
fn utc_date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

impl SurveyEditForm {
    fn from_view(s: &SurveyView) -> Self {
        Self {
            csrf: String::new(),
            version: s.version.to_string(),
            score: s.score.to_string(),
            comment: s.comment.clone().unwrap_or_default(),
            channel: s.channel.clone().unwrap_or_default(),
            responded_on: utc_date(s.responded_at),
        }
    }

    fn to_patch(&self, current: &SurveyView) -> Result<SurveyPatch, FieldError> {
        let version = parse_version(&self.version)?;
        let score = parse_score(&self.score)?;
        let date = self.responded_on.trim();
        Ok(SurveyPatch {
            version,
            score: Some(score),
            comment: Some(optional(&self.comment)),
            channel: Some(optional(&self.channel)),
            // A date alone means the end of that day; re-sending the unchanged date would move
            // the recorded time, so it is only sent when it changed.
            responded_at: (!date.is_empty() && date != utc_date(current.responded_at))
                .then(|| date.to_owned()),
        })
    }
}

#[derive(Template)]
#[template(path = "feedback/survey_form.html")]
struct SurveyFormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    id: String,
    contact_id: String,
    contact_name: String,
    kind: String,
    score_help: String,
    form: SurveyEditForm,
    channels: Vec<SelectOption>,
    errors: FormErrors,
    stale: bool,
}

async fn survey_form_page(
    v: &Viewer,
    status: StatusCode,
    s: &SurveyView,
    form: SurveyEditForm,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    let t = v.t();
    let contact_name = match v.core().get_contact(v.actor(), s.contact_id).await {
        Ok(c) => c.name,
        Err(CoreError::NotFound { .. }) => String::new(),
        Err(e) => return Err(v.fail(e)),
    };
    let page = SurveyFormPage {
        id: s.id.to_string(),
        contact_id: s.contact_id.to_string(),
        contact_name,
        kind: label(&t, "survey_kind", &s.kind),
        score_help: t.t(&format!("feedback.score_help_{}", s.kind)).to_owned(),
        channels: options(&t, "channel", &channel_codes(), form.channel.trim()),
        t,
        chrome: v.chrome("contacts"),
        form,
        errors,
        stale,
    };
    Ok(render(status, &page))
}

/// A response that can be changed: live, else the deleted-record refusal.
async fn live_survey(v: &Viewer, raw: &str) -> Result<SurveyView, UiError> {
    let id = SurveyResponseId(parse_id(raw).ui(v)?);
    let s = v.core().get_survey(v.actor(), id).await.ui(v)?;
    if s.deleted_at.is_some() {
        return Err(v
            .fail(CoreError::Conflict(
                "the survey response is deleted; restore it before changing it",
            ))
            .with_message_key("feedback.deleted_cannot_edit"));
    }
    Ok(s)
}

pub(crate) async fn edit_survey_form(
    v: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, UiError> {
    let s = live_survey(&v, &raw).await?;
    let form = SurveyEditForm::from_view(&s);
    survey_form_page(&v, StatusCode::OK, &s, form, FormErrors::default(), false).await
}

pub(crate) async fn update_survey(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<SurveyEditForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let current = live_survey(&v, &raw).await?;
    let result = match form.to_patch(&current) {
        Ok(patch) => v.core().update_survey(v.actor(), current.id, patch).await,
        Err(e) => Err(e.into()),
    };
    let t = v.t();
    let (status, errors, stale) = match result {
        Ok(s) => {
            return Ok(
                Redirect::to(&format!("/contacts/{}#feedback", s.contact_id)).into_response(),
            );
        }
        Err(CoreError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            survey_errors(&t, &errors),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(e @ CoreError::Conflict(_)) => {
            return Err(v.fail(e).with_message_key("feedback.deleted_cannot_edit"));
        }
        Err(e) => return Err(v.fail(e)),
    };
    survey_form_page(&v, status, &current, form, errors, stale).await
}

/// A response has no page of its own: its address leads to the contact's feedback section.
pub(crate) async fn show_survey(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = SurveyResponseId(parse_id(&raw).ui(&v)?);
    let s = v.core().get_survey(v.actor(), id).await.ui(&v)?;
    Ok(Redirect::to(&format!("/contacts/{}#feedback", s.contact_id)).into_response())
}

pub(crate) async fn delete_survey(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = SurveyResponseId(csrf_checked_id(&v, &raw, form)?);
    let s = v.core().get_survey(v.actor(), id).await.ui(&v)?;
    v.core().delete_survey(v.actor(), id).await.ui(&v)?;
    Ok(Redirect::to(&format!("/contacts/{}#feedback", s.contact_id)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Company page section
// ---------------------------------------------------------------------------------------------

/// A survey response on the company page: which contact answered, not what they wrote (the
/// comment stays on the contact's own page).
pub(crate) struct CompanySurveyRow {
    pub(crate) contact_id: String,
    pub(crate) contact_name: String,
    pub(crate) kind: String,
    pub(crate) score: i64,
    pub(crate) channel: String,
    pub(crate) responded: String,
}

/// The feedback of a company's contacts: NPS and CSAT over all their responses, the latest
/// responses and complaints (each recorded with the contact's company when logged).
pub(crate) struct CompanyFeedback {
    pub(crate) company_id: String,
    pub(crate) summary: SurveySummary,
    pub(crate) surveys: Vec<CompanySurveyRow>,
    pub(crate) more_surveys: bool,
    pub(crate) complaints: Vec<ComplaintRow>,
    pub(crate) more_complaints: bool,
}

impl fmt::Debug for CompanyFeedback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CompanyFeedback { .. }")
    }
}

/// Whose feedback a record page shows.
#[derive(Debug, Clone, Copy)]
enum FeedbackOf {
    Contact(uuid::Uuid),
    Company(uuid::Uuid),
}

/// The survey summary, the latest survey responses and the latest complaints of a contact or a
/// company, each list cut at a section's length.
async fn feedback_lists(
    v: &Viewer,
    of: FeedbackOf,
) -> Result<(SurveySummary, SurveyPage, ComplaintPage), UiError> {
    let (contact_id, company_id) = match of {
        FeedbackOf::Contact(id) => (Some(id), None),
        FeedbackOf::Company(id) => (None, Some(id)),
    };
    let survey_query = SurveyQuery {
        contact_id,
        company_id,
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
                contact_id,
                company_id,
                limit: Some(SECTION_ROWS),
                sort: custodian_core::complaints::ComplaintSort::CreatedDesc,
                ..ComplaintQuery::default()
            },
        )
        .await
        .ui(v)?;
    Ok((summary, surveys, complaints))
}

/// `names`: contact id → name for the contacts the page already lists; others are shown as
/// "a contact" with their link.
pub(crate) async fn company_feedback(
    v: &Viewer,
    company: custodian_domain::CompanyId,
    names: &std::collections::HashMap<String, String>,
) -> Result<CompanyFeedback, UiError> {
    let t = v.t();
    let (summary, surveys, complaints) =
        feedback_lists(v, FeedbackOf::Company(company.as_uuid())).await?;
    Ok(CompanyFeedback {
        company_id: company.to_string(),
        summary,
        more_surveys: surveys.next_cursor.is_some(),
        surveys: surveys
            .items
            .into_iter()
            .map(|s| {
                let contact_id = s.contact_id.to_string();
                CompanySurveyRow {
                    contact_name: names
                        .get(&contact_id)
                        .cloned()
                        .unwrap_or_else(|| t.t("feedback.a_contact").to_owned()),
                    contact_id,
                    kind: label(&t, "survey_kind", &s.kind),
                    score: s.score,
                    channel: s
                        .channel
                        .as_deref()
                        .map(|c| label(&t, "channel", c))
                        .unwrap_or_default(),
                    responded: format_time(s.responded_at),
                }
            })
            .collect(),
        more_complaints: complaints.next_cursor.is_some(),
        complaints: complaints
            .items
            .into_iter()
            .map(|c| complaint_row(v, &t, c))
            .collect(),
    })
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
    /// The edit form, while the complaint is live and not closed or rejected.
    edit: Option<ComplaintEdit>,
}

/// The complaint's edit form: the complaint as it is, or a refused submission with its
/// messages.
pub(crate) struct ComplaintEdit {
    form: ComplaintEditForm,
    categories: Vec<SelectOption>,
    severities: Vec<SelectOption>,
    assignees: Vec<SelectOption>,
    errors: FormErrors,
    stale: bool,
}

impl ComplaintEdit {
    fn open(&self) -> bool {
        self.stale || self.errors.any()
    }
}

/// The edit form as submitted. `assignee` is empty (nobody), `me`, or the id of the current
/// assignee when that is someone else (there is no user directory in the UI yet).
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ComplaintEditForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    subject: String,
    description: String,
    category: String,
    severity: String,
    assignee: String,
}

impl fmt::Debug for ComplaintEditForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ComplaintEditForm { .. }")
    }
}

impl ComplaintEditForm {
    fn from_view(v: &Viewer, c: &ComplaintView) -> Self {
        Self {
            csrf: String::new(),
            version: c.version.to_string(),
            subject: c.subject.clone(),
            description: c.description.clone().unwrap_or_default(),
            category: c.category.clone(),
            severity: c.severity.clone(),
            assignee: match c.assignee_id {
                Some(a) if a == v.actor().user_id => "me".to_owned(),
                Some(a) => a.to_string(),
                None => String::new(),
            },
        }
    }

    fn to_patch(&self, v: &Viewer) -> Result<ComplaintPatch, FieldError> {
        let assignee = match self.assignee.trim() {
            "me" => Some(v.actor().user_id.as_uuid()),
            other => optional_id("assignee_id", other)?,
        };
        Ok(ComplaintPatch {
            version: parse_version(&self.version)?,
            subject: Some(normalize_newlines(&self.subject)),
            description: Some(normalize_newlines(&self.description)),
            category: Some(self.category.clone()),
            severity: Some(self.severity.clone()),
            assignee_id: Some(assignee),
        })
    }
}

fn complaint_edit(
    v: &Viewer,
    t: &Tr<'_>,
    c: &ComplaintView,
    returned: Option<(ComplaintEditForm, FormErrors, bool)>,
) -> ComplaintEdit {
    let (form, errors, stale) = returned.unwrap_or_else(|| {
        (
            ComplaintEditForm::from_view(v, c),
            FormErrors::default(),
            false,
        )
    });
    let categories: Vec<&str> = ComplaintCategory::ALL.iter().map(|c| c.code()).collect();
    let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.code()).collect();
    let chosen = form.assignee.trim();
    let mut assignees = vec![SelectOption {
        value: "me".to_owned(),
        label: t.t("complaints.assignee_me").to_owned(),
        selected: chosen == "me",
    }];
    // Someone else, as the complaint has it now: kept selectable so saving keeps them.
    if let Some(other) = c.assignee_id.filter(|a| *a != v.actor().user_id) {
        let value = other.to_string();
        assignees.push(SelectOption {
            label: who(v, other),
            selected: chosen == value,
            value,
        });
    }
    ComplaintEdit {
        categories: options(t, "complaint_category", &categories, form.category.trim()),
        severities: options(t, "severity", &severities, form.severity.trim()),
        assignees,
        form,
        errors,
        stale,
    }
}

async fn detail_page(
    v: &Viewer,
    status: StatusCode,
    id: ComplaintId,
    message: Option<String>,
) -> Result<Response, UiError> {
    detail_page_with(v, status, id, message, None).await
}

async fn detail_page_with(
    v: &Viewer,
    status: StatusCode,
    id: ComplaintId,
    message: Option<String>,
    returned: Option<(ComplaintEditForm, FormErrors, bool)>,
) -> Result<Response, UiError> {
    let c = v.core().get_complaint(v.actor(), id).await.ui(v)?;
    let t = v.t();
    let edit =
        (c.deleted_at.is_none() && !c.is_final()).then(|| complaint_edit(v, &t, &c, returned));
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
        edit,
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

/// Saves the edit form; refusals come back on the page with the form unfolded, the
/// messages next to the fields and what was typed kept.
pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ComplaintEditForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = ComplaintId(parse_id(&raw).ui(&v)?);
    let result = match form.to_patch(&v) {
        Ok(patch) => v.core().update_complaint(v.actor(), id, patch).await,
        Err(e) => Err(e.into()),
    };
    let t = v.t();
    let (status, errors, stale) = match result {
        Ok(c) => return Ok(Redirect::to(&format!("/complaints/{}", c.id)).into_response()),
        Err(CoreError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            FormErrors::from_fields(&t, &complaint_errors(&errors), COMPLAINT_EDIT_FIELDS),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(CoreError::Rule {
            code: "complaint_closed",
            ..
        }) => {
            // Closed or rejected meanwhile: the page as it is now says so, without a form.
            let message = Some(t.t("complaints.closed_cannot_edit").to_owned());
            return detail_page(&v, StatusCode::CONFLICT, id, message).await;
        }
        Err(e @ CoreError::Conflict(_)) => {
            return Err(v.fail(e).with_message_key("complaints.deleted_cannot_edit"));
        }
        Err(e) => return Err(v.fail(e)),
    };
    detail_page_with(&v, status, id, None, Some((form, errors, stale))).await
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
