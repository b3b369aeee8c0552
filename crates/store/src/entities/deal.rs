use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    pub title: String,
    /// Lower-cased, normalised title for prefix search and sorting.
    pub title_sort: String,
    /// `open`, `won` or `lost`.
    pub status: String,
    /// In the currency's minor unit (fen, cents); set together with `currency`.
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    /// `YYYY-MM-DD`.
    pub expected_close_on: Option<String>,
    pub owner_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// The organisation data key, which encrypts `outcome_reason_ct`.
    pub dek_id: Uuid,
    pub outcome_reason_ct: Option<Vec<u8>>,
    pub closed_at: Option<i64>,
    pub stage_entered_at: i64,
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
