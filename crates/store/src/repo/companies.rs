use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    Updated,
    Name,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub owner_id: Option<Uuid>,
    pub industry: Option<String>,
    pub size_band: Option<String>,
    pub region: Option<String>,
    pub tag: Option<String>,
    /// Case-insensitive prefix of the (non-personal) company name.
    pub name_prefix: Option<String>,
    pub deleted: Deleted,
    /// The records the caller may see, from the authorization policies.
    pub access: Option<crate::access::AccessCondition>,
}

/// Live companies whose lower-cased name is one of `names` (imports link contacts by name).
pub async fn live_by_name_sort<C: ConnectionTrait>(
    c: &C,
    names: &[String],
) -> Result<Vec<company::Model>> {
    let mut out = Vec::new();
    for chunk in names.chunks(900) {
        out.extend(
            company::Entity::find()
                .filter(company::Column::NameSort.is_in(chunk.iter().cloned()))
                .filter(company::Column::DeletedAt.is_null())
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: company::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<company::Model>> {
    Ok(company::Entity::find_by_id(id).one(c).await?)
}

pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<company::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(company::Entity::find()
        .filter(company::Column::Id.is_in(ids.iter().copied()))
        .all(c)
        .await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: company::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (company::Column::Id, company::Column::Version);
    write_if_version::<company::Entity, _>(c, row, id, columns, expected_version).await
}

/// Soft delete (`delete = true`) or restore; `Stale` means it already was in that state.
pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use company::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<company::Entity, _>(c, id, delete, now, columns).await
}

/// The rows `filter` selects (unordered): the one condition lists and counts share.
fn filtered(filter: &Filter) -> Select<company::Entity> {
    use company::Column as Col;
    let mut q = deleted_filter(company::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(access, &crate::access::COMPANIES));
    }
    if let Some(owner) = filter.owner_id {
        q = q.filter(Col::OwnerId.eq(owner));
    }
    if let Some(v) = &filter.industry {
        q = q.filter(Col::Industry.eq(v.clone()));
    }
    if let Some(v) = &filter.size_band {
        q = q.filter(Col::SizeBand.eq(v.clone()));
    }
    if let Some(v) = &filter.region {
        q = q.filter(Col::Region.eq(v.clone()));
    }
    if let Some(tag) = &filter.tag {
        q = q.filter(tags::has_tag_condition("company", tag, Col::Id));
    }
    if let Some(prefix) = &filter.name_prefix {
        // Range scan on the lower-cased name index instead of LIKE, so `%` and `_` in user
        // input mean nothing special.
        let upper = format!("{prefix}\u{10FFFF}");
        q = q
            .filter(Col::NameSort.gte(prefix.clone()))
            .filter(Col::NameSort.lt(upper));
    }
    q
}

pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    sort: Sort,
    direction: Direction,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<company::Model>> {
    use company::Column as Col;
    let q = filtered(filter);
    let sort_col = match sort {
        Sort::Created => Col::CreatedAt,
        Sort::Updated => Col::UpdatedAt,
        Sort::Name => Col::NameSort,
    };
    let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}

/// How many rows `filter` selects, counting no further than `cap`.
pub async fn count_up_to<C: ConnectionTrait>(c: &C, filter: &Filter, cap: u64) -> Result<u64> {
    count_capped(c, filtered(filter), company::Column::Id, cap).await
}
