//! The domain's enumerations (domain.md §1–§4), stored as their `SCREAMING_CASE` names.
//!
//! They derive `async_graphql::Enum` so that one definition serves the database, the rules and
//! the schema: the doc comments are the schema's descriptions, with the Chinese term.

use crate::error::{Result, internal};

pub use xinfang_entity::kinds::{
    AcceptanceDecision, ApprovalStatus, AttachmentKind, BacklogResolution, BacklogStatus,
    CaseStatus, Category, ChangeMode, Channel, DeliveryMethod, DocumentKind, HigherLevel,
    LegalRoute, MatterState, OrgUnitKind, PetitionerKind, ReferralMode, ReferralStatus,
    RepeatLinkState, ReplyOutcome, ReviewDecision, ReviewStage, Role, Satisfaction, UnitRelation,
    UnknownValue,
};

/// Parsing a name read as text (raw statements, inputs of the seed and export): for the
/// stored enums an unknown name is a bug or a bad migration, never user input.
pub trait FromDb: Sized {
    fn from_db(value: &str) -> Result<Self>;
}

macro_rules! from_db {
    ($($name:ident),+) => {
        $(impl FromDb for $name {
            fn from_db(value: &str) -> Result<Self> {
                $name::parse(value).map_err(|e| {
                    internal(format!("unknown {} value {:?} in the database", e.kind, e.value))
                })
            }
        })+
    };
}

from_db!(
    AcceptanceDecision,
    ApprovalStatus,
    CaseStatus,
    Category,
    Channel,
    LegalRoute,
    OrgUnitKind,
    ReferralMode,
    ReferralStatus,
    ReplyOutcome,
    ReviewDecision,
    ReviewStage,
    Role,
    Satisfaction,
    UnitRelation
);

/// The enumerations that are not columns of their own (actions, deadline kinds, …) take the
/// same shape as the stored ones.
macro_rules! stored_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl FromDb for $name {
            fn from_db(value: &str) -> Result<Self> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err(internal(format!("unknown {} value {other:?} in the database", stringify!($name)))),
                }
            }
        }
    };
}

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
    LinkRepeat,
    UndoRepeat,
    RecordDelivery,
    ReportToHigherBody,
    SendUpward,
    ReissueQueryCode,
    AttachFile,
    GiveInstruction,
    ReportOnInstruction,
    ScheduleHearing,
    ConcludeHearing,
    CancelHearing,
    RecordOwnershipProgress,
    AddHotlineTicket,
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
            Action::LinkRepeat => "linkRepeat",
            Action::UndoRepeat => "undoRepeat",
            Action::RecordDelivery => "recordDelivery",
            Action::ReportToHigherBody => "reportToHigherBody",
            Action::SendUpward => "sendUpward",
            Action::ReissueQueryCode => "reissueQueryCode",
            Action::AttachFile => "startUpload",
            Action::GiveInstruction => "giveInstruction",
            Action::ReportOnInstruction => "reportOnInstruction",
            Action::ScheduleHearing => "scheduleHearing",
            Action::ConcludeHearing => "concludeHearing",
            Action::CancelHearing => "cancelHearing",
            Action::RecordOwnershipProgress => "recordOwnershipProgress",
            Action::AddHotlineTicket => "addHotlineTicket",
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
    /// 上级交办办结报告期限 — the report back a higher body's assignment owes.
    HigherReport,
}
stored_enum!(DeadlineKind { Acceptance => "ACCEPTANCE", Handling => "HANDLING", ReviewDecision => "REVIEW_DECISION", Supervision => "SUPERVISION", HigherReport => "HIGHER_REPORT" });

impl DeadlineKind {
    /// The case states in which this deadline is the pending one (none for supervision).
    pub fn statuses(self) -> &'static [CaseStatus] {
        match self {
            DeadlineKind::Acceptance => &[CaseStatus::Registered],
            DeadlineKind::Handling => &[CaseStatus::InProgress, CaseStatus::Reported],
            DeadlineKind::ReviewDecision => &[CaseStatus::UnderReview, CaseStatus::UnderReReview],
            DeadlineKind::Supervision | DeadlineKind::HigherReport => &[],
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

/// 听证状态
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HearingStatus {
    /// 已通知 — notice given, the decision clock paused.
    Scheduled,
    /// 已听证 — held; minutes and outcome recorded, the clock running again.
    Concluded,
    /// 已取消 — called off; the clock running again.
    Cancelled,
}
stored_enum!(HearingStatus { Scheduled => "SCHEDULED", Concluded => "CONCLUDED", Cancelled => "CANCELLED" });

/// 听证参加人类别
#[derive(
    async_graphql::Enum,
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HearingParticipantKind {
    /// 人大代表
    NpcDeputy,
    /// 政协委员
    CppccMember,
    /// 律师
    Lawyer,
    /// 社区（村）代表
    CommunityRepresentative,
    /// 信访人及利害关系人
    Party,
    /// 有关部门人员
    Official,
    /// 其他
    Other,
}

/// 风险等级 — the grade of a risk found by dispute screening.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DisputeGrade {
    /// 重大
    Major,
    /// 较大
    Serious,
    /// 一般
    General,
}
stored_enum!(DisputeGrade { Major => "MAJOR", Serious => "SERIOUS", General => "GENERAL" });

/// 预警级别 — due within 3 days, or past due.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeadlineLevel {
    /// 临期 — due within the next 3 days.
    Warning,
    /// 超期 — past due.
    Overdue,
}
