//! GraphQL types and operations for cases.

use super::Loaders;
use super::identity::{OrgUnit, load_unit};
use super::loaders::{LatestAsk, LatestKey};
use super::{
    GqlResult, Instant, PageInfo, global_id, input_id, lookup_id, page_size, state, viewer,
};
use crate::access::{Capabilities, CaseSight, PetitionerView};
use crate::calendar::{DeadlineState, deadline_state};
use crate::cases::{
    self as domain, CaseFilter, CaseOrder, NewCase, PetitionerEntry, Registrar, SortField,
};
use crate::domain::{CaseStatus, Category, Channel, DeadlineKind, PetitionerKind};
use crate::error::{AppError, Result};
use crate::records::CaseRecord;
use crate::records::LatestEntries;
use crate::records::{self, NamedEntry};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};

/// 信访事项 — one matter raised by one or more petitioners through one channel.
#[derive(Clone)]
pub struct Case(pub CaseRecord);

/// 信访人 — a person or organisation a case names. Masked per the viewer's relation to the case.
#[derive(SimpleObject)]
pub struct Petitioner {
    /// 类别 — a person or an organisation; null when the identity is confidential to this
    /// viewer.
    pub kind: Option<PetitionerKind>,
    /// 姓名 — the name (an organisation's, for one), or 保密 when the identity is
    /// confidential to this viewer.
    pub name: String,
    /// 身份证号 — full, masked (`3301**********1234`) or null.
    pub id_number: Option<String>,
    /// 联系电话 — full, masked (`138****5678`) or null.
    pub phone: Option<String>,
    /// 住址 — the address, or null when confidential.
    pub address: Option<String>,
    /// 代表 — a representative of a group petition.
    pub representative: bool,
    /// 身份保密 — the identity is withheld from this viewer (accusations).
    pub confidential: bool,
    /// 统一社会信用代码 — an organisation's (public register data, not masked), or null.
    pub credit_code: Option<String>,
    /// 联系人 — who speaks for an organisation, or null.
    pub contact_person: Option<String>,
}

/// 期限 — the case's deadlines, as instants (end of the local day they fall on).
#[derive(SimpleObject)]
pub struct Deadlines {
    /// 受理告知期限 — the acceptance decision is due by then.
    pub accept_by: Option<Instant>,
    /// 办理期限 — the reply is due by then.
    pub handle_by: Option<Instant>,
    /// 复查申请期限 — a review may be requested until then.
    pub review_request_by: Option<Instant>,
    /// 复查/复核决定期限 — the pending review decision is due by then.
    pub decide_by: Option<Instant>,
    /// 计时中止 — set while a hearing holds the decision clock: since then the pending
    /// deadline does not run (`dueAt` is null); see `Case.hearings` for the pause.
    pub paused_since: Option<Instant>,
}

/// 可执行操作 — what the viewer may do to this case now, so a frontend shows only working buttons.
#[derive(SimpleObject)]
pub struct ViewerCan {
    /// 转送/交办 (transferCase)
    pub transfer: bool,
    /// 受理告知 (decideAcceptance)
    pub decide_acceptance: bool,
    /// 办理情况 (addProgressNote)
    pub add_progress_note: bool,
    /// 申请延期 (requestExtension; before the handling deadline, within the 30 days)
    pub request_extension: bool,
    /// 审批延期 (decideExtension; a request waits, and the viewer is a LEADER of the lead
    /// unit who did not make it)
    pub decide_extension: bool,
    /// 出具处理意见书 (issueReply; LEADER of the lead unit)
    pub reply: bool,
    /// 增加协办单位 (addAssistingUnit)
    pub add_assisting_unit: bool,
    /// 协办意见 (addAssistingOpinion)
    pub add_assisting_opinion: bool,
    /// 督办 (issueSupervision)
    pub issue_supervision: bool,
    /// 督办回复 (answerSupervision)
    pub answer_supervision: bool,
    /// 办结报告 (fileCompletionReport)
    pub file_completion_report: bool,
    /// 审核办结报告 (decideCompletionReport)
    pub decide_completion_report: bool,
    /// 领导包案 (takeLeaderOwnership)
    pub take_leader_ownership: bool,
    /// 满意度评价 (evaluateCase)
    pub evaluate: bool,
    /// 申请复查/复核 (requestReview)
    pub request_review: bool,
    /// 复查/复核决定 (decideReview; above the county, the bureau records it)
    pub decide_review: bool,
    /// 送达 (recordDelivery): a written decision is waiting for delivery
    pub record_delivery: bool,
    /// 办结报告 to the higher body that assigned the case (reportToHigherBody), once owed
    pub report_to_higher_body: bool,
    /// 上报 (sendUpward; the petition bureau, open cases)
    pub send_upward: bool,
    /// 重新生成查询码 (reissueQueryCode; the lead unit or the bureau, accepted cases)
    pub reissue_query_code: bool,
    /// 上传材料 (startUpload; the petitioner on their own case, the units working on it)
    pub attach_file: bool,
    /// 批示 (giveInstruction; a LEADER of a unit that sees the case, open cases)
    pub give_instruction: bool,
    /// 落实情况报告 (reportOnInstruction; the unit in charge)
    pub report_on_instruction: bool,
    /// 听证 (scheduleHearing; the unit the running decision clock waits for, no hearing pending)
    pub schedule_hearing: bool,
    /// 听证结果 or 取消听证 (concludeHearing, cancelHearing; a hearing holds the clock)
    pub end_hearing: bool,
    /// 包案进展 (recordOwnershipProgress; the owning leader or the lead unit, once owned)
    pub record_ownership_progress: bool,
    /// 并单 (addHotlineTicket; the lead unit or the bureau, open cases)
    pub add_hotline_ticket: bool,
    /// 办结 (closeCase)
    pub close: bool,
    /// 分类处理 (reclassifyCase; the bureau, or the lead unit before acceptance)
    pub reclassify: bool,
    /// 确认重复信访 (linkRepeat; the bureau or the lead unit, while the case repeats nothing)
    pub link_repeat: bool,
    /// 撤销重复信访关联 (undoRepeat; the bureau or the lead unit, on a confirmed repeat)
    pub undo_repeat: bool,
    /// Sees petitioners' ID numbers and phones in full.
    pub see_full_personal_data: bool,
}

impl From<Capabilities> for ViewerCan {
    fn from(c: Capabilities) -> Self {
        ViewerCan {
            transfer: c.transfer,
            decide_acceptance: c.decide_acceptance,
            add_progress_note: c.add_progress_note,
            request_extension: c.request_extension,
            decide_extension: c.decide_extension,
            reply: c.reply,
            add_assisting_unit: c.add_assisting_unit,
            add_assisting_opinion: c.add_assisting_opinion,
            issue_supervision: c.issue_supervision,
            answer_supervision: c.answer_supervision,
            file_completion_report: c.file_completion_report,
            decide_completion_report: c.decide_completion_report,
            take_leader_ownership: c.take_leader_ownership,
            evaluate: c.evaluate,
            request_review: c.request_review,
            decide_review: c.decide_review,
            record_delivery: c.record_delivery,
            report_to_higher_body: c.report_to_higher_body,
            send_upward: c.send_upward,
            reissue_query_code: c.reissue_query_code,
            attach_file: c.attach_file,
            give_instruction: c.give_instruction,
            report_on_instruction: c.report_on_instruction,
            schedule_hearing: c.schedule_hearing,
            end_hearing: c.end_hearing,
            record_ownership_progress: c.record_ownership_progress,
            add_hotline_ticket: c.add_hotline_ticket,
            close: c.close,
            reclassify: c.reclassify,
            link_repeat: c.link_repeat,
            undo_repeat: c.undo_repeat,
            see_full_personal_data: c.see_full_personal_data,
        }
    }
}

/// 办理记录 — one entry of a case's tamper-evident timeline.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TimelineEntry {
    #[graphql(skip)]
    pub entry_id: i64,
    /// 序号 — 1, 2, 3 … within the case.
    pub seq: i32,
    /// 时间 — when it happened.
    pub at: Instant,
    /// 操作 — what happened, e.g. `REGISTER`.
    pub action: String,
    /// 经办单位 — the unit that acted (null for a citizen).
    pub unit_name: Option<String>,
    /// 经办人 — who acted: a staff member's name shows to staff only; a citizen's name shows
    /// only to viewers who see that citizen's identity (never on an accusation, except to the
    /// lead unit and the petition bureau).
    pub actor_name: Option<String>,
    /// 详情 — the changed fields, as JSON.
    pub detail: String,
    /// 公开 — whether the petitioner sees this entry.
    pub public: bool,
    /// The SHA-256 link of this entry (staff only: it covers details petitioners do not see).
    pub hash: Option<String>,
}

/// A page of timeline entries.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TimelineConnection {
    pub nodes: Vec<TimelineEntry>,
    pub page_info: PageInfo,
    /// The case's count of entries the viewer reads: `None` when the selection asks neither
    /// for it nor for the page's neighbours, and it was not read.
    #[graphql(skip)]
    pub counted: Option<u64>,
}

#[async_graphql::ComplexObject]
impl TimelineConnection {
    async fn total_count(&self) -> Result<u64> {
        self.counted.ok_or_else(|| {
            crate::error::internal("a timeline's count was asked for but not read".to_string())
        })
    }
}

/// What a timeline's selection (at its `timeline` field) shows beyond its entries' short
/// columns: the names, the count that `totalCount` and the page's neighbours need (the
/// cursors alone do not), and the entries' bodies (`detail`, `hash`). The list that reads a
/// timeline with its page and the timeline field itself both ask this, so the entries the
/// list reads are the ones the field then finds.
fn shown_in(timeline: &async_graphql::Lookahead<'_>) -> records::Shown {
    let nodes = timeline.field("nodes");
    let page = timeline.field("pageInfo");
    records::Shown {
        names: nodes.field("unitName").exists() || nodes.field("actorName").exists(),
        total: timeline.field("totalCount").exists()
            || page.field("hasNextPage").exists()
            || page.field("hasPreviousPage").exists(),
        body: nodes.field("detail").exists() || nodes.field("hash").exists(),
    }
}

#[async_graphql::ComplexObject]
impl TimelineEntry {
    pub async fn id(&self) -> ID {
        global_id("TimelineEntry", self.entry_id)
    }
}

impl TimelineEntry {
    /// A timeline entry as the viewer's [`CaseSight`] lets them read it: names, detail and
    /// hash are all the sight's decisions.
    pub fn seen_by(sight: &CaseSight, e: NamedEntry) -> Self {
        let NamedEntry {
            entry,
            unit_name,
            actor,
        } = e;
        TimelineEntry {
            entry_id: entry.id,
            seq: entry.seq,
            at: Instant(entry.at),
            unit_name,
            actor_name: sight.actor_name(actor.as_ref()),
            hash: sight.timeline_hash(&entry.detail, entry.hash),
            detail: sight.timeline_detail(&entry.action, &entry.detail),
            action: entry.action,
            public: entry.public,
        }
    }
}

impl Case {
    fn status_value(&self) -> Result<CaseStatus> {
        Ok(self.0.status)
    }

    /// The earlier case this one repeats, when the viewer may see it.
    async fn visible_repeat_of(&self, ctx: &Context<'_>) -> GqlResult<Option<Case>> {
        let Some(id) = self.0.repeat_of_id else {
            return Ok(None);
        };
        Ok(loaded(&ctx.data_unchecked::<Loaders>().visible_cases, id)
            .await?
            .filter(|earlier| domain::link_readable(&self.0, earlier))
            .map(Case))
    }
}

#[Object]
impl Case {
    pub async fn id(&self) -> ID {
        global_id("Case", self.0.id)
    }
    /// 案件编号 — e.g. `XF-130534-2026-000123`: the county's division code (or `C` and its id),
    /// the local year of registration, a sequence per county and year; unique.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// 版本 — pass it back as `expectedVersion` when changing the case.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 办理状态
    async fn status(&self) -> Result<CaseStatus> {
        self.status_value()
    }
    /// 信访形式
    async fn channel(&self) -> Channel {
        self.0.channel
    }
    /// 信访事项类别
    async fn category(&self) -> Category {
        self.0.category
    }
    /// 事项分类 — the subject code (see `subjects`).
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// 标题
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// 信访内容
    async fn content(&self) -> &str {
        &self.0.content
    }
    /// 收到时间 — when the matter was received.
    async fn received_at(&self) -> Instant {
        Instant(self.0.received_at)
    }
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }
    async fn updated_at(&self) -> Instant {
        Instant(self.0.updated_at)
    }
    /// 属地 — the township the matter arises in (null for county-wide matters).
    async fn township(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, self.0.township_id).await
    }
    /// 主办单位 — the unit in charge now; it owns the deadlines.
    async fn lead_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.lead_unit_id)).await
    }
    /// 首接单位 — the unit that first registered the matter.
    async fn registered_by(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.registered_by_unit_id)).await
    }
    /// 被反映单位 — for accusations, the unit accused.
    async fn accused_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        let sight = viewer(ctx)?.sight(&self.0);
        load_unit(ctx, sight.staff_only(self.0.accused_unit_id).flatten()).await
    }
    /// 协办单位 — units that contribute opinions; hidden from petitioners.
    async fn assisting_units(&self, ctx: &Context<'_>) -> GqlResult<Vec<OrgUnit>> {
        if !viewer(ctx)?.sight(&self.0).staff_records {
            return Ok(vec![]);
        }
        let loaders = ctx.data_unchecked::<Loaders>();
        let ids = loaded(&loaders.assisting, self.0.id).await?;
        let units = loaders
            .units
            .load_many(ids.iter().copied())
            .await
            .map_err(loader_error)?;
        Ok(ids
            .iter()
            .filter_map(|id| units.get(id).cloned().flatten().map(OrgUnit))
            .collect())
    }
    /// 信访人 — masked per the viewer's relation to the case (domain §5).
    async fn petitioners(&self, ctx: &Context<'_>) -> GqlResult<Vec<Petitioner>> {
        let sight = viewer(ctx)?.sight(&self.0);
        let loaders = ctx.data_unchecked::<Loaders>();
        let rows = loaded(&loaders.petitioners, self.0.id).await?;
        Ok(rows
            .into_iter()
            .map(|p| Petitioner::from(sight.petitioner(&p)))
            .collect())
    }
    /// 人次 — people involved.
    async fn person_count(&self) -> i32 {
        self.0.person_count
    }
    /// 集体访 — five or more people.
    async fn is_group(&self) -> bool {
        self.0.is_group
    }
    /// 紧急
    async fn urgent(&self) -> bool {
        self.0.urgent
    }
    /// 登记用时 — minutes from receipt to registration.
    async fn registration_delay_minutes(&self) -> i32 {
        self.0.registration_delay_minutes
    }
    /// 迟报 — an urgent matter or a group visit registered later than the county's limit.
    async fn registered_late(&self) -> bool {
        self.0.registered_late
    }
    /// 重复信访 — the earlier case on the same matter, when the viewer may see it.
    async fn repeat_of(&self, ctx: &Context<'_>) -> GqlResult<Option<Case>> {
        self.visible_repeat_of(ctx).await
    }
    /// Whether this case repeats an earlier one that the viewer may see (a link to a case out
    /// of sight reads as absent).
    async fn is_repeat(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        Ok(self.visible_repeat_of(ctx).await?.is_some())
    }
    /// 不再受理 — declined as a new petition on a concluded matter (`DECLINE_CONCLUDED`).
    async fn not_acceptable(&self) -> bool {
        self.0.not_acceptable
    }
    /// 信访事项 — the matter this case belongs to, showing only the cases of it the viewer may
    /// see.
    async fn matter(&self, ctx: &Context<'_>) -> GqlResult<super::matters::Matter> {
        super::matters::Matter::of_case(ctx, &self.0).await
    }
    /// 重复信访关联 — the system's proposals and the confirmed or undone links from this case
    /// to earlier ones, newest first, where the viewer sees the earlier case too.
    async fn repeat_links(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::matters::RepeatLink>> {
        super::matters::links_of(ctx, &self.0).await
    }
    /// Later cases that repeat this one, as far as the viewer may see them.
    async fn repeats(&self, ctx: &Context<'_>) -> GqlResult<Vec<Case>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        Ok(loaded(&loaders.repeats, self.0.id)
            .await?
            .into_iter()
            .filter(|later| domain::link_readable(&self.0, later))
            .map(Case)
            .collect())
    }
    /// 受理告知 — the acceptance decision, once made.
    async fn acceptance(&self) -> Result<Option<super::workflow::Acceptance>> {
        super::workflow::acceptance_of(&self.0)
    }
    /// 延期 — extension requests (petitioners see the approved ones, with their reasons).
    async fn extensions(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::workflow::Extension>> {
        Ok(super::workflow::extensions_of(ctx, &self.0).await?)
    }
    /// 处理意见书 — the reply that stands: null before one is issued, and while a review has
    /// sent the case back for a new one (重新办理).
    async fn reply(&self, ctx: &Context<'_>) -> GqlResult<Option<super::workflow::Reply>> {
        Ok(super::workflow::reply_of(ctx, &self.0).await?)
    }
    /// Every reply issued on this case, oldest first, including those a review set aside
    /// (`quashed`).
    async fn replies(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::workflow::Reply>> {
        Ok(super::workflow::replies_of(ctx, &self.0).await?)
    }
    /// 文书 — the numbered written notices issued on this case, oldest first, corrected ones
    /// included (marked `supersededBy`).
    async fn documents(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::letters::Document>> {
        Ok(super::letters::documents_of(ctx, &self.0).await?)
    }
    /// 材料 — the files attached to this case that you see (an accusation's: the lead unit,
    /// the bureau and whoever uploaded each), withdrawn ones included.
    async fn attachments(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::files::Attachment>> {
        Ok(super::files::attachments_of(ctx, &self.0).await?)
    }
    /// 批示 — leaders' instructions on this case and the reports back (staff only; empty for a
    /// petitioner).
    async fn instructions(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Vec<super::instructions::Instruction>> {
        Ok(super::instructions::instructions_of(ctx, &self.0).await?)
    }
    /// 领导接访 — the receptions this case was raised at or taken over at (staff only).
    async fn receptions(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Vec<super::prevention::CaseReception>> {
        Ok(super::prevention::receptions_of(ctx, &self.0).await?)
    }
    /// 联席会议议定事项 about this case (staff only).
    async fn joint_items(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::prevention::JointItem>> {
        Ok(super::prevention::joint_items_of(ctx, &self.0).await?)
    }
    /// 12345 工单 — the hotline tickets this case was registered from or merged with.
    async fn hotline_tickets(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Vec<super::hotline::HotlineTicket>> {
        Ok(super::hotline::tickets_of(ctx, &self.0).await?)
    }
    /// 听证 — the hearings on this case, oldest first.
    async fn hearings(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::hearings::Hearing>> {
        Ok(super::hearings::hearings_of(ctx, &self.0).await?)
    }
    /// 满意度评价
    async fn evaluation(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::workflow::Evaluation>> {
        Ok(super::workflow::evaluation_of(ctx, &self.0).await?)
    }
    /// 上级转交办 — the higher body that handed this case down, its reference number and the
    /// report back owed (staff only).
    async fn from_higher_body(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::higher::FromHigherBody>> {
        super::higher::from_higher_body_of(ctx, &self.0).await
    }
    /// 复查/复核
    async fn reviews(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::workflow::Review>> {
        Ok(super::workflow::reviews_of(ctx, &self.0).await?)
    }
    /// 督办 — supervision orders (staff only).
    async fn supervisions(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Vec<super::workflow::Supervision>> {
        Ok(super::workflow::supervisions_of(ctx, &self.0).await?)
    }
    /// 办结报告 — completion reports of an assigned case (staff only).
    async fn completion_reports(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Vec<super::workflow::CompletionReport>> {
        Ok(super::workflow::completion_reports_of(ctx, &self.0).await?)
    }
    /// 转送/交办记录 — the whole chain of referrals, oldest first.
    async fn referrals(&self, ctx: &Context<'_>) -> GqlResult<Vec<super::workflow::Referral>> {
        Ok(super::workflow::referrals_of(ctx, &self.0).await?)
    }
    /// 包案领导 — staff only.
    async fn leader(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::workflow::LeaderOwnership>> {
        super::workflow::leader_of(ctx, &self.0).await
    }
    /// 期限
    async fn deadlines(&self) -> Deadlines {
        Deadlines {
            accept_by: self.0.accept_by.map(Instant),
            handle_by: self.0.handle_by.map(Instant),
            review_request_by: self.0.review_request_by.map(Instant),
            decide_by: self.0.decide_by.map(Instant),
            paused_since: self.0.clock_paused_at.map(Instant),
        }
    }
    /// 当前期限 — the deadline of whatever the case waits for now.
    async fn due_at(&self) -> Option<Instant> {
        self.0.due_at.map(Instant)
    }
    /// 超期 — the pending deadline has passed.
    async fn overdue(&self, ctx: &Context<'_>) -> bool {
        self.0
            .due_at
            .is_some_and(|d| deadline_state(d, state(ctx).clock.now()) == DeadlineState::Overdue)
    }
    /// 预警 — the pending deadline falls within the next 3 days.
    async fn warning(&self, ctx: &Context<'_>) -> bool {
        self.0
            .due_at
            .is_some_and(|d| deadline_state(d, state(ctx).clock.now()) == DeadlineState::Warning)
    }
    /// 可执行操作 — the actions this viewer may take now.
    async fn viewer_can(&self, ctx: &Context<'_>) -> GqlResult<ViewerCan> {
        let me = viewer(ctx)?;
        let loaders = ctx.data_unchecked::<Loaders>();
        let (relations, evaluated) = futures_util::try_join!(
            loaders.relations.load_one(self.0.id),
            loaders.evaluations.load_one(self.0.id)
        )
        .map_err(loader_error)?;
        let mut can = crate::workflow::capabilities_given(
            me,
            &self.0,
            &relations.unwrap_or_default(),
            evaluated.flatten().as_ref(),
            state(ctx).clock.now(),
        )?;
        if can.decide_extension || can.request_extension {
            let extensions = loaders
                .extensions
                .load_one(self.0.id)
                .await
                .map_err(loader_error)?
                .unwrap_or_default();
            crate::workflow::with_extensions(me, &extensions, &mut can);
        }
        // A link to a case out of the viewer's sight is no link to it: it offers neither
        // button rather than give the link away.
        if self.0.repeat_of_id.is_some() && self.visible_repeat_of(ctx).await?.is_none() {
            can.link_repeat = false;
            can.undo_repeat = false;
        }
        Ok(can.into())
    }
    /// 办理记录 — the timeline, oldest first; petitioners see only public entries.
    /// With `last: n`, the latest n entries (still oldest first) — batched across a list.
    #[graphql(complexity = "super::cost::list(last.or(first), child_complexity)")]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
    ) -> GqlResult<TimelineConnection> {
        let me = viewer(ctx)?;
        if let Some(n) = last {
            if first.is_some() || after.is_some() {
                return Err(
                    crate::error::bad_input("last", "use either first/after or last").into(),
                );
            }
            let n = page_size(Some(n)) as u32;
            return latest_entries(ctx, &me.sight(&self.0), self.0.id, n, false).await;
        }
        if after.is_none() {
            // The first page, batched across a list like `last`.
            let n = page_size(first) as u32;
            return latest_entries(ctx, &me.sight(&self.0), self.0.id, n, true).await;
        }
        let sight = me.sight(&self.0);
        let after_seq = match after.as_deref() {
            Some(c) => c
                .parse::<i32>()
                .map_err(|_| crate::error::bad_input("after", "not a cursor of this list"))?,
            None => 0,
        };
        let size = page_size(first);
        let db = &state(ctx).db;
        let audience = records::Audience::of(db, me, !sight.staff_records);
        let (mut rows, total) =
            records::timeline_page(db, self.0.id, &audience, after_seq, size + 1).await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let nodes: Vec<TimelineEntry> = rows
            .into_iter()
            .map(|e| TimelineEntry::seen_by(&sight, e))
            .collect();
        let page_info = PageInfo {
            has_next_page: Some(more),
            has_previous_page: Some(after_seq > 0),
            start_cursor: nodes.first().map(|n| n.seq.to_string()),
            end_cursor: nodes.last().map(|n| n.seq.to_string()),
        };
        Ok(TimelineConnection {
            nodes,
            page_info,
            counted: Some(total),
        })
    }
}

/// A case as the viewer sees it (`None` out of sight) and the viewer's unit's relations to it,
/// through the request's loaders: what an object on a case decides its `viewerCan` from.
pub(super) async fn case_in_sight(
    ctx: &Context<'_>,
    case_id: i64,
) -> GqlResult<Option<(CaseRecord, Vec<crate::domain::UnitRelation>)>> {
    let loaders = ctx.data_unchecked::<Loaders>();
    let (case, relations) = futures_util::try_join!(
        loaders.visible_cases.load_one(case_id),
        loaders.relations.load_one(case_id)
    )
    .map_err(loader_error)?;
    Ok(case
        .flatten()
        .map(|case| (case, relations.unwrap_or_default())))
}

/// A loader's error, with its `extensions.code` like any other.
pub(super) fn loader_error(e: std::sync::Arc<AppError>) -> async_graphql::Error {
    super::gql_error(&e)
}

/// What a loader holds for `key`, or the empty value when it has nothing (no such rows, or a
/// case out of sight): how every list field of a record reads its loader.
pub(super) async fn loaded<L, K, V>(
    loader: &async_graphql::dataloader::DataLoader<L, async_graphql::dataloader::HashMapCache>,
    key: K,
) -> GqlResult<V>
where
    L: async_graphql::dataloader::Loader<K, Value = V, Error = std::sync::Arc<AppError>>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Default + Clone + Send + Sync + 'static,
{
    Ok(loader
        .load_one(key)
        .await
        .map_err(loader_error)?
        .unwrap_or_default())
}

/// The latest `n` entries of a case's timeline through the batch loader.
async fn latest_entries(
    ctx: &Context<'_>,
    sight: &CaseSight,
    case_id: i64,
    n: u32,
    from_start: bool,
) -> GqlResult<TimelineConnection> {
    let loaders = ctx.data_unchecked::<Loaders>();
    let shown = shown_in(&ctx.look_ahead());
    let key = LatestKey {
        case_id,
        public_only: !sight.staff_records,
        ask: LatestAsk {
            last: n,
            from_start,
            shown,
        },
    };
    let LatestEntries { entries, total } = loaded(&loaders.latest_events, key).await?;
    let nodes: Vec<TimelineEntry> = entries
        .into_iter()
        .map(|e| TimelineEntry::seen_by(sight, e))
        .collect();
    // A case none of whose entries the viewer reads comes back without a count: it has none.
    let counted = shown.total.then(|| total.unwrap_or(0).max(0));
    let more = counted.map(|total| (nodes.len() as i64) < total);
    let page_info = PageInfo {
        has_next_page: more.map(|more| from_start && more),
        has_previous_page: more.map(|more| !from_start && more),
        start_cursor: nodes.first().map(|n| n.seq.to_string()),
        end_cursor: nodes.last().map(|n| n.seq.to_string()),
    };
    Ok(TimelineConnection {
        nodes,
        page_info,
        counted: counted.map(|total| total as u64),
    })
}

impl From<PetitionerView> for Petitioner {
    fn from(p: PetitionerView) -> Self {
        Petitioner {
            name: p.name,
            id_number: p.id_number,
            phone: p.phone,
            address: p.address,
            representative: p.representative,
            confidential: p.confidential,
            kind: p.kind,
            credit_code: p.credit_code,
            contact_person: p.contact_person,
        }
    }
}

pub async fn case_by_id(ctx: &Context<'_>, id: &ID) -> Result<Option<Case>> {
    // Who asks comes first: a caller not signed in learns that, whatever the id.
    viewer(ctx)?;
    let Some(n) = lookup_id("Case", id) else {
        return Err(AppError::NotFound("case"));
    };
    match visible_case(ctx, domain::CaseKey::Id(n)).await? {
        Some(c) => Ok(Some(Case(c))),
        None => Err(AppError::NotFound("case")),
    }
}

/// Which of a case's lists read together ([`records::case_parts`]) its selection asks for.
fn parts_wanted(me: &super::Viewer, case: &async_graphql::Lookahead<'_>) -> records::PartsWanted {
    records::PartsWanted {
        petitioners: case.field("petitioners").exists(),
        assisting: case.field("assistingUnits").exists() && me.sees_staff_records(),
        referrals: case.field("referrals").exists(),
    }
}

/// One case asked for by itself, if the viewer sees it. The lists its selection asks for
/// come in the same statement and go to the loaders, where its fields (and the prefetch that
/// follows) find them.
async fn visible_case(ctx: &Context<'_>, key: domain::CaseKey<'_>) -> Result<Option<CaseRecord>> {
    let me = viewer(ctx)?;
    let db = &state(ctx).pages;
    let wanted = parts_wanted(me, &ctx.look_ahead());
    if wanted.count() == 0 {
        return match key {
            domain::CaseKey::Id(id) => domain::find_visible(db, me, id).await,
            domain::CaseKey::Number(n) => domain::find_visible_by_number(db, me, n).await,
        };
    }
    let Some((case, parts)) = domain::find_visible_with_parts(db, me, key, wanted).await? else {
        return Ok(None);
    };
    ctx.data_unchecked::<Loaders>()
        .feed_parts(&[case.id], wanted, &parts)
        .await;
    Ok(Some(case))
}

/// 排序字段
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CaseOrderField {
    /// 收到时间
    ReceivedAt,
    /// 当前期限
    DueAt,
    /// 最近更新
    UpdatedAt,
    /// 案件编号
    Number,
}

/// 排序方向
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

#[derive(InputObject)]
pub struct CaseOrderBy {
    pub field: CaseOrderField,
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

/// Filters of `cases`; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct CaseFilterInput {
    pub status: Option<Vec<CaseStatus>>,
    pub category: Option<Vec<Category>>,
    pub channel: Option<Vec<Channel>>,
    pub subject: Option<Vec<String>>,
    pub township_id: Option<ID>,
    pub lead_unit_id: Option<ID>,
    /// 超期 — the pending deadline has passed.
    pub overdue: Option<bool>,
    /// 预警 — the pending deadline is within 3 days.
    pub warning: Option<bool>,
    /// 重复信访
    pub repeat: Option<bool>,
    /// 集体访
    pub group: Option<bool>,
    /// 迟报 — urgent matters and group visits registered later than the county's limit
    /// after receipt: the bureau's list of late registrations.
    pub registered_late: Option<bool>,
    /// 紧急
    pub urgent: Option<bool>,
    /// Received at or after.
    pub received_from: Option<Instant>,
    /// Received before.
    pub received_to: Option<Instant>,
    /// Words in the number, title, content or petitioner name (ID number and phone too,
    /// where the viewer sees them in full). Matched literally.
    pub search: Option<String>,
    /// Which pending deadline `overdue` and `warning` refer to; SUPERVISION means unanswered
    /// supervision orders (past due, or due within 3 days). SUPERVISION and HIGHER_REPORT are
    /// staff records: a petitioner asking by them is refused (FORBIDDEN).
    pub deadline: Option<DeadlineKind>,
    /// 信访事项 — the cases of one matter: every one of them you may see, page by page
    /// (`Matter.cases` lists at most the oldest 500 of each kind). A matter none of whose
    /// cases you see gives an empty list.
    pub matter_id: Option<ID>,
}

impl CaseFilterInput {
    pub(super) fn into_domain(self) -> Result<CaseFilter> {
        Ok(CaseFilter {
            status: self.status.unwrap_or_default(),
            category: self.category.unwrap_or_default(),
            channel: self.channel.unwrap_or_default(),
            subject: self.subject.unwrap_or_default(),
            township_id: self
                .township_id
                .as_ref()
                .map(|i| input_id("OrgUnit", "filter.townshipId", i))
                .transpose()?,
            lead_unit_id: self
                .lead_unit_id
                .as_ref()
                .map(|i| input_id("OrgUnit", "filter.leadUnitId", i))
                .transpose()?,
            overdue: self.overdue,
            warning: self.warning,
            repeat: self.repeat,
            group: self.group,
            registered_late: self.registered_late,
            urgent: self.urgent,
            received_from: self.received_from.map(|t| t.0),
            received_to: self.received_to.map(|t| t.0),
            search: self.search,
            deadline: self.deadline,
            matter_id: self
                .matter_id
                .as_ref()
                .map(|i| input_id("Matter", "filter.matterId", i))
                .transpose()?,
        })
    }
}

pub struct CaseEdge {
    cursor: String,
    node: Case,
}

#[Object]
impl CaseEdge {
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    async fn node(&self) -> &Case {
        &self.node
    }
}

/// A page of the cases the viewer may see.
pub struct CaseConnection {
    edges: Vec<CaseEdge>,
    page_info: PageInfo,
    filter: CaseFilter,
}

#[Object]
impl CaseConnection {
    async fn edges(&self) -> &[CaseEdge] {
        &self.edges
    }
    async fn nodes(&self) -> Vec<&Case> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// How many visible cases match the filter (counted only when asked for).
    #[graphql(complexity = "super::cost::TOTAL_COUNT")]
    async fn total_count(&self, ctx: &Context<'_>) -> GqlResult<u64> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        Ok(domain::count_visible(&s.db, me, &self.filter, s.clock.now()).await?)
    }
}

#[derive(Default)]
pub struct CaseQuery;

#[Object]
impl CaseQuery {
    /// 信访事项 — a case by ID; `null` with NOT_FOUND when it does not exist or is not visible.
    async fn case(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Case>> {
        let case = case_by_id(ctx, &id).await?;
        prefetch_one(ctx, case.as_ref()).await?;
        Ok(case)
    }

    /// 信访事项 (matter) — a matter by ID, showing the cases of it the viewer may see; `null`
    /// with NOT_FOUND when the viewer sees none of them.
    async fn matter(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<super::matters::Matter>> {
        super::matters::matter_by_global_id(ctx, &id).await
    }

    /// 信访事项 — a case by its number; `null` with NOT_FOUND when not visible.
    async fn case_by_number(&self, ctx: &Context<'_>, number: String) -> GqlResult<Option<Case>> {
        match visible_case(ctx, domain::CaseKey::Number(number.trim())).await? {
            Some(c) => {
                let case = Case(c);
                prefetch_one(ctx, Some(&case)).await?;
                Ok(Some(case))
            }
            None => Err(AppError::NotFound("case").into()),
        }
    }

    /// 信访事项列表 — the cases the viewer may see, newest first by default.
    #[graphql(
        complexity = "super::cost::list(first, child_complexity) + super::cost::search(filter.as_ref().and_then(|f| f.search.as_ref()))"
    )]
    async fn cases(
        &self,
        ctx: &Context<'_>,
        filter: Option<CaseFilterInput>,
        order_by: Option<CaseOrderBy>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<CaseConnection> {
        let filter = filter.unwrap_or_default().into_domain()?;
        case_connection(ctx, filter, order_by, first, after).await
    }
}

/// 信访人 — a person, or an organisation. An anonymous letter lists none.
#[derive(InputObject, Clone)]
pub struct PetitionerInput {
    /// 类别 — a person unless said otherwise.
    #[graphql(default_with = "PetitionerKind::Person")]
    pub kind: PetitionerKind,
    /// 姓名 — or the organisation's name.
    pub name: String,
    /// 身份证号 (18 characters; checked) — a person's only.
    pub id_number: Option<String>,
    /// 联系电话 (mobile or landline with area code)
    pub phone: Option<String>,
    /// 住址
    pub address: Option<String>,
    /// 代表 — a representative elected by a group visit (集体访: a visit by 5 or more people,
    /// at most 5 representatives). Nothing else has representatives.
    #[graphql(default)]
    pub representative: bool,
    /// 统一社会信用代码 — an organisation's (18 characters; the check character is checked).
    pub credit_code: Option<String>,
    /// 联系人 — who speaks for an organisation.
    pub contact_person: Option<String>,
}

#[derive(InputObject)]
pub struct RegisterCaseInput {
    pub channel: Channel,
    pub category: Category,
    /// A subject code from `subjects`.
    pub subject: String,
    /// 1–200 characters.
    pub title: String,
    /// 1–20,000 characters.
    pub content: String,
    pub township_id: Option<ID>,
    /// When the matter was received (default: now).
    pub received_at: Option<Instant>,
    pub petitioners: Vec<PetitionerInput>,
    /// 人次 (default: the number of petitioners listed).
    pub person_count: Option<i32>,
    /// For accusations: the unit accused.
    pub accused_unit_id: Option<ID>,
    /// The unit in charge (default: the registering unit).
    pub lead_unit_id: Option<ID>,
    /// 上级转交办 — required with channel HIGHER_REFERRAL, refused with any other: the higher
    /// body, its reference number, 转送 or 交办, and for 交办 the report-back deadline.
    pub from_higher_body: Option<FromHigherBodyInput>,
    /// 紧急 — an urgent matter: like a group visit, it must be registered within the
    /// county's `registrationLimitHours` of receipt, or it is flagged as registered late.
    #[graphql(default)]
    pub urgent: bool,
    /// 领导接访 — the reception (of your unit) at which the case was raised.
    pub reception_id: Option<ID>,
    /// 矛盾纠纷排查 — the dispute report the bureau turns into this case.
    pub dispute_report_id: Option<ID>,
    /// 12345 — the hotline platform's ticket number (channel HOTLINE_12345). Registering a
    /// ticket already on a case you see answers with that case instead of a new one.
    pub hotline_ticket: Option<String>,
    /// Retries with the same key return the first case.
    pub idempotency_key: Option<String>,
}

/// A case as a higher body handed it down (上级转交办).
#[derive(InputObject)]
pub struct FromHigherBodyInput {
    /// The body, e.g. 邢台市信访局.
    pub name: String,
    pub level: crate::domain::HigherLevel,
    /// Its own reference number for the case.
    pub reference_number: String,
    /// TRANSFER (转送: no report owed) or ASSIGN (交办: a report back is owed).
    pub mode: crate::domain::ReferralMode,
    /// For ASSIGN: when the report back is due (default: 60 days from receipt).
    pub report_due_at: Option<Instant>,
}

#[derive(InputObject)]
pub struct SubmitPetitionInput {
    pub category: Category,
    /// 被反映单位 — for accusations, the unit accused (or the unit of the person accused).
    /// Until an online accusation names one, only the petition bureau and the county's
    /// discipline body see it.
    pub accused_unit_id: Option<ID>,
    pub subject: String,
    pub title: String,
    pub content: String,
    pub township_id: Option<ID>,
    /// The county, when the deployment has several and no township is given.
    pub county_id: Option<ID>,
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct CasePayload {
    /// The case as the registrant may see it now — null when registering left it outside
    /// their sight (for example, an accusation against their own unit, led elsewhere).
    pub case: Option<Case>,
    /// 案件编号 — to give the petitioner, whatever the registrant may see.
    pub number: String,
}

async fn registered(
    ctx: &Context<'_>,
    me: &crate::access::Viewer,
    created: CaseRecord,
) -> GqlResult<CasePayload> {
    let visible = domain::find_visible(&state(ctx).db, me, created.id).await?;
    Ok(CasePayload {
        case: visible.map(Case),
        number: created.number,
    })
}

#[derive(Default)]
pub struct CaseMutation;

#[Object]
impl CaseMutation {
    /// 登记 — registers a case received by the viewer's unit. STAFF or LEADER.
    async fn register_case(
        &self,
        ctx: &Context<'_>,
        input: RegisterCaseInput,
    ) -> GqlResult<CasePayload> {
        let me = viewer(ctx)?;
        me.handling_unit()?;
        let s = state(ctx);
        let new = NewCase {
            channel: input.channel,
            category: input.category,
            subject: input.subject,
            title: input.title,
            content: input.content,
            township_id: input
                .township_id
                .as_ref()
                .map(|i| input_id("OrgUnit", "townshipId", i))
                .transpose()?,
            received_at: input.received_at.map(|t| t.0),
            petitioners: input
                .petitioners
                .into_iter()
                .map(|p| PetitionerEntry {
                    kind: p.kind,
                    name: p.name,
                    id_number: p.id_number,
                    phone: p.phone,
                    address: p.address,
                    representative: p.representative,
                    credit_code: p.credit_code,
                    contact_person: p.contact_person,
                })
                .collect(),
            person_count: input.person_count,
            accused_unit_id: input
                .accused_unit_id
                .as_ref()
                .map(|i| input_id("OrgUnit", "accusedUnitId", i))
                .transpose()?,
            lead_unit_id: input
                .lead_unit_id
                .as_ref()
                .map(|i| input_id("OrgUnit", "leadUnitId", i))
                .transpose()?,
            from_higher: input.from_higher_body.map(|h| crate::higher::HigherIntake {
                body_name: h.name,
                level: h.level,
                reference_number: h.reference_number,
                mode: h.mode,
                report_due_at: h.report_due_at.map(|t| t.0),
            }),
            urgent: input.urgent,
            reception_id: input
                .reception_id
                .as_ref()
                .map(|i| input_id("Reception", "receptionId", i))
                .transpose()?,
            dispute_report_id: input
                .dispute_report_id
                .as_ref()
                .map(|i| input_id("DisputeReport", "disputeReportId", i))
                .transpose()?,
            hotline_ticket: input.hotline_ticket,
        };
        let case = domain::register(
            &s.db,
            &s.clock,
            &s.bus,
            &s.directory,
            Registrar::Staff(me),
            new,
            input.idempotency_key,
        )
        .await?;
        registered(ctx, me, case).await
    }

    /// 网上信访 — a citizen submits a petition; it arrives at the county's petition bureau.
    async fn submit_petition(
        &self,
        ctx: &Context<'_>,
        input: SubmitPetitionInput,
    ) -> GqlResult<CasePayload> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        let county = input
            .county_id
            .as_ref()
            .map(|i| input_id("OrgUnit", "countyId", i))
            .transpose()?;
        let new = NewCase {
            channel: Channel::Online,
            category: input.category,
            subject: input.subject,
            title: input.title,
            content: input.content,
            township_id: input
                .township_id
                .as_ref()
                .map(|i| input_id("OrgUnit", "townshipId", i))
                .transpose()?,
            received_at: None,
            petitioners: vec![],
            person_count: None,
            accused_unit_id: input
                .accused_unit_id
                .as_ref()
                .map(|i| input_id("OrgUnit", "accusedUnitId", i))
                .transpose()?,
            lead_unit_id: None,
            from_higher: None,
            urgent: false,
            reception_id: None,
            dispute_report_id: None,
            hotline_ticket: None,
        };
        let case = domain::register(
            &s.db,
            &s.clock,
            &s.bus,
            &s.directory,
            Registrar::Petitioner(me, county),
            new,
            input.idempotency_key,
        )
        .await?;
        registered(ctx, me, case).await
    }
}

/// Loads, in one statement per kind, what the rows of a case list will ask for — read from
/// the query's own selection — so the rows find it in the loaders' caches. This is what keeps
/// the number of statements of a list independent of its length: left to themselves, the
/// rows' loads would be split into several batches whenever the runtime makes the request
/// yield part-way through a long page.
#[derive(Default)]
struct Named {
    units: Vec<i64>,
    staff: Vec<i64>,
}

type Load<'a> = std::pin::Pin<
    Box<dyn Future<Output = std::result::Result<Named, std::sync::Arc<AppError>>> + Send + 'a>,
>;

pub async fn prefetch(ctx: &Context<'_>, rows: &[CaseRecord]) -> GqlResult<()> {
    prefetch_for(ctx, rows, list_nodes(ctx)).await
}

/// Where a connection's cases are selected: `nodes`, or else `edges { node }`.
fn list_nodes<'a>(ctx: &'a Context<'_>) -> async_graphql::Lookahead<'a> {
    let look = ctx.look_ahead();
    let nodes = look.field("nodes");
    if nodes.exists() {
        nodes
    } else {
        look.field("edges").field("node")
    }
}

/// Each timeline selected on `case` (aliases included) that a batch can serve: `last: n`, or
/// a first page.
fn timelines_wanted(case: &async_graphql::Lookahead<'_>) -> Vec<LatestAsk> {
    let mut timelines = vec![];
    let timeline = case.field("timeline");
    if !timeline.exists() {
        return timelines;
    }
    for field in timeline.selection_fields() {
        let args = field.arguments().unwrap_or_default();
        let arg = |name: &str| {
            args.iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, v)| v.clone())
        };
        let number = |v: Option<async_graphql::Value>| match v {
            Some(async_graphql::Value::Number(n)) => n.as_i64().map(|n| n as i32),
            _ => None,
        };
        let (last, from_start) = match (number(arg("last")), arg("after")) {
            (Some(n), _) => (page_size(Some(n)), false),
            (None, None) => (page_size(number(arg("first"))), true),
            (None, Some(_)) => continue,
        };
        timelines.push(LatestAsk {
            last: last as u32,
            from_start,
            shown: shown_in(&async_graphql::Lookahead::from(field)),
        });
    }
    timelines
}

/// [`prefetch`] for one case asked for by itself: its lists come together as a list's do.
async fn prefetch_one(ctx: &Context<'_>, case: Option<&Case>) -> GqlResult<()> {
    match case {
        Some(c) => prefetch_for(ctx, std::slice::from_ref(&c.0), ctx.look_ahead()).await,
        None => Ok(()),
    }
}

/// [`prefetch`] for rows whose fields are selected at `case` (a list's nodes, or the `case`
/// of each referral in a referral list).
pub async fn prefetch_for(
    ctx: &Context<'_>,
    rows: &[CaseRecord],
    case: async_graphql::Lookahead<'_>,
) -> GqlResult<()> {
    if rows.is_empty() || !case.exists() {
        return Ok(());
    }
    let me = viewer(ctx)?;
    let loaders = ctx.data_unchecked::<Loaders>();
    let node = |name: &str| {
        let field = case.field(name);
        field.exists().then_some(field)
    };
    let selected = |name: &str| node(name).is_some();
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let staff_records = me.sees_staff_records();
    let mut named = Named::default();
    for c in rows {
        named.units.extend(
            [
                Some(c.lead_unit_id),
                c.township_id,
                Some(c.registered_by_unit_id),
                c.accused_unit_id,
            ]
            .into_iter()
            .flatten(),
        );
        if selected("leader") && staff_records {
            named.staff.extend(c.leader_user_id);
        }
    }
    let timelines = timelines_wanted(&case);
    let ids_ = || ids.iter().copied();
    let mut loads: Vec<Load<'_>> = vec![Box::pin(async {
        loaders.units.load_many(named.units.clone()).await?;
        Ok(Named::default())
    })];
    // Petitioners, assisting units and referrals: whichever are asked for, in one statement.
    let wanted = parts_wanted(me, &case);
    if wanted.count() > 0 {
        let db = &state(ctx).pages;
        let id_list = ids.as_slice();
        let referral_cases = node("referrals").is_some_and(|r| r.field("case").exists());
        loads.push(Box::pin(async move {
            let parts = loaders.load_parts(db, id_list, wanted).await?;
            if referral_cases {
                loaders.visible_cases.load_many(ids_()).await?;
            }
            let mut units: Vec<i64> = parts.assisting.into_values().flatten().collect();
            units.extend(
                parts
                    .referrals
                    .values()
                    .flatten()
                    .flat_map(|r| [r.from_unit_id, r.to_unit_id]),
            );
            Ok(Named {
                units,
                ..Default::default()
            })
        }));
    }
    for ask in timelines {
        loads.push(Box::pin(async move {
            let keys = ids_().map(|case_id| LatestKey {
                case_id,
                public_only: !staff_records,
                ask,
            });
            loaders.latest_events.load_many(keys).await?;
            Ok(Named::default())
        }));
    }
    if selected("extensions") {
        loads.push(Box::pin(async {
            let rows = loaders.extensions.load_many(ids_()).await?;
            Ok(Named {
                staff: rows
                    .values()
                    .flatten()
                    .map(|e| e.requested_by_user_id)
                    .collect(),
                ..Default::default()
            })
        }));
    }
    if selected("reply") {
        loads.push(Box::pin(async {
            let rows = loaders.replies.load_many(ids_()).await?;
            Ok(Named {
                units: rows
                    .values()
                    .flatten()
                    .flat_map(|r| [Some(r.unit_id), r.review_unit_id])
                    .flatten()
                    .collect(),
                staff: rows
                    .values()
                    .flatten()
                    .map(|r| r.signed_by_user_id)
                    .collect(),
            })
        }));
    }
    if selected("reviews") {
        loads.push(Box::pin(async {
            let rows = loaders.reviews.load_many(ids_()).await?;
            Ok(Named {
                units: rows
                    .values()
                    .flatten()
                    .map(|r| r.reviewing_unit_id)
                    .collect(),
                ..Default::default()
            })
        }));
    }
    if selected("evaluation") || selected("viewerCan") {
        loads.push(Box::pin(async {
            loaders.evaluations.load_many(ids_()).await?;
            Ok(Named::default())
        }));
    }
    if selected("viewerCan") {
        loads.push(Box::pin(async {
            loaders.relations.load_many(ids_()).await?;
            Ok(Named::default())
        }));
    }
    if selected("supervisions") && staff_records {
        loads.push(Box::pin(async {
            loaders.supervisions.load_many(ids_()).await?;
            Ok(Named::default())
        }));
    }
    if selected("completionReports") && staff_records {
        loads.push(Box::pin(async {
            loaders.completion_reports.load_many(ids_()).await?;
            Ok(Named::default())
        }));
    }
    if selected("repeats") {
        loads.push(Box::pin(async {
            loaders.repeats.load_many(ids_()).await?;
            Ok(Named::default())
        }));
    }
    if selected("repeatOf") || selected("isRepeat") || selected("notAcceptable") {
        let earlier: Vec<i64> = rows.iter().filter_map(|c| c.repeat_of_id).collect();
        loads.push(Box::pin(async move {
            loaders.visible_cases.load_many(earlier).await?;
            Ok(Named::default())
        }));
    }
    let found = futures_util::future::try_join_all(loads)
        .await
        .map_err(loader_error)?;
    // What the loaded records name: units, and the staff named on them (whose own units a
    // leader's entry shows). The loaders' caches skip what is already there.
    let mut staff: Vec<i64> = named.staff.clone();
    let mut units: Vec<i64> = vec![];
    for n in found {
        units.extend(n.units);
        staff.extend(n.staff);
    }
    let (_, leaders) = futures_util::try_join!(
        loaders.units.load_many(units),
        loaders.staff.load_many(staff)
    )
    .map_err(loader_error)?;
    loaders
        .units
        .load_many(leaders.values().flatten().filter_map(|s| s.unit_id))
        .await
        .map_err(loader_error)?;
    Ok(())
}

/// One page of the viewer's visible cases matching a filter: the shared body of every case
/// list (`cases`, a unit's `cases`).
pub async fn case_connection(
    ctx: &Context<'_>,
    filter: CaseFilter,
    order_by: Option<CaseOrderBy>,
    first: Option<i32>,
    after: Option<String>,
) -> GqlResult<CaseConnection> {
    let me = viewer(ctx)?;
    let s = state(ctx);
    let order = match order_by {
        Some(o) => CaseOrder {
            field: match o.field {
                CaseOrderField::ReceivedAt => SortField::ReceivedAt,
                CaseOrderField::DueAt => SortField::DueAt,
                CaseOrderField::UpdatedAt => SortField::UpdatedAt,
                CaseOrderField::Number => SortField::Number,
            },
            descending: o.direction == OrderDirection::Desc,
        },
        None => CaseOrder {
            field: SortField::ReceivedAt,
            descending: true,
        },
    };
    let db = s.list_db(&filter);
    // A list showing one timeline per case reads it with the page, in the same statement.
    let public_only = !me.sees_staff_records();
    let ask = match timelines_wanted(&list_nodes(ctx)).as_slice() {
        [ask] => Some(*ask),
        _ => None,
    };
    let latest = ask.map(|ask| ask.wanted(records::Audience::of(db, me, public_only)));
    let mut page = domain::list_visible(
        db,
        me,
        &filter,
        domain::PageAsk {
            order,
            first: page_size(first),
            after: after.as_deref(),
        },
        s.clock.now(),
        latest.as_ref(),
    )
    .await?;
    if let Some(ask) = ask {
        let loaders = ctx.data_unchecked::<Loaders>();
        let read: Vec<_> = page
            .rows
            .iter()
            .map(|c| {
                let key = LatestKey {
                    case_id: c.id,
                    public_only,
                    ask,
                };
                (key, page.latest.remove(&c.id).unwrap_or_default())
            })
            .collect();
        loaders.latest_events.feed_many(read).await;
    }
    let (rows, more) = (page.rows, page.more);
    prefetch(ctx, &rows).await?;
    let edges: Vec<CaseEdge> = rows
        .into_iter()
        .map(|c| CaseEdge {
            cursor: domain::cursor_of(&c, order),
            node: Case(c),
        })
        .collect();
    let page_info = PageInfo {
        has_next_page: Some(more),
        has_previous_page: Some(after.is_some()),
        start_cursor: edges.first().map(|e| e.cursor.clone()),
        end_cursor: edges.last().map(|e| e.cursor.clone()),
    };
    Ok(CaseConnection {
        edges,
        page_info,
        filter,
    })
}
