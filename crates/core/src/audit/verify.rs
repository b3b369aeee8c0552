//! `custodian audit verify`: recomputes every leaf hash, the chain and the Merkle tree, checks
//! every checkpoint's signature and that the tree at each checkpoint's size has the root it
//! signed (which is what consistency between checkpoints means for a verifier holding all the
//! leaves), compares the checkpoint file with the database, and names the place of each
//! problem. Needs the database and the public key only — no data keys.
//!
//! How far the place can be named: an edited, moved or deleted row is named exactly. An
//! attacker who also recomputes every later hash is caught by the first signed checkpoint
//! after the edit (the place is then "between checkpoints A and B"); events after the last
//! checkpoint are covered by the chain only, which is why checkpoints are frequent.

use super::checkpoints::SignedCheckpoint;
use super::leaf_fields;
use crate::CoreError;
use custodian_crypto::audit::{
    self as chain, CHAIN_START, CheckpointBody, Frontier, Hash, from_hex, key_id,
};
use custodian_domain::audit::AuditCode;
use custodian_store::Store;
use custodian_store::entities::{audit_checkpoint, audit_event};
use custodian_store::repo;
use serde::Serialize;
use std::collections::BTreeMap;

/// Events read per query.
const PAGE: u64 = 10_000;
/// Altered rows kept for the reordering check.
const MOVE_CANDIDATES: usize = 1_000;

/// What a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A row's content no longer matches its hash.
    Altered,
    /// A row hashes correctly at another position: rows were reordered.
    Moved,
    /// Positions with no row.
    Missing,
    /// A row's chain link does not follow from the row before it.
    ChainBroken,
    /// Fewer events than the head or a checkpoint says.
    Truncated,
    /// The recomputed tree does not match a signed checkpoint.
    CheckpointMismatch,
    /// A checkpoint whose signature is not the audit key's.
    BadSignature,
    /// The checkpoint file and the database disagree.
    FileMismatch,
    /// Events are recorded as pruned, but no valid checkpoint or `audit_pruned` event
    /// accounts for it.
    PruneUnverified,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The first position concerned.
    pub position: Option<u64>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub events: u64,
    pub checkpoints: u64,
    /// Bytes of canonical event data hashed.
    pub bytes: u64,
    /// Events after the last valid checkpoint (chained, not yet signed).
    pub unsigned_tail: u64,
    /// Events `0..pruned_below` were pruned under the retention period (verified from the
    /// checkpoint of that size).
    pub pruned_below: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What to verify against.
#[derive(Debug, Default)]
pub struct VerifyOptions {
    /// The audit public key; without it signatures are reported as unchecked problems.
    pub public_key: Option<[u8; 32]>,
    /// Checkpoints from the file outside the database (`Err(line)` for unreadable lines).
    pub file_checkpoints: Vec<Result<SignedCheckpoint, usize>>,
}

/// A checkpoint to compare the recomputed tree with.
#[derive(Debug, Clone)]
struct Expected {
    body: CheckpointBody,
    source: &'static str,
}

fn describe(c: &CheckpointBody) -> String {
    format!(
        "the checkpoint of {} events signed at {}",
        c.tree_size,
        custodian_domain::clock::from_millis(c.signed_at)
    )
}

fn parse_signed(c: &SignedCheckpoint) -> Option<(CheckpointBody, Vec<u8>)> {
    Some((
        CheckpointBody {
            tree_size: c.tree_size,
            root: from_hex::<32>(&c.root)?,
            chain: from_hex::<32>(&c.chain)?,
            signed_at: c.signed_at,
        },
        from_hex::<64>(&c.signature)?.to_vec(),
    ))
}

/// Verifies the whole log.
pub async fn verify(store: &Store, options: &VerifyOptions) -> Result<VerifyReport, CoreError> {
    let conn = store.scan_conn();
    let mut problems = Vec::new();
    let mut expected: BTreeMap<u64, Expected> = BTreeMap::new();
    let check_signature = |signed: &SignedCheckpoint,
                           source: &'static str,
                           problems: &mut Vec<Problem>|
     -> Option<CheckpointBody> {
        let Some((body, signature)) = parse_signed(signed) else {
            problems.push(Problem {
                kind: ProblemKind::BadSignature,
                position: Some(signed.tree_size),
                message: format!(
                    "a checkpoint of {} events in the {source} is malformed",
                    signed.tree_size
                ),
            });
            return None;
        };
        match options.public_key {
            Some(key) if chain::verify_checkpoint(&key, &body, &signature) => Some(body),
            Some(key) => {
                let whose = if signed.key_id == key_id(&key) {
                    String::new()
                } else {
                    format!(
                        " (it names key {}, the audit key is {})",
                        signed.key_id,
                        key_id(&key)
                    )
                };
                problems.push(Problem {
                    kind: ProblemKind::BadSignature,
                    position: Some(signed.tree_size),
                    message: format!(
                        "{} in the {source} does not carry the audit key's signature{whose}: it was forged or altered",
                        describe(&body)
                    ),
                });
                None
            }
            None => {
                problems.push(Problem {
                    kind: ProblemKind::BadSignature,
                    position: Some(signed.tree_size),
                    message: format!(
                        "{} in the {source} could not be checked: no public key given",
                        describe(&body)
                    ),
                });
                None
            }
        }
    };
    let stored = repo::audit::checkpoints(conn).await?;
    for row in &stored {
        let signed = SignedCheckpoint::from_row(row);
        if let Some(body) = check_signature(&signed, "database", &mut problems) {
            expected.insert(
                body.tree_size,
                Expected {
                    body,
                    source: "database",
                },
            );
        }
    }
    for line in &options.file_checkpoints {
        let signed = match line {
            Ok(signed) => signed,
            Err(number) => {
                problems.push(Problem {
                    kind: ProblemKind::FileMismatch,
                    position: None,
                    message: format!("line {number} of the checkpoint file is not a checkpoint"),
                });
                continue;
            }
        };
        let Some(body) = check_signature(signed, "checkpoint file", &mut problems) else {
            continue;
        };
        match expected.get(&body.tree_size) {
            Some(known) if known.body == body => {}
            Some(_) => problems.push(Problem {
                kind: ProblemKind::FileMismatch,
                position: Some(body.tree_size),
                message: format!(
                    "{} in the checkpoint file differs from the database's checkpoint of that size: the database copy was replaced",
                    describe(&body)
                ),
            }),
            None => {
                if !stored.iter().any(|r| u64::try_from(r.tree_size).ok() == Some(body.tree_size)) {
                    problems.push(Problem {
                        kind: ProblemKind::FileMismatch,
                        position: Some(body.tree_size),
                        message: format!(
                            "{} is in the checkpoint file but was deleted from the database",
                            describe(&body)
                        ),
                    });
                }
                expected.insert(body.tree_size, Expected { body, source: "checkpoint file" });
            }
        }
    }

    // The head after the checkpoints (it is never behind them): the events to check are those
    // before it. Appends made while this runs are after it, so they are not mistaken for
    // rows beyond a cut (the head and its rows commit together).
    let head = repo::audit::head(conn).await?;
    let head_size = u64::try_from(head.size).unwrap_or(0);
    let mut frontier = Frontier::new();
    let mut link: Hash = CHAIN_START;
    let mut position: u64 = 0;
    let mut bytes: u64 = 0;
    let mut altered: Vec<audit_event::Model> = Vec::new();
    let mut last_good_checkpoint: u64 = 0;
    let mut pending = expected.clone().into_iter().peekable();
    let mut next_from: i64 = 0;
    // A pruned log starts from the checkpoint of the pruned size: its frontier and chain link
    // stand in for the events removed.
    let pruned = u64::try_from(head.pruned_size).unwrap_or(0);
    let mut pruned_below = 0;
    if pruned > 0 {
        match prune_start(&stored, &expected, pruned) {
            Some((start, chain_link)) => {
                frontier = start;
                link = chain_link;
                position = pruned;
                last_good_checkpoint = pruned;
                next_from = head.pruned_size;
                pruned_below = pruned;
                while pending.peek().is_some_and(|(size, _)| *size <= pruned) {
                    pending.next();
                }
            }
            None => problems.push(Problem {
                kind: ProblemKind::PruneUnverified,
                position: Some(0),
                message: format!(
                    "the log records events #0 to #{} as pruned, but no checkpoint of {pruned} events signed with the audit key stands in for them: their removal cannot be told from deletion",
                    pruned - 1
                ),
            }),
        }
    }
    // Whether an `audit_pruned` event in the log records the pruned size.
    let mut prune_recorded = false;
    // Right after deleted rows the chain break is that deletion, already reported.
    let mut after_gap = false;
    loop {
        let rows: Vec<_> = repo::audit::events_from(conn, next_from, PAGE)
            .await?
            .into_iter()
            .filter(|r| u64::try_from(r.seq).is_ok_and(|seq| seq < head_size))
            .collect();
        let Some(last) = rows.last() else { break };
        next_from = last.seq.saturating_add(1);
        for row in rows {
            let seq = u64::try_from(row.seq).unwrap_or(0);
            if seq > position {
                problems.push(Problem {
                    kind: ProblemKind::Missing,
                    position: Some(position),
                    message: if seq - position == 1 {
                        format!("event #{position} is missing: it was deleted")
                    } else {
                        format!(
                            "events #{position} to #{} are missing: they were deleted",
                            seq - 1
                        )
                    },
                });
                // Checkpoints inside the gap can no longer be recomputed.
                while pending.peek().is_some_and(|(size, _)| *size <= seq) {
                    pending.next();
                }
                position = seq;
                frontier = Frontier::new();
                after_gap = true;
            }
            if pruned_below > 0 && !prune_recorded && row.code == AuditCode::AuditPruned.code() {
                prune_recorded = records_prune(&row, pruned_below);
            }
            let canonical = leaf_fields(&row).canonical_bytes();
            bytes += canonical.len() as u64;
            let leaf = chain::leaf_hash(&canonical);
            let stored_leaf = super::to_hash(&row.leaf_hash).unwrap_or([0; 32]);
            if leaf != stored_leaf {
                if altered.len() < MOVE_CANDIDATES {
                    altered.push(row.clone());
                } else {
                    problems.push(altered_problem(seq, &row));
                }
            }
            // The chain is checked against the stored leaf hashes, so one altered row is
            // one problem, not a cascade.
            let stored_link = super::to_hash(&row.chain_hash).unwrap_or([0; 32]);
            if chain::chain_hash(&link, &stored_leaf) != stored_link && !after_gap {
                problems.push(Problem {
                    kind: ProblemKind::ChainBroken,
                    position: Some(seq),
                    message: format!(
                        "the chain breaks at event #{seq}: it does not follow from the event before it (an event was inserted, removed or replaced here, or its hashes were rewritten)"
                    ),
                });
            }
            link = stored_link;
            after_gap = false;
            // The tree uses recomputed leaves: rewritten hashes cannot hide an edit from a
            // signed checkpoint.
            frontier.push(leaf);
            position += 1;
            while let Some((size, checkpoint)) = pending.peek() {
                if *size > position {
                    break;
                }
                if *size == position && frontier.size() == position {
                    if frontier.root() == checkpoint.body.root && link == checkpoint.body.chain {
                        last_good_checkpoint = *size;
                    } else {
                        problems.push(Problem {
                            kind: ProblemKind::CheckpointMismatch,
                            position: Some(last_good_checkpoint),
                            message: format!(
                                "the events between #{last_good_checkpoint} and #{} no longer match {} ({}): one of them was changed, inserted or removed",
                                size - 1,
                                describe(&checkpoint.body),
                                checkpoint.source
                            ),
                        });
                    }
                }
                pending.next();
            }
        }
    }
    report_moves(&altered, &mut problems);
    if pruned_below > 0 && !prune_recorded {
        problems.push(Problem {
            kind: ProblemKind::PruneUnverified,
            position: Some(pruned_below),
            message: format!(
                "events #0 to #{} are recorded as pruned, but no audit_pruned event in the log records that pruning: they were removed some other way",
                pruned_below - 1
            ),
        });
    }
    if head_size > position {
        problems.push(Problem {
            kind: ProblemKind::Truncated,
            position: Some(position),
            message: format!(
                "the log ends at #{position} but its head records {head_size} events: events #{position} to #{} were cut off",
                head_size - 1
            ),
        });
    }
    if let Some((size, beyond)) = expected.range(position + 1..).next_back() {
        problems.push(Problem {
            kind: ProblemKind::Truncated,
            position: Some(position),
            message: format!(
                "{} ({}) covers {size} events, but the log ends at #{position}: events #{position} to #{} were cut off",
                describe(&beyond.body),
                beyond.source,
                size - 1
            ),
        });
    }
    problems.sort_by_key(|p| p.position.unwrap_or(u64::MAX));
    Ok(VerifyReport {
        events: position,
        checkpoints: expected.len() as u64,
        bytes,
        unsigned_tail: position.saturating_sub(last_good_checkpoint),
        pruned_below,
        problems,
    })
}

/// The frontier and chain link to resume from after `pruned` pruned events: those of the
/// stored checkpoint of that size, if its signature was valid and its frontier is the tree it
/// signed.
fn prune_start(
    stored: &[audit_checkpoint::Model],
    expected: &BTreeMap<u64, Expected>,
    pruned: u64,
) -> Option<(Frontier, Hash)> {
    let signed = expected.get(&pruned)?;
    let row = stored
        .iter()
        .find(|r| u64::try_from(r.tree_size).ok() == Some(pruned))?;
    let frontier = Frontier::from_bytes(&row.frontier).ok()?;
    (frontier.size() == pruned && frontier.root() == signed.body.root)
        .then_some((frontier, signed.body.chain))
}

/// Whether an `audit_pruned` event records pruning below exactly `pruned`.
fn records_prune(row: &audit_event::Model, pruned: u64) -> bool {
    row.detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|d| d.get("below").and_then(serde_json::Value::as_u64))
        == Some(pruned)
}

fn altered_problem(seq: u64, row: &audit_event::Model) -> Problem {
    Problem {
        kind: ProblemKind::Altered,
        position: Some(seq),
        message: format!(
            "event #{seq} ({}, {}) was changed after it was written: its content no longer matches its hash",
            row.code,
            custodian_domain::clock::from_millis(row.occurred_at)
        ),
    }
}

/// Among altered rows, those that hash correctly at another altered row's position were
/// moved there (rows swapped or reordered).
fn report_moves(altered: &[audit_event::Model], problems: &mut Vec<Problem>) {
    let positions: Vec<i64> = altered.iter().map(|r| r.seq).collect();
    for row in altered.iter() {
        let seq = u64::try_from(row.seq).unwrap_or(0);
        let home = positions
            .iter()
            .copied()
            .filter(|p| *p != row.seq)
            .find(|p| {
                let mut fields = leaf_fields(row);
                fields.seq = *p;
                chain::leaf_hash(&fields.canonical_bytes()).as_slice() == row.leaf_hash.as_slice()
            });
        match home {
            Some(home) => problems.push(Problem {
                kind: ProblemKind::Moved,
                position: Some(seq),
                message: format!(
                    "event #{home} ({}) now stands at #{seq}: the events were reordered",
                    row.code
                ),
            }),
            None => problems.push(altered_problem(seq, row)),
        }
    }
}

/// Every event's canonical bytes, in log order (the benchmark's baseline hashes the same
/// bytes that verification does).
pub async fn canonical_bytes_of_all(store: &Store) -> Result<Vec<Vec<u8>>, CoreError> {
    let mut out = Vec::new();
    let mut next_from = 0;
    loop {
        let rows = repo::audit::events_from(store.scan_conn(), next_from, PAGE).await?;
        let Some(last) = rows.last() else { break };
        next_from = last.seq.saturating_add(1);
        out.extend(rows.iter().map(|row| leaf_fields(row).canonical_bytes()));
    }
    Ok(out)
}
