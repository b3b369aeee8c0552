use super::*;

/// Monitoring: alerts raised by rules over the audit stream (with notes and outside
/// deliveries), the stream readers' positions, and in-app notifications that point at an alert.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0027_monitoring"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("alerts"))
                    .col(id("id").primary_key())
                    .col(text("rule"))
                    .col(text("severity"))
                    .col(text("status"))
                    .col(col("subject_user_id").uuid().null())
                    .col(text("subject_key"))
                    .col(text("detail"))
                    .col(col("first_seq").big_integer().not_null())
                    .col(col("last_seq").big_integer().not_null())
                    .col(col("occurrences").big_integer().not_null())
                    .col(text_null("action"))
                    .col(col("owner_id").uuid().null())
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("resolved_at"))
                    .col(col("version").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_alerts_status", &["status", "created_at"][..]),
            ("ix_alerts_created", &["created_at", "id"][..]),
            ("ix_alerts_subject", &["rule", "subject_key", "status"][..]),
        ] {
            manager.create_index(index(name, "alerts", cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(t("alert_notes"))
                    .col(id("id").primary_key())
                    .col(id("alert_id"))
                    .col(id("author_id"))
                    .col(blob("body_ct"))
                    .col(millis("created_at"))
                    .foreign_key(&mut fk(
                        "alert_notes",
                        "alert_id",
                        "alerts",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_alert_notes_alert",
                "alert_notes",
                &["alert_id", "created_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(t("alert_deliveries"))
                    .col(id("id").primary_key())
                    .col(id("alert_id"))
                    .col(text("channel"))
                    .col(text("status"))
                    .col(col("attempts").big_integer().not_null())
                    .col(millis("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(millis_null("delivered_at"))
                    .col(millis("created_at"))
                    .foreign_key(&mut fk(
                        "alert_deliveries",
                        "alert_id",
                        "alerts",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_alert_deliveries_due",
                "alert_deliveries",
                &["status", "next_attempt_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(t("audit_cursors"))
                    .col(col("name").text().not_null().primary_key())
                    .col(col("seq").big_integer().not_null())
                    .col(millis("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(t("notifications"))
                    .add_column(col("alert_id").uuid().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "this migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
