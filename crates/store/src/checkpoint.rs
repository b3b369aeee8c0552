//! SQLite WAL checkpoints in the background. With SQLite's default, the commit that pushes the
//! WAL past 1,000 pages copies the WAL into the database file before it returns: a big import's
//! commit, or an unlucky user's, pays for everyone's writes. Here commits never checkpoint
//! (`wal_autocheckpoint=0`); a task checks the WAL's size every second and, once it holds at
//! least [`WAL_BYTES_BEFORE_CHECKPOINT`], queues a PASSIVE checkpoint on the writer connection.
//! It runs between two write transactions, so it always completes and the next write starts
//! the WAL again from its beginning; it never waits for or blocks readers. Closing the store
//! checkpoints everything and truncates the WAL.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// WAL size from which the background task checkpoints (SQLite's default is 1,000 pages, 4 MiB).
pub const WAL_BYTES_BEFORE_CHECKPOINT: u64 = 4 * 1024 * 1024;
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Stops the background task when the last clone of the store is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: tokio::task::AbortHandle,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Checkpointer {
    pub(crate) fn start(writer: DatabaseConnection, database: PathBuf) -> Arc<Self> {
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECK_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if wal_bytes(&database) < WAL_BYTES_BEFORE_CHECKPOINT {
                    continue;
                }
                if let Err(e) = writer
                    .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                    .await
                {
                    // The next tick tries again; the WAL only grows meanwhile.
                    tracing::warn!(error = %e, "background WAL checkpoint failed");
                }
            }
        });
        Arc::new(Self {
            task: task.abort_handle(),
        })
    }

    /// Ends the background checkpoints (the store is closing: the writer is about to go).
    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}

/// Size of the database's WAL file; 0 if there is none.
pub fn wal_bytes(database: &Path) -> u64 {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len())
}
