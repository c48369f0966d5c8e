//! `instructions`: a leader's written instruction (批示) on a case, and the report back.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instructions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub leader_user_id: i64,
    pub leader_unit_id: i64,
    /// The unit in charge when it was given: the one that reports back.
    pub to_unit_id: i64,
    pub text: String,
    pub given_at: DateTimeUtc,
    pub report: Option<String>,
    pub reported_at: Option<DateTimeUtc>,
    pub reported_by_user_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
