//! Statistics against a direct count (issue 18, target 4). A seeded county (every status,
//! referrals, reviews, repeats, higher assignments) lives a run of random workflow actions,
//! each one the acting account's `viewerCan` allows, with the clock moving on between them.
//! Then, for four users whose sight differs, the figures the API gives (in total and per
//! unit) must equal the figures counted here, case by case, from the rows themselves, by the
//! formulas of domain.md §6 — the visible cases being those the user's own case list shows.
//!
//! Whatever way the server computes statistics (one statement today; precomputed totals, if
//! it ever keeps them), this is the check that it stays exact.

use crate::fixtures::ok;
use crate::support::{TestApp, gid, spawn_app};
use chrono::{DateTime, TimeDelta, Utc};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use xinfang_entity::{case, evaluation, org_unit, referral, review, user};

/// Cases the seed writes: enough for every status and relation, few enough to list.
const SEEDED: u64 = 240;
/// Workflow actions taken after the seed.
const ACTIONS: usize = 36;

/// The figures compared, by their GraphQL names: every count of `StatisticsFigures`.
const COUNTS: [&str; 22] = [
    "cases",
    "persons",
    "groupPetitions",
    "repeats",
    "matters",
    "acceptedOnTime",
    "acceptedLate",
    "undecidedOverdue",
    "repliedOnTime",
    "repliedLate",
    "unrepliedOverdue",
    "satisfied",
    "rated",
    "unratedLapsed",
    "firstPetitions",
    "firstClosed",
    "firstClosedWithoutReview",
    "changedOnReview",
    "higherReportedOnTime",
    "higherReportedLate",
    "higherUnreportedOverdue",
    "lateRegistrations",
];

const STATS: &str = "query($from: DateTime!, $to: DateTime!, $g: StatisticsGroupBy) {
  statistics(from: $from, to: $to, groupBy: $g) {
    total { ...F }
    groups { key figures { ...F } }
  }
}
fragment F on StatisticsFigures {
  cases persons groupPetitions repeats matters acceptedOnTime acceptedLate undecidedOverdue
  repliedOnTime repliedLate unrepliedOverdue satisfied rated unratedLapsed firstPetitions
  firstClosed firstClosedWithoutReview changedOnReview higherReportedOnTime higherReportedLate
  higherUnreportedOverdue lateRegistrations meanRegistrationHours
  byStatus { status count }
}";

/// One group's figures as compared: the counts, cases by status, and the summed minutes from
/// receipt to registration (the API gives their mean in hours).
#[derive(Debug, Default, PartialEq)]
struct Counted {
    counts: BTreeMap<&'static str, i64>,
    by_status: BTreeMap<String, i64>,
    registration_minutes: i64,
}

impl Counted {
    fn add(&mut self, name: &'static str, yes: bool) {
        *self.counts.entry(name).or_default() += i64::from(yes);
    }

    /// The API's answer for one group, in the same shape.
    fn from_api(figures: &Value) -> Counted {
        let mut out = Counted::default();
        for name in COUNTS {
            let n = figures[name]
                .as_i64()
                .unwrap_or_else(|| panic!("{name} in {figures}"));
            out.counts.insert(name, n);
        }
        for s in figures["byStatus"].as_array().expect("byStatus") {
            let n = s["count"].as_i64().expect("count");
            if n > 0 {
                out.by_status
                    .insert(s["status"].as_str().expect("status").to_string(), n);
            }
        }
        let cases = out.counts["cases"];
        out.registration_minutes = match figures["meanRegistrationHours"].as_f64() {
            Some(hours) => (hours * 60.0 * cases as f64).round() as i64,
            None => {
                assert_eq!(cases, 0, "a mean is missing only without cases: {figures}");
                0
            }
        };
        out
    }
}

fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("an enum value")
}

/// The rows the figures are counted from, read straight from the database.
struct Rows {
    cases: HashMap<i64, case::Model>,
    by_number: HashMap<String, i64>,
    satisfaction: HashMap<i64, String>,
    changed: BTreeSet<i64>,
    referrals: Vec<referral::Model>,
}

async fn rows(app: &TestApp) -> Rows {
    let db = app.db();
    let cases: HashMap<i64, case::Model> = case::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let by_number = cases.values().map(|c| (c.number.clone(), c.id)).collect();
    let satisfaction = evaluation::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.case_id, text(&e.satisfaction)))
        .collect();
    let changed = review::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.decision.as_ref().map(text).as_deref() == Some("CHANGE"))
        .map(|r| r.case_id)
        .collect();
    let referrals = referral::Entity::find().all(db).await.unwrap();
    Rows {
        cases,
        by_number,
        satisfaction,
        changed,
        referrals,
    }
}

/// The ids of every case the user's case list shows, page by page.
async fn visible(app: &TestApp, token: &str, rows: &Rows) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .gql(
                Some(token),
                "query($after: String) { cases(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { number } } }",
                json!({"after": after}),
            )
            .await;
        let page = &body["data"]["cases"];
        assert!(body["errors"].is_null(), "{body}");
        for node in page["nodes"].as_array().unwrap() {
            out.insert(rows.by_number[node["number"].as_str().unwrap()]);
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return out;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// Counts, by domain.md §6, the figures of the visible cases received in `[from, to)`: in
/// total, and per lead unit with the acceptance clocks earlier lead units held.
fn direct(
    rows: &Rows,
    seen: &BTreeSet<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Counted, BTreeMap<i64, Counted>) {
    let counted: Vec<&case::Model> = seen
        .iter()
        .map(|id| &rows.cases[id])
        .filter(|c| c.received_at >= from && c.received_at < to)
        .collect();
    // A repeat counts only when the case it repeats is in sight.
    let repeats_seen = |c: &case::Model| c.repeat_of_id.is_some_and(|r| seen.contains(&r));
    // Matters that came back: holding a visible case that repeats a visible one.
    let came_back: BTreeSet<i64> = seen
        .iter()
        .map(|id| &rows.cases[id])
        .filter(|c| repeats_seen(c))
        .filter_map(|c| c.matter_id)
        .collect();
    let one = |c: &case::Model, into: &mut Counted| {
        let status = text(&c.status);
        let closed = status == "CLOSED" || status == "FINALIZED";
        let first = !repeats_seen(c);
        let changed = rows.changed.contains(&c.id);
        let rating = rows.satisfaction.get(&c.id);
        let overdue = |due: Option<DateTime<Utc>>| {
            due.is_some_and(|d| d < now) && c.clock_paused_at.is_none()
        };
        let by = |at: Option<DateTime<Utc>>, due: Option<DateTime<Utc>>, late: bool| match (at, due)
        {
            (Some(at), Some(due)) => (at > due) == late,
            _ => false,
        };
        into.add("cases", true);
        *into.counts.entry("persons").or_default() += i64::from(c.person_count);
        into.add("groupPetitions", c.is_group);
        into.add("repeats", !first);
        into.add("firstPetitions", first);
        into.add(
            "acceptedOnTime",
            by(c.accept_decided_at, c.accept_by, false),
        );
        into.add("acceptedLate", by(c.accept_decided_at, c.accept_by, true));
        into.add(
            "undecidedOverdue",
            c.accept_decided_at.is_none() && overdue(c.accept_by),
        );
        into.add("repliedOnTime", by(c.replied_at, c.handle_by, false));
        into.add("repliedLate", by(c.replied_at, c.handle_by, true));
        into.add(
            "unrepliedOverdue",
            c.replied_at.is_none() && overdue(c.handle_by),
        );
        into.add(
            "satisfied",
            rating.is_some_and(|s| s == "SATISFIED" || s == "BASICALLY_SATISFIED") && !changed,
        );
        into.add("rated", rating.is_some());
        into.add(
            "unratedLapsed",
            c.replied_at.is_some()
                && rating.is_none()
                && c.review_request_by.is_some_and(|d| d < now)
                && c.reviewing_unit_id.is_none()
                && !changed,
        );
        into.add("firstClosed", first && closed);
        into.add(
            "firstClosedWithoutReview",
            first
                && closed
                && c.reviewing_unit_id.is_none()
                && !c.matter_id.is_some_and(|m| came_back.contains(&m)),
        );
        into.add("changedOnReview", changed);
        into.add(
            "higherReportedOnTime",
            by(c.higher_reported_at, c.higher_report_due_at, false),
        );
        into.add(
            "higherReportedLate",
            by(c.higher_reported_at, c.higher_report_due_at, true),
        );
        into.add(
            "higherUnreportedOverdue",
            c.higher_reported_at.is_none() && c.higher_report_due_at.is_some_and(|d| d < now),
        );
        into.add("lateRegistrations", c.registered_late);
        into.registration_minutes += i64::from(c.registration_delay_minutes);
        *into.by_status.entry(status).or_default() += 1;
    };
    let matters = |cases: &[&case::Model]| {
        cases
            .iter()
            .filter_map(|c| c.matter_id)
            .collect::<BTreeSet<_>>()
            .len() as i64
    };
    let mut total = Counted::default();
    let mut units: BTreeMap<i64, Vec<&case::Model>> = BTreeMap::new();
    for c in &counted {
        one(c, &mut total);
        units.entry(c.lead_unit_id).or_default().push(c);
    }
    total.counts.insert("matters", matters(&counted));
    let mut groups: BTreeMap<i64, Counted> = BTreeMap::new();
    for (unit, cases) in &units {
        let g = groups.entry(*unit).or_default();
        for c in cases {
            one(c, g);
        }
        g.counts.insert("matters", matters(cases));
    }
    // Per unit, the acceptance clocks earlier lead units held (kept on their referrals): met
    // when decided or passed on by the deadline, late when decided after it, lapsed when
    // passed on undecided after it. A returned referral gave a fresh clock the case counts.
    let in_period: BTreeSet<i64> = counted.iter().map(|c| c.id).collect();
    for r in &rows.referrals {
        let (Some(due), true) = (r.sender_accept_by, in_period.contains(&r.case_id)) else {
            continue;
        };
        if text(&r.status) == "RETURNED" {
            continue;
        }
        let g = groups.entry(r.from_unit_id).or_default();
        match r.sender_accept_decided_at {
            Some(at) => g.add(
                if at <= due {
                    "acceptedOnTime"
                } else {
                    "acceptedLate"
                },
                true,
            ),
            None if r.created_at <= due => g.add("acceptedOnTime", true),
            None => g.add("undecidedOverdue", true),
        }
    }
    // A group that only held earlier clocks still shows every count, at zero.
    for g in groups.values_mut().chain(std::iter::once(&mut total)) {
        for name in COUNTS {
            g.counts.entry(name).or_default();
        }
    }
    (total, groups)
}

/// The seeded account of that name.
async fn account(app: &TestApp, username: &str) -> i64 {
    app.number(&format!(
        "SELECT id FROM users WHERE username = '{username}'"
    ))
    .await
}

/// What the account behind `token` may do to case `id`, of the actions this test takes.
async fn allowed(app: &TestApp, token: &str, id: &str) -> (i64, Vec<&'static str>) {
    let body = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { version viewerCan { decideAcceptance reply close evaluate transfer requestReview decideReview reportToHigherBody } } }",
            json!({"id": id}),
        )
        .await;
    let case = &body["data"]["case"];
    if case.is_null() {
        return (0, vec![]);
    }
    let can = &case["viewerCan"];
    let actions = [
        ("decideAcceptance", "decideAcceptance"),
        ("reply", "issueReply"),
        ("close", "closeCase"),
        ("evaluate", "evaluateCase"),
        ("transfer", "transferCase"),
        ("requestReview", "requestReview"),
        ("decideReview", "decideReview"),
        ("reportToHigherBody", "reportToHigherBody"),
    ];
    let yes = actions
        .iter()
        .filter(|(k, _)| can[*k] == json!(true))
        .map(|(_, m)| *m)
        .collect();
    (case["version"].as_i64().unwrap(), yes)
}

/// The random choices an action's input leaves open.
struct Pick {
    accept: bool,
    satisfaction: &'static str,
    uphold: bool,
    to_unit: i64,
}

/// The input of `action` on the case, as the acting account sends it.
fn input(action: &str, c: &case::Model, v: i64, pick: &Pick) -> Value {
    let id = gid("Case", c.id);
    match action {
        "decideAcceptance" if pick.accept => {
            json!({"caseId": id, "expectedVersion": v, "decision": "ACCEPT"})
        }
        "decideAcceptance" => {
            json!({"caseId": id, "expectedVersion": v, "decision": "DECLINE", "reason": "不属于信访事项"})
        }
        "issueReply" => {
            json!({"caseId": id, "expectedVersion": v, "outcome": "SUPPORTED", "facts": "经查属实。", "reasons": "符合政策。", "basis": "《信访工作条例》", "deliveredBy": "IN_PERSON"})
        }
        "closeCase" => json!({"caseId": id, "expectedVersion": v}),
        "evaluateCase" => {
            json!({"caseId": id, "satisfaction": pick.satisfaction, "onBehalf": true})
        }
        "transferCase" => {
            json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", pick.to_unit), "mode": "TRANSFER", "reason": "属该单位职责"})
        }
        "requestReview" => json!({"caseId": id, "reason": "对处理意见不服"}),
        "reportToHigherBody" => {
            json!({"caseId": id, "expectedVersion": v, "text": "已按交办要求办结"})
        }
        "decideReview" if pick.uphold => {
            json!({"caseId": id, "expectedVersion": v, "decision": "UPHOLD", "text": "维持原处理意见"})
        }
        // A review may send the case back; a re-review concludes the matter, so it can only
        // put its own decision in place of the one below.
        "decideReview" if text(&c.status) == "UNDER_REVIEW" => {
            json!({"caseId": id, "expectedVersion": v, "decision": "CHANGE", "change": "REDO", "text": "认定事实不清，撤销并责令重新办理。"})
        }
        "decideReview" => {
            json!({"caseId": id, "expectedVersion": v, "decision": "CHANGE", "change": "REPLACE", "text": "变更原复查意见。"})
        }
        other => unreachable!("{other}"),
    }
}

/// Every (token, version, action) that the case's lead unit, its reviewing unit or the
/// bureau may take now, by their `viewerCan`.
async fn options(app: &TestApp, c: &case::Model) -> Vec<(String, i64, &'static str)> {
    let bureau = account(app, "bureau_staff").await;
    let mut units = vec![c.lead_unit_id];
    units.extend(c.reviewing_unit_id);
    let mut actors: Vec<i64> = user::Entity::find()
        .filter(user::Column::OrgUnitId.is_in(units))
        .order_by_asc(user::Column::Id)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter(|u| matches!(text(&u.role).as_str(), "STAFF" | "LEADER"))
        .map(|u| u.id)
        .collect();
    actors.push(bureau);
    let mut out = vec![];
    for actor in actors {
        let token = app.token_for(actor).await;
        let (v, can) = allowed(app, &token, &gid("Case", c.id)).await;
        for action in can {
            out.push((token.clone(), v, action));
        }
    }
    out
}

async fn load(app: &TestApp, id: i64) -> case::Model {
    case::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .expect("the case")
}

/// Takes `n` random actions, each allowed to its actor, and returns how many of each kind.
async fn live(app: &TestApp, rng: &mut ChaCha8Rng, n: usize) -> BTreeMap<&'static str, usize> {
    let db = app.db();
    let targets: Vec<i64> = org_unit::Entity::find()
        .order_by_asc(org_unit::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| matches!(text(&u.kind).as_str(), "TOWNSHIP" | "DEPARTMENT"))
        .map(|u| u.id)
        .collect();
    let mut taken: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut tries = 0;
    while taken.values().sum::<usize>() < n {
        tries += 1;
        assert!(tries < n * 20, "too few allowed actions: {taken:?}");
        if rng.random_bool(0.3) {
            app.advance_days(rng.random_range(1..=12));
        }
        let open: Vec<case::Model> = case::Entity::find()
            .filter(case::Column::Status.is_not_in(["CLOSED", "FINALIZED", "NOT_ACCEPTED"]))
            .order_by_asc(case::Column::Id)
            .all(db)
            .await
            .unwrap();
        let c = open.choose(rng).expect("open cases");
        let options = options(app, c).await;
        // Each kind of action allowed is as likely as any other, whoever may take it.
        let kinds: Vec<&str> = options
            .iter()
            .map(|o| o.2)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let Some(kind) = kinds.choose(rng).copied() else {
            continue;
        };
        let mine: Vec<_> = options.iter().filter(|o| o.2 == kind).collect();
        let (token, v, action) = *mine.choose(rng).unwrap();
        // Another unit, and never the accused unit of an accusation (the seed's townships and
        // departments hold no units below them, so no other is inside it).
        let others: Vec<i64> = targets
            .iter()
            .copied()
            .filter(|u| *u != c.lead_unit_id && Some(*u) != c.accused_unit_id)
            .collect();
        let pick = Pick {
            accept: rng.random_bool(0.75),
            satisfaction: ["SATISFIED", "BASICALLY_SATISFIED", "DISSATISFIED"]
                .choose(rng)
                .copied()
                .unwrap(),
            uphold: rng.random_bool(0.5),
            to_unit: *others.choose(rng).unwrap(),
        };
        ok(
            app,
            token,
            action,
            input(action, c, *v, &pick),
            "__typename",
        )
        .await;
        *taken.entry(action).or_default() += 1;
    }
    taken
}

/// The bureau registers a case led by the department user's unit, with `extra` over the
/// fixtures' input. Returns its database id.
async fn registered(app: &TestApp, extra: Value) -> i64 {
    let bureau = account(app, "bureau_staff").await;
    let dept = app
        .number("SELECT org_unit_id FROM users WHERE username = 'department_staff'")
        .await;
    let mut input = crate::fixtures::case_input(json!({"leadUnitId": gid("OrgUnit", dept)}));
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let token = app.token_for(bureau).await;
    let body = app
        .gql(
            Some(&token),
            crate::fixtures::REGISTER,
            json!({"input": input}),
        )
        .await;
    let number = body["data"]["registerCase"]["case"]["number"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    app.number(&format!("SELECT id FROM cases WHERE number = '{number}'"))
        .await
}

/// A case the city's bureau assigned (交办), owing a report back in `due_in` days.
async fn assigned(app: &TestApp, due_in: i64) -> i64 {
    let due = app.state.clock.now() + TimeDelta::days(due_in);
    registered(
        app,
        json!({
            "channel": "HIGHER_REFERRAL",
            "fromHigherBody": {"name": "邢台市信访局", "level": "CITY", "referenceNumber": format!("邢信交〔2026〕{due_in}号"), "mode": "ASSIGN", "reportDueAt": due},
        }),
    )
    .await
}

/// Takes the case through `steps` in order, each by an account whose `viewerCan` allows it.
async fn drive(app: &TestApp, case_id: i64, steps: &[&str], pick: &Pick) {
    for step in steps {
        let c = load(app, case_id).await;
        let options = options(app, &c).await;
        let Some((token, v, action)) = options.iter().find(|o| o.2 == *step) else {
            panic!(
                "{step} is not allowed on case {} ({:?})",
                c.number, c.status
            );
        };
        ok(
            app,
            token,
            action,
            input(action, &c, *v, pick),
            "__typename",
        )
        .await;
    }
}

#[tokio::test]
async fn on_a_seeded_county_after_random_actions_the_figures_equal_a_direct_count() {
    let app = spawn_app().await;
    xinfang_api::seed::fill(
        app.db(),
        &app.state.auth,
        &app.state.storage,
        &xinfang_api::seed::SeedOptions {
            cases: SEEDED,
            password: "seeded-county-2026".into(),
            writers: 1,
        },
        false,
    )
    .await
    .expect("the seed fills the county");
    let mut rng = ChaCha8Rng::seed_from_u64(0x5747_1802);
    let taken = live(&app, &mut rng, ACTIONS).await;
    // The run is not vacuous: it decided, replied and moved cases on.
    assert!(taken.len() >= 4, "kinds of action taken: {taken:?}");
    // Some turns are too rare in a small seed for chance to reach. Three assignments from
    // above arrive now: the first is reported back on time, the second after its deadline,
    // the third is still owed past it. A fourth case is rated basically satisfied and then
    // changed on review, which must keep it out of the satisfied.
    let pick = Pick {
        accept: true,
        satisfaction: "BASICALLY_SATISFIED",
        uphold: false,
        to_unit: 0,
    };
    let on_time = assigned(&app, 20).await;
    let late = assigned(&app, 5).await;
    assigned(&app, 3).await;
    let changed = registered(&app, json!({})).await;
    let report = ["decideAcceptance", "issueReply", "reportToHigherBody"];
    drive(&app, on_time, &report, &pick).await;
    drive(&app, late, &report[..2], &pick).await;
    let review = [
        "decideAcceptance",
        "issueReply",
        "evaluateCase",
        "requestReview",
        "decideReview",
    ];
    drive(&app, changed, &review, &pick).await;
    app.advance_days(6);
    drive(&app, late, &report[2..], &pick).await;
    // Once as the cases give them; then with every day folded (`stat_days`), and again after
    // more actions and a later clock have made some folded days stale and left others exact.
    let mut nonzero = compare_all(&app, "before folding").await;
    // (Test servers fold only when told to, so every comparison before this one read the cases.)
    xinfang_api::stat_days::fold(app.db(), &app.state.clock, "process-a")
        .await
        .expect("the days fold");
    let days = app
        .number("SELECT CAST(COUNT(DISTINCT day) AS BIGINT) FROM stat_days")
        .await;
    assert!(days > 100, "the county's days are folded: {days}");
    // Every user compared below but the county-wide ones sees by relation rows; on
    // PostgreSQL their scopes are folded as well, so the next comparison reads folded days
    // for all four (on SQLite only the county-wide scopes are folded).
    for username in ["township_staff", "department_staff"] {
        let folded = app
            .number(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM stat_scopes s JOIN users u \
                 ON u.org_unit_id = s.unit_id \
                 WHERE u.username = '{username}' AND s.ready_at IS NOT NULL"
            ))
            .await;
        let expected = i64::from(app.on_postgres());
        assert_eq!(folded, expected, "{username}'s scope is folded");
    }
    nonzero.extend(compare_all(&app, "every day folded").await);
    live(&app, &mut rng, 12).await;
    app.advance_days(20);
    nonzero.extend(compare_all(&app, "folded days, some stale").await);
    // Server processes sharing a database each fold. After more actions (whose clock has
    // let the first process's claim lapse), two processes fold at once, each on a pool of its
    // own: one takes the county and folds the changed days, the other leaves it alone, and
    // the figures stay exact.
    live(&app, &mut rng, 8).await;
    let second = sea_orm::Database::connect(&app.db_url)
        .await
        .expect("a second pool on the same database");
    let (a, b) = tokio::join!(
        xinfang_api::stat_days::fold(app.db(), &app.state.clock, "process-a"),
        xinfang_api::stat_days::fold(&second, &app.state.clock, "process-b"),
    );
    let (a, b) = (a.expect("process a folds"), b.expect("process b folds"));
    assert!(
        (a > 0) != (b > 0),
        "exactly one process folds the county: {a} and {b} days"
    );
    nonzero.extend(compare_all(&app, "folded by two at once").await);
    // The county gave every measure something to count, so each comparison above could fail.
    let zero: Vec<&str> = COUNTS
        .iter()
        .filter(|n| !nonzero.contains(*n))
        .copied()
        .collect();
    assert!(
        zero.is_empty(),
        "measures that counted nothing anywhere: {zero:?}"
    );
}

/// For four users whose sight differs and two periods, the API's figures (in total, without
/// grouping and per unit) equal the direct count. Returns the measures that counted anything.
async fn compare_all(app: &TestApp, stage: &str) -> BTreeSet<&'static str> {
    let now = app.state.clock.now();
    let periods = [
        (now - TimeDelta::days(4 * 366), now + TimeDelta::days(1)),
        (now - TimeDelta::days(400), now - TimeDelta::days(30)),
    ];
    let mut nonzero: BTreeSet<&str> = BTreeSet::new();
    for username in [
        "county_staff",
        "township_staff",
        "department_staff",
        "bureau_staff",
    ] {
        let token = app.token_for(account(app, username).await).await;
        // The scanner may write while this reads; read until the answer and the rows agree
        // twice running (nothing moved in between).
        for (from, to) in periods {
            let vars = |g: Value| json!({"from": from.to_rfc3339(), "to": to.to_rfc3339(), "g": g});
            let mut attempt = 0;
            loop {
                attempt += 1;
                let before = app.gql(Some(&token), STATS, vars(json!("UNIT"))).await;
                let rows = rows(app).await;
                let seen = visible(app, &token, &rows).await;
                let plain = app.gql(Some(&token), STATS, vars(Value::Null)).await;
                let after = app.gql(Some(&token), STATS, vars(json!("UNIT"))).await;
                for body in [&before, &plain, &after] {
                    assert!(body["errors"].is_null(), "{body}");
                }
                if before != after && attempt < 5 {
                    continue;
                }
                let (total, groups) = direct(&rows, &seen, from, to, app.state.clock.now());
                let stats = &after["data"]["statistics"];
                assert_eq!(
                    Counted::from_api(&stats["total"]),
                    total,
                    "{stage}: {username}, {from} – {to}: the total"
                );
                assert_eq!(
                    Counted::from_api(&plain["data"]["statistics"]["total"]),
                    total,
                    "{stage}: {username}, {from} – {to}: the total without grouping"
                );
                let api_groups: BTreeMap<i64, Counted> = stats["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| {
                        let key = g["key"].as_str().expect("a unit's key");
                        (
                            key.parse().expect("a unit id"),
                            Counted::from_api(&g["figures"]),
                        )
                    })
                    .collect();
                assert_eq!(
                    api_groups.keys().collect::<Vec<_>>(),
                    groups.keys().collect::<Vec<_>>(),
                    "{stage}: {username}, {from} – {to}: the units"
                );
                for (unit, figures) in &groups {
                    assert_eq!(
                        &api_groups[unit], figures,
                        "{stage}: {username}, {from} – {to}: unit {unit}"
                    );
                }
                for (name, n) in &total.counts {
                    if *n > 0 {
                        nonzero.insert(name);
                    }
                }
                break;
            }
        }
    }
    nonzero
}
