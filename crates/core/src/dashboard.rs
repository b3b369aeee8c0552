//! The dashboard: open pipeline value by stage (plain and weighted by the stage's win
//! probability), deals won and lost per calendar month, activities per owner and kind over a
//! period, and overdue tasks. Every figure is a grouped query in the database
//! (`repo::dashboard`, `repo::deals::open_totals`); money stays in integer minor units per
//! currency and is never summed across currencies. Months and days are UTC, from the injected
//! clock.

use crate::authz::{Action, FieldAccess, FieldGroup, RecordType};
use crate::{Actor, Core, CoreError};
use custodian_domain::clock::from_millis;
use custodian_domain::error::Validator;
use custodian_domain::money::Currency;
use custodian_domain::values::{ActivityKind, CalendarDate, DealStatus};
use custodian_domain::{FieldError, PipelineId, StageId, TaskId, UserId};
use custodian_store::access::AccessCondition;
use custodian_store::page::Direction;
use custodian_store::repo::{self, Deleted};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use time::{Date, Month, OffsetDateTime, Time};
use uuid::Uuid;

pub const DEFAULT_MONTHS: u32 = 6;
pub const MAX_MONTHS: u32 = 24;
/// The activities period when none is given: the last 30 days, today included.
pub const DEFAULT_PERIOD_DAYS: i64 = 30;
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Overdue tasks listed (the oldest first).
pub const OLDEST_OVERDUE: u64 = 5;
const DAY_MS: i64 = 86_400_000;

/// Filters as they arrive (query string or form); empty means "not given".
#[derive(Debug, Clone, Default)]
pub struct DashboardQuery {
    /// The pipeline for the deal figures; the first pipeline when absent.
    pub pipeline_id: Option<String>,
    /// Calendar months of won/lost history, the current one included (1–24, default 6).
    pub months: Option<String>,
    /// First and last day (inclusive, UTC, `YYYY-MM-DD`) of the activities period.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only this currency's amounts (counts are never filtered).
    pub currency: Option<String>,
}

/// An amount in one currency: an exact decimal string, and the minor units for charts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CurrencyAmount {
    pub currency: String,
    pub amount: String,
    #[serde(skip)]
    pub minor: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct DashboardPipeline {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: PipelineId,
    pub name: String,
}

/// One stage's open value in one currency.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StageAmount {
    pub currency: String,
    /// Sum of the open deals' amounts.
    pub amount: String,
    /// `amount × probability / 100`, rounded once, half to even, to the minor unit.
    pub weighted: String,
    #[serde(skip)]
    pub amount_minor: i64,
    #[serde(skip)]
    pub weighted_minor: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct StageValue {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub stage_id: StageId,
    pub name: String,
    pub probability: i64,
    /// Open deals in the stage, with or without an amount, in any currency.
    pub open_deals: i64,
    /// Per currency, ordered by code.
    pub values: Vec<StageAmount>,
}

/// Deals closed in one calendar month (UTC).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct MonthOutcome {
    /// `YYYY-MM`.
    pub month: String,
    pub won_deals: i64,
    pub lost_deals: i64,
    pub won: Vec<CurrencyAmount>,
    pub lost: Vec<CurrencyAmount>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct WonLost {
    pub months: u32,
    /// Oldest month first, the current month last; months without closed deals included.
    pub items: Vec<MonthOutcome>,
}

/// One owner's activities in the period, by kind.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OwnerActivities {
    /// `null`: activities without an owner.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    pub calls: i64,
    pub meetings: i64,
    pub emails: i64,
    pub notes: i64,
    pub total: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ActivitySummary {
    /// First and last day of the period (inclusive, UTC).
    pub from: String,
    pub to: String,
    /// Most active first.
    pub owners: Vec<OwnerActivities>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AssigneeOverdue {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub assignee_id: UserId,
    pub tasks: i64,
}

/// An overdue task. The title is personal free text: it is decrypted only for the viewer's
/// own tasks; for others' it is `null` (open the task to read it).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct OverdueTask {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: TaskId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub assignee_id: UserId,
    pub title: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: OffsetDateTime,
    /// Whole days since the due moment.
    pub days_overdue: i64,
}
crate::redacted_debug!(OverdueTask);

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct OverdueSummary {
    pub total: i64,
    /// Most overdue tasks first.
    pub by_assignee: Vec<AssigneeOverdue>,
    /// The longest overdue, oldest first (at most 5).
    pub oldest: Vec<OverdueTask>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// Open deals in the pipeline.
    pub open_deals: i64,
    pub open_value: Vec<CurrencyAmount>,
    /// Sum of the stages' weighted values (each rounded once).
    pub weighted_value: Vec<CurrencyAmount>,
    /// Over the won/lost months.
    pub won_deals: i64,
    pub lost_deals: i64,
    pub won_value: Vec<CurrencyAmount>,
    /// `won / (won + lost)` in whole percent, rounded half up; `null` when nothing closed.
    pub win_rate_percent: Option<i64>,
    /// In the activities period.
    pub activities: i64,
    pub overdue_tasks: i64,
    /// Overdue tasks assigned to the viewer.
    pub my_overdue_tasks: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct DashboardView {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub generated_at: OffsetDateTime,
    /// `null` when no pipeline exists yet.
    pub pipeline: Option<DashboardPipeline>,
    /// The currency filter, if any.
    pub currency: Option<String>,
    /// Currencies of the deal figures before the currency filter, most deals first.
    pub currencies: Vec<String>,
    pub headline: Headline,
    pub pipeline_value: Vec<StageValue>,
    pub won_lost: WonLost,
    pub activities: ActivitySummary,
    pub overdue_tasks: OverdueSummary,
}

/// Validated filters.
struct Filters {
    pipeline_id: Option<Uuid>,
    months: u32,
    from: Date,
    to: Date,
    currency: Option<Currency>,
}

fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_filters(query: &DashboardQuery, today: Date) -> Result<Filters, CoreError> {
    let mut v = Validator::new();
    let pipeline_id = given(&query.pipeline_id).and_then(|raw| {
        v.check(Uuid::parse_str(raw).map_err(|_| {
            FieldError::new(
                "pipeline_id",
                "invalid_id",
                "must be a pipeline id (a UUID)",
            )
        }))
    });
    let months = match given(&query.months) {
        None => Some(DEFAULT_MONTHS),
        Some(raw) => v.check(
            raw.parse::<u32>()
                .ok()
                .filter(|m| (1..=MAX_MONTHS).contains(m))
                .ok_or_else(|| {
                    FieldError::new(
                        "months",
                        "out_of_range",
                        format!("must be a whole number from 1 to {MAX_MONTHS}"),
                    )
                }),
        ),
    };
    let date = |v: &mut Validator, field: &str, raw: &Option<String>| {
        given(raw).and_then(|r| {
            v.check(CalendarDate::parse(field, r))
                .map(CalendarDate::date)
        })
    };
    let from = date(&mut v, "from", &query.from);
    let to = date(&mut v, "to", &query.to);
    let currency = given(&query.currency).and_then(|raw| v.check(Currency::parse("currency", raw)));
    let to_day = to.unwrap_or(today);
    let from_day = from.unwrap_or_else(|| {
        to_day
            .checked_sub(time::Duration::days(DEFAULT_PERIOD_DAYS - 1))
            .unwrap_or(to_day)
    });
    if from.is_some() || to.is_some() {
        let span = (to_day - from_day).whole_days() + 1;
        if span < 1 {
            v.push(FieldError::new(
                "to",
                "invalid_range",
                "must be on or after the first day (from)",
            ));
        } else if span > MAX_PERIOD_DAYS {
            v.push(FieldError::new(
                "from",
                "out_of_range",
                format!("the period may be at most {MAX_PERIOD_DAYS} days"),
            ));
        }
    }
    v.finish()?;
    Ok(Filters {
        pipeline_id,
        months: months.unwrap_or(DEFAULT_MONTHS),
        from: from_day,
        to: to_day,
        currency,
    })
}

/// `amount × probability / 100`, rounded half to even to the minor unit, in 128 bits.
pub fn weighted_amount(amount: i64, probability: i64) -> i64 {
    let n = i128::from(amount) * i128::from(probability);
    let (q, r) = (n.div_euclid(100), n.rem_euclid(100));
    let q = if r > 50 || (r == 50 && q % 2 != 0) {
        q + 1
    } else {
        q
    };
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// The first instant (UTC) of the month `back` months before the month of `day`.
fn month_start(day: Date, back: u32) -> Date {
    let index =
        day.year() * 12 + i32::from(u8::from(day.month())) - 1 - i32::try_from(back).unwrap_or(0);
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    let month = Month::try_from(u8::try_from(month0 + 1).unwrap_or(1)).unwrap_or(Month::January);
    Date::from_calendar_date(year, month, 1).unwrap_or(day)
}

fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn start_millis(day: Date) -> i64 {
    custodian_domain::clock::to_millis(day.with_time(Time::MIDNIGHT).assume_utc())
}

fn money(currency: Currency, minor: i64) -> CurrencyAmount {
    CurrencyAmount {
        currency: currency.code().to_owned(),
        amount: currency.format_amount(minor),
        minor,
    }
}

/// Sums per currency code (ordered by code), checked for overflow.
#[derive(Default)]
struct PerCurrency(BTreeMap<&'static str, (Currency, i64)>);

impl PerCurrency {
    fn add(&mut self, currency: Currency, minor: i64) -> Result<(), CoreError> {
        let entry = self.0.entry(currency.code()).or_insert((currency, 0));
        entry.1 = entry.1.checked_add(minor).ok_or(CoreError::DataIntegrity {
            table: "deals",
            column: "amount_minor",
        })?;
        Ok(())
    }

    fn amounts(&self) -> Vec<CurrencyAmount> {
        self.0.values().map(|&(c, m)| money(c, m)).collect()
    }
}

fn stored_currency(code: &str) -> Result<Currency, CoreError> {
    Currency::parse("currency", code).map_err(|_| CoreError::DataIntegrity {
        table: "deals",
        column: "currency",
    })
}

impl Core {
    /// What the actor's dashboard counts: only rows they may read, money only where they may
    /// read the amounts. A condition the query cannot express exactly counts nothing rather
    /// than too much.
    pub(crate) fn dashboard_scope(
        &self,
        actor: &Actor,
    ) -> Result<repo::dashboard::Scope, CoreError> {
        let exact = |filter: crate::authz::RecordFilter| {
            if filter.exact {
                filter.condition
            } else {
                AccessCondition::False
            }
        };
        Ok(repo::dashboard::Scope {
            deals: exact(self.read_filter(actor, RecordType::Deal)?),
            deal_amounts: exact(self.action_filter(
                actor,
                Action::Field(FieldGroup::Financials, FieldAccess::Read),
                RecordType::Deal,
            )?),
            activities: exact(self.read_filter(actor, RecordType::Activity)?),
            tasks: exact(self.read_filter(actor, RecordType::Task)?),
        })
    }

    /// Everything the dashboard shows, for any signed-in user, counting what they may read. Invalid filters are 422s
    /// (`invalid_id`, `unknown_pipeline`, `out_of_range`, `invalid_date`, `invalid_range`,
    /// `invalid_currency`).
    pub async fn dashboard(
        &self,
        actor: &Actor,
        query: DashboardQuery,
    ) -> Result<DashboardView, CoreError> {
        let now = self.now();
        let generated_at = from_millis(now);
        let today = generated_at.date();
        let f = parse_filters(&query, today)?;
        let scope = self.dashboard_scope(actor)?;
        let pipelines = self.list_pipelines(actor).await?;
        let pipeline =
            match f.pipeline_id {
                Some(id) => Some(pipelines.iter().find(|p| p.id.as_uuid() == id).ok_or_else(
                    || {
                        CoreError::from(FieldError::new(
                            "pipeline_id",
                            "unknown_pipeline",
                            "no pipeline with this id exists",
                        ))
                    },
                )?),
                None => pipelines.first(),
            };
        let wanted = |c: Currency| f.currency.is_none_or(|w| w == c);
        let conn = self.store().conn();
        // Deals per currency across both deal figures, to order the currency choices.
        let mut deals_per_currency: HashMap<&'static str, i64> = HashMap::new();

        // (a) Open value by stage.
        let mut pipeline_value = Vec::new();
        let (mut open_deals, mut open_total, mut weighted_total) =
            (0_i64, PerCurrency::default(), PerCurrency::default());
        if let Some(p) = pipeline {
            let totals =
                repo::deals::open_totals(conn, p.id.as_uuid(), &scope.deals, &scope.deal_amounts)
                    .await?;
            for stage in &p.stages {
                let mut stage_deals = 0;
                let mut values = Vec::new();
                for t in totals.iter().filter(|t| t.stage_id == stage.id.as_uuid()) {
                    stage_deals += t.deals;
                    let Some(code) = &t.currency else { continue };
                    let currency = stored_currency(code)?;
                    *deals_per_currency.entry(currency.code()).or_default() += t.deals;
                    if !wanted(currency) {
                        continue;
                    }
                    let weighted = weighted_amount(t.amount, stage.probability);
                    open_total.add(currency, t.amount)?;
                    weighted_total.add(currency, weighted)?;
                    values.push(StageAmount {
                        currency: currency.code().to_owned(),
                        amount: currency.format_amount(t.amount),
                        weighted: currency.format_amount(weighted),
                        amount_minor: t.amount,
                        weighted_minor: weighted,
                    });
                }
                values.sort_by(|a, b| a.currency.cmp(&b.currency));
                open_deals += stage_deals;
                pipeline_value.push(StageValue {
                    stage_id: stage.id,
                    name: stage.name.clone(),
                    probability: stage.probability,
                    open_deals: stage_deals,
                    values,
                });
            }
        }

        // (b) Won and lost per calendar month, the current month last.
        let bounds: Vec<i64> = (0..=f.months)
            .map(|i| start_millis(month_start(today, f.months - 1).saturating_add_months(i)))
            .collect();
        let mut items: Vec<(MonthOutcome, PerCurrency, PerCurrency)> = bounds
            .iter()
            .take(usize::try_from(f.months).unwrap_or(0))
            .map(|&b| {
                let d = from_millis(b).date();
                (
                    MonthOutcome {
                        month: format!("{:04}-{:02}", d.year(), u8::from(d.month())),
                        won_deals: 0,
                        lost_deals: 0,
                        won: Vec::new(),
                        lost: Vec::new(),
                    },
                    PerCurrency::default(),
                    PerCurrency::default(),
                )
            })
            .collect();
        let mut won_value = PerCurrency::default();
        if let Some(p) = pipeline {
            let statuses = [DealStatus::Won.code(), DealStatus::Lost.code()];
            let closed =
                repo::dashboard::closed_totals(conn, &scope, p.id.as_uuid(), &statuses, &bounds)
                    .await?;
            for row in closed {
                let Some((month, won, lost)) = usize::try_from(row.bucket)
                    .ok()
                    .and_then(|i| items.get_mut(i))
                else {
                    continue;
                };
                let is_won = row.status == DealStatus::Won.code();
                if is_won {
                    month.won_deals += row.deals;
                } else {
                    month.lost_deals += row.deals;
                }
                let Some(code) = &row.currency else { continue };
                let currency = stored_currency(code)?;
                *deals_per_currency.entry(currency.code()).or_default() += row.deals;
                if !wanted(currency) {
                    continue;
                }
                if is_won {
                    won.add(currency, row.amount)?;
                    won_value.add(currency, row.amount)?;
                } else {
                    lost.add(currency, row.amount)?;
                }
            }
        }
        let items: Vec<MonthOutcome> = items
            .into_iter()
            .map(|(mut m, won, lost)| {
                m.won = won.amounts();
                m.lost = lost.amounts();
                m
            })
            .collect();
        let won_deals: i64 = items.iter().map(|m| m.won_deals).sum();
        let lost_deals: i64 = items.iter().map(|m| m.lost_deals).sum();
        let win_rate_percent = (won_deals + lost_deals > 0)
            .then(|| (won_deals * 200 + (won_deals + lost_deals)) / (2 * (won_deals + lost_deals)));

        // (c) Activities per owner and kind.
        let period_end = f.to.next_day().map_or(i64::MAX, start_millis);
        let counts =
            repo::dashboard::activities_by_owner(conn, &scope, start_millis(f.from), period_end)
                .await?;
        let mut owners: Vec<OwnerActivities> = Vec::new();
        for row in counts {
            let owner_id = row.owner_id.map(UserId);
            let idx = match owners.iter().position(|o| o.owner_id == owner_id) {
                Some(i) => i,
                None => {
                    owners.push(OwnerActivities {
                        owner_id,
                        calls: 0,
                        meetings: 0,
                        emails: 0,
                        notes: 0,
                        total: 0,
                    });
                    owners.len() - 1
                }
            };
            let Some(o) = owners.get_mut(idx) else {
                continue;
            };
            match ActivityKind::parse("kind", &row.kind) {
                Ok(ActivityKind::Call) => o.calls += row.activities,
                Ok(ActivityKind::Meeting) => o.meetings += row.activities,
                Ok(ActivityKind::Email) => o.emails += row.activities,
                Ok(ActivityKind::Note) => o.notes += row.activities,
                Err(_) => {
                    return Err(CoreError::DataIntegrity {
                        table: "activities",
                        column: "kind",
                    });
                }
            }
            o.total += row.activities;
        }
        // Most active first; ties by owner id so the order is stable (no owner last).
        owners.sort_by(|a, b| {
            b.total
                .cmp(&a.total)
                .then_with(|| a.owner_id.is_none().cmp(&b.owner_id.is_none()))
                .then_with(|| {
                    a.owner_id
                        .map(|u| u.as_uuid())
                        .cmp(&b.owner_id.map(|u| u.as_uuid()))
                })
        });
        let activities_total = owners.iter().map(|o| o.total).sum();

        // (d) Overdue tasks.
        let active: Vec<&str> = crate::tasks::ACTIVE_STATUSES
            .iter()
            .map(|s| s.code())
            .collect();
        let mut by_assignee: Vec<AssigneeOverdue> =
            repo::dashboard::overdue_by_assignee(conn, &scope, &active, now)
                .await?
                .into_iter()
                .map(|r| AssigneeOverdue {
                    assignee_id: UserId(r.assignee_id),
                    tasks: r.tasks,
                })
                .collect();
        by_assignee.sort_by(|a, b| {
            b.tasks
                .cmp(&a.tasks)
                .then_with(|| a.assignee_id.as_uuid().cmp(&b.assignee_id.as_uuid()))
        });
        let overdue_total: i64 = by_assignee.iter().map(|a| a.tasks).sum();
        let my_overdue = by_assignee
            .iter()
            .find(|a| a.assignee_id == actor.user_id)
            .map_or(0, |a| a.tasks);
        let filter = repo::tasks::Filter {
            statuses: active.iter().map(|s| (*s).to_owned()).collect(),
            due_before: Some(now),
            deleted: Deleted::Exclude,
            ..repo::tasks::Filter::default()
        };
        let page = repo::tasks::list(
            conn,
            &filter,
            repo::tasks::Sort::Due,
            Direction::Asc,
            None,
            OLDEST_OVERDUE,
        )
        .await?;
        let mut oldest = Vec::new();
        for row in &page.items {
            let title = if row.assignee_id == actor.user_id.as_uuid() {
                let key = self.keys().data_key(conn, row.dek_id).await?;
                Some(self.task_title(&key, row)?)
            } else {
                None
            };
            let due = row.due_at.unwrap_or(row.due_key);
            oldest.push(OverdueTask {
                id: TaskId(row.id),
                assignee_id: UserId(row.assignee_id),
                title,
                due_at: from_millis(due),
                days_overdue: (now - due).div_euclid(DAY_MS),
            });
        }

        let mut currencies: Vec<(&'static str, i64)> = deals_per_currency.into_iter().collect();
        currencies.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        Ok(DashboardView {
            generated_at,
            pipeline: pipeline.map(|p| DashboardPipeline {
                id: p.id,
                name: p.name.clone(),
            }),
            currency: f.currency.map(|c| c.code().to_owned()),
            currencies: currencies.into_iter().map(|(c, _)| c.to_owned()).collect(),
            headline: Headline {
                open_deals,
                open_value: open_total.amounts(),
                weighted_value: weighted_total.amounts(),
                won_deals,
                lost_deals,
                won_value: won_value.amounts(),
                win_rate_percent,
                activities: activities_total,
                overdue_tasks: overdue_total,
                my_overdue_tasks: my_overdue,
            },
            pipeline_value,
            won_lost: WonLost {
                months: f.months,
                items,
            },
            activities: ActivitySummary {
                from: ymd(f.from),
                to: ymd(f.to),
                owners,
            },
            overdue_tasks: OverdueSummary {
                total: overdue_total,
                by_assignee,
                oldest,
            },
        })
    }
}

trait AddMonths {
    fn saturating_add_months(self, months: u32) -> Date;
}

impl AddMonths for Date {
    /// The first day of the month `months` after this date's month.
    fn saturating_add_months(self, months: u32) -> Date {
        let index = self.year() * 12 + i32::from(u8::from(self.month())) - 1
            + i32::try_from(months).unwrap_or(0);
        let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
        let month =
            Month::try_from(u8::try_from(month0 + 1).unwrap_or(1)).unwrap_or(Month::January);
        Date::from_calendar_date(year, month, 1).unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn weighted_rounds_half_to_even() {
        assert_eq!(weighted_amount(1_000, 25), 250);
        assert_eq!(weighted_amount(1, 50), 0); // 0.5 → 0 (even)
        assert_eq!(weighted_amount(3, 50), 2); // 1.5 → 2 (even)
        assert_eq!(weighted_amount(5, 50), 2); // 2.5 → 2
        assert_eq!(weighted_amount(7, 10), 1); // 0.7 → 1
        assert_eq!(weighted_amount(12_345, 33), 4_074); // 4073.85 → 4074
        assert_eq!(weighted_amount(i64::MAX, 100), i64::MAX);
        assert_eq!(weighted_amount(999, 0), 0);
    }

    #[test]
    fn months_cross_year_boundaries() {
        assert_eq!(month_start(date!(2026 - 02 - 15), 2), date!(2025 - 12 - 01));
        assert_eq!(month_start(date!(2026 - 01 - 31), 0), date!(2026 - 01 - 01));
        assert_eq!(
            date!(2025 - 12 - 01).saturating_add_months(1),
            date!(2026 - 01 - 01)
        );
        assert_eq!(
            date!(2025 - 11 - 01).saturating_add_months(24),
            date!(2027 - 11 - 01)
        );
    }

    #[test]
    fn bad_filters_are_field_errors() {
        let today = date!(2026 - 11 - 24);
        let q = |months: &str, from: &str, to: &str| DashboardQuery {
            months: Some(months.into()),
            from: Some(from.into()),
            to: Some(to.into()),
            ..DashboardQuery::default()
        };
        let codes = |query: DashboardQuery| match parse_filters(&query, today) {
            Err(CoreError::Validation(e)) => e.into_iter().map(|e| e.code).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        assert_eq!(codes(q("0", "", "")), vec!["out_of_range"]);
        assert_eq!(codes(q("25", "", "")), vec!["out_of_range"]);
        assert_eq!(
            codes(q("x", "2026-13-01", "")),
            vec!["out_of_range", "invalid_date"]
        );
        assert_eq!(
            codes(q("6", "2026-11-02", "2026-11-01")),
            vec!["invalid_range"]
        );
        assert_eq!(
            codes(q("6", "2025-01-01", "2026-11-01")),
            vec!["out_of_range"]
        );
        let ok = parse_filters(&q("24", "", ""), today).unwrap();
        assert_eq!(
            (ok.from, ok.to, ok.months),
            (date!(2026 - 10 - 26), today, 24)
        );
    }
}
