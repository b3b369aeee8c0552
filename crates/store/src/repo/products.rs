use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    Updated,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Normalised name prefix.
    pub name_prefix: Option<String>,
    pub category: Option<String>,
    pub active: Option<bool>,
    pub deleted: Deleted,
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: product::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<product::Model>> {
    Ok(product::Entity::find_by_id(id).one(c).await?)
}

pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<product::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(product::Entity::find()
        .filter(product::Column::Id.is_in(ids.iter().copied()))
        .all(c)
        .await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: product::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (product::Column::Id, product::Column::Version);
    write_if_version::<product::Entity, _>(c, row, id, columns, expected_version).await
}

pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use product::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<product::Entity, _>(c, id, delete, now, columns).await
}

pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    sort: Sort,
    direction: Direction,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<product::Model>> {
    use product::Column as Col;
    let mut q = deleted_filter(product::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(category) = &filter.category {
        q = q.filter(Col::Category.eq(category.clone()));
    }
    if let Some(active) = filter.active {
        q = q.filter(Col::Active.eq(i64::from(active)));
    }
    if let Some(prefix) = &filter.name_prefix {
        let upper = format!("{prefix}\u{10FFFF}");
        q = q
            .filter(Col::NameSort.gte(prefix.clone()))
            .filter(Col::NameSort.lt(upper));
    }
    let sort_col = match sort {
        Sort::Name => Col::NameSort,
        Sort::Updated => Col::UpdatedAt,
    };
    let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}
