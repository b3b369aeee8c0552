use sea_orm::entity::prelude::*;

/// One answer to a satisfaction survey (NPS 0–10 or CSAT 1–5).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contact_id: Uuid,
    /// The contact's company when the response was recorded (per-company aggregates).
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    /// The contact's own data key.
    pub dek_id: Uuid,
    pub kind: String,
    pub score: i64,
    pub comment_ct: Option<Vec<u8>>,
    pub channel: Option<String>,
    pub responded_at: i64,
    pub recorded_by: Uuid,
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
