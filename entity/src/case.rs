//! `cases`: one petition matter (信访事项).
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub county_id: i64,
    #[sea_orm(unique)]
    pub number: String,
    pub version: i32,
    pub status: CaseStatus,
    pub channel: Channel,
    pub category: Category,
    pub subject: String,
    pub title: String,
    pub content: String,
    pub received_at: DateTimeUtc,
    pub township_id: Option<i64>,
    pub lead_unit_id: i64,
    pub registered_by_unit_id: i64,
    pub registered_by_user_id: i64,
    pub accused_unit_id: Option<i64>,
    pub person_count: i32,
    pub is_group: bool,
    /// The earlier case this one repeats, by a confirmed link (see `repeat_links`).
    pub repeat_of_id: Option<i64>,
    /// 不再受理: declined as a new petition on a concluded matter (`DECLINE_CONCLUDED`).
    pub not_acceptable: bool,
    /// The petitioner account that submitted it online, if any.
    pub submitted_by_user_id: Option<i64>,
    pub accept_by: Option<DateTimeUtc>,
    pub handle_by: Option<DateTimeUtc>,
    /// The deadline of whatever the case waits for now (sort key for DUE_AT).
    pub due_at: Option<DateTimeUtc>,
    /// ACCEPT, DECLINE or REDIRECT_TO_LEGAL_ROUTE, once decided.
    pub acceptance_decision: Option<AcceptanceDecision>,
    pub acceptance_reason: Option<String>,
    pub legal_route: Option<LegalRoute>,
    pub accept_decided_at: Option<DateTimeUtc>,
    pub replied_at: Option<DateTimeUtc>,
    /// Until when the petitioner may ask for the next review (复查 or 复核).
    pub review_request_by: Option<DateTimeUtc>,
    /// When the pending review decision is due.
    pub decide_by: Option<DateTimeUtc>,
    /// The body that reviews (or last reviewed) the case.
    pub reviewing_unit_id: Option<i64>,
    /// Approved extension days so far (at most 30).
    pub extension_days: i32,
    /// 包案领导.
    pub leader_user_id: Option<i64>,
    /// The assignment (交办) whose completion report the lead unit owes, if any.
    pub assignment_id: Option<i64>,
    pub report_approved: bool,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// 信访事项 — the matter this case belongs to.
    pub matter_id: Option<i64>,
    /// The earlier case whose conclusion a `DECLINE_CONCLUDED` decision cites.
    pub acceptance_cited_case_id: Option<i64>,
    /// A written decision (the reply, a review decision) is issued and not yet delivered
    /// (送达); the petitioner's windows start at delivery.
    pub awaiting_delivery: bool,
    /// An assignment from a higher body (上级交办) owes a report back by then.
    pub higher_report_due_at: Option<DateTimeUtc>,
    /// When the report back to the higher body was made.
    pub higher_reported_at: Option<DateTimeUtc>,
    /// Sent up to a higher body: the county no longer sees the content.
    pub sent_up_at: Option<DateTimeUtc>,
    /// Set while a hearing holds the decision clock (`due_at` is then NULL).
    pub clock_paused_at: Option<DateTimeUtc>,
    /// Marked urgent at registration.
    pub urgent: bool,
    /// Minutes from receipt to registration.
    pub registration_delay_minutes: i32,
    /// An urgent matter or a group visit registered later than the county's limit (迟报).
    pub registered_late: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Decodes a row of `SELECT` every column of `cases`, in declaration order (as
    /// `Entity::find()` selects them), by position.
    ///
    /// The derived decoder looks every column up by name and, for each NULL, formats an error
    /// it then discards; on a page of cases that was a tenth of the server's CPU time. The
    /// `columns_decode_in_declaration_order` test in the server crate keeps the two in step.
    pub fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        let mut i = 0usize;
        let mut at = || {
            i += 1;
            i - 1
        };
        Ok(Model {
            id: row.try_get_by_index(at())?,
            county_id: row.try_get_by_index(at())?,
            number: row.try_get_by_index(at())?,
            version: row.try_get_by_index(at())?,
            status: row.try_get_by_index(at())?,
            channel: row.try_get_by_index(at())?,
            category: row.try_get_by_index(at())?,
            subject: row.try_get_by_index(at())?,
            title: row.try_get_by_index(at())?,
            content: row.try_get_by_index(at())?,
            received_at: row.try_get_by_index(at())?,
            township_id: row.try_get_by_index(at())?,
            lead_unit_id: row.try_get_by_index(at())?,
            registered_by_unit_id: row.try_get_by_index(at())?,
            registered_by_user_id: row.try_get_by_index(at())?,
            accused_unit_id: row.try_get_by_index(at())?,
            person_count: row.try_get_by_index(at())?,
            is_group: row.try_get_by_index(at())?,
            repeat_of_id: row.try_get_by_index(at())?,
            not_acceptable: row.try_get_by_index(at())?,
            submitted_by_user_id: row.try_get_by_index(at())?,
            accept_by: row.try_get_by_index(at())?,
            handle_by: row.try_get_by_index(at())?,
            due_at: row.try_get_by_index(at())?,
            acceptance_decision: row.try_get_by_index(at())?,
            acceptance_reason: row.try_get_by_index(at())?,
            legal_route: row.try_get_by_index(at())?,
            accept_decided_at: row.try_get_by_index(at())?,
            replied_at: row.try_get_by_index(at())?,
            review_request_by: row.try_get_by_index(at())?,
            decide_by: row.try_get_by_index(at())?,
            reviewing_unit_id: row.try_get_by_index(at())?,
            extension_days: row.try_get_by_index(at())?,
            leader_user_id: row.try_get_by_index(at())?,
            assignment_id: row.try_get_by_index(at())?,
            report_approved: row.try_get_by_index(at())?,
            closed_at: row.try_get_by_index(at())?,
            created_at: row.try_get_by_index(at())?,
            updated_at: row.try_get_by_index(at())?,
            matter_id: row.try_get_by_index(at())?,
            acceptance_cited_case_id: row.try_get_by_index(at())?,
            awaiting_delivery: row.try_get_by_index(at())?,
            higher_report_due_at: row.try_get_by_index(at())?,
            higher_reported_at: row.try_get_by_index(at())?,
            sent_up_at: row.try_get_by_index(at())?,
            clock_paused_at: row.try_get_by_index(at())?,
            urgent: row.try_get_by_index(at())?,
            registration_delay_minutes: row.try_get_by_index(at())?,
            registered_late: row.try_get_by_index(at())?,
        })
    }
}
