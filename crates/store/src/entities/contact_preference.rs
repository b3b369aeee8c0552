use sea_orm::entity::prelude::*;

/// A contact's communication preferences (at most one row per contact).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_preferences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contact_id: Uuid,
    /// The contact's own data key.
    pub dek_id: Uuid,
    pub channel: Option<String>,
    pub language: Option<String>,
    pub frequency: Option<String>,
    /// Opted-out channel codes, sorted, comma-separated ("" for none).
    pub opt_outs: String,
    pub do_not_contact: bool,
    pub do_not_contact_since: Option<i64>,
    pub do_not_contact_reason_ct: Option<Vec<u8>>,
    pub updated_by: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}
entity_prelude!();
