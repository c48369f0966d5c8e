//! `reviews`: requests for review (复查) and re-review (复核), and their decisions.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    /// REVIEW or RE_REVIEW.
    pub stage: ReviewStage,
    pub reason: String,
    pub requested_by_user_id: i64,
    pub on_behalf: bool,
    pub requested_at: DateTimeUtc,
    pub reviewing_unit_id: i64,
    pub decide_by: DateTimeUtc,
    /// UPHOLD or CHANGE, once decided.
    pub decision: Option<ReviewDecision>,
    pub text: Option<String>,
    pub decided_by_user_id: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub delivery_method: Option<DeliveryMethod>,
    pub delivery_recorded_by_user_id: Option<i64>,
    /// For a CHANGE: whether the decision replaces the one below or sends the case back.
    pub change_mode: Option<ChangeMode>,
    /// The reviewing body sits above the deployment; the county's petition bureau
    /// (`reviewing_unit_id`) records its decision.
    pub above_county: bool,
    pub higher_body_id: Option<i64>,
    /// The higher body's document number (文号) and date, for a decision recorded from above.
    pub document_number: Option<String>,
    pub decided_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
