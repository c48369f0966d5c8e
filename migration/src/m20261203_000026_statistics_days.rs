//! Statistics kept per day (issue 18, target 4): `stat_days` holds, per county-wide scope
//! (the petition bureau, the county unit), grouping and local day, the figures of the cases
//! received that day, as the server last folded them; `stat_dirty` lists the cases changed
//! since. Triggers write `stat_dirty` on every path that changes what a day's figures read —
//! a case (and, when its matter, repeat link or visibility changes, the cases that share its
//! matter or repeat it), its evaluation, its reviews and its referrals — so no code path can
//! forget to. `stat_counties` records that a county's days have been folded once; until
//! then every statistic is computed from the cases themselves.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns whose change may alter another case's figures: the matter and repeat link
/// (事项 counts, "came back", "repeats a visible case") and what decides visibility.
const SHARED: [&str; 7] = [
    "matter_id",
    "repeat_of_id",
    "sent_up_at",
    "accused_unit_id",
    "category",
    "channel",
    "county_id",
];

/// The tables whose rows count towards their case's figures.
const RELATED: [&str; 3] = ["evaluations", "reviews", "referrals"];

/// `OLD.c IS DISTINCT FROM NEW.c OR …` over the shared columns, in the backend's spelling.
pub(crate) fn shared_changed(distinct: &str) -> String {
    SHARED
        .iter()
        .map(|c| format!("OLD.{c} {distinct} NEW.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// PostgreSQL: the function this migration's trigger on `cases` runs (replaced by
/// `m20261204_000027_cheaper_stat_marks`, whose `down` puts this one back).
pub(crate) fn postgres_case_function() -> String {
    let changed = shared_changed("IS DISTINCT FROM");
    format!(
        "CREATE OR REPLACE FUNCTION stat_mark_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stat_dirty (case_id) VALUES (NEW.id);
  IF TG_OP = 'INSERT' OR {changed} THEN
    INSERT INTO stat_dirty (case_id)
      SELECT id FROM cases
      WHERE id <> NEW.id
        AND (matter_id = NEW.matter_id OR id = NEW.repeat_of_id OR repeat_of_id = NEW.id);
    IF TG_OP = 'UPDATE' THEN
      INSERT INTO stat_dirty (case_id)
        SELECT id FROM cases
        WHERE id <> NEW.id AND (matter_id = OLD.matter_id OR id = OLD.repeat_of_id);
    END IF;
  END IF;
  RETURN NULL;
END $$"
    )
}

fn postgres() -> Vec<String> {
    let mut sql = vec![
        postgres_case_function(),
        "CREATE TRIGGER stat_cases AFTER INSERT OR UPDATE ON cases \
         FOR EACH ROW EXECUTE FUNCTION stat_mark_case()"
            .into(),
        "CREATE FUNCTION stat_mark_related() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO stat_dirty (case_id) VALUES (OLD.case_id);
  ELSE
    INSERT INTO stat_dirty (case_id) VALUES (NEW.case_id);
  END IF;
  RETURN NULL;
END $$"
            .into(),
    ];
    for table in RELATED {
        sql.push(format!(
            "CREATE TRIGGER stat_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION stat_mark_related()"
        ));
    }
    sql
}

/// SQLite: this migration's insert trigger on `cases` (replaced by
/// `m20261204_000027_cheaper_stat_marks`, whose `down` puts this one back).
pub(crate) const SQLITE_CASE_INSERT: &str =
    "CREATE TRIGGER stat_cases_insert AFTER INSERT ON cases BEGIN
  INSERT INTO stat_dirty (case_id)
    SELECT id FROM cases
    WHERE id = NEW.id OR matter_id = NEW.matter_id OR id = NEW.repeat_of_id
       OR repeat_of_id = NEW.id;
END";

fn sqlite() -> Vec<String> {
    let changed = shared_changed("IS NOT");
    let mut sql = vec![
        SQLITE_CASE_INSERT.to_string(),
        format!(
            "CREATE TRIGGER stat_cases_update AFTER UPDATE ON cases BEGIN
  INSERT INTO stat_dirty (case_id) VALUES (NEW.id);
  INSERT INTO stat_dirty (case_id)
    SELECT id FROM cases
    WHERE ({changed}) AND id <> NEW.id
      AND (matter_id = NEW.matter_id OR matter_id = OLD.matter_id OR id = NEW.repeat_of_id
           OR id = OLD.repeat_of_id OR repeat_of_id = NEW.id);
END"
        ),
    ];
    for table in RELATED {
        for (event, row) in [("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")] {
            sql.push(format!(
                "CREATE TRIGGER stat_{table}_{} AFTER {event} ON {table} BEGIN
  INSERT INTO stat_dirty (case_id) VALUES ({row}.case_id);
END",
                event.to_lowercase()
            ));
        }
    }
    sql
}

/// The table recording each county's first fold (dropped by
/// `m20261204_000028_statistics_scopes`, whose `down` makes it again).
pub(crate) fn stat_counties() -> TableCreateStatement {
    Table::create()
        .table("stat_counties")
        .col(big_integer("county_id").primary_key())
        .col(timestamp_with_time_zone("started_at"))
        .col(timestamp_with_time_zone_null("ready_at"))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("stat_dirty")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("case_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_stat_dirty_case")
                    .table("stat_dirty")
                    .col("case_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("stat_days")
                    .col(big_integer("scope_unit_id"))
                    .col(string("kind"))
                    .col(string("day"))
                    .col(timestamp_with_time_zone("folded_at"))
                    .col(timestamp_with_time_zone_null("valid_until"))
                    .col(text("cells"))
                    .primary_key(Index::create().col("scope_unit_id").col("kind").col("day"))
                    .to_owned(),
            )
            .await?;
        manager.create_table(stat_counties()).await?;
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres(),
            _ => sqlite(),
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER stat_cases ON cases")
                    .await?;
                for table in RELATED {
                    db.execute_unprepared(&format!("DROP TRIGGER stat_{table} ON {table}"))
                        .await?;
                }
                db.execute_unprepared(
                    "DROP FUNCTION stat_mark_case(); DROP FUNCTION stat_mark_related();",
                )
                .await?;
            }
            _ => {
                for name in ["stat_cases_insert", "stat_cases_update"] {
                    db.execute_unprepared(&format!("DROP TRIGGER {name}"))
                        .await?;
                }
                for table in RELATED {
                    for event in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!("DROP TRIGGER stat_{table}_{event}"))
                            .await?;
                    }
                }
            }
        }
        for table in ["stat_counties", "stat_days", "stat_dirty"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
