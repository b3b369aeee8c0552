use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "companies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Lower-cased name, so sorting by name is case-insensitive and index-backed.
    pub name_sort: String,
    pub industry: Option<String>,
    pub size_band: Option<String>,
    pub region: Option<String>,
    pub website: Option<String>,
    pub address_ct: Option<Vec<u8>>,
    pub dek_id: Uuid,
    pub owner_id: Option<Uuid>,
    /// JSON array of tags, so a read needs no second query; `record_tags` serves filters.
    pub tags: String,
    /// Access attributes (see `contact::Model`); `region` above is the territory.
    pub team: Option<String>,
    pub sensitivity: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub version: i64,
}
entity_prelude!();
