//! Who the viewer is, asked of a process that keeps a copy of sessions and units (PostgreSQL):
//! every change reaches that process as soon as PostgreSQL's notification does, whichever
//! process — or program — made it, and the copy is not used while the process cannot hear
//! about changes.
//!
//! On SQLite nothing is copied; the same rules are checked against the same two processes.

use crate::fixtures;
use crate::support::{PASSWORD, TestApp, code, free_port, gid, spawn_app_with, xinfang};
use serde_json::{Value, json};
use std::time::Duration;

/// A second server: stopped when dropped, reached at its URL.
struct Process {
    _running: crate::support::Running,
    url: String,
}

/// A second `xinfang serve` on the test server's database.
async fn second_process(app: &TestApp) -> Process {
    let port = free_port();
    let child = xinfang()
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &app.db_url,
            "--jwt-secret",
            crate::support::SECRET,
            "--webhook-workers",
            "0",
            "--deadline-scan-seconds",
            "3600",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start xinfang");
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        crate::support::answers_ok(&format!("{url}/readyz")).await,
        "the second process did not start"
    );
    Process {
        _running: crate::support::Running(child),
        url,
    }
}

async fn post(app: &TestApp, url: &str, token: &str, query: &str) -> Value {
    app.gql_at(url, Some(token), query, json!({})).await
}

async fn metric(app: &TestApp, url: &str, name: &str) -> f64 {
    let text = app
        .client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} is not in /metrics"))
        .parse()
        .unwrap()
}

/// Whether the process uses its copy, waiting up to five seconds for it to be so.
async fn in_use(app: &TestApp, url: &str) -> bool {
    for _ in 0..50 {
        if metric(app, url, "xinfang_directory_in_use").await == 1.0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The listener's connection is the process's own: with a pool of one connection a process
/// still serves requests while it listens (and, on PostgreSQL, uses its copy). The listener
/// used to hold a connection of the requests' pool for good, so with a pool of one every
/// request waited for a connection in vain. A sign-in, right or wrong, needs only the one
/// connection too: it used to hold its lock on one and read on a second.
#[tokio::test]
async fn a_pool_of_one_connection_serves_requests_beside_the_listener() {
    let app = spawn_app_with(&["--db-pool-size", "1"]).await;
    let county = fixtures::county(&app).await;
    if app.on_postgres() {
        assert!(in_use(&app, &app.url).await, "the process listens");
    }
    let signed_in = sign_in(&app, "t1_staff").await;
    assert!(!signed_in.0.is_empty());
    let wrong = app
        .gql(
            None,
            "mutation { login(input: {username: \"t2_staff\", password: \"not the password\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&wrong), Some("UNAUTHENTICATED"), "{wrong}");
    let token = county.token("bureau_staff");
    let (case, _) = fixtures::register(&app, token, json!({})).await;
    let body = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { id } }",
            json!({"id": case}),
        )
        .await;
    assert_eq!(body["data"]["case"]["id"], json!(case), "{body}");
}

const WHO: &str = "{ viewer { username role orgUnit { name } } }";

/// Signs `username` in on the test server: (access token, refresh token).
async fn sign_in(app: &TestApp, username: &str) -> (String, String) {
    let body = app
        .gql(
            None,
            "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken refreshToken } }",
            json!({"u": username, "p": PASSWORD}),
        )
        .await;
    let login = &body["data"]["login"];
    (
        login["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .into(),
        login["refreshToken"].as_str().unwrap().into(),
    )
}

/// Asks the second process who `token` is, twice, and returns the second answer and what the
/// second asking cost in SQL statements there.
async fn ask_twice(app: &TestApp, other: &Process, token: &str) -> (Value, f64) {
    let first = post(app, &other.url, token, WHO).await;
    assert!(first["errors"].is_null(), "{first}");
    let before = metric(app, &other.url, "xinfang_db_statements_total").await;
    let second = post(app, &other.url, token, WHO).await;
    let after = metric(app, &other.url, "xinfang_db_statements_total").await;
    (second, after - before)
}

/// Asks the second process twice and checks the second asking came from its copy (PostgreSQL:
/// only the account's own row is read), so that what follows tests forgetting, not asking.
///
/// A process starved of CPU for longer than the heartbeat's silence sets its copy aside (that
/// is the design), so on a loaded machine this asks again for up to five seconds.
async fn warm(app: &TestApp, other: &Process, token: &str) -> Value {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (answer, cost) = ask_twice(app, other, token).await;
        assert!(answer["data"]["viewer"]["username"].is_string(), "{answer}");
        if !app.on_postgres() {
            assert_eq!(
                cost, 3.0,
                "SQLite asks for the viewer, the account and the unit"
            );
            return answer;
        }
        if cost == 1.0 {
            return answer;
        }
        assert!(
            std::time::Instant::now() < until,
            "the second process never answered from its copy ({cost} statements)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn refused(body: &Value) -> bool {
    code(body) == Some("UNAUTHENTICATED") && body["data"]["viewer"].is_null()
}

/// How long a change made elsewhere may take to reach another process. In practice the
/// notification's trip through PostgreSQL, well under a millisecond on one host; by
/// construction at most the 2 s of heartbeat silence after which a process stops using its
/// copy (notifications arrive in commit order, so a heartbeat sent after the change and heard
/// means the change was heard), plus room for a busy test machine.
const NOTICE: Duration = Duration::from_millis(2_500);

/// Asks again (`ask`) until `holds` is true of the answer, for at most [`NOTICE`]; the last
/// answer.
async fn within_notice<T, F, Fut>(mut ask: F, holds: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let until = std::time::Instant::now() + NOTICE;
    loop {
        let answer = ask().await;
        if holds(&answer) || std::time::Instant::now() > until {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Whether the second process refuses `token` within [`NOTICE`] — and from then on.
async fn refused_soon(app: &TestApp, other: &Process, token: &str) -> bool {
    refused(&within_notice(|| post(app, &other.url, token, WHO), refused).await)
        && refused(&post(app, &other.url, token, WHO).await)
}

#[tokio::test]
async fn every_change_to_a_viewer_holds_on_the_next_request_of_another_process() {
    let app = spawn_app_with(&["--deadline-scan-seconds", "3600"]).await;
    let postgres = app.on_postgres();
    let county = fixtures::county(&app).await;
    let other = second_process(&app).await;
    let admin = county.token("county_admin");
    // PostgreSQL: the second process keeps a copy once it hears the database; SQLite: never.
    assert_eq!(in_use(&app, &other.url).await, postgres);

    // A signed-in account asked twice. The answer needs the account's own row (1 statement);
    // where the copy is in use, who the viewer is and its unit come from memory, otherwise
    // they are two more statements (the viewer, the unit).
    let (token, refresh) = sign_in(&app, "t1_staff").await;
    let answer = warm(&app, &other, &token).await;
    assert_eq!(answer["data"]["viewer"]["username"], "t1_staff", "{answer}");
    assert_eq!(answer["data"]["viewer"]["orgUnit"]["name"], "东关镇");

    // 1. Logging out on the first process ends the session on the second at once.
    let out = app
        .gql(
            Some(&token),
            "mutation($r: String!) { logout(input: {refreshToken: $r}) { ok } }",
            json!({"r": refresh}),
        )
        .await;
    assert_eq!(out["data"]["logout"]["ok"], true, "{out}");
    // The process that made the change forgets at once.
    assert!(refused(&app.gql(Some(&token), WHO, json!({})).await));
    assert!(refused_soon(&app, &other, &token).await);

    // 2. A session revoked by another program (an operator's SQL) ends there too.
    let (token, _) = sign_in(&app, "t1_staff").await;
    warm(&app, &other, &token).await;
    let sql = "UPDATE sessions SET revoked_at = created_at, revoked_reason = 'operator' WHERE revoked_at IS NULL AND user_id = ";
    app.sql(&format!("{sql}{}", county.user("t1_staff"))).await;
    assert!(refused_soon(&app, &other, &token).await);

    // An operator changes an account's role, or deactivates a unit, directly in the database
    // (no session is revoked): the second process reads the account anew.
    let (token, _) = sign_in(&app, "a_staff").await;
    warm(&app, &other, &token).await;
    app.sql(&format!(
        "UPDATE users SET role = 'LEADER' WHERE id = {}",
        county.user("a_staff")
    ))
    .await;
    let now = within_notice(
        || post(&app, &other.url, &token, WHO),
        |now| now["data"]["viewer"]["role"] == "LEADER",
    )
    .await;
    assert_eq!(
        now["data"]["viewer"]["role"], "LEADER",
        "the role never changed: {now}"
    );
    warm(&app, &other, &token).await;
    app.sql(&format!(
        "UPDATE org_units SET active = false WHERE id = {}",
        county.dept_a
    ))
    .await;
    assert!(refused_soon(&app, &other, &token).await);
    let (token, _) = sign_in(&app, "b_staff").await;
    warm(&app, &other, &token).await;
    app.sql(&format!(
        "UPDATE users SET active = false WHERE id = {}",
        county.user("b_staff")
    ))
    .await;
    assert!(refused_soon(&app, &other, &token).await);

    // 3. A new role ends the account's sessions.
    let (token, _) = sign_in(&app, "t1_staff").await;
    warm(&app, &other, &token).await;
    let changed = app
        .gql(
            Some(admin),
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { role } } }",
            json!({"i": {"id": gid("User", county.user("t1_staff")), "role": "LEADER"}}),
        )
        .await;
    assert_eq!(
        changed["data"]["updateUser"]["user"]["role"], "LEADER",
        "{changed}"
    );
    assert!(refused_soon(&app, &other, &token).await);

    // 4. A renamed unit is named anew; a deactivated account is signed out.
    let (token, _) = sign_in(&app, "t1_staff").await;
    warm(&app, &other, &token).await;
    let renamed = app
        .gql(
            Some(admin),
            "mutation($i: UpdateOrgUnitInput!) { updateOrgUnit(input: $i) { orgUnit { name } } }",
            json!({"i": {"id": gid("OrgUnit", county.t1), "name": "东关街道"}}),
        )
        .await;
    assert!(renamed["errors"].is_null(), "{renamed}");
    let now = within_notice(
        || post(&app, &other.url, &token, WHO),
        |now| now["data"]["viewer"]["orgUnit"]["name"] == "东关街道",
    )
    .await;
    assert_eq!(
        now["data"]["viewer"]["orgUnit"]["name"], "东关街道",
        "{now}"
    );
    assert_eq!(now["data"]["viewer"]["role"], "LEADER");
    let off = app
        .gql(
            Some(admin),
            "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { active } } }",
            json!({"i": {"id": gid("User", county.user("t1_staff"))}}),
        )
        .await;
    assert_eq!(
        off["data"]["deactivateUser"]["user"]["active"], false,
        "{off}"
    );
    assert!(refused_soon(&app, &other, &token).await);

    if !postgres {
        return;
    }
    // 5. The listening connections die. The second process sets its copy aside until it
    // hears the database anew, and forgets it, so a revocation made meanwhile — whose
    // notification nobody hears — holds at once.
    let (token, _) = sign_in(&app, "t2_staff").await;
    warm(&app, &other, &token).await;
    app.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    )
    .await;
    // It notices the lost connection (or, at worst, the heartbeat's silence) and waits a
    // second before it listens again.
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while metric(&app, &other.url, "xinfang_directory_in_use").await != 0.0 {
        assert!(
            std::time::Instant::now() < until,
            "the copy stayed in use after its listener died"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.sql(&format!("{sql}{}", county.user("t2_staff"))).await;
    assert!(refused(&post(&app, &other.url, &token, WHO).await));
    // It listens again by itself, and keeps a copy again.
    assert!(in_use(&app, &other.url).await, "the listener came back");
    let (token, _) = sign_in(&app, "bureau_staff").await;
    let answer = warm(&app, &other, &token).await;
    assert_eq!(answer["data"]["viewer"]["username"], "bureau_staff");
}

const REGISTER: &str = "mutation($i: RegisterCaseInput!) {
  registerCase(input: $i) { case { deadlines { acceptBy } registeredLate } } }";

/// Registers on the process at `url`: the case's `acceptBy` and `registeredLate`, or the
/// whole answer when it was refused.
async fn register_on(app: &TestApp, url: &str, token: &str, input: Value) -> Result<Value, Value> {
    let body = app
        .gql_at(url, Some(token), REGISTER, json!({"i": input}))
        .await;
    match body["data"]["registerCase"]["case"].is_object() {
        true => Ok(body["data"]["registerCase"]["case"].clone()),
        false => Err(body),
    }
}

/// Registers on the process at `url` until `holds` is true of the outcome, for at most
/// [`NOTICE`]; the last outcome.
async fn registers_soon(
    app: &TestApp,
    url: &str,
    token: &str,
    input: &Value,
    holds: impl Fn(&Result<Value, Value>) -> bool,
) -> Result<Value, Value> {
    within_notice(|| register_on(app, url, token, input.clone()), holds).await
}

fn late(outcome: &Result<Value, Value>) -> Option<bool> {
    outcome.as_ref().ok()?["registeredLate"].as_bool()
}

/// What a registration reads and does not write — the subject list, the county's calendar
/// and its settings — a process may answer from its copy (PostgreSQL). A change to any of
/// them, by another process or another program, holds on that process's registrations as
/// soon as the notification arrives; the process that makes a change uses it at once.
#[tokio::test]
async fn a_registration_follows_every_change_to_subjects_calendar_and_settings() {
    use chrono::{Days, FixedOffset, TimeDelta, Utc};
    let app = spawn_app_with(&["--deadline-scan-seconds", "3600"]).await;
    let postgres = app.on_postgres();
    let county = fixtures::county(&app).await;
    let other = second_process(&app).await;
    assert_eq!(in_use(&app, &other.url).await, postgres);
    let token = county.token("bureau_staff");
    // An urgent matter received 30 hours ago: late under the default limit of 24 hours.
    let received = Utc::now() - TimeDelta::hours(30);
    let input = fixtures::case_input(json!({"urgent": true, "receivedAt": received.to_rfc3339()}));
    register_on(&app, &other.url, token, input.clone())
        .await
        .unwrap();
    let before = register_on(&app, &other.url, token, input.clone())
        .await
        .unwrap();
    assert_eq!(before["registeredLate"], true, "{before}");
    let accept_before =
        crate::support::parse_instant(before["deadlines"]["acceptBy"].as_str().unwrap());

    // 1. The operator retires the subject: registrations naming it are refused, and accepted
    // again once it is back.
    app.sql("UPDATE subjects SET active = false WHERE code = 'HOUSING_DEMOLITION'")
        .await;
    let refused = registers_soon(&app, &other.url, token, &input, |o| o.is_err()).await;
    let body = refused.expect_err("a retired subject is refused");
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(crate::support::field(&body), Some("subject"), "{body}");
    app.sql("UPDATE subjects SET active = true WHERE code = 'HOUSING_DEMOLITION'")
        .await;
    let back = registers_soon(&app, &other.url, token, &input, |o| o.is_ok()).await;
    assert!(back.is_ok(), "{back:?}");

    // 2. The county allows 48 hours: 30 hours is no longer late.
    app.sql(&format!(
        "INSERT INTO county_settings (county_id, hearing_notice_days, registration_limit_hours, updated_at) \
         VALUES ({}, 10, 48, CURRENT_TIMESTAMP)",
        county.county
    ))
    .await;
    let outcome = registers_soon(&app, &other.url, token, &input, |o| late(o) == Some(false)).await;
    assert_eq!(late(&outcome), Some(false), "{outcome:?}");

    // 3. The next forty local days become holidays: none of the fifteen working days for the
    // decision on acceptance falls in them, so the deadline moves past the last.
    let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
    let today = Utc::now().with_timezone(&beijing).date_naive();
    let days: Vec<String> = (0..40)
        .map(|n| {
            format!(
                "({}, '{}', false, '测试假期')",
                county.county,
                today + Days::new(n)
            )
        })
        .collect();
    app.sql(&format!(
        "INSERT INTO calendar_days (county_id, day, working, note) VALUES {}",
        days.join(", ")
    ))
    .await;
    let after_holidays = (today + Days::new(40))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(beijing)
        .unwrap()
        .with_timezone(&Utc);
    assert!(accept_before < after_holidays, "{accept_before}");
    let moved = |o: &Result<Value, Value>| {
        o.as_ref().is_ok_and(|c| {
            crate::support::parse_instant(c["deadlines"]["acceptBy"].as_str().unwrap())
                > after_holidays
        })
    };
    let outcome = registers_soon(&app, &other.url, token, &input, moved).await;
    assert!(moved(&outcome), "{outcome:?}");

    // 4. The process that changes the settings through the API registers by them at once.
    register_on(&app, &app.url, token, input.clone())
        .await
        .unwrap();
    assert_eq!(
        late(&register_on(&app, &app.url, token, input.clone()).await),
        Some(false)
    );
    let set = app
        .gql(
            Some(county.token("county_admin")),
            "mutation { setCountySettings(input: {registrationLimitHours: 12}) { registrationLimitHours } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set["data"]["setCountySettings"]["registrationLimitHours"], 12,
        "{set}"
    );
    assert_eq!(
        late(&register_on(&app, &app.url, token, input.clone()).await),
        Some(true)
    );
}
