//! `reception_slots`: a unit's reception roster (领导接访安排): who receives petitioners when and where.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reception_slots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    pub leader_user_id: i64,
    pub weekday: Option<i32>,
    pub on_date: Option<String>,
    pub starts: String,
    pub ends: String,
    pub place: String,
    pub created_by_user_id: i64,
    pub created_at: DateTimeUtc,
    pub active: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
