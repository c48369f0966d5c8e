//! Leader ownership (包案, domain §10) with its plan: a LEADER of the lead unit or of the
//! county takes personal ownership of a case and records who coordinates, supervises, carries
//! out and keeps contact with the petitioner, the goal and the date; progress is recorded
//! against the plan (by the owning leader or the lead unit) until one entry reports it carried
//! out. A plan past its date and not carried out is on the overdue list. Staff records: a
//! petitioner sees none of it, and the accused unit of an accusation, which does not see the
//! case, nothing.

use crate::access::Viewer;
use crate::calendar::{end_of_day, local_date};
use crate::county_calendar::parse_date;
use crate::domain::Action;
use crate::error::{AppError, Result, bad_input, conflict};
use crate::workflow::{Caller, invalid, open, save, text, unchanged, with_record};
use chrono::{DateTime, Days, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use xinfang_entity::{case, ownership_plan, ownership_progress};

/// The most rows the overdue list returns.
pub const OVERDUE_MAX: u64 = 200;

pub struct NewPlan {
    pub coordinator: String,
    pub supervisor: String,
    pub executor: String,
    pub contact: String,
    pub goal: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

/// 包案: takes ownership with its plan, in one transaction.
pub async fn take(
    caller: &Caller<'_>,
    case_id: i64,
    plan: NewPlan,
) -> Result<(ownership_plan::Model, case::Model)> {
    for (field, value, max) in [
        ("plan.coordinator", &plan.coordinator, 100),
        ("plan.supervisor", &plan.supervisor, 100),
        ("plan.executor", &plan.executor, 100),
        ("plan.contact", &plan.contact, 100),
        ("plan.goal", &plan.goal, 1000),
    ] {
        crate::validate::text(field, value, 1, max)?;
    }
    let due_on = parse_date("plan.dueOn", &plan.due_on)?;
    let today = local_date(caller.clock.now());
    if due_on < today || due_on > today + Days::new(366) {
        return Err(bad_input(
            "plan.dueOn",
            "the plan's date is between today and a year from now",
        ));
    }
    let open = open(caller, case_id, Action::TakeLeaderOwnership, None).await?;
    if let Some(current) = open.case.leader_user_id {
        if current == caller.viewer.user_id {
            return Err(conflict("you already own this case"));
        }
        return Err(conflict("another leader already owns this case"));
    }
    let unit = caller.viewer.handling_unit()?;
    let row = ownership_plan::ActiveModel {
        case_id: Set(open.case.id),
        leader_user_id: Set(caller.viewer.user_id),
        leader_unit_id: Set(unit.id),
        coordinator: Set(plan.coordinator),
        supervisor: Set(plan.supervisor),
        executor: Set(plan.executor),
        contact: Set(plan.contact),
        goal: Set(plan.goal),
        due_on: Set(due_on.to_string()),
        due_at: Set(end_of_day(due_on)),
        taken_at: Set(open.now),
        completed_at: Set(None),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    let mut changes = unchanged();
    changes.leader_user_id = Set(Some(caller.viewer.user_id));
    let case = save(
        with_record(open, row.id),
        changes,
        "LEADER_OWNERSHIP",
        json!({ "unitId": unit.id, "planId": row.id, "dueOn": row.due_on }),
        false,
    )
    .await?;
    Ok((row, case))
}

/// 包案进展: the owning leader or the lead unit records progress against the plan; with
/// `completes`, the plan is carried out and nothing more is recorded against it.
pub async fn record_progress(
    caller: &Caller<'_>,
    case_id: i64,
    words: &str,
    completes: bool,
) -> Result<(ownership_plan::Model, case::Model)> {
    text("text", words)?;
    let open = open(caller, case_id, Action::RecordOwnershipProgress, None).await?;
    let plan = ownership_plan::Entity::find()
        .filter(ownership_plan::Column::CaseId.eq(open.case.id))
        .one(&open.tx)
        .await?
        .ok_or_else(|| {
            invalid(
                &open.case,
                Action::RecordOwnershipProgress,
                Some("no leader has taken ownership of this case with a plan"),
            )
        })?;
    if plan.completed_at.is_some() {
        return Err(conflict("this ownership plan was already carried out"));
    }
    let entry = ownership_progress::ActiveModel {
        plan_id: Set(plan.id),
        case_id: Set(open.case.id),
        user_id: Set(caller.viewer.user_id),
        text: Set(words.to_string()),
        completes: Set(completes),
        at: Set(open.now),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    let plan = if completes {
        let mut active: ownership_plan::ActiveModel = plan.into();
        active.completed_at = Set(Some(open.now));
        active.update(&open.tx).await?
    } else {
        plan
    };
    let case = save(
        with_record(open, entry.id),
        unchanged(),
        "OWNERSHIP_PROGRESS",
        json!({ "planId": plan.id, "completes": completes }),
        false,
    )
    .await?;
    Ok((plan, case))
}

/// A case's ownership plan and its progress, oldest first — for staff who see the case.
pub async fn plan_of(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    case: &case::Model,
) -> Result<Option<(ownership_plan::Model, Vec<ownership_progress::Model>)>> {
    if !viewer.sees_staff_records() || case.leader_user_id.is_none() {
        return Ok(None);
    }
    let Some(plan) = ownership_plan::Entity::find()
        .filter(ownership_plan::Column::CaseId.eq(case.id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let progress = ownership_progress::Entity::find()
        .filter(ownership_progress::Column::PlanId.eq(plan.id))
        .order_by_asc(ownership_progress::Column::Id)
        .all(db)
        .await?;
    Ok(Some((plan, progress)))
}

/// 包案逾期: plans past their date and not carried out, on cases the viewer (staff) sees,
/// the longest overdue first.
pub async fn overdue(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<Vec<(case::Model, ownership_plan::Model)>> {
    viewer.handling_unit()?;
    let plans = ownership_plan::Entity::find()
        .filter(ownership_plan::Column::CompletedAt.is_null())
        .filter(ownership_plan::Column::DueAt.lt(now))
        .filter(ownership_plan::Column::CaseId.in_subquery(crate::cases::visible_ids(viewer)))
        .order_by_asc(ownership_plan::Column::DueAt)
        .order_by_asc(ownership_plan::Column::Id)
        .limit(OVERDUE_MAX)
        .all(db)
        .await?;
    let ids: Vec<i64> = plans.iter().map(|p| p.case_id).collect();
    let cases = case::Entity::find()
        .filter(case::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(plans
        .into_iter()
        .filter_map(|p| {
            cases
                .iter()
                .find(|c| c.id == p.case_id)
                .cloned()
                .map(|c| (c, p))
        })
        .collect())
}

/// Whether a plan is past its date and not carried out at `now`.
pub fn is_overdue(plan: &ownership_plan::Model, now: DateTime<Utc>) -> bool {
    plan.completed_at.is_none() && plan.due_at < now
}

/// One plan, where the viewer is staff who sees its case.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, ownership_plan::Model)>> {
    if !viewer.sees_staff_records() {
        return Ok(None);
    }
    let row = ownership_plan::Entity::find_by_id(id)
        .filter(ownership_plan::Column::CaseId.in_subquery(crate::cases::visible_ids(viewer)))
        .one(db)
        .await?;
    crate::records::with_case(db, viewer, row, |r| r.case_id).await
}

pub(crate) fn not_found() -> AppError {
    AppError::NotFound("ownership plan")
}
