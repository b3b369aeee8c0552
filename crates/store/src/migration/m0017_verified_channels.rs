use super::*;

/// E-mail and phone as verified channels, one-time codes sent through them, and one-time
/// account links (invitations, password resets).
///
/// On `users`: when the e-mail address was proven (an accepted invitation, a reset link or a
/// code), the encrypted phone number and when it was proven, when e-mail or SMS codes were
/// turned on as a second factor, and when the user was deleted (the row stays as a tombstone
/// without personal data, so records and history keep a valid reference).
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_verified_channels"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let user_columns = [
            millis_null("email_verified_at"),
            blob_null("phone_ct"),
            millis_null("phone_verified_at"),
            millis_null("email_codes_at"),
            millis_null("sms_codes_at"),
            millis_null("deleted_at"),
        ];
        for mut column in user_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(t("users"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(t("one_time_codes"))
                    .col(id("id").primary_key())
                    .col(id("user_id"))
                    .col(text("purpose"))
                    .col(text("channel"))
                    .col(blob("code_hash"))
                    .col(millis("created_at"))
                    .col(millis("expires_at"))
                    .col(col("attempts").big_integer().not_null().default(0))
                    .col(millis_null("used_at"))
                    .foreign_key(&mut fk(
                        "one_time_codes",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_one_time_codes_user",
                "one_time_codes",
                &["user_id", "created_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(t("account_links"))
                    .col(id("id").primary_key())
                    .col(id("user_id"))
                    .col(text("purpose"))
                    .col(blob("token_hash").unique_key())
                    .col(millis("created_at"))
                    .col(millis("expires_at"))
                    .col(millis_null("used_at"))
                    .col(col("created_by").uuid().null())
                    .foreign_key(&mut fk(
                        "account_links",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_account_links_user",
                "account_links",
                &["user_id", "created_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the verified channels migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
