//! Leaders' instructions (批示, domain §10): a leader's written instruction on a case they
//! see, for the unit in charge, and that unit's report back on it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("instructions")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("case_id"))
                    .col(big_integer("leader_user_id"))
                    .col(big_integer("leader_unit_id"))
                    .col(big_integer("to_unit_id"))
                    .col(text("text"))
                    .col(timestamp_with_time_zone("given_at"))
                    .col(text_null("report"))
                    .col(timestamp_with_time_zone_null("reported_at"))
                    .col(big_integer_null("reported_by_user_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("instructions", "case_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_instructions_case")
                    .table("instructions")
                    .col("case_id")
                    .col("id")
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
            "leaders' instructions are part of the record and are not dropped".into(),
        ))
    }
}
