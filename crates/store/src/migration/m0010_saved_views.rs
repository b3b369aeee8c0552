use super::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_saved_views"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("saved_views"))
                    .col(id("id").primary_key())
                    .col(id("user_id"))
                    .col(text("entity"))
                    .col(blob("name_ct"))
                    .col(text("query"))
                    .col(col("position").big_integer().not_null())
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(col("version").big_integer().not_null())
                    .foreign_key(&mut fk(
                        "saved_views",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_saved_views_user",
                "saved_views",
                &["user_id", "entity", "position"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the saved views migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
