//! Repositories: thin, parameterised queries over the entities. Every function takes any
//! connection or transaction, so use cases decide the transaction boundaries.

use crate::StoreError;
use crate::entities::*;
use crate::page::{After, Direction, KeyValue, Page};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    ModelTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use uuid::Uuid;

type Result<T> = std::result::Result<T, StoreError>;

/// Whether soft-deleted rows are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deleted {
    #[default]
    Exclude,
    Only,
    Include,
}

fn key_value(v: &KeyValue) -> Value {
    match v {
        KeyValue::Int(i) => Value::from(*i),
        KeyValue::Text(s) => Value::from(s.clone()),
    }
}

/// Applies keyset pagination: rows strictly after `after` in (sort, id) order, one extra row
/// fetched to learn whether another page exists.
fn keyset<E: EntityTrait>(
    query: Select<E>,
    sort: E::Column,
    id: E::Column,
    direction: Direction,
    after: Option<&After>,
    limit: u64,
) -> Select<E> {
    let order = match direction {
        Direction::Asc => Order::Asc,
        Direction::Desc => Order::Desc,
    };
    let mut query = query;
    if let Some(after) = after {
        let k = key_value(&after.key);
        let cond = match direction {
            Direction::Asc => Condition::any()
                .add(sort.gt(k.clone()))
                .add(Condition::all().add(sort.eq(k)).add(id.gt(after.id))),
            Direction::Desc => Condition::any()
                .add(sort.lt(k.clone()))
                .add(Condition::all().add(sort.eq(k)).add(id.lt(after.id))),
        };
        query = query.filter(cond);
    }
    query
        .order_by(sort, order.clone())
        .order_by(id, order)
        .limit(limit.saturating_add(1))
}

fn into_page<T>(mut rows: Vec<T>, limit: u64) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    Page {
        items: rows,
        has_more,
    }
}

/// Writes `row` only if the stored version is still `expected_version` (`row` must already
/// carry the next version): the optimistic-concurrency write shared by every versioned record.
async fn write_if_version<E, C>(
    c: &C,
    row: E::Model,
    id: Uuid,
    (id_col, version_col): (E::Column, E::Column),
    expected_version: i64,
) -> Result<WriteOutcome>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    let res = E::update_many()
        .set(row.into_active_model().reset_all())
        .filter(id_col.eq(id))
        .filter(version_col.eq(expected_version))
        .exec(c)
        .await?;
    outcome::<E, C>(c, res.rows_affected, id, (id_col, version_col)).await
}

/// Soft-deletes (`delete`) or restores a record in one statement, bumping its version:
/// `Written`, `Stale` when it is already in the wanted state, `NotFound` when it does not exist.
async fn set_deleted<E, C>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
    (id_col, version_col, deleted_col, updated_col): (E::Column, E::Column, E::Column, E::Column),
) -> Result<WriteOutcome>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let state = if delete {
        deleted_col.is_null()
    } else {
        deleted_col.is_not_null()
    };
    let res = E::update_many()
        .col_expr(deleted_col, Expr::value(delete.then_some(now)))
        .col_expr(updated_col, Expr::value(now))
        .col_expr(version_col, Expr::col(version_col).add(1))
        .filter(id_col.eq(id))
        .filter(state)
        .exec(c)
        .await?;
    outcome::<E, C>(c, res.rows_affected, id, (id_col, version_col)).await
}

/// `Written` when the conditional update hit the row; otherwise whether the row exists at all
/// tells a lost race (`Stale`, with the version it is at now) from a missing record.
async fn outcome<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    rows_affected: u64,
    id: Uuid,
    (id_col, version_col): (E::Column, E::Column),
) -> Result<WriteOutcome> {
    use sea_orm::ModelTrait;
    if rows_affected == 1 {
        return Ok(WriteOutcome::Written);
    }
    Ok(match E::find().filter(id_col.eq(id)).one(c).await? {
        Some(row) => match row.get(version_col) {
            Value::BigInt(Some(current_version)) => WriteOutcome::Stale { current_version },
            _ => {
                return Err(
                    sea_orm::DbErr::Type("the version column is not a BIGINT".into()).into(),
                );
            }
        },
        None => WriteOutcome::NotFound,
    })
}

/// Bound values per statement, under SQLite's (32,766) and PostgreSQL's (65,535) limits.
const MAX_BOUND_VALUES: usize = 30_000;

/// Inserts many new rows with multi-row `INSERT … VALUES (…), (…)` statements written here
/// rather than built through active models: for the bulk paths (imports, seeding) the query
/// builder cost more than SQLite's own work. The values are still all bound parameters.
async fn insert_all<E, C>(c: &C, rows: Vec<E::Model>, rows_per_statement: usize) -> Result<()>
where
    E: EntityTrait,
    E::Model: ModelTrait<Entity = E>,
    C: ConnectionTrait,
{
    let mut bulk = BulkInsert::new(c.get_database_backend());
    bulk.add::<E>(&rows, rows_per_statement);
    bulk.execute(c).await
}

/// Multi-row inserts built ahead of their transaction: building them is pure CPU, so an import
/// builds the next batch's on worker threads while the writer executes this one's.
pub struct BulkInsert {
    backend: sea_orm::DbBackend,
    statements: Vec<sea_orm::Statement>,
}

/// Counts only: the bound values are the rows' data.
impl std::fmt::Debug for BulkInsert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkInsert")
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl BulkInsert {
    pub fn new(backend: sea_orm::DbBackend) -> Self {
        Self {
            backend,
            statements: Vec::new(),
        }
    }

    /// For a store's backend.
    pub fn for_backend(backend: crate::Backend) -> Self {
        Self::new(match backend {
            crate::Backend::Sqlite => sea_orm::DbBackend::Sqlite,
            crate::Backend::Postgres => sea_orm::DbBackend::Postgres,
        })
    }

    /// Appends the inserts of `rows` (new rows of `E`), at most `rows_per_statement` rows and
    /// 30,000 bound values per statement. Inserts run in the order they were added, so add
    /// referenced rows first.
    pub fn add<E>(&mut self, rows: &[E::Model], rows_per_statement: usize)
    where
        E: EntityTrait,
        E::Model: ModelTrait<Entity = E>,
    {
        use sea_orm::{IdenStatic, Iterable};
        use std::fmt::Write as _;
        let columns: Vec<E::Column> = E::Column::iter().collect();
        if rows.is_empty() || columns.is_empty() {
            return;
        }
        let names = columns
            .iter()
            .map(|c| format!("\"{}\"", c.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let head = format!(
            "INSERT INTO \"{}\" ({names}) VALUES ",
            E::default().table_name()
        );
        let per_statement = rows_per_statement.clamp(1, (MAX_BOUND_VALUES / columns.len()).max(1));
        for chunk in rows.chunks(per_statement) {
            let mut sql = String::with_capacity(head.len() + chunk.len() * columns.len() * 6);
            sql.push_str(&head);
            let mut values = Vec::with_capacity(chunk.len() * columns.len());
            for (r, row) in chunk.iter().enumerate() {
                sql.push_str(if r == 0 { "(" } else { ", (" });
                for (i, column) in columns.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    values.push(row.get(*column));
                    match self.backend {
                        sea_orm::DbBackend::Postgres => {
                            let _ = write!(sql, "${}", values.len());
                        }
                        _ => sql.push('?'),
                    }
                }
                sql.push(')');
            }
            self.statements
                .push(sea_orm::Statement::from_sql_and_values(
                    self.backend,
                    sql,
                    values,
                ));
        }
    }

    /// Moves `other`'s inserts after these.
    pub fn append(&mut self, mut other: BulkInsert) {
        self.statements.append(&mut other.statements);
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Runs the inserts in order (inside the caller's transaction, if it passes one).
    pub async fn execute<C: ConnectionTrait>(self, c: &C) -> Result<()> {
        for statement in self.statements {
            c.execute_raw(statement).await?;
        }
        Ok(())
    }
}

fn deleted_filter<E: EntityTrait>(
    query: Select<E>,
    column: E::Column,
    deleted: Deleted,
) -> Select<E> {
    match deleted {
        Deleted::Exclude => query.filter(column.is_null()),
        Deleted::Only => query.filter(column.is_not_null()),
        Deleted::Include => query,
    }
}

pub mod api_tokens;
pub mod data_keys;
pub mod key_versions;
pub mod search_tokens;
pub mod sessions;
pub mod setup_codes;
pub mod tags;
pub mod users;

/// Result of a version-checked update or state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The row exists but its version moved on (someone else wrote first), or it already was
    /// in the state asked for.
    Stale {
        current_version: i64,
    },
    NotFound,
}

pub mod activities;
pub mod companies;
pub mod complaints;
pub mod contact_preferences;
pub mod contacts;
pub mod custom_fields;
pub mod dashboard;
pub mod deal_history;
pub mod deals;
pub mod leads;
pub mod notifications;
pub mod orders;
pub mod pipelines;
pub mod product_interests;
pub mod products;
pub mod saved_views;
pub mod surveys;
pub mod tasks;
