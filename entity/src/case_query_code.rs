//! `case_query_codes`: the SHA-256 of the query code (查询码) in force for a case.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_query_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: i64,
    pub code_hash: String,
    /// Printed on the acceptance notice for the lead unit, the bureau and the petitioner only.
    pub code: String,
    pub issued_at: DateTimeUtc,
    pub issued_by_user_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
