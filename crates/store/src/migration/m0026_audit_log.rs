use super::*;

/// The tamper-evident audit log: events in one total order (`seq`, dense from 0), each with
/// its leaf hash and chain link; the head (size, chain link, Merkle frontier) that every
/// append locks, so concurrent writers — several PostgreSQL server processes included — build
/// one chain; and the signed checkpoints.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0026_audit_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("audit_events"))
                    .col(col("seq").big_integer().not_null().primary_key())
                    .col(id("id").unique_key())
                    .col(millis("occurred_at"))
                    .col(text("code"))
                    .col(text("outcome"))
                    .col(text("actor_kind"))
                    .col(col("actor_id").uuid().null())
                    .col(col("credential_id").uuid().null())
                    .col(text_null("target_type"))
                    .col(col("target_id").uuid().null())
                    .col(text("node"))
                    .col(blob_null("client_ct"))
                    .col(text_null("detail"))
                    .col(blob("leaf_hash"))
                    .col(blob("chain_hash"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_audit_events_actor", &["actor_id", "seq"][..]),
            ("ix_audit_events_target", &["target_id", "seq"][..]),
            ("ix_audit_events_code", &["code", "seq"][..]),
            ("ix_audit_events_time", &["occurred_at", "seq"][..]),
        ] {
            manager
                .create_index(index(name, "audit_events", cols))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(t("audit_head"))
                    .col(col("id").big_integer().not_null().primary_key())
                    .col(col("size").big_integer().not_null())
                    .col(blob("chain_hash"))
                    .col(blob("frontier"))
                    .to_owned(),
            )
            .await?;
        let empty_frontier = vec![0u8; 8];
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(t("audit_head"))
                    .columns([t("id"), t("size"), t("chain_hash"), t("frontier")])
                    .values_panic([
                        1i64.into(),
                        0i64.into(),
                        vec![0u8; 32].into(),
                        empty_frontier.into(),
                    ])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(t("audit_checkpoints"))
                    .col(col("tree_size").big_integer().not_null().primary_key())
                    .col(blob("root_hash"))
                    .col(blob("chain_hash"))
                    .col(millis("signed_at"))
                    .col(text("key_id"))
                    .col(blob("signature"))
                    .col(blob("frontier"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "this migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
