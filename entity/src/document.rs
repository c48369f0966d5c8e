//! `documents`: a numbered written notice issued on a decision (domain §8). Written once;
//! only its delivery is filled in later. A correction is a new row superseding this one.
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub county_id: i64,
    pub kind: DocumentKind,
    /// 文号, unique across the deployment.
    pub number: String,
    pub issued_by_unit_id: i64,
    pub issued_by_user_id: i64,
    pub issued_at: DateTimeUtc,
    /// The petitioner it is addressed to (none for an anonymous case) and the name as issued.
    pub addressee_petitioner_id: Option<i64>,
    pub addressee: Option<String>,
    /// The text: the decision, its facts, reasons and basis, one paragraph per line.
    pub body: String,
    /// Where and by when the petitioner may ask for review, when they may.
    pub review_clause: Option<String>,
    pub reply_id: Option<i64>,
    pub review_id: Option<i64>,
    /// The document this one corrects.
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    /// SHA-256 of the issued content, as also written on the timeline.
    pub sha256: String,
    /// 128 random bits (hex) hashed with the content and never shown, so that the digest
    /// cannot confirm a guess at what a viewer is not shown (an accuser's name); null on
    /// documents issued before it was kept.
    pub salt: Option<String>,
    pub delivery_method: Option<DeliveryMethod>,
    pub delivered_at: Option<DateTimeUtc>,
    /// A postal tracking number, an e-mail address or phone the link went to.
    pub delivery_tracking: Option<String>,
    pub delivery_recorded_by_user_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
