//! The dashboard page (`/dashboard`, the landing page after sign-in): headline numbers and four
//! server-rendered SVG charts (`charts.rs`) from `Core::dashboard`, filtered by a GET form.
//! Money is charted one currency at a time (amounts in different currencies are never put on
//! one axis); the other currencies are one click away.

use super::charts::{BarChart, Category, Layout, Series};
use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, format_time, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::Response;
use custodian_core::CoreError;
use custodian_core::dashboard::{DashboardQuery, DashboardView, MAX_MONTHS};
use custodian_domain::UserId;
use custodian_domain::money::Currency;
use serde::Deserialize;

const NAV: &str = "dashboard";
const FORM_FIELDS: &[&str] = &["pipeline_id", "months", "from", "to", "currency"];
const MONTH_CHOICES: &[u32] = &[1, 3, 6, 12, MAX_MONTHS];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DashboardParams {
    pipeline_id: String,
    months: String,
    from: String,
    to: String,
    currency: String,
}

/// A headline figure.
struct Figure {
    id: &'static str,
    label: String,
    value: String,
    /// Further lines (one per currency).
    more: Vec<String>,
}

/// A chart section: the SVG and its data table (both already escaped), or an empty state.
struct ChartBlock {
    title: String,
    svg: String,
    table: String,
}

struct OverdueRow {
    href: String,
    title: String,
    assignee: String,
    due: String,
    days: String,
}

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    errors: FormErrors,
    pipelines: Vec<SelectOption>,
    months: Vec<SelectOption>,
    currencies: Vec<SelectOption>,
    from: String,
    to: String,
    /// Everything below is empty when the filters were refused.
    loaded: bool,
    pipeline_name: String,
    has_pipeline: bool,
    is_admin: bool,
    currency: String,
    other_currencies: Vec<(String, String)>,
    figures: Vec<Figure>,
    pipeline_chart: Option<ChartBlock>,
    won_lost_chart: Option<ChartBlock>,
    won_lost_value_chart: Option<ChartBlock>,
    activity_chart: Option<ChartBlock>,
    overdue_chart: Option<ChartBlock>,
    overdue_rows: Vec<OverdueRow>,
    period_text: String,
    months_text: String,
    generated: String,
}

pub(crate) async fn page(
    v: Viewer,
    params: Result<Query<DashboardParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(super::deals::invalid_query()));
    };
    let pipelines = v.core().list_pipelines(v.actor()).await.ui(&v)?;
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let query = DashboardQuery {
        pipeline_id: opt(&p.pipeline_id),
        months: opt(&p.months),
        from: opt(&p.from),
        to: opt(&p.to),
        currency: opt(&p.currency),
    };
    let t = v.t();
    let result = v.core().dashboard(v.actor(), query).await;
    let (status, view, errors) = match result {
        Ok(view) => (StatusCode::OK, Some(view), FormErrors::default()),
        Err(CoreError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            FormErrors::from_fields(&t, &errors, FORM_FIELDS),
        ),
        Err(e) => return Err(v.fail(e)),
    };
    let selected_pipeline = view
        .as_ref()
        .and_then(|d| d.pipeline.as_ref().map(|p| p.id.to_string()))
        .unwrap_or_else(|| p.pipeline_id.trim().to_owned());
    let selected_months = view
        .as_ref()
        .map(|d| d.won_lost.months.to_string())
        .unwrap_or_else(|| p.months.trim().to_owned());
    let mut page = DashboardPage {
        t,
        chrome: v.chrome(NAV),
        errors,
        pipelines: pipelines
            .iter()
            .map(|pl| SelectOption {
                value: pl.id.to_string(),
                label: pl.name.clone(),
                selected: pl.id.to_string() == selected_pipeline,
            })
            .collect(),
        months: MONTH_CHOICES
            .iter()
            .map(|m| SelectOption {
                value: m.to_string(),
                label: t.t("dashboard.months_n").replace("{n}", &m.to_string()),
                selected: m.to_string() == selected_months,
            })
            .collect(),
        currencies: Vec::new(),
        from: view
            .as_ref()
            .map_or_else(|| p.from.trim().to_owned(), |d| d.activities.from.clone()),
        to: view
            .as_ref()
            .map_or_else(|| p.to.trim().to_owned(), |d| d.activities.to.clone()),
        loaded: false,
        pipeline_name: String::new(),
        has_pipeline: !pipelines.is_empty(),
        is_admin: v.is_admin(),
        currency: String::new(),
        other_currencies: Vec::new(),
        figures: Vec::new(),
        pipeline_chart: None,
        won_lost_chart: None,
        won_lost_value_chart: None,
        activity_chart: None,
        overdue_chart: None,
        overdue_rows: Vec::new(),
        period_text: String::new(),
        months_text: String::new(),
        generated: String::new(),
    };
    if let Some(view) = view {
        fill(&v, &mut page, &view);
    }
    Ok(render(status, &page))
}

/// Groups thousands with commas: `1234567.50` → `1,234,567.50`.
pub(crate) fn group(decimal: &str) -> String {
    let (sign, rest) = decimal
        .strip_prefix('-')
        .map_or(("", decimal), |r| ("-", r));
    let (whole, fraction) = rest
        .split_once('.')
        .map_or((rest, None), |(w, f)| (w, Some(f)));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match fraction {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

fn money(currency: Currency, minor: i64) -> String {
    format!(
        "{} {}",
        currency.code(),
        group(&currency.format_amount(minor))
    )
}

/// Axis ticks in major units without a zero fraction (`CNY 1,200`), exact otherwise.
fn money_tick(currency: Currency, minor: i64) -> String {
    let text = currency.format_amount(minor);
    let text = match text.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => whole.to_owned(),
        _ => text,
    };
    group(&text)
}

/// How a user appears in a chart: the viewer by their own e-mail, anyone else by a short
/// user id (the end of their id: UUIDv7s begin with the creation time, so beginnings repeat).
fn who(v: &Viewer, t: &Tr<'_>, user: Option<UserId>) -> String {
    match user {
        None => t.t("dashboard.no_owner").to_owned(),
        Some(u) if u == v.actor().user_id => v.email().to_owned(),
        Some(u) => {
            let id = u.to_string();
            let tail = id.get(id.len().saturating_sub(8)..).unwrap_or(&id);
            t.t("dashboard.user_short").replace("{id}", tail)
        }
    }
}

fn month_label(t: &Tr<'_>, month: &str) -> String {
    let (year, number) = month.split_once('-').unwrap_or((month, ""));
    let number = number.trim_start_matches('0');
    t.t("dashboard.month_label")
        .replace("{year}", year)
        .replace("{month}", number)
        .replace("{mm}", month.split_once('-').map_or("", |(_, m)| m))
}

fn count(n: i64) -> String {
    group(&n.to_string())
}

fn fill(v: &Viewer, page: &mut DashboardPage<'_>, d: &DashboardView) {
    let t = v.t();
    page.loaded = true;
    page.generated = format_time(d.generated_at);
    page.pipeline_name = d
        .pipeline
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    // The charted currency: the filter, else the one with the most deals.
    let currency = d
        .currency
        .clone()
        .or_else(|| d.currencies.first().cloned())
        .and_then(|c| Currency::parse("currency", &c).ok());
    page.currency = currency.map(|c| c.code().to_owned()).unwrap_or_default();
    let mut codes = d.currencies.clone();
    if let Some(c) = &d.currency
        && !codes.contains(c)
    {
        codes.push(c.clone());
    }
    codes.sort();
    page.currencies = codes
        .iter()
        .map(|c| SelectOption {
            value: c.clone(),
            label: c.clone(),
            selected: *c == page.currency,
        })
        .collect();
    page.other_currencies = codes
        .iter()
        .filter(|c| **c != page.currency)
        .map(|c| {
            let href = super::support::build_url(
                "/dashboard",
                &[
                    (
                        "pipeline_id",
                        &d.pipeline
                            .as_ref()
                            .map(|p| p.id.to_string())
                            .unwrap_or_default(),
                    ),
                    ("months", &d.won_lost.months.to_string()),
                    ("from", &d.activities.from),
                    ("to", &d.activities.to),
                    ("currency", c),
                ],
            );
            (c.clone(), href)
        })
        .collect();
    page.period_text = t
        .t("dashboard.period_text")
        .replace("{from}", &d.activities.from)
        .replace("{to}", &d.activities.to);
    page.months_text = t
        .t("dashboard.months_text")
        .replace("{n}", &d.won_lost.months.to_string());

    let code = page.currency.clone();
    let in_currency = |list: &[custodian_core::dashboard::CurrencyAmount]| -> Vec<String> {
        let mut lines: Vec<String> = list
            .iter()
            .filter_map(|m| {
                Currency::parse("currency", &m.currency)
                    .ok()
                    .map(|c| money(c, m.minor))
            })
            .collect();
        if lines.is_empty() {
            lines.push("—".to_owned());
        }
        lines
    };
    let h = &d.headline;
    let first_and_rest = |mut lines: Vec<String>| {
        let first = lines.remove(0);
        (first, lines)
    };
    let (open_value, open_more) = first_and_rest(in_currency(&h.open_value));
    let (weighted, weighted_more) = first_and_rest(in_currency(&h.weighted_value));
    let (won_value, won_more) = first_and_rest(in_currency(&h.won_value));
    page.figures = vec![
        Figure {
            id: "fig-open-deals",
            label: t.t("dashboard.fig_open_deals").to_owned(),
            value: count(h.open_deals),
            more: Vec::new(),
        },
        Figure {
            id: "fig-open-value",
            label: t.t("dashboard.fig_open_value").to_owned(),
            value: open_value,
            more: open_more,
        },
        Figure {
            id: "fig-weighted-value",
            label: t.t("dashboard.fig_weighted_value").to_owned(),
            value: weighted,
            more: weighted_more,
        },
        Figure {
            id: "fig-won",
            label: t.t("dashboard.fig_won").to_owned(),
            value: format!("{} / {}", count(h.won_deals), count(h.lost_deals)),
            more: vec![match h.win_rate_percent {
                Some(r) => t.t("dashboard.win_rate").replace("{n}", &r.to_string()),
                None => t.t("dashboard.win_rate_none").to_owned(),
            }],
        },
        Figure {
            id: "fig-won-value",
            label: t.t("dashboard.fig_won_value").to_owned(),
            value: won_value,
            more: won_more,
        },
        Figure {
            id: "fig-activities",
            label: t.t("dashboard.fig_activities").to_owned(),
            value: count(h.activities),
            more: Vec::new(),
        },
        Figure {
            id: "fig-overdue",
            label: t.t("dashboard.fig_overdue").to_owned(),
            value: count(h.overdue_tasks),
            more: vec![
                t.t("dashboard.fig_overdue_mine")
                    .replace("{n}", &count(h.my_overdue_tasks)),
            ],
        },
    ];

    // (a) Open value by stage, in the charted currency.
    if let Some(cur) = currency {
        let tick = move |m: i64| money_tick(cur, m);
        let categories: Vec<Category> = d
            .pipeline_value
            .iter()
            .map(|s| {
                let found = s.values.iter().find(|x| x.currency == code);
                let (a, w) = found.map_or((0, 0), |x| (x.amount_minor, x.weighted_minor));
                Category {
                    label: format!("{} ({} %)", s.name, s.probability),
                    values: vec![a, w],
                    labels: vec![money(cur, a), money(cur, w)],
                    total: None,
                }
            })
            .collect();
        if categories.iter().any(|c| c.values.iter().any(|x| *x > 0)) {
            let chart = BarChart {
                id: "chart-pipeline",
                title: t
                    .t("dashboard.pipeline_chart_title")
                    .replace("{pipeline}", &page.pipeline_name)
                    .replace("{currency}", cur.code()),
                desc: t.t("dashboard.pipeline_chart_desc").to_owned(),
                category_header: t.t("dashboard.stage").to_owned(),
                series: vec![
                    Series {
                        name: t.t("dashboard.series_open").to_owned(),
                    },
                    Series {
                        name: t.t("dashboard.series_weighted").to_owned(),
                    },
                ],
                categories,
                layout: Layout::Horizontal,
                stacked: false,
                tick: &tick,
            };
            page.pipeline_chart = Some(block(&chart));
        }
    }

    // (b) Won and lost per month: counts, and value in the charted currency.
    let any_closed = d
        .won_lost
        .items
        .iter()
        .any(|m| m.won_deals + m.lost_deals > 0);
    if any_closed {
        let tick = |n: i64| count(n);
        let chart = BarChart {
            id: "chart-won-lost",
            title: t.t("dashboard.won_lost_chart_title").to_owned(),
            desc: t.t("dashboard.won_lost_chart_desc").to_owned(),
            category_header: t.t("dashboard.month").to_owned(),
            series: vec![
                Series {
                    name: t.t("dashboard.series_won").to_owned(),
                },
                Series {
                    name: t.t("dashboard.series_lost").to_owned(),
                },
            ],
            categories: d
                .won_lost
                .items
                .iter()
                .map(|m| Category {
                    label: month_label(&t, &m.month),
                    values: vec![m.won_deals, m.lost_deals],
                    labels: vec![count(m.won_deals), count(m.lost_deals)],
                    total: None,
                })
                .collect(),
            layout: Layout::Vertical,
            stacked: false,
            tick: &tick,
        };
        page.won_lost_chart = Some(block(&chart));
        if let Some(cur) = currency {
            let pick = |list: &[custodian_core::dashboard::CurrencyAmount]| {
                list.iter()
                    .find(|x| x.currency == code)
                    .map_or(0, |x| x.minor)
            };
            let categories: Vec<Category> = d
                .won_lost
                .items
                .iter()
                .map(|m| {
                    let (w, l) = (pick(&m.won), pick(&m.lost));
                    Category {
                        label: month_label(&t, &m.month),
                        values: vec![w, l],
                        labels: vec![money(cur, w), money(cur, l)],
                        total: None,
                    }
                })
                .collect();
            if categories.iter().any(|c| c.values.iter().any(|x| *x > 0)) {
                let tick = move |m: i64| money_tick(cur, m);
                let chart = BarChart {
                    id: "chart-won-lost-value",
                    title: t
                        .t("dashboard.won_lost_value_chart_title")
                        .replace("{currency}", cur.code()),
                    desc: t.t("dashboard.won_lost_value_chart_desc").to_owned(),
                    category_header: t.t("dashboard.month").to_owned(),
                    series: vec![
                        Series {
                            name: t.t("dashboard.series_won").to_owned(),
                        },
                        Series {
                            name: t.t("dashboard.series_lost").to_owned(),
                        },
                    ],
                    categories,
                    layout: Layout::Vertical,
                    stacked: false,
                    tick: &tick,
                };
                page.won_lost_value_chart = Some(block(&chart));
            }
        }
    }

    // (c) Activities per owner, stacked by kind.
    if !d.activities.owners.is_empty() {
        let tick = |n: i64| count(n);
        let chart = BarChart {
            id: "chart-activities",
            title: t.t("dashboard.activities_chart_title").to_owned(),
            desc: page.period_text.clone(),
            category_header: t.t("dashboard.owner").to_owned(),
            series: ["call", "meeting", "email", "note"]
                .iter()
                .map(|k| Series {
                    name: t.t(&format!("activity.kind.{k}")).to_owned(),
                })
                .collect(),
            categories: d
                .activities
                .owners
                .iter()
                .map(|o| {
                    let values = vec![o.calls, o.meetings, o.emails, o.notes];
                    Category {
                        label: who(v, &t, o.owner_id),
                        labels: values.iter().map(|n| count(*n)).collect(),
                        values,
                        total: Some(count(o.total)),
                    }
                })
                .collect(),
            layout: Layout::Horizontal,
            stacked: true,
            tick: &tick,
        };
        page.activity_chart = Some(block(&chart));
    }

    // (d) Overdue tasks per assignee, and the oldest ones.
    if d.overdue_tasks.total > 0 {
        let tick = |n: i64| count(n);
        let chart = BarChart {
            id: "chart-overdue",
            title: t.t("dashboard.overdue_chart_title").to_owned(),
            desc: t.t("dashboard.overdue_chart_desc").to_owned(),
            category_header: t.t("dashboard.assignee").to_owned(),
            series: vec![Series {
                name: t.t("dashboard.series_overdue").to_owned(),
            }],
            categories: d
                .overdue_tasks
                .by_assignee
                .iter()
                .map(|a| Category {
                    label: who(v, &t, Some(a.assignee_id)),
                    values: vec![a.tasks],
                    labels: vec![count(a.tasks)],
                    total: None,
                })
                .collect(),
            layout: Layout::Horizontal,
            stacked: false,
            tick: &tick,
        };
        page.overdue_chart = Some(block(&chart));
        page.overdue_rows = d
            .overdue_tasks
            .oldest
            .iter()
            .map(|task| OverdueRow {
                href: format!("/tasks/{}", task.id),
                title: task
                    .title
                    .clone()
                    .unwrap_or_else(|| t.t("dashboard.task_of_other").to_owned()),
                assignee: who(v, &t, Some(task.assignee_id)),
                due: format_time(task.due_at),
                days: t
                    .t("dashboard.days_overdue")
                    .replace("{n}", &count(task.days_overdue)),
            })
            .collect();
    }
}

fn block(chart: &BarChart<'_>) -> ChartBlock {
    ChartBlock {
        title: chart.title.clone(),
        svg: chart.svg(),
        table: chart.table(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group("0.05"), "0.05");
        assert_eq!(group("1000.05"), "1,000.05");
        assert_eq!(group("1234567"), "1,234,567");
        assert_eq!(group("-123456.789"), "-123,456.789");
        assert_eq!(group("100"), "100");
    }
}
