use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: pipeline::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<pipeline::Model>> {
    Ok(pipeline::Entity::find_by_id(id).one(c).await?)
}

/// All pipelines in display order (an organisation has a handful).
pub async fn all<C: ConnectionTrait>(c: &C) -> Result<Vec<pipeline::Model>> {
    Ok(pipeline::Entity::find()
        .order_by_asc(pipeline::Column::Position)
        .order_by_asc(pipeline::Column::Id)
        .all(c)
        .await?)
}

pub async fn next_position<C: ConnectionTrait>(c: &C) -> Result<i64> {
    let last = pipeline::Entity::find()
        .order_by_desc(pipeline::Column::Position)
        .one(c)
        .await?;
    Ok(last.map_or(0, |p| p.position + 1))
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: pipeline::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (pipeline::Column::Id, pipeline::Column::Version);
    write_if_version::<pipeline::Entity, _>(c, row, id, columns, expected_version).await
}

/// Stages of the given pipelines, ordered by pipeline then position.
pub async fn stages<C: ConnectionTrait>(
    c: &C,
    pipeline_ids: &[Uuid],
) -> Result<Vec<pipeline_stage::Model>> {
    if pipeline_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(pipeline_stage::Entity::find()
        .filter(pipeline_stage::Column::PipelineId.is_in(pipeline_ids.iter().copied()))
        .order_by_asc(pipeline_stage::Column::PipelineId)
        .order_by_asc(pipeline_stage::Column::Position)
        .all(c)
        .await?)
}

pub async fn stage<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<pipeline_stage::Model>> {
    Ok(pipeline_stage::Entity::find_by_id(id).one(c).await?)
}

pub async fn insert_stage<C: ConnectionTrait>(c: &C, row: pipeline_stage::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn update_stage<C: ConnectionTrait>(c: &C, row: pipeline_stage::Model) -> Result<()> {
    row.into_active_model().reset_all().update(c).await?;
    Ok(())
}

pub async fn delete_stage<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<()> {
    pipeline_stage::Entity::delete_by_id(id).exec(c).await?;
    Ok(())
}
