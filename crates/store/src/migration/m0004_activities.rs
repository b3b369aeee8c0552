use super::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_activities"
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
        let int_null = |name: &str| {
            let mut c = col(name);
            c.big_integer().null();
            c
        };
        manager
            .create_table(
                Table::create()
                    .table(t("activities"))
                    .col(id("id").primary_key())
                    .col(text("kind"))
                    .col(text_null("direction"))
                    .col(text_null("outcome"))
                    .col(id("dek_id"))
                    .col(blob_null("subject_ct"))
                    .col(blob_null("body_ct"))
                    .col(int_null("duration_minutes"))
                    .col(millis("occurred_at"))
                    .col(uuid_null("owner_id"))
                    .col(uuid_null("contact_id"))
                    .col(uuid_null("company_id"))
                    .col(uuid_null("deal_id"))
                    .col(id("created_by"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("deleted_at"))
                    .col(col("version").big_integer().not_null())
                    .foreign_key(&mut fk(
                        "activities",
                        "dek_id",
                        "data_keys",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "activities",
                        "owner_id",
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "activities",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "activities",
                        "company_id",
                        "companies",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "activities",
                        "deal_id",
                        "deals",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        // One index per timeline (newest first within the record) and one per owner for the
        // dashboard's activities-per-owner chart.
        for (name, cols) in [
            (
                "ix_activities_contact",
                &["contact_id", "occurred_at", "id"][..],
            ),
            (
                "ix_activities_company",
                &["company_id", "occurred_at", "id"][..],
            ),
            ("ix_activities_deal", &["deal_id", "occurred_at", "id"][..]),
            ("ix_activities_owner", &["owner_id", "occurred_at"][..]),
            ("ix_activities_occurred", &["occurred_at", "id"][..]),
        ] {
            manager
                .create_index(index(name, "activities", cols))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the activities migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
