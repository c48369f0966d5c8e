//! Statistics folded for townships and departments too (issue 18, target 4).
//!
//! A township's or department's staff see the cases their unit has relation rows for, kept one
//! row per unit and case in `case_sight`. Their folded days stay exact only if a change of
//! those rows lists the cases whose figures it may move in `stat_dirty`, as the triggers of
//! `m20261203_000026_statistics_days` do for changes of the cases themselves:
//! - the case the unit gains or loses sight of;
//! - the other cases of its matter: "the matter came back" counts a matter that holds a
//!   confirmed repeat the viewer sees;
//! - the cases repeating it: a repeat counts only when the viewer sees the case it repeats.
//!
//! A new case's sight rows find its matter new (no other case) and nothing repeating it yet: a
//! registration pays two index probes per row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The marks for the case whose id `row` gives (`NEW.case_id` or `OLD.case_id`).
fn marks(row: &str) -> String {
    format!(
        "INSERT INTO stat_dirty (case_id) VALUES ({row});
  INSERT INTO stat_dirty (case_id)
    SELECT id FROM cases
    WHERE matter_id = (SELECT matter_id FROM cases WHERE id = {row}) AND id <> {row};
  INSERT INTO stat_dirty (case_id) SELECT id FROM cases WHERE repeat_of_id = {row};"
    )
}

fn postgres_up() -> Vec<String> {
    vec![
        format!(
            "CREATE FUNCTION stat_mark_sight() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
  {}
  ELSE
  {}
  END IF;
  RETURN NULL;
END $$",
            marks("OLD.case_id"),
            marks("NEW.case_id")
        ),
        "CREATE TRIGGER stat_case_sight AFTER INSERT OR DELETE ON case_sight \
         FOR EACH ROW EXECUTE FUNCTION stat_mark_sight()"
            .into(),
    ]
}

fn sqlite_up() -> Vec<String> {
    [("insert", "INSERT", "NEW"), ("delete", "DELETE", "OLD")]
        .into_iter()
        .map(|(name, event, row)| {
            format!(
                "CREATE TRIGGER stat_case_sight_{name} AFTER {event} ON case_sight BEGIN
  {}
END",
                marks(&format!("{row}.case_id"))
            )
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres_up(),
            _ => sqlite_up(),
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP TRIGGER stat_case_sight ON case_sight",
                "DROP FUNCTION stat_mark_sight()",
            ],
            _ => &[
                "DROP TRIGGER stat_case_sight_insert",
                "DROP TRIGGER stat_case_sight_delete",
            ],
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        // Without these marks a township's folded days would go stale unseen, should a later
        // `up` find them again: every scope is folded afresh (and counted from its cases
        // until then).
        for sql in ["DELETE FROM stat_days", "DELETE FROM stat_scopes"] {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
