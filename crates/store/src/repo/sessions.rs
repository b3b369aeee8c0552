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

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<session::Model>> {
    Ok(session::Entity::find_by_id(id).one(c).await?)
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

/// Ends one session (if it has not ended yet) and records why.
pub async fn end<C: ConnectionTrait>(c: &C, id: Uuid, now: i64, reason: &str) -> Result<bool> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .col_expr(session::Column::EndReason, Expr::value(reason))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Ends every running session of a user, but for `keep`; returns the ids ended.
pub async fn end_all_of_user<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: i64,
    reason: &str,
) -> Result<Vec<Uuid>> {
    let mut query = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        query = query.filter(session::Column::Id.ne(keep));
    }
    let ids: Vec<Uuid> = query.into_tuple().all(c).await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .col_expr(session::Column::EndReason, Expr::value(reason))
        .filter(session::Column::Id.is_in(ids.clone()))
        .filter(session::Column::RevokedAt.is_null())
        .exec(c)
        .await?;
    Ok(ids)
}

/// A user's sessions that have not ended and have not timed out (active after
/// `seen_since`, created after `created_since`), most recently used first.
pub async fn running_of_user<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    stage: &str,
    seen_since: i64,
    created_since: i64,
) -> Result<Vec<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Stage.eq(stage))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::LastSeenAt.gte(seen_since))
        .filter(session::Column::CreatedAt.gte(created_since))
        .order_by_desc(session::Column::LastSeenAt)
        .order_by_desc(session::Column::Id)
        .all(c)
        .await?)
}

/// Counts one more wrong code on a session; returns the count now.
pub async fn add_factor_failure<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<i64> {
    session::Entity::update_many()
        .col_expr(
            session::Column::FactorFailures,
            Expr::col(session::Column::FactorFailures).add(1),
        )
        .filter(session::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(get(c, id).await?.map_or(0, |s| s.factor_failures))
}

/// The user proved themselves again on this session (step-up).
pub async fn mark_reauthenticated<C: ConnectionTrait>(c: &C, id: Uuid, now: i64) -> Result<()> {
    session::Entity::update_many()
        .col_expr(session::Column::ReauthenticatedAt, Expr::value(now))
        .col_expr(session::Column::FactorFailures, Expr::value(0i64))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(c)
        .await?;
    Ok(())
}

/// Every running session of the user must prove itself again before a sensitive action (its
/// last proof is forgotten); returns the sessions' ids.
pub async fn require_step_up<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .all(c)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    if ids.is_empty() {
        return Ok(ids);
    }
    session::Entity::update_many()
        .col_expr(session::Column::ReauthenticatedAt, Expr::value(0i64))
        .filter(session::Column::Id.is_in(ids.clone()))
        .exec(c)
        .await?;
    Ok(ids)
}
