//! `referrals`: a case handed from one unit to another (转送 TRANSFER, 交办 ASSIGN).
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    /// TRANSFER or ASSIGN.
    pub mode: ReferralMode,
    pub from_unit_id: i64,
    pub to_unit_id: i64,
    pub reason: String,
    /// For an assignment: when the completion report is due.
    pub report_due_at: Option<DateTimeUtc>,
    /// PENDING, ACKNOWLEDGED, OBJECTED, RETURNED (objection approved) or KEPT (overruled).
    pub status: ReferralStatus,
    /// The receiver may object until then (5 working days after arrival).
    pub object_by: DateTimeUtc,
    pub objection_reason: Option<String>,
    pub created_by_user_id: i64,
    pub created_at: DateTimeUtc,
    pub resolved_by_user_id: Option<i64>,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolution_note: Option<String>,
    /// The sender's acceptance deadline when it handed the case on (domain §6: the clock stays
    /// credited to the unit that held it).
    pub sender_accept_by: Option<DateTimeUtc>,
    /// When the sender had decided acceptance, if it had before handing the case on.
    pub sender_accept_decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
