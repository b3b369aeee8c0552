use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pipelines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Display order among pipelines; the first is the default for new deals.
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}
entity_prelude!();
