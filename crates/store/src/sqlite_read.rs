//! SQLite reads without a thread hop.
//!
//! sqlx gives every SQLite connection its own worker thread and ships each statement and each
//! row across a channel. For a primary-key read (≈10 µs of SQLite work) those hand-offs cost
//! more than the query: the read benchmark spent over 40 % of the server's CPU waking and
//! switching threads. Here the same SeaORM statements run on a pool of read-only rusqlite
//! connections, behind SeaORM's proxy connection, so every repository function keeps working
//! unchanged.
//!
//! Two modes share the pool: [`ReadMode::Inline`] runs the statement on the calling task's
//! thread (point reads and pages, which finish in microseconds), [`ReadMode::Offloaded`] on
//! tokio's blocking pool (scans such as exports and reports, which must not stall a worker).
//! Writes never come here: the connections are opened read-only and `query_only`.
//!
//! Result columns are typed from their declared SQL type, so the schema convention is: integer
//! columns are `i64` in models (`big_integer` in migrations), UUIDs are `uuid_text` holding
//! the 16-byte blob sqlx writes. SeaORM keys proxy rows by column name in a sorted map, so a
//! row's positions follow the alphabet: multi-column selects decode into `FromQueryResult`
//! structs (by name), never tuples (by position).

use sea_orm::sea_query::Value;
use sea_orm::{DbErr, ProxyDatabaseTrait, ProxyExecResult, ProxyRow, Statement};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Where a statement runs; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    Inline,
    Offloaded,
}

/// Read-only connections to one SQLite file, opened on demand and kept up to `keep` idle.
pub struct ReaderPool {
    path: PathBuf,
    keep: usize,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl std::fmt::Debug for ReaderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderPool")
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

/// How long a reader waits on a lock (only WAL recovery or a checkpoint restart take one).
/// Short, because an inline reader holds a runtime worker while it waits.
const READER_BUSY_TIMEOUT: Duration = Duration::from_secs(2);
const STATEMENT_CACHE: usize = 64;

fn db_err(e: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("SQLite read failed: {e}"))
}

impl ReaderPool {
    /// Opens one connection at once so a bad path fails at start, not at the first request.
    pub fn open(path: PathBuf, keep: usize) -> Result<Arc<Self>, DbErr> {
        let pool = Arc::new(Self {
            path,
            keep: keep.max(1),
            idle: Mutex::new(Vec::new()),
        });
        let first = pool.connect()?;
        pool.put_back(first);
        Ok(pool)
    }

    fn connect(&self) -> Result<rusqlite::Connection, DbErr> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err)?;
        conn.busy_timeout(READER_BUSY_TIMEOUT).map_err(db_err)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn take(&self) -> Result<rusqlite::Connection, DbErr> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn put_back(&self, conn: rusqlite::Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.keep {
            idle.push(conn);
        }
    }

    fn run(&self, statement: &Statement) -> Result<Vec<ProxyRow>, DbErr> {
        let conn = self.take()?;
        let rows = query(&conn, statement);
        // A failed statement leaves the connection usable (each statement is its own
        // implicit read transaction), so it goes back either way.
        self.put_back(conn);
        rows
    }
}

fn query(conn: &rusqlite::Connection, statement: &Statement) -> Result<Vec<ProxyRow>, DbErr> {
    let mut stmt = conn.prepare_cached(&statement.sql).map_err(db_err)?;
    if let Some(values) = &statement.values {
        for (i, value) in values.0.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, bind_value(value)?)
                .map_err(db_err)?;
        }
    }
    let columns: Vec<(String, Option<DeclaredType>)> = stmt
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.decl_type().map(DeclaredType::parse)))
        .collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let mut values = BTreeMap::new();
        for (i, (name, declared)) in columns.iter().enumerate() {
            let raw = row.get_ref(i).map_err(db_err)?;
            values.insert(name.clone(), column_value(raw, *declared, name)?);
        }
        out.push(ProxyRow { values });
    }
    Ok(out)
}

/// The declared type of a result column, which decides the SeaORM value variant (the model's
/// field type) — including for NULL, which must be the right variant's `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeclaredType {
    Integer,
    Real,
    Text,
    Blob,
    Uuid,
    Boolean,
    Json,
}

impl DeclaredType {
    fn parse(declared: &str) -> Self {
        let t = declared.to_ascii_lowercase();
        if t.starts_with("uuid") {
            DeclaredType::Uuid
        } else if t.starts_with("bool") {
            DeclaredType::Boolean
        } else if t.starts_with("json") {
            DeclaredType::Json
        } else if t.contains("int") {
            DeclaredType::Integer
        } else if t.contains("char") || t.contains("text") || t.contains("clob") {
            DeclaredType::Text
        } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
            DeclaredType::Real
        } else {
            DeclaredType::Blob
        }
    }
}

fn column_value(
    raw: rusqlite::types::ValueRef<'_>,
    declared: Option<DeclaredType>,
    column: &str,
) -> Result<Value, DbErr> {
    use rusqlite::types::ValueRef as R;
    let mismatch = || {
        DbErr::Type(format!(
            "column {column} holds a value its declared type does not allow"
        ))
    };
    let declared = match (declared, raw) {
        (Some(d), _) => d,
        // Computed columns (COUNT, aggregates) have no declared type: use the storage class.
        (None, R::Integer(_)) => DeclaredType::Integer,
        (None, R::Real(_)) => DeclaredType::Real,
        (None, R::Text(_)) => DeclaredType::Text,
        (None, R::Blob(_) | R::Null) => DeclaredType::Blob,
    };
    Ok(match (declared, raw) {
        (DeclaredType::Integer, R::Integer(i)) => Value::BigInt(Some(i)),
        (DeclaredType::Integer, R::Null) => Value::BigInt(None),
        (DeclaredType::Boolean, R::Integer(i)) => Value::Bool(Some(i != 0)),
        (DeclaredType::Boolean, R::Null) => Value::Bool(None),
        (DeclaredType::Real, R::Real(f)) => Value::Double(Some(f)),
        #[allow(clippy::cast_precision_loss)] // SQLite stores whole REALs as integers
        (DeclaredType::Real, R::Integer(i)) => Value::Double(Some(i as f64)),
        (DeclaredType::Real, R::Null) => Value::Double(None),
        (DeclaredType::Text, R::Text(t)) => Value::String(Some(
            std::str::from_utf8(t).map_err(|_| mismatch())?.to_owned(),
        )),
        (DeclaredType::Text, R::Null) => Value::String(None),
        (DeclaredType::Blob, R::Blob(b)) => Value::Bytes(Some(b.to_vec())),
        (DeclaredType::Blob, R::Null) => Value::Bytes(None),
        (DeclaredType::Uuid, R::Blob(b)) => {
            Value::Uuid(Some(uuid::Uuid::from_slice(b).map_err(|_| mismatch())?))
        }
        (DeclaredType::Uuid, R::Text(t)) => Value::Uuid(Some(
            std::str::from_utf8(t)
                .ok()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(mismatch)?,
        )),
        (DeclaredType::Uuid, R::Null) => Value::Uuid(None),
        (DeclaredType::Json, R::Text(t)) => Value::Json(Some(Box::new(
            serde_json::from_slice(t).map_err(|_| mismatch())?,
        ))),
        (DeclaredType::Json, R::Null) => Value::Json(None),
        _ => return Err(mismatch()),
    })
}

/// Binds a value exactly as sqlx writes it, so lookups match what the writer stored.
fn bind_value(value: &Value) -> Result<rusqlite::types::Value, DbErr> {
    use rusqlite::types::Value as S;
    let int = |i: Option<i64>| i.map_or(S::Null, S::Integer);
    Ok(match value {
        Value::Bool(b) => int(b.map(i64::from)),
        Value::TinyInt(i) => int(i.map(i64::from)),
        Value::SmallInt(i) => int(i.map(i64::from)),
        Value::Int(i) => int(i.map(i64::from)),
        Value::BigInt(i) => int(*i),
        Value::TinyUnsigned(i) => int(i.map(i64::from)),
        Value::SmallUnsigned(i) => int(i.map(i64::from)),
        Value::Unsigned(i) => int(i.map(i64::from)),
        Value::BigUnsigned(i) => match i {
            Some(u) => S::Integer(
                i64::try_from(*u).map_err(|_| DbErr::Type("integer out of range".into()))?,
            ),
            None => S::Null,
        },
        Value::Float(f) => f.map_or(S::Null, |f| S::Real(f64::from(f))),
        Value::Double(f) => f.map_or(S::Null, S::Real),
        Value::String(s) => s.clone().map_or(S::Null, S::Text),
        Value::Char(c) => c.map_or(S::Null, |c| S::Text(c.to_string())),
        Value::Bytes(b) => b.clone().map_or(S::Null, S::Blob),
        Value::Uuid(u) => u.map_or(S::Null, |u| S::Blob(u.as_bytes().to_vec())),
        Value::Json(j) => j.as_ref().map_or(S::Null, |j| S::Text(j.to_string())),
        // Named, never printed: the value may be personal data.
        _ => {
            return Err(DbErr::Type(
                "the SQLite reader cannot bind a value of this type".into(),
            ));
        }
    })
}

/// SeaORM's view of the pool: a read-only connection in one [`ReadMode`].
#[derive(Debug)]
pub struct SqliteReader {
    pool: Arc<ReaderPool>,
    mode: ReadMode,
}

impl SqliteReader {
    pub fn new(pool: Arc<ReaderPool>, mode: ReadMode) -> Self {
        Self { pool, mode }
    }
}

#[async_trait::async_trait]
impl ProxyDatabaseTrait for SqliteReader {
    async fn query(&self, statement: Statement) -> Result<Vec<ProxyRow>, DbErr> {
        match self.mode {
            ReadMode::Inline => self.pool.run(&statement),
            ReadMode::Offloaded => {
                let pool = self.pool.clone();
                tokio::task::spawn_blocking(move || pool.run(&statement))
                    .await
                    .map_err(db_err)?
            }
        }
    }

    async fn execute(&self, _statement: Statement) -> Result<ProxyExecResult, DbErr> {
        Err(DbErr::Custom(
            "a write reached the read-only SQLite connection; use Store::begin or Store::writer"
                .into(),
        ))
    }

    async fn ping(&self) -> Result<(), DbErr> {
        self.pool.run(&Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT 1",
        ))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn declared_types_map_to_model_variants() {
        assert_eq!(DeclaredType::parse("uuid_text"), DeclaredType::Uuid);
        assert_eq!(DeclaredType::parse("integer"), DeclaredType::Integer);
        assert_eq!(DeclaredType::parse("bigint"), DeclaredType::Integer);
        assert_eq!(DeclaredType::parse("varchar"), DeclaredType::Text);
        assert_eq!(DeclaredType::parse("text"), DeclaredType::Text);
        assert_eq!(DeclaredType::parse("blob"), DeclaredType::Blob);
        assert_eq!(DeclaredType::parse("json_text"), DeclaredType::Json);
        assert_eq!(DeclaredType::parse("boolean"), DeclaredType::Boolean);
        assert_eq!(DeclaredType::parse("real"), DeclaredType::Real);
    }

    fn sample_db() -> (tempfile_dir::Dir, PathBuf) {
        let dir = tempfile_dir::Dir::new();
        let path = dir.0.join("t.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE t (id uuid_text PRIMARY KEY, n integer NOT NULL, s text NULL,
                             b blob NULL, flag boolean NULL);",
        )
        .unwrap();
        let id = uuid::Uuid::from_u128(7);
        conn.execute(
            "INSERT INTO t VALUES (?1, 42, NULL, x'00ff', 1)",
            [id.as_bytes().to_vec()],
        )
        .unwrap();
        (dir, path)
    }

    /// A throwaway directory removed on drop (the crate has no tempfile dependency).
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let p = std::env::temp_dir()
                    .join(format!("custodian-sqlite-read-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&p).unwrap();
                Self(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn rows_come_back_typed_and_nulls_keep_their_variant() {
        let (_dir, path) = sample_db();
        let pool = ReaderPool::open(path, 2).unwrap();
        let id = uuid::Uuid::from_u128(7);
        let stmt = Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "SELECT id, n, s, b, flag, COUNT(*) AS c FROM t WHERE id = ?",
            [Value::Uuid(Some(id))],
        );
        let rows = pool.run(&stmt).unwrap();
        assert_eq!(rows.len(), 1);
        let v = &rows[0].values;
        assert_eq!(v["id"], Value::Uuid(Some(id)));
        assert_eq!(v["n"], Value::BigInt(Some(42)));
        assert_eq!(v["s"], Value::String(None));
        assert_eq!(v["b"], Value::Bytes(Some(vec![0, 255])));
        assert_eq!(v["flag"], Value::Bool(Some(true)));
        assert_eq!(v["c"], Value::BigInt(Some(1)));
    }

    #[test]
    fn the_reader_refuses_to_write() {
        let (_dir, path) = sample_db();
        let pool = ReaderPool::open(path, 1).unwrap();
        let stmt = Statement::from_string(sea_orm::DbBackend::Sqlite, "DELETE FROM t");
        assert!(pool.run(&stmt).is_err());
        let count = Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT n FROM t");
        assert_eq!(pool.run(&count).unwrap().len(), 1, "nothing was deleted");
    }

    #[test]
    fn a_bad_statement_is_an_error_and_the_connection_stays_usable() {
        let (_dir, path) = sample_db();
        let pool = ReaderPool::open(path, 1).unwrap();
        let bad = Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT nope FROM t");
        assert!(pool.run(&bad).is_err());
        let good = Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT n FROM t");
        assert_eq!(pool.run(&good).unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_modes_answer_through_seaorm_and_writes_are_refused() {
        let (_dir, path) = sample_db();
        let pool = ReaderPool::open(path, 2).unwrap();
        for mode in [ReadMode::Inline, ReadMode::Offloaded] {
            let proxy: Box<dyn ProxyDatabaseTrait> =
                Box::new(SqliteReader::new(pool.clone(), mode));
            let db = sea_orm::Database::connect_proxy(sea_orm::DbBackend::Sqlite, Arc::new(proxy))
                .await
                .unwrap();
            use sea_orm::ConnectionTrait;
            let row = db
                .query_one_raw(Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    "SELECT n FROM t",
                ))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.try_get::<i64>("", "n").unwrap(), 42, "{mode:?}");
            assert!(
                db.execute_unprepared("DELETE FROM t").await.is_err(),
                "{mode:?}"
            );
            db.ping().await.unwrap();
        }
    }
}
