//! Export of a time range of the log as JSON lines, with what an auditor needs to verify it
//! offline, without access to the database:
//!
//! 1. `{"type":"checkpoint", tree_size, root, chain, signed_at, key_id, signature,
//!    public_key, from, to, format: 1}` — a signed checkpoint covering every exported event;
//! 2. one `{"type":"event", seq, leaf_hash, canonical, audit_path, event}` per event, oldest
//!    first: `canonical` is the base64 of the bytes the leaf hash covers (SHA-256 of 0x00 ‖
//!    canonical), `audit_path` the RFC 9162 inclusion proof against the checkpoint's root, and
//!    `event` the event as the API shows it.
//!
//! [`verify_export`] (and `custodian audit verify-export`) checks the signature, each leaf and
//! each path; the canonical bytes must also carry the event's id and code as shown.

use super::checkpoints::SignedCheckpoint;
use super::{AuditEvent, leaf_fields};
use crate::authz::SystemAction;
use crate::{Actor, Core, CoreError};
use base64::Engine;
use custodian_crypto::audit::{self as chain, CheckpointBody, from_hex, hex};
use custodian_domain::audit::AuditCode;
use custodian_store::repo;
use serde::{Deserialize, Serialize};

/// The most events one export holds; a longer range is refused with a hint to split it.
pub const MAX_EVENTS: u64 = 100_000;
const PAGE: u64 = 10_000;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Serialize, Deserialize)]
struct Header {
    r#type: String,
    format: u32,
    #[serde(flatten)]
    checkpoint: SignedCheckpoint,
    public_key: Option<String>,
    from: i64,
    to: i64,
}

#[derive(Serialize, Deserialize)]
struct Line {
    r#type: String,
    seq: u64,
    leaf_hash: String,
    canonical: String,
    audit_path: Vec<String>,
    event: serde_json::Value,
}

/// What an offline check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCheck {
    pub events: u64,
    pub tree_size: u64,
    pub key_id: String,
}

impl Core {
    /// The events that occurred in `[from, to)` (Unix milliseconds), as JSON lines with the
    /// signed checkpoint and an inclusion proof for each. Auditors only; audited.
    pub async fn audit_export(
        &self,
        actor: &Actor,
        from: i64,
        to: i64,
    ) -> Result<String, CoreError> {
        self.require(actor, SystemAction::ReadAudit).await?;
        super::check_range(from, to)?;
        self.flush_audit().await?;
        let conn = self.store().scan_conn();
        let filter = repo::audit::AuditFilter {
            from: Some(from),
            to: Some(to),
            ..repo::audit::AuditFilter::default()
        };
        // Newest first from the search; gathered, then put in log order.
        let mut rows = Vec::new();
        let mut before = None;
        loop {
            let page = repo::audit::search(conn, &filter, before, PAGE).await?;
            let Some(last) = page.last().map(|r| r.seq) else {
                break;
            };
            rows.extend(page);
            if rows.len() as u64 > MAX_EVENTS {
                return Err(CoreError::Rule {
                    code: "export_range_too_large",
                    message: "the range holds more than 100000 events; export shorter ranges",
                });
            }
            before = Some(last);
        }
        rows.reverse();
        let last_seq = rows.last().map_or(-1, |r| r.seq);
        let covering = |c: Option<custodian_store::entities::audit_checkpoint::Model>| {
            c.filter(|c| c.tree_size > last_seq)
        };
        let mut checkpoint = covering(repo::audit::latest_checkpoint(conn).await?);
        if checkpoint.is_none() {
            self.checkpoint_audit().await?;
            checkpoint = covering(repo::audit::latest_checkpoint(conn).await?);
        }
        let checkpoint = checkpoint.ok_or(CoreError::Rule {
            code: "audit_unsigned",
            message: "no signed checkpoint covers these events yet, and this server does not sign checkpoints; try again once one is signed",
        })?;
        let levels = super::retention::tree_of(conn, checkpoint.tree_size).await?;
        // Rows a pruning in progress has not deleted yet are already outside the tree.
        let pruned = i64::try_from(levels.pruned()).unwrap_or(i64::MAX);
        rows.retain(|r| r.seq >= pruned);
        let header = Header {
            r#type: "checkpoint".to_owned(),
            format: 1,
            checkpoint: SignedCheckpoint::from_row(&checkpoint),
            public_key: self.audit_public_key().map(|k| hex(&k)),
            from,
            to,
        };
        let mut out = json_line(&header)?;
        let count = rows.len();
        for row in rows {
            let canonical = leaf_fields(&row).canonical_bytes();
            let index =
                usize::try_from(row.seq).map_err(|_| CoreError::Internal("negative position"))?;
            let line = Line {
                r#type: "event".to_owned(),
                seq: u64::try_from(row.seq).unwrap_or(0),
                leaf_hash: hex(&row.leaf_hash),
                canonical: B64.encode(&canonical),
                audit_path: levels.path(index).iter().map(|h| hex(h)).collect(),
                event: serde_json::to_value(self.audit_view(row).await?)
                    .map_err(|_| CoreError::Internal("an audit event did not serialise"))?,
            };
            out.push_str(&json_line(&line)?);
        }
        self.audit_read(
            AuditEvent::by(actor, AuditCode::AuditRead)
                .detail("query", "export")
                .detail("from", from)
                .detail("to", to)
                .detail("count", count),
        )
        .await?;
        Ok(out)
    }
}

/// A value as one JSON line.
fn json_line<T: Serialize>(value: &T) -> Result<String, CoreError> {
    let mut line = serde_json::to_string(value)
        .map_err(|_| CoreError::Internal("an export line did not serialise"))?;
    line.push('\n');
    Ok(line)
}

/// Verifies an export offline: the checkpoint's signature (with `public_key`, else the key
/// the export names — which proves integrity only against a key obtained separately), and
/// every event's leaf hash and inclusion path. The first problem found is the error.
pub fn verify_export(text: &str, public_key: Option<[u8; 32]>) -> Result<ExportCheck, String> {
    let mut lines = text.lines().enumerate();
    let (_, first) = lines.next().ok_or("the export is empty")?;
    let header: Header =
        serde_json::from_str(first).map_err(|_| "line 1 is not an export checkpoint")?;
    if header.r#type != "checkpoint" || header.format != 1 {
        return Err("line 1 is not a format-1 export checkpoint".to_owned());
    }
    let c = &header.checkpoint;
    let key = match public_key {
        Some(key) => key,
        None => header
            .public_key
            .as_deref()
            .and_then(from_hex::<32>)
            .ok_or("the export names no public key; pass the audit public key")?,
    };
    let body = CheckpointBody {
        tree_size: c.tree_size,
        root: from_hex::<32>(&c.root).ok_or("the checkpoint root is not hex")?,
        chain: from_hex::<32>(&c.chain).ok_or("the checkpoint chain link is not hex")?,
        signed_at: c.signed_at,
    };
    let signature = from_hex::<64>(&c.signature).ok_or("the signature is not hex")?;
    if !chain::verify_checkpoint(&key, &body, &signature) {
        return Err(
            "the checkpoint's signature does not verify with the audit public key".to_owned(),
        );
    }
    let mut events = 0;
    let mut previous: Option<u64> = None;
    for (i, text) in lines {
        let n = i + 1;
        let line: Line =
            serde_json::from_str(text).map_err(|_| format!("line {n} is not an export event"))?;
        let canonical = B64
            .decode(&line.canonical)
            .map_err(|_| format!("line {n}: canonical is not base64"))?;
        let leaf = chain::leaf_hash(&canonical);
        if hex(&leaf) != line.leaf_hash {
            return Err(format!(
                "line {n} (event {}): the event's bytes do not match its leaf hash",
                line.seq
            ));
        }
        let path = line
            .audit_path
            .iter()
            .map(|h| from_hex::<32>(h))
            .collect::<Option<Vec<_>>>()
            .ok_or(format!("line {n}: the audit path is not hex"))?;
        if !chain::verify_inclusion(&leaf, line.seq, body.tree_size, &path, &body.root) {
            return Err(format!(
                "line {n} (event {}): not in the signed tree",
                line.seq
            ));
        }
        if !shows_hashed_event(&canonical, line.seq, &line.event) {
            return Err(format!(
                "line {n} (event {}): the shown event is not the hashed one",
                line.seq
            ));
        }
        if previous.is_some_and(|p| line.seq <= p) {
            return Err(format!("line {n}: events out of order"));
        }
        previous = Some(line.seq);
        events += 1;
    }
    Ok(ExportCheck {
        events,
        tree_size: body.tree_size,
        key_id: chain::key_id(&key),
    })
}

/// Whether the shown event's position, id, time and code are those in the canonical bytes
/// (format 1: version, seq, id, time, then the length-prefixed code).
fn shows_hashed_event(canonical: &[u8], seq: u64, event: &serde_json::Value) -> bool {
    let text = |key: &str| event.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    let Ok(id) = uuid::Uuid::parse_str(text("id")) else {
        return false;
    };
    let occurred_at = event.get("occurred_at").and_then(serde_json::Value::as_i64);
    let code = text("code").as_bytes();
    let Ok(code_len) = u32::try_from(code.len()) else {
        return false;
    };
    let mut expected = vec![1u8];
    expected.extend_from_slice(&seq.to_be_bytes());
    expected.extend_from_slice(id.as_bytes());
    expected.extend_from_slice(&occurred_at.unwrap_or(i64::MIN).to_be_bytes());
    expected.push(1);
    expected.extend_from_slice(&code_len.to_be_bytes());
    expected.extend_from_slice(code);
    canonical.starts_with(&expected)
}
