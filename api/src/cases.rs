//! Cases: registration (by staff and by citizens), numbering, idempotency, repeat linking,
//! the unit-relation rows that the access scope reads, and the scoped read paths.
//!
//! Every read here takes a [`Viewer`] and adds its [`Viewer::case_scope`] to the SQL.

use crate::access::{self, CASES, Viewer};
use crate::audit::{self, Actor};
use crate::calendar::{WorkCalendar, local_date};
use crate::clock::Clock;
use crate::db;
use crate::deadlines;
use crate::directory::Directory;
use crate::domain::FromDb;
use crate::domain::{
    CaseStatus, Category, Channel, DeadlineKind, OrgUnitKind, PetitionerKind, Role, UnitRelation,
};
use crate::error::{Result, bad_input, conflict, forbidden, internal};
use crate::events::{Bus, Event};
use crate::identity::find_unit;
use crate::matters;
use crate::validate;
use base64::Engine;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use sea_orm::sea_query::{
    Alias, Condition, Expr, ExprTrait, Func, JoinType, OnConflict, Order, Query,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Set, TryIntoModel,
};
use serde::{Deserialize, Serialize};
use xinfang_entity::{
    calendar_day, case, case_petitioner, case_unit, idempotency_key, org_unit, subject,
    supervision, user,
};

pub const TITLE_MAX: usize = 200;
pub const CONTENT_MAX: usize = 20_000;
pub const PETITIONERS_MAX: usize = 100;
pub const GROUP_SIZE: i32 = 5;
pub const REPRESENTATIVES_MAX: usize = 5;
pub use crate::deadlines::ACCEPTANCE_DAYS;
pub const IDEMPOTENCY_KEY_MAX: usize = 128;
/// A petition registered now was received at most this many years ago.
pub const RECEIVED_MAX_AGE_YEARS: i64 = 10;

#[derive(Clone, Debug, serde::Serialize)]
pub struct PetitionerEntry {
    pub kind: PetitionerKind,
    /// A person's name, or an organisation's.
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub representative: bool,
    /// An organisation's unified social credit code.
    pub credit_code: Option<String>,
    /// Who speaks for an organisation.
    pub contact_person: Option<String>,
}

impl PetitionerEntry {
    /// A person with only a name (fields are filled in by the caller).
    pub fn person(name: &str) -> PetitionerEntry {
        PetitionerEntry {
            kind: PetitionerKind::Person,
            name: name.to_string(),
            id_number: None,
            phone: None,
            address: None,
            representative: false,
            credit_code: None,
            contact_person: None,
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct NewCase {
    pub channel: Channel,
    pub category: Category,
    pub subject: String,
    pub title: String,
    pub content: String,
    pub township_id: Option<i64>,
    pub received_at: Option<DateTime<Utc>>,
    pub petitioners: Vec<PetitionerEntry>,
    pub person_count: Option<i32>,
    pub accused_unit_id: Option<i64>,
    pub lead_unit_id: Option<i64>,
    /// 上级转交办: the higher body that handed the case down (channel HIGHER_REFERRAL).
    pub from_higher: Option<crate::higher::HigherIntake>,
    /// 紧急: registered late, it is flagged like a group visit.
    pub urgent: bool,
    /// 领导接访: the registering unit's reception the case was raised at.
    pub reception_id: Option<i64>,
    /// 矛盾纠纷排查: the dispute report the bureau turns into this case.
    pub dispute_report_id: Option<i64>,
    /// 12345: the hotline platform's ticket number (channel HOTLINE_12345).
    pub hotline_ticket: Option<String>,
}

/// The calendar of a county: weekends plus its configured exceptions.
pub async fn work_calendar(db: &impl ConnectionTrait, county_id: i64) -> Result<WorkCalendar> {
    let rows = calendar_day::Entity::find()
        .filter(calendar_day::Column::CountyId.eq(county_id))
        .all(db)
        .await?;
    let days = rows
        .into_iter()
        .filter_map(|r| {
            NaiveDate::parse_from_str(&r.day, "%Y-%m-%d")
                .ok()
                .map(|d| (d, r.working))
        })
        .collect::<Vec<_>>();
    Ok(WorkCalendar::new(days))
}

fn validate_petitioners(
    entries: &[PetitionerEntry],
    channel: Channel,
) -> Result<Vec<PetitionerEntry>> {
    // An anonymous letter (匿名信) names nobody; every other petition names its petitioners.
    if entries.is_empty() && channel != Channel::Letter {
        return Err(bad_input(
            "petitioners",
            "name at least one petitioner (only a letter may be anonymous)",
        ));
    }
    if entries.len() > PETITIONERS_MAX {
        return Err(bad_input(
            "petitioners",
            format!("at most {PETITIONERS_MAX} petitioners may be listed"),
        ));
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let f = |name: &str| format!("petitioners[{i}].{name}");
            validate::optional_text(&f("address"), p.address.as_deref(), 200)?;
            let (credit_code, contact_person) = match p.kind {
                PetitionerKind::Person => {
                    validate::text(&f("name"), &p.name, 1, 50)?;
                    if p.credit_code.is_some() || p.contact_person.is_some() {
                        return Err(bad_input(
                            f("creditCode"),
                            "only an organisation has a credit code and a contact person",
                        ));
                    }
                    (None, None)
                }
                PetitionerKind::Organisation => {
                    validate::text(&f("name"), &p.name, 1, 100)?;
                    if p.id_number.is_some() {
                        return Err(bad_input(
                            f("idNumber"),
                            "an organisation is identified by its credit code, not an ID number",
                        ));
                    }
                    if p.representative {
                        return Err(bad_input(
                            f("representative"),
                            "representatives of a group visit are people",
                        ));
                    }
                    let code = p.credit_code.as_deref().ok_or_else(|| {
                        bad_input(f("creditCode"), "an organisation gives its credit code")
                    })?;
                    let contact = p.contact_person.as_deref().unwrap_or_default();
                    validate::text(&f("contactPerson"), contact, 1, 50)?;
                    (
                        Some(validate::credit_code(&f("creditCode"), code)?),
                        Some(contact.trim().to_string()),
                    )
                }
            };
            Ok(PetitionerEntry {
                kind: p.kind,
                credit_code,
                contact_person,
                name: p.name.trim().to_string(),
                id_number: p
                    .id_number
                    .as_deref()
                    .map(|v| validate::id_number(&f("idNumber"), v))
                    .transpose()?,
                phone: p
                    .phone
                    .as_deref()
                    .map(|v| validate::phone(&f("phone"), v))
                    .transpose()?,
                address: p.address.clone(),
                representative: p.representative,
            })
        })
        .collect()
}

/// 集体访: a visit by [`GROUP_SIZE`] or more people. Only these count as 批次.
pub fn is_group_visit(channel: Channel, person_count: i32) -> bool {
    channel == Channel::Visit && person_count >= GROUP_SIZE
}

/// Checks that do not need the database. Returns the normalised petitioners and person count.
fn validate_new_case(input: &NewCase, now: DateTime<Utc>) -> Result<(Vec<PetitionerEntry>, i32)> {
    validate::text("title", &input.title, 1, TITLE_MAX)?;
    match (&input.from_higher, input.channel) {
        (Some(intake), Channel::HigherReferral) => crate::higher::validate_intake(intake, now)?,
        (Some(_), _) => {
            return Err(bad_input(
                "channel",
                "a case from a higher body arrives by HIGHER_REFERRAL",
            ));
        }
        (None, Channel::HigherReferral) => {
            return Err(bad_input(
                "fromHigherBody",
                "name the higher body, its reference number and whether it transferred or assigned the case",
            ));
        }
        (None, _) => {}
    }
    validate::text("content", &input.content, 1, CONTENT_MAX)?;
    let petitioners = validate_petitioners(&input.petitioners, input.channel)?;
    let listed = petitioners.len() as i32;
    // 人次: an anonymous letter is one person; a joint letter counts its signatories.
    let person_count = input.person_count.unwrap_or(Ord::max(listed, 1));
    if person_count < 1 {
        return Err(bad_input("personCount", "personCount is at least 1"));
    }
    if person_count < listed {
        return Err(bad_input(
            "personCount",
            "personCount cannot be less than the number of petitioners listed",
        ));
    }
    if person_count > 100_000 {
        return Err(bad_input("personCount", "personCount is implausibly large"));
    }
    // A visit by 5 or more people (集体访) should elect at most 5 representatives; one that
    // elected none is still registered and counted (the unit may decline it for that reason).
    // Nothing else has representatives: a joint letter counts its signatories in 人次.
    let representatives = petitioners.iter().filter(|p| p.representative).count();
    if representatives > 0 && !is_group_visit(input.channel, person_count) {
        return Err(bad_input(
            "petitioners",
            format!(
                "representatives are elected only by a visit of {GROUP_SIZE} or more people (集体访)"
            ),
        ));
    }
    if representatives > REPRESENTATIVES_MAX {
        return Err(bad_input(
            "petitioners",
            format!("a group visit elects at most {REPRESENTATIVES_MAX} representatives"),
        ));
    }
    if input.category != Category::Accusation && input.accused_unit_id.is_some() {
        return Err(bad_input(
            "accusedUnitId",
            "only an accusation names an accused unit",
        ));
    }
    if let Some(at) = input.received_at
        && at > now + TimeDelta::minutes(5)
    {
        return Err(bad_input(
            "receivedAt",
            "receivedAt cannot be in the future",
        ));
    }
    if let Some(at) = input.received_at
        && at < now - TimeDelta::days(365 * RECEIVED_MAX_AGE_YEARS)
    {
        return Err(bad_input(
            "receivedAt",
            format!("receivedAt cannot be more than {RECEIVED_MAX_AGE_YEARS} years ago"),
        ));
    }
    Ok((petitioners, person_count))
}

pub(crate) async fn check_subject(db: &impl ConnectionTrait, code: &str) -> Result<()> {
    match subject::Entity::find_by_id(code.to_string())
        .one(db)
        .await?
    {
        Some(s) if s.active => Ok(()),
        _ => Err(unknown_subject()),
    }
}

fn unknown_subject() -> crate::error::AppError {
    bad_input("subject", "unknown subject; see the `subjects` query")
}

/// A unit of the given county that may be named in a case field.
pub(crate) async fn unit_in_county(
    db: &impl ConnectionTrait,
    field: &str,
    id: i64,
    county_id: i64,
) -> Result<org_unit::Model> {
    let unit = org_unit::Entity::find_by_id(id).one(db).await?;
    named_unit_in_county(field, unit.as_ref(), county_id)
}

/// [`unit_in_county`] on a unit already read (`None`: there is no such unit).
fn named_unit_in_county(
    field: &str,
    unit: Option<&org_unit::Model>,
    county_id: i64,
) -> Result<org_unit::Model> {
    match unit {
        Some(u) if u.active && u.county_id == Some(county_id) => Ok(u.clone()),
        _ => Err(bad_input(field, "no such active unit in this county")),
    }
}

/// A fingerprint of an input, to tell a retry from a different request under the same key:
/// its fields as JSON, without those left empty — so a release that adds an optional field
/// does not turn a retry into a different request, as a `Debug` form would.
fn fingerprint(operation: &str, input: &NewCase) -> String {
    let mut json = serde_json::to_value(input).unwrap_or_default();
    if let Some(fields) = json.as_object_mut() {
        fields.retain(|_, v: &mut serde_json::Value| !serde_json::Value::is_null(v));
    }
    crate::auth::sha256_hex(format!("{operation}\u{1f}{json}").as_bytes())
}

pub enum Registrar<'a> {
    /// STAFF or LEADER registering what reached their unit.
    Staff(&'a Viewer),
    /// A citizen submitting online (with the county they name, if any); the case lands at
    /// the county's petition bureau.
    Petitioner(&'a Viewer, Option<i64>),
}

/// Registers a case (both `registerCase` and `submitPetition`). With an idempotency key, a
/// retry returns the first case and a different input under the same key is refused.
pub async fn register(
    db_conn: &DatabaseConnection,
    clock: &Clock,
    bus: &Bus,
    directory: &Directory,
    registrar: Registrar<'_>,
    mut input: NewCase,
    idempotency_key: Option<String>,
) -> Result<case::Model> {
    let viewer = match &registrar {
        Registrar::Staff(v) | Registrar::Petitioner(v, _) => *v,
    };
    if let Some(key) = &idempotency_key {
        validate::text("idempotencyKey", key, 1, IDEMPOTENCY_KEY_MAX)?;
    }
    let now = clock.now();
    // Which unit registers, which county, and the petitioner of an online submission.
    let (registering_unit, county_id) = match &registrar {
        Registrar::Staff(v) => {
            let unit = v.handling_unit()?;
            let county = match unit.county_id {
                Some(county) => county,
                None => city_registration_county(db_conn, unit.id, input.lead_unit_id).await?,
            };
            (unit.id, county)
        }
        Registrar::Petitioner(_, county_hint) => {
            viewer.require_citizen()?;
            let account = user::Entity::find_by_id(viewer.user_id)
                .one(db_conn)
                .await?
                .ok_or(crate::error::AppError::Unauthenticated("sign in first"))?;
            let county_id =
                resolve_petition_county(db_conn, input.township_id, *county_hint).await?;
            input.petitioners = vec![PetitionerEntry {
                id_number: account.id_number.clone(),
                phone: account.phone.clone(),
                ..PetitionerEntry::person(&account.display_name)
            }];
            let bureau = org_unit::Entity::find()
                .filter(org_unit::Column::BureauOfCountyId.eq(county_id))
                .one(db_conn)
                .await?
                .ok_or_else(|| internal("the county has no petition bureau"))?;
            input.lead_unit_id = Some(bureau.id);
            (bureau.id, county_id)
        }
    };
    let (petitioners, person_count) = validate_new_case(&input, now)?;
    if let Some(ticket) = &input.hotline_ticket {
        let ticket = crate::hotline::check_ticket("hotlineTicket", ticket)?;
        if input.channel != Channel::Hotline12345 {
            return Err(bad_input(
                "hotlineTicket",
                "a ticket number comes with the channel HOTLINE_12345",
            ));
        }
        if let Some(case) = crate::hotline::existing(db_conn, viewer, county_id, &ticket).await? {
            return Ok(case);
        }
        input.hotline_ticket = Some(ticket);
    }
    let request_hash = fingerprint(
        if viewer.is_petitioner() {
            "submitPetition"
        } else {
            "registerCase"
        },
        &input,
    );

    // Retries of one key take turns in this process, so a burst of them takes one number:
    // the first registers, the rest find its case here.
    let _turn = match &idempotency_key {
        Some(key) => {
            Some(crate::gates::turn(&format!("idempotency:{}:{key}", viewer.user_id)).await)
        }
        None => None,
    };
    if let Some(key) = &idempotency_key
        && let Some(case) = replay(db_conn, viewer.user_id, key, &request_hash).await?
    {
        return Ok(case);
    }
    let taken = match db_conn.get_database_backend() {
        // On PostgreSQL the number is taken by a statement of its own, so the counter's row
        // is locked only for that statement rather than until the registration commits:
        // concurrent registrations in a county would otherwise queue behind each other's
        // whole transaction. A registration that then fails leaves a gap in the numbers,
        // which domain §2 allows; so does each keyed attempt that fails after this point, and
        // a retry that races its first attempt from another process (within one process they
        // take turns above, and a retry that comes after its first attempt committed is
        // answered without a number).
        DatabaseBackend::Postgres => {
            Some(take_number(db_conn, county_id, local_date(now).year()).await?)
        }
        // SQLite has one writer at a time anyway: the number is taken inside, and rolls back
        // with a registration that fails.
        _ => None,
    };
    let attempt = register_in_tx(
        db_conn,
        bus,
        directory,
        viewer,
        &input,
        &petitioners,
        person_count,
        registering_unit,
        county_id,
        now,
        idempotency_key.as_deref(),
        &request_hash,
        taken,
    )
    .await;
    match attempt {
        Err(e) if e.violates(&crate::error::HOTLINE_TICKET) => {
            // The same ticket registered concurrently: answer with the case that won.
            let ticket = input.hotline_ticket.as_deref().unwrap_or_default();
            match crate::hotline::existing(db_conn, viewer, county_id, ticket).await? {
                Some(case) => Ok(case),
                None => Err(e),
            }
        }
        Err(e) if idempotency_key.is_some() => {
            // An attempt of the same key may have won a race with this one (from another
            // process, or on a file another process writes to): this one then fails on the
            // key's unique index, written with the case before anything else the winner took.
            // Answer as a retry would when the winner's case is there.
            let key = idempotency_key.as_deref().unwrap_or_default();
            match replay(db_conn, viewer.user_id, key, &request_hash).await? {
                Some(case) => Ok(case),
                None => Err(e),
            }
        }
        other => other,
    }
}

/// The county a city's registration belongs to: that of the unit it names to lead the case,
/// which must be a unit of one of the city's counties (the city receives and sends down at
/// once; the case is numbered and kept in that county).
async fn city_registration_county(
    db: &DatabaseConnection,
    city_id: i64,
    lead_unit_id: Option<i64>,
) -> Result<i64> {
    let refused = || {
        bad_input(
            "leadUnitId",
            "a city registers a case for a unit of one of its counties: name that unit",
        )
    };
    let lead = find_unit(db, lead_unit_id.ok_or_else(refused)?)
        .await
        .map_err(|_| refused())?;
    let county_id = lead.county_id.ok_or_else(refused)?;
    let county = find_unit(db, county_id).await?;
    if county.parent_id != Some(city_id) {
        return Err(refused());
    }
    Ok(county_id)
}

async fn resolve_petition_county(
    db: &DatabaseConnection,
    township_id: Option<i64>,
    county_hint: Option<i64>,
) -> Result<i64> {
    if let Some(id) = county_hint {
        let unit = find_unit(db, id)
            .await
            .map_err(|_| bad_input("countyId", "no such county"))?;
        if unit.kind != OrgUnitKind::County {
            return Err(bad_input("countyId", "not a county"));
        }
        return Ok(unit.id);
    }
    if let Some(id) = township_id {
        let unit = find_unit(db, id)
            .await
            .map_err(|_| bad_input("townshipId", "no such township"))?;
        return unit
            .county_id
            .ok_or_else(|| bad_input("townshipId", "not a township of a county"));
    }
    let counties = org_unit::Entity::find()
        .filter(org_unit::Column::Kind.eq(OrgUnitKind::County.as_str()))
        .filter(org_unit::Column::Active.eq(true))
        .limit(2)
        .all(db)
        .await?;
    match counties.as_slice() {
        [only] => Ok(only.id),
        _ => Err(bad_input(
            "countyId",
            "name the county (countyId) or the township (townshipId)",
        )),
    }
}

async fn replay(
    db: &impl ConnectionTrait,
    user_id: i64,
    key: &str,
    request_hash: &str,
) -> Result<Option<case::Model>> {
    let Some(row) = idempotency_key::Entity::find_by_id((user_id, key.to_string()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.request_hash != request_hash {
        return Err(conflict(
            "this idempotency key was already used for a different request",
        ));
    }
    Ok(case::Entity::find_by_id(row.case_id).one(db).await?)
}

/// What a registration reads and does not write.
struct Reference {
    calendar: WorkCalendar,
    limit_hours: i32,
    units: std::collections::HashMap<i64, org_unit::Model>,
}

/// Checks the subject is on the list and reads the county's calendar and settings and the
/// named units: from the process's copy where it holds them, otherwise through `conn`.
async fn read_reference(
    directory: &Directory,
    conn: &impl ConnectionTrait,
    subject_code: &str,
    county_id: i64,
    unit_ids: &[i64],
) -> Result<Reference> {
    // The whole list of active subjects is one entry: a code the caller made up is looked up
    // in it, never kept on its own.
    let active = directory
        .reference("subjects", String::new(), || async {
            Ok(std::sync::Arc::new(
                crate::identity::active_subjects(conn)
                    .await?
                    .into_iter()
                    .map(|s| s.code)
                    .collect::<std::collections::HashSet<String>>(),
            ))
        })
        .await?;
    if !active.contains(subject_code) {
        return Err(unknown_subject());
    }
    let calendar = directory
        .reference("calendar", county_id.to_string(), || {
            work_calendar(conn, county_id)
        })
        .await?;
    let limit_hours = directory
        .reference("county_settings", county_id.to_string(), || {
            crate::hearings::settings(conn, county_id)
        })
        .await?
        .registration_limit_hours;
    let units = crate::identity::units_through(directory, conn, unit_ids).await?;
    Ok(Reference {
        calendar,
        limit_hours,
        units,
    })
}

#[allow(clippy::too_many_arguments)]
async fn register_in_tx(
    db_conn: &DatabaseConnection,
    bus: &Bus,
    directory: &Directory,
    viewer: &Viewer,
    input: &NewCase,
    petitioners: &[PetitionerEntry],
    person_count: i32,
    registering_unit: i64,
    county_id: i64,
    now: DateTime<Utc>,
    idempotency_key: Option<&str>,
    request_hash: &str,
    taken: Option<Taken>,
) -> Result<case::Model> {
    // What the registration reads but does not write — the subject list, the units it names,
    // the county's calendar and settings — comes from the process's notified copy where it
    // holds them (PostgreSQL), before the transaction. Where it keeps no copy (SQLite, or a
    // copy set aside) they are read inside the write transaction, so that nothing can change
    // between the check and the write.
    let lead_id = input.lead_unit_id.unwrap_or(registering_unit);
    let named: Vec<i64> = [
        input.township_id,
        Some(lead_id),
        input.accused_unit_id,
        Some(registering_unit),
        Some(county_id),
    ]
    .into_iter()
    .flatten()
    .collect();
    let early = match directory.in_use() {
        true => None,
        false => Some(db::begin_write(db_conn).await?),
    };
    let Reference {
        calendar,
        limit_hours,
        units,
    } = match &early {
        Some(tx) => read_reference(directory, tx, &input.subject, county_id, &named).await?,
        None => read_reference(directory, db_conn, &input.subject, county_id, &named).await?,
    };
    let in_county = |field: &str, id: i64| named_unit_in_county(field, units.get(&id), county_id);
    let township = match input.township_id {
        Some(id) => {
            let t = in_county("townshipId", id)?;
            if t.kind != OrgUnitKind::Township {
                return Err(bad_input("townshipId", "townshipId must name a township"));
            }
            Some(t)
        }
        None => None,
    };
    let lead = in_county("leadUnitId", lead_id)?;
    let accused = match input.accused_unit_id {
        Some(id) => Some(in_county("accusedUnitId", id)?),
        None => None,
    };
    let (Some(registering), Some(county)) = (units.get(&registering_unit), units.get(&county_id))
    else {
        return Err(internal("the registering unit or its county is gone"));
    };
    // A retry of the same idempotency key that raced this one fails here, on the key's
    // unique index at the latest, and `register` answers it with the winner's case.
    let tx = match early {
        Some(tx) => tx,
        None => db::begin_write(db_conn).await?,
    };
    // A citizen's online accusation lands at the bureau — unless it accuses the bureau
    // itself, when the discipline body takes it.
    let lead = match &accused {
        Some(a) if viewer.is_petitioner() && a.id == lead.id => org_unit::Entity::find()
            .filter(org_unit::Column::DisciplineOfCountyId.eq(county_id))
            .one(&tx)
            .await?
            .ok_or_else(|| {
                bad_input(
                    "accusedUnitId",
                    "this county has no discipline body to take an accusation against its petition bureau",
                )
            })?,
        _ => lead,
    };
    if let Some(accused) = &accused {
        may_lead_accusation(accused, &lead, "leadUnitId")?;
    }
    let received_at = input.received_at.unwrap_or(now);
    // 迟报: the time from receipt to registration, and whether an urgent matter or a group
    // visit took longer than the county allows.
    let delay_minutes = (now - received_at)
        .num_minutes()
        .clamp(0, i64::from(i32::MAX)) as i32;
    let is_group = is_group_visit(input.channel, person_count);
    let registered_late = (input.urgent || is_group) && delay_minutes > limit_hours * 60;
    let accept_by = calendar.due_after_days(received_at, ACCEPTANCE_DAYS);

    let year = local_date(now).year();
    let sequence = match taken {
        Some(taken) => taken.sequence,
        None => next_sequence(&tx, county_id, year).await?,
    };
    let number = case_number(county, year, sequence);
    let mut row = case::ActiveModel {
        county_id: Set(county_id),
        number: Set(number),
        version: Set(1),
        status: Set(CaseStatus::Registered),
        channel: Set(input.channel),
        category: Set(input.category),
        subject: Set(input.subject.clone()),
        title: Set(input.title.clone()),
        content: Set(input.content.clone()),
        received_at: Set(received_at),
        township_id: Set(township.as_ref().map(|t| t.id)),
        lead_unit_id: Set(lead.id),
        registered_by_unit_id: Set(registering_unit),
        registered_by_user_id: Set(viewer.user_id),
        accused_unit_id: Set(accused.as_ref().map(|a| a.id)),
        person_count: Set(person_count),
        is_group: Set(is_group),
        urgent: Set(input.urgent),
        registration_delay_minutes: Set(delay_minutes),
        registered_late: Set(registered_late),
        // A new case starts a matter of its own; the system only proposes earlier cases it
        // may repeat, and staff confirm (matters::link).
        repeat_of_id: Set(None),
        not_acceptable: Set(false),
        acceptance_cited_case_id: Set(None),
        awaiting_delivery: Set(false),
        higher_report_due_at: Set(None),
        higher_reported_at: Set(None),
        sent_up_at: Set(None),
        clock_paused_at: Set(None),
        submitted_by_user_id: Set(viewer.is_petitioner().then_some(viewer.user_id)),
        accept_by: Set(Some(accept_by)),
        handle_by: Set(None),
        due_at: Set(Some(accept_by)),
        // Nothing decided, replied, reviewed or closed yet.
        acceptance_decision: Set(None),
        acceptance_reason: Set(None),
        legal_route: Set(None),
        accept_decided_at: Set(None),
        replied_at: Set(None),
        review_request_by: Set(None),
        decide_by: Set(None),
        reviewing_unit_id: Set(None),
        extension_days: Set(0),
        leader_user_id: Set(None),
        assignment_id: Set(None),
        report_approved: Set(false),
        closed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        // The id and the matter: below.
        ..Default::default()
    };
    // The rows that come with the case, once its id is known.
    let with_case = |case: &case::Model| {
        let mut inserts = vec![];
        // The petitioners in one statement, each with the account that follows the case: the
        // citizen's own when it submitted it, or one whose ID number and mobile number are both
        // the ones recorded here (a subquery of the same statement) — never on an accusation it
        // did not submit itself (see identity::register_petitioner).
        if !petitioners.is_empty() {
            let mut rows = Query::insert();
            rows.into_table(case_petitioner::Entity).columns([
                case_petitioner::Column::CaseId,
                case_petitioner::Column::Position,
                case_petitioner::Column::Name,
                case_petitioner::Column::IdNumber,
                case_petitioner::Column::Phone,
                case_petitioner::Column::Address,
                case_petitioner::Column::Representative,
                case_petitioner::Column::Kind,
                case_petitioner::Column::CreditCode,
                case_petitioner::Column::ContactPerson,
                case_petitioner::Column::UserId,
            ]);
            for (i, p) in petitioners.iter().enumerate() {
                let submitted_by_this_person =
                    viewer.is_petitioner() && p.id_number == petitioners[0].id_number && i == 0;
                let linked_user: Expr = match (&p.id_number, &p.phone) {
                    _ if submitted_by_this_person => viewer.user_id.into(),
                    _ if input.category == Category::Accusation => None::<i64>.into(),
                    (Some(idn), Some(phone)) => Query::select()
                        .column(user::Column::Id)
                        .from(user::Entity)
                        .and_where(user::Column::IdNumber.eq(idn.clone()))
                        .and_where(user::Column::Phone.eq(phone.clone()))
                        .and_where(user::Column::Role.eq(Role::Petitioner.as_str()))
                        .order_by(user::Column::Id, Order::Asc)
                        .limit(1)
                        .to_owned()
                        .into(),
                    _ => None::<i64>.into(),
                };
                rows.values_panic([
                    case.id.into(),
                    (i as i32).into(),
                    p.name.clone().into(),
                    p.id_number.clone().into(),
                    p.phone.clone().into(),
                    p.address.clone().into(),
                    p.representative.into(),
                    sea_orm::ActiveEnum::to_value(&p.kind).into(),
                    p.credit_code.clone().into(),
                    p.contact_person.clone().into(),
                    linked_user,
                ]);
            }
            inserts.push(rows);
        }

        // The lead's row and those that follow from the case's fields, in one statement (the
        // lead passed `may_lead_accusation`, so the accusation does not hide the case from it).
        let rows = std::iter::once((lead.id, UnitRelation::Lead))
            .chain(derived_relations(
                case,
                registering,
                township.as_ref(),
                accused.as_ref(),
            ))
            .map(|(unit_id, relation)| relation_row(case, unit_id, relation));
        inserts.push(case_unit::Entity::insert_many(rows).into_query());
        if let Some(key) = idempotency_key {
            inserts.push(
                idempotency_key::Entity::insert(idempotency_key::ActiveModel {
                    user_id: Set(viewer.user_id),
                    key: Set(key.to_string()),
                    operation: Set(if viewer.is_petitioner() {
                        "submitPetition".into()
                    } else {
                        "registerCase".into()
                    }),
                    request_hash: Set(request_hash.to_string()),
                    case_id: Set(case.id),
                    created_at: Set(now),
                    record_id: Set(None),
                })
                .into_query(),
            );
        }
        inserts
    };
    let created = match taken {
        // On PostgreSQL the ids were taken with the number: the matter, the case, its
        // petitioners, its relation rows and the idempotency key go in by one statement.
        Some(taken) => {
            row.id = Set(taken.case_id);
            row.matter_id = Set(Some(taken.matter_id));
            let planned = row.clone().try_into_model()?;
            let mut beside = vec![matters::start_row(county_id, now, Some(taken.matter_id))];
            beside.extend(with_case(&planned));
            let found =
                db::insert_together(&tx, case::Entity::insert(row).into_query(), beside).await?;
            case::Model::from_query_result(&found, "")?
        }
        None => {
            row.matter_id = Set(Some(matters::start(&tx, county_id, now).await?));
            let created = row.insert(&tx).await?;
            for insert in with_case(&created) {
                tx.execute(&insert).await?;
            }
            created
        }
    };
    let identity = matters::Identity {
        id_numbers: petitioners
            .iter()
            .filter_map(|p| p.id_number.clone())
            .collect(),
        names_and_phones: petitioners
            .iter()
            .filter(|p| p.id_number.is_none() && p.credit_code.is_none())
            .filter_map(|p| Some((p.name.clone(), p.phone.clone()?)))
            .collect(),
        credit_codes: petitioners
            .iter()
            .filter_map(|p| p.credit_code.clone())
            .collect(),
    };
    matters::propose(&tx, viewer, &created, &identity, now).await?;
    if let Some(id) = input.reception_id {
        let reception = crate::receptions::own_reception(&tx, viewer, id).await?;
        crate::receptions::link(&tx, viewer, &created, reception.id, true, now).await?;
    }
    if let Some(id) = input.dispute_report_id {
        crate::screening::turn_into_case(&tx, viewer, id, created.id, county_id).await?;
    }
    if let Some(ticket) = &input.hotline_ticket {
        crate::hotline::record(
            &tx,
            county_id,
            ticket,
            created.id,
            received_at,
            false,
            viewer.user_id,
            now,
        )
        .await?;
    }
    let intake = match &input.from_higher {
        Some(intake) => {
            let (row, body) =
                crate::higher::record_intake(&tx, &created, intake, &calendar, viewer.user_id, now)
                    .await?;
            if row.report_due_at.is_some() {
                case::Entity::update_many()
                    .col_expr(
                        case::Column::HigherReportDueAt,
                        sea_orm::sea_query::Expr::value(row.report_due_at),
                    )
                    .filter(case::Column::Id.eq(created.id))
                    .exec(&tx)
                    .await?;
            }
            Some(
                serde_json::json!({"higherBody": body.name, "level": body.level.as_str(),
                "referenceNumber": row.reference_number, "mode": intake.mode.as_str(), "reportDueAt": row.report_due_at}),
            )
        }
        None => None,
    };

    let actor = Actor {
        user_id: Some(viewer.user_id),
        unit_id: viewer.unit.as_ref().map(|u| u.id),
    };
    let detail = serde_json::json!({
        "number": created.number,
        "channel": created.channel,
        "category": created.category,
        "subject": created.subject,
        "leadUnitId": created.lead_unit_id,
        "townshipId": created.township_id,
        "personCount": created.person_count,
        "acceptBy": accept_by,
        "fromHigherBody": intake,
        "urgent": created.urgent,
    });
    let entry = audit::open_timeline(
        &tx,
        audit::NewEntry {
            county_id: created.county_id,
            case_id: created.id,
            at: now,
            actor,
            action: "REGISTER",
            detail,
            public: true,
        },
    )
    .await?;
    let event = Event::of_entry(created.id, entry.id, "REGISTER", true, now);
    bus.stage(&tx, &event).await?;
    crate::outbox::enqueue(&tx, &event).await?;

    tx.commit().await?;
    bus.committed(event);
    Ok(created)
}

/// Whether `unit` may lead (or receive) an accusation against `accused`: never a unit the
/// accusation hides the case from, and an accusation against the county's own leadership
/// only the county's discipline body (or the petition bureau, until it routes the case).
pub fn may_lead_accusation(
    accused: &org_unit::Model,
    unit: &org_unit::Model,
    field: &str,
) -> Result<()> {
    match access::accusation_lead_refusal(accused, unit) {
        Some(why) => Err(bad_input(field, why)),
        None => Ok(()),
    }
}

/// Brings the relation rows that follow from a case's own fields in line with them: the
/// territory township (TERRITORY) and the registering unit (REGISTERED), and no row at all
/// for a unit the case's accusation hides it from. Called in the transaction of every change
/// to those fields (registration, reclassification), so the scope is exact at commit.
pub async fn sync_derived_relations(tx: &impl ConnectionTrait, case: &case::Model) -> Result<()> {
    case_unit::Entity::delete_many()
        .filter(case_unit::Column::CaseId.eq(case.id))
        .filter(case_unit::Column::Relation.is_in([
            UnitRelation::Territory.as_str(),
            UnitRelation::Registered.as_str(),
        ]))
        .exec(tx)
        .await?;
    let accused = match case.accused_unit_id {
        Some(id) => Some(find_unit(tx, id).await?),
        None => None,
    };
    let hidden = |unit: &org_unit::Model| access::hidden_by_accusation(accused.as_ref(), unit);
    let registering = find_unit(tx, case.registered_by_unit_id).await?;
    let township = match case.township_id {
        Some(id) => Some(find_unit(tx, id).await?),
        None => None,
    };
    for (unit_id, relation) in
        derived_relations(case, &registering, township.as_ref(), accused.as_ref())
    {
        add_relation(tx, case, unit_id, relation).await?;
    }
    if accused.is_some() {
        let related: Vec<i64> = case_unit::Entity::find()
            .select_only()
            .column(case_unit::Column::UnitId)
            .filter(case_unit::Column::CaseId.eq(case.id))
            .into_tuple()
            .all(tx)
            .await?;
        let units = org_unit::Entity::find()
            .filter(org_unit::Column::Id.is_in(related))
            .all(tx)
            .await?;
        let gone: Vec<i64> = units.iter().filter(|u| hidden(u)).map(|u| u.id).collect();
        if !gone.is_empty() {
            case_unit::Entity::delete_many()
                .filter(case_unit::Column::CaseId.eq(case.id))
                .filter(case_unit::Column::UnitId.is_in(gone))
                .exec(tx)
                .await?;
        }
    }
    Ok(())
}

/// The relation rows that follow from a case's own fields: the registering unit (REGISTERED)
/// and the territory township (TERRITORY, `township` being the case's), each unless the
/// case's accusation hides the case from it; an online accusation that names no accused unit
/// yet is kept from the territory.
fn derived_relations(
    case: &case::Model,
    registering: &org_unit::Model,
    township: Option<&org_unit::Model>,
    accused: Option<&org_unit::Model>,
) -> Vec<(i64, UnitRelation)> {
    let hidden = |unit: &org_unit::Model| access::hidden_by_accusation(accused, unit);
    let mut rows = Vec::with_capacity(2);
    if !hidden(registering) {
        rows.push((registering.id, UnitRelation::Registered));
    }
    if let Some(township) = township
        && !access::awaits_accused_unit(case)
        && !hidden(township)
    {
        rows.push((township.id, UnitRelation::Territory));
    }
    rows
}

/// A unit's relation row to a case, to insert.
fn relation_row(
    case: &case::Model,
    unit_id: i64,
    relation: UnitRelation,
) -> case_unit::ActiveModel {
    case_unit::ActiveModel {
        case_id: Set(case.id),
        unit_id: Set(unit_id),
        relation: Set(relation.as_str().into()),
        received_at: Set(case.received_at),
    }
}

/// Adds a unit's relation row to a case (idempotent).
pub async fn add_relation(
    tx: &impl ConnectionTrait,
    case: &case::Model,
    unit_id: i64,
    relation: UnitRelation,
) -> Result<()> {
    case_unit::Entity::insert(relation_row(case, unit_id, relation))
        .on_conflict_do_nothing()
        .exec(tx)
        .await?;
    Ok(())
}

/// Takes the next sequence of a county's case numbers for a year on PostgreSQL, with the ids
/// of the new case and its matter (a registration that fails leaves a gap in each), by one
/// statement that is its own transaction, so the counter's row is locked for no longer. Its
/// commit does not wait for the disk (`synchronous_commit` off for that transaction only): if
/// the server crashed before the WAL reached it, the registration that would use the number
/// has not committed either (its own commit flushes the WAL up to and past this one), so no
/// committed case can ever share a number.
async fn take_number(db: &DatabaseConnection, county_id: i64, year: i32) -> Result<Taken> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "WITH quiet AS (SELECT set_config('synchronous_commit', 'off', true) AS setting), \
             taken AS (INSERT INTO case_number_counters (county_id, year, last_value) \
             VALUES ($1, $2, 1) ON CONFLICT (county_id, year) \
             DO UPDATE SET last_value = case_number_counters.last_value + 1 \
             RETURNING last_value) \
             SELECT taken.last_value, quiet.setting, \
             nextval(pg_get_serial_sequence('cases', 'id')) AS case_id, \
             nextval(pg_get_serial_sequence('matters', 'id')) AS matter_id \
             FROM taken, quiet",
            [county_id.into(), year.into()],
        ))
        .await?
        .ok_or_else(|| internal("the case counter returned no row"))?;
    Ok(Taken {
        sequence: row.try_get("", "last_value")?,
        case_id: row.try_get("", "case_id")?,
        matter_id: row.try_get("", "matter_id")?,
    })
}

/// What a registration takes on PostgreSQL before its transaction: the number's sequence and
/// the ids of the case and its matter, so that the case's rows go in by one statement.
#[derive(Clone, Copy)]
struct Taken {
    sequence: i64,
    case_id: i64,
    matter_id: i64,
}

/// The next sequence of a county's case numbers for a year, in the caller's transaction: the
/// counter row is incremented by one statement, so two registrations never share a number.
async fn next_sequence(tx: &impl ConnectionTrait, county_id: i64, year: i32) -> Result<i64> {
    let table = Alias::new("case_number_counters");
    let stmt = Query::insert()
        .into_table(table.clone())
        .columns([
            Alias::new("county_id"),
            Alias::new("year"),
            Alias::new("last_value"),
        ])
        .values_panic([county_id.into(), year.into(), 1_i64.into()])
        .on_conflict(
            OnConflict::columns([Alias::new("county_id"), Alias::new("year")])
                .value(
                    Alias::new("last_value"),
                    Expr::col((table.clone(), Alias::new("last_value"))).add(1),
                )
                .to_owned(),
        )
        .returning_col(Alias::new("last_value"))
        .to_owned();
    let row = tx
        .query_one(&stmt)
        .await?
        .ok_or_else(|| internal("the case counter returned no row"))?;
    Ok(row.try_get("", "last_value")?)
}

/// 案件编号: `XF-<county>-<year>-<sequence>`. The county part is its division code
/// (行政区划代码), or `C<id>` for a county registered without one, so numbers of different
/// counties never meet.
pub fn case_number(county: &org_unit::Model, year: i32, sequence: i64) -> String {
    match &county.division_code {
        Some(code) => format!("XF-{code}-{year}-{sequence:06}"),
        None => format!("XF-C{}-{year}-{sequence:06}", county.id),
    }
}

// ---------------------------------------------------------------------------------------
// Reading, always through the viewer's scope.

/// A visible case by id; `None` when it does not exist or the viewer may not see it.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<case::Model>> {
    Ok(case::Entity::find()
        .filter(case::Column::Id.eq(id))
        .filter(viewer.case_scope())
        .one(db)
        .await?)
}

/// How a single case is asked for.
#[derive(Clone, Copy, Debug)]
pub enum CaseKey<'a> {
    Id(i64),
    Number(&'a str),
}

/// The case `key` names if the viewer sees it, with its lists `wanted`, in one statement.
pub async fn find_visible_with_parts(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    key: CaseKey<'_>,
    wanted: crate::records::PartsWanted,
) -> Result<Option<(case::Model, crate::records::CaseParts)>> {
    use crate::records::PartIds;
    let (found, ids) = match key {
        CaseKey::Id(id) => (case::Column::Id.eq(id), PartIds::Values(vec![id])),
        CaseKey::Number(number) => (
            case::Column::Number.eq(number),
            // The lists of the case the viewer sees by that number, and of no other.
            PartIds::Subquery(Box::new(
                Query::select()
                    .column(case::Column::Id)
                    .from(case::Entity)
                    .and_where(case::Column::Number.eq(number))
                    .cond_where(viewer.case_scope())
                    .to_owned(),
            )),
        ),
    };
    let case = case::Entity::find()
        .filter(found)
        .filter(viewer.case_scope())
        .into_query();
    crate::records::case_with_parts(db, case, ids, wanted).await
}

pub async fn find_visible_by_number(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    number: &str,
) -> Result<Option<case::Model>> {
    Ok(case::Entity::find()
        .filter(case::Column::Number.eq(number))
        .filter(viewer.case_scope())
        .one(db)
        .await?)
}

/// Whether a repeat link between two cases may be read: never across the line between an
/// accusation and an ordinary petition (links written before a reclassification moved one
/// of them across read as absent).
pub fn link_readable(a: &case::Model, b: &case::Model) -> bool {
    (a.category == Category::Accusation) == (b.category == Category::Accusation)
}

/// Which of the given case ids the viewer may see (one statement).
pub async fn visible_among(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ids: Vec<i64>,
) -> Result<std::collections::HashSet<i64>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let seen: Vec<i64> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(case::Column::Id.is_in(db::bucketed_ids(ids)))
        .filter(viewer.case_scope())
        .into_tuple()
        .all(db)
        .await?;
    Ok(seen.into_iter().collect())
}

pub async fn relations_of(
    db: &impl ConnectionTrait,
    case_id: i64,
    unit_id: i64,
) -> Result<Vec<UnitRelation>> {
    let rows = case_unit::Entity::find()
        .filter(case_unit::Column::CaseId.eq(case_id))
        .filter(case_unit::Column::UnitId.eq(unit_id))
        .all(db)
        .await?;
    rows.iter()
        .map(|r| UnitRelation::from_db(&r.relation))
        .collect()
}

impl CaseFilter {
    /// The checks a filter passes before any case is read (the export checks before it
    /// starts streaming; a list checks again as it builds its query).
    pub fn check(&self) -> Result<()> {
        if let Some(search) = self.search.as_deref() {
            validate::text("search", search, 1, 100)?;
        }
        Ok(())
    }

    /// What this viewer may not pick cases by (checked by the export before it starts
    /// streaming, and by every list as it builds its query).
    pub fn check_viewer(&self, viewer: &Viewer) -> Result<()> {
        if let Some(kind) = self.deadline
            && !viewer.may_filter_by_deadline(kind)
        {
            return Err(forbidden(format!(
                "deadline {}: supervision orders and reports to higher bodies are staff records",
                kind.as_str()
            )));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    pub status: Vec<CaseStatus>,
    pub category: Vec<Category>,
    pub channel: Vec<Channel>,
    pub subject: Vec<String>,
    pub township_id: Option<i64>,
    pub lead_unit_id: Option<i64>,
    pub overdue: Option<bool>,
    pub warning: Option<bool>,
    pub repeat: Option<bool>,
    pub group: Option<bool>,
    /// 迟报: registered later than the county allows.
    pub registered_late: Option<bool>,
    pub urgent: Option<bool>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    pub search: Option<String>,
    /// Which pending deadline `overdue` and `warning` refer to (any, when absent).
    pub deadline: Option<DeadlineKind>,
    /// 事项: the cases of one matter.
    pub matter_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    ReceivedAt,
    DueAt,
    UpdatedAt,
    Number,
}

#[derive(Clone, Copy, Debug)]
pub struct CaseOrder {
    pub field: SortField,
    pub descending: bool,
}

fn c(name: &'static str) -> Expr {
    Expr::col((Alias::new(CASES), Alias::new(name)))
}

/// Sorts cases whose due date is unset after every dated one, on both databases.
fn no_deadline() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or_default()
}

fn sort_expr(field: SortField) -> Expr {
    match field {
        SortField::ReceivedAt => c("received_at"),
        SortField::UpdatedAt => c("updated_at"),
        SortField::Number => c("number"),
        SortField::DueAt => Func::coalesce([c("due_at"), Expr::val(no_deadline())]).into(),
    }
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    v: String,
    id: i64,
}

fn sort_value(case: &case::Model, field: SortField) -> String {
    match field {
        SortField::ReceivedAt => case.received_at.to_rfc3339(),
        SortField::UpdatedAt => case.updated_at.to_rfc3339(),
        SortField::DueAt => case.due_at.unwrap_or_else(no_deadline).to_rfc3339(),
        SortField::Number => case.number.clone(),
    }
}

pub fn cursor_of(case: &case::Model, order: CaseOrder) -> String {
    let json = serde_json::to_vec(&Cursor {
        v: sort_value(case, order.field),
        id: case.id,
    })
    .unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(cursor: &str, field: SortField) -> Result<(sea_orm::Value, i64)> {
    let bad = || bad_input("after", "not a cursor of this list");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let cur: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let value = match field {
        SortField::Number => sea_orm::Value::from(cur.v),
        _ => {
            let at = DateTime::parse_from_rfc3339(&cur.v)
                .map_err(|_| bad())?
                .to_utc();
            sea_orm::Value::from(at)
        }
    };
    Ok((value, cur.id))
}

/// The filter of a `cases` query as a condition (without the scope).
fn filter_condition(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &CaseFilter,
    now: DateTime<Utc>,
) -> Result<Condition> {
    filter.check_viewer(viewer)?;
    let mut cond = Condition::all();
    if let Some(matter) = filter.matter_id {
        cond = cond.add(c("matter_id").eq(matter));
    }
    let strings = |v: &[&'static str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if !filter.status.is_empty() {
        cond = cond.add(c("status").is_in(strings(
            &filter.status.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        )));
    }
    if !filter.category.is_empty() {
        cond = cond.add(
            c("category").is_in(strings(
                &filter
                    .category
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            )),
        );
    }
    if !filter.channel.is_empty() {
        cond = cond.add(
            c("channel").is_in(strings(
                &filter
                    .channel
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            )),
        );
    }
    if !filter.subject.is_empty() {
        cond = cond.add(c("subject").is_in(filter.subject.clone()));
    }
    if let Some(t) = filter.township_id {
        cond = cond.add(c("township_id").eq(t));
    }
    if let Some(u) = filter.lead_unit_id {
        cond = cond.add(c("lead_unit_id").eq(u));
    }
    match filter.deadline {
        Some(DeadlineKind::Supervision) => {
            // Unanswered supervision orders; `overdue`/`warning` apply to their own deadlines.
            let due = || Expr::col((supervision::Entity, supervision::Column::DueAt));
            let window = match (filter.overdue, filter.warning) {
                (Some(true), _) => Some(deadlines::overdue_sql(due(), now)),
                (_, Some(true)) => Some(deadlines::warning_sql(due(), now)),
                _ => None,
            };
            let mut q = Query::select();
            q.expr(Expr::val(1))
                .from(supervision::Entity)
                .and_where(
                    Expr::col((supervision::Entity, supervision::Column::CaseId))
                        .equals((Alias::new(CASES), Alias::new("id"))),
                )
                .and_where(
                    Expr::col((supervision::Entity, supervision::Column::AnsweredAt)).is_null(),
                );
            if let Some(w) = window {
                q.and_where(w);
            }
            cond = cond.add(Expr::exists(q.to_owned()));
        }
        Some(DeadlineKind::HigherReport) => {
            // Reports back owed to a higher body; `overdue`/`warning` apply to their deadline.
            let due = || c("higher_report_due_at");
            cond = cond
                .add(due().is_not_null())
                .add(c("higher_reported_at").is_null());
            match (filter.overdue, filter.warning) {
                (Some(true), _) => cond = cond.add(deadlines::overdue_sql(due(), now)),
                (Some(false), _) => {
                    cond = cond.add(deadlines::overdue_sql(due(), now).not());
                }
                (_, Some(true)) => cond = cond.add(deadlines::warning_sql(due(), now)),
                _ => {}
            }
        }
        Some(kind) => {
            cond = cond.add(
                c("status").is_in(
                    kind.statuses()
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>(),
                ),
            );
        }
        None => {}
    }
    // For supervision orders, `overdue`/`warning` were applied to the orders' own deadlines.
    let case_deadline = !matches!(
        filter.deadline,
        Some(DeadlineKind::Supervision | DeadlineKind::HigherReport)
    );
    if let Some(overdue) = filter.overdue.filter(|_| case_deadline) {
        let is_overdue = deadlines::overdue_sql(c("due_at"), now);
        cond = cond.add(if overdue {
            is_overdue
        } else {
            Condition::any()
                .add(c("due_at").is_null())
                .add(c("due_at").gte(now))
                .into()
        });
    }
    if let Some(warning) = filter.warning.filter(|_| case_deadline) {
        let in_warning = deadlines::warning_sql(c("due_at"), now);
        cond = cond.add(if warning {
            in_warning
        } else {
            in_warning.not()
        });
    }
    if let Some(repeat) = filter.repeat {
        // A repeat counts as one only where the viewer may see the case it repeats: a link to
        // a case out of sight reads as absent, in lists and counts alike.
        let seen_earlier = is_visible(viewer, c("repeat_of_id"));
        cond = cond.add(if repeat {
            seen_earlier
        } else {
            Condition::any()
                .add(c("repeat_of_id").is_null())
                .add(seen_earlier.not())
                .into()
        });
    }
    if let Some(group) = filter.group {
        cond = cond.add(c("is_group").eq(group));
    }
    if let Some(late) = filter.registered_late {
        cond = cond.add(c("registered_late").eq(late));
    }
    if let Some(urgent) = filter.urgent {
        cond = cond.add(c("urgent").eq(urgent));
    }
    if let Some(from) = filter.received_from {
        cond = cond.add(c("received_at").gte(from));
    }
    if let Some(to) = filter.received_to {
        cond = cond.add(c("received_at").lt(to));
    }
    if let Some(search) = filter.search.as_deref() {
        validate::text("filter.search", search, 1, 100)?;
        cond = cond.add(search_condition(db, viewer, search.trim()));
    }
    Ok(cond)
}

/// Joins the unit's own `case_sight` rows, named `alias`, to the `cases` of `query`, so that
/// the database can walk them by their index (unit, received time, case) and read about as
/// many cases as the unit sees, not every case of its county. The join neither adds nor drops
/// a case the query's scope lets through: triggers keep exactly one sight row per unit and
/// case with relation rows, carrying the case's received time, which nothing changes after
/// registration.
pub(crate) fn join_sight(
    query: &mut sea_orm::sea_query::SelectStatement,
    alias: &'static str,
    unit_id: i64,
) {
    let s = |name: &'static str| Expr::col((Alias::new(alias), Alias::new(name)));
    query.join_as(
        JoinType::InnerJoin,
        Alias::new("case_sight"),
        Alias::new(alias),
        Condition::all()
            .add(s("case_id").equals((Alias::new(CASES), Alias::new("id"))))
            .add(s("unit_id").eq(unit_id)),
    );
}

/// `SELECT id FROM cases WHERE <scope>`: the ids of the cases the viewer may see, for use
/// inside another case query (the inner `cases` shadows the outer one).
pub fn visible_ids(viewer: &Viewer) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((Alias::new(CASES), Alias::new("id")))
        .from(case::Entity)
        .cond_where(viewer.case_scope())
        .to_owned()
}

/// Whether the case whose id `id` gives (a column of the query around it, such as a repeat's
/// `repeat_of_id`) is one the viewer may see: a correlated `EXISTS` over that one case.
/// (`id IN (visible ids)` asks the same, but in a select list or under NOT the database keeps
/// the whole visible set in memory, and past its working memory — a province's million cases
/// — compares every row with every visible id.) In a WHERE clause PostgreSQL may still turn
/// it into a join; [`is_visible_probe`] keeps it a probe.
pub fn is_visible(
    viewer: &Viewer,
    id: sea_orm::sea_query::SimpleExpr,
) -> sea_orm::sea_query::SimpleExpr {
    Expr::exists(seen_case(viewer, id))
}

/// [`is_visible`], always as one lookup of the case by its key, for a select list where few
/// rows ask (a guard before it says which). PostgreSQL would otherwise cost a hashed form,
/// one scan of every visible case, as if every row asked; a [`db::planning_fence`] rules that
/// form out.
pub fn is_visible_probe(
    backend: sea_orm::DatabaseBackend,
    viewer: &Viewer,
    id: sea_orm::sea_query::SimpleExpr,
) -> sea_orm::sea_query::SimpleExpr {
    let mut q = seen_case(viewer, id);
    db::planning_fence(backend, &mut q);
    Expr::exists(q)
}

fn seen_case(
    viewer: &Viewer,
    id: sea_orm::sea_query::SimpleExpr,
) -> sea_orm::sea_query::SelectStatement {
    const SEEN: &str = "seen_case";
    Query::select()
        .expr(Expr::val(1))
        .from_as(case::Entity, Alias::new(SEEN))
        .and_where(Expr::col((Alias::new(SEEN), Alias::new("id"))).eq(id))
        .cond_where(viewer.case_scope_on(SEEN))
        .to_owned()
}

/// The ids of the accusations the viewer may not see: a record linked to one (a reception, a
/// dispute report, a joint meeting item) is kept from the viewer as the accusation is.
pub fn hidden_accusation_ids(viewer: &Viewer) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((Alias::new(CASES), Alias::new("id")))
        .from(case::Entity)
        .and_where(
            Expr::col((Alias::new(CASES), Alias::new("category")))
                .eq(crate::domain::Category::Accusation.as_str()),
        )
        .cond_where(viewer.case_scope().not())
        .to_owned()
}

/// The ids of the accusations against the viewer's unit (or a unit it is inside): a joint
/// meeting item about one is kept from the unit even if it was given it before the case was
/// reclassified.
pub fn accusations_against(viewer: &Viewer) -> sea_orm::sea_query::SelectStatement {
    let hidden = viewer
        .unit
        .as_ref()
        .filter(|u| !u.petition_bureau)
        .map(|u| u.hidden_when_accused())
        .unwrap_or_default();
    Query::select()
        .column((Alias::new(CASES), Alias::new("id")))
        .from(case::Entity)
        .and_where(
            Expr::col((Alias::new(CASES), Alias::new("category")))
                .eq(crate::domain::Category::Accusation.as_str()),
        )
        .and_where(Expr::col((Alias::new(CASES), Alias::new("accused_unit_id"))).is_in(hidden))
        .to_owned()
}

/// Search over number, title, content and petitioner name (and ID number and phone, only
/// where the viewer would see them in full). `%`, `_` and quotes match themselves.
fn search_condition(db: &impl ConnectionTrait, viewer: &Viewer, text: &str) -> Condition {
    let backend = db.get_database_backend();
    let p = |name: &'static str| Expr::col((Alias::new("case_petitioners"), Alias::new(name)));
    let petitioner_match = |what: Condition| {
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(Alias::new("case_petitioners"))
                .and_where(p("case_id").equals((Alias::new(CASES), Alias::new("id"))))
                .cond_where(what)
                .to_owned(),
        )
    };
    Condition::any()
        .add(db::contains(backend, c("number"), text))
        .add(db::contains(backend, c("title"), text))
        .add(db::contains(backend, c("content"), text))
        .add(
            Condition::all()
                .add(viewer.petitioner_name_scope())
                .add(petitioner_match(Condition::all().add(db::contains(
                    backend,
                    p("name"),
                    text,
                )))),
        )
        .add(
            Condition::all()
                .add(viewer.full_personal_data_scope())
                .add(petitioner_match(
                    Condition::any()
                        .add(db::contains(backend, p("id_number"), text))
                        .add(db::contains(backend, p("phone"), text)),
                )),
        )
}

/// One page of visible cases, and whether more follow.
pub async fn list_visible(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &CaseFilter,
    ask: PageAsk<'_>,
    now: DateTime<Utc>,
    latest: Option<&crate::records::LatestWanted>,
) -> Result<Page> {
    let PageAsk {
        order,
        first,
        after,
    } = ask;
    let mut query = case::Entity::find()
        .filter(viewer.case_scope())
        .filter(filter_condition(db, viewer, filter, now)?)
        .into_query();
    // A township or department sees the cases its unit has relation rows for. Newest first,
    // those are walked in the order of the unit's own `case_sight` rows (index on unit,
    // received time, case), so the database reads about as many rows as it returns instead
    // of walking the county's newest cases until enough of them are the unit's. The scope
    // above still applies in full; the join only chooses the order of the walk. The cases
    // of one matter are few and found by their own index: no walk.
    let sight = viewer
        .sight_unit()
        .filter(|_| order.field == SortField::ReceivedAt && filter.matter_id.is_none());
    let (key, id) = match sight {
        Some(unit_id) => {
            let s = Alias::new("s");
            join_sight(&mut query, "s", unit_id);
            (
                Expr::col((s.clone(), Alias::new("received_at"))),
                Expr::col((s, Alias::new("case_id"))),
            )
        }
        None => (sort_expr(order.field), c("id")),
    };
    if let Some(cursor) = after {
        let (value, last_id) = decode_cursor(cursor, order.field)?;
        let (beyond, id_beyond) = if order.descending {
            (
                key.clone().lt(Expr::val(value.clone())),
                id.clone().lt(last_id),
            )
        } else {
            (
                key.clone().gt(Expr::val(value.clone())),
                id.clone().gt(last_id),
            )
        };
        query.cond_where(
            Condition::any()
                .add(beyond)
                .add(key.clone().eq(Expr::val(value)).and(id_beyond)),
        );
    }
    let dir = if order.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    query
        .order_by_expr(key, dir.clone())
        .order_by_expr(id, dir)
        .limit(first + 1);
    let backend = db.get_database_backend();
    let mut page = Page::default();
    match latest {
        None => {
            for row in db.query_all_raw(backend.build(&query)).await? {
                page.rows.push(case::Model::from_row(&row)?);
            }
        }
        // The page and its cases' entries in one statement: a row per entry, the case's
        // columns first.
        Some(wanted) => {
            let statement = backend.build(&wanted.with_page(query, page_order(order)));
            let entries_at = <case::Column as sea_orm::Iterable>::iter().count();
            for row in db.query_all_raw(statement).await? {
                let id: i64 = row.try_get_by_index(0)?;
                if page.rows.last().is_none_or(|c| c.id != id) {
                    page.rows.push(case::Model::from_row(&row)?);
                }
                crate::records::LatestWanted::read(&row, entries_at, &mut page.latest)?;
            }
        }
    }
    page.more = page.rows.len() as u64 > first;
    if let Some(extra) = page.rows.get(first as usize) {
        page.latest.remove(&extra.id);
    }
    page.rows.truncate(first as usize);
    Ok(page)
}

/// Which page of a list: its order, its size, and the cursor it follows.
#[derive(Clone, Copy)]
pub struct PageAsk<'a> {
    pub order: CaseOrder,
    pub first: u64,
    pub after: Option<&'a str>,
}

/// A page of cases, whether more follow, and — when asked for — each case's latest entries.
#[derive(Default)]
pub struct Page {
    pub rows: Vec<case::Model>,
    pub more: bool,
    pub latest: std::collections::HashMap<i64, crate::records::LatestEntries>,
}

/// The page's order on the `page` of [`crate::records::LatestWanted::with_page`]: the same as
/// [`sort_expr`] then id, with a missing deadline as the latest one.
fn page_order(order: CaseOrder) -> Vec<(Expr, Order)> {
    let dir = if order.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let on_page = |name: &'static str| crate::access::col_of("page", name);
    let mut keys = match order.field {
        SortField::ReceivedAt => vec![on_page("received_at")],
        SortField::UpdatedAt => vec![on_page("updated_at")],
        SortField::Number => vec![on_page("number")],
        SortField::DueAt => vec![on_page("due_at").is_null(), on_page("due_at")],
    };
    keys.push(on_page("id"));
    keys.into_iter().map(|k| (k, dir.clone())).collect()
}

/// How many visible cases match a filter (only computed when `totalCount` is asked for).
pub async fn count_visible(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &CaseFilter,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(case::Entity::find()
        .filter(viewer.case_scope())
        .filter(filter_condition(db, viewer, filter, now)?)
        .count(db)
        .await?)
}

/// Petitioners of several cases, in order, by case id.
pub async fn petitioners_by_case(
    db: &impl ConnectionTrait,
    case_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<case_petitioner::Model>>> {
    let rows = petitioners_of(db, db::bucketed_ids(case_ids.iter().copied())).await?;
    let mut out: std::collections::HashMap<i64, Vec<case_petitioner::Model>> = Default::default();
    for p in rows {
        out.entry(p.case_id).or_default().push(p);
    }
    Ok(out)
}

/// The assisting units of several cases (unit ids), by case id.
pub async fn assisting_units_by_case(
    db: &impl ConnectionTrait,
    case_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<i64>>> {
    let rows = case_unit::Entity::find()
        .filter(case_unit::Column::CaseId.is_in(db::bucketed_ids(case_ids.iter().copied())))
        .filter(case_unit::Column::Relation.eq(UnitRelation::Assisting.as_str()))
        .order_by_asc(case_unit::Column::UnitId)
        .all(db)
        .await?;
    let mut out: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    for r in rows {
        out.entry(r.case_id).or_default().push(r.unit_id);
    }
    Ok(out)
}

/// Petitioners of a case, in order.
pub async fn petitioners_of(
    db: &impl ConnectionTrait,
    case_ids: Vec<i64>,
) -> Result<Vec<case_petitioner::Model>> {
    Ok(case_petitioner::Entity::find()
        .filter(case_petitioner::Column::CaseId.is_in(case_ids))
        .order_by_asc(case_petitioner::Column::CaseId)
        .order_by_asc(case_petitioner::Column::Position)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectOptions, Database, IntoActiveModel, Statement};
    use xinfang_entity::case_event;
    use xinfang_migration::MigratorTrait;

    /// `case::Model::from_row` reads columns by position; it must agree with the derived
    /// decoder on a row where every column holds a different value.
    #[tokio::test]
    async fn columns_decode_in_declaration_order() {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts).await.unwrap();
        db.execute_unprepared("PRAGMA foreign_keys = OFF")
            .await
            .unwrap();
        xinfang_migration::Migrator::up(&db, None).await.unwrap();
        let t = |s: i64| DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap();
        let text = |s: &str| s.to_string();
        let written = case::Model {
            id: 11,
            county_id: 12,
            number: text("number"),
            version: 13,
            status: CaseStatus::Reported,
            channel: Channel::Fax,
            category: Category::Suggestion,
            subject: text("subject"),
            title: text("title"),
            content: text("content"),
            received_at: t(1),
            township_id: Some(14),
            lead_unit_id: 15,
            registered_by_unit_id: 16,
            registered_by_user_id: 17,
            accused_unit_id: Some(18),
            person_count: 19,
            is_group: true,
            repeat_of_id: Some(20),
            not_acceptable: false,
            submitted_by_user_id: Some(21),
            accept_by: Some(t(2)),
            handle_by: Some(t(3)),
            due_at: Some(t(4)),
            acceptance_decision: Some(crate::domain::AcceptanceDecision::RedirectToLegalRoute),
            acceptance_reason: Some(text("reason")),
            legal_route: Some(crate::domain::LegalRoute::Arbitration),
            accept_decided_at: Some(t(5)),
            replied_at: Some(t(6)),
            review_request_by: Some(t(7)),
            decide_by: Some(t(8)),
            reviewing_unit_id: Some(22),
            extension_days: 23,
            leader_user_id: Some(24),
            assignment_id: Some(25),
            report_approved: true,
            closed_at: Some(t(9)),
            created_at: t(10),
            updated_at: t(11),
            matter_id: Some(26),
            acceptance_cited_case_id: Some(27),
            awaiting_delivery: true,
            higher_report_due_at: None,
            higher_reported_at: None,
            sent_up_at: None,
            clock_paused_at: None,
            urgent: false,
            registration_delay_minutes: 0,
            registered_late: false,
        };
        case::Entity::insert(written.clone().into_active_model())
            .exec(&db)
            .await
            .unwrap();
        let derived = case::Entity::find().one(&db).await.unwrap().unwrap();
        let statement = case::Entity::find().build(db.get_database_backend());
        let rows = db.query_all_raw(statement).await.unwrap();
        let positional = case::Model::from_row(&rows[0]).unwrap();
        assert_eq!(derived, written);
        assert_eq!(positional, written);

        let event = case_event::Model {
            id: 31,
            case_id: 11,
            seq: 32,
            at: t(12),
            actor_user_id: Some(33),
            actor_unit_id: Some(34),
            action: text("action"),
            detail: text("detail"),
            public: true,
            prev_hash: text("prev"),
            hash: text("hash"),
        };
        case_event::Entity::insert(event.clone().into_active_model())
            .exec(&db)
            .await
            .unwrap();
        let columns = case_event::Model::COLUMNS.join(", ");
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT 0 AS skipped, {columns} FROM case_events"),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(case_event::Model::from_row(&row, 1).unwrap(), event);
    }
}
