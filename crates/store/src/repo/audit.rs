//! The audit log: appends under the head row's lock, pages in log order, search, checkpoints.

use super::*;
use sea_orm::DbBackend;

/// The head row, locked until the transaction ends: on PostgreSQL `FOR UPDATE`, so concurrent
/// appenders (other server processes too) queue here and each sees the previous one's
/// events; on SQLite the write transaction already holds the database's one write lock.
pub async fn lock_head<C: ConnectionTrait>(c: &C) -> Result<audit_head::Model> {
    let query = audit_head::Entity::find_by_id(1);
    let query = match c.get_database_backend() {
        DbBackend::Postgres => query.lock_exclusive(),
        _ => query,
    };
    query
        .one(c)
        .await?
        .ok_or_else(|| StoreError::Invariant("the audit head row is missing".into()))
}

/// The head as it is now (no lock).
pub async fn head<C: ConnectionTrait>(c: &C) -> Result<audit_head::Model> {
    audit_head::Entity::find_by_id(1)
        .one(c)
        .await?
        .ok_or_else(|| StoreError::Invariant("the audit head row is missing".into()))
}

/// Rows per insert statement (15 columns each, well under SQLite's parameter limit).
const INSERT_CHUNK: usize = 500;

/// Inserts events and moves the head, in the caller's transaction (which holds the head lock).
pub async fn append<C: ConnectionTrait>(
    c: &C,
    events: Vec<audit_event::Model>,
    head: audit_head::Model,
) -> Result<()> {
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let chunk: Vec<_> = events
            .by_ref()
            .take(INSERT_CHUNK)
            .map(|row| row.into_active_model().reset_all())
            .collect();
        audit_event::Entity::insert_many(chunk).exec(c).await?;
    }
    head.into_active_model().reset_all().update(c).await?;
    Ok(())
}

pub async fn insert_checkpoint<C: ConnectionTrait>(
    c: &C,
    row: audit_checkpoint::Model,
) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Every checkpoint, oldest first.
pub async fn checkpoints<C: ConnectionTrait>(c: &C) -> Result<Vec<audit_checkpoint::Model>> {
    Ok(audit_checkpoint::Entity::find()
        .order_by_asc(audit_checkpoint::Column::TreeSize)
        .all(c)
        .await?)
}

pub async fn latest_checkpoint<C: ConnectionTrait>(
    c: &C,
) -> Result<Option<audit_checkpoint::Model>> {
    Ok(latest_checkpoints(c, 1).await?.pop())
}

/// The newest `limit` checkpoints, newest first.
pub async fn latest_checkpoints<C: ConnectionTrait>(
    c: &C,
    limit: u64,
) -> Result<Vec<audit_checkpoint::Model>> {
    Ok(audit_checkpoint::Entity::find()
        .order_by_desc(audit_checkpoint::Column::TreeSize)
        .limit(limit)
        .all(c)
        .await?)
}

/// The checkpoint of exactly `tree_size` events.
pub async fn checkpoint_at<C: ConnectionTrait>(
    c: &C,
    tree_size: i64,
) -> Result<Option<audit_checkpoint::Model>> {
    Ok(audit_checkpoint::Entity::find_by_id(tree_size)
        .one(c)
        .await?)
}

/// The largest checkpoint signed before `before` (Unix ms) that covers more than `above`
/// events: every event it covers is older than `before`.
pub async fn latest_checkpoint_signed_before<C: ConnectionTrait>(
    c: &C,
    before: i64,
    above: i64,
) -> Result<Option<audit_checkpoint::Model>> {
    Ok(audit_checkpoint::Entity::find()
        .filter(audit_checkpoint::Column::SignedAt.lt(before))
        .filter(audit_checkpoint::Column::TreeSize.gt(above))
        .order_by_desc(audit_checkpoint::Column::TreeSize)
        .one(c)
        .await?)
}

/// Records that events `0..size` are pruned (under the head lock the caller holds).
pub async fn set_pruned<C: ConnectionTrait>(c: &C, size: i64) -> Result<()> {
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::PrunedSize, Expr::value(size))
        .filter(audit_head::Column::Id.eq(1))
        .exec(c)
        .await?;
    Ok(())
}

/// The oldest event kept: its position and time.
pub async fn oldest_event<C: ConnectionTrait>(c: &C) -> Result<Option<(i64, i64)>> {
    Ok(audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Seq)
        .one(c)
        .await?
        .map(|row| (row.seq, row.occurred_at)))
}

/// Deletes up to `batch` of the oldest events below position `size`; returns how many.
/// Small batches keep each transaction short while the server goes on appending.
pub async fn delete_events_below<C: ConnectionTrait>(c: &C, size: i64, batch: i64) -> Result<u64> {
    let Some((first, _)) = oldest_event(c).await? else {
        return Ok(0);
    };
    if first >= size {
        return Ok(0);
    }
    let result = audit_event::Entity::delete_many()
        .filter(audit_event::Column::Seq.lt(Ord::min(size, first.saturating_add(batch))))
        .exec(c)
        .await?;
    Ok(result.rows_affected)
}

/// Up to `limit` events from position `from` on, in log order.
pub async fn events_from<C: ConnectionTrait>(
    c: &C,
    from: i64,
    limit: u64,
) -> Result<Vec<audit_event::Model>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::Seq.gte(from))
        .order_by_asc(audit_event::Column::Seq)
        .limit(limit)
        .all(c)
        .await?)
}

/// A position and its leaf hash.
#[derive(Debug, sea_orm::FromQueryResult)]
pub struct Leaf {
    pub seq: i64,
    pub leaf_hash: Vec<u8>,
}

/// The leaf hashes of positions `from..to`, in order (for inclusion proofs).
pub async fn leaf_hashes<C: ConnectionTrait>(c: &C, from: i64, to: i64) -> Result<Vec<Leaf>> {
    Ok(audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Seq)
        .column(audit_event::Column::LeafHash)
        .filter(audit_event::Column::Seq.gte(from))
        .filter(audit_event::Column::Seq.lt(to))
        .order_by_asc(audit_event::Column::Seq)
        .into_model::<Leaf>()
        .all(c)
        .await?)
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<audit_event::Model>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::Id.eq(id))
        .one(c)
        .await?)
}

/// What an audit search keeps.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub codes: Vec<String>,
    pub outcome: Option<String>,
    /// Unix milliseconds, inclusive.
    pub from: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub to: Option<i64>,
}

/// Newest first: up to `limit` events before position `before` that pass the filter.
pub async fn search<C: ConnectionTrait>(
    c: &C,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<audit_event::Model>> {
    use audit_event::Column as Col;
    let mut query = audit_event::Entity::find();
    if let Some(actor) = filter.actor_id {
        query = query.filter(Col::ActorId.eq(actor));
    }
    if let Some(target) = filter.target_id {
        query = query.filter(Col::TargetId.eq(target));
    }
    if !filter.codes.is_empty() {
        query = query.filter(Col::Code.is_in(filter.codes.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(Col::Outcome.eq(outcome.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(Col::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(Col::OccurredAt.lt(to));
    }
    if let Some(before) = before {
        query = query.filter(Col::Seq.lt(before));
    }
    Ok(query.order_by_desc(Col::Seq).limit(limit).all(c).await?)
}

/// `COUNT(seq)` as a 64-bit integer on both backends.
fn count_seq() -> Expr {
    Expr::from(Func::cast_as(
        Func::count(Expr::col(audit_event::Column::Seq)),
        sea_orm::sea_query::Alias::new("BIGINT"),
    ))
}

/// Events of one code and outcome in a time range.
#[derive(Debug, sea_orm::FromQueryResult)]
pub struct CodeCount {
    pub code: String,
    pub outcome: String,
    pub count: i64,
}

/// Events per code and outcome that occurred in `[from, to)`.
pub async fn count_by_code<C: ConnectionTrait>(
    c: &C,
    from: i64,
    to: i64,
) -> Result<Vec<CodeCount>> {
    use audit_event::Column as Col;
    Ok(audit_event::Entity::find()
        .select_only()
        .column(Col::Code)
        .column(Col::Outcome)
        .column_as(count_seq(), "count")
        .filter(Col::OccurredAt.gte(from))
        .filter(Col::OccurredAt.lt(to))
        .group_by(Col::Code)
        .group_by(Col::Outcome)
        .into_model::<CodeCount>()
        .all(c)
        .await?)
}

/// Events of one code on one UTC day (days since 1970-01-01).
#[derive(Debug, sea_orm::FromQueryResult)]
pub struct DayCount {
    pub day: i64,
    pub code: String,
    pub count: i64,
}

/// Events of `codes` per UTC day in `[from, to)`.
pub async fn daily_counts<C: ConnectionTrait>(
    c: &C,
    from: i64,
    to: i64,
    codes: &[&str],
) -> Result<Vec<DayCount>> {
    use audit_event::Column as Col;
    // Integer division on both backends (BIGINT / BIGINT). A constant in the text rather
    // than a parameter: PostgreSQL matches the grouped expression to the selected one only
    // when they are identical, and two parameters are not.
    let day = Expr::cust("CAST(occurred_at / 86400000 AS BIGINT)");
    Ok(audit_event::Entity::find()
        .select_only()
        .column_as(day.clone(), "day")
        .column(Col::Code)
        .column_as(count_seq(), "count")
        .filter(Col::OccurredAt.gte(from))
        .filter(Col::OccurredAt.lt(to))
        .filter(Col::Code.is_in(codes.iter().copied()))
        .group_by(day)
        .group_by(Col::Code)
        .into_model::<DayCount>()
        .all(c)
        .await?)
}

/// Events of one code by one actor.
#[derive(Debug, sea_orm::FromQueryResult)]
pub struct ActorCount {
    pub actor_id: Option<Uuid>,
    pub code: String,
    pub count: i64,
}

/// Events of `codes` per actor in `[from, to)`.
pub async fn count_by_actor<C: ConnectionTrait>(
    c: &C,
    from: i64,
    to: i64,
    codes: &[&str],
) -> Result<Vec<ActorCount>> {
    use audit_event::Column as Col;
    Ok(audit_event::Entity::find()
        .select_only()
        .column(Col::ActorId)
        .column(Col::Code)
        .column_as(count_seq(), "count")
        .filter(Col::OccurredAt.gte(from))
        .filter(Col::OccurredAt.lt(to))
        .filter(Col::Code.is_in(codes.iter().copied()))
        .group_by(Col::ActorId)
        .group_by(Col::Code)
        .into_model::<ActorCount>()
        .all(c)
        .await?)
}

/// Up to `limit` events of `codes` in `[from, to)`, newest first.
pub async fn events_of<C: ConnectionTrait>(
    c: &C,
    from: i64,
    to: i64,
    codes: &[&str],
    limit: u64,
) -> Result<Vec<audit_event::Model>> {
    use audit_event::Column as Col;
    Ok(audit_event::Entity::find()
        .filter(Col::OccurredAt.gte(from))
        .filter(Col::OccurredAt.lt(to))
        .filter(Col::Code.is_in(codes.iter().copied()))
        .order_by_desc(Col::Seq)
        .limit(limit)
        .all(c)
        .await?)
}
