//! One migration set for both backends, embedded in the binary and applied at start.
//! Migrations are append-only: never edit one that has shipped; add a new one. Each names
//! itself explicitly (the derived name is the file's, the same for all of them).

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_deals::Migration),
            Box::new(m0003_leads::Migration),
        ]
    }
}

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
}

fn id(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.uuid().not_null();
    c
}

fn millis(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().not_null();
    c
}

fn millis_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().null();
    c
}

fn blob(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.blob().not_null();
    c
}

fn blob_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.blob().null();
    c
}

fn text(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.text().not_null();
    c
}

fn text_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.text().null();
    c
}

fn t(name: &str) -> Alias {
    Alias::new(name)
}

fn pk(cols: &[&str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    for c in cols {
        idx.col(t(c));
    }
    idx
}

fn fk(
    from_table: &str,
    from_col: &str,
    to_table: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(t(from_table), t(from_col))
        .to(t(to_table), t("id"))
        .on_delete(on_delete)
        .to_owned()
}

fn index(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(t(table));
    for c in cols {
        idx.col(t(c));
    }
    idx.to_owned()
}

mod m0001_initial {
    use super::*;

    #[derive(Debug)]
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0001_initial"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(t("key_versions"))
                        .col(text("kind"))
                        .col(col("version").big_integer().not_null())
                        .col(text("fingerprint"))
                        .col(millis("created_at"))
                        .primary_key(&mut pk(&["kind", "version"]))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(t("data_keys"))
                        .col(id("id").primary_key())
                        .col(text("scope"))
                        .col(col("root_version").big_integer().not_null())
                        .col(blob_null("wrapped"))
                        .col(millis("created_at"))
                        .col(millis_null("destroyed_at"))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index(
                    "ix_data_keys_root_version",
                    "data_keys",
                    &["root_version"],
                ))
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(t("users"))
                        .col(id("id").primary_key())
                        .col(blob("email_lookup").unique_key())
                        .col(blob("email_ct"))
                        .col(blob_null("display_name_ct"))
                        .col(text_null("password_hash"))
                        .col(text("role"))
                        .col(text_null("locale"))
                        .col(text("status"))
                        .col(millis("created_at"))
                        .col(millis("updated_at"))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(t("sessions"))
                        .col(id("id").primary_key())
                        .col(blob("token_hash").unique_key())
                        .col(id("user_id"))
                        .col(millis("created_at"))
                        .col(millis("last_seen_at"))
                        .col(millis_null("revoked_at"))
                        .foreign_key(&mut fk(
                            "sessions",
                            "user_id",
                            "users",
                            ForeignKeyAction::Cascade,
                        ))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index("ix_sessions_user", "sessions", &["user_id"]))
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(t("api_tokens"))
                        .col(id("id").primary_key())
                        .col(blob("token_hash").unique_key())
                        .col(id("user_id"))
                        .col(text("name"))
                        .col(millis("created_at"))
                        .col(millis_null("expires_at"))
                        .col(millis_null("last_used_at"))
                        .col(millis_null("revoked_at"))
                        .foreign_key(&mut fk(
                            "api_tokens",
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
                        .table(t("setup_codes"))
                        .col(id("id").primary_key())
                        .col(blob("code_hash").unique_key())
                        .col(text("purpose"))
                        .col(millis("created_at"))
                        .col(millis("expires_at"))
                        .col(millis_null("used_at"))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(t("companies"))
                        .col(id("id").primary_key())
                        .col(text("name"))
                        .col(text("name_sort"))
                        .col(text_null("industry"))
                        .col(text_null("size_band"))
                        .col(text_null("region"))
                        .col(text_null("website"))
                        .col(blob_null("address_ct"))
                        .col(id("dek_id"))
                        .col(col("owner_id").uuid().null())
                        .col(text("tags"))
                        .col(millis("created_at"))
                        .col(millis("updated_at"))
                        .col(millis_null("deleted_at"))
                        .col(col("version").big_integer().not_null())
                        .foreign_key(&mut fk(
                            "companies",
                            "dek_id",
                            "data_keys",
                            ForeignKeyAction::Restrict,
                        ))
                        .foreign_key(&mut fk(
                            "companies",
                            "owner_id",
                            "users",
                            ForeignKeyAction::SetNull,
                        ))
                        .to_owned(),
                )
                .await?;
            for (name, cols) in [
                ("ix_companies_created", &["created_at", "id"][..]),
                ("ix_companies_updated", &["updated_at", "id"][..]),
                ("ix_companies_name", &["name_sort", "id"][..]),
                ("ix_companies_owner", &["owner_id"][..]),
            ] {
                manager.create_index(index(name, "companies", cols)).await?;
            }
            manager
                .create_table(
                    Table::create()
                        .table(t("contacts"))
                        .col(id("id").primary_key())
                        .col(id("dek_id"))
                        .col(blob("name_ct"))
                        .col(blob_null("emails_ct"))
                        .col(blob_null("phones_ct"))
                        .col(blob_null("job_title_ct"))
                        .col(blob_null("address_ct"))
                        .col(blob_null("notes_ct"))
                        .col(col("company_id").uuid().null())
                        .col(col("owner_id").uuid().null())
                        .col(text_null("team"))
                        .col(text("tags"))
                        .col(millis("created_at"))
                        .col(millis("updated_at"))
                        .col(millis_null("deleted_at"))
                        .col(col("version").big_integer().not_null())
                        .foreign_key(&mut fk(
                            "contacts",
                            "dek_id",
                            "data_keys",
                            ForeignKeyAction::Restrict,
                        ))
                        .foreign_key(&mut fk(
                            "contacts",
                            "company_id",
                            "companies",
                            ForeignKeyAction::SetNull,
                        ))
                        .foreign_key(&mut fk(
                            "contacts",
                            "owner_id",
                            "users",
                            ForeignKeyAction::SetNull,
                        ))
                        .to_owned(),
                )
                .await?;
            for (name, cols) in [
                ("ix_contacts_created", &["created_at", "id"][..]),
                ("ix_contacts_updated", &["updated_at", "id"][..]),
                ("ix_contacts_company", &["company_id"][..]),
                ("ix_contacts_owner", &["owner_id"][..]),
                ("ix_contacts_team", &["team"][..]),
            ] {
                manager.create_index(index(name, "contacts", cols)).await?;
            }
            manager
                .create_table(
                    Table::create()
                        .table(t("search_tokens"))
                        .col(text("entity"))
                        .col(text("field"))
                        .col(col("token").big_integer().not_null())
                        .col(id("entity_id"))
                        .col(col("index_version").big_integer().not_null())
                        .primary_key(&mut pk(&["entity", "field", "token", "entity_id"]))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index(
                    "ix_search_tokens_entity_id",
                    "search_tokens",
                    &["entity_id"],
                ))
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(t("record_tags"))
                        .col(text("entity"))
                        .col(text("tag"))
                        .col(id("entity_id"))
                        .primary_key(&mut pk(&["entity", "tag", "entity_id"]))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index(
                    "ix_record_tags_entity_id",
                    "record_tags",
                    &["entity_id"],
                ))
                .await?;
            Ok(())
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            // Dropping customer data is never a migration step; restore from a backup instead.
            Err(DbErr::Migration(
                "the initial migration cannot be reverted; restore a backup instead".into(),
            ))
        }
    }
}

mod m0002_deals {
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
}

mod m0003_leads {
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
}
