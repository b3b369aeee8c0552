use sea_orm::entity::prelude::*;

/// One notification to be carried over one outside channel (e-mail, …). In-app notifications
/// need no delivery: the `notifications` row is the in-app message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub notification_id: Uuid,
    pub channel: String,
    /// `pending`, `sent` or `failed` (gave up).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// A stable code from the transport, never a message that could carry data.
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
}
entity_prelude!();
