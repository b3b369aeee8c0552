use sea_orm::entity::prelude::*;

/// A signed statement of the audit log's state: its size, Merkle root and last chain link at
/// a time, signed with the audit signing key. The frontier lets the tree be extended from here
/// once older events are pruned.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    pub chain_hash: Vec<u8>,
    pub signed_at: i64,
    /// Which key signed (16 hex digits of the public key's SHA-256).
    pub key_id: String,
    pub signature: Vec<u8>,
    pub frontier: Vec<u8>,
}
entity_prelude!();
