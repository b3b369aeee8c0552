use sea_orm::entity::prelude::*;

/// The one row every audit append locks: how many events there are, the last chain link and
/// the Merkle frontier (the right edge of the tree), and how many of the oldest events were
/// pruned.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub size: i64,
    pub chain_hash: Vec<u8>,
    pub frontier: Vec<u8>,
    /// Events `0..pruned_size` were removed under the retention period; the checkpoint of
    /// that size stands in for them.
    pub pruned_size: i64,
}
entity_prelude!();
