use super::*;

/// Security events: sign-ins and refusals worth a person's attention (a new device or network,
/// success after many failures, a session used from a second network, an ended session
/// presented again, wrong codes and passkeys, API tokens used outside their limits). Each
/// carries the client as field ciphertext and keyed hashes of its network and device family, so
/// "seen before" is a lookup, never a decryption.
///
/// On `sessions`: the keyed hash of the network it was opened from, and when it was first seen
/// from another network or used after it ended (each reported once).
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0019_security_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("security_events"))
                    .col(id("id").primary_key())
                    .col(col("user_id").uuid().null())
                    .col(col("session_id").uuid().null())
                    .col(text("kind"))
                    .col(millis("occurred_at"))
                    .col(blob_null("client_ct"))
                    .col(blob_null("network_lookup"))
                    .col(blob_null("device_lookup"))
                    .col(text_null("detail"))
                    .foreign_key(&mut fk(
                        "security_events",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_security_events_user",
                "security_events",
                &["user_id", "occurred_at"],
            ))
            .await?;
        let session_columns = [
            blob_null("network_lookup"),
            millis_null("network_changed_at"),
            millis_null("used_after_end_at"),
        ];
        for mut column in session_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(t("sessions"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the security events migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
