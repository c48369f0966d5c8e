//! `replies`: the written reply (处理意见书) of a case, one per case.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    /// SUPPORTED, PARTIALLY_SUPPORTED, NOT_SUPPORTED or EXPLAINED.
    pub outcome: ReplyOutcome,
    pub facts: String,
    pub reasons: String,
    pub basis: String,
    pub signed_by_user_id: i64,
    pub unit_id: i64,
    /// The body a review may be asked of (the lead unit's parent), if there is one.
    pub review_unit_id: Option<i64>,
    /// The petitioner's window (evaluation, and review of an appeal) ends then: 30 days from
    /// delivery; empty until delivered.
    pub review_request_by: Option<DateTimeUtc>,
    pub issued_at: DateTimeUtc,
    /// 送达: when and how it reached the petitioner (a method is absent on replies delivered
    /// before delivery was recorded).
    pub delivered_at: Option<DateTimeUtc>,
    pub delivery_method: Option<DeliveryMethod>,
    pub delivery_recorded_by_user_id: Option<i64>,
    /// The review that set this reply aside (CHANGE, REPLACE or REDO).
    pub quashed_by_review_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
