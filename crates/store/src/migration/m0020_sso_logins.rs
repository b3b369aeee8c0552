use super::*;

/// Single sign-on attempts in flight: the keyed hash of the `state` sent to the identity
/// provider, and the nonce and PKCE verifier (encrypted) that its answer must match. Each is
/// taken once, within minutes.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0020_sso_logins"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("sso_logins"))
                    .col(id("id").primary_key())
                    .col(blob("state_lookup").unique_key())
                    .col(blob("secrets_ct"))
                    .col(millis("created_at"))
                    .col(millis("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_sso_logins_expiry", "sso_logins", &["expires_at"]))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the SSO migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
