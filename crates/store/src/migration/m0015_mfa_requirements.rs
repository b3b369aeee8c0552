use super::*;

/// Who must use a second factor: everyone, a role, or a team (administrators set these).
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_mfa_requirements"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("mfa_requirements"))
                    .col(id("id").primary_key())
                    .col(text("scope"))
                    .col(text("value"))
                    .col(id("created_by"))
                    .col(millis("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_mfa_requirements_scope_value",
                    "mfa_requirements",
                    &["scope", "value"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the MFA requirements migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
