//! Export requests (`/exports`): an export over the bulk threshold lands on a form asking for
//! a reason; the requester follows their requests there and downloads an approved one once;
//! privacy officers (whoever may `approve_export`) approve or reject other
//! people's requests on the same page.

use super::account::or_reauth_to;
use super::support::{
    Chrome, FormErrors, UiError, UiResultExt, Viewer, bad_request, encode_query_value, format_time,
    parse_id, render,
};
use crate::api::transfer::download;
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::export_requests::{
    Decision, ExportRequestQuery, ExportRequestView, NewExportRequest, RequestScope,
};
use custodian_core::exports::{ExportFilters, ExportRequest};
use custodian_domain::FieldError;
use serde::Deserialize;

const NAV: &str = "exports";
const PATH: &str = "/exports";
/// The fields of the request form that errors attach to.
const FORM_FIELDS: &[&str] = &["reason"];

struct Row {
    id: String,
    kind_key: String,
    format: String,
    filters: String,
    estimated_rows: u64,
    reason: String,
    status: String,
    status_key: String,
    requester: String,
    requested_at: String,
    decider: String,
    decided_at: String,
    note: String,
    download_until: String,
    exported_rows: Option<u64>,
    can_withdraw: bool,
    can_download: bool,
}

fn filter_summary(f: &ExportFilters) -> String {
    let mut parts = Vec::new();
    if let Some(tag) = &f.tag {
        parts.push(format!("tag={tag}"));
    }
    if let Some(status) = &f.status {
        parts.push(format!("status={status}"));
    }
    if let Some(id) = f.owner_id {
        parts.push(format!("owner_id={id}"));
    }
    if let Some(id) = f.company_id {
        parts.push(format!("company_id={id}"));
    }
    if let Some(id) = f.pipeline_id {
        parts.push(format!("pipeline_id={id}"));
    }
    parts.join(", ")
}

fn row(v: ExportRequestView) -> Row {
    Row {
        id: v.id.to_string(),
        kind_key: format!("exports.kind_{}", v.kind),
        format: v.format.to_uppercase(),
        filters: filter_summary(&v.filters),
        estimated_rows: v.estimated_rows,
        reason: v.reason,
        status_key: format!("exports.status_{}", v.status),
        status: v.status,
        requester: v.requester,
        requested_at: format_time(v.requested_at),
        decider: v.decider.unwrap_or_default(),
        decided_at: v.decided_at.map(format_time).unwrap_or_default(),
        note: v.decision_note.unwrap_or_default(),
        download_until: v.download_until.map(format_time).unwrap_or_default(),
        exported_rows: v.exported_rows,
        can_withdraw: v.can_withdraw,
        can_download: v.can_download,
    }
}

#[derive(Template)]
#[template(path = "exports/page.html")]
struct Page<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    notice: Option<&'static str>,
    threshold: Option<u64>,
    approver: bool,
    awaiting: Vec<Row>,
    mine: Vec<Row>,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PageQuery {
    cursor: Option<String>,
    notice: Option<String>,
}

/// The notices a redirect may ask the page to show.
const NOTICES: &[&str] = &[
    "exports.requested",
    "exports.approved",
    "exports.rejected",
    "exports.withdrawn",
];

/// `/exports`: requests awaiting the viewer's decision, then the viewer's own.
pub(crate) async fn show(
    v: Viewer,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(query)) = query else {
        return Err(v.fail(bad_request()));
    };
    let core = v.core();
    let approver = core.may_approve_exports(v.actor());
    let awaiting = if approver {
        core.list_export_requests(
            v.actor(),
            ExportRequestQuery {
                scope: RequestScope::Approvals,
                status: Some("pending".to_owned()),
                ..ExportRequestQuery::default()
            },
        )
        .await
        .ui(&v)?
        .items
        .into_iter()
        .filter(|r| r.can_decide)
        .map(row)
        .collect()
    } else {
        Vec::new()
    };
    let mine = core
        .list_export_requests(
            v.actor(),
            ExportRequestQuery {
                scope: RequestScope::Mine,
                cursor: query.cursor,
                ..ExportRequestQuery::default()
            },
        )
        .await
        .ui(&v)?;
    let notice = query
        .notice
        .as_deref()
        .and_then(|n| NOTICES.iter().find(|k| **k == n).copied());
    let p = Page {
        t: v.t(),
        chrome: v.chrome(NAV),
        notice,
        threshold: core.settings().export_approval_above_rows,
        approver,
        awaiting,
        mine: mine.items.into_iter().map(row).collect(),
        next: mine.next_cursor,
    };
    Ok(render(StatusCode::OK, &p))
}

/// The request form's fields; the filters come along as hidden fields.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RequestForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    format: String,
    owner_id: String,
    company_id: String,
    tag: String,
    pipeline_id: String,
    status: String,
    reason: String,
}

impl std::fmt::Debug for RequestForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestForm { .. }")
    }
}

#[derive(Template)]
#[template(path = "exports/new.html")]
struct NewPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    errors: FormErrors,
    threshold: Option<u64>,
    kind_key: String,
    /// Hidden fields: kind, format and the filters.
    hidden: Vec<(&'static str, String)>,
    filters: String,
    reason: String,
}

fn optional_id(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<uuid::Uuid> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    uuid::Uuid::parse_str(raw)
        .map_err(|_| errors.push(FieldError::new(field, "invalid_id", "must be an id")))
        .ok()
}

fn text(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

impl RequestForm {
    fn export(&self) -> Result<ExportRequest, CoreError> {
        let mut errors = Vec::new();
        let filters = ExportFilters {
            owner_id: optional_id("owner_id", &self.owner_id, &mut errors),
            company_id: optional_id("company_id", &self.company_id, &mut errors),
            tag: text(&self.tag),
            pipeline_id: optional_id("pipeline_id", &self.pipeline_id, &mut errors),
            status: text(&self.status),
        };
        let parsed = ExportRequest::parse(&self.kind, &self.format, filters);
        match parsed {
            Ok(export) if errors.is_empty() => Ok(export),
            Ok(_) => Err(CoreError::Validation(errors)),
            Err(CoreError::Validation(more)) => {
                errors.extend(more);
                Err(CoreError::Validation(errors))
            }
            Err(other) => Err(other),
        }
    }
}

fn new_page(
    v: &Viewer,
    status: StatusCode,
    export: &ExportRequest,
    reason: String,
    errors: FormErrors,
) -> Response {
    let f = &export.filters;
    let id = |i: Option<uuid::Uuid>| i.map(|i| i.to_string()).unwrap_or_default();
    let hidden = vec![
        ("kind", export.kind.name().to_owned()),
        ("format", export.format.name().to_owned()),
        ("owner_id", id(f.owner_id)),
        ("company_id", id(f.company_id)),
        ("tag", f.tag.clone().unwrap_or_default()),
        ("pipeline_id", id(f.pipeline_id)),
        ("status", f.status.clone().unwrap_or_default()),
    ];
    let p = NewPage {
        t: v.t(),
        chrome: v.chrome(NAV),
        errors,
        threshold: v.core().settings().export_approval_above_rows,
        kind_key: format!("exports.kind_{}", export.kind.name()),
        hidden,
        filters: filter_summary(f),
        reason,
    };
    render(status, &p)
}

/// `/exports/new?kind=…&format=…&<filters>`: the request form, where an export over the
/// threshold sends its user.
pub(crate) async fn new_form(
    v: Viewer,
    query: Result<Query<RequestForm>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(form)) = query else {
        return Err(v.fail(bad_request()));
    };
    let export = form.export().ui(&v)?;
    Ok(new_page(
        &v,
        StatusCode::OK,
        &export,
        String::new(),
        FormErrors::default(),
    ))
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<RequestForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let export = form.export().ui(&v)?;
    let request = NewExportRequest {
        export: export.clone(),
        reason: form.reason.clone(),
    };
    match v.core().request_export(v.actor(), request).await {
        Ok(_) => Ok(Redirect::to("/exports?notice=exports.requested").into_response()),
        Err(CoreError::Validation(errors)) => {
            let errors = FormErrors::from_fields(&v.t(), &errors, FORM_FIELDS);
            Ok(new_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                &export,
                form.reason,
                errors,
            ))
        }
        Err(e) => Err(v.fail(e)),
    }
}

/// Where the UI's export link goes when the export needs approval: the request form with the
/// same kind, format and filters.
pub(crate) fn request_form_url(export: &ExportRequest) -> String {
    let f = &export.filters;
    let mut url = format!(
        "/exports/new?kind={}&format={}",
        export.kind.name(),
        export.format.name()
    );
    let ids = [
        ("owner_id", f.owner_id),
        ("company_id", f.company_id),
        ("pipeline_id", f.pipeline_id),
    ];
    for (name, id) in ids {
        if let Some(id) = id {
            url.push_str(&format!("&{name}={id}"));
        }
    }
    for (name, value) in [("tag", &f.tag), ("status", &f.status)] {
        if let Some(value) = value {
            url.push_str(&format!("&{name}={}", encode_query_value(value)));
        }
    }
    url
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct DecideForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    note: String,
}

impl std::fmt::Debug for DecideForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecideForm { .. }")
    }
}

/// `POST /exports/{id}/{approve|reject|withdraw}`.
pub(crate) async fn decide(
    v: Viewer,
    Path((raw_id, action)): Path<(String, String)>,
    form: Result<Form<DecideForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw_id).map_err(|e| v.fail(e))?;
    let core = v.core();
    let outcome = match action.as_str() {
        "approve" => core
            .decide_export_request(v.actor(), id, Decision::Approve, &form.note)
            .await
            .map(|_| "exports.approved"),
        "reject" => core
            .decide_export_request(v.actor(), id, Decision::Reject, &form.note)
            .await
            .map(|_| "exports.rejected"),
        "withdraw" => core
            .withdraw_export_request(v.actor(), id)
            .await
            .map(|_| "exports.withdrawn"),
        _ => return Err(v.fail(crate::error::ApiError::not_found())),
    };
    match outcome {
        Ok(notice) => Ok(Redirect::to(&format!("{PATH}?notice={notice}")).into_response()),
        Err(e) => or_reauth_to(&v, e, PATH).await,
    }
}

/// `/exports/{id}/download`: the one download of an approved request.
pub(crate) async fn download_file(
    v: Viewer,
    Path(raw_id): Path<String>,
) -> Result<Response, UiError> {
    let id = parse_id(&raw_id).map_err(|e| v.fail(e))?;
    let export = v
        .core()
        .download_approved_export(v.actor(), id)
        .await
        .ui(&v)?;
    Ok(download(export))
}
