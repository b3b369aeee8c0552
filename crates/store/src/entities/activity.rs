use sea_orm::entity::prelude::*;

/// A logged call, meeting, e-mail or note. Subject and body are ciphertext under `dek_id`
/// (the linked contact's key, else the organisation key).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub direction: Option<String>,
    pub outcome: Option<String>,
    pub dek_id: Uuid,
    pub subject_ct: Option<Vec<u8>>,
    pub body_ct: Option<Vec<u8>>,
    pub duration_minutes: Option<i64>,
    pub occurred_at: i64,
    pub owner_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub created_by: Uuid,
    /// Access attributes (see `contact::Model`): the owning team, the territory, the sensitivity.
    pub team: Option<String>,
    pub region: Option<String>,
    pub sensitivity: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub version: i64,
}
entity_prelude!();
