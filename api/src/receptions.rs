//! Leader reception (领导接访, domain §10): a unit's roster of which leader receives
//! petitioners when and where, kept by its ADMIN or a LEADER; each reception a leader held,
//! whom it received, and the cases it produced (registered there: `registerCase(receptionId)`)
//! or took over. A unit reads its own receptions, the county's bureau and county unit all of
//! the county's; a case's receptions show to whoever sees the case, the visitors of an
//! accusation 保密 to whoever does not see its petitioners. The roster is public to any
//! signed-in account: it is what the county publishes.

use crate::access::Viewer;
use crate::audit::{self, Actor, AdminAction};
use crate::clock::Clock;
use crate::county_calendar::parse_date;
use crate::domain::Role;
use crate::error::{AppError, Result, bad_input, forbidden};
use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use std::collections::HashMap;
use xinfang_entity::{case, reception, reception_case, reception_slot, user};

/// At most this many people named on one reception, and cases linked to it.
pub const VISITORS_MAX: usize = 50;
pub const CASES_MAX: usize = 20;

fn actor(viewer: &Viewer) -> Actor {
    Actor {
        user_id: Some(viewer.user_id),
        unit_id: viewer.unit.as_ref().map(|u| u.id),
    }
}

/// The leader named, as an active LEADER of `unit_id`, or `BAD_USER_INPUT` on `field`.
async fn leader_of_unit(
    db: &impl ConnectionTrait,
    field: &str,
    leader_user_id: i64,
    unit_id: i64,
) -> Result<user::Model> {
    user::Entity::find_by_id(leader_user_id)
        .filter(user::Column::OrgUnitId.eq(unit_id))
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
        .filter(|u| u.role == Role::Leader)
        .ok_or_else(|| bad_input(field, "name an active leader of the unit"))
}

fn parse_time(field: &str, value: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(value, "%H:%M")
        .map_err(|_| bad_input(field, "times are written HH:MM"))
}

pub struct NewSlot {
    pub unit_id: i64,
    pub leader_user_id: i64,
    /// 1 = Monday … 7 = Sunday; or `on_date`.
    pub weekday: Option<i32>,
    pub on_date: Option<String>,
    pub starts: String,
    pub ends: String,
    pub place: String,
}

/// Adds a line to a unit's roster (its ADMIN or a LEADER).
pub async fn add_slot(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    new: NewSlot,
) -> Result<reception_slot::Model> {
    if !viewer.keeps_roster_of(new.unit_id) {
        return Err(forbidden(
            "only the unit's administrator or a leader keeps its reception roster",
        ));
    }
    match (new.weekday, &new.on_date) {
        (Some(d), None) if (1..=7).contains(&d) => {}
        (None, Some(d)) => {
            let day = parse_date("onDate", d)?;
            if day < crate::calendar::local_date(clock.now()) {
                return Err(bad_input("onDate", "a roster line is for today or later"));
            }
        }
        _ => {
            return Err(bad_input(
                "weekday",
                "give either a weekday (1 = Monday … 7 = Sunday) or a date",
            ));
        }
    }
    let (starts, ends) = (
        parse_time("starts", &new.starts)?,
        parse_time("ends", &new.ends)?,
    );
    if ends <= starts {
        return Err(bad_input("ends", "a reception ends after it starts"));
    }
    crate::validate::text("place", &new.place, 1, 200)?;
    let tx = crate::db::begin_write(db).await?;
    leader_of_unit(&tx, "leaderId", new.leader_user_id, new.unit_id).await?;
    let now = clock.now();
    let row = reception_slot::ActiveModel {
        unit_id: Set(new.unit_id),
        leader_user_id: Set(new.leader_user_id),
        weekday: Set(new.weekday),
        on_date: Set(new.on_date.clone()),
        starts: Set(starts.format("%H:%M").to_string()),
        ends: Set(ends.format("%H:%M").to_string()),
        place: Set(new.place.clone()),
        created_by_user_id: Set(viewer.user_id),
        created_at: Set(now),
        active: Set(true),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::append_admin(
        &tx,
        now,
        actor(viewer),
        AdminAction {
            action: "RECEPTION_SLOT_ADDED",
            unit_id: Some(new.unit_id),
            target: format!("ReceptionSlot:{}", row.id),
            detail: json!({"leaderId": row.leader_user_id, "weekday": row.weekday,
                "onDate": row.on_date, "starts": row.starts, "ends": row.ends, "place": row.place}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Takes a line off the roster (kept, inactive).
pub async fn remove_slot(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    slot_id: i64,
) -> Result<reception_slot::Model> {
    let tx = crate::db::begin_write(db).await?;
    let row = reception_slot::Entity::find_by_id(slot_id)
        .filter(reception_slot::Column::Active.eq(true))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("reception slot"))?;
    if !may_remove_slot(viewer, &row) {
        return Err(forbidden(
            "only the unit's administrator or a leader keeps its reception roster",
        ));
    }
    let mut active: reception_slot::ActiveModel = row.into();
    active.active = Set(false);
    let row = active.update(&tx).await?;
    audit::append_admin(
        &tx,
        clock.now(),
        actor(viewer),
        AdminAction {
            action: "RECEPTION_SLOT_REMOVED",
            unit_id: Some(row.unit_id),
            target: format!("ReceptionSlot:{}", row.id),
            detail: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// A unit's roster: its active lines with the leaders' names, by weekday then date then
/// time. Public to any signed-in account.
pub async fn roster(
    db: &impl ConnectionTrait,
    unit_id: i64,
) -> Result<Vec<(reception_slot::Model, String)>> {
    let slots = reception_slot::Entity::find()
        .filter(reception_slot::Column::UnitId.eq(unit_id))
        .filter(reception_slot::Column::Active.eq(true))
        .order_by_asc(reception_slot::Column::Weekday)
        .order_by_asc(reception_slot::Column::OnDate)
        .order_by_asc(reception_slot::Column::Starts)
        .order_by_asc(reception_slot::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = slots.iter().map(|s| s.leader_user_id).collect();
    let leaders = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(slots
        .into_iter()
        .map(|s| {
            let name = leaders
                .iter()
                .find(|u| u.id == s.leader_user_id)
                .map(|u| u.display_name.clone())
                .unwrap_or_default();
            (s, name)
        })
        .collect())
}

pub struct NewReception {
    pub leader_user_id: i64,
    pub received_at: DateTime<Utc>,
    pub place: String,
    /// Whom the leader received, by name.
    pub visitors: Vec<String>,
    pub person_count: i32,
    pub summary: String,
    /// Cases the leader took over at the reception (seen by the recording unit).
    pub case_ids: Vec<i64>,
}

/// Records a reception held by a leader of the viewer's unit, and links the cases it took
/// over (each gets a staff-only `RECEPTION` entry, heard live like any other), in one
/// transaction.
pub async fn record(
    db: &DatabaseConnection,
    clock: &Clock,
    bus: &crate::events::Bus,
    viewer: &Viewer,
    new: NewReception,
) -> Result<reception::Model> {
    let unit = viewer.handling_unit()?.clone();
    let county_id = unit
        .county_id
        .ok_or_else(|| forbidden("only a county's units record receptions"))?;
    let now = clock.now();
    if new.received_at > now || new.received_at < now - TimeDelta::days(366) {
        return Err(bad_input(
            "receivedAt",
            "a reception is recorded after it was held, within a year",
        ));
    }
    crate::validate::text("place", &new.place, 1, 200)?;
    crate::validate::text("summary", &new.summary, 1, crate::workflow::TEXT_MAX)?;
    if new.visitors.is_empty() || new.visitors.len() > VISITORS_MAX {
        return Err(bad_input(
            "visitors",
            format!("name 1 to {VISITORS_MAX} people received"),
        ));
    }
    for (i, v) in new.visitors.iter().enumerate() {
        crate::validate::text(&format!("visitors[{i}]"), v, 1, 50)?;
    }
    if new.person_count < new.visitors.len() as i32 || new.person_count > 10_000 {
        return Err(bad_input(
            "personCount",
            "at least as many people as named, at most 10,000",
        ));
    }
    if new.case_ids.len() > CASES_MAX {
        return Err(bad_input(
            "caseIds",
            format!("link at most {CASES_MAX} cases"),
        ));
    }
    let tx = crate::db::begin_write(db).await?;
    leader_of_unit(&tx, "leaderId", new.leader_user_id, unit.id).await?;
    let row = reception::ActiveModel {
        unit_id: Set(unit.id),
        county_id: Set(county_id),
        leader_user_id: Set(new.leader_user_id),
        received_at: Set(new.received_at),
        place: Set(new.place.clone()),
        visitors: Set(serde_json::to_string(&new.visitors)
            .map_err(|e| crate::error::internal(e.to_string()))?),
        person_count: Set(new.person_count),
        summary: Set(new.summary.clone()),
        recorded_by_user_id: Set(viewer.user_id),
        recorded_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let mut seen = vec![];
    let mut events = vec![];
    for (i, id) in new.case_ids.iter().enumerate() {
        if seen.contains(id) {
            continue;
        }
        seen.push(*id);
        let case = case::Entity::find()
            .filter(case::Column::Id.eq(*id))
            .filter(viewer.case_scope())
            .lock_exclusive()
            .one(&tx)
            .await?
            .ok_or_else(|| bad_input(format!("caseIds[{i}]"), "no such case"))?;
        if let Some(event) = link(&tx, viewer, &case, row.id, false, now).await? {
            bus.stage(&tx, &event).await?;
            events.push(event);
        }
    }
    audit::append_admin(
        &tx,
        now,
        actor(viewer),
        AdminAction {
            action: "RECEPTION_RECORDED",
            unit_id: Some(unit.id),
            target: format!("Reception:{}", row.id),
            detail: json!({"leaderId": row.leader_user_id, "receivedAt": row.received_at,
                "personCount": row.person_count, "caseIds": seen}),
        },
    )
    .await?;
    tx.commit().await?;
    for event in events {
        bus.committed(event);
    }
    Ok(row)
}

/// Links a case to a reception (produced there, or taken over) with a staff-only entry on
/// the case's record, inside the caller's transaction; the case row is locked by the caller
/// (or was just created by it). The entry's event, when there is one, is already in the
/// webhook outbox; the caller puts it on the live bus.
pub(crate) async fn link(
    tx: &impl ConnectionTrait,
    viewer: &Viewer,
    case: &case::Model,
    reception_id: i64,
    produced: bool,
    now: DateTime<Utc>,
) -> Result<Option<crate::events::Event>> {
    reception_case::ActiveModel {
        reception_id: Set(reception_id),
        case_id: Set(case.id),
        produced: Set(produced),
    }
    .insert(tx)
    .await?;
    if produced {
        // Registered there: the link row is the record (the public REGISTER entry names no
        // staff record); `Case.receptions` shows it to staff.
        return Ok(None);
    }
    let entry = audit::append(
        tx,
        case.county_id,
        case.id,
        now,
        actor(viewer),
        "RECEPTION",
        json!({"receptionId": reception_id, "produced": false}),
        false,
    )
    .await?;
    // The units' own systems hear of it like any other entry (the webhook outbox is written
    // in this transaction).
    let event = crate::events::Event::of_entry(case.id, entry.id, "RECEPTION", false, now);
    crate::outbox::enqueue(tx, &event).await?;
    case::Entity::update_many()
        .col_expr(
            case::Column::Version,
            Expr::col(case::Column::Version).add(1),
        )
        .col_expr(case::Column::UpdatedAt, Expr::value(now))
        .filter(case::Column::Id.eq(case.id))
        .exec(tx)
        .await?;
    Ok(Some(event))
}

/// The reception a case is registered at: one of the registering unit's own.
pub(crate) async fn own_reception(
    tx: &impl ConnectionTrait,
    viewer: &Viewer,
    reception_id: i64,
) -> Result<reception::Model> {
    let unit = viewer.handling_unit()?;
    reception::Entity::find_by_id(reception_id)
        .filter(reception::Column::UnitId.eq(unit.id))
        .one(tx)
        .await?
        .ok_or_else(|| bad_input("receptionId", "no such reception of your unit"))
}

/// Whether the viewer may take this line off its unit's roster (`ReceptionSlot.viewerCan`).
pub fn may_remove_slot(viewer: &Viewer, row: &reception_slot::Model) -> bool {
    row.active && viewer.keeps_roster_of(row.unit_id)
}

/// The condition that keeps out, for anyone but the reception's own unit, a reception
/// linked to an accusation the viewer may not see (one against the viewer's unit).
fn not_linked_to_hidden(viewer: &Viewer, own_unit: i64) -> Condition {
    let hidden = Query::select()
        .column(reception_case::Column::ReceptionId)
        .from(reception_case::Entity)
        .and_where(
            Expr::col(reception_case::Column::CaseId)
                .in_subquery(crate::cases::hidden_accusation_ids(viewer)),
        )
        .to_owned();
    Condition::any()
        .add(reception::Column::UnitId.eq(own_unit))
        .add(reception::Column::Id.not_in_subquery(hidden))
}

/// The receptions the viewer reads (their unit's; the county's for its bureau and county
/// unit, except those linked to a case they may not see), newest first, at most `limit`,
/// optionally of one unit.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    unit_id: Option<i64>,
    limit: u64,
) -> Result<Vec<reception::Model>> {
    let own = viewer.handling_unit()?.id;
    let mut q = reception::Entity::find()
        .filter(viewer.unit_record_scope(reception::Column::UnitId, reception::Column::CountyId))
        .filter(not_linked_to_hidden(viewer, own));
    if let Some(u) = unit_id {
        q = q.filter(reception::Column::UnitId.eq(u));
    }
    Ok(q.order_by_desc(reception::Column::ReceivedAt)
        .order_by_desc(reception::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// One reception, where the viewer reads it: as its unit or the county's overseers, or by
/// seeing a case linked to it.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<reception::Model>> {
    if !viewer.sees_staff_records() {
        return Ok(None);
    }
    let Ok(own) = viewer.handling_unit().map(|u| u.id) else {
        return Ok(None);
    };
    let on_visible_case = Query::select()
        .column(reception_case::Column::ReceptionId)
        .from(reception_case::Entity)
        .and_where(
            Expr::col(reception_case::Column::CaseId)
                .in_subquery(crate::cases::visible_ids(viewer)),
        )
        .to_owned();
    let reach = Condition::any()
        .add(viewer.unit_record_scope(reception::Column::UnitId, reception::Column::CountyId))
        .add(reception::Column::Id.in_subquery(on_visible_case));
    Ok(reception::Entity::find_by_id(id)
        .filter(reach)
        .filter(not_linked_to_hidden(viewer, own))
        .one(db)
        .await?)
}

/// The receptions each of some cases (that the viewer sees) came from or was taken over at,
/// with whether the case was produced there; for staff only.
pub async fn of_cases(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    cases: &[case::Model],
) -> Result<HashMap<i64, Vec<(reception::Model, bool)>>> {
    let mut out: HashMap<i64, Vec<(reception::Model, bool)>> = HashMap::new();
    if !viewer.sees_staff_records() || cases.is_empty() {
        return Ok(out);
    }
    let own = viewer.handling_unit()?.id;
    let links = reception_case::Entity::find()
        .filter(
            reception_case::Column::CaseId
                .is_in(crate::db::bucketed_ids(cases.iter().map(|c| c.id))),
        )
        .all(db)
        .await?;
    let rows = reception::Entity::find()
        .filter(reception::Column::Id.is_in(crate::db::bucketed_ids(
            links.iter().map(|l| l.reception_id),
        )))
        .filter(not_linked_to_hidden(viewer, own))
        .order_by_asc(reception::Column::Id)
        .all(db)
        .await?;
    for row in rows {
        for link in links.iter().filter(|l| l.reception_id == row.id) {
            out.entry(link.case_id)
                .or_default()
                .push((row.clone(), link.produced));
        }
    }
    Ok(out)
}

/// The cases linked to each of some receptions that the viewer sees, with whether each was
/// produced there, by case id.
pub async fn cases_of(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    reception_ids: &[i64],
) -> Result<HashMap<i64, Vec<(case::Model, bool)>>> {
    let links = reception_case::Entity::find()
        .filter(
            reception_case::Column::ReceptionId
                .is_in(crate::db::bucketed_ids(reception_ids.iter().copied())),
        )
        .filter(reception_case::Column::CaseId.in_subquery(crate::cases::visible_ids(viewer)))
        .order_by_asc(reception_case::Column::CaseId)
        .all(db)
        .await?;
    let ids: Vec<i64> = links.iter().map(|l| l.case_id).collect();
    let found = crate::records::visible_cases(db, viewer, &ids).await?;
    let mut out: HashMap<i64, Vec<(case::Model, bool)>> = HashMap::new();
    for link in links {
        if let Some(case) = found.get(&link.case_id) {
            out.entry(link.reception_id)
                .or_default()
                .push((case.clone(), link.produced));
        }
    }
    Ok(out)
}

/// The visitors of a reception as this viewer may read them, given the reception's cases
/// the viewer sees ([`cases_of`]): an accusation among them that the viewer sees without its
/// petitioners makes them 保密 (except to the reception's own unit).
pub fn visitors(
    viewer: &Viewer,
    row: &reception::Model,
    cases: &[(case::Model, bool)],
) -> Vec<String> {
    let names: Vec<String> = serde_json::from_str(&row.visitors).unwrap_or_default();
    let confidential = cases.iter().any(|(c, _)| !viewer.sight(c).reads_parties());
    let own = viewer.handling_unit().is_ok_and(|u| u.id == row.unit_id);
    if confidential && !own {
        return names
            .iter()
            .map(|_| crate::access::CONFIDENTIAL_NAME.to_string())
            .collect();
    }
    names
}
