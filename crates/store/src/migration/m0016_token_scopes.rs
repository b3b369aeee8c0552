use super::*;

/// API tokens carry scopes (space-separated: `contacts:read`, `deals:write`, `*:read`, `admin`)
/// and optionally the networks they may be used from (comma-separated CIDRs). Tokens made
/// before scopes existed keep full access (`*`).
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_token_scopes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            col("scopes").text().not_null().default("*").to_owned(),
            text_null("networks"),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(t("api_tokens"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the token scopes migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
