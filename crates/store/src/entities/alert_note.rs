use sea_orm::entity::prelude::*;

/// A note on an alert; its text is field ciphertext under the organisation key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub alert_id: Uuid,
    pub author_id: Uuid,
    pub body_ct: Vec<u8>,
    pub created_at: i64,
}
entity_prelude!();
