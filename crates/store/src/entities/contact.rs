use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The contact's own data key: destroying it erases the person.
    pub dek_id: Uuid,
    pub name_ct: Vec<u8>,
    pub emails_ct: Option<Vec<u8>>,
    pub phones_ct: Option<Vec<u8>>,
    pub job_title_ct: Option<Vec<u8>>,
    pub address_ct: Option<Vec<u8>>,
    pub notes_ct: Option<Vec<u8>>,
    pub company_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub team: Option<String>,
    /// The territory the contact belongs to; policies limit users to their own.
    pub region: Option<String>,
    /// 0 ordinary; higher needs a user clearance at least as high.
    pub sensitivity: i64,
    /// JSON array of tags, so a read needs no second query; `record_tags` serves filters.
    pub tags: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub version: i64,
}
entity_prelude!();
