//! `hotline_tickets`: a 12345 hotline ticket a case was registered from or merged with.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hotline_tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub county_id: i64,
    pub ticket_number: String,
    pub case_id: i64,
    pub received_at: DateTimeUtc,
    /// Merged into the case (并单) rather than the ticket it was registered from.
    pub merged: bool,
    pub added_by_user_id: i64,
    pub added_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
