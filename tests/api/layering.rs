//! The GraphQL layer speaks only to the domain, and the defects that came from it not doing
//! so: error codes lost in loaders, an outage read as "signed out", an export with its own
//! filter and error shape, limit refusals without a code, and an introspection query that
//! standard tools could not send.

use crate::fixtures;
use crate::support::{code, field, gid, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

/// Every file of the GraphQL layer, with its text.
fn graphql_sources() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("api/src/graphql");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("api/src/graphql")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            (p.display().to_string(), text)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_graphql_layer_imports_neither_the_orm_nor_the_entities() {
    let files = graphql_sources();
    assert!(files.len() >= 5, "found only {files:?}");
    let offending: Vec<String> = files
        .iter()
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| {
                    let code = line.split("//").next().unwrap_or("");
                    code.contains("sea_orm") || code.contains("xinfang_entity")
                })
                .map(move |(n, line)| format!("{path}:{}: {}", n + 1, line.trim()))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "graphql/ must reach data only through the domain:\n{}",
        offending.join("\n")
    );
}

#[tokio::test]
async fn an_error_inside_a_loader_keeps_its_code() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    fixtures::register(&app, county.token("bureau_staff"), json!({})).await;
    // The table a nested field reads has gone (as after a botched manual change).
    use sea_orm::ConnectionTrait;
    app.db()
        .execute_unprepared("ALTER TABLE extensions RENAME TO extensions_moved")
        .await
        .unwrap();
    let body = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ cases { nodes { number extensions { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("INTERNAL"), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert_eq!(
        message, "internal error",
        "no SQL detail reaches the client"
    );
}

#[tokio::test]
async fn a_database_that_cannot_answer_is_service_unavailable_not_signed_out() {
    // A small pool and a short wait for a connection: the test takes every connection the
    // server has, so the server cannot reach its database when it resolves the token.
    let app = spawn_app_with(&["--db-pool-size", "2", "--db-acquire-timeout-ms", "300"]).await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff").to_string();
    use sea_orm::TransactionTrait;
    let mut held = vec![];
    while held.len() < 4 {
        match app.db().begin().await {
            Ok(tx) => held.push(tx),
            Err(_) => break,
        }
    }
    assert!(!held.is_empty());
    let body = app.gql(Some(&token), "{ viewer { id } }", json!({})).await;
    assert_eq!(code(&body), Some("SERVICE_UNAVAILABLE"), "{body}");
    let export = app
        .client
        .get(format!("{}/export/cases.csv", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 503);
    let export: Value = export.json().await.unwrap();
    assert_eq!(
        export["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    for tx in held {
        tx.rollback().await.unwrap();
    }
    // The token was good all along.
    let again = app
        .gql(Some(&token), "{ viewer { username } }", json!({}))
        .await;
    assert_eq!(
        again["data"]["viewer"]["username"], "bureau_staff",
        "{again}"
    );
}

#[tokio::test]
async fn connections_the_database_drops_fail_one_request_each_and_are_replaced() {
    // The pool checks a connection before handing it out only when it has been idle for a
    // second: one in steady use that the database has dropped (a restart, a failover) is found
    // dead by the statement that uses it. That request is SERVICE_UNAVAILABLE, never INTERNAL
    // nor "signed out", and the next one gets a new connection.
    let app = spawn_app_with(&["--db-pool-size", "2"]).await;
    if !app.on_postgres() {
        return;
    }
    let county = fixtures::county(&app).await;
    fixtures::register(&app, county.token("bureau_staff"), json!({})).await;
    let token = county.token("bureau_staff").to_string();
    const LIST: &str = "{ viewer { username } cases { nodes { number } } }";
    let listed = |body: &Value| {
        body["data"]["viewer"]["username"] == "bureau_staff"
            && body["data"]["cases"]["nodes"].as_array().map(Vec::len) == Some(1)
    };
    // Busy connections in both pools, none idle for long.
    for _ in 0..4 {
        let body = app.gql(Some(&token), LIST, json!({})).await;
        assert!(listed(&body), "{body}");
    }
    let dropped = app
        .number(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
        )
        .await;
    assert!(dropped >= 2, "the server held {dropped} other connections");
    let mut failed = 0;
    for _ in 0..12 {
        let body = app.gql(Some(&token), LIST, json!({})).await;
        if !listed(&body) {
            assert_eq!(code(&body), Some("SERVICE_UNAVAILABLE"), "{body}");
            failed += 1;
        }
    }
    assert!(
        failed <= dropped,
        "{failed} requests failed for {dropped} dropped connections"
    );
    for _ in 0..3 {
        let body = app.gql(Some(&token), LIST, json!({})).await;
        assert!(
            listed(&body),
            "still failing after the pool replaced them: {body}"
        );
    }
}

#[tokio::test]
async fn the_export_takes_the_case_filter_and_answers_errors_like_graphql() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let (_, t1_number) = fixtures::register(
        &app,
        token,
        json!({"townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let (_, t2_number) = fixtures::register(
        &app,
        token,
        json!({"townshipId": gid("OrgUnit", county.t2), "category": "SUGGESTION"}),
    )
    .await;
    let export = |query: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .get(format!("{}/export/cases.csv?{query}", app.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, csv) = export(format!(
        "townshipId={}&category=APPEAL,ACCUSATION",
        gid("OrgUnit", county.t1)
    ))
    .await;
    assert_eq!(status, 200);
    assert!(
        csv.contains(&t1_number) && !csv.contains(&t2_number),
        "{csv}"
    );
    // Each refusal names its field, in the same shape as a GraphQL error.
    for (query, expected_field) in [
        ("category=RUMOUR".to_string(), "category"),
        ("overdue=maybe".to_string(), "overdue"),
        ("townshipId=not-an-id".to_string(), "filter.townshipId"),
        ("receivedFrom=yesterday".to_string(), "receivedFrom"),
        (format!("search={}", "字".repeat(101)), "search"),
        ("colour=red".to_string(), "colour"),
    ] {
        let (status, body) = export(query.clone()).await;
        assert_eq!(status, 400, "{query}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (code(&body), field(&body)),
            (Some("BAD_USER_INPUT"), Some(expected_field)),
            "{query}: {body}"
        );
        assert!(body["errors"][0]["message"].is_string());
    }
}

#[tokio::test]
async fn limit_refusals_carry_query_too_complex() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let complex = app
        .gql(
            Some(token),
            "{ a: cases(first: 100) { nodes { number title status leadUnit { name } township { name } petitioners { name phone } } }
               b: cases(first: 100) { nodes { number title status leadUnit { name } township { name } petitioners { name phone } } }
               c: cases(first: 100) { nodes { number title status leadUnit { name } township { name } petitioners { name phone } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&complex), Some("QUERY_TOO_COMPLEX"), "{complex}");
    let deep = app
        .gql(
            Some(token),
            "{ viewer { orgUnit { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { name } } } } } } } } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&deep), Some("QUERY_TOO_COMPLEX"), "{deep}");
}

/// The introspection query graphql-js's `getIntrospectionQuery()` builds (descriptions on):
/// what GraphiQL's explorer, code generators, Postman and API fuzzers send.
const INTROSPECTION: &str = r#"
    query IntrospectionQuery {
      __schema {
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types { ...FullType }
        directives { name description locations args { ...InputValue } }
      }
    }
    fragment FullType on __Type {
      kind name description
      fields(includeDeprecated: true) {
        name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
      }
      inputFields { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
    fragment TypeRef on __Type {
      kind name
      ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
    }
"#;

#[tokio::test]
async fn standard_tools_load_the_schema_through_the_introspection_query() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // Anonymous and signed in alike, under the data limits of a default server.
    for token in [None, Some(county.token("bureau_staff"))] {
        let body = app.gql(token, INTROSPECTION, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
        let schema = &body["data"]["__schema"];
        let client = ClientSchema::build(schema);
        // Every type the server prints in schema.graphql is there, and every reference
        // between types resolves — what buildClientSchema checks before a tool can use it.
        let sdl = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql"),
        )
        .unwrap();
        let printed: BTreeSet<String> = sdl
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                match words.next() {
                    Some("type" | "input" | "enum" | "interface" | "scalar" | "union") => {
                        words.next().map(|w| w.trim_end_matches('{').to_string())
                    }
                    _ => None,
                }
            })
            .collect();
        let missing: Vec<&String> = printed
            .iter()
            .filter(|t| !client.types.contains_key(*t))
            .collect();
        assert!(missing.is_empty(), "types missing: {missing:?}");
        assert_eq!(client.unresolved, Vec::<String>::new());
        assert_eq!(schema["queryType"]["name"], "QueryRoot");
        assert!(client.types["Case"].contains("viewerCan"));
    }
    // A data query is still held to the limits even when it also asks for __typename.
    let mixed = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ __typename viewer { orgUnit { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { name } } } } } } } } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&mixed), Some("QUERY_TOO_COMPLEX"), "{mixed}");
}

/// The introspection result as a client builds it: types by name with their field names,
/// and every type reference that names no type.
struct ClientSchema {
    types: HashMap<String, BTreeSet<String>>,
    unresolved: Vec<String>,
}

impl ClientSchema {
    fn build(schema: &Value) -> Self {
        let list = schema["types"].as_array().expect("types");
        let types: HashMap<String, BTreeSet<String>> = list
            .iter()
            .map(|t| {
                let fields = t["fields"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .map(|f| f["name"].as_str().unwrap().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                (t["name"].as_str().unwrap().to_string(), fields)
            })
            .collect();
        let mut unresolved = vec![];
        fn named(r: &Value) -> Option<String> {
            match r["name"].as_str() {
                Some(n) => Some(n.to_string()),
                None if r["ofType"].is_object() => named(&r["ofType"]),
                None => None,
            }
        }
        let mut check = |owner: &str, r: &Value| match named(r) {
            Some(n) if types.contains_key(&n) => {}
            other => unresolved.push(format!("{owner}: {other:?}")),
        };
        for t in list {
            let owner = t["name"].as_str().unwrap();
            for f in t["fields"].as_array().into_iter().flatten() {
                check(owner, &f["type"]);
                for a in f["args"].as_array().into_iter().flatten() {
                    check(owner, &a["type"]);
                }
            }
            for f in t["inputFields"].as_array().into_iter().flatten() {
                check(owner, &f["type"]);
            }
            for i in t["interfaces"].as_array().into_iter().flatten() {
                check(owner, i);
            }
            for p in t["possibleTypes"].as_array().into_iter().flatten() {
                check(owner, p);
            }
        }
        for root in ["queryType", "mutationType", "subscriptionType"] {
            check(root, &schema[root]);
        }
        ClientSchema { types, unresolved }
    }
}
