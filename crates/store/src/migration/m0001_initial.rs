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
