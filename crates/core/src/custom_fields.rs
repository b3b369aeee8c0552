//! Custom fields: administrators define typed fields (text, number, date, choice, boolean) on
//! contacts, companies and deals and classify each; anyone who can edit a record sets its
//! values, which are validated against the definitions and written in the record's own
//! transaction. Public and internal values are stored plain (filterable); personal and
//! sensitive ones are encrypted under the record's data key, bound (AAD) to table, column,
//! record id and field id.
//!
//! Why a field's type or storage class cannot change once it holds values: stored values are
//! typed (numbers are integers scaled by the field's decimals) and stored either plain or
//! encrypted by classification. Changing either would need every value rewritten — decrypted
//! and re-encrypted under each record's key, or re-parsed — in one migration that can fail
//! half-way on values that no longer fit; a new field plus a deliberate move is honest instead.

use crate::audit::AuditEvent;
use crate::patch;
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_crypto::field::{FieldContext, decrypt_field, encrypt_field};
use custodian_domain::audit::AuditCode;
use custodian_domain::classification::Classification;
use custodian_domain::clock::from_millis;
use custodian_domain::custom_fields::{
    FieldEntity, FieldKind, classification_code, format_decimal, limits, parse_classification,
    parse_decimal, parse_slug,
};
use custodian_domain::error::Validator;
use custodian_domain::values::{CalendarDate, bounded_text};
use custodian_domain::{CustomFieldId, FieldError};
use custodian_store::ConnectionTrait;
use custodian_store::entities::{custom_field, custom_field_value};
use custodian_store::repo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub const VALUES_TABLE: &str = "custom_field_values";
const VALUE_COLUMN: &str = "value";

/// Values of a record's custom fields by key (`null` in input clears a value).
pub type CustomValues = BTreeMap<String, Value>;

/// One option of a choice field: a stable value (slug) and its labels.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub value: String,
    pub label_en: String,
    pub label_zh: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldInput {
    /// `contact`, `company` or `deal`.
    pub entity: String,
    /// Stable slug (a-z, 0-9, `_`), unique per entity; never changes.
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    #[serde(default)]
    pub help_en: Option<String>,
    #[serde(default)]
    pub help_zh: Option<String>,
    /// `text`, `number`, `date`, `choice` or `boolean`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text: most characters (default 255, at most 2000).
    #[serde(default)]
    pub max_length: Option<i64>,
    /// Number: digits after the decimal point, 0–6 (default 0).
    #[serde(default)]
    pub decimals: Option<i64>,
    /// Number: smallest allowed value, a decimal string (or JSON number).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub min: Option<Value>,
    /// Number: largest allowed value.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub max: Option<Value>,
    /// Choice: the options in display order (1–100).
    #[serde(default)]
    pub options: Vec<ChoiceOption>,
    /// `public`, `internal`, `personal` or `sensitive`: personal and sensitive values are
    /// encrypted at rest and shown on detail views only.
    pub classification: String,
    #[serde(default)]
    pub required: bool,
    /// Defaults to after the entity's last field.
    #[serde(default)]
    pub position: Option<i64>,
}

/// Changes to a definition. `entity` and `key` never change. Changing `type`, `decimals` or
/// the storage class (plain ⇄ encrypted) of a field that holds values is refused (409).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldPatch {
    pub version: i64,
    #[serde(default)]
    pub label_en: Option<String>,
    #[serde(default)]
    pub label_zh: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub help_en: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub help_zh: Option<Option<String>>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub max_length: Option<Option<i64>>,
    #[serde(default)]
    pub decimals: Option<i64>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub min: Option<Option<Value>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub max: Option<Option<Value>>,
    /// The whole option list: options keep their `value`; labels may change, options may be
    /// added or re-ordered; removing one that a record holds is refused (`option_in_use`).
    #[serde(default)]
    pub options: Option<Vec<ChoiceOption>>,
    #[serde(default)]
    pub classification: Option<String>,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub position: Option<i64>,
    /// Archived fields keep their values but leave forms; values cannot be set on them.
    #[serde(default)]
    pub archived: Option<bool>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct CustomFieldView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: CustomFieldId,
    pub entity: String,
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    pub help_en: Option<String>,
    pub help_zh: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub max_length: Option<i64>,
    pub decimals: Option<i64>,
    /// Exact decimal strings with the field's decimals.
    pub min: Option<String>,
    pub max: Option<String>,
    pub options: Vec<ChoiceOption>,
    pub classification: String,
    pub required: bool,
    pub position: i64,
    pub archived: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: time::OffsetDateTime,
    pub version: i64,
}

impl CustomFieldView {
    pub fn label(&self, lang: &str) -> &str {
        if lang.starts_with("zh") {
            &self.label_zh
        } else {
            &self.label_en
        }
    }

    pub fn help(&self, lang: &str) -> Option<&str> {
        if lang.starts_with("zh") {
            self.help_zh.as_deref()
        } else {
            self.help_en.as_deref()
        }
    }

    pub fn encrypted(&self) -> bool {
        matches!(self.classification.as_str(), "personal" | "sensitive")
    }
}

impl ChoiceOption {
    pub fn label(&self, lang: &str) -> &str {
        if lang.starts_with("zh") {
            &self.label_zh
        } else {
            &self.label_en
        }
    }
}

/// A definition as the value code uses it: parsed once from its row.
#[derive(Debug, Clone)]
pub(crate) struct FieldDef {
    id: Uuid,
    key: String,
    kind: FieldKind,
    max_length: i64,
    decimals: u32,
    min: Option<i64>,
    max: Option<i64>,
    options: Vec<ChoiceOption>,
    classification: Classification,
    required: bool,
    archived: bool,
}

fn integrity(column: &'static str) -> CoreError {
    CoreError::DataIntegrity {
        table: "custom_fields",
        column,
    }
}

fn stored_options(json: &str) -> Result<Vec<ChoiceOption>, CoreError> {
    serde_json::from_str(json).map_err(|_| integrity("options"))
}

impl FieldDef {
    fn from_row(row: &custom_field::Model) -> Result<Self, CoreError> {
        Ok(Self {
            id: row.id,
            key: row.key.clone(),
            kind: FieldKind::parse("kind", &row.kind).map_err(|_| integrity("kind"))?,
            max_length: row.max_length.unwrap_or(limits::TEXT_DEFAULT),
            decimals: u32::try_from(row.decimals.unwrap_or(0))
                .map_err(|_| integrity("decimals"))?,
            min: row.min_scaled,
            max: row.max_scaled,
            options: stored_options(&row.options)?,
            classification: parse_classification("classification", &row.classification)
                .map_err(|_| integrity("classification"))?,
            required: row.required != 0,
            archived: row.archived_at.is_some(),
        })
    }

    fn encrypted(&self) -> bool {
        self.classification.encrypted_at_rest()
    }

    /// Validates one JSON value; `Ok(None)` clears.
    fn parse_value(&self, path: &str, value: &Value) -> Result<Option<Typed>, FieldError> {
        if value.is_null() {
            return Ok(None);
        }
        let text = |expected: &'static str, hint: &str| match value {
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(FieldError::new(path, expected, hint.to_owned())),
        };
        match self.kind {
            FieldKind::Text => {
                let Some(s) = text("expected_text", "must be text (a JSON string)")? else {
                    return Ok(None);
                };
                let max = usize::try_from(self.max_length).unwrap_or(0);
                bounded_text(path, &s, max, false).map(|t| Some(Typed::Text(t)))
            }
            FieldKind::Number => {
                let raw = match value {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) if s.trim().is_empty() => return Ok(None),
                    Value::String(s) => s.clone(),
                    _ => {
                        return Err(FieldError::new(
                            path,
                            "expected_number",
                            "must be a number (a JSON number or a decimal string such as \"12.50\")",
                        ));
                    }
                };
                let n = parse_decimal(path, &raw, self.decimals)?;
                if let Some(min) = self.min.filter(|min| n < *min) {
                    return Err(FieldError::new(
                        path,
                        "below_minimum",
                        format!("must be at least {}", format_decimal(min, self.decimals)),
                    ));
                }
                if let Some(max) = self.max.filter(|max| n > *max) {
                    return Err(FieldError::new(
                        path,
                        "above_maximum",
                        format!("must be at most {}", format_decimal(max, self.decimals)),
                    ));
                }
                Ok(Some(Typed::Number(n)))
            }
            FieldKind::Date => {
                let Some(s) = text("expected_date", "must be a date string written YYYY-MM-DD")?
                else {
                    return Ok(None);
                };
                let date = CalendarDate::parse(path, &s)?;
                Ok(Some(Typed::Text(date.to_string())))
            }
            FieldKind::Choice => {
                let Some(s) = text(
                    "expected_choice",
                    "must be the value of one of the field's options (a JSON string)",
                )?
                else {
                    return Ok(None);
                };
                let s = s.trim();
                if self.options.iter().any(|o| o.value == s) {
                    Ok(Some(Typed::Text(s.to_owned())))
                } else {
                    Err(FieldError::new(
                        path,
                        "unknown_option",
                        "must be the value of one of the field's options",
                    ))
                }
            }
            FieldKind::Boolean => match value {
                Value::Bool(b) => Ok(Some(Typed::Boolean(*b))),
                _ => Err(FieldError::new(
                    path,
                    "expected_boolean",
                    "must be true or false (a JSON boolean; an imported file may also say yes/no, 1/0 or 是/否)",
                )),
            },
        }
    }

    /// The canonical stored text of a value (numbers: the scaled integer).
    fn stored(&self, value: &Typed) -> String {
        match value {
            Typed::Text(s) => s.clone(),
            Typed::Number(n) => n.to_string(),
            Typed::Boolean(b) => b.to_string(),
        }
    }

    /// The API form of a stored value: numbers as exact decimal strings, booleans as booleans.
    fn json(&self, stored: &str) -> Result<Value, CoreError> {
        let bad = || CoreError::DataIntegrity {
            table: VALUES_TABLE,
            column: VALUE_COLUMN,
        };
        Ok(match self.kind {
            FieldKind::Text | FieldKind::Date | FieldKind::Choice => Value::String(stored.into()),
            FieldKind::Number => {
                let n: i64 = stored.parse().map_err(|_| bad())?;
                Value::String(format_decimal(n, self.decimals))
            }
            FieldKind::Boolean => match stored {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(bad()),
            },
        })
    }
}

/// A validated value.
#[derive(Clone)]
pub(crate) enum Typed {
    /// Text, a date (`YYYY-MM-DD`) or a choice's option value.
    Text(String),
    /// Scaled by 10^decimals.
    Number(i64),
    Boolean(bool),
}

/// The validated custom-field part of a create or patch: each named field and its new value
/// (`None` clears it).
#[derive(Default)]
pub(crate) struct CustomChanges {
    changes: Vec<(FieldDef, Option<Typed>)>,
}
crate::redacted_debug!(CustomChanges);

impl CustomChanges {
    /// The view of these values (what a new record holds).
    pub(crate) fn values(&self) -> Result<CustomValues, CoreError> {
        let mut out = CustomValues::new();
        for (def, value) in &self.changes {
            if let Some(value) = value {
                out.insert(def.key.clone(), def.json(&def.stored(value))?);
            }
        }
        Ok(out)
    }
}

/// The definitions of one entity.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldSet {
    defs: Vec<FieldDef>,
}

impl FieldSet {
    /// The keys of the fields classified sensitive (their values are a field group of their
    /// own for authorization).
    pub(crate) fn sensitive_keys(&self) -> Vec<String> {
        self.defs
            .iter()
            .filter(|d| d.classification == Classification::Sensitive)
            .map(|d| d.key.clone())
            .collect()
    }

    /// The keys of the fields that are not archived, in display order.
    pub(crate) fn active_keys(&self) -> Vec<String> {
        self.defs
            .iter()
            .filter(|d| !d.archived)
            .map(|d| d.key.clone())
            .collect()
    }

    /// The keys of the active fields a new record must have a value for.
    pub(crate) fn required_keys(&self) -> Vec<String> {
        self.defs
            .iter()
            .filter(|d| d.required && !d.archived)
            .map(|d| d.key.clone())
            .collect()
    }

    /// A spreadsheet cell as the JSON value [`FieldSet::check`] takes for the field `key`:
    /// yes/no words (English or Chinese) become booleans, an option's English or Chinese label
    /// becomes its value; anything else is passed on as text for the check to judge. `None`
    /// for an empty cell.
    pub(crate) fn value_from_cell(&self, key: &str, cell: &str) -> Option<Value> {
        let cell = cell.trim();
        if cell.is_empty() {
            return None;
        }
        let text = || Value::String(cell.to_owned());
        let Some(def) = self.defs.iter().find(|d| d.key == key) else {
            return Some(text());
        };
        Some(match def.kind {
            FieldKind::Boolean => match cell.to_lowercase().as_str() {
                "true" | "yes" | "y" | "1" | "是" | "对" | "✓" => Value::Bool(true),
                "false" | "no" | "n" | "0" | "否" | "不" | "✗" => Value::Bool(false),
                _ => text(),
            },
            FieldKind::Choice => def
                .options
                .iter()
                .find(|o| {
                    o.value == cell || o.label_en.eq_ignore_ascii_case(cell) || o.label_zh == cell
                })
                .map_or_else(text, |o| Value::String(o.value.clone())),
            _ => text(),
        })
    }

    /// Validates `values` (a create when `creating`: required fields must be present).
    /// Every problem is reported, with paths such as `custom_fields.region_code`.
    pub(crate) fn check(
        &self,
        values: &CustomValues,
        creating: bool,
    ) -> Result<CustomChanges, Vec<FieldError>> {
        let mut v = Validator::new();
        let mut changes = Vec::new();
        for (key, value) in values {
            // A key that is not even a slug is not echoed into the error's path.
            let path = if parse_slug("k", key, limits::KEY).is_ok() {
                format!("custom_fields.{key}")
            } else {
                "custom_fields".to_owned()
            };
            let Some(def) = self.defs.iter().find(|d| &d.key == key) else {
                v.push(FieldError::new(
                    path,
                    "unknown_custom_field",
                    "no custom field with this key exists for this kind of record",
                ));
                continue;
            };
            if def.archived {
                v.push(FieldError::new(
                    path,
                    "custom_field_archived",
                    "this custom field is archived; its value can no longer be changed",
                ));
                continue;
            }
            match def.parse_value(&path, value) {
                Ok(None) if def.required => {
                    v.push(FieldError::new(path, "required", "must not be empty"))
                }
                Ok(parsed) => changes.push((def.clone(), parsed)),
                Err(e) => v.push(e),
            }
        }
        if creating {
            for def in self.defs.iter().filter(|d| d.required && !d.archived) {
                if !values.contains_key(&def.key) {
                    v.push(FieldError::new(
                        format!("custom_fields.{}", def.key),
                        "required",
                        "must not be empty",
                    ));
                }
            }
        }
        match v.finish() {
            Ok(()) => Ok(CustomChanges { changes }),
            Err(custodian_domain::DomainError::Invalid(errors)) => Err(errors),
        }
    }
}

/// Joins a record's own validation with its custom fields' so every problem is reported at
/// once; other failures of the record pass through.
pub(crate) fn merge<T>(
    record: Result<T, CoreError>,
    custom: Result<CustomChanges, Vec<FieldError>>,
) -> Result<(T, CustomChanges), CoreError> {
    match (record, custom) {
        (Ok(r), Ok(c)) => Ok((r, c)),
        (Ok(_), Err(errors)) => Err(CoreError::Validation(errors)),
        (Err(CoreError::Validation(mut errors)), Err(more)) => {
            errors.extend(more);
            Err(CoreError::Validation(errors))
        }
        (Err(e), _) => Err(e),
    }
}

fn aad_column(field_id: Uuid) -> String {
    format!("{VALUE_COLUMN}.{field_id}")
}

// ---------------------------------------------------------------------------------------------
// Definitions

struct DefData {
    entity: FieldEntity,
    key: String,
    label_en: String,
    label_zh: String,
    help_en: Option<String>,
    help_zh: Option<String>,
    kind: FieldKind,
    max_length: Option<i64>,
    decimals: Option<i64>,
    min: Option<i64>,
    max: Option<i64>,
    options: Vec<ChoiceOption>,
    classification: Classification,
    required: bool,
}

fn decimal_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn optional_text(v: &mut Validator, field: &str, raw: Option<&str>, max: usize) -> Option<String> {
    match raw {
        Some(s) if !s.trim().is_empty() => v.check(bounded_text(field, s, max, true)),
        _ => None,
    }
}

impl DefData {
    fn parse(input: &CustomFieldInput) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let entity = v.check(FieldEntity::parse("entity", &input.entity));
        let key = v.check(parse_slug("key", &input.key, limits::KEY));
        let label_en = v.check(bounded_text(
            "label_en",
            &input.label_en,
            limits::LABEL,
            false,
        ));
        let label_zh = v.check(bounded_text(
            "label_zh",
            &input.label_zh,
            limits::LABEL,
            false,
        ));
        let help_en = optional_text(&mut v, "help_en", input.help_en.as_deref(), limits::HELP);
        let help_zh = optional_text(&mut v, "help_zh", input.help_zh.as_deref(), limits::HELP);
        let kind = v.check(FieldKind::parse("type", &input.kind));
        let classification = v.check(parse_classification(
            "classification",
            &input.classification,
        ));
        let (mut max_length, mut decimals, mut min, mut max) = (None, None, None, None);
        let mut options = Vec::new();
        match kind {
            Some(FieldKind::Text) => {
                let n = input.max_length.unwrap_or(limits::TEXT_DEFAULT);
                if (1..=limits::TEXT_MAX).contains(&n) {
                    max_length = Some(n);
                } else {
                    v.push(FieldError::new(
                        "max_length",
                        "invalid_max_length",
                        format!("must be between 1 and {}", limits::TEXT_MAX),
                    ));
                }
            }
            Some(FieldKind::Number) => {
                let d = input.decimals.unwrap_or(0);
                if (0..=limits::DECIMALS).contains(&d) {
                    decimals = Some(d);
                    let places = u32::try_from(d).unwrap_or(0);
                    let bound = |v: &mut Validator, field: &str, raw: &Option<Value>| {
                        raw.as_ref()
                            .and_then(decimal_text)
                            .and_then(|s| v.check(parse_decimal(field, &s, places)))
                    };
                    min = bound(&mut v, "min", &input.min);
                    max = bound(&mut v, "max", &input.max);
                    if let (Some(lo), Some(hi)) = (min, max)
                        && lo > hi
                    {
                        v.push(FieldError::new(
                            "max",
                            "min_above_max",
                            "must not be less than the minimum",
                        ));
                    }
                } else {
                    v.push(FieldError::new(
                        "decimals",
                        "invalid_decimals",
                        format!("must be between 0 and {}", limits::DECIMALS),
                    ));
                }
            }
            Some(FieldKind::Choice) => {
                options = parse_options(&mut v, &input.options);
            }
            _ => {}
        }
        v.finish()?;
        let missing = || CoreError::Internal("validated definition field missing");
        Ok(Self {
            entity: entity.ok_or_else(missing)?,
            key: key.ok_or_else(missing)?,
            label_en: label_en.ok_or_else(missing)?,
            label_zh: label_zh.ok_or_else(missing)?,
            help_en,
            help_zh,
            kind: kind.ok_or_else(missing)?,
            max_length,
            decimals,
            min,
            max,
            options,
            classification: classification.ok_or_else(missing)?,
            required: input.required,
        })
    }

    fn apply(&self, mut row: custom_field::Model) -> custom_field::Model {
        row.entity = self.entity.code().to_owned();
        row.key = self.key.clone();
        row.label_en = self.label_en.clone();
        row.label_zh = self.label_zh.clone();
        row.help_en = self.help_en.clone();
        row.help_zh = self.help_zh.clone();
        row.kind = self.kind.code().to_owned();
        row.max_length = self.max_length;
        row.decimals = self.decimals;
        row.min_scaled = self.min;
        row.max_scaled = self.max;
        row.options = serde_json::to_string(&self.options).unwrap_or_else(|_| "[]".into());
        row.classification = classification_code(self.classification).to_owned();
        row.required = i64::from(self.required);
        row
    }
}

fn parse_options(v: &mut Validator, raw: &[ChoiceOption]) -> Vec<ChoiceOption> {
    if raw.is_empty() {
        v.push(FieldError::new(
            "options",
            "options_required",
            "a choice field needs at least one option",
        ));
        return Vec::new();
    }
    if raw.len() > limits::OPTIONS {
        v.push(FieldError::new(
            "options",
            "too_many_options",
            format!("at most {} options are allowed", limits::OPTIONS),
        ));
        return Vec::new();
    }
    let mut out: Vec<ChoiceOption> = Vec::new();
    for (i, o) in raw.iter().enumerate() {
        let value = v.check(parse_slug(
            &format!("options[{i}].value"),
            &o.value,
            limits::KEY,
        ));
        let en = v.check(bounded_text(
            &format!("options[{i}].label_en"),
            &o.label_en,
            limits::LABEL,
            false,
        ));
        let zh = v.check(bounded_text(
            &format!("options[{i}].label_zh"),
            &o.label_zh,
            limits::LABEL,
            false,
        ));
        if let (Some(value), Some(label_en), Some(label_zh)) = (value, en, zh) {
            if out.iter().any(|o| o.value == value) {
                v.push(FieldError::new(
                    format!("options[{i}].value"),
                    "duplicate_option",
                    "each option needs a value of its own",
                ));
            } else {
                out.push(ChoiceOption {
                    value,
                    label_en,
                    label_zh,
                });
            }
        }
    }
    out
}

pub(crate) fn definition_view(row: &custom_field::Model) -> Result<CustomFieldView, CoreError> {
    let places = u32::try_from(row.decimals.unwrap_or(0)).map_err(|_| integrity("decimals"))?;
    Ok(CustomFieldView {
        id: CustomFieldId(row.id),
        entity: row.entity.clone(),
        key: row.key.clone(),
        label_en: row.label_en.clone(),
        label_zh: row.label_zh.clone(),
        help_en: row.help_en.clone(),
        help_zh: row.help_zh.clone(),
        kind: row.kind.clone(),
        max_length: row.max_length,
        decimals: row.decimals,
        min: row.min_scaled.map(|n| format_decimal(n, places)),
        max: row.max_scaled.map(|n| format_decimal(n, places)),
        options: stored_options(&row.options)?,
        classification: row.classification.clone(),
        required: row.required != 0,
        position: row.position,
        archived: row.archived_at.is_some(),
        created_at: from_millis(row.created_at),
        updated_at: from_millis(row.updated_at),
        version: row.version,
    })
}

fn to_input(view: &CustomFieldView, patch: CustomFieldPatch) -> CustomFieldInput {
    CustomFieldInput {
        entity: view.entity.clone(),
        key: view.key.clone(),
        label_en: patch.label_en.unwrap_or_else(|| view.label_en.clone()),
        label_zh: patch.label_zh.unwrap_or_else(|| view.label_zh.clone()),
        help_en: patch.help_en.unwrap_or_else(|| view.help_en.clone()),
        help_zh: patch.help_zh.unwrap_or_else(|| view.help_zh.clone()),
        kind: patch.kind.unwrap_or_else(|| view.kind.clone()),
        max_length: patch.max_length.unwrap_or(view.max_length),
        decimals: patch.decimals.or(view.decimals),
        min: patch
            .min
            .unwrap_or_else(|| view.min.clone().map(Value::String)),
        max: patch
            .max
            .unwrap_or_else(|| view.max.clone().map(Value::String)),
        options: patch.options.unwrap_or_else(|| view.options.clone()),
        classification: patch
            .classification
            .unwrap_or_else(|| view.classification.clone()),
        required: patch.required.unwrap_or(view.required),
        position: Some(patch.position.unwrap_or(view.position)),
    }
}

fn rule(code: &'static str, message: &'static str) -> CoreError {
    CoreError::Rule { code, message }
}

fn key_taken(e: custodian_store::StoreError) -> CoreError {
    if e.is_unique_violation() {
        rule(
            "custom_field_key_taken",
            "another field of this kind of record already has this key (archived fields keep theirs)",
        )
    } else {
        e.into()
    }
}

/// The event of a change of a definition: which field (its entity and key are configuration,
/// not personal data) and what happened to it.
fn definition_event(actor: &Actor, row: &custom_field::Model, change: &str) -> AuditEvent {
    AuditEvent::by(actor, AuditCode::ConfigChange)
        .target("custom_field", row.id)
        .detail("setting", "custom_field")
        .detail("change", change)
        .detail("entity", row.entity.clone())
        .detail("key", row.key.clone())
        .detail("classification", row.classification.clone())
}

/// The attributes a patch names.
fn patch_field_names(patch: &CustomFieldPatch) -> Vec<&'static str> {
    [
        ("label_en", patch.label_en.is_some()),
        ("label_zh", patch.label_zh.is_some()),
        ("help_en", patch.help_en.is_some()),
        ("help_zh", patch.help_zh.is_some()),
        ("type", patch.kind.is_some()),
        ("max_length", patch.max_length.is_some()),
        ("decimals", patch.decimals.is_some()),
        ("min", patch.min.is_some()),
        ("max", patch.max.is_some()),
        ("options", patch.options.is_some()),
        ("classification", patch.classification.is_some()),
        ("required", patch.required.is_some()),
        ("position", patch.position.is_some()),
        ("archived", patch.archived.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// Which definitions a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Archived {
    #[default]
    Exclude,
    Include,
}

impl Core {
    pub async fn create_custom_field(
        &self,
        actor: &Actor,
        input: CustomFieldInput,
    ) -> Result<CustomFieldView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageSettings)
            .await?;
        let data = DefData::parse(&input)?;
        let now = self.now();
        let txn = self.store().begin().await?;
        let existing = repo::custom_fields::list(&txn, Some(data.entity.code())).await?;
        if existing.len() >= limits::FIELDS_PER_ENTITY {
            return Err(rule(
                "custom_field_limit",
                "this kind of record already has the most custom fields allowed (50, archived ones included)",
            ));
        }
        let position = input.position.unwrap_or_else(|| {
            existing
                .iter()
                .map(|f| f.position)
                .max()
                .map_or(0, |p| p.saturating_add(1))
        });
        let row = data.apply(custom_field::Model {
            id: CustomFieldId::new_at(now).as_uuid(),
            entity: String::new(),
            key: String::new(),
            label_en: String::new(),
            label_zh: String::new(),
            help_en: None,
            help_zh: None,
            kind: String::new(),
            max_length: None,
            decimals: None,
            min_scaled: None,
            max_scaled: None,
            options: "[]".into(),
            classification: String::new(),
            required: 0,
            position,
            archived_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        });
        repo::custom_fields::insert(&txn, row.clone())
            .await
            .map_err(key_taken)?;
        self.audit_in(&txn, vec![definition_event(actor, &row, "create")])
            .await?;
        txn.commit().await?;
        definition_view(&row)
    }

    pub async fn get_custom_field(
        &self,
        _actor: &Actor,
        id: CustomFieldId,
    ) -> Result<CustomFieldView, CoreError> {
        let row = repo::custom_fields::get(self.store().conn(), id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound {
                entity: "custom field",
            })?;
        definition_view(&row)
    }

    /// Definitions in display order (everyone reads them: forms need them).
    pub async fn list_custom_fields(
        &self,
        _actor: &Actor,
        entity: Option<&str>,
        archived: Archived,
    ) -> Result<Vec<CustomFieldView>, CoreError> {
        let entity = entity
            .map(|e| FieldEntity::parse("entity", e))
            .transpose()?;
        let rows =
            repo::custom_fields::list(self.store().conn(), entity.map(FieldEntity::code)).await?;
        rows.iter()
            .filter(|r| archived == Archived::Include || r.archived_at.is_none())
            .map(definition_view)
            .collect()
    }

    pub async fn update_custom_field(
        &self,
        actor: &Actor,
        id: CustomFieldId,
        patch: CustomFieldPatch,
    ) -> Result<CustomFieldView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageSettings)
            .await?;
        let txn = self.store().begin().await?;
        let existing =
            repo::custom_fields::get(&txn, id.as_uuid())
                .await?
                .ok_or(CoreError::NotFound {
                    entity: "custom field",
                })?;
        if existing.version != patch.version {
            return Err(CoreError::StaleVersion {
                current_version: existing.version,
            });
        }
        let current = definition_view(&existing)?;
        let archived = patch.archived;
        let named = patch_field_names(&patch);
        let data = DefData::parse(&to_input(&current, patch.clone()))?;
        let old = FieldDef::from_row(&existing)?;
        let kind_changed = data.kind != old.kind
            || (data.kind == FieldKind::Number
                && data.decimals.unwrap_or(0) != existing.decimals.unwrap_or(0));
        let storage_changed =
            data.classification.encrypted_at_rest() != old.classification.encrypted_at_rest();
        let removed: Vec<&ChoiceOption> = old
            .options
            .iter()
            .filter(|o| {
                data.kind == FieldKind::Choice && !data.options.iter().any(|n| n.value == o.value)
            })
            .collect();
        if kind_changed || storage_changed || !removed.is_empty() {
            let in_use = repo::custom_fields::has_values(&txn, id.as_uuid()).await?;
            if in_use && kind_changed {
                return Err(rule(
                    "custom_field_type_locked",
                    "the field holds values, so its type and decimals cannot change (the stored values would no longer fit); add a new field instead",
                ));
            }
            if in_use && storage_changed {
                return Err(rule(
                    "custom_field_classification_locked",
                    "the field holds values, so it cannot move between plain (public, internal) and encrypted (personal, sensitive) classifications: every value would have to be re-encrypted or decrypted; add a new field instead",
                ));
            }
            for option in removed {
                // Encrypted values cannot be searched: any value at all keeps the options.
                let used = if old.encrypted() {
                    in_use
                } else {
                    repo::custom_fields::value_in_use(&txn, id.as_uuid(), &option.value).await?
                };
                if used {
                    return Err(rule(
                        "option_in_use",
                        "an option you removed is held by records (for personal or sensitive fields: the field holds values); change those records first",
                    ));
                }
            }
        }
        let now = self.now().max(existing.updated_at);
        let mut row = data.apply(existing.clone());
        row.position = patch.position.unwrap_or(existing.position);
        row.archived_at = match archived {
            Some(true) => existing.archived_at.or(Some(now)),
            Some(false) => None,
            None => existing.archived_at,
        };
        row.updated_at = now;
        row.version = existing.version + 1;
        let outcome =
            repo::custom_fields::update_versioned(&txn, row.clone(), existing.version).await?;
        crate::versioned_write("custom field", outcome)?;
        let event = definition_event(actor, &row, "update")
            .detail("fields", named)
            .detail("from_version", existing.version)
            .detail("to_version", row.version);
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        definition_view(&row)
    }

    /// Archives (or, with `archive = false`, restores) a field without a version check: the
    /// state is the whole change.
    pub async fn archive_custom_field(
        &self,
        actor: &Actor,
        id: CustomFieldId,
        archive: bool,
    ) -> Result<CustomFieldView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageSettings)
            .await?;
        let txn = self.store().begin().await?;
        let existing =
            repo::custom_fields::get(&txn, id.as_uuid())
                .await?
                .ok_or(CoreError::NotFound {
                    entity: "custom field",
                })?;
        if existing.archived_at.is_some() == archive {
            return definition_view(&existing);
        }
        let now = self.now().max(existing.updated_at);
        let mut row = existing.clone();
        row.archived_at = archive.then_some(now);
        row.updated_at = now;
        row.version = existing.version + 1;
        let outcome =
            repo::custom_fields::update_versioned(&txn, row.clone(), existing.version).await?;
        crate::versioned_write("custom field", outcome)?;
        let change = if archive { "archive" } else { "restore" };
        let event = definition_event(actor, &row, change)
            .detail("from_version", existing.version)
            .detail("to_version", row.version);
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        definition_view(&row)
    }

    // -----------------------------------------------------------------------------------------
    // Values

    /// The definitions of one entity, archived ones included (their values stay readable).
    pub(crate) async fn field_set<C: ConnectionTrait>(
        &self,
        conn: &C,
        entity: FieldEntity,
    ) -> Result<FieldSet, CoreError> {
        let rows = repo::custom_fields::list(conn, Some(entity.code())).await?;
        let defs = rows
            .iter()
            .map(FieldDef::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FieldSet { defs })
    }

    /// Value rows for `changes` on one record, encrypted where the classification says so.
    pub(crate) fn encode_custom(
        &self,
        entity: FieldEntity,
        key: &DataKey,
        record_id: Uuid,
        changes: &CustomChanges,
        now: i64,
    ) -> Result<Vec<custom_field_value::Model>, CoreError> {
        let mut rows = Vec::new();
        for (def, value) in &changes.changes {
            let Some(value) = value else { continue };
            let stored = def.stored(value);
            let mut row = custom_field_value::Model {
                record_id,
                field_id: def.id,
                entity: entity.code().to_owned(),
                value_text: None,
                value_number: None,
                value_ct: None,
                updated_at: now,
            };
            if def.encrypted() {
                let column = aad_column(def.id);
                let ctx = FieldContext {
                    table: VALUES_TABLE,
                    column: &column,
                    row_id: record_id,
                };
                row.value_ct = Some(encrypt_field(key, &ctx, stored.as_bytes(), self.rng())?);
            } else {
                row.value_number = match value {
                    Typed::Number(n) => Some(*n),
                    _ => None,
                };
                row.value_text = Some(stored);
            }
            rows.push(row);
        }
        Ok(rows)
    }

    /// Writes `changes` of one record (inside the record's transaction).
    pub(crate) async fn write_custom<C: ConnectionTrait>(
        &self,
        txn: &C,
        entity: FieldEntity,
        key: &DataKey,
        record_id: Uuid,
        changes: &CustomChanges,
        now: i64,
    ) -> Result<(), CoreError> {
        if changes.changes.is_empty() {
            return Ok(());
        }
        let rows = self.encode_custom(entity, key, record_id, changes, now)?;
        let fields: Vec<Uuid> = changes.changes.iter().map(|(d, _)| d.id).collect();
        repo::custom_fields::replace(txn, record_id, &fields, rows).await?;
        Ok(())
    }

    /// The custom values of records by id. With `key` (a detail view: one record and its data
    /// key), personal and sensitive values are decrypted; without (lists), they are left out.
    pub(crate) async fn custom_values<C: ConnectionTrait>(
        &self,
        conn: &C,
        entity: FieldEntity,
        record_ids: &[Uuid],
        key: Option<&DataKey>,
    ) -> Result<HashMap<Uuid, CustomValues>, CoreError> {
        self.custom_values_with(conn, entity, record_ids, |_| key)
            .await
    }

    /// The custom values of records by id, personal and sensitive ones decrypted with the key
    /// `key_for` gives for the record (left out where it gives none). Exports use it with each
    /// contact's own key.
    pub(crate) async fn custom_values_with<'k, C: ConnectionTrait>(
        &self,
        conn: &C,
        entity: FieldEntity,
        record_ids: &[Uuid],
        key_for: impl Fn(Uuid) -> Option<&'k DataKey>,
    ) -> Result<HashMap<Uuid, CustomValues>, CoreError> {
        let rows = repo::custom_fields::values_of(conn, record_ids).await?;
        let mut out: HashMap<Uuid, CustomValues> = HashMap::new();
        if rows.is_empty() {
            return Ok(out);
        }
        let set = self.field_set(conn, entity).await?;
        for row in rows {
            let Some(def) = set.defs.iter().find(|d| d.id == row.field_id) else {
                continue;
            };
            let stored = match (&row.value_text, &row.value_ct, key_for(row.record_id)) {
                (Some(text), None, _) => text.clone(),
                (None, Some(ct), Some(key)) => {
                    let column = aad_column(def.id);
                    let ctx = FieldContext {
                        table: VALUES_TABLE,
                        column: &column,
                        row_id: row.record_id,
                    };
                    let bytes = decrypt_field(key, &ctx, ct).map_err(|e| {
                        tracing::error!(
                            code = "data_integrity",
                            table = VALUES_TABLE,
                            field_id = %def.id,
                            row_id = %row.record_id,
                            error = %e,
                            "stored ciphertext failed to decrypt"
                        );
                        CoreError::DataIntegrity {
                            table: VALUES_TABLE,
                            column: VALUE_COLUMN,
                        }
                    })?;
                    String::from_utf8(bytes.to_vec()).map_err(|_| CoreError::DataIntegrity {
                        table: VALUES_TABLE,
                        column: VALUE_COLUMN,
                    })?
                }
                (None, Some(_), None) => continue,
                _ => {
                    return Err(CoreError::DataIntegrity {
                        table: VALUES_TABLE,
                        column: VALUE_COLUMN,
                    });
                }
            };
            out.entry(row.record_id)
                .or_default()
                .insert(def.key.clone(), def.json(&stored)?);
        }
        Ok(out)
    }

    /// One record's custom values for its detail view.
    pub(crate) async fn record_custom<C: ConnectionTrait>(
        &self,
        conn: &C,
        entity: FieldEntity,
        record_id: Uuid,
        key: &DataKey,
    ) -> Result<CustomValues, CoreError> {
        Ok(self
            .custom_values(conn, entity, &[record_id], Some(key))
            .await?
            .remove(&record_id)
            .unwrap_or_default())
    }

    /// The plain-value filter of a list: the field must exist for `entity` and be public or
    /// internal (encrypted values cannot be filtered on).
    pub(crate) async fn custom_filter(
        &self,
        entity: FieldEntity,
        key: &str,
        raw: &str,
    ) -> Result<(Uuid, String), CoreError> {
        let set = self.field_set(self.store().conn(), entity).await?;
        let not_filterable = || {
            CoreError::from(FieldError::new(
                "cf_key",
                "custom_field_not_filterable",
                "name a public or internal custom field of this kind of record",
            ))
        };
        let def = set
            .defs
            .iter()
            .find(|d| d.key == key)
            .ok_or_else(not_filterable)?;
        if def.encrypted() {
            return Err(not_filterable());
        }
        let value = match def.kind {
            FieldKind::Boolean => match raw.trim() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(raw.to_owned()),
            },
            _ => Value::String(raw.to_owned()),
        };
        match def.parse_value("cf_value", &value)? {
            Some(typed) => Ok((def.id, def.stored(&typed))),
            None => Err(FieldError::new("cf_value", "required", "must not be empty").into()),
        }
    }
}
