//! A citizen account's ID number is no longer unique.
//!
//! Nothing verifies who signs up, so a unique ID number let anyone learn whether a person has
//! an account (sign up with their number and see it refused), and let the first to sign up
//! with someone's number lock the real person out. Cases follow an account only where both
//! the ID number and the mobile number match what the case recorded, so two accounts with one
//! ID number see no more than either would alone.
//!
//! PostgreSQL drops the constraint. SQLite cannot drop a column constraint, so the table is
//! rebuilt the way SQLite documents: foreign keys off on the one connection, the new table
//! created, filled, swapped in and indexed in one transaction, foreign keys checked, back on.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_id_number_key; \
                     CREATE INDEX ix_users_id_number ON users (id_number);",
                )
                .await?;
            }
            _ => {
                // The connection's setting is put back as it was (every pooled connection is
                // opened alike).
                let enforced = crate::sqlite_foreign_keys(db).await?;
                // One call, so every statement runs on the same pooled connection.
                let rebuild = r#"PRAGMA foreign_keys = OFF;
                    BEGIN;
                    CREATE TABLE "users_rebuilt" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
                        "username" varchar NOT NULL, "username_key" varchar NOT NULL UNIQUE,
                        "display_name" varchar NOT NULL, "role" varchar NOT NULL,
                        "org_unit_id" integer NULL, "password_hash" varchar NOT NULL,
                        "active" boolean NOT NULL, "phone" varchar NULL, "id_number" varchar NULL,
                        "created_at" timestamp_with_timezone_text NOT NULL,
                        "updated_at" timestamp_with_timezone_text NOT NULL,
                        FOREIGN KEY ("org_unit_id") REFERENCES "org_units" ("id") );
                    INSERT INTO "users_rebuilt" ("id", "username", "username_key", "display_name",
                        "role", "org_unit_id", "password_hash", "active", "phone", "id_number",
                        "created_at", "updated_at")
                    SELECT "id", "username", "username_key", "display_name", "role",
                        "org_unit_id", "password_hash", "active", "phone", "id_number",
                        "created_at", "updated_at" FROM "users";
                    DROP TABLE "users";
                    ALTER TABLE "users_rebuilt" RENAME TO "users";
                    CREATE INDEX "ix_users_org_unit" ON "users" ("org_unit_id");
                    CREATE INDEX "ix_users_id_number" ON "users" ("id_number");
                    COMMIT;"#;
                db.execute_unprepared(&format!("{rebuild}\nPRAGMA foreign_keys = {enforced};"))
                    .await?;
                crate::sqlite_check_rebuilt(db, "users").await?;
            }
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        // SQLite: the rebuild manages its own transaction (foreign keys can only be switched
        // off outside one). PostgreSQL: the usual transaction.
        None
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "ID numbers are not made unique again: accounts may share one now".into(),
        ))
    }
}
