//! One-time links sent by e-mail: invitations and password resets.

use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: account_link::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn by_token_hash<C: ConnectionTrait>(
    c: &C,
    token_hash: &[u8],
) -> Result<Option<account_link::Model>> {
    Ok(account_link::Entity::find()
        .filter(account_link::Column::TokenHash.eq(token_hash.to_vec()))
        .one(c)
        .await?)
}

/// Uses the link up if it is still unused and unexpired; false if a concurrent use won.
pub async fn use_link<C: ConnectionTrait>(c: &C, id: Uuid, now: i64) -> Result<bool> {
    let res = account_link::Entity::update_many()
        .col_expr(account_link::Column::UsedAt, Expr::value(now))
        .filter(account_link::Column::Id.eq(id))
        .filter(account_link::Column::UsedAt.is_null())
        .filter(account_link::Column::ExpiresAt.gt(now))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Retires the user's unused links for `purpose` (a new link replaces them).
pub async fn retire<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    purpose: &str,
    now: i64,
) -> Result<()> {
    account_link::Entity::update_many()
        .col_expr(account_link::Column::UsedAt, Expr::value(now))
        .filter(account_link::Column::UserId.eq(user_id))
        .filter(account_link::Column::Purpose.eq(purpose))
        .filter(account_link::Column::UsedAt.is_null())
        .exec(c)
        .await?;
    Ok(())
}

/// Links for `purpose` made for the user since `since` (the request rate limit).
pub async fn made_since<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    purpose: &str,
    since: i64,
) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(account_link::Entity::find()
        .filter(account_link::Column::UserId.eq(user_id))
        .filter(account_link::Column::Purpose.eq(purpose))
        .filter(account_link::Column::CreatedAt.gte(since))
        .count(c)
        .await?)
}

/// The newest link for `purpose` of each listed user (the users page shows pending
/// invitations and when they expire).
pub async fn newest_for_users<C: ConnectionTrait>(
    c: &C,
    purpose: &str,
    user_ids: &[Uuid],
) -> Result<Vec<account_link::Model>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = account_link::Entity::find()
        .filter(account_link::Column::Purpose.eq(purpose))
        .filter(account_link::Column::UserId.is_in(user_ids.iter().copied()))
        .order_by_desc(account_link::Column::CreatedAt)
        .all(c)
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|r| seen.insert(r.user_id))
        .collect())
}
