//! `county_settings`: what a county configures beyond the statute (hearing notice, the
//! registration limit for urgent matters and group visits).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "county_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub county_id: i64,
    pub hearing_notice_days: i32,
    pub registration_limit_hours: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
