//! Dispute screening (矛盾纠纷排查, domain §11): townships and departments report risks —
//! in a monthly return (which may report none) and at once when urgent — with a grade and the
//! people and places involved; the bureau follows each up and can register one as a case
//! (`registerCase(disputeReportId)`). A unit reads its own reports; the county's bureau and
//! county unit read all of the county's, except one that became a case they may not see. The
//! people named show in full to the reporting unit and the bureau, masked (ID number and
//! phone) to the county unit. A monthly return is due by the end of the
//! [`RETURN_DUE_DAY`]th of the following month; the units that have not made it are listed.

use crate::access::Viewer;
use crate::audit::{self, Actor, AdminAction};
use crate::calendar::{end_of_day, local_date};
use crate::clock::Clock;
use crate::domain::{DisputeGrade, OrgUnitKind};
use crate::error::{AppError, Result, bad_input, conflict, forbidden};
use crate::validate::{mask_id_number, mask_phone};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use xinfang_entity::{dispute_report, dispute_return, org_unit};

/// A monthly return is due by the end of this day of the following month.
pub const RETURN_DUE_DAY: u32 = 5;
/// At most this many risks in one return, and people on one risk.
pub const RISKS_MAX: usize = 50;
pub const PEOPLE_MAX: usize = 50;

/// A person a risk involves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

pub struct NewRisk {
    pub grade: DisputeGrade,
    pub title: String,
    pub summary: String,
    pub people: Vec<Person>,
    pub places: String,
    pub township_id: Option<i64>,
}

fn actor(viewer: &Viewer) -> Actor {
    Actor {
        user_id: Some(viewer.user_id),
        unit_id: viewer.unit.as_ref().map(|u| u.id),
    }
}

/// `YYYY-MM` as the first day of that month.
pub fn parse_period(field: &str, value: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 7)
        .ok_or_else(|| bad_input(field, "a month is written YYYY-MM"))
}

/// The instant a month's return is due.
pub fn return_due(period_start: NaiveDate) -> DateTime<Utc> {
    let next = period_start
        .checked_add_months(chrono::Months::new(1))
        .expect("a month after a valid month");
    end_of_day(next.with_day(RETURN_DUE_DAY).expect("day 5 exists"))
}

/// The reporting unit: a township or department of a county.
fn reporting_unit(viewer: &Viewer) -> Result<(i64, i64)> {
    let unit = viewer.handling_unit()?;
    match (unit.kind, unit.county_id) {
        (OrgUnitKind::Township | OrgUnitKind::Department, Some(county))
            if !unit.petition_bureau =>
        {
            Ok((unit.id, county))
        }
        _ => Err(forbidden(
            "dispute screening is reported by townships and departments",
        )),
    }
}

fn check_risk(prefix: &str, r: &NewRisk) -> Result<Vec<Person>> {
    crate::validate::text(&format!("{prefix}title"), &r.title, 1, 200)?;
    crate::validate::text(
        &format!("{prefix}summary"),
        &r.summary,
        1,
        crate::workflow::TEXT_MAX,
    )?;
    crate::validate::text(&format!("{prefix}places"), &r.places, 0, 500)?;
    if r.people.len() > PEOPLE_MAX {
        return Err(bad_input(
            format!("{prefix}people"),
            format!("name at most {PEOPLE_MAX} people"),
        ));
    }
    let mut people = vec![];
    for (i, p) in r.people.iter().enumerate() {
        let at = format!("{prefix}people[{i}].");
        crate::validate::text(&format!("{at}name"), &p.name, 1, 50)?;
        people.push(Person {
            name: p.name.clone(),
            id_number: p
                .id_number
                .as_deref()
                .map(|v| crate::validate::id_number(&format!("{at}idNumber"), v))
                .transpose()?,
            phone: p
                .phone
                .as_deref()
                .map(|v| crate::validate::phone(&format!("{at}phone"), v))
                .transpose()?,
        });
    }
    Ok(people)
}

async fn township_in(
    db: &impl ConnectionTrait,
    field: &str,
    id: Option<i64>,
    county: i64,
) -> Result<()> {
    if let Some(id) = id {
        org_unit::Entity::find_by_id(id)
            .filter(org_unit::Column::CountyId.eq(county))
            .filter(org_unit::Column::Kind.eq(OrgUnitKind::Township.as_str()))
            .one(db)
            .await?
            .ok_or_else(|| bad_input(field, "name a township of the county"))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_risk(
    tx: &impl ConnectionTrait,
    viewer: &Viewer,
    (unit, county): (i64, i64),
    period: Option<String>,
    urgent: bool,
    r: NewRisk,
    people: Vec<Person>,
    now: DateTime<Utc>,
) -> Result<dispute_report::Model> {
    Ok(dispute_report::ActiveModel {
        unit_id: Set(unit),
        county_id: Set(county),
        period: Set(period),
        urgent: Set(urgent),
        grade: Set(r.grade.as_str().into()),
        title: Set(r.title),
        summary: Set(r.summary),
        people: Set(
            serde_json::to_string(&people).map_err(|e| crate::error::internal(e.to_string()))?
        ),
        places: Set(r.places),
        township_id: Set(r.township_id),
        reported_by_user_id: Set(viewer.user_id),
        reported_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?)
}

/// 月报: a unit's return for a month (this one or earlier), once, with its risks (none is
/// a return too).
pub async fn submit_return(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    period: &str,
    risks: Vec<NewRisk>,
) -> Result<(dispute_return::Model, Vec<dispute_report::Model>)> {
    let (unit, county) = reporting_unit(viewer)?;
    let start = parse_period("period", period)?;
    let now = clock.now();
    let today = local_date(now);
    let this_month = today.with_day(1).expect("day 1");
    if start > this_month || start < this_month - chrono::Months::new(24) {
        return Err(bad_input(
            "period",
            "a return is made for this month or one of the 24 before it",
        ));
    }
    if risks.len() > RISKS_MAX {
        return Err(bad_input(
            "risks",
            format!("report at most {RISKS_MAX} risks"),
        ));
    }
    let mut checked = vec![];
    for (i, r) in risks.iter().enumerate() {
        checked.push(check_risk(&format!("risks[{i}]."), r)?);
    }
    let tx = crate::db::begin_write(db).await?;
    for (i, r) in risks.iter().enumerate() {
        township_in(
            &tx,
            &format!("risks[{i}].townshipId"),
            r.township_id,
            county,
        )
        .await?;
    }
    let exists = dispute_return::Entity::find()
        .filter(dispute_return::Column::UnitId.eq(unit))
        .filter(dispute_return::Column::Period.eq(period))
        .one(&tx)
        .await?;
    if exists.is_some() {
        return Err(conflict(format!(
            "your unit already made its return for {period}"
        )));
    }
    let row = dispute_return::ActiveModel {
        unit_id: Set(unit),
        county_id: Set(county),
        period: Set(period.to_string()),
        items: Set(risks.len() as i32),
        submitted_by_user_id: Set(viewer.user_id),
        submitted_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .map_err(|e| match e.sql_err() {
        // Two returns sent at once: the unique index refuses the second.
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            conflict(format!("your unit already made its return for {period}"))
        }
        _ => e.into(),
    })?;
    let mut reports = vec![];
    for (r, people) in risks.into_iter().zip(checked) {
        reports.push(
            insert_risk(
                &tx,
                viewer,
                (unit, county),
                Some(period.into()),
                false,
                r,
                people,
                now,
            )
            .await?,
        );
    }
    audit::append_admin(
        &tx,
        now,
        actor(viewer),
        AdminAction {
            action: "DISPUTE_RETURN_SUBMITTED",
            unit_id: Some(unit),
            target: format!("DisputeReturn:{}", row.id),
            detail: json!({"period": period, "reportIds": reports.iter().map(|r| r.id).collect::<Vec<_>>()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((row, reports))
}

/// 即时报告: an urgent risk, reported at once.
pub async fn report_urgent(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    risk: NewRisk,
) -> Result<dispute_report::Model> {
    let (unit, county) = reporting_unit(viewer)?;
    let people = check_risk("risk.", &risk)?;
    let now = clock.now();
    let tx = crate::db::begin_write(db).await?;
    township_in(&tx, "risk.townshipId", risk.township_id, county).await?;
    let row = insert_risk(&tx, viewer, (unit, county), None, true, risk, people, now).await?;
    audit::append_admin(
        &tx,
        now,
        actor(viewer),
        AdminAction {
            action: "DISPUTE_REPORTED",
            unit_id: Some(unit),
            target: format!("DisputeReport:{}", row.id),
            detail: json!({"grade": row.grade, "urgent": true}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// What the viewer may do with a report it sees (`DisputeReport.viewerCan`): the checks of
/// [`follow_up`] and [`turn_into_case`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DisputeCapabilities {
    pub follow_up: bool,
    pub register_case: bool,
}

pub fn capabilities(viewer: &Viewer, row: &dispute_report::Model) -> DisputeCapabilities {
    let screens = viewer.acts_for_bureau_of(row.county_id);
    DisputeCapabilities {
        follow_up: screens,
        register_case: screens && row.case_id.is_none(),
    }
}

/// 跟踪督办: the bureau records its follow-up of a report (the latest stands; each is on the
/// administrative record).
pub async fn follow_up(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    report_id: i64,
    text: &str,
) -> Result<dispute_report::Model> {
    crate::validate::text("text", text, 1, crate::workflow::TEXT_MAX)?;
    let tx = crate::db::begin_write(db).await?;
    let row = find_visible(&tx, viewer, report_id)
        .await?
        .ok_or(AppError::NotFound("dispute report"))?;
    if !viewer.acts_for_bureau_of(row.county_id) {
        return Err(forbidden("the petition bureau follows dispute reports up"));
    }
    let now = clock.now();
    let mut active: dispute_report::ActiveModel = row.into();
    active.follow_up = Set(Some(text.to_string()));
    active.followed_up_at = Set(Some(now));
    active.followed_up_by_user_id = Set(Some(viewer.user_id));
    let row = active.update(&tx).await?;
    audit::append_admin(
        &tx,
        now,
        actor(viewer),
        AdminAction {
            action: "DISPUTE_FOLLOWED_UP",
            unit_id: Some(row.unit_id),
            target: format!("DisputeReport:{}", row.id),
            detail: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Inside registration: the bureau turns a report of its county into the case just created
/// (once).
pub(crate) async fn turn_into_case(
    tx: &impl ConnectionTrait,
    viewer: &Viewer,
    report_id: i64,
    case_id: i64,
    county_id: i64,
) -> Result<()> {
    if !viewer.acts_for_bureau_of(county_id) {
        return Err(forbidden(
            "the petition bureau turns a dispute report into a case",
        ));
    }
    let row = dispute_report::Entity::find_by_id(report_id)
        .filter(dispute_report::Column::CountyId.eq(county_id))
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(|| bad_input("disputeReportId", "no such dispute report in your county"))?;
    if row.case_id.is_some() {
        return Err(conflict("this dispute report is already a case"));
    }
    let mut active: dispute_report::ActiveModel = row.into();
    active.case_id = Set(Some(case_id));
    active.update(tx).await?;
    Ok(())
}

/// Whose reports the viewer reads at all (see [`Viewer::unit_record_scope`]).
fn scope(viewer: &Viewer) -> Condition {
    viewer.unit_record_scope(
        dispute_report::Column::UnitId,
        dispute_report::Column::CountyId,
    )
}

/// The condition that keeps out, for anyone but the reporting unit, a report that became an
/// accusation the viewer may not see.
fn not_hidden(viewer: &Viewer, own: i64) -> Condition {
    let hidden = crate::cases::hidden_accusation_ids(viewer);
    Condition::any()
        .add(dispute_report::Column::UnitId.eq(own))
        .add(dispute_report::Column::CaseId.is_null())
        .add(dispute_report::Column::CaseId.not_in_subquery(hidden))
}

/// The reports the viewer reads, newest first: their unit's, or the county's for its
/// bureau and county unit; optionally only urgent ones, or one unit's.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    urgent_only: bool,
    unit_id: Option<i64>,
    limit: u64,
) -> Result<Vec<dispute_report::Model>> {
    let own = viewer.handling_unit()?.id;
    let mut q = dispute_report::Entity::find()
        .filter(scope(viewer))
        .filter(not_hidden(viewer, own));
    if urgent_only {
        q = q.filter(dispute_report::Column::Urgent.eq(true));
    }
    if let Some(u) = unit_id {
        q = q.filter(dispute_report::Column::UnitId.eq(u));
    }
    Ok(q.order_by_desc(dispute_report::Column::ReportedAt)
        .order_by_desc(dispute_report::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<dispute_report::Model>> {
    let Ok(unit) = viewer.handling_unit() else {
        return Ok(None);
    };
    Ok(dispute_report::Entity::find_by_id(id)
        .filter(scope(viewer))
        .filter(not_hidden(viewer, unit.id))
        .one(db)
        .await?)
}

/// The people of a report as this viewer may read them.
pub fn people(viewer: &Viewer, row: &dispute_report::Model) -> Vec<Person> {
    let people: Vec<Person> = serde_json::from_str(&row.people).unwrap_or_default();
    if viewer.sees_reported_people(row.unit_id, row.county_id) {
        return people;
    }
    people
        .into_iter()
        .map(|p| Person {
            name: p.name,
            id_number: p.id_number.as_deref().map(mask_id_number),
            phone: p.phone.as_deref().map(mask_phone),
        })
        .collect()
}

/// 逾期未报: the county's townships and departments without a return for `period` once it
/// is due, for its bureau and county unit. `None` when the return is not yet due.
pub async fn overdue_returns(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    period: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<org_unit::Model>>> {
    let county = viewer
        .oversees_county()
        .ok_or_else(|| forbidden("the bureau and the county unit oversee screening returns"))?;
    let start = parse_period("period", period)?;
    if now <= return_due(start) {
        return Ok(None);
    }
    let made = Query::select()
        .column(dispute_return::Column::UnitId)
        .from(dispute_return::Entity)
        .and_where(Expr::col(dispute_return::Column::Period).eq(period))
        .to_owned();
    Ok(Some(
        org_unit::Entity::find()
            .filter(org_unit::Column::CountyId.eq(county))
            .filter(org_unit::Column::Active.eq(true))
            .filter(org_unit::Column::PetitionBureau.eq(false))
            .filter(org_unit::Column::Kind.is_in([
                OrgUnitKind::Township.as_str(),
                OrgUnitKind::Department.as_str(),
            ]))
            .filter(org_unit::Column::Id.not_in_subquery(made))
            .order_by_asc(org_unit::Column::Path)
            .all(db)
            .await?,
    ))
}

/// The month before `now`'s (local), `YYYY-MM`: the return most recently due.
pub fn last_month(now: DateTime<Utc>) -> String {
    let first = local_date(now).with_day(1).expect("day 1");
    let prev = first
        .checked_sub_months(chrono::Months::new(1))
        .expect("a month before");
    format!("{:04}-{:02}", prev.year(), prev.month())
}
