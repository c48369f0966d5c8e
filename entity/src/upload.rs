//! `uploads`: one resumable upload of a file to attach to a case.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    /// Random and unguessable; the upload's URL is `/uploads/{id}`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: i64,
    /// Only the account that started it may send to it.
    pub user_id: i64,
    pub file_name: String,
    /// The declared size in bytes.
    pub size: i64,
    /// The declared SHA-256, checked when the upload is attached.
    pub sha256: Option<String>,
    /// Bytes received so far: where the client resumes.
    pub received: i64,
    pub created_at: DateTimeUtc,
    /// The attachment it became.
    pub attachment_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
