use sea_orm::entity::prelude::*;

/// A user's TOTP authenticator: active once `confirmed_at` is set. `last_used_step` is the
/// newest time step accepted, so a code is never accepted twice.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_totp")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub secret_ct: Vec<u8>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub last_used_step: Option<i64>,
}
entity_prelude!();
