use super::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_tasks"
    }
}

fn int(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().not_null();
    c
}

fn uuid_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.uuid().null();
    c
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut all_day = col("due_all_day");
        all_day.boolean().not_null();
        manager
            .create_table(
                Table::create()
                    .table(t("tasks"))
                    .col(id("id").primary_key())
                    .col(id("dek_id"))
                    .col(blob("title_ct"))
                    .col(blob_null("notes_ct"))
                    .col(id("assignee_id"))
                    .col(id("created_by"))
                    .col(text("status"))
                    .col(text("priority"))
                    .col(int("priority_rank"))
                    .col(millis_null("due_at"))
                    .col(all_day)
                    .col(int("due_key"))
                    .col(millis_null("remind_at"))
                    .col(millis_null("reminded_at"))
                    .col(uuid_null("contact_id"))
                    .col(uuid_null("company_id"))
                    .col(uuid_null("deal_id"))
                    .col(millis_null("completed_at"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("deleted_at"))
                    .col(int("version"))
                    .foreign_key(&mut fk(
                        "tasks",
                        "dek_id",
                        "data_keys",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "tasks",
                        "assignee_id",
                        "users",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "tasks",
                        "created_by",
                        "users",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "tasks",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "tasks",
                        "company_id",
                        "companies",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "tasks",
                        "deal_id",
                        "deals",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // "My tasks": one assignee's tasks in a status, by due date.
            (
                "ix_tasks_assignee",
                &["assignee_id", "status", "due_key", "id"][..],
            ),
            // Overdue scans: a status, then due moments before now.
            ("ix_tasks_status_due", &["status", "due_key", "id"][..]),
            ("ix_tasks_due", &["due_key", "id"][..]),
            ("ix_tasks_priority", &["priority_rank", "id"][..]),
            ("ix_tasks_created", &["created_at", "id"][..]),
            ("ix_tasks_updated", &["updated_at", "id"][..]),
            // A record's tasks (contact, company and deal pages).
            ("ix_tasks_contact", &["contact_id", "due_key"][..]),
            ("ix_tasks_company", &["company_id", "due_key"][..]),
            ("ix_tasks_deal", &["deal_id", "due_key"][..]),
            // The reminder sweep: not yet reminded, reminder moment passed.
            ("ix_tasks_reminder", &["reminded_at", "remind_at"][..]),
        ] {
            manager.create_index(index(name, "tasks", cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(t("notifications"))
                    .col(id("id").primary_key())
                    .col(id("user_id"))
                    .col(text("kind"))
                    .col(uuid_null("task_id"))
                    .col(uuid_null("actor_id"))
                    .col(millis("created_at"))
                    .col(millis_null("read_at"))
                    .foreign_key(&mut fk(
                        "notifications",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "notifications",
                        "task_id",
                        "tasks",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "notifications",
                        "actor_id",
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // A user's notifications, newest first.
            (
                "ix_notifications_user",
                &["user_id", "created_at", "id"][..],
            ),
            // Unread ones: the bell's count and the unread filter.
            (
                "ix_notifications_unread",
                &["user_id", "read_at", "created_at"][..],
            ),
            ("ix_notifications_task", &["task_id"][..]),
        ] {
            manager
                .create_index(index(name, "notifications", cols))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(t("notification_deliveries"))
                    .col(id("id").primary_key())
                    .col(id("notification_id"))
                    .col(text("channel"))
                    .col(text("status"))
                    .col(int("attempts"))
                    .col(millis("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(millis_null("delivered_at"))
                    .col(millis("created_at"))
                    .foreign_key(&mut fk(
                        "notification_deliveries",
                        "notification_id",
                        "notifications",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        let mut once_per_channel = index(
            "ux_notification_deliveries_channel",
            "notification_deliveries",
            &["notification_id", "channel"],
        );
        manager
            .create_index(once_per_channel.unique().to_owned())
            .await?;
        manager
            .create_index(index(
                "ix_notification_deliveries_due",
                "notification_deliveries",
                &["status", "next_attempt_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the tasks migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
