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
}
stored_enum!(UnitRelation {
    Lead => "LEAD", Assisting => "ASSISTING", Territory => "TERRITORY", Registered => "REGISTERED",
    PendingReferral => "PENDING_REFERRAL",
});
