//! The security dashboard (`/security`) and alert pages for security officers: unresolved
//! alerts, alerts per rule over 30 days (chart), the rules as configured, the last
//! verification of the audit log (and a button to run one), a filtered list of all alerts;
//! one alert with its detail, notes and deliveries, and a form to own, acknowledge, resolve
//! or annotate it.

use super::charts::{BarChart, Category, Layout, Series};
use super::session::{CsrfOnly, csrf_checked};
use super::support::{
    Chrome, UiError, UiResultExt, Viewer, bad_request, build_url, format_millis, parse_id, render,
};
use crate::api::security::AlertParams;
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::monitor::alerts::{AlertChange, AlertView, STATUSES};
use custodian_core::monitor::rules::ALL_RULES;
use serde::Deserialize;

const NAV: &str = "security";
/// Notices a redirect may ask for.
const NOTICES: [&str; 3] = [
    "security.changed",
    "security.verified_intact",
    "security.verified_broken",
];

/// A rule's name in the viewer's language (its code when unknown).
pub(crate) fn rule_text(t: &Tr<'_>, rule: &str) -> String {
    let key = format!("alert_rule.{rule}");
    match t.t(&key) {
        text if text == key => rule.to_owned(),
        text => text.to_owned(),
    }
}

/// An alert as a row. The subject's e-mail is personal data, held only for rendering.
struct Row {
    id: String,
    rule: String,
    rule_code: String,
    severity: String,
    status: String,
    subject: String,
    occurrences: i64,
    action: String,
    created: String,
}

fn row(t: &Tr<'_>, a: AlertView) -> Row {
    Row {
        id: a.id.to_string(),
        rule: rule_text(t, &a.rule),
        rule_code: a.rule,
        severity: a.severity,
        status: a.status,
        subject: a
            .subject_email
            .or_else(|| a.subject_user_id.map(|u| u.to_string()))
            .unwrap_or_default(),
        occurrences: a.occurrences,
        action: a.action.unwrap_or_default(),
        created: format_millis(a.created_at),
    }
}

struct RuleRow {
    name: String,
    code: String,
    severity: String,
    enabled: bool,
    threshold: String,
    action: String,
}

#[derive(Template)]
#[template(path = "security/dashboard.html")]
struct DashboardPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    notice: Option<&'static str>,
    unresolved: Vec<Row>,
    chart_svg: Option<String>,
    chart_table: Option<String>,
    rules: Vec<RuleRow>,
    verification: Option<(String, bool, u64, usize)>,
    lag: i64,
    form: FilterForm,
    rule_codes: Vec<(&'static str, String)>,
    statuses: [&'static str; 3],
    alerts: Vec<Row>,
    next: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct FilterForm {
    status: String,
    rule: String,
    cursor: String,
    notice: String,
}

/// `/security`.
pub(crate) async fn dashboard(
    v: Viewer,
    query: Result<Query<FilterForm>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(form)) = query else {
        return Err(v.fail(bad_request()));
    };
    let core = v.core();
    let board = core.security_dashboard(v.actor()).await.ui(&v)?;
    let params: AlertParams = serde_json::from_value(serde_json::json!({
        "status": form.status,
        "rule": form.rule,
    }))
    .map_err(|_| v.fail(bad_request()))?;
    let cursor = Some(form.cursor.trim()).filter(|c| !c.is_empty());
    let page = core
        .list_alerts(v.actor(), &params.filter(), cursor, Some(50))
        .await
        .ui(&v)?;
    let t = v.t();
    let chart = (!board.by_rule.is_empty()).then(|| {
        let categories = board
            .by_rule
            .iter()
            .map(|c| {
                let values = vec![c.open, c.acknowledged, c.resolved];
                Category {
                    label: rule_text(&t, &c.rule),
                    labels: values.iter().map(i64::to_string).collect(),
                    total: Some((c.open + c.acknowledged + c.resolved).to_string()),
                    values,
                }
            })
            .collect::<Vec<_>>();
        let series = [
            "security.status_open",
            "security.status_acknowledged",
            "security.status_resolved",
        ]
        .iter()
        .map(|key| Series {
            name: t.t(key).to_owned(),
        })
        .collect();
        let chart = BarChart {
            id: "chart-alerts-by-rule",
            title: t.t("security.by_rule").to_owned(),
            desc: t.t("security.by_rule_desc").to_owned(),
            category_header: t.t("security.rule").to_owned(),
            series,
            categories,
            layout: Layout::Horizontal,
            stacked: true,
            tick: &|v: i64| v.to_string(),
        };
        (chart.svg(), chart.table())
    });
    let (chart_svg, chart_table) = chart.unzip();
    let next = page.next_cursor.map(|c| {
        build_url(
            "/security",
            &[
                ("status", form.status.as_str()),
                ("rule", form.rule.as_str()),
                ("cursor", &c),
            ],
        )
    });
    let p = DashboardPage {
        notice: NOTICES.into_iter().find(|n| *n == form.notice),
        unresolved: board.unresolved.into_iter().map(|a| row(&t, a)).collect(),
        chart_svg,
        chart_table,
        rules: board
            .rules
            .into_iter()
            .map(|r| RuleRow {
                name: rule_text(&t, &r.rule),
                code: r.rule,
                severity: r.severity,
                enabled: r.enabled,
                threshold: r.threshold,
                action: r.action,
            })
            .collect(),
        verification: board
            .last_verification
            .map(|v| (format_millis(v.at), v.intact, v.events, v.problems)),
        lag: board.monitor_lag,
        rule_codes: ALL_RULES
            .iter()
            .map(|r| (r.code(), rule_text(&t, r.code())))
            .collect(),
        statuses: STATUSES,
        alerts: page.items.into_iter().map(|a| row(&t, a)).collect(),
        next,
        form,
        chrome: v.chrome(NAV),
        t,
    };
    Ok(render(StatusCode::OK, &p))
}

/// `POST /security/verify`: verifies the audit log now.
pub(crate) async fn verify(
    v: Viewer,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    csrf_checked(&v, form)?;
    let result = v.core().verify_audit_now(v.actor()).await.ui(&v)?;
    let notice = if result.intact {
        "security.verified_intact"
    } else {
        "security.verified_broken"
    };
    Ok(Redirect::to(&format!("/security?notice={notice}")).into_response())
}

struct NoteRow {
    author: String,
    body: String,
    when: String,
}

#[derive(Template)]
#[template(path = "security/alert.html")]
struct AlertPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    notice: Option<&'static str>,
    id: String,
    rule: String,
    rule_code: String,
    severity: String,
    severity_label: String,
    status: String,
    status_label: String,
    subject: String,
    subject_id: String,
    detail: String,
    first_seq: i64,
    last_seq: i64,
    occurrences: i64,
    action: String,
    action_label: String,
    owner: String,
    mine: bool,
    created: String,
    updated: String,
    resolved: String,
    version: i64,
    statuses: [&'static str; 3],
    notes: Vec<NoteRow>,
    deliveries: Vec<(String, String, i64, String)>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct AlertQuery {
    notice: String,
}

/// `/security/alerts/{id}`.
pub(crate) async fn alert(
    v: Viewer,
    Path(raw): Path<String>,
    query: Result<Query<AlertQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(q)) = query else {
        return Err(v.fail(bad_request()));
    };
    let id = parse_id(&raw).map_err(|e| v.fail(e))?;
    let notice = NOTICES.into_iter().find(|n| *n == q.notice);
    alert_page(&v, id, notice, None, StatusCode::OK).await
}

async fn alert_page(
    v: &Viewer,
    id: uuid::Uuid,
    notice: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let detail = v.core().get_alert(v.actor(), id).await.ui(v)?;
    let t = v.t();
    let a = detail.alert;
    let me = v.actor().user_id.as_uuid();
    let p = AlertPage {
        notice,
        id: a.id.to_string(),
        rule: rule_text(&t, &a.rule),
        rule_code: a.rule,
        severity_label: t.t(&format!("security.severity_{}", a.severity)).to_owned(),
        severity: a.severity,
        status_label: t.t(&format!("security.status_{}", a.status)).to_owned(),
        status: a.status,
        action_label: a
            .action
            .as_deref()
            .map(|x| t.t(&format!("security.action_{x}")).to_owned())
            .unwrap_or_default(),
        subject: a.subject_email.unwrap_or_default(),
        subject_id: a.subject_user_id.map(|u| u.to_string()).unwrap_or_default(),
        detail: serde_json::to_string_pretty(&a.detail).unwrap_or_default(),
        first_seq: a.first_seq,
        last_seq: a.last_seq,
        occurrences: a.occurrences,
        action: a.action.unwrap_or_default(),
        owner: a.owner_id.map(|o| o.to_string()).unwrap_or_default(),
        mine: a.owner_id == Some(me),
        created: format_millis(a.created_at),
        updated: format_millis(a.updated_at),
        resolved: a.resolved_at.map(format_millis).unwrap_or_default(),
        version: a.version,
        statuses: STATUSES,
        notes: detail
            .notes
            .into_iter()
            .map(|n| NoteRow {
                author: n.author_id.to_string(),
                body: n.body,
                when: format_millis(n.created_at),
            })
            .collect(),
        deliveries: detail
            .deliveries
            .into_iter()
            .map(|d| {
                (
                    d.channel,
                    d.status,
                    d.attempts,
                    d.last_error.unwrap_or_default(),
                )
            })
            .collect(),
        error,
        chrome: v.chrome(NAV),
        t,
    };
    Ok(render(status, &p))
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ChangeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: i64,
    status: String,
    /// `me`, `none` or empty (unchanged).
    owner: String,
    note: String,
}

impl std::fmt::Debug for ChangeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeForm { .. }")
    }
}

/// `POST /security/alerts/{id}`.
pub(crate) async fn change(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ChangeForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).map_err(|e| v.fail(e))?;
    let owner = match form.owner.as_str() {
        "me" => Some(v.actor().user_id.as_uuid().to_string()),
        "none" => Some("none".to_owned()),
        _ => None,
    };
    let change = AlertChange {
        version: form.version,
        status: Some(form.status.trim().to_owned()).filter(|s| !s.is_empty()),
        owner,
        note: Some(form.note).filter(|n| !n.trim().is_empty()),
    };
    match v.core().change_alert(v.actor(), id, change).await {
        Ok(_) => Ok(
            Redirect::to(&format!("/security/alerts/{id}?notice=security.changed")).into_response(),
        ),
        Err(
            e @ (custodian_core::CoreError::Validation(_)
            | custodian_core::CoreError::StaleVersion { .. }),
        ) => {
            let t = v.t();
            let message = match &e {
                custodian_core::CoreError::Validation(errors) => errors
                    .iter()
                    .map(|f| super::support::field_message(&t, f))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => t.t("error.stale_version").to_owned(),
            };
            alert_page(
                &v,
                id,
                None,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}
