use sea_orm::entity::prelude::*;

/// A started WebAuthn registration or authentication: its encrypted state (the challenge)
/// waits here until it is finished once or expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub purpose: String,
    /// The user it is for; none for a sign-in that has not named its user yet.
    pub user_id: Option<Uuid>,
    /// The session that started it, which alone may finish it.
    pub session_id: Option<Uuid>,
    pub state_ct: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}
entity_prelude!();
