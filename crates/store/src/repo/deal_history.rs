use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: deal_stage_change::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Newest first, keyset-paginated on (changed_at, id).
pub async fn page<C: ConnectionTrait>(
    c: &C,
    deal_id: Uuid,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<deal_stage_change::Model>> {
    use deal_stage_change::Column as Col;
    let q = deal_stage_change::Entity::find().filter(Col::DealId.eq(deal_id));
    let rows = keyset(q, Col::ChangedAt, Col::Id, Direction::Desc, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}
