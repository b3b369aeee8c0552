use sea_orm::entity::prelude::*;

/// One record's value of one custom field. Public and internal values are plain
/// (`value_text`, and `value_number` for numbers) so lists can filter on them; personal and
/// sensitive values exist only as `value_ct`, encrypted under the record's data key with the
/// AAD binding table, column, record id and field id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_field_values")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub record_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub field_id: Uuid,
    /// `contact`, `company` or `deal` (the definition's entity).
    pub entity: String,
    /// Canonical text of a plain value (numbers: the scaled integer).
    pub value_text: Option<String>,
    /// A plain number value, scaled by 10^decimals.
    pub value_number: Option<i64>,
    pub value_ct: Option<Vec<u8>>,
    pub updated_at: i64,
}
entity_prelude!();
