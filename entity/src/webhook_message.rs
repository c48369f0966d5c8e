//! `webhook_messages`: the outbox — one message for one endpoint, written in the transaction
//! of the change it tells about, delivered at least once and in order per endpoint and case.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_messages")]
pub struct Model {
    /// Also the message id receivers see (`webhook-id: msg_<id>`), the same on every retry.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub endpoint_id: i64,
    pub case_id: i64,
    /// 1, 2, 3 … per endpoint and case: a receiver sees a gap as a missing number.
    pub sequence: i32,
    pub event_type: String,
    /// The JSON body, exactly as signed and sent.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub created_at: DateTimeUtc,
    /// The dead-letter age counts from here: when it was written, or last replayed.
    pub age_from: DateTimeUtc,
    /// PENDING, DELIVERED or DEAD.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A worker holds the message until then (a worker that died lets go by itself).
    pub leased_until: Option<DateTimeUtc>,
    pub lease_token: Option<i64>,
    pub last_error: Option<String>,
    pub last_status: Option<i32>,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
