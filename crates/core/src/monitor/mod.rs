//! Real-time monitoring: rules over the audit stream raise alerts, notify security officers
//! (in-app, by e-mail, through a signed webhook) and can act (lock an account, end its
//! sessions, require step-up).
//!
//! - **One reader across processes.** The monitor reads the log in order from a cursor row
//!   (`audit_cursors`); each batch locks that row, so with several PostgreSQL servers one at a
//!   time processes a batch, and the alerts, notifications, deliveries and the cursor's move
//!   commit together: an event is judged once, never twice or not at all.
//! - **State.** The rules ([`rules::Engine`]) keep sliding windows in memory. A process that
//!   takes over (after a restart, or after another process moved the cursor) first replays the
//!   watched events of the longest window without alerting, so a burst that spans a restart
//!   still counts.
//! - **De-duplication.** A finding for a rule and subject that already has an unresolved alert
//!   adds an occurrence to it instead of raising another.
//! - **Actions** run after the batch commits, as the system, each audited (`alert_action`).
//! - Verification of the whole log runs on a schedule; a failure is an alert.

pub mod alerts;
pub mod rules;
pub mod webhook;

use crate::audit::AuditEvent;
use crate::{Core, CoreError};
use custodian_domain::audit::AuditCode;
use custodian_store::ConnectionTrait;
use custodian_store::entities::{alert, alert_delivery, audit_event};
use custodian_store::repo;
use rules::{Engine, Finding, Observed, Rule, RuleAction, RuleSettings};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use uuid::Uuid;

/// The monitor's row in `audit_cursors`.
const CURSOR: &str = "monitor";
/// Events judged per transaction.
const BATCH: u64 = 1_000;
/// Events replayed at most when warming up.
const WARM_UP_LIMIT: u64 = 200_000;
/// How often the monitor looks for new events when no append woke it (appends by another
/// process do not wake this one).
const POLL: Duration = Duration::from_secs(1);
/// The reason recorded on sessions a rule ended.
const ENDED_BY_MONITOR: &str = "ended_by_monitor";

/// How the monitor runs.
pub struct MonitorSettings {
    pub rules: RuleSettings,
    /// Verify the whole log this often (None: only on demand).
    pub verify_every: Option<Duration>,
    /// Where alerts are posted, signed.
    pub webhook: Option<webhook::WebhookTarget>,
}
crate::redacted_debug!(MonitorSettings);

/// The monitor of a running core.
#[derive(Default)]
pub(crate) struct Monitor {
    running: OnceLock<Running>,
    /// Keys the fingerprints of sign-in attempts; random per process, never stored, so a
    /// fingerprint in the log cannot be tested against guesses once the process is gone.
    fingerprint_key: OnceLock<zeroize::Zeroizing<[u8; 32]>>,
}
crate::redacted_debug!(Monitor);

struct Running {
    settings: MonitorSettings,
    state: tokio::sync::Mutex<State>,
    last_verification: std::sync::Mutex<Option<Verification>>,
    http: reqwest::Client,
}

struct State {
    engine: Engine,
    /// The cursor position this engine has seen every event before; None: warm up first.
    seen_up_to: Option<i64>,
}

/// What one monitoring run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonitorRun {
    /// Events judged.
    pub read: u64,
    /// New alerts.
    pub raised: u64,
}

/// The last scheduled or on-demand verification, for the dashboard.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    /// Unix milliseconds.
    pub at: i64,
    pub intact: bool,
    pub events: u64,
    pub problems: usize,
}

impl Core {
    /// Starts the monitor: a task that judges new events as they are appended (and at least
    /// every second), delivers webhooks, and verifies the log on schedule. It ends with the
    /// core.
    pub fn start_monitor(&self, settings: MonitorSettings) -> Result<(), CoreError> {
        let problems = settings.rules.problems();
        if !problems.is_empty() {
            tracing::error!(problems = %problems.join("; "), "invalid monitor settings");
            return Err(CoreError::Internal("the monitor settings are invalid"));
        }
        let verify_every = settings.verify_every;
        let http = webhook::client()?;
        self.inner
            .monitor
            .running
            .set(Running {
                state: tokio::sync::Mutex::new(State {
                    engine: Engine::new(settings.rules.clone()),
                    seen_up_to: None,
                }),
                settings,
                last_verification: std::sync::Mutex::new(None),
                http,
            })
            .map_err(|_| CoreError::Internal("the monitor was started twice"))?;
        let weak = Arc::downgrade(&self.inner);
        let mut appends = self.inner.audit.trigger().subscribe();
        tokio::spawn(async move {
            let mut next_verify = verify_every.map(|every| tokio::time::Instant::now() + every);
            loop {
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    _ = appends.changed() => {}
                }
                let Some(inner) = weak.upgrade() else { return };
                let core = Core { inner };
                match core.run_monitor().await {
                    Ok(run) if run.raised > 0 => {
                        // E-mails about new alerts go now, not at the next notification run.
                        if let Err(e) = core.deliver_pending_notifications().await {
                            tracing::warn!(error = %e, "alert notification delivery failed");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(target: "security", error = %e, "monitoring run failed");
                    }
                }
                if let Err(e) = core.deliver_alert_webhooks().await {
                    tracing::warn!(error = %e, "alert webhook run failed");
                }
                if let (Some(at), Some(every)) = (next_verify, verify_every)
                    && tokio::time::Instant::now() >= at
                {
                    next_verify = Some(tokio::time::Instant::now() + every);
                    if let Err(e) = core.verify_audit_and_alert().await {
                        tracing::error!(target: "security", error = %e, "scheduled audit verification failed to run");
                    }
                }
            }
        });
        Ok(())
    }

    /// A 64-bit fingerprint of part of a sign-in attempt (the password, the address typed):
    /// equal attempts give equal fingerprints within this process's life, and nothing else.
    pub(crate) fn attempt_fingerprint(&self, value: &[u8]) -> Result<String, CoreError> {
        let slot = &self.inner.monitor.fingerprint_key;
        if slot.get().is_none() {
            let mut key = zeroize::Zeroizing::new([0u8; 32]);
            self.rng().fill(&mut key[..])?;
            let _ = slot.set(key);
        }
        let key = slot
            .get()
            .ok_or(CoreError::Internal("no fingerprint key"))?;
        let mac = custodian_crypto::mac::hmac_sha256(&key[..], &[value]);
        Ok(custodian_crypto::audit::hex(&mac[..8]))
    }

    fn running_monitor(&self) -> Option<&Running> {
        self.inner.monitor.running.get()
    }

    /// Judges every event not judged yet. Raised alerts' actions run after their batch
    /// committed.
    pub async fn run_monitor(&self) -> Result<MonitorRun, CoreError> {
        let mut run = MonitorRun::default();
        let Some(running) = self.running_monitor() else {
            return Ok(run);
        };
        let mut state = running.state.lock().await;
        loop {
            // Most wake-ups find nothing new: ask before taking the write lock.
            let conn = self.store().conn();
            let judged = repo::alerts::cursor(conn, CURSOR).await?;
            if judged.is_some() && judged == Some(repo::audit::head(conn).await?.size) {
                return Ok(run);
            }
            let now = self.now();
            let txn = self.store().begin().await?;
            let from = repo::alerts::lock_cursor(&txn, CURSOR, now).await?;
            // Whatever happens below, this engine's state is only trusted again once the
            // batch committed.
            let seen = state.seen_up_to.take();
            if seen != Some(from) {
                state.engine = Engine::new(running.settings.rules.clone());
                self.warm_up(&txn, &mut state.engine, from, now).await?;
            }
            let events = repo::audit::events_from(&txn, from, BATCH).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                txn.commit().await?;
                state.seen_up_to = Some(from);
                return Ok(run);
            };
            // One alert write per rule and subject per batch, however often it fired: a user
            // past the mass-read threshold fires on every read.
            // (the latest finding, how many, the first one's position)
            let mut findings: Vec<(Finding, i64, i64)> = Vec::new();
            let mut slot: HashMap<(Rule, String), usize> = HashMap::new();
            for row in &events {
                let observed = self.observed(row).await?;
                for finding in state.engine.observe(&observed) {
                    match slot.entry((finding.rule, finding.subject_key.clone())) {
                        std::collections::hash_map::Entry::Occupied(at) => {
                            let (kept, count, _) = &mut findings[*at.get()];
                            *count += 1;
                            *kept = finding;
                        }
                        std::collections::hash_map::Entry::Vacant(at) => {
                            at.insert(findings.len());
                            let first = finding.seq;
                            findings.push((finding, 1, first));
                        }
                    }
                }
            }
            let mut raised = Vec::new();
            for (finding, count, first) in findings {
                if let Some(alert) = self
                    .record_finding(&txn, running, finding, count, first)
                    .await?
                {
                    raised.push(alert);
                }
            }
            repo::alerts::set_cursor(&txn, CURSOR, last + 1, now).await?;
            txn.commit().await?;
            state.seen_up_to = Some(last + 1);
            run.read += events.len() as u64;
            run.raised += raised.len() as u64;
            for (alert, action, user) in raised {
                if let Err(e) = self.act_on_alert(alert, action, user).await {
                    tracing::error!(target: "security", error = %e, alert = %alert, action = action.code(), "an alert's action failed");
                }
            }
        }
    }

    /// Rebuilds the rules' windows from the watched events of the longest window before
    /// `before`, raising nothing (they were judged when they were new).
    async fn warm_up<C: ConnectionTrait>(
        &self,
        conn: &C,
        engine: &mut Engine,
        before: i64,
        now: i64,
    ) -> Result<(), CoreError> {
        let since = now - engine.settings().longest_window_ms();
        let rows =
            repo::alerts::events_since(conn, &rules::WATCHED_CODES, since, before, WARM_UP_LIMIT)
                .await?;
        for row in &rows {
            let observed = self.observed(row).await?;
            let _ = engine.observe(&observed);
        }
        Ok(())
    }

    /// The event as the rules read it: its detail parsed and, for a failed sign-in, a keyed
    /// hash of the client's network.
    async fn observed(&self, row: &audit_event::Model) -> Result<Observed, CoreError> {
        let detail = row
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null);
        let network = if row.code == AuditCode::AuthnLoginFail.code() {
            let client = self
                .open_client_of(crate::audit::TABLE, row.id, row.client_ct.as_deref())
                .await?;
            client
                .ip
                .map(|ip| {
                    self.keys().lookup(
                        "security_events",
                        "network",
                        &crate::throttle::network_of(ip),
                    )
                })
                .transpose()?
                .map(|key| custodian_crypto::audit::hex(&key[..key.len().min(8)]))
        } else {
            None
        };
        Ok(Observed {
            seq: row.seq,
            occurred_at: row.occurred_at,
            code: row.code.clone(),
            actor_id: row.actor_id,
            target_type: row.target_type.clone(),
            target_id: row.target_id,
            network,
            detail,
        })
    }

    /// Adds the finding to its open alert, or raises a new one: notifications for every
    /// security officer, a webhook delivery, and the `alert_raised` event, in the batch's
    /// transaction. Returns a new alert's id with the action to take.
    async fn record_finding<C: ConnectionTrait>(
        &self,
        txn: &C,
        running: &Running,
        finding: Finding,
        count: i64,
        first_seq: i64,
    ) -> Result<Option<(Uuid, RuleAction, Option<Uuid>)>, CoreError> {
        let now = self.now();
        let rule = finding.rule.code();
        if let Some(open) = repo::alerts::open_for(txn, rule, &finding.subject_key).await? {
            let expected = open.version;
            let updated = alert::Model {
                occurrences: open.occurrences + count,
                last_seq: finding.seq.max(open.last_seq),
                detail: finding.detail.to_string(),
                updated_at: now,
                version: expected + 1,
                ..open
            };
            repo::alerts::update_versioned(txn, updated, expected).await?;
            return Ok(None);
        }
        let id = custodian_domain::ids::uuid_at(now);
        let action = finding.action;
        let acts = action != RuleAction::None && finding.subject_user.is_some();
        repo::alerts::insert(
            txn,
            alert::Model {
                id,
                rule: rule.to_owned(),
                severity: finding.rule.severity().code().to_owned(),
                status: alerts::STATUS_OPEN.to_owned(),
                subject_user_id: finding.subject_user,
                subject_key: finding.subject_key.clone(),
                detail: finding.detail.to_string(),
                first_seq,
                last_seq: finding.seq,
                occurrences: count,
                action: acts.then(|| action.code().to_owned()),
                owner_id: None,
                created_at: now,
                updated_at: now,
                resolved_at: None,
                version: 1,
            },
        )
        .await?;
        self.metrics()
            .alert_raised(rule, finding.rule.severity().code());
        for officer in self.security_officers(txn).await? {
            self.notify_alert(txn, officer, id, now).await?;
        }
        if running.settings.webhook.is_some() {
            repo::alerts::insert_delivery(
                txn,
                alert_delivery::Model {
                    id: custodian_domain::ids::uuid_at(now),
                    alert_id: id,
                    channel: webhook::CHANNEL.to_owned(),
                    status: "pending".to_owned(),
                    attempts: 0,
                    next_attempt_at: now,
                    last_error: None,
                    delivered_at: None,
                    created_at: now,
                },
            )
            .await?;
        }
        let mut event = AuditEvent::system(AuditCode::AlertRaised)
            .target("alert", id)
            .detail("rule", rule)
            .detail("severity", finding.rule.severity().code())
            .detail("event_seq", finding.seq);
        if let Some(user) = finding.subject_user {
            event = event.detail("user", user.to_string());
        }
        self.audit_in(txn, vec![event]).await?;
        tracing::warn!(target: "security", alert = %id, rule, "security alert raised");
        Ok(Some((id, action, finding.subject_user.filter(|_| acts))))
    }

    /// Active users who may monitor security (they receive alerts).
    async fn security_officers<C: ConnectionTrait>(
        &self,
        conn: &C,
    ) -> Result<Vec<Uuid>, CoreError> {
        let mut officers = Vec::new();
        for user in repo::users::all(conn).await? {
            if user.status != crate::auth::STATUS_ACTIVE {
                continue;
            }
            // The user's own roles and attributes, judged as if they acted themselves.
            let actor = crate::Actor {
                user_id: custodian_domain::UserId(user.id),
                principal: self.principal_of(&user).await?,
                locale: user.locale.clone(),
                method: crate::actor::AuthMethod::Cli,
                reauthenticated_at: None,
                enrolment_required: false,
                token_limits: None,
                session_started_at: None,
                client_ip: None,
            };
            if self.may(&actor, crate::authz::SystemAction::MonitorSecurity) {
                officers.push(user.id);
            }
        }
        Ok(officers)
    }

    /// What a rule does to the user an alert is about, as the system, audited.
    async fn act_on_alert(
        &self,
        alert: Uuid,
        action: RuleAction,
        user: Option<Uuid>,
    ) -> Result<(), CoreError> {
        let Some(user) = user else { return Ok(()) };
        let now = self.now();
        let txn = self.store().begin().await?;
        let mut ended = Vec::new();
        let mut forget = Vec::new();
        match action {
            RuleAction::None => return Ok(()),
            RuleAction::LockAccount => {
                if let Some(row) = repo::users::get(&txn, user).await? {
                    let email = self.user_email(&row).await?;
                    repo::auth_throttles::lock(
                        &txn,
                        &self.account_key(&email)?,
                        self.settings().login_lockout_threshold,
                        now,
                    )
                    .await?;
                }
                ended = repo::sessions::end_all_of_user(&txn, user, None, now, ENDED_BY_MONITOR)
                    .await?;
            }
            RuleAction::EndSessions => {
                ended = repo::sessions::end_all_of_user(&txn, user, None, now, ENDED_BY_MONITOR)
                    .await?;
            }
            RuleAction::StepUp => {
                forget = repo::sessions::require_step_up(&txn, user).await?;
            }
        }
        let mut events = vec![
            AuditEvent::system(AuditCode::AlertAction)
                .target("user", user)
                .detail("action", action.code())
                .detail("alert", alert.to_string())
                .detail("sessions", ended.len().max(forget.len())),
        ];
        events.extend(ended.iter().map(|session| {
            AuditEvent::for_user(Some(user), Some(*session), AuditCode::SessionEnded)
                .detail("reason", ENDED_BY_MONITOR)
        }));
        self.audit_in(&txn, events).await?;
        txn.commit().await?;
        forget.extend(ended);
        self.forget_sessions(&forget);
        Ok(())
    }

    /// Verifies the whole log now; problems raise an `audit_verification` alert.
    pub async fn verify_audit_and_alert(&self) -> Result<Verification, CoreError> {
        let report = crate::audit::verify::verify(
            self.store(),
            &crate::audit::verify::VerifyOptions {
                public_key: self.audit_public_key(),
                file_checkpoints: self.audit_checkpoint_file_entries().await?,
            },
        )
        .await?;
        let verification = Verification {
            at: self.now(),
            intact: report.problems.is_empty(),
            events: report.events,
            problems: report.problems.len(),
        };
        if let Some(running) = self.running_monitor() {
            if let Ok(mut last) = running.last_verification.lock() {
                *last = Some(verification.clone());
            }
            if !verification.intact {
                let first = report.problems.first();
                let finding = Finding {
                    rule: Rule::AuditVerification,
                    subject_key: "audit_log".to_owned(),
                    subject_user: None,
                    seq: first
                        .and_then(|p| p.position)
                        .and_then(|s| i64::try_from(s).ok())
                        .unwrap_or(-1),
                    occurred_at: verification.at,
                    detail: json!({
                        "problems": verification.problems,
                        "first": first.and_then(|p| serde_json::to_value(p.kind).ok()),
                        "first_position": first.and_then(|p| p.position),
                    }),
                    action: RuleAction::None,
                };
                let txn = self.store().begin().await?;
                let first = finding.seq;
                self.record_finding(&txn, running, finding, 1, first)
                    .await?;
                txn.commit().await?;
            }
        }
        Ok(verification)
    }

    pub(crate) fn last_verification(&self) -> Option<Verification> {
        self.running_monitor()
            .and_then(|r| r.last_verification.lock().ok().and_then(|v| v.clone()))
    }

    pub(crate) fn monitor_rules(&self) -> Option<&RuleSettings> {
        self.running_monitor().map(|r| &r.settings.rules)
    }
}
