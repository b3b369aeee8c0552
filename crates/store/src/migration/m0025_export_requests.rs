use super::*;

/// Bulk exports waiting for, or given, a second person's approval (separation of duties): what
/// would be exported (kind, format, filters), by whom and why, who decided, and whether the
/// approved file was downloaded. The reason and the decision note are free text a person
/// typed, so they are ciphertext under the organisation key.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0025_export_requests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("export_requests"))
                    .col(id("id").primary_key())
                    .col(text("kind"))
                    .col(text("format"))
                    .col(text("filters"))
                    .col(blob("reason_ct"))
                    .col(id("dek_id"))
                    .col(col("estimated_rows").big_integer().not_null())
                    .col(text("status"))
                    .col(id("requested_by"))
                    .col(millis("requested_at"))
                    .col(col("decided_by").uuid().null())
                    .col(millis_null("decided_at"))
                    .col(blob_null("decision_note_ct"))
                    .col(millis_null("downloaded_at"))
                    .col(col("exported_rows").big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_export_requests_status",
                "export_requests",
                &["status", "requested_at", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_export_requests_requester",
                "export_requests",
                &["requested_by", "requested_at", "id"],
            ))
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "this migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
