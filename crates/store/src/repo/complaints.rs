use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Due,
    Severity,
    Created,
    Updated,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Any of these statuses (all when empty).
    pub statuses: Vec<String>,
    pub severity: Option<String>,
    pub category: Option<String>,
    pub assignee_id: Option<Uuid>,
    /// Only complaints whose response is due strictly before this moment.
    pub due_before: Option<i64>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub deleted: Deleted,
    /// The records the caller may see, from the authorization policies.
    pub access: Option<crate::access::AccessCondition>,
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: complaint::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<complaint::Model>> {
    Ok(complaint::Entity::find_by_id(id).one(c).await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: complaint::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (complaint::Column::Id, complaint::Column::Version);
    write_if_version::<complaint::Entity, _>(c, row, id, columns, expected_version).await
}

pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use complaint::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<complaint::Entity, _>(c, id, delete, now, columns).await
}

pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    sort: Sort,
    direction: Direction,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<complaint::Model>> {
    use complaint::Column as Col;
    let mut q = deleted_filter(complaint::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(access, &crate::access::COMPLAINTS));
    }
    let eq_filters = [
        (Col::AssigneeId, filter.assignee_id),
        (Col::ContactId, filter.contact_id),
        (Col::CompanyId, filter.company_id),
        (Col::OrderId, filter.order_id),
    ];
    for (column, value) in eq_filters {
        if let Some(v) = value {
            q = q.filter(column.eq(v));
        }
    }
    if !filter.statuses.is_empty() {
        q = q.filter(Col::Status.is_in(filter.statuses.iter().cloned()));
    }
    if let Some(severity) = &filter.severity {
        q = q.filter(Col::Severity.eq(severity.clone()));
    }
    if let Some(category) = &filter.category {
        q = q.filter(Col::Category.eq(category.clone()));
    }
    if let Some(before) = filter.due_before {
        q = q.filter(Col::ResponseDueAt.lt(before));
    }
    let sort_col = match sort {
        Sort::Due => Col::ResponseDueAt,
        Sort::Severity => Col::SeverityRank,
        Sort::Created => Col::CreatedAt,
        Sort::Updated => Col::UpdatedAt,
    };
    let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}

pub async fn insert_change<C: ConnectionTrait>(
    c: &C,
    row: complaint_status_change::Model,
) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// The complaint's status history, oldest first (bounded: a complaint changes status a few
/// times; `limit` guards against a pathological one).
pub async fn history<C: ConnectionTrait>(
    c: &C,
    complaint_id: Uuid,
    limit: u64,
) -> Result<Vec<complaint_status_change::Model>> {
    use complaint_status_change::Column as Col;
    Ok(complaint_status_change::Entity::find()
        .filter(Col::ComplaintId.eq(complaint_id))
        .order_by(Col::ComplaintVersion, Order::Asc)
        .limit(limit)
        .all(c)
        .await?)
}

/// Who handles a complaint about each of `contacts`, as (contact, assignee): the users
/// authorization counts as having a case with the contact.
pub async fn case_handlers<C: ConnectionTrait>(
    c: &C,
    contacts: &[Uuid],
) -> Result<Vec<(Uuid, Uuid)>> {
    if contacts.is_empty() {
        return Ok(Vec::new());
    }
    Ok(complaint::Entity::find()
        .filter(complaint::Column::ContactId.is_in(contacts.iter().copied()))
        .filter(complaint::Column::AssigneeId.is_not_null())
        .all(c)
        .await?
        .into_iter()
        .filter_map(|row| row.assignee_id.map(|a| (row.contact_id, a)))
        .collect())
}
