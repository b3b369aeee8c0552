use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email_lookup: Vec<u8>,
    pub email_ct: Vec<u8>,
    pub display_name_ct: Option<Vec<u8>>,
    pub password_hash: Option<String>,
    pub locale: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub team: Option<String>,
    pub department: Option<String>,
    pub region: Option<String>,
    pub email_verified_at: Option<i64>,
    pub phone_ct: Option<Vec<u8>>,
    pub phone_verified_at: Option<i64>,
    pub email_codes_at: Option<i64>,
    pub sms_codes_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// Highest record sensitivity the user may see.
    pub clearance: i64,
}
entity_prelude!();
