//! Group appends for read events: reads queue their events and go on; one task appends
//! whatever queued within [`GROUP_WINDOW`] (at most [`GROUP_MAX`]) in one transaction.
//!
//! What a crash can lose: the read events of the last window (≤ 5 ms). Writes never go
//! through here. While an append fails the queue keeps the events and retries, and
//! [`ReadQueue::submit`] refuses new reads (`audit_unavailable`), so nothing is read
//! unaudited for long; the queue is bounded, so a stalled database slows reads down rather
//! than growing memory.

use super::PendingEvent;
use super::checkpoints::Trigger;
use crate::CoreError;
use custodian_store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Longest a read event waits for its append.
pub const GROUP_WINDOW: Duration = Duration::from_millis(5);
/// Most events in one append.
pub const GROUP_MAX: usize = 1_000;
/// Events that may wait before readers wait for room.
const QUEUE_CAPACITY: usize = 16_384;
/// Pause between attempts while appends fail.
const RETRY_AFTER: Duration = Duration::from_millis(200);

enum Message {
    Event(Box<PendingEvent>),
    Flush(oneshot::Sender<Result<(), CoreError>>),
}

/// The sending side, held by the core.
pub(crate) struct ReadQueue {
    sender: mpsc::Sender<Message>,
    healthy: Arc<AtomicBool>,
}

impl ReadQueue {
    /// Starts the append task; it ends when the queue is dropped, after writing what is left.
    pub(crate) fn start(store: Store, trigger: Trigger) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let healthy = Arc::new(AtomicBool::new(true));
        tokio::spawn(run(store, trigger, receiver, healthy.clone()));
        Self { sender, healthy }
    }

    pub(crate) async fn submit(&self, event: PendingEvent) -> Result<(), CoreError> {
        if !self.healthy.load(Ordering::Acquire) {
            return Err(CoreError::AuditUnavailable);
        }
        self.sender
            .send(Message::Event(Box::new(event)))
            .await
            .map_err(|_| CoreError::AuditUnavailable)
    }

    /// Returns once everything queued before the call is appended.
    pub(crate) async fn flush(&self) -> Result<(), CoreError> {
        let (reply, done) = oneshot::channel();
        self.sender
            .send(Message::Flush(reply))
            .await
            .map_err(|_| CoreError::AuditUnavailable)?;
        done.await.map_err(|_| CoreError::AuditUnavailable)?
    }
}

async fn run(
    store: Store,
    trigger: Trigger,
    mut receiver: mpsc::Receiver<Message>,
    healthy: Arc<AtomicBool>,
) {
    let mut batch: Vec<PendingEvent> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<Result<(), CoreError>>> = Vec::new();
    while let Some(first) = receiver.recv().await {
        take(first, &mut batch, &mut waiting);
        // Gather for one window (or until the batch is full or someone asks for a flush).
        let deadline = tokio::time::sleep(GROUP_WINDOW);
        tokio::pin!(deadline);
        while batch.len() < GROUP_MAX && waiting.is_empty() {
            tokio::select! {
                () = &mut deadline => break,
                next = receiver.recv() => match next {
                    Some(message) => take(message, &mut batch, &mut waiting),
                    None => break,
                },
            }
        }
        write(&store, &trigger, &mut batch, &healthy, None).await;
        for reply in waiting.drain(..) {
            let _ = reply.send(Ok(()));
        }
    }
    // The core is gone (shutdown): write what is left, if the database still answers.
    write(&store, &trigger, &mut batch, &healthy, Some(FINAL_ATTEMPTS)).await;
}

fn take(
    message: Message,
    batch: &mut Vec<PendingEvent>,
    waiting: &mut Vec<oneshot::Sender<Result<(), CoreError>>>,
) {
    match message {
        Message::Event(event) => batch.push(*event),
        Message::Flush(reply) => waiting.push(reply),
    }
}

/// Attempts at the last batch after the core is gone.
const FINAL_ATTEMPTS: u32 = 10;

/// Appends the batch, retrying until it is written (or `attempts` ran out); reads are refused
/// meanwhile.
async fn write(
    store: &Store,
    trigger: &Trigger,
    batch: &mut Vec<PendingEvent>,
    healthy: &AtomicBool,
    attempts: Option<u32>,
) {
    if batch.is_empty() {
        return;
    }
    let mut left = attempts;
    loop {
        match append(store, trigger, batch.clone()).await {
            Ok(count) => {
                trigger.appended(count);
                batch.clear();
                healthy.store(true, Ordering::Release);
                return;
            }
            Err(e) => {
                if let Some(n) = left.as_mut() {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        tracing::error!(target: "security", error = %e, events = batch.len(), "read audit events lost at shutdown: the database did not accept them");
                        return;
                    }
                }
                if healthy.swap(false, Ordering::AcqRel) {
                    tracing::error!(target: "security", error = %e, events = batch.len(), "audit append failed; reads are refused until it succeeds");
                }
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

async fn append(
    store: &Store,
    trigger: &Trigger,
    batch: Vec<PendingEvent>,
) -> Result<u64, CoreError> {
    let txn = store.begin().await?;
    let count = super::chain_and_insert(
        &txn,
        batch,
        trigger.metrics(),
        crate::metrics::AppendKind::ReadGroup,
    )
    .await?;
    txn.commit().await?;
    Ok(count)
}
