//! `admin_events`: the append-only, hash-chained record of administrative actions — accounts,
//! units, the subject list and the calendar — in one sequence for the whole database.
//!
//! Administration decides who reads every case (an account in the petition bureau reads its
//! county's), so who did it must be on a record that cannot be quietly rewritten: like the
//! case timeline, both databases refuse UPDATE and DELETE on it, and PostgreSQL refuses
//! TRUNCATE too.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("admin_events")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("seq").unique_key())
                    .col(timestamp_with_time_zone("at"))
                    .col(big_integer_null("actor_user_id"))
                    .col(big_integer_null("actor_unit_id"))
                    .col(string("action"))
                    .col(big_integer_null("unit_id"))
                    .col(string("target"))
                    .col(text("detail"))
                    .col(string("prev_hash"))
                    .col(string("hash"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION admin_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'admin_events is append-only'; END $$;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER admin_events_append_only BEFORE UPDATE OR DELETE ON admin_events \
                     FOR EACH ROW EXECUTE FUNCTION admin_events_append_only();",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER admin_events_no_truncate BEFORE TRUNCATE ON admin_events \
                     FOR EACH STATEMENT EXECUTE FUNCTION admin_events_append_only();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER admin_events_no_update BEFORE UPDATE ON admin_events \
                     BEGIN SELECT RAISE(ABORT, 'admin_events is append-only'); END;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER admin_events_no_delete BEFORE DELETE ON admin_events \
                     BEGIN SELECT RAISE(ABORT, 'admin_events is append-only'); END;",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the administrative record is not removed".into(),
        ))
    }
}
