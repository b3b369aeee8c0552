use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Upper-cased; unique across live and deleted products.
    pub sku: String,
    pub name: String,
    /// Lower-cased, normalised name for sorting and prefix search.
    pub name_sort: String,
    pub description: Option<String>,
    pub category: Option<String>,
    /// In the currency's minor unit.
    pub list_price_minor: i64,
    pub currency: String,
    pub unit: String,
    /// 1 when the product may be put on new orders, else 0.
    pub active: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub version: i64,
}
entity_prelude!();
