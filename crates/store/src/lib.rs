//! Storage for Custodian: one code path over SQLite (embedded default) and PostgreSQL, chosen by
//! URL scheme. This crate sees ciphertext and blind indexes only — never keys or plaintext
//! personal data.

pub mod access;
pub mod checkpoint;
pub mod entities;
pub mod migration;
pub mod page;
pub mod repo;
pub mod sqlite_read;

use sea_orm::{DatabaseConnection, DatabaseTransaction};
use sea_orm_migration::MigratorTrait;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, TransactionTrait};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL scheme; use sqlite:///path/to/custodian.db or postgres://user@host/database"
    )]
    UnsupportedScheme,
    #[error(
        "the SQLite database {path} does not exist; check --database-url or --data-dir (Custodian never creates a database from a path that may be mistyped; run `custodian init` to create one)"
    )]
    DatabaseMissing { path: PathBuf },
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// The database breaks a rule the schema cannot express (e.g. a required row is gone).
    #[error("the database is inconsistent: {0}")]
    Invariant(String),
}

impl StoreError {
    /// True when the failure is a uniqueness violation (e.g. an e-mail already registered).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(e) => matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ),
            _ => false,
        }
    }
}

/// Which backend a URL selects. Anything but these two schemes is refused, so a typo never
/// silently becomes a new, empty SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn sqlite_in(dir: &Path) -> Self {
        DatabaseUrl::Sqlite(dir.join("custodian.db"))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = StoreError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let url = url.trim();
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(StoreError::UnsupportedScheme);
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err(StoreError::UnsupportedScheme)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for DatabaseUrl {
    /// Shows the URL without credentials, so it can be logged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DatabaseUrl::Postgres(url) => {
                let without_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let host_part = without_scheme
                    .rsplit_once('@')
                    .map_or(without_scheme, |(_, h)| h);
                write!(f, "postgres://***@{host_part}")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Whether opening may create a new SQLite file (first run only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    CreateIfMissing,
    MustExist,
}

#[derive(Debug, Clone)]
pub struct Store {
    /// Reads (and, on PostgreSQL, everything). On SQLite: rusqlite readers run inline.
    db: DatabaseConnection,
    /// Long reads (exports, reports). On SQLite the same readers on tokio's blocking pool.
    scan: DatabaseConnection,
    /// Writes. On SQLite a pool of exactly one connection: writers queue on the pool (async,
    /// in order) instead of colliding on SQLite's file lock and sleeping in its busy handler.
    writer: DatabaseConnection,
    backend: Backend,
    /// SQLite: the background WAL checkpoints, stopped by `close` or by the `Drop` of the last
    /// clone of the store.
    checkpoints: Option<std::sync::Arc<checkpoint::Checkpointer>>,
}

/// Idle reader connections kept (SQLite) or pool size (PostgreSQL) when not configured.
pub const DEFAULT_SQLITE_READERS: u32 = 4;
pub const DEFAULT_POSTGRES_POOL: u32 = 16;
/// Page cache of the SQLite writer connection, in KiB (filled only as a write needs it).
const WRITER_CACHE_KIB: u32 = 32 * 1024;

impl Store {
    pub async fn connect(url: &DatabaseUrl, mode: OpenMode) -> Result<Self, StoreError> {
        Self::connect_with_pool(url, mode, None).await
    }

    /// `pool_size`: SQLite reader connections (the writer is always one) or the PostgreSQL
    /// pool size; `None` for the backend's default.
    pub async fn connect_with_pool(
        url: &DatabaseUrl,
        mode: OpenMode,
        pool_size: Option<u32>,
    ) -> Result<Self, StoreError> {
        let mut checkpoints = None;
        let (db, scan, writer) = match url {
            DatabaseUrl::Sqlite(path) => {
                if mode == OpenMode::MustExist && !path.exists() {
                    return Err(StoreError::DatabaseMissing { path: path.clone() });
                }
                use sqlx::ConnectOptions;
                // WAL with synchronous=FULL: a committed change survives a crash or power loss,
                // and readers never block the writer.
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(mode == OpenMode::CreateIfMissing)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // Statements carry no values, but logs are no place to look for data.
                    .disable_statement_logging();
                // The one writer gets a larger page cache than SQLite's 2 MiB default: a big
                // transaction (an import) otherwise spills index pages to the WAL and reads
                // them back many times before it commits. Its statement journals (kept while
                // a multi-row insert runs, to undo just that statement) stay in memory.
                let writer_options = options
                    .clone()
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
                    .pragma("temp_store", "memory")
                    // Checkpoints happen in the background (`checkpoint`), never in a commit;
                    // after one the WAL file is cut back to 64 MiB.
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("journal_size_limit", (64 * 1024 * 1024).to_string());
                let writer = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(writer_options)
                    .await
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                // Opened after the writer, which created the file and switched it to WAL.
                let keep = pool_size.unwrap_or(DEFAULT_SQLITE_READERS);
                let readers = sqlite_read::ReaderPool::open(
                    path.clone(),
                    usize::try_from(keep).unwrap_or(usize::MAX),
                )
                .map_err(|e| StoreError::Connect(e.to_string()))?;
                let reader = |mode| {
                    let proxy: Box<dyn sea_orm::ProxyDatabaseTrait> =
                        Box::new(sqlite_read::SqliteReader::new(readers.clone(), mode));
                    sea_orm::Database::connect_proxy(
                        sea_orm::DbBackend::Sqlite,
                        std::sync::Arc::new(proxy),
                    )
                };
                let writer = sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(writer);
                checkpoints = Some(checkpoint::Checkpointer::start(
                    writer.clone(),
                    path.clone(),
                ));
                (
                    reader(sqlite_read::ReadMode::Inline).await?,
                    reader(sqlite_read::ReadMode::Offloaded).await?,
                    writer,
                )
            }
            DatabaseUrl::Postgres(url) => {
                use sqlx::ConnectOptions;
                let options = url
                    .parse::<sqlx::postgres::PgConnectOptions>()
                    .map_err(|e| StoreError::Connect(e.to_string()))?
                    .disable_statement_logging();
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(pool_size.unwrap_or(DEFAULT_POSTGRES_POOL))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                let db = sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
                (db.clone(), db.clone(), db)
            }
        };
        Ok(Self {
            db,
            scan,
            writer,
            backend: url.backend(),
            checkpoints,
        })
    }

    /// Applies pending migrations; safe to call at every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migration::Migrator::up(&self.writer, None).await?;
        Ok(())
    }

    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        Ok(migration::Migrator::get_pending_migrations(&self.writer)
            .await?
            .len())
    }

    /// For reads that finish quickly: point reads, pages, searches with a capped result.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// For reads that may scan many rows (exports, reports), so they never stall a runtime
    /// worker on SQLite.
    pub fn scan_conn(&self) -> &DatabaseConnection {
        &self.scan
    }

    /// For a single write statement outside a transaction.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// Both the readers and the writer answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        self.writer.ping().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction; dropping it without `commit` rolls back, so an error
    /// part-way through a multi-row change leaves nothing half-written.
    ///
    /// On SQLite it takes the write lock at `BEGIN` (IMMEDIATE): a deferred transaction that
    /// reads and then writes fails with SQLITE_BUSY when another writer got in between, where
    /// an immediate one simply waits its turn (busy timeout).
    pub async fn begin(&self) -> Result<DatabaseTransaction, StoreError> {
        let txn = match self.backend {
            Backend::Sqlite => {
                self.writer
                    .begin_with_options(sea_orm::TransactionOptions {
                        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                        ..Default::default()
                    })
                    .await?
            }
            Backend::Postgres => self.db.begin().await?,
        };
        Ok(txn)
    }

    /// For loading generated data (`custodian demo seed`) only: on SQLite, commits stop
    /// waiting for the disk (WAL with `synchronous=NORMAL`), so a power cut can lose the last
    /// commits but never corrupts the file. PostgreSQL is left as it is. The setting lives on
    /// the writer connection and ends with it.
    pub async fn relax_durability_for_bulk_load(&self) -> Result<(), StoreError> {
        self.sqlite_writer_pragma("PRAGMA synchronous = NORMAL")
            .await
    }

    /// Copies the whole WAL into the database file and empties it (SQLite; a no-op on
    /// PostgreSQL). Waits its turn behind running writes and for running reads to finish.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.sqlite_writer_pragma("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
    }

    /// Runs a pragma on the SQLite writer connection; nothing on PostgreSQL.
    async fn sqlite_writer_pragma(&self, pragma: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            self.writer.execute_unprepared(pragma).await?;
        }
        Ok(())
    }

    pub async fn close(self) -> Result<(), StoreError> {
        // No background checkpoint may start on a closing writer; then, since commits never
        // checkpoint, leave nothing behind in the WAL.
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.stop();
        }
        self.checkpoint().await?;
        self.db.close().await?;
        if self.backend == Backend::Sqlite {
            self.writer.close().await?;
        }
        Ok(())
    }
}

pub use sea_orm::DatabaseTransaction as Transaction;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_select_backend_and_refuse_unknown_schemes() {
        assert_eq!(
            "sqlite:///tmp/x.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            "sqlite:data/x.db?mode=rwc".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            "postgresql://u:p@h/db"
                .parse::<DatabaseUrl>()
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        for bad in [
            "mysql://h/db",
            "/tmp/x.db",
            "sqlite::memory:",
            "sqlit:///x.db",
            "",
        ] {
            assert!(bad.parse::<DatabaseUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_hides_credentials() {
        let url: DatabaseUrl = "postgres://alice:s3cret@db.internal:5432/crm"
            .parse()
            .unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("alice"));
        assert!(shown.contains("db.internal:5432/crm"));
    }

    #[tokio::test]
    async fn commits_leave_checkpoints_to_the_background() {
        let dir = std::env::temp_dir().join(format!("custodian-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.db");
        let store = Store::connect(
            &DatabaseUrl::Sqlite(path.clone()),
            OpenMode::CreateIfMissing,
        )
        .await
        .unwrap();
        let db_bytes = || std::fs::metadata(&path).unwrap().len();
        store
            .writer()
            .execute_unprepared(
                "CREATE TABLE t (b BLOB NOT NULL);
                 INSERT INTO t SELECT zeroblob(100000) FROM (WITH RECURSIVE n(x) AS
                   (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 60) SELECT x FROM n);",
            )
            .await
            .unwrap();
        // The 6 MB are in the WAL: the commit did not copy them into the database file.
        assert!(checkpoint::wal_bytes(&path) >= checkpoint::WAL_BYTES_BEFORE_CHECKPOINT);
        assert!(db_bytes() < 1_000_000, "{}", db_bytes());
        // The background task copies them within a few of its one-second rounds.
        let mut waited = 0;
        while db_bytes() < 6_000_000 && waited < 100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += 1;
        }
        assert!(db_bytes() >= 6_000_000, "not checkpointed: {}", db_bytes());
        // Closing empties the WAL.
        store.close().await.unwrap();
        assert_eq!(checkpoint::wal_bytes(&path), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn must_exist_refuses_a_missing_sqlite_file() {
        let dir = std::env::temp_dir().join(format!("custodian-store-{}", uuid::Uuid::new_v4()));
        let url = DatabaseUrl::Sqlite(dir.join("missing.db"));
        let err = Store::connect(&url, OpenMode::MustExist).await.unwrap_err();
        assert!(matches!(err, StoreError::DatabaseMissing { .. }));
        assert!(!dir.join("missing.db").exists());
    }
}
