use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: setup_code::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Marks an unused, unexpired code as used. Returns false if it was not (a replayed or
/// expired code), atomically, so two concurrent uses cannot both succeed.
pub async fn consume<C: ConnectionTrait>(
    c: &C,
    hash: &[u8],
    purpose: &str,
    now: i64,
) -> Result<bool> {
    let res = setup_code::Entity::update_many()
        .col_expr(setup_code::Column::UsedAt, Expr::value(now))
        .filter(setup_code::Column::CodeHash.eq(hash.to_vec()))
        .filter(setup_code::Column::Purpose.eq(purpose))
        .filter(setup_code::Column::UsedAt.is_null())
        .filter(setup_code::Column::ExpiresAt.gt(now))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn is_valid<C: ConnectionTrait>(
    c: &C,
    hash: &[u8],
    purpose: &str,
    now: i64,
) -> Result<bool> {
    Ok(setup_code::Entity::find()
        .filter(setup_code::Column::CodeHash.eq(hash.to_vec()))
        .filter(setup_code::Column::Purpose.eq(purpose))
        .filter(setup_code::Column::UsedAt.is_null())
        .filter(setup_code::Column::ExpiresAt.gt(now))
        .one(c)
        .await?
        .is_some())
}

pub async fn invalidate_purpose<C: ConnectionTrait>(c: &C, purpose: &str, now: i64) -> Result<()> {
    setup_code::Entity::update_many()
        .col_expr(setup_code::Column::UsedAt, Expr::value(now))
        .filter(setup_code::Column::Purpose.eq(purpose))
        .filter(setup_code::Column::UsedAt.is_null())
        .exec(c)
        .await?;
    Ok(())
}
