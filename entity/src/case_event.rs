//! `case_events`: the append-only, hash-chained timeline of a case.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    /// 1, 2, 3 … within the case; unique with `case_id`.
    pub seq: i32,
    pub at: DateTimeUtc,
    pub actor_user_id: Option<i64>,
    pub actor_unit_id: Option<i64>,
    pub action: String,
    /// JSON object of what changed.
    pub detail: String,
    /// Whether a petitioner may see this entry.
    pub public: bool,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
