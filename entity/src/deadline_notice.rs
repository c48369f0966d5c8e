//! `deadline_notices`: the deadline warnings already published, so none is sent twice.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deadline_notices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: i64,
    /// ACCEPTANCE, HANDLING, REVIEW_DECISION or SUPERVISION.
    #[sea_orm(primary_key, auto_increment = false)]
    pub deadline: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub due_at: DateTimeUtc,
    /// WARNING or OVERDUE.
    #[sea_orm(primary_key, auto_increment = false)]
    pub level: String,
    pub sent_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
