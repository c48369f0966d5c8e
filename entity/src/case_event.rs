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

impl Model {
    /// The columns [`Model::from_row`] reads, in its order.
    pub const COLUMNS: [&'static str; 11] = [
        "id",
        "case_id",
        "seq",
        "at",
        "actor_user_id",
        "actor_unit_id",
        "action",
        "detail",
        "public",
        "prev_hash",
        "hash",
    ];

    /// Decodes [`Model::COLUMNS`] by position, starting at column `first`: a page of
    /// timelines is a hundred rows, and the derived decoder's lookups by name cost more than
    /// the query (see `case::Model::from_row`).
    pub fn from_row(row: &QueryResult, first: usize) -> Result<Self, DbErr> {
        let mut i = first;
        let mut at = || {
            i += 1;
            i - 1
        };
        Ok(Model {
            id: row.try_get_by_index(at())?,
            case_id: row.try_get_by_index(at())?,
            seq: row.try_get_by_index(at())?,
            at: row.try_get_by_index(at())?,
            actor_user_id: row.try_get_by_index(at())?,
            actor_unit_id: row.try_get_by_index(at())?,
            action: row.try_get_by_index(at())?,
            detail: row.try_get_by_index(at())?,
            public: row.try_get_by_index(at())?,
            prev_hash: row.try_get_by_index(at())?,
            hash: row.try_get_by_index(at())?,
        })
    }
}
