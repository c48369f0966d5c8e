//! Matters (信访事项), repeat links and the backlog (积案).
//!
//! Every case belongs to one matter (`cases.matter_id`). Repeat links are proposals the system
//! makes at registration and staff confirm or undo (`repeat_links`); only a confirmed link
//! joins two cases in one matter and sets `cases.repeat_of_id`.
//!
//! Links written before this migration were made by the machine alone (same ID number and
//! subject), which is not a confirmation: each becomes a proposal, its case starts a matter of
//! its own, and 不再受理 marks set from those links are cleared — declining a case on a
//! concluded matter is now a decision (`DECLINE_CONCLUDED`), never a flag.
//!
//! The backlog: `backlog_campaigns` (专项治理: a batch name, a target date, the county) and
//! `backlog_entries` (a matter listed in a campaign, its owning leader and lead unit, and its
//! status 列入 → 化解中 → 已化解 / 未化解).

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("matters")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("county_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        let columns: [ColumnDef; 2] = [
            big_integer_null("matter_id"),
            big_integer_null("acceptance_cited_case_id"),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table("cases")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("repeat_links")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("case_id"))
                    .col(big_integer("earlier_case_id"))
                    .col(string("state"))
                    .col(string("basis"))
                    .col(timestamp_with_time_zone_null("proposed_at"))
                    .col(text_null("reason"))
                    .col(big_integer_null("decided_by_user_id"))
                    .col(big_integer_null("decided_by_unit_id"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("backlog_campaigns")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("county_id"))
                    .col(string("name"))
                    .col(date("target_date"))
                    .col(big_integer("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("backlog_entries")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("campaign_id"))
                    .col(big_integer("matter_id"))
                    .col(big_integer("leader_user_id"))
                    .col(big_integer("lead_unit_id"))
                    .col(string("status"))
                    .col(string_null("resolution"))
                    .col(text_null("note"))
                    .col(big_integer("version"))
                    .col(timestamp_with_time_zone("listed_at"))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        let indexes = [
            ("cases_matter", "cases", vec!["matter_id"], false),
            (
                "repeat_links_pair",
                "repeat_links",
                vec!["case_id", "earlier_case_id"],
                true,
            ),
            (
                "repeat_links_earlier",
                "repeat_links",
                vec!["earlier_case_id"],
                false,
            ),
            (
                "backlog_entries_campaign_matter",
                "backlog_entries",
                vec!["campaign_id", "matter_id"],
                true,
            ),
            (
                "backlog_entries_matter",
                "backlog_entries",
                vec!["matter_id"],
                false,
            ),
        ];
        for (name, table, columns, unique) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            for c in columns {
                index.col(c);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }

        // Existing cases: each starts a matter of its own (numbered like the case, so the
        // two are easy to tell apart in an old database), and the machine's links become
        // proposals.
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO matters (id, county_id, created_at) \
             SELECT id, county_id, created_at FROM cases",
        )
        .await?;
        db.execute_unprepared("UPDATE cases SET matter_id = id")
            .await?;
        db.execute_unprepared(
            "INSERT INTO repeat_links (case_id, earlier_case_id, state, basis, proposed_at) \
             SELECT id, repeat_of_id, 'PROPOSED', 'ID_NUMBER SUBJECT', created_at \
             FROM cases WHERE repeat_of_id IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE cases SET repeat_of_id = NULL, not_acceptable = FALSE \
             WHERE repeat_of_id IS NOT NULL OR not_acceptable",
        )
        .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared(
                "SELECT setval(pg_get_serial_sequence('matters', 'id'), \
                 COALESCE((SELECT MAX(id) FROM matters), 0) + 1, false)",
            )
            .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("matters are not taken back".into()))
    }
}
