use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: session::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn by_token_hash<C: ConnectionTrait>(
    c: &C,
    hash: &[u8],
) -> Result<Option<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::TokenHash.eq(hash.to_vec()))
        .one(c)
        .await?)
}

/// Records activity, but at most once per `min_interval_ms` so reads do not each cost a
/// write.
pub async fn touch<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    now: i64,
    min_interval_ms: i64,
) -> Result<()> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::LastSeenAt.lt(now - min_interval_ms))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn revoke<C: ConnectionTrait>(c: &C, id: Uuid, now: i64) -> Result<bool> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}
