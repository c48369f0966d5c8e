//! Leader reception, dispute screening and joint meetings on the graph (domain §10–§11).

use super::Loaders;
use super::cases::Case;
use super::cases::loaded;
use super::cases::loader_error;
use super::identity::load_unit;
use super::{GqlResult, Instant, OrgUnit, global_id, input_id, state, viewer};
use crate::domain::{DisputeGrade, FromDb};
use crate::error::Result;
use crate::records::{
    CaseRecord, DisputeReportRecord, DisputeReturnRecord, JointItemPartRecord, JointItemRecord,
    JointMeetingRecord, ReceptionRecord, ReceptionSlotRecord,
};
use crate::{joint, receptions, screening};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

fn first(n: Option<i32>) -> u64 {
    n.unwrap_or(50).clamp(1, 200) as u64
}

// ---- leader reception -----------------------------------------------------------------

/// 接访安排 — one line of a unit's roster.
pub struct ReceptionSlot(ReceptionSlotRecord, String);

#[Object]
impl ReceptionSlot {
    async fn id(&self) -> ID {
        global_id("ReceptionSlot", self.0.id)
    }
    async fn unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.unit_id)).await
    }
    /// 接访领导
    async fn leader(&self) -> &str {
        &self.1
    }
    /// 1 = Monday … 7 = Sunday, for a weekly line.
    async fn weekday(&self) -> Option<i32> {
        self.0.weekday
    }
    /// `YYYY-MM-DD`, for a line on one date.
    async fn on_date(&self) -> Option<&str> {
        self.0.on_date.as_deref()
    }
    /// `HH:MM`
    async fn starts(&self) -> &str {
        &self.0.starts
    }
    async fn ends(&self) -> &str {
        &self.0.ends
    }
    async fn place(&self) -> &str {
        &self.0.place
    }
    /// 可执行操作 — what this viewer may do with the line now.
    async fn viewer_can(&self, ctx: &Context<'_>) -> GqlResult<ReceptionSlotViewerCan> {
        Ok(ReceptionSlotViewerCan {
            remove: receptions::may_remove_slot(viewer(ctx)?, &self.0),
        })
    }
}

/// The actions on a roster line its viewer may take now.
#[derive(SimpleObject)]
pub struct ReceptionSlotViewerCan {
    /// removeReceptionSlot (the unit's administrator or a leader)
    pub remove: bool,
}

/// 领导接访 — a reception a leader held (staff of its unit, the county's bureau and county
/// unit, and whoever sees a case linked to it).
pub struct Reception(pub ReceptionRecord);

/// A case a reception produced (registered there) or took over.
#[derive(SimpleObject)]
pub struct ReceptionCase {
    pub case: Case,
    /// Registered at the reception (rather than taken over there).
    pub produced: bool,
}

#[Object]
impl Reception {
    pub async fn id(&self) -> ID {
        global_id("Reception", self.0.id)
    }
    async fn unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.unit_id)).await
    }
    /// 接访领导
    async fn leader(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        super::workflow::staff_name(ctx, viewer(ctx)?, Some(self.0.leader_user_id)).await
    }
    async fn received_at(&self) -> Instant {
        Instant(self.0.received_at)
    }
    async fn place(&self) -> &str {
        &self.0.place
    }
    /// 来访人 — by name; 保密 where a linked accusation hides its petitioners from you.
    async fn visitors(&self, ctx: &Context<'_>) -> GqlResult<Vec<String>> {
        let cases = self.linked_cases(ctx).await?;
        Ok(receptions::visitors(viewer(ctx)?, &self.0, &cases))
    }
    async fn person_count(&self) -> i32 {
        self.0.person_count
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    /// The cases it produced or took over, that you see.
    async fn cases(&self, ctx: &Context<'_>) -> GqlResult<Vec<ReceptionCase>> {
        Ok(self
            .linked_cases(ctx)
            .await?
            .into_iter()
            .map(|(c, produced)| ReceptionCase {
                case: Case(c),
                produced,
            })
            .collect())
    }
    /// 可执行操作 — what this viewer may do with the reception now.
    async fn viewer_can(&self, ctx: &Context<'_>) -> GqlResult<ReceptionViewerCan> {
        Ok(ReceptionViewerCan {
            // Its own unit's staff and leaders (the others who read it oversee it), as
            // `receptions::own_reception` finds it.
            register_case: viewer(ctx)?.acts_for_unit(self.0.unit_id),
        })
    }
}

impl Reception {
    /// Its cases the viewer sees, through the request's loader.
    async fn linked_cases(&self, ctx: &Context<'_>) -> GqlResult<Vec<(CaseRecord, bool)>> {
        loaded(&ctx.data_unchecked::<Loaders>().reception_cases, self.0.id).await
    }
}

/// The actions on a reception its viewer may take now.
#[derive(SimpleObject)]
pub struct ReceptionViewerCan {
    /// registerCase(receptionId): a case raised there (staff and leaders of the unit that
    /// held it)
    pub register_case: bool,
}

/// A reception a case came from or was taken over at.
#[derive(SimpleObject)]
pub struct CaseReception {
    pub reception: Reception,
    /// The case was registered there.
    pub produced: bool,
}

pub async fn receptions_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Vec<CaseReception>> {
    Ok(
        loaded(&ctx.data_unchecked::<Loaders>().case_receptions, case.id)
            .await?
            .into_iter()
            .map(|(r, produced)| CaseReception {
                reception: Reception(r),
                produced,
            })
            .collect(),
    )
}

// ---- dispute screening ----------------------------------------------------------------

/// A person a risk involves: ID number and phone masked unless you reported it or are the
/// bureau.
#[derive(SimpleObject)]
pub struct DisputePerson {
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

/// 矛盾纠纷 — a risk reported by dispute screening.
pub struct DisputeReport(pub DisputeReportRecord);

#[Object]
impl DisputeReport {
    pub async fn id(&self) -> ID {
        global_id("DisputeReport", self.0.id)
    }
    /// The reporting unit.
    async fn unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.unit_id)).await
    }
    /// The monthly return it came in (`YYYY-MM`); null for an urgent report.
    async fn period(&self) -> Option<&str> {
        self.0.period.as_deref()
    }
    /// 即时报告
    async fn urgent(&self) -> bool {
        self.0.urgent
    }
    async fn grade(&self) -> Result<DisputeGrade> {
        DisputeGrade::from_db(&self.0.grade)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn people(&self, ctx: &Context<'_>) -> GqlResult<Vec<DisputePerson>> {
        Ok(screening::people(viewer(ctx)?, &self.0)
            .into_iter()
            .map(|p| DisputePerson {
                name: p.name,
                id_number: p.id_number,
                phone: p.phone,
            })
            .collect())
    }
    /// 涉及地点
    async fn places(&self) -> &str {
        &self.0.places
    }
    async fn township(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, self.0.township_id).await
    }
    async fn reported_at(&self) -> Instant {
        Instant(self.0.reported_at)
    }
    /// 跟踪督办 — the bureau's latest follow-up.
    async fn follow_up(&self) -> Option<&str> {
        self.0.follow_up.as_deref()
    }
    async fn followed_up_at(&self) -> Option<Instant> {
        self.0.followed_up_at.map(Instant)
    }
    /// The case it became, if you see it.
    async fn case(&self, ctx: &Context<'_>) -> GqlResult<Option<Case>> {
        visible_case(ctx, self.0.case_id).await
    }
    /// 可执行操作 — what this viewer may do with the report now.
    async fn viewer_can(&self, ctx: &Context<'_>) -> GqlResult<DisputeReportViewerCan> {
        let can = screening::capabilities(viewer(ctx)?, &self.0);
        Ok(DisputeReportViewerCan {
            follow_up: can.follow_up,
            register_case: can.register_case,
        })
    }
}

/// The actions on a dispute report its viewer may take now.
#[derive(SimpleObject)]
pub struct DisputeReportViewerCan {
    /// followUpDispute (the county's petition bureau)
    pub follow_up: bool,
    /// registerCase(disputeReportId) (the county's petition bureau, until it is a case)
    pub register_case: bool,
}

/// 排查月报 — a unit's return for a month.
#[derive(SimpleObject)]
pub struct DisputeReturn {
    pub id: ID,
    pub period: String,
    /// Risks reported with it (0: nothing to report).
    pub items: i32,
    pub submitted_at: Instant,
    pub reports: Vec<DisputeReport>,
}

fn dispute_return(row: DisputeReturnRecord, reports: Vec<DisputeReportRecord>) -> DisputeReturn {
    DisputeReturn {
        id: global_id("DisputeReturn", row.id),
        period: row.period,
        items: row.items,
        submitted_at: Instant(row.submitted_at),
        reports: reports.into_iter().map(DisputeReport).collect(),
    }
}

/// 逾期未报 — the units without a return for a month, once it is due.
#[derive(SimpleObject)]
pub struct OverdueDisputeReturns {
    pub period: String,
    /// When the month's returns were due.
    pub due_at: Instant,
    /// Empty until then.
    pub units: Vec<OrgUnit>,
}

// ---- joint meetings -------------------------------------------------------------------

/// One unit's part of a joint meeting item.
pub struct JointItemPart(JointItemPartRecord);

#[Object]
impl JointItemPart {
    async fn unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.unit_id)).await
    }
    async fn answer(&self) -> Option<&str> {
        self.0.answer.as_deref()
    }
    async fn answered_at(&self) -> Option<Instant> {
        self.0.answered_at.map(Instant)
    }
}

/// The actions on a joint meeting item its viewer may take now.
#[derive(SimpleObject)]
pub struct JointItemViewerCan {
    /// 办理反馈 (answerJointItem; a unit given a part of the item, once)
    pub answer: bool,
}

/// 联席会议议定事项 — an item put to the joint meeting.
pub struct JointItem(pub JointItemRecord);

#[Object]
impl JointItem {
    pub async fn id(&self) -> ID {
        global_id("JointItem", self.0.id)
    }
    /// 会议日期 (`YYYY-MM-DD`).
    async fn held_on(&self, ctx: &Context<'_>) -> GqlResult<String> {
        Ok(self.meeting(ctx).await?.held_on)
    }
    /// 会议名称
    async fn meeting_title(&self, ctx: &Context<'_>) -> GqlResult<String> {
        Ok(self.meeting(ctx).await?.title)
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// `YYYY-MM-DD`
    async fn due_on(&self) -> &str {
        &self.0.due_on
    }
    /// A unit's part unanswered past the date.
    async fn overdue(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        let now = state(ctx).clock.now();
        if self.0.due_at >= now {
            return Ok(false);
        }
        Ok(self
            .parts(ctx)
            .await?
            .iter()
            .any(|p| p.answered_at.is_none()))
    }
    /// 可执行操作 — what this viewer may do with the item now.
    async fn viewer_can(&self, ctx: &Context<'_>) -> GqlResult<JointItemViewerCan> {
        let parts = self.parts(ctx).await?;
        Ok(JointItemViewerCan {
            answer: joint::may_answer(viewer(ctx)?, &parts),
        })
    }
    /// The units that must act on it, and their answers.
    async fn units(&self, ctx: &Context<'_>) -> GqlResult<Vec<JointItemPart>> {
        Ok(self
            .parts(ctx)
            .await?
            .into_iter()
            .map(JointItemPart)
            .collect())
    }
    /// The case it is about, if you see it.
    async fn case(&self, ctx: &Context<'_>) -> GqlResult<Option<Case>> {
        visible_case(ctx, self.0.case_id).await
    }
}

impl JointItem {
    /// The units' parts, through the request's loader (one read for a list's items).
    async fn parts(&self, ctx: &Context<'_>) -> GqlResult<Vec<JointItemPartRecord>> {
        loaded(&ctx.data_unchecked::<Loaders>().joint_parts, self.0.id).await
    }

    async fn meeting(&self, ctx: &Context<'_>) -> GqlResult<JointMeetingRecord> {
        ctx.data_unchecked::<Loaders>()
            .joint_meetings
            .load_one(self.0.meeting_id)
            .await
            .map_err(loader_error)?
            .flatten()
            .ok_or_else(|| crate::error::AppError::NotFound("joint meeting").into())
    }
}

/// The case of `id`, when the viewer sees it, through the request's loader.
async fn visible_case(ctx: &Context<'_>, id: Option<i64>) -> GqlResult<Option<Case>> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(loaded(&ctx.data_unchecked::<Loaders>().visible_cases, id)
        .await?
        .map(Case))
}

pub async fn joint_items_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Vec<JointItem>> {
    // Staff records: a petitioner reads none.
    if !viewer(ctx)?.sees_staff_records() {
        return Ok(vec![]);
    }
    Ok(
        loaded(&ctx.data_unchecked::<Loaders>().joint_items, case.id)
            .await?
            .into_iter()
            .map(JointItem)
            .collect(),
    )
}

pub async fn reception_by_id(ctx: &Context<'_>, id: i64) -> Result<Option<Reception>> {
    Ok(receptions::find_visible(&state(ctx).db, viewer(ctx)?, id)
        .await?
        .map(Reception))
}

pub async fn dispute_report_by_id(ctx: &Context<'_>, id: i64) -> Result<Option<DisputeReport>> {
    Ok(screening::find_visible(&state(ctx).db, viewer(ctx)?, id)
        .await?
        .map(DisputeReport))
}

pub async fn joint_item_by_id(ctx: &Context<'_>, id: i64) -> Result<Option<JointItem>> {
    Ok(joint::find_visible(&state(ctx).db, viewer(ctx)?, id)
        .await?
        .map(JointItem))
}

// ---- queries and mutations ------------------------------------------------------------

#[derive(Default)]
pub struct PreventionQuery;

#[Object]
impl PreventionQuery {
    /// 接访安排 — a unit's reception roster (public to any signed-in account).
    async fn reception_roster(
        &self,
        ctx: &Context<'_>,
        unit_id: ID,
    ) -> GqlResult<Vec<ReceptionSlot>> {
        viewer(ctx)?;
        let unit = input_id("OrgUnit", "unitId", &unit_id)?;
        Ok(receptions::roster(&state(ctx).db, unit)
            .await?
            .into_iter()
            .map(|(s, name)| ReceptionSlot(s, name))
            .collect())
    }

    /// 领导接访记录 — your unit's receptions (the county's, for its bureau and county unit),
    /// newest first; optionally one unit's.
    async fn receptions(
        &self,
        ctx: &Context<'_>,
        unit_id: Option<ID>,
        first: Option<i32>,
    ) -> GqlResult<Vec<Reception>> {
        let unit = unit_id
            .as_ref()
            .map(|u| input_id("OrgUnit", "unitId", u))
            .transpose()?;
        Ok(
            receptions::list(&state(ctx).db, viewer(ctx)?, unit, self::first(first))
                .await?
                .into_iter()
                .map(Reception)
                .collect(),
        )
    }

    /// 矛盾纠纷 — your unit's reports (the county's, for its bureau and county unit), newest
    /// first; optionally only urgent ones, or one unit's.
    async fn dispute_reports(
        &self,
        ctx: &Context<'_>,
        urgent: Option<bool>,
        unit_id: Option<ID>,
        first: Option<i32>,
    ) -> GqlResult<Vec<DisputeReport>> {
        let unit = unit_id
            .as_ref()
            .map(|u| input_id("OrgUnit", "unitId", u))
            .transpose()?;
        Ok(screening::list(
            &state(ctx).db,
            viewer(ctx)?,
            urgent.unwrap_or(false),
            unit,
            self::first(first),
        )
        .await?
        .into_iter()
        .map(DisputeReport)
        .collect())
    }

    /// 逾期未报 — for the bureau and the county unit: the townships and departments without a
    /// return for `period` (`YYYY-MM`; default last month) once it is due.
    async fn overdue_dispute_returns(
        &self,
        ctx: &Context<'_>,
        period: Option<String>,
    ) -> GqlResult<OverdueDisputeReturns> {
        let s = state(ctx);
        let now = s.clock.now();
        let period = period.unwrap_or_else(|| screening::last_month(now));
        let start = screening::parse_period("period", &period)?;
        let units = screening::overdue_returns(&s.db, viewer(ctx)?, &period, now).await?;
        let mut out = vec![];
        for u in units.unwrap_or_default() {
            if let Some(unit) = load_unit(ctx, Some(u.id)).await? {
                out.push(unit);
            }
        }
        Ok(OverdueDisputeReturns {
            period,
            due_at: Instant(screening::return_due(start)),
            units: out,
        })
    }

    /// 联席会议议定事项 — the county's items (bureau and county unit) or those given to your
    /// unit; with `overdue: true`, only those with a part unanswered past the date.
    async fn joint_items(
        &self,
        ctx: &Context<'_>,
        overdue: Option<bool>,
    ) -> GqlResult<Vec<JointItem>> {
        let s = state(ctx);
        Ok(
            joint::list(&s.db, viewer(ctx)?, overdue.unwrap_or(false), s.clock.now())
                .await?
                .into_iter()
                .map(JointItem)
                .collect(),
        )
    }
}

#[derive(InputObject, Debug)]
pub struct AddReceptionSlotInput {
    pub unit_id: ID,
    /// A LEADER of the unit.
    pub leader_id: ID,
    /// 1 = Monday … 7 = Sunday; or `onDate`.
    pub weekday: Option<i32>,
    /// `YYYY-MM-DD`, today or later; or `weekday`.
    pub on_date: Option<String>,
    /// `HH:MM`
    pub starts: String,
    pub ends: String,
    pub place: String,
}

#[derive(InputObject, Debug)]
pub struct RemoveReceptionSlotInput {
    pub slot_id: ID,
}

#[derive(InputObject, Debug)]
pub struct RecordReceptionInput {
    /// The LEADER of your unit who received them.
    pub leader_id: ID,
    pub received_at: Instant,
    pub place: String,
    /// Whom the leader received, by name (1 to 50).
    pub visitors: Vec<String>,
    /// How many people came (at least as many as named).
    pub person_count: i32,
    pub summary: String,
    /// Cases the leader took over there (registered earlier, seen by your unit).
    #[graphql(default)]
    pub case_ids: Vec<ID>,
}

#[derive(InputObject, Debug)]
pub struct DisputePersonInput {
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct DisputeRiskInput {
    pub grade: DisputeGrade,
    pub title: String,
    pub summary: String,
    #[graphql(default)]
    pub people: Vec<DisputePersonInput>,
    #[graphql(default)]
    pub places: String,
    pub township_id: Option<ID>,
}

#[derive(InputObject, Debug)]
pub struct ReportUrgentDisputeInput {
    pub risk: DisputeRiskInput,
}

#[derive(InputObject, Debug)]
pub struct SubmitDisputeReturnInput {
    /// `YYYY-MM`: this month or one of the 24 before it.
    pub period: String,
    /// The risks found; none is a return too.
    #[graphql(default)]
    pub risks: Vec<DisputeRiskInput>,
}

#[derive(InputObject, Debug)]
pub struct FollowUpDisputeInput {
    pub report_id: ID,
    pub text: String,
}

#[derive(InputObject, Debug)]
pub struct JointItemInput {
    pub text: String,
    pub case_id: Option<ID>,
    pub unit_ids: Vec<ID>,
    /// `YYYY-MM-DD`
    pub due_on: String,
}

#[derive(InputObject, Debug)]
pub struct RecordJointMeetingInput {
    /// `YYYY-MM-DD`: today or within the year before.
    pub held_on: String,
    pub title: String,
    pub items: Vec<JointItemInput>,
}

#[derive(InputObject, Debug)]
pub struct AnswerJointItemInput {
    pub item_id: ID,
    pub text: String,
}

#[derive(SimpleObject)]
pub struct JointMeetingPayload {
    pub held_on: String,
    pub title: String,
    pub items: Vec<JointItem>,
}

fn risk(prefix: &str, r: DisputeRiskInput) -> Result<screening::NewRisk> {
    Ok(screening::NewRisk {
        grade: r.grade,
        title: r.title,
        summary: r.summary,
        people: r
            .people
            .into_iter()
            .map(|p| screening::Person {
                name: p.name,
                id_number: p.id_number,
                phone: p.phone,
            })
            .collect(),
        places: r.places,
        township_id: r
            .township_id
            .as_ref()
            .map(|t| input_id("OrgUnit", &format!("{prefix}townshipId"), t))
            .transpose()?,
    })
}

#[derive(Default)]
pub struct PreventionMutation;

#[Object]
impl PreventionMutation {
    /// 接访安排 — the unit's ADMIN or a LEADER adds a line to its roster.
    async fn add_reception_slot(
        &self,
        ctx: &Context<'_>,
        input: AddReceptionSlotInput,
    ) -> GqlResult<ReceptionSlot> {
        let s = state(ctx);
        let new = receptions::NewSlot {
            unit_id: input_id("OrgUnit", "unitId", &input.unit_id)?,
            leader_user_id: input_id("User", "leaderId", &input.leader_id)?,
            weekday: input.weekday,
            on_date: input.on_date,
            starts: input.starts,
            ends: input.ends,
            place: input.place,
        };
        let row = receptions::add_slot(&s.db, &s.clock, viewer(ctx)?, new).await?;
        let name = receptions::roster(&s.db, row.unit_id)
            .await?
            .into_iter()
            .find(|(r, _)| r.id == row.id)
            .map(|(_, n)| n)
            .unwrap_or_default();
        Ok(ReceptionSlot(row, name))
    }

    /// Takes a line off the roster.
    async fn remove_reception_slot(
        &self,
        ctx: &Context<'_>,
        input: RemoveReceptionSlotInput,
    ) -> GqlResult<ReceptionSlot> {
        let s = state(ctx);
        let id = input_id("ReceptionSlot", "slotId", &input.slot_id)?;
        let row = receptions::remove_slot(&s.db, &s.clock, viewer(ctx)?, id).await?;
        Ok(ReceptionSlot(row, String::new()))
    }

    /// 领导接访 — records a reception a leader of your unit held, and the cases taken over
    /// there. A case raised there is registered with `registerCase(receptionId)`.
    async fn record_reception(
        &self,
        ctx: &Context<'_>,
        input: RecordReceptionInput,
    ) -> GqlResult<Reception> {
        let s = state(ctx);
        let case_ids = input
            .case_ids
            .iter()
            .enumerate()
            .map(|(i, c)| input_id("Case", &format!("caseIds[{i}]"), c))
            .collect::<Result<Vec<_>>>()?;
        let new = receptions::NewReception {
            leader_user_id: input_id("User", "leaderId", &input.leader_id)?,
            received_at: input.received_at.0,
            place: input.place,
            visitors: input.visitors,
            person_count: input.person_count,
            summary: input.summary,
            case_ids,
        };
        Ok(Reception(
            receptions::record(&s.db, &s.clock, &s.bus, viewer(ctx)?, new).await?,
        ))
    }

    /// 排查月报 — a township or department makes its return for a month, once, with the
    /// risks found (none is a return too).
    async fn submit_dispute_return(
        &self,
        ctx: &Context<'_>,
        input: SubmitDisputeReturnInput,
    ) -> GqlResult<DisputeReturn> {
        let s = state(ctx);
        let risks = input
            .risks
            .into_iter()
            .enumerate()
            .map(|(i, r)| risk(&format!("risks[{i}]."), r))
            .collect::<Result<Vec<_>>>()?;
        let (row, reports) =
            screening::submit_return(&s.db, &s.clock, viewer(ctx)?, &input.period, risks).await?;
        Ok(dispute_return(row, reports))
    }

    /// 即时报告 — a township or department reports an urgent risk at once.
    async fn report_urgent_dispute(
        &self,
        ctx: &Context<'_>,
        input: ReportUrgentDisputeInput,
    ) -> GqlResult<DisputeReport> {
        let s = state(ctx);
        let new = risk("risk.", input.risk)?;
        Ok(DisputeReport(
            screening::report_urgent(&s.db, &s.clock, viewer(ctx)?, new).await?,
        ))
    }

    /// 跟踪督办 — the bureau records its follow-up of a report. To make it a case, register
    /// one with `registerCase(disputeReportId)`.
    async fn follow_up_dispute(
        &self,
        ctx: &Context<'_>,
        input: FollowUpDisputeInput,
    ) -> GqlResult<DisputeReport> {
        let s = state(ctx);
        let id = input_id("DisputeReport", "reportId", &input.report_id)?;
        Ok(DisputeReport(
            screening::follow_up(&s.db, &s.clock, viewer(ctx)?, id, &input.text).await?,
        ))
    }

    /// 联席会议 — the bureau records a sitting and its items, each with the units that must
    /// act and by when.
    async fn record_joint_meeting(
        &self,
        ctx: &Context<'_>,
        input: RecordJointMeetingInput,
    ) -> GqlResult<JointMeetingPayload> {
        let s = state(ctx);
        let mut items = vec![];
        for (i, item) in input.items.into_iter().enumerate() {
            items.push(joint::NewItem {
                text: item.text,
                case_id: item
                    .case_id
                    .as_ref()
                    .map(|c| input_id("Case", &format!("items[{i}].caseId"), c))
                    .transpose()?,
                unit_ids: item
                    .unit_ids
                    .iter()
                    .map(|u| input_id("OrgUnit", &format!("items[{i}].unitIds"), u))
                    .collect::<Result<Vec<_>>>()?,
                due_on: item.due_on,
            });
        }
        let (meeting, rows) = joint::record(
            &s.db,
            &s.clock,
            viewer(ctx)?,
            &input.held_on,
            &input.title,
            items,
        )
        .await?;
        Ok(JointMeetingPayload {
            held_on: meeting.held_on,
            title: meeting.title,
            items: rows.into_iter().map(JointItem).collect(),
        })
    }

    /// 办理反馈 — a unit answers its part of a joint meeting item, once.
    async fn answer_joint_item(
        &self,
        ctx: &Context<'_>,
        input: AnswerJointItemInput,
    ) -> GqlResult<JointItem> {
        let s = state(ctx);
        let id = input_id("JointItem", "itemId", &input.item_id)?;
        Ok(JointItem(
            joint::answer(&s.db, &s.clock, viewer(ctx)?, id, &input.text).await?,
        ))
    }
}
