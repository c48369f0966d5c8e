//! Folded statistics are ready per scope, not per county (issue 18, target 4). Migration 026
//! recorded in `stat_counties` that a county's days had been folded once; a petition bureau
//! set up after that found no folded day of its own and, since an absent day reads as a day
//! without cases, counted nothing before its creation. `stat_scopes` records it per unit
//! (the bureau, the county unit): a scope is read from folded days only once its own first
//! pass is done, and a new scope makes the next fold pass over the whole county again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("stat_scopes")
                    .col(big_integer("unit_id").primary_key())
                    .col(big_integer("county_id"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("ready_at"))
                    .to_owned(),
            )
            .await?;
        // Nothing is carried over: every scope is folded afresh once, as on a first start.
        manager
            .drop_table(Table::drop().table("stat_counties").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(crate::m20261203_000026_statistics_days::stat_counties())
            .await?;
        manager
            .drop_table(Table::drop().table("stat_scopes").to_owned())
            .await
    }
}
