//! Exports of contacts, companies and deals as CSV or JSON, streamed page by page so an export
//! of a million contacts never sits in memory. Every export goes through [`Core::export`]: the
//! one place where permission checks and the audit record of an export belong.
//!
//! CSV cells that a spreadsheet would run as a formula are prefixed with `'`
//! ([`tabular::guard_cell`]). Lists (e-mails, phones, tags) are joined with `"; "`.
//!
//! Custom fields: one column per active (not archived) field of the kind, headed `cf.<key>`
//! after the built-in columns in the fields' display order; in JSON, `custom_fields` holds the
//! same fields. Values are decrypted with the record's own key like its built-in fields
//! (a contact's key for contacts, the organisation key for companies and deals), and CSV cells
//! get the same formula guard.

use crate::custom_fields::CustomValues;
use crate::record_access::AccessRow;
use crate::tabular;
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::FieldError;
use custodian_domain::custom_fields::FieldEntity;
use custodian_store::page::{After, Direction, KeyValue};
use custodian_store::repo::{self, Deleted};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Rows read and written per step.
const PAGE: u64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "" | "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            _ => Err(FieldError::new(
                "format",
                "invalid_format",
                "must be one of: csv, json",
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }

    pub fn name(self) -> &'static str {
        self.extension()
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Contacts,
    Companies,
    Deals,
}

impl ExportKind {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "contacts" => Ok(Self::Contacts),
            "companies" => Ok(Self::Companies),
            "deals" => Ok(Self::Deals),
            _ => Err(FieldError::new(
                "kind",
                "invalid_kind",
                "must be one of: contacts, companies, deals",
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
            Self::Deals => "deals",
        }
    }

    pub fn record_type(self) -> crate::authz::RecordType {
        match self {
            Self::Contacts => crate::authz::RecordType::Contact,
            Self::Companies => crate::authz::RecordType::Company,
            Self::Deals => crate::authz::RecordType::Deal,
        }
    }

    fn entity(self) -> FieldEntity {
        match self {
            Self::Contacts => FieldEntity::Contact,
            Self::Companies => FieldEntity::Company,
            Self::Deals => FieldEntity::Deal,
        }
    }

    fn header(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &[
                "id",
                "name",
                "emails",
                "phones",
                "job_title",
                "company_id",
                "company",
                "address",
                "notes",
                "owner_id",
                "team",
                "tags",
                "created_at",
                "updated_at",
            ],
            Self::Companies => &[
                "id",
                "name",
                "industry",
                "size",
                "region",
                "website",
                "address",
                "owner_id",
                "tags",
                "created_at",
                "updated_at",
            ],
            Self::Deals => &[
                "id",
                "title",
                "pipeline_id",
                "stage_id",
                "status",
                "amount",
                "currency",
                "expected_close_on",
                "owner_id",
                "company_id",
                "contact_id",
                "outcome_reason",
                "closed_at",
                "created_at",
                "updated_at",
            ],
        }
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub kind: ExportKind,
    pub format: ExportFormat,
    pub filters: ExportFilters,
}

impl ExportRequest {
    /// An export from its kind and format as written (an empty format is CSV), every problem
    /// reported at once.
    pub fn parse(kind: &str, format: &str, filters: ExportFilters) -> Result<Self, CoreError> {
        let mut errors = Vec::new();
        let kind = ExportKind::parse(kind).map_err(|e| errors.push(e)).ok();
        let format = ExportFormat::parse(format).map_err(|e| errors.push(e)).ok();
        match (kind, format) {
            (Some(kind), Some(format)) => Ok(Self {
                kind,
                format,
                filters,
            }),
            _ => Err(CoreError::Validation(errors)),
        }
    }
}

/// The list filters an export applies. Filters that do not apply to the kind are ignored.
/// Ids, a tag and a deal status only: nothing personal, so they may be stored with an export
/// request and travel in URLs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFilters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<Uuid>,
    /// Contacts and deals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
    /// Contacts and companies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Deals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<Uuid>,
    /// Deals: open, won or lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// An export in progress: pull chunks of bytes until `None`.
#[derive(Debug)]
pub struct Export {
    core: Core,
    actor: Actor,
    /// Which contacts the exporter may read (the list's condition).
    access: custodian_store::access::AccessCondition,
    /// The condition is wider than the policies: decide each row.
    recheck: bool,
    sensitive_keys: Vec<String>,
    request: ExportRequest,
    after: Option<After>,
    started: bool,
    finished: bool,
    rows: u64,
    /// The active custom fields' keys, read once when the file starts so every row has the
    /// header's columns.
    custom_keys: Vec<String>,
    /// The approved export request this download fulfils; its row count is recorded at the
    /// end.
    approval: Option<Uuid>,
}

impl Export {
    pub fn content_type(&self) -> &'static str {
        self.request.format.content_type()
    }

    /// `custodian-contacts-20260301.csv`.
    pub fn file_name(&self) -> String {
        let now = custodian_domain::clock::from_millis(self.core.now());
        format!(
            "custodian-{}-{:04}{:02}{:02}.{}",
            self.request.kind.name(),
            now.year(),
            u8::from(now.month()),
            now.day(),
            self.request.format.extension()
        )
    }

    /// The export's `data_export` event: what, in which format, under which approval.
    fn audit_event(&self) -> crate::audit::AuditEvent {
        let event = crate::audit::AuditEvent::by(
            &self.actor,
            custodian_domain::audit::AuditCode::DataExport,
        )
        .detail("kind", self.request.kind.name())
        .detail("format", self.request.format.extension());
        match self.approval {
            Some(request) => event
                .target("export_request", request)
                .detail("approval", request.to_string()),
            None => event,
        }
    }

    /// Rows written so far (for the audit record at the end).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// How many records the export holds, counting no further than `cap`. Where the
    /// policies could not all be put in the query this counts what the query admits, an upper
    /// bound of what will be written.
    pub async fn count_up_to(&self, cap: u64) -> Result<u64, CoreError> {
        let conn = self.core.store().scan_conn();
        Ok(match self.request.kind {
            ExportKind::Contacts => {
                repo::contacts::count_up_to(conn, &self.contacts_filter(), cap).await?
            }
            ExportKind::Companies => {
                repo::companies::count_up_to(conn, &self.companies_filter(), cap).await?
            }
            ExportKind::Deals => repo::deals::count_up_to(conn, &self.deals_filter(), cap).await?,
        })
    }

    /// The next piece of the file; `None` once it is complete.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, CoreError> {
        if self.finished {
            return Ok(None);
        }
        let mut out = Vec::new();
        if !self.started {
            // No file leaves before its export is in the audit log.
            self.core
                .audit_now(self.audit_event().detail("phase", "started"))
                .await?;
            self.custom_keys = self
                .core
                .field_set(self.core.store().scan_conn(), self.request.kind.entity())
                .await?
                .active_keys();
            self.started = true;
            match self.request.format {
                ExportFormat::Csv => {
                    // A byte-order mark, so spreadsheets open Chinese text as UTF-8.
                    out.extend_from_slice(b"\xEF\xBB\xBF");
                    let custom: Vec<String> =
                        self.custom_keys.iter().map(|k| format!("cf.{k}")).collect();
                    let header: Vec<&str> = self
                        .request
                        .kind
                        .header()
                        .iter()
                        .copied()
                        .chain(custom.iter().map(String::as_str))
                        .collect();
                    tabular::write_csv_record(&mut out, &header);
                }
                ExportFormat::Json => out.push(b'['),
            }
        }
        let (records, next) = match self.request.kind {
            ExportKind::Contacts => self.contacts().await?,
            ExportKind::Companies => self.companies().await?,
            ExportKind::Deals => self.deals().await?,
        };
        for record in records {
            match self.request.format {
                ExportFormat::Csv => {
                    let cells: Vec<&str> = record
                        .cells
                        .iter()
                        .chain(&record.custom_cells)
                        .map(String::as_str)
                        .collect();
                    tabular::write_csv_record(&mut out, &cells);
                }
                ExportFormat::Json => {
                    if self.rows > 0 {
                        out.push(b',');
                    }
                    if let Some(json) = &record.json {
                        out.extend_from_slice(json.to_string().as_bytes());
                    }
                }
            }
            self.rows += 1;
        }
        match next {
            Some(after) => self.after = Some(after),
            None => {
                self.finished = true;
                if self.request.format == ExportFormat::Json {
                    out.push(b']');
                }
                if let Some(request) = self.approval {
                    self.core
                        .finish_approved_export(&self.actor, request, self.rows)
                        .await?;
                }
                self.core
                    .audit_now(
                        self.audit_event()
                            .detail("phase", "finished")
                            .detail("rows", self.rows),
                    )
                    .await?;
            }
        }
        Ok(Some(out))
    }

    /// The record's active custom values: the JSON object, or (for CSV) one cell per column.
    fn custom(&self, values: Option<CustomValues>) -> (Option<CustomValues>, Vec<String>) {
        let mut values = values.unwrap_or_default();
        values.retain(|k, _| self.custom_keys.contains(k));
        match self.request.format {
            ExportFormat::Json => (Some(values), Vec::new()),
            ExportFormat::Csv => {
                let cells = self
                    .custom_keys
                    .iter()
                    .map(|k| match values.get(k) {
                        None | Some(serde_json::Value::Null) => String::new(),
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    })
                    .collect();
                (None, cells)
            }
        }
    }

    /// Custom values of a page of records, each decrypted with the key `key_for` gives it.
    async fn custom_page<'k>(
        &self,
        ids: &[Uuid],
        key_for: impl Fn(Uuid) -> Option<&'k DataKey>,
    ) -> Result<HashMap<Uuid, CustomValues>, CoreError> {
        if self.custom_keys.is_empty() {
            return Ok(HashMap::new());
        }
        self.core
            .custom_values_with(
                self.core.store().scan_conn(),
                self.request.kind.entity(),
                ids,
                key_for,
            )
            .await
    }

    fn json(&self, view: &impl serde::Serialize) -> Result<Option<serde_json::Value>, CoreError> {
        match self.request.format {
            ExportFormat::Csv => Ok(None),
            ExportFormat::Json => serde_json::to_value(view)
                .map(Some)
                .map_err(|_| CoreError::Internal("an exported record could not be serialised")),
        }
    }

    fn contacts_filter(&self) -> repo::contacts::Filter {
        let f = &self.request.filters;
        repo::contacts::Filter {
            owner_id: f.owner_id,
            company_id: f.company_id,
            tag: f.tag.clone(),
            deleted: Deleted::Exclude,
            access: Some(self.access.clone()),
            ..repo::contacts::Filter::default()
        }
    }

    fn companies_filter(&self) -> repo::companies::Filter {
        let f = &self.request.filters;
        repo::companies::Filter {
            owner_id: f.owner_id,
            tag: f.tag.clone(),
            deleted: Deleted::Exclude,
            access: Some(self.access.clone()),
            ..repo::companies::Filter::default()
        }
    }

    fn deals_filter(&self) -> repo::deals::Filter {
        let f = &self.request.filters;
        repo::deals::Filter {
            pipeline_id: f.pipeline_id,
            status: f.status.clone(),
            owner_id: f.owner_id,
            company_id: f.company_id,
            deleted: Deleted::Exclude,
            access: Some(self.access.clone()),
            ..repo::deals::Filter::default()
        }
    }

    async fn contacts(&self) -> Result<(Vec<ExportRecord>, Option<After>), CoreError> {
        let conn = self.core.store().scan_conn();
        let page = repo::contacts::list(
            conn,
            &self.contacts_filter(),
            repo::contacts::Sort::Created,
            Direction::Asc,
            self.after.as_ref(),
            PAGE,
        )
        .await?;
        let next = resume_after(&page, |r| (r.created_at, r.id));
        let mut company_ids: Vec<Uuid> = page.items.iter().filter_map(|r| r.company_id).collect();
        company_ids.sort_unstable();
        company_ids.dedup();
        let companies: HashMap<Uuid, String> = repo::companies::get_many(conn, &company_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let key_ids: Vec<Uuid> = page.items.iter().map(|r| r.dek_id).collect();
        let keys = self.core.keys().data_keys(conn, &key_ids).await?;
        // Each contact's custom values under the contact's own key.
        let key_of: HashMap<Uuid, &DataKey> = page
            .items
            .iter()
            .zip(&keys)
            .map(|(row, key)| (row.id, key.as_ref()))
            .collect();
        let ids: Vec<Uuid> = page.items.iter().map(|r| r.id).collect();
        let mut custom = self
            .custom_page(&ids, |id| key_of.get(&id).copied())
            .await?;
        let attrs = self.core.contacts_attrs(conn, &page.items).await?;
        let read = crate::authz::Action::Record(crate::authz::RecordAction::Read);
        let mut records = Vec::with_capacity(page.items.len());
        for ((row, key), attrs) in page.items.iter().zip(&keys).zip(&attrs) {
            if self.recheck
                && !self.core.permits_record(
                    &self.actor,
                    read,
                    crate::authz::RecordType::Contact,
                    attrs,
                )
            {
                continue;
            }
            let v = self.core.contact_view(key, row)?;
            let mut v = self
                .core
                .publish_contact_with(&self.actor, attrs, v, &self.sensitive_keys);
            let company = v
                .company_id
                .and_then(|c| companies.get(&c.as_uuid()).cloned())
                .unwrap_or_default();
            let (values, custom_cells) = self.custom(custom.remove(&row.id));
            v.custom_fields = values;
            let json = self.json(&v)?;
            records.push(ExportRecord {
                cells: vec![
                    v.id.to_string(),
                    v.name,
                    v.emails.join("; "),
                    v.phones.join("; "),
                    v.job_title.unwrap_or_default(),
                    opt(v.company_id),
                    company,
                    v.address.unwrap_or_default(),
                    v.notes.unwrap_or_default(),
                    opt(v.owner_id),
                    v.team.unwrap_or_default(),
                    v.tags.join("; "),
                    rfc3339(v.created_at),
                    rfc3339(v.updated_at),
                ],
                json,
                custom_cells,
            });
        }
        Ok((records, next))
    }

    /// Whether a row the query admitted is readable: always, unless some policy could not be
    /// expressed in the query.
    fn readable<R: AccessRow>(&self, row: &R) -> bool {
        !self.recheck
            || self.core.permits_record(
                &self.actor,
                crate::authz::Action::Record(crate::authz::RecordAction::Read),
                R::RECORD,
                &row.access_attrs(),
            )
    }

    async fn companies(&self) -> Result<(Vec<ExportRecord>, Option<After>), CoreError> {
        let conn = self.core.store().scan_conn();
        let page = repo::companies::list(
            conn,
            &self.companies_filter(),
            repo::companies::Sort::Created,
            Direction::Asc,
            self.after.as_ref(),
            PAGE,
        )
        .await?;
        let next = resume_after(&page, |r| (r.created_at, r.id));
        let key = self.core.keys().org_key(conn).await?;
        let ids: Vec<Uuid> = page.items.iter().map(|r| r.id).collect();
        let mut custom = self.custom_page(&ids, |_| Some(key.as_ref())).await?;
        let mut records = Vec::with_capacity(page.items.len());
        for row in page.items.iter().filter(|row| self.readable(*row)) {
            let mut v = self.core.company_view(Some(&key), row)?;
            let (values, custom_cells) = self.custom(custom.remove(&row.id));
            v.custom_fields = values;
            let json = self.json(&v)?;
            records.push(ExportRecord {
                cells: vec![
                    v.id.to_string(),
                    v.name,
                    v.industry.unwrap_or_default(),
                    v.size.unwrap_or_default(),
                    v.region.unwrap_or_default(),
                    v.website.unwrap_or_default(),
                    v.address.unwrap_or_default(),
                    opt(v.owner_id),
                    v.tags.join("; "),
                    rfc3339(v.created_at),
                    rfc3339(v.updated_at),
                ],
                json,
                custom_cells,
            });
        }
        Ok((records, next))
    }

    async fn deals(&self) -> Result<(Vec<ExportRecord>, Option<After>), CoreError> {
        let conn = self.core.store().scan_conn();
        let page = repo::deals::list(
            conn,
            &self.deals_filter(),
            repo::deals::Sort::Created,
            Direction::Asc,
            self.after.as_ref(),
            PAGE,
        )
        .await?;
        let next = resume_after(&page, |r| (r.created_at, r.id));
        let key = self.core.keys().org_key(conn).await?;
        let ids: Vec<Uuid> = page.items.iter().map(|r| r.id).collect();
        let mut custom = self.custom_page(&ids, |_| Some(key.as_ref())).await?;
        let mut records = Vec::with_capacity(page.items.len());
        for row in page.items.iter().filter(|row| self.readable(*row)) {
            let view = self.core.deal_view(Some(&key), row)?;
            let mut v = self.core.publish_deal(&self.actor, view, row);
            let (values, custom_cells) = self.custom(custom.remove(&row.id));
            v.custom_fields = values;
            let json = self.json(&v)?;
            records.push(ExportRecord {
                cells: vec![
                    v.id.to_string(),
                    v.title,
                    v.pipeline_id.to_string(),
                    v.stage_id.to_string(),
                    v.status,
                    v.amount.unwrap_or_default(),
                    v.currency.unwrap_or_default(),
                    v.expected_close_on.unwrap_or_default(),
                    opt(v.owner_id),
                    opt(v.company_id),
                    opt(v.contact_id),
                    v.outcome_reason.unwrap_or_default(),
                    v.closed_at.map(rfc3339).unwrap_or_default(),
                    rfc3339(v.created_at),
                    rfc3339(v.updated_at),
                ],
                json,
                custom_cells,
            });
        }
        Ok((records, next))
    }
}

/// One exported record in both shapes; only the one the format needs is written.
struct ExportRecord {
    cells: Vec<String>,
    /// Present for JSON exports only.
    json: Option<serde_json::Value>,
    /// CSV only: one cell per active custom field, after `cells`.
    custom_cells: Vec<String>,
}

/// Where the next step starts: after the last row, when more rows follow (lists are in
/// creation order).
fn resume_after<T>(
    page: &custodian_store::page::Page<T>,
    created_and_id: impl FnOnce(&T) -> (i64, Uuid),
) -> Option<After> {
    let last = page.items.last().filter(|_| page.has_more)?;
    let (created_at, id) = created_and_id(last);
    Some(After {
        key: KeyValue::Int(created_at),
        id,
    })
}

fn opt(id: Option<impl std::fmt::Display>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl Core {
    /// Starts an export. The single entry point for every export, API or UI: the policies'
    /// `export` on the collection, then only the records the exporter may read, each with only
    /// the field groups they may read (masked ones masked). An export larger than the bulk
    /// threshold is refused here; it is downloaded through an approved export request
    /// ([`Core::download_approved_export`]).
    pub async fn export(&self, actor: &Actor, request: ExportRequest) -> Result<Export, CoreError> {
        let export = self.prepare_export(actor, request, None).await?;
        if let Some(threshold) = self.settings().export_approval_above_rows
            && export.count_up_to(threshold.saturating_add(1)).await? > threshold
        {
            return Err(CoreError::ExportApprovalRequired { threshold });
        }
        Ok(export)
    }

    /// An export as the actor may make it now, not yet started.
    pub(crate) async fn prepare_export(
        &self,
        actor: &Actor,
        request: ExportRequest,
        approval: Option<Uuid>,
    ) -> Result<Export, CoreError> {
        let record = request.kind.record_type();
        self.require_collection(actor, record, crate::authz::CollectionAction::Export)
            .await?;
        let ctx = self.request_context(actor);
        let filter = self.authz().record_filter(
            &actor.principal,
            crate::authz::Action::Record(crate::authz::RecordAction::Read),
            record,
            &ctx,
        )?;
        let sensitive_keys = self
            .field_set(self.store().conn(), FieldEntity::Contact)
            .await?
            .sensitive_keys();
        Ok(Export {
            core: self.clone(),
            actor: actor.clone(),
            access: filter.condition,
            recheck: !filter.exact,
            sensitive_keys,
            request,
            after: None,
            started: false,
            finished: false,
            rows: 0,
            custom_keys: Vec::new(),
            approval,
        })
    }
}
