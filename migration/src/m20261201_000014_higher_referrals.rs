//! Higher bodies as parties (domain §9): cases that came from a body above the county
//! (上级转交办) and matters the county sent up.
//!
//! `higher_referrals` holds one row per case and direction: `FROM_ABOVE` (the body, its
//! reference number, 转送 TRANSFER or 交办 ASSIGN, the report-back deadline, and the report
//! when made) or `UPWARD` (the body, the reason). `cases` gains what every list and count
//! reads without a join: `higher_report_due_at` / `higher_reported_at` (an assignment from
//! above owes a report back) and `sent_up_at` (the county no longer sees the content).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in [
            timestamp_with_time_zone_null("higher_report_due_at"),
            timestamp_with_time_zone_null("higher_reported_at"),
            timestamp_with_time_zone_null("sent_up_at"),
        ] {
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
                    .table("higher_referrals")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("case_id"))
                    .col(string("direction"))
                    .col(big_integer("higher_body_id"))
                    .col(string_null("mode"))
                    .col(string_null("reference_number"))
                    .col(text_null("reason"))
                    .col(timestamp_with_time_zone_null("report_due_at"))
                    .col(timestamp_with_time_zone_null("reported_at"))
                    .col(text_null("report_text"))
                    .col(big_integer_null("reported_by_user_id"))
                    .col(big_integer("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("higher_referrals", "case_id")
                            .to("cases", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("higher_referrals", "higher_body_id")
                            .to("higher_bodies", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_higher_referrals_case_direction")
                    .table("higher_referrals")
                    .col("case_id")
                    .col("direction")
                    .unique()
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
            "referrals to and from higher bodies are part of the record and are not dropped".into(),
        ))
    }
}
