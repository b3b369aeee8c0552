use super::*;

/// Which activities to list. Lists are always newest first on (occurred_at, id), which is what
/// a timeline shows and what the per-record indexes serve.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub kind: Option<String>,
    pub deleted: Deleted,
    /// The records the caller may see, from the authorization policies.
    pub access: Option<crate::access::AccessCondition>,
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: activity::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<activity::Model>> {
    Ok(activity::Entity::find_by_id(id).one(c).await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: activity::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (activity::Column::Id, activity::Column::Version);
    write_if_version::<activity::Entity, _>(c, row, id, columns, expected_version).await
}

pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use activity::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<activity::Entity, _>(c, id, delete, now, columns).await
}

pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<activity::Model>> {
    use activity::Column as Col;
    let mut q = deleted_filter(activity::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(access, &crate::access::ACTIVITIES));
    }
    if let Some(id) = filter.contact_id {
        q = q.filter(Col::ContactId.eq(id));
    }
    if let Some(id) = filter.company_id {
        q = q.filter(Col::CompanyId.eq(id));
    }
    if let Some(id) = filter.deal_id {
        q = q.filter(Col::DealId.eq(id));
    }
    if let Some(id) = filter.owner_id {
        q = q.filter(Col::OwnerId.eq(id));
    }
    if let Some(kind) = &filter.kind {
        q = q.filter(Col::Kind.eq(kind.clone()));
    }
    let rows = keyset(q, Col::OccurredAt, Col::Id, Direction::Desc, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}
