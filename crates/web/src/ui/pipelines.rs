//! Pipeline configuration pages (administrators only): the list with stages, create and edit.
//!
//! The stage editor is a fixed set of rows (the existing stages plus empty ones); a row with a
//! blank name is ignored, and the rows are ordered by their position numbers.

use super::support::{
    Chrome, FormErrors, UiError, UiResultExt, Viewer, bad_request, field_message, parse_id, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::deals::{PipelineInput, PipelinePatch, PipelineView, StageInput};
use custodian_domain::{FieldError, PipelineId};
use uuid::Uuid;

const NAV: &str = "pipelines";
/// Empty stage rows offered below the existing ones.
const EXTRA_ROWS: usize = 3;
/// Rows on a new pipeline's form.
const NEW_ROWS: usize = 5;
/// Row indexes beyond this are ignored (the domain allows 30 stages).
const MAX_ROWS: usize = 64;

fn require_admin(v: &Viewer) -> Result<(), UiError> {
    if v.is_admin() {
        Ok(())
    } else {
        Err(v.fail(CoreError::Forbidden))
    }
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "pipelines/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    pipelines: Vec<PipelineView>,
}

pub(crate) async fn list(v: Viewer) -> Result<Response, UiError> {
    require_admin(&v)?;
    let pipelines = v.core().list_pipelines(v.actor()).await.ui(&v)?;
    let page = ListPage {
        t: v.t(),
        chrome: v.chrome(NAV),
        pipelines,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------
// The form
// ---------------------------------------------------------------------------------------------

/// One stage row as submitted (all text, so a bad value is shown back as typed).
#[derive(Debug, Default, Clone)]
pub(crate) struct StageRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) probability: String,
    pub(crate) position: String,
}

impl StageRow {
    fn is_blank(&self) -> bool {
        self.name.trim().is_empty()
    }
}

/// The pipeline form. Rows arrive as `stage_<n>_id`, `stage_<n>_name`,
/// `stage_<n>_probability` and `stage_<n>_position`.
#[derive(Debug, Default)]
pub(crate) struct PipelineForm {
    csrf: String,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) rows: Vec<StageRow>,
}

impl PipelineForm {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "_csrf" => form.csrf = value,
                "name" => form.name = value,
                "version" => form.version = value,
                _ => {
                    let Some((index, part)) = key
                        .strip_prefix("stage_")
                        .and_then(|rest| rest.split_once('_'))
                    else {
                        continue;
                    };
                    let Ok(index) = index.parse::<usize>() else {
                        continue;
                    };
                    if index >= MAX_ROWS {
                        continue;
                    }
                    if form.rows.len() <= index {
                        form.rows.resize(index + 1, StageRow::default());
                    }
                    let Some(row) = form.rows.get_mut(index) else {
                        continue;
                    };
                    match part {
                        "id" => row.id = value,
                        "name" => row.name = value,
                        "probability" => row.probability = value,
                        "position" => row.position = value,
                        _ => {}
                    }
                }
            }
        }
        form
    }

    fn from_view(p: &PipelineView) -> Self {
        let rows = p
            .stages
            .iter()
            .map(|s| StageRow {
                id: s.id.to_string(),
                name: s.name.clone(),
                probability: s.probability.to_string(),
                position: String::new(),
            })
            .collect();
        let mut form = Self {
            csrf: String::new(),
            name: p.name.clone(),
            version: p.version.to_string(),
            rows,
        };
        form.pad(EXTRA_ROWS);
        form
    }

    fn blank() -> Self {
        let mut form = Self::default();
        form.pad(NEW_ROWS);
        form
    }

    /// Adds empty rows until `blank` of them exist, and numbers the positions that are empty.
    fn pad(&mut self, blank: usize) {
        let have = self.rows.iter().filter(|r| r.is_blank()).count();
        for _ in have..blank {
            self.rows.push(StageRow::default());
        }
        for (i, row) in self.rows.iter_mut().enumerate() {
            if row.position.trim().is_empty() {
                row.position = (i + 1).to_string();
            }
        }
    }

    /// The stage list in position order, and for each entry the form row it came from (to put
    /// the domain's `stages[i]` errors next to the right row).
    pub(crate) fn stages(&self) -> Result<(Vec<StageInput>, Vec<usize>), RowErrors> {
        let mut errors = Vec::new();
        let mut keyed = Vec::new();
        for (row_index, row) in self.rows.iter().enumerate() {
            if row.is_blank() {
                continue;
            }
            let id = match row.id.trim() {
                "" => None,
                raw => match Uuid::parse_str(raw) {
                    Ok(id) => Some(id),
                    Err(_) => {
                        errors.push((
                            row_index,
                            FieldError::new("id", "unknown_stage", "no such stage"),
                        ));
                        None
                    }
                },
            };
            let probability = match row.probability.trim().parse::<i64>() {
                Ok(p) => p,
                Err(_) => {
                    errors.push((
                        row_index,
                        FieldError::new(
                            "probability",
                            "invalid_probability",
                            "must be a whole percentage from 0 to 100",
                        ),
                    ));
                    0
                }
            };
            let position = match row.position.trim() {
                // The same 1-based numbering the form shows.
                "" => i64::try_from(row_index + 1).unwrap_or(i64::MAX),
                raw => match raw.parse::<i64>() {
                    Ok(p) => p,
                    Err(_) => {
                        errors.push((
                            row_index,
                            FieldError::new("position", "invalid_position", "must be a number"),
                        ));
                        0
                    }
                },
            };
            keyed.push((
                position,
                row_index,
                StageInput {
                    id,
                    name: row.name.clone(),
                    probability,
                },
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Stable: equal positions keep the row order.
        keyed.sort_by_key(|(position, row, _)| (*position, *row));
        let rows = keyed.iter().map(|(_, row, _)| *row).collect();
        let stages = keyed.into_iter().map(|(_, _, s)| s).collect();
        Ok((stages, rows))
    }
}

/// Problems found in the form before asking the domain, each with its row.
pub(crate) type RowErrors = Vec<(usize, FieldError)>;

/// Form-field key for a row's input: `stage_3_name`.
pub(crate) fn row_key(row: usize, part: &str) -> String {
    format!("stage_{row}_{part}")
}

/// Puts the domain's errors next to the fields: `stages[i].name` goes to the row that became
/// stage `i`; errors about the stage list as a whole and anything unknown are general.
pub(crate) fn map_errors(t: &Tr<'_>, errors: &[FieldError], rows: &[usize]) -> FormErrors {
    let mut out = FormErrors::default();
    for e in errors {
        let message = field_message(t, e);
        if e.field == "name" {
            out.add("name", message);
            continue;
        }
        let row_field = e
            .field
            .strip_prefix("stages[")
            .and_then(|rest| rest.split_once("]."))
            .and_then(|(i, part)| Some((rows.get(i.parse::<usize>().ok()?)?, part)));
        match row_field {
            Some((row, part @ ("name" | "probability"))) => out.add(&row_key(*row, part), message),
            _ => out.general.push(message),
        }
    }
    out
}

/// One row as the template shows it.
struct RowView {
    index: usize,
    id: String,
    name: String,
    probability: String,
    position: String,
    name_label: String,
    probability_label: String,
    position_label: String,
    name_error: Option<String>,
    probability_error: Option<String>,
    position_error: Option<String>,
}

#[derive(Template)]
#[template(path = "pipelines/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    /// Not `name`: inside the input macro that would mean the macro's own parameter.
    pipeline_name: String,
    version: String,
    editing: bool,
    rows: Vec<RowView>,
    errors: FormErrors,
    stale: bool,
}

fn form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    form: PipelineForm,
    errors: FormErrors,
    stale: bool,
) -> Response {
    let t = v.t();
    let label = |key: &str, n: usize| t.t(key).replace("{n}", &(n + 1).to_string());
    let rows = form
        .rows
        .into_iter()
        .enumerate()
        .map(|(index, r)| RowView {
            name_label: label("pipelines.row_name", index),
            probability_label: label("pipelines.row_probability", index),
            position_label: label("pipelines.row_position", index),
            name_error: errors.get(&row_key(index, "name")).map(str::to_owned),
            probability_error: errors
                .get(&row_key(index, "probability"))
                .map(str::to_owned),
            position_error: errors.get(&row_key(index, "position")).map(str::to_owned),
            index,
            id: r.id,
            name: r.name,
            probability: r.probability,
            position: r.position,
        })
        .collect();
    let page = FormPage {
        t,
        chrome: v.chrome(NAV),
        title_key: if id.is_some() {
            "pipelines.edit_title"
        } else {
            "pipelines.new_title"
        },
        action: id.map_or_else(|| "/pipelines".to_owned(), |id| format!("/pipelines/{id}")),
        pipeline_name: form.name,
        version: form.version,
        editing: id.is_some(),
        rows,
        errors,
        stale,
    };
    render(status, &page)
}

/// Re-renders a refused form: the rows as submitted, plus empty ones to add more.
fn refused(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    mut form: PipelineForm,
    errors: FormErrors,
    stale: bool,
) -> Response {
    form.pad(EXTRA_ROWS);
    form_page(v, status, id, form, errors, stale)
}

fn row_errors(t: &Tr<'_>, errors: &[(usize, FieldError)]) -> FormErrors {
    let mut out = FormErrors::default();
    for (row, e) in errors {
        let message = field_message(t, e);
        if e.field == "id" {
            // A tampered hidden field: nothing on the row to point at.
            out.general.push(message);
        } else {
            out.add(&row_key(*row, &e.field), message);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

pub(crate) async fn new_form(v: Viewer) -> Result<Response, UiError> {
    require_admin(&v)?;
    Ok(form_page(
        &v,
        StatusCode::OK,
        None,
        PipelineForm::blank(),
        FormErrors::default(),
        false,
    ))
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(pairs)) = form else {
        return Err(v.fail(bad_request()));
    };
    let form = PipelineForm::from_pairs(pairs);
    v.check_csrf(&form.csrf)?;
    require_admin(&v)?;
    let t = v.t();
    let (stages, rows) = match form.stages() {
        Ok(parsed) => parsed,
        Err(errors) => {
            let errors = row_errors(&t, &errors);
            return Ok(refused(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            ));
        }
    };
    let input = PipelineInput {
        name: form.name.clone(),
        stages,
    };
    match v.core().create_pipeline(v.actor(), input).await {
        Ok(_) => Ok(Redirect::to("/pipelines").into_response()),
        Err(CoreError::Validation(errors)) => {
            let errors = map_errors(&t, &errors, &rows);
            Ok(refused(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            ))
        }
        Err(e) => Err(v.fail(e)),
    }
}

/// `GET /pipelines/{id}` (e.g. the language switch after a refused save) shows the editor.
pub(crate) async fn show(Path(raw): Path<String>) -> Redirect {
    match Uuid::parse_str(&raw) {
        Ok(id) => Redirect::to(&format!("/pipelines/{id}/edit")),
        Err(_) => Redirect::to("/pipelines"),
    }
}

pub(crate) async fn edit_form(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    require_admin(&v)?;
    let id = parse_id(&raw).ui(&v)?;
    let p = v
        .core()
        .get_pipeline(v.actor(), PipelineId(id))
        .await
        .ui(&v)?;
    let id = p.id.to_string();
    Ok(form_page(
        &v,
        StatusCode::OK,
        Some(&id),
        PipelineForm::from_view(&p),
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
    let form = PipelineForm::from_pairs(pairs);
    v.check_csrf(&form.csrf)?;
    require_admin(&v)?;
    let id = parse_id(&raw).ui(&v)?;
    let id_text = id.to_string();
    let t = v.t();
    let Ok(version) = form.version.trim().parse::<i64>() else {
        let errors = FormErrors::from_fields(
            &t,
            &[FieldError::new(
                "version",
                "invalid_version",
                "the form is out of date",
            )],
            &[],
        );
        return Ok(refused(
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&id_text),
            form,
            errors,
            false,
        ));
    };
    let (stages, rows) = match form.stages() {
        Ok(parsed) => parsed,
        Err(errors) => {
            let errors = row_errors(&t, &errors);
            return Ok(refused(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&id_text),
                form,
                errors,
                false,
            ));
        }
    };
    let patch = PipelinePatch {
        version,
        name: Some(form.name.clone()),
        stages: Some(stages),
    };
    let (status, errors, stale) = match v
        .core()
        .update_pipeline(v.actor(), PipelineId(id), patch)
        .await
    {
        Ok(_) => return Ok(Redirect::to("/pipelines").into_response()),
        Err(CoreError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            map_errors(&t, &errors, &rows),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(CoreError::Rule { code, .. }) => {
            let mut errors = FormErrors::default();
            let key = format!("error.{code}");
            let text = t.t(&key);
            errors.general.push(if text == key {
                t.t("error.conflict").to_owned()
            } else {
                text.to_owned()
            });
            (StatusCode::CONFLICT, errors, false)
        }
        Err(e) => return Err(v.fail(e)),
    };
    Ok(refused(&v, status, Some(&id_text), form, errors, stale))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::i18n::Catalogs;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn stage_rows_are_read_ordered_and_mapped_back() {
        let id = "0196f3a0-0000-7000-8000-000000000001";
        let form = PipelineForm::from_pairs(pairs(&[
            ("_csrf", "tok"),
            ("name", "Sales"),
            ("version", "2"),
            ("stage_0_id", id),
            ("stage_0_name", "Negotiation"),
            ("stage_0_probability", "70"),
            ("stage_0_position", "3"),
            ("stage_1_name", "  "),
            ("stage_1_probability", "x"),
            ("stage_2_name", "Lead"),
            ("stage_2_probability", "10"),
            ("stage_2_position", "1"),
            ("stage_3_name", "Offer"),
            ("stage_3_probability", " 40 "),
            ("stage_999_name", "ignored"),
            ("stage_x_name", "ignored"),
            ("unknown", "ignored"),
        ]));
        assert_eq!((form.csrf.as_str(), form.name.as_str()), ("tok", "Sales"));
        assert_eq!(form.rows.len(), 4);
        let (stages, rows) = form.stages().unwrap();
        let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
        // Row 3 has no position: its 1-based row number (4) places it last.
        assert_eq!(names, ["Lead", "Negotiation", "Offer"]);
        assert_eq!(rows, [2, 0, 3]);
        assert_eq!(stages[1].id.unwrap().to_string(), id);
        assert_eq!(stages[2].probability, 40);

        let catalogs = Catalogs::load().unwrap();
        let t = catalogs.translator("en");
        let errors = map_errors(
            &t,
            &[
                FieldError::new("stages[1].name", "duplicate_stage", "dup"),
                FieldError::new("stages[2].probability", "invalid_probability", "bad"),
                FieldError::new("stages", "invalid_stage_count", "count"),
                FieldError::new("name", "required", "required"),
            ],
            &rows,
        );
        assert!(errors.get("stage_0_name").unwrap().contains("must differ"));
        assert!(errors.get("stage_3_probability").is_some());
        assert!(errors.get("name").is_some());
        assert_eq!(errors.general.len(), 1);

        let bad = PipelineForm::from_pairs(pairs(&[
            ("stage_0_name", "Lead"),
            ("stage_0_probability", "ten"),
            ("stage_1_name", "Won"),
            ("stage_1_probability", "100"),
            ("stage_1_position", "last"),
            ("stage_1_id", "not-a-uuid"),
        ]));
        let errors = bad.stages().unwrap_err();
        let fields: Vec<(usize, &str)> =
            errors.iter().map(|(r, e)| (*r, e.field.as_str())).collect();
        assert_eq!(fields, [(0, "probability"), (1, "id"), (1, "position")]);
    }

    #[test]
    fn forms_get_empty_rows_to_add_stages() {
        assert_eq!(PipelineForm::blank().rows.len(), NEW_ROWS);
        let mut form =
            PipelineForm::from_pairs(pairs(&[("stage_0_name", "Lead"), ("stage_1_name", "")]));
        form.pad(EXTRA_ROWS);
        assert_eq!(form.rows.len(), 1 + EXTRA_ROWS);
        let positions: Vec<&str> = form.rows.iter().map(|r| r.position.as_str()).collect();
        assert_eq!(positions, ["1", "2", "3", "4"]);
    }
}
