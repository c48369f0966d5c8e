//! Hardening against abuse and faults: what an attacker or a failing network tried, and the
//! answer each must get.

use crate::fixtures::{self, mutate, ok, version};
use crate::support::{code, field, gid, spawn_app};
use serde_json::json;

#[tokio::test]
async fn a_nul_character_is_bad_input_on_every_path_not_internal() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    fixtures::register(&app, token, json!({})).await;
    let cases = [
        (
            "query($n: String!) { caseByNumber(number: $n) { id } }",
            json!({"n": "XF-2026\u{0}"}),
            "n",
        ),
        (
            "query($s: [String!]) { cases(filter: {subject: $s}) { totalCount } }",
            json!({"s": ["HOUSING\u{0}"]}),
            "s[0]",
        ),
        (
            "mutation($i: RegisterCaseInput!) { registerCase(input: $i) { number } }",
            json!({"i": fixtures::case_input(json!({"subject": "OTHER\u{0}"}))}),
            "i.subject",
        ),
    ];
    for (query, variables, expected_field) in cases {
        let body = app.gql(Some(token), query, variables).await;
        assert_eq!(
            (code(&body), field(&body)),
            (Some("BAD_USER_INPUT"), Some(expected_field)),
            "{body}"
        );
    }
    // Inline in the query text, past the variable check, the database edge still answers so.
    let inline = app
        .gql(
            Some(token),
            r#"{ caseByNumber(number: "XF\u0000") { id } }"#,
            json!({}),
        )
        .await;
    assert!(
        matches!(code(&inline), Some("BAD_USER_INPUT") | Some("NOT_FOUND")),
        "{inline}"
    );
    let login = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({"i": {"username": "bureau\u{0}staff", "password": "x"}}),
        )
        .await;
    assert_eq!(code(&login), Some("BAD_USER_INPUT"), "{login}");
    // The export refuses before it starts streaming.
    let res = app
        .client
        .get(format!("{}/export/cases.csv?subject=HOUSING%00", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

#[tokio::test]
async fn received_at_is_bounded_to_a_plausible_past() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let body = mutate(
        &app,
        county.token("bureau_staff"),
        "registerCase",
        fixtures::case_input(json!({"receivedAt": "0001-01-01T00:00:00Z"})),
        "number",
    )
    .await;
    assert_eq!(
        (code(&body), field(&body)),
        (Some("BAD_USER_INPUT"), Some("receivedAt"))
    );
}

#[tokio::test]
async fn a_request_error_quotes_no_more_than_an_excerpt() {
    let app = spawn_app().await;
    let junk = format!("{{ cases {{ {} ", "nodes ".repeat(2_000));
    let body = app.gql(None, &junk, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.chars().count() <= 201,
        "{} characters",
        message.len()
    );
}

#[tokio::test]
async fn the_bureau_does_not_rule_on_an_objection_it_raised_itself() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (id, _) = fixtures::register(
        &app,
        county.token("a_staff"),
        json!({"townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    // 县住建局 hands the case to the bureau, which objects.
    let v = version(&app, county.token("a_staff"), &id).await;
    let sent = ok(
        &app,
        county.token("a_staff"),
        "transferCase",
        json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.bureau), "mode": "TRANSFER", "reason": "请信访局处理"}),
        "referral { id }",
    )
    .await;
    let referral = sent["referral"]["id"].clone();
    ok(
        &app,
        county.token("bureau_staff"),
        "objectReferral",
        json!({"referralId": referral, "reason": "属住建局职责"}),
        "__typename",
    )
    .await;
    for who in ["bureau_staff", "bureau_leader"] {
        let own = mutate(
            &app,
            county.token(who),
            "resolveObjection",
            json!({"referralId": referral, "approve": true}),
            "__typename",
        )
        .await;
        assert_eq!(code(&own), Some("FORBIDDEN"), "{who}: {own}");
    }
    // The sender rules.
    ok(
        &app,
        county.token("a_staff"),
        "resolveObjection",
        json!({"referralId": referral, "approve": true}),
        "referral { status }",
    )
    .await;
}

#[test]
fn a_newline_in_a_username_forges_no_log_line() {
    use std::io::{BufRead, Write};
    // The real binary, logging in the pretty format to a pipe; a sign-in with a username that
    // carries a forged log line.
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let mut child = crate::support::serve_sqlite("127.0.0.1", port, &dir.path().join("log.db"))
        .env("XINFANG_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its log is taken before anything can fail, so that the guard stops the server however
    // the test ends.
    let stderr = child.stderr.take().expect("piped stderr");
    let mut server = crate::support::Running(child);
    let forged = "2030-01-01T00:00:00.000000Z  INFO forged: admin signed in";
    let body = json!({"query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        "variables": {"i": {"username": format!("eve\n{forged}"), "password": "wrong password"}}});
    let mut sent = false;
    for _ in 0..300 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let text = body.to_string();
            let request = format!(
                "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = String::new();
            let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
            sent = answer.starts_with("HTTP/1.1");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = server.0.kill();
    let _ = server.0.wait();
    assert!(sent, "the server did not answer");
    let lines: Vec<String> = std::io::BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("eve\\n2030")),
        "the attempt is logged, escaped: {lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("2030-01-01")),
        "a forged line reached the log: {lines:?}"
    );
}

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";

/// Forty sign-ins at once, the i-th with `input(i)`: how many were checked (wrong
/// credentials), how many refused for the rate, and every answer's code.
async fn login_burst(
    app: &crate::support::TestApp,
    input: impl Fn(usize) -> serde_json::Value,
) -> (usize, usize, Vec<Option<String>>) {
    let attempts = (0..40).map(|i| {
        let body = json!({"i": input(i)});
        async move { code(&app.gql(None, LOGIN, body).await).map(str::to_string) }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let count = |c: &str| answers.iter().filter(|a| a.as_deref() == Some(c)).count();
    (count("UNAUTHENTICATED"), count("RATE_LIMITED"), answers)
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_checks_at_most_five() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let _ = &county;
    let (checked, refused, answers) = login_burst(
        &app,
        |i| json!({"username": "a_staff", "password": format!("wrong password {i}")}),
    )
    .await;
    assert_eq!(checked + refused, 40, "{answers:?}");
    assert!(
        checked <= 5,
        "{checked} passwords were checked: {answers:?}"
    );
    // The right password is refused too while the back-off lasts.
    let right = app
        .gql(
            None,
            LOGIN,
            json!({"i": {"username": "a_staff", "password": crate::support::PASSWORD}}),
        )
        .await;
    assert_eq!(code(&right), Some("RATE_LIMITED"), "{right}");
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_slowed_down() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let mut answers = vec![];
    for i in 0..25 {
        let body = app
            .gql(
                None,
                LOGIN,
                json!({"i": {"username": format!("guess_{i}"), "password": "wrong password"}}),
            )
            .await;
        answers.push(code(&body).map(str::to_string));
    }
    let first_refusal = answers
        .iter()
        .position(|c| c.as_deref() == Some("RATE_LIMITED"))
        .expect("the address is slowed down");
    assert_eq!(first_refusal, 20, "{answers:?}");
    assert!(
        answers[..20]
            .iter()
            .all(|c| c.as_deref() == Some("UNAUTHENTICATED"))
    );
}

#[tokio::test]
async fn a_parallel_burst_from_one_address_checks_no_more_than_its_allowance() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    // 40 guesses at once, each at another account: the address allows 20 failed checks in
    // its window, and the slot is taken before the check, so no more than 20 are checked.
    let (checked, refused, answers) = login_burst(
        &app,
        |i| json!({"username": format!("burst_{i}"), "password": "wrong password"}),
    )
    .await;
    assert_eq!((checked, refused), (20, 20), "{answers:?}");
}

#[tokio::test]
async fn the_current_password_check_is_throttled_too() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("a_staff");
    let change = |current: String| {
        let app = &app;
        async move {
            mutate(
                app,
                token,
                "changePassword",
                json!({"currentPassword": current, "newPassword": "a brand new password"}),
                "__typename",
            )
            .await
        }
    };
    for i in 0..5 {
        let body = change(format!("not it {i}")).await;
        assert_eq!(
            (code(&body), field(&body)),
            (Some("BAD_USER_INPUT"), Some("currentPassword")),
            "{body}"
        );
    }
    let sixth = change("not it either".into()).await;
    assert_eq!(code(&sixth), Some("RATE_LIMITED"), "{sixth}");
    let right = change(crate::support::PASSWORD.into()).await;
    assert_eq!(
        code(&right),
        Some("RATE_LIMITED"),
        "still backing off: {right}"
    );
}

#[tokio::test]
async fn a_request_may_check_credentials_once() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let aliased: String = (0..40)
        .map(|i| format!("l{i}: login(input: {{username: \"a_staff\", password: \"guess {i}\"}}) {{ accessToken }} "))
        .collect();
    let body = app
        .gql(None, &format!("mutation {{ {aliased} }}"), json!({}))
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        (Some("BAD_USER_INPUT"), Some("query")),
        "{body}"
    );
    // Hidden in a fragment, the same.
    let fragment = app
        .gql(
            None,
            "mutation { ...Twice } fragment Twice on MutationRoot { a: login(input: {username: \"x\", password: \"y\"}) { accessToken } b: login(input: {username: \"x\", password: \"z\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&fragment), Some("BAD_USER_INPUT"), "{fragment}");
    // One is fine.
    let one = app
        .gql(
            None,
            LOGIN,
            json!({"i": {"username": "a_staff", "password": crate::support::PASSWORD}}),
        )
        .await;
    assert!(one["data"]["login"]["accessToken"].is_string(), "{one}");
}

/// Peak and current resident memory of a process, in MiB, from /proc.
fn memory_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb / 1024)
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::test]
async fn a_burst_of_sign_ins_from_many_addresses_keeps_memory_bounded() {
    // The real binary, so its memory is its own; 200 sign-ins with unknown usernames (each
    // still costs a full argon2 check) from 200 loopback addresses, 100 at a time.
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let child = crate::support::serve_sqlite("0.0.0.0", port, &dir.path().join("burst.db"))
        .env("XINFANG_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _server = crate::support::Running(child);
    let url = format!("http://127.0.0.1:{port}/graphql");
    let up = crate::support::answers_ok(&format!("http://127.0.0.1:{port}/readyz")).await;
    assert!(up, "the server did not start");
    let (_, idle) = memory_mib(pid);
    let answers = futures_util::future::join_all((0..200u32).map(|i| {
        let url = url.clone();
        async move {
            let from = std::net::Ipv4Addr::new(127, 0, (i / 200) as u8 + 1, (i % 200) as u8 + 2);
            let client = reqwest::Client::builder()
                .local_address(std::net::IpAddr::V4(from))
                .build()
                .unwrap();
            let body: serde_json::Value = client
                .post(&url)
                .json(&json!({"query": LOGIN, "variables": {"i": {"username": format!("nobody_{i}"), "password": "wrong password"}}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            code(&body).map(str::to_string)
        }
    }))
    .await;
    // Each is refused as wrong, or turned away while too many wait; none fails otherwise.
    assert!(
        answers.iter().all(|c| matches!(
            c.as_deref(),
            Some("UNAUTHENTICATED" | "SERVICE_UNAVAILABLE")
        )),
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .any(|c| c.as_deref() == Some("UNAUTHENTICATED"))
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (peak, after) = memory_mib(pid);
    assert!(
        peak < 150,
        "peak resident memory {peak} MiB (idle {idle} MiB)"
    );
    assert!(after < 150, "resident memory after the burst {after} MiB");
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::support::spawn_app_with(&["--body-timeout-ms", "800"]).await;
    let addr = app.url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = r#"{"query":"{ __typename }"}"#;
    stream
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // One byte every 300 ms: the whole body would take 8 seconds.
    let trickle = async {
        for b in body.bytes() {
            if stream.write_all(&[b]).await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), trickle).await;
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("the server answers instead of waiting for the rest")
        .unwrap_or(0);
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
}

#[tokio::test]
async fn a_socket_that_never_initialises_is_closed_with_4408() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = crate::support::spawn_app_with(&["--ws-init-timeout-ms", "500"]).await;
    let mut request = format!("{}/graphql/ws", app.url.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(crate::support::close_code(&mut socket, 5).await, Some(4408));
}

#[tokio::test]
async fn readyz_answers_promptly_when_the_database_does_not() {
    let app = crate::support::spawn_app_with(&[
        "--db-pool-size",
        "2",
        "--db-acquire-timeout-ms",
        "10000",
    ])
    .await;
    use sea_orm::TransactionTrait;
    let mut held = vec![];
    while held.len() < 4 {
        match tokio::time::timeout(std::time::Duration::from_millis(500), app.db().begin()).await {
            Ok(Ok(tx)) => held.push(tx),
            _ => break,
        }
    }
    let res = app
        .client
        .get(format!("{}/readyz", app.url))
        .timeout(std::time::Duration::from_secs(4))
        .send()
        .await
        .expect("readyz answers while the database cannot");
    assert_eq!(res.status().as_u16(), 503);
    for tx in held {
        tx.rollback().await.unwrap();
    }
    let res = app
        .client
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn sigterm_closes_open_sockets_properly_and_the_process_exits() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("stop.db").display());
    let bin = || {
        let mut cmd = crate::support::xinfang();
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    let status = bin()
        .args([
            "bootstrap",
            "--county-name",
            "清河县",
            "--admin-username",
            "admin",
            "--database-url",
            &db,
        ])
        .env("XINFANG_ADMIN_PASSWORD", "a long admin password")
        .status()
        .unwrap();
    assert!(status.success());
    let port = crate::support::free_port();
    let mut server = crate::support::Running(
        bin()
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &db,
            ])
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut token = None;
    for _ in 0..300 {
        if let Ok(res) = reqwest::Client::new()
            .post(format!("{url}/graphql"))
            .json(&json!({"query": LOGIN, "variables": {"i": {"username": "admin", "password": "a long admin password"}}}))
            .send()
            .await
        {
            let body: serde_json::Value = res.json().await.unwrap();
            token = body["data"]["login"]["accessToken"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token = token.expect("signed in");
    let mut request = format!("ws://127.0.0.1:{port}/graphql/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Text(
            json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let acked = socket.next().await;
    assert!(
        matches!(&acked, Some(Ok(Message::Text(t))) if t.contains("connection_ack")),
        "{acked:?}"
    );
    let started = std::time::Instant::now();
    // SIGTERM, as a service manager sends it.
    std::process::Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    let close = crate::support::close_code(&mut socket, 10).await;
    assert_eq!(close, Some(1001), "going away");
    let mut exited = false;
    for _ in 0..300 {
        if server.0.try_wait().unwrap().is_some() {
            exited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        exited,
        "the process had not exited {:?} after SIGTERM",
        started.elapsed()
    );
}

#[tokio::test]
async fn costly_fields_cost_what_they_do_and_every_answer_says_what_it_cost() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let stats: String = (0..600)
        .map(|i| format!("s{i}: statistics(from: \"2000-01-01T00:00:00Z\", to: \"2099-01-01T00:00:00Z\") {{ total {{ cases }} }} "))
        .collect();
    let body = app
        .gql(Some(token), &format!("{{ {stats} }}"), json!({}))
        .await;
    assert_eq!(
        code(&body),
        Some("QUERY_TOO_COMPLEX"),
        "600 aliased statistics"
    );
    let searches: String = (0..300)
        .map(|i| {
            format!("c{i}: cases(first: 1, filter: {{search: \"拆迁{i}\"}}) {{ totalCount }} ")
        })
        .collect();
    let body = app
        .gql(Some(token), &format!("{{ {searches} }}"), json!({}))
        .await;
    assert_eq!(
        code(&body),
        Some("QUERY_TOO_COMPLEX"),
        "300 aliased searches"
    );
    // A nested list multiplies too: a hundred timelines of a hundred entries is 10,000 rows.
    let body = app
        .gql(
            Some(token),
            "{ cases(first: 100) { nodes { timeline(first: 100) { nodes { action } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("QUERY_TOO_COMPLEX"), "nested lists");
    // A dashboard's ordinary request passes, and reports its cost against the limit.
    let body = app
        .gql(
            Some(token),
            "{ statistics(from: \"2026-01-01T00:00:00Z\", to: \"2027-01-01T00:00:00Z\") { total { cases } }
               cases(first: 20) { totalCount nodes { number title } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let cost = &body["extensions"]["cost"];
    // statistics: 200 + total 1 + cases 1 = 202; the list: 20 rows × (totalCount 5 + nodes 1
    // + number 1 + title 1) = 160.
    assert_eq!(cost, &json!({"requested": 362, "limit": 2000}), "{body}");
}

/// An HTTP request is checked on the full schema and run on one that skips the rules already
/// checked: a document any rule refuses must still run nothing.
#[tokio::test]
async fn a_document_any_validation_rule_refuses_runs_nothing() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let input = json!({"input": fixtures::case_input(json!({}))});
    let cases = "SELECT COUNT(*) FROM cases";
    let before = app.number(cases).await;
    let refused = [
        // NoUnusedVariables
        (
            "mutation($input: RegisterCaseInput!, $unused: String) { registerCase(input: $input) { case { id } } }",
            "unused",
        ),
        // KnownArgumentNames
        (
            "mutation($input: RegisterCaseInput!) { registerCase(input: $input, urgent: true) { case { id } } }",
            "urgent",
        ),
        // OverlappingFieldsCanBeMerged: one response key, two different inputs
        (
            "mutation($input: RegisterCaseInput!, $other: RegisterCaseInput!) { r: registerCase(input: $input) { case { id } } r: registerCase(input: $other) { case { id } } }",
            "r",
        ),
        // ScalarLeafs
        (
            "mutation($input: RegisterCaseInput!) { registerCase(input: $input) }",
            "registerCase",
        ),
    ];
    for (query, named) in refused {
        let mut variables = input.clone();
        variables["other"] = input["input"].clone();
        let body = app.gql(Some(token), query, variables).await;
        assert!(body["data"].is_null(), "{query}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{query}: {body}");
        assert!(body["extensions"]["cost"].is_null(), "{query}: {body}");
    }
    assert_eq!(
        app.number(cases).await,
        before,
        "no document above may register a case"
    );
    // The same registration, well formed, runs and reports its cost.
    let body = app.gql(Some(token), fixtures::REGISTER, input).await;
    assert!(
        body["data"]["registerCase"]["case"]["id"].is_string(),
        "{body}"
    );
    assert!(
        body["extensions"]["cost"]["requested"].as_u64().is_some(),
        "{body}"
    );
    assert_eq!(app.number(cases).await, before + 1);
}

#[tokio::test]
async fn subscriptions_are_capped_and_share_their_reading_of_an_event() {
    use crate::support::{Ws, WsEvent};
    let app = crate::support::spawn_app_with(&["--deadline-scan-seconds", "3600"]).await;
    let county = fixtures::county(&app).await;
    let citizen =
        fixtures::citizen(&app, "li_si", "李四", "440524188001010014", "13912345678").await;
    // Two cases naming the citizen, led by 县住建局.
    let case = || {
        fixtures::register(
            &app,
            county.token("a_staff"),
            json!({"petitioners": [{"name": "李四", "idNumber": "440524188001010014", "phone": "13912345678"}]}),
        )
    };
    let (first, _) = case().await;
    let (second, _) = case().await;
    let statements = || async {
        let text = app.metrics().await;
        text.lines()
            .find(|l| l.starts_with("xinfang_db_statements_total "))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap()
    };
    let accept = |id: String| {
        let app = &app;
        let token = county.token("a_staff").to_string();
        async move {
            let v = version(app, &token, &id).await;
            ok(
                app,
                &token,
                "decideAcceptance",
                json!({"caseId": id, "expectedVersion": v, "decision": "ACCEPT"}),
                "__typename",
            )
            .await;
        }
    };
    // The cost of one public step with one inbox subscription open …
    let mut one = Ws::open(&app.url, &citizen, None).await.expect("upgrade");
    one.acked().await;
    one.subscribe("0", "subscription { inbox { action } }", json!({}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = statements().await;
    accept(first).await;
    assert!(
        one.next_data(std::time::Duration::from_secs(5))
            .await
            .is_some()
    );
    let with_one = statements().await - before;
    drop(one);
    // … and with twenty on one socket: the twenty read the event once between them.
    let mut many = Ws::open(&app.url, &citizen, None).await.expect("upgrade");
    many.acked().await;
    for i in 0..25 {
        many.subscribe(
            &i.to_string(),
            "subscription { inbox { action } }",
            json!({}),
        )
        .await;
    }
    // Past twenty, each is refused at once, with a code.
    let mut refused = 0;
    for _ in 0..5 {
        match many.next(std::time::Duration::from_secs(5)).await {
            WsEvent::Message(m) if m["type"] == "error" => {
                assert_eq!(m["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{m}");
                refused += 1;
            }
            other => panic!(
                "expected a refusal, got {:?}",
                matches!(other, WsEvent::Nothing)
            ),
        }
    }
    assert_eq!(refused, 5);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = statements().await;
    accept(second).await;
    for _ in 0..20 {
        assert!(
            many.next_data(std::time::Duration::from_secs(5))
                .await
                .is_some()
        );
    }
    let with_twenty = statements().await - before;
    // Read once per event, not once per subscription (which would add 19); a socket's own
    // periodic check that its session is still live may fall in the window (1 each).
    assert!(
        with_twenty <= with_one + 2,
        "one subscription: {with_one} statements; twenty: {with_twenty}"
    );
}

#[tokio::test]
async fn a_burst_of_retries_burns_no_case_numbers() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let retries = (0..10).map(|_| {
        let app = &app;
        async move {
            let body = mutate(
                app,
                token,
                "registerCase",
                fixtures::case_input(json!({"title": "弱网重试", "idempotencyKey": "burst-1"})),
                "number",
            )
            .await;
            body["data"]["registerCase"]["number"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_string()
        }
    });
    let numbers = futures_util::future::join_all(retries).await;
    assert!(numbers.iter().all(|n| *n == numbers[0]), "{numbers:?}");
    // The next case takes the next number: the nine retries took none.
    let (_, next) = fixtures::register(&app, token, json!({"title": "下一件"})).await;
    let seq = |n: &str| n.rsplit('-').next().unwrap().parse::<u64>().unwrap();
    assert_eq!(
        seq(&next),
        seq(&numbers[0]) + 1,
        "{} then {next}",
        numbers[0]
    );
}

#[tokio::test]
async fn cutting_entries_off_a_record_or_deleting_a_case_is_seen() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (id, number) = fixtures::register(&app, county.token("a_staff"), json!({})).await;
    let (_, other) =
        fixtures::register(&app, county.token("a_staff"), json!({"title": "另一件"})).await;
    for text in ["第一次约谈", "第二次约谈"] {
        let v = version(&app, county.token("a_staff"), &id).await;
        if v == 1 {
            ok(
                &app,
                county.token("a_staff"),
                "decideAcceptance",
                json!({"caseId": id, "expectedVersion": v, "decision": "ACCEPT"}),
                "__typename",
            )
            .await;
        }
        ok(
            &app,
            county.token("a_staff"),
            "addProgressNote",
            json!({"caseId": id, "text": text}),
            "__typename",
        )
        .await;
    }
    use sea_orm::ConnectionTrait;
    let db = app.db();
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    if postgres {
        assert!(
            db.execute_unprepared("TRUNCATE case_events").await.is_err(),
            "TRUNCATE is refused"
        );
    }
    // (The entries are on their county links by then, as they are within moments.)
    app.linked().await;
    lift_append_only_guards(db, &["case_events"]).await;
    // The last entry cut off: every remaining link is intact, but the case says 4 changes.
    let case_id = id_of(&id);
    db.execute_unprepared(&format!(
        "DELETE FROM case_events WHERE case_id = {case_id} AND seq = 4"
    ))
    .await
    .unwrap();
    let q = "query($id: ID!) { auditIntegrity(caseId: $id) { intact entries brokenAtSeq } }";
    let report = app
        .gql(Some(county.token("bureau_staff")), q, json!({"id": id}))
        .await;
    assert_eq!(
        report["data"]["auditIntegrity"],
        json!({"intact": false, "entries": 3, "brokenAtSeq": 4}),
        "{report}"
    );
    // The other case deleted outright (with its record's guard off as well): its entries
    // remain, and the command line names them.
    if !postgres {
        db.execute_unprepared("PRAGMA foreign_keys = OFF")
            .await
            .unwrap();
    }
    let other_id: i64 = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT id FROM cases WHERE number = '{other}'"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    let removed = db
        .execute_unprepared(&format!(
            "DELETE FROM case_sight WHERE case_id = {other_id}; DELETE FROM case_units WHERE case_id = {other_id}; \
             DELETE FROM case_petitioners WHERE case_id = {other_id}"
        ))
        .await;
    assert!(removed.is_ok(), "{removed:?}");
    if postgres {
        db.execute_unprepared("ALTER TABLE cases DISABLE TRIGGER ALL")
            .await
            .unwrap();
    }
    // (On SQLite the foreign keys are switched off on the connection that deletes.)
    let delete = if postgres {
        format!("DELETE FROM cases WHERE id = {other_id}")
    } else {
        format!("PRAGMA foreign_keys = OFF; DELETE FROM cases WHERE id = {other_id}")
    };
    db.execute_unprepared(&delete).await.unwrap();
    let out = crate::support::xinfang()
        .args(["audit", "verify", "--database-url", &app.db_url])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&number) && stdout.contains("entries were removed"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("case #{other_id}")), "{stdout}");
    // The county chain names the removed case's first entry as the first broken link.
    assert!(
        stdout.contains(&format!(
            "case #{other_id} entry 1: the timeline entry it covers was removed"
        )),
        "{stdout}"
    );
}

use crate::support::AUDIT_KEY;

fn audit(app: &crate::support::TestApp, args: &[&str], file: &std::path::Path) -> (i32, String) {
    let out = crate::support::xinfang()
        .arg("audit")
        .args(args)
        .args(["--database-url", &app.db_url, "--audit-key", AUDIT_KEY])
        .arg("--audit-checkpoint-file")
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn a_signed_checkpoint_catches_a_record_cut_short_and_made_consistent_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoints.jsonl");
    let app = crate::support::spawn_app_with(&["--audit-key", AUDIT_KEY]).await;
    let county = fixtures::county(&app).await;
    fixtures::register(&app, county.token("a_staff"), json!({"title": "另一件"})).await;
    let (id, _) = fixtures::register(&app, county.token("a_staff"), json!({})).await;
    ok(
        &app,
        county.token("a_staff"),
        "decideAcceptance",
        json!({"caseId": id, "expectedVersion": 1, "decision": "ACCEPT"}),
        "__typename",
    )
    .await;
    ok(
        &app,
        county.token("a_staff"),
        "addProgressNote",
        json!({"caseId": id, "text": "约谈"}),
        "__typename",
    )
    .await;

    // (The server links the entries just after their commits; the command below then finds
    // the database quiet.)
    app.linked().await;
    let (status, out) = audit(&app, &["checkpoint"], &file);
    assert_eq!(status, 0, "{out}");
    // Every change to a case is one entry, so the county's chain is as long as the versions
    // of its cases add up to: 1 + 3.
    let q = "{ auditCheckpoints { statement signature publicKey } }";
    let answer = app
        .gql(Some(county.token("county_admin")), q, json!({}))
        .await;
    let checkpoints = answer["data"]["auditCheckpoints"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(checkpoints.len(), 1, "{answer}");
    let statement: serde_json::Value =
        serde_json::from_str(checkpoints[0]["statement"].as_str().unwrap()).unwrap();
    let chain = format!("county:{}", county.county);
    let head = statement["heads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["chain"] == chain.as_str())
        .unwrap_or_else(|| panic!("{statement}"));
    assert_eq!(head["seq"], 4, "{statement}");
    // The administrative record (the fixture's accounts) is signed too.
    assert!(
        statement["heads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["chain"] == "admin" && h["seq"].as_i64() > Some(0)),
        "{statement}"
    );
    // The copy kept outside the database is the same signed text.
    let outside: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&file).unwrap().trim()).unwrap();
    assert_eq!(outside, checkpoints[0], "{outside}");
    // Only the top-level administrator reads them.
    let refused = app
        .gql(Some(county.token("bureau_staff")), q, json!({}))
        .await;
    assert_eq!(code(&refused), Some("FORBIDDEN"), "{refused}");
    // Nothing new written: a second checkpoint is not signed.
    let (status, out) = audit(&app, &["checkpoint"], &file);
    assert_eq!(
        (status, out.contains("nothing was written")),
        (0, true),
        "{out}"
    );

    let (status, out) = audit(&app, &["verify"], &file);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("1 signed checkpoints held"), "{out}");
    // An auditor holding only the public key, on a production configuration, verifies too.
    let public_key = checkpoints[0]["publicKey"].as_str().unwrap();
    let out = crate::support::xinfang()
        .args([
            "audit",
            "verify",
            "--env",
            "production",
            "--database-url",
            &app.db_url,
        ])
        .args(["--audit-public-key", public_key, "--checkpoints"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Someone with the database's keys removes the newest entry, its county link and the
    // checkpoint kept inside, and winds the case's version back: every chain in the database
    // is consistent again.
    use sea_orm::ConnectionTrait;
    let db = app.db();
    let case_id = id_of(&id);
    lift_append_only_guards(db, &["case_events", "county_chain", "audit_checkpoints"]).await;
    db.execute_unprepared(&format!(
        "DELETE FROM case_events WHERE case_id = {case_id} AND seq = 3; \
         DELETE FROM county_chain WHERE case_id = {case_id} AND case_seq = 3; \
         DELETE FROM audit_checkpoints; \
         UPDATE cases SET version = 2 WHERE id = {case_id}"
    ))
    .await
    .unwrap();
    let q = "query($id: ID!) { auditIntegrity(caseId: $id) { intact entries } }";
    let report = app
        .gql(Some(county.token("bureau_staff")), q, json!({"id": id}))
        .await;
    assert_eq!(
        report["data"]["auditIntegrity"],
        json!({"intact": true, "entries": 2}),
        "the case's own chain cannot tell: {report}"
    );
    let (status, out) = audit(&app, &["verify"], &file);
    assert_eq!(status, 1, "{out}");
    assert!(
        out.contains("kept outside the database is missing from it"),
        "{out}"
    );
    assert!(
        out.contains(&format!("{chain} no longer reaches link 4")),
        "{out}"
    );
    assert!(
        !out.contains("BROKEN  county"),
        "the county chain itself is consistent: {out}"
    );
}

/// What a database administrator can do: switch off the triggers that refuse deleting from
/// the append-only tables.
async fn lift_append_only_guards(db: &sea_orm::DatabaseConnection, tables: &[&str]) {
    use sea_orm::ConnectionTrait;
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    for table in tables {
        let sql = if postgres {
            format!("ALTER TABLE {table} DISABLE TRIGGER USER")
        } else {
            format!("DROP TRIGGER {table}_no_delete")
        };
        db.execute_unprepared(&sql).await.unwrap();
    }
}

fn id_of(global_id: &str) -> i64 {
    String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, global_id)
            .unwrap(),
    )
    .unwrap()
    .rsplit(':')
    .next()
    .unwrap()
    .parse()
    .unwrap()
}

#[tokio::test]
async fn a_burst_of_sign_ins_leaves_connections_for_everyone_else() {
    // A small pool: sign-ins waiting for their turn at argon2 must not hold connections.
    let app = crate::support::spawn_app_with(&["--db-pool-size", "4"]).await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff").to_string();
    let sign_ins = (0..30).map(|i| {
        let app = &app;
        async move {
            let body = app
                .gql(
                    None,
                    LOGIN,
                    json!({"i": {"username": format!("someone_{i}"), "password": "wrong password"}}),
                )
                .await;
            code(&body).map(str::to_string)
        }
    });
    let reads = (0..10).map(|_| {
        let app = &app;
        let token = token.clone();
        async move {
            let body = app
                .gql(Some(&token), "{ viewer { username } }", json!({}))
                .await;
            code(&body).map(str::to_string)
        }
    });
    let (sign_ins, reads) = futures_util::future::join(
        futures_util::future::join_all(sign_ins),
        futures_util::future::join_all(reads),
    )
    .await;
    assert!(
        reads.iter().all(Option::is_none),
        "reads failed during the burst: {reads:?}"
    );
    assert!(
        sign_ins.iter().all(|c| matches!(
            c.as_deref(),
            Some("UNAUTHENTICATED" | "RATE_LIMITED" | "SERVICE_UNAVAILABLE")
        )),
        "{sign_ins:?}"
    );
}

#[tokio::test]
async fn sign_ins_side_by_side_need_one_connection_each() {
    // Two connections in the pool, and sign-ins and password changes running side by side (one
    // per turn at argon2): each holds one connection at a time, so none waits for a second that
    // the other holds. Right passwords get a session, wrong ones are told so and counted.
    let app = crate::support::spawn_app_with(&["--db-pool-size", "2"]).await;
    let county = fixtures::county(&app).await;
    let attempts = [
        ("bureau_staff", crate::support::PASSWORD, true),
        ("t1_staff", crate::support::PASSWORD, true),
        ("a_staff", "not the password", false),
        ("c_staff", crate::support::PASSWORD, true),
        ("t2_staff", "not the password", false),
        ("b_staff", crate::support::PASSWORD, true),
    ];
    let sign_ins = attempts.map(|(username, password, _)| {
        let app = &app;
        async move {
            app.gql(
                None,
                LOGIN,
                json!({"i": {"username": username, "password": password}}),
            )
            .await
        }
    });
    let changes = ["county_staff", "t1_leader"].map(|username| {
        let app = &app;
        let token = county.token(username).to_string();
        async move {
            app.gql(
                Some(&token),
                "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { ok } }",
                json!({"i": {"currentPassword": crate::support::PASSWORD, "newPassword": "a new password of 2026"}}),
            )
            .await
        }
    });
    let (sign_ins, changes) = futures_util::future::join(
        futures_util::future::join_all(sign_ins),
        futures_util::future::join_all(changes),
    )
    .await;
    for ((username, _, right), body) in attempts.iter().zip(&sign_ins) {
        if *right {
            assert!(
                body["data"]["login"]["accessToken"].is_string(),
                "{username}: {body}"
            );
        } else {
            assert_eq!(code(body), Some("UNAUTHENTICATED"), "{username}: {body}");
        }
    }
    for body in &changes {
        assert_eq!(body["data"]["changePassword"]["ok"], true, "{body}");
    }
    let counted = app
        .number("SELECT COUNT(*) FROM rate_limits WHERE bucket LIKE 'login:%' AND hits = 1")
        .await;
    assert_eq!(counted, 2, "each wrong password is counted once");
}

#[tokio::test]
async fn a_socket_reads_every_operation_afresh_and_passes_the_same_edge_checks() {
    use crate::support::{Ws, WsEvent};
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // Two cases of one person on one subject at 东关镇: 东关镇 confirms the second repeats the first.
    let (x, _) = fixtures::register(
        &app,
        county.token("t1_staff"),
        json!({"title": "第一封信", "townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let (y, _) = fixtures::register(
        &app,
        county.token("t1_staff"),
        json!({"title": "第二封信", "townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let linked = fixtures::link_repeat(&app, county.token("t1_staff"), &y, &x).await;
    assert!(linked["errors"].is_null(), "{linked}");
    let mut ws = Ws::open(&app.url, county.token("t1_staff"), None)
        .await
        .expect("upgrade");
    ws.acked().await;
    let q = "query($id: ID!) { case(id: $id) { repeatOf { id title } } }";
    ws.subscribe("1", q, json!({"id": y})).await;
    let first = ws
        .next_data(std::time::Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(first["case"]["repeatOf"]["id"], x, "{first}");
    let _ = ws.next(std::time::Duration::from_secs(2)).await; // complete
    // The first letter turns out to accuse 东关镇: the bureau undoes the link (a matter never
    // holds an accusation and an ordinary petition), takes the letter over and reclassifies it.
    let v = version(&app, county.token("bureau_staff"), &y).await;
    ok(
        &app,
        county.token("bureau_staff"),
        "undoRepeat",
        json!({"caseId": y, "expectedVersion": v, "reason": "第一封信实为检举"}),
        "__typename",
    )
    .await;
    let v = version(&app, county.token("bureau_staff"), &x).await;
    let moved = ok(&app, county.token("t1_staff"), "transferCase",
        json!({"caseId": x, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.bureau), "mode": "TRANSFER", "reason": "请信访局处理"}),
        "__typename").await;
    let _ = moved;
    let v = version(&app, county.token("bureau_staff"), &x).await;
    ok(&app, county.token("bureau_staff"), "reclassifyCase",
        json!({"caseId": x, "expectedVersion": v, "category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1), "reason": "反映镇干部"}),
        "__typename").await;
    // The same question on the same socket: the link now reads as absent.
    ws.subscribe("2", q, json!({"id": y})).await;
    let second = ws
        .next_data(std::time::Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(
        second["case"]["repeatOf"],
        serde_json::Value::Null,
        "{second}"
    );
    let _ = ws.next(std::time::Duration::from_secs(2)).await;
    // NUL in a socket operation's variables is refused as over HTTP.
    ws.subscribe(
        "3",
        "query($n: String!) { caseByNumber(number: $n) { id } }",
        json!({"n": "XF\u{0}"}),
    )
    .await;
    match ws.next(std::time::Duration::from_secs(5)).await {
        WsEvent::Message(m) => {
            let errors = if m["payload"].is_array() {
                m["payload"].clone()
            } else {
                m["payload"]["errors"].clone()
            };
            assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{m}");
        }
        _ => panic!("no answer"),
    }
}

#[tokio::test]
async fn a_case_action_retried_with_its_key_gets_the_first_answer() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("a_staff");
    let (id, _) = fixtures::register(&app, token, json!({})).await;
    let v = version(&app, token, &id).await;
    let accept = json!({"caseId": id, "expectedVersion": v, "decision": "ACCEPT", "idempotencyKey": "accept-1"});
    // Five copies of one request at once (a mobile app retrying on a flaky network): all are
    // answered with the accepted case; the case was accepted once.
    let tries = (0..5).map(|_| {
        let app = &app;
        let accept = accept.clone();
        async move {
            mutate(
                app,
                token,
                "decideAcceptance",
                accept,
                "case { status version }",
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(tries).await;
    for answer in &answers {
        assert_eq!(
            answer["data"]["decideAcceptance"]["case"]["status"], "IN_PROGRESS",
            "{answer}"
        );
    }
    let timeline = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { version timeline { totalCount } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        timeline["data"]["case"]["timeline"]["totalCount"], 2,
        "{timeline}"
    );
    // A later retry too; without the key the same request is refused as before.
    let again = mutate(
        &app,
        token,
        "decideAcceptance",
        accept.clone(),
        "case { status }",
    )
    .await;
    assert_eq!(
        again["data"]["decideAcceptance"]["case"]["status"],
        "IN_PROGRESS"
    );
    let mut unkeyed = accept.clone();
    unkeyed.as_object_mut().unwrap().remove("idempotencyKey");
    let refused = mutate(&app, token, "decideAcceptance", unkeyed, "case { status }").await;
    assert!(
        matches!(
            code(&refused),
            Some("CONFLICT") | Some("INVALID_TRANSITION")
        ),
        "{refused}"
    );
    // The same key for another request is CONFLICT, and changes nothing.
    let other = mutate(
        &app,
        token,
        "addProgressNote",
        json!({"caseId": id, "text": "约谈", "idempotencyKey": "accept-1"}),
        "case { version }",
    )
    .await;
    assert_eq!(code(&other), Some("CONFLICT"), "{other}");
    let after = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { timeline { totalCount } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(after["data"]["case"]["timeline"]["totalCount"], 2);
}

/// Sends the same keyed request three times at once and once more after, and returns the
/// four answers.
async fn four_copies(
    app: &crate::support::TestApp,
    token: &str,
    name: &str,
    input: serde_json::Value,
    selection: &str,
) -> Vec<serde_json::Value> {
    let at_once = (0..3).map(|_| mutate(app, token, name, input.clone(), selection));
    let mut answers = futures_util::future::join_all(at_once).await;
    answers.push(mutate(app, token, name, input.clone(), selection).await);
    answers
}

/// Every answer names the same record (`field` of the payload), which it returns.
fn one_record<'a>(answers: &'a [serde_json::Value], name: &str, field: &str) -> &'a str {
    let first = answers[0]["data"][name][field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", answers[0]));
    for a in answers {
        assert_eq!(a["data"][name][field]["id"], first, "{a}");
    }
    first
}

#[tokio::test]
async fn an_action_answering_with_a_record_retried_with_its_key_gets_that_record() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    let (id, _) = fixtures::register(&app, bureau, json!({})).await;
    let timeline = |token: &'static str| {
        let (app, id, county) = (&app, id.clone(), &county);
        async move {
            app.gql(
                Some(county.token(token)),
                "query($id: ID!) { case(id: $id) { version timeline { totalCount } extensions { id } supervisions { id } } }",
                json!({"id": id}),
            )
            .await["data"]["case"]
                .clone()
        }
    };

    // 转办: one referral, one handover, whichever copy got through first.
    let transfer = json!({"caseId": id, "expectedVersion": 1, "toUnitId": gid("OrgUnit", county.dept_a),
        "mode": "TRANSFER", "reason": "依职能转办", "idempotencyKey": "t-1"});
    let answers = four_copies(
        &app,
        bureau,
        "transferCase",
        transfer,
        "referral { id status }",
    )
    .await;
    let referral = one_record(&answers, "transferCase", "referral").to_string();
    let now = timeline("a_staff").await;
    assert_eq!(
        (
            now["version"].clone(),
            now["timeline"]["totalCount"].clone()
        ),
        (json!(2), json!(2)),
        "{now}"
    );

    // 签收 by the receiver: all copies see it acknowledged; without the key a repeat is refused.
    let ack = json!({"referralId": referral, "idempotencyKey": "ack-1"});
    let answers = four_copies(
        &app,
        county.token("a_staff"),
        "acknowledgeReferral",
        ack.clone(),
        "referral { id status }",
    )
    .await;
    one_record(&answers, "acknowledgeReferral", "referral");
    for a in &answers {
        assert_eq!(
            a["data"]["acknowledgeReferral"]["referral"]["status"], "ACKNOWLEDGED",
            "{a}"
        );
    }
    let refused = mutate(
        &app,
        county.token("a_staff"),
        "acknowledgeReferral",
        json!({"referralId": referral}),
        "referral { id }",
    )
    .await;
    assert!(refused["errors"].is_array(), "{refused}");
    ok(
        &app,
        county.token("a_staff"),
        "decideAcceptance",
        json!({"caseId": id, "expectedVersion": 3, "decision": "ACCEPT"}),
        "__typename",
    )
    .await;

    // 延期申请: one request, the same one in every answer.
    let ask = json!({"caseId": id, "days": 10, "reason": "需现场勘验", "idempotencyKey": "ext-1"});
    let answers = four_copies(
        &app,
        county.token("a_staff"),
        "requestExtension",
        ask,
        "extension { id status }",
    )
    .await;
    let extension = one_record(&answers, "requestExtension", "extension").to_string();
    // 审批: decided once; the retries answer with the approved request.
    let decide = json!({"extensionId": extension, "approve": true, "idempotencyKey": "dec-1"});
    let answers = four_copies(
        &app,
        county.token("a_leader"),
        "decideExtension",
        decide,
        "extension { id status }",
    )
    .await;
    assert_eq!(
        one_record(&answers, "decideExtension", "extension"),
        extension
    );
    for a in &answers {
        assert_eq!(
            a["data"]["decideExtension"]["extension"]["status"], "APPROVED",
            "{a}"
        );
    }
    // The same request written otherwise — fields in another order, an optional field sent
    // as null — is the same request: a retry, not CONFLICT.
    let rewritten =
        json!({"idempotencyKey": "dec-1", "note": null, "approve": true, "extensionId": extension});
    let again = mutate(
        &app,
        county.token("a_leader"),
        "decideExtension",
        rewritten,
        "extension { id status }",
    )
    .await;
    assert_eq!(
        again["data"]["decideExtension"]["extension"]["id"],
        extension.as_str(),
        "{again}"
    );

    // 督办 by the bureau: one order.
    let order = json!({"caseId": id, "text": "请于五日内报告进展", "dueAt": "2099-01-01T00:00:00Z", "idempotencyKey": "sup-1"});
    let answers = four_copies(
        &app,
        bureau,
        "issueSupervision",
        order,
        "supervision { id }",
    )
    .await;
    let supervision = one_record(&answers, "issueSupervision", "supervision").to_string();

    let now = timeline("a_staff").await;
    assert_eq!(now["extensions"], json!([{"id": extension}]), "{now}");
    assert_eq!(now["supervisions"], json!([{"id": supervision}]), "{now}");
    // Registration, transfer, acknowledgement, acceptance, extension asked and approved,
    // supervision: seven entries, one per action however often it was sent.
    assert_eq!(now["timeline"]["totalCount"], 7, "{now}");

    // The same key for another request is CONFLICT and changes nothing.
    let other = mutate(&app, bureau, "issueSupervision",
        json!({"caseId": id, "text": "另一份督办", "dueAt": "2099-01-01T00:00:00Z", "idempotencyKey": "sup-1"}),
        "supervision { id }").await;
    assert_eq!(code(&other), Some("CONFLICT"), "{other}");
    assert_eq!(timeline("a_staff").await["timeline"]["totalCount"], 7);
}

/// Registrations of one county no longer queue for the county's head: their entries are
/// linked after they commit. However many race, every entry ends up on exactly one link, in
/// one unbroken chain, and the record verifies.
#[tokio::test]
async fn concurrent_registrations_all_end_up_on_one_unbroken_county_chain() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoints.jsonl");
    let app = crate::support::spawn_app_with(&["--audit-key", AUDIT_KEY]).await;
    let county = fixtures::county(&app).await;
    let registrations =
        (0..24).map(|i| {
            let app = &app;
            let token = county.token(if i % 2 == 0 {
                "bureau_staff"
            } else {
                "a_staff"
            });
            async move {
                fixtures::register(app, token, json!({"title": format!("并发登记{i}")})).await
            }
        });
    let registered = futures_util::future::join_all(registrations).await;
    assert_eq!(registered.len(), 24);
    app.linked().await;
    let entries = app.number("SELECT COUNT(*) FROM case_events").await;
    let links = app.number("SELECT COUNT(*) FROM county_chain").await;
    let distinct = app
        .number("SELECT COUNT(*) FROM (SELECT DISTINCT case_id, case_seq FROM county_chain) d")
        .await;
    assert!(entries >= 24, "{entries} entries");
    assert_eq!((links, distinct), (entries, entries), "one link per entry");
    let (status, out) = audit(&app, &["verify"], &file);
    assert_eq!(status, 0, "{out}");
    assert!(
        out.contains(&format!("county chains: {entries} links checked")),
        "{out}"
    );
}

/// An entry removed before the linker reached it leaves its pending row behind, and the
/// verifier names it; entries merely awaiting their link are not breaks.
#[tokio::test]
async fn an_entry_removed_before_it_was_linked_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoints.jsonl");
    let app = crate::support::spawn_app_with(&["--audit-key", AUDIT_KEY]).await;
    let county = fixtures::county(&app).await;
    fixtures::register(&app, county.token("bureau_staff"), json!({"title": "待链"})).await;
    app.linked().await;
    let (status, out) = audit(&app, &["verify"], &file);
    assert_eq!(status, 0, "{out}");

    // A mark on an entry that is linked already (the server never writes one) is dropped
    // without a second link, and does not hold up the entries after it.
    let links = app.number("SELECT COUNT(*) FROM county_chain").await;
    let linked_entry = app.number("SELECT MAX(id) FROM case_events").await;
    app.sql(&format!(
        "INSERT INTO chain_pending (event_id, county_id) VALUES ({linked_entry}, {})",
        county.county
    ))
    .await;
    fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"title": "后一件"}),
    )
    .await;
    app.linked().await;
    assert_eq!(
        app.number("SELECT COUNT(*) FROM county_chain").await,
        links + 1,
        "only the new registration's entry is linked"
    );
    let (status, out) = audit(&app, &["verify"], &file);
    assert_eq!(status, 0, "{out}");

    // What an entry written and then removed before its link leaves: its pending row, naming
    // an entry that is no longer there.
    let missing = app
        .number("SELECT COALESCE(MAX(id), 0) + 1000 FROM case_events")
        .await;
    app.sql(&format!(
        "INSERT INTO chain_pending (event_id, county_id) VALUES ({missing}, {})",
        county.county
    ))
    .await;
    let (status, out) = audit(&app, &["verify"], &file);
    assert_eq!(status, 1, "{out}");
    assert!(
        out.contains(&format!("BROKEN  county #{} chain", county.county))
            && out.contains(&format!(
                "timeline entry #{missing} was removed before it was linked"
            )),
        "{out}"
    );
}
