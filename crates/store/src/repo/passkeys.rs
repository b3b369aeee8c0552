//! Passkeys and the WebAuthn ceremonies that register and use them.

use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: passkey::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// The user's passkeys, oldest first.
pub async fn for_user<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<Vec<passkey::Model>> {
    Ok(passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .order_by_asc(passkey::Column::CreatedAt)
        .order_by_asc(passkey::Column::Id)
        .all(c)
        .await?)
}

pub async fn count_for_user<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .count(c)
        .await?)
}

pub async fn by_credential_lookup<C: ConnectionTrait>(
    c: &C,
    lookup: &[u8],
) -> Result<Option<passkey::Model>> {
    Ok(passkey::Entity::find()
        .filter(passkey::Column::CredentialLookup.eq(lookup.to_vec()))
        .one(c)
        .await?)
}

/// Stores the credential's new state (signature counter, backup flags) and when it was used.
pub async fn record_use<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    credential_ct: Option<Vec<u8>>,
    now: i64,
) -> Result<()> {
    let mut update = passkey::Entity::update_many()
        .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
        .filter(passkey::Column::Id.eq(id));
    if let Some(ct) = credential_ct {
        update = update.col_expr(passkey::Column::CredentialCt, Expr::value(ct));
    }
    update.exec(c).await?;
    Ok(())
}

/// Renames the user's passkey; false when they have none with this id.
pub async fn rename<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    id: Uuid,
    name_ct: Vec<u8>,
) -> Result<bool> {
    let res = passkey::Entity::update_many()
        .col_expr(passkey::Column::NameCt, Expr::value(name_ct))
        .filter(passkey::Column::Id.eq(id))
        .filter(passkey::Column::UserId.eq(user_id))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Removes the user's passkey; false when they have none with this id.
pub async fn delete<C: ConnectionTrait>(c: &C, user_id: Uuid, id: Uuid) -> Result<bool> {
    let res = passkey::Entity::delete_many()
        .filter(passkey::Column::Id.eq(id))
        .filter(passkey::Column::UserId.eq(user_id))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

pub async fn delete_all_for_user<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<()> {
    passkey::Entity::delete_many()
        .filter(passkey::Column::UserId.eq(user_id))
        .exec(c)
        .await?;
    Ok(())
}

/// Stores a started ceremony after removing expired ones (so the table holds at most the
/// ceremonies of the last few minutes).
pub async fn insert_ceremony<C: ConnectionTrait>(
    c: &C,
    row: webauthn_ceremony::Model,
) -> Result<()> {
    webauthn_ceremony::Entity::delete_many()
        .filter(webauthn_ceremony::Column::ExpiresAt.lte(row.created_at))
        .exec(c)
        .await?;
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Unexpired ceremonies of `purpose` (the cap on sign-ins in progress).
pub async fn live_ceremonies<C: ConnectionTrait>(c: &C, purpose: &str, now: i64) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(webauthn_ceremony::Entity::find()
        .filter(webauthn_ceremony::Column::Purpose.eq(purpose))
        .filter(webauthn_ceremony::Column::ExpiresAt.gt(now))
        .count(c)
        .await?)
}

/// Takes the ceremony out: it is returned once, only if it is unexpired and of `purpose`, and
/// is deleted either way (a finished or failed ceremony cannot be tried again).
pub async fn take_ceremony<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    purpose: &str,
    now: i64,
) -> Result<Option<webauthn_ceremony::Model>> {
    let Some(row) = webauthn_ceremony::Entity::find_by_id(id).one(c).await? else {
        return Ok(None);
    };
    let deleted = webauthn_ceremony::Entity::delete_many()
        .filter(webauthn_ceremony::Column::Id.eq(id))
        .exec(c)
        .await?;
    // Two concurrent finishes: only the one whose delete removed the row may go on.
    let won = deleted.rows_affected > 0;
    Ok((won && row.purpose == purpose && row.expires_at > now).then_some(row))
}
