use sea_orm::entity::prelude::*;

/// A custom field an administrator added to contacts, companies or deals. Configuration, not
/// personal data: labels, type, limits and choice options are stored plainly.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_fields")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `contact`, `company` or `deal`.
    pub entity: String,
    /// Stable slug, unique per entity, never changed.
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    pub help_en: Option<String>,
    pub help_zh: Option<String>,
    /// `text`, `number`, `date`, `choice` or `boolean`.
    pub kind: String,
    /// Text: most characters.
    pub max_length: Option<i64>,
    /// Number: digits after the decimal point; values are stored scaled by 10^decimals.
    pub decimals: Option<i64>,
    /// Number: bounds, scaled like the values.
    pub min_scaled: Option<i64>,
    pub max_scaled: Option<i64>,
    /// Choice: JSON array of `{value, label_en, label_zh}` in display order.
    pub options: String,
    /// `public`, `internal`, `personal` or `sensitive`.
    pub classification: String,
    /// 1 when a value is required on create.
    pub required: i64,
    pub position: i64,
    /// Archived fields keep their values but leave forms.
    pub archived_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}
entity_prelude!();
