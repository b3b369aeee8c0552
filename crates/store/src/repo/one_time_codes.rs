//! Codes sent by e-mail or SMS.

use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: one_time_code::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Codes sent to the user since `since` for any purpose (the send rate limit).
pub async fn sent_since<C: ConnectionTrait>(c: &C, user_id: Uuid, since: i64) -> Result<Vec<i64>> {
    Ok(one_time_code::Entity::find()
        .select_only()
        .column(one_time_code::Column::CreatedAt)
        .filter(one_time_code::Column::UserId.eq(user_id))
        .filter(one_time_code::Column::CreatedAt.gte(since))
        .order_by_desc(one_time_code::Column::CreatedAt)
        .into_tuple()
        .all(c)
        .await?)
}

/// The user's newest unused, unexpired code for `purpose`, if any (sending a new code retires
/// the older ones, so at most one is live).
pub async fn live<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    purpose: &str,
    now: i64,
) -> Result<Option<one_time_code::Model>> {
    Ok(one_time_code::Entity::find()
        .filter(one_time_code::Column::UserId.eq(user_id))
        .filter(one_time_code::Column::Purpose.eq(purpose))
        .filter(one_time_code::Column::UsedAt.is_null())
        .filter(one_time_code::Column::ExpiresAt.gt(now))
        .order_by_desc(one_time_code::Column::CreatedAt)
        .one(c)
        .await?)
}

/// Marks every unused code of the user for `purpose` as used (a new one replaces them, or
/// the purpose is fulfilled).
pub async fn retire<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    purpose: &str,
    now: i64,
) -> Result<()> {
    one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::UsedAt, Expr::value(now))
        .filter(one_time_code::Column::UserId.eq(user_id))
        .filter(one_time_code::Column::Purpose.eq(purpose))
        .filter(one_time_code::Column::UsedAt.is_null())
        .exec(c)
        .await?;
    Ok(())
}

/// Uses the code up if it is still unused and unexpired; false if it was not (a concurrent
/// use won).
pub async fn use_code<C: ConnectionTrait>(c: &C, id: Uuid, now: i64) -> Result<bool> {
    let res = one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::UsedAt, Expr::value(now))
        .filter(one_time_code::Column::Id.eq(id))
        .filter(one_time_code::Column::UsedAt.is_null())
        .filter(one_time_code::Column::ExpiresAt.gt(now))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Counts a wrong guess against the code; at `limit` the code is used up.
pub async fn add_attempt<C: ConnectionTrait>(c: &C, id: Uuid, limit: i64, now: i64) -> Result<()> {
    one_time_code::Entity::update_many()
        .col_expr(
            one_time_code::Column::Attempts,
            Expr::col(one_time_code::Column::Attempts).add(1),
        )
        .filter(one_time_code::Column::Id.eq(id))
        .exec(c)
        .await?;
    one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::UsedAt, Expr::value(now))
        .filter(one_time_code::Column::Id.eq(id))
        .filter(one_time_code::Column::UsedAt.is_null())
        .filter(one_time_code::Column::Attempts.gte(limit))
        .exec(c)
        .await?;
    Ok(())
}

/// Removes a code that never left the server (its delivery failed), so it does not count
/// against the sending limit.
pub async fn delete<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<()> {
    one_time_code::Entity::delete_by_id(id).exec(c).await?;
    Ok(())
}
