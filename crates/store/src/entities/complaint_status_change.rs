use sea_orm::entity::prelude::*;

/// Append-only history of a complaint's status: who moved it from which status to which.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_status_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub complaint_id: Uuid,
    /// The complaint's version after the change: orders the history exactly, even for
    /// changes within one millisecond.
    pub complaint_version: i64,
    /// `None` for the entry that logged the complaint.
    pub from_status: Option<String>,
    pub to_status: String,
    pub changed_by: Uuid,
    pub changed_at: i64,
}
entity_prelude!();
