use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The lead's own data key; destroyed when the lead is converted.
    pub dek_id: Uuid,
    /// Personal fields: all `None` once the lead is converted (they moved to the contact).
    pub name_ct: Option<Vec<u8>>,
    pub email_ct: Option<Vec<u8>>,
    pub phone_ct: Option<Vec<u8>>,
    pub job_title_ct: Option<Vec<u8>>,
    pub notes_ct: Option<Vec<u8>>,
    pub status_reason_ct: Option<Vec<u8>>,
    pub company_name: Option<String>,
    pub source: String,
    pub status: String,
    pub score: i64,
    pub owner_id: Option<Uuid>,
    pub converted_contact_id: Option<Uuid>,
    pub converted_company_id: Option<Uuid>,
    pub converted_deal_id: Option<Uuid>,
    pub converted_at: Option<i64>,
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
