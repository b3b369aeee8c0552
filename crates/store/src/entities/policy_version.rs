use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policy_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    /// Cedar text (policies are configuration, not personal data).
    pub policy_text: String,
    pub reason: String,
    /// `proposed`, `active`, `superseded` or `rejected`.
    pub status: String,
    pub proposed_by: Uuid,
    pub proposed_at: i64,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<i64>,
}
entity_prelude!();
