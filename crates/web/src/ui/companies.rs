//! Company pages: list with filters, detail with the company's contacts, create, edit, delete,
//! restore. Company data is internal (not personal), except the address, which lists omit.

use super::activities::{Timeline, TimelineQuery, timeline};
use super::contacts::ContactRow;
use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, bad_request, build_url,
    format_time, join_list, normalize_newlines, optional, parse_id, render, split_list,
};
use crate::error::ApiError;
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::companies::{
    CompanyInput, CompanyPatch, CompanyQuery, CompanySort, CompanyView,
};
use custodian_core::contacts::{ContactQuery, Deleted};
use custodian_core::links::RecordKind;
use custodian_domain::values::{CompanySize, Industry};
use custodian_domain::{CompanyId, FieldError};
use serde::Deserialize;
use std::fmt;

const NAV: &str = "companies";
const FORM_FIELDS: &[&str] = &[
    "name", "industry", "size", "region", "website", "address", "tags",
];
const FILTER_FIELDS: &[&str] = &["q", "industry", "region"];

pub(crate) fn industry_label(t: &Tr<'_>, code: Option<&str>) -> String {
    code.map(|c| t.t(&format!("industry.{c}")).to_owned())
        .unwrap_or_default()
}

pub(crate) fn size_label(t: &Tr<'_>, code: Option<&str>) -> String {
    code.map(|c| t.t(&format!("size.{c}")).to_owned())
        .unwrap_or_default()
}

pub(crate) fn industry_options(t: &Tr<'_>, selected: &str) -> Vec<SelectOption> {
    Industry::ALL
        .iter()
        .map(|i| SelectOption {
            value: i.code().to_owned(),
            label: industry_label(t, Some(i.code())),
            selected: i.code() == selected,
        })
        .collect()
}

pub(crate) fn size_options(t: &Tr<'_>, selected: &str) -> Vec<SelectOption> {
    CompanySize::ALL
        .iter()
        .map(|s| SelectOption {
            value: s.code().to_owned(),
            label: size_label(t, Some(s.code())),
            selected: s.code() == selected,
        })
        .collect()
}

struct CompanyRow {
    id: String,
    name: String,
    industry: String,
    size: String,
    region: String,
    website: String,
    tags: Vec<String>,
    updated: String,
}

fn row(t: &Tr<'_>, c: CompanyView) -> CompanyRow {
    CompanyRow {
        id: c.id.to_string(),
        industry: industry_label(t, c.industry.as_deref()),
        size: size_label(t, c.size.as_deref()),
        name: c.name,
        region: c.region.unwrap_or_default(),
        website: c.website.unwrap_or_default(),
        tags: c.tags,
        updated: format_time(c.updated_at),
    }
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListParams {
    q: String,
    industry: String,
    region: String,
    deleted: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "companies/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<CompanyRow>,
    deleted: bool,
    q: String,
    region: String,
    industries: Vec<SelectOption>,
    filtered: bool,
    errors: FormErrors,
    next_href: Option<String>,
    paged: bool,
    views: Option<super::views::ViewsBar>,
}

pub(crate) async fn list(
    v: Viewer,
    axum::extract::RawQuery(raw_query): axum::extract::RawQuery,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "The query string is invalid.",
        )));
    };
    let t = v.t();
    let deleted = p.deleted == "only";
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let query = CompanyQuery {
        q: non_empty(&p.q),
        industry: non_empty(&p.industry),
        region: non_empty(&p.region),
        deleted: if deleted {
            Deleted::Only
        } else {
            Deleted::Exclude
        },
        sort: CompanySort::NameAsc,
        cursor: non_empty(&p.cursor),
        ..CompanyQuery::default()
    };
    let (rows, next_cursor, errors, status) = match v.core().list_companies(v.actor(), query).await
    {
        Ok(page) => (
            page.items.into_iter().map(|c| row(&t, c)).collect(),
            page.next_cursor,
            FormErrors::default(),
            StatusCode::OK,
        ),
        Err(CoreError::Validation(field_errors)) => (
            Vec::new(),
            None,
            FormErrors::from_fields(&t, &field_errors, FILTER_FIELDS),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return Err(v.fail(e)),
    };
    let next_href = next_cursor.map(|c| {
        build_url(
            "/companies",
            &[
                ("q", p.q.trim()),
                ("industry", p.industry.trim()),
                ("region", p.region.trim()),
                ("deleted", if deleted { "only" } else { "" }),
                ("cursor", &c),
            ],
        )
    });
    let filtered = [&p.q, &p.industry, &p.region]
        .iter()
        .any(|s| !s.trim().is_empty());
    let views = Some(super::views::views_bar(&v, "companies", raw_query.as_deref()).await?);
    let page = ListPage {
        views,
        industries: industry_options(&t, p.industry.trim()),
        t,
        chrome: v.chrome(NAV),
        rows,
        deleted,
        q: p.q,
        region: p.region,
        filtered,
        errors,
        next_href,
        paged: !p.cursor.trim().is_empty(),
    };
    Ok(render(status, &page))
}

// ---------------------------------------------------------------------------------------------
// Detail
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "companies/detail.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    c: CompanyView,
    id: String,
    industry: String,
    size: String,
    created: String,
    updated: String,
    deleted_at: Option<String>,
    contacts: Vec<ContactRow>,
    more_contacts: bool,
    timeline_block: Option<Timeline>,
    shown: Vec<super::custom_fields::ShownValue>,
    tasks: super::tasks::RecordTasks,
    purchases: Option<super::orders::PurchaseSection>,
    /// Surveys and complaints of the company's contacts (live companies only).
    feedback: Option<super::feedback::CompanyFeedback>,
}

pub(crate) async fn detail(
    v: Viewer,
    Path(raw): Path<String>,
    query: Result<Query<TimelineQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(query)) = query else {
        return Err(v.fail(bad_request()));
    };
    let id = parse_id(&raw).ui(&v)?;
    let c = v
        .core()
        .get_company(v.actor(), CompanyId(id))
        .await
        .ui(&v)?;
    let timeline_block = match c.deleted_at {
        None => Some(timeline(&v, RecordKind::Company, id, query.timeline).await?),
        Some(_) => None,
    };
    let contacts = v
        .core()
        .list_contacts(
            v.actor(),
            ContactQuery {
                company_id: Some(id),
                limit: Some(200),
                ..ContactQuery::default()
            },
        )
        .await
        .ui(&v)?;
    let contacts_more = contacts.next_cursor.is_some();
    let tasks = super::tasks::record_tasks(
        &v,
        custodian_core::links::RecordKind::Company,
        c.id.as_uuid(),
    )
    .await?;
    let customer = custodian_core::orders::CustomerRef::Company(c.id);
    let purchases_readable = v
        .core()
        .customer_group_access(
            v.actor(),
            customer,
            custodian_core::authz::FieldGroup::PurchaseHistory,
        )
        .await
        .ui(&v)?
        == custodian_core::authz::fields::GroupAccess::Full;
    let purchases = super::orders::purchase_section(&v, customer, purchases_readable).await?;
    let contacts: Vec<ContactRow> = contacts.items.into_iter().map(ContactRow::from).collect();
    let feedback = match c.deleted_at {
        None => {
            let names = contacts
                .iter()
                .map(|r| (r.id.clone(), r.name.clone()))
                .collect();
            Some(super::feedback::company_feedback(&v, c.id, &names).await?)
        }
        Some(_) => None,
    };
    let t = v.t();
    let fields = super::custom_fields::active_fields(&v, "company").await?;
    let shown = super::custom_fields::shown(&t, &fields, c.custom_fields.as_ref());
    let page = DetailPage {
        feedback,
        shown,
        tasks,
        id: c.id.to_string(),
        purchases,
        industry: industry_label(&t, c.industry.as_deref()),
        size: size_label(&t, c.size.as_deref()),
        created: format_time(c.created_at),
        updated: format_time(c.updated_at),
        deleted_at: c.deleted_at.map(format_time),
        more_contacts: contacts_more,
        contacts,
        timeline_block,
        t,
        chrome: v.chrome(NAV),
        c,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------
// Create and edit
// ---------------------------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct CompanyForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    pub(crate) name: String,
    pub(crate) industry: String,
    pub(crate) size: String,
    pub(crate) region: String,
    pub(crate) website: String,
    pub(crate) address: String,
    pub(crate) tags: String,
    pub(crate) version: String,
    /// Custom field values (`cf.<key>`, `cfb.<key>`).
    #[serde(flatten)]
    pub(crate) custom: super::custom_fields::RawCustom,
}

impl fmt::Debug for CompanyForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address may be personal data.
        f.write_str("CompanyForm { .. }")
    }
}

impl CompanyForm {
    fn from_view(c: &CompanyView) -> Self {
        Self {
            csrf: String::new(),
            name: c.name.clone(),
            industry: c.industry.clone().unwrap_or_default(),
            size: c.size.clone().unwrap_or_default(),
            region: c.region.clone().unwrap_or_default(),
            website: c.website.clone().unwrap_or_default(),
            address: c.address.clone().unwrap_or_default(),
            tags: join_list(&c.tags),
            version: c.version.to_string(),
            custom: super::custom_fields::raw_from_values(c.custom_fields.as_ref()),
        }
    }

    pub(crate) fn to_input(&self) -> CompanyInput {
        CompanyInput {
            name: normalize_newlines(&self.name),
            industry: optional(&self.industry),
            size: optional(&self.size),
            region: optional(&self.region),
            address: optional(&self.address),
            website: optional(&self.website),
            owner_id: None,
            tags: split_list(&self.tags),
            custom_fields: super::custom_fields::values_from_form(&self.custom),
        }
    }

    pub(crate) fn to_patch(&self) -> Result<CompanyPatch, FieldError> {
        let version = self.version.trim().parse::<i64>().map_err(|_| {
            FieldError::new("version", "invalid_version", "the form is out of date")
        })?;
        let input = self.to_input();
        Ok(CompanyPatch {
            version,
            name: Some(input.name),
            industry: Some(input.industry),
            size: Some(input.size),
            region: Some(input.region),
            address: Some(input.address),
            website: Some(input.website),
            owner_id: None,
            tags: Some(input.tags),
            custom_fields: Some(input.custom_fields),
        })
    }
}

#[derive(Template)]
#[template(path = "companies/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    cancel_href: String,
    industries: Vec<SelectOption>,
    sizes: Vec<SelectOption>,
    form: CompanyForm,
    editing: bool,
    custom: Vec<super::custom_fields::CustomInput>,
    errors: FormErrors,
    stale: bool,
}

async fn form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    form: CompanyForm,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    let t = v.t();
    let fields = super::custom_fields::active_fields(v, "company").await?;
    let custom = super::custom_fields::inputs(&t, &fields, &form.custom, &errors);
    let page = FormPage {
        custom,
        industries: industry_options(&t, form.industry.trim()),
        sizes: size_options(&t, form.size.trim()),
        t,
        chrome: v.chrome(NAV),
        title_key: if id.is_some() {
            "companies.edit_title"
        } else {
            "companies.new_title"
        },
        action: id.map_or_else(|| "/companies".to_owned(), |id| format!("/companies/{id}")),
        cancel_href: id.map_or_else(|| "/companies".to_owned(), |id| format!("/companies/{id}")),
        form,
        editing: id.is_some(),
        errors,
        stale,
    };
    Ok(render(status, &page))
}

pub(crate) async fn new_form(v: Viewer) -> Result<Response, UiError> {
    form_page(
        &v,
        StatusCode::OK,
        None,
        CompanyForm::default(),
        FormErrors::default(),
        false,
    )
    .await
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<CompanyForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    match v.core().create_company(v.actor(), form.to_input()).await {
        Ok(c) => Ok(Redirect::to(&format!("/companies/{}", c.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = super::custom_fields::form_errors(&v.t(), &field_errors, FORM_FIELDS);
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
    let id = parse_id(&raw).ui(&v)?;
    let c = v
        .core()
        .get_company(v.actor(), CompanyId(id))
        .await
        .ui(&v)?;
    if c.deleted_at.is_some() {
        return Err(v
            .fail(CoreError::Conflict(
                "the company is deleted; restore it before editing",
            ))
            .with_message_key("companies.deleted_cannot_edit"));
    }
    let id = c.id.to_string();
    form_page(
        &v,
        StatusCode::OK,
        Some(&id),
        CompanyForm::from_view(&c),
        FormErrors::default(),
        false,
    )
    .await
}

pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CompanyForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let id_text = id.to_string();
    let t = v.t();
    let patch = match form.to_patch() {
        Ok(patch) => patch,
        Err(e) => {
            let errors = FormErrors::from_fields(&t, &[e], FORM_FIELDS);
            return form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&id_text),
                form,
                errors,
                false,
            )
            .await;
        }
    };
    match v
        .core()
        .update_company(v.actor(), CompanyId(id), patch)
        .await
    {
        Ok(c) => Ok(Redirect::to(&format!("/companies/{}", c.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = super::custom_fields::form_errors(&t, &field_errors, FORM_FIELDS);
            form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&id_text),
                form,
                errors,
                false,
            )
            .await
        }
        Err(CoreError::StaleVersion { .. }) => {
            form_page(
                &v,
                StatusCode::CONFLICT,
                Some(&id_text),
                form,
                FormErrors::default(),
                true,
            )
            .await
        }
        Err(e @ CoreError::Conflict(_)) => {
            Err(v.fail(e).with_message_key("companies.deleted_cannot_edit"))
        }
        Err(e) => Err(v.fail(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Delete and restore
// ---------------------------------------------------------------------------------------------

pub(crate) async fn delete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<super::session::CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    v.core()
        .delete_company(v.actor(), CompanyId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to("/companies").into_response())
}

pub(crate) async fn restore(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<super::session::CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let c = v
        .core()
        .restore_company(v.actor(), CompanyId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to(&format!("/companies/{}", c.id)).into_response())
}
