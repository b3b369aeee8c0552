//! Import (CSV upload) and export (CSV or JSON download) of CRM records.

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use custodian_core::CoreError;
use custodian_core::exports::{Export, ExportFilters, ExportRequest};
use custodian_core::imports::{DuplicatePolicy, ImportOptions, ImportReport, MAX_IMPORT_BYTES};
use custodian_core::tabular::TextEncoding;
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The request body limit of an import: the file plus room for the other form fields.
pub const IMPORT_BODY_BYTES: usize = MAX_IMPORT_BYTES + 64 * 1024;

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "The upload is too large; files of up to {} MiB can be imported. Split the file.",
            MAX_IMPORT_BYTES / (1024 * 1024)
        ),
    )
}

fn bad_form(message: &'static str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_upload", message)
}

/// An import request as posted: the file and the options, from a multipart form.
#[derive(Default)]
pub(crate) struct ImportUpload {
    pub(crate) file: Option<Bytes>,
    pub(crate) options: ImportOptions,
    /// The UI's CSRF token (the API uses the header).
    pub(crate) csrf: String,
}

impl std::fmt::Debug for ImportUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImportUpload { .. }")
    }
}

fn flag(raw: &str) -> Result<bool, ApiError> {
    match raw.trim() {
        "" | "false" | "0" | "off" | "no" => Ok(false),
        "true" | "1" | "on" | "yes" => Ok(true),
        _ => Err(bad_form("`dry_run` must be true or false.")),
    }
}

/// Reads the multipart form: `file`, and optionally `dry_run`, `on_duplicate`, `encoding`,
/// `mapping` (a JSON object of header → field) and `_csrf`.
pub(crate) async fn read_upload(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<ImportUpload, ApiError> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Upload the file as multipart/form-data with a part named `file`.",
        )
    })?;
    let mut upload = ImportUpload::default();
    let mut mapping_errors = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(bad_form("The upload could not be read; send it again.")),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(bad_form("The upload could not be read; send it again.")),
        };
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "file" => upload.file = Some(bytes),
            "dry_run" => upload.options.dry_run = flag(&text())?,
            "on_duplicate" => {
                upload.options.on_duplicate =
                    DuplicatePolicy::parse(&text()).map_err(CoreError::from)?;
            }
            "encoding" => {
                upload.options.encoding = TextEncoding::parse(&text()).map_err(CoreError::from)?;
            }
            "mapping" if !text().trim().is_empty() => {
                match serde_json::from_slice::<BTreeMap<String, String>>(&bytes) {
                    Ok(m) => upload.options.mapping = Some(m),
                    Err(_) => mapping_errors.push(custodian_domain::FieldError::new(
                        "mapping",
                        "invalid_mapping",
                        "must be a JSON object of column header → field name",
                    )),
                }
            }
            "mapping" => {}
            "_csrf" => upload.csrf = text(),
            _ => return Err(bad_form("The upload has a part this import does not know.")),
        }
    }
    if !mapping_errors.is_empty() {
        return Err(CoreError::Validation(mapping_errors).into());
    }
    Ok(upload)
}

/// Multipart form of an import (documentation only; the handler reads it part by part).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
struct ImportForm {
    /// The CSV file (UTF-8 with or without BOM, or GB18030).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
    /// `true` to validate and report without writing.
    dry_run: Option<bool>,
    /// skip (default), merge or create.
    on_duplicate: Option<String>,
    /// auto (default), utf-8 or gb18030.
    encoding: Option<String>,
    /// JSON object: column header → name, first_name, last_name, emails, phones, job_title,
    /// company, address, notes, team, tags or ignore.
    mapping: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/imports/contacts", tag = "transfer",
    request_body(content = inline(ImportForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Imported (or, for a dry run, what would be)", body = ImportReport),
        (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 413, description = "Larger than 32 MiB", body = ApiError),
        (status = 415, body = ApiError),
        (status = 422, description = "`validation_failed` (file, encoding or mapping), or `import_invalid` with the report of every bad row; nothing was imported", body = ApiError)))]
pub async fn import_contacts(
    State(state): State<AppState>,
    auth: Authenticated,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ImportReport>> {
    let upload = read_upload(multipart).await?;
    let Some(file) = upload.file else {
        return Err(bad_form("Attach the CSV file as the part named `file`."));
    };
    Ok(Json(
        state
            .core
            .import_contacts(&auth.actor, &file, upload.options)
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// csv (default) or json
    format: Option<String>,
    owner_id: Option<Uuid>,
    /// contacts and deals
    company_id: Option<Uuid>,
    /// contacts and companies
    tag: Option<String>,
    /// deals
    pipeline_id: Option<Uuid>,
    /// deals: open, won or lost
    status: Option<String>,
}

/// Streams an export as a download.
pub(crate) fn download(export: Export) -> Response {
    let content_type = export.content_type();
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    let stream = futures_util::stream::unfold(Some(export), |state| async move {
        let mut export = state?;
        match export.next_chunk().await {
            Ok(Some(bytes)) => Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), Some(export))),
            Ok(None) => None,
            Err(e) => {
                // The status line is gone by now: end the body early so the download fails
                // visibly instead of looking complete.
                tracing::error!(error = %e, "export failed part-way");
                Some((Err(std::io::Error::other("export failed")), None))
            }
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub(crate) fn export_request(kind: &str, p: ExportParams) -> Result<ExportRequest, ApiError> {
    let filters = ExportFilters {
        owner_id: p.owner_id,
        company_id: p.company_id,
        tag: p.tag,
        pipeline_id: p.pipeline_id,
        status: p.status,
    };
    Ok(ExportRequest::parse(
        kind,
        p.format.as_deref().unwrap_or(""),
        filters,
    )?)
}

#[utoipa::path(get, path = "/api/v1/exports/{kind}", tag = "transfer",
    params(("kind" = String, Path, description = "contacts, companies or deals"), ExportParams),
    responses(
        (status = 200, description = "The file, streamed (CSV cells that would start a formula are prefixed with `'`)", content_type = "text/csv"),
        (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 409, description = "`export_approval_required`: more records than the bulk threshold; request approval at /api/v1/export-requests", body = ApiError),
        (status = 422, body = ApiError)))]
pub async fn export(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let request = export_request(&kind, p)?;
    Ok(download(state.core.export(&auth.actor, request).await?))
}
