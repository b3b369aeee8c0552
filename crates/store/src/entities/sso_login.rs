use sea_orm::entity::prelude::*;

/// A single sign-on attempt waiting for the identity provider's answer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_logins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Keyed hash of the `state` parameter.
    pub state_lookup: Vec<u8>,
    /// The nonce and PKCE verifier, as field ciphertext.
    pub secrets_ct: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}
entity_prelude!();
