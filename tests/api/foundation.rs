//! The HTTP surface, configuration, the CLI and the database plumbing (issue: foundation).

use crate::fixtures::{self, case_input};
use crate::support::{SECRET, code, free_port, spawn_app, spawn_app_with, xinfang};
use futures_util::FutureExt;
use serde_json::{Value, json};

#[tokio::test]
async fn typename_query_answers_over_post() {
    let app = spawn_app().await;
    let body = app.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(body, json!({"data": {"__typename": "QueryRoot"}}));
}

#[tokio::test]
async fn post_accepts_only_application_json() {
    let app = spawn_app().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
    ] {
        let res = app
            .client
            .post(format!("{}/graphql", app.url))
            .header("content-type", content_type)
            .body(r#"{"query":"{ __typename }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415, "{content_type} must be refused");
    }
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let app = spawn_app().await;
    // Default limit: 256 KiB.
    let big = format!(
        r#"{{"query":"{{ __typename }}","variables":{{"pad":"{}"}}}}"#,
        "x".repeat(300 * 1024)
    );
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let small = format!(
        r#"{{"query":"{{ __typename }}","variables":{{"pad":"{}"}}}}"#,
        "x".repeat(200 * 1024)
    );
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "application/json")
        .body(small)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A configured limit applies too.
    let app = spawn_app_with(&["--body-limit", "1024"]).await;
    let body = format!(
        r#"{{"query":"{{ __typename }}","variables":{{"pad":"{}"}}}}"#,
        "x".repeat(2048)
    );
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn batches_are_refused() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "application/json")
        .body(r#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(code(&body), Some("BAD_REQUEST"));
}

#[tokio::test]
async fn get_runs_queries_but_refuses_mutations_before_running_them() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "QueryRoot");

    // A failed sign-in would count against the username; over GET it must not run at all.
    let mutation = r#"mutation { login(input: {username: "nobody", password: "wrong-password"}) { accessToken } }"#;
    let res = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("query", mutation)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers().get("allow").unwrap(), "POST");
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        xinfang_entity::rate_limit::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        0,
        "nothing ran"
    );

    // Naming the mutation among several operations is refused the same way.
    let doc = "query Q { __typename } mutation M { logout(input: {refreshToken: \"x\"}) { ok } }";
    let res = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("query", doc), ("operationName", "M")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn request_ids_security_headers_and_no_store() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("x-request-id", "desk-42")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    let h = res.headers();
    assert_eq!(h.get("x-request-id").unwrap(), "desk-42");
    assert_eq!(h.get("cache-control").unwrap(), "no-store");
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert!(h.get("content-security-policy").is_some());

    // No id, or one that is not safe to log: a fresh one is generated.
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("x-request-id", "bad id\twith\ttabs")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    let id = res
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(id, "bad id\twith\ttabs");
    assert_eq!(id.len(), 16);
}

#[tokio::test]
async fn response_media_type_follows_accept() {
    let app = spawn_app().await;
    let post = |accept: &'static str, query: &'static str| {
        app.client
            .post(format!("{}/graphql", app.url))
            .header("accept", accept)
            .json(&json!({"query": query}))
            .send()
    };
    let res = post("application/graphql-response+json", "{ __typename }")
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    // A document that does not parse: 400 for the new media type, 200 for application/json.
    let res = post("application/graphql-response+json", "{ __typename ")
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(
        body.get("data").is_none() && body["errors"].is_array(),
        "nothing ran, so no data entry: {body}"
    );
    let res = post("application/json", "{ __typename ").await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["errors"][0]["message"].is_string());
    let res = post("text/html", "{ __typename }").await.unwrap();
    assert_eq!(res.status(), 406);
}

#[tokio::test]
async fn graphiql_and_introspection_in_dev_but_not_in_production() {
    let dev = spawn_app().await;
    assert_eq!(
        dev.client
            .get(format!("{}/graphiql", dev.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let body = dev
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "QueryRoot");

    let prod = spawn_app_with(&["--env", "production"]).await;
    assert_eq!(
        prod.client
            .get(format!("{}/graphiql", prod.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let body = prod
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(
        body["data"]["__schema"].is_null(),
        "introspection is off in production: {body}"
    );

    let prod_with_flag = spawn_app_with(&["--env", "production", "--introspection"]).await;
    let body = prod_with_flag
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "QueryRoot");
}

#[tokio::test]
async fn field_suggestions_are_off() {
    let app = spawn_app().await;
    let body = app.gql(None, "{ viewr { id } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("Did you mean"),
        "no suggestions: {message}"
    );
}

#[tokio::test]
async fn depth_and_complexity_limits_hold_and_aliases_count() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    // 14 levels of nesting exceed the default depth limit of 12.
    let mut deep = String::from("id");
    for _ in 0..14 {
        deep = format!("parent {{ {deep} }}");
    }
    let body = app
        .gql(
            Some(token),
            &format!("{{ orgUnits {{ nodes {{ {deep} }} }} }}"),
            json!({}),
        )
        .await;
    assert!(
        body["data"].is_null() && body["errors"].is_array(),
        "too deep: {body}"
    );

    // 1,500 aliases of a two-field selection exceed the complexity limit of 2,000.
    let aliases: String = (0..1500)
        .map(|i| format!("a{i}: subjects {{ code name }} "))
        .collect();
    let body = app
        .gql(Some(token), &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert!(
        body["data"].is_null()
            && body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("complex"),
        "{body}"
    );

    // The same selection once is fine.
    let body = app
        .gql(Some(token), "{ subjects { code name } }", json!({}))
        .await;
    assert!(body["data"]["subjects"].as_array().unwrap().len() >= 5);
}

#[tokio::test]
async fn hostile_bodies_get_errors_not_panics() {
    let app = spawn_app().await;
    let send = |body: Vec<u8>| {
        app.client
            .post(format!("{}/graphql", app.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Invalid UTF-8.
    assert_eq!(
        send(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'])
            .await
            .unwrap()
            .status(),
        400
    );
    // Deeply nested JSON.
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(
        send(
            format!(r#"{{"query":"{{ __typename }}","variables":{{"x":{nested}}}}}"#).into_bytes()
        )
        .await
        .unwrap()
        .status(),
        400
    );
    // A number far beyond Int.
    let body: Value = send(br#"{"query":"query($n: Int) { orgUnits(first: $n) { totalCount } }","variables":{"n":1e400}}"#.to_vec()).await.unwrap().json().await.unwrap_or(json!({"errors": [{}]}));
    assert!(body["errors"].is_array());
    let body: Value =
        send(br#"{"query":"{ orgUnits(first: 99999999999999999999) { totalCount } }"}"#.to_vec())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(body["errors"].is_array());
    // The server is still up.
    assert_eq!(
        app.gql(None, "{ __typename }", json!({})).await["data"]["__typename"],
        "QueryRoot"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(
        app.client
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.client
            .get(format!("{}/readyz", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.gql(None, "{ viewer { id } }", json!({})).await; // an UNAUTHENTICATED error, counted
    let text = app.metrics().await;
    assert!(
        text.contains("xinfang_http_requests_total{route=\"/graphql\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("xinfang_http_request_duration_seconds_bucket"));
    assert!(
        text.contains("xinfang_graphql_errors_total{code=\"UNAUTHENTICATED\"} 1"),
        "{text}"
    );
    assert!(text.contains("xinfang_db_pool_connections{state=\"open\"}"));
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.db.clone().close().await.unwrap();
    assert_eq!(
        app.client
            .get(format!("{}/readyz", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(
        app.client
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn cors_answers_only_configured_origins() {
    let app = spawn_app_with(&["--cors-origins", "https://desk.example.gov.cn"]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("https://desk.example.gov.cn").await.unwrap();
    assert_eq!(
        ok.headers().get("access-control-allow-origin").unwrap(),
        "https://desk.example.gov.cn"
    );
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn fifty_concurrent_writes_all_succeed_with_distinct_numbers() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff").to_string();
    let mut tasks = vec![];
    for i in 0..50 {
        let (client, url, token) = (app.client.clone(), app.url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let input = case_input(json!({"title": format!("并发登记 {i}")}));
            let res = client
                .post(format!("{url}/graphql"))
                .bearer_auth(token)
                .json(&json!({"query": fixtures::REGISTER, "variables": {"input": input}}))
                .send()
                .await
                .unwrap();
            res.json::<Value>().await.unwrap()
        }));
    }
    let mut numbers = std::collections::HashSet::new();
    for t in tasks {
        let body = t.await.unwrap();
        let number = body["data"]["registerCase"]["case"]["number"]
            .as_str()
            .unwrap_or_else(|| panic!("a write failed: {body}"))
            .to_string();
        assert!(
            number.starts_with("XF-130534-20") && number.len() == "XF-130534-2026-000001".len(),
            "{number}"
        );
        numbers.insert(number);
    }
    assert_eq!(numbers.len(), 50);
}

#[test]
fn schema_graphql_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .unwrap_or_default();
    let printed = xinfang_api::graphql::sdl();
    assert!(
        committed == printed,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

#[test]
fn schema_command_prints_the_committed_sdl() {
    let out = xinfang().arg("schema").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        xinfang_api::graphql::sdl()
    );
}

#[test]
fn bootstrap_creates_the_county_once_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
    let password_file = dir.path().join("pw");
    std::fs::write(&password_file, "a strong admin password\n").unwrap();
    let run = || {
        xinfang()
            .args([
                "bootstrap",
                "--county-name",
                "清河县",
                "--admin-username",
                "root",
                "--database-url",
                &url,
            ])
            .arg("--admin-password-file")
            .arg(&password_file)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("清河县"));
    let second = run();
    assert_eq!(second.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already bootstrapped"));

    // Password from the environment works too; a missing one is a clear error.
    let env_run = xinfang()
        .args([
            "bootstrap",
            "--county-name",
            "X",
            "--admin-username",
            "r2",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(env_run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&env_run.stderr).contains("XINFANG_ADMIN_PASSWORD"));

    let status = xinfang()
        .args(["migrate", "status", "--database-url", &url])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("applied  m20261122_000001_initial"));
}

#[test]
fn production_refuses_to_start_without_its_secrets_or_with_the_test_clock() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
    // (extra flags, JWT secret, what the refusal names)
    let refusals: [(&[&str], Option<&str>, &str); 4] = [
        (&[], None, "XINFANG_JWT_SECRET"),
        (&[], Some("too-short"), "32 bytes"),
        (&["--test-clock"], Some(SECRET), "test clock"),
        // Without the key that signs the audit checkpoints.
        (&[], Some(SECRET), "XINFANG_AUDIT_KEY"),
    ];
    for (flags, secret, named) in refusals {
        let mut serve = xinfang();
        serve
            .args(["serve", "--env", "production", "--bind", "127.0.0.1:0"])
            .args(flags)
            .args(["--database-url", &url]);
        if let Some(secret) = secret {
            serve.env("XINFANG_JWT_SECRET", secret);
        }
        let out = serve.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{named}: {stderr}");
        assert!(stderr.contains(named), "{named}: {stderr}");
    }
}

#[test]
fn a_pool_of_no_connections_is_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
    for command in [
        &["serve", "--bind", "127.0.0.1:0"][..],
        &["migrate", "status"],
    ] {
        let out = xinfang()
            .args(command)
            .args(["--db-pool-size", "0", "--database-url", &url])
            .env("XINFANG_JWT_SECRET", SECRET)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // clap's usage error, before anything opens the database.
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("--db-pool-size") && stderr.contains("not in 1.."),
            "{command:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn demo_serves_a_county_with_graphiql_and_working_logins() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = xinfang()
        .args(["demo", "--bind", &format!("127.0.0.1:{port}"), "--demo-db"])
        .arg(dir.path().join("demo.db"))
        .arg("--storage-dir")
        .arg(dir.path().join("files"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let up = crate::support::answers_ok(&format!("{url}/graphiql")).await;
    // A failed assertion below is caught, so that the demo is stopped before it is raised.
    let result = std::panic::AssertUnwindSafe(async {
        assert!(up, "the demo did not start");
        let body: Value = client.post(format!("{url}/graphql")).json(&json!({"query": "{ __typename }"})).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["data"]["__typename"], "QueryRoot");
        let login = json!({"query": "mutation { login(input: {username: \"bureau_staff\", password: \"demo-password-2026\"}) { accessToken } }"});
        let body: Value = client.post(format!("{url}/graphql")).json(&login).send().await.unwrap().json().await.unwrap();
        let token = body["data"]["login"]["accessToken"].as_str().expect("the printed demo login works").to_string();
        // A county's worth of cases, in every state the rules know.
        let ask = |query: String, token: String| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let body: Value = client.post(format!("{url}/graphql")).bearer_auth(token)
                    .json(&json!({"query": query})).send().await.unwrap().json().await.unwrap();
                assert!(body["errors"].is_null(), "{body}");
                body["data"].clone()
            }
        };
        let total = ask("{ cases { totalCount } }".into(), token.clone()).await;
        assert!(total["cases"]["totalCount"].as_i64().unwrap() >= xinfang_api::demo::DEMO_CASES as i64, "{total}");
        for status in xinfang_api::domain::CaseStatus::ALL {
            let n = ask(format!("{{ cases(filter: {{status: [{}]}}) {{ totalCount }} }}", status.as_str()), token.clone()).await;
            assert!(n["cases"]["totalCount"].as_i64().unwrap() > 0, "no {} case in the demo", status.as_str());
        }
        // And the practice around them: a hearing holding a clock, receptions, screening
        // reports, a joint meeting.
        let mut held = vec![];
        let mut after = Value::Null;
        loop {
            let page = ask(format!("{{ cases(first: 100, after: {after}, filter: {{status: [IN_PROGRESS]}}) {{ nodes {{ deadlines {{ pausedSince }} hearings {{ status }} }} pageInfo {{ hasNextPage endCursor }} }} }}"), token.clone()).await;
            held.extend(page["cases"]["nodes"].as_array().unwrap().iter().filter(|c| !c["deadlines"]["pausedSince"].is_null()).cloned());
            if page["cases"]["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["cases"]["pageInfo"]["endCursor"].clone();
        }
        assert!(!held.is_empty() && held.iter().all(|c| c["hearings"][0]["status"] == "SCHEDULED"), "{held:?}");
        let d = ask("{ receptions { id } disputeReports { id } jointItems { id } }".into(), token.clone()).await;
        let practice = &d;
        for list in ["receptions", "disputeReports", "jointItems"] {
            assert!(!d[list].as_array().unwrap_or_else(|| panic!("{practice}")).is_empty(), "{list}: {practice}");
        }
        // The bureau's webhook points nowhere until set: its log shows what waits, and why.
        let login = json!({"query": "mutation { login(input: {username: \"bureau_admin\", password: \"demo-password-2026\"}) { accessToken } }"});
        let body: Value = client.post(format!("{url}/graphql")).json(&login).send().await.unwrap().json().await.unwrap();
        let admin = body["data"]["login"]["accessToken"].as_str().unwrap().to_string();
        let hooks = ask("{ webhookEndpoints { url unit { name } counts { pending } } }".into(), admin).await;
        let hook = &hooks["webhookEndpoints"][0];
        assert_eq!(hook["unit"]["name"], "清河县信访局", "{hooks}");
        assert!(hook["counts"]["pending"].as_i64().unwrap() > 0, "{hooks}");
        // Every query the demo prints works for the account it names, and finds something.
        for (username, query) in xinfang_api::demo::QUERIES {
            let login = json!({"query": format!("mutation {{ login(input: {{username: \"{username}\", password: \"demo-password-2026\"}}) {{ accessToken }} }}")});
            let body: Value = client.post(format!("{url}/graphql")).json(&login).send().await.unwrap().json().await.unwrap();
            let token = body["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("{username}: {body}")).to_string();
            let answer: Value = client.post(format!("{url}/graphql")).bearer_auth(&token)
                .json(&json!({"query": query})).send().await.unwrap().json().await.unwrap();
            assert!(answer["errors"].is_null(), "{username}: {answer}");
            assert!(answer["data"].to_string().contains(':') && answer["data"].to_string().len() > 40, "{username}: {answer}");
        }
    })
    .catch_unwind()
    .await;
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("/graphiql") && printed.contains("bureau_staff"),
        "the demo prints its logins and GraphiQL: {printed}"
    );
    for (username, query) in xinfang_api::demo::QUERIES {
        assert!(
            printed.contains(&format!("as {username}:")) && printed.contains(query),
            "the demo prints a query for {username}: {printed}"
        );
    }
}

fn sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn automatic_persisted_queries_answer_by_hash_once_the_text_was_seen() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let query = "query Units { orgUnits(first: 3) { totalCount } }";
    let hash = sha256(query);
    let post = |body: Value| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(format!("{}/graphql", app.url))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let by_hash = json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}});
    // Not seen yet: the protocol's "not found", with 200, so the client sends the text.
    let (status, body) = post(by_hash.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "{body}"
    );
    // The text with its hash runs, and is kept; then the hash alone runs the same query.
    let (_, with_text) = post(json!({"query": query,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}}))
    .await;
    let units = with_text["data"]["orgUnits"]["totalCount"].clone();
    assert!(units.as_i64().is_some_and(|n| n > 3), "{with_text}");
    let (status, body) = post(by_hash.clone()).await;
    assert_eq!(
        (status, body["data"]["orgUnits"]["totalCount"].clone()),
        (200, units.clone()),
        "{body}"
    );
    // By GET too, as CDNs cache it.
    let extensions = serde_json::to_string(&by_hash["extensions"]).unwrap();
    let res = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("extensions", extensions.as_str())])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["orgUnits"]["totalCount"], units, "{body}");
    // A hash that is not the text's is refused.
    let (status, body) = post(json!({"query": query,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256("something else")}}}))
    .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("BAD_USER_INPUT")),
        "{body}"
    );
    // A persisted mutation is still refused by GET.
    let logout = "mutation { __typename }";
    post(json!({"query": logout, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(logout)}}})).await;
    let res = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[(
            "extensions",
            json!({"persistedQuery": {"version": 1, "sha256Hash": sha256(logout)}}).to_string(),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    // Nor is a text with a string literal: anyone could test a guess at it by its hash.
    let literal = "query { caseByNumber(number: \"XF-130534-2026-000001\") { id } }";
    let (_, body) = post(json!({"query": literal, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(literal)}}})).await;
    assert!(body.get("data").is_some(), "{body}");
    let (_, body) = post(
        json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(literal)}}}),
    )
    .await;
    assert_eq!(code(&body), Some("PERSISTED_QUERY_NOT_FOUND"), "{body}");
    // A document refused at the edge is not kept: two sign-ins in one request stay refused,
    // and their hash stays unknown.
    let twice = "mutation { a: login(input: {username: \"x\", password: \"y\"}) { accessToken } b: login(input: {username: \"x\", password: \"y\"}) { accessToken } }";
    let (_, body) = post(json!({"query": twice, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(twice)}}})).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let (_, body) = post(
        json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(twice)}}}),
    )
    .await;
    assert_eq!(code(&body), Some("PERSISTED_QUERY_NOT_FOUND"), "{body}");
}
