use sea_orm::entity::prelude::*;

/// One rule of the MFA policy: `scope` is `everyone`, `role` or `team`; `value` names the role
/// or team (empty for everyone).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_requirements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub scope: String,
    pub value: String,
    pub created_by: Uuid,
    pub created_at: i64,
}
entity_prelude!();
