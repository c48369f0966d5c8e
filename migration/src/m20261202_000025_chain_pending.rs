//! Timeline entries awaiting their county link (issue: performance).
//!
//! A registration linked its entry into the county chain inside its own transaction, under
//! the county's lock, so the registrations of a county committed one at a time — each
//! waiting for the one before to reach the disk. Now a transaction that appends an entry
//! writes it here as well, and the entries are linked after they commit, by a linker that
//! takes the county's lock only for the link itself and links many entries at once.
//!
//! A row is removed when its entry is linked. There is no foreign key on purpose: a row
//! whose entry is gone is evidence that the entry was removed before it was linked, and the
//! verifier reports it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("chain_pending")
                    .col(big_integer("event_id").primary_key())
                    .col(big_integer("county_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("chain_pending").to_owned())
            .await
    }
}
