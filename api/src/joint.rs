//! The county joint meeting (联席会议, domain §11): the bureau records a sitting and the items
//! put to it, each with the units that must act on it and by when (optionally about a case);
//! each unit answers its part once; items with a part unanswered past the date are listed.
//! The bureau and the county unit read every item of the county; a unit, the items it must act
//! on. An item about a case shows the case only to whoever sees it, and is never given to a
//! unit the case's accusation names (it would learn of the accusation).

use crate::access::Viewer;
use crate::audit::{self, Actor, AdminAction};
use crate::calendar::{end_of_day, local_date};
use crate::clock::Clock;
use crate::county_calendar::parse_date;
use crate::error::{AppError, Result, bad_input, conflict, forbidden};
use chrono::{DateTime, Days, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use std::collections::HashMap;
use xinfang_entity::{joint_item, joint_item_unit, joint_meeting, org_unit};

pub const ITEMS_MAX: usize = 50;
pub const UNITS_MAX: usize = 30;
pub const LIST_MAX: u64 = 200;

fn actor(viewer: &Viewer) -> Actor {
    Actor {
        user_id: Some(viewer.user_id),
        unit_id: viewer.unit.as_ref().map(|u| u.id),
    }
}

pub struct NewItem {
    pub text: String,
    pub case_id: Option<i64>,
    pub unit_ids: Vec<i64>,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

/// Records a sitting of the joint meeting with its items, all or nothing (the bureau).
pub async fn record(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    held_on: &str,
    title: &str,
    items: Vec<NewItem>,
) -> Result<(joint_meeting::Model, Vec<joint_item::Model>)> {
    let county = viewer
        .bureau_county()
        .ok_or_else(|| forbidden("the petition bureau records the joint meeting"))?;
    let now = clock.now();
    let today = local_date(now);
    let held = parse_date("heldOn", held_on)?;
    if held > today || held < today - Days::new(366) {
        return Err(bad_input(
            "heldOn",
            "a meeting is recorded once it was held, within a year",
        ));
    }
    crate::validate::text("title", title, 1, 200)?;
    if items.is_empty() || items.len() > ITEMS_MAX {
        return Err(bad_input("items", format!("give 1 to {ITEMS_MAX} items")));
    }
    let mut dues = vec![];
    for (i, item) in items.iter().enumerate() {
        crate::validate::text(
            &format!("items[{i}].text"),
            &item.text,
            1,
            crate::workflow::TEXT_MAX,
        )?;
        if item.unit_ids.is_empty() || item.unit_ids.len() > UNITS_MAX {
            return Err(bad_input(
                format!("items[{i}].unitIds"),
                format!("name 1 to {UNITS_MAX} units"),
            ));
        }
        let due = parse_date(&format!("items[{i}].dueOn"), &item.due_on)?;
        if due < held || due > today + Days::new(366) {
            return Err(bad_input(
                format!("items[{i}].dueOn"),
                "an item is due after the meeting, within a year",
            ));
        }
        dues.push(due);
    }
    let tx = crate::db::begin_write(db).await?;
    let meeting = joint_meeting::ActiveModel {
        county_id: Set(county),
        held_on: Set(held.to_string()),
        title: Set(title.to_string()),
        recorded_by_user_id: Set(viewer.user_id),
        recorded_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let mut rows = vec![];
    for (i, (item, due)) in items.into_iter().zip(dues).enumerate() {
        let case = match item.case_id {
            Some(id) => Some(
                crate::cases::find_visible(&tx, viewer, id)
                    .await?
                    .ok_or_else(|| bad_input(format!("items[{i}].caseId"), "no such case"))?,
            ),
            None => None,
        };
        let row = joint_item::ActiveModel {
            meeting_id: Set(meeting.id),
            county_id: Set(county),
            text: Set(item.text),
            case_id: Set(case.as_ref().map(|c| c.id)),
            due_on: Set(due.to_string()),
            due_at: Set(end_of_day(due)),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let mut units = item.unit_ids.clone();
        units.sort_unstable();
        units.dedup();
        for unit_id in units {
            let field = format!("items[{i}].unitIds");
            let unit = org_unit::Entity::find_by_id(unit_id)
                .filter(org_unit::Column::CountyId.eq(county))
                .filter(org_unit::Column::Active.eq(true))
                .one(&tx)
                .await?
                .ok_or_else(|| bad_input(&field, "name active units of the county"))?;
            if let Some(c) = &case
                && crate::workflow::inside_accused(&tx, c, &unit).await?
            {
                return Err(bad_input(
                    &field,
                    "an item about an accusation is not given to the unit it accuses",
                ));
            }
            joint_item_unit::ActiveModel {
                item_id: Set(row.id),
                unit_id: Set(unit_id),
                answer: Set(None),
                answered_at: Set(None),
                answered_by_user_id: Set(None),
            }
            .insert(&tx)
            .await?;
        }
        rows.push(row);
    }
    audit::append_admin(
        &tx,
        now,
        actor(viewer),
        AdminAction {
            action: "JOINT_MEETING_RECORDED",
            unit_id: Some(county),
            target: format!("JointMeeting:{}", meeting.id),
            detail: json!({"heldOn": meeting.held_on, "itemIds": rows.iter().map(|r| r.id).collect::<Vec<_>>()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((meeting, rows))
}

/// A unit answers its part of an item, once.
pub async fn answer(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    item_id: i64,
    text: &str,
) -> Result<joint_item::Model> {
    crate::validate::text("text", text, 1, crate::workflow::TEXT_MAX)?;
    let unit = viewer.handling_unit()?.id;
    let tx = crate::db::begin_write(db).await?;
    let item = find_visible(&tx, viewer, item_id)
        .await?
        .ok_or(AppError::NotFound("joint meeting item"))?;
    let part = joint_item_unit::Entity::find_by_id((item.id, unit))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| forbidden("your unit was not given this item"))?;
    if part.answered_at.is_some() {
        return Err(conflict("your unit already answered this item"));
    }
    let now = clock.now();
    let mut active: joint_item_unit::ActiveModel = part.into();
    active.answer = Set(Some(text.to_string()));
    active.answered_at = Set(Some(now));
    active.answered_by_user_id = Set(Some(viewer.user_id));
    active.update(&tx).await?;
    audit::append_admin(
        &tx,
        now,
        actor(viewer),
        AdminAction {
            action: "JOINT_ITEM_ANSWERED",
            unit_id: Some(unit),
            target: format!("JointItem:{}", item.id),
            detail: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(item)
}

/// Items the viewer reads: those given to their unit (never the unit an item's accusation
/// accuses), and for the county's bureau and county unit all of the county's except those
/// about an accusation they may not see.
fn scope(viewer: &Viewer) -> Result<Condition> {
    let unit = viewer.handling_unit()?;
    let not_hidden = Condition::any()
        .add(joint_item::Column::CaseId.is_null())
        .add(
            joint_item::Column::CaseId.not_in_subquery(crate::cases::hidden_accusation_ids(viewer)),
        );
    let mine = Query::select()
        .column(joint_item_unit::Column::ItemId)
        .from(joint_item_unit::Entity)
        .and_where(Expr::col(joint_item_unit::Column::UnitId).eq(unit.id))
        .to_owned();
    let given = Condition::all()
        .add(joint_item::Column::Id.in_subquery(mine))
        .add(
            Condition::any()
                .add(joint_item::Column::CaseId.is_null())
                .add(
                    joint_item::Column::CaseId
                        .not_in_subquery(crate::cases::accusations_against(viewer)),
                ),
        );
    Ok(match viewer.oversees_county() {
        Some(county) => Condition::any().add(given).add(
            Condition::all()
                .add(joint_item::Column::CountyId.eq(county))
                .add(not_hidden),
        ),
        None => given,
    })
}

pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<joint_item::Model>> {
    if viewer.handling_unit().is_err() {
        return Ok(None);
    }
    Ok(joint_item::Entity::find_by_id(id)
        .filter(scope(viewer)?)
        .one(db)
        .await?)
}

/// The items the viewer reads, newest meeting first; with `overdue`, only those with a part
/// unanswered past the date.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    overdue: bool,
    now: DateTime<Utc>,
) -> Result<Vec<joint_item::Model>> {
    let mut q = joint_item::Entity::find().filter(scope(viewer)?);
    if overdue {
        let open = Query::select()
            .column(joint_item_unit::Column::ItemId)
            .from(joint_item_unit::Entity)
            .and_where(Expr::col(joint_item_unit::Column::AnsweredAt).is_null())
            .to_owned();
        q = q
            .filter(joint_item::Column::DueAt.lt(now))
            .filter(joint_item::Column::Id.in_subquery(open));
    }
    Ok(q.order_by_desc(joint_item::Column::MeetingId)
        .order_by_asc(joint_item::Column::Id)
        .limit(LIST_MAX)
        .all(db)
        .await?)
}

/// Joint meetings by id (the meetings of items the caller already sees).
pub async fn meetings_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, joint_meeting::Model>> {
    Ok(joint_meeting::Entity::find()
        .filter(joint_meeting::Column::Id.is_in(crate::db::bucketed_ids(ids.iter().copied())))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect())
}

/// Whether the viewer's unit may answer an item now (`JointItem.viewerCan.answer`): it was
/// given a part of it, not yet answered — what [`answer`] checks of an item the viewer sees.
pub fn may_answer(viewer: &Viewer, parts: &[joint_item_unit::Model]) -> bool {
    viewer.handling_unit().is_ok_and(|u| {
        parts
            .iter()
            .any(|p| p.unit_id == u.id && p.answered_at.is_none())
    })
}

/// The units' parts of items (the items the caller already sees), each item's by unit.
pub async fn parts_of_items(
    db: &impl ConnectionTrait,
    item_ids: &[i64],
) -> Result<HashMap<i64, Vec<joint_item_unit::Model>>> {
    let mut out: HashMap<i64, Vec<joint_item_unit::Model>> = HashMap::new();
    for part in joint_item_unit::Entity::find()
        .filter(
            joint_item_unit::Column::ItemId
                .is_in(crate::db::bucketed_ids(item_ids.iter().copied())),
        )
        .order_by_asc(joint_item_unit::Column::ItemId)
        .order_by_asc(joint_item_unit::Column::UnitId)
        .all(db)
        .await?
    {
        out.entry(part.item_id).or_default().push(part);
    }
    Ok(out)
}

/// The items about cases, oldest first (staff records: the caller asks
/// `Viewer::sees_staff_records` first).
pub async fn items_by_case(
    db: &impl ConnectionTrait,
    case_ids: &[i64],
) -> Result<HashMap<i64, Vec<joint_item::Model>>> {
    let mut out: HashMap<i64, Vec<joint_item::Model>> = HashMap::new();
    for item in joint_item::Entity::find()
        .filter(joint_item::Column::CaseId.is_in(crate::db::bucketed_ids(case_ids.iter().copied())))
        .order_by_asc(joint_item::Column::Id)
        .all(db)
        .await?
    {
        if let Some(case_id) = item.case_id {
            out.entry(case_id).or_default().push(item);
        }
    }
    Ok(out)
}
