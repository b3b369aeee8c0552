//! Prometheus metrics: requests, sign-ins, audit appends and alerts, counted as they happen,
//! plus a few gauges read from the database when scraped (the audit log's size and unsigned
//! tail, open alerts). Each core has its own recorder, not the process-wide one, so several
//! servers in one process (the tests) count apart. Labels are route templates, codes and
//! outcomes — never ids, e-mail addresses or other values a person could be found by.

use crate::authz::SystemAction;
use crate::{Actor, Core, CoreError};
use custodian_domain::audit::AuditCode;
use custodian_store::repo;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::sync::Arc;
use std::time::Duration;

/// Latency buckets in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

pub const HTTP_REQUESTS: &str = "custodian_http_requests_total";
pub const HTTP_DURATION: &str = "custodian_http_request_duration_seconds";
pub const AUTH_LOGINS: &str = "custodian_auth_logins_total";
pub const AUTH_SECOND_FACTOR_FAILURES: &str = "custodian_auth_second_factor_failures_total";
pub const AUDIT_EVENTS: &str = "custodian_audit_events_total";
pub const AUDIT_APPENDS: &str = "custodian_audit_appends_total";
pub const AUDIT_APPEND_FAILURES: &str = "custodian_audit_append_failures_total";
pub const AUDIT_APPEND_DURATION: &str = "custodian_audit_append_duration_seconds";
pub const ALERTS_RAISED: &str = "custodian_alerts_raised_total";
const AUDIT_LOG_EVENTS: &str = "custodian_audit_log_events";
const AUDIT_UNSIGNED: &str = "custodian_audit_unsigned_events";
const AUDIT_CHECKPOINT_AGE: &str = "custodian_audit_checkpoint_age_seconds";
const ALERTS_OPEN: &str = "custodian_alerts";

/// What an audit append wrote: a change's events in its own transaction, or a group of reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendKind {
    Write,
    ReadGroup,
}

impl AppendKind {
    fn code(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::ReadGroup => "read_group",
        }
    }
}

/// A core's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}
crate::redacted_debug!(Metrics);

static METADATA: Metadata<'static> = Metadata::new("custodian", Level::INFO, None);

impl Metrics {
    pub(crate) fn new() -> Arc<Self> {
        // Buckets rather than quantiles: histograms from several servers can be summed.
        let builder = PrometheusBuilder::new();
        let recorder = match builder.set_buckets(LATENCY_BUCKETS) {
            Ok(builder) => builder.build_recorder(),
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        let handle = recorder.handle();
        let metrics = Arc::new(Self { recorder, handle });
        metrics.describe();
        let upkeep = Arc::downgrade(&metrics);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(UPKEEP_EVERY).await;
                let Some(metrics) = upkeep.upgrade() else {
                    return;
                };
                metrics.handle.run_upkeep();
            }
        });
        metrics
    }

    fn describe(&self) {
        let counters = [
            (
                HTTP_REQUESTS,
                "HTTP requests by method, route template and status",
            ),
            (AUTH_LOGINS, "Sign-in attempts by outcome"),
            (
                AUTH_SECOND_FACTOR_FAILURES,
                "Second-factor codes or passkeys refused at sign-in",
            ),
            (AUDIT_EVENTS, "Audit events appended, by event code"),
            (
                AUDIT_APPENDS,
                "Audit appends (a change's transaction, or a group of reads)",
            ),
            (
                AUDIT_APPEND_FAILURES,
                "Audit appends that failed (the change was refused, or reads were held back)",
            ),
            (
                ALERTS_RAISED,
                "Alerts raised by monitoring rules, by rule and severity",
            ),
        ];
        for (name, help) in counters {
            self.recorder
                .describe_counter(KeyName::from(name), None, help.into());
        }
        for (name, help) in [
            (
                HTTP_DURATION,
                "HTTP request latency by method and route template",
            ),
            (
                AUDIT_APPEND_DURATION,
                "Time to chain and insert audit events, by kind of append",
            ),
        ] {
            self.recorder
                .describe_histogram(KeyName::from(name), Some(Unit::Seconds), help.into());
        }
        for (name, help) in [
            (AUDIT_LOG_EVENTS, "Events in the audit log (its head)"),
            (
                AUDIT_UNSIGNED,
                "Events after the newest signed checkpoint (chained, not yet signed)",
            ),
            (
                AUDIT_CHECKPOINT_AGE,
                "Seconds since the newest signed checkpoint",
            ),
            (ALERTS_OPEN, "Alerts by rule and status"),
        ] {
            self.recorder
                .describe_gauge(KeyName::from(name), None, help.into());
        }
    }

    fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(*k, (*v).to_owned()))
            .collect();
        Key::from_parts(name, labels)
    }

    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        self.recorder
            .register_counter(&Self::key(name, labels), &METADATA)
    }

    pub fn histogram(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Histogram {
        self.recorder
            .register_histogram(&Self::key(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        self.recorder
            .register_gauge(&Self::key(name, labels), &METADATA)
    }

    /// One HTTP request answered.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        self.counter(
            HTTP_REQUESTS,
            &[("method", method), ("route", route), ("status", &status)],
        )
        .increment(1);
        self.histogram(HTTP_DURATION, &[("method", method), ("route", route)])
            .record(seconds);
    }

    /// Events appended to the audit log (and the sign-ins among them).
    pub(crate) fn appended<'a>(
        &self,
        kind: AppendKind,
        codes: impl Iterator<Item = &'a str>,
        seconds: f64,
    ) {
        self.counter(AUDIT_APPENDS, &[("kind", kind.code())])
            .increment(1);
        self.histogram(AUDIT_APPEND_DURATION, &[("kind", kind.code())])
            .record(seconds);
        // A read group holds up to a thousand events of a few codes: one counter lookup per
        // code, not per event.
        let mut per_code: Vec<(&str, u64)> = Vec::new();
        for code in codes {
            match per_code.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => per_code.push((code, 1)),
            }
        }
        for (code, n) in per_code {
            self.counter(AUDIT_EVENTS, &[("code", code)]).increment(n);
            let login = match AuditCode::parse(code) {
                Some(AuditCode::AuthnLoginSuccess | AuditCode::AuthnLoginSuccessAfterFail) => {
                    Some("success")
                }
                Some(AuditCode::AuthnLoginFail | AuditCode::AuthnUnknownCredential) => {
                    Some("failure")
                }
                Some(AuditCode::AuthnSecondFactorFail) => {
                    self.counter(AUTH_SECOND_FACTOR_FAILURES, &[]).increment(n);
                    None
                }
                _ => None,
            };
            if let Some(outcome) = login {
                self.counter(AUTH_LOGINS, &[("outcome", outcome)])
                    .increment(n);
            }
        }
    }

    pub(crate) fn append_failed(&self, kind: AppendKind) {
        self.counter(AUDIT_APPEND_FAILURES, &[("kind", kind.code())])
            .increment(1);
    }

    pub(crate) fn alert_raised(&self, rule: &str, severity: &str) {
        self.counter(ALERTS_RAISED, &[("rule", rule), ("severity", severity)])
            .increment(1);
    }

    fn render(&self) -> String {
        self.handle.render()
    }
}

/// A monotonic stopwatch for latency metrics: real elapsed time is what they measure, so this
/// one place reads the monotonic clock rather than the injected one.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    #[allow(clippy::disallowed_methods)]
    #[must_use]
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    #[must_use]
    pub fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

impl Core {
    /// The metrics this core records into (the web layer adds its requests).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The Prometheus text exposition, for security officers and monitoring tokens
    /// (`security.monitor`). Not audited: a scraper reads it every few seconds and it holds
    /// no personal data; a refused scrape is audited like any refusal.
    pub async fn metrics_text(&self, actor: &Actor) -> Result<String, CoreError> {
        self.require(actor, SystemAction::MonitorSecurity).await?;
        let conn = self.store().conn();
        let head = repo::audit::head(conn).await?;
        let latest = repo::audit::latest_checkpoint(conn).await?;
        let metrics = self.metrics();
        let signed = latest.as_ref().map_or(0, |c| c.tree_size);
        metrics.gauge(AUDIT_LOG_EVENTS, &[]).set(head.size as f64);
        metrics
            .gauge(AUDIT_UNSIGNED, &[])
            .set(head.size.saturating_sub(signed).max(0) as f64);
        if let Some(latest) = latest {
            let age = self.now().saturating_sub(latest.signed_at).max(0) as f64 / 1000.0;
            metrics.gauge(AUDIT_CHECKPOINT_AGE, &[]).set(age);
        }
        for row in repo::alerts::counts(conn, 0).await? {
            metrics
                .gauge(ALERTS_OPEN, &[("rule", &row.rule), ("status", &row.status)])
                .set(row.count as f64);
        }
        Ok(metrics.render())
    }
}
