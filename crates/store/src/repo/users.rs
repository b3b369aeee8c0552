use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: user::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(c).await?)
}

pub async fn by_email_lookup<C: ConnectionTrait>(
    c: &C,
    lookup: &[u8],
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::EmailLookup.eq(lookup.to_vec()))
        .one(c)
        .await?)
}

/// The oldest active user with `role`.
pub async fn first_with_role<C: ConnectionTrait>(
    c: &C,
    role: &str,
    status: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(role))
        .filter(user::Column::Status.eq(status))
        .order_by_asc(user::Column::CreatedAt)
        .one(c)
        .await?)
}

pub async fn count<C: ConnectionTrait>(c: &C) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(user::Entity::find().count(c).await?)
}

pub async fn update<C: ConnectionTrait>(c: &C, row: user::Model) -> Result<()> {
    row.into_active_model().reset_all().update(c).await?;
    Ok(())
}

/// Every user, oldest first (a staff directory is small: hundreds, not millions).
pub async fn all<C: ConnectionTrait>(c: &C) -> Result<Vec<user::Model>> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .all(c)
        .await?)
}
