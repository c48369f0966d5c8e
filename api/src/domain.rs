//! The domain's enumerations (domain.md §1–§4), stored as their `SCREAMING_CASE` names.
//!
//! They derive `async_graphql::Enum` so that one definition serves the database, the rules and
//! the schema: the doc comments are the schema's descriptions, with the Chinese term.

use crate::error::{Result, internal};

macro_rules! stored_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a stored value; an unknown one is a bug (or a bad migration), not user input.
            pub fn from_db(value: &str) -> Result<Self> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err(internal(format!("unknown {} value {other:?} in the database", stringify!($name)))),
                }
            }
        }
    };
}

/// 单位类别 — the kind of an organisational unit.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrgUnitKind {
    /// 市 — a city above counties (city-wide deployments).
    City,
    /// 县 — the county government; the root of a county's tree.
    County,
    /// 乡镇 — a township under the county; owns its territory (属地).
    Township,
    /// 县级部门 — a county department; owns a function (主管). The petition bureau is one.
    Department,
}
stored_enum!(OrgUnitKind { City => "CITY", County => "COUNTY", Township => "TOWNSHIP", Department => "DEPARTMENT" });

/// 角色 — what an account may do inside its unit.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// 经办人 — registers and handles cases for the unit.
    Staff,
    /// 负责人 — head of the unit: approves extensions, signs replies, takes leader ownership.
    Leader,
    /// 管理员 — manages accounts and units in the unit's subtree; sees no case content by role.
    Admin,
    /// 信访人 — a citizen using the mobile app; belongs to no unit.
    Petitioner,
}
stored_enum!(Role { Staff => "STAFF", Leader => "LEADER", Admin => "ADMIN", Petitioner => "PETITIONER" });

/// 信访形式 — how the matter reached the government.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// 书信 — by letter.
    Letter,
    /// 走访 — in person.
    Visit,
    /// 电话 — by phone.
    Phone,
    /// 传真 — by fax.
    Fax,
    /// 电子邮件 — by e-mail.
    Email,
    /// 网上信访 — online, including the mobile app.
    Online,
    /// 12345热线 — the 12345 government hotline.
    #[graphql(name = "HOTLINE_12345")]
    Hotline12345,
    /// 上级转交办 — referred down by a higher authority.
    HigherReferral,
}
stored_enum!(Channel {
    Letter => "LETTER", Visit => "VISIT", Phone => "PHONE", Fax => "FAX", Email => "EMAIL",
    Online => "ONLINE", Hotline12345 => "HOTLINE_12345", HigherReferral => "HIGHER_REFERRAL",
});

/// 信访事项类别 — which statutory path the matter takes.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// 建议意见 — a suggestion or opinion.
    Suggestion,
    /// 检举控告 — an accusation against an official or a unit.
    Accusation,
    /// 申诉求决 — an appeal or a request for a decision.
    Appeal,
}
stored_enum!(Category { Suggestion => "SUGGESTION", Accusation => "ACCUSATION", Appeal => "APPEAL" });

/// 办理状态 — where a case is in its statutory life.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    /// 已登记 — registered, waiting for the acceptance decision (受理告知).
    Registered,
    /// 办理中 — accepted and being handled.
    InProgress,
    /// 已报告 — an assigned case whose completion report awaits approval.
    Reported,
    /// 已答复 — the written reply (处理意见书) has been issued.
    Replied,
    /// 复查中 — a review (复查) has been requested.
    UnderReview,
    /// 已复查 — the review decision has been issued.
    Reviewed,
    /// 复核中 — a re-review (复核) has been requested.
    UnderReReview,
    /// 已终结 — the re-review concluded; the matter is finalized and not accepted again.
    Finalized,
    /// 不予受理 — declined or redirected to a legal route.
    NotAccepted,
    /// 已办结 — closed.
    Closed,
}
stored_enum!(CaseStatus {
    Registered => "REGISTERED", InProgress => "IN_PROGRESS", Reported => "REPORTED",
    Replied => "REPLIED", UnderReview => "UNDER_REVIEW", Reviewed => "REVIEWED",
    UnderReReview => "UNDER_RE_REVIEW", Finalized => "FINALIZED", NotAccepted => "NOT_ACCEPTED",
    Closed => "CLOSED",
});

impl CaseStatus {
    /// Still being worked on (for repeat detection: an open matter).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseStatus::Finalized | CaseStatus::NotAccepted | CaseStatus::Closed
        )
    }
}

/// A unit's relation to a case, as stored in `case_units`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnitRelation {
    Lead,
    Assisting,
    Territory,
    Registered,
    PendingReferral,
    /// The body deciding a review or re-review of the case.
    Reviewing,
}
stored_enum!(UnitRelation {
    Lead => "LEAD", Assisting => "ASSISTING", Territory => "TERRITORY", Registered => "REGISTERED",
    PendingReferral => "PENDING_REFERRAL", Reviewing => "REVIEWING",
});

/// 受理告知 — the acceptance decision.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AcceptanceDecision {
    /// 受理 — accept; the 60-day handling clock starts.
    Accept,
    /// 不予受理 — decline, with a reason (not this unit's remit, already under way, finalized).
    Decline,
    /// 导入法定途径 — the appeal belongs to another statutory procedure.
    RedirectToLegalRoute,
}
stored_enum!(AcceptanceDecision { Accept => "ACCEPT", Decline => "DECLINE", RedirectToLegalRoute => "REDIRECT_TO_LEGAL_ROUTE" });

/// 法定途径 — the statutory procedure an appeal is redirected to.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LegalRoute {
    /// 诉讼
    Litigation,
    /// 仲裁
    Arbitration,
    /// 行政复议
    AdministrativeReconsideration,
    /// 纪检监察
    Disciplinary,
    /// 其他法定途径
    OtherStatutory,
}
stored_enum!(LegalRoute {
    Litigation => "LITIGATION", Arbitration => "ARBITRATION",
    AdministrativeReconsideration => "ADMINISTRATIVE_RECONSIDERATION", Disciplinary => "DISCIPLINARY",
    OtherStatutory => "OTHER_STATUTORY",
});

/// 处理意见 — the outcome a written reply states.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReplyOutcome {
    /// 支持
    Supported,
    /// 部分支持
    PartiallySupported,
    /// 不予支持
    NotSupported,
    /// 解释说明 (suggestions)
    Explained,
}
stored_enum!(ReplyOutcome { Supported => "SUPPORTED", PartiallySupported => "PARTIALLY_SUPPORTED", NotSupported => "NOT_SUPPORTED", Explained => "EXPLAINED" });

/// 满意度 — the petitioner's rating of the reply.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Satisfaction {
    /// 满意
    Satisfied,
    /// 基本满意
    BasicallySatisfied,
    /// 不满意
    Dissatisfied,
}
stored_enum!(Satisfaction { Satisfied => "SATISFIED", BasicallySatisfied => "BASICALLY_SATISFIED", Dissatisfied => "DISSATISFIED" });

/// 复查/复核决定 — a review body's decision on the decision below.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReviewDecision {
    /// 维持 — upholds it.
    Uphold,
    /// 撤销/变更 — changes it.
    Change,
}
stored_enum!(ReviewDecision { Uphold => "UPHOLD", Change => "CHANGE" });

/// 复查 or 复核.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReviewStage {
    /// 复查 — review by the lead unit's superior body.
    Review,
    /// 复核 — re-review by the reviewing body's superior.
    ReReview,
}
stored_enum!(ReviewStage { Review => "REVIEW", ReReview => "RE_REVIEW" });

/// 转送/交办 — how a case is handed on.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReferralMode {
    /// 转送 — responsibility moves; no report back.
    Transfer,
    /// 交办 — responsibility moves; the receiver owes a completion report by a deadline.
    Assign,
}
stored_enum!(ReferralMode { Transfer => "TRANSFER", Assign => "ASSIGN" });

/// 转交办状态 — where a referral stands.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReferralStatus {
    /// 待签收 — arrived, not yet acknowledged or objected to.
    Pending,
    /// 已签收
    Acknowledged,
    /// 异议中 — the receiver objects; the sender or the bureau decides.
    Objected,
    /// 已退回 — the objection was approved; the case went back to the sender.
    Returned,
    /// 异议驳回 — the objection was overruled; the receiver keeps the case.
    Kept,
}
stored_enum!(ReferralStatus { Pending => "PENDING", Acknowledged => "ACKNOWLEDGED", Objected => "OBJECTED", Returned => "RETURNED", Kept => "KEPT" });

/// 审批状态 — of an extension request or a completion report.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ApprovalStatus {
    /// 待审批
    Pending,
    /// 已批准
    Approved,
    /// 已驳回
    Rejected,
}
stored_enum!(ApprovalStatus { Pending => "PENDING", Approved => "APPROVED", Rejected => "REJECTED" });

/// An action on a case (domain §5's action table). Its name is the mutation's.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Transfer,
    DecideAcceptance,
    AddProgressNote,
    RequestExtension,
    DecideExtension,
    Reply,
    AddAssistingUnit,
    AddAssistingOpinion,
    IssueSupervision,
    AnswerSupervision,
    FileCompletionReport,
    DecideCompletionReport,
    TakeLeaderOwnership,
    Evaluate,
    RequestReview,
    DecideReview,
    Close,
    Reclassify,
}

impl Action {
    /// The mutation that performs it, as clients know it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Transfer => "transferCase",
            Action::DecideAcceptance => "decideAcceptance",
            Action::AddProgressNote => "addProgressNote",
            Action::RequestExtension => "requestExtension",
            Action::DecideExtension => "decideExtension",
            Action::Reply => "issueReply",
            Action::AddAssistingUnit => "addAssistingUnit",
            Action::AddAssistingOpinion => "addAssistingOpinion",
            Action::IssueSupervision => "issueSupervision",
            Action::AnswerSupervision => "answerSupervision",
            Action::FileCompletionReport => "fileCompletionReport",
            Action::DecideCompletionReport => "decideCompletionReport",
            Action::TakeLeaderOwnership => "takeLeaderOwnership",
            Action::Evaluate => "evaluateCase",
            Action::RequestReview => "requestReview",
            Action::DecideReview => "decideReview",
            Action::Close => "closeCase",
            Action::Reclassify => "reclassifyCase",
        }
    }
}

/// 期限类别 — which deadline a case (or a supervision order) is waiting on.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeadlineKind {
    /// 受理告知期限 — while REGISTERED.
    Acceptance,
    /// 办理期限 — while IN_PROGRESS or REPORTED.
    Handling,
    /// 复查/复核决定期限 — while UNDER_REVIEW or UNDER_RE_REVIEW.
    ReviewDecision,
    /// 督办期限 — an unanswered supervision order.
    Supervision,
}
stored_enum!(DeadlineKind { Acceptance => "ACCEPTANCE", Handling => "HANDLING", ReviewDecision => "REVIEW_DECISION", Supervision => "SUPERVISION" });

impl DeadlineKind {
    /// The case states in which this deadline is the pending one (none for supervision).
    pub fn statuses(self) -> &'static [CaseStatus] {
        match self {
            DeadlineKind::Acceptance => &[CaseStatus::Registered],
            DeadlineKind::Handling => &[CaseStatus::InProgress, CaseStatus::Reported],
            DeadlineKind::ReviewDecision => &[CaseStatus::UnderReview, CaseStatus::UnderReReview],
            DeadlineKind::Supervision => &[],
        }
    }

    pub fn of_status(status: CaseStatus) -> Option<DeadlineKind> {
        [
            DeadlineKind::Acceptance,
            DeadlineKind::Handling,
            DeadlineKind::ReviewDecision,
        ]
        .into_iter()
        .find(|k| k.statuses().contains(&status))
    }
}

/// 预警级别 — due within 3 days, or past due.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeadlineLevel {
    /// 临期 — due within the next 3 days.
    Warning,
    /// 超期 — past due.
    Overdue,
}
