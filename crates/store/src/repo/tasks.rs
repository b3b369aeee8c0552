use super::*;
use sea_orm::ActiveValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Due,
    Priority,
    Created,
    Updated,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub assignee_id: Option<Uuid>,
    /// Any of these statuses (all when empty).
    pub statuses: Vec<String>,
    /// Only tasks due strictly before this moment.
    pub due_before: Option<i64>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub deleted: Deleted,
    /// The records the caller may see, from the authorization policies.
    pub access: Option<crate::access::AccessCondition>,
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: task::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<task::Model>> {
    Ok(task::Entity::find_by_id(id).one(c).await?)
}

pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<task::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(task::Entity::find()
        .filter(task::Column::Id.is_in(ids.iter().copied()))
        .all(c)
        .await?)
}

/// Version-checked write of everything the user controls. `reminded_at` belongs to the
/// reminder sweep and is written only when `rearm` (the reminder moment changed, so the
/// reminder is due again): a user's write must never undo a reminder sent meanwhile.
pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: task::Model,
    expected_version: i64,
    rearm: bool,
) -> Result<WriteOutcome> {
    let id = row.id;
    let mut active = row.into_active_model().reset_all();
    if !rearm {
        active.reminded_at = ActiveValue::NotSet;
    }
    let res = task::Entity::update_many()
        .set(active)
        .filter(task::Column::Id.eq(id))
        .filter(task::Column::Version.eq(expected_version))
        .exec(c)
        .await?;
    let columns = (task::Column::Id, task::Column::Version);
    outcome::<task::Entity, C>(c, res.rows_affected, id, columns).await
}

pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use task::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<task::Entity, _>(c, id, delete, now, columns).await
}

pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    sort: Sort,
    direction: Direction,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<task::Model>> {
    use task::Column as Col;
    let mut q = deleted_filter(task::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(access, &crate::access::TASKS));
    }
    let eq_filters = [
        (Col::AssigneeId, filter.assignee_id),
        (Col::ContactId, filter.contact_id),
        (Col::CompanyId, filter.company_id),
        (Col::DealId, filter.deal_id),
    ];
    for (column, value) in eq_filters {
        if let Some(v) = value {
            q = q.filter(column.eq(v));
        }
    }
    if !filter.statuses.is_empty() {
        q = q.filter(Col::Status.is_in(filter.statuses.iter().cloned()));
    }
    if let Some(before) = filter.due_before {
        // `due_key` of a task without a due date is i64::MAX: never before anything.
        q = q.filter(Col::DueKey.lt(before));
    }
    let sort_col = match sort {
        Sort::Due => Col::DueKey,
        Sort::Priority => Col::PriorityRank,
        Sort::Created => Col::CreatedAt,
        Sort::Updated => Col::UpdatedAt,
    };
    let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}

/// Live tasks in one of `statuses` whose reminder moment has passed and that have not been
/// reminded yet, oldest reminder first.
pub async fn due_reminders<C: ConnectionTrait>(
    c: &C,
    now: i64,
    statuses: &[&str],
    limit: u64,
) -> Result<Vec<task::Model>> {
    use task::Column as Col;
    Ok(task::Entity::find()
        .filter(Col::RemindedAt.is_null())
        .filter(Col::RemindAt.lte(now))
        .filter(Col::DeletedAt.is_null())
        .filter(Col::Status.is_in(statuses.iter().copied()))
        .order_by_asc(Col::RemindAt)
        .order_by_asc(Col::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// Claims a task's reminder if it is still due: true only for the one caller that set
/// `reminded_at` (another sweep, on this node or another, that got there first, or a change
/// to the task since it was read, makes this false).
pub async fn claim_reminder<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    now: i64,
    statuses: &[&str],
) -> Result<bool> {
    use task::Column as Col;
    let res = task::Entity::update_many()
        .col_expr(Col::RemindedAt, Expr::value(now))
        .filter(Col::Id.eq(id))
        .filter(Col::RemindedAt.is_null())
        .filter(Col::RemindAt.lte(now))
        .filter(Col::DeletedAt.is_null())
        .filter(Col::Status.is_in(statuses.iter().copied()))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}
