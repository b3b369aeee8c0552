//! The rules: pure functions of the audit stream. [`Engine::observe`] takes one event at a time,
//! in log order, keeps sliding windows keyed by user ids and keyed hashes (never a personal
//! value), and returns what crossed a threshold. Time is the events' own `occurred_at`, so a
//! replay of the same events gives the same findings, whatever the wall clock says.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use uuid::Uuid;

/// At most this many keys per window map; beyond it the least recently active are dropped
/// (a flood of distinct keys must not grow memory without bound).
const MAX_KEYS: usize = 50_000;
const MINUTE_MS: i64 = 60_000;

/// What a rule does besides alerting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Alert only.
    #[default]
    None,
    /// Lock the account (as the sign-in lockout does, until it lapses or an administrator
    /// unlocks it) and end its sessions.
    LockAccount,
    /// End every session of the user.
    EndSessions,
    /// Require a fresh sign-in proof before any sensitive action on every session of the user.
    StepUp,
}

impl RuleAction {
    pub fn code(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::LockAccount => "lock_account",
            Self::EndSessions => "end_sessions",
            Self::StepUp => "step_up",
        }
    }
}

/// Thresholds of every rule (`[monitor]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSettings {
    /// Failed sign-ins for one account within the window.
    pub failed_logins_per_account: u32,
    /// Failed sign-ins from one network within the window.
    pub failed_logins_per_network: u32,
    pub failed_logins_window_mins: u32,
    pub failed_logins_action: RuleAction,
    /// Distinct accounts tried with one password, or from one network, within the window.
    pub spraying_accounts: u32,
    pub spraying_window_mins: u32,
    /// Records of personal data one user reads within the window.
    pub mass_read_records: u32,
    pub mass_read_window_mins: u32,
    pub mass_read_action: RuleAction,
    /// An export of at least this many rows.
    pub large_export_rows: u64,
    /// This many exports by one user within the window.
    pub exports_per_window: u32,
    pub exports_window_mins: u32,
    /// Working hours, in the organisation's time zone as a fixed UTC offset (minutes east).
    pub off_hours_enabled: bool,
    pub utc_offset_mins: i32,
    /// First working hour (inclusive) and the hour work ends (exclusive), 0–24.
    pub work_starts_hour: u8,
    pub work_ends_hour: u8,
    /// Saturdays and Sundays are off hours.
    pub weekends_off: bool,
    /// A sign-in from a network the account had not used.
    pub new_network: bool,
    /// A role granted to a user.
    pub privilege_escalation: bool,
    /// A session presented after it ended.
    pub ended_session_action: RuleAction,
}

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            failed_logins_per_account: 5,
            failed_logins_per_network: 20,
            failed_logins_window_mins: 15,
            failed_logins_action: RuleAction::None,
            spraying_accounts: 10,
            spraying_window_mins: 60,
            mass_read_records: 500,
            mass_read_window_mins: 10,
            mass_read_action: RuleAction::None,
            large_export_rows: 10_000,
            exports_per_window: 5,
            exports_window_mins: 60,
            off_hours_enabled: true,
            utc_offset_mins: 0,
            work_starts_hour: 7,
            work_ends_hour: 20,
            weekends_off: true,
            new_network: true,
            privilege_escalation: true,
            ended_session_action: RuleAction::EndSessions,
        }
    }
}

impl RuleSettings {
    /// Problems with the values, as configuration messages.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut positive = |name: &str, value: u64| {
            if value == 0 {
                out.push(format!("monitor.{name}: must be at least 1"));
            }
        };
        positive(
            "failed_logins_per_account",
            self.failed_logins_per_account.into(),
        );
        positive(
            "failed_logins_per_network",
            self.failed_logins_per_network.into(),
        );
        positive(
            "failed_logins_window_mins",
            self.failed_logins_window_mins.into(),
        );
        positive("spraying_accounts", self.spraying_accounts.into());
        positive("spraying_window_mins", self.spraying_window_mins.into());
        positive("mass_read_records", self.mass_read_records.into());
        positive("mass_read_window_mins", self.mass_read_window_mins.into());
        positive("large_export_rows", self.large_export_rows);
        positive("exports_per_window", self.exports_per_window.into());
        positive("exports_window_mins", self.exports_window_mins.into());
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_mins) {
            out.push("monitor.utc_offset_mins: between -840 and 840".to_owned());
        }
        if self.work_starts_hour >= self.work_ends_hour || self.work_ends_hour > 24 {
            out.push(
                "monitor.work_starts_hour and work_ends_hour: 0 ≤ start < end ≤ 24".to_owned(),
            );
        }
        out
    }

    /// The longest window: how far back a restarted monitor replays to rebuild its state.
    pub fn longest_window_ms(&self) -> i64 {
        [
            self.failed_logins_window_mins,
            self.spraying_window_mins,
            self.mass_read_window_mins,
            self.exports_window_mins,
        ]
        .into_iter()
        .max()
        .map_or(0, |m| i64::from(m) * MINUTE_MS)
    }

    fn action_of(&self, rule: Rule) -> RuleAction {
        match rule {
            Rule::FailedLoginBurst => self.failed_logins_action,
            Rule::MassRead => self.mass_read_action,
            Rule::EndedSessionUsed => self.ended_session_action,
            _ => RuleAction::None,
        }
    }
}

/// The rules, with stable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    FailedLoginBurst,
    PasswordSpraying,
    MassRead,
    LargeExport,
    ExportVolume,
    OffHours,
    NewNetwork,
    PrivilegeEscalation,
    EndedSessionUsed,
    AuditVerification,
}

pub const ALL_RULES: [Rule; 10] = [
    Rule::FailedLoginBurst,
    Rule::PasswordSpraying,
    Rule::MassRead,
    Rule::LargeExport,
    Rule::ExportVolume,
    Rule::OffHours,
    Rule::NewNetwork,
    Rule::PrivilegeEscalation,
    Rule::EndedSessionUsed,
    Rule::AuditVerification,
];

impl Rule {
    pub fn code(self) -> &'static str {
        match self {
            Self::FailedLoginBurst => "failed_login_burst",
            Self::PasswordSpraying => "password_spraying",
            Self::MassRead => "mass_read",
            Self::LargeExport => "large_export",
            Self::ExportVolume => "export_volume",
            Self::OffHours => "off_hours",
            Self::NewNetwork => "new_network",
            Self::PrivilegeEscalation => "privilege_escalation",
            Self::EndedSessionUsed => "ended_session_used",
            Self::AuditVerification => "audit_verification",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        ALL_RULES.into_iter().find(|r| r.code() == code)
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::AuditVerification | Self::EndedSessionUsed | Self::PasswordSpraying => {
                Severity::High
            }
            Self::FailedLoginBurst
            | Self::MassRead
            | Self::LargeExport
            | Self::PrivilegeEscalation => Severity::Medium,
            Self::ExportVolume | Self::OffHours | Self::NewNetwork => Severity::Low,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// An audit event as the rules read it.
#[derive(Debug, Clone)]
pub struct Observed {
    pub seq: i64,
    pub occurred_at: i64,
    pub code: String,
    pub actor_id: Option<Uuid>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    /// Keyed hash (hex) of the client's network, for sign-in failures.
    pub network: Option<String>,
    pub detail: Value,
}

/// A threshold crossed.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: Rule,
    /// What the alert is about, for de-duplication: `user:<id>`, `network:<hash>`, …
    pub subject_key: String,
    pub subject_user: Option<Uuid>,
    pub seq: i64,
    pub occurred_at: i64,
    /// Counts, thresholds and ids: never a personal value.
    pub detail: Value,
    pub action: RuleAction,
}

/// Weighted events inside a window.
#[derive(Debug, Default)]
struct Window {
    entries: VecDeque<(i64, u64)>,
    total: u64,
}

impl Window {
    fn add(&mut self, at: i64, weight: u64, window_ms: i64) -> u64 {
        self.entries.push_back((at, weight));
        self.total += weight;
        while let Some(&(first, w)) = self.entries.front() {
            if first > at - window_ms {
                break;
            }
            self.entries.pop_front();
            self.total -= w;
        }
        self.total
    }

    fn last(&self) -> i64 {
        self.entries.back().map_or(i64::MIN, |e| e.0)
    }
}

/// Distinct members (accounts) seen within a window.
#[derive(Debug, Default)]
struct Distinct {
    last_seen: HashMap<String, i64>,
    newest: i64,
}

impl Distinct {
    fn add(&mut self, member: &str, at: i64, window_ms: i64) -> usize {
        self.last_seen.insert(member.to_owned(), at);
        self.newest = self.newest.max(at);
        self.last_seen.retain(|_, seen| *seen > at - window_ms);
        self.last_seen.len()
    }
}

fn bounded<V>(map: &mut HashMap<String, V>, newest: impl Fn(&V) -> i64) {
    if map.len() <= MAX_KEYS {
        return;
    }
    let mut times: Vec<i64> = map.values().map(&newest).collect();
    times.sort_unstable();
    let cut = times[times.len() - MAX_KEYS / 2];
    map.retain(|_, v| newest(v) >= cut);
}

/// The rules' state over the stream.
#[derive(Debug)]
pub struct Engine {
    settings: RuleSettings,
    failures_by_account: HashMap<String, Window>,
    failures_by_network: HashMap<String, Window>,
    accounts_by_password: HashMap<String, Distinct>,
    accounts_by_network: HashMap<String, Distinct>,
    reads_by_user: HashMap<String, Window>,
    exports_by_user: HashMap<String, Window>,
}

/// The codes the rules read (the monitor replays only these when it warms up).
pub const WATCHED_CODES: [&str; 9] = [
    "authn_login_fail",
    "authn_login_success",
    "authn_login_new_device",
    "data_read",
    "data_export",
    "data_reveal",
    "authz_role_change",
    "user_create",
    "session_use_after_end",
];

fn minutes(m: u32) -> i64 {
    i64::from(m) * MINUTE_MS
}

impl Engine {
    pub fn new(settings: RuleSettings) -> Self {
        Self {
            settings,
            failures_by_account: HashMap::new(),
            failures_by_network: HashMap::new(),
            accounts_by_password: HashMap::new(),
            accounts_by_network: HashMap::new(),
            reads_by_user: HashMap::new(),
            exports_by_user: HashMap::new(),
        }
    }

    pub fn settings(&self) -> &RuleSettings {
        &self.settings
    }

    /// Reads one event; returns the thresholds it crossed.
    pub fn observe(&mut self, event: &Observed) -> Vec<Finding> {
        let mut found = Vec::new();
        match event.code.as_str() {
            "authn_login_fail" => self.login_failure(event, &mut found),
            "authn_login_success" => self.off_hours(event, "sign_in", &mut found),
            "authn_login_new_device" => self.new_network(event, &mut found),
            "data_read" => self.read(event, &mut found),
            "data_reveal" => self.off_hours(event, "reveal", &mut found),
            "data_export" => self.export(event, &mut found),
            "authz_role_change" | "user_create" => self.role_change(event, &mut found),
            "session_use_after_end" => {
                found.push(self.finding(
                    Rule::EndedSessionUsed,
                    event,
                    user_key(event.actor_id),
                    event.actor_id,
                    json!({ "session": event.detail.get("credential") }),
                ));
            }
            _ => {}
        }
        bounded(&mut self.failures_by_account, Window::last);
        bounded(&mut self.failures_by_network, Window::last);
        bounded(&mut self.accounts_by_password, |d| d.newest);
        bounded(&mut self.accounts_by_network, |d| d.newest);
        bounded(&mut self.reads_by_user, Window::last);
        bounded(&mut self.exports_by_user, Window::last);
        found
    }

    fn finding(
        &self,
        rule: Rule,
        event: &Observed,
        subject_key: String,
        subject_user: Option<Uuid>,
        detail: Value,
    ) -> Finding {
        Finding {
            rule,
            subject_key,
            subject_user,
            seq: event.seq,
            occurred_at: event.occurred_at,
            detail,
            action: self.settings.action_of(rule),
        }
    }

    fn login_failure(&mut self, event: &Observed, found: &mut Vec<Finding>) {
        let s = &self.settings;
        let window = minutes(s.failed_logins_window_mins);
        // The account: its id when it exists, else the fingerprint of the address typed.
        let account = match event.actor_id {
            Some(id) => Some(format!("user:{id}")),
            None => detail_str(&event.detail, "account").map(|a| format!("account:{a}")),
        };
        if let Some(account) = &account {
            let count = self
                .failures_by_account
                .entry(account.clone())
                .or_default()
                .add(event.occurred_at, 1, window);
            if count >= u64::from(s.failed_logins_per_account) {
                found.push(self.finding(
                    Rule::FailedLoginBurst,
                    event,
                    account.clone(),
                    event.actor_id,
                    json!({ "failures": count, "threshold": s.failed_logins_per_account,
                            "window_mins": s.failed_logins_window_mins, "by": "account" }),
                ));
            }
        }
        if let Some(network) = &event.network {
            let key = format!("network:{network}");
            let count = self
                .failures_by_network
                .entry(key.clone())
                .or_default()
                .add(event.occurred_at, 1, window);
            if count >= u64::from(s.failed_logins_per_network) {
                found.push(self.finding(
                    Rule::FailedLoginBurst,
                    event,
                    key,
                    None,
                    json!({ "failures": count, "threshold": s.failed_logins_per_network,
                            "window_mins": s.failed_logins_window_mins, "by": "network" }),
                ));
            }
        }
        let Some(account) = account else { return };
        let spray_window = minutes(s.spraying_window_mins);
        let sprayed = [
            ("password", detail_str(&event.detail, "password")),
            ("network", event.network.clone()),
        ];
        for (by, key) in sprayed {
            let Some(key) = key else { continue };
            let key = format!("{by}:{key}");
            let map = if by == "password" {
                &mut self.accounts_by_password
            } else {
                &mut self.accounts_by_network
            };
            let accounts =
                map.entry(key.clone())
                    .or_default()
                    .add(&account, event.occurred_at, spray_window);
            if accounts >= s.spraying_accounts as usize {
                found.push(self.finding(
                    Rule::PasswordSpraying,
                    event,
                    key,
                    None,
                    json!({ "accounts": accounts, "threshold": s.spraying_accounts,
                            "window_mins": s.spraying_window_mins, "by": by }),
                ));
            }
        }
    }

    fn read(&mut self, event: &Observed, found: &mut Vec<Finding>) {
        let Some(user) = event.actor_id else { return };
        let s = &self.settings;
        let records = event
            .detail
            .get("ids")
            .and_then(Value::as_array)
            .map_or(1, |ids| ids.len() as u64);
        let key = format!("user:{user}");
        let count = self.reads_by_user.entry(key.clone()).or_default().add(
            event.occurred_at,
            records,
            minutes(s.mass_read_window_mins),
        );
        if count >= u64::from(s.mass_read_records) {
            found.push(self.finding(
                Rule::MassRead,
                event,
                key,
                Some(user),
                json!({ "records": count, "threshold": s.mass_read_records,
                        "window_mins": s.mass_read_window_mins }),
            ));
        }
    }

    fn export(&mut self, event: &Observed, found: &mut Vec<Finding>) {
        let phase = detail_str(&event.detail, "phase");
        if phase.as_deref() == Some("started") {
            self.off_hours(event, "export", found);
            let Some(user) = event.actor_id else { return };
            let s = &self.settings;
            let key = format!("user:{user}");
            let count = self.exports_by_user.entry(key.clone()).or_default().add(
                event.occurred_at,
                1,
                minutes(s.exports_window_mins),
            );
            if count >= u64::from(s.exports_per_window) {
                found.push(self.finding(
                    Rule::ExportVolume,
                    event,
                    key,
                    Some(user),
                    json!({ "exports": count, "threshold": s.exports_per_window,
                            "window_mins": s.exports_window_mins }),
                ));
            }
        }
        let rows = event.detail.get("rows").and_then(Value::as_u64);
        if phase.as_deref() == Some("finished")
            && let Some(rows) = rows
            && rows >= self.settings.large_export_rows
        {
            found.push(self.finding(
                Rule::LargeExport,
                event,
                format!("export:{}", event.seq),
                event.actor_id,
                json!({ "rows": rows, "threshold": self.settings.large_export_rows,
                        "kind": event.detail.get("kind") }),
            ));
        }
    }

    fn off_hours(&self, event: &Observed, what: &str, found: &mut Vec<Finding>) {
        let s = &self.settings;
        if !s.off_hours_enabled {
            return;
        }
        let Some(user) = event.actor_id else { return };
        let local_ms = event.occurred_at + i64::from(s.utc_offset_mins) * MINUTE_MS;
        let day = local_ms.div_euclid(24 * 60 * MINUTE_MS);
        let hour = local_ms.rem_euclid(24 * 60 * MINUTE_MS) / (60 * MINUTE_MS);
        // 1970-01-01 was a Thursday: day 0 → weekday 3 (Monday = 0).
        let weekday = (day + 3).rem_euclid(7);
        let weekend = s.weekends_off && weekday >= 5;
        let outside = hour < i64::from(s.work_starts_hour) || hour >= i64::from(s.work_ends_hour);
        if weekend || outside {
            found.push(self.finding(
                Rule::OffHours,
                event,
                // One alert per user and local day.
                format!("user:{user}:day:{day}"),
                Some(user),
                json!({ "what": what, "local_hour": hour, "weekend": weekend,
                        "utc_offset_mins": s.utc_offset_mins }),
            ));
        }
    }

    fn new_network(&self, event: &Observed, found: &mut Vec<Finding>) {
        let detail = detail_str(&event.detail, "detail").unwrap_or_default();
        if !self.settings.new_network || !detail.contains("network") {
            return;
        }
        found.push(self.finding(
            Rule::NewNetwork,
            event,
            format!("user:{}:seq:{}", opt_id(event.actor_id), event.seq),
            event.actor_id,
            json!({ "new": detail }),
        ));
    }

    fn role_change(&self, event: &Observed, found: &mut Vec<Finding>) {
        if !self.settings.privilege_escalation {
            return;
        }
        let roles = |key: &str| -> Vec<String> {
            event
                .detail
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let before = roles("before");
        let after = if event.code == "user_create" {
            roles("roles")
        } else {
            roles("after")
        };
        let granted: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
        if granted.is_empty() {
            return;
        }
        found.push(self.finding(
            Rule::PrivilegeEscalation,
            event,
            format!("user:{}:seq:{}", opt_id(event.target_id), event.seq),
            event.target_id,
            json!({ "granted": granted, "by": event.actor_id }),
        ));
    }
}

fn detail_str(detail: &Value, key: &str) -> Option<String> {
    detail.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn user_key(user: Option<Uuid>) -> String {
    format!("user:{}", opt_id(user))
}

fn opt_id(id: Option<Uuid>) -> String {
    id.map_or_else(|| "unknown".to_owned(), |id| id.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HOUR: i64 = 60 * MINUTE_MS;

    /// Distinct ids, no clock needed.
    fn next_id() -> Uuid {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Uuid::from_u128(u128::from(
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        ))
    }
    /// 2026-11-25 (a Wednesday) 10:00 UTC.
    const WEDNESDAY_10: i64 = 1_795_600_800_000;

    fn event(seq: i64, at: i64, code: &str, actor: Option<Uuid>, detail: Value) -> Observed {
        Observed {
            seq,
            occurred_at: at,
            code: code.to_owned(),
            actor_id: actor,
            target_type: None,
            target_id: None,
            network: None,
            detail,
        }
    }

    fn rules(found: &[Finding]) -> Vec<&'static str> {
        found.iter().map(|f| f.rule.code()).collect()
    }

    #[test]
    fn the_reference_time_is_a_wednesday_morning() {
        let t = time::OffsetDateTime::from_unix_timestamp(WEDNESDAY_10 / 1000).unwrap();
        assert_eq!(t.weekday(), time::Weekday::Wednesday);
        assert_eq!(t.hour(), 10);
    }

    #[test]
    fn failures_for_one_account_alert_at_the_threshold_and_age_out() {
        let mut engine = Engine::new(RuleSettings::default());
        let user = next_id();
        for i in 0..4 {
            let found = engine.observe(&event(
                i,
                WEDNESDAY_10 + i * MINUTE_MS,
                "authn_login_fail",
                Some(user),
                json!({}),
            ));
            assert!(found.is_empty(), "below the threshold at {i}");
        }
        let found = engine.observe(&event(
            4,
            WEDNESDAY_10 + 4 * MINUTE_MS,
            "authn_login_fail",
            Some(user),
            json!({}),
        ));
        assert_eq!(rules(&found), ["failed_login_burst"]);
        assert_eq!(found[0].subject_key, format!("user:{user}"));
        assert_eq!(found[0].detail["failures"], 5);
        // An hour later the window has emptied: one failure is not a burst.
        let found = engine.observe(&event(
            5,
            WEDNESDAY_10 + HOUR,
            "authn_login_fail",
            Some(user),
            json!({}),
        ));
        assert!(found.is_empty());
    }

    #[test]
    fn one_password_against_many_accounts_is_spraying() {
        let mut engine = Engine::new(RuleSettings {
            spraying_accounts: 3,
            ..RuleSettings::default()
        });
        let mut all = Vec::new();
        for i in 0..3 {
            all.extend(engine.observe(&event(
                i,
                WEDNESDAY_10 + i,
                "authn_login_fail",
                None,
                json!({ "account": format!("acc{i}"), "password": "p1" }),
            )));
        }
        assert_eq!(rules(&all), ["password_spraying"]);
        assert_eq!(all[0].subject_key, "password:p1");
        assert_eq!(all[0].detail["accounts"], 3);
        // The same account again and again with one password is not spraying.
        let mut engine = Engine::new(RuleSettings {
            spraying_accounts: 3,
            ..RuleSettings::default()
        });
        for i in 0..3 {
            let found = engine.observe(&event(
                i,
                WEDNESDAY_10 + i,
                "authn_login_fail",
                None,
                json!({ "account": "same", "password": "p1" }),
            ));
            assert!(!rules(&found).contains(&"password_spraying"));
        }
    }

    #[test]
    fn many_accounts_from_one_network_is_spraying_and_a_network_burst() {
        let mut engine = Engine::new(RuleSettings {
            spraying_accounts: 4,
            failed_logins_per_network: 4,
            ..RuleSettings::default()
        });
        let mut all = Vec::new();
        for i in 0..4 {
            let mut e = event(
                i,
                WEDNESDAY_10 + i,
                "authn_login_fail",
                Some(next_id()),
                json!({}),
            );
            e.network = Some("n1".to_owned());
            all.extend(engine.observe(&e));
        }
        let mut found = rules(&all);
        found.sort_unstable();
        assert_eq!(found, ["failed_login_burst", "password_spraying"]);
        assert!(all.iter().all(|f| f.subject_key.starts_with("network:")));
    }

    #[test]
    fn list_pages_count_every_record_towards_a_mass_read() {
        let mut engine = Engine::new(RuleSettings {
            mass_read_records: 120,
            ..RuleSettings::default()
        });
        let user = next_id();
        let page = json!({ "ids": (0..50).map(|_| next_id().to_string()).collect::<Vec<_>>() });
        assert!(
            engine
                .observe(&event(
                    1,
                    WEDNESDAY_10,
                    "data_read",
                    Some(user),
                    page.clone()
                ))
                .is_empty()
        );
        assert!(
            engine
                .observe(&event(
                    2,
                    WEDNESDAY_10 + 1,
                    "data_read",
                    Some(user),
                    page.clone()
                ))
                .is_empty()
        );
        // Another user's reads do not add up with these.
        assert!(
            engine
                .observe(&event(
                    3,
                    WEDNESDAY_10 + 2,
                    "data_read",
                    Some(next_id()),
                    page.clone()
                ))
                .is_empty()
        );
        let found = engine.observe(&event(4, WEDNESDAY_10 + 3, "data_read", Some(user), page));
        assert_eq!(rules(&found), ["mass_read"]);
        assert_eq!(found[0].detail["records"], 150);
        assert_eq!(found[0].subject_user, Some(user));
    }

    #[test]
    fn exports_large_frequent_and_off_hours() {
        let mut engine = Engine::new(RuleSettings {
            exports_per_window: 2,
            large_export_rows: 1000,
            ..RuleSettings::default()
        });
        let user = next_id();
        let started = json!({ "phase": "started", "kind": "contacts" });
        assert!(
            engine
                .observe(&event(
                    1,
                    WEDNESDAY_10,
                    "data_export",
                    Some(user),
                    started.clone()
                ))
                .is_empty()
        );
        let found = engine.observe(&event(
            2,
            WEDNESDAY_10 + 1,
            "data_export",
            Some(user),
            json!({ "phase": "finished", "rows": 1000, "kind": "contacts" }),
        ));
        assert_eq!(rules(&found), ["large_export"]);
        let found = engine.observe(&event(
            3,
            WEDNESDAY_10 + 2,
            "data_export",
            Some(user),
            started,
        ));
        assert_eq!(rules(&found), ["export_volume"]);
        // 03:00 on the same day, and a Saturday at noon: off hours.
        let night = engine.observe(&event(
            4,
            WEDNESDAY_10 - 7 * HOUR,
            "authn_login_success",
            Some(user),
            json!({}),
        ));
        assert_eq!(rules(&night), ["off_hours"]);
        assert_eq!(night[0].detail["local_hour"], 3);
        let saturday = engine.observe(&event(
            5,
            WEDNESDAY_10 + 3 * 24 * HOUR + 2 * HOUR,
            "authn_login_success",
            Some(user),
            json!({}),
        ));
        assert_eq!(saturday[0].detail["weekend"], true);
        assert_ne!(night[0].subject_key, saturday[0].subject_key);
    }

    #[test]
    fn the_organisations_offset_moves_working_hours() {
        // 10:00 UTC is 18:00 in Beijing (working), 02:00 UTC is 10:00 there.
        let china = RuleSettings {
            utc_offset_mins: 8 * 60,
            ..RuleSettings::default()
        };
        let user = Some(next_id());
        let mut engine = Engine::new(china);
        assert!(
            engine
                .observe(&event(
                    1,
                    WEDNESDAY_10 - 8 * HOUR,
                    "authn_login_success",
                    user,
                    json!({})
                ))
                .is_empty()
        );
        let late = engine.observe(&event(
            2,
            WEDNESDAY_10 + 4 * HOUR,
            "authn_login_success",
            user,
            json!({}),
        ));
        assert_eq!(late[0].detail["local_hour"], 22);
    }

    #[test]
    fn granted_roles_are_escalations_and_removed_ones_are_not() {
        let mut engine = Engine::new(RuleSettings::default());
        let target = next_id();
        let mut e = event(
            1,
            WEDNESDAY_10,
            "authz_role_change",
            Some(next_id()),
            json!({ "before": ["sales"], "after": ["sales", "admin"] }),
        );
        e.target_id = Some(target);
        let found = engine.observe(&e);
        assert_eq!(rules(&found), ["privilege_escalation"]);
        assert_eq!(found[0].detail["granted"], json!(["admin"]));
        assert_eq!(found[0].subject_user, Some(target));
        e.detail = json!({ "before": ["sales", "admin"], "after": ["sales"] });
        assert!(engine.observe(&e).is_empty());
    }

    #[test]
    fn ended_sessions_and_new_networks_alert_with_their_actions() {
        let mut engine = Engine::new(RuleSettings::default());
        let user = Some(next_id());
        let found = engine.observe(&event(
            1,
            WEDNESDAY_10,
            "session_use_after_end",
            user,
            json!({}),
        ));
        assert_eq!(rules(&found), ["ended_session_used"]);
        assert_eq!(found[0].action, RuleAction::EndSessions);
        let device_only = engine.observe(&event(
            2,
            WEDNESDAY_10,
            "authn_login_new_device",
            user,
            json!({ "detail": "device" }),
        ));
        assert!(device_only.is_empty());
        let network = engine.observe(&event(
            3,
            WEDNESDAY_10,
            "authn_login_new_device",
            user,
            json!({ "detail": "network+device" }),
        ));
        assert_eq!(rules(&network), ["new_network"]);
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_bounded() {
        let mut engine = Engine::new(RuleSettings::default());
        for i in 0..(MAX_KEYS as i64 + 10) {
            engine.observe(&event(
                i,
                WEDNESDAY_10 + i,
                "authn_login_fail",
                None,
                json!({ "account": format!("a{i}") }),
            ));
        }
        assert!(engine.failures_by_account.len() <= MAX_KEYS);
    }

    #[test]
    fn settings_are_checked() {
        let bad = RuleSettings {
            mass_read_records: 0,
            work_starts_hour: 20,
            work_ends_hour: 8,
            utc_offset_mins: 2000,
            ..RuleSettings::default()
        };
        let problems = bad.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(RuleSettings::default().problems().is_empty());
    }
}
