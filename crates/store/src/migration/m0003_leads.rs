use super::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_leads"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let uuid_null = |name: &str| {
            let mut c = col(name);
            c.uuid().null();
            c
        };
        manager
            .create_table(
                Table::create()
                    .table(t("leads"))
                    .col(id("id").primary_key())
                    .col(id("dek_id"))
                    .col(blob_null("name_ct"))
                    .col(blob_null("email_ct"))
                    .col(blob_null("phone_ct"))
                    .col(blob_null("job_title_ct"))
                    .col(blob_null("notes_ct"))
                    .col(blob_null("status_reason_ct"))
                    .col(text_null("company_name"))
                    .col(text("source"))
                    .col(text("status"))
                    .col(col("score").big_integer().not_null())
                    .col(uuid_null("owner_id"))
                    .col(uuid_null("converted_contact_id"))
                    .col(uuid_null("converted_company_id"))
                    .col(uuid_null("converted_deal_id"))
                    .col(millis_null("converted_at"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("deleted_at"))
                    .col(col("version").big_integer().not_null())
                    .foreign_key(&mut fk(
                        "leads",
                        "dek_id",
                        "data_keys",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "leads",
                        "owner_id",
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "leads",
                        "converted_contact_id",
                        "contacts",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "leads",
                        "converted_company_id",
                        "companies",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "leads",
                        "converted_deal_id",
                        "deals",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_leads_created", &["created_at", "id"][..]),
            ("ix_leads_updated", &["updated_at", "id"][..]),
            ("ix_leads_score", &["score", "id"][..]),
            ("ix_leads_status", &["status", "updated_at"][..]),
            ("ix_leads_owner", &["owner_id", "updated_at"][..]),
        ] {
            manager.create_index(index(name, "leads", cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the leads migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
