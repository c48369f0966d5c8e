//! `dispute_reports`: a risk reported by dispute screening, and the bureau's follow-up.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispute_reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    pub county_id: i64,
    pub period: Option<String>,
    pub urgent: bool,
    pub grade: String,
    pub title: String,
    pub summary: String,
    pub people: String,
    pub places: String,
    pub township_id: Option<i64>,
    pub reported_by_user_id: i64,
    pub reported_at: DateTimeUtc,
    pub follow_up: Option<String>,
    pub followed_up_at: Option<DateTimeUtc>,
    pub followed_up_by_user_id: Option<i64>,
    pub case_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
