//! The stored enumerations of domain.md §1–§4, as the tables hold them: their
//! `SCREAMING_CASE` names. SeaORM decodes each column straight into its enum, so a row read
//! from the database carries parsed values and no code compares stored strings. They also
//! derive `async_graphql::Enum`, so one definition serves the database, the rules and the
//! schema: the doc comments are the schema's descriptions, with the Chinese term.

use sea_orm::entity::prelude::*;

/// A stored value no variant names (a bug, or a bad migration; never user input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! stored_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        /// Written as its stored name (in timeline details, for instance).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a stored name.
            #[allow(clippy::should_implement_trait)]
            pub fn parse(value: &str) -> Result<Self, UnknownValue> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue { kind: stringify!($name), value: other.to_string() }),
                }
            }
        }
    };
}

/// 单位类别 — the kind of an organisational unit.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum OrgUnitKind {
    /// 市 — a city above counties (city-wide deployments).
    #[sea_orm(string_value = "CITY")]
    City,
    /// 县 — the county government; the root of a county's tree.
    #[sea_orm(string_value = "COUNTY")]
    County,
    /// 乡镇 — a township under the county; owns its territory (属地).
    #[sea_orm(string_value = "TOWNSHIP")]
    Township,
    /// 县级部门 — a county department; owns a function (主管). The petition bureau is one.
    #[sea_orm(string_value = "DEPARTMENT")]
    Department,
}
stored_enum!(OrgUnitKind { City => "CITY", County => "COUNTY", Township => "TOWNSHIP", Department => "DEPARTMENT" });

/// 角色 — what an account may do inside its unit.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Role {
    /// 经办人 — registers and handles cases for the unit.
    #[sea_orm(string_value = "STAFF")]
    Staff,
    /// 负责人 — head of the unit: approves extensions, signs replies, takes leader ownership.
    #[sea_orm(string_value = "LEADER")]
    Leader,
    /// 管理员 — manages accounts and units in the unit's subtree; sees no case content by role.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// 信访人 — a citizen using the mobile app; belongs to no unit.
    #[sea_orm(string_value = "PETITIONER")]
    Petitioner,
}
stored_enum!(Role { Staff => "STAFF", Leader => "LEADER", Admin => "ADMIN", Petitioner => "PETITIONER" });

/// 信访形式 — how the matter reached the government.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Channel {
    /// 书信 — by letter.
    #[sea_orm(string_value = "LETTER")]
    Letter,
    /// 走访 — in person.
    #[sea_orm(string_value = "VISIT")]
    Visit,
    /// 电话 — by phone.
    #[sea_orm(string_value = "PHONE")]
    Phone,
    /// 传真 — by fax.
    #[sea_orm(string_value = "FAX")]
    Fax,
    /// 电子邮件 — by e-mail.
    #[sea_orm(string_value = "EMAIL")]
    Email,
    /// 网上信访 — online, including the mobile app.
    #[sea_orm(string_value = "ONLINE")]
    Online,
    /// 12345热线 — the 12345 government hotline.
    #[graphql(name = "HOTLINE_12345")]
    #[sea_orm(string_value = "HOTLINE_12345")]
    Hotline12345,
    /// 上级转交办 — referred down by a higher authority.
    #[sea_orm(string_value = "HIGHER_REFERRAL")]
    HigherReferral,
}
stored_enum!(Channel {
    Letter => "LETTER", Visit => "VISIT", Phone => "PHONE", Fax => "FAX", Email => "EMAIL",
    Online => "ONLINE", Hotline12345 => "HOTLINE_12345", HigherReferral => "HIGHER_REFERRAL",
});

/// 信访事项类别 — which statutory path the matter takes.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Category {
    /// 建议意见 — a suggestion or opinion.
    #[sea_orm(string_value = "SUGGESTION")]
    Suggestion,
    /// 检举控告 — an accusation against an official or a unit.
    #[sea_orm(string_value = "ACCUSATION")]
    Accusation,
    /// 申诉求决 — an appeal or a request for a decision.
    #[sea_orm(string_value = "APPEAL")]
    Appeal,
}
stored_enum!(Category { Suggestion => "SUGGESTION", Accusation => "ACCUSATION", Appeal => "APPEAL" });

/// 办理状态 — where a case is in its statutory life.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum CaseStatus {
    /// 已登记 — registered, waiting for the acceptance decision (受理告知).
    #[sea_orm(string_value = "REGISTERED")]
    Registered,
    /// 办理中 — accepted and being handled.
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    /// 已报告 — an assigned case whose completion report awaits approval.
    #[sea_orm(string_value = "REPORTED")]
    Reported,
    /// 已答复 — the written reply (处理意见书) has been issued.
    #[sea_orm(string_value = "REPLIED")]
    Replied,
    /// 复查中 — a review (复查) has been requested.
    #[sea_orm(string_value = "UNDER_REVIEW")]
    UnderReview,
    /// 已复查 — the review decision has been issued.
    #[sea_orm(string_value = "REVIEWED")]
    Reviewed,
    /// 复核中 — a re-review (复核) has been requested.
    #[sea_orm(string_value = "UNDER_RE_REVIEW")]
    UnderReReview,
    /// 已终结 — the re-review concluded; the matter is finalized and not accepted again.
    #[sea_orm(string_value = "FINALIZED")]
    Finalized,
    /// 不予受理 — declined or redirected to a legal route.
    #[sea_orm(string_value = "NOT_ACCEPTED")]
    NotAccepted,
    /// 已办结 — closed.
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}
stored_enum!(CaseStatus {
    Registered => "REGISTERED", InProgress => "IN_PROGRESS", Reported => "REPORTED",
    Replied => "REPLIED", UnderReview => "UNDER_REVIEW", Reviewed => "REVIEWED",
    UnderReReview => "UNDER_RE_REVIEW", Finalized => "FINALIZED", NotAccepted => "NOT_ACCEPTED",
    Closed => "CLOSED",
});

/// A unit's relation to a case, as stored in `case_units`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum UnitRelation {
    #[sea_orm(string_value = "LEAD")]
    Lead,
    #[sea_orm(string_value = "ASSISTING")]
    Assisting,
    #[sea_orm(string_value = "TERRITORY")]
    Territory,
    #[sea_orm(string_value = "REGISTERED")]
    Registered,
    #[sea_orm(string_value = "PENDING_REFERRAL")]
    PendingReferral,
    /// The body deciding a review or re-review of the case.
    #[sea_orm(string_value = "REVIEWING")]
    Reviewing,
}
stored_enum!(UnitRelation {
    Lead => "LEAD", Assisting => "ASSISTING", Territory => "TERRITORY", Registered => "REGISTERED",
    PendingReferral => "PENDING_REFERRAL", Reviewing => "REVIEWING",
});

/// 受理告知 — the acceptance decision.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AcceptanceDecision {
    /// 受理 — accept; the 60-day handling clock starts.
    #[sea_orm(string_value = "ACCEPT")]
    Accept,
    /// 不予受理 — decline, with a reason (not this unit's remit, already under way, finalized).
    #[sea_orm(string_value = "DECLINE")]
    Decline,
    /// 导入法定途径 — the appeal belongs to another statutory procedure.
    #[sea_orm(string_value = "REDIRECT_TO_LEGAL_ROUTE")]
    RedirectToLegalRoute,
    /// 不再受理 — a new petition on a matter already concluded (终结), citing the earlier
    /// case whose conclusion stands.
    #[sea_orm(string_value = "DECLINE_CONCLUDED")]
    DeclineConcluded,
}
stored_enum!(AcceptanceDecision { Accept => "ACCEPT", Decline => "DECLINE", RedirectToLegalRoute => "REDIRECT_TO_LEGAL_ROUTE", DeclineConcluded => "DECLINE_CONCLUDED" });

/// 法定途径 — the statutory procedure an appeal is redirected to.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum LegalRoute {
    /// 诉讼
    #[sea_orm(string_value = "LITIGATION")]
    Litigation,
    /// 仲裁
    #[sea_orm(string_value = "ARBITRATION")]
    Arbitration,
    /// 行政复议
    #[sea_orm(string_value = "ADMINISTRATIVE_RECONSIDERATION")]
    AdministrativeReconsideration,
    /// 纪检监察
    #[sea_orm(string_value = "DISCIPLINARY")]
    Disciplinary,
    /// 其他法定途径
    #[sea_orm(string_value = "OTHER_STATUTORY")]
    OtherStatutory,
}
stored_enum!(LegalRoute {
    Litigation => "LITIGATION", Arbitration => "ARBITRATION",
    AdministrativeReconsideration => "ADMINISTRATIVE_RECONSIDERATION", Disciplinary => "DISCIPLINARY",
    OtherStatutory => "OTHER_STATUTORY",
});

/// 处理意见 — the outcome a written reply states.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ReplyOutcome {
    /// 支持
    #[sea_orm(string_value = "SUPPORTED")]
    Supported,
    /// 部分支持
    #[sea_orm(string_value = "PARTIALLY_SUPPORTED")]
    PartiallySupported,
    /// 不予支持
    #[sea_orm(string_value = "NOT_SUPPORTED")]
    NotSupported,
    /// 解释说明 (suggestions)
    #[sea_orm(string_value = "EXPLAINED")]
    Explained,
}
stored_enum!(ReplyOutcome { Supported => "SUPPORTED", PartiallySupported => "PARTIALLY_SUPPORTED", NotSupported => "NOT_SUPPORTED", Explained => "EXPLAINED" });

/// 满意度 — the petitioner's rating of the reply.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Satisfaction {
    /// 满意
    #[sea_orm(string_value = "SATISFIED")]
    Satisfied,
    /// 基本满意
    #[sea_orm(string_value = "BASICALLY_SATISFIED")]
    BasicallySatisfied,
    /// 不满意
    #[sea_orm(string_value = "DISSATISFIED")]
    Dissatisfied,
}
stored_enum!(Satisfaction { Satisfied => "SATISFIED", BasicallySatisfied => "BASICALLY_SATISFIED", Dissatisfied => "DISSATISFIED" });

/// 复查/复核决定 — a review body's decision on the decision below.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ReviewDecision {
    /// 维持 — upholds it.
    #[sea_orm(string_value = "UPHOLD")]
    Uphold,
    /// 撤销/变更 — changes it.
    #[sea_orm(string_value = "CHANGE")]
    Change,
}
stored_enum!(ReviewDecision { Uphold => "UPHOLD", Change => "CHANGE" });

/// What a CHANGE does with the decision below.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ChangeMode {
    /// 变更 — the reviewing body's own decision replaces the one below.
    #[sea_orm(string_value = "REPLACE")]
    Replace,
    /// 撤销、责令重新办理 — the reply is quashed and the lead unit replies anew, with a fresh
    /// handling clock.
    #[sea_orm(string_value = "REDO")]
    Redo,
}
stored_enum!(ChangeMode { Replace => "REPLACE", Redo => "REDO" });

/// 送达方式 — how a written decision reached the petitioner.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum DeliveryMethod {
    /// 直接送达 — handed over in person.
    #[sea_orm(string_value = "IN_PERSON")]
    InPerson,
    /// 邮寄送达 — by post.
    #[sea_orm(string_value = "POST")]
    Post,
    /// 电子邮件
    #[sea_orm(string_value = "EMAIL")]
    Email,
    /// 短信链接
    #[sea_orm(string_value = "SMS_LINK")]
    SmsLink,
    /// 在应用内 — recorded when the petitioner opens it in the app.
    #[sea_orm(string_value = "IN_APP")]
    InApp,
}
stored_enum!(DeliveryMethod { InPerson => "IN_PERSON", Post => "POST", Email => "EMAIL", SmsLink => "SMS_LINK", InApp => "IN_APP" });

/// The level of a body above the county.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum HigherLevel {
    /// 市级
    #[sea_orm(string_value = "CITY")]
    City,
    /// 省级
    #[sea_orm(string_value = "PROVINCE")]
    Province,
    /// 国家 — the national petition system.
    #[sea_orm(string_value = "NATIONAL")]
    National,
}
stored_enum!(HigherLevel { City => "CITY", Province => "PROVINCE", National => "NATIONAL" });

/// 复查 or 复核.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ReviewStage {
    /// 复查 — review by the lead unit's superior body.
    #[sea_orm(string_value = "REVIEW")]
    Review,
    /// 复核 — re-review by the reviewing body's superior.
    #[sea_orm(string_value = "RE_REVIEW")]
    ReReview,
}
stored_enum!(ReviewStage { Review => "REVIEW", ReReview => "RE_REVIEW" });

/// 信访人类别 — a natural person, or an organisation (法人或其他组织).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum PetitionerKind {
    /// 自然人 — a person: name, ID number, phone, address.
    #[sea_orm(string_value = "PERSON")]
    Person,
    /// 法人或其他组织 — an organisation: its name, unified social credit code and the person
    /// who speaks for it.
    #[sea_orm(string_value = "ORGANISATION")]
    Organisation,
}
stored_enum!(PetitionerKind { Person => "PERSON", Organisation => "ORGANISATION" });

/// 转送/交办 — how a case is handed on.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ReferralMode {
    /// 转送 — responsibility moves; no report back.
    #[sea_orm(string_value = "TRANSFER")]
    Transfer,
    /// 交办 — responsibility moves; the receiver owes a completion report by a deadline.
    #[sea_orm(string_value = "ASSIGN")]
    Assign,
}
stored_enum!(ReferralMode { Transfer => "TRANSFER", Assign => "ASSIGN" });

/// 转交办状态 — where a referral stands.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ReferralStatus {
    /// 待签收 — arrived, not yet acknowledged or objected to.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// 已签收
    #[sea_orm(string_value = "ACKNOWLEDGED")]
    Acknowledged,
    /// 异议中 — the receiver objects; the sender or the bureau decides.
    #[sea_orm(string_value = "OBJECTED")]
    Objected,
    /// 已退回 — the objection was approved; the case went back to the sender.
    #[sea_orm(string_value = "RETURNED")]
    Returned,
    /// 异议驳回 — the objection was overruled; the receiver keeps the case.
    #[sea_orm(string_value = "KEPT")]
    Kept,
}
stored_enum!(ReferralStatus { Pending => "PENDING", Acknowledged => "ACKNOWLEDGED", Objected => "OBJECTED", Returned => "RETURNED", Kept => "KEPT" });

/// 审批状态 — of an extension request or a completion report.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ApprovalStatus {
    /// 待审批
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// 已批准
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    /// 已驳回
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}
stored_enum!(ApprovalStatus { Pending => "PENDING", Approved => "APPROVED", Rejected => "REJECTED" });

impl CaseStatus {
    /// Still being worked on (for repeat detection: an open matter).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseStatus::Finalized | CaseStatus::NotAccepted | CaseStatus::Closed
        )
    }
}

/// 重复信访关联 — where a proposed link between a later and an earlier case stands.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RepeatLinkState {
    /// 系统提示 — proposed by the system at registration; counts for nothing yet.
    #[sea_orm(string_value = "PROPOSED")]
    Proposed,
    /// 已确认 — confirmed by the bureau or the lead unit: the later case is a repeat.
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    /// 已撤销 — a confirmed link undone, with a reason.
    #[sea_orm(string_value = "UNDONE")]
    Undone,
}
stored_enum!(RepeatLinkState { Proposed => "PROPOSED", Confirmed => "CONFIRMED", Undone => "UNDONE" });

/// 积案化解状态 — where a backlog matter stands in its campaign.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum BacklogStatus {
    /// 列入 — listed, work not yet begun.
    #[sea_orm(string_value = "LISTED")]
    Listed,
    /// 化解中 — being worked.
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    /// 已化解 — resolved (with how).
    #[sea_orm(string_value = "RESOLVED")]
    Resolved,
    /// 未化解 — not resolved by the campaign's end.
    #[sea_orm(string_value = "UNRESOLVED")]
    Unresolved,
}
stored_enum!(BacklogStatus { Listed => "LISTED", InProgress => "IN_PROGRESS", Resolved => "RESOLVED", Unresolved => "UNRESOLVED" });

/// 化解方式 — how a backlog matter was resolved.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum BacklogResolution {
    /// 息诉罢访 — the petitioner is satisfied and stops petitioning.
    #[sea_orm(string_value = "SETTLED")]
    Settled,
    /// 依法终结 — concluded by law (the statutory path has ended).
    #[sea_orm(string_value = "CONCLUDED_BY_LAW")]
    ConcludedByLaw,
    /// 救助 — resolved with hardship relief.
    #[sea_orm(string_value = "RELIEF")]
    Relief,
    /// 其他 — another way, described in the note.
    #[sea_orm(string_value = "OTHER")]
    Other,
}
stored_enum!(BacklogResolution { Settled => "SETTLED", ConcludedByLaw => "CONCLUDED_BY_LAW", Relief => "RELIEF", Other => "OTHER" });

/// 事项状态 — where a matter stands, as far as the viewer sees its cases (not stored: it
/// follows from the cases and the backlog).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum MatterState {
    /// 未办结 — not concluded: a case is still being worked, or none has reached an end that
    /// concludes the matter.
    Open,
    /// 终结 — the statutory path has ended: re-review decided (`FINALIZED`), or a written
    /// reply (or review decision) stood without a further request in time (`CLOSED`).
    Concluded,
    /// 化解 — resolved: listed as resolved in a backlog campaign, or its latest case closed
    /// with the petitioner satisfied.
    Resolved,
}

/// 文书种类 — the written documents a decision produces (domain §8).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum DocumentKind {
    /// 受理告知书 — carries the query code.
    #[sea_orm(string_value = "ACCEPTANCE_NOTICE")]
    AcceptanceNotice,
    /// 不予受理告知书 — including 不再受理 of a concluded matter.
    #[sea_orm(string_value = "NON_ACCEPTANCE_NOTICE")]
    NonAcceptanceNotice,
    /// 导入法定途径告知书 — the matter belongs to a statutory route.
    #[sea_orm(string_value = "LEGAL_ROUTE_NOTICE")]
    LegalRouteNotice,
    /// 转送告知书 — where the matter was sent.
    #[sea_orm(string_value = "TRANSFER_NOTICE")]
    TransferNotice,
    /// 延期告知书 — handling was extended, until when and why.
    #[sea_orm(string_value = "EXTENSION_NOTICE")]
    ExtensionNotice,
    /// 处理意见书 — the reply.
    #[sea_orm(string_value = "REPLY_OPINION")]
    ReplyOpinion,
    /// 复查意见书
    #[sea_orm(string_value = "REVIEW_OPINION")]
    ReviewOpinion,
    /// 复核意见书
    #[sea_orm(string_value = "RE_REVIEW_OPINION")]
    ReReviewOpinion,
}
stored_enum!(DocumentKind {
    AcceptanceNotice => "ACCEPTANCE_NOTICE",
    NonAcceptanceNotice => "NON_ACCEPTANCE_NOTICE",
    LegalRouteNotice => "LEGAL_ROUTE_NOTICE",
    TransferNotice => "TRANSFER_NOTICE",
    ExtensionNotice => "EXTENSION_NOTICE",
    ReplyOpinion => "REPLY_OPINION",
    ReviewOpinion => "REVIEW_OPINION",
    ReReviewOpinion => "RE_REVIEW_OPINION",
});

/// 材料类别 — what an attachment is.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AttachmentKind {
    /// 来信原件 — a scanned letter.
    #[sea_orm(string_value = "LETTER")]
    Letter,
    /// 照片
    #[sea_orm(string_value = "PHOTO")]
    Photo,
    /// 证据材料 — contracts, pay slips, receipts.
    #[sea_orm(string_value = "EVIDENCE")]
    Evidence,
    /// 签字表单 — signed forms and records.
    #[sea_orm(string_value = "SIGNED_FORM")]
    SignedForm,
    /// 其他
    #[sea_orm(string_value = "OTHER")]
    Other,
}
stored_enum!(AttachmentKind { Letter => "LETTER", Photo => "PHOTO", Evidence => "EVIDENCE", SignedForm => "SIGNED_FORM", Other => "OTHER" });
