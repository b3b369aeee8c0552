//! Alerts as security officers handle them: list and filter, open one (with its notes and
//! deliveries), take ownership, acknowledge, resolve or reopen, add notes; and the security
//! dashboard. Every change is audited (`alert_changed`) in its own transaction; notes are
//! field ciphertext (a note may name people).

use super::Verification;
use super::rules::{ALL_RULES, Rule, RuleSettings};
use crate::audit::AuditEvent;
use crate::authz::SystemAction;
use crate::{Actor, Core, CoreError};
use custodian_domain::audit::AuditCode;
use custodian_store::entities::{alert, alert_note};
use custodian_store::repo;
pub use custodian_store::repo::alerts::AlertFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

pub const STATUS_OPEN: &str = "open";
pub const STATUS_ACKNOWLEDGED: &str = "acknowledged";
pub const STATUS_RESOLVED: &str = "resolved";
pub const STATUSES: [&str; 3] = [STATUS_OPEN, STATUS_ACKNOWLEDGED, STATUS_RESOLVED];
/// Most alerts on one page.
pub const MAX_PAGE: u64 = 200;
pub const DEFAULT_PAGE: u64 = 50;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 4_000;
/// The dashboard counts alerts of this many days.
const DASHBOARD_DAYS: i64 = 30;
const TABLE_NOTES: &str = "alert_notes";

/// An alert as a security officer sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct AlertView {
    pub id: Uuid,
    /// Stable rule code, e.g. `mass_read`.
    pub rule: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    /// The user the alert is about, if it is about one.
    pub subject_user_id: Option<Uuid>,
    /// That user's e-mail address (shown to security officers only).
    pub subject_email: Option<String>,
    /// Counts, thresholds and ids the rule recorded.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
    /// Audit log positions of the first and the latest event that fired it.
    pub first_seq: i64,
    pub last_seq: i64,
    pub occurrences: i64,
    /// What the rule did (`lock_account`, `end_sessions`, `step_up`), if anything.
    pub action: Option<String>,
    pub owner_id: Option<Uuid>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
    /// Send it back with a change (409 when someone changed the alert meanwhile).
    pub version: i64,
}
crate::redacted_debug!(AlertView);

/// A note on an alert.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct AlertNoteView {
    pub id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub created_at: i64,
}
crate::redacted_debug!(AlertNoteView);

/// A webhook delivery of an alert.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct AlertDeliveryView {
    pub channel: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

/// One alert in full.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct AlertDetail {
    pub alert: AlertView,
    pub notes: Vec<AlertNoteView>,
    pub deliveries: Vec<AlertDeliveryView>,
}

/// A page of alerts, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct AlertPage {
    pub items: Vec<AlertView>,
    /// Pass as `cursor` for the next (older) page.
    pub next_cursor: Option<String>,
}

/// A change to an alert: any of status, owner and a note.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AlertChange {
    /// The version the change was made on.
    pub version: i64,
    /// `open`, `acknowledged` or `resolved`.
    pub status: Option<String>,
    /// Take or hand over ownership: a user id; `"none"` to clear it.
    pub owner: Option<String>,
    /// A note to add.
    pub note: Option<String>,
}
crate::redacted_debug!(AlertChange);

/// Counts per rule for the dashboard.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct RuleCounts {
    pub rule: String,
    pub open: i64,
    pub acknowledged: i64,
    pub resolved: i64,
}

/// A rule and its threshold, as configured.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RuleDescription {
    pub rule: String,
    pub severity: String,
    pub enabled: bool,
    /// The threshold in words of the configuration, e.g. `500 records in 10 min`.
    pub threshold: String,
    pub action: String,
}

/// The security dashboard.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct SecurityDashboard {
    /// Alerts still open or acknowledged, newest first (up to 50).
    pub unresolved: Vec<AlertView>,
    /// Alerts per rule and status over the last 30 days.
    pub by_rule: Vec<RuleCounts>,
    pub rules: Vec<RuleDescription>,
    pub last_verification: Option<Verification>,
    /// Events the monitor has not judged yet.
    pub monitor_lag: i64,
}

fn not_found() -> CoreError {
    CoreError::NotFound { entity: "alert" }
}

fn invalid(field: &'static str, code: &'static str, message: &str) -> CoreError {
    CoreError::Validation(vec![custodian_domain::error::FieldError::new(
        field, code, message,
    )])
}

/// The rules as configured, described.
pub fn describe_rules(s: &RuleSettings) -> Vec<RuleDescription> {
    ALL_RULES
        .into_iter()
        .map(|rule| {
            let (enabled, threshold, action) = match rule {
                Rule::FailedLoginBurst => (
                    true,
                    format!(
                        "{} per account or {} per network in {} min",
                        s.failed_logins_per_account,
                        s.failed_logins_per_network,
                        s.failed_logins_window_mins
                    ),
                    s.failed_logins_action,
                ),
                Rule::PasswordSpraying => (
                    true,
                    format!(
                        "{} accounts in {} min",
                        s.spraying_accounts, s.spraying_window_mins
                    ),
                    super::rules::RuleAction::None,
                ),
                Rule::MassRead => (
                    true,
                    format!(
                        "{} records in {} min",
                        s.mass_read_records, s.mass_read_window_mins
                    ),
                    s.mass_read_action,
                ),
                Rule::LargeExport => (
                    true,
                    format!("{} rows", s.large_export_rows),
                    super::rules::RuleAction::None,
                ),
                Rule::ExportVolume => (
                    true,
                    format!(
                        "{} exports in {} min",
                        s.exports_per_window, s.exports_window_mins
                    ),
                    super::rules::RuleAction::None,
                ),
                Rule::OffHours => (
                    s.off_hours_enabled,
                    format!(
                        "outside {:02}:00–{:02}:00 (UTC{:+03}:{:02}){}",
                        s.work_starts_hour,
                        s.work_ends_hour,
                        s.utc_offset_mins / 60,
                        (s.utc_offset_mins % 60).abs(),
                        if s.weekends_off { ", weekends" } else { "" }
                    ),
                    super::rules::RuleAction::None,
                ),
                Rule::NewNetwork => (s.new_network, String::new(), super::rules::RuleAction::None),
                Rule::PrivilegeEscalation => (
                    s.privilege_escalation,
                    String::new(),
                    super::rules::RuleAction::None,
                ),
                Rule::EndedSessionUsed => (true, String::new(), s.ended_session_action),
                Rule::AuditVerification => (true, String::new(), super::rules::RuleAction::None),
            };
            RuleDescription {
                rule: rule.code().to_owned(),
                severity: rule.severity().code().to_owned(),
                enabled,
                threshold,
                action: action.code().to_owned(),
            }
        })
        .collect()
}

fn encode_cursor(row: &alert::Model) -> String {
    format!("{}_{}", row.created_at, row.id)
}

fn decode_cursor(cursor: &str) -> Result<(i64, Uuid), CoreError> {
    let (at, id) = cursor.split_once('_').ok_or(CoreError::InvalidCursor)?;
    Ok((
        at.parse().map_err(|_| CoreError::InvalidCursor)?,
        id.parse().map_err(|_| CoreError::InvalidCursor)?,
    ))
}

impl Core {
    /// Alerts that pass the filter, newest first.
    pub async fn list_alerts(
        &self,
        actor: &Actor,
        filter: &AlertFilter,
        cursor: Option<&str>,
        limit: Option<u64>,
    ) -> Result<AlertPage, CoreError> {
        self.require(actor, SystemAction::MonitorSecurity).await?;
        for status in &filter.statuses {
            if !STATUSES.contains(&status.as_str()) {
                return Err(invalid(
                    "status",
                    "invalid_alert_status",
                    "status must be open, acknowledged or resolved",
                ));
            }
        }
        if let Some(rule) = &filter.rule
            && Rule::parse(rule).is_none()
        {
            return Err(invalid(
                "rule",
                "unknown_alert_rule",
                "rule must be one of the monitoring rules' codes",
            ));
        }
        let before = cursor.map(decode_cursor).transpose()?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut rows = repo::alerts::list(self.store().conn(), filter, before, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = if more {
            rows.last().map(encode_cursor)
        } else {
            None
        };
        Ok(AlertPage {
            items: self.alert_views(rows).await?,
            next_cursor,
        })
    }

    /// One alert with its notes and deliveries.
    pub async fn get_alert(&self, actor: &Actor, id: Uuid) -> Result<AlertDetail, CoreError> {
        self.require(actor, SystemAction::MonitorSecurity).await?;
        let conn = self.store().conn();
        let row = repo::alerts::get(conn, id).await?.ok_or_else(not_found)?;
        let org = self.keys().org_key(conn).await?;
        let notes = repo::alerts::notes(conn, id)
            .await?
            .into_iter()
            .map(|n| {
                Ok(AlertNoteView {
                    body: self.keys().decrypt_string(
                        &org,
                        TABLE_NOTES,
                        "body",
                        n.id,
                        &n.body_ct,
                    )?,
                    id: n.id,
                    author_id: n.author_id,
                    created_at: n.created_at,
                })
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        let deliveries = repo::alerts::deliveries(conn, id)
            .await?
            .into_iter()
            .map(|d| AlertDeliveryView {
                channel: d.channel,
                status: d.status,
                attempts: d.attempts,
                last_error: d.last_error,
                delivered_at: d.delivered_at,
            })
            .collect();
        let alert = self
            .alert_views(vec![row])
            .await?
            .pop()
            .ok_or_else(not_found)?;
        Ok(AlertDetail {
            alert,
            notes,
            deliveries,
        })
    }

    /// Changes an alert's status or owner and adds a note, audited. 409 on a stale version.
    pub async fn change_alert(
        &self,
        actor: &Actor,
        id: Uuid,
        change: AlertChange,
    ) -> Result<AlertDetail, CoreError> {
        self.require(actor, SystemAction::MonitorSecurity).await?;
        let status = change
            .status
            .as_deref()
            .map(|s| {
                STATUSES
                    .iter()
                    .copied()
                    .find(|known| *known == s)
                    .ok_or_else(|| {
                        invalid(
                            "status",
                            "invalid_alert_status",
                            "status must be open, acknowledged or resolved",
                        )
                    })
            })
            .transpose()?;
        let owner = match change.owner.as_deref() {
            None => None,
            Some("none") => Some(None),
            Some(text) => Some(Some(text.parse::<Uuid>().map_err(|_| {
                invalid(
                    "owner",
                    "invalid_uuid",
                    "owner must be a user id or \"none\"",
                )
            })?)),
        };
        let note = change
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if let Some(note) = note
            && note.chars().count() > MAX_NOTE_CHARS
        {
            return Err(invalid(
                "note",
                "note_too_long",
                "a note may have at most 4000 characters",
            ));
        }
        if status.is_none() && owner.is_none() && note.is_none() {
            return Err(invalid(
                "status",
                "nothing_to_change",
                "give a status, an owner or a note",
            ));
        }
        let now = self.now();
        let txn = self.store().begin().await?;
        let row = repo::alerts::get(&txn, id).await?.ok_or_else(not_found)?;
        if row.version != change.version {
            return Err(CoreError::StaleVersion {
                current_version: row.version,
            });
        }
        if let Some(Some(owner)) = owner {
            let user = repo::users::get(&txn, owner).await?;
            if user.is_none_or(|u| u.status != crate::auth::STATUS_ACTIVE) {
                return Err(invalid(
                    "owner",
                    "unknown_user",
                    "the owner must be an active user",
                ));
            }
        }
        let mut event = AuditEvent::by(actor, AuditCode::AlertChanged)
            .target("alert", id)
            .detail("rule", row.rule.as_str());
        let mut updated = row.clone();
        if let Some(status) = status {
            event = event
                .detail("from", row.status.as_str())
                .detail("to", status);
            updated.status = status.to_owned();
            updated.resolved_at = (status == STATUS_RESOLVED).then_some(now);
        }
        if let Some(owner) = owner {
            event = event.detail("owner", owner.map(|o| o.to_string()));
            updated.owner_id = owner;
        }
        if let Some(note) = note {
            let note_id = custodian_domain::ids::uuid_at(now);
            let org = self.keys().org_key(&txn).await?;
            let body_ct = self.keys().encrypt(
                &org,
                TABLE_NOTES,
                "body",
                note_id,
                note.as_bytes(),
                self.rng(),
            )?;
            repo::alerts::insert_note(
                &txn,
                alert_note::Model {
                    id: note_id,
                    alert_id: id,
                    author_id: actor.user_id.as_uuid(),
                    body_ct,
                    created_at: now,
                },
            )
            .await?;
            event = event.detail("note", note_id.to_string());
        }
        updated.updated_at = now;
        updated.version = row.version + 1;
        if !repo::alerts::update_versioned(&txn, updated, row.version).await? {
            return Err(CoreError::StaleVersion {
                current_version: row.version + 1,
            });
        }
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        self.get_alert(actor, id).await
    }

    /// Unresolved alerts, counts per rule, the rules, the last verification, the lag.
    pub async fn security_dashboard(&self, actor: &Actor) -> Result<SecurityDashboard, CoreError> {
        self.require(actor, SystemAction::MonitorSecurity).await?;
        let conn = self.store().conn();
        let filter = AlertFilter {
            statuses: vec![STATUS_OPEN.to_owned(), STATUS_ACKNOWLEDGED.to_owned()],
            ..AlertFilter::default()
        };
        let unresolved = self
            .alert_views(repo::alerts::list(conn, &filter, None, 50).await?)
            .await?;
        let since = self.now() - DASHBOARD_DAYS * 24 * 60 * 60 * 1000;
        let mut by_rule: BTreeMap<String, RuleCounts> = BTreeMap::new();
        for count in repo::alerts::counts(conn, since).await? {
            let entry = by_rule
                .entry(count.rule.clone())
                .or_insert_with(|| RuleCounts {
                    rule: count.rule.clone(),
                    ..RuleCounts::default()
                });
            match count.status.as_str() {
                STATUS_OPEN => entry.open += count.count,
                STATUS_ACKNOWLEDGED => entry.acknowledged += count.count,
                _ => entry.resolved += count.count,
            }
        }
        let head = repo::audit::head(conn).await?.size;
        let judged = repo::alerts::cursor(conn, super::CURSOR)
            .await?
            .unwrap_or(0);
        Ok(SecurityDashboard {
            unresolved,
            by_rule: by_rule.into_values().collect(),
            rules: self.monitor_rules().map(describe_rules).unwrap_or_default(),
            last_verification: self.last_verification(),
            monitor_lag: (head - judged).max(0),
        })
    }

    /// Verifies the whole audit log now (security officers); problems raise an alert.
    pub async fn verify_audit_now(&self, actor: &Actor) -> Result<Verification, CoreError> {
        self.require(actor, SystemAction::MonitorSecurity).await?;
        let verification = self.verify_audit_and_alert().await?;
        self.audit_read(
            AuditEvent::by(actor, AuditCode::AuditRead)
                .detail("query", "verify")
                .detail("intact", verification.intact)
                .detail("events", verification.events),
        )
        .await?;
        Ok(verification)
    }

    async fn alert_views(&self, rows: Vec<alert::Model>) -> Result<Vec<AlertView>, CoreError> {
        let conn = self.store().conn();
        let org = self.keys().org_key(conn).await?;
        let mut emails = std::collections::HashMap::new();
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let subject_email = match row.subject_user_id {
                Some(user) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = emails.entry(user) {
                        let email = match repo::users::get(conn, user).await? {
                            Some(u) => Some(self.open_identity(&org, &u)?.0),
                            None => None,
                        };
                        slot.insert(email);
                    }
                    emails.get(&user).cloned().flatten()
                }
                None => None,
            };
            views.push(AlertView {
                detail: serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null),
                id: row.id,
                rule: row.rule,
                severity: row.severity,
                status: row.status,
                subject_user_id: row.subject_user_id,
                subject_email,
                first_seq: row.first_seq,
                last_seq: row.last_seq,
                occurrences: row.occurrences,
                action: row.action,
                owner_id: row.owner_id,
                created_at: row.created_at,
                updated_at: row.updated_at,
                resolved_at: row.resolved_at,
                version: row.version,
            });
        }
        Ok(views)
    }
}
