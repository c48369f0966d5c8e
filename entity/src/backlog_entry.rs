//! `backlog_entries`: a matter listed in a campaign (积案), who owns it and how far it is.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "backlog_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub matter_id: i64,
    /// 包案领导.
    pub leader_user_id: i64,
    pub lead_unit_id: i64,
    pub status: BacklogStatus,
    /// How it was resolved (已化解 only).
    pub resolution: Option<BacklogResolution>,
    pub note: Option<String>,
    pub version: i64,
    pub listed_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
