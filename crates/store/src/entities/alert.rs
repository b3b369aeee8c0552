use sea_orm::entity::prelude::*;

/// An alert a monitoring rule raised: which rule, about whom (a user id and a dedupe key of
/// ids or keyed hashes — never a personal value), how often it fired, and its handling.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub rule: String,
    pub severity: String,
    pub status: String,
    pub subject_user_id: Option<Uuid>,
    pub subject_key: String,
    /// JSON of counts, thresholds and ids.
    pub detail: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub occurrences: i64,
    pub action: Option<String>,
    pub owner_id: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
    pub version: i64,
}
entity_prelude!();
