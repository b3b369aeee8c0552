//! The audit log page (`/audit`) for auditors and security officers: filter by user, record,
//! event code, outcome and day; a record's history is the same page filtered by its id.

use super::support::{UiError, UiResultExt, Viewer, bad_request, format_time, render};
use crate::api::audit::SearchParams;
use crate::i18n::Tr;
use askama::Template;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::Response;
use custodian_core::audit::query::AuditEventView;
use custodian_domain::audit::ALL_CODES;
use serde::Deserialize;

const NAV: &str = "audit";

struct Row {
    seq: i64,
    when: String,
    code: String,
    outcome: String,
    actor: String,
    target: String,
    target_id: String,
    client: String,
    detail: String,
}

fn row(e: AuditEventView) -> Row {
    Row {
        seq: e.seq,
        when: format_time(custodian_domain::clock::from_millis(e.occurred_at)),
        code: e.code,
        outcome: e.outcome,
        actor: match e.actor_id {
            Some(id) => format!("{} {id}", e.actor_kind),
            None => e.actor_kind,
        },
        target: e.target_type.unwrap_or_default(),
        target_id: e.target_id.map(|id| id.to_string()).unwrap_or_default(),
        client: [e.ip.map(|ip| ip.to_string()), e.user_agent]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        detail: e.detail.map(|d| d.to_string()).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "audit/page.html")]
struct Page<'a> {
    t: Tr<'a>,
    chrome: super::support::Chrome,
    form: AuditForm,
    codes: Vec<&'static str>,
    rows: Vec<Row>,
    /// The query string of the next (older) page.
    next: Option<String>,
    /// The export of the chosen days, when both ends are chosen.
    export: Option<String>,
    /// Days events are kept (`None`: for ever).
    retention_days: Option<u32>,
    /// What was pruned: the last pruned position and when its checkpoint was signed.
    pruned: Option<(u64, String)>,
}

/// The filter form as typed (days rather than times).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct AuditForm {
    actor: String,
    target: String,
    code: String,
    outcome: String,
    /// A day, YYYY-MM-DD (UTC).
    from: String,
    /// A day, YYYY-MM-DD (UTC), included.
    to: String,
    before: Option<i64>,
}

impl AuditForm {
    fn params(&self) -> Result<SearchParams, custodian_core::CoreError> {
        let day = |field: &str,
                   value: &str,
                   plus_one: bool|
         -> Result<Option<String>, custodian_core::CoreError> {
            let value = value.trim();
            if value.is_empty() {
                return Ok(None);
            }
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = time::Date::parse(value, &format).map_err(|_| {
                custodian_domain::FieldError::new(
                    field,
                    "invalid_day",
                    "use a day such as 2026-11-01",
                )
            })?;
            let date = if plus_one {
                date.next_day().unwrap_or(date)
            } else {
                date
            };
            Ok(Some(format!("{date}T00:00:00Z")))
        };
        let id =
            |field: &str, value: &str| -> Result<Option<uuid::Uuid>, custodian_core::CoreError> {
                let value = value.trim();
                if value.is_empty() {
                    return Ok(None);
                }
                value.parse().map(Some).map_err(|_| {
                    custodian_domain::FieldError::new(field, "invalid_uuid", "paste an id (a UUID)")
                        .into()
                })
            };
        Ok(SearchParams::new(
            id("actor", &self.actor)?,
            id("target", &self.target)?,
            Some(self.code.clone()),
            Some(self.outcome.clone()),
            day("from", &self.from, false)?,
            day("to", &self.to, true)?,
            self.before,
        ))
    }

    fn query_before(&self, before: i64) -> String {
        let pairs = [
            ("actor", self.actor.as_str()),
            ("target", self.target.as_str()),
            ("code", self.code.as_str()),
            ("outcome", self.outcome.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ];
        let mut query: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", super::support::encode_query_value(v)))
            .collect();
        query.push(format!("before={before}"));
        query.join("&")
    }
}

/// `/audit`.
pub(crate) async fn show(
    v: Viewer,
    query: Result<Query<AuditForm>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(form)) = query else {
        return Err(v.fail(bad_request()));
    };
    let params = form.params().ui(&v)?;
    let filter = params.filter().ui(&v)?;
    let page = v
        .core()
        .audit_events(v.actor(), &filter, form.before, Some(50))
        .await
        .ui(&v)?;
    let next = page.next_before.map(|b| form.query_before(b));
    let export = export_range(&form).map(|(from, to)| {
        super::support::build_url(
            "/api/v1/audit/export",
            &[("from", from.as_str()), ("to", to.as_str())],
        )
    });
    let retention = v.core().audit_retention_status(v.actor()).await.ui(&v)?;
    let pruned = (retention.pruned_below > 0).then(|| {
        (
            retention.pruned_below - 1,
            retention
                .pruned_checkpoint_signed_at
                .map(|at| format_time(custodian_domain::clock::from_millis(at)))
                .unwrap_or_default(),
        )
    });
    let p = Page {
        t: v.t(),
        retention_days: retention.retention_days,
        pruned,
        chrome: v.chrome(NAV),
        codes: ALL_CODES.iter().map(|c| c.code()).collect(),
        rows: page.items.into_iter().map(row).collect(),
        form,
        next,
        export,
    };
    Ok(render(StatusCode::OK, &p))
}

/// Both ends of the chosen days as RFC 3339 times, when both are chosen.
fn export_range(form: &AuditForm) -> Option<(String, String)> {
    if form.from.trim().is_empty() || form.to.trim().is_empty() {
        return None;
    }
    Some((
        format!("{}T00:00:00Z", form.from.trim()),
        format!("{}T00:00:00Z", next_day(form.to.trim())),
    ))
}

fn next_day(day: &str) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(day, &format)
        .ok()
        .and_then(time::Date::next_day)
        .map_or_else(|| day.to_owned(), |d| d.to_string())
}
