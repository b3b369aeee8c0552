//! Reading the audit log (auditors and security officers): search, one event with its
//! inclusion proof against a signed checkpoint, the checkpoints.

use super::checkpoints::SignedCheckpoint;
use super::{AuditEvent, TABLE};
use crate::authz::SystemAction;
use crate::{Actor, Core, CoreError};
use custodian_crypto::audit::hex;
use custodian_domain::audit::AuditCode;
use custodian_store::entities::audit_event;
use custodian_store::repo;
pub use custodian_store::repo::audit::AuditFilter;
use serde::Serialize;
use uuid::Uuid;

/// Most events on one page.
pub const MAX_PAGE: u64 = 200;
/// Events on a page when the caller does not say.
pub const DEFAULT_PAGE: u64 = 50;

/// One event as an auditor sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct AuditEventView {
    pub id: Uuid,
    /// Position in the log (from 0).
    pub seq: i64,
    /// Unix milliseconds.
    pub occurred_at: i64,
    pub code: String,
    pub outcome: String,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub credential_id: Option<Uuid>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub node: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Option<serde_json::Value>,
    /// Hex leaf hash.
    pub leaf_hash: String,
}
crate::redacted_debug!(AuditEventView);

/// A page of events, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub items: Vec<AuditEventView>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}

/// An event, and the proof that it is in the tree a signed checkpoint commits to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct AuditProof {
    pub event: AuditEventView,
    pub leaf_index: u64,
    /// Hex SHA-256 siblings, nearest first (RFC 9162 §2.1.3).
    pub audit_path: Vec<String>,
    pub checkpoint: SignedCheckpoint,
    /// Hex Ed25519 public key of the audit log.
    pub public_key: Option<String>,
}

impl Core {
    /// Events that pass the filter, newest first. `before`: a position from the previous
    /// page. Waits for read events queued just before, so a search sees them.
    pub async fn audit_events(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: Option<u64>,
    ) -> Result<AuditPage, CoreError> {
        self.require(actor, SystemAction::ReadAudit).await?;
        self.flush_audit().await?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let rows = repo::audit::search(self.store().conn(), filter, before, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            items.push(self.audit_view(row).await?);
        }
        let next_before = if more {
            items.last().map(|e| e.seq)
        } else {
            None
        };
        self.audit_read(search_event(actor, filter, before, items.len()))
            .await?;
        Ok(AuditPage { items, next_before })
    }

    /// One event with its inclusion proof against the latest checkpoint (signing one now when
    /// the event is newer than every checkpoint). 404 for an unknown id.
    pub async fn audit_proof(&self, actor: &Actor, id: Uuid) -> Result<AuditProof, CoreError> {
        self.require(actor, SystemAction::ReadAudit).await?;
        self.flush_audit().await?;
        let conn = self.store().conn();
        let row = repo::audit::get(conn, id)
            .await?
            .ok_or(CoreError::NotFound {
                entity: "audit event",
            })?;
        let covering = |c: &Option<custodian_store::entities::audit_checkpoint::Model>| {
            c.as_ref().filter(|c| c.tree_size > row.seq).cloned()
        };
        let mut latest = covering(&repo::audit::latest_checkpoint(conn).await?);
        if latest.is_none() {
            self.checkpoint_audit().await?;
            latest = covering(&repo::audit::latest_checkpoint(conn).await?);
        }
        let checkpoint = latest.ok_or(CoreError::Rule {
            code: "audit_unsigned",
            message: "no signed checkpoint covers this event yet, and this server does not sign checkpoints; try again once one is signed",
        })?;
        let tree =
            super::retention::tree_of(self.store().scan_conn(), checkpoint.tree_size).await?;
        let index =
            usize::try_from(row.seq).map_err(|_| CoreError::Internal("negative position"))?;
        let audit_path = tree.path(index).iter().map(|h| hex(h)).collect();
        self.audit_read(
            AuditEvent::by(actor, AuditCode::AuditRead)
                .target("audit_event", row.id)
                .detail("query", "proof")
                .detail("tree_size", checkpoint.tree_size),
        )
        .await?;
        Ok(AuditProof {
            leaf_index: u64::try_from(row.seq).unwrap_or(0),
            event: self.audit_view(row).await?,
            audit_path,
            checkpoint: SignedCheckpoint::from_row(&checkpoint),
            public_key: self.audit_public_key().map(|k| hex(&k)),
        })
    }

    /// The newest checkpoints, newest first.
    pub async fn audit_checkpoints(
        &self,
        actor: &Actor,
        limit: u64,
    ) -> Result<Vec<SignedCheckpoint>, CoreError> {
        self.require(actor, SystemAction::ReadAudit).await?;
        let checkpoints: Vec<SignedCheckpoint> =
            repo::audit::latest_checkpoints(self.store().conn(), limit.clamp(1, MAX_PAGE))
                .await?
                .iter()
                .map(SignedCheckpoint::from_row)
                .collect();
        self.audit_read(
            AuditEvent::by(actor, AuditCode::AuditRead)
                .detail("query", "checkpoints")
                .detail("count", checkpoints.len()),
        )
        .await?;
        Ok(checkpoints)
    }

    pub(crate) async fn audit_view(
        &self,
        row: audit_event::Model,
    ) -> Result<AuditEventView, CoreError> {
        let client = self
            .open_client_of(TABLE, row.id, row.client_ct.as_deref())
            .await?;
        Ok(AuditEventView {
            id: row.id,
            seq: row.seq,
            occurred_at: row.occurred_at,
            code: row.code,
            outcome: row.outcome,
            actor_kind: row.actor_kind,
            actor_id: row.actor_id,
            credential_id: row.credential_id,
            target_type: row.target_type,
            target_id: row.target_id,
            node: row.node,
            ip: client.ip,
            user_agent: client.user_agent,
            detail: row.detail.and_then(|d| serde_json::from_str(&d).ok()),
            leaf_hash: hex(&row.leaf_hash),
        })
    }
}

/// The event of an audit search: which filters it used (user ids, record ids, codes and the
/// outcome are no personal values) and how many events it showed.
fn search_event(
    actor: &Actor,
    filter: &AuditFilter,
    before: Option<i64>,
    shown: usize,
) -> AuditEvent {
    let used: Vec<&str> = [
        ("actor", filter.actor_id.is_some()),
        ("target", filter.target_id.is_some()),
        ("code", !filter.codes.is_empty()),
        ("outcome", filter.outcome.is_some()),
        ("from", filter.from.is_some()),
        ("to", filter.to.is_some()),
        ("before", before.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    let mut event = AuditEvent::by(actor, AuditCode::AuditRead)
        .detail("query", "search")
        .detail("filters", used)
        .detail("count", shown);
    if let Some(id) = filter.actor_id {
        event = event.detail("actor", id.to_string());
    }
    if let Some(id) = filter.target_id {
        event = event.detail("target", id.to_string());
    }
    if !filter.codes.is_empty() {
        event = event.detail("codes", filter.codes.clone());
    }
    if let Some(outcome) = &filter.outcome {
        event = event.detail("outcome", outcome.clone());
    }
    event
}
