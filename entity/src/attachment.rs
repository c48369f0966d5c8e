//! `attachments`: a file attached to a case (材料). Never deleted: withdrawn with a reason.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub kind: AttachmentKind,
    pub file_name: String,
    /// Decided from the content, never from the name.
    pub content_type: String,
    pub size: i64,
    /// SHA-256 of the bytes stored (a photo's after its metadata was stripped).
    pub sha256: String,
    /// SHA-256 of the bytes as uploaded.
    pub received_sha256: String,
    pub description: Option<String>,
    /// Where the bytes are in the object store.
    pub storage_key: String,
    pub uploaded_by_user_id: i64,
    /// The uploader's unit; none for a citizen.
    pub uploaded_by_unit_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub withdrawn_at: Option<DateTimeUtc>,
    pub withdrawn_by_user_id: Option<i64>,
    pub withdraw_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
