use sea_orm::entity::prelude::*;

/// How far a reader of the audit stream (the monitor) has processed: the next `seq` to read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub seq: i64,
    pub updated_at: i64,
}
entity_prelude!();
