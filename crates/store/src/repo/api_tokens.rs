use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: api_token::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn by_token_hash<C: ConnectionTrait>(
    c: &C,
    hash: &[u8],
) -> Result<Option<api_token::Model>> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash.to_vec()))
        .one(c)
        .await?)
}

pub async fn touch<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    now: i64,
    min_interval_ms: i64,
) -> Result<()> {
    api_token::Entity::update_many()
        .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(api_token::Column::LastUsedAt.is_null())
                .add(api_token::Column::LastUsedAt.lt(now - min_interval_ms)),
        )
        .exec(c)
        .await?;
    Ok(())
}

/// A user's tokens that have not been revoked, newest first.
pub async fn of_user<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<Vec<api_token::Model>> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .order_by_desc(api_token::Column::CreatedAt)
        .all(c)
        .await?)
}

/// Revokes one of a user's tokens; false if there is no such live token.
pub async fn revoke<C: ConnectionTrait>(c: &C, user_id: Uuid, id: Uuid, now: i64) -> Result<bool> {
    let res = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}
