//! Ownership plans (包案, domain §10): the plan a leader records on taking ownership of a case
//! — who coordinates, supervises, carries out and keeps contact with the petitioner, the goal,
//! by when — and the progress recorded against it. `due_at` is the end of `due_on` (local),
//! for the overdue list.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("ownership_plans")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("case_id"))
                    .col(big_integer("leader_user_id"))
                    .col(big_integer("leader_unit_id"))
                    .col(text("coordinator"))
                    .col(text("supervisor"))
                    .col(text("executor"))
                    .col(text("contact"))
                    .col(text("goal"))
                    .col(string("due_on"))
                    .col(timestamp_with_time_zone("due_at"))
                    .col(timestamp_with_time_zone("taken_at"))
                    .col(timestamp_with_time_zone_null("completed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("ownership_plans", "case_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_ownership_plans_case")
                    .table("ownership_plans")
                    .col("case_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ownership_plans_open_due")
                    .table("ownership_plans")
                    .col("completed_at")
                    .col("due_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("ownership_progress")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("plan_id"))
                    .col(big_integer("case_id"))
                    .col(big_integer("user_id"))
                    .col(text("text"))
                    .col(boolean("completes"))
                    .col(timestamp_with_time_zone("at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("ownership_progress", "plan_id")
                            .to("ownership_plans", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ownership_progress_plan")
                    .table("ownership_progress")
                    .col("plan_id")
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
            "ownership plans are part of the record and are not dropped".into(),
        ))
    }
}
