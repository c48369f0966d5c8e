//! `webhook_endpoints`: where a unit's own system wants to hear about the cases it may see.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The unit whose scope decides what the endpoint receives.
    pub unit_id: i64,
    pub url: String,
    /// The event kinds wanted, comma-separated (`CASE_EVENT,DEADLINE_NOTICE,…`).
    pub kinds: String,
    pub description: String,
    /// `whsec_…`: the signing key, shown once when the endpoint is registered.
    pub secret: String,
    pub active: bool,
    pub created_by_user_id: i64,
    pub created_at: DateTimeUtc,
    pub deactivated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
