//! Higher levels (domain §9): cases that arrive from a body above the county (上级转交办) and
//! matters the county sends up. A higher body is named, not a unit of the deployment
//! (`higher_bodies`); the link to it is a `higher_referrals` row.
//!
//! - **From above**: registration names the body, its reference number, 转送 (TRANSFER) or
//!   交办 (ASSIGN), and for an assignment the report-back deadline (default 60 days from
//!   registration). The
//!   assignment owes a report back (办结报告) once the case has a result: `reportToHigherBody`
//!   by the lead unit or the bureau, tracked on the case (`higher_report_due_at`,
//!   `higher_reported_at`) for overdue lists and 上级交办办结率.
//! - **Upward**: the bureau sends an open matter up with a reason (an accusation against the
//!   county's leadership goes to the higher discipline body). The county keeps the referral
//!   record — number, title, receiver, when — and loses sight of the content: the case leaves
//!   every staff scope of the county (the petitioner still follows their own case). Sent to a
//!   body outside the deployment, nothing more happens to it here; in a city deployment the
//!   city unit receives it, leads it, and may send it back down (`transferCase`), when the
//!   county sees it again.

use crate::access::Viewer;
use crate::domain::{Action, CaseStatus, HigherLevel, OrgUnitKind, ReferralMode};
use crate::error::{Result, bad_input, conflict};
use crate::identity::find_unit;
use crate::referrals::{move_lead, restart_acceptance};
use crate::reviews::higher_body_named;
use crate::validate;
use crate::workflow::{
    Caller, HANDLING_DAYS, TEXT_MAX, invalid, open, save, text, unchanged, with_record,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use std::collections::HashMap;
use xinfang_entity::{case, higher_body, higher_referral};

pub const FROM_ABOVE: &str = "FROM_ABOVE";
pub const UPWARD: &str = "UPWARD";

/// A case as a higher body handed it down.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HigherIntake {
    pub body_name: String,
    pub level: HigherLevel,
    pub reference_number: String,
    pub mode: ReferralMode,
    /// For an assignment: when the report back is due (default: 60 days from receipt).
    pub report_due_at: Option<DateTime<Utc>>,
}

/// Checks an intake at the edge, before anything is written.
pub fn validate_intake(intake: &HigherIntake, now: DateTime<Utc>) -> Result<()> {
    validate::text("fromHigherBody.name", &intake.body_name, 1, 100)?;
    validate::text(
        "fromHigherBody.referenceNumber",
        &intake.reference_number,
        1,
        100,
    )?;
    match (intake.mode, intake.report_due_at) {
        (ReferralMode::Transfer, Some(_)) => Err(bad_input(
            "fromHigherBody.reportDueAt",
            "only an assignment (交办, ASSIGN) owes a report back",
        )),
        (ReferralMode::Assign, Some(at)) if at <= now => Err(bad_input(
            "fromHigherBody.reportDueAt",
            "the report-back deadline must be in the future",
        )),
        _ => Ok(()),
    }
}

/// Records the intake of a case just registered; returns the report-back deadline (for an
/// assignment) to set on the case.
pub async fn record_intake(
    tx: &impl ConnectionTrait,
    case: &case::Model,
    intake: &HigherIntake,
    calendar: &crate::calendar::WorkCalendar,
    by_user_id: i64,
    now: DateTime<Utc>,
) -> Result<(higher_referral::Model, higher_body::Model)> {
    let body = higher_body_named(tx, intake.body_name.trim(), intake.level, now).await?;
    // The default runs from registration, not from a backdated receipt: a report cannot be
    // owed before the county had the case in hand.
    let report_due_at = (intake.mode == ReferralMode::Assign).then(|| {
        intake
            .report_due_at
            .unwrap_or_else(|| calendar.due_after_days(now, HANDLING_DAYS))
    });
    let row = higher_referral::ActiveModel {
        case_id: Set(case.id),
        direction: Set(FROM_ABOVE.into()),
        higher_body_id: Set(body.id),
        mode: Set(Some(intake.mode)),
        reference_number: Set(Some(intake.reference_number.trim().to_string())),
        report_due_at: Set(report_due_at),
        created_by_user_id: Set(by_user_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok((row, body))
}

/// The case's link to a higher body in one direction, if any.
pub async fn referral_of(
    db: &impl ConnectionTrait,
    case_id: i64,
    direction: &str,
) -> Result<Option<higher_referral::Model>> {
    Ok(higher_referral::Entity::find()
        .filter(higher_referral::Column::CaseId.eq(case_id))
        .filter(higher_referral::Column::Direction.eq(direction))
        .one(db)
        .await?)
}

/// 办结报告 to the higher body that assigned the case: once, after the case has a result
/// (a decision on acceptance that ended it, or a reply), by the lead unit or the bureau.
pub async fn report_to_higher_body(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
    report: &str,
) -> Result<case::Model> {
    text("text", report)?;
    let open = open(
        caller,
        case_id,
        Action::ReportToHigherBody,
        Some(expected_version),
    )
    .await?;
    let Some(row) = referral_of(&open.tx, open.case.id, FROM_ABOVE)
        .await?
        .filter(|r| r.mode == Some(ReferralMode::Assign))
    else {
        return Err(invalid(
            &open.case,
            Action::ReportToHigherBody,
            Some("only a case a higher body assigned (交办) owes a report back"),
        ));
    };
    if row.reported_at.is_some() {
        return Err(conflict("the report back was already made"));
    }
    let on_time = row.report_due_at.is_none_or(|due| open.now <= due);
    let mut updated: higher_referral::ActiveModel = row.clone().into();
    updated.reported_at = Set(Some(open.now));
    updated.report_text = Set(Some(report.to_string()));
    updated.reported_by_user_id = Set(Some(caller.viewer.user_id));
    updated.update(&open.tx).await?;
    let mut changes = unchanged();
    changes.higher_reported_at = Set(Some(open.now));
    let detail = json!({ "higherReferralId": row.id, "referenceNumber": row.reference_number, "onTime": on_time });
    save(open, changes, "HIGHER_REPORTED", detail, false).await
}

/// Where a matter goes up to.
pub enum UpwardTarget {
    /// A body outside the deployment, by name and level.
    Outside { name: String, level: HigherLevel },
    /// The city unit above the county, inside the deployment: it receives the matter and
    /// decides it (or sends it back down with `transferCase`).
    City(i64),
}

/// Sends an open matter up (the bureau), with the reason. The county keeps the referral record
/// and loses sight of the case. Sent to a body outside the deployment, nothing more happens to
/// it here; sent to the city above the county, the city leads it from now on, with a fresh
/// acceptance clock.
pub async fn send_upward(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
    target: UpwardTarget,
    reason: &str,
) -> Result<higher_referral::Model> {
    if let UpwardTarget::Outside { name, .. } = &target {
        validate::text("higherBody.name", name, 1, 100)?;
    }
    validate::text("reason", reason, 1, TEXT_MAX)?;
    let open = open(caller, case_id, Action::SendUpward, Some(expected_version)).await?;
    if referral_of(&open.tx, open.case.id, UPWARD).await?.is_some() {
        return Err(conflict("this matter was already sent up"));
    }
    let (body, city) = match &target {
        UpwardTarget::Outside { name, level } => (
            higher_body_named(&open.tx, name.trim(), *level, open.now).await?,
            None,
        ),
        UpwardTarget::City(unit_id) => {
            let county = find_unit(&open.tx, open.case.county_id).await?;
            let city = find_unit(&open.tx, *unit_id)
                .await
                .ok()
                .filter(|u| u.kind == OrgUnitKind::City && u.active)
                .filter(|u| county.parent_id == Some(u.id))
                .ok_or_else(|| {
                    bad_input(
                        "toUnitId",
                        "only the city above this county, inside this deployment, receives what it sends up",
                    )
                })?;
            (
                higher_body_named(&open.tx, &city.name, HigherLevel::City, open.now).await?,
                Some(city),
            )
        }
    };
    let row = higher_referral::ActiveModel {
        case_id: Set(open.case.id),
        direction: Set(UPWARD.into()),
        higher_body_id: Set(body.id),
        reason: Set(Some(reason.to_string())),
        created_by_user_id: Set(caller.viewer.user_id),
        created_at: Set(open.now),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    let mut changes = match &city {
        Some(city) => {
            move_lead(&open, open.case.lead_unit_id, city.id).await?;
            restart_acceptance(&open, city.id)
        }
        None => {
            let mut changes = unchanged();
            changes.due_at = Set(None);
            changes
        }
    };
    changes.sent_up_at = Set(Some(open.now));
    let detail = json!({ "higherReferralId": row.id, "higherBody": body.name, "level": body.level.as_str(),
        "toUnitId": city.as_ref().map(|c| c.id), "reason": reason });
    save(
        with_record(open, row.id),
        changes,
        "SENT_UPWARD",
        detail,
        true,
    )
    .await?;
    Ok(row)
}

/// One matter the viewer's county sent up, by its referral id (a retry's answer).
pub async fn sent_up_one(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    referral_id: i64,
) -> Result<Option<SentUp>> {
    Ok(sent_up_where(db, viewer, Some(referral_id)).await?.pop())
}

/// What the county keeps of a matter it sent up: the number, title, receiver, reason and
/// when — never the content.
pub struct SentUp {
    pub referral: higher_referral::Model,
    pub body: higher_body::Model,
    pub case_number: String,
    pub case_title: String,
    pub status: CaseStatus,
}

/// The matters the viewer's county sent up, newest first; the county's petition bureau keeps
/// the record. Three statements whatever the number: the referrals, their cases, the bodies.
pub async fn sent_up(db: &impl ConnectionTrait, viewer: &Viewer) -> Result<Vec<SentUp>> {
    sent_up_where(db, viewer, None).await
}

/// The county's record of matters sent up, all of them or the one referral asked for.
async fn sent_up_where(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    only: Option<i64>,
) -> Result<Vec<SentUp>> {
    let Some(county) = viewer.bureau_county() else {
        return Ok(vec![]);
    };
    // The record stays when a city sends the matter back down (and the case is in sight
    // again), so it is read from the referrals, not from the cases' state.
    let of_county = sea_orm::sea_query::Query::select()
        .column(case::Column::Id)
        .from(case::Entity)
        .and_where(case::Column::CountyId.eq(county))
        .to_owned();
    let mut rows = higher_referral::Entity::find()
        .filter(higher_referral::Column::Direction.eq(UPWARD))
        .filter(higher_referral::Column::CaseId.in_subquery(of_county));
    if let Some(id) = only {
        rows = rows.filter(higher_referral::Column::Id.eq(id));
    }
    let rows = rows
        .order_by_desc(higher_referral::Column::Id)
        .all(db)
        .await?;
    let cases: HashMap<i64, case::Model> = case::Entity::find()
        .filter(case::Column::Id.is_in(rows.iter().map(|r| r.case_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let bodies: HashMap<i64, higher_body::Model> = higher_body::Entity::find()
        .filter(higher_body::Column::Id.is_in(rows.iter().map(|r| r.higher_body_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|referral| {
            let case = cases.get(&referral.case_id)?;
            let body = bodies.get(&referral.higher_body_id)?.clone();
            Some(SentUp {
                case_number: case.number.clone(),
                case_title: case.title.clone(),
                status: case.status,
                referral,
                body,
            })
        })
        .collect())
}
