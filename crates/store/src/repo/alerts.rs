//! Monitoring alerts, their notes and outside deliveries, and the audit stream's cursors.

use super::*;
use sea_orm::DbBackend;

/// The position of the stream reader `name`, locked until the transaction ends (PostgreSQL
/// `FOR UPDATE`; SQLite's write transaction holds the one write lock): one process at a time
/// processes a batch, and the next sees where it stopped. Created at 0 on first use.
pub async fn lock_cursor<C: ConnectionTrait>(c: &C, name: &str, now: i64) -> Result<i64> {
    audit_cursor::Entity::insert(audit_cursor::ActiveModel {
        name: sea_orm::Set(name.to_owned()),
        seq: sea_orm::Set(0),
        updated_at: sea_orm::Set(now),
    })
    .on_conflict_do_nothing_on([audit_cursor::Column::Name])
    .exec(c)
    .await?;
    let query = audit_cursor::Entity::find_by_id(name.to_owned());
    let query = match c.get_database_backend() {
        DbBackend::Postgres => query.lock_exclusive(),
        _ => query,
    };
    let row = query
        .one(c)
        .await?
        .ok_or_else(|| StoreError::Invariant("an audit cursor row is missing".into()))?;
    Ok(row.seq)
}

/// The reader's position without a lock (None before its first batch).
pub async fn cursor<C: ConnectionTrait>(c: &C, name: &str) -> Result<Option<i64>> {
    Ok(audit_cursor::Entity::find_by_id(name.to_owned())
        .one(c)
        .await?
        .map(|row| row.seq))
}

pub async fn set_cursor<C: ConnectionTrait>(c: &C, name: &str, seq: i64, now: i64) -> Result<()> {
    audit_cursor::Entity::update_many()
        .col_expr(audit_cursor::Column::Seq, Expr::value(seq))
        .col_expr(audit_cursor::Column::UpdatedAt, Expr::value(now))
        .filter(audit_cursor::Column::Name.eq(name))
        .exec(c)
        .await?;
    Ok(())
}

/// Events of the given codes at or after `from_time` and before position `before`, oldest
/// first (the monitor's warm-up).
pub async fn events_since<C: ConnectionTrait>(
    c: &C,
    codes: &[&str],
    from_time: i64,
    before: i64,
    limit: u64,
) -> Result<Vec<audit_event::Model>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::OccurredAt.gte(from_time))
        .filter(audit_event::Column::Seq.lt(before))
        .filter(audit_event::Column::Code.is_in(codes.iter().copied()))
        .order_by_asc(audit_event::Column::Seq)
        .limit(limit)
        .all(c)
        .await?)
}

/// The unresolved alert of `rule` about `subject_key`, if any.
pub async fn open_for<C: ConnectionTrait>(
    c: &C,
    rule: &str,
    subject_key: &str,
) -> Result<Option<alert::Model>> {
    Ok(alert::Entity::find()
        .filter(alert::Column::Rule.eq(rule))
        .filter(alert::Column::SubjectKey.eq(subject_key))
        .filter(alert::Column::Status.ne("resolved"))
        .order_by_desc(alert::Column::CreatedAt)
        .one(c)
        .await?)
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: alert::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<alert::Model>> {
    Ok(alert::Entity::find_by_id(id).one(c).await?)
}

/// Writes the alert if it is still at `expected` version; false when someone else changed it.
pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: alert::Model,
    expected: i64,
) -> Result<bool> {
    let id = row.id;
    let res = alert::Entity::update_many()
        .set(row.into_active_model().reset_all())
        .filter(alert::Column::Id.eq(id))
        .filter(alert::Column::Version.eq(expected))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// What an alert list keeps.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub statuses: Vec<String>,
    pub rule: Option<String>,
    pub subject_user_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
}

/// Newest first: up to `limit` alerts created before `(created_at, id)` that pass the filter.
pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &AlertFilter,
    before: Option<(i64, Uuid)>,
    limit: u64,
) -> Result<Vec<alert::Model>> {
    use alert::Column as Col;
    let mut query = alert::Entity::find();
    if !filter.statuses.is_empty() {
        query = query.filter(Col::Status.is_in(filter.statuses.clone()));
    }
    if let Some(rule) = &filter.rule {
        query = query.filter(Col::Rule.eq(rule.clone()));
    }
    if let Some(user) = filter.subject_user_id {
        query = query.filter(Col::SubjectUserId.eq(user));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(Col::OwnerId.eq(owner));
    }
    if let Some((at, id)) = before {
        query = query.filter(
            Condition::any().add(Col::CreatedAt.lt(at)).add(
                Condition::all()
                    .add(Col::CreatedAt.eq(at))
                    .add(Col::Id.lt(id)),
            ),
        );
    }
    Ok(query
        .order_by_desc(Col::CreatedAt)
        .order_by_desc(Col::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// A count of alerts per rule and status.
#[derive(Debug, sea_orm::FromQueryResult)]
pub struct AlertCount {
    pub rule: String,
    pub status: String,
    pub count: i64,
}

/// Alerts per rule and status, created at or after `since`.
pub async fn counts<C: ConnectionTrait>(c: &C, since: i64) -> Result<Vec<AlertCount>> {
    use alert::Column as Col;
    Ok(alert::Entity::find()
        .select_only()
        .column(Col::Rule)
        .column(Col::Status)
        .column_as(
            Expr::from(Func::cast_as(
                Func::count(Expr::col(Col::Id)),
                sea_orm::sea_query::Alias::new("BIGINT"),
            )),
            "count",
        )
        .filter(Col::CreatedAt.gte(since))
        .group_by(Col::Rule)
        .group_by(Col::Status)
        .into_model::<AlertCount>()
        .all(c)
        .await?)
}

pub async fn insert_note<C: ConnectionTrait>(c: &C, row: alert_note::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// An alert's notes, oldest first.
pub async fn notes<C: ConnectionTrait>(c: &C, alert_id: Uuid) -> Result<Vec<alert_note::Model>> {
    Ok(alert_note::Entity::find()
        .filter(alert_note::Column::AlertId.eq(alert_id))
        .order_by_asc(alert_note::Column::CreatedAt)
        .order_by_asc(alert_note::Column::Id)
        .all(c)
        .await?)
}

pub async fn insert_delivery<C: ConnectionTrait>(c: &C, row: alert_delivery::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Pending deliveries whose next attempt is due, oldest first.
pub async fn due_deliveries<C: ConnectionTrait>(
    c: &C,
    now: i64,
    limit: u64,
) -> Result<Vec<alert_delivery::Model>> {
    Ok(alert_delivery::Entity::find()
        .filter(alert_delivery::Column::Status.eq("pending"))
        .filter(alert_delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(alert_delivery::Column::NextAttemptAt)
        .limit(limit)
        .all(c)
        .await?)
}

/// An alert's deliveries, oldest first.
pub async fn deliveries<C: ConnectionTrait>(
    c: &C,
    alert_id: Uuid,
) -> Result<Vec<alert_delivery::Model>> {
    Ok(alert_delivery::Entity::find()
        .filter(alert_delivery::Column::AlertId.eq(alert_id))
        .order_by_asc(alert_delivery::Column::CreatedAt)
        .all(c)
        .await?)
}

pub async fn update_delivery<C: ConnectionTrait>(c: &C, row: alert_delivery::Model) -> Result<()> {
    row.into_active_model().reset_all().update(c).await?;
    Ok(())
}

/// Creates the reader's cursor at `seq` unless it exists.
pub async fn ensure_cursor<C: ConnectionTrait>(
    c: &C,
    name: &str,
    seq: i64,
    now: i64,
) -> Result<()> {
    audit_cursor::Entity::insert(audit_cursor::ActiveModel {
        name: sea_orm::Set(name.to_owned()),
        seq: sea_orm::Set(seq),
        updated_at: sea_orm::Set(now),
    })
    .on_conflict_do_nothing_on([audit_cursor::Column::Name])
    .exec(c)
    .await?;
    Ok(())
}

/// Moves the reader from `from` to `to` if it is still at `from` (no lock held while a feed
/// sends); false when another process moved it first.
pub async fn advance_cursor<C: ConnectionTrait>(
    c: &C,
    name: &str,
    from: i64,
    to: i64,
    now: i64,
) -> Result<bool> {
    let res = audit_cursor::Entity::update_many()
        .col_expr(audit_cursor::Column::Seq, Expr::value(to))
        .col_expr(audit_cursor::Column::UpdatedAt, Expr::value(now))
        .filter(audit_cursor::Column::Name.eq(name))
        .filter(audit_cursor::Column::Seq.eq(from))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Up to `limit` alerts raised in `[from, to)`, oldest first.
pub async fn raised_between<C: ConnectionTrait>(
    c: &C,
    from: i64,
    to: i64,
    limit: u64,
) -> Result<Vec<alert::Model>> {
    Ok(alert::Entity::find()
        .filter(alert::Column::CreatedAt.gte(from))
        .filter(alert::Column::CreatedAt.lt(to))
        .order_by_asc(alert::Column::CreatedAt)
        .limit(limit)
        .all(c)
        .await?)
}
