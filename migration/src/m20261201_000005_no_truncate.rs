//! The case timeline refuses TRUNCATE on PostgreSQL, as it refuses UPDATE and DELETE: a
//! row trigger does not fire for TRUNCATE, so it needs a statement trigger of its own.
//! (SQLite has no TRUNCATE: `DELETE FROM` fires the row trigger.)

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events \
                     FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP TRIGGER case_events_no_truncate ON case_events;")
                .await?;
        }
        Ok(())
    }
}
