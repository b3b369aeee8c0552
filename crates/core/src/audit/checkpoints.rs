//! Signed checkpoints: every [`AuditSettings::every_events`] events or
//! [`AuditSettings::every`] (whichever comes first) the tree's size, root and last chain link
//! are signed with the audit key, stored, and appended as a JSON line to a file outside the
//! database — a copy that a database edit cannot reach. Events after the last checkpoint are
//! covered by the chain but by no signature yet; verification reports how many.

use super::to_hash;
use crate::{Core, CoreError};
use custodian_crypto::audit::{AuditSigningKey, CheckpointBody, Frontier, hex};
use custodian_store::entities::audit_checkpoint;
use custodian_store::repo;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How the audit log is signed, and where the copies go.
pub struct AuditSettings {
    pub signing_key: Arc<AuditSigningKey>,
    /// JSON lines, one per checkpoint (appended, synced).
    pub checkpoint_file: Option<PathBuf>,
    pub every_events: u64,
    pub every: Duration,
    /// This server's name in events (host name).
    pub node: String,
    /// How long events are kept; the server prunes older ones on a schedule.
    pub retention: super::retention::Retention,
}
crate::redacted_debug!(AuditSettings);

/// Default checkpoint interval in events.
pub const DEFAULT_EVERY_EVENTS: u64 = 1_000;
/// Default checkpoint interval in time.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(10);

/// Counts appends since the last checkpoint and wakes the checkpoint task at the threshold.
#[derive(Clone)]
pub(crate) struct Trigger {
    inner: Arc<TriggerState>,
}

struct TriggerState {
    /// Where appends are counted and timed.
    metrics: Arc<crate::metrics::Metrics>,
    since: AtomicU64,
    every: AtomicU64,
    wake: tokio::sync::Notify,
    /// Counts appends, so the readers of the stream (the monitor, the SIEM feeds) wake after
    /// each; a change that finds a reader busy is seen at its next wait.
    appends: tokio::sync::watch::Sender<u64>,
}

impl Trigger {
    pub(crate) fn new(metrics: Arc<crate::metrics::Metrics>) -> Self {
        Self {
            inner: Arc::new(TriggerState {
                metrics,
                since: AtomicU64::new(0),
                every: AtomicU64::new(0),
                wake: tokio::sync::Notify::new(),
                appends: tokio::sync::watch::Sender::new(0),
            }),
        }
    }
}

impl Trigger {
    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn appended(&self, count: u64) {
        if count > 0 {
            self.inner
                .appends
                .send_modify(|n| *n = n.wrapping_add(count));
        }
        let since = self.inner.since.fetch_add(count, Ordering::AcqRel) + count;
        let every = self.inner.every.load(Ordering::Acquire);
        if every > 0 && since >= every {
            self.inner.wake.notify_one();
        }
    }

    /// A reader's view of the appends: `changed().await` resolves after the next one.
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.appends.subscribe()
    }

    fn reset(&self) {
        self.inner.since.store(0, Ordering::Release);
    }
}

/// A checkpoint as stored, as written to the file and as the API shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub tree_size: u64,
    /// Hex SHA-256.
    pub root: String,
    /// Hex SHA-256 of the last chain link.
    pub chain: String,
    /// Unix milliseconds.
    pub signed_at: i64,
    pub key_id: String,
    /// Hex Ed25519 signature over [`CheckpointBody::message`].
    pub signature: String,
}

impl SignedCheckpoint {
    pub(crate) fn from_row(row: &audit_checkpoint::Model) -> Self {
        Self {
            tree_size: u64::try_from(row.tree_size).unwrap_or(0),
            root: hex(&row.root_hash),
            chain: hex(&row.chain_hash),
            signed_at: row.signed_at,
            key_id: row.key_id.clone(),
            signature: hex(&row.signature),
        }
    }
}

/// The signer and file of a running server, once configured.
pub(crate) struct Signer {
    settings: AuditSettings,
    /// Appends to the checkpoint file, one at a time.
    file: Arc<std::sync::Mutex<()>>,
}

impl Core {
    /// Configures signing and starts the checkpoint task. The task ends when the core is
    /// dropped; [`Core::stop_audit`] writes the last checkpoint.
    pub fn start_audit(&self, settings: AuditSettings) -> Result<(), CoreError> {
        let audit = &self.inner.audit;
        let _ = audit.node.set(settings.node.clone());
        audit
            .checkpoints
            .inner
            .every
            .store(settings.every_events, Ordering::Release);
        let every = settings.every;
        let retention = settings.retention;
        audit
            .signer
            .set(Signer {
                settings,
                file: Arc::new(std::sync::Mutex::new(())),
            })
            .map_err(|_| CoreError::Internal("the audit log was started twice"))?;
        let weak = Arc::downgrade(&self.inner);
        let trigger = audit.checkpoints.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = trigger.inner.wake.notified() => {}
                }
                let Some(inner) = weak.upgrade() else { return };
                let core = Core { inner };
                if let Err(e) = core.checkpoint_audit().await {
                    tracing::error!(target: "security", error = %e, "audit checkpoint failed");
                }
            }
        });
        self.start_audit_retention(retention);
        Ok(())
    }

    /// The retention period of a running server (the default where none was configured).
    pub fn audit_retention(&self) -> super::retention::Retention {
        self.inner
            .audit
            .signer
            .get()
            .map(|s| s.settings.retention)
            .unwrap_or_default()
    }

    /// Writes queued read events and signs a last checkpoint (clean shutdown).
    pub async fn stop_audit(&self) -> Result<(), CoreError> {
        self.flush_audit().await?;
        self.checkpoint_audit().await.map(|_| ())
    }

    /// The checkpoints of the file outside the database (none when signing is not
    /// configured or the file does not exist yet).
    pub(crate) async fn audit_checkpoint_file_entries(
        &self,
    ) -> Result<Vec<Result<SignedCheckpoint, usize>>, CoreError> {
        let Some(path) = self
            .inner
            .audit
            .signer
            .get()
            .and_then(|s| s.settings.checkpoint_file.clone())
        else {
            return Ok(Vec::new());
        };
        tokio::task::spawn_blocking(move || read_checkpoint_file(&path))
            .await
            .map_err(|_| CoreError::Internal("the checkpoint file reader stopped"))?
            .map_err(|_| CoreError::Internal("the audit checkpoint file cannot be read"))
    }

    /// The public key that signs checkpoints, when signing is configured.
    pub fn audit_public_key(&self) -> Option<[u8; 32]> {
        self.inner
            .audit
            .signer
            .get()
            .map(|s| s.settings.signing_key.public_key())
    }

    /// Signs a checkpoint of the log as it is now, unless the last one already covers every
    /// event (or signing is not configured). Returns the new checkpoint.
    pub async fn checkpoint_audit(&self) -> Result<Option<SignedCheckpoint>, CoreError> {
        let Some(signer) = self.inner.audit.signer.get() else {
            return Ok(None);
        };
        // Most ticks find nothing new: ask before taking the write lock.
        let conn = self.store().conn();
        let size = repo::audit::head(conn).await?.size;
        if repo::audit::latest_checkpoint(conn)
            .await?
            .is_some_and(|c| c.tree_size >= size)
        {
            return Ok(None);
        }
        let txn = self.store().begin().await?;
        let head = repo::audit::lock_head(&txn).await?;
        let latest = repo::audit::latest_checkpoint(&txn).await?;
        if latest.is_some_and(|c| c.tree_size >= head.size) {
            return Ok(None);
        }
        self.inner.audit.checkpoints.reset();
        let frontier = Frontier::from_bytes(&head.frontier)?;
        let body = CheckpointBody {
            tree_size: u64::try_from(head.size).unwrap_or(0),
            root: frontier.root(),
            chain: to_hash(&head.chain_hash)?,
            signed_at: self.now(),
        };
        let key = &signer.settings.signing_key;
        let signature = key.sign(&body);
        let row = audit_checkpoint::Model {
            tree_size: head.size,
            root_hash: body.root.to_vec(),
            chain_hash: body.chain.to_vec(),
            signed_at: body.signed_at,
            key_id: key.key_id(),
            signature: signature.to_vec(),
            frontier: head.frontier,
        };
        let signed = SignedCheckpoint::from_row(&row);
        repo::audit::insert_checkpoint(&txn, row).await?;
        txn.commit().await?;
        if let Some(path) = signer.settings.checkpoint_file.clone() {
            // A synced file write: off the async workers.
            let file = signer.file.clone();
            let line = signed.clone();
            let written = tokio::task::spawn_blocking(move || {
                let _one_at_a_time = file
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                append_line(&path, &line)
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|result| result);
            written.map_err(|e| {
                tracing::error!(target: "security", error = %e, "the audit checkpoint file could not be written");
                CoreError::Internal("the audit checkpoint file could not be written")
            })?;
        }
        Ok(Some(signed))
    }
}

fn append_line(path: &std::path::Path, checkpoint: &SignedCheckpoint) -> std::io::Result<()> {
    let mut line = serde_json::to_string(checkpoint).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

/// Reads a checkpoint file; a line that does not parse is reported with its number.
pub fn read_checkpoint_file(
    path: &std::path::Path,
) -> std::io::Result<Vec<Result<SignedCheckpoint, usize>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| serde_json::from_str(line).map_err(|_| n + 1))
        .collect())
}

/// The signing state of [`super::AuditLog`].
pub(crate) type SignerSlot = OnceLock<Signer>;
