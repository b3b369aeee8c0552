use sea_orm::entity::prelude::*;

/// Consecutive failed attempts under one key (an account or a network), and when the last one
/// happened; the back-off and lockout are computed from these.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_throttles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: Vec<u8>,
    pub failures: i64,
    pub last_failure_at: i64,
}
entity_prelude!();
