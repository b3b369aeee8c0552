//! Custom fields in the UI: the administrators' settings page (`/settings/fields`) and the
//! pieces record forms and detail pages share. Record forms send each value as `cf.<key>`;
//! a yes/no field also sends `cfb.<key>` so an unticked box means "no" rather than "absent".

use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, bad_request, field_message,
    parse_id, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::custom_fields::{
    Archived, ChoiceOption, CustomFieldInput, CustomFieldPatch, CustomFieldView, CustomValues,
};
use custodian_domain::{CustomFieldId, FieldError};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

const NAV: &str = "settings";
const ENTITIES: &[&str] = &["contact", "company", "deal"];
const TYPES: &[&str] = &["text", "number", "date", "choice", "boolean"];
const CLASSES: &[&str] = &["public", "internal", "personal", "sensitive"];
/// Empty option rows offered below the existing ones (no JavaScript needed).
const EXTRA_OPTION_ROWS: usize = 3;
const NEW_OPTION_ROWS: usize = 5;
const MAX_OPTION_ROWS: usize = 120;

// ---------------------------------------------------------------------------------------------
// On record forms and detail pages
// ---------------------------------------------------------------------------------------------

/// One custom field's input on a record form.
pub(crate) struct CustomInput {
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) help: String,
    /// `text`, `number`, `date`, `select` or `checkbox`.
    pub(crate) control: &'static str,
    pub(crate) value: String,
    pub(crate) checked: bool,
    pub(crate) options: Vec<SelectOption>,
    pub(crate) required: bool,
    pub(crate) step: String,
    pub(crate) maxlength: String,
    pub(crate) error: Option<String>,
}

/// A value as a detail page shows it.
pub(crate) struct ShownValue {
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) value: String,
}

/// The raw `cf.*` / `cfb.*` pairs of a submitted record form.
pub(crate) type RawCustom = BTreeMap<String, String>;

/// The active (not archived) fields of one entity, in display order.
pub(crate) async fn active_fields(
    v: &Viewer,
    entity: &str,
) -> Result<Vec<CustomFieldView>, UiError> {
    v.core()
        .list_custom_fields(v.actor(), Some(entity), Archived::Exclude)
        .await
        .ui(v)
}

/// A record's values as form text (for its edit form).
pub(crate) fn raw_from_values(values: Option<&CustomValues>) -> RawCustom {
    let mut raw = RawCustom::new();
    for (key, value) in values.into_iter().flatten() {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Bool(true) => "true".to_owned(),
            Value::Bool(false) => String::new(),
            other => other.to_string(),
        };
        raw.insert(format!("cf.{key}"), text);
        if value.is_boolean() {
            raw.insert(format!("cfb.{key}"), "1".to_owned());
        }
    }
    raw
}

/// The submitted values for the core: text as typed (empty clears), yes/no as booleans.
pub(crate) fn values_from_form(raw: &RawCustom) -> CustomValues {
    let mut out = CustomValues::new();
    for (name, value) in raw {
        if let Some(key) = name.strip_prefix("cfb.") {
            let ticked = raw.get(&format!("cf.{key}")).is_some_and(|v| v == "true");
            out.insert(key.to_owned(), Value::Bool(ticked));
        } else if let Some(key) = name.strip_prefix("cf.")
            && !raw.contains_key(&format!("cfb.{key}"))
        {
            out.insert(key.to_owned(), Value::String(value.clone()));
        }
    }
    out
}

/// Validation errors of a record form: `custom_fields.<key>` goes next to that field's input.
pub(crate) fn form_errors(t: &Tr<'_>, errors: &[FieldError], form_fields: &[&str]) -> FormErrors {
    let (custom, other): (Vec<FieldError>, Vec<FieldError>) = errors
        .iter()
        .cloned()
        .partition(|e| e.field.starts_with("custom_fields."));
    let mut out = FormErrors::from_fields(t, &other, form_fields);
    for e in &custom {
        // The domain's `invalid_number` reads "whole number" in the catalog; a custom number
        // may have decimals, so it gets the custom fields' own wording.
        let e = if e.code == "invalid_number" {
            FieldError::new(e.field.clone(), "expected_number", e.message.clone())
        } else {
            e.clone()
        };
        out.add(&e.field, field_message(t, &e));
    }
    out
}

/// The inputs of a record form, filled from `raw`, with their errors.
pub(crate) fn inputs(
    t: &Tr<'_>,
    fields: &[CustomFieldView],
    raw: &RawCustom,
    errors: &FormErrors,
) -> Vec<CustomInput> {
    let lang = t.lang();
    fields
        .iter()
        .map(|f| {
            let value = raw
                .get(&format!("cf.{}", f.key))
                .cloned()
                .unwrap_or_default();
            let control = match f.kind.as_str() {
                "number" => "number",
                "date" => "date",
                "choice" => "select",
                "boolean" => "checkbox",
                _ => "text",
            };
            let options = f
                .options
                .iter()
                .map(|o| SelectOption {
                    selected: o.value == value,
                    value: o.value.clone(),
                    label: o.label(lang).to_owned(),
                })
                .collect();
            let step = match f.decimals {
                Some(d) if d > 0 => {
                    format!("0.{}1", "0".repeat(usize::try_from(d - 1).unwrap_or(0)))
                }
                _ => "1".to_owned(),
            };
            CustomInput {
                label: f.label(lang).to_owned(),
                help: f.help(lang).unwrap_or_default().to_owned(),
                control,
                checked: value == "true",
                options,
                required: f.required,
                step,
                maxlength: f.max_length.map(|n| n.to_string()).unwrap_or_default(),
                error: errors
                    .get(&format!("custom_fields.{}", f.key))
                    .map(str::to_owned),
                key: f.key.clone(),
                value,
            }
        })
        .collect()
}

/// The values a detail page shows: active fields with a value, labels in the viewer's
/// language, choices by their label, yes/no translated.
pub(crate) fn shown(
    t: &Tr<'_>,
    fields: &[CustomFieldView],
    values: Option<&CustomValues>,
) -> Vec<ShownValue> {
    let lang = t.lang();
    let Some(values) = values else {
        return Vec::new();
    };
    fields
        .iter()
        .filter_map(|f| {
            let value = values.get(&f.key)?;
            let text = match value {
                Value::Bool(true) => t.t("custom_fields.yes").to_owned(),
                Value::Bool(false) => t.t("custom_fields.no").to_owned(),
                Value::String(s) if f.kind == "choice" => f
                    .options
                    .iter()
                    .find(|o| &o.value == s)
                    .map_or_else(|| s.clone(), |o| o.label(lang).to_owned()),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(ShownValue {
                key: f.key.clone(),
                label: f.label(lang).to_owned(),
                value: text,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Settings: list
// ---------------------------------------------------------------------------------------------

fn require_admin(v: &Viewer) -> Result<(), UiError> {
    if v.is_admin() {
        Ok(())
    } else {
        Err(v.fail(CoreError::Forbidden))
    }
}

struct FieldRow {
    id: String,
    key: String,
    label: String,
    kind: String,
    classification: String,
    required: bool,
    archived: bool,
}

struct EntityGroup {
    entity: &'static str,
    title: String,
    rows: Vec<FieldRow>,
}

#[derive(Template)]
#[template(path = "custom_fields/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    groups: Vec<EntityGroup>,
}

pub(crate) async fn list(v: Viewer) -> Result<Response, UiError> {
    require_admin(&v)?;
    let all = v
        .core()
        .list_custom_fields(v.actor(), None, Archived::Include)
        .await
        .ui(&v)?;
    let t = v.t();
    let lang = t.lang();
    let groups = ENTITIES
        .iter()
        .map(|entity| EntityGroup {
            entity,
            title: t.t(&format!("custom_fields.entity.{entity}")).to_owned(),
            rows: all
                .iter()
                .filter(|f| f.entity == *entity)
                .map(|f| FieldRow {
                    id: f.id.to_string(),
                    key: f.key.clone(),
                    label: f.label(lang).to_owned(),
                    kind: t.t(&format!("custom_fields.type.{}", f.kind)).to_owned(),
                    classification: t
                        .t(&format!("custom_fields.class.{}", f.classification))
                        .to_owned(),
                    required: f.required,
                    archived: f.archived,
                })
                .collect(),
        })
        .collect();
    let page = ListPage {
        t,
        chrome: v.chrome(NAV),
        groups,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------
// Settings: the definition form
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Clone)]
struct OptionRow {
    value: String,
    label_en: String,
    label_zh: String,
}

impl OptionRow {
    fn is_blank(&self) -> bool {
        self.value.trim().is_empty()
            && self.label_en.trim().is_empty()
            && self.label_zh.trim().is_empty()
    }
}

/// The definition form as submitted (all text). Options arrive as `opt_<n>_value`,
/// `opt_<n>_label_en`, `opt_<n>_label_zh`.
#[derive(Debug, Default)]
struct DefForm {
    csrf: String,
    entity: String,
    key: String,
    label_en: String,
    label_zh: String,
    help_en: String,
    help_zh: String,
    kind: String,
    max_length: String,
    decimals: String,
    min: String,
    max: String,
    classification: String,
    required: bool,
    archived: bool,
    position: String,
    version: String,
    options: Vec<OptionRow>,
}

impl DefForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                "_csrf" => f.csrf = value,
                "entity" => f.entity = value,
                "key" => f.key = value,
                "label_en" => f.label_en = value,
                "label_zh" => f.label_zh = value,
                "help_en" => f.help_en = value,
                "help_zh" => f.help_zh = value,
                "type" => f.kind = value,
                "max_length" => f.max_length = value,
                "decimals" => f.decimals = value,
                "min" => f.min = value,
                "max" => f.max = value,
                "classification" => f.classification = value,
                "required" => f.required = value == "true",
                "archived" => f.archived = value == "true",
                "position" => f.position = value,
                "version" => f.version = value,
                _ => {
                    let Some((index, part)) = name
                        .strip_prefix("opt_")
                        .and_then(|rest| rest.split_once('_'))
                    else {
                        continue;
                    };
                    let Ok(index) = index.parse::<usize>() else {
                        continue;
                    };
                    if index >= MAX_OPTION_ROWS {
                        continue;
                    }
                    if f.options.len() <= index {
                        f.options.resize(index + 1, OptionRow::default());
                    }
                    if let Some(row) = f.options.get_mut(index) {
                        match part {
                            "value" => row.value = value,
                            "label_en" => row.label_en = value,
                            "label_zh" => row.label_zh = value,
                            _ => {}
                        }
                    }
                }
            }
        }
        f
    }

    fn from_view(f: &CustomFieldView) -> Self {
        let mut form = Self {
            entity: f.entity.clone(),
            key: f.key.clone(),
            label_en: f.label_en.clone(),
            label_zh: f.label_zh.clone(),
            help_en: f.help_en.clone().unwrap_or_default(),
            help_zh: f.help_zh.clone().unwrap_or_default(),
            kind: f.kind.clone(),
            max_length: f.max_length.map(|n| n.to_string()).unwrap_or_default(),
            decimals: f.decimals.map(|n| n.to_string()).unwrap_or_default(),
            min: f.min.clone().unwrap_or_default(),
            max: f.max.clone().unwrap_or_default(),
            classification: f.classification.clone(),
            required: f.required,
            archived: f.archived,
            position: f.position.to_string(),
            version: f.version.to_string(),
            options: f
                .options
                .iter()
                .map(|o| OptionRow {
                    value: o.value.clone(),
                    label_en: o.label_en.clone(),
                    label_zh: o.label_zh.clone(),
                })
                .collect(),
            ..Self::default()
        };
        form.pad(EXTRA_OPTION_ROWS);
        form
    }

    fn pad(&mut self, blank: usize) {
        let have = self.options.iter().filter(|r| r.is_blank()).count();
        for _ in have..blank {
            self.options.push(OptionRow::default());
        }
    }

    fn options(&self) -> Vec<ChoiceOption> {
        self.options
            .iter()
            .filter(|r| !r.is_blank())
            .map(|r| ChoiceOption {
                value: r.value.trim().to_owned(),
                label_en: r.label_en.clone(),
                label_zh: r.label_zh.clone(),
            })
            .collect()
    }

    fn number(&self, field: &str, raw: &str) -> Result<Option<i64>, FieldError> {
        match raw.trim() {
            "" => Ok(None),
            s => s
                .parse()
                .map(Some)
                .map_err(|_| FieldError::new(field, "invalid_number", "must be a whole number")),
        }
    }

    fn text(raw: &str) -> Option<String> {
        Some(raw.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    fn decimal(raw: &str) -> Option<Value> {
        Self::text(raw).map(Value::String)
    }

    fn to_input(&self) -> Result<CustomFieldInput, FieldError> {
        Ok(CustomFieldInput {
            entity: self.entity.clone(),
            key: self.key.clone(),
            label_en: self.label_en.clone(),
            label_zh: self.label_zh.clone(),
            help_en: Self::text(&self.help_en),
            help_zh: Self::text(&self.help_zh),
            kind: self.kind.clone(),
            max_length: self.number("max_length", &self.max_length)?,
            decimals: self.number("decimals", &self.decimals)?,
            min: Self::decimal(&self.min),
            max: Self::decimal(&self.max),
            options: self.options(),
            classification: self.classification.clone(),
            required: self.required,
            position: self.number("position", &self.position)?,
        })
    }

    fn to_patch(&self) -> Result<CustomFieldPatch, FieldError> {
        let version = self.version.trim().parse::<i64>().map_err(|_| {
            FieldError::new("version", "invalid_version", "the form is out of date")
        })?;
        let input = self.to_input()?;
        Ok(CustomFieldPatch {
            version,
            label_en: Some(input.label_en),
            label_zh: Some(input.label_zh),
            help_en: Some(input.help_en),
            help_zh: Some(input.help_zh),
            kind: Some(input.kind),
            max_length: Some(input.max_length),
            decimals: input.decimals,
            min: Some(input.min),
            max: Some(input.max),
            options: Some(input.options),
            classification: Some(input.classification),
            required: Some(input.required),
            position: input.position,
            archived: Some(self.archived),
        })
    }
}

const DEF_FIELDS: &[&str] = &[
    "entity",
    "key",
    "label_en",
    "label_zh",
    "help_en",
    "help_zh",
    "type",
    "max_length",
    "decimals",
    "min",
    "max",
    "classification",
    "position",
    "options",
];

struct OptionRowView {
    index: usize,
    value: String,
    label_en: String,
    label_zh: String,
}

#[derive(Template)]
#[template(path = "custom_fields/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    editing: bool,
    entity_label: String,
    entities: Vec<SelectOption>,
    types: Vec<SelectOption>,
    classes: Vec<SelectOption>,
    /// Not `form.key` alone: the input macro's parameter is called `name`.
    f_key: String,
    f_label_en: String,
    f_label_zh: String,
    f_help_en: String,
    f_help_zh: String,
    f_max_length: String,
    f_decimals: String,
    f_min: String,
    f_max: String,
    f_position: String,
    version: String,
    required: bool,
    archived: bool,
    options: Vec<OptionRowView>,
    errors: FormErrors,
    stale: bool,
}

fn choices(t: &Tr<'_>, prefix: &str, codes: &[&str], selected: &str) -> Vec<SelectOption> {
    codes
        .iter()
        .map(|c| SelectOption {
            value: (*c).to_owned(),
            label: t.t(&format!("{prefix}.{c}")).to_owned(),
            selected: *c == selected,
        })
        .collect()
}

fn form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    form: DefForm,
    errors: FormErrors,
    stale: bool,
) -> Response {
    let t = v.t();
    let page = FormPage {
        entity_label: t
            .t(&format!("custom_fields.entity.{}", form.entity))
            .to_owned(),
        entities: choices(&t, "custom_fields.entity", ENTITIES, &form.entity),
        types: choices(&t, "custom_fields.type", TYPES, &form.kind),
        classes: choices(&t, "custom_fields.class", CLASSES, &form.classification),
        t,
        chrome: v.chrome(NAV),
        title_key: if id.is_some() {
            "custom_fields.edit_title"
        } else {
            "custom_fields.new_title"
        },
        action: id.map_or_else(
            || "/settings/fields".to_owned(),
            |id| format!("/settings/fields/{id}"),
        ),
        editing: id.is_some(),
        f_key: form.key,
        f_label_en: form.label_en,
        f_label_zh: form.label_zh,
        f_help_en: form.help_en,
        f_help_zh: form.help_zh,
        f_max_length: form.max_length,
        f_decimals: form.decimals,
        f_min: form.min,
        f_max: form.max,
        f_position: form.position,
        version: form.version,
        required: form.required,
        archived: form.archived,
        options: form
            .options
            .into_iter()
            .enumerate()
            .map(|(index, o)| OptionRowView {
                index,
                value: o.value,
                label_en: o.label_en,
                label_zh: o.label_zh,
            })
            .collect(),
        errors,
        stale,
    };
    render(status, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewParams {
    entity: Option<String>,
}

pub(crate) async fn new_form(
    v: Viewer,
    params: Result<Query<NewParams>, QueryRejection>,
) -> Result<Response, UiError> {
    require_admin(&v)?;
    let entity = params
        .ok()
        .and_then(|Query(p)| p.entity)
        .filter(|e| ENTITIES.contains(&e.as_str()))
        .unwrap_or_else(|| "contact".to_owned());
    let mut form = DefForm {
        entity,
        kind: "text".to_owned(),
        classification: "internal".to_owned(),
        ..DefForm::default()
    };
    form.pad(NEW_OPTION_ROWS);
    Ok(form_page(
        &v,
        StatusCode::OK,
        None,
        form,
        FormErrors::default(),
        false,
    ))
}

/// A refusal (409) as a general message in the viewer's language.
fn rule_errors(t: &Tr<'_>, code: &str) -> FormErrors {
    let mut errors = FormErrors::default();
    errors
        .general
        .push(t.t(&format!("custom_fields.rule.{code}")).to_owned());
    errors
}

fn invalid(t: &Tr<'_>, errors: &[FieldError]) -> FormErrors {
    let mut out = FormErrors::default();
    for e in errors {
        let field = if e.field.starts_with("options[") {
            "options"
        } else {
            e.field.as_str()
        };
        let message = field_message(t, e);
        if DEF_FIELDS.contains(&field) {
            out.add(field, message);
        } else {
            out.general.push(message);
        }
    }
    out
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(pairs)) = form else {
        return Err(v.fail(bad_request()));
    };
    let mut form = DefForm::from_pairs(pairs);
    v.check_csrf(&form.csrf)?;
    require_admin(&v)?;
    let t = v.t();
    let result = match form.to_input() {
        Ok(input) => v.core().create_custom_field(v.actor(), input).await,
        Err(e) => Err(e.into()),
    };
    let (status, errors) = match result {
        Ok(_) => return Ok(Redirect::to("/settings/fields").into_response()),
        Err(CoreError::Validation(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, invalid(&t, &errors))
        }
        Err(CoreError::Rule { code, .. }) => (StatusCode::CONFLICT, rule_errors(&t, code)),
        Err(e) => return Err(v.fail(e)),
    };
    form.pad(EXTRA_OPTION_ROWS);
    Ok(form_page(&v, status, None, form, errors, false))
}

pub(crate) async fn edit_form(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    require_admin(&v)?;
    let id = parse_id(&raw).ui(&v)?;
    let field = v
        .core()
        .get_custom_field(v.actor(), CustomFieldId(id))
        .await
        .ui(&v)?;
    let id = field.id.to_string();
    Ok(form_page(
        &v,
        StatusCode::OK,
        Some(&id),
        DefForm::from_view(&field),
        FormErrors::default(),
        false,
    ))
}

pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(pairs)) = form else {
        return Err(v.fail(bad_request()));
    };
    let mut form = DefForm::from_pairs(pairs);
    v.check_csrf(&form.csrf)?;
    require_admin(&v)?;
    let id = parse_id(&raw).ui(&v)?;
    let current = v
        .core()
        .get_custom_field(v.actor(), CustomFieldId(id))
        .await
        .ui(&v)?;
    // Entity and key never change: the form shows them, the server keeps its own.
    form.entity = current.entity.clone();
    form.key = current.key.clone();
    let id_text = id.to_string();
    let t = v.t();
    let result = match form.to_patch() {
        Ok(patch) => {
            v.core()
                .update_custom_field(v.actor(), CustomFieldId(id), patch)
                .await
        }
        Err(e) => Err(e.into()),
    };
    let (status, errors, stale) = match result {
        Ok(_) => return Ok(Redirect::to("/settings/fields").into_response()),
        Err(CoreError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid(&t, &errors),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(CoreError::Rule { code, .. }) => (StatusCode::CONFLICT, rule_errors(&t, code), false),
        Err(e) => return Err(v.fail(e)),
    };
    form.pad(EXTRA_OPTION_ROWS);
    Ok(form_page(&v, status, Some(&id_text), form, errors, stale))
}
