//! The practice around the case (domain §10–§11): ownership plans (包案), leader reception
//! (领导接访), dispute screening (矛盾纠纷排查), joint meeting items (联席会议) and late
//! registration (瞒报迟报).

use crate::fixtures::{self, mutate, ok, version};
use crate::support::{code, field, gid, spawn_app};
use chrono::Datelike;
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

const NODE: &str = "query($id: ID!) { node(id: $id) { id } }";

async fn node_found(app: &crate::support::TestApp, token: &str, id: &str) -> bool {
    let body = app.gql(Some(token), NODE, json!({"id": id})).await;
    let found = body["data"]["node"]["id"] == json!(id);
    if !found {
        assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    }
    found
}

#[tokio::test]
async fn a_leaders_reception_follows_the_roster_and_links_the_cases_it_produced_and_took_over() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let t1 = gid("OrgUnit", county.t1);
    let slot = json!({"unitId": t1, "leaderId": gid("User", county.user("t1_leader")), "weekday": 3,
        "starts": "09:00", "ends": "12:00", "place": "东关镇人民政府接访室"});
    // The roster is the unit's ADMIN's or a LEADER's to keep, naming one of its leaders.
    for who in ["t1_staff", "a_leader", "county_admin"] {
        let refused = mutate(
            &app,
            county.token(who),
            "addReceptionSlot",
            slot.clone(),
            "id",
        )
        .await;
        assert_eq!(code(&refused), Some("FORBIDDEN"), "{who}: {refused}");
    }
    let mut past = slot.clone();
    past["weekday"] = Value::Null;
    past["onDate"] = json!("2001-01-01");
    let refused = mutate(
        &app,
        county.token("t1_admin"),
        "addReceptionSlot",
        past,
        "id",
    )
    .await;
    assert_eq!(field(&refused), Some("onDate"), "{refused}");
    let mut not_a_leader = slot.clone();
    not_a_leader["leaderId"] = json!(gid("User", county.user("t1_staff")));
    let refused = mutate(
        &app,
        county.token("t1_admin"),
        "addReceptionSlot",
        not_a_leader,
        "id",
    )
    .await;
    assert_eq!(field(&refused), Some("leaderId"), "{refused}");
    ok(
        &app,
        county.token("t1_admin"),
        "addReceptionSlot",
        slot,
        "id",
    )
    .await;
    // What the county publishes: any signed-in account reads it.
    let citizen =
        fixtures::citizen(&app, "li_si", "李四", "440524188001010014", "13912345678").await;
    let roster = app
        .gql(
            Some(&citizen),
            "query($u: ID!) { receptionRoster(unitId: $u) { leader weekday starts ends place } }",
            json!({"u": t1}),
        )
        .await;
    assert_eq!(
        roster["data"]["receptionRoster"],
        json!([{"leader": "t1_leader", "weekday": 3,
        "starts": "09:00", "ends": "12:00", "place": "东关镇人民政府接访室"}]),
        "{roster}"
    );

    // A case registered earlier is taken over at a reception; another is raised there.
    let t1_staff = county.token("t1_staff");
    let (earlier, _) = fixtures::register(&app, t1_staff, json!({"townshipId": t1})).await;
    let v = version(&app, t1_staff, &earlier).await;
    let received_at = (app.state.clock.now() - chrono::TimeDelta::hours(2)).to_rfc3339();
    // The township's staff follow the case live: the takeover reaches them as it is recorded.
    let mut live = crate::referrals::open(&app, t1_staff).await;
    live.subscribe(
        "1",
        "subscription($id: ID!) { caseEvents(caseId: $id) { action unitName public } }",
        json!({"id": earlier}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let reception = ok(&app, t1_staff, "recordReception",
        json!({"leaderId": gid("User", county.user("t1_leader")), "receivedAt": received_at, "place": "东关镇人民政府接访室",
               "visitors": ["李四", "王某"], "personCount": 3, "summary": "反映拆迁补偿问题，镇长当场交办。", "caseIds": [earlier]}),
        "id leader visitors personCount cases { produced case { id } }").await;
    let reception_id = reception["id"].as_str().unwrap().to_string();
    assert_eq!(reception["leader"], "t1_leader");
    assert_eq!(
        reception["cases"],
        json!([{"produced": false, "case": {"id": earlier}}])
    );
    assert_eq!(
        version(&app, t1_staff, &earlier).await,
        v + 1,
        "taking a case over is on its record"
    );
    let heard = live
        .next_data(std::time::Duration::from_secs(5))
        .await
        .expect("the takeover, live");
    assert_eq!(
        heard["caseEvents"],
        json!({"action": "RECEPTION", "unitName": "东关镇", "public": false})
    );
    let foreign = mutate(
        &app,
        county.token("a_staff"),
        "registerCase",
        fixtures::case_input(json!({"receptionId": reception_id})),
        "case { id }",
    )
    .await;
    assert_eq!(
        field(&foreign),
        Some("receptionId"),
        "another unit's reception: {foreign}"
    );
    let (raised, _) = fixtures::register(
        &app,
        t1_staff,
        json!({"townshipId": t1, "receptionId": reception_id}),
    )
    .await;
    let read = |id: String| {
        let (app, token) = (&app, county.token("t1_staff").to_string());
        async move {
            let body = app.gql(Some(&token), "query($id: ID!) { case(id: $id) { receptions { produced reception { id } } timeline { nodes { action } } } }", json!({"id": id})).await;
            body["data"]["case"].clone()
        }
    };
    assert_eq!(
        read(raised.clone()).await["receptions"],
        json!([{"produced": true, "reception": {"id": reception_id}}])
    );
    let taken = read(earlier.clone()).await;
    assert_eq!(
        taken["receptions"],
        json!([{"produced": false, "reception": {"id": reception_id}}])
    );
    assert!(taken["timeline"]["nodes"].to_string().contains("RECEPTION"));

    // Who reads it: its unit and the county's overseers; not a sibling township nor an
    // unrelated department; the petitioner not at all.
    for (who, sees) in [
        ("t1_staff", true),
        ("bureau_staff", true),
        ("county_staff", true),
        ("t2_staff", false),
        ("disc_staff", false),
        ("county_admin", false),
    ] {
        assert_eq!(
            node_found(&app, county.token(who), &reception_id).await,
            sees,
            "{who}"
        );
        if who != "county_admin" {
            let listed = app
                .gql(Some(county.token(who)), "{ receptions { id } }", json!({}))
                .await;
            assert_eq!(
                listed["data"]["receptions"].as_array().map(|l| l.len()),
                Some(usize::from(sees)),
                "{who}: {listed}"
            );
        }
    }
    let theirs =
        fixtures::citizen(&app, "wang_wu", "王五", "33010619900101123X", "13800138000").await;
    assert!(!node_found(&app, &theirs, &reception_id).await);
}

/// A record's `viewerCan` as `token` reads it by `node(id)` (`fragment` names its type).
async fn can(app: &crate::support::TestApp, token: &str, id: &str, fragment: &str) -> Value {
    let query = format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on {fragment} {{ viewerCan {{ {} }} }} }} }}",
        match fragment {
            "Reception" => "registerCase",
            _ => "followUp registerCase",
        }
    );
    let body = app.gql(Some(token), &query, json!({"id": id})).await;
    body["data"]["node"]["viewerCan"].clone()
}

#[tokio::test]
async fn a_roster_line_a_reception_and_a_dispute_report_say_what_each_viewer_may_do() {
    // Each flag is the check its mutation makes: every viewer the flag says no to is refused,
    // and one it says yes to succeeds.
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let t1 = gid("OrgUnit", county.t1);
    let citizen =
        fixtures::citizen(&app, "li_si", "李四", "440524188001010014", "13912345678").await;
    let token = |who: &str| -> String {
        if who == "citizen" {
            citizen.clone()
        } else {
            county.token(who).to_string()
        }
    };

    // A roster line: the unit's administrator and leaders keep it; anyone signed in reads it.
    ok(
        &app,
        county.token("t1_admin"),
        "addReceptionSlot",
        json!({"unitId": t1, "leaderId": gid("User", county.user("t1_leader")), "weekday": 3,
               "starts": "09:00", "ends": "12:00", "place": "东关镇人民政府接访室"}),
        "id",
    )
    .await;
    let roster_line = |who: &'static str| {
        let (app, token) = (&app, token(who));
        async move {
            let body = app
                .gql(
                    Some(&token),
                    "query($u: ID!) { receptionRoster(unitId: $u) { id viewerCan { remove } } }",
                    json!({"u": gid("OrgUnit", county.t1)}),
                )
                .await;
            body["data"]["receptionRoster"][0].clone()
        }
    };
    let slot_matrix: &[(&str, bool)] = &[
        ("t1_admin", true),
        ("t1_leader", true),
        ("t1_staff", false),
        ("a_leader", false),
        ("bureau_staff", false),
        ("county_admin", false),
        ("citizen", false),
    ];
    let slot = roster_line("t1_staff").await["id"].clone();
    for (who, may) in slot_matrix {
        let line = roster_line(who).await;
        assert_eq!(line["viewerCan"]["remove"], json!(may), "{who}: {line}");
        if !may {
            let refused = mutate(
                &app,
                &token(who),
                "removeReceptionSlot",
                json!({"slotId": slot}),
                "id",
            )
            .await;
            assert_eq!(code(&refused), Some("FORBIDDEN"), "{who}: {refused}");
        }
    }
    ok(
        &app,
        county.token("t1_leader"),
        "removeReceptionSlot",
        json!({"slotId": slot}),
        "id",
    )
    .await;
    assert_eq!(
        roster_line("t1_admin").await,
        Value::Null,
        "taken off the roster"
    );

    // A reception of 东关镇: the township registers what was raised there; the bureau and the
    // county unit read it and oversee, and register nothing from it.
    let received_at = (app.state.clock.now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let reception = ok(&app, county.token("t1_staff"), "recordReception",
        json!({"leaderId": gid("User", county.user("t1_leader")), "receivedAt": received_at, "place": "东关镇人民政府接访室",
               "visitors": ["王某"], "personCount": 1, "summary": "反映道路修缮问题。", "caseIds": []}),
        "id").await;
    let reception = reception["id"].as_str().unwrap().to_string();
    let reception_matrix: &[(&str, bool)] = &[
        ("t1_staff", true),
        ("t1_leader", true),
        ("bureau_staff", false),
        ("county_staff", false),
    ];
    for (who, may) in reception_matrix {
        let flags = can(&app, &token(who), &reception, "Reception").await;
        assert_eq!(flags, json!({"registerCase": may}), "{who}");
        if !may {
            let refused = mutate(
                &app,
                &token(who),
                "registerCase",
                fixtures::case_input(json!({"receptionId": reception})),
                "case { id }",
            )
            .await;
            assert_eq!(field(&refused), Some("receptionId"), "{who}: {refused}");
        }
    }
    fixtures::register(
        &app,
        county.token("t1_leader"),
        json!({"townshipId": t1, "receptionId": reception}),
    )
    .await;

    // An urgent dispute report of 东关镇: its county's bureau follows it up and turns it into
    // a case, once; the reporting township and the county unit read it and do neither.
    let report = ok(&app, county.token("t1_staff"), "reportUrgentDispute",
        json!({"risk": {"grade": "SERIOUS", "title": "工地欠薪聚集", "summary": "十余名工人在工地门口聚集讨薪。", "places": "东关镇工业园"}}),
        "id").await;
    let report = report["id"].as_str().unwrap().to_string();
    let report_matrix: &[(&str, bool)] = &[
        ("bureau_staff", true),
        ("bureau_leader", true),
        ("t1_staff", false),
        ("t1_leader", false),
        ("county_staff", false),
    ];
    for (who, may) in report_matrix {
        let flags = can(&app, &token(who), &report, "DisputeReport").await;
        assert_eq!(
            flags,
            json!({"followUp": may, "registerCase": may}),
            "{who}"
        );
        if !may {
            let refused = mutate(
                &app,
                &token(who),
                "followUpDispute",
                json!({"reportId": report, "text": "跟进"}),
                "id",
            )
            .await;
            assert_eq!(code(&refused), Some("FORBIDDEN"), "{who}: {refused}");
            let refused = mutate(
                &app,
                &token(who),
                "registerCase",
                fixtures::case_input(json!({"disputeReportId": report})),
                "case { id }",
            )
            .await;
            assert_eq!(code(&refused), Some("FORBIDDEN"), "{who}: {refused}");
        }
    }
    fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"disputeReportId": report, "leadUnitId": t1}),
    )
    .await;
    // A case now: the bureau still follows it up, and registers it no more.
    for who in ["bureau_staff", "bureau_leader"] {
        assert_eq!(
            can(&app, county.token(who), &report, "DisputeReport").await,
            json!({"followUp": true, "registerCase": false}),
            "{who}"
        );
    }
    let again = mutate(
        &app,
        county.token("bureau_leader"),
        "registerCase",
        fixtures::case_input(json!({"disputeReportId": report})),
        "case { id }",
    )
    .await;
    assert_eq!(code(&again), Some("CONFLICT"), "{again}");
}

#[tokio::test]
async fn dispute_screening_reports_monthly_and_at_once_and_the_bureau_follows_up_and_registers_a_case()
 {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let now = app
        .state
        .clock
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    let this_month = now.date_naive().with_day(1).unwrap();
    let last = this_month
        .checked_sub_months(chrono::Months::new(1))
        .unwrap();
    let period = format!("{}", last.format("%Y-%m"));
    let risk = json!({"grade": "MAJOR", "title": "征地补偿纠纷", "summary": "二十余户村民对补偿标准有异议，有集体上访苗头。",
        "people": [{"name": "张某", "idNumber": "440524188001010014", "phone": "13912345678"}],
        "places": "东关镇南关村", "townshipId": gid("OrgUnit", county.t1)});

    let made = ok(
        &app,
        county.token("t1_staff"),
        "submitDisputeReturn",
        json!({"period": period, "risks": [risk]}),
        "period items reports { id grade urgent }",
    )
    .await;
    assert_eq!(
        (&made["period"], &made["items"]),
        (&json!(period), &json!(1))
    );
    let monthly = made["reports"][0]["id"].as_str().unwrap().to_string();
    let twice = mutate(
        &app,
        county.token("t1_staff"),
        "submitDisputeReturn",
        json!({"period": period}),
        "items",
    )
    .await;
    assert_eq!(code(&twice), Some("CONFLICT"), "{twice}");
    // A return with nothing to report is a return; the bureau reports to no one.
    ok(
        &app,
        county.token("a_staff"),
        "submitDisputeReturn",
        json!({"period": period}),
        "items",
    )
    .await;
    let bureau = mutate(
        &app,
        county.token("bureau_staff"),
        "submitDisputeReturn",
        json!({"period": period}),
        "items",
    )
    .await;
    assert_eq!(code(&bureau), Some("FORBIDDEN"), "{bureau}");
    let future = mutate(&app, county.token("t2_staff"), "submitDisputeReturn",
        json!({"period": format!("{}", this_month.checked_add_months(chrono::Months::new(1)).unwrap().format("%Y-%m"))}), "items").await;
    assert_eq!(field(&future), Some("period"), "{future}");
    let ancient = mutate(
        &app,
        county.token("t2_staff"),
        "submitDisputeReturn",
        json!({"period": "2001-01"}),
        "items",
    )
    .await;
    assert_eq!(field(&ancient), Some("period"), "{ancient}");

    // An urgent one, at once, from 西营乡.
    let urgent = ok(&app, county.token("t2_staff"), "reportUrgentDispute",
        json!({"risk": {"grade": "SERIOUS", "title": "工地欠薪聚集", "summary": "十余名工人在工地门口聚集讨薪。",
               "people": [{"name": "赵某", "idNumber": "330106198502022346", "phone": "13600002222"}], "places": "西营乡工业园"}}),
        "id urgent period").await;
    assert_eq!(
        (&urgent["urgent"], &urgent["period"]),
        (&json!(true), &Value::Null)
    );
    let urgent_id = urgent["id"].as_str().unwrap().to_string();

    // The people: in full to the reporting unit and the bureau, masked to the county unit;
    // another township sees nothing of it.
    let people = |who: &'static str| {
        let (app, county, id) = (&app, &county, urgent_id.clone());
        async move {
            let body = app.gql(Some(county.token(who)), "query($id: ID!) { node(id: $id) { ... on DisputeReport { people { name idNumber phone } } } }", json!({"id": id})).await;
            body["data"]["node"]["people"][0].clone()
        }
    };
    assert_eq!(people("t2_staff").await["idNumber"], "330106198502022346");
    assert_eq!(people("bureau_staff").await["phone"], "13600002222");
    let masked = people("county_staff").await;
    assert_eq!(masked["name"], "赵某");
    assert_ne!(masked["idNumber"], "330106198502022346");
    assert_ne!(masked["phone"], "13600002222");
    assert!(!node_found(&app, county.token("t1_staff"), &urgent_id).await);
    let listed = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ disputeReports(urgent: true) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["disputeReports"], json!([{"id": urgent_id}]));

    // The bureau follows up, and registers the monthly risk as a case, once.
    let denied = mutate(
        &app,
        county.token("t2_staff"),
        "followUpDispute",
        json!({"reportId": urgent_id, "text": "x"}),
        "id",
    )
    .await;
    assert_eq!(code(&denied), Some("FORBIDDEN"), "{denied}");
    let followed = ok(
        &app,
        county.token("bureau_staff"),
        "followUpDispute",
        json!({"reportId": urgent_id, "text": "已会同人社局现场处置，工资已发放。"}),
        "followUp followedUpAt",
    )
    .await;
    assert_eq!(followed["followUp"], "已会同人社局现场处置，工资已发放。");
    let not_bureau = mutate(
        &app,
        county.token("t1_staff"),
        "registerCase",
        fixtures::case_input(json!({"disputeReportId": monthly})),
        "case { id }",
    )
    .await;
    assert_eq!(code(&not_bureau), Some("FORBIDDEN"), "{not_bureau}");
    let (case, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"disputeReportId": monthly, "leadUnitId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let became = app
        .gql(
            Some(county.token("t1_staff")),
            "query($id: ID!) { node(id: $id) { ... on DisputeReport { case { id } } } }",
            json!({"id": monthly}),
        )
        .await;
    assert_eq!(
        became["data"]["node"]["case"]["id"],
        json!(case),
        "{became}"
    );
    let again = mutate(
        &app,
        county.token("bureau_staff"),
        "registerCase",
        fixtures::case_input(json!({"disputeReportId": monthly})),
        "case { id }",
    )
    .await;
    assert_eq!(code(&again), Some("CONFLICT"), "{again}");

    // Once last month's returns are due (the end of the 5th), the units without one show.
    let due_day = this_month.with_day(5).unwrap();
    let days = (due_day - now.date_naive()).num_days() + 1;
    if days > 0 {
        let early = app
            .gql(
                Some(county.token("bureau_staff")),
                "query($p: String) { overdueDisputeReturns(period: $p) { units { name } } }",
                json!({"p": period}),
            )
            .await;
        assert_eq!(
            early["data"]["overdueDisputeReturns"]["units"],
            json!([]),
            "{early}"
        );
        app.advance_days(days);
        county.renew(&app).await;
    }
    let overdue = app
        .gql(
            Some(county.token("county_staff")),
            "query($p: String) { overdueDisputeReturns(period: $p) { units { name } } }",
            json!({"p": period}),
        )
        .await;
    let mut names: Vec<String> = overdue["data"]["overdueDisputeReturns"]["units"]
        .as_array()
        .unwrap_or_else(|| panic!("{overdue}"))
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected = vec!["西营乡", "县人社局", "县自然资源局", "县纪委监委"];
    expected.sort();
    assert_eq!(names, expected);
    let unit = app
        .gql(
            Some(county.token("t1_staff")),
            "{ overdueDisputeReturns { period } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&unit), Some("FORBIDDEN"), "{unit}");
}

#[tokio::test]
async fn joint_meeting_items_reach_their_units_who_answer_and_late_ones_are_listed() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let today = app
        .state
        .clock
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let due = (today + chrono::Days::new(3)).to_string();
    let (_, accusation) = fixtures::accusation_against_t1(&app, &county, "case { id }").await;
    let accusation = accusation["case"]["id"].as_str().unwrap().to_string();
    let (case, _) = fixtures::register(&app, county.token("bureau_staff"),
        json!({"townshipId": gid("OrgUnit", county.t1), "leadUnitId": gid("OrgUnit", county.dept_a)})).await;
    let meeting = |items: Value| json!({"heldOn": today.to_string(), "title": "县信访工作联席会议第4次会议", "items": items});

    // An item about an accusation is never given to the unit it accuses; nothing is written.
    let refused = mutate(&app, county.token("bureau_staff"), "recordJointMeeting",
        meeting(json!([{"text": "核查举报事项", "caseId": accusation, "unitIds": [gid("OrgUnit", county.t1)], "dueOn": due}])),
        "items { id }").await;
    assert_eq!(field(&refused), Some("items[0].unitIds"), "{refused}");
    let long_ago = mutate(
        &app,
        county.token("bureau_staff"),
        "recordJointMeeting",
        json!({"heldOn": "2001-01-01", "title": "x",
               "items": [{"text": "x", "unitIds": [gid("OrgUnit", county.t1)], "dueOn": due}]}),
        "title",
    )
    .await;
    assert_eq!(field(&long_ago), Some("heldOn"), "{long_ago}");
    let none = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ jointItems { id } }",
            json!({}),
        )
        .await;
    assert_eq!(none["data"]["jointItems"], json!([]));
    let not_bureau = mutate(
        &app,
        county.token("county_staff"),
        "recordJointMeeting",
        meeting(json!([{"text": "x", "unitIds": [gid("OrgUnit", county.t1)], "dueOn": due}])),
        "title",
    )
    .await;
    assert_eq!(code(&not_bureau), Some("FORBIDDEN"), "{not_bureau}");

    let recorded = ok(&app, county.token("bureau_staff"), "recordJointMeeting",
        meeting(json!([{"text": "东关镇、县住建局联合化解南关村拆迁补偿问题", "caseId": case,
                         "unitIds": [gid("OrgUnit", county.t1), gid("OrgUnit", county.dept_a)], "dueOn": due}])),
        "items { id dueOn units { unit { name } answer } }").await;
    let item = recorded["items"][0]["id"].as_str().unwrap().to_string();
    // Only the two units given a part may answer it, each once; overseeing is not answering.
    let may_answer = |who: &'static str| {
        let (app, token, item) = (&app, county.token(who).to_string(), item.clone());
        async move {
            let body = app
                .gql(
                    Some(&token),
                    "query($id: ID!) { node(id: $id) { ... on JointItem { viewerCan { answer } } } }",
                    json!({"id": item}),
                )
                .await;
            if body["data"]["node"].is_null() {
                assert_eq!(code(&body), Some("NOT_FOUND"), "{who}: {body}");
                return false;
            }
            assert!(body["errors"].is_null(), "{who}: {body}");
            body["data"]["node"]["viewerCan"]["answer"]
                .as_bool()
                .expect("a flag")
        }
    };
    for (who, may) in [
        ("t1_staff", true),
        ("a_staff", true),
        ("county_staff", false),
        ("bureau_staff", false),
        ("t2_staff", false),
    ] {
        assert_eq!(may_answer(who).await, may, "{who}");
    }
    for (who, sees) in [
        ("t1_staff", true),
        ("a_staff", true),
        ("county_staff", true),
        ("bureau_staff", true),
        ("t2_staff", false),
        ("b_staff", false),
    ] {
        let listed = app
            .gql(Some(county.token(who)), "{ jointItems { id } }", json!({}))
            .await;
        assert_eq!(
            listed["data"]["jointItems"].as_array().map(|l| l.len()),
            Some(usize::from(sees)),
            "{who}: {listed}"
        );
        assert_eq!(
            node_found(&app, county.token(who), &item).await,
            sees,
            "{who}"
        );
    }
    ok(
        &app,
        county.token("t1_staff"),
        "answerJointItem",
        json!({"itemId": item, "text": "已入户做工作三次。"}),
        "id",
    )
    .await;
    let twice = mutate(
        &app,
        county.token("t1_staff"),
        "answerJointItem",
        json!({"itemId": item, "text": "x"}),
        "id",
    )
    .await;
    assert_eq!(code(&twice), Some("CONFLICT"), "{twice}");
    assert!(!may_answer("t1_staff").await, "answered once");
    assert!(may_answer("a_staff").await, "its own part is still open");
    let stranger = mutate(
        &app,
        county.token("t2_staff"),
        "answerJointItem",
        json!({"itemId": item, "text": "x"}),
        "id",
    )
    .await;
    assert_eq!(code(&stranger), Some("NOT_FOUND"), "{stranger}");
    // The county unit oversees it but was not given it.
    let overseer = mutate(
        &app,
        county.token("county_staff"),
        "answerJointItem",
        json!({"itemId": item, "text": "x"}),
        "id",
    )
    .await;
    assert_eq!(code(&overseer), Some("FORBIDDEN"), "{overseer}");

    // Past its date with 县住建局's part unanswered: on the overdue list until it answers.
    app.advance_days(4);
    county.renew(&app).await;
    let late = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ jointItems(overdue: true) { id overdue } }",
            json!({}),
        )
        .await;
    assert_eq!(
        late["data"]["jointItems"],
        json!([{"id": item, "overdue": true}]),
        "{late}"
    );
    ok(
        &app,
        county.token("a_staff"),
        "answerJointItem",
        json!({"itemId": item, "text": "补偿款已拨付。"}),
        "id",
    )
    .await;
    let late = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ jointItems(overdue: true) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(late["data"]["jointItems"], json!([]));
    let case_items = app
        .gql(
            Some(county.token("a_staff")),
            "query($id: ID!) { case(id: $id) { jointItems { units { unit { name } answer } } } }",
            json!({"id": case}),
        )
        .await;
    assert_eq!(
        case_items["data"]["case"]["jointItems"][0]["units"],
        json!([{"unit": {"name": "东关镇"}, "answer": "已入户做工作三次。"}, {"unit": {"name": "县住建局"}, "answer": "补偿款已拨付。"}])
    );
}

#[tokio::test]
async fn late_registration_of_urgent_matters_and_group_visits_is_measured_and_flagged_per_unit() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let now = app.state.clock.now();
    let ago = |hours: i64| (now - chrono::TimeDelta::hours(hours)).to_rfc3339();
    let t1 = county.token("t1_staff");
    // (channel, personCount, urgent, hours since receipt, late under the default 24 hours)
    let cases = [
        ("VISIT", 6, false, 30, true),   // a group visit, 30 hours on
        ("LETTER", 1, true, 30, true),   // urgent, 30 hours on
        ("LETTER", 1, false, 30, false), // neither urgent nor a group: measured, not flagged
        ("VISIT", 6, false, 2, false),   // a group visit registered in time
    ];
    for (channel, count, urgent, hours, late) in cases {
        let (id, _) = fixtures::register(&app, t1, json!({"channel": channel, "personCount": count, "urgent": urgent, "receivedAt": ago(hours)})).await;
        let got = app.gql(Some(t1), "query($id: ID!) { case(id: $id) { urgent registeredLate registrationDelayMinutes } }", json!({"id": id})).await;
        let c = &got["data"]["case"];
        assert_eq!(
            (c["urgent"].as_bool(), c["registeredLate"].as_bool()),
            (Some(urgent), Some(late)),
            "{channel} {hours}h: {got}"
        );
        assert_eq!(c["registrationDelayMinutes"], hours * 60);
    }
    // The county allows 48 hours: an urgent letter 30 hours on is in time.
    ok(
        &app,
        county.token("county_admin"),
        "setCountySettings",
        json!({"registrationLimitHours": 48}),
        "registrationLimitHours",
    )
    .await;
    fixtures::register(
        &app,
        county.token("a_staff"),
        json!({"urgent": true, "receivedAt": ago(30)}),
    )
    .await;

    let q = "query($from: DateTime!, $to: DateTime!) {
        cases(filter: {registeredLate: true}) { totalCount }
        statistics(from: $from, to: $to, groupBy: REGISTERED_BY) {
          total { lateRegistrations }
          groups { label figures { cases lateRegistrations meanRegistrationHours } } } }";
    let body = app
        .gql(
            Some(county.token("bureau_staff")),
            q,
            json!({"from": ago(24 * 3), "to": (now + chrono::TimeDelta::hours(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(body["data"]["cases"]["totalCount"], 2, "{body}");
    assert_eq!(body["data"]["statistics"]["total"]["lateRegistrations"], 2);
    let groups = body["data"]["statistics"]["groups"].as_array().unwrap();
    let of = |label: &str| {
        groups
            .iter()
            .find(|g| g["label"] == label)
            .unwrap_or_else(|| panic!("{label}: {body}"))["figures"]
            .clone()
    };
    let t1_figures = of("东关镇");
    assert_eq!(
        (&t1_figures["cases"], &t1_figures["lateRegistrations"]),
        (&json!(4), &json!(2))
    );
    // (30 + 30 + 30 + 2) hours over 4 cases.
    assert!(
        (t1_figures["meanRegistrationHours"].as_f64().unwrap() - 23.0).abs() < 1e-9,
        "{t1_figures}"
    );
    let a = of("县住建局");
    assert_eq!(
        (&a["lateRegistrations"], a["meanRegistrationHours"].as_f64()),
        (&json!(0), Some(30.0))
    );
}

/// Which practice record a matrix column reads, in the order the test makes them.
const RECORDS: [&str; 7] = [
    "A1 hearing",
    "A1 plan",
    "A1 reception",
    "A1 joint item",
    "A2 reception",
    "A2 joint item",
    "A2 dispute report",
];

/// Two accusations: A1 against 东关镇 (t1), filed online and led by the bureau; A2 against the
/// county unit (its leadership), registered by the bureau from 西营乡's urgent dispute report
/// and led by the discipline body. Every practice record of A1 (a hearing, an ownership plan,
/// a reception that took it over, a joint meeting item about it given to 县住建局) and of A2 (a
/// reception, a joint meeting item given to 县住建局, the dispute report it came from), against
/// every viewer: (found by `node`, listed by `receptions` / `jointItems` / `disputeReports`).
/// The accused unit reaches nothing; a unit that sees a case reaches its reception by `node`
/// (its list holds its own unit's); a unit given an item reads it without the case.
#[rustfmt::skip]
const PRACTICE_MATRIX: &[(&str, [(bool, bool); 7])] = &[
    //                 A1 hearing     A1 plan        A1 reception   A1 joint item  A2 reception   A2 joint item  A2 report
    ("t1_staff",     [(false, false), (false, false), (false, false), (false, false), (false, false), (false, false), (false, false)]),
    ("t1_leader",    [(false, false), (false, false), (false, false), (false, false), (false, false), (false, false), (false, false)]),
    ("county_staff", [(true,  true),  (true,  true),  (true,  true),  (true,  true),  (false, false), (false, false), (false, false)]),
    ("bureau_staff", [(true,  true),  (true,  true),  (true,  true),  (true,  true),  (true,  true),  (true,  true),  (true,  true)]),
    ("a_staff",      [(false, false), (false, false), (false, false), (true,  true),  (false, false), (true,  true),  (false, false)]),
    ("t2_staff",     [(false, false), (false, false), (false, false), (false, false), (false, false), (false, false), (true,  true)]),
    ("disc_staff",   [(false, false), (false, false), (false, false), (false, false), (true,  false), (false, false), (false, false)]),
];

#[tokio::test]
async fn the_accused_unit_reaches_no_practice_record_of_an_accusation() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    let (_, a1) = fixtures::accusation_against_t1(&app, &county, "case { id }").await;
    let a1 = a1["case"]["id"].as_str().unwrap().to_string();
    fixtures::accept(&app, bureau, &a1).await;
    let held_at = (app.state.clock.now() + chrono::TimeDelta::days(12)).to_rfc3339();
    let hearing = ok(
        &app,
        bureau,
        "scheduleHearing",
        json!({"caseId": a1, "heldAt": held_at, "place": "县信访局听证室",
        "chair": "赵某", "participants": [{"kind": "LAWYER", "name": "王律师"}]}),
        "hearing { id }",
    )
    .await["hearing"]["id"]
        .clone();
    let mut owning = fixtures::owning(&app, &a1, 30);
    owning["plan"]["coordinator"] = json!("县信访局局长");
    ok(
        &app,
        county.token("bureau_leader"),
        "takeLeaderOwnership",
        owning,
        "__typename",
    )
    .await;
    let plan = app
        .gql(
            Some(bureau),
            "query($id: ID!) { case(id: $id) { leader { plan { id } } } }",
            json!({"id": a1}),
        )
        .await["data"]["case"]["leader"]["plan"]["id"]
        .clone();

    let report = ok(&app, county.token("t2_staff"), "reportUrgentDispute",
        json!({"risk": {"grade": "MAJOR", "title": "反映县领导问题", "summary": "群众反映县领导干部违规插手工程。"}}), "id").await["id"].clone();
    let (a2, _) = fixtures::register(&app, bureau, json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT",
        "accusedUnitId": gid("OrgUnit", county.county), "leadUnitId": gid("OrgUnit", county.discipline), "disputeReportId": report})).await;

    // X: an ordinary case about 东关镇, taken over at A1's reception too.
    let (x, _) = fixtures::register(
        &app,
        bureau,
        json!({"townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let received_at = (app.state.clock.now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let mut receptions = vec![];
    for cases in [json!([a1, x]), json!([a2])] {
        receptions.push(ok(&app, bureau, "recordReception", json!({"leaderId": gid("User", county.user("bureau_leader")),
            "receivedAt": received_at, "place": "县信访局接待大厅", "visitors": ["张三"], "personCount": 1,
            "summary": "来访反映干部问题。", "caseIds": cases}), "id").await["id"].clone());
    }
    // Through X, which 东关镇 sees, the reception is still not there for it.
    let through = |who: &'static str| {
        let (app, token, x) = (&app, county.token(who).to_string(), x.clone());
        async move {
            let body = app.gql(Some(&token), "query($id: ID!) { case(id: $id) { receptions { reception { id summary visitors } } } }", json!({"id": x})).await;
            body["data"]["case"]["receptions"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .len()
        }
    };
    assert_eq!(through("t1_staff").await, 0);
    assert_eq!(through("county_staff").await, 1);
    let today = app
        .state
        .clock
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let items = ok(&app, bureau, "recordJointMeeting", json!({"heldOn": today.to_string(), "title": "联席会议",
        "items": [{"text": "配合核查", "caseId": a1, "unitIds": [gid("OrgUnit", county.dept_a)], "dueOn": (today + chrono::Days::new(10)).to_string()},
                  {"text": "配合核查", "caseId": a2, "unitIds": [gid("OrgUnit", county.dept_a)], "dueOn": (today + chrono::Days::new(10)).to_string()}]}),
        "items { id }").await["items"].clone();
    let ids = [
        hearing,
        plan,
        receptions[0].clone(),
        items[0]["id"].clone(),
        receptions[1].clone(),
        items[1]["id"].clone(),
        report,
    ];

    let mut failures = vec![];
    for (viewer, cells) in PRACTICE_MATRIX {
        let token = county.token(viewer);
        let lists = app
            .gql(
                Some(token),
                "{ receptions { id } jointItems { id } disputeReports { id } }",
                json!({}),
            )
            .await;
        assert!(lists["errors"].is_null(), "{viewer}: {lists}");
        for (i, (node, listed)) in cells.iter().enumerate() {
            let id = ids[i].as_str().unwrap();
            let found = node_found(&app, token, id).await;
            let in_list = match i {
                2 | 4 => lists["data"]["receptions"].to_string().contains(id),
                3 | 5 => lists["data"]["jointItems"].to_string().contains(id),
                6 => lists["data"]["disputeReports"].to_string().contains(id),
                _ => found,
            };
            if (found, in_list) != (*node, *listed) {
                failures.push(format!(
                    "{viewer} {}: node {found}, listed {in_list}, expected {node}/{listed}",
                    RECORDS[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
