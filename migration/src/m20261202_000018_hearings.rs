//! Hearings (信访听证, domain §10) and the county settings they need:
//! - `county_settings`: per county, the days of notice a hearing needs (default 10) and the
//!   hours within which an urgent matter or a group visit must be registered (default 24).
//! - `hearings`: a hearing on a case — when, where, chair, participants (JSON), the notice,
//!   the outcome — and the pause of the decision clock it caused: which clock, its due time
//!   before, the working days paused and the due time after.
//! - `cases.clock_paused_at`: set while a hearing holds the case's decision clock.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("county_settings")
                    .col(big_integer("county_id").primary_key())
                    .col(integer("hearing_notice_days").default(10))
                    .col(integer("registration_limit_hours").default(24))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("county_settings", "county_id")
                            .to("org_units", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("hearings")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("case_id"))
                    .col(big_integer("unit_id"))
                    .col(big_integer("scheduled_by_user_id"))
                    .col(timestamp_with_time_zone("held_at"))
                    .col(text("place"))
                    .col(text("chair"))
                    .col(text("participants"))
                    .col(timestamp_with_time_zone("notified_at"))
                    .col(string("status"))
                    .col(string_null("paused_kind"))
                    .col(timestamp_with_time_zone_null("due_before"))
                    .col(text_null("minutes"))
                    .col(text_null("outcome"))
                    .col(text_null("public_notice"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .col(big_integer_null("ended_by_user_id"))
                    .col(integer_null("paused_working_days"))
                    .col(timestamp_with_time_zone_null("due_after"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("hearings", "case_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_hearings_case")
                    .table("hearings")
                    .col("case_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("cases")
                    .add_column(timestamp_with_time_zone_null("clock_paused_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "hearings are part of the record and are not dropped".into(),
        ))
    }
}
