use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    Updated,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub owner_id: Option<Uuid>,
    pub team: Option<String>,
    pub company_id: Option<Uuid>,
    pub tag: Option<String>,
    pub deleted: Deleted,
    /// Restrict to these ids (search results).
    pub ids: Option<Vec<Uuid>>,
    /// A plain custom field value: (field id, canonical value), exact match.
    pub custom_value: Option<(Uuid, String)>,
    /// Only contacts who asked not to be contacted (`true`) or only the others (`false`).
    pub do_not_contact: Option<bool>,
    /// What the caller's authorization policies let them see.
    pub access: Option<crate::access::AccessCondition>,
}

/// Many new contacts at once (imports).
pub fn add_many(bulk: &mut BulkInsert, rows: Vec<contact::Model>) {
    bulk.add::<contact::Entity>(rows, 500);
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: contact::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<contact::Model>> {
    Ok(contact::Entity::find_by_id(id).one(c).await?)
}

pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<contact::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(contact::Entity::find()
        .filter(contact::Column::Id.is_in(ids.iter().copied()))
        .all(c)
        .await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: contact::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (contact::Column::Id, contact::Column::Version);
    write_if_version::<contact::Entity, _>(c, row, id, columns, expected_version).await
}

/// Soft delete (`delete = true`) or restore; `Stale` means it already was in that state.
pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use contact::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<contact::Entity, _>(c, id, delete, now, columns).await
}

/// The rows `filter` selects (unordered): the one condition lists and counts share.
fn filtered(filter: &Filter) -> Select<contact::Entity> {
    use contact::Column as Col;
    let mut q = deleted_filter(contact::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(owner) = filter.owner_id {
        q = q.filter(Col::OwnerId.eq(owner));
    }
    if let Some(team) = &filter.team {
        q = q.filter(Col::Team.eq(team.clone()));
    }
    if let Some(company) = filter.company_id {
        q = q.filter(Col::CompanyId.eq(company));
    }
    if let Some(tag) = &filter.tag {
        q = q.filter(tags::has_tag_condition("contact", tag, Col::Id));
    }
    if let Some(ids) = &filter.ids {
        q = q.filter(Col::Id.is_in(ids.iter().copied()));
    }
    if let Some((field_id, value)) = &filter.custom_value {
        q = q.filter(custom_fields::has_value_condition(
            *field_id,
            value,
            Col::Id,
        ));
    }
    if let Some(dnc) = filter.do_not_contact {
        q = q.filter(contact_preferences::do_not_contact_condition(dnc, Col::Id));
    }
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(access, &crate::access::CONTACTS));
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
) -> Result<Page<contact::Model>> {
    use contact::Column as Col;
    let q = filtered(filter);
    let sort_col = match sort {
        Sort::Created => Col::CreatedAt,
        Sort::Updated => Col::UpdatedAt,
    };
    let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}

/// How many rows `filter` selects, counting no further than `cap`.
pub async fn count_up_to<C: ConnectionTrait>(c: &C, filter: &Filter, cap: u64) -> Result<u64> {
    count_capped(c, filtered(filter), contact::Column::Id, cap).await
}
