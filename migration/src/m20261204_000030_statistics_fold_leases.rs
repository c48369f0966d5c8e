//! Every server process folds statistics days (api/src/stat_days.rs). Two processes folding
//! one county at once stay exact — each fold is one snapshot, and the second writer of a day
//! is refused — but both do the work and one of them fails its round. `stat_fold_leases`
//! lets one process at a time fold a county: it claims the county until a time it renews as
//! it goes, and another process takes the county over only once that time has passed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("stat_fold_leases")
                    .col(big_integer("county_id").primary_key())
                    .col(string("holder"))
                    .col(timestamp_with_time_zone("until"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("stat_fold_leases").to_owned())
            .await
    }
}
