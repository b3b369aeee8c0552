use super::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_custom_fields"
    }
}

fn int(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().not_null();
    c
}

fn int_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().null();
    c
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("custom_fields"))
                    .col(id("id").primary_key())
                    .col(text("entity"))
                    .col(text("key"))
                    .col(text("label_en"))
                    .col(text("label_zh"))
                    .col(text_null("help_en"))
                    .col(text_null("help_zh"))
                    .col(text("kind"))
                    .col(int_null("max_length"))
                    .col(int_null("decimals"))
                    .col(int_null("min_scaled"))
                    .col(int_null("max_scaled"))
                    .col(text("options"))
                    .col(text("classification"))
                    .col(int("required"))
                    .col(int("position"))
                    .col(millis_null("archived_at"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(int("version"))
                    .to_owned(),
            )
            .await?;
        // The key is a stable slug per entity (values and exports refer to it).
        let mut unique = index(
            "ux_custom_fields_entity_key",
            "custom_fields",
            &["entity", "key"],
        );
        manager.create_index(unique.unique().to_owned()).await?;
        manager
            .create_index(index(
                "ix_custom_fields_entity_position",
                "custom_fields",
                &["entity", "position", "id"],
            ))
            .await?;

        // One row per record and field. No foreign key to the record: it may be a contact,
        // a company or a deal; the definition is never deleted (only archived), so its key is.
        manager
            .create_table(
                Table::create()
                    .table(t("custom_field_values"))
                    .col(id("record_id"))
                    .col(id("field_id"))
                    .col(text("entity"))
                    .col(text_null("value_text"))
                    .col(int_null("value_number"))
                    .col(blob_null("value_ct"))
                    .col(millis("updated_at"))
                    .primary_key(&mut pk(&["record_id", "field_id"]))
                    .foreign_key(&mut fk(
                        "custom_field_values",
                        "field_id",
                        "custom_fields",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // Lists filter on a plain value: exact text, or a number.
            (
                "ix_custom_field_values_text",
                &["field_id", "value_text", "record_id"][..],
            ),
            (
                "ix_custom_field_values_number",
                &["field_id", "value_number", "record_id"][..],
            ),
        ] {
            manager
                .create_index(index(name, "custom_field_values", cols))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the custom fields migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
