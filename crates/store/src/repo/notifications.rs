use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: notification::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<notification::Model>> {
    Ok(notification::Entity::find_by_id(id).one(c).await?)
}

/// One user's notifications, newest first.
pub async fn list_for_user<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    unread_only: bool,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<notification::Model>> {
    use notification::Column as Col;
    let mut q = notification::Entity::find().filter(Col::UserId.eq(user_id));
    if unread_only {
        q = q.filter(Col::ReadAt.is_null());
    }
    let rows = keyset(q, Col::CreatedAt, Col::Id, Direction::Desc, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}

/// Unread notifications of a user, counted up to `cap` (the bell shows "99+" beyond).
pub async fn unread_count<C: ConnectionTrait>(c: &C, user_id: Uuid, cap: u64) -> Result<u64> {
    use notification::Column as Col;
    let ids = notification::Entity::find()
        .select_only()
        .column(Col::Id)
        .filter(Col::UserId.eq(user_id))
        .filter(Col::ReadAt.is_null())
        .limit(cap)
        .into_tuple::<Uuid>()
        .all(c)
        .await?;
    Ok(ids.len() as u64)
}

/// Marks one of the user's notifications read; false if it is not theirs or does not exist.
/// Reading what is already read keeps the first time.
pub async fn mark_read<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    id: Uuid,
    now: i64,
) -> Result<bool> {
    use notification::Column as Col;
    let Some(row) = notification::Entity::find_by_id(id)
        .filter(Col::UserId.eq(user_id))
        .one(c)
        .await?
    else {
        return Ok(false);
    };
    if row.read_at.is_none() {
        notification::Entity::update_many()
            .col_expr(Col::ReadAt, Expr::value(now))
            .filter(Col::Id.eq(id))
            .filter(Col::ReadAt.is_null())
            .exec(c)
            .await?;
    }
    Ok(true)
}

pub async fn mark_all_read<C: ConnectionTrait>(c: &C, user_id: Uuid, now: i64) -> Result<u64> {
    use notification::Column as Col;
    let res = notification::Entity::update_many()
        .col_expr(Col::ReadAt, Expr::value(now))
        .filter(Col::UserId.eq(user_id))
        .filter(Col::ReadAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected)
}

pub async fn insert_delivery<C: ConnectionTrait>(
    c: &C,
    row: notification_delivery::Model,
) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Pending deliveries whose next attempt is due, oldest first.
pub async fn due_deliveries<C: ConnectionTrait>(
    c: &C,
    now: i64,
    limit: u64,
) -> Result<Vec<notification_delivery::Model>> {
    use notification_delivery::Column as Col;
    Ok(notification_delivery::Entity::find()
        .filter(Col::Status.eq("pending"))
        .filter(Col::NextAttemptAt.lte(now))
        .order_by_asc(Col::NextAttemptAt)
        .order_by_asc(Col::Id)
        .limit(limit)
        .all(c)
        .await?)
}

pub async fn deliveries_of<C: ConnectionTrait>(
    c: &C,
    notification_id: Uuid,
) -> Result<Vec<notification_delivery::Model>> {
    use notification_delivery::Column as Col;
    Ok(notification_delivery::Entity::find()
        .filter(Col::NotificationId.eq(notification_id))
        .order_by_asc(Col::Channel)
        .all(c)
        .await?)
}

/// Records the outcome of one attempt, only if the delivery is still pending at `attempts`
/// (so two nodes never both record an attempt).
pub async fn record_attempt<C: ConnectionTrait>(
    c: &C,
    row: notification_delivery::Model,
    expected_attempts: i64,
) -> Result<bool> {
    use notification_delivery::Column as Col;
    let id = row.id;
    let res = notification_delivery::Entity::update_many()
        .set(row.into_active_model().reset_all())
        .filter(Col::Id.eq(id))
        .filter(Col::Status.eq("pending"))
        .filter(Col::Attempts.eq(expected_attempts))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}
