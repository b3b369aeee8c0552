use super::*;

/// Every customer record carries the access attributes policies evaluate, as contacts do
/// since m0022: the owning team, the territory (region) and a sensitivity. Existing rows take
/// the team of their owner and, where they are about a contact, that contact's region and
/// sensitivity (a complaint about a restricted contact is restricted too).
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0023_record_access"
    }
}

/// Each record table with the column naming its owner.
const RECORD_TABLES: [(&str, &str); 8] = [
    ("companies", "owner_id"),
    ("deals", "owner_id"),
    ("leads", "owner_id"),
    ("orders", "owner_id"),
    ("activities", "owner_id"),
    ("tasks", "assignee_id"),
    ("complaints", "assignee_id"),
    ("survey_responses", "recorded_by"),
];

/// Tables whose rows may be about a contact.
const ABOUT_A_CONTACT: [&str; 6] = [
    "deals",
    "orders",
    "activities",
    "tasks",
    "complaints",
    "survey_responses",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, _) in RECORD_TABLES {
            let mut columns = vec![text_null("team")];
            // Companies already have a region.
            if table != "companies" {
                columns.push(text_null("region"));
            }
            columns.push(
                col("sensitivity")
                    .big_integer()
                    .not_null()
                    .default(0)
                    .to_owned(),
            );
            for column in columns {
                manager
                    .alter_table(Table::alter().table(t(table)).add_column(column).to_owned())
                    .await?;
            }
        }
        let db = manager.get_connection();
        for (table, owner) in RECORD_TABLES {
            db.execute_unprepared(&format!(
                "UPDATE {table} SET team = \
                 (SELECT users.team FROM users WHERE users.id = {table}.{owner})"
            ))
            .await?;
        }
        for table in ABOUT_A_CONTACT {
            db.execute_unprepared(&format!(
                "UPDATE {table} SET \
                 region = (SELECT contacts.region FROM contacts WHERE contacts.id = {table}.contact_id), \
                 sensitivity = COALESCE((SELECT contacts.sensitivity FROM contacts \
                   WHERE contacts.id = {table}.contact_id), 0) \
                 WHERE contact_id IS NOT NULL"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "this migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
