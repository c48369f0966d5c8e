//! Counties carry their administrative division code (行政区划代码), and case numbers carry it.
//!
//! The number counter was already kept per county and year, but the number itself named only
//! the year, so the second county of a deployment collided with the first on its first
//! registration. Numbers issued before this migration keep their old form (`XF-2026-000001`);
//! the counter continues where it was. The code is unique where given.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("org_units")
                    .add_column(string_null("division_code"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_org_units_division_code")
                    .table("org_units")
                    .col("division_code")
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
            "division codes are part of case numbers and are not dropped".into(),
        ))
    }
}
