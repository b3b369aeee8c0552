//! Repositories: thin, parameterised queries over the entities. Every function takes any
//! connection or transaction, so use cases decide the transaction boundaries.

use crate::StoreError;
use crate::entities::*;
use crate::page::{After, Direction, KeyValue, Page};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, Order,
    QueryFilter, QueryOrder, QuerySelect, Select, Value,
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

/// `CAST(COALESCE(SUM(CASE WHEN admitted THEN value ELSE 0 END), 0) AS BIGINT)`: a sum over
/// the rows `admitted` selects among those counted (SUM over BIGINT is NUMERIC on PostgreSQL;
/// the cast makes both backends return i64).
fn sum_where(admitted: Expr, value: Expr) -> Expr {
    let case: Expr = sea_orm::sea_query::CaseStatement::new()
        .case(admitted, value)
        .finally(Expr::val(0i64))
        .into();
    Func::cast_as(
        Func::coalesce([Expr::from(Func::sum(case)), Expr::val(0i64)]),
        sea_orm::sea_query::Alias::new("BIGINT"),
    )
    .into()
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

/// How many rows `query` selects, counting no further than `cap`: the database stops reading
/// at `cap` rows, so asking "more than N?" of a large table costs N rows, not the table.
async fn count_capped<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    query: Select<E>,
    id: E::Column,
    cap: u64,
) -> Result<u64> {
    use sea_orm::QueryTrait;
    let capped = query.select_only().column(id).limit(cap).into_query();
    let count = sea_orm::sea_query::SelectStatement::new()
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(capped, sea_orm::sea_query::Alias::new("capped"))
        .to_owned();
    let n: i64 = match c.query_one(&count).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
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
    E::Model: IntoActiveModel<E::ActiveModel>,
    C: ConnectionTrait,
{
    let mut bulk = BulkInsert::new(c.get_database_backend());
    bulk.add::<E>(rows, rows_per_statement);
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
    ///
    /// On SQLite a column holding the same value in every row of a statement (the owner and
    /// timestamps of an import, a token's entity and field) is bound once:
    /// `INSERT INTO t (a, b, c) SELECT ?, column1, column2 FROM (VALUES (?, ?), …)`. An import
    /// binds about half as many values that way, and binding was a sixth of its CPU time.
    /// PostgreSQL keeps plain `VALUES` rows, whose parameter types need no inference.
    ///
    /// The rows are consumed: their values move into the statements (ciphertexts are not
    /// copied on the way).
    pub fn add<E>(&mut self, rows: Vec<E::Model>, rows_per_statement: usize)
    where
        E: EntityTrait,
        E::Model: IntoActiveModel<E::ActiveModel>,
    {
        use sea_orm::{IdenStatic, Iterable};
        let columns: Vec<E::Column> = E::Column::iter().collect();
        if rows.is_empty() || columns.is_empty() {
            return;
        }
        let names = columns
            .iter()
            .map(|c| format!("\"{}\"", c.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let head = format!("INSERT INTO \"{}\" ({names}) ", E::default().table_name());
        let per_statement = rows_per_statement.clamp(1, (MAX_BOUND_VALUES / columns.len()).max(1));
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let table: Vec<Vec<Value>> = rows
                .by_ref()
                .take(per_statement)
                .map(|row| {
                    // A whole model's active form has every column set, so `into_value`
                    // always has a value here.
                    let mut active = row.into_active_model();
                    columns
                        .iter()
                        .map(|c| active.take(*c).into_value().unwrap_or(Value::Bool(None)))
                        .collect()
                })
                .collect();
            let statement = match self.backend {
                sea_orm::DbBackend::Sqlite => sqlite_insert(&head, table),
                _ => values_insert(&head, table, self.backend),
            };
            self.statements.push(statement);
        }
    }

    /// Moves `other`'s inserts after these.
    pub fn append(&mut self, mut other: BulkInsert) {
        self.statements.append(&mut other.statements);
    }

    /// Runs the inserts in order (inside the caller's transaction, if it passes one).
    pub async fn execute<C: ConnectionTrait>(self, c: &C) -> Result<()> {
        for statement in self.statements {
            c.execute_raw(statement).await?;
        }
        Ok(())
    }
}

/// `head VALUES (…), (…)`, every value bound in its row.
fn values_insert(
    head: &str,
    table: Vec<Vec<Value>>,
    backend: sea_orm::DbBackend,
) -> sea_orm::Statement {
    use std::fmt::Write as _;
    let width = table.first().map_or(0, Vec::len);
    let mut sql = String::with_capacity(head.len() + 7 + table.len() * width * 6);
    sql.push_str(head);
    sql.push_str("VALUES ");
    let mut values = Vec::with_capacity(table.len() * width);
    for (r, row) in table.into_iter().enumerate() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (i, value) in row.into_iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            values.push(value);
            match backend {
                sea_orm::DbBackend::Postgres => {
                    let _ = write!(sql, "${}", values.len());
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// SQLite: `head SELECT ?, column1, … FROM (VALUES (…), …)`, where each `?` of the select list
/// is a column whose value is the same in every row. Only anonymous `?` are used: SQLite
/// numbers them in the order they appear, so the shared values come first.
fn sqlite_insert(head: &str, table: Vec<Vec<Value>>) -> sea_orm::Statement {
    use std::fmt::Write as _;
    let Some(first) = table.first() else {
        return values_insert(head, table, sea_orm::DbBackend::Sqlite);
    };
    let shared: Vec<bool> = (0..first.len())
        .map(|i| table.len() > 1 && table.iter().all(|row| row[i] == first[i]))
        .collect();
    let varying = shared.iter().filter(|s| !**s).count();
    if varying == 0 || varying == shared.len() {
        return values_insert(head, table, sea_orm::DbBackend::Sqlite);
    }
    let mut sql = String::with_capacity(head.len() + 64 + table.len() * varying * 3);
    sql.push_str(head);
    sql.push_str("SELECT ");
    let mut values = Vec::with_capacity(shared.len() - varying + table.len() * varying);
    let mut next_column = 0;
    for (i, is_shared) in shared.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        if *is_shared {
            sql.push('?');
            values.push(first[i].clone());
        } else {
            next_column += 1;
            let _ = write!(sql, "column{next_column}");
        }
    }
    sql.push_str(" FROM (VALUES ");
    for (r, row) in table.into_iter().enumerate() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        let mut placed = 0;
        for (value, is_shared) in row.into_iter().zip(&shared) {
            if !is_shared {
                sql.push_str(if placed == 0 { "?" } else { ", ?" });
                placed += 1;
                values.push(value);
            }
        }
        sql.push(')');
    }
    sql.push(')');
    sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Sqlite, sql, values)
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

pub mod account_links;
pub mod alerts;
pub mod api_tokens;
pub mod audit;
pub mod auth_throttles;
pub mod data_keys;
pub mod key_versions;
pub mod mfa_requirements;
pub mod one_time_codes;
pub mod passkeys;
pub mod search_tokens;
pub mod second_factors;
pub mod security_events;
pub mod sessions;
pub mod setup_codes;
pub mod sso_logins;
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
pub mod export_requests;
pub mod leads;
pub mod notifications;
pub mod orders;
pub mod pipelines;
pub mod policy_versions;
pub mod product_interests;
pub mod products;
pub mod saved_views;
pub mod surveys;
pub mod tasks;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{DatabaseUrl, OpenMode, Store};

    fn token(entity: &str, field: &str, token: i64, version: i64) -> search_token::Model {
        search_token::Model {
            entity: entity.into(),
            field: field.into(),
            token,
            entity_id: Uuid::new_v4(),
            index_version: version,
        }
    }

    #[test]
    fn sqlite_binds_a_column_shared_by_every_row_once() {
        let rows = [
            token("contact", "name", 7, 1),
            token("contact", "name", 9, 1),
        ];
        let mut bulk = BulkInsert::new(sea_orm::DbBackend::Sqlite);
        bulk.add::<search_token::Entity>(rows.to_vec(), 100);
        let statement = &bulk.statements[0];
        assert_eq!(
            statement.sql,
            "INSERT INTO \"search_tokens\" (\"entity\", \"field\", \"token\", \"entity_id\", \
             \"index_version\") SELECT ?, ?, column1, column2, ? FROM (VALUES (?, ?), (?, ?))"
        );
        let values = statement.values.as_ref().unwrap();
        assert_eq!(values.0.len(), 3 + 2 * 2);
        assert_eq!(values.0[0], Value::from("contact"));
        assert_eq!(values.0[2], Value::from(1i64));
        assert_eq!(values.0[3], Value::from(7i64));
        // PostgreSQL: every value in its row.
        let mut bulk = BulkInsert::new(sea_orm::DbBackend::Postgres);
        bulk.add::<search_token::Entity>(rows.to_vec(), 100);
        assert!(
            bulk.statements[0]
                .sql
                .ends_with("VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)")
        );
    }

    #[tokio::test]
    async fn bulk_inserts_store_every_row_exactly() {
        let dir = std::env::temp_dir().join(format!("custodian-bulk-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = DatabaseUrl::Sqlite(dir.join("b.db"));
        let store = Store::connect(&url, OpenMode::CreateIfMissing)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        // Statements of 3 rows: shared columns, a field that changes inside a statement, a
        // statement of a single row, and rows that share nothing but the entity.
        let mut rows = vec![
            token("contact", "email", 1, 1),
            token("contact", "email", 2, 1),
            token("contact", "email", 3, 1),
            token("contact", "email", 4, 1),
            token("contact", "phone", 5, 1),
            token("contact", "phone", 6, 2),
            token("company", "name", 7, 3),
        ];
        rows.push(search_token::Model {
            entity_id: rows[0].entity_id,
            ..token("contact", "name", 8, 1)
        });
        let mut bulk = BulkInsert::for_backend(store.backend());
        bulk.add::<search_token::Entity>(rows.clone(), 3);
        assert_eq!(bulk.statements.len(), 3);
        let txn = store.begin().await.unwrap();
        bulk.execute(&txn).await.unwrap();
        txn.commit().await.unwrap();
        let mut stored = search_token::Entity::find()
            .all(store.conn())
            .await
            .unwrap();
        stored.sort_by_key(|t| t.token);
        assert_eq!(stored, rows);
        store.close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
