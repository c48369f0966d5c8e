//! A referral remembers the acceptance clock its sender held.
//!
//! A transfer restarts the acceptance clock for the receiver, and the case row keeps only the
//! current holder's clock. Domain §6 credits timeliness to the unit that held each clock, so
//! the referral keeps the sender's: when it was due and, if the sender had decided, when.
//! Referrals sent before this migration keep nothing and count for no one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns: [ColumnDef; 2] = [
            timestamp_with_time_zone_null("sender_accept_by"),
            timestamp_with_time_zone_null("sender_accept_decided_at"),
        ];
        for mut column in columns {
            // One column per statement: SQLite adds one at a time.
            manager
                .alter_table(
                    Table::alter()
                        .table("referrals")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the senders' clocks are statistics history and are not dropped".into(),
        ))
    }
}
