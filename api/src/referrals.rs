//! Referrals (转送/交办): the lead unit or the petition bureau hands a case on; the receiver
//! acknowledges it or objects within 5 working days; the sender or the bureau approves an
//! objection (the case goes back) or overrules it. Each action is one transaction through the
//! workflow's open → check → save path. The lists of referrals a unit sent or received are
//! here too. This module knows nothing of HTTP or GraphQL.

use crate::access::Viewer;
use crate::cases::{self, add_relation, find_visible};
use crate::db;
use crate::domain::{Action, CaseStatus, ReferralMode, ReferralStatus, UnitRelation};
use crate::error::{AppError, Result, bad_input, conflict, forbidden};
use crate::events::InboxKind;
use crate::identity::find_unit;
use crate::records::ReferralRecord;
use crate::validate;
use crate::workflow::{
    ACCEPTANCE_DAYS, Caller, HANDLING_DAYS, OBJECTION_WORKING_DAYS, Open, TEXT_MAX, finish_open,
    invalid, open, participant, replayed, save, text, unchanged, with_record,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use xinfang_entity::{case, case_unit, referral};

pub struct TransferInput {
    pub to_unit_id: i64,
    pub mode: ReferralMode,
    pub reason: String,
    pub report_due_at: Option<DateTime<Utc>>,
}

/// 转送/交办: responsibility moves to the receiver at once, with a fresh 15-day acceptance
/// clock; an assignment also owes a completion report by `reportDueAt` (default: 60 days).
pub async fn transfer(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
    input: TransferInput,
) -> Result<(referral::Model, case::Model)> {
    text("reason", &input.reason)?;
    if input.mode == ReferralMode::Transfer && input.report_due_at.is_some() {
        return Err(bad_input(
            "reportDueAt",
            "only an assignment (ASSIGN) has a report deadline",
        ));
    }
    let open = open(caller, case_id, Action::Transfer, Some(expected_version)).await?;
    let receiver = participant(&open.tx, &open.case, "toUnitId", input.to_unit_id).await?;
    if let Some(accused_id) = open.case.accused_unit_id {
        let accused = find_unit(&open.tx, accused_id).await?;
        cases::may_lead_accusation(&accused, &receiver, "toUnitId")?;
    }
    if receiver.id == open.case.lead_unit_id {
        return Err(bad_input(
            "toUnitId",
            format!("{} already leads this case", receiver.name),
        ));
    }
    let report_due_at = match (input.mode, input.report_due_at) {
        (ReferralMode::Assign, Some(at)) if at <= open.now => {
            return Err(bad_input(
                "reportDueAt",
                "the report deadline must be in the future",
            ));
        }
        (ReferralMode::Assign, Some(at)) => Some(at),
        (ReferralMode::Assign, None) => Some(open.calendar.due_after_days(open.now, HANDLING_DAYS)),
        (ReferralMode::Transfer, _) => None,
    };
    let sender = open.case.lead_unit_id;
    let created = referral::ActiveModel {
        case_id: Set(open.case.id),
        mode: Set(input.mode),
        from_unit_id: Set(sender),
        to_unit_id: Set(receiver.id),
        reason: Set(input.reason.clone()),
        report_due_at: Set(report_due_at),
        status: Set(ReferralStatus::Pending),
        object_by: Set(open
            .calendar
            .due_after_working_days(open.now, OBJECTION_WORKING_DAYS)),
        created_by_user_id: Set(caller.viewer.user_id),
        created_at: Set(open.now),
        sender_accept_by: Set(open.case.accept_by),
        sender_accept_decided_at: Set(open.case.accept_decided_at),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    move_lead(&open, sender, receiver.id).await?;
    add_relation(
        &open.tx,
        &open.case,
        receiver.id,
        UnitRelation::PendingReferral,
    )
    .await?;
    let mut changes = restart_acceptance(&open, receiver.id);
    changes.assignment_id = Set((input.mode == ReferralMode::Assign).then_some(created.id));
    // A city sending a matter back down to a unit of its county: the county sees it again.
    if open.case.sent_up_at.is_some() && receiver.county_id == Some(open.case.county_id) {
        changes.sent_up_at = Set(None);
    }
    let kind = if input.mode == ReferralMode::Assign {
        InboxKind::Assignment
    } else {
        InboxKind::Referral
    };
    // 转送告知书: the petitioner is told where the matter went.
    let draft = crate::documents::transfer(
        &open.case,
        &receiver.name,
        input.mode == ReferralMode::Assign,
        &input.reason,
    );
    let (_, document) = crate::documents::issue(&open, draft).await?;
    let mut open = open;
    open.inbox = Some((receiver.id, kind, Some(created.id)));
    let detail = json!({
        "referralId": created.id, "mode": input.mode.as_str(), "fromUnitId": sender, "toUnitId": receiver.id,
        "reason": input.reason, "reportDueAt": report_due_at, "document": document,
    });
    let case = save(
        with_record(open, created.id),
        changes,
        input.mode.as_str(),
        detail,
        true,
    )
    .await?;
    Ok((created, case))
}

/// Moves the LEAD relation row from one unit to another.
pub(crate) async fn move_lead(open: &Open, from: i64, to: i64) -> Result<()> {
    case_unit::Entity::delete_many()
        .filter(case_unit::Column::CaseId.eq(open.case.id))
        .filter(case_unit::Column::UnitId.eq(from))
        .filter(case_unit::Column::Relation.is_in([
            UnitRelation::Lead.as_str(),
            UnitRelation::PendingReferral.as_str(),
        ]))
        .exec(&open.tx)
        .await?;
    add_relation(&open.tx, &open.case, to, UnitRelation::Lead).await
}

/// The changes that hand a case to a new lead unit: it must decide acceptance afresh.
pub(crate) fn restart_acceptance(open: &Open, new_lead: i64) -> case::ActiveModel {
    let accept_by = open.calendar.due_after_days(open.now, ACCEPTANCE_DAYS);
    let mut changes = unchanged();
    changes.lead_unit_id = Set(new_lead);
    changes.status = Set(CaseStatus::Registered);
    changes.accept_by = Set(Some(accept_by));
    changes.due_at = Set(Some(accept_by));
    changes.handle_by = Set(None);
    changes.acceptance_decision = Set(None);
    changes.acceptance_reason = Set(None);
    changes.legal_route = Set(None);
    changes.accept_decided_at = Set(None);
    changes.extension_days = Set(0);
    changes.assignment_id = Set(None);
    changes.report_approved = Set(false);
    changes
}

/// What a referral's parties may do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferralAction {
    Acknowledge,
    Object,
    Resolve,
}

impl ReferralAction {
    fn name(self) -> &'static str {
        match self {
            ReferralAction::Acknowledge => "acknowledgeReferral",
            ReferralAction::Object => "objectReferral",
            ReferralAction::Resolve => "resolveObjection",
        }
    }
}

/// Opens a referral's case for an action by a party to the referral. The referral, not the
/// case scope, is what entitles the sender: it may no longer see the case it handed on.
async fn open_referral(
    caller: &Caller<'_>,
    referral_id: i64,
    action: ReferralAction,
    expected_version: Option<i32>,
) -> Result<(Open, referral::Model)> {
    // A retry under the same key is answered before the referral's state is looked at: the
    // first call changed it.
    replayed(caller.db, caller).await?;
    // A referral is found by its parties and by whoever sees its case; to anyone else it
    // does not exist.
    let (_, found) = visible_referral(caller.db, caller.viewer, referral_id)
        .await?
        .ok_or(AppError::NotFound("referral"))?;
    let of_case = case::Entity::find_by_id(found.case_id)
        .one(caller.db)
        .await?
        .ok_or(AppError::NotFound("referral"))?;
    if !caller
        .viewer
        .may_on_referral(&found, &of_case, action == ReferralAction::Resolve)
    {
        return Err(forbidden(format!(
            "your unit may not {} on this referral",
            action.name()
        )));
    }
    let tx = db::begin_write(caller.db).await?;
    let case = case::Entity::find()
        .filter(case::Column::Id.eq(found.case_id))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("referral"))?;
    let current = referral::Entity::find_by_id(referral_id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("referral"))?;
    if let Some(refused) = state_refusal(action, &current, &case) {
        return Err(refused);
    }
    if caller.viewer.kept_from_sent_up(&case) {
        return Err(sent_up_refusal(action, &case));
    }
    if let Some(v) = expected_version
        && v != case.version
    {
        return Err(conflict(format!(
            "case {} changed since you read it; reload and try again",
            case.number
        )));
    }
    let open = finish_open(caller, tx, case).await?;
    Ok((open, current))
}

/// Why the referral's state, or its case's, refuses `action` now, whoever asks.
fn state_refusal(
    action: ReferralAction,
    referral: &referral::Model,
    case: &case::Model,
) -> Option<AppError> {
    let expected = match action {
        ReferralAction::Acknowledge | ReferralAction::Object => ReferralStatus::Pending,
        ReferralAction::Resolve => ReferralStatus::Objected,
    };
    if referral.status != expected {
        return Some(AppError::InvalidTransition {
            status: referral.status.as_str().to_string(),
            action: action.name().into(),
            why: Some("of the referral".into()),
        });
    }
    if case.lead_unit_id != referral.to_unit_id {
        return Some(conflict(
            "the case has moved on from this referral's receiver",
        ));
    }
    None
}

/// A referral of a matter the county sent up is out of its parties' hands, as the case is
/// (`workflow::open`): the higher body decides what becomes of it.
fn sent_up_refusal(action: ReferralAction, case: &case::Model) -> AppError {
    AppError::InvalidTransition {
        status: case.status.as_str().to_string(),
        action: action.name().into(),
        why: Some(crate::workflow::SENT_UP.into()),
    }
}

/// Why an approved objection cannot send the case back now: a hearing holds the clock, or the
/// receiver has already decided acceptance (the case left REGISTERED: a reply, a review or a
/// closing would otherwise be undone by a return to the start). Overruling is never refused
/// here: the receiver keeps the case either way.
fn return_refusal(case: &case::Model) -> Option<AppError> {
    if case.clock_paused_at.is_some() {
        return Some(invalid(
            case,
            Action::Transfer,
            Some("a hearing holds this case's clock; end it before returning the case"),
        ));
    }
    if case.status != CaseStatus::Registered {
        return Some(invalid(
            case,
            Action::Transfer,
            Some(
                "the receiver has already decided acceptance, so the case stays with it; \
                 overrule the objection, or transfer the case",
            ),
        ));
    }
    None
}

/// Why an objection cannot be raised now: a hearing holds the clock, the 5 working days have
/// passed, or the receiver has already decided acceptance.
fn objection_refusal(
    referral: &referral::Model,
    case: &case::Model,
    now: DateTime<Utc>,
) -> Option<AppError> {
    if case.clock_paused_at.is_some() {
        return Some(invalid(
            case,
            Action::Transfer,
            Some("a hearing holds this case's clock; end it before objecting"),
        ));
    }
    if now > referral.object_by {
        return Some(AppError::DeadlinePassed(
            "the 5 working days to object have passed".into(),
        ));
    }
    if case.status != CaseStatus::Registered {
        return Some(invalid(
            case,
            Action::Transfer,
            Some("an objection comes before the acceptance decision"),
        ));
    }
    None
}

/// What the viewer may do with a referral now (`Referral.viewerCan`): the checks the three
/// actions make before they write, on the referral and its case as they stand. (Approving an
/// objection can still be refused while a hearing holds the clock, once the receiver has
/// decided acceptance, or for where it would send an accusation; overruling cannot.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReferralCapabilities {
    pub acknowledge: bool,
    pub object: bool,
    pub resolve_objection: bool,
}

/// [`ReferralCapabilities`] given the referral's case as it stands (read by
/// [`referral_case_rows`], whether or not the viewer sees it: the referral entitles its
/// parties, as in `open_referral`).
pub fn capabilities_given(
    viewer: &Viewer,
    referral: &referral::Model,
    case: &case::Model,
    now: DateTime<Utc>,
) -> ReferralCapabilities {
    let can = |action: ReferralAction| {
        viewer.may_on_referral(referral, case, action == ReferralAction::Resolve)
            && state_refusal(action, referral, case).is_none()
            && !viewer.kept_from_sent_up(case)
    };
    ReferralCapabilities {
        acknowledge: can(ReferralAction::Acknowledge),
        object: can(ReferralAction::Object) && objection_refusal(referral, case, now).is_none(),
        resolve_objection: can(ReferralAction::Resolve),
    }
}

/// The cases behind referrals, by case id, in one statement, for the referrals' own checks
/// ([`capabilities_given`]); never shown as such (a party may no longer see the case).
pub async fn referral_case_rows(
    db: &impl ConnectionTrait,
    case_ids: &[i64],
) -> Result<std::collections::HashMap<i64, case::Model>> {
    let rows = case::Entity::find()
        .filter(case::Column::Id.is_in(db::bucketed_ids(case_ids.iter().copied())))
        .order_by_asc(case::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.id, c)).collect())
}

async fn drop_pending_relation(open: &Open, unit_id: i64) -> Result<()> {
    case_unit::Entity::delete_many()
        .filter(case_unit::Column::CaseId.eq(open.case.id))
        .filter(case_unit::Column::UnitId.eq(unit_id))
        .filter(case_unit::Column::Relation.eq(UnitRelation::PendingReferral.as_str()))
        .exec(&open.tx)
        .await?;
    Ok(())
}

/// 签收: the receiver acknowledges a referral.
pub async fn acknowledge_referral(
    caller: &Caller<'_>,
    referral_id: i64,
) -> Result<referral::Model> {
    let (open, found) =
        open_referral(caller, referral_id, ReferralAction::Acknowledge, None).await?;
    let mut row: referral::ActiveModel = found.clone().into();
    row.status = Set(ReferralStatus::Acknowledged);
    row.resolved_at = Set(Some(open.now));
    row.resolved_by_user_id = Set(Some(caller.viewer.user_id));
    let row = row.update(&open.tx).await?;
    drop_pending_relation(&open, found.to_unit_id).await?;
    save(
        with_record(open, row.id),
        unchanged(),
        "REFERRAL_ACKNOWLEDGED",
        json!({ "referralId": referral_id }),
        false,
    )
    .await?;
    Ok(row)
}

/// 异议: within 5 working days of arrival, before accepting, the receiver objects that the
/// case was misrouted. It keeps the case until the sender or the bureau decides.
pub async fn object_referral(
    caller: &Caller<'_>,
    referral_id: i64,
    reason: &str,
) -> Result<referral::Model> {
    text("reason", reason)?;
    let (mut open, found) =
        open_referral(caller, referral_id, ReferralAction::Object, None).await?;
    if let Some(refused) = objection_refusal(&found, &open.case, open.now) {
        return Err(refused);
    }
    let mut row: referral::ActiveModel = found.clone().into();
    row.status = Set(ReferralStatus::Objected);
    row.objection_reason = Set(Some(reason.to_string()));
    let row = row.update(&open.tx).await?;
    open.inbox = Some((found.from_unit_id, InboxKind::Objection, Some(referral_id)));
    save(
        with_record(open, row.id),
        unchanged(),
        "REFERRAL_OBJECTED",
        json!({ "referralId": referral_id, "reason": reason }),
        false,
    )
    .await?;
    Ok(row)
}

/// 异议处理: the sender or the bureau approves an objection (the case returns to the sender,
/// which must decide acceptance afresh) or overrules it (the receiver keeps the case).
pub async fn resolve_objection(
    caller: &Caller<'_>,
    referral_id: i64,
    expected_version: Option<i32>,
    approve: bool,
    note: Option<&str>,
) -> Result<referral::Model> {
    validate::optional_text("note", note, TEXT_MAX)?;
    let (mut open, found) = open_referral(
        caller,
        referral_id,
        ReferralAction::Resolve,
        expected_version,
    )
    .await?;
    if approve && let Some(refused) = return_refusal(&open.case) {
        return Err(refused);
    }
    if approve && let Some(accused_id) = open.case.accused_unit_id {
        let accused = find_unit(&open.tx, accused_id).await?;
        let sender = find_unit(&open.tx, found.from_unit_id).await?;
        if let Some(why) = crate::access::accusation_lead_refusal(&accused, &sender) {
            return Err(bad_input(
                "approve",
                format!(
                    "the case cannot go back to {}: {why}; overrule the objection, or transfer \
                     the case to another unit",
                    sender.name
                ),
            ));
        }
    }
    let status = if approve {
        ReferralStatus::Returned
    } else {
        ReferralStatus::Kept
    };
    let mut row: referral::ActiveModel = found.clone().into();
    row.status = Set(status);
    row.resolved_at = Set(Some(open.now));
    row.resolved_by_user_id = Set(Some(caller.viewer.user_id));
    row.resolution_note = Set(note.map(str::to_owned));
    let row = row.update(&open.tx).await?;
    drop_pending_relation(&open, found.to_unit_id).await?;
    let changes = if approve {
        move_lead(&open, found.to_unit_id, found.from_unit_id).await?;
        open.inbox = Some((
            found.from_unit_id,
            InboxKind::ObjectionResolved,
            Some(referral_id),
        ));
        restart_acceptance(&open, found.from_unit_id)
    } else {
        open.inbox = Some((
            found.to_unit_id,
            InboxKind::ObjectionResolved,
            Some(referral_id),
        ));
        unchanged()
    };
    let action = if approve {
        "OBJECTION_APPROVED"
    } else {
        "OBJECTION_OVERRULED"
    };
    save(
        with_record(open, row.id),
        changes,
        action,
        json!({ "referralId": referral_id, "note": note }),
        false,
    )
    .await?;
    Ok(row)
}

// ---------------------------------------------------------------------------------------
// Reading referrals

/// A referral by id, when the viewer sees its case, or is a party to it (domain §5: the sender
/// keeps the referral after the case has left its sight), with the case when visible.
pub async fn visible_referral(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(Option<case::Model>, referral::Model)>> {
    let sight = sea_orm::Condition::any()
        .add(viewer.case_scope())
        .add(viewer.referral_party_scope());
    let Some(row) = with_case(referral::Entity::find_by_id(id))
        .filter(sight)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((find_visible(db, viewer, row.case_id).await?, row)))
}

/// Referrals joined to their case under the `cases` alias the access conditions speak of.
fn with_case(query: sea_orm::Select<referral::Entity>) -> sea_orm::Select<referral::Entity> {
    use sea_orm::QuerySelect;
    query.join_as(
        sea_orm::sea_query::JoinType::InnerJoin,
        referral::Entity::belongs_to(case::Entity)
            .from(referral::Column::CaseId)
            .to(case::Column::Id)
            .into(),
        sea_orm::sea_query::Alias::new(crate::access::CASES),
    )
}

/// A referral by id, for an event whose case the caller has already found in the viewer's
/// sight (an inbox item names the referral it is about).
pub async fn referral_record(db: &impl ConnectionTrait, id: i64) -> Result<Option<ReferralRecord>> {
    Ok(referral::Entity::find_by_id(id).one(db).await?)
}

/// The case behind a referral the viewer is a party to, for its number and title, even when
/// the case itself is out of the viewer's sight; `None` when the viewer is no party.
pub async fn referral_case(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    referral_id: i64,
) -> Result<Option<case::Model>> {
    let Some(row) = with_case(referral::Entity::find_by_id(referral_id))
        .filter(viewer.referral_party_scope())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(case::Entity::find_by_id(row.case_id).one(db).await?)
}

/// The referrals a viewer's unit sent (or received), newest first, with the number and title
/// of each one's case, leaving out accusations against the unit; and how many there are.
pub async fn referral_list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    received: bool,
    statuses: &[&'static str],
    offset: u64,
    limit: u64,
) -> Result<(Vec<(referral::Model, String, String)>, u64)> {
    use sea_orm::sea_query::{Alias, Expr};
    use sea_orm::{QuerySelect, QueryTrait};
    let Some(scope) = viewer.referral_list_scope(received) else {
        return Ok((vec![], 0));
    };
    let mut query = with_case(referral::Entity::find()).filter(scope);
    if !statuses.is_empty() {
        query = query.filter(referral::Column::Status.is_in(statuses.iter().copied()));
    }
    let total = sea_orm::PaginatorTrait::count(query.clone(), db).await?;
    let mut select = query
        .order_by_desc(referral::Column::Id)
        .offset(offset)
        .limit(limit)
        .into_query();
    let cases = Alias::new(crate::access::CASES);
    select
        .expr_as(
            Expr::col((cases.clone(), Alias::new("number"))),
            "case_number",
        )
        .expr_as(Expr::col((cases, Alias::new("title"))), "case_title");
    let stmt = db.get_database_backend().build(&select);
    let rows = db.query_all_raw(stmt).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let model = <referral::Model as sea_orm::FromQueryResult>::from_query_result(&row, "")?;
        let number: String = row.try_get("", "case_number")?;
        let title: String = row.try_get("", "case_title")?;
        out.push((model, number, title));
    }
    Ok((out, total))
}

/// The number and title of the cases behind referrals, by case id (one statement). The
/// referral itself entitles its parties to them (see [`Viewer::sees_referral`]).
pub async fn referral_case_facts(
    db: &impl ConnectionTrait,
    case_ids: Vec<i64>,
) -> Result<std::collections::HashMap<i64, (String, String)>> {
    Ok(referral_case_rows(db, &case_ids)
        .await?
        .into_iter()
        .map(|(id, c)| (id, (c.number, c.title)))
        .collect())
}
