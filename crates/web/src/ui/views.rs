//! The global search page (a POST: entries are e-mail addresses, phones or names) and the
//! saved-views bar of the list pages.

use super::support::{Chrome, UiError, UiResultExt, Viewer, bad_request, render, safe_return_to};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::saved_views::{SavedViewInput, filters_from_query};
use custodian_core::search::SearchResults;
use serde::Deserialize;
use std::fmt;

/// Where each list with saved views lives.
fn list_path(entity: &str) -> &'static str {
    match entity {
        "companies" => "/companies",
        "deals" => "/deals/list",
        "leads" => "/leads",
        _ => "/contacts",
    }
}

pub(crate) struct ViewLink {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) href: String,
    pub(crate) current: bool,
}

/// The saved-views bar above a list: the user's views of it and a form saving the current
/// filters.
pub(crate) struct ViewsBar {
    pub(crate) entity: &'static str,
    pub(crate) views: Vec<ViewLink>,
    /// The current list's query string, without the page cursor.
    pub(crate) query: String,
    pub(crate) return_to: String,
}

impl fmt::Debug for ViewsBar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewsBar { .. }")
    }
}

/// Builds the bar for a list page from its raw query string.
pub(crate) async fn views_bar(
    v: &Viewer,
    entity: &'static str,
    raw_query: Option<&str>,
) -> Result<ViewsBar, UiError> {
    let query = raw_query
        .unwrap_or("")
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            !pair.is_empty() && key != "cursor" && key != "limit"
        })
        .collect::<Vec<_>>()
        .join("&");
    let current = filters_from_query(&query);
    let views = v
        .core()
        .saved_views(v.actor(), Some(entity))
        .await
        .ui(v)?
        .into_iter()
        .map(|view| ViewLink {
            id: view.id.to_string(),
            current: !current.is_empty() && view.filters == current,
            href: if view.query.is_empty() {
                list_path(entity).to_owned()
            } else {
                format!("{}?{}", list_path(entity), view.query)
            },
            name: view.name,
        })
        .collect();
    let path = list_path(entity);
    Ok(ViewsBar {
        entity,
        views,
        return_to: if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        },
        query,
    })
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct SaveViewForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    entity: String,
    name: String,
    query: String,
    return_to: String,
}

impl fmt::Debug for SaveViewForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SaveViewForm { .. }")
    }
}

pub(crate) async fn save(
    v: Viewer,
    form: Result<Form<SaveViewForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let input = SavedViewInput {
        entity: form.entity.clone(),
        name: form.name.clone(),
        filters: filters_from_query(&form.query),
    };
    v.core().create_saved_view(v.actor(), input).await.ui(&v)?;
    let back = safe_return_to(form.return_to.trim()).unwrap_or_else(|| list_path(&form.entity));
    Ok(Redirect::to(back).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeleteViewForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    return_to: String,
}

pub(crate) async fn delete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<DeleteViewForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = super::support::parse_id(&raw).ui(&v)?;
    v.core().delete_saved_view(v.actor(), id).await.ui(&v)?;
    let back = safe_return_to(form.return_to.trim()).unwrap_or("/contacts");
    Ok(Redirect::to(back).into_response())
}

// ---------------------------------------------------------------------------------------------
// Global search
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    q: String,
    error: Option<String>,
    results: Option<SearchResults>,
}

pub(crate) async fn search_form(v: Viewer) -> Response {
    let page = SearchPage {
        t: v.t(),
        chrome: v.chrome("search"),
        q: String::new(),
        error: None,
        results: None,
    };
    render(StatusCode::OK, &page)
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct SearchForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    q: String,
}

impl fmt::Debug for SearchForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SearchForm { .. }")
    }
}

pub(crate) async fn search(
    v: Viewer,
    form: Result<Form<SearchForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let t = v.t();
    let (status, results, error) = match v.core().search(v.actor(), &form.q).await {
        Ok(results) => (StatusCode::OK, Some(results), None),
        Err(CoreError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            errors.first().map(|e| super::support::field_message(&t, e)),
        ),
        Err(e) => return Err(v.fail(e)),
    };
    let page = SearchPage {
        t,
        chrome: v.chrome("search"),
        q: form.q,
        error,
        results,
    };
    Ok(render(status, &page))
}
