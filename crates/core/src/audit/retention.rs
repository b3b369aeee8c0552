//! Retention: events older than the retention period are removed, but only below a signed
//! checkpoint, so what remains stays verifiable. The checkpoint of the pruned size is kept
//! with its Merkle frontier (the roots of the perfect subtrees of the removed events): it
//! stands in for them when verifying the chain and tree and when building inclusion proofs of
//! the events kept. The head records the pruned size, and an `audit_pruned` event in the log
//! itself records each pruning, so `audit verify` can tell pruning from deletion.
//!
//! Pruning runs in two steps: one transaction moves the pruned size and appends the event;
//! then short transactions delete the old rows in batches while the server goes on appending.
//! A crash between them leaves rows below the pruned size, which verification ignores and the
//! next run deletes.

use super::checkpoints::SignedCheckpoint;
use super::{AuditEvent, to_hash};
use crate::{Core, CoreError};
use custodian_crypto::audit::{self as chain, CheckpointBody, Frontier, MerkleLevels, hex};
use custodian_domain::audit::AuditCode;
use custodian_store::ConnectionTrait;
use custodian_store::entities::audit_checkpoint;
use custodian_store::repo;
use serde::Serialize;
use std::time::Duration;

/// The shortest retention allowed: a year of events for audits and reports.
pub const MIN_RETENTION_DAYS: u32 = 365;
/// The default: a year and a month, so a yearly report always finds its whole year.
pub const DEFAULT_RETENTION_DAYS: u32 = 400;
/// How often the running server looks for events to prune.
pub const PRUNE_EVERY: Duration = Duration::from_secs(6 * 3600);
/// Rows deleted per transaction.
const DELETE_BATCH: i64 = 10_000;
const DAY_MS: i64 = 86_400_000;

/// How long events are kept: `None` keeps them for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    pub days: Option<u32>,
}

impl Retention {
    /// `0` keeps events for ever; otherwise at least [`MIN_RETENTION_DAYS`].
    ///
    /// # Errors
    /// A sentence naming the minimum when `days` is below it.
    pub fn from_days(days: u32) -> Result<Self, String> {
        match days {
            0 => Ok(Self { days: None }),
            d if d < MIN_RETENTION_DAYS => Err(format!(
                "audit events must be kept at least {MIN_RETENTION_DAYS} days (0 keeps them for ever)"
            )),
            d => Ok(Self { days: Some(d) }),
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            days: Some(DEFAULT_RETENTION_DAYS),
        }
    }
}

/// Who started a pruning, as the event records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneTrigger {
    Schedule,
    CommandLine,
}

impl PruneTrigger {
    fn code(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::CommandLine => "command_line",
        }
    }
}

/// What a pruning did (or, on a dry run, would do).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    /// Events older than this (Unix ms) may go.
    pub cutoff: i64,
    /// Events `0..pruned_below` are pruned (after this run).
    pub pruned_below: u64,
    /// Events this run newly marked as pruned.
    pub newly_pruned: u64,
    /// Rows deleted by this run (0 on a dry run).
    pub deleted: u64,
    /// The checkpoint that stands in for the pruned events.
    pub checkpoint: Option<SignedCheckpoint>,
    pub dry_run: bool,
}

/// Retention as the audit page shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RetentionStatus {
    /// `None`: kept for ever.
    pub retention_days: Option<u32>,
    /// Events ever written.
    pub events: u64,
    /// Events `0..pruned_below` were pruned.
    pub pruned_below: u64,
    /// When the checkpoint that stands in for them was signed (Unix ms).
    pub pruned_checkpoint_signed_at: Option<i64>,
    /// The oldest event kept (Unix ms).
    pub oldest_kept_at: Option<i64>,
}

impl Core {
    /// Prunes events older than `retention` below the newest checkpoint signed before the
    /// cutoff; `dry_run` only reports. Refuses a checkpoint whose frontier or signature does
    /// not check out (nothing is removed on the word of a forged row).
    pub async fn prune_audit(
        &self,
        retention: Retention,
        trigger: PruneTrigger,
        dry_run: bool,
    ) -> Result<PruneReport, CoreError> {
        let Some(days) = retention.days else {
            return Err(CoreError::Rule {
                code: "retention_unlimited",
                message: "audit retention is 0 (keep for ever): there is nothing to prune",
            });
        };
        let cutoff = self
            .now()
            .saturating_sub(i64::from(days).saturating_mul(DAY_MS));
        let txn = self.store().begin().await?;
        let head = repo::audit::lock_head(&txn).await?;
        let target =
            repo::audit::latest_checkpoint_signed_before(&txn, cutoff, head.pruned_size).await?;
        let mut report = PruneReport {
            cutoff,
            pruned_below: u64::try_from(head.pruned_size).unwrap_or(0),
            newly_pruned: 0,
            deleted: 0,
            checkpoint: None,
            dry_run,
        };
        if let Some(checkpoint) = target {
            self.check_prune_point(&checkpoint)?;
            let size = checkpoint.tree_size;
            report.newly_pruned = u64::try_from(size - head.pruned_size).unwrap_or(0);
            report.pruned_below = u64::try_from(size).unwrap_or(0);
            report.checkpoint = Some(SignedCheckpoint::from_row(&checkpoint));
            if !dry_run {
                repo::audit::set_pruned(&txn, size).await?;
                let event = AuditEvent::system(AuditCode::AuditPruned)
                    .detail("below", size)
                    .detail("cutoff", cutoff)
                    .detail("retention_days", days)
                    .detail("root", hex(&checkpoint.root_hash))
                    .detail("trigger", trigger.code());
                self.audit_in(&txn, vec![event]).await?;
            }
        }
        if dry_run {
            return Ok(report);
        }
        txn.commit().await?;
        let below = i64::try_from(report.pruned_below).unwrap_or(i64::MAX);
        loop {
            let txn = self.store().begin().await?;
            let deleted = repo::audit::delete_events_below(&txn, below, DELETE_BATCH).await?;
            txn.commit().await?;
            if deleted == 0 {
                break;
            }
            report.deleted += deleted;
        }
        if report.newly_pruned > 0 {
            tracing::info!(
                target: "security",
                below = report.pruned_below,
                deleted = report.deleted,
                "audit events past retention pruned"
            );
        }
        Ok(report)
    }

    /// A checkpoint may stand in for the events it covers only if its frontier is the tree it
    /// signed and the signature is the audit key's (when this process has the key).
    fn check_prune_point(&self, checkpoint: &audit_checkpoint::Model) -> Result<(), CoreError> {
        let refuse = || CoreError::Rule {
            code: "audit_checkpoint_invalid",
            message: "the checkpoint to prune below does not check out (frontier or signature); nothing was pruned: run `custodian audit verify`",
        };
        let frontier = Frontier::from_bytes(&checkpoint.frontier).map_err(|_| refuse())?;
        let body = CheckpointBody {
            tree_size: u64::try_from(checkpoint.tree_size).unwrap_or(0),
            root: to_hash(&checkpoint.root_hash)?,
            chain: to_hash(&checkpoint.chain_hash)?,
            signed_at: checkpoint.signed_at,
        };
        if frontier.size() != body.tree_size || frontier.root() != body.root {
            return Err(refuse());
        }
        if let Some(key) = self.audit_public_key()
            && !chain::verify_checkpoint(&key, &body, &checkpoint.signature)
        {
            return Err(refuse());
        }
        Ok(())
    }

    /// Starts the task that prunes every [`PRUNE_EVERY`] (a first run a minute after start).
    pub(crate) fn start_audit_retention(&self, retention: Retention) {
        if retention.days.is_none() {
            return;
        }
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut wait = Duration::from_secs(60);
            loop {
                tokio::time::sleep(wait).await;
                wait = PRUNE_EVERY;
                let Some(inner) = weak.upgrade() else { return };
                let core = Core { inner };
                if let Err(e) = core
                    .prune_audit(retention, PruneTrigger::Schedule, false)
                    .await
                {
                    tracing::error!(target: "security", error = %e, "audit pruning failed");
                }
            }
        });
    }

    /// The retention period and what has been pruned.
    pub async fn audit_retention_status(
        &self,
        actor: &crate::Actor,
    ) -> Result<RetentionStatus, CoreError> {
        self.require(actor, crate::authz::SystemAction::ReadAudit)
            .await?;
        let conn = self.store().conn();
        let head = repo::audit::head(conn).await?;
        let pruned_at = if head.pruned_size > 0 {
            repo::audit::checkpoint_at(conn, head.pruned_size)
                .await?
                .map(|c| c.signed_at)
        } else {
            None
        };
        Ok(RetentionStatus {
            retention_days: self.audit_retention().days,
            events: u64::try_from(head.size).unwrap_or(0),
            pruned_below: u64::try_from(head.pruned_size).unwrap_or(0),
            pruned_checkpoint_signed_at: pruned_at,
            oldest_kept_at: repo::audit::oldest_event(conn).await?.map(|(_, at)| at),
        })
    }
}

/// The tree of the first `tree_size` events, for audit paths: the leaves kept after the
/// pruned prefix, with the frontier of the checkpoint at the prefix's size standing in for
/// the rest. Retries when a pruning moves the prefix meanwhile.
pub(crate) async fn tree_of<C: ConnectionTrait>(
    conn: &C,
    tree_size: i64,
) -> Result<MerkleLevels, CoreError> {
    for _ in 0..3 {
        let pruned = repo::audit::head(conn).await?.pruned_size.min(tree_size);
        let prefix = if pruned > 0 {
            let checkpoint = repo::audit::checkpoint_at(conn, pruned)
                .await?
                .ok_or(CoreError::Rule {
                    code: "audit_incomplete",
                    message: "the checkpoint the audit log was pruned at is missing; run `custodian audit verify`",
                })?;
            Frontier::from_bytes(&checkpoint.frontier)?
        } else {
            Frontier::new()
        };
        let leaves = repo::audit::leaf_hashes(conn, pruned, tree_size)
            .await?
            .into_iter()
            .map(|leaf| to_hash(&leaf.leaf_hash))
            .collect::<Result<Vec<_>, _>>()?;
        if leaves.len() as i64 == tree_size - pruned {
            return Ok(MerkleLevels::build_after(&prefix, leaves));
        }
    }
    Err(CoreError::Rule {
        code: "audit_incomplete",
        message: "events the signed checkpoint covers are missing from the audit log; run `custodian audit verify`",
    })
}
