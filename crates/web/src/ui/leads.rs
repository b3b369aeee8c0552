//! Lead pages: the filtered list, the e-mail search (a POST, so addresses never appear in
//! URLs), create, edit, and the detail page with qualify, disqualify, convert, delete and
//! restore.
//!
//! A lead's name, e-mail, phone, job title, notes and disqualification reason are personal:
//! they are held only in memory for rendering and never put into a URL or a log. Once a lead is
//! converted they are gone from it (they live on in the contact), so its page shows only what
//! it became.

use super::contacts::company_options;
use super::deals::{
    StageGroup, currency_options, invalid_choice, invalid_query, optional_id, parse_version,
    stage_groups, who,
};
use super::session::{CsrfOnly, csrf_checked_id};
use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, bad_request, base_field,
    build_url, field_message, format_time, normalize_newlines, optional, parse_id, render,
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
use custodian_core::leads::{
    ConversionDeal, ConvertLead, DisqualifyLead, LeadInput, LeadPatch, LeadQuery, LeadSort,
    LeadView, QualifyLead,
};
use custodian_domain::values::{LeadSource, LeadStatus};
use custodian_domain::{FieldError, LeadId};
use serde::Deserialize;
use std::fmt;

const NAV: &str = "leads";
const FORM_FIELDS: &[&str] = &[
    "name",
    "email",
    "phone",
    "job_title",
    "company_name",
    "notes",
    "source",
    "score",
    "status",
];
const FILTER_FIELDS: &[&str] = &["status", "source", "min_score", "sort"];
const DISQUALIFY_FIELDS: &[&str] = &["reason"];
const CONVERT_FIELDS: &[&str] = &[
    "company_choice",
    "company_id",
    "deal_title",
    "deal_amount",
    "deal_currency",
    "deal_stage_id",
];
/// The statuses the edit form may set; the others have their own actions.
const EDITABLE_STATUSES: &[LeadStatus] = &[LeadStatus::New, LeadStatus::Contacted];
/// Sort orders offered by the list: (code, catalog key). The first is the default.
const SORTS: &[(&str, &str)] = &[
    ("-updated", "leads.sort_updated"),
    ("-created", "leads.sort_created"),
    ("-score", "leads.sort_score"),
];
/// Rows per search page: search results are re-posted, never put in a URL.
const SEARCH_PAGE: u64 = 50;

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

pub(crate) fn source_label(t: &Tr<'_>, code: &str) -> String {
    t.t(&format!("lead_source.{code}")).to_owned()
}

pub(crate) fn status_label(t: &Tr<'_>, code: &str) -> String {
    t.t(&format!("lead_status.{code}")).to_owned()
}

fn source_options(t: &Tr<'_>, selected: &str) -> Vec<SelectOption> {
    LeadSource::ALL
        .iter()
        .map(|s| SelectOption {
            value: s.code().to_owned(),
            label: source_label(t, s.code()),
            selected: s.code() == selected,
        })
        .collect()
}

fn status_options(t: &Tr<'_>, statuses: &[LeadStatus], selected: &str) -> Vec<SelectOption> {
    statuses
        .iter()
        .map(|s| SelectOption {
            value: s.code().to_owned(),
            label: status_label(t, s.code()),
            selected: s.code() == selected,
        })
        .collect()
}

fn sort_options(t: &Tr<'_>, selected: &str) -> Vec<SelectOption> {
    let selected = if selected.is_empty() {
        SORTS[0].0
    } else {
        selected
    };
    SORTS
        .iter()
        .map(|(code, key)| SelectOption {
            value: (*code).to_owned(),
            label: t.t(key).to_owned(),
            selected: *code == selected,
        })
        .collect()
}

fn is_editable_status(code: &str) -> bool {
    EDITABLE_STATUSES.iter().any(|s| s.code() == code)
}

fn invalid_score(field: &str) -> FieldError {
    FieldError::new(
        field,
        "invalid_score",
        "must be a whole number from 0 to 100",
    )
}

/// A score from a form field: blank is `None`, anything but a whole number an error (the range
/// is the domain's to check).
fn parse_score(field: &str, raw: &str) -> Result<Option<i64>, FieldError> {
    match raw.trim() {
        "" => Ok(None),
        raw => raw
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid_score(field)),
    }
}

/// The catalog's `invalid_status` text names the deal statuses; a lead's status gets its own.
fn lead_field_errors(errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| {
            if e.code == "invalid_status" {
                FieldError::new(e.field.clone(), "invalid_lead_status", e.message.clone())
            } else {
                e.clone()
            }
        })
        .collect()
}

/// The text for a refused transition (`lead_converted`, `lead_disqualified`, …).
fn rule_message(t: &Tr<'_>, code: &str) -> String {
    let key = format!("error.{code}");
    match t.t(&key) {
        text if text == key => t.t("error.conflict").to_owned(),
        text => text.to_owned(),
    }
}

/// Conversion errors onto the convert form: the use case names the deal's fields as the deal
/// form does and the company choice `create_company`.
fn convert_errors(t: &Tr<'_>, errors: &[FieldError]) -> FormErrors {
    let mapped: Vec<FieldError> = errors
        .iter()
        .map(|e| {
            let field = match base_field(&e.field) {
                "create_company" => "company_choice",
                "title" => "deal_title",
                "amount" => "deal_amount",
                "currency" => "deal_currency",
                "stage_id" | "pipeline_id" => "deal_stage_id",
                other => other,
            };
            FieldError::new(field, e.code, e.message.clone())
        })
        .collect();
    FormErrors::from_fields(t, &mapped, CONVERT_FIELDS)
}

// ---------------------------------------------------------------------------------------------
// List and search
// ---------------------------------------------------------------------------------------------

/// A row of the lead table. Holds personal data (the name) only for rendering.
struct LeadRow {
    id: String,
    /// Empty once converted.
    name: String,
    company_name: String,
    source: String,
    status: String,
    status_code: String,
    score: i64,
    updated: String,
    /// Set once converted: the contact the lead became.
    contact_id: Option<String>,
    converted: bool,
}

fn lead_row(t: &Tr<'_>, l: LeadView) -> LeadRow {
    LeadRow {
        id: l.id.to_string(),
        source: source_label(t, &l.source),
        status: status_label(t, &l.status),
        converted: l.converted.is_some(),
        contact_id: l
            .converted
            .as_ref()
            .and_then(|c| c.contact_id)
            .map(|c| c.to_string()),
        status_code: l.status,
        name: l.name.unwrap_or_default(),
        company_name: l.company_name.unwrap_or_default(),
        score: l.score,
        updated: format_time(l.updated_at),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListParams {
    status: String,
    source: String,
    min_score: String,
    sort: String,
    deleted: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "leads/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<LeadRow>,
    deleted: bool,
    statuses: Vec<SelectOption>,
    sources: Vec<SelectOption>,
    sorts: Vec<SelectOption>,
    min_score: String,
    filtered: bool,
    errors: FormErrors,
    /// Plain list: link to the next page (the cursor holds only sort keys and ids).
    next_href: Option<String>,
    first_href: String,
    paged: bool,
    /// The searched e-mail address (echoed only into the form field of this no-store page).
    q: String,
    searching: bool,
    /// Search: the next page is another POST carrying the address and this cursor.
    next_cursor: Option<String>,
    views: Option<super::views::ViewsBar>,
}

impl ListPage<'_> {
    fn empty_colspan(&self) -> usize {
        if self.deleted { 7 } else { 6 }
    }
}

pub(crate) async fn list(
    v: Viewer,
    axum::extract::RawQuery(raw_query): axum::extract::RawQuery,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let t = v.t();
    let deleted = p.deleted == "only";
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut errors = FormErrors::default();
    let min_score = parse_score("min_score", &p.min_score).unwrap_or_else(|e| {
        errors.add("min_score", field_message(&t, &e));
        None
    });
    let sort = match p.sort.trim() {
        "" => LeadSort::default(),
        raw => LeadSort::parse(raw).unwrap_or_else(|_| {
            let e = FieldError::new("sort", "invalid_sort", "choose a sort order from the list");
            errors.add("sort", field_message(&t, &e));
            LeadSort::default()
        }),
    };
    let (rows, next_cursor, status) = if errors.any() {
        (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        let query = LeadQuery {
            status: non_empty(&p.status),
            source: non_empty(&p.source),
            min_score,
            deleted: if deleted {
                Deleted::Only
            } else {
                Deleted::Exclude
            },
            sort,
            cursor: non_empty(&p.cursor),
            ..LeadQuery::default()
        };
        match v.core().list_leads(v.actor(), query).await {
            Ok(page) => (
                page.items.into_iter().map(|l| lead_row(&t, l)).collect(),
                page.next_cursor,
                StatusCode::OK,
            ),
            Err(CoreError::Validation(field_errors)) => {
                errors =
                    FormErrors::from_fields(&t, &lead_field_errors(&field_errors), FILTER_FIELDS);
                (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return Err(v.fail(e)),
        }
    };
    let filter_url = |cursor: &str| {
        build_url(
            "/leads",
            &[
                ("status", p.status.trim()),
                ("source", p.source.trim()),
                ("min_score", p.min_score.trim()),
                ("sort", p.sort.trim()),
                ("deleted", if deleted { "only" } else { "" }),
                ("cursor", cursor),
            ],
        )
    };
    let next_href = next_cursor.map(|c| filter_url(&c));
    let first_href = filter_url("");
    let filtered = [&p.status, &p.source, &p.min_score]
        .iter()
        .any(|s| !s.trim().is_empty());
    let views = Some(super::views::views_bar(&v, "leads", raw_query.as_deref()).await?);
    let page = ListPage {
        views,
        statuses: status_options(&t, LeadStatus::ALL, p.status.trim()),
        sources: source_options(&t, p.source.trim()),
        sorts: sort_options(&t, p.sort.trim()),
        t,
        chrome: v.chrome(NAV),
        rows,
        deleted,
        min_score: p.min_score.trim().to_owned(),
        filtered,
        errors,
        next_href,
        first_href,
        paged: !p.cursor.trim().is_empty(),
        q: String::new(),
        searching: false,
        next_cursor: None,
    };
    Ok(render(status, &page))
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct SearchForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    q: String,
    cursor: String,
}

impl fmt::Debug for SearchForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SearchForm { .. }")
    }
}

/// The exact e-mail search (through the lead e-mail blind index).
pub(crate) fn search_query(q: &str, cursor: Option<String>) -> LeadQuery {
    LeadQuery {
        email: Some(q.trim().to_owned()),
        cursor,
        limit: Some(SEARCH_PAGE),
        ..LeadQuery::default()
    }
}

pub(crate) async fn search(
    v: Viewer,
    form: Result<Form<SearchForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    if form.q.trim().is_empty() {
        return Ok(Redirect::to("/leads").into_response());
    }
    let cursor = Some(form.cursor.clone()).filter(|c| !c.is_empty());
    let t = v.t();
    let (rows, next_cursor, errors, status) = match v
        .core()
        .list_leads(v.actor(), search_query(&form.q, cursor))
        .await
    {
        Ok(page) => (
            page.items.into_iter().map(|l| lead_row(&t, l)).collect(),
            page.next_cursor,
            FormErrors::default(),
            StatusCode::OK,
        ),
        Err(CoreError::Validation(field_errors)) => {
            // Whatever the field, the message belongs to the one search box.
            let mut errors = FormErrors::default();
            for e in &field_errors {
                errors.add("q", field_message(&t, e));
            }
            (Vec::new(), None, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return Err(v.fail(e)),
    };
    let page = ListPage {
        views: None,
        statuses: status_options(&t, LeadStatus::ALL, ""),
        sources: source_options(&t, ""),
        sorts: sort_options(&t, ""),
        t,
        chrome: v.chrome(NAV),
        rows,
        deleted: false,
        min_score: String::new(),
        filtered: false,
        errors,
        next_href: None,
        first_href: "/leads".to_owned(),
        paged: false,
        q: form.q,
        searching: true,
        next_cursor,
    };
    Ok(render(status, &page))
}

pub(crate) async fn search_get() -> Redirect {
    Redirect::to("/leads")
}

// ---------------------------------------------------------------------------------------------
// Detail, qualify, disqualify, convert
// ---------------------------------------------------------------------------------------------

/// A link to something the lead became, with the text to show.
struct Link {
    href: String,
    label: String,
}

struct Converted {
    /// "This lead was converted on …".
    text: String,
    contact: Option<Link>,
    company: Option<Link>,
    deal: Option<Link>,
}

#[derive(Template)]
#[template(path = "leads/detail.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    l: LeadView,
    id: String,
    title: String,
    source: String,
    status: String,
    owner: String,
    created: String,
    updated: String,
    deleted_at: Option<String>,
    converted: Option<Converted>,
    /// Neither deleted nor converted.
    can_change: bool,
    can_qualify: bool,
    can_disqualify: bool,
    can_convert: bool,
    is_disqualified: bool,
    message: Option<String>,
    disqualify: DisqualifyForm,
    disqualify_errors: FormErrors,
    convert: ConvertForm,
    convert_errors: FormErrors,
    companies: Vec<SelectOption>,
    stage_groups: Vec<StageGroup>,
    currencies: Vec<SelectOption>,
    has_pipeline: bool,
    create_company_label: String,
}

/// What a re-rendered detail page carries besides the lead: the refused form and why.
#[derive(Default)]
struct DetailState {
    message: Option<String>,
    disqualify: DisqualifyForm,
    disqualify_errors: FormErrors,
    convert: ConvertForm,
    convert_errors: FormErrors,
}

async fn converted_links(v: &Viewer, l: &LeadView) -> Result<Option<Converted>, UiError> {
    let Some(refs) = &l.converted else {
        return Ok(None);
    };
    let t = v.t();
    let company = match refs.company_id {
        Some(id) => Some(Link {
            href: format!("/companies/{id}"),
            label: match v.core().get_company(v.actor(), id).await {
                Ok(c) => c.name,
                Err(CoreError::NotFound { .. }) => t.t("leads.open_company").to_owned(),
                Err(e) => return Err(v.fail(e)),
            },
        }),
        None => None,
    };
    let deal = match refs.deal_id {
        Some(id) => Some(Link {
            href: format!("/deals/{id}"),
            label: match v.core().get_deal(v.actor(), id).await {
                Ok(d) => d.title,
                Err(CoreError::NotFound { .. }) => t.t("leads.open_deal").to_owned(),
                Err(e) => return Err(v.fail(e)),
            },
        }),
        None => None,
    };
    Ok(Some(Converted {
        text: t
            .t("leads.converted_banner")
            .replace("{date}", &format_time(refs.converted_at)),
        // The contact's name is personal: the link says what it is, not who.
        contact: refs.contact_id.map(|id| Link {
            href: format!("/contacts/{id}"),
            label: t.t("leads.open_contact").to_owned(),
        }),
        company,
        deal,
    }))
}

async fn detail_page(
    v: &Viewer,
    status: StatusCode,
    id: LeadId,
    state: DetailState,
) -> Result<Response, UiError> {
    let l = v.core().get_lead(v.actor(), id).await.ui(v)?;
    let t = v.t();
    let is_converted = l.status == LeadStatus::Converted.code() || l.converted.is_some();
    let is_disqualified = l.status == LeadStatus::Disqualified.code();
    let can_change = l.deleted_at.is_none() && !is_converted;
    let can_convert = can_change && !is_disqualified;
    let mut convert = state.convert;
    let (companies, groups, currencies, has_pipeline) = if can_convert {
        let pipelines = v.core().list_pipelines(v.actor()).await.ui(v)?;
        if convert.deal_stage_id.trim().is_empty()
            && let Some(first) = pipelines.first().and_then(|p| p.stages.first())
        {
            convert.deal_stage_id = first.id.to_string();
        }
        (
            company_options(v, convert.company_id.trim()).await?,
            stage_groups(&pipelines, convert.deal_stage_id.trim()),
            currency_options(&convert.deal_currency),
            !pipelines.is_empty(),
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new(), false)
    };
    let create_company_label = match &l.company_name {
        Some(name) => t.t("leads.company_create").replace("{name}", name),
        None => t.t("leads.company_create_none").to_owned(),
    };
    let page = DetailPage {
        id: l.id.to_string(),
        title: l
            .name
            .clone()
            .unwrap_or_else(|| t.t("leads.converted_name").to_owned()),
        source: source_label(&t, &l.source),
        status: status_label(&t, &l.status),
        owner: l.owner_id.map(|o| who(v, o)).unwrap_or_default(),
        created: format_time(l.created_at),
        updated: format_time(l.updated_at),
        deleted_at: l.deleted_at.map(format_time),
        converted: converted_links(v, &l).await?,
        can_change,
        can_qualify: can_change && l.status != LeadStatus::Qualified.code(),
        can_disqualify: can_change && !is_disqualified,
        can_convert,
        is_disqualified,
        message: state.message,
        disqualify: state.disqualify,
        disqualify_errors: state.disqualify_errors,
        convert,
        convert_errors: state.convert_errors,
        companies,
        stage_groups: groups,
        currencies,
        has_pipeline,
        create_company_label,
        t,
        chrome: v.chrome(NAV),
        l,
    };
    Ok(render(status, &page))
}

pub(crate) async fn detail(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = LeadId(parse_id(&raw).ui(&v)?);
    detail_page(&v, StatusCode::OK, id, DetailState::default()).await
}

/// A refused action other than invalid input: the detail page again with the reason (stale
/// version, converted, disqualified), or an error page.
async fn refused(
    v: &Viewer,
    id: LeadId,
    e: CoreError,
    mut state: DetailState,
) -> Result<Response, UiError> {
    let t = v.t();
    match e {
        CoreError::StaleVersion { .. } => {
            state.message = Some(t.t("leads.stale_detail").to_owned());
        }
        CoreError::Rule { code, .. } => state.message = Some(rule_message(&t, code)),
        e @ CoreError::Conflict(_) => {
            return Err(v.fail(e).with_message_key("leads.deleted_cannot_change"));
        }
        e => return Err(v.fail(e)),
    }
    detail_page(v, StatusCode::CONFLICT, id, state).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct QualifyForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
}

pub(crate) async fn qualify(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<QualifyForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = LeadId(parse_id(&raw).ui(&v)?);
    let result = match parse_version(&form.version) {
        Ok(version) => {
            v.core()
                .qualify_lead(v.actor(), id, QualifyLead { version })
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(l) => Ok(Redirect::to(&format!("/leads/{}", l.id)).into_response()),
        Err(CoreError::Validation(_)) => {
            let message = Some(v.t().t("leads.stale_detail").to_owned());
            let state = DetailState {
                message,
                ..DetailState::default()
            };
            detail_page(&v, StatusCode::UNPROCESSABLE_ENTITY, id, state).await
        }
        Err(e) => refused(&v, id, e, DetailState::default()).await,
    }
}

/// The disqualify form. The reason is personal data: redacted `Debug`, never logged.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct DisqualifyForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    reason: String,
}

impl fmt::Debug for DisqualifyForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisqualifyForm { .. }")
    }
}

pub(crate) async fn disqualify(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<DisqualifyForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = LeadId(parse_id(&raw).ui(&v)?);
    let result = match parse_version(&form.version) {
        Ok(version) => {
            v.core()
                .disqualify_lead(
                    v.actor(),
                    id,
                    DisqualifyLead {
                        version,
                        reason: optional(&form.reason),
                    },
                )
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(l) => Ok(Redirect::to(&format!("/leads/{}", l.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let state = DetailState {
                disqualify_errors: FormErrors::from_fields(
                    &v.t(),
                    &field_errors,
                    DISQUALIFY_FIELDS,
                ),
                disqualify: form,
                ..DetailState::default()
            };
            detail_page(&v, StatusCode::UNPROCESSABLE_ENTITY, id, state).await
        }
        Err(e) => {
            let state = DetailState {
                disqualify: form,
                ..DetailState::default()
            };
            refused(&v, id, e, state).await
        }
    }
}

/// The convert form: which company (none, an existing one, or one created from the lead's
/// company name) and optionally a deal. Redacted `Debug`: a deal title may name the person.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConvertForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    /// `none`, `existing` or `create`.
    company_choice: String,
    company_id: String,
    /// `on` when the deal checkbox is ticked.
    with_deal: String,
    deal_title: String,
    deal_amount: String,
    deal_currency: String,
    deal_stage_id: String,
}

impl fmt::Debug for ConvertForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvertForm")
            .field("company_choice", &self.company_choice)
            .field("with_deal", &self.deal_checked())
            .finish_non_exhaustive()
    }
}

impl ConvertForm {
    fn deal_checked(&self) -> bool {
        !self.with_deal.trim().is_empty()
    }

    fn choice(&self) -> &str {
        match self.company_choice.trim() {
            "" => "none",
            other => other,
        }
    }

    fn to_request(&self) -> Result<ConvertLead, FieldError> {
        let version = parse_version(&self.version)?;
        let (company_id, create_company) = match self.choice() {
            "none" => (None, false),
            "existing" => match optional_id("company_id", &self.company_id)? {
                Some(id) => (Some(id), false),
                None => {
                    return Err(FieldError::new(
                        "company_id",
                        "required",
                        "choose the company to link",
                    ));
                }
            },
            "create" => (None, true),
            _ => return Err(invalid_choice("company_choice")),
        };
        let deal = if self.deal_checked() {
            Some(ConversionDeal {
                title: normalize_newlines(&self.deal_title),
                amount: optional(&self.deal_amount),
                currency: optional(&self.deal_currency),
                pipeline_id: None,
                stage_id: optional_id("deal_stage_id", &self.deal_stage_id)?,
                expected_close_on: None,
            })
        } else {
            None
        };
        Ok(ConvertLead {
            version,
            company_id,
            create_company,
            deal,
        })
    }
}

/// Converts the lead and opens the contact it became (its id is all the URL holds).
pub(crate) async fn convert(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ConvertForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = LeadId(parse_id(&raw).ui(&v)?);
    let result = match form.to_request() {
        Ok(request) => v.core().convert_lead(v.actor(), id, request).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(l) => {
            let to = match l.converted.and_then(|c| c.contact_id) {
                Some(contact) => format!("/contacts/{contact}"),
                None => format!("/leads/{}", l.id),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(CoreError::Validation(field_errors)) => {
            let state = DetailState {
                convert_errors: convert_errors(&v.t(), &field_errors),
                convert: form,
                ..DetailState::default()
            };
            detail_page(&v, StatusCode::UNPROCESSABLE_ENTITY, id, state).await
        }
        Err(e) => {
            let state = DetailState {
                convert: form,
                ..DetailState::default()
            };
            refused(&v, id, e, state).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Create and edit
// ---------------------------------------------------------------------------------------------

/// The lead form as submitted. Personal data: redacted `Debug`.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct LeadForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) phone: String,
    pub(crate) job_title: String,
    pub(crate) company_name: String,
    pub(crate) notes: String,
    pub(crate) source: String,
    pub(crate) score: String,
    /// `new` or `contacted`; empty leaves the status as it is.
    pub(crate) status: String,
    pub(crate) version: String,
}

impl fmt::Debug for LeadForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeadForm { .. }")
    }
}

impl LeadForm {
    fn from_view(l: &LeadView) -> Self {
        Self {
            csrf: String::new(),
            name: l.name.clone().unwrap_or_default(),
            email: l.email.clone().unwrap_or_default(),
            phone: l.phone.clone().unwrap_or_default(),
            job_title: l.job_title.clone().unwrap_or_default(),
            company_name: l.company_name.clone().unwrap_or_default(),
            notes: l.notes.clone().unwrap_or_default(),
            source: l.source.clone(),
            score: l.score.to_string(),
            status: if is_editable_status(&l.status) {
                l.status.clone()
            } else {
                String::new()
            },
            version: l.version.to_string(),
        }
    }

    pub(crate) fn to_input(&self) -> Result<LeadInput, FieldError> {
        Ok(LeadInput {
            name: normalize_newlines(&self.name),
            email: optional(&self.email),
            phone: optional(&self.phone),
            job_title: optional(&self.job_title),
            company_name: optional(&self.company_name),
            notes: optional(&self.notes),
            source: optional(&self.source),
            score: parse_score("score", &self.score)?,
            owner_id: None,
        })
    }

    /// Every field of the form is sent (a cleared field is cleared); the owner is kept, a
    /// blank source is kept, a blank score is 0, a blank status is left as it is.
    pub(crate) fn to_patch(&self) -> Result<LeadPatch, FieldError> {
        let version = parse_version(&self.version)?;
        let input = self.to_input()?;
        Ok(LeadPatch {
            version,
            name: Some(input.name),
            email: Some(input.email),
            phone: Some(input.phone),
            job_title: Some(input.job_title),
            company_name: Some(input.company_name),
            notes: Some(input.notes),
            source: input.source,
            score: Some(input.score.unwrap_or(0)),
            owner_id: None,
            status: Some(self.status.trim().to_owned()).filter(|s| !s.is_empty()),
        })
    }
}

#[derive(Template)]
#[template(path = "leads/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    cancel_href: String,
    form: LeadForm,
    editing: bool,
    sources: Vec<SelectOption>,
    /// While editing a new or contacted lead: new and contacted.
    statuses: Vec<SelectOption>,
    /// While editing a lead in another status: that status, shown but not editable here.
    status_label: String,
    errors: FormErrors,
    stale: bool,
}

async fn form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    form: LeadForm,
    current_status: Option<&str>,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    let t = v.t();
    let editing = id.is_some();
    let status_editable = current_status.is_none_or(is_editable_status);
    let (statuses, status_label) = match (editing, status_editable) {
        (true, true) => (
            status_options(&t, EDITABLE_STATUSES, form.status.trim()),
            String::new(),
        ),
        (true, false) => (
            Vec::new(),
            current_status
                .map(|s| status_label(&t, s))
                .unwrap_or_default(),
        ),
        (false, _) => (Vec::new(), String::new()),
    };
    let source = match form.source.trim() {
        "" => LeadSource::Other.code(),
        s => s,
    };
    let page = FormPage {
        sources: source_options(&t, source),
        t,
        chrome: v.chrome(NAV),
        title_key: if editing {
            "leads.edit_title"
        } else {
            "leads.new_title"
        },
        action: id.map_or_else(|| "/leads".to_owned(), |id| format!("/leads/{id}")),
        cancel_href: id.map_or_else(|| "/leads".to_owned(), |id| format!("/leads/{id}")),
        form,
        editing,
        statuses,
        status_label,
        errors,
        stale,
    };
    Ok(render(status, &page))
}

fn form_errors(t: &Tr<'_>, errors: &[FieldError]) -> FormErrors {
    FormErrors::from_fields(t, &lead_field_errors(errors), FORM_FIELDS)
}

pub(crate) async fn new_form(v: Viewer) -> Result<Response, UiError> {
    let form = LeadForm {
        source: LeadSource::Other.code().to_owned(),
        score: "0".to_owned(),
        ..LeadForm::default()
    };
    form_page(
        &v,
        StatusCode::OK,
        None,
        form,
        None,
        FormErrors::default(),
        false,
    )
    .await
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<LeadForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let t = v.t();
    let result = match form.to_input() {
        Ok(input) => v.core().create_lead(v.actor(), input).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(l) => Ok(Redirect::to(&format!("/leads/{}", l.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = form_errors(&t, &field_errors);
            form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                None,
                errors,
                false,
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn edit_form(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = parse_id(&raw).ui(&v)?;
    let l = v.core().get_lead(v.actor(), LeadId(id)).await.ui(&v)?;
    if l.deleted_at.is_some() {
        return Err(v
            .fail(CoreError::Conflict(
                "the lead is deleted; restore it before changing it",
            ))
            .with_message_key("leads.deleted_cannot_change"));
    }
    if l.converted.is_some() || l.status == LeadStatus::Converted.code() {
        return Err(v.fail(CoreError::Rule {
            code: "lead_converted",
            message: "the lead has been converted; work with the contact it became",
        }));
    }
    let id = l.id.to_string();
    form_page(
        &v,
        StatusCode::OK,
        Some(&id),
        LeadForm::from_view(&l),
        Some(&l.status),
        FormErrors::default(),
        false,
    )
    .await
}

pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<LeadForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let id_text = id.to_string();
    let t = v.t();
    let result = match form.to_patch() {
        Ok(patch) => v.core().update_lead(v.actor(), LeadId(id), patch).await,
        Err(e) => Err(e.into()),
    };
    let (status, errors, stale) = match result {
        Ok(l) => return Ok(Redirect::to(&format!("/leads/{}", l.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            form_errors(&t, &field_errors),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(e @ CoreError::Conflict(_)) => {
            return Err(v.fail(e).with_message_key("leads.deleted_cannot_change"));
        }
        Err(e) => return Err(v.fail(e)),
    };
    // Whether the status can be chosen here depends on the lead's current status.
    let current = v
        .core()
        .get_lead(v.actor(), LeadId(id))
        .await
        .ok()
        .map(|l| l.status);
    form_page(
        &v,
        status,
        Some(&id_text),
        form,
        current.as_deref(),
        errors,
        stale,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Delete and restore
// ---------------------------------------------------------------------------------------------

pub(crate) async fn delete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    v.core().delete_lead(v.actor(), LeadId(id)).await.ui(&v)?;
    Ok(Redirect::to("/leads").into_response())
}

pub(crate) async fn restore(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    let l = v.core().restore_lead(v.actor(), LeadId(id)).await.ui(&v)?;
    Ok(Redirect::to(&format!("/leads/{}", l.id)).into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::i18n::Catalogs;
    use custodian_core::leads::ConversionRefs;
    use custodian_domain::{ContactId, DealId};
    use uuid::Uuid;

    const STAGE: &str = "0196f3a0-0000-7000-8000-000000000001";
    const COMPANY: &str = "0196f3a0-0000-7000-8000-000000000002";

    #[test]
    fn lead_form_becomes_input_and_patch() {
        let form = LeadForm {
            name: "王小明".into(),
            email: " wang@example.cn ".into(),
            phone: " ".into(),
            notes: "a\r\nb".into(),
            source: "trade_show".into(),
            score: " 70 ".into(),
            status: "contacted".into(),
            version: "3".into(),
            ..LeadForm::default()
        };
        let input = form.to_input().unwrap();
        assert_eq!(input.email.as_deref(), Some(" wang@example.cn "));
        assert_eq!(input.phone, None);
        assert_eq!(input.notes.as_deref(), Some("a\nb"));
        assert_eq!(input.score, Some(70));
        assert_eq!(input.owner_id, None);
        let patch = form.to_patch().unwrap();
        assert_eq!(patch.version, 3);
        assert_eq!(patch.phone, Some(None), "a cleared field is cleared");
        assert_eq!(patch.status.as_deref(), Some("contacted"));
        assert!(patch.owner_id.is_none(), "the owner is kept");

        let blank = LeadForm {
            version: "1".into(),
            ..LeadForm::default()
        };
        let patch = blank.to_patch().unwrap();
        assert_eq!(
            (patch.status, patch.source, patch.score),
            (None, None, Some(0))
        );
        let bad = LeadForm {
            score: "seventy".into(),
            ..LeadForm::default()
        };
        assert_eq!(bad.to_input().unwrap_err().code, "invalid_score");
        assert_eq!(bad.to_patch().unwrap_err().field, "version");
    }

    #[test]
    fn convert_form_becomes_a_request() {
        let form = ConvertForm {
            version: "4".into(),
            company_choice: "create".into(),
            company_id: COMPANY.into(),
            ..ConvertForm::default()
        };
        let request = form.to_request().unwrap();
        assert_eq!(request.version, 4);
        assert!(request.create_company, "the radio decides");
        assert_eq!(request.company_id, None);
        assert!(request.deal.is_none(), "no deal unless ticked");

        let form = ConvertForm {
            version: "4".into(),
            company_choice: "existing".into(),
            company_id: COMPANY.into(),
            with_deal: "on".into(),
            deal_title: "Valve retrofit".into(),
            deal_amount: " ".into(),
            deal_stage_id: STAGE.into(),
            ..ConvertForm::default()
        };
        let request = form.to_request().unwrap();
        assert_eq!(request.company_id, Some(Uuid::parse_str(COMPANY).unwrap()));
        assert!(!request.create_company);
        let deal = request.deal.unwrap();
        assert_eq!(deal.title, "Valve retrofit");
        assert_eq!(deal.amount, None);
        assert_eq!(deal.stage_id, Some(Uuid::parse_str(STAGE).unwrap()));

        let none = ConvertForm {
            version: "1".into(),
            ..ConvertForm::default()
        };
        let request = none.to_request().unwrap();
        assert!(request.company_id.is_none() && !request.create_company);

        for (choice, company, field) in [
            ("existing", "", "company_id"),
            ("existing", "nope", "company_id"),
            ("elsewhere", "", "company_choice"),
        ] {
            let form = ConvertForm {
                version: "1".into(),
                company_choice: choice.into(),
                company_id: company.into(),
                ..ConvertForm::default()
            };
            assert_eq!(form.to_request().unwrap_err().field, field, "{choice}");
        }
    }

    #[test]
    fn conversion_errors_land_on_the_convert_form() {
        let catalogs = Catalogs::load().unwrap();
        let t = catalogs.translator("en");
        let errors = convert_errors(
            &t,
            &[
                FieldError::new("create_company", "company_name_required", "x"),
                FieldError::new("title", "required", "x"),
                FieldError::new("pipeline_id", "no_pipeline", "x"),
                FieldError::new("currency", "currency_required", "x"),
                FieldError::new("name", "too_long", "at most 200"),
            ],
        );
        assert!(
            errors
                .get("company_choice")
                .unwrap()
                .contains("no company name")
        );
        assert!(errors.get("deal_title").is_some());
        assert!(errors.get("deal_stage_id").unwrap().contains("no pipeline"));
        assert!(errors.get("deal_currency").is_some());
        assert_eq!(errors.general.len(), 1, "the rest is general");

        let zh = catalogs.translator("zh-CN");
        assert_eq!(
            rule_message(&zh, "lead_disqualified"),
            "该线索不合格；请先标为合格再转化。"
        );
        assert_eq!(rule_message(&t, "brand_new"), t.t("error.conflict"));
        let mapped = lead_field_errors(&[FieldError::new("status", "invalid_status", "x")]);
        assert_eq!(
            field_message(&zh, &mapped[0]),
            "请从列表中选择状态。",
            "not the deal statuses"
        );
    }

    #[test]
    fn every_source_and_status_has_a_label_in_both_languages() {
        let catalogs = Catalogs::load().unwrap();
        for locale in ["en", "zh-CN"] {
            let t = catalogs.translator(locale);
            for s in LeadSource::ALL {
                assert!(!source_label(&t, s.code()).starts_with("lead_source."));
            }
            for s in LeadStatus::ALL {
                assert!(!status_label(&t, s.code()).starts_with("lead_status."));
            }
            for (_, key) in SORTS {
                assert_ne!(t.t(key), *key);
            }
        }
        assert_eq!(sort_options(&catalogs.translator("en"), "").len(), 3);
        assert!(sort_options(&catalogs.translator("en"), "")[0].selected);
    }

    fn converted_view() -> LeadView {
        let at = time::macros::datetime!(2026-03-04 05:06:07 UTC);
        LeadView {
            id: LeadId(Uuid::parse_str("0196f3a0-0000-7000-8000-000000000003").unwrap()),
            name: None,
            email: None,
            phone: None,
            job_title: None,
            company_name: Some("Dongying <Refinery>".into()),
            notes: None,
            source: "web".into(),
            status: "converted".into(),
            score: 40,
            status_reason: None,
            owner_id: None,
            converted: Some(ConversionRefs {
                contact_id: Some(ContactId(
                    Uuid::parse_str("0196f3a0-0000-7000-8000-000000000004").unwrap(),
                )),
                company_id: None,
                deal_id: Some(DealId(
                    Uuid::parse_str("0196f3a0-0000-7000-8000-000000000005").unwrap(),
                )),
                converted_at: at,
            }),
            created_at: at,
            updated_at: at,
            deleted_at: None,
            version: 4,
        }
    }

    #[test]
    fn a_converted_lead_renders_its_links_and_no_forms() {
        let catalogs = Catalogs::load().unwrap();
        for (locale, banner) in [
            ("en", "This lead was converted on 2026-03-04 05:06 UTC."),
            ("zh-CN", "该线索已于 2026-03-04 05:06 UTC 转化。"),
        ] {
            let t = catalogs.translator(locale);
            let l = converted_view();
            let page = DetailPage {
                id: l.id.to_string(),
                title: t.t("leads.converted_name").to_owned(),
                source: source_label(&t, &l.source),
                status: status_label(&t, &l.status),
                owner: String::new(),
                created: format_time(l.created_at),
                updated: format_time(l.updated_at),
                deleted_at: None,
                converted: Some(Converted {
                    text: t
                        .t("leads.converted_banner")
                        .replace("{date}", &format_time(l.created_at)),
                    contact: Some(Link {
                        href: "/contacts/c1".into(),
                        label: t.t("leads.open_contact").into(),
                    }),
                    company: None,
                    deal: Some(Link {
                        href: "/deals/d1".into(),
                        label: "Valve <retrofit>".into(),
                    }),
                }),
                can_change: false,
                can_qualify: false,
                can_disqualify: false,
                can_convert: false,
                is_disqualified: false,
                message: None,
                disqualify: DisqualifyForm::default(),
                disqualify_errors: FormErrors::default(),
                convert: ConvertForm::default(),
                convert_errors: FormErrors::default(),
                companies: Vec::new(),
                stage_groups: Vec::new(),
                currencies: Vec::new(),
                has_pipeline: false,
                create_company_label: String::new(),
                t,
                chrome: Chrome::default(),
                l,
            };
            let html = page.render().unwrap();
            assert!(html.contains(banner), "{html}");
            assert!(html.contains("href=\"/contacts/c1\"") && html.contains("href=\"/deals/d1\""));
            assert!(!html.contains("id=\"converted-company\""));
            assert!(!html.contains("id=\"lead-email\"") && !html.contains("id=\"lead-notes\""));
            assert!(!html.contains("convert-form") && !html.contains("qualify-form"));
            assert!(!html.contains("Valve <retrofit>") && !html.contains("Dongying <Refinery>"));
            assert!(!html.contains("<script>") && !html.contains("style="));
        }
    }
}
