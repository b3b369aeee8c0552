//! Contact pages: list, search, detail, create, edit, delete, restore.

use super::activities::{Timeline, TimelineQuery, timeline};
use super::support::{
    Chrome, FormErrors, SearchKind, SelectOption, UiError, UiResultExt, Viewer, bad_request,
    build_url, classify_search, format_time, join_list, normalize_newlines, optional, parse_id,
    render, split_list,
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
use custodian_core::companies::{CompanyQuery, CompanySort};
use custodian_core::contacts::{
    ContactInput, ContactPatch, ContactQuery, ContactSummary, ContactView, Deleted,
};
use custodian_core::links::RecordKind;
use custodian_domain::{CompanyId, ContactId, FieldError};
use serde::Deserialize;
use std::fmt;
use uuid::Uuid;

const NAV: &str = "contacts";
const FORM_FIELDS: &[&str] = &[
    "name",
    "emails",
    "phones",
    "job_title",
    "company_id",
    "address",
    "notes",
    "team",
    "tags",
];
/// Rows per search page: search results are re-posted, never put in a URL.
const SEARCH_PAGE: u64 = 50;

/// A row of the contact table. Holds personal data only for rendering.
pub(crate) struct ContactRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) phone: String,
    pub(crate) job_title: String,
    pub(crate) tags: Vec<String>,
    pub(crate) updated: String,
}

impl From<ContactSummary> for ContactRow {
    fn from(c: ContactSummary) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name,
            email: c.email.unwrap_or_default(),
            phone: c.phone.unwrap_or_default(),
            job_title: c.job_title.unwrap_or_default(),
            tags: c.tags,
            updated: format_time(c.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// List and search
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "contacts/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<ContactRow>,
    deleted: bool,
    /// The search text (echoed only into the form field of this no-store page).
    q: String,
    searching: bool,
    errors: FormErrors,
    /// Plain list: link to the next page (`?cursor=` holds only ids and timestamps).
    next_href: Option<String>,
    /// A later page of the plain list: offer a link back to the first.
    paged: bool,
    /// Search: the next page is another POST carrying the search text and this cursor.
    next_cursor: Option<String>,
    views: Option<super::views::ViewsBar>,
    /// The do-not-contact filter: "", "true" or "false".
    dnc: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListParams {
    cursor: Option<String>,
    deleted: Option<String>,
    /// `true`: only do-not-contact contacts; `false`: only contactable ones.
    do_not_contact: Option<String>,
}

pub(crate) async fn list(
    v: Viewer,
    axum::extract::RawQuery(raw_query): axum::extract::RawQuery,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(params)) = params else {
        return Err(v.fail(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "The query string is invalid.",
        )));
    };
    let deleted = params.deleted.as_deref() == Some("only");
    let paged = params.cursor.as_deref().is_some_and(|c| !c.is_empty());
    let dnc = match params.do_not_contact.as_deref() {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let dnc_param = dnc.map(|d| d.to_string()).unwrap_or_default();
    let query = ContactQuery {
        do_not_contact: dnc,
        deleted: if deleted {
            Deleted::Only
        } else {
            Deleted::Exclude
        },
        cursor: params.cursor.filter(|c| !c.is_empty()),
        ..ContactQuery::default()
    };
    let page = v.core().list_contacts(v.actor(), query).await.ui(&v)?;
    let next_href = page.next_cursor.map(|c| {
        build_url(
            "/contacts",
            &[
                ("deleted", if deleted { "only" } else { "" }),
                ("do_not_contact", &dnc_param),
                ("cursor", &c),
            ],
        )
    });
    let views = Some(super::views::views_bar(&v, "contacts", raw_query.as_deref()).await?);
    let page = ListPage {
        views,
        t: v.t(),
        chrome: v.chrome(NAV),
        rows: page.items.into_iter().map(ContactRow::from).collect(),
        deleted,
        q: String::new(),
        searching: false,
        errors: FormErrors::default(),
        next_href,
        paged,
        next_cursor: None,
        dnc: dnc_param,
    };
    Ok(render(StatusCode::OK, &page))
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

/// Builds the query for the search box.
pub(crate) fn search_query(q: &str, cursor: Option<String>) -> ContactQuery {
    let text = q.trim().to_owned();
    let mut query = ContactQuery {
        cursor,
        limit: Some(SEARCH_PAGE),
        ..ContactQuery::default()
    };
    match classify_search(&text) {
        SearchKind::Email => query.email = Some(text),
        SearchKind::Phone => query.phone = Some(text),
        SearchKind::Name => query.name = Some(text),
    }
    query
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
        return Ok(Redirect::to("/contacts").into_response());
    }
    let cursor = Some(form.cursor.clone()).filter(|c| !c.is_empty());
    let t = v.t();
    let (rows, next_cursor, errors, status) = match v
        .core()
        .list_contacts(v.actor(), search_query(&form.q, cursor))
        .await
    {
        Ok(page) => (
            page.items.into_iter().map(ContactRow::from).collect(),
            page.next_cursor,
            FormErrors::default(),
            StatusCode::OK,
        ),
        Err(CoreError::Validation(field_errors)) => {
            // Whatever the field (email, phone or name), the message belongs to the one box.
            let mut errors = FormErrors::default();
            for e in &field_errors {
                errors.add("q", super::support::field_message(&t, e));
            }
            (Vec::new(), None, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return Err(v.fail(e)),
    };
    let page = ListPage {
        views: None,
        t,
        chrome: v.chrome(NAV),
        rows,
        deleted: false,
        q: form.q,
        searching: true,
        errors,
        next_href: None,
        paged: false,
        next_cursor,
        dnc: String::new(),
    };
    Ok(render(status, &page))
}

pub(crate) async fn search_get() -> Redirect {
    Redirect::to("/contacts")
}

// ---------------------------------------------------------------------------------------------
// Detail
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "contacts/detail.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    c: ContactView,
    id: String,
    company: Option<CompanyLink>,
    created: String,
    updated: String,
    deleted_at: Option<String>,
    timeline_block: Option<Timeline>,
    tasks: super::tasks::RecordTasks,
    purchases: Option<super::orders::PurchaseSection>,
    interests: Option<super::orders::InterestSection>,
    shown: Vec<super::custom_fields::ShownValue>,
    /// Preferences, surveys and complaints (live contacts only).
    feedback: Option<super::feedback::ContactFeedback>,
    /// The contact details are shown masked and may be revealed (after step-up).
    masked_details: bool,
}

pub(crate) struct CompanyLink {
    id: String,
    name: String,
    deleted: bool,
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
    detail_page(
        &v,
        StatusCode::OK,
        ContactId(id),
        query.timeline,
        super::feedback::Returned::Nothing,
    )
    .await
}

/// The contact page; `returned` is a preferences or survey form that came back refused and
/// is shown again in its section.
pub(crate) async fn detail_page(
    v: &Viewer,
    status: StatusCode,
    id: ContactId,
    timeline_cursor: Option<String>,
    returned: super::feedback::Returned,
) -> Result<Response, UiError> {
    detail_page_revealing(v, status, id, timeline_cursor, returned, None).await
}

/// The contact page, with masked details shown in full when they were just revealed.
async fn detail_page_revealing(
    v: &Viewer,
    status: StatusCode,
    id: ContactId,
    timeline_cursor: Option<String>,
    returned: super::feedback::Returned,
    revealed: Option<custodian_core::contact_access::RevealedDetails>,
) -> Result<Response, UiError> {
    let mut c = v.core().get_contact(v.actor(), id).await.ui(v)?;
    let masked = c.field_groups.get("contact_details")
        == Some(&custodian_core::authz::fields::GroupAccess::Masked);
    if let Some(r) = revealed {
        c.emails = r.emails;
        c.phones = r.phones;
        c.address = r.address;
    }
    let id = id.as_uuid();
    let timeline_block = match c.deleted_at {
        None => Some(timeline(v, RecordKind::Contact, id, timeline_cursor).await?),
        Some(_) => None,
    };
    let company = match c.company_id {
        Some(cid) => match v.core().get_company(v.actor(), cid).await {
            Ok(company) => Some(CompanyLink {
                id: company.id.to_string(),
                name: company.name,
                deleted: company.deleted_at.is_some(),
            }),
            Err(CoreError::NotFound { .. }) => None,
            Err(e) => return Err(v.fail(e)),
        },
        None => None,
    };
    let tasks =
        super::tasks::record_tasks(v, custodian_core::links::RecordKind::Contact, id).await?;
    let reads = |group: &str| {
        c.field_groups.get(group) == Some(&custodian_core::authz::fields::GroupAccess::Full)
    };
    let feedback_readable = reads("preferences_feedback");
    let purchases = super::orders::purchase_section(
        v,
        custodian_core::orders::CustomerRef::Contact(c.id),
        reads("purchase_history"),
    )
    .await?;
    let interests_editable = feedback_readable
        && c.deleted_at.is_none()
        && v.core()
            .may_write_contact_group(
                v.actor(),
                Some(c.id),
                custodian_core::authz::FieldGroup::PreferencesFeedback,
            )
            .await
            .ui(v)?;
    let interests =
        super::orders::interest_section(v, c.id, feedback_readable, interests_editable).await?;
    let fields = super::custom_fields::active_fields(v, "contact").await?;
    let shown = super::custom_fields::shown(&v.t(), &fields, c.custom_fields.as_ref());
    let feedback = match c.deleted_at {
        None if feedback_readable => {
            Some(super::feedback::contact_feedback(v, c.id, returned).await?)
        }
        _ => None,
    };
    let page = DetailPage {
        t: v.t(),
        chrome: v.chrome(NAV),
        shown,
        id: c.id.to_string(),
        feedback,
        purchases,
        interests,
        company,
        tasks,
        created: format_time(c.created_at),
        updated: format_time(c.updated_at),
        deleted_at: c.deleted_at.map(format_time),
        timeline_block,
        masked_details: masked,
        c,
    };
    Ok(render(status, &page))
}

/// Shows the contact's masked details in full (an audited reveal; asks for a step-up first
/// when the session's last confirmation is too old).
pub(crate) async fn reveal(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<super::session::CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = ContactId(super::session::csrf_checked_id(&v, &raw, form)?);
    match v.core().reveal_contact_details(v.actor(), id).await {
        Ok(details) => {
            detail_page_revealing(
                &v,
                StatusCode::OK,
                id,
                None,
                super::feedback::Returned::Nothing,
                Some(details),
            )
            .await
        }
        Err(e) => super::account::or_reauth_to(&v, e, &format!("/contacts/{id}")).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Create and edit
// ---------------------------------------------------------------------------------------------

/// The contact form as submitted: multi-value fields are one text each.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContactForm {
    #[serde(rename = "_csrf")]
    pub(crate) csrf: String,
    pub(crate) name: String,
    pub(crate) emails: String,
    pub(crate) phones: String,
    pub(crate) job_title: String,
    pub(crate) company_id: String,
    pub(crate) address: String,
    pub(crate) notes: String,
    pub(crate) team: String,
    pub(crate) tags: String,
    pub(crate) version: String,
    /// Custom field values (`cf.<key>`, `cfb.<key>`).
    #[serde(flatten)]
    pub(crate) custom: super::custom_fields::RawCustom,
}

impl fmt::Debug for ContactForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContactForm { .. }")
    }
}

impl ContactForm {
    fn from_view(c: &ContactView) -> Self {
        Self {
            csrf: String::new(),
            name: c.name.clone(),
            emails: join_list(&c.emails),
            phones: join_list(&c.phones),
            job_title: c.job_title.clone().unwrap_or_default(),
            company_id: c.company_id.map(|id| id.to_string()).unwrap_or_default(),
            address: c.address.clone().unwrap_or_default(),
            notes: c.notes.clone().unwrap_or_default(),
            team: c.team.clone().unwrap_or_default(),
            tags: join_list(&c.tags),
            version: c.version.to_string(),
            custom: super::custom_fields::raw_from_values(c.custom_fields.as_ref()),
        }
    }

    fn company(&self) -> Result<Option<Uuid>, FieldError> {
        let raw = self.company_id.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        Uuid::parse_str(raw).map(Some).map_err(|_| {
            FieldError::new(
                "company_id",
                "invalid_choice",
                "choose a company from the list",
            )
        })
    }

    pub(crate) fn to_input(&self) -> Result<ContactInput, FieldError> {
        Ok(ContactInput {
            name: normalize_newlines(&self.name),
            emails: split_list(&self.emails),
            phones: split_list(&self.phones),
            job_title: optional(&self.job_title),
            company_id: self.company()?,
            address: optional(&self.address),
            notes: optional(&self.notes),
            owner_id: None,
            team: optional(&self.team),
            region: None,
            sensitivity: None,
            tags: split_list(&self.tags),
            custom_fields: super::custom_fields::values_from_form(&self.custom),
        })
    }

    pub(crate) fn to_patch(&self) -> Result<ContactPatch, FieldError> {
        let version = self.version.trim().parse::<i64>().map_err(|_| {
            FieldError::new("version", "invalid_version", "the form is out of date")
        })?;
        let input = self.to_input()?;
        Ok(ContactPatch {
            version,
            name: Some(input.name),
            emails: Some(input.emails),
            phones: Some(input.phones),
            job_title: Some(input.job_title),
            company_id: Some(input.company_id),
            address: Some(input.address),
            notes: Some(input.notes),
            owner_id: None,
            team: Some(input.team),
            region: None,
            sensitivity: None,
            tags: Some(input.tags),
            custom_fields: Some(input.custom_fields),
        })
    }
}

#[derive(Template)]
#[template(path = "contacts/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    cancel_href: String,
    form: ContactForm,
    editing: bool,
    companies: Vec<SelectOption>,
    custom: Vec<super::custom_fields::CustomInput>,
    errors: FormErrors,
    /// Set when the save was refused because someone else changed the contact.
    stale: bool,
}

/// The company `<select>`: the first 200 live companies by name, plus the selected one if it
/// is not among them.
pub(crate) async fn company_options(
    v: &Viewer,
    selected: &str,
) -> Result<Vec<SelectOption>, UiError> {
    let page = v
        .core()
        .list_companies(
            v.actor(),
            CompanyQuery {
                sort: CompanySort::NameAsc,
                limit: Some(200),
                ..CompanyQuery::default()
            },
        )
        .await
        .ui(v)?;
    let mut options: Vec<SelectOption> = page
        .items
        .into_iter()
        .map(|c| {
            let value = c.id.to_string();
            SelectOption {
                selected: value == selected,
                value,
                label: c.name,
            }
        })
        .collect();
    if !selected.is_empty()
        && !options.iter().any(|o| o.selected)
        && let Ok(id) = Uuid::parse_str(selected)
        && let Ok(c) = v.core().get_company(v.actor(), CompanyId(id)).await
    {
        let label = if c.deleted_at.is_some() {
            format!("{} {}", c.name, v.t().t("companies.deleted_suffix"))
        } else {
            c.name
        };
        options.insert(
            0,
            SelectOption {
                value: c.id.to_string(),
                label,
                selected: true,
            },
        );
    }
    Ok(options)
}

async fn form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    form: ContactForm,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    let companies = company_options(v, form.company_id.trim()).await?;
    let mut fields = super::custom_fields::active_fields(v, "contact").await?;
    // Sensitive custom fields only for those who may change them: sending one would be
    // refused by name, and the value is withheld from them anyway.
    let contact_id = id.and_then(|raw| parse_id(raw).ok()).map(ContactId);
    let sensitive = v
        .core()
        .may_write_contact_group(
            v.actor(),
            contact_id,
            custodian_core::authz::FieldGroup::SensitiveCustom,
        )
        .await
        .ui(v)?;
    if !sensitive {
        fields.retain(|f| f.classification != "sensitive");
    }
    let custom = super::custom_fields::inputs(&v.t(), &fields, &form.custom, &errors);
    let page = FormPage {
        t: v.t(),
        custom,
        chrome: v.chrome(NAV),
        title_key: if id.is_some() {
            "contacts.edit_title"
        } else {
            "contacts.new_title"
        },
        action: id.map_or_else(|| "/contacts".to_owned(), |id| format!("/contacts/{id}")),
        cancel_href: id.map_or_else(|| "/contacts".to_owned(), |id| format!("/contacts/{id}")),
        form,
        editing: id.is_some(),
        companies,
        errors,
        stale,
    };
    Ok(render(status, &page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewParams {
    company_id: Option<String>,
}

pub(crate) async fn new_form(
    v: Viewer,
    params: Result<Query<NewParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let company_id = params
        .ok()
        .and_then(|Query(p)| p.company_id)
        .filter(|c| Uuid::parse_str(c).is_ok())
        .unwrap_or_default();
    let form = ContactForm {
        company_id,
        ..ContactForm::default()
    };
    form_page(&v, StatusCode::OK, None, form, FormErrors::default(), false).await
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<ContactForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let t = v.t();
    let input = match form.to_input() {
        Ok(input) => input,
        Err(e) => {
            let errors = FormErrors::from_fields(&t, &[e], FORM_FIELDS);
            return form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            )
            .await;
        }
    };
    match v.core().create_contact(v.actor(), input).await {
        Ok(c) => Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = super::custom_fields::form_errors(&t, &field_errors, FORM_FIELDS);
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
        .get_contact(v.actor(), ContactId(id))
        .await
        .ui(&v)?;
    if c.deleted_at.is_some() {
        return Err(v
            .fail(CoreError::Conflict(
                "the contact is deleted; restore it before editing",
            ))
            .with_message_key("contacts.deleted_cannot_edit"));
    }
    let id = c.id.to_string();
    let form = ContactForm::from_view(&c);
    form_page(
        &v,
        StatusCode::OK,
        Some(&id),
        form,
        FormErrors::default(),
        false,
    )
    .await
}

pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ContactForm>, FormRejection>,
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
        .update_contact(v.actor(), ContactId(id), patch)
        .await
    {
        Ok(c) => Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response()),
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
            Err(v.fail(e).with_message_key("contacts.deleted_cannot_edit"))
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
        .delete_contact(v.actor(), ContactId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to("/contacts").into_response())
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
        .restore_contact(v.actor(), ContactId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response())
}
