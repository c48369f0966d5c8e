//! Hearings (信访听证, domain §10) and the county settings they read.
//!
//! The unit whose decision the running clock waits for (the lead unit; the reviewing body
//! during a review) schedules a hearing, which is also the notice to the petitioner: it must
//! come at least the county's `hearing_notice_days` before the hearing. From that notice the
//! decision clock is held — `cases.due_at` is empty and `clock_paused_at` set, so nothing
//! reads the case as overdue or in warning, and every action that would stop, restart or move
//! the clock waits (see `workflow::state_allows`). Concluding the hearing (minutes, outcome,
//! optionally a public notice) or cancelling it releases the clock: its deadline moves on by
//! the working days held — those after the notice's day up to and including the end's day —
//! counted and added on the county's working-day calendar.

use crate::access::Viewer;
use crate::calendar::local_date;
use crate::clock::Clock;
use crate::directory::Directory;
use crate::domain::{Action, DeadlineKind, FromDb, HearingParticipantKind, HearingStatus};
use crate::error::{AppError, Result, bad_input, conflict};
use crate::workflow::{Caller, invalid, open, save, text, unchanged, with_record};
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use xinfang_entity::{case, county_setting, hearing};

/// Days of notice a hearing needs where the county set nothing.
pub const DEFAULT_NOTICE_DAYS: i32 = 10;
/// Hours within which an urgent matter or a group visit is registered, where the county set
/// nothing.
pub const DEFAULT_REGISTRATION_LIMIT_HOURS: i32 = 24;
/// A hearing is scheduled at most this far ahead.
const FURTHEST_DAYS: i64 = 366;
const PARTICIPANTS_MAX: usize = 50;

/// What a county configures (the defaults where it has not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountySettings {
    pub county_id: i64,
    pub hearing_notice_days: i32,
    pub registration_limit_hours: i32,
}

pub async fn settings(db: &impl ConnectionTrait, county_id: i64) -> Result<CountySettings> {
    let row = county_setting::Entity::find_by_id(county_id)
        .one(db)
        .await?;
    Ok(CountySettings {
        county_id,
        hearing_notice_days: row
            .as_ref()
            .map_or(DEFAULT_NOTICE_DAYS, |r| r.hearing_notice_days),
        registration_limit_hours: row.as_ref().map_or(DEFAULT_REGISTRATION_LIMIT_HOURS, |r| {
            r.registration_limit_hours
        }),
    })
}

/// The county's administrator changes its settings; what is not given stays.
pub async fn set_settings(
    db: &DatabaseConnection,
    directory: &Directory,
    clock: &Clock,
    viewer: &Viewer,
    hearing_notice_days: Option<i32>,
    registration_limit_hours: Option<i32>,
) -> Result<CountySettings> {
    let county_id = viewer.calendar_county()?;
    if hearing_notice_days.is_none() && registration_limit_hours.is_none() {
        return Err(bad_input(
            "hearingNoticeDays",
            "give at least one setting to change",
        ));
    }
    if let Some(d) = hearing_notice_days
        && !(1..=60).contains(&d)
    {
        return Err(bad_input("hearingNoticeDays", "give 1 to 60 days"));
    }
    if let Some(h) = registration_limit_hours
        && !(1..=720).contains(&h)
    {
        return Err(bad_input("registrationLimitHours", "give 1 to 720 hours"));
    }
    let tx = crate::db::begin_write(db).await?;
    let before = settings(&tx, county_id).await?;
    let after = CountySettings {
        county_id,
        hearing_notice_days: hearing_notice_days.unwrap_or(before.hearing_notice_days),
        registration_limit_hours: registration_limit_hours
            .unwrap_or(before.registration_limit_hours),
    };
    let row = county_setting::ActiveModel {
        county_id: Set(county_id),
        hearing_notice_days: Set(after.hearing_notice_days),
        registration_limit_hours: Set(after.registration_limit_hours),
        updated_at: Set(clock.now()),
    };
    county_setting::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(county_setting::Column::CountyId)
                .update_columns([
                    county_setting::Column::HearingNoticeDays,
                    county_setting::Column::RegistrationLimitHours,
                    county_setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(&tx)
        .await?;
    crate::audit::append_admin(
        &tx,
        clock.now(),
        crate::audit::Actor {
            user_id: Some(viewer.user_id),
            unit_id: viewer.unit.as_ref().map(|u| u.id),
        },
        crate::audit::AdminAction {
            action: "COUNTY_SETTINGS_SET",
            unit_id: Some(county_id),
            target: format!("CountySettings:{county_id}"),
            detail: json!({
                "hearingNoticeDays": after.hearing_notice_days,
                "registrationLimitHours": after.registration_limit_hours,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    directory.forget_all();
    Ok(after)
}

/// One participant of a hearing, by kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub kind: HearingParticipantKind,
    pub name: String,
}

pub struct NewHearing {
    pub held_at: DateTime<Utc>,
    pub place: String,
    pub chair: String,
    pub participants: Vec<Participant>,
}

/// A hearing as one viewer may read it: staff read the chair, the participants (an
/// accusation's parties 保密 unless they see its petitioners) and the minutes; a petitioner
/// reads when, where, and how it ended.
pub struct HearingView {
    pub row: hearing::Model,
    pub staff: bool,
    /// The minutes show: to staff who see the parties (an accusation's minutes name them).
    pub minutes: bool,
    pub participants: Vec<Participant>,
    /// The decision clock it held.
    pub paused_kind: Option<DeadlineKind>,
}

pub fn view(viewer: &Viewer, case: &case::Model, row: hearing::Model) -> HearingView {
    let staff = viewer.sees_staff_records();
    let sight = viewer.sight(case);
    let participants = if staff {
        serde_json::from_str::<Vec<Participant>>(&row.participants)
            .unwrap_or_default()
            .into_iter()
            .map(|p| Participant {
                name: sight.participant_name(p.kind == HearingParticipantKind::Party, &p.name),
                kind: p.kind,
            })
            .collect()
    } else {
        vec![]
    };
    let paused_kind = row
        .paused_kind
        .as_deref()
        .and_then(|k| DeadlineKind::from_db(k).ok());
    let minutes = staff && sight.reads_parties();
    HearingView {
        row,
        staff,
        minutes,
        participants,
        paused_kind,
    }
}

/// 听证通知: schedules a hearing and gives the petitioner notice, which holds the clock.
pub async fn schedule(
    caller: &Caller<'_>,
    case_id: i64,
    new: NewHearing,
) -> Result<(hearing::Model, case::Model)> {
    crate::validate::text("place", &new.place, 1, 200)?;
    crate::validate::text("chair", &new.chair, 1, 50)?;
    if new.participants.is_empty() || new.participants.len() > PARTICIPANTS_MAX {
        return Err(bad_input(
            "participants",
            format!("name 1 to {PARTICIPANTS_MAX} participants"),
        ));
    }
    for (i, p) in new.participants.iter().enumerate() {
        crate::validate::text(&format!("participants[{i}].name"), &p.name, 1, 50)?;
    }
    let now = caller.clock.now();
    if new.held_at > now + TimeDelta::days(FURTHEST_DAYS) {
        return Err(bad_input(
            "heldAt",
            "a hearing is scheduled at most a year ahead",
        ));
    }
    let open = open(caller, case_id, Action::ScheduleHearing, None).await?;
    let county = settings(&open.tx, open.case.county_id).await?;
    let notice_days = (local_date(new.held_at) - local_date(open.now)).num_days();
    if notice_days < i64::from(county.hearing_notice_days) {
        let earliest = local_date(open.now) + TimeDelta::days(county.hearing_notice_days.into());
        return Err(bad_input(
            "heldAt",
            format!(
                "the petitioner must have {} days' notice: hold the hearing on {earliest} or later",
                county.hearing_notice_days
            ),
        ));
    }
    let kind = DeadlineKind::of_status(open.case.status)
        .ok_or_else(|| invalid(&open.case, Action::ScheduleHearing, None))?;
    // The clock held is the county's pending one (a review decided above the county runs on
    // that body's clock, and its hearing is that body's).
    let due_before = open.case.due_at.ok_or_else(|| {
        invalid(
            &open.case,
            Action::ScheduleHearing,
            Some("no decision clock of this county is running"),
        )
    })?;
    if due_before < open.now {
        return Err(invalid(
            &open.case,
            Action::ScheduleHearing,
            Some(
                "the decision is already overdue; a hearing does not stop a clock that has run out",
            ),
        ));
    }
    let unit = caller.viewer.handling_unit()?;
    let row = hearing::ActiveModel {
        case_id: Set(open.case.id),
        unit_id: Set(unit.id),
        scheduled_by_user_id: Set(caller.viewer.user_id),
        held_at: Set(new.held_at),
        place: Set(new.place.clone()),
        chair: Set(new.chair),
        participants: Set(serde_json::to_string(&new.participants)
            .map_err(|e| crate::error::internal(e.to_string()))?),
        notified_at: Set(open.now),
        status: Set(HearingStatus::Scheduled.as_str().into()),
        paused_kind: Set(Some(kind.as_str().into())),
        due_before: Set(Some(due_before)),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    let mut changes = unchanged();
    changes.due_at = Set(None);
    changes.clock_paused_at = Set(Some(open.now));
    let case = save(
        with_record(open, row.id),
        changes,
        "HEARING_SCHEDULED",
        json!({ "hearingId": row.id, "heldAt": row.held_at, "place": new.place }),
        true,
    )
    .await?;
    Ok((row, case))
}

/// How a hearing ends.
pub enum Ending {
    /// 听证结论: minutes and outcome, and the public notice if one was posted.
    Concluded {
        minutes: String,
        outcome: String,
        public_notice: Option<String>,
    },
    /// 取消听证, with the reason.
    Cancelled { reason: String },
}

/// Ends a hearing (once) and releases the clock it held, moved on by the working days held.
pub async fn end(
    caller: &Caller<'_>,
    hearing_id: i64,
    ending: Ending,
) -> Result<(hearing::Model, case::Model)> {
    let action = match &ending {
        Ending::Concluded {
            minutes,
            outcome,
            public_notice,
        } => {
            text("minutes", minutes)?;
            text("outcome", outcome)?;
            if let Some(n) = public_notice {
                text("publicNotice", n)?;
            }
            Action::ConcludeHearing
        }
        Ending::Cancelled { reason } => {
            text("reason", reason)?;
            Action::CancelHearing
        }
    };
    let (found_case, _) = find_visible(caller.db, caller.viewer, hearing_id)
        .await?
        .ok_or(AppError::NotFound("hearing"))?;
    // A hearing that has ended no longer holds the clock: say so before the state table does.
    let row = hearing::Entity::find_by_id(hearing_id)
        .one(caller.db)
        .await?
        .ok_or(AppError::NotFound("hearing"))?;
    if row.status != HearingStatus::Scheduled.as_str() {
        return Err(conflict("this hearing has already ended"));
    }
    let open = open(caller, found_case.id, action, None).await?;
    let row = hearing::Entity::find_by_id(hearing_id)
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("hearing"))?;
    if row.status != HearingStatus::Scheduled.as_str() {
        return Err(conflict("this hearing has already ended"));
    }
    if matches!(ending, Ending::Concluded { .. }) && local_date(open.now) < local_date(row.held_at)
    {
        return Err(invalid(
            &open.case,
            action,
            Some(&format!(
                "the hearing is on {}; record its outcome once it was held",
                local_date(row.held_at)
            )),
        ));
    }
    let held = open
        .calendar
        .working_days_between(row.notified_at, open.now);
    let due_after = row.due_before.map(|due| {
        if held == 0 {
            due
        } else {
            open.calendar.due_after_working_days(due, held)
        }
    });
    let kind = row
        .paused_kind
        .as_deref()
        .map(DeadlineKind::from_db)
        .transpose()?;
    let mut changes = unchanged();
    changes.clock_paused_at = Set(None);
    changes.due_at = Set(due_after);
    match kind {
        Some(DeadlineKind::Acceptance) => changes.accept_by = Set(due_after),
        Some(DeadlineKind::Handling) => changes.handle_by = Set(due_after),
        Some(DeadlineKind::ReviewDecision) => changes.decide_by = Set(due_after),
        _ => {}
    }
    let mut active: hearing::ActiveModel = row.into();
    active.ended_at = Set(Some(open.now));
    active.ended_by_user_id = Set(Some(caller.viewer.user_id));
    active.paused_working_days = Set(Some(held as i32));
    active.due_after = Set(due_after);
    let (entry, detail) = match ending {
        Ending::Concluded {
            minutes,
            outcome,
            public_notice,
        } => {
            active.status = Set(HearingStatus::Concluded.as_str().into());
            active.minutes = Set(Some(minutes));
            active.outcome = Set(Some(outcome));
            active.public_notice = Set(public_notice);
            ("HEARING_CONCLUDED", json!({}))
        }
        Ending::Cancelled { reason } => {
            active.status = Set(HearingStatus::Cancelled.as_str().into());
            active.outcome = Set(Some(reason.clone()));
            ("HEARING_CANCELLED", json!({ "reason": reason }))
        }
    };
    let row = active.update(&open.tx).await?;
    let mut detail = detail;
    detail["hearingId"] = json!(row.id);
    detail["pausedWorkingDays"] = json!(held);
    detail["dueAt"] = json!(due_after);
    let case = save(with_record(open, row.id), changes, entry, detail, true).await?;
    Ok((row, case))
}

/// One hearing, where the viewer sees its case.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, hearing::Model)>> {
    let row = hearing::Entity::find_by_id(id)
        .filter(hearing::Column::CaseId.in_subquery(crate::cases::visible_ids(viewer)))
        .one(db)
        .await?;
    crate::records::with_case(db, viewer, row, |r| r.case_id).await
}
