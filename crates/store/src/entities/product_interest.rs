use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_interests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contact_id: Uuid,
    pub product_id: Uuid,
    /// The level (`low`, `medium`, `high`), encrypted under the contact's key.
    pub level_ct: Vec<u8>,
    pub recorded_by: Uuid,
    pub recorded_at: i64,
}
entity_prelude!();
