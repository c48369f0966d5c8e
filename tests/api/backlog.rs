//! The backlog (积案), domain §7: the bureau opens a campaign and lists matters with an owning
//! leader and a lead unit; they record 化解中 → 已化解 (with how) / 未化解; each sees what it
//! works, the bureau sees all, and 积案化解率 is resolved ÷ listed per campaign and per unit.

use crate::fixtures::{self, mutate, ok};
use crate::support::{code, field, gid, spawn_app};
use serde_json::{Value, json};

const CAMPAIGNS: &str = "{ backlogCampaigns { name targetDate
  entries { status resolution leaderName leadUnit { name } matter { state cases { number } } }
  report { total { listed notStarted inProgress resolved unresolved resolutionRate }
           byUnit { unit { name } tally { listed resolved unresolved resolutionRate } } } } }";

#[tokio::test]
async fn a_campaign_lists_matters_tracks_their_resolution_and_reports_per_unit() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    // Who may open a campaign, and with what.
    let create = "mutation($i: CreateBacklogCampaignInput!) { createBacklogCampaign(input: $i) { id name targetDate } }";
    let refused = app
        .gql(
            Some(county.token("a_staff")),
            create,
            json!({"i": {"name": "专项行动", "targetDate": "2026-12-31"}}),
        )
        .await;
    assert_eq!(code(&refused), Some("FORBIDDEN"), "{refused}");
    let bad_date = app
        .gql(
            Some(bureau),
            create,
            json!({"i": {"name": "专项行动", "targetDate": "31/12/2026"}}),
        )
        .await;
    assert_eq!(
        (code(&bad_date), field(&bad_date)),
        (Some("BAD_USER_INPUT"), Some("targetDate")),
        "{bad_date}"
    );
    let created = app
        .gql(
            Some(bureau),
            create,
            json!({"i": {"name": "2026年信访积案化解专项行动", "targetDate": "2026-12-31"}}),
        )
        .await;
    let campaign = created["data"]["createBacklogCampaign"]["id"].clone();
    assert!(campaign.is_string(), "{created}");

    // Two long-standing matters: one of 县住建局, one of 东关镇; and an accusation against 东关镇.
    let (housing, housing_no) = fixtures::register(
        &app,
        bureau,
        json!({"leadUnitId": gid("OrgUnit", county.dept_a)}),
    )
    .await;
    let (land, land_no) = fixtures::register(
        &app,
        bureau,
        json!({"leadUnitId": gid("OrgUnit", county.t1), "townshipId": gid("OrgUnit", county.t1),
               "subject": "LAND_EXPROPRIATION", "title": "宅基地确权纠纷",
               "petitioners": [{"name": "赵六", "phone": "13700000002"}]}),
    )
    .await;
    let (accusation, _) = fixtures::register(
        &app,
        bureau,
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1),
               "leadUnitId": gid("OrgUnit", county.discipline)}),
    )
    .await;
    let list = |case: &str, leader: &str, unit: i64| {
        json!({"campaignId": campaign, "caseId": case, "leaderId": gid("User", county.user(leader)),
               "leadUnitId": gid("OrgUnit", unit), "note": "列入本年度积案"})
    };
    let selection = "entry { id version status leaderName }";
    let listed = ok(
        &app,
        bureau,
        "listBacklogMatter",
        list(&housing, "a_leader", county.dept_a),
        selection,
    )
    .await;
    assert_eq!(listed["entry"]["status"], "LISTED");
    assert_eq!(
        listed["entry"]["leaderName"],
        county_name(&app, "a_leader").await
    );
    let housing_entry = listed["entry"]["id"].clone();
    let listed = ok(
        &app,
        bureau,
        "listBacklogMatter",
        list(&land, "t1_leader", county.t1),
        selection,
    )
    .await;
    let land_entry = listed["entry"]["id"].clone();
    // Refusals change nothing: listed twice, a leader who is not a LEADER, a lead unit that
    // may not see the matter (东关镇 and the accusation against it), and anyone but the bureau.
    for (token, input, expected) in [
        (
            bureau,
            list(&housing, "a_leader", county.dept_a),
            ("CONFLICT", None),
        ),
        (
            bureau,
            list(&land, "t1_staff", county.t1),
            ("BAD_USER_INPUT", Some("leaderId")),
        ),
        (
            bureau,
            list(&accusation, "county_leader", county.t1),
            ("BAD_USER_INPUT", Some("leadUnitId")),
        ),
        (
            county.token("a_staff"),
            list(&housing, "a_leader", county.dept_a),
            ("FORBIDDEN", None),
        ),
    ] {
        let body = mutate(&app, token, "listBacklogMatter", input, selection).await;
        assert_eq!(code(&body), Some(expected.0), "{body}");
        if let Some(f) = expected.1 {
            assert_eq!(field(&body), Some(f), "{body}");
        }
    }

    // Progress: the owning leader starts, the lead unit resolves; a unit outside sees nothing.
    let progress = |entry: &Value, version: i64, status: &str, resolution: Option<&str>| {
        json!({"entryId": entry, "expectedVersion": version, "status": status,
               "resolution": resolution, "note": "包案领导约谈信访人"})
    };
    let sel = "entry { status resolution version viewerCan { update } }";
    let started = ok(
        &app,
        county.token("a_leader"),
        "updateBacklogEntry",
        progress(&housing_entry, 1, "IN_PROGRESS", None),
        sel,
    )
    .await;
    assert_eq!(
        started["entry"],
        json!({"status": "IN_PROGRESS", "resolution": null, "version": 2, "viewerCan": {"update": true}})
    );
    for (token, input, expected) in [
        (
            "t2_staff",
            progress(&housing_entry, 2, "RESOLVED", Some("SETTLED")),
            ("NOT_FOUND", None),
        ),
        (
            "a_staff",
            progress(&housing_entry, 1, "RESOLVED", Some("SETTLED")),
            ("CONFLICT", None),
        ),
        (
            "a_staff",
            progress(&housing_entry, 2, "RESOLVED", None),
            ("BAD_USER_INPUT", Some("resolution")),
        ),
        (
            "a_staff",
            progress(&housing_entry, 2, "UNRESOLVED", Some("RELIEF")),
            ("BAD_USER_INPUT", Some("resolution")),
        ),
        (
            "a_staff",
            progress(&housing_entry, 2, "LISTED", None),
            ("INVALID_TRANSITION", None),
        ),
    ] {
        let body = mutate(&app, county.token(token), "updateBacklogEntry", input, sel).await;
        assert_eq!(code(&body), Some(expected.0), "{token}: {body}");
        if let Some(f) = expected.1 {
            assert_eq!(field(&body), Some(f), "{body}");
        }
    }
    let resolved = ok(
        &app,
        county.token("a_staff"),
        "updateBacklogEntry",
        progress(&housing_entry, 2, "RESOLVED", Some("SETTLED")),
        sel,
    )
    .await;
    assert_eq!(
        resolved["entry"],
        json!({"status": "RESOLVED", "resolution": "SETTLED", "version": 3, "viewerCan": {"update": false}}),
        "an end is an end, and the entry says so"
    );
    let again = mutate(
        &app,
        county.token("a_staff"),
        "updateBacklogEntry",
        progress(&housing_entry, 3, "UNRESOLVED", None),
        sel,
    )
    .await;
    assert_eq!(
        code(&again),
        Some("INVALID_TRANSITION"),
        "an end is an end: {again}"
    );
    ok(
        &app,
        county.token("t1_staff"),
        "updateBacklogEntry",
        progress(&land_entry, 1, "UNRESOLVED", None),
        sel,
    )
    .await;

    // The bureau's report: 2 listed, 1 resolved, 1 unresolved; 积案化解率 1/2; per unit 1/1 and 0/1.
    let body = app.gql(Some(bureau), CAMPAIGNS, json!({})).await;
    let c = &body["data"]["backlogCampaigns"][0];
    assert_eq!(c["name"], "2026年信访积案化解专项行动", "{body}");
    assert_eq!(c["targetDate"], "2026-12-31");
    assert_eq!(
        c["report"]["total"],
        json!({"listed": 2, "notStarted": 0, "inProgress": 0, "resolved": 1, "unresolved": 1, "resolutionRate": 0.5})
    );
    let mut by_unit = c["report"]["byUnit"].as_array().unwrap().clone();
    by_unit.sort_by_key(|u| u["unit"]["name"].as_str().unwrap_or_default().to_string());
    assert_eq!(
        json!(by_unit),
        json!([
            {"unit": {"name": "东关镇"}, "tally": {"listed": 1, "resolved": 0, "unresolved": 1, "resolutionRate": 0.0}},
            {"unit": {"name": "县住建局"}, "tally": {"listed": 1, "resolved": 1, "unresolved": 0, "resolutionRate": 1.0}},
        ])
    );
    // A resolved backlog matter is a resolved matter.
    let housing_matter = c["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["leadUnit"]["name"] == "县住建局")
        .unwrap()["matter"]
        .clone();
    assert_eq!(
        housing_matter,
        json!({"state": "RESOLVED", "cases": [{"number": housing_no}]})
    );
    // 县住建局 sees its own entry only; 西营乡 takes part in no campaign.
    let dept = app
        .gql(Some(county.token("a_staff")), CAMPAIGNS, json!({}))
        .await;
    let entries = &dept["data"]["backlogCampaigns"][0]["entries"];
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{dept}");
    assert_eq!(
        entries[0]["matter"]["cases"],
        json!([{"number": housing_no}])
    );
    assert_eq!(
        dept["data"]["backlogCampaigns"][0]["report"]["total"]["listed"],
        1
    );
    let outsider = app
        .gql(Some(county.token("t2_staff")), CAMPAIGNS, json!({}))
        .await;
    assert_eq!(
        outsider["data"]["backlogCampaigns"],
        json!([]),
        "{outsider}"
    );
    let _ = land_no;
    let node = "query($id: ID!) { node(id: $id) { ... on BacklogEntry { status } } }";
    let mine = app
        .gql(
            Some(county.token("a_staff")),
            node,
            json!({"id": housing_entry}),
        )
        .await;
    assert_eq!(
        mine["data"]["node"],
        json!({"status": "RESOLVED"}),
        "{mine}"
    );
    let not_mine = app
        .gql(
            Some(county.token("a_staff")),
            node,
            json!({"id": land_entry}),
        )
        .await;
    assert_eq!(code(&not_mine), Some("NOT_FOUND"), "{not_mine}");

    // A listed matter that a petition comes back to: in another campaign the entry follows the
    // link into the earlier matter; two entries of one campaign cannot be merged.
    let (again, again_no) = fixtures::register(
        &app,
        bureau,
        json!({"leadUnitId": gid("OrgUnit", county.dept_a), "title": "再次反映拆迁补偿款未足额发放"}),
    )
    .await;
    let second = app
        .gql(
            Some(bureau),
            create,
            json!({"i": {"name": "2027年积案攻坚", "targetDate": "2027-06-30"}}),
        )
        .await;
    let second_id = second["data"]["createBacklogCampaign"]["id"].clone();
    let mut listing = list(&again, "a_leader", county.dept_a);
    listing["campaignId"] = second_id.clone();
    ok(&app, bureau, "listBacklogMatter", listing, selection).await;
    ok(
        &app,
        bureau,
        "listBacklogMatter",
        list(&again, "a_leader", county.dept_a),
        selection,
    )
    .await;
    let clash = fixtures::link_repeat(&app, bureau, &again, &housing).await;
    assert_eq!(
        (code(&clash), field(&clash)),
        (Some("BAD_USER_INPUT"), Some("earlierCaseId")),
        "{clash}"
    );
    // (Taken out of the first campaign again by hand, as the bureau would settle it.)
    use sea_orm::ConnectionTrait;
    app.db()
        .execute_unprepared(
            "DELETE FROM backlog_entries WHERE id = (SELECT MAX(id) FROM backlog_entries)",
        )
        .await
        .unwrap();
    assert!(fixtures::link_repeat(&app, bureau, &again, &housing).await["errors"].is_null());
    let body = app.gql(Some(bureau), CAMPAIGNS, json!({})).await;
    let newest = &body["data"]["backlogCampaigns"][0];
    assert_eq!(newest["name"], "2027年积案攻坚", "{body}");
    assert_eq!(
        newest["entries"][0]["matter"]["cases"],
        json!([{"number": housing_no}, {"number": again_no}]),
        "{body}"
    );

    // 县住建局 hands the housing matter's cases on: it no longer sees the matter, so it no
    // longer sees the entries either (its leader neither).
    for id in [&again, &housing] {
        let v = fixtures::version(&app, bureau, id).await;
        ok(&app, bureau, "transferCase",
            json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.dept_b), "mode": "TRANSFER", "reason": "属人社局职责"}),
            "__typename").await;
    }
    for token in ["a_staff", "a_leader"] {
        let body = app
            .gql(Some(county.token(token)), CAMPAIGNS, json!({}))
            .await;
        assert_eq!(
            body["data"]["backlogCampaigns"],
            json!([]),
            "{token}: {body}"
        );
        let gone = app
            .gql(
                Some(county.token(token)),
                node,
                json!({"id": housing_entry}),
            )
            .await;
        assert_eq!(code(&gone), Some("NOT_FOUND"), "{token}: {gone}");
    }
    let refused = mutate(
        &app,
        county.token("a_leader"),
        "updateBacklogEntry",
        progress(&housing_entry, 3, "UNRESOLVED", None),
        sel,
    )
    .await;
    assert_eq!(code(&refused), Some("NOT_FOUND"), "{refused}");

    // Every step is on the administrative record.
    let record = app
        .gql(
            Some(county.token("county_admin")),
            "{ adminRecord(first: 100) { nodes { action } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = record["data"]["adminRecord"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{record}"))
        .iter()
        .filter_map(|n| n["action"].as_str())
        .filter(|a| a.starts_with("BACKLOG"))
        .collect();
    let count = |a: &str| actions.iter().filter(|x| **x == a).count();
    assert_eq!(
        (
            count("BACKLOG_CAMPAIGN_CREATED"),
            count("BACKLOG_LISTED"),
            count("BACKLOG_PROGRESS")
        ),
        (2, 4, 3),
        "{record}"
    );
}

/// The display name the fixture gave an account.
async fn county_name(app: &crate::support::TestApp, username: &str) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    xinfang_entity::user::Entity::find()
        .filter(xinfang_entity::user::Column::Username.eq(username))
        .one(app.db())
        .await
        .unwrap()
        .map(|u| u.display_name)
        .unwrap_or_default()
}
