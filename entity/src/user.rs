//! `users`: staff accounts (in a unit) and petitioner accounts (in none).
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    /// Lower-cased username; unique, so usernames are unique case-insensitively.
    #[sea_orm(unique)]
    pub username_key: String,
    pub display_name: String,
    /// STAFF, LEADER, ADMIN or PETITIONER.
    pub role: Role,
    pub org_unit_id: Option<i64>,
    pub password_hash: String,
    pub active: bool,
    /// Petitioner profile (citizens only).
    pub phone: Option<String>,
    #[sea_orm(unique)]
    pub id_number: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
