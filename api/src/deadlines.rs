//! The statutory periods and the deadline windows of domain §3, each written once, with the
//! SQL form beside the Rust one: the workflow sets deadlines from these periods, and the
//! list filters, statistics, oversight, deadline notices and the seed generator all read
//! "overdue" and "warning" from here. Day arithmetic itself is `calendar`'s.

use crate::calendar::WARNING_DAYS;
use crate::domain::{CaseStatus, DeadlineKind};
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{ExprTrait, SimpleExpr};

/// 受理告知: decided within 15 days of receipt by the current lead unit.
pub const ACCEPTANCE_DAYS: u32 = 15;
/// 办理: 60 days from acceptance.
pub const HANDLING_DAYS: u32 = 60;
/// 延期: at most 30 days in total.
pub const MAX_EXTENSION_DAYS: i32 = 30;
/// 复查/复核 requests and decisions: 30 days each.
pub const REVIEW_DAYS: u32 = 30;
/// 异议: a receiver may object to a referral within 5 working days.
pub const OBJECTION_WORKING_DAYS: u32 = 5;

/// The last instant of the warning window that starts at `now`.
pub fn warning_horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    now + TimeDelta::days(WARNING_DAYS)
}

/// SQL: the deadline in `due` has passed at `now` (as [`crate::calendar::deadline_state`]
/// says Overdue).
pub fn overdue_sql(due: SimpleExpr, now: DateTime<Utc>) -> SimpleExpr {
    due.lt(now)
}

/// SQL: the deadline in `due` falls within the warning window at `now` (Warning).
pub fn warning_sql(due: SimpleExpr, now: DateTime<Utc>) -> SimpleExpr {
    due.clone().gte(now).and(due.lte(warning_horizon(now)))
}

/// SQL: overdue, or (with `overdue` false) in warning.
pub fn window_sql(due: SimpleExpr, now: DateTime<Utc>, overdue: bool) -> SimpleExpr {
    if overdue {
        overdue_sql(due, now)
    } else {
        warning_sql(due, now)
    }
}

/// The case states in which a case deadline (acceptance, handling, review decision) is
/// pending, as stored: a case's `due_at` counts only in these.
pub fn pending_statuses() -> Vec<&'static str> {
    [
        DeadlineKind::Acceptance,
        DeadlineKind::Handling,
        DeadlineKind::ReviewDecision,
    ]
    .iter()
    .flat_map(|k| k.statuses().iter().map(|s: &CaseStatus| s.as_str()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{DeadlineState, deadline_state};

    #[test]
    fn the_pending_statuses_are_those_with_a_deadline_kind() {
        let pending = pending_statuses();
        for status in [
            CaseStatus::Registered,
            CaseStatus::InProgress,
            CaseStatus::Reported,
            CaseStatus::Replied,
            CaseStatus::UnderReview,
            CaseStatus::Reviewed,
            CaseStatus::UnderReReview,
            CaseStatus::Finalized,
            CaseStatus::NotAccepted,
            CaseStatus::Closed,
        ] {
            assert_eq!(
                pending.contains(&status.as_str()),
                DeadlineKind::of_status(status).is_some(),
                "{status:?}"
            );
        }
    }

    #[test]
    fn the_warning_horizon_agrees_with_deadline_state() {
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let horizon = warning_horizon(now);
        assert_eq!(deadline_state(horizon, now), DeadlineState::Warning);
        assert_eq!(
            deadline_state(horizon + TimeDelta::milliseconds(1), now),
            DeadlineState::OnTime
        );
        assert_eq!(
            deadline_state(now - TimeDelta::milliseconds(1), now),
            DeadlineState::Overdue
        );
    }
}
