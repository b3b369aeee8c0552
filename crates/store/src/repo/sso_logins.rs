//! Single sign-on attempts in flight.

use super::*;

/// Stores an attempt after removing expired ones.
pub async fn insert<C: ConnectionTrait>(c: &C, row: sso_login::Model) -> Result<()> {
    sso_login::Entity::delete_many()
        .filter(sso_login::Column::ExpiresAt.lte(row.created_at))
        .exec(c)
        .await?;
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Unexpired attempts (the cap on attempts in flight).
pub async fn live<C: ConnectionTrait>(c: &C, now: i64) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(sso_login::Entity::find()
        .filter(sso_login::Column::ExpiresAt.gt(now))
        .count(c)
        .await?)
}

/// Takes the attempt with this state out: once, and only before it expires.
pub async fn take<C: ConnectionTrait>(
    c: &C,
    state_lookup: &[u8],
    now: i64,
) -> Result<Option<sso_login::Model>> {
    let Some(row) = sso_login::Entity::find()
        .filter(sso_login::Column::StateLookup.eq(state_lookup.to_vec()))
        .one(c)
        .await?
    else {
        return Ok(None);
    };
    let deleted = sso_login::Entity::delete_many()
        .filter(sso_login::Column::Id.eq(row.id))
        .exec(c)
        .await?;
    Ok((deleted.rows_affected > 0 && row.expires_at > now).then_some(row))
}
