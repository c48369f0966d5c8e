//! `county_chain`: every timeline entry of a county linked a second time, in one sequence
//! for the county, so removing a whole case or the newest entries breaks a link too.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "county_chain")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub county_id: i64,
    /// 1, 2, 3 … within the county; unique with `county_id`.
    pub seq: i64,
    /// The timeline entry this link covers: (`case_id`, `case_seq`) of `case_events`.
    pub case_id: i64,
    pub case_seq: i32,
    /// The entry's own hash when it was linked.
    pub entry_hash: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
