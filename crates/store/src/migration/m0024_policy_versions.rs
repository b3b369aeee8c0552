use super::*;

/// Authorization policies stored in the database, versioned: every change keeps the text, who
/// proposed it and why, and who approved it. The highest `active` version is in force on every
/// server; with no row the built-in default policies are.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0024_policy_versions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("policy_versions"))
                    .col(col("version").big_integer().not_null().primary_key())
                    .col(text("policy_text"))
                    .col(text("reason"))
                    .col(text("status"))
                    .col(id("proposed_by"))
                    .col(millis("proposed_at"))
                    .col(col("decided_by").uuid().null())
                    .col(millis_null("decided_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_policy_versions_status",
                "policy_versions",
                &["status", "version"],
            ))
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "this migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
