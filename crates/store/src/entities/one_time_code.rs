use sea_orm::entity::prelude::*;

/// A short code sent by e-mail or SMS (sign-in, step-up, proving an address or number). Only
/// a keyed hash of it is stored; it is used at most once and only before it expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    pub channel: String,
    pub code_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub used_at: Option<i64>,
}
entity_prelude!();
