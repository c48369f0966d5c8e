//! Every folding round asks which folded days have lapsed: a deadline of their cases has
//! passed since (`valid_until <= now`), or they were folded by a clock ahead of this one
//! (`folded_at > now`). Without an index each round read every row of `stat_days` (a
//! county's history is hundreds of thousands of rows): work the database did every few
//! seconds for nothing while the server stood idle. Few days have a `valid_until` (those with
//! a case still running), so that index keeps only them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 2] = [
    (
        "ix_stat_days_lapse",
        "stat_days (valid_until) WHERE valid_until IS NOT NULL",
    ),
    ("ix_stat_days_folded_at", "stat_days (folded_at)"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, on) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON {on}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
