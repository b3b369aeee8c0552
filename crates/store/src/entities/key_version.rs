use sea_orm::entity::prelude::*;

/// Fingerprint of each key version, so a wrong key file is refused at start.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    pub fingerprint: String,
    pub created_at: i64,
}
entity_prelude!();
