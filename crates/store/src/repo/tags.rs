use super::*;

/// Replaces the tags of one record.
pub async fn replace<C: ConnectionTrait>(
    c: &C,
    entity: &str,
    entity_id: Uuid,
    tags: &[String],
) -> Result<()> {
    record_tag::Entity::delete_many()
        .filter(record_tag::Column::Entity.eq(entity))
        .filter(record_tag::Column::EntityId.eq(entity_id))
        .exec(c)
        .await?;
    insert_new(c, entity, entity_id, tags).await
}

/// Tags of many new records at once (imports).
pub fn add_many(bulk: &mut BulkInsert, rows: Vec<record_tag::Model>) {
    bulk.add::<record_tag::Entity>(rows, 2_000);
}

/// Tags of a record that has none yet (a new record): one insert, no delete.
pub async fn insert_new<C: ConnectionTrait>(
    c: &C,
    entity: &str,
    entity_id: Uuid,
    tags: &[String],
) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let rows = tags.iter().map(|tag| {
        record_tag::Model {
            entity: entity.to_owned(),
            tag: tag.clone(),
            entity_id,
        }
        .into_active_model()
        .reset_all()
    });
    record_tag::Entity::insert_many(rows).exec(c).await?;
    Ok(())
}

pub(crate) fn has_tag_condition(
    entity: &str,
    tag: &str,
    id_col: impl sea_orm::IntoSimpleExpr,
) -> Expr {
    let sub = sea_orm::sea_query::Query::select()
        .column(record_tag::Column::EntityId)
        .from(record_tag::Entity)
        .and_where(record_tag::Column::Entity.eq(entity))
        .and_where(record_tag::Column::Tag.eq(tag))
        .to_owned();
    id_col.into_simple_expr().in_subquery(sub)
}
