use sea_orm::entity::prelude::*;

/// A user's saved list filter: which list, its name (ciphertext under the organisation key)
/// and the filter as a canonical query string of non-personal parameters.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "saved_views")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub entity: String,
    pub name_ct: Vec<u8>,
    pub query: String,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}
entity_prelude!();
