//! `case_sight`: one row per case and unit that has any relation row to it, carrying the
//! case's received time.
//!
//! `case_units` may hold several rows for one unit and case (lead and territory, say), so it
//! cannot drive "the newest cases my unit may see" in index order without collapsing them.
//! `case_sight` holds exactly one, and its index on (unit, received time, case) gives a
//! township or department its newest cases by walking only its own rows — however rare the
//! unit is among the county's newest cases. Triggers keep it in step with `case_units` in the
//! same transaction as every change, on both databases; nothing else writes it.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("case_sight")
                    .col(big_integer("unit_id"))
                    .col(big_integer("case_id"))
                    .col(timestamp_with_time_zone("received_at"))
                    .primary_key(Index::create().col("unit_id").col("case_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_sight", "case_id")
                            .to("cases", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_sight", "unit_id")
                            .to("org_units", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_case_sight_unit_received")
                    .table("case_sight")
                    .col("unit_id")
                    .col("received_at")
                    .col("case_id")
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO case_sight (unit_id, case_id, received_at) \
             SELECT DISTINCT unit_id, case_id, received_at FROM case_units",
        )
        .await?;
        let gone = "DELETE FROM case_sight WHERE unit_id = OLD.unit_id AND case_id = OLD.case_id \
                    AND NOT EXISTS (SELECT 1 FROM case_units \
                    WHERE unit_id = OLD.unit_id AND case_id = OLD.case_id)";
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION case_sight_follow() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       IF TG_OP = 'INSERT' THEN \
                         INSERT INTO case_sight (unit_id, case_id, received_at) \
                         VALUES (NEW.unit_id, NEW.case_id, NEW.received_at) ON CONFLICT DO NOTHING; \
                         RETURN NEW; \
                       END IF; \
                       {gone}; \
                       RETURN OLD; \
                     END $$;"
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER case_sight_follow AFTER INSERT OR DELETE ON case_units \
                     FOR EACH ROW EXECUTE FUNCTION case_sight_follow();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER case_sight_insert AFTER INSERT ON case_units BEGIN \
                     INSERT OR IGNORE INTO case_sight (unit_id, case_id, received_at) \
                     VALUES (NEW.unit_id, NEW.case_id, NEW.received_at); END;",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER case_sight_delete AFTER DELETE ON case_units BEGIN {gone}; END;"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER case_sight_follow ON case_units")
                    .await?;
                db.execute_unprepared("DROP FUNCTION case_sight_follow()")
                    .await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER case_sight_insert")
                    .await?;
                db.execute_unprepared("DROP TRIGGER case_sight_delete")
                    .await?;
            }
        }
        manager
            .drop_table(Table::drop().table("case_sight").to_owned())
            .await
    }
}
