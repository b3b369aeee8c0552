//! Security events and the abnormal-use marks on sessions.

use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: security_event::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// The user's newest events, newest first.
pub async fn recent_for_user<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    limit: u64,
) -> Result<Vec<security_event::Model>> {
    Ok(security_event::Entity::find()
        .filter(security_event::Column::UserId.eq(user_id))
        .order_by_desc(security_event::Column::OccurredAt)
        .order_by_desc(security_event::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// What the user's earlier events of `kind` (since `since`) say about a client: whether there
/// were any, whether one came from this network, and whether one came from this device family.
pub async fn seen_before<C: ConnectionTrait>(
    c: &C,
    user_id: Uuid,
    kind: &str,
    since: i64,
    network: Option<&[u8]>,
    device: Option<&[u8]>,
) -> Result<(bool, bool, bool)> {
    let earlier = || {
        security_event::Entity::find()
            .filter(security_event::Column::UserId.eq(user_id))
            .filter(security_event::Column::Kind.eq(kind))
            .filter(security_event::Column::OccurredAt.gte(since))
    };
    let any = earlier().one(c).await?.is_some();
    let network_seen = match network {
        Some(n) => earlier()
            .filter(security_event::Column::NetworkLookup.eq(n.to_vec()))
            .one(c)
            .await?
            .is_some(),
        None => true,
    };
    let device_seen = match device {
        Some(d) => earlier()
            .filter(security_event::Column::DeviceLookup.eq(d.to_vec()))
            .one(c)
            .await?
            .is_some(),
        None => true,
    };
    Ok((any, network_seen, device_seen))
}

/// Whether an event of `kind` and `detail` with no account came from this network (or,
/// without one, from anywhere unknown) since `since`.
pub async fn recent_from_network<C: ConnectionTrait>(
    c: &C,
    kind: &str,
    detail: &str,
    network: Option<&[u8]>,
    since: i64,
) -> Result<bool> {
    let query = security_event::Entity::find()
        .filter(security_event::Column::Kind.eq(kind))
        .filter(security_event::Column::Detail.eq(detail))
        .filter(security_event::Column::UserId.is_null())
        .filter(security_event::Column::OccurredAt.gte(since));
    let query = match network {
        Some(n) => query.filter(security_event::Column::NetworkLookup.eq(n.to_vec())),
        None => query.filter(security_event::Column::NetworkLookup.is_null()),
    };
    Ok(query.one(c).await?.is_some())
}

/// Marks the session as seen from another network; true only the first time.
pub async fn mark_network_changed<C: ConnectionTrait>(
    c: &C,
    session_id: Uuid,
    now: i64,
) -> Result<bool> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::NetworkChangedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::NetworkChangedAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Marks the ended session as presented again; true only the first time.
pub async fn mark_used_after_end<C: ConnectionTrait>(
    c: &C,
    session_id: Uuid,
    now: i64,
) -> Result<bool> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::UsedAfterEndAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UsedAfterEndAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Events that name no account, newest first (security staff's view; tests).
pub async fn recent_without_user<C: ConnectionTrait>(
    c: &C,
    limit: u64,
) -> Result<Vec<security_event::Model>> {
    Ok(security_event::Entity::find()
        .filter(security_event::Column::UserId.is_null())
        .order_by_desc(security_event::Column::OccurredAt)
        .order_by_desc(security_event::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}
