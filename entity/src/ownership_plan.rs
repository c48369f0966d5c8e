//! `ownership_plans`: the plan of a leader's ownership (包案) of a case.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ownership_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub leader_user_id: i64,
    pub leader_unit_id: i64,
    /// 牵头协调
    pub coordinator: String,
    /// 督促落实
    pub supervisor: String,
    /// 具体承办
    pub executor: String,
    /// 联系信访人
    pub contact: String,
    /// 化解目标
    pub goal: String,
    /// `YYYY-MM-DD`, local.
    pub due_on: String,
    /// The end of `due_on`, local.
    pub due_at: DateTimeUtc,
    pub taken_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
