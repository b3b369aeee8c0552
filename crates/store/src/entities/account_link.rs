use sea_orm::entity::prelude::*;

/// A one-time link sent by e-mail (an invitation, a password reset). Only the token's hash is
/// stored; a link works once and only before it expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    #[sea_orm(unique)]
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub created_by: Option<Uuid>,
}
entity_prelude!();
