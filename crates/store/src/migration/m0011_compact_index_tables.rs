use super::*;

/// SQLite only: the two tables that are nothing but a key (blind-index tokens and tags) become
/// `WITHOUT ROWID` tables clustered on their primary key. A rowid table stores every token
/// twice (the row and its primary-key index); clustered, an import writes two B-tree entries
/// per token instead of three. PostgreSQL keeps heap tables, so nothing changes there.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_compact_index_tables"
    }
}

/// (table, its secondary index, that index's columns)
const TABLES: [(&str, &str, &str); 2] = [
    ("search_tokens", "ix_search_tokens_entity_id", "entity_id"),
    ("record_tags", "ix_record_tags_entity_id", "entity_id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite migrations run outside a transaction by default; this one drops and renames
    /// tables, so a crash part-way must leave the old tables as they were.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for (table, index, columns) in TABLES {
            // The table is rebuilt from its own recorded definition so column types stay
            // exactly as the first migration created them.
            let ddl = db
                .query_one_raw(sea_orm::Statement::from_sql_and_values(
                    sea_orm::DatabaseBackend::Sqlite,
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                    [table.into()],
                ))
                .await?
                .map(|row| row.try_get::<String>("", "sql"))
                .transpose()?
                .ok_or_else(|| DbErr::Migration(format!("table {table} is missing")))?;
            let quoted = format!("\"{table}\"");
            if !ddl.contains(&quoted) {
                return Err(DbErr::Migration(format!(
                    "unexpected definition of table {table}"
                )));
            }
            let staging = format!("{table}_compact");
            let create = format!(
                "{} WITHOUT ROWID",
                ddl.replacen(&quoted, &format!("\"{staging}\""), 1)
            );
            for sql in [
                create,
                format!("INSERT INTO \"{staging}\" SELECT * FROM \"{table}\""),
                format!("DROP TABLE \"{table}\""),
                format!("ALTER TABLE \"{staging}\" RENAME TO \"{table}\""),
                format!("CREATE INDEX \"{index}\" ON \"{table}\" (\"{columns}\")"),
            ] {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the compact index tables migration cannot be reverted; restore a backup instead"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use sea_orm::{ConnectionTrait, Statement};

    async fn rows(db: &sea_orm::DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
        db.query_all_raw(Statement::from_string(sea_orm::DbBackend::Sqlite, sql))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_existing_database_keeps_its_tokens_and_tags() {
        let path =
            std::env::temp_dir().join(format!("custodian-m0011-{}.db", uuid::Uuid::new_v4()));
        let db = sea_orm::Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        crate::migration::Migrator::up(&db, Some(10)).await.unwrap();
        let id = uuid::Uuid::from_u128(42);
        for sql in [
            "INSERT INTO search_tokens VALUES ('contact', 'email', 7, ?, 1)",
            "INSERT INTO search_tokens VALUES ('contact', 'name', 9, ?, 1)",
            "INSERT INTO record_tags VALUES ('contact', 'vip', ?)",
        ] {
            db.execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Sqlite,
                sql,
                [id.into()],
            ))
            .await
            .unwrap();
        }

        crate::migration::Migrator::up(&db, None).await.unwrap();

        for table in ["search_tokens", "record_tags"] {
            let ddl: String = rows(
                &db,
                &format!("SELECT sql FROM sqlite_master WHERE name = '{table}'"),
            )
            .await[0]
                .try_get("", "sql")
                .unwrap();
            assert!(ddl.ends_with("WITHOUT ROWID"), "{ddl}");
            assert!(ddl.contains(&format!("\"{table}\"")), "{ddl}");
        }
        let tokens = rows(
            &db,
            "SELECT field, token, entity_id FROM search_tokens ORDER BY token",
        )
        .await;
        let kept: Vec<(String, i64, uuid::Uuid)> = tokens
            .iter()
            .map(|r| {
                (
                    r.try_get("", "field").unwrap(),
                    r.try_get("", "token").unwrap(),
                    r.try_get("", "entity_id").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            vec![("email".to_owned(), 7, id), ("name".to_owned(), 9, id)]
        );
        assert_eq!(rows(&db, "SELECT tag FROM record_tags").await.len(), 1);
        let indexes = rows(
            &db,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN \
             ('ix_search_tokens_entity_id', 'ix_record_tags_entity_id')",
        )
        .await;
        assert_eq!(indexes.len(), 2);
        // The primary key still refuses a duplicate token.
        let duplicate = db
            .execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Sqlite,
                "INSERT INTO search_tokens VALUES ('contact', 'email', 7, ?, 1)",
                [id.into()],
            ))
            .await;
        assert!(duplicate.is_err());
        db.close().await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
