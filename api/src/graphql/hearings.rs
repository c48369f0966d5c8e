//! Hearings (信访听证) on the graph: `Case.hearings`, `scheduleHearing`, `concludeHearing`,
//! `cancelHearing`, and the county settings (`countySettings`, `setCountySettings`).

use super::cases::Case;
use super::cases::loaded;
use super::workflow::caller;
use super::{GqlResult, Instant, global_id, input_id, state, viewer};
use crate::domain::{DeadlineKind, FromDb, HearingParticipantKind, HearingStatus};
use crate::error::Result;
use crate::hearings::{self, Ending, HearingView, NewHearing, Participant};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

/// 信访听证 — a hearing on a case. The petitioner reads when, where, its status, outcome and
/// public notice, and the pause; staff also read the chair, participants and minutes.
pub struct Hearing(pub HearingView);

/// One participant of a hearing.
#[derive(SimpleObject)]
pub struct HearingParticipant {
    pub kind: HearingParticipantKind,
    /// The name; an accusation's parties are 保密 to whoever does not see its petitioners.
    pub name: String,
}

/// 计时中止 — the decision clock a hearing held: from its notice to its end, the working days
/// in between do not count.
#[derive(SimpleObject)]
pub struct ClockPause {
    /// The deadline that was held.
    pub deadline: Option<DeadlineKind>,
    /// The notice: the clock stopped here.
    pub since: Instant,
    /// The hearing's end: the clock ran again from here (null while held).
    pub until: Option<Instant>,
    /// Working days held (after the notice's day, up to and including the end's day).
    pub working_days: Option<i32>,
    /// The deadline before the hearing.
    pub due_before: Option<Instant>,
    /// The deadline after it: `dueBefore` plus `workingDays` working days.
    pub due_after: Option<Instant>,
}

#[Object]
impl Hearing {
    pub async fn id(&self) -> ID {
        global_id("Hearing", self.0.row.id)
    }
    /// 听证时间
    async fn held_at(&self) -> Instant {
        Instant(self.0.row.held_at)
    }
    /// 听证地点
    async fn place(&self) -> &str {
        &self.0.row.place
    }
    async fn status(&self) -> Result<HearingStatus> {
        HearingStatus::from_db(&self.0.row.status)
    }
    /// 听证告知 — when the petitioner was given notice.
    async fn notice_given_at(&self) -> Instant {
        Instant(self.0.row.notified_at)
    }
    /// 主持人 (staff only).
    async fn chair(&self) -> Option<&str> {
        self.0.staff.then_some(self.0.row.chair.as_str())
    }
    /// 听证员和参加人 (staff only; empty for a petitioner).
    async fn participants(&self) -> Vec<HearingParticipant> {
        self.0
            .participants
            .iter()
            .map(|p| HearingParticipant {
                kind: p.kind,
                name: p.name.clone(),
            })
            .collect()
    }
    /// 听证笔录 (staff only; on an accusation, only to those who see its petitioners — the
    /// minutes name them).
    async fn minutes(&self) -> Option<&str> {
        if self.0.minutes {
            self.0.row.minutes.as_deref()
        } else {
            None
        }
    }
    /// 听证结论 — or, for a cancelled hearing, why it was called off.
    async fn outcome(&self) -> Option<&str> {
        self.0.row.outcome.as_deref()
    }
    /// 听证公告 — what was posted publicly, if anything.
    async fn public_notice(&self) -> Option<&str> {
        self.0.row.public_notice.as_deref()
    }
    async fn ended_at(&self) -> Option<Instant> {
        self.0.row.ended_at.map(Instant)
    }
    /// The decision clock this hearing held.
    async fn pause(&self) -> ClockPause {
        let r = &self.0.row;
        ClockPause {
            deadline: self.0.paused_kind,
            since: Instant(r.notified_at),
            until: r.ended_at.map(Instant),
            working_days: r.paused_working_days,
            due_before: r.due_before.map(Instant),
            due_after: r.due_after.map(Instant),
        }
    }
}

pub async fn hearings_of(
    ctx: &Context<'_>,
    case: &crate::records::CaseRecord,
) -> super::GqlResult<Vec<Hearing>> {
    let me = viewer(ctx)?;
    Ok(
        loaded(&ctx.data_unchecked::<super::Loaders>().hearings, case.id)
            .await?
            .into_iter()
            .map(|row| Hearing(hearings::view(me, case, row)))
            .collect(),
    )
}

pub async fn hearing_by_id(ctx: &Context<'_>, id: i64) -> Result<Option<Hearing>> {
    let me = viewer(ctx)?;
    Ok(hearings::find_visible(&state(ctx).db, me, id)
        .await?
        .map(|(case, row)| Hearing(hearings::view(me, &case, row))))
}

#[derive(InputObject, Debug)]
pub struct HearingParticipantInput {
    pub kind: HearingParticipantKind,
    pub name: String,
}

#[derive(InputObject, Debug)]
pub struct ScheduleHearingInput {
    pub case_id: ID,
    /// When it is held: at least the county's `hearingNoticeDays` after today.
    pub held_at: Instant,
    pub place: String,
    /// 主持人
    pub chair: String,
    /// 1 to 50.
    pub participants: Vec<HearingParticipantInput>,
}

#[derive(InputObject, Debug)]
pub struct ConcludeHearingInput {
    pub hearing_id: ID,
    /// 听证笔录
    pub minutes: String,
    /// 听证结论
    pub outcome: String,
    /// 听证公告, if one was posted.
    pub public_notice: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct CancelHearingInput {
    pub hearing_id: ID,
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct HearingPayload {
    pub hearing: Hearing,
    pub case: Case,
}

/// What a county configures.
#[derive(SimpleObject)]
pub struct CountySettings {
    /// 听证告知 — days of notice before a hearing (default 10).
    pub hearing_notice_days: i32,
    /// 登记时限 — hours within which an urgent matter or a group visit is registered after
    /// receipt (default 24).
    pub registration_limit_hours: i32,
}

impl From<hearings::CountySettings> for CountySettings {
    fn from(s: hearings::CountySettings) -> Self {
        CountySettings {
            hearing_notice_days: s.hearing_notice_days,
            registration_limit_hours: s.registration_limit_hours,
        }
    }
}

#[derive(InputObject, Debug)]
pub struct SetCountySettingsInput {
    /// 1 to 60.
    pub hearing_notice_days: Option<i32>,
    /// 1 to 720.
    pub registration_limit_hours: Option<i32>,
}

#[derive(Default)]
pub struct HearingsQuery;

#[Object]
impl HearingsQuery {
    /// The settings of the viewer's county (any account of one of its units).
    async fn county_settings(&self, ctx: &Context<'_>) -> GqlResult<CountySettings> {
        let county = viewer(ctx)?.reading_county()?;
        Ok(hearings::settings(&state(ctx).db, county).await?.into())
    }
}

#[derive(Default)]
pub struct HearingsMutation;

fn payload(
    ctx: &Context<'_>,
    (row, case): (crate::records::HearingRecord, crate::records::CaseRecord),
) -> GqlResult<HearingPayload> {
    let me = viewer(ctx)?;
    Ok(HearingPayload {
        hearing: Hearing(hearings::view(me, &case, row)),
        case: Case(case),
    })
}

#[Object]
impl HearingsMutation {
    /// 听证 — the unit the running decision clock waits for (the lead unit; the reviewing body
    /// during a review) schedules a hearing and gives the petitioner notice. The clock is held
    /// from now until the hearing ends.
    async fn schedule_hearing(
        &self,
        ctx: &Context<'_>,
        input: ScheduleHearingInput,
    ) -> GqlResult<HearingPayload> {
        let id = input_id("Case", "caseId", &input.case_id)?;
        let new = NewHearing {
            held_at: input.held_at.0,
            place: input.place,
            chair: input.chair,
            participants: input
                .participants
                .into_iter()
                .map(|p| Participant {
                    kind: p.kind,
                    name: p.name,
                })
                .collect(),
        };
        payload(ctx, hearings::schedule(&caller(ctx)?, id, new).await?)
    }

    /// 听证结论 — minutes and outcome, once the hearing was held; the clock runs again with its
    /// deadline moved on by the working days held.
    async fn conclude_hearing(
        &self,
        ctx: &Context<'_>,
        input: ConcludeHearingInput,
    ) -> GqlResult<HearingPayload> {
        let id = input_id("Hearing", "hearingId", &input.hearing_id)?;
        let ending = Ending::Concluded {
            minutes: input.minutes,
            outcome: input.outcome,
            public_notice: input.public_notice,
        };
        payload(ctx, hearings::end(&caller(ctx)?, id, ending).await?)
    }

    /// 取消听证 — the clock runs again, moved on by the working days held.
    async fn cancel_hearing(
        &self,
        ctx: &Context<'_>,
        input: CancelHearingInput,
    ) -> GqlResult<HearingPayload> {
        let id = input_id("Hearing", "hearingId", &input.hearing_id)?;
        let ending = Ending::Cancelled {
            reason: input.reason,
        };
        payload(ctx, hearings::end(&caller(ctx)?, id, ending).await?)
    }

    /// The county's administrator changes its settings; what is not given stays.
    async fn set_county_settings(
        &self,
        ctx: &Context<'_>,
        input: SetCountySettingsInput,
    ) -> GqlResult<CountySettings> {
        let s = state(ctx);
        let set = hearings::set_settings(
            &s.db,
            &s.directory,
            &s.clock,
            viewer(ctx)?,
            input.hearing_notice_days,
            input.registration_limit_hours,
        )
        .await?;
        Ok(set.into())
    }
}
