use sea_orm::entity::prelude::*;

/// A data encryption key, wrapped by a root key version.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "data_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub scope: String,
    pub root_version: i64,
    pub wrapped: Option<Vec<u8>>,
    pub created_at: i64,
    pub destroyed_at: Option<i64>,
}
entity_prelude!();
