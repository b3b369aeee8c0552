//! Contact import from CSV. A file is decoded (UTF-8 with or without BOM, or GB18030), its
//! columns mapped to contact fields (by header name in English or Chinese, or by an explicit
//! mapping), every row validated, and duplicates found by e-mail through the blind index
//! (existing contacts) and within the file. A dry run reports every bad row with its line
//! number and writes nothing; a real import writes everything in one transaction or, if any
//! row is bad, nothing at all.

use crate::companies::{CompanyInput, name_sort_key};
use crate::contacts::{ContactInput, add_prepared_many, merged_input};
use crate::custom_fields::FieldSet;
use crate::tabular::{self, Record, TableLimits, TextEncoding};
use crate::{Actor, Core, CoreError};
use custodian_domain::custom_fields::FieldEntity;
use custodian_domain::values::Email;
use custodian_domain::{CompanyId, FieldError};
use custodian_store::repo::{self, BulkInsert};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// Largest file accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;
/// Most data rows in one import.
pub const MAX_IMPORT_ROWS: usize = 100_000;
const LIMITS: TableLimits = TableLimits {
    max_rows: MAX_IMPORT_ROWS,
    max_columns: 100,
    max_cell_chars: 20_000,
};
/// Rows encrypted and inserted per step of a real import.
const IMPORT_BATCH: usize = 2_000;
/// Prepared batches waiting for the writer: enough to cover a slow batch, few enough that an
/// import holds at most a few batches of ciphertext in memory.
const PREPARED_BATCHES_QUEUED: usize = 2;

/// Stops the batch-preparing task when the import returns early (an error, a dropped request).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl AbortOnDrop<Result<(), CoreError>> {
    async fn finish(mut self) -> Result<(), CoreError> {
        let handle = &mut self.0;
        handle
            .await
            .map_err(|_| CoreError::Internal("the import's preparing task failed"))?
    }
}

/// Whether preparing rows also builds their inserts (a real import) or only checks them (a dry
/// run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inserts {
    Build,
    Skip,
}

fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
/// Most row errors and duplicates listed in a report (all are counted).
const MAX_LISTED: usize = 1_000;
const CONTACTS: &str = "contacts";

/// What to do with a row whose e-mail address belongs to an existing contact, or to an
/// earlier row of the same file.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Leave the existing contact as it is and do not import the row.
    #[default]
    Skip,
    /// Update the existing contact: the row's non-empty values replace, its e-mails, phones
    /// and tags are added.
    Merge,
    /// Import the row as another contact anyway.
    Create,
}

impl DuplicatePolicy {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "" | "skip" => Ok(Self::Skip),
            "merge" => Ok(Self::Merge),
            "create" => Ok(Self::Create),
            _ => Err(FieldError::new(
                "on_duplicate",
                "invalid_duplicate_policy",
                "must be one of: skip, merge, create",
            )),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub dry_run: bool,
    pub on_duplicate: DuplicatePolicy,
    pub encoding: TextEncoding,
    /// Column header → field (`name`, `first_name`, `last_name`, `emails`, `phones`,
    /// `job_title`, `company`, `address`, `notes`, `team`, `tags`, `cf.<key>` for an active
    /// custom field, or `ignore`). Columns left out are mapped by their header name; a header
    /// `cf.<key>` (as exports write) fills that custom field.
    pub mapping: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Name,
    FirstName,
    LastName,
    Emails,
    Phones,
    JobTitle,
    Company,
    Address,
    Notes,
    Team,
    Tags,
    /// The active contact custom field at this index of the import's custom keys.
    Custom(usize),
}

/// Header prefix of custom field columns, as exports write them.
const CUSTOM_PREFIX: &str = "cf.";

/// Each field, its code, and the header names (normalised) that map to it automatically.
const TARGETS: &[(Target, &str, &[&str])] = &[
    (
        Target::Name,
        "name",
        &[
            "name",
            "full name",
            "contact",
            "contact name",
            "姓名",
            "名字",
            "联系人",
            "联系人姓名",
        ],
    ),
    (
        Target::FirstName,
        "first_name",
        &["first name", "firstname", "given name", "名"],
    ),
    (
        Target::LastName,
        "last_name",
        &["last name", "lastname", "surname", "family name", "姓"],
    ),
    (
        Target::Emails,
        "emails",
        &[
            "email",
            "e-mail",
            "emails",
            "email address",
            "e-mail address",
            "邮箱",
            "电子邮件",
            "电子邮箱",
            "邮件",
        ],
    ),
    (
        Target::Phones,
        "phones",
        &[
            "phone",
            "phones",
            "mobile",
            "telephone",
            "tel",
            "phone number",
            "mobile phone",
            "电话",
            "手机",
            "手机号",
            "手机号码",
            "联系电话",
        ],
    ),
    (
        Target::JobTitle,
        "job_title",
        &["job title", "title", "position", "职位", "职务", "岗位"],
    ),
    (
        Target::Company,
        "company",
        &[
            "company",
            "company name",
            "organization",
            "organisation",
            "account",
            "account name",
            "公司",
            "公司名称",
            "单位",
            "企业",
        ],
    ),
    (
        Target::Address,
        "address",
        &["address", "postal address", "地址", "通讯地址"],
    ),
    (
        Target::Notes,
        "notes",
        &["notes", "note", "comments", "comment", "备注", "说明"],
    ),
    (Target::Team, "team", &["team", "团队"]),
    (Target::Tags, "tags", &["tags", "tag", "labels", "标签"]),
];

impl Target {
    /// The field's code as a mapping names it.
    fn code(self, custom_keys: &[String]) -> String {
        match self {
            Target::Custom(i) => custom_keys
                .get(i)
                .map_or_else(String::new, |k| format!("{CUSTOM_PREFIX}{k}")),
            _ => TARGETS
                .iter()
                .find(|(t, _, _)| *t == self)
                .map_or_else(String::new, |(_, code, _)| (*code).to_owned()),
        }
    }

    /// Fields several columns may feed ("Email 1", "Email 2").
    fn is_list(self) -> bool {
        matches!(self, Target::Emails | Target::Phones | Target::Tags)
    }
}

fn normalize_header(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("e mail", "email")
}

fn auto_target(header: &str) -> Option<Target> {
    let h = normalize_header(header);
    // "Email 2", "Phone (work)": a known name followed by a number or a note.
    let base = h
        .split(|c: char| c.is_ascii_digit() || c == '(')
        .next()
        .unwrap_or("")
        .trim();
    TARGETS
        .iter()
        .find(|(_, code, aliases)| {
            let code = normalize_header(code);
            [h.as_str(), base].iter().any(|candidate| {
                *candidate == code
                    || aliases
                        .iter()
                        .any(|a| normalize_header(a).replace("e mail", "email") == *candidate)
            })
        })
        .map(|(t, _, _)| *t)
}

/// How each column is used, as reported back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ColumnUse {
    pub header: String,
    /// The contact field it fills (`cf.<key>` for a custom field); absent when the column is
    /// ignored.
    pub field: Option<String>,
}

/// A row that cannot be imported, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    pub code: &'static str,
    pub message: String,
}

/// A row recognised as a duplicate by e-mail address.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateRow {
    pub line: u64,
    pub action: DuplicatePolicy,
    /// The existing contact it matches…
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub existing_contact_id: Option<Uuid>,
    /// …or the earlier line of this file it matches.
    pub same_as_line: Option<u64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Data rows read (blank lines are not rows).
    pub rows: u64,
    /// Contacts created (or, in a dry run, that would be).
    pub created: u64,
    pub merged: u64,
    pub skipped: u64,
    pub companies_created: u64,
    pub columns: Vec<ColumnUse>,
    /// Every bad row up to 1,000; `error_count` counts them all.
    pub errors: Vec<RowError>,
    pub error_count: u64,
    /// Duplicates up to 1,000; `duplicate_count` counts them all.
    pub duplicates: Vec<DuplicateRow>,
    pub duplicate_count: u64,
}

impl ImportReport {
    fn error(&mut self, line: u64, column: Option<String>, code: &'static str, message: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_LISTED {
            self.errors.push(RowError {
                line,
                column,
                code,
                message,
            });
        }
    }

    fn duplicate(&mut self, row: DuplicateRow) {
        self.duplicate_count += 1;
        if self.duplicates.len() < MAX_LISTED {
            self.duplicates.push(row);
        }
    }
}

/// One data row turned into a contact input.
struct Row {
    line: u64,
    input: ContactInput,
    company: Option<String>,
    /// Its valid e-mail addresses, normalised: the duplicate keys.
    emails: Vec<String>,
}

/// What happens to a row.
enum Plan {
    Create,
    MergeInto(Uuid),
    /// Skipped, or merged into an earlier row of the file.
    Absorbed,
}

/// Splits a cell holding several values (e-mails, phones, tags), as people type them in
/// spreadsheets, including the full-width separators of a Chinese keyboard.
fn split_cell(raw: &str) -> Vec<String> {
    raw.split([',', ';', '\n', '\r', '，', '；', '、', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// A mapping or header naming a custom field (`cf.<key>`): the field's index among the active
/// keys, or an error if no active field has that key.
fn custom_target(name: &str, custom_keys: &[String]) -> Option<Result<Target, ()>> {
    let key = name.trim().strip_prefix(CUSTOM_PREFIX)?;
    Some(
        custom_keys
            .iter()
            .position(|k| k == key)
            .map(Target::Custom)
            .ok_or(()),
    )
}

fn map_columns(
    headers: &[String],
    mapping: Option<&BTreeMap<String, String>>,
    fields: &FieldSet,
    custom_keys: &[String],
) -> Result<Vec<Option<Target>>, CoreError> {
    let mut errors = Vec::new();
    let unknown_custom = |place: String| {
        FieldError::new(
            place,
            "unknown_custom_field",
            "no active contact custom field has this key; see Settings → Custom fields",
        )
    };
    if let Some(mapping) = mapping {
        for (header, target) in mapping {
            if !headers.iter().any(|h| h == header.trim()) {
                errors.push(FieldError::new(
                    format!("mapping.{header}"),
                    "unknown_column",
                    "the file has no column with this header",
                ));
            }
            let target = target.trim();
            match custom_target(target, custom_keys) {
                Some(Err(())) => errors.push(unknown_custom(format!("mapping.{header}"))),
                Some(Ok(_)) => {}
                None if target != "ignore"
                    && !target.is_empty()
                    && !TARGETS.iter().any(|t| t.1 == target) =>
                {
                    errors.push(FieldError::new(
                        format!("mapping.{header}"),
                        "unknown_field",
                        "must be one of: name, first_name, last_name, emails, phones, job_title, company, address, notes, team, tags, cf.<custom field key>, ignore",
                    ));
                }
                None => {}
            }
        }
    }
    let mut columns: Vec<Option<Target>> = Vec::with_capacity(headers.len());
    for h in headers {
        let named = mapping.and_then(|m| m.iter().find(|(k, _)| k.trim() == h).map(|(_, v)| v));
        columns.push(match named {
            Some(target) => match custom_target(target, custom_keys) {
                Some(found) => found.ok(),
                None => TARGETS.iter().find(|t| t.1 == target.trim()).map(|t| t.0),
            },
            None => match custom_target(h, custom_keys) {
                Some(Ok(target)) => Some(target),
                Some(Err(())) => {
                    errors.push(unknown_custom(format!("mapping.{h}")));
                    None
                }
                None => auto_target(h),
            },
        });
    }
    for (i, target) in columns.iter().enumerate() {
        if let Some(target) = target
            && !target.is_list()
            && columns[..i].contains(&Some(*target))
        {
            errors.push(FieldError::new(
                format!("mapping.{}", headers[i]),
                "duplicate_target",
                format!("another column already fills {}", target.code(custom_keys)),
            ));
        }
    }
    for key in fields.required_keys() {
        let filled = custom_keys
            .iter()
            .position(|k| *k == key)
            .is_some_and(|i| columns.contains(&Some(Target::Custom(i))));
        if !filled {
            errors.push(FieldError::new(
                "mapping",
                "required_custom_field_missing",
                format!(
                    "every contact needs the custom field {key}, but no column fills it; add a column headed {CUSTOM_PREFIX}{key}"
                ),
            ));
        }
    }
    let has = |t: Target| columns.contains(&Some(t));
    if !(has(Target::Name) || has(Target::FirstName) || has(Target::LastName)) {
        errors.push(FieldError::new(
            "mapping",
            "name_column_missing",
            "no column holds the contact's name; name one (e.g. \"Name\" or \"姓名\") or map a column to name",
        ));
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(CoreError::Validation(errors))
    }
}

fn build_row(
    record: Record,
    columns: &[Option<Target>],
    fields: &FieldSet,
    custom_keys: &[String],
) -> Row {
    let mut input = ContactInput::default();
    let (mut first, mut last, mut company) = (String::new(), String::new(), None);
    let text = |cell: &str| {
        let cell = cell.trim();
        (!cell.is_empty()).then(|| cell.to_owned())
    };
    for (cell, target) in record.fields.iter().zip(columns) {
        let Some(target) = target else { continue };
        // Spreadsheets end lines inside a cell with CRLF; stored text uses LF. A formula
        // guard an export added comes off again.
        let cell = tabular::unguard_cell(cell);
        let cell: std::borrow::Cow<'_, str> = if cell.contains('\r') {
            cell.replace("\r\n", "\n").replace('\r', "\n").into()
        } else {
            cell.into()
        };
        let cell = cell.as_ref();
        match target {
            Target::Name => input.name = cell.trim().to_owned(),
            Target::FirstName => first = cell.trim().to_owned(),
            Target::LastName => last = cell.trim().to_owned(),
            Target::Emails => input.emails.extend(split_cell(cell)),
            Target::Phones => input.phones.extend(split_cell(cell)),
            Target::Tags => input.tags.extend(split_cell(cell)),
            Target::JobTitle => input.job_title = text(cell),
            Target::Company => company = text(cell),
            Target::Address => input.address = text(cell),
            Target::Notes => input.notes = text(cell),
            Target::Team => input.team = text(cell),
            Target::Custom(i) => {
                if let Some(key) = custom_keys.get(*i)
                    && let Some(value) = fields.value_from_cell(key, cell)
                {
                    input.custom_fields.insert(key.clone(), value);
                }
            }
        }
    }
    if input.name.is_empty() && !(first.is_empty() && last.is_empty()) {
        // Chinese names are family name first, without a space.
        input.name = if is_cjk(&first) || is_cjk(&last) {
            format!("{last}{first}")
        } else {
            format!("{first} {last}").trim().to_owned()
        };
    }
    let emails = input
        .emails
        .iter()
        .filter_map(|e| Email::parse("emails", e).ok())
        .map(|e| e.as_str().to_owned())
        .collect();
    Row {
        line: record.line,
        input,
        company,
        emails,
    }
}

/// The header of the column a validation error belongs to.
fn column_of(
    field: &str,
    headers: &[String],
    columns: &[Option<Target>],
    custom_keys: &[String],
) -> Option<String> {
    if let Some(key) = field.strip_prefix("custom_fields.") {
        let i = custom_keys.iter().position(|k| k == key)?;
        return columns
            .iter()
            .position(|c| *c == Some(Target::Custom(i)))
            .map(|c| headers[c].clone());
    }
    let base = field.split(['[', '.']).next().unwrap_or(field);
    let targets: &[Target] = match base {
        "name" => &[Target::Name, Target::LastName, Target::FirstName],
        "emails" => &[Target::Emails],
        "phones" => &[Target::Phones],
        "job_title" => &[Target::JobTitle],
        "company_id" | "company" => &[Target::Company],
        "address" => &[Target::Address],
        "notes" => &[Target::Notes],
        "team" => &[Target::Team],
        "tags" => &[Target::Tags],
        _ => &[],
    };
    targets.iter().find_map(|t| {
        columns
            .iter()
            .position(|c| *c == Some(*t))
            .map(|i| headers[i].clone())
    })
}

impl Core {
    /// Imports contacts from an uploaded CSV file. File-level problems (encoding, not CSV,
    /// limits, mapping) are a validation error; row problems are listed in the report, and a
    /// real import with any of them is refused with the report (`ImportInvalid`).
    pub async fn import_contacts(
        &self,
        actor: &Actor,
        bytes: &[u8],
        options: ImportOptions,
    ) -> Result<ImportReport, CoreError> {
        self.require_collection(
            actor,
            crate::authz::RecordType::Contact,
            crate::authz::CollectionAction::Import,
        )
        .await?;
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(FieldError::new(
                "file",
                "file_too_large",
                format!(
                    "the file is larger than {} MiB; split it",
                    MAX_IMPORT_BYTES / (1024 * 1024)
                ),
            )
            .into());
        }
        let text = tabular::decode(bytes, options.encoding)?;
        let table = tabular::read_csv(&text, LIMITS)?;
        drop(text);
        let conn = self.store().conn();
        let fields = Arc::new(self.field_set(conn, FieldEntity::Contact).await?);
        let custom_keys = fields.active_keys();
        let columns = map_columns(
            &table.headers,
            options.mapping.as_ref(),
            &fields,
            &custom_keys,
        )?;
        let mut report = ImportReport {
            dry_run: options.dry_run,
            rows: table.records.len() as u64,
            created: 0,
            merged: 0,
            skipped: 0,
            companies_created: 0,
            columns: table
                .headers
                .iter()
                .zip(&columns)
                .map(|(h, t)| ColumnUse {
                    header: h.clone(),
                    field: t.map(|t| t.code(&custom_keys)),
                })
                .collect(),
            errors: Vec::new(),
            error_count: 0,
            duplicates: Vec::new(),
            duplicate_count: 0,
        };
        let width = table.headers.len();
        let mut rows = Vec::with_capacity(table.records.len());
        for record in table.records {
            if record.fields.len() != width {
                report.error(
                    record.line,
                    None,
                    "ragged_row",
                    format!(
                        "has {} cells but the header has {width}; check for a missing or extra comma",
                        record.fields.len()
                    ),
                );
                continue;
            }
            rows.push(build_row(record, &columns, &fields, &custom_keys));
        }

        let plans = self
            .plan_duplicates(conn, &mut rows, options.on_duplicate, &mut report)
            .await?;
        let now = self.now();
        let new_companies = self.resolve_companies(conn, &mut rows, &plans, now).await?;
        report.companies_created = new_companies.len() as u64;

        let mut creates = Vec::new();
        let mut merges = Vec::new();
        for (row, plan) in rows.into_iter().zip(&plans) {
            match plan {
                Plan::Create => creates.push((row.line, row.input)),
                Plan::MergeInto(id) => merges.push((row.line, *id, row.input)),
                Plan::Absorbed => {}
            }
        }
        // Merges are few and read their contacts; they are validated before anything is
        // written.
        let mut merge_plans = Vec::with_capacity(merges.len());
        for (line, id, input) in merges {
            let Some(existing) = repo::contacts::get(conn, id).await? else {
                continue;
            };
            match self.prepare_merge(conn, existing, &input, &fields).await {
                Ok(m) => merge_plans.push(m),
                Err(e) => self.report_row_error(
                    &mut report,
                    line,
                    e,
                    &table.headers,
                    &columns,
                    &custom_keys,
                )?,
            }
        }
        report.merged = merge_plans.len() as u64;
        // Reports the rows that failed; returns how many passed.
        let report_errors = |report: &mut ImportReport,
                             outcomes: Vec<(u64, Result<(), CoreError>)>|
         -> Result<u64, CoreError> {
            let mut ready = 0;
            for (line, result) in outcomes {
                match result {
                    Ok(()) => ready += 1,
                    Err(e) => self.report_row_error(
                        report,
                        line,
                        e,
                        &table.headers,
                        &columns,
                        &custom_keys,
                    )?,
                }
            }
            Ok(ready)
        };

        if options.dry_run {
            let (outcomes, _) = self
                .prepare_in_parallel(actor, &fields, creates, Inserts::Skip, all_cores())
                .await?;
            report.created = report_errors(&mut report, outcomes)?;
            report.errors.sort_by_key(|e| e.line);
            return Ok(report);
        }

        // One transaction: all or nothing.
        let txn = self.store().begin().await?;
        for (id, name) in new_companies {
            let input = CompanyInput {
                name,
                ..CompanyInput::default()
            };
            self.insert_company(&txn, actor, &input, id, now).await?;
        }
        // Batches are prepared on a task of their own and handed over through a short queue:
        // neither side waits for the other's batch to finish unless the queue is empty or full.
        // The first batch uses every core (nothing is being written yet); later ones one core
        // fewer, so the writer (the slower side) keeps a core of its own instead of being
        // time-sliced with the workers.
        let beside_writer = all_cores().saturating_sub(1).max(1);
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(PREPARED_BATCHES_QUEUED);
        let producer = AbortOnDrop(tokio::spawn({
            let core = self.clone();
            let actor = actor.clone();
            let fields = Arc::clone(&fields);
            async move {
                let mut rows = creates.into_iter();
                let mut workers = all_cores();
                loop {
                    let batch: Vec<(u64, ContactInput)> =
                        rows.by_ref().take(IMPORT_BATCH).collect();
                    if batch.is_empty() {
                        return Ok::<(), CoreError>(());
                    }
                    let prepared = core
                        .prepare_in_parallel(&actor, &fields, batch, Inserts::Build, workers)
                        .await?;
                    workers = beside_writer;
                    if ready_tx.send(prepared).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }));
        // Once a row has failed nothing more is inserted, but every batch is still checked so
        // the report lists every bad row.
        while let Some((outcomes, inserts)) = ready_rx.recv().await {
            let passed = report_errors(&mut report, outcomes)?;
            if report.error_count == 0 {
                inserts.execute(&txn).await?;
                report.created += passed;
            }
        }
        producer.finish().await?;
        if report.error_count > 0 {
            report.created = 0;
            report.merged = 0;
            report.errors.sort_by_key(|e| e.line);
            // Dropping the transaction rolls back the companies and contacts inserted so far.
            return Err(CoreError::ImportInvalid(Box::new(report)));
        }
        for merge in merge_plans {
            self.write_merge(&txn, merge).await?;
        }
        let event =
            crate::audit::AuditEvent::by(actor, custodian_domain::audit::AuditCode::DataImport)
                .detail("kind", "contacts")
                .detail("rows", report.rows)
                .detail("created", report.created)
                .detail("merged", report.merged)
                .detail("skipped", report.skipped)
                .detail("companies_created", report.companies_created);
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok(report)
    }

    /// Decides each row's fate by e-mail: existing contacts are found through the blind index
    /// and confirmed on their decrypted addresses; earlier rows of the file by the address.
    async fn plan_duplicates<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        rows: &mut [Row],
        policy: DuplicatePolicy,
        report: &mut ImportReport,
    ) -> Result<Vec<Plan>, CoreError> {
        let existing = self.existing_emails(conn, rows).await?;
        let mut first_row_with: HashMap<String, usize> = HashMap::new();
        // Rows of the file that update the same contact are combined into the first of them.
        let mut merging_into: HashMap<Uuid, usize> = HashMap::new();
        let mut plans = Vec::with_capacity(rows.len());
        for i in 0..rows.len() {
            let known = rows[i].emails.iter().find_map(|e| existing.get(e).copied());
            let earlier = rows[i]
                .emails
                .iter()
                .find_map(|e| first_row_with.get(e).copied());
            let plan = match (known, earlier, policy) {
                (_, _, DuplicatePolicy::Create) | (None, None, _) => Plan::Create,
                (Some(id), _, DuplicatePolicy::Merge) => match merging_into.get(&id) {
                    Some(&first) => {
                        rows[first].input = merged_input(rows[first].input.clone(), &rows[i].input);
                        Plan::Absorbed
                    }
                    None => {
                        merging_into.insert(id, i);
                        Plan::MergeInto(id)
                    }
                },
                (None, Some(first), DuplicatePolicy::Merge) => {
                    rows[first].input = merged_input(rows[first].input.clone(), &rows[i].input);
                    Plan::Absorbed
                }
                (_, _, DuplicatePolicy::Skip) => {
                    report.skipped += 1;
                    Plan::Absorbed
                }
            };
            if known.is_some() || earlier.is_some() {
                report.duplicate(DuplicateRow {
                    line: rows[i].line,
                    action: policy,
                    existing_contact_id: known,
                    same_as_line: if known.is_none() {
                        earlier.map(|first| rows[first].line)
                    } else {
                        None
                    },
                });
            }
            if matches!(plan, Plan::Create) {
                for e in &rows[i].emails {
                    first_row_with.entry(e.clone()).or_insert(i);
                }
            }
            plans.push(plan);
        }
        Ok(plans)
    }

    /// Live contacts holding any of the rows' addresses: address → contact.
    async fn existing_emails<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        rows: &[Row],
    ) -> Result<HashMap<String, Uuid>, CoreError> {
        let mut by_token: HashMap<i64, Vec<&str>> = HashMap::new();
        for row in rows {
            for e in &row.emails {
                by_token
                    .entry(self.keys().blind(CONTACTS, "email", e)?)
                    .or_default()
                    .push(e);
            }
        }
        let tokens: Vec<i64> = by_token.keys().copied().collect();
        let hits = repo::search_tokens::hits(conn, "contact", "email", &tokens).await?;
        let mut candidates: Vec<Uuid> = hits.iter().map(|h| h.entity_id).collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut found = HashMap::new();
        for chunk in candidates.chunks(500) {
            let contacts = repo::contacts::get_many(conn, chunk).await?;
            let live: Vec<_> = contacts
                .into_iter()
                .filter(|c| c.deleted_at.is_none())
                .collect();
            let key_ids: Vec<Uuid> = live.iter().map(|c| c.dek_id).collect();
            let keys = self.keys().data_keys(conn, &key_ids).await?;
            for (contact, key) in live.iter().zip(keys) {
                for email in self.contact_emails(&key, contact)? {
                    found.entry(email.to_lowercase()).or_insert(contact.id);
                }
            }
        }
        Ok(found)
    }

    /// Links rows to companies by name (case- and width-insensitive), choosing ids for the
    /// companies that do not exist yet: returned to be created with the contacts.
    async fn resolve_companies<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        rows: &mut [Row],
        plans: &[Plan],
        now: i64,
    ) -> Result<Vec<(CompanyId, String)>, CoreError> {
        let mut wanted: BTreeMap<String, String> = BTreeMap::new();
        for (row, plan) in rows.iter().zip(plans) {
            if let (Some(name), false) = (&row.company, matches!(plan, Plan::Absorbed)) {
                wanted
                    .entry(name_sort_key(name))
                    .or_insert_with(|| name.clone());
            }
        }
        let keys: Vec<String> = wanted.keys().cloned().collect();
        let mut ids: HashMap<String, Uuid> = repo::companies::live_by_name_sort(conn, &keys)
            .await?
            .into_iter()
            .map(|c| (c.name_sort, c.id))
            .collect();
        let mut created = Vec::new();
        for (key, name) in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = ids.entry(key) {
                let id = CompanyId::new_at(now);
                slot.insert(id.as_uuid());
                created.push((id, name));
            }
        }
        for row in rows.iter_mut() {
            if let Some(name) = &row.company {
                row.input.company_id = ids.get(&name_sort_key(name)).copied();
            }
        }
        Ok(created)
    }

    /// Validation and encryption of many rows on `workers` threads (it is the CPU-heavy part):
    /// each row's outcome and, for a real import ([`Inserts::Build`]), the inserts of the rows
    /// that passed.
    async fn prepare_in_parallel(
        &self,
        actor: &Actor,
        fields: &Arc<FieldSet>,
        rows: Vec<(u64, ContactInput)>,
        inserts: Inserts,
        workers: usize,
    ) -> Result<(Vec<(u64, Result<(), CoreError>)>, BulkInsert), CoreError> {
        let backend = self.store().backend();
        let per_worker = rows.len().div_ceil(workers.max(1)).max(1);
        let mut rows = rows.into_iter();
        let mut handles = Vec::new();
        loop {
            let chunk: Vec<(u64, ContactInput)> = rows.by_ref().take(per_worker).collect();
            if chunk.is_empty() {
                break;
            }
            let core = self.clone();
            let actor = actor.clone();
            let fields = Arc::clone(fields);
            handles.push(tokio::task::spawn_blocking(move || {
                let mut outcomes = Vec::with_capacity(chunk.len());
                let mut passed = Vec::with_capacity(chunk.len());
                for (line, input) in chunk {
                    match core.prepare_contact_with_fields(&actor, &input, &fields) {
                        Ok((prepared, _)) => {
                            passed.push(prepared);
                            outcomes.push((line, Ok(())));
                        }
                        Err(e) => outcomes.push((line, Err(e))),
                    }
                }
                let mut bulk = BulkInsert::for_backend(backend);
                if inserts == Inserts::Build {
                    add_prepared_many(&mut bulk, passed);
                }
                (outcomes, bulk)
            }));
        }
        let mut outcomes = Vec::new();
        let mut bulk = BulkInsert::for_backend(backend);
        for handle in handles {
            let (chunk_outcomes, chunk_inserts) = handle
                .await
                .map_err(|_| CoreError::Internal("an import worker failed"))?;
            outcomes.extend(chunk_outcomes);
            bulk.append(chunk_inserts);
        }
        Ok((outcomes, bulk))
    }

    /// Turns a row's validation failure into report lines; anything else stops the import.
    fn report_row_error(
        &self,
        report: &mut ImportReport,
        line: u64,
        error: CoreError,
        headers: &[String],
        columns: &[Option<Target>],
        custom_keys: &[String],
    ) -> Result<(), CoreError> {
        match error {
            CoreError::Validation(errors) => {
                for e in errors {
                    report.error(
                        line,
                        column_of(&e.field, headers, columns, custom_keys),
                        e.code,
                        e.message,
                    );
                }
                Ok(())
            }
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn headers_map_in_english_and_chinese() {
        for (header, code) in [
            ("Name", "name"),
            ("姓名", "name"),
            ("E-mail Address", "emails"),
            ("Email 2", "emails"),
            ("邮箱", "emails"),
            ("Mobile Phone", "phones"),
            ("手机号", "phones"),
            ("job_title", "job_title"),
            ("公司名称", "company"),
            ("First Name", "first_name"),
            ("姓", "last_name"),
        ] {
            assert_eq!(
                auto_target(header).map(|t| t.code(&[])),
                Some(code.to_owned()),
                "{header}"
            );
        }
        assert_eq!(auto_target("Favourite colour"), None);
    }

    #[test]
    fn explicit_mapping_is_checked() {
        let headers = vec!["A".to_owned(), "B".to_owned()];
        let mapping: BTreeMap<String, String> = [
            ("A".to_owned(), "name".to_owned()),
            ("B".to_owned(), "name".to_owned()),
        ]
        .into();
        let Err(CoreError::Validation(errors)) =
            map_columns(&headers, Some(&mapping), &FieldSet::default(), &[])
        else {
            panic!("expected a validation error");
        };
        assert_eq!(errors[0].code, "duplicate_target");
        let mapping: BTreeMap<String, String> = [("C".to_owned(), "nickname".to_owned())].into();
        let Err(CoreError::Validation(errors)) =
            map_columns(&headers, Some(&mapping), &FieldSet::default(), &[])
        else {
            panic!("expected a validation error");
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            ["unknown_column", "unknown_field", "name_column_missing"]
        );
    }

    #[test]
    fn names_are_joined_in_the_order_of_their_script() {
        let columns = [Some(Target::FirstName), Some(Target::LastName)];
        let row = |first: &str, last: &str| {
            build_row(
                Record {
                    line: 2,
                    fields: vec![first.to_owned(), last.to_owned()],
                },
                &columns,
                &FieldSet::default(),
                &[],
            )
            .input
            .name
        };
        assert_eq!(row("Ada", "Lovelace"), "Ada Lovelace");
        assert_eq!(row("小明", "王"), "王小明");
    }
}
