//! The import page (upload, optional column mapping, dry run, report with every bad line) and
//! the export downloads behind the list pages' buttons. The uploaded file is personal data: it
//! is read into memory for the request only, never stored or logged.

use super::support::{Chrome, UiError, Viewer, bad_request, render};
use crate::api::transfer::{ExportParams, download, export_request, read_upload};
use crate::error::ApiError;
use crate::i18n::Tr;
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::custom_fields::CustomFieldView;
use custodian_core::imports::{DuplicatePolicy, ImportReport};
use custodian_domain::FieldError;

/// The contact fields a column can be mapped to, in the order the mapping table offers them.
const FIELDS: &[&str] = &[
    "name",
    "first_name",
    "last_name",
    "emails",
    "phones",
    "job_title",
    "company",
    "address",
    "notes",
    "team",
    "tags",
];

pub(crate) struct FieldChoice {
    pub(crate) value: String,
    pub(crate) label: String,
}

pub(crate) struct ReportRow {
    pub(crate) line: u64,
    pub(crate) column: String,
    pub(crate) message: String,
}

pub(crate) struct DuplicateLine {
    pub(crate) line: u64,
    pub(crate) existing: Option<String>,
    pub(crate) same_as_line: Option<u64>,
}

pub(crate) struct ReportView {
    pub(crate) summary: String,
    pub(crate) dry_run: bool,
    pub(crate) refused: bool,
    pub(crate) columns: Vec<(String, String)>,
    pub(crate) errors: Vec<ReportRow>,
    pub(crate) error_count: u64,
    pub(crate) more_errors: bool,
    pub(crate) duplicates: Vec<DuplicateLine>,
    pub(crate) duplicate_count: u64,
}

#[derive(Template)]
#[template(path = "contacts/import.html")]
struct ImportPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    fields: Vec<FieldChoice>,
    policies: Vec<(&'static str, String, bool)>,
    dry_run: bool,
    file_errors: Vec<String>,
    report: Option<ReportView>,
}

/// A field's name as the mapping table shows it; custom fields (`cf.<key>`) by their label.
fn field_label(t: &Tr<'_>, custom: &[CustomFieldView], code: &str) -> String {
    match code.strip_prefix("cf.") {
        Some(key) => custom
            .iter()
            .find(|f| f.key == key)
            .map_or_else(|| code.to_owned(), |f| f.label(t.lang()).to_owned()),
        None => t.t(&format!("import.field.{code}")).to_owned(),
    }
}

fn policy_code(p: DuplicatePolicy) -> &'static str {
    match p {
        DuplicatePolicy::Skip => "skip",
        DuplicatePolicy::Merge => "merge",
        DuplicatePolicy::Create => "create",
    }
}

fn summary(t: &Tr<'_>, r: &ImportReport, refused: bool) -> String {
    let key = match (refused, r.dry_run) {
        (true, _) => "import.summary_refused",
        (false, true) => "import.summary_dry",
        (false, false) => "import.summary_done",
    };
    t.t(key)
        .replace("{rows}", &r.rows.to_string())
        .replace("{created}", &r.created.to_string())
        .replace("{merged}", &r.merged.to_string())
        .replace("{skipped}", &r.skipped.to_string())
        .replace("{companies}", &r.companies_created.to_string())
        .replace("{errors}", &r.error_count.to_string())
}

fn report_view(
    t: &Tr<'_>,
    custom: &[CustomFieldView],
    r: ImportReport,
    refused: bool,
) -> ReportView {
    ReportView {
        summary: summary(t, &r, refused),
        dry_run: r.dry_run,
        refused,
        columns: r
            .columns
            .iter()
            .map(|c| {
                (
                    c.header.clone(),
                    c.field.as_deref().map_or_else(
                        || t.t("import.ignored").to_owned(),
                        |f| field_label(t, custom, f),
                    ),
                )
            })
            .collect(),
        more_errors: r.error_count > r.errors.len() as u64,
        error_count: r.error_count,
        errors: r
            .errors
            .into_iter()
            .map(|e| ReportRow {
                line: e.line,
                column: e.column.unwrap_or_default(),
                message: super::support::field_message(
                    t,
                    &FieldError::new(String::new(), e.code, e.message),
                ),
            })
            .collect(),
        duplicate_count: r.duplicate_count,
        duplicates: r
            .duplicates
            .into_iter()
            .map(|d| DuplicateLine {
                line: d.line,
                existing: d.existing_contact_id.map(|id| id.to_string()),
                same_as_line: d.same_as_line,
            })
            .collect(),
    }
}

fn page(
    v: &Viewer,
    custom: &[CustomFieldView],
    status: StatusCode,
    policy: &'static str,
    dry_run: bool,
    file_errors: Vec<String>,
    report: Option<ReportView>,
) -> Response {
    let t = v.t();
    let page = ImportPage {
        // The built-in fields, then the active custom fields by the column name exports use.
        fields: FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .chain(custom.iter().map(|f| format!("cf.{}", f.key)))
            .map(|value| FieldChoice {
                label: field_label(&t, custom, &value),
                value,
            })
            .collect(),
        policies: ["skip", "merge", "create"]
            .into_iter()
            .map(|p| (p, t.t(&format!("import.dup.{p}")).to_owned(), p == policy))
            .collect(),
        dry_run,
        file_errors,
        report,
        t,
        chrome: v.chrome("contacts"),
    };
    render(status, &page)
}

pub(crate) async fn import_form(v: Viewer) -> Result<Response, UiError> {
    let custom = super::custom_fields::active_fields(&v, "contact").await?;
    Ok(page(
        &v,
        &custom,
        StatusCode::OK,
        "skip",
        true,
        Vec::new(),
        None,
    ))
}

pub(crate) async fn import(
    v: Viewer,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, UiError> {
    let t = v.t();
    let custom = super::custom_fields::active_fields(&v, "contact").await?;
    let upload = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(e) if e.code == "payload_too_large" => {
            return Ok(page(
                &v,
                &custom,
                StatusCode::PAYLOAD_TOO_LARGE,
                "skip",
                true,
                vec![t.t("import.too_large").to_owned()],
                None,
            ));
        }
        Err(e) => return Err(v.fail(e)),
    };
    v.check_csrf(&upload.csrf)?;
    let policy = policy_code(upload.options.on_duplicate);
    let dry_run = upload.options.dry_run;
    let Some(file) = upload.file.filter(|f| !f.is_empty()) else {
        return Ok(page(
            &v,
            &custom,
            StatusCode::UNPROCESSABLE_ENTITY,
            policy,
            dry_run,
            vec![t.t("import.choose_file").to_owned()],
            None,
        ));
    };
    match v
        .core()
        .import_contacts(v.actor(), &file, upload.options)
        .await
    {
        Ok(report) => Ok(page(
            &v,
            &custom,
            StatusCode::OK,
            policy,
            dry_run,
            Vec::new(),
            Some(report_view(&t, &custom, report, false)),
        )),
        Err(CoreError::ImportInvalid(report)) => Ok(page(
            &v,
            &custom,
            StatusCode::UNPROCESSABLE_ENTITY,
            policy,
            dry_run,
            Vec::new(),
            Some(report_view(&t, &custom, *report, true)),
        )),
        Err(CoreError::Validation(errors)) => {
            let messages = errors
                .iter()
                .map(|e| super::support::field_message(&t, e))
                .collect();
            Ok(page(
                &v,
                &custom,
                StatusCode::UNPROCESSABLE_ENTITY,
                policy,
                dry_run,
                messages,
                None,
            ))
        }
        Err(e) => Err(v.fail(e)),
    }
}

/// `/export/{kind}?format=csv|json&…`: the same export as the API, for the signed-in user.
pub(crate) async fn export(
    v: Viewer,
    Path(kind): Path<String>,
    query: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(params)) = query else {
        return Err(v.fail(bad_request()));
    };
    let request = export_request(&kind, params).map_err(|e: ApiError| v.fail(e))?;
    match v.core().export(v.actor(), request.clone()).await {
        Ok(export) => Ok(download(export)),
        // Too large to take without a second person's approval: ask for it.
        Err(CoreError::ExportApprovalRequired { .. }) => {
            Ok(Redirect::to(&super::exports::request_form_url(&request)).into_response())
        }
        Err(e) => Err(v.fail(e)),
    }
}
