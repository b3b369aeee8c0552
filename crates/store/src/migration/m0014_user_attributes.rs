use super::*;

/// Users belong to a team, a department and a region: the attributes authorization policies
/// evaluate (record visibility by team and territory).
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_user_attributes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["team", "department", "region"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(t("users"))
                        .add_column(text_null(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the user attributes migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
