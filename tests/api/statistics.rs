//! Statistics, oversight lists and export (issue: statistics), over a fixture whose figures
//! were worked out by hand from domain.md §6 and are written below.
//!
//! The fixture: 12 cases received Monday 2026-03-02 (day 0), acceptance due day 15 (Mar 17),
//! plus one received in February (outside the period). Each case then lives the plan below;
//! the figures are read on day 110 (Jun 20).
//!
//! | case | lead | township | category | persons | plan |
//! |---|---|---|---|---|---|
//! | C1 | 住建局 A | 东关镇 T1 | APPEAL | 1 | accept d5 · reply d30 · SATISFIED · close d31 |
//! | C2 | A | T1 | APPEAL | 2 | accept d5 · reply d70 (late; due d65) · DISSATISFIED · review d71 · upheld d72, posted the same day · close d105 |
//! | C3 | A | 西营乡 T2 | APPEAL | 1 | accept d20 (late) · reply d40 (due d80) · BASICALLY_SATISFIED |
//! | C4 | A | — | SUGGESTION | 1 | accept d5 · never replied (due d65) · supervision due d20, unanswered |
//! | C5 | A | T1 | APPEAL | 6 | never decided |
//! | C6 | 人社局 B | T2 | APPEAL | 1 | decline d3 |
//! | C7 | B | T2 | APPEAL | 1 | accept d3 · reply d20 · never rated (window ends d50) |
//! | C8 | B | — | SUGGESTION | 3 | accept d3 · reply d20 · SATISFIED · close d22 |
//! | C9 | T1 | T1 | APPEAL | 1 | accept d1 · reply d10 · DISSATISFIED · close d50 |
//! | C10 | T1 | T1 | APPEAL | 5 | accept d16 (late) · never replied (due d77) |
//! | C11 | T1 | T1 | APPEAL | 1 | repeat of C9 (same person and subject; 东关镇 confirms the proposal) · never decided |
//! | C12 | T2 | T2 | ACCUSATION against T1 | 1 | accept d2 · never replied (due d63) |
//! | C13 | bureau | — | APPEAL | 1 | received 2026-02-10 · never decided |

use crate::fixtures::{self, County, ok, version};
use crate::support::{TestApp, code, gid, id_number, spawn_app};
use futures_util::FutureExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

/// name, lead unit, township, category, channel, subject, persons, petitioner number
type Plan = (
    &'static str,
    i64,
    Option<i64>,
    &'static str,
    &'static str,
    &'static str,
    usize,
    u32,
);

const DAY0: &str = "2026-03-02T02:00:00Z";

fn day(n: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(DAY0).unwrap().to_utc() + chrono::TimeDelta::days(n)
}

struct Fixture {
    county: County,
    b_leader_id: i64,
    b_leader: String,
    cases: HashMap<&'static str, (String, String)>,
}

async fn build(app: &TestApp) -> Fixture {
    let mut county = fixtures::county(app).await;
    let b_leader_id = {
        let s = &app.state;
        let admin = app.viewer(county.user("county_admin")).await;
        xinfang_api::identity::create_user(
            &s.db,
            &s.auth,
            &s.clock,
            &admin,
            xinfang_api::identity::NewUser {
                username: "b_leader".into(),
                password: crate::support::PASSWORD.into(),
                display_name: "人社局长".into(),
                org_unit_id: county.dept_b,
                role: xinfang_api::domain::Role::Leader,
            },
        )
        .await
        .unwrap()
        .id
    };
    assert!(app.state.clock.set(day(0)));
    county.renew(app).await;
    let (a, b, t1, t2) = (county.dept_a, county.dept_b, county.t1, county.t2);
    let person = |n: u32, count: usize| -> Value {
        let mut people = vec![
            json!({"name": format!("信访人{n}"), "idNumber": id_number(&format!("33010619900101{n:03}")), "phone": "13912345678", "representative": count >= 5}),
        ];
        for i in 1..count.min(3) {
            people.push(json!({"name": format!("同行{n}-{i}")}));
        }
        json!(people)
    };
    #[rustfmt::skip]
    let plan: Vec<Plan> = vec![
        // name, lead, township, category, channel, subject, persons, petitioner
        ("C1",  a,  Some(t1), "APPEAL",     "VISIT",         "HOUSING_DEMOLITION",   1, 1),
        ("C2",  a,  Some(t1), "APPEAL",     "LETTER",        "HOUSING_DEMOLITION",   2, 2),
        ("C3",  a,  Some(t2), "APPEAL",     "PHONE",         "LABOR_SOCIAL_SECURITY", 1, 3),
        ("C4",  a,  None,     "SUGGESTION", "EMAIL",         "ENVIRONMENT",          1, 4),
        ("C5",  a,  Some(t1), "APPEAL",     "VISIT",         "HOUSING_DEMOLITION",   6, 5),
        ("C6",  b,  Some(t2), "APPEAL",     "HOTLINE_12345", "LABOR_SOCIAL_SECURITY", 1, 6),
        ("C7",  b,  Some(t2), "APPEAL",     "HOTLINE_12345", "LABOR_SOCIAL_SECURITY", 1, 7),
        ("C8",  b,  None,     "SUGGESTION", "LETTER",        "EDUCATION",            3, 8),
        ("C9",  t1, Some(t1), "APPEAL",     "VISIT",         "MIGRANT_WORKER_WAGES", 1, 9),
        ("C10", t1, Some(t1), "APPEAL",     "VISIT",         "HEALTHCARE",           5, 10),
        ("C11", t1, Some(t1), "APPEAL",     "PHONE",         "MIGRANT_WORKER_WAGES", 1, 9),
    ];
    let mut cases = HashMap::new();
    for (name, lead, township, category, channel, subject, persons, who) in plan {
        let mut input = json!({"leadUnitId": gid("OrgUnit", lead), "category": category, "channel": channel, "subject": subject,
            "title": format!("{name} 反映事项"), "personCount": persons, "petitioners": person(who, persons)});
        if let Some(t) = township {
            input["townshipId"] = json!(gid("OrgUnit", t));
        }
        cases.insert(
            name,
            fixtures::register(app, county.token("bureau_staff"), input).await,
        );
    }
    let c12 = json!({"leadUnitId": gid("OrgUnit", t2), "townshipId": gid("OrgUnit", t2), "category": "ACCUSATION", "channel": "LETTER", "subject": "OFFICIAL_CONDUCT",
        "title": "C12 举报", "accusedUnitId": gid("OrgUnit", t1), "petitioners": person(12, 1)});
    cases.insert(
        "C12",
        fixtures::register(app, county.token("bureau_staff"), c12).await,
    );
    let c13 = json!({"title": "=HYPERLINK(\"http://x\")", "receivedAt": "2026-02-10T02:00:00Z", "petitioners": person(13, 1)});
    cases.insert(
        "C13",
        fixtures::register(app, county.token("bureau_staff"), c13).await,
    );
    let b_leader = app.token_for(b_leader_id).await;
    Fixture {
        county,
        b_leader_id,
        b_leader,
        cases,
    }
}

impl Fixture {
    async fn go_to(&mut self, app: &TestApp, n: i64) {
        assert!(app.state.clock.set(day(n)));
        self.county.renew(app).await;
        self.b_leader = app.token_for(self.b_leader_id).await;
    }
}

async fn decide(app: &TestApp, token: &str, id: &str, decision: &str) {
    let v = version(app, token, id).await;
    ok(app, token, "decideAcceptance", json!({"caseId": id, "expectedVersion": v, "decision": decision, "reason": "不属于本单位职权"}), "__typename").await;
}

async fn reply(app: &TestApp, token: &str, id: &str) {
    let v = version(app, token, id).await;
    ok(app, token, "issueReply", json!({"caseId": id, "expectedVersion": v, "outcome": "SUPPORTED", "facts": "事实", "reasons": "理由", "basis": "依据", "deliveredBy": "IN_PERSON"}), "__typename").await;
}

async fn rate(app: &TestApp, token: &str, id: &str, satisfaction: &str) {
    ok(
        app,
        token,
        "evaluateCase",
        json!({"caseId": id, "satisfaction": satisfaction, "onBehalf": true}),
        "__typename",
    )
    .await;
}

async fn close(app: &TestApp, token: &str, id: &str) {
    let v = version(app, token, id).await;
    ok(
        app,
        token,
        "closeCase",
        json!({"caseId": id, "expectedVersion": v}),
        "__typename",
    )
    .await;
}

/// Lives the plan of the module comment and leaves the clock on day 110.
async fn lived(app: &TestApp) -> Fixture {
    let mut f = build(app).await;
    let ids: HashMap<&str, String> = f.cases.iter().map(|(k, v)| (*k, v.0.clone())).collect();
    let id = |n: &str| ids[n].clone();
    f.go_to(app, 1).await;
    decide(app, f.county.token("t1_staff"), &id("C9"), "ACCEPT").await;
    f.go_to(app, 2).await;
    decide(app, f.county.token("t2_staff"), &id("C12"), "ACCEPT").await;
    f.go_to(app, 3).await;
    decide(app, f.county.token("b_staff"), &id("C6"), "DECLINE").await;
    decide(app, f.county.token("b_staff"), &id("C7"), "ACCEPT").await;
    decide(app, f.county.token("b_staff"), &id("C8"), "ACCEPT").await;
    f.go_to(app, 5).await;
    for c in ["C1", "C2", "C4"] {
        decide(app, f.county.token("a_staff"), &id(c), "ACCEPT").await;
    }
    f.go_to(app, 6).await;
    ok(
        app,
        f.county.token("bureau_staff"),
        "issueSupervision",
        json!({"caseId": id("C4"), "text": "请尽快办理", "dueAt": day(20).to_rfc3339()}),
        "__typename",
    )
    .await;
    f.go_to(app, 10).await;
    reply(app, f.county.token("t1_leader"), &id("C9")).await;
    f.go_to(app, 11).await;
    rate(app, f.county.token("t1_staff"), &id("C9"), "DISSATISFIED").await;
    f.go_to(app, 16).await;
    decide(app, f.county.token("t1_staff"), &id("C10"), "ACCEPT").await;
    f.go_to(app, 20).await;
    decide(app, f.county.token("a_staff"), &id("C3"), "ACCEPT").await;
    reply(app, &f.b_leader, &id("C7")).await;
    reply(app, &f.b_leader, &id("C8")).await;
    f.go_to(app, 21).await;
    rate(app, f.county.token("b_staff"), &id("C8"), "SATISFIED").await;
    f.go_to(app, 22).await;
    close(app, f.county.token("b_staff"), &id("C8")).await;
    f.go_to(app, 30).await;
    reply(app, f.county.token("a_leader"), &id("C1")).await;
    f.go_to(app, 31).await;
    rate(app, f.county.token("a_staff"), &id("C1"), "SATISFIED").await;
    close(app, f.county.token("a_staff"), &id("C1")).await;
    f.go_to(app, 40).await;
    reply(app, f.county.token("a_leader"), &id("C3")).await;
    f.go_to(app, 41).await;
    rate(
        app,
        f.county.token("a_staff"),
        &id("C3"),
        "BASICALLY_SATISFIED",
    )
    .await;
    f.go_to(app, 50).await;
    close(app, f.county.token("t1_staff"), &id("C9")).await;
    // Only a confirmed link makes C11 a repeat.
    let linked =
        fixtures::link_repeat(app, f.county.token("t1_staff"), &id("C11"), &id("C9")).await;
    assert!(linked["errors"].is_null(), "{linked}");
    f.go_to(app, 70).await;
    reply(app, f.county.token("a_leader"), &id("C2")).await;
    f.go_to(app, 71).await;
    rate(app, f.county.token("a_staff"), &id("C2"), "DISSATISFIED").await;
    ok(
        app,
        f.county.token("a_staff"),
        "requestReview",
        json!({"caseId": id("C2"), "reason": "代为申请复查"}),
        "__typename",
    )
    .await;
    f.go_to(app, 72).await;
    let v = version(app, f.county.token("county_staff"), &id("C2")).await;
    ok(
        app,
        f.county.token("county_staff"),
        "decideReview",
        json!({"caseId": id("C2"), "expectedVersion": v, "decision": "UPHOLD", "text": "维持"}),
        "__typename",
    )
    .await;
    // The county posts its decision the same day; the re-review window runs from then.
    ok(
        app,
        f.county.token("county_staff"),
        "recordDelivery",
        json!({"caseId": id("C2"), "method": "POST", "trackingNumber": "EMS1000000001"}),
        "__typename",
    )
    .await;
    f.go_to(app, 105).await;
    close(app, f.county.token("a_staff"), &id("C2")).await;
    f.go_to(app, 110).await;
    f
}

const STATS: &str = "query($g: StatisticsGroupBy) { statistics(from: \"2026-02-28T16:00:00Z\", to: \"2026-03-31T16:00:00Z\", groupBy: $g) {
    total { ...F } groups { key label figures { ...F } } } }
  fragment F on StatisticsFigures { cases persons groupPetitions repeats byStatus { status count }
    timelyAcceptanceRate onTimeCompletionRate satisfactionRate repeatRate firstTimeResolutionRate }";

fn figures(
    cases: i64,
    persons: i64,
    groups: i64,
    repeats: i64,
    statuses: Value,
    rates: [Option<f64>; 5],
) -> Value {
    json!({"cases": cases, "persons": persons, "groupPetitions": groups, "repeats": repeats, "byStatus": statuses,
        "timelyAcceptanceRate": rates[0], "onTimeCompletionRate": rates[1], "satisfactionRate": rates[2], "repeatRate": rates[3], "firstTimeResolutionRate": rates[4]})
}

/// Rounds every float of a JSON value to 4 places, so hand-written fractions compare.
fn rounded(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            json!((n.as_f64().unwrap() * 10_000.0).round() / 10_000.0)
        }
        Value::Array(a) => Value::Array(a.iter().map(rounded).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), rounded(v))).collect()),
        other => other.clone(),
    }
}

async fn total(app: &TestApp, token: &str) -> Value {
    let body = app.gql(Some(token), STATS, json!({"g": null})).await;
    assert!(body["errors"].is_null(), "{body}");
    rounded(&body["data"]["statistics"]["total"])
}

fn r(x: f64) -> Option<f64> {
    Some((x * 10_000.0).round() / 10_000.0)
}

#[tokio::test]
async fn the_three_rates_and_counts_match_the_hand_computed_figures() {
    let app = spawn_app().await;
    let f = lived(&app).await;
    // From the cases themselves; then again with every day folded (`stat_days`), which the
    // county's and the bureau's statistics then read.
    for pass in ["from the cases", "from folded days"] {
        if pass == "from folded days" {
            let folded = fold(&app).await;
            assert!(folded >= 2, "March and February are folded: {folded} days");
        }
        let checked = AssertUnwindSafe(hand_computed(&app, &f))
            .catch_unwind()
            .await;
        if let Err(panic) = checked {
            eprintln!("the hand-computed figures differ when counted {pass}");
            std::panic::resume_unwind(panic);
        }
    }
}

async fn hand_computed(app: &TestApp, f: &Fixture) {
    // The county sees all twelve cases of March (the accusation is against a township, not it).
    let county = total(app, f.county.token("county_staff")).await;
    assert_eq!(
        county,
        rounded(&figures(
            12,
            24,
            2,
            1,
            json!([{"status": "REGISTERED", "count": 2}, {"status": "IN_PROGRESS", "count": 3}, {"status": "REPLIED", "count": 2}, {"status": "NOT_ACCEPTED", "count": 1}, {"status": "CLOSED", "count": 4}]),
            // timely 8/12, on time 5/9, satisfied 3/5, repeats 1/12, first-time 2/4: of the
            // four closed first petitions (C1, C2, C8, C9), C2 was reviewed and C9's matter came
            // back (C11 is its confirmed repeat), so only C1 and C8 were resolved at once.
            [
                r(8.0 / 12.0),
                r(5.0 / 9.0),
                r(3.0 / 5.0),
                r(1.0 / 12.0),
                r(2.0 / 4.0)
            ]
        ))
    );

    // The township 东关镇 sees its six (C1, C2, C5, C9, C10, C11) — never the accusation C12.
    let township = total(app, f.county.token("t1_staff")).await;
    assert_eq!(
        township,
        rounded(&figures(
            6,
            16,
            2,
            1,
            json!([{"status": "REGISTERED", "count": 2}, {"status": "IN_PROGRESS", "count": 1}, {"status": "CLOSED", "count": 3}]),
            // first-time 1/3: C1 (C2 was reviewed; C9 came back as C11)
            [
                r(3.0 / 6.0),
                r(2.0 / 4.0),
                r(1.0 / 3.0),
                r(1.0 / 6.0),
                r(1.0 / 3.0)
            ]
        ))
    );

    // Department A sees the five it leads.
    let department = total(app, f.county.token("a_staff")).await;
    assert_eq!(
        department,
        rounded(&figures(
            5,
            11,
            1,
            0,
            json!([{"status": "REGISTERED", "count": 1}, {"status": "IN_PROGRESS", "count": 1}, {"status": "REPLIED", "count": 1}, {"status": "CLOSED", "count": 2}]),
            [
                r(3.0 / 5.0),
                r(2.0 / 4.0),
                r(2.0 / 3.0),
                Some(0.0),
                r(1.0 / 2.0)
            ]
        ))
    );

    // Groups: by unit, by category (an empty denominator is null), by month.
    let by_unit = app
        .gql(
            Some(f.county.token("county_staff")),
            STATS,
            json!({"g": "UNIT"}),
        )
        .await;
    // However the figures are grouped, the total is the same as the ungrouped one.
    assert_eq!(rounded(&by_unit["data"]["statistics"]["total"]), county);
    let counts: HashMap<String, i64> = by_unit["data"]["statistics"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["label"].as_str().unwrap().to_string(),
                g["figures"]["cases"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        HashMap::from([
            ("县住建局".into(), 5),
            ("县人社局".into(), 3),
            ("东关镇".into(), 3),
            ("西营乡".into(), 1)
        ])
    );
    let by_category = app
        .gql(
            Some(f.county.token("county_staff")),
            STATS,
            json!({"g": "CATEGORY"}),
        )
        .await;
    let accusation = by_category["data"]["statistics"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "ACCUSATION")
        .unwrap()
        .clone();
    assert_eq!(rounded(&by_category["data"]["statistics"]["total"]), county);
    assert_eq!(accusation["label"], "检举控告");
    assert_eq!(accusation["figures"]["cases"], 1);
    assert_eq!(
        accusation["figures"]["satisfactionRate"],
        Value::Null,
        "nobody rated it: no rate, not 0 or 100"
    );
    assert_eq!(accusation["figures"]["timelyAcceptanceRate"], 1.0);
    let by_month = app
        .gql(
            Some(f.county.token("county_staff")),
            STATS,
            json!({"g": "MONTH"}),
        )
        .await;
    let months: Vec<(Value, Value)> = by_month["data"]["statistics"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].clone(), g["figures"]["cases"].clone()))
        .collect();
    assert_eq!(months, [(json!("2026-03"), json!(12))]);

    // The setting that counts unrated replies past their window as satisfied (C7), on another
    // server process over the same data: 4/6 for the county.
    let mut settings = app.state.settings.clone();
    settings.unrated_counts_as_satisfied = true;
    let other = xinfang_api::cli::build_state(settings, app.state.clock.clone())
        .await
        .unwrap();
    let (server, addr) = xinfang_api::cli::start_server(other, "127.0.0.1:0").unwrap();
    tokio::spawn(server);
    let body = app
        .gql_at(
            &format!("http://{addr}"),
            Some(f.county.token("county_staff")),
            STATS,
            json!({"g": null}),
        )
        .await;
    assert_eq!(
        rounded(&body["data"]["statistics"]["total"]["satisfactionRate"]),
        json!(r(4.0 / 6.0))
    );
    // The township had no such case: unchanged at 1/3 either way.
    let body: Value = app
        .client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(f.county.token("t1_staff"))
        .json(&json!({"query": STATS, "variables": {"g": null}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        rounded(&body["data"]["statistics"]["total"]["satisfactionRate"]),
        json!(r(1.0 / 3.0))
    );

    // Oversight: past-due work by unit and deadline, as the bureau sees it.
    let oversight = |token: &str| {
        let token = token.to_string();
        let app = &app;
        async move {
            let body = app
                .gql(
                    Some(&token),
                    "{ oversight(level: OVERDUE) { unit { name } deadline count } }",
                    json!({}),
                )
                .await;
            let mut rows: Vec<(String, String, i64)> = body["data"]["oversight"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .map(|r| {
                    (
                        r["unit"]["name"].as_str().unwrap().to_string(),
                        r["deadline"].as_str().unwrap().to_string(),
                        r["count"].as_i64().unwrap(),
                    )
                })
                .collect();
            rows.sort();
            rows
        }
    };
    let s = |a: &str, b: &str, n: i64| (a.to_string(), b.to_string(), n);
    assert_eq!(
        oversight(f.county.token("bureau_staff")).await,
        vec![
            s("东关镇", "ACCEPTANCE", 1),
            s("东关镇", "HANDLING", 1),
            s("县住建局", "ACCEPTANCE", 1),
            s("县住建局", "HANDLING", 1),
            s("县住建局", "SUPERVISION", 1),
            s("清河县信访局", "ACCEPTANCE", 1),
            s("西营乡", "HANDLING", 1),
        ]
    );
    assert_eq!(
        oversight(f.county.token("t1_staff")).await,
        vec![
            s("东关镇", "ACCEPTANCE", 1),
            s("东关镇", "HANDLING", 1),
            s("县住建局", "ACCEPTANCE", 1)
        ]
    );
    let listed = app.gql(Some(f.county.token("bureau_staff")), "query($u: ID!) { cases(filter: {deadline: SUPERVISION, overdue: true, leadUnitId: $u}) { nodes { number } } }", json!({"u": gid("OrgUnit", f.county.dept_a)})).await;
    assert_eq!(
        listed["data"]["cases"]["nodes"],
        json!([{"number": f.cases["C4"].1}])
    );

    // Statistics are for staff; a bad period is a clear error.
    assert_eq!(
        code(
            &app.gql(
                Some(f.county.token("county_admin")),
                STATS,
                json!({"g": null})
            )
            .await
        ),
        Some("FORBIDDEN")
    );
    let backwards = app.gql(Some(f.county.token("county_staff")), "{ statistics(from: \"2026-04-01T00:00:00Z\", to: \"2026-03-01T00:00:00Z\") { total { cases } } }", json!({})).await;
    assert_eq!(code(&backwards), Some("BAD_USER_INPUT"));

    // Export: the same scope and masking, as CSV with a BOM; formulas are defused.
    let export = |token: &str, query: &str| {
        let req = app
            .client
            .get(format!("{}/export/cases.csv{query}", app.url))
            .bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    let res = export(f.county.token("t1_staff"), "").await;
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..3], "\u{feff}".as_bytes());
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        7,
        "header and the township's six cases:\n{text}"
    );
    assert!(lines[0].starts_with("案件编号,收到时间"));
    assert!(
        !text.contains(&f.cases["C12"].1),
        "the accusation against the township is not exported to it"
    );
    let c9 = lines
        .iter()
        .find(|l| l.starts_with(&f.cases["C9"].1))
        .unwrap();
    assert!(
        c9.contains(&id_number("33010619900101009")),
        "the township leads C9: full ID number"
    );
    let c1 = lines
        .iter()
        .find(|l| l.starts_with(&f.cases["C1"].1))
        .unwrap();
    assert!(
        c1.contains("3301**********") && c1.contains("139****5678"),
        "C1 is led by A: masked for the township: {c1}"
    );
    let filtered = export(
        f.county.token("county_staff"),
        "?status=REGISTERED&receivedTo=2026-03-01T00:00:00Z",
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(filtered.lines().count(), 2, "only C13: {filtered}");
    assert!(
        filtered.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "a formula is defused: {filtered}"
    );
    assert_eq!(export("not-a-token", "").await.status(), 401);
    let bad = export(f.county.token("county_staff"), "?status=FLYING").await;
    assert_eq!(bad.status(), 400);
}

/// Domain §6: timeliness is credited to the unit that held the clock, so a transfer does not
/// erase an earlier lead unit's lateness. Three cases received on day 0 (acceptance due day
/// 15), read on day 30:
///
/// | case | life | clocks |
/// |---|---|---|
/// | X | 东关镇 T1 leads, transfers to 住建局 A on day 20 undecided; A accepts day 22 | T1 lapsed, A met (due d35) |
/// | Y | A leads, transfers to 人社局 B on day 3; B accepts day 10 | A met (passed on in time), B met (due d18) |
/// | Z | B leads, accepts day 20, then transfers to 西营乡 T2 on day 21 | B late, T2 running (due d36) |
///
/// Per unit: T1 0/1, A 2/2, B 1/2, T2 none due yet. The total counts each case once, by its
/// current clock: X (A, met) and Y (B, met); Z's (T2) is not due — 2/2.
#[tokio::test]
async fn acceptance_timeliness_stays_with_the_unit_that_held_the_clock() {
    let app = spawn_app().await;
    let mut county = county_on_day_zero(&app).await;
    let (a, b, t1, t2) = (county.dept_a, county.dept_b, county.t1, county.t2);
    let mut ids = HashMap::new();
    for (name, lead) in [("X", t1), ("Y", a), ("Z", b)] {
        let input = json!({"leadUnitId": gid("OrgUnit", lead), "title": format!("{name} 反映事项"), "townshipId": gid("OrgUnit", t1)});
        let (id, _) = fixtures::register(&app, county.token("bureau_staff"), input).await;
        ids.insert(name, id);
    }
    let at = |n: i64| {
        assert!(app.state.clock.set(day(n)));
    };
    let transfer = async |token: &str, id: &str, to: i64| {
        let v = version(&app, token, id).await;
        ok(&app, token, "transferCase", json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", to), "mode": "TRANSFER", "reason": "依职能转办"}), "referral { id }").await;
    };
    at(3);
    county.renew(&app).await;
    transfer(county.token("a_staff"), &ids["Y"], b).await;
    at(10);
    county.renew(&app).await;
    decide(&app, county.token("b_staff"), &ids["Y"], "ACCEPT").await;
    at(20);
    county.renew(&app).await;
    transfer(county.token("t1_staff"), &ids["X"], a).await;
    decide(&app, county.token("b_staff"), &ids["Z"], "ACCEPT").await;
    at(21);
    county.renew(&app).await;
    transfer(county.token("b_staff"), &ids["Z"], t2).await;
    at(22);
    county.renew(&app).await;
    decide(&app, county.token("a_staff"), &ids["X"], "ACCEPT").await;
    at(30);
    county.renew(&app).await;

    let query = "query($g: StatisticsGroupBy) { statistics(from: \"2026-02-28T16:00:00Z\", to: \"2026-03-31T16:00:00Z\", groupBy: $g) {
        total { cases timelyAcceptanceRate } groups { key figures { cases timelyAcceptanceRate } } } }";
    let body = app
        .gql(
            Some(county.token("bureau_staff")),
            query,
            json!({"g": "UNIT"}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let stats = rounded(&body["data"]["statistics"]);
    assert_eq!(
        stats["total"],
        rounded(&json!({"cases": 3, "timelyAcceptanceRate": 1.0}))
    );
    let per_unit: HashMap<String, Value> = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_string(), g["figures"].clone()))
        .collect();
    let expect = |unit: i64, cases: i64, rate: Option<f64>| {
        assert_eq!(
            per_unit
                .get(&gid("OrgUnit", unit))
                .or_else(|| per_unit.get(&unit.to_string())),
            Some(&rounded(
                &json!({"cases": cases, "timelyAcceptanceRate": rate})
            )),
            "unit {unit} in {stats}"
        );
    };
    // X now led by A, Z by T2, Y by B; T1 leads nothing but keeps its lapsed clock.
    expect(t1, 0, Some(0.0));
    expect(a, 1, Some(1.0));
    expect(b, 1, Some(0.5));
    expect(t2, 1, None);
    assert_eq!(per_unit.len(), 4, "{stats}");
}

const MATTERS: &str = "query($from: DateTime!, $to: DateTime!, $g: StatisticsGroupBy) {
  statistics(from: $from, to: $to, groupBy: $g) {
    total { cases matters repeats firstPetitions }
    groups { key figures { cases matters repeats } } } }";

/// The fixture county, signed in afresh with the clock on [`day`] 0.
async fn county_on_day_zero(app: &TestApp) -> County {
    let mut county = fixtures::county(app).await;
    assert!(app.state.clock.set(day(0)));
    county.renew(app).await;
    county
}

/// Folds every day that needs it, as one process.
async fn fold(app: &TestApp) -> usize {
    xinfang_api::stat_days::fold(app.db(), &app.state.clock, "process-a")
        .await
        .expect("the days fold")
}

/// A petition by 王五 (always the same person) led by `unit`.
fn wang_wu_at(unit: i64) -> Value {
    json!({"leadUnitId": gid("OrgUnit", unit), "petitioners": [{"name": "王五", "idNumber": id_number("33010619900101077"), "phone": "13900001111"}]})
}

/// (cases, matters, repeats, first petitions) in total, and (cases, matters, repeats) for the
/// one unit that leads every case here.
async fn matter_counts(app: &TestApp, token: &str, from: &str, to: &str) -> (Value, Value) {
    let vars = |g: Value| json!({"from": from, "to": to, "g": g});
    let plain = app.gql(Some(token), MATTERS, vars(Value::Null)).await;
    let grouped = app.gql(Some(token), MATTERS, vars(json!("UNIT"))).await;
    for body in [&plain, &grouped] {
        assert!(body["errors"].is_null(), "{body}");
    }
    let total = &plain["data"]["statistics"]["total"];
    assert_eq!(
        total, &grouped["data"]["statistics"]["total"],
        "the total is the same with or without grouping"
    );
    let t = |f: &Value| json!([f["cases"], f["matters"], f["repeats"], f["firstPetitions"]]);
    let groups: Vec<Value> = grouped["data"]["statistics"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            json!([
                g["figures"]["cases"],
                g["figures"]["matters"],
                g["figures"]["repeats"]
            ])
        })
        .collect();
    (t(total), json!(groups))
}

/// Statistics read from folded days (`stat_days`) stay exact when a change on one day alters
/// the figures of another: two petitions a week apart become one matter when 东关镇 confirms
/// the second as a repeat of the first, and two matters again when it undoes the link — at
/// once (before any fold) and after the days are folded again. The county unit and the bureau
/// both see the cases (they are folded per scope).
#[tokio::test]
async fn folded_days_follow_a_repeat_link_made_and_undone_on_another_day() {
    let app = spawn_app().await;
    let mut c = county_on_day_zero(&app).await;
    let t1 = c.t1;
    let input = || wang_wu_at(t1);
    let (first, _) = fixtures::register(&app, c.token("bureau_staff"), input()).await;
    // An unrelated case the day after, to show the counts are not simply of everything.
    fixtures::register(
        &app,
        c.token("bureau_staff"),
        json!({"leadUnitId": gid("OrgUnit", t1), "subject": "EDUCATION"}),
    )
    .await;
    assert!(app.state.clock.set(day(7)));
    c.renew(&app).await;
    let (second, _) = fixtures::register(&app, c.token("bureau_staff"), input()).await;
    let (from, to) = ("2026-03-01T00:00:00+08:00", "2026-04-01T00:00:00+08:00");
    let unit = |cases: i64, matters: i64, repeats: i64| json!([[cases, matters, repeats]]);
    let separate = (json!([3, 3, 0, 3]), unit(3, 3, 0));
    let joined = (json!([3, 2, 1, 2]), unit(3, 2, 1));
    for viewer in ["bureau_staff", "county_staff"] {
        assert_eq!(
            matter_counts(&app, c.token(viewer), from, to).await,
            separate,
            "{viewer}, from the cases"
        );
    }
    assert!(fold(&app).await > 0, "the days are folded");
    for viewer in ["bureau_staff", "county_staff"] {
        assert_eq!(
            matter_counts(&app, c.token(viewer), from, to).await,
            separate,
            "{viewer}, folded"
        );
    }
    let linked = fixtures::link_repeat(&app, c.token("t1_staff"), &second, &first).await;
    assert!(linked["errors"].is_null(), "{linked}");
    for viewer in ["bureau_staff", "county_staff"] {
        assert_eq!(
            matter_counts(&app, c.token(viewer), from, to).await,
            joined,
            "{viewer}, linked, before folding"
        );
    }
    fold(&app).await;
    for viewer in ["bureau_staff", "county_staff"] {
        assert_eq!(
            matter_counts(&app, c.token(viewer), from, to).await,
            joined,
            "{viewer}, linked, folded"
        );
    }
    let v = version(&app, c.token("t1_staff"), &second).await;
    ok(
        &app,
        c.token("t1_staff"),
        "undoRepeat",
        json!({"caseId": second, "expectedVersion": v, "reason": "并非同一事项"}),
        "__typename",
    )
    .await;
    for viewer in ["bureau_staff", "county_staff"] {
        assert_eq!(
            matter_counts(&app, c.token(viewer), from, to).await,
            separate,
            "{viewer}, undone, before folding"
        );
    }
    fold(&app).await;
    for viewer in ["bureau_staff", "county_staff"] {
        assert_eq!(
            matter_counts(&app, c.token(viewer), from, to).await,
            separate,
            "{viewer}, undone, folded"
        );
    }
}

/// A township's statistics are folded too on PostgreSQL (its own `stat_days` rows), and stay
/// exact when it loses sight of a case on one day that a case on another day repeats. 东关镇
/// leads two petitions a week apart and confirms the second as a repeat of the first. Then
/// the bureau transfers the first to 县住建局, out of 东关镇's sight: seen from 东关镇 the
/// second is now a first petition (the case it repeats is not one it sees) — at once, though
/// only the first case was written, and again after the days are folded anew.
#[tokio::test]
async fn a_townships_folded_days_follow_the_cases_it_loses_sight_of() {
    let app = spawn_app().await;
    let mut c = county_on_day_zero(&app).await;
    let t1 = c.t1;
    let input = || wang_wu_at(t1);
    let (first, _) = fixtures::register(&app, c.token("bureau_staff"), input()).await;
    assert!(app.state.clock.set(day(7)));
    c.renew(&app).await;
    let (second, _) = fixtures::register(&app, c.token("bureau_staff"), input()).await;
    let linked = fixtures::link_repeat(&app, c.token("t1_staff"), &second, &first).await;
    assert!(linked["errors"].is_null(), "{linked}");
    // Both days are past, so both are folded.
    assert!(app.state.clock.set(day(9)));
    c.renew(&app).await;
    let (from, to) = ("2026-03-01T00:00:00+08:00", "2026-04-01T00:00:00+08:00");
    // [cases, matters, repeats, first petitions] in total, and per lead unit [cases, matters,
    // repeats]: every case is 东关镇's own.
    let both = (json!([2, 1, 1, 1]), json!([[2, 1, 1]]));
    let second_alone = (json!([1, 1, 0, 1]), json!([[1, 1, 0]]));
    let seen = || matter_counts(&app, c.token("t1_staff"), from, to);
    assert_eq!(seen().await, both, "from the cases");
    assert!(fold(&app).await > 0, "the days are folded");
    let rows = app
        .number(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM stat_days WHERE scope_unit_id = {t1}"
        ))
        .await;
    // (On SQLite only the county-wide scopes are folded.)
    assert_eq!(
        rows > 0,
        app.on_postgres(),
        "the township's scope has folded days: {rows}"
    );
    assert_eq!(seen().await, both, "folded");
    let sent = fixtures::transfer(
        &app,
        c.token("bureau_staff"),
        &first,
        c.dept_a,
        "属住建部门职责",
    )
    .await;
    assert!(sent["errors"].is_null(), "{sent}");
    assert_eq!(seen().await, second_alone, "transferred, before folding");
    fold(&app).await;
    assert_eq!(seen().await, second_alone, "transferred, folded");
}

/// 临西县, a county with a township (东风镇) and no petition bureau yet, with signed-in staff of
/// the township and of the county unit.
struct Linxi {
    admin: String,
    county: String,
    town_staff: String,
    county_staff: String,
}

impl Linxi {
    async fn new(app: &TestApp) -> Self {
        let fixtures::City { admin, city, .. } = fixtures::city(app).await;
        let county = fixtures::add_unit(
            app,
            &admin,
            json!({"name": "临西县", "kind": "COUNTY", "parentId": city, "divisionCode": "130535"}),
        )
        .await;
        let town = fixtures::add_unit(
            app,
            &admin,
            json!({"name": "东风镇", "kind": "TOWNSHIP", "parentId": county}),
        )
        .await;
        Linxi {
            town_staff: fixtures::add_user(app, &admin, "df_staff", &town, "STAFF").await,
            county_staff: fixtures::add_user(app, &admin, "lx_staff", &county, "STAFF").await,
            admin,
            county,
        }
    }

    /// Sets the county's petition bureau up; the token of a staff member of it.
    async fn add_bureau(&self, app: &TestApp) -> String {
        let bureau = fixtures::add_unit(
            app,
            &self.admin,
            json!({"name": "临西县信访局", "kind": "DEPARTMENT", "parentId": self.county,
                "petitionBureau": true}),
        )
        .await;
        fixtures::add_user(app, &self.admin, "lx_bureau", &bureau, "STAFF").await
    }
}

/// A petition bureau set up after its county's days were first folded: its statistics count
/// every case of the county — the days folded before it existed included — as the county
/// unit's do, before the next fold and after it (the fold passes over the whole county again
/// for the new scope).
#[tokio::test]
async fn a_bureau_set_up_after_its_county_was_folded_counts_every_case() {
    let app = spawn_app().await;
    assert!(app.state.clock.set(day(0)));
    let linxi = Linxi::new(&app).await;
    // Three cases, registered by the township: two on 1 March, one today (2 March).
    for received in [
        "2026-03-01T09:00:00+08:00",
        "2026-03-01T15:00:00+08:00",
        "2026-03-02T09:00:00+08:00",
    ] {
        fixtures::register(&app, &linxi.town_staff, json!({"receivedAt": received})).await;
    }
    // 1 March is folded; today is not (it is counted from the cases until it has ended).
    assert_eq!(fold(&app).await, 1, "one day is folded");
    assert_eq!(
        total(&app, &linxi.county_staff).await["cases"],
        3,
        "the county unit, folded"
    );

    let bureau_staff = linxi.add_bureau(&app).await;
    for pass in ["before the next fold", "after it"] {
        if pass == "after it" {
            assert_eq!(
                fold(&app).await,
                1,
                "the county is folded whole again for the bureau"
            );
        }
        for (who, token) in [
            ("the bureau", &bureau_staff),
            ("the county unit", &linxi.county_staff),
        ] {
            assert_eq!(total(&app, token).await["cases"], 3, "{who}, {pass}");
        }
    }
}

/// Today is counted from the cases whatever `stat_days` holds for it: a row for today left by
/// an older build (one that folded today) is not trusted, so the figures stay exact.
#[tokio::test]
async fn a_row_for_today_left_in_the_folded_days_is_not_trusted() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    assert!(app.state.clock.set(day(0)));
    let c = fixtures::county(&app).await;
    // Two cases on 1 March, one today (2 March).
    for received in [
        "2026-03-01T09:00:00+08:00",
        "2026-03-01T15:00:00+08:00",
        "2026-03-02T09:00:00+08:00",
    ] {
        fixtures::register(
            &app,
            c.token("bureau_staff"),
            json!({"receivedAt": received}),
        )
        .await;
    }
    let folded = fold(&app).await;
    assert_eq!(folded, 1, "1 March is folded, today is not");
    // What an older build would have left: today folded as 1 March was (two cases), and
    // today's marks taken off by that fold.
    for sql in [
        "INSERT INTO stat_days (scope_unit_id, kind, day, folded_at, valid_until, cells) \
         SELECT scope_unit_id, kind, '2026-03-02', folded_at, valid_until, cells \
         FROM stat_days WHERE day = '2026-03-01'",
        "DELETE FROM stat_dirty",
    ] {
        app.db().execute_unprepared(sql).await.expect(sql);
    }
    for who in ["bureau_staff", "county_staff"] {
        assert_eq!(total(&app, c.token(who)).await["cases"], 3, "{who}");
    }
}

/// A folded day holds only until a deadline of its cases falls; from then it is counted from
/// its cases, though none of them changed. Two petitions of 1 March are led by 东关镇, which
/// accepts one at once; the other waits. Folded the next day, the timely acceptance rate is 1
/// (one accepted on time, none overdue yet). 25 days on, with nothing written since, the one
/// still waiting is past its 15 days and the rate is 1/2: at once, and after the next fold.
///
/// To show the folded row is what answers while it holds, the waiting case's deadline is then
/// moved behind the triggers' back (its mark removed): the folded figures still say 1 until
/// the day lapses. And a fold takes off the marks it folded: a second fold finds nothing.
#[tokio::test]
async fn a_folded_day_lapses_when_a_deadline_of_its_cases_falls() {
    let app = spawn_app().await;
    let mut c = county_on_day_zero(&app).await;
    let mut ids = vec![];
    for received in ["2026-03-01T09:00:00+08:00", "2026-03-01T15:00:00+08:00"] {
        let input = json!({"receivedAt": received, "leadUnitId": gid("OrgUnit", c.t1)});
        ids.push(
            fixtures::register(&app, c.token("bureau_staff"), input)
                .await
                .0,
        );
    }
    decide(&app, c.token("t1_staff"), &ids[0], "ACCEPT").await;
    assert_eq!(fold(&app).await, 1, "1 March is folded");
    assert_eq!(fold(&app).await, 0, "the fold took off its marks");
    let rate = async |c: &County, who: &str| {
        total(&app, c.token(who)).await["timelyAcceptanceRate"].clone()
    };
    for who in ["bureau_staff", "county_staff"] {
        assert_eq!(rate(&c, who).await, json!(1.0), "{who}, folded");
    }
    // The waiting case (the later id) made overdue in the cases alone, unmarked.
    for sql in [
        "UPDATE cases SET accept_by = received_at WHERE id = (SELECT MAX(id) FROM cases)",
        "DELETE FROM stat_dirty",
    ] {
        app.sql(sql).await;
    }
    for who in ["bureau_staff", "county_staff"] {
        assert_eq!(
            rate(&c, who).await,
            json!(1.0),
            "{who}, the folded row answers"
        );
    }
    app.advance_days(25);
    c.renew(&app).await;
    for who in ["bureau_staff", "county_staff"] {
        assert_eq!(
            rate(&c, who).await,
            json!(0.5),
            "{who}, a deadline fell since the fold"
        );
    }
    assert_eq!(fold(&app).await, 1, "the lapsed day is folded again");
    for who in ["bureau_staff", "county_staff"] {
        assert_eq!(rate(&c, who).await, json!(0.5), "{who}, folded again");
    }
}

/// Processes sharing a database fold a county one at a time: a process leaves a county alone
/// while another's claim on it runs (the holder renews it each time it folds), and takes the
/// county over once that claim has lapsed. Whoever folds, the figures are the cases'.
#[tokio::test]
async fn one_process_at_a_time_folds_a_county() {
    let app = spawn_app().await;
    assert!(app.state.clock.set(day(0)));
    let c = fixtures::county(&app).await;
    let fold = |holder: &'static str| {
        let app = &app;
        async move {
            xinfang_api::stat_days::fold(app.db(), &app.state.clock, holder)
                .await
                .expect("the fold runs")
        }
    };
    let register = |received: &'static str| {
        fixtures::register(
            &app,
            c.token("bureau_staff"),
            json!({"receivedAt": received}),
        )
    };
    register("2026-03-01T09:00:00+08:00").await;
    assert_eq!(
        fold("process-a").await,
        1,
        "the first process folds 1 March"
    );
    // Another case of 1 March: the day is to be folded again.
    register("2026-03-01T10:00:00+08:00").await;
    assert_eq!(
        fold("process-b").await,
        0,
        "the second process leaves the county to the first"
    );
    assert_eq!(fold("process-a").await, 1, "the first renews its claim");
    register("2026-03-01T11:00:00+08:00").await;
    // The first process stops folding, and the second's clock runs past the claim. On
    // PostgreSQL a claim lapses by the database's clock, which has not moved: the county
    // stays the first's until the claim really ends (here written into the past). A SQLite
    // file has one host, whose clock (the server's) times the claim.
    assert!(
        app.state
            .clock
            .advance(xinfang_api::stat_days::LEASE + chrono::TimeDelta::seconds(1))
    );
    if app.on_postgres() {
        assert_eq!(
            fold("process-b").await,
            0,
            "a process's own clock does not end another's claim"
        );
        let lapse = sea_orm::sea_query::Query::update()
            .table(sea_orm::sea_query::Alias::new("stat_fold_leases"))
            .value(
                sea_orm::sea_query::Alias::new("until"),
                chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            )
            .to_owned();
        sea_orm::ConnectionTrait::execute(app.db(), &lapse)
            .await
            .expect("the claim ends");
    }
    assert_eq!(
        fold("process-b").await,
        1,
        "once the claim has lapsed, the second takes the county over"
    );
    register("2026-03-01T12:00:00+08:00").await;
    assert_eq!(
        fold("process-a").await,
        0,
        "the first, back, finds the county taken"
    );
    for who in ["bureau_staff", "county_staff"] {
        assert_eq!(total(&app, c.token(who)).await["cases"], 4, "{who}");
    }
}

/// Cases received from 1 January to the end of March (local), as `token` sees them.
async fn cases_this_quarter(app: &TestApp, token: &str) -> Value {
    let body = app
        .gql(
            Some(token),
            "{ statistics(from: \"2025-12-31T16:00:00Z\", to: \"2026-03-31T16:00:00Z\") { total { cases } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["statistics"]["total"]["cases"].clone()
}

/// A process that loses its claim on a county part-way through a whole pass (it stalled, and
/// another took the county over) leaves the scope it was folding not ready: the days it did
/// not reach are not in `stat_days`, so the scope is counted from its cases until a pass
/// completes — the other process's, which folds the county whole again.
#[tokio::test]
async fn a_pass_that_loses_its_claim_part_way_leaves_the_new_scope_counted_from_its_cases() {
    let app = spawn_app().await;
    assert!(app.state.clock.set(day(0)));
    let linxi = Linxi::new(&app).await;
    let fold = async |holder: &str| {
        xinfang_api::stat_days::fold(app.db(), &app.state.clock, holder)
            .await
            .expect("the days fold")
    };
    // One case on each of the 40 days before today (2 March): more days than one batch
    // folds, so a whole pass takes two batches.
    const DAYS: i64 = 40;
    for n in 1..=DAYS {
        let received = (day(0) - chrono::TimeDelta::days(n)).to_rfc3339();
        fixtures::register(&app, &linxi.town_staff, json!({"receivedAt": received})).await;
    }
    assert_eq!(
        fold("process-a").await,
        DAYS as usize,
        "the county unit's first pass folds every day"
    );

    // The bureau is set up: its scope is new, and the next pass folds the county whole.
    let bureau_staff = linxi.add_bureau(&app).await;
    let ready = "SELECT COUNT(*) FROM stat_scopes s JOIN org_units u ON u.id = s.unit_id \
                 WHERE u.name = '临西县信访局' AND s.ready_at IS NOT NULL";
    // After its first batch, process A stalls and process B takes the county over.
    let mut pauses = 0;
    let folded =
        xinfang_api::stat_days::fold_pausing(app.db(), &app.state.clock, "process-a", async || {
            pauses += 1;
            app.sql("UPDATE stat_fold_leases SET holder = 'process-b'")
                .await;
        })
        .await
        .expect("the pass gives way without failing");
    assert_eq!(
        pauses, 1,
        "process A stops after the batch in which it lost the county"
    );
    assert!(
        folded > 0 && folded < DAYS as usize,
        "process A folded one batch, not the whole county: {folded}"
    );
    for (who, token) in [
        ("the bureau", &bureau_staff),
        ("the county unit", &linxi.county_staff),
    ] {
        assert_eq!(
            cases_this_quarter(&app, token).await,
            DAYS,
            "{who}, after the broken pass"
        );
    }
    assert_eq!(
        app.number(ready).await,
        0,
        "the bureau's scope is not ready"
    );

    // Process B, holding the county, folds it whole and the bureau's scope becomes ready.
    assert_eq!(
        fold("process-b").await,
        DAYS as usize,
        "process B passes over the whole county again"
    );
    assert_eq!(app.number(ready).await, 1, "the bureau's scope is ready");
    assert_eq!(
        cases_this_quarter(&app, &bureau_staff).await,
        DAYS,
        "the bureau, folded"
    );
}
