//! The dashboard's grouped reads: each is one `GROUP BY` query answered from an index
//! (`m0009_dashboard_indexes`, `ix_tasks_status_due`). Counts and sums are cast to `BIGINT` so
//! both backends return integers, and rows decode by column name (`FromQueryResult`).

use super::*;
use crate::access::{ACTIVITIES, AccessCondition, DEALS, TASKS, to_sql};
use sea_orm::sea_query::{Alias, CaseStatement};

/// What one caller's dashboard counts: the rows of each table they may read, and the deals
/// whose amounts they may read (the others count as deals, not as money).
#[derive(Debug, Clone)]
pub struct Scope {
    pub deals: AccessCondition,
    pub deal_amounts: AccessCondition,
    pub activities: AccessCondition,
    pub tasks: AccessCondition,
}

/// Closed deals of one status and currency in one time bucket (`None`: without an amount).
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct ClosedTotal {
    /// Index of the bucket: `bounds[bucket] <= closed_at < bounds[bucket + 1]`.
    pub bucket: i64,
    pub status: String,
    pub currency: Option<String>,
    pub deals: i64,
    pub amount: i64,
}

/// Live deals of a pipeline closed with one of `statuses` in `[bounds[0], bounds[last])`,
/// counted and summed per bucket (consecutive bounds, ascending), status and currency.
pub async fn closed_totals<C: ConnectionTrait>(
    c: &C,
    scope: &Scope,
    pipeline_id: Uuid,
    statuses: &[&str],
    bounds: &[i64],
) -> Result<Vec<ClosedTotal>> {
    use deal::Column as Col;
    let (Some(&first), Some(&last)) = (bounds.first(), bounds.last()) else {
        return Ok(Vec::new());
    };
    if bounds.len() < 2 {
        return Ok(Vec::new());
    }
    // The bucket is computed in SQL with bound parameters; every row in the range matches
    // exactly one WHEN, so the ELSE never shows.
    let mut bucket = CaseStatement::new();
    for (i, pair) in bounds.windows(2).enumerate() {
        let (Some(&from), Some(&to)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let i = i64::try_from(i).unwrap_or(i64::MAX);
        bucket = bucket.case(
            Condition::all()
                .add(Col::ClosedAt.gte(from))
                .add(Col::ClosedAt.lt(to)),
            Expr::val(i),
        );
    }
    let bucket: Expr = bucket.finally(Expr::val(-1_i64)).into();
    Ok(deal::Entity::find()
        .select_only()
        .column_as(bucket, "bucket")
        .column(Col::Status)
        .column(Col::Currency)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "deals")
        .column_as(
            sum_where(
                to_sql(&scope.deal_amounts, &DEALS),
                Expr::col((deal::Entity, Col::AmountMinor)),
            ),
            "amount",
        )
        .filter(to_sql(&scope.deals, &DEALS))
        .filter(Col::PipelineId.eq(pipeline_id))
        .filter(Col::Status.is_in(statuses.iter().map(|s| (*s).to_owned())))
        .filter(Col::ClosedAt.gte(first))
        .filter(Col::ClosedAt.lt(last))
        .filter(Col::DeletedAt.is_null())
        // By the output name: the CASE's parameters would be numbered anew in a repeated
        // expression, which PostgreSQL would not recognise as the same expression.
        .group_by(Expr::col(Alias::new("bucket")))
        .group_by(Col::Status)
        .group_by(Col::Currency)
        .into_model::<ClosedTotal>()
        .all(c)
        .await?)
}

/// Live activities of one owner (`None`: no owner) and kind.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct OwnerKindCount {
    pub owner_id: Option<Uuid>,
    pub kind: String,
    pub activities: i64,
}

/// Live activities with `from <= occurred_at < to`, counted per owner and kind.
pub async fn activities_by_owner<C: ConnectionTrait>(
    c: &C,
    scope: &Scope,
    from: i64,
    to: i64,
) -> Result<Vec<OwnerKindCount>> {
    use activity::Column as Col;
    Ok(activity::Entity::find()
        .select_only()
        .column(Col::OwnerId)
        .column(Col::Kind)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "activities")
        .filter(to_sql(&scope.activities, &ACTIVITIES))
        .filter(Col::OccurredAt.gte(from))
        .filter(Col::OccurredAt.lt(to))
        .filter(Col::DeletedAt.is_null())
        .group_by(Col::OwnerId)
        .group_by(Col::Kind)
        .into_model::<OwnerKindCount>()
        .all(c)
        .await?)
}

/// Overdue tasks of one assignee.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct AssigneeCount {
    pub assignee_id: Uuid,
    pub tasks: i64,
}

/// Live tasks in one of `statuses` due strictly before `now`, counted per assignee (a task
/// without a due date has `due_key = i64::MAX` and is never counted).
pub async fn overdue_by_assignee<C: ConnectionTrait>(
    c: &C,
    scope: &Scope,
    statuses: &[&str],
    now: i64,
) -> Result<Vec<AssigneeCount>> {
    use task::Column as Col;
    Ok(task::Entity::find()
        .select_only()
        .column(Col::AssigneeId)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "tasks")
        .filter(Col::Status.is_in(statuses.iter().map(|s| (*s).to_owned())))
        .filter(to_sql(&scope.tasks, &TASKS))
        .filter(Col::DueKey.lt(now))
        .filter(Col::DeletedAt.is_null())
        .group_by(Col::AssigneeId)
        .into_model::<AssigneeCount>()
        .all(c)
        .await?)
}
