//! Webhooks (issue: other systems): the endpoints a unit registers, and the outbox — one row
//! per message for one endpoint, written in the transaction of the change it tells about and
//! delivered from there, in order per endpoint and case.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("webhook_endpoints")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("unit_id"))
                    .col(string("url"))
                    .col(string("kinds"))
                    .col(string("description"))
                    .col(string("secret"))
                    .col(boolean("active"))
                    .col(big_integer("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("deactivated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_endpoints", "unit_id")
                            .to("org_units", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_messages")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("endpoint_id"))
                    .col(big_integer("case_id"))
                    .col(integer("sequence"))
                    .col(string("event_type"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("age_from"))
                    .col(string("status"))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("leased_until"))
                    .col(big_integer_null("lease_token"))
                    .col(string_null("last_error"))
                    .col(integer_null("last_status"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_messages", "endpoint_id")
                            .to("webhook_endpoints", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_messages", "case_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker's question: which pending messages are due.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_messages_due")
                    .table("webhook_messages")
                    .col("status")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;
        // One sequence per endpoint and case; also the order of delivery.
        manager
            .create_index(
                Index::create()
                    .name("ux_webhook_messages_sequence")
                    .table("webhook_messages")
                    .col("endpoint_id")
                    .col("case_id")
                    .col("sequence")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_messages_endpoint_created")
                    .table("webhook_messages")
                    .col("endpoint_id")
                    .col("created_at")
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
            "webhook messages are a record of what was sent and are not dropped".into(),
        ))
    }
}
