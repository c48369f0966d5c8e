//! The review chain (domain §4 Review / re-review, §8 Delivery, §9 Decisions above the
//! county): delivery of written decisions, review requests for appeals, and the reviewing
//! body's decision — upheld, replaced, or quashed and sent back for a new reply (重新办理).
//!
//! The reviewing body is the parent unit of the body below. Where that parent is not a unit
//! of the deployment (a county-only deployment has nothing above the county), the review is
//! *above the county*: the county's petition bureau stands as the reviewing unit and records
//! the higher body's decision with its document number and date, so the case still reaches
//! `FINALIZED`.

use crate::domain::{
    Action, Category, ChangeMode, DeliveryMethod, HigherLevel, ReviewDecision, ReviewStage,
    UnitRelation,
};
use crate::error::{AppError, Result, bad_input, conflict};
use crate::identity::find_unit;
use crate::workflow::{
    Caller, HANDLING_DAYS, REVIEW_DAYS, inside_accused, invalid, open, save, text, unchanged,
};
use crate::{cases::add_relation, domain::CaseStatus, validate};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use xinfang_entity::{case, higher_body, org_unit, reply, review};

/// The reply that stands: the latest one no review has set aside.
pub(crate) async fn current_reply(
    db: &impl ConnectionTrait,
    case_id: i64,
) -> Result<Option<reply::Model>> {
    Ok(reply::Entity::find()
        .filter(reply::Column::CaseId.eq(case_id))
        .filter(reply::Column::QuashedByReviewId.is_null())
        .order_by_desc(reply::Column::Id)
        .one(db)
        .await?)
}

pub(crate) async fn latest_decided_review(
    db: &impl ConnectionTrait,
    case_id: i64,
) -> Result<Option<review::Model>> {
    Ok(review::Entity::find()
        .filter(review::Column::CaseId.eq(case_id))
        .filter(review::Column::DecidedAt.is_not_null())
        .order_by_desc(review::Column::Id)
        .one(db)
        .await?)
}

/// The written decision waiting for delivery.
enum Waiting {
    Reply(reply::Model),
    Decision(review::Model),
}

impl Waiting {
    /// As the timeline names it.
    fn name(&self) -> &'static str {
        match self {
            Waiting::Reply(_) => "REPLY",
            Waiting::Decision(r) if r.stage == ReviewStage::Review => "REVIEW_DECISION",
            Waiting::Decision(_) => "RE_REVIEW_DECISION",
        }
    }

    fn issued_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Waiting::Reply(r) => r.issued_at,
            Waiting::Decision(r) => r.decided_at.unwrap_or(now),
        }
    }
}

/// 送达: how and when, if the caller says when (default: now).
pub struct Delivery {
    pub method: DeliveryMethod,
    pub delivered_at: Option<DateTime<Utc>>,
    /// A postal tracking number, or where an e-mail or SMS link went.
    pub tracking: Option<String>,
    /// The document the caller named (`deliverDocument`): refused if, under the case's lock,
    /// it is no longer the one waiting (a correction replaced it since it was read).
    pub document_id: Option<i64>,
}

/// Records that the written decision waiting for delivery reached the petitioner: the reply
/// (its review window then runs 30 days from delivery), or a review decision (the re-review
/// window likewise; after a re-review there is none). A petitioner records delivery in the
/// app by opening it (`IN_APP`, now); staff record the other methods.
pub async fn record_delivery(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: Option<i32>,
    delivery: Delivery,
) -> Result<case::Model> {
    crate::documents::check_method(caller, delivery.method, delivery.delivered_at)?;
    crate::documents::check_tracking(delivery.method, delivery.tracking.as_deref())?;
    let open = open(caller, case_id, Action::RecordDelivery, expected_version).await?;
    if !open.case.awaiting_delivery {
        return Err(conflict(
            "nothing is waiting for delivery: the last written decision was already delivered",
        ));
    }
    let at = delivery.delivered_at.unwrap_or(open.now);
    if at > open.now {
        return Err(bad_input("deliveredAt", "delivery cannot be in the future"));
    }
    // The document waiting: the reply while REPLIED, otherwise the latest review decision.
    let document = if open.case.status == CaseStatus::Replied {
        Waiting::Reply(
            current_reply(&open.tx, open.case.id)
                .await?
                .ok_or_else(|| invalid(&open.case, Action::RecordDelivery, Some("no reply")))?,
        )
    } else {
        Waiting::Decision(
            latest_decided_review(&open.tx, open.case.id)
                .await?
                .ok_or_else(|| {
                    invalid(
                        &open.case,
                        Action::RecordDelivery,
                        Some("no review decision"),
                    )
                })?,
        )
    };
    if at < document.issued_at(open.now) {
        return Err(bad_input(
            "deliveredAt",
            "delivery cannot precede the document it delivers",
        ));
    }
    // A delivery recorded so late that the petitioner's window would already have closed
    // would take the window away from them: record when it truly arrived, and in time.
    if open.calendar.due_after_days(at, REVIEW_DAYS) < open.now {
        return Err(bad_input(
            "deliveredAt",
            "a delivery older than its 30-day window cannot be recorded now; ask the petition bureau",
        ));
    }
    // The petitioner's window runs from delivery: review of the reply, re-review of the
    // review decision. A re-review decision ends the matter; a decision that sent the case
    // back for a new reply opens no window (the new reply will).
    let window = matches!(open.case.status, CaseStatus::Replied | CaseStatus::Reviewed)
        .then(|| open.calendar.due_after_days(at, REVIEW_DAYS));
    let by = Set(Some(caller.viewer.user_id));
    let name = document.name();
    let (reply_id, review_id) = match &document {
        Waiting::Reply(r) => (Some(r.id), None),
        Waiting::Decision(r) => (None, Some(r.id)),
    };
    let number = crate::documents::mark_delivered(
        &open.tx,
        delivery.document_id,
        (reply_id, review_id),
        delivery.method,
        at,
        delivery.tracking.clone(),
        caller.viewer.user_id,
    )
    .await?;
    match document {
        Waiting::Reply(current) => {
            let mut row: reply::ActiveModel = current.into();
            row.delivered_at = Set(Some(at));
            row.delivery_method = Set(Some(delivery.method));
            row.delivery_recorded_by_user_id = by;
            row.review_request_by = Set(window);
            row.update(&open.tx).await?;
        }
        Waiting::Decision(decided) => {
            let mut row: review::ActiveModel = decided.into();
            row.delivered_at = Set(Some(at));
            row.delivery_method = Set(Some(delivery.method));
            row.delivery_recorded_by_user_id = by;
            row.update(&open.tx).await?;
        }
    }
    let mut changes = unchanged();
    changes.awaiting_delivery = Set(false);
    if window.is_some() {
        changes.review_request_by = Set(window);
    }
    let detail = json!({ "document": name, "number": number, "method": delivery.method.as_str(), "deliveredAt": at, "reviewRequestBy": window });
    save(open, changes, "DELIVERED", detail, true).await
}

/// Who stands as the reviewing unit of a decision by `below`, and whether the body deciding
/// sits above the deployment: the parent unit, or else the county's petition bureau
/// recording a higher body's decision.
async fn reviewer_of(
    db: &impl ConnectionTrait,
    case: &case::Model,
    below: &org_unit::Model,
    below_is_above_county: bool,
) -> Result<(org_unit::Model, bool)> {
    if !below_is_above_county && let Some(parent_id) = below.parent_id {
        let parent = find_unit(db, parent_id).await?;
        if !parent.active {
            return Err(bad_input(
                "caseId",
                format!("the reviewing body {} is deactivated", parent.name),
            ));
        }
        return Ok((parent, false));
    }
    let bureau = org_unit::Entity::find()
        .filter(org_unit::Column::BureauOfCountyId.eq(case.county_id))
        .one(db)
        .await?
        .ok_or_else(|| {
            bad_input(
                "caseId",
                "the review goes above the county, and the county has no petition bureau to record it",
            )
        })?;
    Ok((bureau, true))
}

/// 复查/复核申请: appeals only, within 30 days of delivery of the reply (review) or of the
/// review decision (re-review). The case's state says which stage.
pub async fn request_review(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: Option<i32>,
    reason: &str,
) -> Result<case::Model> {
    text("reason", reason)?;
    let open = open(caller, case_id, Action::RequestReview, expected_version).await?;
    if open.case.category != Category::Appeal {
        return Err(invalid(
            &open.case,
            Action::RequestReview,
            Some(
                "only appeals (申诉求决) are reviewed; suggestions and accusations follow their own paths",
            ),
        ));
    }
    if open.case.awaiting_delivery {
        return Err(invalid(
            &open.case,
            Action::RequestReview,
            Some(
                "the decision has not been delivered yet; the review window runs from delivery (recordDelivery)",
            ),
        ));
    }
    if open.case.review_request_by.is_some_and(|by| open.now > by) {
        return Err(AppError::DeadlinePassed(
            "the 30-day window to ask for a review has closed".into(),
        ));
    }
    let (stage, below, below_above) = if open.case.status == CaseStatus::Replied {
        let lead = find_unit(&open.tx, open.case.lead_unit_id).await?;
        (ReviewStage::Review, lead, false)
    } else {
        let decided = latest_decided_review(&open.tx, open.case.id)
            .await?
            .ok_or_else(|| {
                invalid(
                    &open.case,
                    Action::RequestReview,
                    Some("no review decision"),
                )
            })?;
        let body = find_unit(&open.tx, decided.reviewing_unit_id).await?;
        (ReviewStage::ReReview, body, decided.above_county)
    };
    let (reviewer, above_county) = reviewer_of(&open.tx, &open.case, &below, below_above).await?;
    let decide_by = open.calendar.due_after_days(open.now, REVIEW_DAYS);
    review::ActiveModel {
        case_id: Set(open.case.id),
        stage: Set(stage),
        reason: Set(reason.to_string()),
        requested_by_user_id: Set(caller.viewer.user_id),
        on_behalf: Set(caller.viewer.acts_on_behalf()),
        requested_at: Set(open.now),
        reviewing_unit_id: Set(reviewer.id),
        decide_by: Set(decide_by),
        above_county: Set(above_county),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    if !inside_accused(&open.tx, &open.case, &reviewer).await? {
        add_relation(&open.tx, &open.case, reviewer.id, UnitRelation::Reviewing).await?;
    }
    let mut changes = unchanged();
    changes.status = Set(match stage {
        ReviewStage::Review => CaseStatus::UnderReview,
        ReviewStage::ReReview => CaseStatus::UnderReReview,
    });
    changes.reviewing_unit_id = Set(Some(reviewer.id));
    changes.decide_by = Set(Some(decide_by));
    // A body above the county owns its own clock; the county's oversight lists do not
    // count it against the bureau that records the decision.
    changes.due_at = Set((!above_county).then_some(decide_by));
    let detail = json!({ "stage": stage.as_str(), "reviewingUnitId": reviewer.id, "aboveCounty": above_county, "decideBy": decide_by, "onBehalf": caller.viewer.acts_on_behalf() });
    save(open, changes, "REVIEW_REQUESTED", detail, true).await
}

/// A decision by a body above the county, as the county's bureau records it.
pub struct HigherDecision {
    pub body_name: String,
    pub level: HigherLevel,
    /// 文号
    pub document_number: String,
    /// The date on the higher body's decision.
    pub decided_on: NaiveDate,
}

pub struct ReviewDecisionInput {
    pub decision: ReviewDecision,
    pub text: String,
    /// For a CHANGE: replace the decision below, or send the case back for a new reply.
    pub change: Option<ChangeMode>,
    /// For a review above the county: who decided, under which document number, when.
    pub higher: Option<HigherDecision>,
}

/// The named higher body, created on first mention.
pub(crate) async fn higher_body_named(
    db: &impl ConnectionTrait,
    name: &str,
    level: HigherLevel,
    now: DateTime<Utc>,
) -> Result<higher_body::Model> {
    let find = || {
        higher_body::Entity::find()
            .filter(higher_body::Column::Name.eq(name))
            .filter(higher_body::Column::Level.eq(level))
            .one(db)
    };
    if let Some(body) = find().await? {
        return Ok(body);
    }
    // Two first mentions at once: the second insert does nothing and both read the one row.
    higher_body::Entity::insert(higher_body::ActiveModel {
        name: Set(name.to_string()),
        level: Set(level),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            higher_body::Column::Name,
            higher_body::Column::Level,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    find()
        .await?
        .ok_or_else(|| crate::error::internal("a higher body vanished after its insert"))
}

/// 复查/复核决定 by the reviewing body (or, above the county, recorded by the bureau).
/// `UPHOLD` keeps the decision below. `CHANGE` with `REPLACE` puts the reviewing body's own
/// decision in its place; with `REDO` (review stage only) it quashes the reply and sends the
/// case back to the lead unit for a new one with a fresh 60-day handling clock. After a
/// re-review the matter is concluded (`FINALIZED`).
pub async fn decide_review(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
    input: ReviewDecisionInput,
) -> Result<case::Model> {
    text("text", &input.text)?;
    match (input.decision, input.change) {
        (ReviewDecision::Change, None) => {
            return Err(bad_input(
                "change",
                "a CHANGE says what it does: REPLACE the decision below, or REDO (send the case back for a new reply)",
            ));
        }
        (ReviewDecision::Uphold, Some(_)) => {
            return Err(bad_input("change", "an UPHOLD changes nothing"));
        }
        _ => {}
    }
    let higher = match &input.higher {
        Some(h) => {
            validate::text("higherBody.name", &h.body_name, 1, 100)?;
            validate::text("higherBody.documentNumber", &h.document_number, 1, 100)?;
            Some(h)
        }
        None => None,
    };
    let open = open(
        caller,
        case_id,
        Action::DecideReview,
        Some(expected_version),
    )
    .await?;
    let pending = review::Entity::find()
        .filter(review::Column::CaseId.eq(open.case.id))
        .filter(review::Column::Decision.is_null())
        .order_by_desc(review::Column::Id)
        .one(&open.tx)
        .await?
        .ok_or_else(|| {
            invalid(
                &open.case,
                Action::DecideReview,
                Some("no review is pending"),
            )
        })?;
    if pending.stage == ReviewStage::ReReview && input.change == Some(ChangeMode::Redo) {
        return Err(bad_input(
            "change",
            "a re-review concludes the matter: it may replace the decision below, not send the case back",
        ));
    }
    let higher_body = match (pending.above_county, higher) {
        (true, None) => {
            return Err(bad_input(
                "higherBody",
                "this review is decided above the county: record the body, its document number and the date of its decision",
            ));
        }
        (false, Some(_)) => {
            return Err(bad_input(
                "higherBody",
                "this review is decided here; only a decision above the county is recorded from a document",
            ));
        }
        (true, Some(h)) => {
            let today = crate::calendar::local_date(open.now);
            let requested = crate::calendar::local_date(pending.requested_at);
            if h.decided_on > today || h.decided_on < requested {
                return Err(bad_input(
                    "higherBody.decidedOn",
                    "the decision's date lies between the review request and today",
                ));
            }
            Some(higher_body_named(&open.tx, h.body_name.trim(), h.level, open.now).await?)
        }
        (false, None) => None,
    };
    let review_id = pending.id;
    let stage = pending.stage;
    let reviewing_unit_id = pending.reviewing_unit_id;
    let on_time = open.now <= pending.decide_by;
    let mut decided: review::ActiveModel = pending.into();
    decided.decision = Set(Some(input.decision));
    decided.text = Set(Some(input.text.clone()));
    decided.change_mode = Set(input.change);
    decided.decided_by_user_id = Set(Some(caller.viewer.user_id));
    decided.decided_at = Set(Some(open.now));
    decided.higher_body_id = Set(higher_body.as_ref().map(|b| b.id));
    decided.document_number = Set(higher.map(|h| h.document_number.trim().to_string()));
    decided.decided_on = Set(higher.map(|h| h.decided_on));
    decided.update(&open.tx).await?;
    // A CHANGE sets the standing reply aside — at re-review too, where it overturns the
    // review decision that upheld it.
    if input.decision == ReviewDecision::Change
        && let Some(standing) = current_reply(&open.tx, open.case.id).await?
    {
        let mut row: reply::ActiveModel = standing.into();
        row.quashed_by_review_id = Set(Some(review_id));
        row.update(&open.tx).await?;
    }
    let mut changes = unchanged();
    changes.decide_by = Set(None);
    changes.due_at = Set(None);
    changes.review_request_by = Set(None);
    // The decision is a written one the petitioner must receive.
    changes.awaiting_delivery = Set(true);
    match (stage, input.change) {
        (ReviewStage::Review, Some(ChangeMode::Redo)) => {
            let handle_by = open.calendar.due_after_days(open.now, HANDLING_DAYS);
            changes.status = Set(CaseStatus::InProgress);
            changes.handle_by = Set(Some(handle_by));
            changes.due_at = Set(Some(handle_by));
            changes.replied_at = Set(None);
            changes.extension_days = Set(0);
        }
        (ReviewStage::Review, _) => changes.status = Set(CaseStatus::Reviewed),
        (ReviewStage::ReReview, _) => changes.status = Set(CaseStatus::Finalized),
    }
    // 复查/复核意见书 — issued here unless the decision was made above the county (that body
    // issued its own, recorded by number).
    let document = if higher_body.is_none() {
        let next_reviewer = match (stage, input.change) {
            (ReviewStage::Review, Some(ChangeMode::Redo)) | (ReviewStage::ReReview, _) => None,
            (ReviewStage::Review, _) => {
                let reviewing = find_unit(&open.tx, reviewing_unit_id).await?;
                match reviewing.parent_id {
                    Some(parent) => Some(Some(find_unit(&open.tx, parent).await?.name)),
                    None => Some(None),
                }
            }
        };
        let decision = match (input.decision, input.change) {
            (ReviewDecision::Uphold, _) => "维持原处理意见",
            (_, Some(ChangeMode::Redo)) => "撤销原处理意见，责成原办理机关重新办理",
            _ => "变更原处理意见",
        };
        let draft = crate::documents::review_decision(
            &open.case,
            stage == ReviewStage::ReReview,
            decision,
            &input.text,
            next_reviewer.as_ref().map(|r| r.as_deref()),
            review_id,
        );
        Some(crate::documents::issue(&open, draft).await?.1)
    } else {
        None
    };
    let detail = json!({
        "document": document,
        "stage": stage.as_str(), "decision": input.decision.as_str(),
        "change": input.change.map(|c| c.as_str()), "onTime": on_time,
        "higherBody": higher_body.as_ref().map(|b| &b.name),
        "documentNumber": higher.map(|h| h.document_number.trim()),
        "decidedOn": higher.map(|h| h.decided_on),
    });
    save(open, changes, "REVIEW_DECIDED", detail, true).await
}
