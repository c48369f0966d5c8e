//! `receptions`: a leader's reception of petitioners (领导接访).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "receptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    pub county_id: i64,
    pub leader_user_id: i64,
    pub received_at: DateTimeUtc,
    pub place: String,
    pub visitors: String,
    pub person_count: i32,
    pub summary: String,
    pub recorded_by_user_id: i64,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
