//! `completion_reports`: reports on assigned cases (交办办结报告) and their approval.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "completion_reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub referral_id: i64,
    pub text: String,
    pub filed_by_user_id: i64,
    pub filed_at: DateTimeUtc,
    /// PENDING, APPROVED or REJECTED.
    pub status: ApprovalStatus,
    pub decided_by_user_id: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
