use super::*;

/// Authorization by policy: users hold any number of roles (`user_roles`, replacing the single
/// `users.role`), a clearance for restricted records, and contacts gain the access attributes
/// policies evaluate (region, sensitivity). Existing administrators keep the data access they
/// had (`administrator` + `all_records`); existing staff become `sales`.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0022_authorization"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("user_roles"))
                    .col(id("user_id"))
                    .col(text("role"))
                    .col(millis("granted_at"))
                    .primary_key(&mut pk(&["user_id", "role"]))
                    .foreign_key(&mut fk(
                        "user_roles",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_user_roles_role",
                "user_roles",
                &["role", "user_id"],
            ))
            .await?;
        let db = manager.get_connection();
        for (from, to) in [
            ("administrator", "administrator"),
            ("administrator", "all_records"),
            ("staff", "sales"),
        ] {
            db.execute_unprepared(&format!(
                "INSERT INTO user_roles (user_id, role, granted_at) \
                 SELECT id, '{to}', updated_at FROM users WHERE role = '{from}'"
            ))
            .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(t("users"))
                    .drop_column(t("role"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(t("users"))
                    .add_column(col("clearance").big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(t("contacts"))
                    .add_column(text_null("region"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(t("contacts"))
                    .add_column(col("sensitivity").big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_contacts_region",
                "contacts",
                &["region", "created_at", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_complaints_contact_assignee",
                "complaints",
                &["contact_id", "assignee_id"],
            ))
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "this migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
