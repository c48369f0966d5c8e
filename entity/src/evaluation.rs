//! `evaluations`: the petitioner's satisfaction (满意度评价), once per case.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evaluations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: i64,
    /// SATISFIED, BASICALLY_SATISFIED or DISSATISFIED.
    pub satisfaction: Satisfaction,
    pub comment: Option<String>,
    /// Recorded by staff on the petitioner's behalf (回访).
    pub on_behalf: bool,
    pub by_user_id: i64,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
