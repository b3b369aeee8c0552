use super::*;

/// Failed sign-in attempts per account and per network, kept in the database so throttling
/// and lockout hold across every server process. Keys are keyed hashes (blind indexes) of the
/// e-mail address typed and of the client network: neither is stored in plaintext.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_auth_throttles"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("auth_throttles"))
                    .col(blob("key").primary_key())
                    .col(col("failures").big_integer().not_null())
                    .col(millis("last_failure_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the sign-in throttling migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
