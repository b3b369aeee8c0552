use sea_orm::entity::prelude::*;

/// Truncated blind-index tokens for searching encrypted fields.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub field: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub token: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity_id: Uuid,
    pub index_version: i64,
}
entity_prelude!();
