//! `admin_events`: the append-only, hash-chained record of administrative actions, in one
//! sequence for the whole database.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// 1, 2, 3 … over the whole database; unique.
    pub seq: i64,
    pub at: DateTimeUtc,
    pub actor_user_id: Option<i64>,
    pub actor_unit_id: Option<i64>,
    /// What was done, e.g. `USER_CREATED`.
    pub action: String,
    /// The unit the action concerns (an account's unit, the unit itself, the county whose
    /// calendar changed); an administrator reads the entries of their own subtree.
    pub unit_id: Option<i64>,
    /// What was acted on, e.g. `User:12`.
    pub target: String,
    /// JSON of what changed (never a password).
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
