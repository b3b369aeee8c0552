//! The signed-in user's notifications: newest first, unread ones marked, each linking to its
//! task; mark one or all read. Only ever the viewer's own.

use super::deals::invalid_query;
use super::session::{CsrfOnly, csrf_checked_id};
use super::support::{
    Chrome, UiError, UiResultExt, Viewer, bad_request, build_url, format_time, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::notifications::NotificationQuery;
use custodian_domain::NotificationId;
use serde::Deserialize;

const NAV: &str = "notifications";

/// One notification as shown. The task title (personal) is held only for rendering.
struct Item {
    id: String,
    text: String,
    task_href: Option<String>,
    task_title: Option<String>,
    when: String,
    unread: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListParams {
    unread: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "notifications/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    items: Vec<Item>,
    unread_only: bool,
    next_href: Option<String>,
}

fn kind_text(t: &Tr<'_>, kind: &str) -> String {
    let key = format!("notification_kind.{kind}");
    match t.t(&key) {
        text if text == key => t.t("notification_kind.other").to_owned(),
        text => text.to_owned(),
    }
}

pub(crate) async fn list(
    v: Viewer,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let unread_only = p.unread == "1";
    let page = v
        .core()
        .list_notifications(
            v.actor(),
            NotificationQuery {
                unread_only,
                cursor: Some(p.cursor.trim().to_owned()).filter(|c| !c.is_empty()),
                limit: None,
            },
        )
        .await
        .ui(&v)?;
    let t = v.t();
    let items = page
        .items
        .into_iter()
        .map(|n| {
            // A task's notification links to the task; an alert's to the alert, named by its
            // rule.
            let (href, title) = match (n.task_id, n.alert_id) {
                (Some(task), _) => (Some(format!("/tasks/{task}")), n.task_title),
                (None, Some(alert)) => (
                    Some(format!("/security/alerts/{alert}")),
                    Some(super::security::rule_text(
                        &t,
                        n.alert_rule.as_deref().unwrap_or_default(),
                    )),
                ),
                (None, None) => (None, None),
            };
            Item {
                id: n.id.to_string(),
                text: kind_text(&t, &n.kind),
                task_href: href,
                task_title: title,
                when: format_time(n.created_at),
                unread: n.read_at.is_none(),
            }
        })
        .collect();
    let next_href = page.next_cursor.map(|c| {
        build_url(
            "/notifications",
            &[
                ("unread", if unread_only { "1" } else { "" }),
                ("cursor", &c),
            ],
        )
    });
    let page = ListPage {
        t,
        chrome: v.chrome(NAV),
        items,
        unread_only,
        next_href,
    };
    Ok(render(StatusCode::OK, &page))
}

pub(crate) async fn mark_read(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    v.core()
        .mark_notification_read(v.actor(), NotificationId(id))
        .await
        .ui(&v)?;
    Ok(Redirect::to("/notifications").into_response())
}

pub(crate) async fn mark_all_read(
    v: Viewer,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    v.core()
        .mark_all_notifications_read(v.actor())
        .await
        .ui(&v)?;
    Ok(Redirect::to("/notifications").into_response())
}
