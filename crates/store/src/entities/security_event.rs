use sea_orm::entity::prelude::*;

/// Something that happened to an account that its owner, and security staff, should be able to
/// see: a sign-in, a refusal, an abnormal use of a session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// Stable code, e.g. `authn_login_success`.
    pub kind: String,
    pub occurred_at: i64,
    /// The client (IP address, user agent) as field ciphertext: personal data.
    pub client_ct: Option<Vec<u8>>,
    /// Keyed hash of the client's network (IPv4 address, IPv6 /64).
    pub network_lookup: Option<Vec<u8>>,
    /// Keyed hash of the client's device family (the user agent without version numbers).
    pub device_lookup: Option<Vec<u8>>,
    /// Non-personal detail, e.g. `failures=7` or `passkey`.
    pub detail: Option<String>,
}
entity_prelude!();
