//! TOTP enrolments and recovery codes.

use super::*;

pub async fn totp<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<Option<user_totp::Model>> {
    Ok(user_totp::Entity::find_by_id(user_id).one(c).await?)
}

/// Starts an enrolment, replacing an unconfirmed one (a confirmed one must be removed first).
pub async fn replace_totp<C: ConnectionTrait>(c: &C, row: user_totp::Model) -> Result<()> {
    delete_totp(c, row.user_id).await?;
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn delete_totp<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<bool> {
    let res = user_totp::Entity::delete_many()
        .filter(user_totp::Column::UserId.eq(user_id))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Accepts time step `step` for the user: only if it is newer than every step accepted before
/// (so each code works once) and, with `confirm`, marks the enrolment confirmed. The
/// conditional update makes two concurrent uses of one code succeed once.
pub async fn use_totp_step<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    step: i64,
    confirm_at: Option<i64>,
) -> Result<bool> {
    let mut update = user_totp::Entity::update_many()
        .col_expr(user_totp::Column::LastUsedStep, Expr::value(step))
        .filter(user_totp::Column::UserId.eq(user_id))
        .filter(
            Condition::any()
                .add(user_totp::Column::LastUsedStep.is_null())
                .add(user_totp::Column::LastUsedStep.lt(step)),
        );
    update = match confirm_at {
        Some(at) => update
            .col_expr(user_totp::Column::ConfirmedAt, Expr::value(at))
            .filter(user_totp::Column::ConfirmedAt.is_null()),
        None => update.filter(user_totp::Column::ConfirmedAt.is_not_null()),
    };
    Ok(update.exec(c).await?.rows_affected > 0)
}

/// Replaces all of a user's recovery codes with `rows`.
pub async fn replace_recovery_codes<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    rows: Vec<recovery_code::Model>,
) -> Result<()> {
    delete_recovery_codes(c, user_id).await?;
    if !rows.is_empty() {
        recovery_code::Entity::insert_many(
            rows.into_iter().map(IntoActiveModel::into_active_model),
        )
        .exec(c)
        .await?;
    }
    Ok(())
}

pub async fn delete_recovery_codes<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<()> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(c)
        .await?;
    Ok(())
}

/// Uses up the user's unused code with this hash; false if there is none.
pub async fn use_recovery_code<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    code_hash: &[u8],
    now: i64,
) -> Result<bool> {
    let res = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(code_hash.to_vec()))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

pub async fn unused_recovery_codes<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(c)
        .await?)
}

/// Users who have a confirmed authenticator.
pub async fn users_with_totp<C: ConnectionTrait>(c: &C) -> Result<Vec<Uuid>> {
    Ok(user_totp::Entity::find()
        .select_only()
        .column(user_totp::Column::UserId)
        .filter(user_totp::Column::ConfirmedAt.is_not_null())
        .into_tuple()
        .all(c)
        .await?)
}
