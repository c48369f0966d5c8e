//! Statistics (domain §6): counts and rates over the viewer's scope — the same condition as
//! every other read — for cases received in a period: one statement over the cases, or, for
//! the scopes of a county's units ([`Viewer::folded_scope`]), days folded in advance
//! ([`crate::stat_days`]) and that statement over the rest.
//!
//! Formulas, as computed (now = the server's clock):
//! - 件次 `cases`: cases received in the period. 人次 `persons`: the sum of `person_count`.
//!   批次 `groupPetitions`: group visits (集体访: visits by 5 or more). `repeats`: cases with `repeat_of`.
//! - 及时受理率 = decided by `accept_by` ÷ (decided by + decided after + undecided with
//!   `accept_by` passed). A decision is ACCEPT, DECLINE or REDIRECT. Grouped by unit, the
//!   clocks earlier lead units held count for them too (kept on the referral): met when the
//!   unit decided or passed the case on by its deadline, late when it decided after it, lapsed
//!   when it passed the case on undecided after it. The total and other groupings count each
//!   case once, by its current clock.
//! - 按期办结率 = replied by `handle_by` ÷ (replied by + replied after + unreplied with
//!   `handle_by` passed). Only accepted cases have a `handle_by`.
//! - 群众满意率 = (SATISFIED + BASICALLY_SATISFIED) ÷ rated, where a case whose decision a
//!   review changed (CHANGE) never counts as satisfied. With the setting
//!   `unrated_counts_as_satisfied`, replied cases left unrated after their review window count
//!   in both.
//! - 上级交办办结率 = reports back to a higher body made by their deadline ÷ (made by it +
//!   made after it + owed with the deadline passed), over cases a higher body assigned.
//! - 事项 `matters`: distinct matters among the cases counted (a matter with cases in several
//!   groups counts once in the total).
//! - 重复信访率 = repeats ÷ cases.
//! - 一次性化解率 = first petitions (not repeats) closed or finalized without any review, whose
//!   matter did not come back (no confirmed repeat in sight) ÷ first
//!   petitions closed or finalized.
//! - A clock a hearing holds (`clock_paused_at`) is not overdue while it is held; when the
//!   hearing ends, its deadline has moved by the working days it was held.
//! - 迟报 `lateRegistrations`: urgent matters and group visits registered later than the
//!   county's `registration_limit_hours` after receipt (as the limit stood at registration).
//!   `meanRegistrationHours` = the mean time from receipt to registration; grouped by
//!   `REGISTERED_BY`, per registering unit.
//! - A rate whose denominator is 0 is `None`.

use crate::access::{CASES, Viewer};
use crate::db;
use crate::domain::FromDb;
use crate::domain::{CaseStatus, DeadlineKind, Satisfaction};
use crate::error::{Result, internal};
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{
    Alias, Condition, Expr, ExprTrait, Func, JoinType, Query, SelectStatement, SimpleExpr,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Unit,
    RegisteredBy,
    Township,
    Category,
    Channel,
    Subject,
    Month,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub cases: i64,
    pub persons: i64,
    pub group_petitions: i64,
    pub repeats: i64,
    /// 事项: distinct matters among the cases counted.
    pub matters: i64,
    pub by_status: Vec<(CaseStatus, i64)>,
    pub accepted_on_time: i64,
    pub accepted_late: i64,
    pub undecided_overdue: i64,
    pub replied_on_time: i64,
    pub replied_late: i64,
    pub unreplied_overdue: i64,
    pub satisfied: i64,
    pub rated: i64,
    pub unrated_lapsed: i64,
    pub first_closed: i64,
    pub first_closed_without_review: i64,
    /// Cases whose decision a review or re-review changed (CHANGE).
    pub changed_on_review: i64,
    /// 上级交办: reports back made by their deadline, after it, and owed past it.
    pub higher_reported_on_time: i64,
    pub higher_reported_late: i64,
    pub higher_unreported_overdue: i64,
    /// 迟报: urgent matters and group visits registered later than the county's limit.
    pub late_registrations: i64,
    /// Minutes from receipt to registration, summed over the cases counted.
    pub registration_delay_minutes: i64,
    unrated_counts_as_satisfied: bool,
}

fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl Figures {
    pub(crate) fn empty(unrated_counts_as_satisfied: bool) -> Self {
        Figures {
            unrated_counts_as_satisfied,
            ..Figures::default()
        }
    }

    /// Every count but `matters` (which does not add up across days or groups), in a fixed
    /// order: the form `stat_days` keeps. Cases by status follow, in [`CaseStatus::ALL`] order.
    fn counts_mut(&mut self) -> [&mut i64; 22] {
        [
            &mut self.cases,
            &mut self.persons,
            &mut self.group_petitions,
            &mut self.repeats,
            &mut self.accepted_on_time,
            &mut self.accepted_late,
            &mut self.undecided_overdue,
            &mut self.replied_on_time,
            &mut self.replied_late,
            &mut self.unreplied_overdue,
            &mut self.satisfied,
            &mut self.rated,
            &mut self.unrated_lapsed,
            &mut self.first_closed,
            &mut self.first_closed_without_review,
            &mut self.changed_on_review,
            &mut self.higher_reported_on_time,
            &mut self.higher_reported_late,
            &mut self.higher_unreported_overdue,
            &mut self.late_registrations,
            &mut self.registration_delay_minutes,
            &mut self.matters,
        ]
    }

    /// The figures as `stat_days` keeps them (see [`Figures::counts_mut`]; `matters` is kept
    /// apart by the caller and stored here as 0).
    pub(crate) fn to_counts(&self) -> Vec<i64> {
        let mut copy = self.clone();
        copy.matters = 0;
        let mut out: Vec<i64> = copy.counts_mut().into_iter().map(|n| *n).collect();
        for status in CaseStatus::ALL {
            let n = self
                .by_status
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            out.push(n);
        }
        out
    }

    /// The inverse of [`Figures::to_counts`]; `None` for a row of another shape.
    pub(crate) fn from_counts(counts: &[i64], unrated_counts_as_satisfied: bool) -> Option<Self> {
        let mut figures = Figures::empty(unrated_counts_as_satisfied);
        let fields = figures.counts_mut();
        if counts.len() != fields.len() + CaseStatus::ALL.len() {
            return None;
        }
        for (field, n) in fields.into_iter().zip(counts) {
            *field = *n;
        }
        let statuses = &counts[counts.len() - CaseStatus::ALL.len()..];
        for (status, n) in CaseStatus::ALL.iter().zip(statuses) {
            if *n > 0 {
                figures.by_status.push((*status, *n));
            }
        }
        Some(figures)
    }

    /// Adds another group's figures to these.
    pub(crate) fn add(&mut self, other: &Figures) {
        self.cases += other.cases;
        self.persons += other.persons;
        self.group_petitions += other.group_petitions;
        self.repeats += other.repeats;
        // Not additive (a matter may span groups): the caller sets the total's own count.
        self.matters += other.matters;
        for (status, n) in &other.by_status {
            match self.by_status.iter_mut().find(|(s, _)| s == status) {
                Some((_, m)) => *m += n,
                None => self.by_status.push((*status, *n)),
            }
        }
        self.by_status
            .sort_by_key(|(s, _)| CaseStatus::ALL.iter().position(|x| x == s));
        self.accepted_on_time += other.accepted_on_time;
        self.accepted_late += other.accepted_late;
        self.undecided_overdue += other.undecided_overdue;
        self.replied_on_time += other.replied_on_time;
        self.replied_late += other.replied_late;
        self.unreplied_overdue += other.unreplied_overdue;
        self.satisfied += other.satisfied;
        self.rated += other.rated;
        self.unrated_lapsed += other.unrated_lapsed;
        self.first_closed += other.first_closed;
        self.first_closed_without_review += other.first_closed_without_review;
        self.changed_on_review += other.changed_on_review;
        self.higher_reported_on_time += other.higher_reported_on_time;
        self.higher_reported_late += other.higher_reported_late;
        self.higher_unreported_overdue += other.higher_unreported_overdue;
        self.late_registrations += other.late_registrations;
        self.registration_delay_minutes += other.registration_delay_minutes;
    }

    /// The mean time from receipt to registration, in hours.
    pub fn mean_registration_hours(&self) -> Option<f64> {
        ratio(self.registration_delay_minutes, self.cases).map(|m| m / 60.0)
    }

    pub fn timely_acceptance_rate(&self) -> Option<f64> {
        ratio(
            self.accepted_on_time,
            self.accepted_on_time + self.accepted_late + self.undecided_overdue,
        )
    }
    pub fn on_time_completion_rate(&self) -> Option<f64> {
        ratio(
            self.replied_on_time,
            self.replied_on_time + self.replied_late + self.unreplied_overdue,
        )
    }
    pub fn satisfaction_rate(&self) -> Option<f64> {
        if self.unrated_counts_as_satisfied {
            ratio(
                self.satisfied + self.unrated_lapsed,
                self.rated + self.unrated_lapsed,
            )
        } else {
            ratio(self.satisfied, self.rated)
        }
    }
    pub fn repeat_rate(&self) -> Option<f64> {
        ratio(self.repeats, self.cases)
    }
    /// 上级交办办结率: reports back made on time ÷ those due (made, or owed past the deadline).
    pub fn higher_assignment_report_rate(&self) -> Option<f64> {
        ratio(
            self.higher_reported_on_time,
            self.higher_reported_on_time
                + self.higher_reported_late
                + self.higher_unreported_overdue,
        )
    }
    pub fn first_time_resolution_rate(&self) -> Option<f64> {
        ratio(self.first_closed_without_review, self.first_closed)
    }
}

/// One group's key (as text: a unit id, an enum value, `YYYY-MM`; `None` for "no township")
/// and its figures.
pub struct Group {
    pub key: Option<String>,
    pub figures: Figures,
}

/// A column of `cases` (or of the counted cases, named the same).
pub(crate) fn c(name: &'static str) -> SimpleExpr {
    crate::access::col_of(CASES, name)
}

/// `COALESCE(CAST(expr AS BIGINT), 0)`: both databases then hand back an i64, and an empty
/// set counts 0.
fn bigint_or_zero(expr: SimpleExpr) -> SimpleExpr {
    let cast: SimpleExpr = Func::cast_as(expr, Alias::new("BIGINT")).into();
    let zero: SimpleExpr = Expr::val(0i64);
    Func::coalesce::<[SimpleExpr; 2], SimpleExpr>([cast, zero]).into()
}

fn count_if(cond: SimpleExpr) -> SimpleExpr {
    let when: SimpleExpr = Expr::case(cond, 1).finally(0).into();
    bigint_or_zero(Func::sum(when).into())
}

/// The column, computed once per counted case, that says whether it repeats a case the viewer
/// sees. Three measures ask it; written into each, the visible cases were read three times.
const VISIBLE_REPEAT: &str = "visible_repeat";

/// Half-open spans of time, `[from, to)`: the period of a request, or the days a fold or a
/// merge with folded days computes from the cases themselves.
pub(crate) type Ranges = [(DateTime<Utc>, DateTime<Utc>)];

/// `column` lies in one of the ranges (callers never pass none).
pub(crate) fn received_in(ranges: &Ranges, column: SimpleExpr) -> Condition {
    ranges.iter().fold(Condition::any(), |any, (from, to)| {
        any.add(column.clone().gte(*from).and(column.clone().lt(*to)))
    })
}

/// The viewer's visible cases received in the ranges: one column of them, or every column
/// when `column` is `None`.
fn received(
    viewer: &Viewer,
    ranges: &Ranges,
    column: Option<&'static str>,
) -> sea_orm::sea_query::SelectStatement {
    let mut q = crate::cases::visible_ids(viewer);
    q.clear_selects();
    match column {
        Some(name) => q.column((Alias::new(CASES), Alias::new(name))),
        None => q.column((Alias::new(CASES), sea_orm::sea_query::Asterisk)),
    };
    q.cond_where(received_in(ranges, c("received_at")));
    walk_sight(viewer, &mut q, Some(ranges));
    q
}

/// For a viewer who sees by its unit's relation rows (a township's or department's staff and
/// leaders, [`Viewer::sight_unit`]), walks the unit's own `case_sight` rows
/// ([`crate::cases::join_sight`]) — within the ranges, when given. Left to the scope's
/// `EXISTS` over the relation rows, the statement probes every case the county received in
/// the period: at a million cases, seconds per request. The scope still applies in full.
fn walk_sight(viewer: &Viewer, q: &mut SelectStatement, ranges: Option<&Ranges>) {
    let Some(unit) = viewer.sight_unit() else {
        return;
    };
    crate::cases::join_sight(q, SIGHT, unit);
    if let Some(ranges) = ranges {
        let received = Expr::col((Alias::new(SIGHT), Alias::new("received_at")));
        q.cond_where(received_in(ranges, received));
    }
}

/// The alias of the viewer's unit's `case_sight` rows in a statistics statement.
const SIGHT: &str = "sight";

/// The viewer's visible cases received in the ranges, with every column of `cases` and,
/// when `with_repeat`, [`VISIBLE_REPEAT`]. Named `cases` in the query around it, so the
/// measures read its columns as they would the table's.
fn counted_cases(
    backend: sea_orm::DatabaseBackend,
    viewer: &Viewer,
    ranges: &Ranges,
    with_repeat: bool,
) -> sea_orm::sea_query::SelectStatement {
    let mut q = received(viewer, ranges, None);
    if with_repeat {
        // The guard first: only a repeat probes the case it repeats.
        q.expr_as(
            c("repeat_of_id")
                .is_not_null()
                .and(crate::cases::is_visible_probe(
                    backend,
                    viewer,
                    c("repeat_of_id"),
                )),
            Alias::new(VISIBLE_REPEAT),
        );
        // Merged into the query around it, PostgreSQL would copy the expression back into
        // every measure that reads it.
        db::planning_fence(backend, &mut q);
    }
    q
}

/// The measures, in a fixed order, as (alias, expression).
fn measures(now: DateTime<Utc>) -> Vec<(&'static str, SimpleExpr)> {
    let ev = |name: &'static str| -> SimpleExpr { Expr::col((Alias::new("ev"), Alias::new(name))) };
    let decided = c("accept_decided_at").is_not_null();
    let replied = c("replied_at").is_not_null();
    let closed = c("status").is_in([CaseStatus::Closed.as_str(), CaseStatus::Finalized.as_str()]);
    // A repeat counts only where the viewer may see the case it repeats (a link to a case out
    // of sight reads as absent); otherwise the case counts as a first petition. Whether it
    // does is worked out once per case, below the measures ([`VISIBLE_REPEAT`]).
    let repeat: SimpleExpr = c(VISIBLE_REPEAT).eq(true);
    let first = c("repeat_of_id").is_null().or(repeat.clone().not());
    // A reply a review changed was not a good answer, however it was rated.
    let changed: SimpleExpr = Expr::col((Alias::new(CHANGED), Alias::new("case_id"))).is_not_null();
    let mut m: Vec<(&'static str, SimpleExpr)> = vec![
        (
            "cases",
            Func::cast_as(Func::count(Expr::val(1)), Alias::new("BIGINT")).into(),
        ),
        (
            "persons",
            bigint_or_zero(Func::sum(c("person_count")).into()),
        ),
        ("group_petitions", count_if(c("is_group").eq(true))),
        (
            "late_registrations",
            count_if(c("registered_late").eq(true)),
        ),
        (
            "registration_delay_minutes",
            bigint_or_zero(Func::sum(c("registration_delay_minutes")).into()),
        ),
        ("repeats", count_if(repeat)),
        ("matters", matters_measure()),
        (
            "accepted_on_time",
            count_if(
                decided
                    .clone()
                    .and(c("accept_decided_at").lte(c("accept_by"))),
            ),
        ),
        (
            "accepted_late",
            count_if(
                decided
                    .clone()
                    .and(c("accept_decided_at").gt(c("accept_by"))),
            ),
        ),
        (
            "undecided_overdue",
            count_if(
                decided
                    .not()
                    .and(c("accept_by").lt(now))
                    .and(c("clock_paused_at").is_null()),
            ),
        ),
        (
            "replied_on_time",
            count_if(replied.clone().and(c("replied_at").lte(c("handle_by")))),
        ),
        (
            "replied_late",
            count_if(replied.clone().and(c("replied_at").gt(c("handle_by")))),
        ),
        (
            "unreplied_overdue",
            count_if(
                replied
                    .clone()
                    .not()
                    .and(c("handle_by").lt(now))
                    .and(c("clock_paused_at").is_null()),
            ),
        ),
        (
            "satisfied",
            count_if(
                ev("satisfaction")
                    .is_in([
                        Satisfaction::Satisfied.as_str(),
                        Satisfaction::BasicallySatisfied.as_str(),
                    ])
                    .and(changed.clone().not()),
            ),
        ),
        ("changed_on_review", count_if(changed.clone())),
        (
            "higher_reported_on_time",
            count_if(
                c("higher_reported_at")
                    .is_not_null()
                    .and(c("higher_reported_at").lte(c("higher_report_due_at"))),
            ),
        ),
        (
            "higher_reported_late",
            count_if(
                c("higher_reported_at")
                    .is_not_null()
                    .and(c("higher_reported_at").gt(c("higher_report_due_at"))),
            ),
        ),
        (
            "higher_unreported_overdue",
            count_if(
                c("higher_reported_at")
                    .is_null()
                    .and(c("higher_report_due_at").lt(now)),
            ),
        ),
        ("rated", count_if(ev("case_id").is_not_null())),
        (
            "unrated_lapsed",
            count_if(
                replied
                    .and(ev("case_id").is_null())
                    .and(c("review_request_by").lt(now))
                    .and(c("reviewing_unit_id").is_null())
                    .and(changed.not()),
            ),
        ),
        ("first_closed", count_if(first.clone().and(closed.clone()))),
        (
            "first_closed_without_review",
            count_if(
                first
                    .and(closed)
                    .and(c("reviewing_unit_id").is_null())
                    .and(Expr::col((Alias::new(CAME_BACK), Alias::new("matter_id"))).is_null()),
            ),
        ),
    ];
    for status in CaseStatus::ALL {
        m.push((
            status_alias(*status),
            count_if(c("status").eq(status.as_str())),
        ));
    }
    m
}

/// 事项: how many distinct matters the counted cases belong to.
fn matters_measure() -> SimpleExpr {
    Func::cast_as(Func::count_distinct(c("matter_id")), Alias::new("BIGINT")).into()
}

/// The alias of [`changed_on_review`] in the statistics statement.
const CHANGED: &str = "changed";

/// The cases whose decision a review or re-review changed (CHANGE), each once; joined for the
/// reason given at [`came_back`] (the cases a county's reviews changed grow with it).
fn changed_on_review() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .distinct()
        .column(Alias::new("case_id"))
        .from(Alias::new("reviews"))
        .and_where(
            Expr::col(Alias::new("decision")).eq(crate::domain::ReviewDecision::Change.as_str()),
        )
        .to_owned()
}

/// The alias of [`came_back`] in the statistics statement.
const CAME_BACK: &str = "came_back";

/// The matters that came back, each once: those holding a confirmed repeat the viewer sees.
/// Their first petition was not resolved at once, however it closed. The statement left-joins
/// it: a counted case whose matter finds no row here did not come back (nor did a case without
/// a matter, which registration never leaves: it is its own matter). It is joined rather than
/// asked as `matter_id NOT IN (…)` per case: PostgreSQL keeps such a set in memory only while it fits
/// in its working memory, and past that compares every case with every matter in it, where a
/// join that outgrows memory spills to disk in batches. (Whether the case a repeat repeats is
/// in sight is left to the planner: looked up by key for every repeat, a department's
/// statement probed all the county's repeats before its own scope narrowed them.)
fn came_back(viewer: &Viewer) -> sea_orm::sea_query::SelectStatement {
    let mut q = crate::cases::visible_ids(viewer);
    q.clear_selects();
    q.distinct()
        .column((Alias::new(CASES), Alias::new("matter_id")))
        .and_where(c("repeat_of_id").is_not_null())
        .and_where(crate::cases::is_visible(viewer, c("repeat_of_id")))
        .and_where(c("matter_id").is_not_null());
    walk_sight(viewer, &mut q, None);
    q
}

fn status_alias(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Registered => "s_registered",
        CaseStatus::InProgress => "s_in_progress",
        CaseStatus::Reported => "s_reported",
        CaseStatus::Replied => "s_replied",
        CaseStatus::UnderReview => "s_under_review",
        CaseStatus::Reviewed => "s_reviewed",
        CaseStatus::UnderReReview => "s_under_re_review",
        CaseStatus::Finalized => "s_finalized",
        CaseStatus::NotAccepted => "s_not_accepted",
        CaseStatus::Closed => "s_closed",
    }
}

fn group_key(backend: sea_orm::DatabaseBackend, by: GroupBy) -> SimpleExpr {
    match by {
        GroupBy::Unit => c("lead_unit_id"),
        GroupBy::RegisteredBy => c("registered_by_unit_id"),
        GroupBy::Township => c("township_id"),
        GroupBy::Category => c("category"),
        GroupBy::Channel => c("channel"),
        GroupBy::Subject => c("subject"),
        GroupBy::Month => db::local_month(backend, c("received_at")),
    }
}

/// What a statistics request asks: the cases received in `[from, to)`, the grouping, the
/// clock's now and the county's reading of unrated replies.
#[derive(Clone, Copy, Debug)]
pub struct Asked {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Option<GroupBy>,
    pub now: DateTime<Utc>,
    pub unrated_counts_as_satisfied: bool,
}

/// The figures of the viewer's visible cases received in the period, in total and per group.
/// A viewer whose scope is folded ([`Viewer::folded_scope`]: the petition bureau, the county
/// unit, a township or a department) is answered from the days folded in `stat_days` where
/// they are still exact, and from the cases for the rest ([`crate::stat_days`]); everyone
/// else, and any scope not yet folded, from the cases.
pub async fn statistics(
    db: &sea_orm::DatabaseConnection,
    viewer: &Viewer,
    asked: Asked,
) -> Result<(Figures, Vec<Group>)> {
    if let Some(answer) = crate::stat_days::statistics(db, viewer, asked).await? {
        return Ok(answer);
    }
    live(
        db,
        viewer,
        &[(asked.from, asked.to)],
        asked.group_by,
        asked.now,
        asked.unrated_counts_as_satisfied,
    )
    .await
}

/// What a statistics statement groups by: the local day of receipt (when days are folded)
/// and a grouping.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keys {
    pub by_day: bool,
    pub by: Option<GroupBy>,
}

/// One row of a grouped statistics statement. `single_matters` (asked only when folding):
/// how many of its cases are the only case of their matter.
pub(crate) struct Tally {
    pub day: Option<String>,
    pub key: Option<String>,
    pub figures: Figures,
    pub single_matters: i64,
}

/// A counted case's matter holds another case (visible or not).
fn matter_shared() -> SimpleExpr {
    let other =
        |name: &'static str| -> SimpleExpr { Expr::col((Alias::new("mo"), Alias::new(name))) };
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(Alias::new(CASES), Alias::new("mo"))
            .and_where(other("matter_id").equals((Alias::new(CASES), Alias::new("matter_id"))))
            .and_where(other("id").ne(c("id")))
            .to_owned(),
    )
}

fn add_keys(
    backend: sea_orm::DatabaseBackend,
    q: &mut sea_orm::sea_query::SelectStatement,
    keys: Keys,
) {
    if keys.by_day {
        let day = db::local_day(backend, c("received_at"));
        q.expr_as(day.clone(), Alias::new("day_key"))
            .add_group_by([day]);
    }
    if let Some(by) = keys.by {
        let k = group_key(backend, by);
        q.expr_as(k.clone(), Alias::new("group_key"))
            .add_group_by([k]);
    }
}

fn read_keys(row: &sea_orm::QueryResult, keys: Keys) -> Result<(Option<String>, Option<String>)> {
    let day = match keys.by_day {
        true => row.try_get::<Option<String>>("", "day_key")?,
        false => None,
    };
    let key = match keys.by {
        Some(by) => read_key(row, by)?,
        None => None,
    };
    Ok((day, key))
}

/// Every measure over the viewer's visible cases received in the ranges, per key. `matters`
/// counts distinct matters within each row.
pub(crate) async fn tallies(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ranges: &Ranges,
    keys: Keys,
    now: DateTime<Utc>,
    fold: bool,
) -> Result<Vec<Tally>> {
    let backend = db.get_database_backend();
    let mut measures = measures(now);
    if fold {
        measures.push((
            "single_matters",
            count_if(c("matter_id").is_not_null().and(matter_shared().not())),
        ));
    }
    let mut q = joined(backend, viewer, ranges, true);
    add_keys(backend, &mut q, keys);
    for (alias, expr) in &measures {
        q.expr_as(expr.clone(), Alias::new(*alias));
    }
    let mut out = vec![];
    for row in db.query_all(&q).await? {
        let (day, key) = read_keys(&row, keys)?;
        out.push(Tally {
            day,
            key,
            figures: read(&row, false)?,
            single_matters: match fold {
                true => row.try_get("", "single_matters")?,
                false => 0,
            },
        });
    }
    Ok(out)
}

/// The counted cases, named `cases`, with their evaluation (`ev`) and, when `full`, the
/// sets [`changed_on_review`] and [`came_back`] joined.
fn joined(
    backend: sea_orm::DatabaseBackend,
    viewer: &Viewer,
    ranges: &Ranges,
    full: bool,
) -> sea_orm::sea_query::SelectStatement {
    let mut q = Query::select();
    q.from_subquery(
        counted_cases(backend, viewer, ranges, full),
        Alias::new(CASES),
    );
    if !full {
        return q;
    }
    q.join_as(
        JoinType::LeftJoin,
        Alias::new("evaluations"),
        Alias::new("ev"),
        Expr::col((Alias::new("ev"), Alias::new("case_id")))
            .equals((Alias::new(CASES), Alias::new("id"))),
    );
    // Each set is cut down to the counted cases' keys before it is joined: left whole, a
    // request counting today's hundred cases built the county's every changed case and every
    // matter that came back first (half a second at a million cases).
    let mut changed = changed_on_review();
    changed.and_where(Expr::col(Alias::new("case_id")).in_subquery(received(
        viewer,
        ranges,
        Some("id"),
    )));
    let mut back = came_back(viewer);
    back.and_where(c("matter_id").in_subquery(received(viewer, ranges, Some("matter_id"))));
    for (set, alias, key, case_column) in [
        (changed, CHANGED, "case_id", "id"),
        (back, CAME_BACK, "matter_id", "matter_id"),
    ] {
        q.join_subquery(
            JoinType::LeftJoin,
            set,
            Alias::new(alias),
            Expr::col((Alias::new(alias), Alias::new(key)))
                .equals((Alias::new(CASES), Alias::new(case_column))),
        );
    }
    q
}

/// The matters of the viewer's visible cases received in the ranges, per key, each once per
/// key; with `shared_only`, only matters that hold another case.
pub(crate) async fn matter_pairs(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ranges: &Ranges,
    keys: Keys,
    shared_only: bool,
) -> Result<Vec<(Option<String>, Option<String>, i64)>> {
    let backend = db.get_database_backend();
    let mut q = joined(backend, viewer, ranges, false);
    add_keys(backend, &mut q, keys);
    q.expr_as(c("matter_id"), Alias::new("matter"))
        .add_group_by([c("matter_id")])
        .and_where(c("matter_id").is_not_null());
    if shared_only {
        q.and_where(matter_shared());
    }
    let mut out = vec![];
    for row in db.query_all(&q).await? {
        let (day, key) = read_keys(&row, keys)?;
        out.push((day, key, row.try_get::<i64>("", "matter")?));
    }
    Ok(out)
}

/// The figures computed from the cases themselves, over the ranges.
pub(crate) async fn live(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ranges: &Ranges,
    group_by: Option<GroupBy>,
    now: DateTime<Utc>,
    unrated_counts_as_satisfied: bool,
) -> Result<(Figures, Vec<Group>)> {
    let keys = Keys {
        by_day: false,
        by: group_by,
    };
    let rows = tallies(db, viewer, ranges, keys, now, false).await?;
    if group_by.is_none() {
        let mut total = Figures::empty(unrated_counts_as_satisfied);
        for row in rows {
            total.add(&row.figures);
        }
        return Ok((total, vec![]));
    }
    // Every measure is a count or a sum, so the total is the sum of the groups: one pass over
    // the cases instead of two.
    let mut total = Figures::empty(unrated_counts_as_satisfied);
    let mut groups: Vec<Group> = vec![];
    for row in rows {
        let mut figures = row.figures;
        figures.unrated_counts_as_satisfied = unrated_counts_as_satisfied;
        total.add(&figures);
        groups.push(Group {
            key: row.key,
            figures,
        });
    }
    if group_by == Some(GroupBy::Unit) {
        add_earlier_clocks(
            &mut groups,
            earlier_clocks(db, viewer, ranges, false).await?,
            unrated_counts_as_satisfied,
        );
    }
    sort_groups(&mut groups);
    // A matter may have cases in several groups: the total counts it once.
    let mut q = joined(db.get_database_backend(), viewer, ranges, false);
    q.expr_as(matters_measure(), Alias::new("matters"));
    total.matters = match db.query_one(&q).await? {
        Some(r) => r.try_get::<i64>("", "matters")?,
        None => 0,
    };
    Ok((total, groups))
}

/// Per unit, the clocks earlier lead units held count for them too; a unit that leads
/// nothing in the period may still appear for a clock it held. The total (and every other
/// grouping) counts each case once, by its current clock.
pub(crate) fn add_earlier_clocks(
    groups: &mut Vec<Group>,
    earlier: Vec<(Option<String>, Option<String>, EarlierClocks)>,
    unrated_counts_as_satisfied: bool,
) {
    for (_, key, clocks) in earlier {
        match groups.iter_mut().find(|g| g.key == key) {
            Some(group) => clocks.add_to(&mut group.figures),
            None => {
                let mut figures = Figures::empty(unrated_counts_as_satisfied);
                clocks.add_to(&mut figures);
                groups.push(Group { key, figures });
            }
        }
    }
}

/// The most cases first, then by key.
pub(crate) fn sort_groups(groups: &mut [Group]) {
    groups.sort_by(|a, b| {
        b.figures
            .cases
            .cmp(&a.figures.cases)
            .then_with(|| a.key.cmp(&b.key))
    });
}

fn read_key(row: &sea_orm::QueryResult, by: GroupBy) -> Result<Option<String>> {
    Ok(match by {
        GroupBy::Unit | GroupBy::RegisteredBy | GroupBy::Township => row
            .try_get::<Option<i64>>("", "group_key")?
            .map(|v| v.to_string()),
        _ => row.try_get::<Option<String>>("", "group_key")?,
    })
}

/// Acceptance clocks held by earlier lead units, as their referrals kept them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EarlierClocks {
    on_time: i64,
    late: i64,
    lapsed: i64,
}

impl EarlierClocks {
    pub(crate) fn add_to(self, figures: &mut Figures) {
        figures.accepted_on_time += self.on_time;
        figures.accepted_late += self.late;
        figures.undecided_overdue += self.lapsed;
    }
}

/// Per sending unit (and, with `by_day`, per local day of receipt), the acceptance clocks
/// that lead units held before handing a visible case (received in the ranges) on. A clock
/// is met when the unit decided, or passed the case on, by its deadline; late when it decided
/// after it; lapsed when it passed the case on undecided after it. A referral whose objection
/// was approved (RETURNED) gave the sender a fresh clock, which the case itself counts; it
/// adds nothing here.
pub(crate) async fn earlier_clocks(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ranges: &Ranges,
    by_day: bool,
) -> Result<Vec<(Option<String>, Option<String>, EarlierClocks)>> {
    let r = |name: &'static str| -> SimpleExpr { Expr::col((Alias::new("r"), Alias::new(name))) };
    let decided = r("sender_accept_decided_at").is_not_null();
    let due = r("sender_accept_by");
    let mut q = Query::select();
    q.from_as(Alias::new("referrals"), Alias::new("r"))
        .join(
            JoinType::InnerJoin,
            Alias::new(CASES),
            Expr::col((Alias::new(CASES), Alias::new("id")))
                .equals((Alias::new("r"), Alias::new("case_id"))),
        )
        .cond_where(viewer.case_scope())
        .cond_where(received_in(ranges, c("received_at")))
        .and_where(due.clone().is_not_null())
        .and_where(r("status").ne(crate::domain::ReferralStatus::Returned.as_str()));
    walk_sight(viewer, &mut q, Some(ranges));
    q.expr_as(
        count_if(
            decided
                .clone()
                .and(r("sender_accept_decided_at").lte(due.clone()))
                .or(decided.clone().not().and(r("created_at").lte(due.clone()))),
        ),
        Alias::new("on_time"),
    )
    .expr_as(
        count_if(
            decided
                .clone()
                .and(r("sender_accept_decided_at").gt(due.clone())),
        ),
        Alias::new("late"),
    )
    .expr_as(
        count_if(decided.not().and(r("created_at").gt(due))),
        Alias::new("lapsed"),
    );
    if by_day {
        let day = db::local_day(db.get_database_backend(), c("received_at"));
        q.expr_as(day.clone(), Alias::new("day_key"))
            .add_group_by([day]);
    }
    q.expr_as(r("from_unit_id"), Alias::new("group_key"))
        .add_group_by([r("from_unit_id")]);
    let keys = Keys {
        by_day,
        by: Some(GroupBy::Unit),
    };
    let mut out = vec![];
    for row in db.query_all(&q).await? {
        let (day, key) = read_keys(&row, keys)?;
        let clocks = EarlierClocks {
            on_time: row.try_get("", "on_time")?,
            late: row.try_get("", "late")?,
            lapsed: row.try_get("", "lapsed")?,
        };
        out.push((day, key, clocks));
    }
    Ok(out)
}

fn read(row: &sea_orm::QueryResult, unrated_counts_as_satisfied: bool) -> Result<Figures> {
    let get = |name: &str| {
        row.try_get::<i64>("", name)
            .map_err(|e| internal(format!("statistics column {name}: {e}")))
    };
    let mut by_status = vec![];
    for status in CaseStatus::ALL {
        let n = get(status_alias(*status))?;
        if n > 0 {
            by_status.push((*status, n));
        }
    }
    Ok(Figures {
        cases: get("cases")?,
        persons: get("persons")?,
        group_petitions: get("group_petitions")?,
        late_registrations: get("late_registrations")?,
        registration_delay_minutes: get("registration_delay_minutes")?,
        repeats: get("repeats")?,
        matters: get("matters")?,
        by_status,
        accepted_on_time: get("accepted_on_time")?,
        accepted_late: get("accepted_late")?,
        undecided_overdue: get("undecided_overdue")?,
        replied_on_time: get("replied_on_time")?,
        replied_late: get("replied_late")?,
        unreplied_overdue: get("unreplied_overdue")?,
        satisfied: get("satisfied")?,
        rated: get("rated")?,
        unrated_lapsed: get("unrated_lapsed")?,
        first_closed: get("first_closed")?,
        first_closed_without_review: get("first_closed_without_review")?,
        changed_on_review: get("changed_on_review")?,
        higher_reported_on_time: get("higher_reported_on_time")?,
        higher_reported_late: get("higher_reported_late")?,
        higher_unreported_overdue: get("higher_unreported_overdue")?,
        unrated_counts_as_satisfied,
    })
}

/// Per lead unit and deadline kind, how many visible cases are past due (or due within 3
/// days): case deadlines by the pending `due_at`, and unanswered supervision orders by theirs.
pub async fn oversight(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    overdue: bool,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, DeadlineKind, i64)>> {
    let window = |col: SimpleExpr| crate::deadlines::window_sql(col, now, overdue);
    let pending: Vec<&str> = [
        DeadlineKind::Acceptance,
        DeadlineKind::Handling,
        DeadlineKind::ReviewDecision,
    ]
    .iter()
    .flat_map(|k| k.statuses().iter().map(|s| s.as_str()))
    .collect();
    let count: SimpleExpr = Func::cast_as(Func::count(Expr::val(1)), Alias::new("BIGINT")).into();
    let cases_q = Query::select()
        .expr_as(c("lead_unit_id"), Alias::new("unit_id"))
        .expr_as(c("status"), Alias::new("status"))
        .expr_as(count.clone(), Alias::new("n"))
        .from(Alias::new(CASES))
        .cond_where(viewer.case_scope())
        .and_where(c("status").is_in(pending))
        .and_where(window(c("due_at")))
        .add_group_by([c("lead_unit_id"), c("status")])
        .to_owned();
    let mut totals: std::collections::BTreeMap<(i64, DeadlineKind), i64> = Default::default();
    for row in db.query_all(&cases_q).await? {
        let unit: i64 = row.try_get("", "unit_id")?;
        let status = CaseStatus::from_db(&row.try_get::<String>("", "status")?)?;
        let n: i64 = row.try_get("", "n")?;
        if let Some(kind) = DeadlineKind::of_status(status) {
            *totals.entry((unit, kind)).or_default() += n;
        }
    }
    let sup =
        |name: &'static str| -> SimpleExpr { Expr::col((Alias::new("sv"), Alias::new(name))) };
    let orders_q = Query::select()
        .expr_as(c("lead_unit_id"), Alias::new("unit_id"))
        .expr_as(
            Func::cast_as(Func::count_distinct(c("id")), Alias::new("BIGINT")),
            Alias::new("n"),
        )
        .from(Alias::new(CASES))
        .join_as(
            JoinType::InnerJoin,
            Alias::new("supervisions"),
            Alias::new("sv"),
            sup("case_id").equals((Alias::new(CASES), Alias::new("id"))),
        )
        .cond_where(viewer.case_scope())
        .and_where(sup("answered_at").is_null())
        .and_where(window(sup("due_at")))
        .add_group_by([c("lead_unit_id")])
        .to_owned();
    for row in db.query_all(&orders_q).await? {
        let unit: i64 = row.try_get("", "unit_id")?;
        let n: i64 = row.try_get("", "n")?;
        *totals.entry((unit, DeadlineKind::Supervision)).or_default() += n;
    }
    // Reports back owed to a higher body that assigned the case (上级交办).
    let reports_q = Query::select()
        .expr_as(c("lead_unit_id"), Alias::new("unit_id"))
        .expr_as(count, Alias::new("n"))
        .from(Alias::new(CASES))
        .cond_where(viewer.case_scope())
        .and_where(c("higher_reported_at").is_null())
        .and_where(window(c("higher_report_due_at")))
        .add_group_by([c("lead_unit_id")])
        .to_owned();
    for row in db.query_all(&reports_q).await? {
        let unit: i64 = row.try_get("", "unit_id")?;
        let n: i64 = row.try_get("", "n")?;
        *totals
            .entry((unit, DeadlineKind::HigherReport))
            .or_default() += n;
    }
    Ok(totals
        .into_iter()
        .map(|((unit, kind), n)| (unit, kind, n))
        .collect())
}
