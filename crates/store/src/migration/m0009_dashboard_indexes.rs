use super::*;

/// Indexes for the dashboard's grouped reads (`repo::dashboard`).
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_dashboard_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, cols) in [
            // Open value by stage (`status = 'open'`) and won/lost per month (`status` in
            // won/lost, `closed_at` in the window), both within one pipeline.
            (
                "ix_deals_pipeline_status_closed",
                "deals",
                &["pipeline_id", "status", "closed_at"][..],
            ),
            // Activities per owner and kind over a period: a range on `occurred_at` answered
            // from the index alone.
            (
                "ix_activities_period_owner_kind",
                "activities",
                &["occurred_at", "owner_id", "kind", "deleted_at"][..],
            ),
        ] {
            manager.create_index(index(name, table, cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the dashboard indexes migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
