use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub position: i64,
    pub product_id: Option<Uuid>,
    pub description: String,
    /// Thousandths of the product's unit.
    pub quantity_milli: i64,
    /// Minor units of the order's currency.
    pub unit_price_minor: i64,
    /// Hundredths of a percent (0–10 000).
    pub discount_bp: i64,
    pub gross_minor: i64,
    pub discount_minor: i64,
    pub total_minor: i64,
}
entity_prelude!();
