//! `extensions`: requests to extend the handling deadline (延期), and their decisions.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "extensions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub days: i32,
    pub reason: String,
    /// PENDING, APPROVED or REJECTED.
    pub status: ApprovalStatus,
    pub requested_by_user_id: i64,
    pub requested_at: DateTimeUtc,
    pub decided_by_user_id: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
