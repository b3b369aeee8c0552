use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The linked contact's data key when a contact is linked, else the organisation key.
    pub dek_id: Uuid,
    pub title_ct: Vec<u8>,
    pub notes_ct: Option<Vec<u8>>,
    pub assignee_id: Uuid,
    pub created_by: Uuid,
    pub status: String,
    pub priority: String,
    /// 0 (low) … 3 (urgent): the priority sort key.
    pub priority_rank: i64,
    pub due_at: Option<i64>,
    /// The due moment was given as a date (it is the end of that day, UTC).
    pub due_all_day: bool,
    /// `due_at`, or `i64::MAX` without one: the due sort key (no due date sorts last).
    pub due_key: i64,
    pub remind_at: Option<i64>,
    /// Set by the reminder sweep; cleared when `remind_at` changes.
    pub reminded_at: Option<i64>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub completed_at: Option<i64>,
    /// Access attributes (see `contact::Model`): the owning team, the territory, the sensitivity.
    pub team: Option<String>,
    pub region: Option<String>,
    pub sensitivity: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub version: i64,
}
entity_prelude!();
