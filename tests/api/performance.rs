//! No N+1: the statements a list request runs, read from the database layer's own counter
//! (`xinfang_db_statements_total` on `/metrics`), not from timings.

use crate::fixtures;
use crate::support::{TestApp, spawn_app_with};
use serde_json::json;

const LIST: &str =
    "query($n: Int) { cases(first: $n) { nodes { number title leadUnit { name } township { name }
    timeline(last: 5) { totalCount nodes { action at } } } } }";

async fn statements(app: &TestApp) -> u64 {
    let text = app.metrics().await;
    let line = text
        .lines()
        .find(|l| l.starts_with("xinfang_db_statements_total "))
        .expect("the counter is exported");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn cost(app: &TestApp, token: &str, n: i64) -> (u64, usize) {
    let before = statements(app).await;
    let body = app.gql(Some(token), LIST, json!({"n": n})).await;
    let after = statements(app).await;
    let nodes = body["data"]["cases"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    (after - before, nodes.len())
}

#[tokio::test]
async fn the_list_query_runs_the_same_few_statements_for_5_cases_as_for_100() {
    // The deadline scanner runs once at start and then not for an hour: nothing else talks to
    // the database while we count.
    let app = spawn_app_with(&["--deadline-scan-seconds", "3600"]).await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    for i in 0..100 {
        let township = if i % 2 == 0 { county.t1 } else { county.t2 };
        fixtures::register(&app, token, json!({"title": format!("第{i}件"), "townshipId": crate::support::gid("OrgUnit", township)})).await;
    }
    // Warm up (first use of pooled connections), then count.
    cost(&app, token, 5).await;
    let (five, n5) = cost(&app, token, 5).await;
    let (hundred, n100) = cost(&app, token, 100).await;
    assert_eq!((n5, n100), (5, 100));
    assert_eq!(
        five, hundred,
        "statements for 5 cases: {five}, for 100: {hundred}"
    );
    // Resolving the viewer (session ⋈ account ⟕ unit: 1), the page (1), the units the rows
    // name (1), and the latest timeline entries with their totals and names (1).
    assert_eq!(hundred, 4, "the list costs {hundred} statements");

    // A township walks its own relation rows (case_sight) instead: the same four statements,
    // and only its own half of the cases, newest first.
    let township = county.token("t1_staff");
    cost(&app, township, 5).await;
    let (five, n5) = cost(&app, township, 5).await;
    let (all, n_all) = cost(&app, township, 100).await;
    assert_eq!((n5, n_all), (5, 50));
    assert_eq!((five, all), (4, 4));
    let body = app
        .gql(
            Some(township),
            "{ cases(first: 100) { nodes { title } } }",
            json!({}),
        )
        .await;
    let titles: Vec<String> = body["data"]["cases"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..100)
        .rev()
        .filter(|i| i % 2 == 0)
        .map(|i| format!("第{i}件"))
        .collect();
    assert_eq!(titles, expected, "the township's cases, newest first");
}
