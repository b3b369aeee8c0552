//! Audit reports for management: for a time range, sign-ins and failures by day, second-factor
//! coverage (privileged users without one named), privileged changes, reads of personal data
//! by user, exports, alerts and how they were handled, and the log's verification — computed
//! from the audit log itself (and the users and alerts tables), never from personal values.

use super::AuditEvent;
use super::query::AuditEventView;
use crate::authz::SystemAction;
use crate::monitor::Verification;
use crate::{Actor, Core, CoreError};
use custodian_domain::audit::AuditCode;
use custodian_store::repo;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The longest range one report covers (a year and a day, for leap years).
pub const MAX_RANGE_MS: i64 = 366 * DAY_MS;
const DAY_MS: i64 = 86_400_000;
/// Privileged changes listed one by one (all are counted).
const CHANGES_LISTED: u64 = 100;
/// Users listed among the readers and exporters.
const TOP_USERS: usize = 20;
/// Export events read for their row counts.
const EXPORTS_READ: u64 = 10_000;
/// Alerts read for the handling figures.
const ALERTS_READ: u64 = 10_000;

const SIGN_IN_SUCCESS: &[AuditCode] = &[
    AuditCode::AuthnLoginSuccess,
    AuditCode::AuthnLoginSuccessAfterFail,
];
const SIGN_IN_FAILURE: &[AuditCode] =
    &[AuditCode::AuthnLoginFail, AuditCode::AuthnUnknownCredential];
/// Changes to who may do what, to accounts and to configuration.
pub const PRIVILEGED_CODES: &[AuditCode] = &[
    AuditCode::AuthzRoleChange,
    AuditCode::AuthzPolicyChange,
    AuditCode::UserCreate,
    AuditCode::UserUpdate,
    AuditCode::UserDisable,
    AuditCode::UserEnable,
    AuditCode::UserDelete,
    AuditCode::UserMfaReset,
    AuditCode::AuthnTokenCreated,
    AuditCode::AuthnTokenRevoked,
    AuditCode::ConfigChange,
    AuditCode::AuditPruned,
];
/// Roles whose holders must have a second factor for the report to call coverage complete.
pub const PRIVILEGED_ROLES: &[&str] = &["administrator", "security_officer", "auditor"];

/// A report over `[from, to)`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// Unix milliseconds.
    pub from: i64,
    pub to: i64,
    pub generated_at: i64,
    pub sign_ins: SignIns,
    pub second_factors: SecondFactorCoverage,
    pub privileged_changes: PrivilegedChanges,
    pub personal_data_reads: Vec<UserReads>,
    pub exports: Exports,
    pub alerts: AlertHandling,
    pub verification: Verification,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct SignIns {
    pub succeeded: u64,
    pub failed: u64,
    pub second_factor_failed: u64,
    /// Per UTC day with any sign-in, oldest first.
    pub by_day: Vec<DaySignIns>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DaySignIns {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub succeeded: u64,
    pub failed: u64,
}

/// A user as a report names them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ReportUser {
    pub id: Uuid,
    /// The sign-in e-mail (staff, for management's eyes); empty when the user was deleted.
    pub email: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct SecondFactorCoverage {
    /// Active users now (coverage is a state, not a range).
    pub active_users: u64,
    pub with_second_factor: u64,
    pub privileged_users: u64,
    pub privileged_with_second_factor: u64,
    /// Privileged users without any second factor: the finding to act on.
    pub privileged_without: Vec<ReportUser>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrivilegedChanges {
    /// Per event code.
    pub counts: BTreeMap<String, u64>,
    /// The newest ones, newest first.
    pub recent: Vec<PrivilegedChange>,
}

/// One privileged change and who made it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PrivilegedChange {
    pub event: AuditEventView,
    /// The user who made it (none for the system or an anonymous actor).
    pub by: Option<ReportUser>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct UserReads {
    pub user: ReportUser,
    /// Reads of records with personal data (list pages count once each).
    pub reads: u64,
    /// Masked values revealed.
    pub reveals: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exports {
    pub exports: u64,
    pub rows: u64,
    pub approvals: u64,
    pub by_user: Vec<UserExports>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct UserExports {
    pub user: ReportUser,
    pub exports: u64,
    pub rows: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertHandling {
    pub raised: u64,
    /// Per rule: raised, and how many of those are resolved now.
    pub by_rule: Vec<RuleAlerts>,
    pub resolved: u64,
    /// Median minutes from raising to resolving, over the resolved ones.
    pub median_minutes_to_resolve: Option<u64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleAlerts {
    pub rule: String,
    pub severity: String,
    pub raised: u64,
    pub resolved: u64,
}

fn codes(list: &[AuditCode]) -> Vec<&'static str> {
    list.iter().map(|c| c.code()).collect()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn day_label(day: i64) -> String {
    let date = custodian_domain::clock::from_millis(day.saturating_mul(DAY_MS)).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

impl Core {
    /// The audit report of `[from, to)` (at most [`MAX_RANGE_MS`]), for auditors and
    /// security officers (`audit.read`); verifies the whole log as part of it. Audited.
    pub async fn audit_report(
        &self,
        actor: &Actor,
        from: i64,
        to: i64,
    ) -> Result<AuditReport, CoreError> {
        self.require(actor, SystemAction::ReadAudit).await?;
        super::check_range(from, to)?;
        if to - from > MAX_RANGE_MS {
            return Err(custodian_domain::FieldError::new(
                "to",
                "range_too_long",
                "a report covers at most 366 days; make one per year",
            )
            .into());
        }
        self.flush_audit().await?;
        let conn = self.store().scan_conn();
        let mut names = UserNames::default();

        let by_code = repo::audit::count_by_code(conn, from, to).await?;
        let total = |list: &[AuditCode]| -> u64 {
            by_code
                .iter()
                .filter(|c| list.iter().any(|code| code.code() == c.code))
                .map(|c| count(c.count))
                .sum()
        };
        let mut sign_ins = SignIns {
            succeeded: total(SIGN_IN_SUCCESS),
            failed: total(SIGN_IN_FAILURE),
            second_factor_failed: total(&[AuditCode::AuthnSecondFactorFail]),
            by_day: Vec::new(),
        };
        let sign_in_codes: Vec<&str> = codes(SIGN_IN_SUCCESS)
            .into_iter()
            .chain(codes(SIGN_IN_FAILURE))
            .collect();
        let mut days: BTreeMap<i64, DaySignIns> = BTreeMap::new();
        for row in repo::audit::daily_counts(conn, from, to, &sign_in_codes).await? {
            let entry = days.entry(row.day).or_insert_with(|| DaySignIns {
                day: day_label(row.day),
                ..DaySignIns::default()
            });
            if SIGN_IN_SUCCESS.iter().any(|c| c.code() == row.code) {
                entry.succeeded += count(row.count);
            } else {
                entry.failed += count(row.count);
            }
        }
        sign_ins.by_day = days.into_values().collect();

        let privileged_codes = codes(PRIVILEGED_CODES);
        let mut privileged_changes = PrivilegedChanges::default();
        for row in by_code
            .iter()
            .filter(|c| privileged_codes.contains(&c.code.as_str()))
        {
            *privileged_changes
                .counts
                .entry(row.code.clone())
                .or_default() += count(row.count);
        }
        for row in repo::audit::events_of(conn, from, to, &privileged_codes, CHANGES_LISTED).await?
        {
            let by = match row.actor_id {
                Some(user) => Some(names.user(self, user).await?),
                None => None,
            };
            privileged_changes.recent.push(PrivilegedChange {
                event: self.audit_view(row).await?,
                by,
            });
        }

        let read_codes = codes(&[AuditCode::DataRead, AuditCode::DataReveal]);
        let mut readers: BTreeMap<Uuid, (u64, u64)> = BTreeMap::new();
        for row in repo::audit::count_by_actor(conn, from, to, &read_codes).await? {
            let Some(user) = row.actor_id else { continue };
            let entry = readers.entry(user).or_default();
            if row.code == AuditCode::DataRead.code() {
                entry.0 += count(row.count);
            } else {
                entry.1 += count(row.count);
            }
        }
        let mut readers: Vec<(Uuid, (u64, u64))> = readers.into_iter().collect();
        readers.sort_by(|a, b| (b.1.0 + b.1.1).cmp(&(a.1.0 + a.1.1)).then(a.0.cmp(&b.0)));
        let mut personal_data_reads = Vec::new();
        for (user, (reads, reveals)) in readers.into_iter().take(TOP_USERS) {
            personal_data_reads.push(UserReads {
                user: names.user(self, user).await?,
                reads,
                reveals,
            });
        }

        let exports = self.export_summary(from, to, &mut names, &by_code).await?;
        let alerts = self.alert_handling(from, to).await?;
        let verification = self.verify_audit_and_alert().await?;
        let second_factors = self.second_factor_coverage(&mut names).await?;
        self.audit_read(
            AuditEvent::by(actor, AuditCode::AuditRead)
                .detail("query", "report")
                .detail("from", from)
                .detail("to", to),
        )
        .await?;
        Ok(AuditReport {
            from,
            to,
            generated_at: self.now(),
            sign_ins,
            second_factors,
            privileged_changes,
            personal_data_reads,
            exports,
            alerts,
            verification,
        })
    }

    async fn export_summary(
        &self,
        from: i64,
        to: i64,
        names: &mut UserNames,
        by_code: &[repo::audit::CodeCount],
    ) -> Result<Exports, CoreError> {
        let conn = self.store().scan_conn();
        let mut per_user: BTreeMap<Uuid, (u64, u64)> = BTreeMap::new();
        let mut summary = Exports {
            approvals: by_code
                .iter()
                .filter(|c| c.code == AuditCode::DataExportApproval.code())
                .map(|c| count(c.count))
                .sum(),
            ..Exports::default()
        };
        let export_code = [AuditCode::DataExport.code()];
        for row in repo::audit::events_of(conn, from, to, &export_code, EXPORTS_READ).await? {
            let detail: serde_json::Value = row
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            // An export is counted once, when it finished (its rows are known then).
            if detail.get("phase").and_then(serde_json::Value::as_str) != Some("finished") {
                continue;
            }
            let rows = detail
                .get("rows")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            summary.exports += 1;
            summary.rows += rows;
            if let Some(user) = row.actor_id {
                let entry = per_user.entry(user).or_default();
                entry.0 += 1;
                entry.1 += rows;
            }
        }
        let mut per_user: Vec<(Uuid, (u64, u64))> = per_user.into_iter().collect();
        per_user.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
        for (user, (exports, rows)) in per_user.into_iter().take(TOP_USERS) {
            summary.by_user.push(UserExports {
                user: names.user(self, user).await?,
                exports,
                rows,
            });
        }
        Ok(summary)
    }

    async fn alert_handling(&self, from: i64, to: i64) -> Result<AlertHandling, CoreError> {
        let rows = repo::alerts::raised_between(self.store().conn(), from, to, ALERTS_READ).await?;
        let mut by_rule: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        let mut minutes = Vec::new();
        for row in &rows {
            let entry = by_rule
                .entry((row.rule.clone(), row.severity.clone()))
                .or_default();
            entry.0 += 1;
            if let Some(resolved) = row.resolved_at {
                entry.1 += 1;
                minutes.push(count(resolved.saturating_sub(row.created_at)) / 60_000);
            }
        }
        minutes.sort_unstable();
        Ok(AlertHandling {
            raised: rows.len() as u64,
            resolved: minutes.len() as u64,
            median_minutes_to_resolve: minutes.get(minutes.len() / 2).copied(),
            by_rule: by_rule
                .into_iter()
                .map(|((rule, severity), (raised, resolved))| RuleAlerts {
                    rule,
                    severity,
                    raised,
                    resolved,
                })
                .collect(),
        })
    }

    /// Second factors of the active users now: TOTP, a passkey, or codes by e-mail or SMS.
    async fn second_factor_coverage(
        &self,
        names: &mut UserNames,
    ) -> Result<SecondFactorCoverage, CoreError> {
        let conn = self.store().conn();
        let mut roles: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
        for (user, role) in repo::users::all_roles(conn).await? {
            roles.entry(user).or_default().push(role);
        }
        let mut coverage = SecondFactorCoverage::default();
        for user in repo::users::all(conn).await? {
            if user.status != "active" || user.deleted_at.is_some() {
                continue;
            }
            let has_factor = user.email_codes_at.is_some()
                || user.sms_codes_at.is_some()
                || repo::second_factors::totp(conn, user.id)
                    .await?
                    .is_some_and(|t| t.confirmed_at.is_some())
                || repo::passkeys::count_for_user(conn, user.id).await? > 0;
            let privileged = roles
                .get(&user.id)
                .is_some_and(|r| r.iter().any(|r| PRIVILEGED_ROLES.contains(&r.as_str())));
            coverage.active_users += 1;
            coverage.with_second_factor += u64::from(has_factor);
            if privileged {
                coverage.privileged_users += 1;
                if has_factor {
                    coverage.privileged_with_second_factor += 1;
                } else {
                    coverage
                        .privileged_without
                        .push(names.user(self, user.id).await?);
                }
            }
        }
        Ok(coverage)
    }
}

/// Users' e-mails, each opened once per report, under the organisation key fetched once.
#[derive(Default)]
struct UserNames {
    known: BTreeMap<Uuid, String>,
    org: Option<std::sync::Arc<custodian_crypto::envelope::DataKey>>,
}

impl UserNames {
    async fn user(&mut self, core: &Core, id: Uuid) -> Result<ReportUser, CoreError> {
        if let Some(email) = self.known.get(&id) {
            return Ok(ReportUser {
                id,
                email: email.clone(),
            });
        }
        let conn = core.store().conn();
        let email = match repo::users::get(conn, id).await? {
            Some(user) => {
                let org = match &self.org {
                    Some(org) => org.clone(),
                    None => self.org.insert(core.keys().org_key(conn).await?).clone(),
                };
                core.open_identity(&org, &user)?.0
            }
            None => String::new(),
        };
        self.known.insert(id, email.clone());
        Ok(ReportUser { id, email })
    }
}
