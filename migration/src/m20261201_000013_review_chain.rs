//! The review chain (domain §4, §8, §9): delivery, CHANGE that changes something, and
//! decisions above the county.
//!
//! - `replies`: a case may now hold several replies over its life (a review that quashes the
//!   reply sends the case back for a new one, 重新办理), so `case_id` is no longer unique; the
//!   review window starts at delivery (送达), so `review_request_by` is empty until then.
//!   `delivered_at`, `delivery_method`, `delivery_recorded_by_user_id` record the delivery;
//!   `quashed_by_review_id` marks a reply a review set aside or replaced.
//! - `reviews`: the same delivery columns for the decision; `change_mode` (REPLACE or REDO)
//!   for a CHANGE; `above_county` when the reviewing body sits above the deployment (the
//!   county's bureau records its decision), with `higher_body_id`, `document_number` and
//!   `decided_on`.
//! - `cases.awaiting_delivery`: a written decision (reply, review decision) has been issued
//!   and not yet delivered.
//! - `higher_bodies`: bodies above the county that are not units of the deployment (name and
//!   level, unique together).
//!
//! Replies and decisions issued before this migration were treated as delivered when issued;
//! they keep that (delivered at issue, method unrecorded).
//!
//! PostgreSQL alters `replies` in place, inside the migration's transaction. SQLite cannot
//! drop a column constraint, so the table is rebuilt as migration 008 rebuilt `users`, and
//! everything else runs in that same transaction (foreign keys can only be switched off
//! outside one, so the migration manages it itself).

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const REPLY_COLUMNS: &str = r#""id", "case_id", "outcome", "facts", "reasons", "basis",
    "signed_by_user_id", "unit_id", "review_unit_id", "review_request_by", "issued_at""#;

/// Everything after the `replies` rebuild, as SQL for `backend`: new columns, the
/// `higher_bodies` table, and the backfill of what earlier rows already implied.
fn the_rest(backend: DatabaseBackend) -> Vec<String> {
    fn build<S: SchemaStatementBuilder>(backend: DatabaseBackend, stmt: &S) -> String {
        match backend {
            DatabaseBackend::Postgres => stmt.build(PostgresQueryBuilder),
            _ => stmt.build(SqliteQueryBuilder),
        }
    }
    let delivery = || -> [ColumnDef; 3] {
        [
            timestamp_with_time_zone_null("delivered_at"),
            string_null("delivery_method"),
            big_integer_null("delivery_recorded_by_user_id"),
        ]
    };
    let mut out = vec![];
    let mut reply_columns = delivery().to_vec();
    reply_columns.push(big_integer_null("quashed_by_review_id"));
    for mut column in reply_columns {
        out.push(build(
            backend,
            &Table::alter()
                .table("replies")
                .add_column(&mut column)
                .to_owned(),
        ));
    }
    let mut review_columns = delivery().to_vec();
    review_columns.extend([
        string_null("change_mode"),
        boolean("above_county").default(false).to_owned(),
        big_integer_null("higher_body_id"),
        string_null("document_number"),
        date_null("decided_on"),
    ]);
    for mut column in review_columns {
        out.push(build(
            backend,
            &Table::alter()
                .table("reviews")
                .add_column(&mut column)
                .to_owned(),
        ));
    }
    out.push(build(
        backend,
        &Table::alter()
            .table("cases")
            .add_column(boolean("awaiting_delivery").default(false))
            .to_owned(),
    ));
    out.push(build(
        backend,
        &Table::create()
            .table("higher_bodies")
            .col(pk_auto("id").big_integer())
            .col(string("name"))
            .col(string("level"))
            .col(timestamp_with_time_zone("created_at"))
            .to_owned(),
    ));
    out.push(build(
        backend,
        &Index::create()
            .name("ux_higher_bodies_name_level")
            .table("higher_bodies")
            .col("name")
            .col("level")
            .unique()
            .to_owned(),
    ));
    // Earlier replies and decisions were treated as delivered when issued; an earlier CHANGE
    // put the reviewing body's decision in the reply's place.
    out.extend(
        [
            "UPDATE replies SET delivered_at = issued_at WHERE review_request_by IS NOT NULL",
            "UPDATE reviews SET delivered_at = decided_at WHERE decided_at IS NOT NULL",
            "UPDATE reviews SET change_mode = 'REPLACE' WHERE decision = 'CHANGE'",
            "UPDATE replies SET quashed_by_review_id = (SELECT MIN(r.id) FROM reviews r \
             WHERE r.case_id = replies.case_id AND r.decision = 'CHANGE') \
             WHERE EXISTS (SELECT 1 FROM reviews r WHERE r.case_id = replies.case_id \
             AND r.decision = 'CHANGE')",
        ]
        .map(str::to_owned),
    );
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE replies DROP CONSTRAINT IF EXISTS replies_case_id_key; \
                     ALTER TABLE replies ALTER COLUMN review_request_by DROP NOT NULL; \
                     CREATE INDEX ix_replies_case ON replies (case_id);",
                )
                .await?;
                for statement in the_rest(DatabaseBackend::Postgres) {
                    db.execute_unprepared(&statement).await?;
                }
            }
            _ => {
                let enforced = crate::sqlite_foreign_keys(db).await?;
                // One transaction for all of it: a failure part-way leaves the database as
                // it was, so the migration can simply run again.
                let rest = the_rest(DatabaseBackend::Sqlite).join(";\n");
                let script = format!(
                    r#"PRAGMA foreign_keys = OFF;
                    BEGIN;
                    CREATE TABLE "replies_rebuilt" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
                        "case_id" integer NOT NULL, "outcome" varchar NOT NULL, "facts" text NOT NULL,
                        "reasons" text NOT NULL, "basis" text NOT NULL,
                        "signed_by_user_id" integer NOT NULL, "unit_id" integer NOT NULL,
                        "review_unit_id" integer NULL,
                        "review_request_by" timestamp_with_timezone_text NULL,
                        "issued_at" timestamp_with_timezone_text NOT NULL,
                        FOREIGN KEY ("case_id") REFERENCES "cases" ("id") );
                    INSERT INTO "replies_rebuilt" ({REPLY_COLUMNS}) SELECT {REPLY_COLUMNS} FROM "replies";
                    DROP TABLE "replies";
                    ALTER TABLE "replies_rebuilt" RENAME TO "replies";
                    CREATE INDEX "ix_replies_case" ON "replies" ("case_id");
                    {rest};
                    COMMIT;
                    PRAGMA foreign_keys = {enforced};"#
                );
                db.execute_unprepared(&script).await?;
                crate::sqlite_check_rebuilt(db, "replies").await?;
            }
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        // SQLite: the rebuild manages its own transaction (foreign keys can only be switched
        // off outside one). PostgreSQL: the usual transaction around the whole migration.
        None
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "replies and reviews keep their history and are not narrowed again".into(),
        ))
    }
}
