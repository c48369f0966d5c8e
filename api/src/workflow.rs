//! The statutory life of a case (domain §3–§4): which action each state allows, the
//! deadlines each action sets, and every transition as one transaction — check, change,
//! timeline entry — or nothing.
//!
//! Every action goes through [`open`]: the case is loaded through the viewer's scope (so an
//! invisible case is `NOT_FOUND`) and locked; the access module says whether the viewer's unit
//! and role may act (`FORBIDDEN`); a stale `expectedVersion` is `CONFLICT`; the state table
//! says whether the state allows it (`INVALID_TRANSITION`). [`save`] then writes the change
//! with `version = version + 1 … WHERE version = <read>` and appends the timeline entry.

use crate::access::{Capabilities, PersonalData, Viewer};
use crate::audit::{self, Actor};
use crate::calendar::WorkCalendar;
use crate::cases::{self, add_relation, work_calendar};
use crate::clock::Clock;
use crate::db;
use crate::documents;
use crate::domain::{
    AcceptanceDecision, Action, ApprovalStatus, CaseStatus, Category, DeadlineKind, DeliveryMethod,
    LegalRoute, OrgUnitKind, ReplyOutcome, Satisfaction, UnitRelation,
};
use crate::error::{AppError, Result, bad_input, conflict, forbidden};
use crate::events::{Bus, Event, InboxKind};
use crate::identity::find_unit;
use crate::validate;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use xinfang_entity::{
    case, case_unit, completion_report, evaluation, extension, org_unit, reply, supervision,
};

pub use crate::deadlines::{
    ACCEPTANCE_DAYS, HANDLING_DAYS, MAX_EXTENSION_DAYS, OBJECTION_WORKING_DAYS, REVIEW_DAYS,
};
pub const TEXT_MAX: usize = 5_000;

/// Whether a case's state allows an action now (the "when"; the "who" is
/// [`Viewer::may`]). Conditions beyond the state that belong to the state machine (an
/// assigned case replies only after its report is approved) are here too.
pub fn state_allows(case: &case::Model, status: CaseStatus, action: Action) -> bool {
    let assignment_open = case.assignment_id.is_some() && !case.report_approved;
    let allowed = state_table(status, assignment_open, action);
    if case.clock_paused_at.is_some() {
        allowed && paused_allows(action)
    } else {
        allowed && !ends_a_hearing(action)
    }
}

/// What a case whose decision clock a hearing holds still allows: everything except what
/// would stop, restart or move that clock — the decision waits for the hearing's outcome.
fn paused_allows(action: Action) -> bool {
    !matches!(
        action,
        Action::Transfer
            | Action::DecideAcceptance
            | Action::RequestExtension
            | Action::DecideExtension
            | Action::Reply
            | Action::FileCompletionReport
            | Action::DecideCompletionReport
            | Action::DecideReview
            | Action::Close
            | Action::SendUpward
            | Action::RequestReview
            | Action::ScheduleHearing
    )
}

/// The actions that end a hearing, allowed only while one holds the clock.
fn ends_a_hearing(action: Action) -> bool {
    matches!(action, Action::ConcludeHearing | Action::CancelHearing)
}

/// The state table itself: whether `action` is allowed in `status`, given whether an
/// assignment's completion report is still owed. The seed generator's simulated lives are
/// checked against it.
pub fn state_table(status: CaseStatus, assignment_open: bool, action: Action) -> bool {
    use CaseStatus::*;
    match action {
        Action::Transfer | Action::AddAssistingUnit => matches!(status, Registered | InProgress),
        Action::DecideAcceptance => status == Registered,
        Action::AddProgressNote | Action::AddAssistingOpinion => {
            matches!(status, InProgress | Reported)
        }
        Action::RequestExtension | Action::DecideExtension => status == InProgress,
        Action::Reply => status == InProgress && !assignment_open,
        Action::FileCompletionReport => status == InProgress && assignment_open,
        Action::DecideCompletionReport => status == Reported,
        Action::IssueSupervision => matches!(status, Registered | InProgress | Reported),
        Action::AnswerSupervision | Action::TakeLeaderOwnership => status.is_open(),
        Action::Evaluate => status == Replied,
        Action::RequestReview => matches!(status, Replied | Reviewed),
        Action::DecideReview => matches!(status, UnderReview | UnderReReview),
        Action::Close => matches!(status, Replied | Reviewed),
        // The written decision waiting for delivery: a reply, a review decision (also one
        // that sent the case back for a new reply), a re-review decision.
        Action::RecordDelivery => matches!(status, Replied | Reviewed | Finalized | InProgress),
        // The result of an assignment from above: once acceptance ended it, or a reply exists.
        Action::ReportToHigherBody => !matches!(status, Registered | InProgress | Reported),
        // Before a written decision exists: after one, the review chain runs its course here.
        Action::SendUpward => matches!(status, Registered | InProgress | Reported),
        Action::Reclassify => status.is_open(),
        // A code exists once the case was accepted.
        Action::ReissueQueryCode => !matches!(status, Registered | NotAccepted),
        Action::AttachFile => crate::attachments::state_takes_files(status),
        // A leader instructs on a case still being worked; the report back may come later.
        Action::GiveInstruction => status.is_open(),
        Action::ReportOnInstruction => true,
        // A hearing pauses a running decision clock; the state table is asked only while no
        // hearing holds it (see `state_allows`).
        Action::ScheduleHearing => DeadlineKind::of_status(status).is_some(),
        // Only while a hearing holds the clock (see `state_allows`).
        Action::ConcludeHearing | Action::CancelHearing => {
            DeadlineKind::of_status(status).is_some()
        }
        // Progress on an ownership plan may be recorded at any point of the case's life.
        Action::RecordOwnershipProgress => true,
        Action::AddHotlineTicket => status.is_open(),
        // A repeat may be recognised, or a link corrected, at any point of a case's life.
        Action::LinkRepeat | Action::UndoRepeat => true,
    }
}

pub(crate) fn invalid(case: &case::Model, action: Action, why: Option<&str>) -> AppError {
    AppError::InvalidTransition {
        status: case.status.as_str().to_string(),
        action: action.name().into(),
        why: why.map(str::to_owned),
    }
}

/// What the viewer may do to a case now: the access module's "who" and the state table's
/// "when", plus the windows that are already known to have closed — from the viewer's unit's
/// relations to the case and the case's evaluation, if any (a list loads both for all its
/// rows at once).
pub fn capabilities_given(
    viewer: &Viewer,
    case: &case::Model,
    relations: &[UnitRelation],
    evaluated: Option<&evaluation::Model>,
    now: DateTime<Utc>,
) -> Result<Capabilities> {
    let status = case.status;
    let can = |action| allows(viewer, case, relations, action);
    let window_open = case.review_request_by.is_some_and(|by| now <= by);
    let satisfied = satisfied_with_standing_reply(case, evaluated);
    Ok(Capabilities {
        transfer: can(Action::Transfer),
        decide_acceptance: can(Action::DecideAcceptance),
        add_progress_note: can(Action::AddProgressNote),
        request_extension: can(Action::RequestExtension)
            && case.extension_days < MAX_EXTENSION_DAYS
            && case.handle_by.is_none_or(|by| now <= by),
        // Whether a request waits, and whose it is, is read with the extensions
        // ([`with_extensions`]).
        decide_extension: can(Action::DecideExtension),
        reply: can(Action::Reply),
        add_assisting_unit: can(Action::AddAssistingUnit),
        add_assisting_opinion: can(Action::AddAssistingOpinion),
        issue_supervision: can(Action::IssueSupervision),
        answer_supervision: can(Action::AnswerSupervision),
        file_completion_report: can(Action::FileCompletionReport),
        decide_completion_report: can(Action::DecideCompletionReport),
        take_leader_ownership: can(Action::TakeLeaderOwnership) && case.leader_user_id.is_none(),
        evaluate: can(Action::Evaluate)
            && window_open
            && !evaluated.is_some_and(|e| rates_standing_reply(case, e)),
        request_review: can(Action::RequestReview)
            && case.category == Category::Appeal
            && window_open,
        decide_review: can(Action::DecideReview),
        record_delivery: can(Action::RecordDelivery) && case.awaiting_delivery,
        report_to_higher_body: can(Action::ReportToHigherBody)
            && case.higher_report_due_at.is_some()
            && case.higher_reported_at.is_none(),
        send_upward: can(Action::SendUpward) && case.sent_up_at.is_none(),
        reissue_query_code: can(Action::ReissueQueryCode),
        attach_file: can(Action::AttachFile),
        give_instruction: can(Action::GiveInstruction),
        report_on_instruction: can(Action::ReportOnInstruction),
        schedule_hearing: can(Action::ScheduleHearing) && case.due_at.is_some_and(|d| now <= d),
        end_hearing: can(Action::ConcludeHearing),
        add_hotline_ticket: can(Action::AddHotlineTicket),
        record_ownership_progress: can(Action::RecordOwnershipProgress)
            && case.leader_user_id.is_some(),
        close: can(Action::Close)
            && !case.awaiting_delivery
            && (!window_open || (status == CaseStatus::Replied && satisfied)),
        reclassify: can(Action::Reclassify),
        link_repeat: can(Action::LinkRepeat) && case.repeat_of_id.is_none(),
        undo_repeat: can(Action::UndoRepeat) && case.repeat_of_id.is_some(),
        see_full_personal_data: viewer.sight(case).personal_data == PersonalData::Full,
    })
}

/// Whether `action` passes what [`open`] checks of the case as it stands (the viewer's unit
/// and role, the case's state, a matter sent up), before anything the action's input decides.
pub fn allows(
    viewer: &Viewer,
    case: &case::Model,
    relations: &[UnitRelation],
    action: Action,
) -> bool {
    !viewer.kept_from_sent_up(case)
        && viewer.may(case, relations, action)
        && state_allows(case, case.status, action)
}

/// The extension buttons given the case's extension requests, as `requestExtension` and
/// `decideExtension` check them: one request waits at a time, so none may be asked while one
/// does; and a decision needs one waiting that the viewer did not ask for (a leader does not
/// approve their own request).
pub fn with_extensions(viewer: &Viewer, extensions: &[extension::Model], can: &mut Capabilities) {
    let pending = || {
        extensions
            .iter()
            .filter(|e| e.status == ApprovalStatus::Pending)
    };
    can.request_extension &= pending().next().is_none();
    can.decide_extension &= pending().any(|e| e.requested_by_user_id != viewer.user_id);
}

/// The petitioner rated the reply that stands now as satisfied. An evaluation of a reply a
/// review later set aside (REDO) says nothing about the new one.
fn satisfied_with_standing_reply(
    case: &case::Model,
    evaluated: Option<&evaluation::Model>,
) -> bool {
    evaluated.is_some_and(|e| {
        e.satisfaction != Satisfaction::Dissatisfied && rates_standing_reply(case, e)
    })
}

/// The rating was given to the reply that stands now (not to one a review set aside).
fn rates_standing_reply(case: &case::Model, e: &evaluation::Model) -> bool {
    case.replied_at.is_some_and(|r| e.at >= r)
}

/// The caller of a workflow action.
pub struct Caller<'a> {
    pub db: &'a DatabaseConnection,
    pub clock: &'a Clock,
    pub viewer: &'a Viewer,
    pub bus: &'a Bus,
    /// The client's idempotency key for this action, if it sent one.
    pub idempotency: Option<Idempotency>,
}

/// A client's idempotency key for an action, with what identifies the request it came with:
/// a retry with the same key and request is answered as the first call was; the same key with
/// another request is `CONFLICT`.
#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: String,
    pub operation: &'static str,
    pub request_hash: String,
}

/// A case opened for an action: locked, checked, inside its transaction.
pub(crate) struct Open {
    pub(crate) tx: DatabaseTransaction,
    pub(crate) case: case::Model,
    pub(crate) now: DateTime<Utc>,
    pub(crate) actor: Actor,
    pub(crate) calendar: WorkCalendar,
    pub(crate) bus: Bus,
    /// Whose inbox the resulting event belongs in, if anyone's.
    pub(crate) inbox: Option<(i64, InboxKind, Option<i64>)>,
    /// The key to record with the change, and whose it is.
    pub(crate) idempotency: Option<(i64, Idempotency)>,
    /// The record the action created or decided, remembered with the key.
    pub(crate) record: Option<i64>,
}

pub(crate) async fn open(
    caller: &Caller<'_>,
    case_id: i64,
    action: Action,
    expected_version: Option<i32>,
) -> Result<Open> {
    let tx = db::begin_write(caller.db).await?;
    replayed(&tx, caller).await?;
    if matches!(
        action,
        Action::LinkRepeat | Action::UndoRepeat | Action::Reclassify
    ) {
        // These may move other cases between matters: one at a time per county.
        crate::matters::lock_county_of(&tx, case_id).await?;
    }
    let case = case::Entity::find()
        .filter(case::Column::Id.eq(case_id))
        .filter(caller.viewer.case_scope())
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    let relations = match &caller.viewer.unit {
        Some(u) => cases::relations_of(&tx, case.id, u.id).await?,
        None => vec![],
    };
    caller.viewer.require(&case, &relations, action)?;
    if let Some(v) = expected_version
        && v != case.version
    {
        return Err(conflict(format!(
            "case {} changed since you read it (version {} now, you sent {v}); reload and try again",
            case.number, case.version
        )));
    }
    if !state_allows(&case, case.status, action) {
        return Err(invalid(&case, action, None));
    }
    if caller.viewer.kept_from_sent_up(&case) {
        return Err(invalid(&case, action, Some(SENT_UP)));
    }
    finish_open(caller, tx, case).await
}

/// Why nothing is done to a matter the county sent up (the case, its records, its referrals).
pub(crate) const SENT_UP: &str =
    "the matter was sent up to a higher body; it is in that body's hands";

/// Opens a case the caller can see for a record that belongs to no workflow action (a
/// document's delivery or correction): locked, in its transaction. The caller checks who may.
pub(crate) async fn open_for_record(caller: &Caller<'_>, case_id: i64) -> Result<Open> {
    let tx = db::begin_write(caller.db).await?;
    let case = case::Entity::find()
        .filter(case::Column::Id.eq(case_id))
        .filter(caller.viewer.case_scope())
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    if caller.viewer.kept_from_sent_up(&case) {
        return Err(conflict(SENT_UP));
    }
    finish_open(caller, tx, case).await
}

/// `Replayed` when this caller's idempotency key was already used for this very request,
/// `CONFLICT` when it was used for another; nothing when it is new (or absent).
pub(crate) async fn replayed(db: &impl ConnectionTrait, caller: &Caller<'_>) -> Result<()> {
    let Some(i) = &caller.idempotency else {
        return Ok(());
    };
    validate::text("idempotencyKey", &i.key, 1, cases::IDEMPOTENCY_KEY_MAX)?;
    let found =
        xinfang_entity::idempotency_key::Entity::find_by_id((caller.viewer.user_id, i.key.clone()))
            .one(db)
            .await?;
    match found {
        Some(row) if row.operation == i.operation && row.request_hash == i.request_hash => {
            Err(AppError::Replayed {
                case_id: row.case_id,
                record_id: row.record_id,
            })
        }
        Some(_) => Err(conflict(
            "this idempotency key was already used for a different request",
        )),
        None => Ok(()),
    }
}

pub(crate) async fn finish_open(
    caller: &Caller<'_>,
    tx: DatabaseTransaction,
    case: case::Model,
) -> Result<Open> {
    let calendar = work_calendar(&tx, case.county_id).await?;
    let actor = Actor {
        user_id: Some(caller.viewer.user_id),
        unit_id: caller.viewer.unit.as_ref().map(|u| u.id),
    };
    Ok(Open {
        tx,
        case,
        now: caller.clock.now(),
        actor,
        calendar,
        bus: caller.bus.clone(),
        inbox: None,
        idempotency: caller
            .idempotency
            .clone()
            .map(|i| (caller.viewer.user_id, i)),
        record: None,
    })
}

/// Remembers the record an action created or decided with its idempotency key.
pub(crate) fn with_record(mut open: Open, record_id: i64) -> Open {
    open.record = Some(record_id);
    open
}

/// Writes the case's changes (bumping its version, guarded by the version read), appends the
/// timeline entry and commits.
pub(crate) async fn save(
    open: Open,
    mut changes: case::ActiveModel,
    action: &str,
    detail: serde_json::Value,
    public: bool,
) -> Result<case::Model> {
    let Open {
        tx,
        case,
        now,
        actor,
        bus,
        inbox,
        idempotency,
        record,
        ..
    } = open;
    changes.updated_at = Set(now);
    let result = case::Entity::update_many()
        .set(changes)
        .col_expr(
            case::Column::Version,
            Expr::col(case::Column::Version).add(1),
        )
        .filter(case::Column::Id.eq(case.id))
        .filter(case::Column::Version.eq(case.version))
        .exec(&tx)
        .await?;
    if result.rows_affected != 1 {
        return Err(conflict(format!(
            "case {} changed meanwhile; reload and try again",
            case.number
        )));
    }
    let entry = audit::append(
        &tx,
        case.county_id,
        case.id,
        now,
        actor,
        action,
        detail,
        public,
    )
    .await?;
    if let Some((user_id, i)) = idempotency {
        xinfang_entity::idempotency_key::ActiveModel {
            user_id: Set(user_id),
            key: Set(i.key),
            operation: Set(i.operation.to_string()),
            request_hash: Set(i.request_hash),
            case_id: Set(case.id),
            created_at: Set(now),
            record_id: Set(record),
        }
        .insert(&tx)
        .await?;
    }
    let event = Event {
        case_id: case.id,
        entry_id: Some(entry.id),
        action: action.to_string(),
        public,
        at: now,
        inbox_unit: inbox.map(|(unit, _, _)| unit),
        inbox_kind: inbox.map(|(_, kind, _)| kind),
        referral_id: inbox.and_then(|(_, _, referral)| referral),
        deadline: None,
        due_at: None,
    };
    bus.stage(&tx, &event).await?;
    crate::outbox::enqueue(&tx, &event).await?;
    let saved = case::Entity::find_by_id(case.id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    tx.commit().await?;
    bus.committed(event);
    Ok(saved)
}

pub(crate) fn unchanged() -> case::ActiveModel {
    Default::default()
}

pub(crate) fn text(field: &str, value: &str) -> Result<()> {
    validate::text(field, value, 1, TEXT_MAX)
}

// ---------------------------------------------------------------------------------------
// Acceptance and handling

#[derive(Clone, Debug)]
pub struct AcceptanceInput {
    pub decision: AcceptanceDecision,
    pub reason: Option<String>,
    pub legal_route: Option<LegalRoute>,
    /// For `DECLINE_CONCLUDED`: the earlier case of the same matter whose conclusion stands.
    pub cited_case_id: Option<i64>,
}

/// 受理告知: accept (the 60-day clock starts), decline with a reason, or redirect an appeal to
/// its statutory route. The petitioner is told in each case (a public timeline entry).
pub async fn decide_acceptance(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
    input: AcceptanceInput,
) -> Result<case::Model> {
    if let Some(r) = &input.reason {
        text("reason", r)?;
    }
    match input.decision {
        AcceptanceDecision::Accept => {}
        AcceptanceDecision::Decline | AcceptanceDecision::DeclineConcluded
            if input.reason.is_none() =>
        {
            return Err(bad_input("reason", "a decline states its reason"));
        }
        AcceptanceDecision::DeclineConcluded if input.cited_case_id.is_none() => {
            return Err(bad_input(
                "citedCaseId",
                "不再受理 cites the earlier case whose conclusion stands",
            ));
        }
        AcceptanceDecision::RedirectToLegalRoute if input.legal_route.is_none() => {
            return Err(bad_input(
                "legalRoute",
                "name the statutory route the matter belongs to",
            ));
        }
        _ => {}
    }
    let open = open(
        caller,
        case_id,
        Action::DecideAcceptance,
        Some(expected_version),
    )
    .await?;
    let case = &open.case;
    if input.decision != AcceptanceDecision::DeclineConcluded && input.cited_case_id.is_some() {
        return Err(bad_input(
            "citedCaseId",
            "only a DECLINE_CONCLUDED decision cites an earlier case",
        ));
    }
    // 不再受理 is a decision on the record, never automatic: the unit names the earlier case of
    // this very matter (a case it can see) whose end concluded the matter.
    let cited = match input.cited_case_id {
        Some(id) => {
            let cited = cases::find_visible(&open.tx, caller.viewer, id)
                .await?
                .ok_or(AppError::NotFound("case"))?;
            if cited.id == case.id
                || crate::matters::matter_of(&cited) != crate::matters::matter_of(case)
            {
                return Err(bad_input(
                    "citedCaseId",
                    format!(
                        "{} is not an earlier case of this matter; confirm the repeat first (linkRepeat)",
                        cited.number
                    ),
                ));
            }
            if !crate::matters::concludes(&cited) {
                return Err(bad_input(
                    "citedCaseId",
                    format!(
                        "{} has not concluded its matter (it is {}): only a finalized case, or one closed after its written reply once the review window lapsed, does",
                        cited.number,
                        cited.status.as_str()
                    ),
                ));
            }
            Some(cited)
        }
        None => None,
    };
    if input.decision == AcceptanceDecision::RedirectToLegalRoute
        && case.category != Category::Appeal
    {
        return Err(bad_input(
            "decision",
            "only appeal matters are redirected to a legal route",
        ));
    }
    let mut changes = unchanged();
    changes.acceptance_decision = Set(Some(input.decision));
    changes.acceptance_reason = Set(input.reason.clone());
    changes.legal_route = Set(input.legal_route);
    changes.accept_decided_at = Set(Some(open.now));
    changes.not_acceptable = Set(cited.is_some());
    changes.acceptance_cited_case_id = Set(cited.as_ref().map(|c| c.id));
    let (status, handle_by) = match input.decision {
        AcceptanceDecision::Accept => (
            CaseStatus::InProgress,
            Some(open.calendar.due_after_days(open.now, HANDLING_DAYS)),
        ),
        _ => (CaseStatus::NotAccepted, None),
    };
    changes.status = Set(status);
    changes.handle_by = Set(handle_by);
    changes.due_at = Set(handle_by);
    let on_time = case.accept_by.is_none_or(|by| open.now <= by);
    // 受理/不予受理告知书: the petitioner is told in writing; accepting also issues the query
    // code printed on the notice.
    let reason = input.reason.as_deref().unwrap_or("");
    let draft = match (input.decision, handle_by) {
        (AcceptanceDecision::Accept, Some(handle_by)) => {
            let lead = find_unit(&open.tx, case.lead_unit_id).await?;
            documents::put_code(&open).await?;
            documents::acceptance(case, &lead.name, handle_by)
        }
        (AcceptanceDecision::RedirectToLegalRoute, _) => documents::legal_route(
            case,
            input.legal_route.map(legal_route_name).unwrap_or("法定"),
            input.reason.as_deref(),
        ),
        _ => documents::non_acceptance(case, reason, cited.as_ref().map(|c| c.number.as_str())),
    };
    let (_, document) = documents::issue(&open, draft).await?;
    // The cited case stays on the case row (`acceptance.citedCase`, shown where it is in sight)
    // and out of the entry: the entry's hash, shown to staff, would otherwise let a reader who
    // may not see the cited case find its id by trying ids until the hash matched.
    let detail = json!({
        "decision": input.decision.as_str(),
        "reason": input.reason,
        "legalRoute": input.legal_route.map(|r| r.as_str()),
        "handleBy": handle_by,
        "onTime": on_time,
        "document": document,
    });
    save(open, changes, input.decision.as_str(), detail, true).await
}

/// The statutory route as a notice names it.
pub(crate) fn legal_route_name(route: LegalRoute) -> &'static str {
    match route {
        LegalRoute::Litigation => "诉讼",
        LegalRoute::Arbitration => "仲裁",
        LegalRoute::AdministrativeReconsideration => "行政复议",
        LegalRoute::Disciplinary => "纪检监察",
        LegalRoute::OtherStatutory => "其他法定",
    }
}

/// 办理情况: a progress note by the lead unit, internal or shown to the petitioner.
pub async fn add_progress_note(
    caller: &Caller<'_>,
    case_id: i64,
    note: &str,
    internal: bool,
) -> Result<case::Model> {
    text("text", note)?;
    let open = open(caller, case_id, Action::AddProgressNote, None).await?;
    save(
        open,
        unchanged(),
        "PROGRESS_NOTE",
        json!({ "text": note }),
        !internal,
    )
    .await
}

/// 延期申请: extends the handling deadline once a LEADER of the lead unit other than the
/// requester approves. At most 30 days in all; one request pending at a time.
pub async fn request_extension(
    caller: &Caller<'_>,
    case_id: i64,
    days: i32,
    reason: &str,
) -> Result<extension::Model> {
    text("reason", reason)?;
    if !(1..=MAX_EXTENSION_DAYS).contains(&days) {
        return Err(bad_input(
            "days",
            format!("an extension is 1 to {MAX_EXTENSION_DAYS} days"),
        ));
    }
    let open = open(caller, case_id, Action::RequestExtension, None).await?;
    if open.case.handle_by.is_some_and(|by| open.now > by) {
        return Err(AppError::DeadlinePassed(
            "the handling deadline has passed; an extension must be asked before it".into(),
        ));
    }
    if open.case.extension_days + days > MAX_EXTENSION_DAYS {
        return Err(bad_input(
            "days",
            format!(
                "extensions total at most {MAX_EXTENSION_DAYS} days; {} already granted",
                open.case.extension_days
            ),
        ));
    }
    let pending = extension::Entity::find()
        .filter(extension::Column::CaseId.eq(open.case.id))
        .filter(extension::Column::Status.eq(ApprovalStatus::Pending.as_str()))
        .one(&open.tx)
        .await?;
    if pending.is_some() {
        return Err(conflict(
            "an extension request is already waiting for a decision",
        ));
    }
    let created = extension::ActiveModel {
        case_id: Set(open.case.id),
        days: Set(days),
        reason: Set(reason.to_string()),
        status: Set(ApprovalStatus::Pending),
        requested_by_user_id: Set(caller.viewer.user_id),
        requested_at: Set(open.now),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    save(
        with_record(open, created.id),
        unchanged(),
        "EXTENSION_REQUESTED",
        json!({ "extensionId": created.id, "days": days, "reason": reason }),
        false,
    )
    .await?;
    Ok(created)
}

pub async fn decide_extension(
    caller: &Caller<'_>,
    extension_id: i64,
    expected_version: Option<i32>,
    approve: bool,
    note: Option<&str>,
) -> Result<(extension::Model, case::Model)> {
    validate::optional_text("note", note, TEXT_MAX)?;
    let request = extension::Entity::find_by_id(extension_id)
        .one(caller.db)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    let open = open(
        caller,
        request.case_id,
        Action::DecideExtension,
        expected_version,
    )
    .await?;
    let request = extension::Entity::find_by_id(extension_id)
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    if request.status != ApprovalStatus::Pending {
        return Err(conflict("this extension request was already decided"));
    }
    if request.requested_by_user_id == caller.viewer.user_id {
        return Err(forbidden(
            "an extension is approved by a leader other than the one who asked for it",
        ));
    }
    if approve && open.case.extension_days + request.days > MAX_EXTENSION_DAYS {
        return Err(bad_input(
            "approve",
            format!("extensions total at most {MAX_EXTENSION_DAYS} days"),
        ));
    }
    let status = if approve {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Rejected
    };
    let mut decided: extension::ActiveModel = request.clone().into();
    decided.status = Set(status);
    decided.decided_by_user_id = Set(Some(caller.viewer.user_id));
    decided.decided_at = Set(Some(open.now));
    decided.note = Set(note.map(str::to_owned));
    let decided = decided.update(&open.tx).await?;
    let mut changes = unchanged();
    let mut new_deadline = None;
    let mut document = None;
    if approve {
        let base = open.case.handle_by.unwrap_or(open.now);
        let handle_by = open.calendar.due_after_days(base, request.days as u32);
        new_deadline = Some(handle_by);
        changes.handle_by = Set(Some(handle_by));
        changes.due_at = Set(Some(handle_by));
        changes.extension_days = Set(open.case.extension_days + request.days);
        // 延期告知书
        let draft = documents::extension(&open.case, request.days, &request.reason, handle_by);
        document = Some(documents::issue(&open, draft).await?.1);
    }
    let action = if approve {
        "EXTENSION_APPROVED"
    } else {
        "EXTENSION_REJECTED"
    };
    // An approved extension, with its reason, is shown to the petitioner.
    let detail = json!({ "extensionId": request.id, "days": request.days, "reason": request.reason, "handleBy": new_deadline, "document": document });
    let case = save(
        with_record(open, decided.id),
        changes,
        action,
        detail,
        approve,
    )
    .await?;
    Ok((decided, case))
}

pub struct ReplyInput {
    pub outcome: ReplyOutcome,
    pub facts: String,
    pub reasons: String,
    pub basis: String,
    /// Handed over as it is signed (in person, say): delivered now by this method.
    pub delivered_by: Option<DeliveryMethod>,
}

/// 处理意见书: signed by a LEADER of the lead unit. For an appeal it names the review body (the
/// lead unit's superior; none shown when that body is above the deployment). The petitioner's
/// 30-day window runs from delivery: at once when `delivered_by` is given, otherwise from
/// `recordDelivery`.
pub async fn issue_reply(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
    input: ReplyInput,
) -> Result<case::Model> {
    text("facts", &input.facts)?;
    text("reasons", &input.reasons)?;
    text("basis", &input.basis)?;
    if input.delivered_by == Some(DeliveryMethod::InApp) {
        return Err(bad_input(
            "deliveredBy",
            "delivery in the app is recorded when the petitioner opens it",
        ));
    }
    let open = open(caller, case_id, Action::Reply, Some(expected_version)).await?;
    let lead = find_unit(&open.tx, open.case.lead_unit_id).await?;
    let review_unit = if open.case.category == Category::Appeal {
        lead.parent_id
    } else {
        None
    };
    let window = input
        .delivered_by
        .map(|_| open.calendar.due_after_days(open.now, REVIEW_DAYS));
    let created = reply::ActiveModel {
        case_id: Set(open.case.id),
        outcome: Set(input.outcome),
        facts: Set(input.facts.clone()),
        reasons: Set(input.reasons.clone()),
        basis: Set(input.basis.clone()),
        signed_by_user_id: Set(caller.viewer.user_id),
        unit_id: Set(lead.id),
        review_unit_id: Set(review_unit),
        review_request_by: Set(window),
        issued_at: Set(open.now),
        delivered_at: Set(input.delivered_by.map(|_| open.now)),
        delivery_method: Set(input.delivered_by),
        delivery_recorded_by_user_id: Set(input.delivered_by.map(|_| caller.viewer.user_id)),
        quashed_by_review_id: Set(None),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    // 处理意见书, naming the review body for an appeal.
    let reviewer = match review_unit {
        Some(id) => Some(Some(find_unit(&open.tx, id).await?.name)),
        None if open.case.category == Category::Appeal => Some(None),
        None => None,
    };
    let draft = documents::reply(
        &open.case,
        documents::ReplyText {
            outcome: reply_outcome_name(input.outcome),
            facts: &input.facts,
            reasons: &input.reasons,
            basis: &input.basis,
        },
        reviewer.as_ref().map(|r| r.as_deref()),
        created.id,
    );
    let (document, reference) = documents::issue(&open, draft).await?;
    if let Some(method) = input.delivered_by {
        documents::mark_delivered(
            &open.tx,
            None,
            (Some(created.id), None),
            method,
            open.now,
            None,
            caller.viewer.user_id,
        )
        .await?;
    }
    let _ = document;
    let mut changes = unchanged();
    changes.status = Set(CaseStatus::Replied);
    changes.replied_at = Set(Some(open.now));
    changes.review_request_by = Set(window);
    changes.awaiting_delivery = Set(window.is_none());
    changes.due_at = Set(None);
    let on_time = open.case.handle_by.is_none_or(|by| open.now <= by);
    let detail = json!({ "outcome": input.outcome.as_str(), "reviewUnitId": review_unit, "reviewRequestBy": window,
        "deliveredBy": input.delivered_by.map(|m| m.as_str()), "onTime": on_time, "document": reference });
    save(open, changes, "REPLY", detail, true).await
}

/// The outcome as a reply states it.
pub(crate) fn reply_outcome_name(outcome: ReplyOutcome) -> &'static str {
    match outcome {
        ReplyOutcome::Supported => "支持",
        ReplyOutcome::PartiallySupported => "部分支持",
        ReplyOutcome::NotSupported => "不予支持",
        ReplyOutcome::Explained => "解释说明",
    }
}

// ---------------------------------------------------------------------------------------
// The petitioner's side: evaluation and review

/// 满意度评价: once, within the review window, by the petitioner or by staff of the lead unit or
/// the bureau on their behalf (marked).
pub async fn evaluate(
    caller: &Caller<'_>,
    case_id: i64,
    satisfaction: Satisfaction,
    comment: Option<&str>,
    on_behalf: bool,
) -> Result<case::Model> {
    validate::optional_text("comment", comment, TEXT_MAX)?;
    if on_behalf != caller.viewer.acts_on_behalf() {
        return Err(bad_input(
            "onBehalf",
            "staff record evaluations on the petitioner's behalf (onBehalf: true); petitioners for themselves",
        ));
    }
    let open = open(caller, case_id, Action::Evaluate, None).await?;
    if open.case.awaiting_delivery {
        return Err(invalid(
            &open.case,
            Action::Evaluate,
            Some("the reply has not been delivered yet; it is rated once received"),
        ));
    }
    if open.case.review_request_by.is_some_and(|by| open.now > by) {
        return Err(AppError::DeadlinePassed(
            "the evaluation window has closed".into(),
        ));
    }
    // One rating per reply: a reply issued anew after a review sent the case back (REDO) is
    // rated afresh, and the case's rating is then the new one (the earlier stays on the
    // timeline).
    let earlier = evaluation::Entity::find_by_id(open.case.id)
        .one(&open.tx)
        .await?;
    if earlier
        .as_ref()
        .is_some_and(|e| rates_standing_reply(&open.case, e))
    {
        return Err(conflict("this reply was already evaluated"));
    }
    let row = evaluation::ActiveModel {
        case_id: Set(open.case.id),
        satisfaction: Set(satisfaction),
        comment: Set(comment.map(str::to_owned)),
        on_behalf: Set(on_behalf),
        by_user_id: Set(caller.viewer.user_id),
        at: Set(open.now),
    };
    match earlier {
        Some(_) => row.update(&open.tx).await?,
        None => row.insert(&open.tx).await?,
    };
    save(
        open,
        unchanged(),
        "EVALUATE",
        json!({ "satisfaction": satisfaction.as_str(), "onBehalf": on_behalf }),
        true,
    )
    .await
}

/// 办结: a replied case closes once its review window has lapsed or the petitioner is
/// satisfied; a reviewed case once the re-review window has lapsed.
pub async fn close_case(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
) -> Result<case::Model> {
    let open = open(caller, case_id, Action::Close, Some(expected_version)).await?;
    if open.case.awaiting_delivery {
        return Err(invalid(
            &open.case,
            Action::Close,
            Some("the written decision has not been delivered yet (recordDelivery)"),
        ));
    }
    let window_open = open.case.review_request_by.is_some_and(|by| open.now <= by);
    if window_open {
        let evaluated = evaluation::Entity::find_by_id(open.case.id)
            .one(&open.tx)
            .await?;
        let satisfied = open.case.status == CaseStatus::Replied
            && satisfied_with_standing_reply(&open.case, evaluated.as_ref());
        if !satisfied {
            return Err(invalid(
                &open.case,
                Action::Close,
                Some("the review window is still open and the petitioner is not satisfied"),
            ));
        }
    }
    let mut changes = unchanged();
    changes.status = Set(CaseStatus::Closed);
    changes.closed_at = Set(Some(open.now));
    changes.due_at = Set(None);
    save(open, changes, "CLOSE", json!({}), true).await
}

// ---------------------------------------------------------------------------------------
// Supervision, leadership, assisting units

/// 督办: the petition bureau orders the lead unit to act by a date.
pub async fn issue_supervision(
    caller: &Caller<'_>,
    case_id: i64,
    order: &str,
    due_at: DateTime<Utc>,
) -> Result<supervision::Model> {
    text("text", order)?;
    let now = caller.clock.now();
    if due_at <= now {
        return Err(bad_input(
            "dueAt",
            "the supervision deadline must be in the future",
        ));
    }
    let open = open(caller, case_id, Action::IssueSupervision, None).await?;
    let created = supervision::ActiveModel {
        case_id: Set(open.case.id),
        text: Set(order.to_string()),
        due_at: Set(due_at),
        issued_by_user_id: Set(caller.viewer.user_id),
        issued_at: Set(open.now),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    let mut open = open;
    open.inbox = Some((open.case.lead_unit_id, InboxKind::Supervision, None));
    save(
        with_record(open, created.id),
        unchanged(),
        "SUPERVISION_ISSUED",
        json!({ "supervisionId": created.id, "dueAt": due_at }),
        false,
    )
    .await?;
    Ok(created)
}

pub async fn answer_supervision(
    caller: &Caller<'_>,
    supervision_id: i64,
    answer: &str,
) -> Result<supervision::Model> {
    text("text", answer)?;
    let order = supervision::Entity::find_by_id(supervision_id)
        .one(caller.db)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    let open = open(caller, order.case_id, Action::AnswerSupervision, None).await?;
    let order = supervision::Entity::find_by_id(supervision_id)
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    if order.answered_at.is_some() {
        return Err(conflict("this supervision order was already answered"));
    }
    let on_time = open.now <= order.due_at;
    let mut answered: supervision::ActiveModel = order.into();
    answered.answer = Set(Some(answer.to_string()));
    answered.answered_by_user_id = Set(Some(caller.viewer.user_id));
    answered.answered_at = Set(Some(open.now));
    let answered = answered.update(&open.tx).await?;
    save(
        with_record(open, answered.id),
        unchanged(),
        "SUPERVISION_ANSWERED",
        json!({ "supervisionId": supervision_id, "onTime": on_time }),
        false,
    )
    .await?;
    Ok(answered)
}

/// Whether a case's accusation hides it from a unit (the accused unit, or a unit inside it):
/// such a unit is never related to the case. The petition bureau is exempt.
pub(crate) async fn inside_accused(
    db: &impl ConnectionTrait,
    case: &case::Model,
    unit: &org_unit::Model,
) -> Result<bool> {
    let Some(accused_id) = case.accused_unit_id else {
        return Ok(false);
    };
    let accused = find_unit(db, accused_id).await?;
    Ok(crate::access::hidden_by_accusation(Some(&accused), unit))
}

/// A unit that may take part in a case: active, of the case's county, and not its accused unit.
pub(crate) async fn participant(
    db: &impl ConnectionTrait,
    case: &case::Model,
    field: &str,
    unit_id: i64,
) -> Result<org_unit::Model> {
    let unit = org_unit::Entity::find_by_id(unit_id)
        .one(db)
        .await?
        .ok_or_else(|| bad_input(field, "no such unit"))?;
    if !unit.active {
        return Err(bad_input(field, format!("{} is deactivated", unit.name)));
    }
    if unit.county_id != Some(case.county_id) {
        return Err(bad_input(
            field,
            format!("{} belongs to another county", unit.name),
        ));
    }
    if unit.kind == OrgUnitKind::City {
        return Err(bad_input(field, "a city unit does not handle county cases"));
    }
    if inside_accused(db, case, &unit).await? {
        return Err(bad_input(
            field,
            "an accusation is never handed to the accused unit",
        ));
    }
    if let Some(why) = crate::access::awaiting_accused_refusal(case, &unit) {
        return Err(bad_input(field, why));
    }
    Ok(unit)
}

/// 协办单位: the lead unit or the bureau asks another unit to contribute.
pub async fn add_assisting_unit(
    caller: &Caller<'_>,
    case_id: i64,
    unit_id: i64,
) -> Result<case::Model> {
    let open = open(caller, case_id, Action::AddAssistingUnit, None).await?;
    let unit = participant(&open.tx, &open.case, "unitId", unit_id).await?;
    if unit.id == open.case.lead_unit_id {
        return Err(bad_input("unitId", "the lead unit cannot also assist"));
    }
    if cases::relations_of(&open.tx, open.case.id, unit.id)
        .await?
        .contains(&UnitRelation::Assisting)
    {
        return Err(conflict(format!(
            "{} already assists on this case",
            unit.name
        )));
    }
    add_relation(&open.tx, &open.case, unit.id, UnitRelation::Assisting).await?;
    save(
        open,
        unchanged(),
        "ASSISTING_UNIT_ADDED",
        json!({ "unitId": unit.id }),
        false,
    )
    .await
}

/// 协办意见: an assisting unit's opinion, never shown to the petitioner.
pub async fn add_assisting_opinion(
    caller: &Caller<'_>,
    case_id: i64,
    opinion: &str,
) -> Result<case::Model> {
    text("text", opinion)?;
    let open = open(caller, case_id, Action::AddAssistingOpinion, None).await?;
    let unit = caller.viewer.unit.as_ref().map(|u| u.id);
    save(
        open,
        unchanged(),
        "ASSISTING_OPINION",
        json!({ "unitId": unit, "text": opinion }),
        false,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Referrals and completion reports

/// 办结报告: the lead unit of an assigned case reports completion to the bureau.
pub async fn file_completion_report(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: Option<i32>,
    report: &str,
) -> Result<completion_report::Model> {
    text("text", report)?;
    let open = open(
        caller,
        case_id,
        Action::FileCompletionReport,
        expected_version,
    )
    .await?;
    let referral_id = open.case.assignment_id.ok_or_else(|| {
        invalid(
            &open.case,
            Action::FileCompletionReport,
            Some("the case was not assigned"),
        )
    })?;
    let created = completion_report::ActiveModel {
        case_id: Set(open.case.id),
        referral_id: Set(referral_id),
        text: Set(report.to_string()),
        filed_by_user_id: Set(caller.viewer.user_id),
        filed_at: Set(open.now),
        status: Set(ApprovalStatus::Pending),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    let mut changes = unchanged();
    changes.status = Set(CaseStatus::Reported);
    save(
        with_record(open, created.id),
        changes,
        "COMPLETION_REPORT_FILED",
        json!({ "reportId": created.id }),
        false,
    )
    .await?;
    Ok(created)
}

/// The bureau approves a completion report (the case may then be replied to and closed) or
/// sends it back (the case returns to handling).
pub async fn decide_completion_report(
    caller: &Caller<'_>,
    report_id: i64,
    expected_version: Option<i32>,
    approve: bool,
    note: Option<&str>,
) -> Result<(completion_report::Model, case::Model)> {
    validate::optional_text("note", note, TEXT_MAX)?;
    let report = completion_report::Entity::find_by_id(report_id)
        .one(caller.db)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    let open = open(
        caller,
        report.case_id,
        Action::DecideCompletionReport,
        expected_version,
    )
    .await?;
    let report = completion_report::Entity::find_by_id(report_id)
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    if report.status != ApprovalStatus::Pending {
        return Err(conflict("this completion report was already decided"));
    }
    let status = if approve {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Rejected
    };
    let mut decided: completion_report::ActiveModel = report.clone().into();
    decided.status = Set(status);
    decided.decided_by_user_id = Set(Some(caller.viewer.user_id));
    decided.decided_at = Set(Some(open.now));
    decided.note = Set(note.map(str::to_owned));
    let decided = decided.update(&open.tx).await?;
    let mut changes = unchanged();
    changes.status = Set(CaseStatus::InProgress);
    changes.report_approved = Set(approve);
    let action = if approve {
        "COMPLETION_REPORT_APPROVED"
    } else {
        "COMPLETION_REPORT_REJECTED"
    };
    let case = save(
        with_record(open, decided.id),
        changes,
        action,
        json!({ "reportId": report_id, "note": note }),
        false,
    )
    .await?;
    Ok((decided, case))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_in(status: CaseStatus) -> case::Model {
        case::Model {
            id: 1,
            county_id: 1,
            number: "XF-2026-000001".into(),
            version: 1,
            status,
            channel: crate::domain::Channel::Visit,
            category: Category::Appeal,
            subject: "OTHER".into(),
            title: "t".into(),
            content: "c".into(),
            received_at: Utc::now(),
            township_id: None,
            lead_unit_id: 2,
            registered_by_unit_id: 2,
            registered_by_user_id: 1,
            accused_unit_id: None,
            person_count: 1,
            is_group: false,
            repeat_of_id: None,
            not_acceptable: false,
            submitted_by_user_id: None,
            accept_by: None,
            handle_by: None,
            due_at: None,
            acceptance_decision: None,
            acceptance_reason: None,
            legal_route: None,
            accept_decided_at: None,
            replied_at: None,
            review_request_by: None,
            decide_by: None,
            reviewing_unit_id: None,
            extension_days: 0,
            leader_user_id: None,
            assignment_id: None,
            report_approved: false,
            closed_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            matter_id: None,
            acceptance_cited_case_id: None,
            awaiting_delivery: false,
            higher_report_due_at: None,
            higher_reported_at: None,
            sent_up_at: None,
            clock_paused_at: None,
            urgent: false,
            registration_delay_minutes: 0,
            registered_late: false,
        }
    }

    /// The state machine of domain §4, as a table: for each action, the states that allow it.
    #[test]
    fn each_action_is_allowed_in_exactly_its_states() {
        use CaseStatus::*;
        #[rustfmt::skip]
        let table: &[(Action, &[CaseStatus])] = &[
            (Action::DecideAcceptance,       &[Registered]),
            (Action::Transfer,               &[Registered, InProgress]),
            (Action::AddAssistingUnit,       &[Registered, InProgress]),
            (Action::AddProgressNote,        &[InProgress, Reported]),
            (Action::AddAssistingOpinion,    &[InProgress, Reported]),
            (Action::RequestExtension,       &[InProgress]),
            (Action::DecideExtension,        &[InProgress]),
            (Action::Reply,                  &[InProgress]),
            (Action::FileCompletionReport,   &[]),
            (Action::DecideCompletionReport, &[Reported]),
            (Action::IssueSupervision,       &[Registered, InProgress, Reported]),
            (Action::AnswerSupervision,      &[Registered, InProgress, Reported, Replied, UnderReview, Reviewed, UnderReReview]),
            (Action::TakeLeaderOwnership,    &[Registered, InProgress, Reported, Replied, UnderReview, Reviewed, UnderReReview]),
            (Action::Evaluate,               &[Replied]),
            (Action::RequestReview,          &[Replied, Reviewed]),
            (Action::DecideReview,           &[UnderReview, UnderReReview]),
            (Action::Close,                  &[Replied, Reviewed]),
            (Action::ScheduleHearing,        &[Registered, InProgress, Reported, UnderReview, UnderReReview]),
            (Action::ConcludeHearing,        &[]),
            (Action::CancelHearing,          &[]),
        ];
        for (action, allowed) in table {
            for status in CaseStatus::ALL {
                let case = case_in(*status);
                assert_eq!(
                    state_allows(&case, *status, *action),
                    allowed.contains(status),
                    "{action:?} in {status:?}"
                );
            }
        }
    }

    #[test]
    fn a_hearing_holds_every_decision_until_it_ends() {
        let mut case = case_in(CaseStatus::InProgress);
        case.clock_paused_at = Some(chrono::Utc::now());
        for (action, allowed) in [
            (Action::Reply, false),
            (Action::RequestExtension, false),
            (Action::Transfer, false),
            (Action::ScheduleHearing, false),
            (Action::RequestReview, false),
            (Action::AddProgressNote, true),
            (Action::GiveInstruction, true),
            (Action::ConcludeHearing, true),
            (Action::CancelHearing, true),
            // Still only what the state allows: no evaluation before a reply.
            (Action::Evaluate, false),
            (Action::Close, false),
        ] {
            assert_eq!(
                state_allows(&case, CaseStatus::InProgress, action),
                allowed,
                "{action:?}"
            );
        }
        let mut registered = case_in(CaseStatus::Registered);
        registered.clock_paused_at = Some(chrono::Utc::now());
        assert!(!state_allows(
            &registered,
            CaseStatus::Registered,
            Action::DecideAcceptance
        ));
        assert!(!state_allows(
            &registered,
            CaseStatus::Registered,
            Action::Evaluate
        ));
        assert!(state_allows(
            &registered,
            CaseStatus::Registered,
            Action::CancelHearing
        ));
    }

    #[test]
    fn an_assigned_case_reports_before_it_replies() {
        let mut case = case_in(CaseStatus::InProgress);
        case.assignment_id = Some(7);
        assert!(state_allows(
            &case,
            CaseStatus::InProgress,
            Action::FileCompletionReport
        ));
        assert!(!state_allows(&case, CaseStatus::InProgress, Action::Reply));
        case.report_approved = true;
        assert!(!state_allows(
            &case,
            CaseStatus::InProgress,
            Action::FileCompletionReport
        ));
        assert!(state_allows(&case, CaseStatus::InProgress, Action::Reply));
    }
}

// ---------------------------------------------------------------------------------------
// Reclassification (大口进入、分类处理)

/// A correction of a case's classification. Absent fields stay as they are; `Some(None)`
/// clears a township or an accused unit.
#[derive(Clone, Debug, Default)]
pub struct ReclassifyInput {
    pub category: Option<Category>,
    pub subject: Option<String>,
    pub township_id: Option<Option<i64>>,
    pub accused_unit_id: Option<Option<i64>>,
    pub reason: String,
}

/// 分类处理: the petition bureau (at any time before the case ends) or the lead unit (before
/// acceptance) corrects category, subject, township and accused unit, with a reason, on the
/// record. The relation rows follow in the same transaction, so naming an accused unit takes
/// the case out of that unit's sight (and its sub-units') on every path at commit — lists,
/// lookups, referral lists, and live subscriptions, whose streams end on this very entry.
/// Leaving the accusation category clears the accused unit.
pub async fn reclassify(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
    input: ReclassifyInput,
) -> Result<case::Model> {
    text("reason", &input.reason)?;
    if let Some(subject) = &input.subject {
        validate::text("subject", subject, 1, 64)?;
    }
    let open = open(caller, case_id, Action::Reclassify, Some(expected_version)).await?;
    let before = open.case.clone();
    let mut after = before.clone();
    if let Some(category) = input.category {
        after.category = category;
    }
    if let Some(subject) = &input.subject {
        cases::check_subject(&open.tx, subject).await?;
        after.subject = subject.clone();
    }
    if let Some(township) = input.township_id {
        after.township_id = match township {
            Some(id) => {
                let unit =
                    cases::unit_in_county(&open.tx, "townshipId", id, before.county_id).await?;
                if unit.kind != OrgUnitKind::Township {
                    return Err(bad_input("townshipId", "townshipId must name a township"));
                }
                Some(unit.id)
            }
            None => None,
        };
    }
    if let Some(accused) = input.accused_unit_id {
        after.accused_unit_id = accused;
    }
    if after.category != Category::Accusation {
        if matches!(input.accused_unit_id, Some(Some(_))) {
            return Err(bad_input(
                "accusedUnitId",
                "only an accusation names an accused unit",
            ));
        }
        after.accused_unit_id = None;
    }
    if let Some(accused_id) = after.accused_unit_id {
        let accused =
            cases::unit_in_county(&open.tx, "accusedUnitId", accused_id, before.county_id).await?;
        // A unit with a working part in the case — assisting, receiving a referral, deciding
        // a review — must first be taken off it: naming it accused would strand that work.
        let working: Vec<(i64, String)> = case_unit::Entity::find()
            .filter(case_unit::Column::CaseId.eq(before.id))
            .filter(case_unit::Column::Relation.is_in([
                UnitRelation::Assisting.as_str(),
                UnitRelation::PendingReferral.as_str(),
                UnitRelation::Reviewing.as_str(),
            ]))
            .all(&open.tx)
            .await?
            .into_iter()
            .map(|r| (r.unit_id, r.relation))
            .chain(
                before
                    .reviewing_unit_id
                    .map(|u| (u, "REVIEWING".to_string())),
            )
            .collect();
        for (unit_id, relation) in working {
            let unit = find_unit(&open.tx, unit_id).await?;
            if crate::access::hidden_by_accusation(Some(&accused), &unit) {
                return Err(bad_input(
                    "accusedUnitId",
                    format!(
                        "{} has a part in this case ({relation}) and may not see an accusation \
                         against that unit",
                        unit.name
                    ),
                ));
            }
        }
        let lead = find_unit(&open.tx, before.lead_unit_id).await?;
        cases::may_lead_accusation(&accused, &lead, "accusedUnitId").map_err(|_| {
            bad_input(
                "accusedUnitId",
                format!(
                    "{} leads this case and may not lead an accusation against that unit; \
                     transfer the case first",
                    lead.name
                ),
            )
        })?;
    }
    let mut from = serde_json::Map::new();
    let mut to = serde_json::Map::new();
    let mut note = |field: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            from.insert(field.to_string(), old);
            to.insert(field.to_string(), new);
        }
    };
    note("category", json!(before.category), json!(after.category));
    note("subject", json!(before.subject), json!(after.subject));
    note(
        "townshipId",
        json!(before.township_id),
        json!(after.township_id),
    );
    note(
        "accusedUnitId",
        json!(before.accused_unit_id),
        json!(after.accused_unit_id),
    );
    if to.is_empty() {
        return Err(bad_input(
            "input",
            "nothing to change: give a category, subject, township or accused unit that differs",
        ));
    }
    // A repeat link never crosses from an accusation to an ordinary petition (it would lead
    // from a confidential accuser to the same person's open file): moving across drops it.
    // A matter never holds both, so a case that crosses leaves its matter alone: its own link
    // is undone, and a case that others repeat must first lose those links (undoRepeat) —
    // moving them across with it, or leaving them behind with it, would mix the two.
    let accusation = |c: &case::Model| c.category == Category::Accusation;
    let crosses = accusation(&before) != accusation(&after);
    if crosses && crate::matters::has_followers(&open.tx, before.id).await? {
        return Err(bad_input(
            "category",
            format!(
                "other petitions are confirmed as repeats of {}; undo those links first \
                 (undoRepeat), then reclassify",
                before.number
            ),
        ));
    }
    let drops_link = crosses && before.repeat_of_id.is_some();
    let new_matter = if drops_link {
        after.repeat_of_id = None;
        Some(crate::matters::drop_on_reclassify(&open.tx, caller, &before, open.now).await?)
    } else {
        None
    };
    cases::sync_derived_relations(&open.tx, &after).await?;
    let mut changes = unchanged();
    changes.category = Set(after.category);
    changes.subject = Set(after.subject.clone());
    changes.township_id = Set(after.township_id);
    changes.accused_unit_id = Set(after.accused_unit_id);
    if let Some(matter) = new_matter {
        changes.repeat_of_id = Set(None);
        changes.matter_id = Set(Some(matter));
    }
    let detail = json!({ "from": from, "to": to, "reason": input.reason });
    save(open, changes, "RECLASSIFY", detail, false).await
}
