use super::*;

/// Refusals that name no account are recorded at most once a minute per network and kind;
/// this index answers "was one recorded lately from here?".
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0021_security_event_networks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                "ix_security_events_network",
                "security_events",
                &["network_lookup", "kind", "occurred_at"],
            ))
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "this migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
