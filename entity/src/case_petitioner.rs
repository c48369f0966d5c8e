//! `case_petitioners`: the people and organisations a case names (信访人), in the order given.
//! An anonymous letter names none.
use crate::kinds::PetitionerKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_petitioners")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub position: i32,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub representative: bool,
    /// The petitioner account this person is, when one exists (by ID number).
    pub user_id: Option<i64>,
    pub kind: PetitionerKind,
    /// 统一社会信用代码 — an organisation's; checked, upper case.
    pub credit_code: Option<String>,
    /// 联系人 — who speaks for an organisation.
    pub contact_person: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
