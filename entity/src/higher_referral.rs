//! `higher_referrals`: a case that came from a body above the county (上级转交办,
//! `FROM_ABOVE`) or that the county sent up (`UPWARD`).
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "higher_referrals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    /// FROM_ABOVE or UPWARD.
    pub direction: String,
    pub higher_body_id: i64,
    /// From above: 转送 TRANSFER or 交办 ASSIGN.
    pub mode: Option<ReferralMode>,
    /// From above: the higher body's own reference number.
    pub reference_number: Option<String>,
    /// Upward: why the matter is outside the county's remit.
    pub reason: Option<String>,
    /// From above, assigned: the report back is due then.
    pub report_due_at: Option<DateTimeUtc>,
    pub reported_at: Option<DateTimeUtc>,
    pub report_text: Option<String>,
    pub reported_by_user_id: Option<i64>,
    pub created_by_user_id: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
