use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    Updated,
    Score,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<Uuid>,
    pub min_score: Option<i64>,
    /// Restricts to these ids (blind-index candidates), when given.
    pub ids: Option<Vec<Uuid>>,
    pub deleted: Deleted,
    /// The records the caller may see, from the authorization policies.
    pub access: Option<crate::access::AccessCondition>,
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: lead::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<lead::Model>> {
    Ok(lead::Entity::find_by_id(id).one(c).await?)
}

pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<lead::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(lead::Entity::find()
        .filter(lead::Column::Id.is_in(ids.iter().copied()))
        .all(c)
        .await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: lead::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (lead::Column::Id, lead::Column::Version);
    write_if_version::<lead::Entity, _>(c, row, id, columns, expected_version).await
}

pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use lead::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<lead::Entity, _>(c, id, delete, now, columns).await
}

pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    sort: Sort,
    direction: Direction,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<lead::Model>> {
    use lead::Column as Col;
    let mut q = deleted_filter(lead::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(access, &crate::access::LEADS));
    }
    if let Some(status) = &filter.status {
        q = q.filter(Col::Status.eq(status.clone()));
    }
    if let Some(source) = &filter.source {
        q = q.filter(Col::Source.eq(source.clone()));
    }
    if let Some(owner) = filter.owner_id {
        q = q.filter(Col::OwnerId.eq(owner));
    }
    if let Some(min) = filter.min_score {
        q = q.filter(Col::Score.gte(min));
    }
    if let Some(ids) = &filter.ids {
        q = q.filter(Col::Id.is_in(ids.iter().copied()));
    }
    let sort_col = match sort {
        Sort::Created => Col::CreatedAt,
        Sort::Updated => Col::UpdatedAt,
        Sort::Score => Col::Score,
    };
    let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}
