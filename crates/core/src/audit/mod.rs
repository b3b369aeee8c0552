//! The audit log: every sign-in, refusal, read of personal data, change and permission change,
//! in one tamper-evident sequence.
//!
//! - **Writes** append their events in the transaction of the change ([`Core::audit_in`]):
//!   if the event cannot be written, the change is rolled back. Appends take the head row's
//!   lock (PostgreSQL `FOR UPDATE`; SQLite's one writer), so every process extends one chain.
//! - **Reads** queue their events ([`Core::audit_read`]); a task appends what queued within
//!   [`reads::GROUP_WINDOW`] in one transaction, so reads are not held up by a commit each.
//!   A clean shutdown flushes the queue; a crash can lose the read events of that last window,
//!   never a write's. While appends fail, reads are refused (503 `audit_unavailable`).
//! - Each event is a leaf of an RFC 6962 Merkle tree and a link of a hash chain
//!   (`custodian_crypto::audit`); [`checkpoints`] signs the tree's state every N events or M
//!   seconds, in the database and in a file outside it; [`verify`] recomputes everything and
//!   names the place of any edit, deletion, insertion, reordering or truncation.

pub mod checkpoints;
pub mod export;
pub mod query;
pub mod reads;
pub mod report;
pub mod retention;
pub mod siem;
pub mod verify;

use crate::metrics::{AppendKind, Metrics, Stopwatch};
use crate::sessions::ClientInfo;
use crate::{Actor, Core, CoreError, actor::AuthMethod};
use custodian_crypto::audit::{self as chain, Frontier};
use custodian_domain::audit::{
    ActorKind, AuditCode, LeafFields, MAX_DETAIL_BYTES, Outcome, sanitize,
};
use custodian_store::ConnectionTrait;
use custodian_store::entities::{audit_event, audit_head};
use custodian_store::repo;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Table name bound into the client ciphertext of an event.
pub(crate) const TABLE: &str = "audit_events";
/// Longest text value kept in an event's detail.
const MAX_DETAIL_TEXT: usize = 256;

/// An event about to be recorded.
#[derive(Clone)]
pub struct AuditEvent {
    code: AuditCode,
    outcome: Outcome,
    actor_kind: ActorKind,
    actor_id: Option<Uuid>,
    credential_id: Option<Uuid>,
    target: Option<(&'static str, Uuid)>,
    client: Option<ClientInfo>,
    detail: Map<String, Value>,
}
crate::redacted_debug!(AuditEvent);

impl AuditEvent {
    fn new(code: AuditCode, actor_kind: ActorKind) -> Self {
        Self {
            code,
            outcome: if code.is_failure() {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            actor_kind,
            actor_id: None,
            credential_id: None,
            target: None,
            client: None,
            detail: Map::new(),
        }
    }

    /// Done by an authenticated actor (user session, API token or the command line), from the
    /// request's address.
    pub fn by(actor: &Actor, code: AuditCode) -> Self {
        let (kind, credential) = match actor.method {
            AuthMethod::Session(id) => (ActorKind::User, Some(id.as_uuid())),
            AuthMethod::ApiToken(id) => (ActorKind::Token, Some(id.as_uuid())),
            AuthMethod::Cli => (ActorKind::Cli, None),
        };
        let mut event = Self::new(code, kind);
        event.actor_id = Some(actor.user_id.as_uuid());
        event.credential_id = credential;
        event.client = actor.client_ip.map(|ip| ClientInfo::new(Some(ip), None));
        event
    }

    /// A soft delete (or its undoing) of a record.
    pub(crate) fn deleted(actor: &Actor, delete: bool, kind: &'static str, id: Uuid) -> Self {
        let code = if delete {
            AuditCode::DataDelete
        } else {
            AuditCode::DataRestore
        };
        Self::by(actor, code).target(kind, id)
    }

    /// About a user who is not (yet) an authenticated actor: a sign-in, a refused factor.
    pub fn for_user(user_id: Option<Uuid>, session_id: Option<Uuid>, code: AuditCode) -> Self {
        let kind = if user_id.is_some() {
            ActorKind::User
        } else {
            ActorKind::Anonymous
        };
        let mut event = Self::new(code, kind);
        event.actor_id = user_id;
        event.credential_id = session_id;
        event
    }

    /// Done by the server itself (a scheduled job).
    pub fn system(code: AuditCode) -> Self {
        Self::new(code, ActorKind::System)
    }

    #[must_use]
    pub fn target(mut self, kind: &'static str, id: Uuid) -> Self {
        self.target = Some((kind, id));
        self
    }

    #[must_use]
    pub fn client(mut self, client: &ClientInfo) -> Self {
        self.client = Some(client.clone());
        self
    }

    /// Adds a detail: codes, ids, counts, field names — never a personal value. Text is
    /// sanitised (control characters escaped) and cut to a bounded length.
    #[must_use]
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail
            .insert(sanitize(key, 64), sanitized(value.into()));
        self
    }

    /// The fields a change touched, by name, and the restricted field groups among them
    /// (which say their classification): never their values.
    #[must_use]
    pub(crate) fn fields(
        self,
        restricted: &crate::contact_access::Written,
        names: &[&str],
    ) -> Self {
        let mut groups: Vec<&str> = restricted.iter().map(|(_, g)| g.code()).collect();
        groups.sort_unstable();
        groups.dedup();
        self.detail("fields", names.to_vec())
            .detail("groups", groups)
    }

    /// The field groups a read showed, in full or masked.
    #[must_use]
    pub(crate) fn groups_read(self, groups: &crate::authz::fields::FieldGroups) -> Self {
        use crate::authz::fields::GroupAccess;
        let with = |access: GroupAccess| -> Vec<&str> {
            groups
                .iter()
                .filter(|(_, a)| **a == access)
                .map(|(code, _)| *code)
                .collect()
        };
        self.detail("groups", with(GroupAccess::Full))
            .detail("masked", with(GroupAccess::Masked))
    }
}

fn sanitized(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(sanitize(&s, MAX_DETAIL_TEXT)),
        Value::Array(items) => Value::Array(items.into_iter().map(sanitized).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (sanitize(&k, 64), sanitized(v)))
                .collect(),
        ),
        other => other,
    }
}

/// An event with its id, time, encrypted client and detail text, waiting for its place in the
/// chain.
#[derive(Clone)]
pub(crate) struct PendingEvent {
    id: Uuid,
    occurred_at: i64,
    code: &'static str,
    outcome: &'static str,
    actor_kind: &'static str,
    actor_id: Option<Uuid>,
    credential_id: Option<Uuid>,
    target_type: Option<&'static str>,
    target_id: Option<Uuid>,
    node: String,
    client_ct: Option<Vec<u8>>,
    detail: Option<String>,
}
crate::redacted_debug!(PendingEvent);

/// The canonical fields of a stored event (what its leaf hash covers).
pub fn leaf_fields(row: &audit_event::Model) -> LeafFields<'_> {
    LeafFields {
        seq: row.seq,
        id: row.id,
        occurred_at: row.occurred_at,
        code: &row.code,
        outcome: &row.outcome,
        actor_kind: &row.actor_kind,
        actor_id: row.actor_id,
        credential_id: row.credential_id,
        target_type: row.target_type.as_deref(),
        target_id: row.target_id,
        node: &row.node,
        client_ct: row.client_ct.as_deref(),
        detail: row.detail.as_deref(),
    }
}

/// Gives pending events their places after the head, under the head lock the caller's
/// transaction takes here, and writes them with the moved head.
pub(crate) async fn chain_and_insert<C: ConnectionTrait>(
    conn: &C,
    events: Vec<PendingEvent>,
    metrics: &Metrics,
    kind: AppendKind,
) -> Result<u64, CoreError> {
    if events.is_empty() {
        return Ok(0);
    }
    let stopwatch = Stopwatch::start();
    let codes: Vec<&'static str> = events.iter().map(|e| e.code).collect();
    let appended = chain_and_insert_timed(conn, events).await;
    match &appended {
        Ok(_) => metrics.appended(kind, codes.into_iter(), stopwatch.seconds()),
        Err(_) => metrics.append_failed(kind),
    }
    appended
}

async fn chain_and_insert_timed<C: ConnectionTrait>(
    conn: &C,
    events: Vec<PendingEvent>,
) -> Result<u64, CoreError> {
    let head = repo::audit::lock_head(conn).await?;
    let mut frontier = Frontier::from_bytes(&head.frontier)?;
    let mut link = to_hash(&head.chain_hash)?;
    let mut seq = head.size;
    let count = events.len() as u64;
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let mut row = audit_event::Model {
            seq,
            id: event.id,
            occurred_at: event.occurred_at,
            code: event.code.to_owned(),
            outcome: event.outcome.to_owned(),
            actor_kind: event.actor_kind.to_owned(),
            actor_id: event.actor_id,
            credential_id: event.credential_id,
            target_type: event.target_type.map(str::to_owned),
            target_id: event.target_id,
            node: event.node,
            client_ct: event.client_ct,
            detail: event.detail,
            leaf_hash: Vec::new(),
            chain_hash: Vec::new(),
        };
        let leaf = chain::leaf_hash(&leaf_fields(&row).canonical_bytes());
        link = chain::chain_hash(&link, &leaf);
        frontier.push(leaf);
        row.leaf_hash = leaf.to_vec();
        row.chain_hash = link.to_vec();
        rows.push(row);
        seq += 1;
    }
    let head = audit_head::Model {
        id: head.id,
        size: seq,
        chain_hash: link.to_vec(),
        frontier: frontier.to_bytes(),
        pruned_size: head.pruned_size,
    };
    repo::audit::append(conn, rows, head).await?;
    Ok(count)
}

/// A time range `[from, to)` must end after it starts.
pub(crate) fn check_range(from: i64, to: i64) -> Result<(), CoreError> {
    if to <= from {
        return Err(custodian_domain::FieldError::new(
            "to",
            "invalid_range",
            "the end of the range must come after its start",
        )
        .into());
    }
    Ok(())
}

pub(crate) fn to_hash(bytes: &[u8]) -> Result<chain::Hash, CoreError> {
    bytes
        .try_into()
        .map_err(|_| CoreError::Internal("an audit hash is not 32 bytes"))
}

impl Core {
    /// Gives an event its id, time and node, and encrypts its client.
    pub(crate) async fn prepare_audit<C: ConnectionTrait>(
        &self,
        conn: &C,
        event: AuditEvent,
    ) -> Result<PendingEvent, CoreError> {
        let now = self.now();
        let id = custodian_domain::ids::uuid_at(now);
        let client_ct = match &event.client {
            Some(client) => self.seal_client(conn, TABLE, id, client).await?,
            None => None,
        };
        let detail = if event.detail.is_empty() {
            None
        } else {
            let text = serde_json::to_string(&event.detail)
                .map_err(|_| CoreError::Internal("audit detail did not serialise"))?;
            if text.len() > MAX_DETAIL_BYTES {
                return Err(CoreError::Internal("audit detail is too large"));
            }
            Some(text)
        };
        let (target_type, target_id) = event.target.unzip();
        Ok(PendingEvent {
            id,
            occurred_at: now,
            code: event.code.code(),
            outcome: event.outcome.code(),
            actor_kind: event.actor_kind.code(),
            actor_id: event.actor_id,
            credential_id: event.credential_id,
            target_type,
            target_id,
            node: self.inner.audit.node().to_owned(),
            client_ct,
            detail,
        })
    }

    /// Appends events in the caller's transaction: they commit with the change or not at all.
    pub(crate) async fn audit_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        events: Vec<AuditEvent>,
    ) -> Result<(), CoreError> {
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            pending.push(self.prepare_audit(conn, event).await?);
        }
        let appended = chain_and_insert(
            conn,
            pending,
            self.inner.audit.checkpoints.metrics(),
            AppendKind::Write,
        )
        .await?;
        self.inner.audit.appended(appended);
        Ok(())
    }

    /// Appends one event in a transaction of its own (an event that is not part of a change:
    /// a refusal, a sign-in attempt, an export starting).
    pub async fn audit_now(&self, event: AuditEvent) -> Result<(), CoreError> {
        let txn = self.store().begin().await?;
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Queues the event of a read, to be appended with others within a few milliseconds.
    /// Refused while the audit log cannot be written: no unaudited reads.
    pub async fn audit_read(&self, event: AuditEvent) -> Result<(), CoreError> {
        let pending = self.prepare_audit(self.store().conn(), event).await?;
        self.inner.audit.reads().submit(pending).await
    }

    /// Writes every queued read event now (clean shutdown; an audit search that must see
    /// reads made just before it).
    pub async fn flush_audit(&self) -> Result<(), CoreError> {
        self.inner.audit.reads().flush().await
    }
}

/// Audit state of a running core: the read queue, the node name, the checkpoint trigger.
pub(crate) struct AuditLog {
    reads: reads::ReadQueue,
    node: std::sync::OnceLock<String>,
    checkpoints: checkpoints::Trigger,
    signer: checkpoints::SignerSlot,
}
crate::redacted_debug!(AuditLog);

impl AuditLog {
    pub(crate) fn start(store: custodian_store::Store, metrics: std::sync::Arc<Metrics>) -> Self {
        let checkpoints = checkpoints::Trigger::new(metrics);
        Self {
            reads: reads::ReadQueue::start(store, checkpoints.clone()),
            node: std::sync::OnceLock::new(),
            checkpoints,
            signer: checkpoints::SignerSlot::new(),
        }
    }

    fn node(&self) -> &str {
        self.node.get().map_or("custodian", String::as_str)
    }

    /// Counts appends made outside [`Core::audit_in`] towards the next checkpoint.
    pub(crate) fn trigger(&self) -> checkpoints::Trigger {
        self.checkpoints.clone()
    }

    pub(crate) fn reads(&self) -> &reads::ReadQueue {
        &self.reads
    }

    fn appended(&self, count: u64) {
        self.checkpoints.appended(count);
    }
}
