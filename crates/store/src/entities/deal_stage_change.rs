use sea_orm::entity::prelude::*;

/// Append-only history of a deal's stage and status: who moved it where, and when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deal_stage_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub deal_id: Uuid,
    /// `None` for the change that created the deal.
    pub from_stage_id: Option<Uuid>,
    pub to_stage_id: Uuid,
    pub from_status: Option<String>,
    pub to_status: String,
    /// The user who made the change (kept even if the user is later removed).
    pub changed_by: Uuid,
    pub changed_at: i64,
}
entity_prelude!();
