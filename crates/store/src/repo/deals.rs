use super::*;
use crate::access::{AccessCondition, DEALS, to_sql};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    Updated,
    Title,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub status: Option<String>,
    pub owner_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// Inclusive `YYYY-MM-DD` bounds on the expected close date.
    pub close_from: Option<String>,
    pub close_to: Option<String>,
    pub title_prefix: Option<String>,
    pub deleted: Deleted,
    /// The records the caller may see, from the authorization policies.
    pub access: Option<crate::access::AccessCondition>,
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: deal::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<deal::Model>> {
    Ok(deal::Entity::find_by_id(id).one(c).await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: deal::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (deal::Column::Id, deal::Column::Version);
    write_if_version::<deal::Entity, _>(c, row, id, columns, expected_version).await
}

pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use deal::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<deal::Entity, _>(c, id, delete, now, columns).await
}

/// Whether any deal (deleted ones included: they can be restored) sits in the stage.
pub async fn stage_in_use<C: ConnectionTrait>(c: &C, stage_id: Uuid) -> Result<bool> {
    Ok(deal::Entity::find()
        .filter(deal::Column::StageId.eq(stage_id))
        .one(c)
        .await?
        .is_some())
}

/// The rows `filter` selects (unordered): the one condition lists and counts share.
fn filtered(filter: &Filter) -> Select<deal::Entity> {
    use deal::Column as Col;
    let mut q = deleted_filter(deal::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(access, &crate::access::DEALS));
    }
    let eq_filters = [
        (Col::PipelineId, filter.pipeline_id),
        (Col::StageId, filter.stage_id),
        (Col::OwnerId, filter.owner_id),
        (Col::CompanyId, filter.company_id),
        (Col::ContactId, filter.contact_id),
    ];
    for (column, value) in eq_filters {
        if let Some(v) = value {
            q = q.filter(column.eq(v));
        }
    }
    if let Some(status) = &filter.status {
        q = q.filter(Col::Status.eq(status.clone()));
    }
    if let Some(from) = &filter.close_from {
        q = q.filter(Col::ExpectedCloseOn.gte(from.clone()));
    }
    if let Some(to) = &filter.close_to {
        q = q.filter(Col::ExpectedCloseOn.lte(to.clone()));
    }
    if let Some(prefix) = &filter.title_prefix {
        let upper = format!("{prefix}\u{10FFFF}");
        q = q
            .filter(Col::TitleSort.gte(prefix.clone()))
            .filter(Col::TitleSort.lt(upper));
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
) -> Result<Page<deal::Model>> {
    use deal::Column as Col;
    let q = filtered(filter);
    let sort_col = match sort {
        Sort::Created => Col::CreatedAt,
        Sort::Updated => Col::UpdatedAt,
        Sort::Title => Col::TitleSort,
    };
    let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}

/// How many rows `filter` selects, counting no further than `cap`.
pub async fn count_up_to<C: ConnectionTrait>(c: &C, filter: &Filter, cap: u64) -> Result<u64> {
    count_capped(c, filtered(filter), deal::Column::Id, cap).await
}

/// Open deals of one stage in one currency (`None`: deals without an amount).
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct StageTotal {
    pub stage_id: Uuid,
    pub currency: Option<String>,
    pub deals: i64,
    pub amount: i64,
}

/// Open, undeleted deals of a pipeline for the board's column headers and the dashboard: per
/// stage and currency, the open deals `readable` admits and the sum of their amounts
/// over those `amounts_readable` also admits (a caller who may see a deal but not its amount
/// does not learn it from a total).
pub async fn open_totals<C: ConnectionTrait>(
    c: &C,
    pipeline_id: Uuid,
    readable: &AccessCondition,
    amounts_readable: &AccessCondition,
) -> Result<Vec<StageTotal>> {
    use deal::Column as Col;
    // SUM over BIGINT is NUMERIC on PostgreSQL; cast back so both backends return i64.
    // Decoded by column name, not position: see CONTRIBUTING ("multi-column selects").
    Ok(deal::Entity::find()
        .select_only()
        .column(Col::StageId)
        .column(Col::Currency)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "deals")
        .column_as(
            sum_where(
                to_sql(amounts_readable, &DEALS),
                Expr::col((deal::Entity, Col::AmountMinor)),
            ),
            "amount",
        )
        .filter(to_sql(readable, &DEALS))
        .filter(Col::PipelineId.eq(pipeline_id))
        .filter(Col::Status.eq("open"))
        .filter(Col::DeletedAt.is_null())
        .group_by(Col::StageId)
        .group_by(Col::Currency)
        .into_model::<StageTotal>()
        .all(c)
        .await?)
}
