//! Statistics folded per day (issue 18, target 4).
//!
//! Computing a county's statistics from its cases reads every case received in the period: at
//! a million cases, seconds per request. For the scopes of a county's units — the petition
//! bureau and the county unit, which see the whole county, and each township and department,
//! which see by their relation rows ([`Viewer::folded_scope`]) — the server keeps, per local
//! day of receipt and per grouping, the figures of that day's cases as the scope sees them
//! (`stat_days`), and answers a request by adding up the days that are still exact and
//! computing the rest from the cases, all in one snapshot.
//!
//! A folded day is exact while three things hold:
//! - No case of the day changed since the fold. Database triggers list every case whose
//!   figures may have changed in `stat_dirty` (migrations `m20261203_000026` and
//!   `m20261204_000027`): the case itself on any write, its evaluation, reviews and referrals,
//!   and — when its matter, repeat link or visibility changes — the cases sharing its matter
//!   or repeating it; and when a unit gains or loses sight of a case (`case_sight`, migration
//!   `m20261205_000031`), the case, the cases sharing its matter and those repeating it. A
//!   day with a listed case is computed from the cases, for every scope of its county.
//! - No deadline of the day's cases fell between the fold and now: the overdue measures read
//!   the clock. Each day keeps `valid_until`, the earliest deadline at or after the fold, and
//!   is used only for `folded_at <= now < valid_until`.
//! - Its 事项 count is added exactly: distinct matters do not add up across days or groups.
//!   A day keeps how many of its cases are the only case of their matter (those are counted
//!   once wherever they are) and the ids of the matters that hold other cases, which a request
//!   unites with the matters of the days it computes itself.
//!
//! Days are folded by a background task in every server process ([`spawn_folder`]), one
//! process at a time per county: a process claims a county in `stat_fold_leases` for
//! [`LEASE`] (by the database's clock on PostgreSQL), renews the claim inside each batch's transaction, and skips a county another
//! process's running claim holds (it takes the county over once the claim has lapsed). The
//! claim saves work and failed rounds; exactness does not rest on it — a fold reads one
//! snapshot and takes off only the marks it saw.
//! Within its claim a process folds first
//! every day of a county, for each of its folded scopes (`stat_scopes.ready_at` is set
//! per scope when that pass is done; until then the scope is answered from its cases, and a
//! scope that appears later — a bureau or township set up after the first pass — makes the next round
//! pass over the whole county again), then the days with listed cases or lapsed validity.
//! Today is not folded: requests count it from the cases until it has ended.
//! A fold reads in one snapshot and removes only the marks it saw, so a change committed
//! meanwhile stays listed for the next round.

use crate::access::{CASES, Viewer};
use crate::calendar::{local_date, start_of_day};
use crate::clock::Clock;
use crate::db;
use crate::domain::Role;
use crate::error::{Result, internal};
use crate::state::AppState;
use crate::stats::{self, Figures, Group, GroupBy, Keys, Ranges, Tally};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Query, SimpleExpr};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IsolationLevel, QueryFilter, QueryResult, TransactionOptions,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;
use xinfang_entity::org_unit;

/// The groupings a day is folded for; `None` is the total.
const KINDS: [Option<GroupBy>; 8] = [
    None,
    Some(GroupBy::Unit),
    Some(GroupBy::RegisteredBy),
    Some(GroupBy::Township),
    Some(GroupBy::Category),
    Some(GroupBy::Channel),
    Some(GroupBy::Subject),
    Some(GroupBy::Month),
];

fn kind_name(by: Option<GroupBy>) -> &'static str {
    match by {
        None => "TOTAL",
        Some(GroupBy::Unit) => "UNIT",
        Some(GroupBy::RegisteredBy) => "REGISTERED_BY",
        Some(GroupBy::Township) => "TOWNSHIP",
        Some(GroupBy::Category) => "CATEGORY",
        Some(GroupBy::Channel) => "CHANNEL",
        Some(GroupBy::Subject) => "SUBJECT",
        Some(GroupBy::Month) => "MONTH",
    }
}

/// At most this many spans are computed from the cases beside the folded days; past it (a
/// county whose folding has fallen far behind) the whole period is.
const MAX_LIVE_RANGES: usize = 64;

/// Days folded in one transaction.
const FOLD_CHUNK: usize = 31;

/// How long a claim to fold a county lasts unless renewed: a process that stopped or stalled
/// this long gives the county up to another. A claim is renewed with each batch of days,
/// which takes seconds even at a million cases.
pub const LEASE: TimeDelta = TimeDelta::minutes(2);

/// One group of one folded day: its key, its counts ([`Figures::to_counts`]), how many of its
/// cases are alone in their matter, and the matters holding other cases.
#[derive(Debug, Serialize, Deserialize)]
struct Cell {
    k: Option<String>,
    f: Vec<i64>,
    m: i64,
    x: Vec<i64>,
}

/// A [`Cell`] being folded: its figures, the cases alone in their matter, the shared matters.
struct Folding {
    figures: Figures,
    single: i64,
    shared: Vec<i64>,
}

fn parse_day(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| internal(format!("day {text}: {e}")))
}

/// Consecutive days as half-open spans of time.
fn spans(days: &BTreeSet<NaiveDate>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = vec![];
    for day in days {
        let (start, end) = (start_of_day(*day), start_of_day(*day + Days::new(1)));
        match out.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => out.push((start, end)),
        }
    }
    out
}

/// Whether a folded row of `stat_days` has lapsed at `now`: the negation of
/// `folded_at <= now < valid_until` (see the module's notes). The folding round and the
/// statistics request both ask it in this one form, which migration 032's two indexes serve.
fn lapsed(now: DateTime<Utc>) -> SimpleExpr {
    Expr::col(Alias::new("valid_until"))
        .lte(now)
        .or(Expr::col(Alias::new("folded_at")).gt(now))
}

/// A transaction that sees one snapshot throughout: read-only for a request, writing for a
/// fold (on SQLite a fold takes the write lock at once, as every writer here does).
async fn snapshot(db: &DatabaseConnection, write: bool) -> Result<DatabaseTransaction> {
    match (db.get_database_backend(), write) {
        (DatabaseBackend::Postgres, _) => Ok(db
            .begin_with_options(TransactionOptions {
                isolation_level: Some(IsolationLevel::RepeatableRead),
                access_mode: (!write).then_some(AccessMode::ReadOnly),
                ..Default::default()
            })
            .await?),
        (_, true) => db::begin_write(db).await,
        // A SQLite transaction reads one snapshot of its own accord.
        (_, false) => Ok(db.begin().await?),
    }
}

/// The local days on which the county's cases were received — only those listed as changed
/// when `changed_only`, and only within `[from, to)` when given.
///
/// The changed days are read from the marks, each looked up by its case's id: between folds
/// the list is short, and this way its length alone bounds the work, whatever the planner
/// believes of it. Joined to the cases instead, with planner statistics taken while the list
/// was long, every folding round and statistics request hashed all of the county's cases
/// (bench/README.md).
async fn days_of_cases(
    db: &impl ConnectionTrait,
    county: i64,
    changed_only: bool,
    within: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<BTreeSet<NaiveDate>> {
    let day = db::local_day(db.get_database_backend(), stats::c("received_at"));
    let mut of_cases = Query::select();
    of_cases
        .expr_as(day, Alias::new("day"))
        .from(Alias::new(CASES))
        .and_where(stats::c("county_id").eq(county));
    if let Some((from, to)) = within {
        of_cases
            .and_where(stats::c("received_at").gte(from))
            .and_where(stats::c("received_at").lt(to));
    }
    let q = if changed_only {
        of_cases
            .and_where(stats::c("id").equals((Alias::new("stat_dirty"), Alias::new("case_id"))));
        Query::select()
            .distinct()
            .expr_as(
                Expr::SubQuery(None, Box::new(of_cases.into())),
                Alias::new("day"),
            )
            .from(Alias::new("stat_dirty"))
            .to_owned()
    } else {
        of_cases.distinct().to_owned()
    };
    let mut out = BTreeSet::new();
    for row in db.query_all(&q).await? {
        // A mark of another county's case, or of one outside `within`, names no day.
        if let Some(day) = row.try_get::<Option<String>>("", "day")? {
            out.insert(parse_day(&day)?);
        }
    }
    Ok(out)
}

/// Of the given folded scopes (unit ids), those whose first pass is done.
async fn ready(db: &impl ConnectionTrait, units: &[i64]) -> Result<HashSet<i64>> {
    let q = Query::select()
        .column(Alias::new("unit_id"))
        .from(Alias::new("stat_scopes"))
        .and_where(Expr::col(Alias::new("unit_id")).is_in(units.iter().copied()))
        .and_where(Expr::col(Alias::new("ready_at")).is_not_null())
        .to_owned();
    let mut out = HashSet::new();
    for row in db.query_all(&q).await? {
        out.insert(row.try_get::<i64>("", "unit_id")?);
    }
    Ok(out)
}

/// Figures being added up, as the counts `stat_days` keeps (a county's history is tens of
/// thousands of cells: adding plain numbers keeps a request's own work small), with their
/// matters kept apart.
struct Sum {
    counts: Vec<i64>,
    single: i64,
    shared: HashSet<i64>,
}

impl Sum {
    fn new() -> Self {
        Sum {
            counts: Figures::empty(false).to_counts(),
            single: 0,
            shared: HashSet::new(),
        }
    }

    fn add_counts(&mut self, counts: &[i64]) -> Result<()> {
        if counts.len() != self.counts.len() {
            return Err(internal("a stat_days cell of another shape"));
        }
        for (sum, n) in self.counts.iter_mut().zip(counts) {
            *sum += n;
        }
        Ok(())
    }

    fn add(&mut self, figures: &Figures) -> Result<()> {
        self.add_counts(&figures.to_counts())
    }

    fn done(self, unrated_counts_as_satisfied: bool) -> Result<Figures> {
        let mut figures = Figures::from_counts(&self.counts, unrated_counts_as_satisfied)
            .ok_or_else(|| internal("a stat_days cell of another shape"))?;
        figures.matters = self.single + self.shared.len() as i64;
        Ok(figures)
    }
}

/// The total and the groups being added up.
struct Sums {
    total: Sum,
    groups: BTreeMap<Option<String>, Sum>,
}

impl Sums {
    fn group(&mut self, key: Option<String>) -> &mut Sum {
        self.groups.entry(key).or_insert_with(Sum::new)
    }

    /// Adds the cells of the folded rows (`day`, `kind`, `cells`) whose day is not stale.
    fn add_folded(&mut self, rows: &[QueryResult], stale: &BTreeSet<NaiveDate>) -> Result<()> {
        for row in rows {
            let day = parse_day(&row.try_get::<String>("", "day")?)?;
            if stale.contains(&day) {
                continue;
            }
            let total = row.try_get::<String>("", "kind")? == kind_name(None);
            let cells: Vec<Cell> = serde_json::from_str(&row.try_get::<String>("", "cells")?)
                .map_err(|e| internal(format!("stat_days {day}: {e}")))?;
            for cell in cells {
                let sum = match total {
                    true => &mut self.total,
                    false => self.group(cell.k),
                };
                sum.add_counts(&cell.f)?;
                sum.single += cell.m;
                sum.shared.extend(cell.x);
            }
        }
        Ok(())
    }

    /// Adds the figures of `ranges` computed from the cases, as the viewer sees them.
    async fn add_live(
        &mut self,
        tx: &DatabaseTransaction,
        viewer: &Viewer,
        ranges: &Ranges,
        group_by: Option<GroupBy>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if ranges.is_empty() {
            return Ok(());
        }
        let keys = Keys {
            by_day: false,
            by: group_by,
        };
        for row in stats::tallies(tx, viewer, ranges, keys, now, false).await? {
            self.total.add(&row.figures)?;
            if group_by.is_some() {
                self.group(row.key).add(&row.figures)?;
            }
        }
        if group_by == Some(GroupBy::Unit) {
            for (_, key, clocks) in stats::earlier_clocks(tx, viewer, ranges, false).await? {
                let mut figures = Figures::empty(false);
                clocks.add_to(&mut figures);
                self.group(key).add(&figures)?;
            }
        }
        let plain = Keys {
            by_day: false,
            by: None,
        };
        for (_, _, matter) in stats::matter_pairs(tx, viewer, ranges, plain, false).await? {
            self.total.shared.insert(matter);
        }
        if group_by.is_some() {
            for (_, key, matter) in stats::matter_pairs(tx, viewer, ranges, keys, false).await? {
                self.group(key).shared.insert(matter);
            }
        }
        Ok(())
    }

    fn done(self, unrated_counts_as_satisfied: bool) -> Result<(Figures, Vec<Group>)> {
        let mut groups = Vec::with_capacity(self.groups.len());
        for (key, sum) in self.groups {
            groups.push(Group {
                key,
                figures: sum.done(unrated_counts_as_satisfied)?,
            });
        }
        stats::sort_groups(&mut groups);
        Ok((self.total.done(unrated_counts_as_satisfied)?, groups))
    }
}

/// The viewer's statistics from the folded days and, for the rest of the period, from the
/// cases; `None` when they cannot come from folded days (another scope, a county not yet
/// folded, a period shorter than a day, folding far behind).
pub async fn statistics(
    db: &DatabaseConnection,
    viewer: &Viewer,
    asked: stats::Asked,
) -> Result<Option<(Figures, Vec<Group>)>> {
    let stats::Asked {
        from,
        to,
        group_by,
        now,
        unrated_counts_as_satisfied,
    } = asked;
    let Some((county, scope_unit)) = folded_scope(db.get_database_backend(), viewer) else {
        return Ok(None);
    };
    // The whole local days within the period.
    let mut first = local_date(from);
    if start_of_day(first) < from {
        first = first + Days::new(1);
    }
    // Today and later are always counted from the cases: the fold leaves them out, and a row
    // for today left by an older server is not trusted.
    let last = std::cmp::min(local_date(to), local_date(now));
    if first >= last {
        return Ok(None);
    }
    let tx = snapshot(db, false).await?;
    if ready(&tx, &[scope_unit]).await?.is_empty() {
        return Ok(None);
    }
    let (whole_from, whole_to) = (start_of_day(first), start_of_day(last));
    // A day is taken from the cases when a case of it changed since its fold, or when a
    // deadline of its cases fell since. A day with no row and no mark has no visible cases.
    let mut stale = days_of_cases(&tx, county, true, Some((whole_from, whole_to))).await?;
    let kinds: Vec<&str> = match group_by {
        None => vec![kind_name(None)],
        by => vec![kind_name(None), kind_name(by)],
    };
    let q = Query::select()
        .columns(["day", "kind", "cells"].map(Alias::new))
        .expr_as(Expr::case(lapsed(now), 1).finally(0), Alias::new("lapsed"))
        .from(Alias::new("stat_days"))
        .and_where(Expr::col(Alias::new("scope_unit_id")).eq(scope_unit))
        .and_where(Expr::col(Alias::new("kind")).is_in(kinds))
        .and_where(Expr::col(Alias::new("day")).gte(first.to_string()))
        .and_where(Expr::col(Alias::new("day")).lt(last.to_string()))
        .to_owned();
    let rows = tx.query_all(&q).await?;
    for row in &rows {
        if row.try_get::<i32>("", "lapsed")? == 1 {
            stale.insert(parse_day(&row.try_get::<String>("", "day")?)?);
        }
    }
    let mut ranges = vec![];
    if from < whole_from {
        ranges.push((from, whole_from));
    }
    ranges.extend(spans(&stale));
    if whole_to < to {
        ranges.push((whole_to, to));
    }
    if ranges.len() > MAX_LIVE_RANGES {
        return Ok(None);
    }
    let mut sums = Sums {
        total: Sum::new(),
        groups: BTreeMap::new(),
    };
    sums.add_folded(&rows, &stale)?;
    sums.add_live(&tx, viewer, &ranges, group_by, now).await?;
    tx.commit().await?;
    Ok(Some(sums.done(unrated_counts_as_satisfied)?))
}

/// The county and unit whose statistics are folded for `viewer` on this database: on
/// PostgreSQL [`Viewer::folded_scope`] (the county-wide scopes, townships and departments), on
/// SQLite only the county-wide ones. A fold holds SQLite's one write lock for its whole
/// transaction, and a county's sixty-odd unit scopes made that tens of seconds in the demo,
/// where every registration and sign-in waits for it; SQLite serves a county, not a
/// province, and its townships count their cases in milliseconds.
fn folded_scope(backend: DatabaseBackend, viewer: &Viewer) -> Option<(i64, i64)> {
    match backend {
        DatabaseBackend::Postgres => viewer.folded_scope(),
        _ => viewer.county_wide_scope(),
    }
}

/// The units whose statistics are folded, per county (or of one county): each county's
/// petition bureau and county unit and, on PostgreSQL, its townships and departments
/// ([`folded_scope`]).
async fn folded_units(
    db: &impl ConnectionTrait,
    county: Option<i64>,
) -> Result<BTreeMap<i64, Vec<Viewer>>> {
    let mut units = org_unit::Entity::find().filter(org_unit::Column::CountyId.is_not_null());
    if let Some(county) = county {
        units = units.filter(org_unit::Column::CountyId.eq(county));
    }
    let units = units.all(db).await?;
    let mut out: BTreeMap<i64, Vec<Viewer>> = BTreeMap::new();
    for unit in units {
        // A member of the unit, as the access rules see it: folded when it sees a whole county
        // or by the unit's relation rows.
        let viewer = Viewer {
            user_id: 0,
            session_id: String::new(),
            role: Role::Staff,
            unit: Some(crate::auth::unit_scope(&unit)?),
        };
        if let Some((county, _)) = folded_scope(db.get_database_backend(), &viewer) {
            out.entry(county).or_default().push(viewer);
        }
    }
    Ok(out)
}

/// Claims the county's folding for `holder` until [`LEASE`] from now, or renews its claim;
/// false while another holder's claim runs. On PostgreSQL "now" is the database's clock, so
/// processes on hosts whose clocks disagree still agree on when a claim lapses; a SQLite file
/// is shared only by processes of one host, which read one clock (the server's, `clock`).
async fn claim(
    db: &impl ConnectionTrait,
    county: i64,
    holder: &str,
    clock: &Clock,
) -> Result<bool> {
    let (now, until): (Expr, Expr) = match db.get_database_backend() {
        DatabaseBackend::Postgres => (
            Expr::cust("clock_timestamp()"),
            Expr::cust(format!(
                "clock_timestamp() + make_interval(secs => {})",
                LEASE.num_seconds()
            )),
        ),
        _ => {
            let now = clock.now();
            (Expr::val(now), Expr::val(now + LEASE))
        }
    };
    let leases = Alias::new("stat_fold_leases");
    let held = |column: &str| Expr::col((leases.clone(), Alias::new(column)));
    let q = Query::insert()
        .into_table(leases.clone())
        .columns(["county_id", "holder", "until"].map(Alias::new))
        .values_panic([county.into(), holder.into(), until])
        .on_conflict(
            OnConflict::column(Alias::new("county_id"))
                .update_columns(["holder", "until"].map(Alias::new))
                .action_and_where(held("until").lte(now).or(held("holder").eq(holder)))
                .to_owned(),
        )
        .returning_col(Alias::new("county_id"))
        .to_owned();
    Ok(db.query_one(&q).await?.is_some())
}

/// Folds every day that needs it in every county no other process is folding, as `holder`
/// (one name per process); returns how many days were folded.
pub async fn fold(db: &DatabaseConnection, clock: &Clock, holder: &str) -> Result<usize> {
    fold_pausing(db, clock, holder, async || {}).await
}

/// [`fold`], awaiting `between` after each batch of days it folds: the place where a test takes
/// the county away from `holder` mid-pass, as a process that stalled past its claim finds it.
#[doc(hidden)]
pub async fn fold_pausing(
    db: &DatabaseConnection,
    clock: &Clock,
    holder: &str,
    mut between: impl AsyncFnMut(),
) -> Result<usize> {
    let now = clock.now();
    let mut folded = 0;
    for (county, scopes) in folded_units(db, None).await? {
        // Claimed here too, so that a county another process holds is passed over before
        // its days are even read.
        if !claim(db, county, holder, clock).await? {
            continue;
        }
        let unit_ids: Vec<i64> = scopes
            .iter()
            .filter_map(|v| v.unit.as_ref().map(|u| u.id))
            .collect();
        let whole = ready(db, &unit_ids).await?.len() < unit_ids.len();
        if whole {
            let mut scopes = Query::insert();
            scopes
                .into_table(Alias::new("stat_scopes"))
                .columns(["unit_id", "county_id", "started_at"].map(Alias::new))
                .on_conflict(
                    OnConflict::column(Alias::new("unit_id"))
                        .do_nothing()
                        .to_owned(),
                );
            for unit in &unit_ids {
                scopes.values_panic([(*unit).into(), county.into(), now.into()]);
            }
            db.execute(&scopes).await?;
        }
        let mut days = days_of_cases(db, county, true, None).await?;
        if whole {
            // The first pass (or the first since a scope appeared) folds every day the
            // county's cases fall on, for every scope of the county together. A case written
            // after this read is listed by the triggers, and with them complete the pass
            // leaves no case unaccounted for: then the scopes are ready.
            days.extend(days_of_cases(db, county, false, None).await?);
        }
        let lapsed_days = Query::select()
            .distinct()
            .column(Alias::new("day"))
            .from(Alias::new("stat_days"))
            .and_where(Expr::col(Alias::new("scope_unit_id")).is_in(unit_ids.iter().copied()))
            .and_where(lapsed(now))
            .to_owned();
        for row in db.query_all(&lapsed_days).await? {
            days.insert(parse_day(&row.try_get::<String>("", "day")?)?);
        }
        // Today is counted from the cases by every request until it has ended: its cases are
        // the ones still arriving and changing, and refolding it each round, for every scope
        // and grouping, cost more than counting one day's cases per request (with today
        // refolded, a registration cost about 1.5× the database CPU: bench/README.md).
        days.retain(|day| *day < local_date(now));
        let days: Vec<NaiveDate> = days.into_iter().collect();
        let mut held = true;
        for chunk in days.chunks(FOLD_CHUNK) {
            // Another process took the county over (this one stalled past its claim): it
            // folds the rest, and only a process that folded every day marks the scopes ready.
            if !fold_days(db, county, chunk, now, holder, clock).await? {
                held = false;
                break;
            }
            folded += chunk.len();
            between().await;
        }
        if whole && held {
            db.execute(
                &Query::update()
                    .table(Alias::new("stat_scopes"))
                    .value(Alias::new("ready_at"), now)
                    .and_where(Expr::col(Alias::new("unit_id")).is_in(unit_ids))
                    .and_where(Expr::col(Alias::new("ready_at")).is_null())
                    .to_owned(),
            )
            .await?;
        }
    }
    Ok(folded)
}

/// Folds the given days of one county for each of its folded scopes, and takes the
/// marks it read off the list, in one transaction — which first renews the holder's claim on
/// the county, and does nothing (false) when another process holds it. The renewal keeps the
/// claim's row locked to the commit, so a process that takes the county over meanwhile
/// waits, and one that took it over before makes this transaction give way (PostgreSQL:
/// the row changed since the snapshot, or no longer this holder's).
async fn fold_days(
    db: &DatabaseConnection,
    county: i64,
    days: &[NaiveDate],
    now: DateTime<Utc>,
    holder: &str,
    clock: &Clock,
) -> Result<bool> {
    let tx = snapshot(db, true).await?;
    if !claim(&tx, county, holder, clock).await? {
        return Ok(false);
    }
    // The scopes as this snapshot sees them, not as the round began: a scope set up since
    // (and folded whole by another process) must be refolded with the others here, since
    // this transaction takes off the marks it sees.
    let scopes = folded_units(&tx, Some(county))
        .await?
        .remove(&county)
        .unwrap_or_default();
    let set: BTreeSet<NaiveDate> = days.iter().copied().collect();
    let ranges = spans(&set);
    let valid = valid_until(&tx, county, &ranges, now).await?;
    for viewer in &scopes {
        let Some(unit) = viewer.unit.as_ref() else {
            continue;
        };
        let mut rows: BTreeMap<(&str, String), Vec<Cell>> = BTreeMap::new();
        for by in KINDS {
            let keys = Keys { by_day: true, by };
            let mut cells: BTreeMap<(String, Option<String>), Folding> = BTreeMap::new();
            for Tally {
                day,
                key,
                figures,
                single_matters,
            } in stats::tallies(&tx, viewer, &ranges, keys, now, true).await?
            {
                let day = day.ok_or_else(|| internal("a folded row without its day"))?;
                let cell = Folding {
                    figures,
                    single: single_matters,
                    shared: vec![],
                };
                cells.insert((day, key), cell);
            }
            if by == Some(GroupBy::Unit) {
                for (day, key, clocks) in stats::earlier_clocks(&tx, viewer, &ranges, true).await? {
                    let day = day.ok_or_else(|| internal("a folded row without its day"))?;
                    let cell = cells.entry((day, key)).or_insert_with(|| Folding {
                        figures: Figures::empty(false),
                        single: 0,
                        shared: vec![],
                    });
                    clocks.add_to(&mut cell.figures);
                }
            }
            for (day, key, matter) in stats::matter_pairs(&tx, viewer, &ranges, keys, true).await? {
                let day = day.ok_or_else(|| internal("a folded row without its day"))?;
                if let Some(cell) = cells.get_mut(&(day, key)) {
                    cell.shared.push(matter);
                }
            }
            for ((day, k), folding) in cells {
                let cell = Cell {
                    k,
                    f: folding.figures.to_counts(),
                    m: folding.single,
                    x: folding.shared,
                };
                rows.entry((kind_name(by), day)).or_default().push(cell);
            }
        }
        tx.execute(
            &Query::delete()
                .from_table(Alias::new("stat_days"))
                .and_where(Expr::col(Alias::new("scope_unit_id")).eq(unit.id))
                .and_where(Expr::col(Alias::new("day")).is_in(days.iter().map(|d| d.to_string())))
                .to_owned(),
        )
        .await?;
        for ((kind, day), cells) in rows {
            let valid_until = valid.get(&day).copied().flatten();
            let cells = serde_json::to_string(&cells).map_err(|e| internal(e.to_string()))?;
            tx.execute(
                &Query::insert()
                    .into_table(Alias::new("stat_days"))
                    .columns(
                        [
                            "scope_unit_id",
                            "kind",
                            "day",
                            "folded_at",
                            "valid_until",
                            "cells",
                        ]
                        .map(Alias::new),
                    )
                    .values_panic([
                        unit.id.into(),
                        kind.into(),
                        day.into(),
                        now.into(),
                        valid_until.into(),
                        cells.into(),
                    ])
                    .to_owned(),
            )
            .await?;
        }
    }
    // Only the marks this snapshot saw: a change committed since stays listed. Each mark's
    // case is looked up by its id, as in `days_of_cases`, whatever the planner believes of
    // the list's length.
    let folded_case = Query::select()
        .expr(Expr::val(1))
        .from(Alias::new(CASES))
        .and_where(stats::c("id").equals((Alias::new("stat_dirty"), Alias::new("case_id"))))
        .and_where(stats::c("county_id").eq(county))
        .cond_where(stats::received_in(&ranges, stats::c("received_at")))
        .to_owned();
    tx.execute(
        &Query::delete()
            .from_table(Alias::new("stat_dirty"))
            .and_where(Expr::SubQuery(None, Box::new(folded_case.into())).is_not_null())
            .to_owned(),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Per local day, the earliest deadline of the county's cases at or after `now` (any of
/// those the overdue measures compare with the clock): until then the day's folded figures
/// are what the cases give. Days without such a deadline map to `None`.
async fn valid_until(
    db: &impl ConnectionTrait,
    county: i64,
    ranges: &Ranges,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, Option<DateTime<Utc>>>> {
    let backend = db.get_database_backend();
    let day = db::local_day(backend, stats::c("received_at"));
    let mut q = Query::select();
    q.expr_as(day.clone(), Alias::new("day"))
        .from(Alias::new(CASES))
        .and_where(stats::c("county_id").eq(county))
        .cond_where(stats::received_in(ranges, stats::c("received_at")))
        .add_group_by([day]);
    let columns = [
        "accept_by",
        "handle_by",
        "review_request_by",
        "higher_report_due_at",
    ];
    for name in columns {
        let ahead = Expr::case(stats::c(name).gte(now), stats::c(name));
        q.expr_as(Func::min(ahead), Alias::new(name));
    }
    let mut out = BTreeMap::new();
    for row in db.query_all(&q).await? {
        let mut earliest: Option<DateTime<Utc>> = None;
        for name in columns {
            let at: Option<DateTime<Utc>> = row.try_get("", name)?;
            earliest = match (earliest, at) {
                (Some(a), Some(b)) => Some(std::cmp::Ord::min(a, b)),
                (a, b) => a.or(b),
            };
        }
        out.insert(row.try_get::<String>("", "day")?, earliest);
    }
    Ok(out)
}

/// Folds days in the background every `--statistics-fold-seconds` (none when 0); a failed
/// round is logged and tried again.
pub fn spawn_folder(state: Arc<AppState>) {
    let every = state.settings.statistics_fold_seconds;
    if every == 0 {
        return;
    }
    // This process's name on its claims.
    let holder = crate::auth::random_token()[..16].to_string();
    tokio::spawn(async move {
        let mut stopping = state.stopping.subscribe();
        loop {
            if let Err(e) = fold(&state.db, &state.clock, &holder).await {
                tracing::warn!(error = %e.message_for_operator(), "folding statistics days failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(every)) => {}
                _ = stopping.changed() => {
                    // Leave the counties to the other processes at once rather than when the
                    // claims lapse (best effort: a process that dies leaves them to lapse).
                    let release = Query::delete()
                        .from_table(Alias::new("stat_fold_leases"))
                        .and_where(Expr::col(Alias::new("holder")).eq(holder.as_str()))
                        .to_owned();
                    if let Err(e) = state.db.execute(&release).await {
                        tracing::warn!(error = %e, "releasing the statistics fold claims failed");
                    }
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};
    use xinfang_migration::{Migrator, MigratorTrait};

    async fn insert_trigger(db: &DatabaseConnection) -> String {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'stat_cases_insert'",
            ))
            .await
            .unwrap()
            .expect("the insert trigger exists");
        row.try_get::<String>("", "sql").unwrap()
    }

    /// The cheaper insert trigger (migration 027) replaces the first one, and going down past
    /// it puts the first one back; up again gives the cheaper one.
    #[tokio::test]
    async fn the_cheaper_insert_trigger_goes_up_and_down() {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        let cheaper = insert_trigger(&db).await;
        assert!(cheaper.contains("SELECT NEW.repeat_of_id"), "{cheaper}");
        assert!(!cheaper.contains("repeat_of_id = NEW.id"), "{cheaper}");
        // Down through 027 and whatever came after it.
        let all = Migrator::migrations();
        let at = all
            .iter()
            .position(|m| m.name() == "m20261204_000027_cheaper_stat_marks")
            .expect("migration 027 is listed");
        Migrator::down(&db, Some((all.len() - at) as u32))
            .await
            .unwrap();
        let first = insert_trigger(&db).await;
        assert!(first.contains("OR repeat_of_id = NEW.id"), "{first}");
        Migrator::up(&db, None).await.unwrap();
        assert_eq!(insert_trigger(&db).await, cheaper);
    }
}
