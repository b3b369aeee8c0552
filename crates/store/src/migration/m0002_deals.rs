use super::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_deals"
    }
}

fn int(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().not_null();
    c
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("pipelines"))
                    .col(id("id").primary_key())
                    .col(text("name"))
                    .col(int("position"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(int("version"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(t("pipeline_stages"))
                    .col(id("id").primary_key())
                    .col(id("pipeline_id"))
                    .col(text("name"))
                    .col(int("position"))
                    .col(int("probability"))
                    .foreign_key(&mut fk(
                        "pipeline_stages",
                        "pipeline_id",
                        "pipelines",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_pipeline_stages_pipeline",
                "pipeline_stages",
                &["pipeline_id", "position"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(t("deals"))
                    .col(id("id").primary_key())
                    .col(id("pipeline_id"))
                    .col(id("stage_id"))
                    .col(text("title"))
                    .col(text("title_sort"))
                    .col(text("status"))
                    .col(col("amount_minor").big_integer().null())
                    .col(text_null("currency"))
                    .col(text_null("expected_close_on"))
                    .col(col("owner_id").uuid().null())
                    .col(col("company_id").uuid().null())
                    .col(col("contact_id").uuid().null())
                    .col(id("dek_id"))
                    .col(blob_null("outcome_reason_ct"))
                    .col(millis_null("closed_at"))
                    .col(millis("stage_entered_at"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("deleted_at"))
                    .col(int("version"))
                    .foreign_key(&mut fk(
                        "deals",
                        "pipeline_id",
                        "pipelines",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "deals",
                        "stage_id",
                        "pipeline_stages",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "deals",
                        "owner_id",
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "deals",
                        "company_id",
                        "companies",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "deals",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "deals",
                        "dek_id",
                        "data_keys",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_deals_board",
                &["pipeline_id", "stage_id", "updated_at", "id"][..],
            ),
            ("ix_deals_stage", &["stage_id"][..]),
            ("ix_deals_created", &["created_at", "id"][..]),
            ("ix_deals_updated", &["updated_at", "id"][..]),
            ("ix_deals_close", &["expected_close_on", "id"][..]),
            ("ix_deals_title", &["title_sort", "id"][..]),
            ("ix_deals_owner", &["owner_id", "updated_at"][..]),
            ("ix_deals_company", &["company_id", "updated_at"][..]),
            ("ix_deals_contact", &["contact_id", "updated_at"][..]),
        ] {
            manager.create_index(index(name, "deals", cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(t("deal_stage_changes"))
                    .col(id("id").primary_key())
                    .col(id("deal_id"))
                    .col(col("from_stage_id").uuid().null())
                    .col(id("to_stage_id"))
                    .col(text_null("from_status"))
                    .col(text("to_status"))
                    .col(id("changed_by"))
                    .col(millis("changed_at"))
                    .foreign_key(&mut fk(
                        "deal_stage_changes",
                        "deal_id",
                        "deals",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_deal_stage_changes_deal",
                "deal_stage_changes",
                &["deal_id", "changed_at", "id"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the deals migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
