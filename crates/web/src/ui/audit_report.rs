//! The audit report page (`/audit/report`) for auditors: a range of days summed up for
//! management — sign-ins by day and reads of personal data by user as SVG charts,
//! second-factor coverage, privileged changes, exports, alerts and their handling, and the
//! log's verification. Printable as it is (the print style sheet hides the chrome).

use super::charts::{BarChart, Category, Layout, Series};
use super::security::rule_text;
use super::support::{UiError, UiResultExt, Viewer, bad_request, format_time, render};
use crate::i18n::Tr;
use askama::Template;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::Response;
use custodian_core::audit::report::AuditReport;
use serde::Deserialize;

const DAY_MS: i64 = 86_400_000;
/// The default range: the last 30 days, today included.
const DEFAULT_DAYS: i64 = 30;

/// The range as typed: days, both included (UTC).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ReportForm {
    from: String,
    to: String,
}

#[derive(Template)]
#[template(path = "audit/report.html")]
struct Page<'a> {
    t: Tr<'a>,
    chrome: super::support::Chrome,
    form: ReportForm,
    generated: String,
    report: AuditReport,
    sign_in_chart: Option<(String, String)>,
    reader_chart: Option<(String, String)>,
    alert_rows: Vec<(String, String, u64, u64)>,
    changes: Vec<(String, u64)>,
    recent: Vec<(String, String, String)>,
    verified_at: String,
}

fn day_of(ms: i64) -> String {
    let date = custodian_domain::clock::from_millis(ms).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Midnight (UTC) of a typed day, in Unix ms.
fn parse_day(field: &str, value: &str) -> Result<i64, custodian_core::CoreError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(value.trim(), &format).map_err(|_| {
        custodian_domain::FieldError::new(field, "invalid_day", "use a day such as 2026-11-01")
    })?;
    Ok(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// `/audit/report`.
pub(crate) async fn show(
    v: Viewer,
    query: Result<Query<ReportForm>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(mut form)) = query else {
        return Err(v.fail(bad_request()));
    };
    let today = v.core().clock().now_millis().div_euclid(DAY_MS) * DAY_MS;
    if form.to.trim().is_empty() {
        form.to = day_of(today);
    }
    if form.from.trim().is_empty() {
        form.from = day_of(today - (DEFAULT_DAYS - 1) * DAY_MS);
    }
    let from = parse_day("from", &form.from).ui(&v)?;
    let to = parse_day("to", &form.to).ui(&v)? + DAY_MS;
    let report = v.core().audit_report(v.actor(), from, to).await.ui(&v)?;
    let t = v.t();
    let sign_in_chart = (!report.sign_ins.by_day.is_empty()).then(|| {
        let chart = BarChart {
            id: "chart-sign-ins",
            title: t.t("report.sign_ins_chart").to_owned(),
            desc: t.t("report.sign_ins_chart_desc").to_owned(),
            category_header: t.t("report.day").to_owned(),
            series: ["report.succeeded", "report.failed"]
                .iter()
                .map(|key| Series {
                    name: t.t(key).to_owned(),
                })
                .collect(),
            categories: report
                .sign_ins
                .by_day
                .iter()
                .map(|d| {
                    let values = vec![
                        i64::try_from(d.succeeded).unwrap_or(i64::MAX),
                        i64::try_from(d.failed).unwrap_or(i64::MAX),
                    ];
                    Category {
                        label: d.day.clone(),
                        labels: values.iter().map(i64::to_string).collect(),
                        total: Some((d.succeeded + d.failed).to_string()),
                        values,
                    }
                })
                .collect(),
            layout: Layout::Vertical,
            stacked: true,
            tick: &|v: i64| v.to_string(),
        };
        (chart.svg(), chart.table())
    });
    let reader_chart = (!report.personal_data_reads.is_empty()).then(|| {
        let chart = BarChart {
            id: "chart-readers",
            title: t.t("report.readers_chart").to_owned(),
            desc: t.t("report.readers_chart_desc").to_owned(),
            category_header: t.t("report.user").to_owned(),
            series: ["report.reads", "report.reveals"]
                .iter()
                .map(|key| Series {
                    name: t.t(key).to_owned(),
                })
                .collect(),
            categories: report
                .personal_data_reads
                .iter()
                .map(|r| {
                    let values = vec![
                        i64::try_from(r.reads).unwrap_or(i64::MAX),
                        i64::try_from(r.reveals).unwrap_or(i64::MAX),
                    ];
                    Category {
                        label: r.user.email.clone(),
                        labels: values.iter().map(i64::to_string).collect(),
                        total: None,
                        values,
                    }
                })
                .collect(),
            layout: Layout::Horizontal,
            stacked: false,
            tick: &|v: i64| v.to_string(),
        };
        (chart.svg(), chart.table())
    });
    let alert_rows = report
        .alerts
        .by_rule
        .iter()
        .map(|r| {
            (
                rule_text(&t, &r.rule),
                r.severity.clone(),
                r.raised,
                r.resolved,
            )
        })
        .collect();
    let changes = report
        .privileged_changes
        .counts
        .iter()
        .map(|(code, n)| (code.clone(), *n))
        .collect();
    let recent = report
        .privileged_changes
        .recent
        .iter()
        .map(|change| {
            (
                format_time(custodian_domain::clock::from_millis(
                    change.event.occurred_at,
                )),
                change.event.code.clone(),
                change
                    .by
                    .as_ref()
                    .map(|u| u.email.clone())
                    .unwrap_or_else(|| change.event.actor_kind.clone()),
            )
        })
        .collect();
    let verified_at = format_time(custodian_domain::clock::from_millis(report.verification.at));
    let p = Page {
        t: v.t(),
        chrome: v.chrome("audit"),
        generated: format_time(custodian_domain::clock::from_millis(report.generated_at)),
        form,
        report,
        sign_in_chart,
        reader_chart,
        alert_rows,
        changes,
        recent,
        verified_at,
    };
    Ok(render(StatusCode::OK, &p))
}
