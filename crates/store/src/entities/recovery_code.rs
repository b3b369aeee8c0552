use sea_orm::entity::prelude::*;

/// One single-use recovery code; only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[sea_orm(unique)]
    pub code_hash: Vec<u8>,
    pub created_at: i64,
    pub used_at: Option<i64>,
}
entity_prelude!();
