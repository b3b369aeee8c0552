use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: user::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(c).await?)
}

pub async fn by_email_lookup<C: ConnectionTrait>(
    c: &C,
    lookup: &[u8],
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::EmailLookup.eq(lookup.to_vec()))
        .one(c)
        .await?)
}

/// The oldest active user with `role`.
pub async fn first_with_role<C: ConnectionTrait>(
    c: &C,
    role: &str,
    status: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(has_role(role))
        .filter(user::Column::Status.eq(status))
        .order_by_asc(user::Column::CreatedAt)
        .one(c)
        .await?)
}

pub async fn count<C: ConnectionTrait>(c: &C) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(user::Entity::find().count(c).await?)
}

pub async fn update<C: ConnectionTrait>(c: &C, row: user::Model) -> Result<()> {
    row.into_active_model().reset_all().update(c).await?;
    Ok(())
}

/// Every user not deleted, oldest first (a staff directory is small: hundreds, not millions).
pub async fn all<C: ConnectionTrait>(c: &C) -> Result<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::DeletedAt.is_null())
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .all(c)
        .await?)
}

/// Hands every record `from` owns or is assigned to over to `to` (bumping each record's
/// version, so an editor holding the old one is told). Returns how many records moved.
pub async fn reassign_records<C: ConnectionTrait>(c: &C, from: Uuid, to: Uuid) -> Result<u64> {
    macro_rules! reassign {
        ($($module:ident :: $column:ident),+ $(,)?) => {{
            let mut moved = 0;
            $(
                moved += $module::Entity::update_many()
                    .col_expr($module::Column::$column, Expr::value(to))
                    .col_expr(
                        $module::Column::Version,
                        Expr::col($module::Column::Version).add(1),
                    )
                    .filter($module::Column::$column.eq(from))
                    .exec(c)
                    .await?
                    .rows_affected;
            )+
            moved
        }};
    }
    Ok(reassign!(
        company::OwnerId,
        contact::OwnerId,
        lead::OwnerId,
        deal::OwnerId,
        order::OwnerId,
        activity::OwnerId,
        task::AssigneeId,
        complaint::AssigneeId,
    ))
}

/// Removes what belongs only to the user's sign-in: sessions, API tokens, second factors,
/// sent codes, account links, saved views and notifications. Their records stay.
pub async fn delete_credentials<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<()> {
    macro_rules! delete_for_user {
        ($($module:ident),+ $(,)?) => {$(
            $module::Entity::delete_many()
                .filter($module::Column::UserId.eq(user_id))
                .exec(c)
                .await?;
        )+};
    }
    delete_for_user!(
        session,
        api_token,
        user_totp,
        passkey,
        recovery_code,
        one_time_code,
        account_link,
        saved_view,
        notification,
    );
    Ok(())
}

/// Removes a user who never accepted their invitation (their links go with them).
pub async fn delete_invited<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<()> {
    user::Entity::delete_many()
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Status.eq("invited"))
        .exec(c)
        .await?;
    Ok(())
}

/// A user who has not been deleted.
pub async fn get_live<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id)
        .filter(user::Column::DeletedAt.is_null())
        .one(c)
        .await?)
}

pub async fn count_active_with_role<C: ConnectionTrait>(c: &C, role: &str) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(user::Entity::find()
        .filter(has_role(role))
        .filter(user::Column::Status.eq("active"))
        .count(c)
        .await?)
}

/// Users holding `role`.
fn has_role(role: &str) -> sea_orm::sea_query::SimpleExpr {
    user::Column::Id.in_subquery(
        sea_orm::sea_query::Query::select()
            .column(user_role::Column::UserId)
            .from(user_role::Entity)
            .and_where(user_role::Column::Role.eq(role))
            .to_owned(),
    )
}

/// The user's roles, sorted.
pub async fn roles<C: ConnectionTrait>(c: &C, user_id: Uuid) -> Result<Vec<String>> {
    Ok(user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user_id))
        .order_by_asc(user_role::Column::Role)
        .all(c)
        .await?
        .into_iter()
        .map(|r| r.role)
        .collect())
}

/// Replaces the user's roles with `roles`.
pub async fn set_roles<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    roles: &[String],
    now: i64,
) -> Result<()> {
    user_role::Entity::delete_many()
        .filter(user_role::Column::UserId.eq(user_id))
        .exec(c)
        .await?;
    if roles.is_empty() {
        return Ok(());
    }
    user_role::Entity::insert_many(roles.iter().map(|role| {
        user_role::Model {
            user_id,
            role: role.clone(),
            granted_at: now,
        }
        .into_active_model()
    }))
    .exec(c)
    .await?;
    Ok(())
}

/// Every role assignment, as (user, role).
pub async fn all_roles<C: ConnectionTrait>(c: &C) -> Result<Vec<(Uuid, String)>> {
    Ok(user_role::Entity::find()
        .order_by_asc(user_role::Column::Role)
        .all(c)
        .await?
        .into_iter()
        .map(|r| (r.user_id, r.role))
        .collect())
}
