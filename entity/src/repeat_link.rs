//! `repeat_links`: a later case proposed as, confirmed as, or no longer a repeat of an
//! earlier one. One row per pair; its state moves on and the case timeline keeps the history.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repeat_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The later case.
    pub case_id: i64,
    pub earlier_case_id: i64,
    pub state: RepeatLinkState,
    /// What the proposal rests on, space-separated (`ID_NUMBER SUBJECT`, …); `MANUAL` for a
    /// link made by hand.
    pub basis: String,
    /// When the system proposed it (null for a link made by hand).
    pub proposed_at: Option<DateTimeUtc>,
    /// The reason given with the latest confirmation or undoing.
    pub reason: Option<String>,
    pub decided_by_user_id: Option<i64>,
    pub decided_by_unit_id: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
