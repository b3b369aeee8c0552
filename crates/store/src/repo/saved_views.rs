use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: saved_view::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// One of the user's views; another user's is as absent as a missing one.
pub async fn get_own<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<saved_view::Model>> {
    Ok(saved_view::Entity::find_by_id(id)
        .filter(saved_view::Column::UserId.eq(user_id))
        .one(c)
        .await?)
}

/// The user's views, of one list or all, in their order.
pub async fn of_user<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    entity: Option<&str>,
) -> Result<Vec<saved_view::Model>> {
    use saved_view::Column as Col;
    let mut q = saved_view::Entity::find().filter(Col::UserId.eq(user_id));
    if let Some(entity) = entity {
        q = q.filter(Col::Entity.eq(entity));
    }
    Ok(q.order_by_asc(Col::Entity)
        .order_by_asc(Col::Position)
        .order_by_asc(Col::Id)
        .limit(500)
        .all(c)
        .await?)
}

pub async fn count<C: ConnectionTrait>(c: &C, user_id: Uuid, entity: &str) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(saved_view::Entity::find()
        .filter(saved_view::Column::UserId.eq(user_id))
        .filter(saved_view::Column::Entity.eq(entity))
        .count(c)
        .await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: saved_view::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (saved_view::Column::Id, saved_view::Column::Version);
    write_if_version::<saved_view::Entity, _>(c, row, id, columns, expected_version).await
}

pub async fn delete_own<C: ConnectionTrait>(c: &C, user_id: Uuid, id: Uuid) -> Result<bool> {
    let res = saved_view::Entity::delete_many()
        .filter(saved_view::Column::Id.eq(id))
        .filter(saved_view::Column::UserId.eq(user_id))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}
