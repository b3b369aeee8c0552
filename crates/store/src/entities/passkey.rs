use sea_orm::entity::prelude::*;

/// A passkey (WebAuthn credential) of a user. The credential and its name are encrypted; the
/// credential ID is found through its keyed hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_lookup: Vec<u8>,
    pub name_ct: Vec<u8>,
    pub credential_ct: Vec<u8>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}
entity_prelude!();
