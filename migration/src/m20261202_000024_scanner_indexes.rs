//! Indexes for the deadline scanner (issue: performance). Every few minutes it looks for
//! supervision orders still unanswered and reports owed to a higher body whose time is
//! near or past; without these it read every row of both tables to find the few that are
//! open (on the benchmark's 100,000 cases, 282 ms and 121 ms per scan). Both indexes hold
//! only the open rows, so they stay small however long the county's history grows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: [&str; 2] = [
    "CREATE INDEX ix_supervisions_open_due ON supervisions (due_at) WHERE answered_at IS NULL",
    "CREATE INDEX ix_cases_higher_report_owed ON cases (higher_report_due_at) \
     WHERE higher_report_due_at IS NOT NULL AND higher_reported_at IS NULL AND sent_up_at IS NULL",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Partial indexes read the same on both databases.
        for sql in UP {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_supervisions_open_due", "ix_cases_higher_report_owed"] {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP INDEX {name}"))
                .await?;
        }
        Ok(())
    }
}
