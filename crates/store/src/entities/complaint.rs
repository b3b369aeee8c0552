use sea_orm::entity::prelude::*;

/// A customer complaint. Subject, description and resolution are ciphertext under the
/// contact's key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contact_id: Uuid,
    pub company_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub dek_id: Uuid,
    pub subject_ct: Vec<u8>,
    pub description_ct: Vec<u8>,
    pub category: String,
    pub severity: String,
    /// 0 (low) … 3 (critical): the severity sort key.
    pub severity_rank: i64,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub resolution_ct: Option<Vec<u8>>,
    /// Logged time plus the severity's response time.
    pub response_due_at: i64,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub created_by: Uuid,
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
