//! The administrative record: every change to accounts, units, the subject list and the
//! calendar is on an append-only, hash-chained record of its own, readable by administrators
//! for their subtree, verifiable, and never carrying a password.

use crate::fixtures::{self, mutate, ok};
use crate::support::{PASSWORD, code, gid, spawn_app};
use serde_json::{Value, json};

const RECORD: &str =
    "{ adminRecord(first: 100) { totalCount nodes { seq action actorName target detail } } }";

fn actions(body: &Value) -> Vec<String> {
    body["data"]["adminRecord"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_administrative_action_is_on_the_record_without_passwords() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let admin = county.token("county_admin");
    // The county as the fixtures built it: the bootstrap, six units and thirteen accounts.
    let before = app.gql(Some(admin), RECORD, json!({})).await;
    let seen = actions(&before);
    assert_eq!(before["data"]["adminRecord"]["totalCount"], 20, "{before}");
    assert_eq!(seen.last().map(String::as_str), Some("BOOTSTRAPPED"));
    assert_eq!(seen.iter().filter(|a| *a == "UNIT_CREATED").count(), 6);
    assert_eq!(seen.iter().filter(|a| *a == "USER_CREATED").count(), 13);
    // Now through the API: each action appends one entry naming who did it and to what.
    let created = ok(&app, county.token("t1_admin"), "createUser",
        json!({"username": "new_clerk", "password": "a secret long password", "displayName": "新经办人", "orgUnitId": gid("OrgUnit", county.t1), "role": "STAFF"}),
        "user { id }").await;
    let new_id = created["user"]["id"].as_str().unwrap().to_string();
    ok(
        &app,
        admin,
        "resetPassword",
        json!({"id": new_id, "newPassword": "another secret password"}),
        "__typename",
    )
    .await;
    ok(
        &app,
        admin,
        "updateUser",
        json!({"id": new_id, "role": "LEADER"}),
        "__typename",
    )
    .await;
    ok(
        &app,
        admin,
        "deactivateUser",
        json!({"id": new_id}),
        "__typename",
    )
    .await;
    ok(
        &app,
        admin,
        "updateOrgUnit",
        json!({"id": gid("OrgUnit", county.t2), "name": "西营镇"}),
        "__typename",
    )
    .await;
    ok(
        &app,
        admin,
        "setSubject",
        json!({"code": "RURAL_ROADS", "name": "农村公路"}),
        "__typename",
    )
    .await;
    ok(
        &app,
        admin,
        "setCalendarDays",
        json!({"days": [{"date": "2026-10-01", "working": false, "note": "国庆节"}]}),
        "__typename",
    )
    .await;
    let after = app.gql(Some(admin), RECORD, json!({})).await;
    let nodes = after["data"]["adminRecord"]["nodes"].as_array().unwrap();
    let newest: Vec<(String, Option<String>, String)> = nodes[..7]
        .iter()
        .map(|n| {
            (
                n["action"].as_str().unwrap().to_string(),
                n["actorName"].as_str().map(str::to_string),
                n["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let user_target = format!(
        "User:{}",
        String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &new_id)
                .unwrap()
        )
        .unwrap()
        .trim_start_matches("User:")
    );
    // (The bootstrap names the county's first administrator 管理员.)
    let by = |name: &str| Some(name.to_string());
    assert_eq!(
        newest,
        vec![
            (
                "CALENDAR_SET".into(),
                by("管理员"),
                format!("Calendar:{}", county.county)
            ),
            (
                "SUBJECT_SET".into(),
                by("管理员"),
                "Subject:RURAL_ROADS".into()
            ),
            (
                "UNIT_CHANGED".into(),
                by("管理员"),
                format!("OrgUnit:{}", county.t2)
            ),
            ("USER_DEACTIVATED".into(), by("管理员"), user_target.clone()),
            ("USER_CHANGED".into(), by("管理员"), user_target.clone()),
            ("PASSWORD_RESET".into(), by("管理员"), user_target.clone()),
            ("USER_CREATED".into(), by("t1_admin"), user_target),
        ]
    );
    let seqs: Vec<i64> = nodes.iter().map(|n| n["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] == w[1] + 1),
        "one gap-free sequence: {seqs:?}"
    );
    let text = after.to_string();
    for secret in [
        "a secret long password",
        "another secret password",
        PASSWORD,
    ] {
        assert!(!text.contains(secret), "a password reached the record");
    }
    // The township's administrator reads the entries about its own subtree only.
    let t1 = app
        .gql(Some(county.token("t1_admin")), RECORD, json!({}))
        .await;
    let t1_targets: Vec<&str> = t1["data"]["adminRecord"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["target"].as_str().unwrap())
        .collect();
    assert!(
        !t1_targets
            .iter()
            .any(|t| t.starts_with("Calendar") || t.starts_with("Subject"))
    );
    assert!(!t1_targets.contains(&format!("OrgUnit:{}", county.t2).as_str()));
    assert!(
        t1_targets.contains(&format!("OrgUnit:{}", county.t1).as_str()),
        "{t1}"
    );
    // Nobody but an administrator reads it.
    for viewer in ["bureau_leader", "county_leader", "t1_staff"] {
        let refused = app.gql(Some(county.token(viewer)), RECORD, json!({})).await;
        assert_eq!(code(&refused), Some("FORBIDDEN"), "{viewer}: {refused}");
    }
}

#[tokio::test]
async fn the_administrative_record_refuses_changes_and_shows_tampering() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let admin = county.token("county_admin");
    let integrity = "{ adminRecordIntegrity { intact entries brokenAtSeq reason } }";
    let body = app.gql(Some(admin), integrity, json!({})).await;
    assert_eq!(
        body["data"]["adminRecordIntegrity"],
        json!({"intact": true, "entries": 20, "brokenAtSeq": null, "reason": null}),
        "{body}"
    );
    let township = app
        .gql(Some(county.token("t1_admin")), integrity, json!({}))
        .await;
    assert_eq!(code(&township), Some("FORBIDDEN"));
    // The database refuses to change or remove an entry.
    use sea_orm::ConnectionTrait;
    let db = app.db();
    assert!(
        db.execute_unprepared("UPDATE admin_events SET detail = '{}' WHERE seq = 3")
            .await
            .is_err()
    );
    assert!(
        db.execute_unprepared("DELETE FROM admin_events WHERE seq = 20")
            .await
            .is_err()
    );
    // An operator who bypasses that is caught: the changed entry breaks the chain.
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    if postgres {
        assert!(
            db.execute_unprepared("TRUNCATE admin_events")
                .await
                .is_err()
        );
        db.execute_unprepared("ALTER TABLE admin_events DISABLE TRIGGER USER")
            .await
            .unwrap();
    } else {
        db.execute_unprepared("DROP TRIGGER admin_events_no_update")
            .await
            .unwrap();
    }
    db.execute_unprepared(
        "UPDATE admin_events SET detail = '{\"username\":\"someone_else\"}' WHERE seq = 5",
    )
    .await
    .unwrap();
    let body = app.gql(Some(admin), integrity, json!({})).await;
    assert_eq!(
        body["data"]["adminRecordIntegrity"]["intact"], false,
        "{body}"
    );
    assert_eq!(body["data"]["adminRecordIntegrity"]["brokenAtSeq"], 5);
    // A refusal by the API leaves no entry behind.
    let refused = mutate(
        &app,
        county.token("t1_admin"),
        "createOrgUnit",
        json!({"name": "越权设立", "kind": "DEPARTMENT", "parentId": gid("OrgUnit", county.county)}),
        "orgUnit { id }",
    )
    .await;
    assert_eq!(code(&refused), Some("FORBIDDEN"));
    let count = app.gql(Some(admin), RECORD, json!({})).await;
    assert_eq!(count["data"]["adminRecord"]["totalCount"], 20);
}
