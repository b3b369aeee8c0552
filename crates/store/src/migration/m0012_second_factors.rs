use super::*;

/// Second factors and richer sessions: TOTP enrolments, recovery codes, and on each session its
/// stage (waiting for a second factor or active), how it was authenticated, when the user last
/// proved themselves (step-up), failed second-factor attempts, the encrypted client it came
/// from, and why it ended.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_second_factors"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let session_columns = [
            col("stage").text().not_null().default("active").to_owned(),
            col("auth_methods")
                .text()
                .not_null()
                .default("password")
                .to_owned(),
            col("reauthenticated_at")
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            col("factor_failures")
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            blob_null("client_ct"),
            text_null("end_reason"),
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
        manager
            .create_table(
                Table::create()
                    .table(t("user_totp"))
                    .col(id("user_id").primary_key())
                    .col(blob("secret_ct"))
                    .col(millis("created_at"))
                    .col(millis_null("confirmed_at"))
                    .col(millis_null("last_used_step"))
                    .foreign_key(&mut fk(
                        "user_totp",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(t("recovery_codes"))
                    .col(id("id").primary_key())
                    .col(id("user_id"))
                    .col(blob("code_hash").unique_key())
                    .col(millis("created_at"))
                    .col(millis_null("used_at"))
                    .foreign_key(&mut fk(
                        "recovery_codes",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_recovery_codes_user",
                "recovery_codes",
                &["user_id"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the second factors migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
