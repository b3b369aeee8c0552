//! Failed-attempt counters for sign-in throttling.

use super::*;
use sea_orm::sea_query::{CaseStatement, OnConflict};

pub async fn get<C: ConnectionTrait>(c: &C, key: &[u8]) -> Result<Option<auth_throttle::Model>> {
    Ok(auth_throttle::Entity::find_by_id(key.to_vec())
        .one(c)
        .await?)
}

/// Counts one more failure under `key` in a single statement (concurrent failures all count).
/// A counter whose last failure is older than `restart_before` starts again at one.
pub async fn add_failure<C: ConnectionTrait>(
    c: &C,
    key: &[u8],
    now: i64,
    restart_before: i64,
) -> Result<()> {
    let table = auth_throttle::Entity;
    let failures = Expr::col((table, auth_throttle::Column::Failures));
    let last = Expr::col((table, auth_throttle::Column::LastFailureAt));
    let next = CaseStatement::new()
        .case(last.lt(restart_before), Expr::value(1i64))
        .finally(failures.add(1i64));
    auth_throttle::Entity::insert(auth_throttle::ActiveModel {
        key: sea_orm::Set(key.to_vec()),
        failures: sea_orm::Set(1),
        last_failure_at: sea_orm::Set(now),
    })
    .on_conflict(
        OnConflict::column(auth_throttle::Column::Key)
            .value(auth_throttle::Column::Failures, next)
            .value(auth_throttle::Column::LastFailureAt, Expr::value(now))
            .to_owned(),
    )
    .exec(c)
    .await?;
    Ok(())
}

pub async fn clear<C: ConnectionTrait>(c: &C, key: &[u8]) -> Result<bool> {
    let res = auth_throttle::Entity::delete_many()
        .filter(auth_throttle::Column::Key.eq(key.to_vec()))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Locks the account under `key` now: its failure count is raised to `failures` (the lockout
/// threshold), so it stays locked for the lockout period or until an administrator unlocks it.
pub async fn lock<C: ConnectionTrait>(c: &C, key: &[u8], failures: i64, now: i64) -> Result<()> {
    auth_throttle::Entity::insert(auth_throttle::ActiveModel {
        key: sea_orm::Set(key.to_vec()),
        failures: sea_orm::Set(failures),
        last_failure_at: sea_orm::Set(now),
    })
    .on_conflict(
        OnConflict::column(auth_throttle::Column::Key)
            .value(auth_throttle::Column::Failures, Expr::value(failures))
            .value(auth_throttle::Column::LastFailureAt, Expr::value(now))
            .to_owned(),
    )
    .exec(c)
    .await?;
    Ok(())
}
