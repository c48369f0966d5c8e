//! `hearings`: a hearing (信访听证) on a case and the pause of the decision clock it caused.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hearings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    /// The unit holding it (the case's lead unit, or its reviewing body during a review).
    pub unit_id: i64,
    pub scheduled_by_user_id: i64,
    pub held_at: DateTimeUtc,
    pub place: String,
    pub chair: String,
    /// JSON: `[{"kind": "LAWYER", "name": "…"}, …]`.
    pub participants: String,
    /// When the petitioner was given notice; the clock stops here.
    pub notified_at: DateTimeUtc,
    /// SCHEDULED, CONCLUDED or CANCELLED.
    pub status: String,
    /// The decision clock the hearing paused (ACCEPTANCE, HANDLING, REVIEW_DECISION).
    pub paused_kind: Option<String>,
    pub due_before: Option<DateTimeUtc>,
    pub minutes: Option<String>,
    pub outcome: Option<String>,
    pub public_notice: Option<String>,
    pub ended_at: Option<DateTimeUtc>,
    pub ended_by_user_id: Option<i64>,
    pub paused_working_days: Option<i32>,
    pub due_after: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
