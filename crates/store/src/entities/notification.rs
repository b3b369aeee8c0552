use sea_orm::entity::prelude::*;

/// An in-app notification: references only (kind, task or alert, who caused it), never a copy of
/// personal text; what it says is rendered from the task when it is read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub task_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub created_at: i64,
    pub read_at: Option<i64>,
    /// The security alert it is about (security officers' notifications).
    pub alert_id: Option<Uuid>,
}
entity_prelude!();
