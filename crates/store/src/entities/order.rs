use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `SO-000123`, unique.
    pub number: String,
    /// `draft`, `placed`, `paid`, `fulfilled`, `cancelled` or `refunded`.
    pub status: String,
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub ordered_on: String,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    /// The contact's key when a contact is the customer, else the organisation key.
    pub dek_id: Uuid,
    pub notes_ct: Option<Vec<u8>>,
    /// Sums of the lines' gross, discount and net amounts, in minor units.
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub total_minor: i64,
    pub line_count: i64,
    pub placed_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub fulfilled_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub refunded_at: Option<i64>,
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
