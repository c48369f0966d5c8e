//! PostgreSQL tells every server process when what a viewer is changes: a session revoked,
//! shortened or deleted; an account's role, unit or standing changed, or the account deleted;
//! any unit changed or deleted. The notification (`xinfang_directory`, the table's name as
//! payload) is sent inside the changing transaction, so it arrives when, and only if, the
//! change commits — whichever program made it. Processes keep a copy of sessions and units
//! only while they hear these (api/src/directory.rs). SQLite needs none: nothing is copied.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE FUNCTION xinfang_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('xinfang_directory', TG_TABLE_NAME);
    ELSIF TG_TABLE_NAME = 'sessions' THEN
        IF NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
           OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
           OR NEW.user_id IS DISTINCT FROM OLD.user_id THEN
            PERFORM pg_notify('xinfang_directory', TG_TABLE_NAME);
        END IF;
    ELSIF TG_TABLE_NAME = 'users' THEN
        IF NEW.role IS DISTINCT FROM OLD.role
           OR NEW.org_unit_id IS DISTINCT FROM OLD.org_unit_id
           OR NEW.active IS DISTINCT FROM OLD.active
           OR NEW.id IS DISTINCT FROM OLD.id THEN
            PERFORM pg_notify('xinfang_directory', TG_TABLE_NAME);
        END IF;
    ELSE
        PERFORM pg_notify('xinfang_directory', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_directory AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION xinfang_directory_changed();
CREATE TRIGGER users_directory AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION xinfang_directory_changed();
CREATE TRIGGER org_units_directory AFTER UPDATE OR DELETE ON org_units
    FOR EACH ROW EXECUTE FUNCTION xinfang_directory_changed();
CREATE FUNCTION xinfang_directory_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('xinfang_directory', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_directory_truncate AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION xinfang_directory_truncated();
CREATE TRIGGER users_directory_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION xinfang_directory_truncated();
CREATE TRIGGER org_units_directory_truncate AFTER TRUNCATE ON org_units
    FOR EACH STATEMENT EXECUTE FUNCTION xinfang_directory_truncated();
"#;

const DOWN: &str = r#"
DROP TRIGGER sessions_directory ON sessions;
DROP TRIGGER users_directory ON users;
DROP TRIGGER org_units_directory ON org_units;
DROP TRIGGER sessions_directory_truncate ON sessions;
DROP TRIGGER users_directory_truncate ON users;
DROP TRIGGER org_units_directory_truncate ON org_units;
DROP FUNCTION xinfang_directory_changed();
DROP FUNCTION xinfang_directory_truncated();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
