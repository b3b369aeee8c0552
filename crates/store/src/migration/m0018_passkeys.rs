use super::*;

/// Passkeys (WebAuthn credentials) and the server-side state of WebAuthn ceremonies.
///
/// `passkeys.credential_lookup` is a keyed hash of the credential ID (unique: a credential
/// belongs to one account); the credential itself (public key, counter, flags) and the name the
/// user gave it are encrypted, so a database copy can neither read nor swap them.
/// `webauthn_ceremonies` holds a started registration or authentication (its challenge) until
/// it is finished once or expires.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0018_passkeys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("passkeys"))
                    .col(id("id").primary_key())
                    .col(id("user_id"))
                    .col(blob("credential_lookup").unique_key())
                    .col(blob("name_ct"))
                    .col(blob("credential_ct"))
                    .col(millis("created_at"))
                    .col(millis_null("last_used_at"))
                    .foreign_key(&mut fk(
                        "passkeys",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_passkeys_user",
                "passkeys",
                &["user_id", "created_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(t("webauthn_ceremonies"))
                    .col(id("id").primary_key())
                    .col(text("purpose"))
                    .col(col("user_id").uuid().null())
                    .col(col("session_id").uuid().null())
                    .col(blob("state_ct"))
                    .col(millis("created_at"))
                    .col(millis("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_webauthn_ceremonies_expiry",
                "webauthn_ceremonies",
                &["expires_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the passkeys migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
