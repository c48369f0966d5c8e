//! `case_units`: a unit's relations to a case, as rows (LEAD, ASSISTING, TERRITORY,
//! REGISTERED, PENDING_REFERRAL). The access scope is "a row exists for the viewer's unit";
//! rows are never written for a case's accused unit.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub relation: String,
    /// Copy of the case's `received_at`, so "newest cases of my unit" walks an index.
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
