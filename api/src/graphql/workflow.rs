//! GraphQL types and operations of the workflow: the records a case accumulates and the
//! mutations that move it along. Each mutation states what it needs and calls `workflow`.

use super::cases::{Case, loaded, loader_error};
use super::identity::{OrgUnit, load_unit};
use super::{GqlResult, Instant, global_id, input_id, state, viewer};
use crate::access::Viewer;
use crate::county_calendar;
use crate::domain::{
    AcceptanceDecision, ApprovalStatus, Category, ChangeMode, DeliveryMethod, HigherLevel,
    LegalRoute, ReferralMode, ReferralStatus, ReplyOutcome, ReviewDecision, ReviewStage,
    Satisfaction,
};
use crate::error::{AppError, Result};
use crate::records::{
    CaseRecord, CompletionReportRecord, EvaluationRecord, ExtensionRecord, ReferralRecord,
    ReplyRecord, ReviewRecord, SupervisionRecord,
};
use crate::referrals::TransferInput;
use crate::reviews::{self, Delivery, HigherDecision, ReviewDecisionInput};
use crate::workflow::{self, AcceptanceInput, Caller, ReplyInput};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

/// The caller of an action, as the domain wants it (no idempotency key).
pub(super) fn caller<'a>(ctx: &Context<'a>) -> Result<Caller<'a>> {
    let s = state(ctx);
    Ok(Caller {
        db: &s.db,
        clock: &s.clock,
        viewer: viewer(ctx)?,
        bus: &s.bus,
        idempotency: None,
    })
}

/// The caller of an action the client may retry: with its idempotency key, if it sent one,
/// and a fingerprint of the request it came with.
fn keyed_caller<'a>(
    ctx: &Context<'a>,
    operation: &'static str,
    key: Option<String>,
    input: &impl async_graphql::InputType,
) -> Result<Caller<'a>> {
    let mut c = caller(ctx)?;
    c.idempotency = key.map(|key| workflow::Idempotency {
        key,
        operation,
        request_hash: crate::auth::sha256_hex(
            format!("{operation}\u{1f}{}", fingerprint(input)).as_bytes(),
        ),
    });
    Ok(c)
}

/// What identifies a request under its key: its input as the schema reads it, without the
/// key itself and without the fields left null, as JSON. The same request gives the same
/// text whatever order the client wrote its fields in, and after a release that adds an
/// optional field (a Rust `Debug` form would change with the code).
fn fingerprint(input: &impl async_graphql::InputType) -> String {
    fn without_nulls(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(fields) => {
                fields.retain(|_, v| !v.is_null());
                fields.values_mut().for_each(without_nulls);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(without_nulls),
            _ => {}
        }
    }
    let mut json = input.to_value().into_json().unwrap_or_default();
    if let Some(fields) = json.as_object_mut() {
        fields.remove("idempotencyKey");
    }
    without_nulls(&mut json);
    // serde_json's maps keep their keys sorted (no `preserve_order`), so the text does not
    // depend on the order the fields were declared or sent in.
    json.to_string()
}

/// What an action came to: its own answer, or — for a retry of one already done under the
/// same key — the case and the record the first call left.
enum Outcome<T> {
    Done(T),
    Replayed {
        case_id: i64,
        /// The record the first call created or decided, for actions that answer with one.
        record_id: Option<i64>,
    },
}

/// The record of a replayed action that answers with one (its key always remembers it).
fn replayed_record(record_id: Option<i64>) -> Result<i64> {
    record_id.ok_or_else(|| AppError::Internal("a replayed key without its record".into()))
}

/// Sorts an action's result into [`Outcome`]: the one place a retry is told from a refusal,
/// for every keyed action. A refusal of a keyed request is looked at once more: the identical
/// request that won a race (and changed what this one checked) makes it a replay.
async fn outcome<T>(caller: &Caller<'_>, done: Result<T>) -> Result<Outcome<T>> {
    match done {
        Ok(v) => Ok(Outcome::Done(v)),
        Err(AppError::Replayed { case_id, record_id }) => {
            Ok(Outcome::Replayed { case_id, record_id })
        }
        Err(e) if caller.idempotency.is_some() => match workflow::replayed(caller.db, caller).await
        {
            Err(AppError::Replayed { case_id, record_id }) => {
                Ok(Outcome::Replayed { case_id, record_id })
            }
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// The answer to an action that answers with the case: the case after it, or for a retry the
/// case as it is now, as the first call answered.
async fn replay_or(
    ctx: &Context<'_>,
    caller: &Caller<'_>,
    done: Result<CaseRecord>,
) -> GqlResult<CaseActionPayload> {
    match outcome(caller, done).await? {
        Outcome::Done(case) => Ok(case_payload(case)),
        Outcome::Replayed { case_id, .. } => Ok(CaseActionPayload {
            case: visible(ctx, case_id)
                .await?
                .ok_or(AppError::NotFound("case"))?,
        }),
    }
}

/// A retried extension action's answer: the extension and its case as they are now.
async fn replayed_extension(ctx: &Context<'_>, id: i64) -> GqlResult<ExtensionPayload> {
    let (case, extension) = crate::records::visible_extension(&state(ctx).db, viewer(ctx)?, id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    Ok(ExtensionPayload {
        extension: Extension(extension),
        case: Case(case),
    })
}

/// A retried supervision action's answer.
async fn replayed_supervision(ctx: &Context<'_>, id: i64) -> GqlResult<SupervisionPayload> {
    let (case, order) = crate::records::visible_supervision(&state(ctx).db, viewer(ctx)?, id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    Ok(SupervisionPayload {
        supervision: Supervision(order),
        case: Case(case),
    })
}

/// A retried completion-report action's answer.
async fn replayed_report(ctx: &Context<'_>, id: i64) -> GqlResult<CompletionReportPayload> {
    let (case, report) =
        crate::records::visible_completion_report(&state(ctx).db, viewer(ctx)?, id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
    Ok(CompletionReportPayload {
        report: CompletionReport(report),
        case: Case(case),
    })
}

/// The referral a retried referral action acted on, as the viewer may see it now.
async fn replayed_referral(ctx: &Context<'_>, id: i64) -> Result<ReferralRecord> {
    crate::referrals::visible_referral(&state(ctx).db, viewer(ctx)?, id)
        .await?
        .map(|(_, r)| r)
        .ok_or(AppError::NotFound("referral"))
}

/// The answer to an action on a referral, or to its retry.
async fn referral_action(
    ctx: &Context<'_>,
    caller: &Caller<'_>,
    done: Result<ReferralRecord>,
) -> GqlResult<ReferralActionPayload> {
    let referral = match outcome(caller, done).await? {
        Outcome::Done(r) => r,
        Outcome::Replayed { record_id, .. } => {
            replayed_referral(ctx, replayed_record(record_id)?).await?
        }
    };
    Ok(ReferralActionPayload {
        referral: Referral::new(referral),
    })
}

/// The case after an action, as the viewer may still see it (a transfer can take it away).
async fn visible(ctx: &Context<'_>, id: i64) -> Result<Option<Case>> {
    Ok(crate::cases::find_visible(&state(ctx).db, viewer(ctx)?, id)
        .await?
        .map(Case))
}

/// A staff member's name on a record, as the viewer may read it (batched across a list).
pub(super) async fn staff_name(
    ctx: &Context<'_>,
    me: &Viewer,
    user_id: Option<i64>,
) -> GqlResult<Option<String>> {
    let Some(id) = user_id else { return Ok(None) };
    if !me.record_sight().staff_names {
        return Ok(None);
    }
    let staff = loaders(ctx)
        .staff
        .load_one(id)
        .await
        .map_err(loader_error)?;
    Ok(me
        .record_sight()
        .staff_name(staff.flatten().map(|s| s.name)))
}

// ---- records ---------------------------------------------------------------------------

/// 受理告知 — the acceptance decision, once made.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Acceptance {
    pub decision: AcceptanceDecision,
    /// 理由 — why it was declined (or any note).
    pub reason: Option<String>,
    /// 法定途径 — where a redirected appeal belongs.
    pub legal_route: Option<LegalRoute>,
    pub decided_at: Instant,
    #[graphql(skip)]
    pub cited_case_id: Option<i64>,
}

#[async_graphql::ComplexObject]
impl Acceptance {
    /// 终结依据 — for 不再受理, the earlier case whose conclusion stands, when the viewer may
    /// see it.
    async fn cited_case(&self, ctx: &Context<'_>) -> GqlResult<Option<Case>> {
        let Some(id) = self.cited_case_id else {
            return Ok(None);
        };
        Ok(loaded(&loaders(ctx).visible_cases, id).await?.map(Case))
    }
}

pub fn acceptance_of(case: &CaseRecord) -> Result<Option<Acceptance>> {
    let (Some(decision), Some(at)) = (case.acceptance_decision, case.accept_decided_at) else {
        return Ok(None);
    };
    Ok(Some(Acceptance {
        decision,
        reason: case.acceptance_reason.clone(),
        legal_route: case.legal_route,
        decided_at: Instant(at),
        cited_case_id: case.acceptance_cited_case_id,
    }))
}

/// 延期 — a request to extend the handling deadline.
pub struct Extension(pub ExtensionRecord);

#[Object]
impl Extension {
    pub async fn id(&self) -> ID {
        global_id("Extension", self.0.id)
    }
    /// 延期天数
    async fn days(&self) -> i32 {
        self.0.days
    }
    /// 延期理由 — shown to the petitioner once approved.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn status(&self) -> ApprovalStatus {
        self.0.status
    }
    async fn requested_at(&self) -> Instant {
        Instant(self.0.requested_at)
    }
    /// 申请人 — staff only.
    async fn requested_by(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        Ok(staff_name(ctx, viewer(ctx)?, Some(self.0.requested_by_user_id)).await?)
    }
    async fn decided_at(&self) -> Option<Instant> {
        self.0.decided_at.map(Instant)
    }
    /// 审批意见
    async fn note(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        Ok(viewer(ctx)?
            .record_sight()
            .staff_only(self.0.note.as_deref())
            .flatten())
    }
}

/// 处理意见书 — the written reply.
pub struct Reply(pub ReplyRecord);

#[Object]
impl Reply {
    pub async fn id(&self) -> ID {
        global_id("Reply", self.0.id)
    }
    async fn outcome(&self) -> ReplyOutcome {
        self.0.outcome
    }
    /// 事实
    async fn facts(&self) -> &str {
        &self.0.facts
    }
    /// 理由
    async fn reasons(&self) -> &str {
        &self.0.reasons
    }
    /// 依据
    async fn basis(&self) -> &str {
        &self.0.basis
    }
    /// 出具单位 — the signing unit.
    async fn unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.unit_id)).await
    }
    /// 签发人 — staff only; petitioners see the signing unit.
    async fn signed_by(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        Ok(staff_name(ctx, viewer(ctx)?, Some(self.0.signed_by_user_id)).await?)
    }
    /// 复查机关 — where a review of an appeal may be requested: the lead unit's superior.
    /// Null for suggestions and accusations (not reviewed) and where the superior sits above
    /// the deployment (the county's bureau then records that body's decision).
    async fn review_body(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, self.0.review_unit_id).await
    }
    /// 复查申请期限 — the petitioner's 30-day window (to rate, and for an appeal to ask for
    /// review) ends then; it runs from delivery, so it is null until the reply is delivered.
    async fn review_request_by(&self) -> Option<Instant> {
        self.0.review_request_by.map(Instant)
    }
    async fn issued_at(&self) -> Instant {
        Instant(self.0.issued_at)
    }
    /// 送达时间 — when the reply reached the petitioner; null until delivered.
    async fn delivered_at(&self) -> Option<Instant> {
        self.0.delivered_at.map(Instant)
    }
    /// 送达方式 — null until delivered, and on replies delivered before methods were recorded.
    async fn delivery_method(&self) -> Option<DeliveryMethod> {
        self.0.delivery_method
    }
    /// 已被撤销/变更 — a review set this reply aside (CHANGE: REPLACE or REDO).
    async fn quashed(&self) -> bool {
        self.0.quashed_by_review_id.is_some()
    }
}

/// 满意度评价
#[derive(SimpleObject)]
pub struct Evaluation {
    pub satisfaction: Satisfaction,
    pub comment: Option<String>,
    /// 代评 — recorded by staff on the petitioner's behalf (回访).
    pub on_behalf: bool,
    pub at: Instant,
}

impl Evaluation {
    fn from_model(e: EvaluationRecord) -> Result<Self> {
        Ok(Evaluation {
            satisfaction: e.satisfaction,
            comment: e.comment,
            on_behalf: e.on_behalf,
            at: Instant(e.at),
        })
    }
}

/// 复查/复核 — a review request and its decision.
pub struct Review(pub ReviewRecord);

#[Object]
impl Review {
    pub async fn id(&self) -> ID {
        global_id("Review", self.0.id)
    }
    async fn stage(&self) -> ReviewStage {
        self.0.stage
    }
    /// 申请理由
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// 代为申请 — requested by staff on the petitioner's behalf.
    async fn on_behalf(&self) -> bool {
        self.0.on_behalf
    }
    async fn requested_at(&self) -> Instant {
        Instant(self.0.requested_at)
    }
    /// 复查/复核机关
    async fn reviewing_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.reviewing_unit_id)).await
    }
    /// 决定期限
    async fn decide_by(&self) -> Instant {
        Instant(self.0.decide_by)
    }
    async fn decision(&self) -> Option<ReviewDecision> {
        self.0.decision
    }
    /// 决定书内容
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
    async fn decided_at(&self) -> Option<Instant> {
        self.0.decided_at.map(Instant)
    }
    /// For a CHANGE: whether the decision replaced the one below, or sent the case back for
    /// a new reply (重新办理).
    async fn change(&self) -> Option<ChangeMode> {
        self.0.change_mode
    }
    /// Decided by a body above the county; `reviewingUnit` is then the county's petition
    /// bureau, which records the decision.
    async fn above_county(&self) -> bool {
        self.0.above_county
    }
    /// The higher body that decided (reviews above the county).
    async fn higher_body(&self, ctx: &Context<'_>) -> GqlResult<Option<HigherBody>> {
        super::higher::load_higher_body(ctx, self.0.higher_body_id).await
    }
    /// 文号 — the higher body's document number.
    async fn document_number(&self) -> Option<&str> {
        self.0.document_number.as_deref()
    }
    /// The date on the higher body's decision (`YYYY-MM-DD`).
    async fn decided_on(&self) -> Option<String> {
        self.0.decided_on.map(|d| d.to_string())
    }
    /// 送达时间 — when the decision reached the petitioner.
    async fn delivered_at(&self) -> Option<Instant> {
        self.0.delivered_at.map(Instant)
    }
    async fn delivery_method(&self) -> Option<DeliveryMethod> {
        self.0.delivery_method
    }
}

/// 上级机关 — a body above the county that is not a unit of this deployment.
pub struct HigherBody(pub crate::records::HigherBodyRecord);

#[Object]
impl HigherBody {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn level(&self) -> HigherLevel {
        self.0.level
    }
}

/// 督办 — a supervision order from the petition bureau (staff only).
pub struct Supervision(pub SupervisionRecord);

#[Object]
impl Supervision {
    pub async fn id(&self) -> ID {
        global_id("Supervision", self.0.id)
    }
    /// 督办要求
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// 督办期限
    async fn due_at(&self) -> Instant {
        Instant(self.0.due_at)
    }
    async fn issued_at(&self) -> Instant {
        Instant(self.0.issued_at)
    }
    /// 回复
    async fn answer(&self) -> Option<&str> {
        self.0.answer.as_deref()
    }
    async fn answered_at(&self) -> Option<Instant> {
        self.0.answered_at.map(Instant)
    }
    /// 超期 — unanswered past its deadline.
    async fn overdue(&self, ctx: &Context<'_>) -> bool {
        self.0.answered_at.is_none() && state(ctx).clock.now() > self.0.due_at
    }
}

/// 办结报告 — the completion report of an assigned case (staff only).
pub struct CompletionReport(pub CompletionReportRecord);

#[Object]
impl CompletionReport {
    pub async fn id(&self) -> ID {
        global_id("CompletionReport", self.0.id)
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
    async fn filed_at(&self) -> Instant {
        Instant(self.0.filed_at)
    }
    async fn status(&self) -> ApprovalStatus {
        self.0.status
    }
    /// 审核意见
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn decided_at(&self) -> Option<Instant> {
        self.0.decided_at.map(Instant)
    }
}

/// 转送/交办 — one hand-over of a case between units.
pub struct Referral(
    pub ReferralRecord,
    pub Option<(String, String)>,
    /// The case as the viewer sees it, when the caller has just read it through the scope (a
    /// live event: a subscription's loaders would remember an earlier answer).
    pub Option<Option<CaseRecord>>,
);

impl Referral {
    pub fn new(row: ReferralRecord) -> Self {
        Referral(row, None, None)
    }

    /// A referral with its case's number and title already read (lists read them in the
    /// same statement).
    pub fn with_facts(row: ReferralRecord, number: String, title: String) -> Self {
        Referral(row, Some((number, title)), None)
    }

    /// A referral of an event, with its case as the viewer sees it at this event.
    pub fn at_event(row: ReferralRecord, case: Option<CaseRecord>) -> Self {
        Referral(row, None, Some(case))
    }
}

#[Object]
impl Referral {
    pub async fn id(&self) -> ID {
        global_id("Referral", self.0.id)
    }
    async fn mode(&self) -> ReferralMode {
        self.0.mode
    }
    async fn status(&self) -> ReferralStatus {
        self.0.status
    }
    /// 转出单位
    async fn from_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.from_unit_id)).await
    }
    /// 接收单位
    async fn to_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.0.to_unit_id)).await
    }
    /// 转办理由 — between units; null for petitioners.
    async fn reason(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        Ok(viewer(ctx)?
            .record_sight()
            .staff_only(self.0.reason.as_str()))
    }
    /// 报告期限 — when an assignment's completion report is due.
    async fn report_due_at(&self) -> Option<Instant> {
        self.0.report_due_at.map(Instant)
    }
    /// 异议期限 — the receiver may object until then (5 working days).
    async fn object_by(&self) -> Instant {
        Instant(self.0.object_by)
    }
    /// 异议理由 — between units; null for petitioners.
    async fn objection_reason(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        Ok(viewer(ctx)?
            .record_sight()
            .staff_only(self.0.objection_reason.as_deref())
            .flatten())
    }
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }
    async fn resolved_at(&self) -> Option<Instant> {
        self.0.resolved_at.map(Instant)
    }
    /// 案件编号 — shown to both ends of the referral, even after the case moved on.
    async fn case_number(&self, ctx: &Context<'_>) -> GqlResult<String> {
        if let Some((number, _)) = &self.1 {
            return Ok(number.clone());
        }
        Ok(case_facts(ctx, self.0.case_id).await?.0)
    }
    /// 标题
    async fn case_title(&self, ctx: &Context<'_>) -> GqlResult<String> {
        if let Some((_, title)) = &self.1 {
            return Ok(title.clone());
        }
        Ok(case_facts(ctx, self.0.case_id).await?.1)
    }
    /// The case itself, when the viewer may still see it.
    async fn case(&self, ctx: &Context<'_>) -> GqlResult<Option<Case>> {
        if let Some(seen) = &self.2 {
            return Ok(seen.clone().map(Case));
        }
        Ok(loaded(&loaders(ctx).visible_cases, self.0.case_id)
            .await?
            .map(Case))
    }
    /// 可执行操作 — what this viewer may do with the referral now.
    async fn viewer_can(&self, ctx: &Context<'_>) -> GqlResult<ReferralViewerCan> {
        let me = viewer(ctx)?;
        let case = if self.2.is_some() {
            // A live event: read afresh (a subscription's loaders remember earlier answers).
            crate::referrals::referral_case_rows(&state(ctx).db, &[self.0.case_id])
                .await?
                .remove(&self.0.case_id)
        } else {
            loaders(ctx)
                .referral_cases
                .load_one(self.0.case_id)
                .await
                .map_err(loader_error)?
                .flatten()
        };
        Ok(case
            .map(|case| {
                crate::referrals::capabilities_given(me, &self.0, &case, state(ctx).clock.now())
            })
            .unwrap_or_default()
            .into())
    }
}

impl From<crate::referrals::ReferralCapabilities> for ReferralViewerCan {
    fn from(c: crate::referrals::ReferralCapabilities) -> Self {
        ReferralViewerCan {
            acknowledge: c.acknowledge,
            object: c.object,
            resolve_objection: c.resolve_objection,
        }
    }
}

/// The actions on a referral its viewer may take now.
#[derive(SimpleObject)]
pub struct ReferralViewerCan {
    /// 签收 (acknowledgeReferral; the receiver, while the referral is pending)
    pub acknowledge: bool,
    /// 异议 (objectReferral; the receiver, within 5 working days, before deciding acceptance)
    pub object: bool,
    /// 异议处理 (resolveObjection; the sender, or the bureau when it did not object itself)
    pub resolve_objection: bool,
}

async fn case_facts(ctx: &Context<'_>, case_id: i64) -> Result<(String, String)> {
    crate::referrals::referral_case_facts(&state(ctx).db, vec![case_id])
        .await?
        .remove(&case_id)
        .ok_or(AppError::NotFound("case"))
}

/// 包案领导 — the leader who took personal ownership (staff only).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct LeaderOwnership {
    pub name: String,
    pub unit: Option<OrgUnit>,
    #[graphql(skip)]
    pub case: CaseRecord,
}

#[async_graphql::ComplexObject]
impl LeaderOwnership {
    /// 包案方案 — the plan recorded with the ownership and the progress against it (null for
    /// an ownership taken before plans were recorded).
    async fn plan(&self, ctx: &Context<'_>) -> GqlResult<Option<super::ownership::OwnershipPlan>> {
        Ok(super::ownership::plan_of(ctx, &self.case).await?)
    }
}

// ---- the records of one case, as Case's fields read them ------------------------------

pub async fn extensions_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Vec<Extension>> {
    let sight = viewer(ctx)?.sight(case);
    let rows = loaded(&loaders(ctx).extensions, case.id).await?;
    // Petitioners read the approved extensions only, with their reasons.
    Ok(rows
        .into_iter()
        .filter(|e| sight.staff_records || e.status == ApprovalStatus::Approved)
        .map(Extension)
        .collect())
}

/// Every written reply of a case, oldest first (a review may have set earlier ones aside).
pub async fn replies_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Vec<Reply>> {
    Ok(loaded(&loaders(ctx).replies, case.id)
        .await?
        .into_iter()
        .map(Reply)
        .collect())
}

/// The reply that stands: the latest one no review has set aside.
pub async fn reply_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Option<Reply>> {
    Ok(replies_of(ctx, case)
        .await?
        .into_iter()
        .rfind(|r| r.0.quashed_by_review_id.is_none()))
}

pub async fn evaluation_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Option<Evaluation>> {
    loaders(ctx)
        .evaluations
        .load_one(case.id)
        .await
        .map_err(loader_error)?
        .flatten()
        .map(Evaluation::from_model)
        .transpose()
        .map_err(Into::into)
}

pub async fn reviews_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Vec<Review>> {
    Ok(loaded(&loaders(ctx).reviews, case.id)
        .await?
        .into_iter()
        .map(Review)
        .collect())
}

pub async fn supervisions_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Vec<Supervision>> {
    if !viewer(ctx)?.sight(case).staff_records {
        return Ok(vec![]);
    }
    Ok(loaded(&loaders(ctx).supervisions, case.id)
        .await?
        .into_iter()
        .map(Supervision)
        .collect())
}

pub async fn completion_reports_of(
    ctx: &Context<'_>,
    case: &CaseRecord,
) -> GqlResult<Vec<CompletionReport>> {
    if !viewer(ctx)?.sight(case).staff_records {
        return Ok(vec![]);
    }
    Ok(loaded(&loaders(ctx).completion_reports, case.id)
        .await?
        .into_iter()
        .map(CompletionReport)
        .collect())
}

/// The case's referrals, each carrying the case's number and title (read from the case
/// itself, not once per referral).
pub async fn referrals_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Vec<Referral>> {
    Ok(loaded(&loaders(ctx).referrals, case.id)
        .await?
        .into_iter()
        .map(|r| Referral::with_facts(r, case.number.clone(), case.title.clone()))
        .collect())
}

pub async fn leader_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Option<LeaderOwnership>> {
    let me = viewer(ctx)?;
    let (true, Some(id)) = (me.sight(case).staff_records, case.leader_user_id) else {
        return Ok(None);
    };
    let Some(leader) = loaders(ctx)
        .staff
        .load_one(id)
        .await
        .map_err(loader_error)?
        .flatten()
    else {
        return Ok(None);
    };
    Ok(Some(LeaderOwnership {
        name: leader.name,
        unit: load_unit(ctx, leader.unit_id).await?,
        case: case.clone(),
    }))
}

fn loaders<'a>(ctx: &Context<'a>) -> &'a super::Loaders {
    ctx.data_unchecked::<super::Loaders>()
}

// ---- inputs and payloads ---------------------------------------------------------------

#[derive(InputObject, Debug)]
pub struct DecideAcceptanceInput {
    pub case_id: ID,
    pub expected_version: i32,
    pub decision: AcceptanceDecision,
    /// Required when declining.
    pub reason: Option<String>,
    /// Required when redirecting an appeal to its legal route.
    pub legal_route: Option<LegalRoute>,
    /// Required for `DECLINE_CONCLUDED` (不再受理): the earlier case of the same matter whose
    /// conclusion (finalized, or closed after its written reply) stands.
    pub cited_case_id: Option<ID>,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct AddProgressNoteInput {
    pub case_id: ID,
    pub text: String,
    /// Internal notes are never shown to the petitioner (default true).
    #[graphql(default = true)]
    pub internal: bool,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct RequestExtensionInput {
    pub case_id: ID,
    /// 1 to 30; all extensions of a case total at most 30 days.
    pub days: i32,
    pub reason: String,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct DecideExtensionInput {
    /// The case's version as you read it; a stale one is CONFLICT.
    pub expected_version: Option<i32>,
    pub extension_id: ID,
    pub approve: bool,
    pub note: Option<String>,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct IssueReplyInput {
    pub case_id: ID,
    pub expected_version: i32,
    pub outcome: ReplyOutcome,
    /// 事实
    pub facts: String,
    /// 理由
    pub reasons: String,
    /// 依据
    pub basis: String,
    /// Handed over as it is signed: delivered now by this method (not IN_APP), and the
    /// petitioner's 30-day window starts. Otherwise record delivery later (recordDelivery).
    pub delivered_by: Option<DeliveryMethod>,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct EvaluateCaseInput {
    pub case_id: ID,
    pub satisfaction: Satisfaction,
    pub comment: Option<String>,
    /// Staff recording a call-back set this to true; petitioners leave it false.
    #[graphql(default)]
    pub on_behalf: bool,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct RequestReviewInput {
    /// The case's version as you read it; a stale one is CONFLICT.
    pub expected_version: Option<i32>,
    pub case_id: ID,
    pub reason: String,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct DecideReviewInput {
    pub case_id: ID,
    pub expected_version: i32,
    pub decision: ReviewDecision,
    pub text: String,
    /// Required with CHANGE: REPLACE the decision below with this one, or REDO — quash the
    /// reply and send the case back to the lead unit for a new one (review stage only).
    pub change: Option<ChangeMode>,
    /// Required exactly when the review is decided above the county (`Review.aboveCounty`):
    /// the bureau records that body's decision from its document.
    pub higher_body: Option<HigherDecisionInput>,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

/// A decision by a body above the county, from its document.
#[derive(InputObject, Debug)]
pub struct HigherDecisionInput {
    /// The body, e.g. 邢台市人民政府.
    pub name: String,
    pub level: HigherLevel,
    /// 文号, e.g. 邢政复〔2026〕12号.
    pub document_number: String,
    /// The date on the decision, `YYYY-MM-DD` (between the request and today).
    pub decided_on: String,
}

#[derive(InputObject, Debug)]
pub struct RecordDeliveryInput {
    pub case_id: ID,
    /// The case's version as you read it; a stale one is CONFLICT.
    pub expected_version: Option<i32>,
    /// How it reached the petitioner. A petitioner records IN_APP (by opening it); staff any
    /// other method.
    pub method: DeliveryMethod,
    /// When it reached them (default: now); not before it was issued, not in the future.
    pub delivered_at: Option<Instant>,
    /// Required for POST: the tracking number. For EMAIL or SMS_LINK, where it went.
    pub tracking_number: Option<String>,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct ReportToHigherBodyInput {
    pub case_id: ID,
    pub expected_version: i32,
    /// 办结报告 — the result as reported to the higher body.
    pub text: String,
    /// Retries with the same key return the case as the first call left it.
    pub idempotency_key: Option<String>,
}

/// A higher body named by its name and level.
#[derive(InputObject, Debug)]
pub struct HigherBodyInput {
    pub name: String,
    pub level: HigherLevel,
}

#[derive(InputObject, Debug)]
pub struct SendUpwardInput {
    pub case_id: ID,
    pub expected_version: i32,
    /// Where it goes outside this deployment, e.g. 邢台市纪委监委 (CITY). Give this or
    /// `toUnitId`.
    pub higher_body: Option<HigherBodyInput>,
    /// In a deployment that holds the city: the city unit above the county, which then
    /// leads the matter. Give this or `higherBody`.
    pub to_unit_id: Option<ID>,
    /// Why the matter is outside the county's remit.
    pub reason: String,
    /// Retries with the same key return the record the first call made.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct IssueSupervisionInput {
    pub case_id: ID,
    pub text: String,
    pub due_at: Instant,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct AnswerSupervisionInput {
    pub supervision_id: ID,
    pub text: String,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct TakeLeaderOwnershipInput {
    pub case_id: ID,
    /// 包案方案 — recorded with the ownership.
    pub plan: super::ownership::OwnershipPlanInput,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct CloseCaseInput {
    pub case_id: ID,
    pub expected_version: i32,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct AddAssistingUnitInput {
    pub case_id: ID,
    pub unit_id: ID,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct AddAssistingOpinionInput {
    pub case_id: ID,
    pub text: String,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct FileCompletionReportInput {
    /// The case's version as you read it; a stale one is CONFLICT.
    pub expected_version: Option<i32>,
    pub case_id: ID,
    pub text: String,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct DecideCompletionReportInput {
    /// The case's version as you read it; a stale one is CONFLICT.
    pub expected_version: Option<i32>,
    pub report_id: ID,
    pub approve: bool,
    pub note: Option<String>,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct TransferCaseInput {
    pub case_id: ID,
    pub expected_version: i32,
    pub to_unit_id: ID,
    pub mode: ReferralMode,
    pub reason: String,
    /// For ASSIGN: when the completion report is due (default: 60 days).
    pub report_due_at: Option<Instant>,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct AcknowledgeReferralInput {
    pub referral_id: ID,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct ObjectReferralInput {
    pub referral_id: ID,
    /// Why the case is not this unit's (within 5 working days of arrival).
    pub reason: String,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct ResolveObjectionInput {
    /// The case's version as you read it; a stale one is CONFLICT.
    pub expected_version: Option<i32>,
    pub referral_id: ID,
    /// true: the case returns to the sender; false: the receiver keeps it.
    pub approve: bool,
    pub note: Option<String>,
    /// Retries with the same key (after a lost answer on a flaky network) return the record
    /// and the case as the first call left them, instead of a refusal; the same key with
    /// another request is CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct ReferralActionPayload {
    pub referral: Referral,
}

/// A page of referrals.
#[derive(SimpleObject)]
pub struct ReferralConnection {
    pub nodes: Vec<Referral>,
    pub page_info: super::PageInfo,
    pub total_count: u64,
}

#[derive(InputObject)]
pub struct CalendarDayInput {
    /// `YYYY-MM-DD`
    pub date: String,
    /// true: a working day (调休 make-up day); false: a holiday.
    pub working: bool,
    #[graphql(default)]
    pub note: String,
}

#[derive(InputObject)]
pub struct SetCalendarDaysInput {
    pub days: Vec<CalendarDayInput>,
}

#[derive(SimpleObject)]
pub struct CaseActionPayload {
    /// The case after the action.
    pub case: Case,
}

#[derive(SimpleObject)]
pub struct ExtensionPayload {
    pub extension: Extension,
    pub case: Case,
}

#[derive(SimpleObject)]
pub struct SupervisionPayload {
    pub supervision: Supervision,
    pub case: Case,
}

#[derive(SimpleObject)]
pub struct CompletionReportPayload {
    pub report: CompletionReport,
    pub case: Case,
}

#[derive(SimpleObject)]
pub struct ReferralPayload {
    pub referral: Referral,
    /// The case, when the acting unit may still see it after handing it on.
    pub case: Option<Case>,
}

/// 节假日设置 — one exception to the weekend rule.
#[derive(SimpleObject)]
pub struct CalendarDay {
    pub date: String,
    pub working: bool,
    pub note: String,
}

impl From<county_calendar::CalendarDay> for CalendarDay {
    fn from(d: county_calendar::CalendarDay) -> Self {
        CalendarDay {
            date: d.date.to_string(),
            working: d.working,
            note: d.note,
        }
    }
}

#[derive(SimpleObject)]
pub struct CalendarPayload {
    pub days: Vec<CalendarDay>,
}

/// 审计校验 — the result of re-computing a case's hash chain.
#[derive(SimpleObject)]
pub struct AuditIntegrity {
    /// Every entry is unchanged and none is missing.
    pub intact: bool,
    pub entries: i32,
    /// The first entry whose link or content does not check out.
    pub broken_at_seq: Option<i32>,
    pub reason: Option<String>,
}

/// 分类处理 — corrects a case's classification. Fields left out stay as they are; an explicit
/// null clears the township or the accused unit.
#[derive(InputObject, Debug)]
pub struct ReclassifyCaseInput {
    pub case_id: ID,
    pub expected_version: i32,
    /// 信访事项类别 — leaving ACCUSATION clears the accused unit.
    pub category: Option<Category>,
    /// 事项分类 — a subject code from `subjects`.
    pub subject: Option<String>,
    /// 属地 — the township the matter arises in; null for a county-wide matter.
    pub township_id: MaybeUndefined<ID>,
    /// 被反映单位 — for accusations: naming it takes the case out of that unit's sight (and
    /// its sub-units') at once, on every path.
    pub accused_unit_id: MaybeUndefined<ID>,
    /// 理由 — why, for the record.
    pub reason: String,
    /// Retries with the same key (after a lost answer on a flaky network) return the case as
    /// the first call left it, instead of a refusal; the same key with another request is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct LinkRepeatInput {
    /// The later case, which repeats the earlier one.
    pub case_id: ID,
    pub expected_version: i32,
    /// The earlier case, received before it.
    pub earlier_case_id: ID,
    /// 理由 — why the two are one matter, for the record.
    pub reason: String,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct UndoRepeatInput {
    pub case_id: ID,
    pub expected_version: i32,
    /// 理由 — why the link was wrong, for the record.
    pub reason: String,
    pub idempotency_key: Option<String>,
}

fn maybe_id(kind: &str, field: &str, value: &MaybeUndefined<ID>) -> Result<Option<Option<i64>>> {
    Ok(match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(id) => Some(Some(input_id(kind, field, id)?)),
    })
}

fn case_payload(case: CaseRecord) -> CaseActionPayload {
    CaseActionPayload { case: Case(case) }
}

#[derive(Default)]
pub struct WorkflowMutation;

#[Object]
impl WorkflowMutation {
    /// 受理告知 — accept, decline or redirect. STAFF/LEADER of the lead unit.
    async fn decide_acceptance(
        &self,
        ctx: &Context<'_>,
        input: DecideAcceptanceInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(
            ctx,
            "decideAcceptance",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let a = AcceptanceInput {
            decision: input.decision,
            reason: input.reason,
            legal_route: input.legal_route,
            cited_case_id: input
                .cited_case_id
                .as_ref()
                .map(|id| input_id("Case", "citedCaseId", id))
                .transpose()?,
        };
        replay_or(
            ctx,
            &c,
            workflow::decide_acceptance(&c, id, input.expected_version, a).await,
        )
        .await
    }

    /// 办理情况 — a progress note. STAFF/LEADER of the lead unit.
    async fn add_progress_note(
        &self,
        ctx: &Context<'_>,
        input: AddProgressNoteInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(
            ctx,
            "addProgressNote",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        replay_or(
            ctx,
            &c,
            workflow::add_progress_note(&c, id, &input.text, input.internal).await,
        )
        .await
    }

    /// 申请延期 — STAFF/LEADER of the lead unit, before the handling deadline.
    async fn request_extension(
        &self,
        ctx: &Context<'_>,
        input: RequestExtensionInput,
    ) -> GqlResult<ExtensionPayload> {
        let c = keyed_caller(
            ctx,
            "requestExtension",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let done = workflow::request_extension(&c, id, input.days, &input.reason).await;
        match outcome(&c, done).await? {
            Outcome::Done(created) => Ok(ExtensionPayload {
                extension: Extension(created),
                case: visible(ctx, id).await?.ok_or(AppError::NotFound("case"))?,
            }),
            Outcome::Replayed { record_id, .. } => {
                replayed_extension(ctx, replayed_record(record_id)?).await
            }
        }
    }

    /// 审批延期 — a LEADER of the lead unit other than the requester.
    async fn decide_extension(
        &self,
        ctx: &Context<'_>,
        input: DecideExtensionInput,
    ) -> GqlResult<ExtensionPayload> {
        let c = keyed_caller(
            ctx,
            "decideExtension",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Extension", "extensionId", &input.extension_id)?;
        let done = workflow::decide_extension(
            &c,
            id,
            input.expected_version,
            input.approve,
            input.note.as_deref(),
        )
        .await;
        match outcome(&c, done).await? {
            Outcome::Done((decided, case)) => Ok(ExtensionPayload {
                extension: Extension(decided),
                case: Case(case),
            }),
            Outcome::Replayed { record_id, .. } => {
                replayed_extension(ctx, replayed_record(record_id)?).await
            }
        }
    }

    /// 出具处理意见书 — LEADER of the lead unit.
    async fn issue_reply(
        &self,
        ctx: &Context<'_>,
        input: IssueReplyInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "issueReply", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let r = ReplyInput {
            outcome: input.outcome,
            facts: input.facts,
            reasons: input.reasons,
            basis: input.basis,
            delivered_by: input.delivered_by,
        };
        replay_or(
            ctx,
            &c,
            workflow::issue_reply(&c, id, input.expected_version, r).await,
        )
        .await
    }

    /// 满意度评价 — once per reply, after its delivery and within the review window.
    async fn evaluate_case(
        &self,
        ctx: &Context<'_>,
        input: EvaluateCaseInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "evaluateCase", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let case = workflow::evaluate(
            &c,
            id,
            input.satisfaction,
            input.comment.as_deref(),
            input.on_behalf,
        )
        .await;
        replay_or(ctx, &c, case).await
    }

    /// 申请复查/复核 — the case's stage decides which.
    async fn request_review(
        &self,
        ctx: &Context<'_>,
        input: RequestReviewInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "requestReview", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        replay_or(
            ctx,
            &c,
            reviews::request_review(&c, id, input.expected_version, &input.reason).await,
        )
        .await
    }

    /// 复查/复核决定 — STAFF/LEADER of the reviewing body.
    async fn decide_review(
        &self,
        ctx: &Context<'_>,
        input: DecideReviewInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "decideReview", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        replay_or(
            ctx,
            &c,
            reviews::decide_review(
                &c,
                id,
                input.expected_version,
                ReviewDecisionInput {
                    decision: input.decision,
                    text: input.text,
                    change: input.change,
                    higher: input
                        .higher_body
                        .map(|h| -> Result<HigherDecision> {
                            Ok(HigherDecision {
                                decided_on: county_calendar::parse_date(
                                    "higherBody.decidedOn",
                                    &h.decided_on,
                                )?,
                                body_name: h.name,
                                level: h.level,
                                document_number: h.document_number,
                            })
                        })
                        .transpose()?,
                },
            )
            .await,
        )
        .await
    }

    /// 办结报告 (上级交办) — the lead unit or the bureau reports the result back to the higher
    /// body that assigned the case; once, after acceptance ended it or a reply was issued.
    async fn report_to_higher_body(
        &self,
        ctx: &Context<'_>,
        input: ReportToHigherBodyInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(
            ctx,
            "reportToHigherBody",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        replay_or(
            ctx,
            &c,
            crate::higher::report_to_higher_body(&c, id, input.expected_version, &input.text).await,
        )
        .await
    }

    /// 上报 — the petition bureau sends an open matter up to a higher body with the reason.
    /// The county keeps the record (`sentUpward`) and no longer sees the case.
    async fn send_upward(
        &self,
        ctx: &Context<'_>,
        input: SendUpwardInput,
    ) -> GqlResult<super::higher::SendUpwardPayload> {
        let c = keyed_caller(ctx, "sendUpward", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let target = match (input.higher_body, &input.to_unit_id) {
            (Some(body), None) => crate::higher::UpwardTarget::Outside {
                name: body.name,
                level: body.level,
            },
            (None, Some(unit)) => {
                crate::higher::UpwardTarget::City(input_id("OrgUnit", "toUnitId", unit)?)
            }
            _ => {
                return Err(crate::error::bad_input(
                    "higherBody",
                    "name either a body outside this deployment (higherBody) or the city unit above the county (toUnitId)",
                )
                .into());
            }
        };
        let done =
            crate::higher::send_upward(&c, id, input.expected_version, target, &input.reason).await;
        let referral_id = match outcome(&c, done).await? {
            Outcome::Done(row) => row.id,
            Outcome::Replayed { record_id, .. } => replayed_record(record_id)?,
        };
        let sent = crate::higher::sent_up_one(&state(ctx).db, viewer(ctx)?, referral_id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
        Ok(super::higher::SendUpwardPayload {
            sent: super::higher::SentUpward(sent),
        })
    }

    /// 送达 — the written decision waiting for delivery (reply, review decision) reached the
    /// petitioner; their 30-day window runs from then.
    async fn record_delivery(
        &self,
        ctx: &Context<'_>,
        input: RecordDeliveryInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "recordDelivery", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let delivery = Delivery {
            method: input.method,
            delivered_at: input.delivered_at.map(|i| i.0),
            tracking: input.tracking_number.clone(),
            document_id: None,
        };
        replay_or(
            ctx,
            &c,
            reviews::record_delivery(&c, id, input.expected_version, delivery).await,
        )
        .await
    }

    /// 督办 — the petition bureau.
    async fn issue_supervision(
        &self,
        ctx: &Context<'_>,
        input: IssueSupervisionInput,
    ) -> GqlResult<SupervisionPayload> {
        let c = keyed_caller(
            ctx,
            "issueSupervision",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let done = workflow::issue_supervision(&c, id, &input.text, input.due_at.0).await;
        match outcome(&c, done).await? {
            Outcome::Done(created) => Ok(SupervisionPayload {
                supervision: Supervision(created),
                case: visible(ctx, id).await?.ok_or(AppError::NotFound("case"))?,
            }),
            Outcome::Replayed { record_id, .. } => {
                replayed_supervision(ctx, replayed_record(record_id)?).await
            }
        }
    }

    /// 督办回复 — the lead unit answers a supervision order.
    async fn answer_supervision(
        &self,
        ctx: &Context<'_>,
        input: AnswerSupervisionInput,
    ) -> GqlResult<SupervisionPayload> {
        let c = keyed_caller(
            ctx,
            "answerSupervision",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Supervision", "supervisionId", &input.supervision_id)?;
        let done = workflow::answer_supervision(&c, id, &input.text).await;
        match outcome(&c, done).await? {
            Outcome::Done(answered) => Ok(SupervisionPayload {
                case: visible(ctx, answered.case_id)
                    .await?
                    .ok_or(AppError::NotFound("case"))?,
                supervision: Supervision(answered),
            }),
            Outcome::Replayed { record_id, .. } => {
                replayed_supervision(ctx, replayed_record(record_id)?).await
            }
        }
    }

    /// 领导包案 — a LEADER of the lead unit or of the county, with the plan: who coordinates,
    /// supervises, carries out and keeps contact with the petitioner, the goal, by when.
    async fn take_leader_ownership(
        &self,
        ctx: &Context<'_>,
        input: TakeLeaderOwnershipInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(
            ctx,
            "takeLeaderOwnership",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let taken = crate::ownership::take(&c, id, input.plan.into_new())
            .await
            .map(|(_, case)| case);
        replay_or(ctx, &c, taken).await
    }

    /// 确认重复信访 — the bureau or the lead unit confirms that the case repeats an earlier one
    /// (a proposal from `Case.repeatLinks`, or a case named by hand), with a reason. The case,
    /// and whatever already followed it, joins the earlier case's matter.
    async fn link_repeat(
        &self,
        ctx: &Context<'_>,
        input: LinkRepeatInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "linkRepeat", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let earlier = input_id("Case", "earlierCaseId", &input.earlier_case_id)?;
        replay_or(
            ctx,
            &c,
            crate::matters::link(&c, id, earlier, input.expected_version, &input.reason).await,
        )
        .await
    }

    /// 撤销重复信访关联 — the bureau or the lead unit undoes a confirmed link, with a reason;
    /// the case (and whatever followed it) becomes a matter of its own.
    async fn undo_repeat(
        &self,
        ctx: &Context<'_>,
        input: UndoRepeatInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "undoRepeat", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        replay_or(
            ctx,
            &c,
            crate::matters::undo(&c, id, input.expected_version, &input.reason).await,
        )
        .await
    }

    /// 分类处理 — the petition bureau (before the case ends) or the lead unit (before
    /// acceptance) corrects category, subject, township and accused unit, with a reason.
    async fn reclassify_case(
        &self,
        ctx: &Context<'_>,
        input: ReclassifyCaseInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "reclassifyCase", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let change = workflow::ReclassifyInput {
            category: input.category,
            subject: input.subject,
            township_id: maybe_id("OrgUnit", "townshipId", &input.township_id)?,
            accused_unit_id: maybe_id("OrgUnit", "accusedUnitId", &input.accused_unit_id)?,
            reason: input.reason,
        };
        replay_or(
            ctx,
            &c,
            workflow::reclassify(&c, id, input.expected_version, change).await,
        )
        .await
    }

    /// 办结 — when the review window has lapsed or the petitioner is satisfied.
    async fn close_case(
        &self,
        ctx: &Context<'_>,
        input: CloseCaseInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(ctx, "closeCase", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        replay_or(
            ctx,
            &c,
            workflow::close_case(&c, id, input.expected_version).await,
        )
        .await
    }

    /// 增加协办单位 — the lead unit or the petition bureau.
    async fn add_assisting_unit(
        &self,
        ctx: &Context<'_>,
        input: AddAssistingUnitInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(
            ctx,
            "addAssistingUnit",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let unit = input_id("OrgUnit", "unitId", &input.unit_id)?;
        replay_or(ctx, &c, workflow::add_assisting_unit(&c, id, unit).await).await
    }

    /// 协办意见 — an assisting unit's opinion (never shown to the petitioner).
    async fn add_assisting_opinion(
        &self,
        ctx: &Context<'_>,
        input: AddAssistingOpinionInput,
    ) -> GqlResult<CaseActionPayload> {
        let c = keyed_caller(
            ctx,
            "addAssistingOpinion",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        replay_or(
            ctx,
            &c,
            workflow::add_assisting_opinion(&c, id, &input.text).await,
        )
        .await
    }

    /// 办结报告 — the lead unit of an assigned case reports completion.
    async fn file_completion_report(
        &self,
        ctx: &Context<'_>,
        input: FileCompletionReportInput,
    ) -> GqlResult<CompletionReportPayload> {
        let c = keyed_caller(
            ctx,
            "fileCompletionReport",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let done =
            workflow::file_completion_report(&c, id, input.expected_version, &input.text).await;
        match outcome(&c, done).await? {
            Outcome::Done(report) => Ok(CompletionReportPayload {
                report: CompletionReport(report),
                case: visible(ctx, id).await?.ok_or(AppError::NotFound("case"))?,
            }),
            Outcome::Replayed { record_id, .. } => {
                replayed_report(ctx, replayed_record(record_id)?).await
            }
        }
    }

    /// 审核办结报告 — the petition bureau approves or returns a completion report.
    async fn decide_completion_report(
        &self,
        ctx: &Context<'_>,
        input: DecideCompletionReportInput,
    ) -> GqlResult<CompletionReportPayload> {
        let c = keyed_caller(
            ctx,
            "decideCompletionReport",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("CompletionReport", "reportId", &input.report_id)?;
        let done = workflow::decide_completion_report(
            &c,
            id,
            input.expected_version,
            input.approve,
            input.note.as_deref(),
        )
        .await;
        match outcome(&c, done).await? {
            Outcome::Done((report, case)) => Ok(CompletionReportPayload {
                report: CompletionReport(report),
                case: Case(case),
            }),
            Outcome::Replayed { record_id, .. } => {
                replayed_report(ctx, replayed_record(record_id)?).await
            }
        }
    }

    /// 转送/交办 — the lead unit, or the petition bureau, hands the case on.
    async fn transfer_case(
        &self,
        ctx: &Context<'_>,
        input: TransferCaseInput,
    ) -> GqlResult<ReferralPayload> {
        let c = keyed_caller(ctx, "transferCase", input.idempotency_key.clone(), &input)?;
        let id = input_id("Case", "caseId", &input.case_id)?;
        let t = TransferInput {
            to_unit_id: input_id("OrgUnit", "toUnitId", &input.to_unit_id)?,
            mode: input.mode,
            reason: input.reason,
            report_due_at: input.report_due_at.map(|t| t.0),
        };
        let done = crate::referrals::transfer(&c, id, input.expected_version, t).await;
        let created = match outcome(&c, done).await? {
            Outcome::Done((created, _)) => created,
            Outcome::Replayed { record_id, .. } => {
                replayed_referral(ctx, replayed_record(record_id)?).await?
            }
        };
        Ok(ReferralPayload {
            case: visible(ctx, created.case_id).await?,
            referral: Referral::new(created),
        })
    }

    /// 签收 — the receiving unit acknowledges a referral.
    async fn acknowledge_referral(
        &self,
        ctx: &Context<'_>,
        input: AcknowledgeReferralInput,
    ) -> GqlResult<ReferralActionPayload> {
        let c = keyed_caller(
            ctx,
            "acknowledgeReferral",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Referral", "referralId", &input.referral_id)?;
        let done = crate::referrals::acknowledge_referral(&c, id).await;
        referral_action(ctx, &c, done).await
    }

    /// 异议 — the receiving unit objects to a misrouted referral (5 working days).
    async fn object_referral(
        &self,
        ctx: &Context<'_>,
        input: ObjectReferralInput,
    ) -> GqlResult<ReferralActionPayload> {
        let c = keyed_caller(ctx, "objectReferral", input.idempotency_key.clone(), &input)?;
        let id = input_id("Referral", "referralId", &input.referral_id)?;
        let done = crate::referrals::object_referral(&c, id, &input.reason).await;
        referral_action(ctx, &c, done).await
    }

    /// 异议处理 — the sending unit or the petition bureau approves or overrules an objection.
    async fn resolve_objection(
        &self,
        ctx: &Context<'_>,
        input: ResolveObjectionInput,
    ) -> GqlResult<ReferralActionPayload> {
        let c = keyed_caller(
            ctx,
            "resolveObjection",
            input.idempotency_key.clone(),
            &input,
        )?;
        let id = input_id("Referral", "referralId", &input.referral_id)?;
        let done = crate::referrals::resolve_objection(
            &c,
            id,
            input.expected_version,
            input.approve,
            input.note.as_deref(),
        )
        .await;
        referral_action(ctx, &c, done).await
    }

    /// 节假日设置 — holidays and make-up working days of the administrator's county.
    async fn set_calendar_days(
        &self,
        ctx: &Context<'_>,
        input: SetCalendarDaysInput,
    ) -> GqlResult<CalendarPayload> {
        let me = viewer(ctx)?;
        let days = input
            .days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Ok(county_calendar::CalendarDay {
                    date: county_calendar::parse_date(&format!("days[{i}].date"), &d.date)?,
                    working: d.working,
                    note: d.note.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let set = county_calendar::set_days(
            &state(ctx).db,
            &state(ctx).directory,
            &state(ctx).clock,
            me,
            days,
        )
        .await?;
        Ok(CalendarPayload {
            days: set.into_iter().map(CalendarDay::from).collect(),
        })
    }
}

#[derive(Default)]
pub struct WorkflowQuery;

#[Object]
impl WorkflowQuery {
    /// 审计校验 — re-computes a case's hash chain. The petition bureau only.
    async fn audit_integrity(&self, ctx: &Context<'_>, case_id: ID) -> GqlResult<AuditIntegrity> {
        let me = viewer(ctx)?;
        let Some(id) = super::lookup_id("Case", &case_id) else {
            return Err(AppError::NotFound("case").into());
        };
        let checked = crate::records::check_visible_case(&state(ctx).db, me, id).await?;
        Ok(AuditIntegrity {
            intact: checked.broken.is_none(),
            entries: checked.entries,
            broken_at_seq: checked.broken.as_ref().map(|b| b.seq),
            reason: checked.broken.map(|b| b.reason),
        })
    }

    /// 已转出 — referrals the viewer's unit sent, newest first; still listed after the case
    /// has left the unit's sight.
    #[graphql(complexity = "super::cost::list(first, child_complexity)")]
    async fn referrals_sent(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<ReferralStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ReferralConnection> {
        referral_page(ctx, false, status, first, after).await
    }

    /// 待签收/已收到 — referrals the viewer's unit received, newest first.
    #[graphql(complexity = "super::cost::list(first, child_complexity)")]
    async fn referrals_received(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<ReferralStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ReferralConnection> {
        referral_page(ctx, true, status, first, after).await
    }

    /// 节假日 — the calendar exceptions of the viewer's county, between two dates.
    async fn calendar_days(
        &self,
        ctx: &Context<'_>,
        from: String,
        to: String,
    ) -> GqlResult<Vec<CalendarDay>> {
        let me = viewer(ctx)?;
        let from = county_calendar::parse_date("from", &from)?;
        let to = county_calendar::parse_date("to", &to)?;
        let days = county_calendar::days_between(&state(ctx).db, me, from, to).await?;
        Ok(days.into_iter().map(CalendarDay::from).collect())
    }
}

async fn referral_page(
    ctx: &Context<'_>,
    received: bool,
    status: Option<Vec<ReferralStatus>>,
    first: Option<i32>,
    after: Option<String>,
) -> GqlResult<ReferralConnection> {
    let me = viewer(ctx)?;
    me.handling_unit()?;
    let statuses: Vec<&'static str> = status
        .unwrap_or_default()
        .iter()
        .map(|s| s.as_str())
        .collect();
    let offset = super::offset_of(after.as_deref())?;
    let (rows, total) = crate::referrals::referral_list(
        &state(ctx).db,
        me,
        received,
        &statuses,
        offset,
        super::page_size(first),
    )
    .await?;
    // What the rows will ask for, in one statement per kind: their units, and their cases
    // (as far as the viewer sees them) with whatever the selection reads of those.
    let loaders = loaders(ctx);
    let (_, cases) = futures_util::try_join!(
        loaders.units.load_many(
            rows.iter()
                .flat_map(|(r, _, _)| [r.from_unit_id, r.to_unit_id])
        ),
        loaders
            .visible_cases
            .load_many(rows.iter().map(|(r, _, _)| r.case_id))
    )
    .map_err(loader_error)?;
    let seen: Vec<CaseRecord> = cases.into_values().flatten().collect();
    super::cases::prefetch_for(ctx, &seen, ctx.look_ahead().field("nodes").field("case")).await?;
    Ok(ReferralConnection {
        page_info: super::offset_page_info(offset, rows.len(), total),
        total_count: total,
        nodes: rows
            .into_iter()
            .map(|(r, number, title)| Referral::with_facts(r, number, title))
            .collect(),
    })
}
