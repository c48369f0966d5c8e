//! 12345 hotline tickets (issue: other systems): the ticket numbers of the hotline platform
//! that a case was registered from or merged with (并单), unique per county, so the same
//! ticket registered twice finds the case it is on.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("hotline_tickets")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("county_id"))
                    .col(string("ticket_number"))
                    .col(big_integer("case_id"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(boolean("merged"))
                    .col(big_integer("added_by_user_id"))
                    .col(timestamp_with_time_zone("added_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("hotline_tickets", "case_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_hotline_tickets_county_number")
                    .table("hotline_tickets")
                    .col("county_id")
                    .col("ticket_number")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_hotline_tickets_case")
                    .table("hotline_tickets")
                    .col("case_id")
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
            "hotline tickets are part of the record and are not dropped".into(),
        ))
    }
}
