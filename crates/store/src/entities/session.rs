use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub revoked_at: Option<i64>,
    /// `active`, or `second_factor` while the password was right but a second factor is due.
    pub stage: String,
    /// How the session was authenticated, e.g. `password+totp`.
    pub auth_methods: String,
    /// When the user last proved themselves (sign-in or step-up).
    pub reauthenticated_at: i64,
    /// Wrong second-factor or step-up codes on this session; it ends at the limit.
    pub factor_failures: i64,
    /// The client (IP address, user agent) as field ciphertext: personal data.
    pub client_ct: Option<Vec<u8>>,
    /// Why it ended: `logout`, `ended_by_user`, `ended_by_admin`, `session_limit`, …
    pub end_reason: Option<String>,
    /// Keyed hash of the wide network (IPv4 /16, IPv6 /48) it was opened from.
    pub network_lookup: Option<Vec<u8>>,
    /// When it was first used from another wide network (reported once).
    pub network_changed_at: Option<i64>,
    /// When it was first presented after it had ended (reported once).
    pub used_after_end_at: Option<i64>,
}
entity_prelude!();
