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

/// What differs between the report's charts: two series of counts each.
struct CountChart {
    id: &'static str,
    /// The title's key; the description's is the same with `_desc`.
    key: &'static str,
    category_header: &'static str,
    series: [&'static str; 2],
    layout: Layout,
    stacked: bool,
}

/// A chart of two counts per category, as SVG and its data table; none without categories.
fn count_chart(
    t: &Tr<'_>,
    chart: CountChart,
    rows: impl Iterator<Item = (String, [u64; 2])>,
) -> Option<(String, String)> {
    let categories: Vec<Category> = rows
        .map(|(label, counts)| {
            let values: Vec<i64> = counts
                .iter()
                .map(|n| i64::try_from(*n).unwrap_or(i64::MAX))
                .collect();
            Category {
                label,
                labels: values.iter().map(i64::to_string).collect(),
                total: chart
                    .stacked
                    .then(|| counts.iter().sum::<u64>().to_string()),
                values,
            }
        })
        .collect();
    if categories.is_empty() {
        return None;
    }
    let chart = BarChart {
        id: chart.id,
        title: t.t(chart.key).to_owned(),
        desc: t.t(&format!("{}_desc", chart.key)).to_owned(),
        category_header: t.t(chart.category_header).to_owned(),
        series: chart
            .series
            .iter()
            .map(|key| Series {
                name: t.t(key).to_owned(),
            })
            .collect(),
        categories,
        layout: chart.layout,
        stacked: chart.stacked,
        tick: &|v: i64| v.to_string(),
    };
    Some((chart.svg(), chart.table()))
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
    let sign_in_chart = count_chart(
        &t,
        CountChart {
            id: "chart-sign-ins",
            key: "report.sign_ins_chart",
            category_header: "report.day",
            series: ["report.succeeded", "report.failed"],
            layout: Layout::Vertical,
            stacked: true,
        },
        report
            .sign_ins
            .by_day
            .iter()
            .map(|d| (d.day.clone(), [d.succeeded, d.failed])),
    );
    let reader_chart = count_chart(
        &t,
        CountChart {
            id: "chart-readers",
            key: "report.readers_chart",
            category_header: "report.user",
            series: ["report.reads", "report.reveals"],
            layout: Layout::Horizontal,
            stacked: false,
        },
        report
            .personal_data_reads
            .iter()
            .map(|r| (r.user.email.clone(), [r.reads, r.reveals])),
    );
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
