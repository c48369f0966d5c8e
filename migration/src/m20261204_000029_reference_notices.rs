//! PostgreSQL tells every server process when reference data a registration reads changes:
//! the subject list, a county's calendar of working days, a county's settings. Rows added
//! count as well as rows changed or removed, since a process keeps what it found *and* what
//! it did not (a county with no settings row, a day that is not an exception). The trigger
//! function is migration 023's: its notification carries the table's name, arrives only if
//! the change commits, and makes every process forget its copy (api/src/directory.rs).

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 3] = ["subjects", "calendar_days", "county_settings"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for table in TABLES {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_directory AFTER INSERT OR UPDATE OR DELETE ON {table}
                     FOR EACH ROW EXECUTE FUNCTION xinfang_directory_changed();
                 CREATE TRIGGER {table}_directory_truncate AFTER TRUNCATE ON {table}
                     FOR EACH STATEMENT EXECUTE FUNCTION xinfang_directory_truncated();"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for table in TABLES {
            db.execute_unprepared(&format!(
                "DROP TRIGGER {table}_directory ON {table};
                 DROP TRIGGER {table}_directory_truncate ON {table};"
            ))
            .await?;
        }
        Ok(())
    }
}
