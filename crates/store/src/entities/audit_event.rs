use sea_orm::entity::prelude::*;

/// One audit event: who did what to which record, from where, with what outcome. `seq` is its
/// position in the log (dense from 0); `leaf_hash` covers every other column and `chain_hash`
/// links it to the event before.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub id: Uuid,
    pub occurred_at: i64,
    /// Stable code, e.g. `data_update`.
    pub code: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// `user`, `token`, `cli`, `system` or `anonymous`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    /// The session or API token used.
    pub credential_id: Option<Uuid>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    /// The server (host name) that wrote the event.
    pub node: String,
    /// The client (IP address, user agent) as field ciphertext: personal data.
    pub client_ct: Option<Vec<u8>>,
    /// JSON object of non-personal detail: codes, ids, counts, field names.
    pub detail: Option<String>,
    pub leaf_hash: Vec<u8>,
    pub chain_hash: Vec<u8>,
}
entity_prelude!();
