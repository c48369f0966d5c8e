//! The practice around the case (domain §10–§11): ownership plans (包案), leader reception
//! (领导接访), dispute screening (矛盾纠纷排查), joint meeting items (联席会议) and late
//! registration (瞒报迟报).

use crate::fixtures::{self, mutate, ok, version};
use crate::support::{code, field, gid, spawn_app};
use serde_json::{Value, json};

const PLAN: &str = "query($id: ID!) { case(id: $id) { version
    leader { name plan { id coordinator supervisor executor contact goal dueOn overdue completedAt
      progress { text completes author } } }
    viewerCan { recordOwnershipProgress } timeline { nodes { action } } } }";

async fn plan_view(app: &crate::support::TestApp, token: &str, id: &str) -> Value {
    let body = app.gql(Some(token), PLAN, json!({"id": id})).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["case"].clone()
}

async fn overdue_numbers(app: &crate::support::TestApp, token: &str) -> Vec<String> {
    let body = app
        .gql(
            Some(token),
            "{ overdueOwnershipPlans { dueOn case { number } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["overdueOwnershipPlans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["case"]["number"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_ownership_plan_names_who_does_what_records_progress_and_lapses_when_late() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let (id, number) = fixtures::register(
        &app,
        county.token("a_staff"),
        json!({"townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let v = version(&app, county.token("a_staff"), &id).await;

    // A plan dated in the past is refused, and nothing is owned.
    let mut late = fixtures::owning(&app, &id, 30);
    late["plan"]["dueOn"] = json!("2020-01-01");
    let refused = mutate(
        &app,
        county.token("a_leader"),
        "takeLeaderOwnership",
        late,
        "__typename",
    )
    .await;
    assert_eq!(code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    assert_eq!(field(&refused), Some("plan.dueOn"));
    assert_eq!(version(&app, county.token("a_staff"), &id).await, v);

    ok(
        &app,
        county.token("a_leader"),
        "takeLeaderOwnership",
        fixtures::owning(&app, &id, 5),
        "__typename",
    )
    .await;
    let owned = plan_view(&app, county.token("a_staff"), &id).await;
    let plan = &owned["leader"]["plan"];
    assert_eq!(owned["leader"]["name"], "a_leader");
    assert_eq!(
        (
            &plan["coordinator"],
            &plan["supervisor"],
            &plan["executor"],
            &plan["contact"]
        ),
        (
            &json!("县住建局局长"),
            &json!("县信访局督查室"),
            &json!("县住建局征收科"),
            &json!("东关镇信访办")
        )
    );
    assert_eq!(plan["overdue"], false);
    assert_eq!(owned["viewerCan"]["recordOwnershipProgress"], true);
    assert!(
        owned["timeline"]["nodes"]
            .to_string()
            .contains("LEADER_OWNERSHIP")
    );

    // The territory township sees the case but does not carry the plan out.
    let territory = mutate(
        &app,
        county.token("t1_staff"),
        "recordOwnershipProgress",
        json!({"caseId": id, "text": "x"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&territory), Some("FORBIDDEN"), "{territory}");
    ok(
        &app,
        county.token("a_staff"),
        "recordOwnershipProgress",
        json!({"caseId": id, "text": "已约谈信访人，核实补偿标准。"}),
        "__typename",
    )
    .await;
    assert!(
        overdue_numbers(&app, county.token("bureau_staff"))
            .await
            .is_empty()
    );

    // Six days on, the plan's date has passed undone: on the overdue list of whoever sees it.
    app.advance_days(6);
    county.renew(&app).await;
    assert_eq!(
        overdue_numbers(&app, county.token("bureau_staff")).await,
        [number.as_str()]
    );
    assert_eq!(
        overdue_numbers(&app, county.token("county_staff")).await,
        [number.as_str()]
    );
    assert_eq!(
        overdue_numbers(&app, county.token("a_staff")).await,
        [number.as_str()]
    );
    assert!(
        overdue_numbers(&app, county.token("t2_staff"))
            .await
            .is_empty()
    );
    assert_eq!(
        plan_view(&app, county.token("a_staff"), &id).await["leader"]["plan"]["overdue"],
        true
    );

    // The owning leader reports it carried out: off the list, and closed to more progress.
    let done = ok(
        &app,
        county.token("a_leader"),
        "recordOwnershipProgress",
        json!({"caseId": id, "text": "补偿款已足额发放，信访人息诉。", "completes": true}),
        "plan { completedAt overdue progress { text completes author } }",
    )
    .await;
    assert!(done["plan"]["completedAt"].is_string(), "{done}");
    assert_eq!(done["plan"]["overdue"], false);
    assert_eq!(
        done["plan"]["progress"],
        json!([{"text": "已约谈信访人，核实补偿标准。", "completes": false, "author": "a_staff"},
               {"text": "补偿款已足额发放，信访人息诉。", "completes": true, "author": "a_leader"}])
    );
    assert!(
        overdue_numbers(&app, county.token("bureau_staff"))
            .await
            .is_empty()
    );
    let more = mutate(
        &app,
        county.token("a_staff"),
        "recordOwnershipProgress",
        json!({"caseId": id, "text": "x"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&more), Some("CONFLICT"), "{more}");
}
