//! `chain_pending`: timeline entries written but not yet linked into their county's chain
//! (the linker removes each row as it links the entry).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chain_pending")]
pub struct Model {
    /// The entry (`case_events.id`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: i64,
    pub county_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
