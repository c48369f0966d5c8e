//! `supervisions`: supervision orders (督办) from the petition bureau, and their answers.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supervisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub text: String,
    pub due_at: DateTimeUtc,
    pub issued_by_user_id: i64,
    pub issued_at: DateTimeUtc,
    pub answer: Option<String>,
    pub answered_by_user_id: Option<i64>,
    pub answered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
