//! Accusations stay secret on every path (domain §5, 条例 Art 30 and Art 46(5)): online
//! accusations name their accused unit, the timeline never names the accuser to those who may
//! not know them, repeat links are no oracle, an accusation may accuse the county's own
//! leadership, and reclassification (domain §4) takes a case out of the accused unit's sight
//! at once, live subscriptions included.

use crate::fixtures::{self, County, mutate, ok, transfer, version};
use crate::support::{TestApp, Ws, WsEvent, code, field, gid, spawn_app};
use serde_json::{Value, json};
use std::time::Duration;

const ZHANG_ID: &str = "11010519491231002X";

async fn citizen(app: &TestApp) -> String {
    fixtures::citizen(app, "zhang_san", "张三", ZHANG_ID, "13800138000").await
}

const SUBMIT: &str = "mutation($i: SubmitPetitionInput!) { submitPetition(input: $i) { number case { id number } } }";

/// A citizen's online accusation about 东关镇 (t1); `accused` names the accused unit, if any.
async fn online_accusation(
    app: &TestApp,
    token: &str,
    county: &County,
    accused: Option<i64>,
) -> (String, String) {
    let mut input = json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "title": "反映镇干部违规收费",
        "content": "实名举报镇干部违规收取办证费用。", "townshipId": gid("OrgUnit", county.t1)});
    if let Some(unit) = accused {
        input["accusedUnitId"] = json!(gid("OrgUnit", unit));
    }
    let body = app.gql(Some(token), SUBMIT, json!({"i": input})).await;
    let case = &body["data"]["submitPetition"]["case"];
    assert!(case.is_object(), "{body}");
    (
        case["id"].as_str().unwrap().to_string(),
        case["number"].as_str().unwrap().to_string(),
    )
}

/// Whether `viewer` finds the case by id, by number, by node and in its list and count.
async fn sees(app: &TestApp, token: &str, id: &str, number: &str) -> bool {
    let by_id = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { number } }",
            json!({"id": id}),
        )
        .await;
    let by_number = app
        .gql(
            Some(token),
            "query($n: String!) { caseByNumber(number: $n) { number } }",
            json!({"n": number}),
        )
        .await;
    let node = app
        .gql(
            Some(token),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    let list = app
        .gql(
            Some(token),
            "{ cases(first: 100) { totalCount nodes { number } } }",
            json!({}),
        )
        .await;
    let listed = list["data"]["cases"]["nodes"]
        .as_array()
        .is_some_and(|n| n.iter().any(|c| c["number"] == number));
    let answers = [
        by_id["data"]["case"]["number"] == number,
        by_number["data"]["caseByNumber"]["number"] == number,
        node["data"]["node"]["id"] == id,
        listed,
    ];
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "paths disagree for {number}: {answers:?}"
    );
    if !answers[0] {
        for body in [&by_id, &by_number, &node] {
            assert_eq!(code(body), Some("NOT_FOUND"), "{body}");
        }
    }
    answers[0]
}

#[tokio::test]
async fn an_online_accusation_names_its_accused_unit_which_never_sees_it() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = citizen(&app).await;
    let (id, number) = online_accusation(&app, &token, &county, Some(county.t1)).await;
    // The territory township is the accused unit: it sees nothing, before or after routing.
    assert!(!sees(&app, county.token("t1_staff"), &id, &number).await);
    assert!(sees(&app, county.token("bureau_staff"), &id, &number).await);
    assert!(sees(&app, county.token("county_staff"), &id, &number).await);
    let moved = transfer(
        &app,
        county.token("bureau_staff"),
        &id,
        county.discipline,
        "涉及镇干部，转纪委监委",
    )
    .await;
    assert!(moved["errors"].is_null(), "{moved}");
    assert!(!sees(&app, county.token("t1_staff"), &id, &number).await);
    assert!(!sees(&app, county.token("t1_leader"), &id, &number).await);
    assert!(sees(&app, county.token("disc_staff"), &id, &number).await);
    // Nor through the referral lists, statistics or the export.
    let lists = app
        .gql(
            Some(county.token("t1_staff")),
            "{ referralsSent { totalCount } referralsReceived { totalCount } statistics(from: \"2020-01-01T00:00:00Z\", to: \"2099-01-01T00:00:00Z\") { total { cases } } }",
            json!({}),
        )
        .await;
    assert_eq!(lists["data"]["referralsSent"]["totalCount"], 0, "{lists}");
    assert_eq!(lists["data"]["referralsReceived"]["totalCount"], 0);
    assert_eq!(lists["data"]["statistics"]["total"]["cases"], 0);
    let csv = app
        .client
        .get(format!("{}/export/cases.csv", app.url))
        .bearer_auth(county.token("t1_staff"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!csv.contains(&number), "{csv}");
    // Submitting an accused unit on anything but an accusation is refused and names the field.
    let bad = app
        .gql(
            Some(&token),
            SUBMIT,
            json!({"i": {"category": "APPEAL", "subject": "MIGRANT_WORKER_WAGES", "title": "欠薪", "content": "欠薪三个月。",
                "townshipId": gid("OrgUnit", county.t1), "accusedUnitId": gid("OrgUnit", county.t1)}}),
        )
        .await;
    assert_eq!(
        (code(&bad), field(&bad)),
        (Some("BAD_USER_INPUT"), Some("accusedUnitId"))
    );
}

#[tokio::test]
async fn an_online_accusation_without_an_accused_unit_is_seen_by_the_bureau_and_discipline_body_only()
 {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = citizen(&app).await;
    let (id, number) = online_accusation(&app, &token, &county, None).await;
    for (viewer, expected) in [
        ("bureau_staff", true),
        ("disc_staff", true),
        ("t1_staff", false), // the territory township: it may well be the accused
        ("county_staff", false),
        ("county_leader", false),
        ("a_staff", false),
        ("t2_staff", false),
    ] {
        assert_eq!(
            sees(&app, county.token(viewer), &id, &number).await,
            expected,
            "{viewer}"
        );
    }
    // Until then it goes to nobody but the discipline body.
    for (to, expected) in [(county.t1, true), (county.dept_a, true)] {
        let refused = transfer(&app, county.token("bureau_staff"), &id, to, "转属地").await;
        assert_eq!(
            (code(&refused) == Some("BAD_USER_INPUT"), field(&refused)),
            (expected, Some("toUnitId")),
            "{refused}"
        );
    }
    let assist = mutate(
        &app,
        county.token("bureau_staff"),
        "addAssistingUnit",
        json!({"caseId": id, "unitId": gid("OrgUnit", county.t1)}),
        "__typename",
    )
    .await;
    assert_eq!(field(&assist), Some("unitId"), "{assist}");
    // The bureau records the accused unit on arrival: from then on the ordinary rules hold —
    // the county unit oversees it, the accused township still sees nothing, and the
    // discipline body sees it once it is routed there.
    let v = version(&app, county.token("bureau_staff"), &id).await;
    ok(
        &app,
        county.token("bureau_staff"),
        "reclassifyCase",
        json!({"caseId": id, "expectedVersion": v, "accusedUnitId": gid("OrgUnit", county.t1), "reason": "来信反映东关镇干部"}),
        "case { accusedUnit { name } }",
    )
    .await;
    for (viewer, expected) in [
        ("bureau_staff", true),
        ("county_staff", true),
        ("t1_staff", false),
        ("disc_staff", false),
    ] {
        assert_eq!(
            sees(&app, county.token(viewer), &id, &number).await,
            expected,
            "{viewer} after naming"
        );
    }
}

#[tokio::test]
async fn the_timeline_names_the_accuser_only_to_the_lead_unit_and_the_bureau() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = citizen(&app).await;
    let (id, _) = online_accusation(&app, &token, &county, Some(county.t1)).await;
    let q = "query($id: ID!) { case(id: $id) { petitioners { name } timeline { nodes { action actorName } } latest: timeline(last: 5) { nodes { action actorName } } } }";
    let read = |viewer: &'static str| {
        let app = &app;
        let id = id.clone();
        let token = if viewer == "citizen" {
            token.clone()
        } else {
            county.token(viewer).to_string()
        };
        async move {
            let body = app.gql(Some(&token), q, json!({"id": id})).await;
            assert!(body["errors"].is_null(), "{viewer}: {body}");
            body["data"]["case"].clone()
        }
    };
    let bureau = read("bureau_staff").await;
    assert_eq!(bureau["petitioners"][0]["name"], "张三");
    assert_eq!(bureau["timeline"]["nodes"][0]["actorName"], "张三");
    let county_view = read("county_staff").await;
    assert_eq!(county_view["petitioners"][0]["name"], "保密");
    assert_eq!(
        county_view["timeline"]["nodes"][0],
        json!({"action": "REGISTER", "actorName": null})
    );
    assert_eq!(
        county_view["latest"]["nodes"][0],
        json!({"action": "REGISTER", "actorName": null})
    );
    // The citizen reads their own name.
    let own = read("citizen").await;
    assert_eq!(own["timeline"]["nodes"][0]["actorName"], "张三");
    // After the bureau hands it to the discipline body, the new lead sees the name; the
    // county unit still does not, on any path — the list's prefetched timeline included.
    transfer(
        &app,
        county.token("bureau_staff"),
        &id,
        county.discipline,
        "转纪委监委",
    )
    .await;
    assert_eq!(
        read("disc_staff").await["timeline"]["nodes"][0]["actorName"],
        "张三"
    );
    let listed = app
        .gql(
            Some(county.token("county_staff")),
            "{ cases { nodes { petitioners { name } timeline(last: 3) { nodes { action actorName } } } } }",
            json!({}),
        )
        .await;
    assert!(!listed.to_string().contains("张三"), "{listed}");
    // The entry itself, by node, is masked the same way.
    let entry_id = bureau_entry_id(&app, &county, &id).await;
    let node = app
        .gql(
            Some(county.token("county_staff")),
            "query($id: ID!) { node(id: $id) { ... on TimelineEntry { action actorName } } }",
            json!({"id": entry_id}),
        )
        .await;
    assert_eq!(
        node["data"]["node"],
        json!({"action": "REGISTER", "actorName": null}),
        "{node}"
    );
}

async fn bureau_entry_id(app: &TestApp, county: &County, id: &str) -> String {
    let body = app
        .gql(
            Some(county.token("bureau_staff")),
            "query($id: ID!) { case(id: $id) { timeline { nodes { id } } } }",
            json!({"id": id}),
        )
        .await;
    body["data"]["case"]["timeline"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_repeat_of_a_case_out_of_sight_tells_the_registrant_nothing() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let person = json!([{ "name": "钱七", "idNumber": ZHANG_ID, "phone": "13500003333" }]);
    // An accusation against 东关镇, led by the discipline body: 东关镇 must not learn of it.
    let (hidden, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1),
               "leadUnitId": gid("OrgUnit", county.discipline), "petitioners": person}),
    )
    .await;
    // 东关镇 registers what the same person brings to its counter, on the same subject; and,
    // for comparison, what a stranger brings.
    let q = "query($id: ID!) { case(id: $id) { isRepeat notAcceptable repeatOf { id } timeline { nodes { detail } } } }";
    let register = |petitioners: Value| {
        let app = &app;
        let token = county.token("t1_staff").to_string();
        async move {
            let body = app
                .gql(
                    Some(&token),
                    "mutation($input: RegisterCaseInput!) { registerCase(input: $input) { case { id isRepeat repeatOf { id } } } }",
                    json!({"input": fixtures::case_input(json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT",
                        "accusedUnitId": gid("OrgUnit", county.t2), "petitioners": petitioners}))}),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
            body["data"]["registerCase"]["case"].clone()
        }
    };
    let repeat = register(person.clone()).await;
    let stranger = register(json!([{ "name": "孙八", "idNumber": "440524188001010014" }])).await;
    assert_eq!(repeat["isRepeat"], false, "{repeat}");
    assert_eq!(repeat["repeatOf"], Value::Null);
    let as_registrant = app
        .gql(
            Some(county.token("t1_staff")),
            q,
            json!({"id": repeat["id"]}),
        )
        .await;
    let stranger_view = app
        .gql(
            Some(county.token("t1_staff")),
            q,
            json!({"id": stranger["id"]}),
        )
        .await;
    // The same shape of answer as for a stranger: no flag, no link, no id in the detail.
    let shape = |body: &Value| {
        let c = &body["data"]["case"];
        (
            c["isRepeat"].clone(),
            c["notAcceptable"].clone(),
            c["repeatOf"].clone(),
        )
    };
    assert_eq!(shape(&as_registrant), shape(&stranger_view));
    assert!(
        !as_registrant.to_string().contains("repeatOfId"),
        "{as_registrant}"
    );
    // Filters and counts agree: 东关镇 has no repeats.
    let counts = app
        .gql(
            Some(county.token("t1_staff")),
            "{ repeats: cases(filter: {repeat: true}) { totalCount } firsts: cases(filter: {repeat: false}) { totalCount } statistics(from: \"2020-01-01T00:00:00Z\", to: \"2099-01-01T00:00:00Z\") { total { cases repeats } } }",
            json!({}),
        )
        .await;
    assert_eq!(counts["data"]["repeats"]["totalCount"], 0, "{counts}");
    assert_eq!(counts["data"]["firsts"]["totalCount"], 2);
    assert_eq!(counts["data"]["statistics"]["total"]["repeats"], 0);
    // Proposals are made only among the cases the registrant sees: none here, for anyone.
    let links =
        "query($id: ID!) { case(id: $id) { repeatLinks { state } matter { cases { id } } } }";
    for token in ["t1_staff", "bureau_staff"] {
        let body = app
            .gql(
                Some(county.token(token)),
                links,
                json!({"id": repeat["id"]}),
            )
            .await;
        assert_eq!(
            body["data"]["case"]["repeatLinks"],
            json!([]),
            "{token}: {body}"
        );
        assert_eq!(
            body["data"]["case"]["matter"]["cases"],
            json!([{"id": repeat["id"]}]),
            "{token}: {body}"
        );
    }
    // The bureau sees both, but may not link them while 东关镇 leads the later case: the link
    // would show 东关镇 an accusation against itself. Nothing changes.
    let refused = fixtures::link_repeat(
        &app,
        county.token("bureau_staff"),
        repeat["id"].as_str().unwrap(),
        &hidden,
    )
    .await;
    assert_eq!(
        crate::support::code(&refused),
        Some("BAD_USER_INPUT"),
        "{refused}"
    );
    assert_eq!(
        crate::support::field(&refused),
        Some("earlierCaseId"),
        "{refused}"
    );
    let bureau_counts = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ cases(filter: {repeat: true}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(bureau_counts["data"]["cases"]["totalCount"], 0);
    let after = app
        .gql(
            Some(county.token("t1_staff")),
            q,
            json!({"id": repeat["id"]}),
        )
        .await;
    assert_eq!(shape(&after), shape(&stranger_view), "{after}");
}

#[tokio::test]
async fn an_accusation_against_the_county_leadership_is_led_by_the_discipline_body() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let against_county = json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.county),
        "leadUnitId": gid("OrgUnit", county.discipline)});
    let (id, number) =
        fixtures::register(&app, county.token("bureau_staff"), against_county.clone()).await;
    for (viewer, expected) in [
        ("bureau_staff", true),
        ("disc_staff", true),
        ("county_staff", false),
        ("county_leader", false),
        ("t1_staff", false),
    ] {
        assert_eq!(
            sees(&app, county.token(viewer), &id, &number).await,
            expected,
            "{viewer}"
        );
    }
    // Led by anyone else, it is refused, naming the field.
    let mut led_by_a = against_county.clone();
    led_by_a["leadUnitId"] = json!(gid("OrgUnit", county.dept_a));
    let refused = mutate(
        &app,
        county.token("bureau_staff"),
        "registerCase",
        fixtures::case_input(led_by_a),
        "number",
    )
    .await;
    assert_eq!(
        (code(&refused), field(&refused)),
        (Some("BAD_USER_INPUT"), Some("leadUnitId")),
        "{refused}"
    );
    // A citizen's online accusation against the county arrives at the bureau; the bureau may
    // hand it to the discipline body and to nobody else.
    let token = citizen(&app).await;
    let (online, online_number) =
        online_accusation(&app, &token, &county, Some(county.county)).await;
    assert!(!sees(&app, county.token("county_leader"), &online, &online_number).await);
    let to_a = transfer(
        &app,
        county.token("bureau_staff"),
        &online,
        county.dept_a,
        "x",
    )
    .await;
    assert_eq!(
        (code(&to_a), field(&to_a)),
        (Some("BAD_USER_INPUT"), Some("toUnitId"))
    );
    let to_discipline = transfer(
        &app,
        county.token("bureau_staff"),
        &online,
        county.discipline,
        "反映县领导，转县纪委监委",
    )
    .await;
    assert!(to_discipline["errors"].is_null(), "{to_discipline}");
    assert!(sees(&app, county.token("disc_staff"), &online, &online_number).await);
    // An online accusation against the petition bureau itself is led by the discipline body.
    let (against_bureau, _) = online_accusation(&app, &token, &county, Some(county.bureau)).await;
    let lead = app
        .gql(
            Some(county.token("disc_staff")),
            "query($id: ID!) { case(id: $id) { leadUnit { name } } }",
            json!({"id": against_bureau}),
        )
        .await;
    assert_eq!(
        lead["data"]["case"]["leadUnit"]["name"], "县纪委监委",
        "{lead}"
    );
}

const CASE_EVENTS: &str = "subscription($id: ID!) { caseEvents(caseId: $id) { action } }";

#[tokio::test]
async fn reclassifying_as_an_accusation_takes_the_case_from_the_accused_at_once() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // A letter about 东关镇, registered and led by 县住建局; 东关镇 sees it as its territory.
    let (id, number) = fixtures::register(
        &app,
        county.token("a_staff"),
        json!({"channel": "LETTER", "townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    assert!(sees(&app, county.token("t1_staff"), &id, &number).await);
    ok(
        &app,
        county.token("a_staff"),
        "addAssistingUnit",
        json!({"caseId": id, "unitId": gid("OrgUnit", county.dept_b)}),
        "__typename",
    )
    .await;
    let mut ws = Ws::open(&app.url, county.token("t1_staff"), None)
        .await
        .expect("upgrade");
    ws.acked().await;
    ws.subscribe("1", CASE_EVENTS, json!({"id": id})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let reclassify = |token: &'static str, input: Value| {
        let app = &app;
        let id = id.clone();
        let token = county.token(token).to_string();
        let reader = county.token("bureau_staff").to_string();
        async move {
            let v = version(app, &reader, &id).await;
            let mut i = json!({"caseId": id, "expectedVersion": v});
            for (k, val) in input.as_object().unwrap() {
                i[k] = val.clone();
            }
            mutate(
                app,
                &token,
                "reclassifyCase",
                i,
                "case { category accusedUnit { name } township { name } viewerCan { reclassify } }",
            )
            .await
        }
    };
    // Refusals change nothing: no reason; nothing to change; the lead unit itself accused;
    // a unit with no part in the case.
    for (who, input, expected) in [
        (
            "bureau_staff",
            json!({"category": "ACCUSATION", "accusedUnitId": gid("OrgUnit", county.t1), "reason": ""}),
            ("BAD_USER_INPUT", Some("reason")),
        ),
        (
            "bureau_staff",
            json!({"category": "APPEAL", "reason": "无变化"}),
            ("BAD_USER_INPUT", Some("input")),
        ),
        (
            "bureau_staff",
            json!({"category": "ACCUSATION", "accusedUnitId": gid("OrgUnit", county.dept_a), "reason": "反映住建局"}),
            ("BAD_USER_INPUT", Some("accusedUnitId")),
        ),
        (
            "bureau_staff",
            json!({"category": "ACCUSATION", "accusedUnitId": gid("OrgUnit", county.dept_b), "reason": "反映人社局"}),
            ("BAD_USER_INPUT", Some("accusedUnitId")),
        ),
        (
            "t1_staff",
            json!({"category": "ACCUSATION", "reason": "x"}),
            ("FORBIDDEN", None),
        ),
        (
            "t2_staff",
            json!({"category": "ACCUSATION", "reason": "x"}),
            ("NOT_FOUND", None),
        ),
    ] {
        let before = version(&app, county.token("bureau_staff"), &id).await;
        let body = reclassify(who, input).await;
        assert_eq!(
            (code(&body), field(&body)),
            (Some(expected.0), expected.1),
            "{who}: {body}"
        );
        assert_eq!(
            version(&app, county.token("bureau_staff"), &id).await,
            before
        );
    }
    // The bureau corrects it: an accusation against 东关镇.
    let done = reclassify(
        "bureau_staff",
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1), "reason": "信中反映镇干部违规收费"}),
    )
    .await;
    assert_eq!(
        done["data"]["reclassifyCase"]["case"],
        json!({"category": "ACCUSATION", "accusedUnit": {"name": "东关镇"}, "township": {"name": "东关镇"}, "viewerCan": {"reclassify": true}}),
        "{done}"
    );
    // 东关镇's live stream ends without the entry; every path is closed to it.
    match ws.next(Duration::from_secs(5)).await {
        WsEvent::Message(m) => assert_eq!(m, json!({"id": "1", "type": "complete"})),
        WsEvent::Closed(c) => panic!("socket closed ({c}) instead of completing the stream"),
        WsEvent::Nothing => panic!("the accused unit's stream must end at once"),
    }
    assert!(!sees(&app, county.token("t1_staff"), &id, &number).await);
    // The record says who changed what and why (staff only).
    let record = app
        .gql(
            Some(county.token("bureau_staff")),
            "query($id: ID!) { case(id: $id) { timeline(last: 1) { nodes { action public detail } } } }",
            json!({"id": id}),
        )
        .await;
    let entry = &record["data"]["case"]["timeline"]["nodes"][0];
    assert_eq!(entry["action"], "RECLASSIFY");
    assert_eq!(entry["public"], false);
    let detail: Value = serde_json::from_str(entry["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["reason"], "信中反映镇干部违规收费");
    assert_eq!(detail["to"]["accusedUnitId"], json!(county.t1), "{detail}");
    assert_eq!(detail["from"]["category"], "APPEAL");
    // The lead unit corrects before acceptance, not after.
    let lead_fix = reclassify(
        "a_staff",
        json!({"subject": "HOUSING_DEMOLITION", "reason": "事项分类更正"}),
    )
    .await;
    assert!(lead_fix["errors"].is_null(), "{lead_fix}");
    let v = version(&app, county.token("a_staff"), &id).await;
    ok(
        &app,
        county.token("a_staff"),
        "decideAcceptance",
        json!({"caseId": id, "expectedVersion": v, "decision": "ACCEPT"}),
        "__typename",
    )
    .await;
    let late = reclassify(
        "a_staff",
        json!({"subject": "OFFICIAL_CONDUCT", "reason": "再次更正"}),
    )
    .await;
    assert_eq!(code(&late), Some("FORBIDDEN"), "{late}");
    // Leaving the accusation category clears the accused unit, and 东关镇 sees it again.
    let back = reclassify(
        "bureau_staff",
        json!({"category": "APPEAL", "reason": "经核实不属检举控告"}),
    )
    .await;
    assert_eq!(
        back["data"]["reclassifyCase"]["case"]["accusedUnit"],
        Value::Null,
        "{back}"
    );
    assert!(sees(&app, county.token("t1_staff"), &id, &number).await);
}

#[tokio::test]
async fn an_accused_sender_hears_nothing_more_of_the_referral_it_sent() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // 东关镇 registers a letter and hands it to 县住建局.
    let (id, number) = fixtures::register(
        &app,
        county.token("t1_staff"),
        json!({"channel": "LETTER", "townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let sent = transfer(
        &app,
        county.token("t1_staff"),
        &id,
        county.dept_a,
        "属住建局职责",
    )
    .await;
    let referral = sent["data"]["transferCase"]["referral"]["id"].clone();
    // The bureau finds the letter accuses 东关镇 itself.
    let v = version(&app, county.token("bureau_staff"), &id).await;
    ok(
        &app,
        county.token("bureau_staff"),
        "reclassifyCase",
        json!({"caseId": id, "expectedVersion": v, "category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT",
               "accusedUnitId": gid("OrgUnit", county.t1), "reason": "信中反映镇干部"}),
        "__typename",
    )
    .await;
    let mut inbox = Ws::open(&app.url, county.token("t1_staff"), None)
        .await
        .expect("upgrade");
    inbox.acked().await;
    inbox
        .subscribe("1", "subscription { inbox { kind caseNumber } }", json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // 县住建局 objects; the objection would go to the sender's inbox — not to an accused one.
    ok(
        &app,
        county.token("a_staff"),
        "objectReferral",
        json!({"referralId": referral, "reason": "不属本单位职责"}),
        "__typename",
    )
    .await;
    assert_eq!(inbox.next_data(Duration::from_millis(800)).await, None);
    // The bureau may not send the accusation back to the unit it accuses; it overrules.
    let back = mutate(
        &app,
        county.token("bureau_staff"),
        "resolveObjection",
        json!({"referralId": referral, "approve": true}),
        "__typename",
    )
    .await;
    assert_eq!(
        (code(&back), field(&back)),
        (Some("BAD_USER_INPUT"), Some("approve")),
        "{back}"
    );
    ok(
        &app,
        county.token("bureau_staff"),
        "resolveObjection",
        json!({"referralId": referral, "approve": false}),
        "__typename",
    )
    .await;
    assert!(sees(&app, county.token("a_staff"), &id, &number).await);
    // Nor can it read or act on the referral any more, nor list it.
    let node = app
        .gql(
            Some(county.token("t1_staff")),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": referral}),
        )
        .await;
    assert_eq!(code(&node), Some("NOT_FOUND"), "{node}");
    let resolve = mutate(
        &app,
        county.token("t1_staff"),
        "resolveObjection",
        json!({"referralId": referral, "approve": true}),
        "__typename",
    )
    .await;
    assert_eq!(code(&resolve), Some("NOT_FOUND"), "{resolve}");
    let sent_list = app
        .gql(
            Some(county.token("t1_staff")),
            "{ referralsSent { totalCount nodes { caseNumber } } }",
            json!({}),
        )
        .await;
    assert_eq!(sent_list["data"]["referralsSent"]["totalCount"], 0);
    assert!(!sent_list.to_string().contains(&number));
}

#[tokio::test]
async fn repeat_proposals_name_only_what_the_registrant_sees_and_never_cross_into_an_accusation() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let person = json!([{ "name": "钱七", "idNumber": ZHANG_ID, "phone": "13500003333" }]);
    let accusation = |against: i64, lead: Option<i64>| {
        let mut input = json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT",
            "accusedUnitId": gid("OrgUnit", against), "petitioners": person.clone()});
        if let Some(lead) = lead {
            input["leadUnitId"] = json!(gid("OrgUnit", lead));
        }
        input
    };
    // 东关镇 holds an older accusation of this person (against 西营乡); the bureau a newer one
    // against 东关镇 itself, which 东关镇 must not see.
    let (older, _) =
        fixtures::register(&app, county.token("t1_staff"), accusation(county.t2, None)).await;
    let (hidden, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        accusation(county.t1, Some(county.discipline)),
    )
    .await;
    // 东关镇 registers the person's third accusation: the system proposes only the one it sees.
    let body = app
        .gql(
            Some(county.token("t1_staff")),
            "mutation($input: RegisterCaseInput!) { registerCase(input: $input) { case { id isRepeat repeatLinks { state earlierCase { id } } } } }",
            json!({"input": fixtures::case_input(accusation(county.t2, None))}),
        )
        .await;
    let third = body["data"]["registerCase"]["case"].clone();
    assert_eq!(third["isRepeat"], false, "{body}");
    assert_eq!(
        third["repeatLinks"],
        json!([{"state": "PROPOSED", "earlierCase": {"id": older}}]),
        "{body}"
    );
    let third_id = third["id"].as_str().unwrap().to_string();
    // 东关镇 leads it and confirms.
    let linked = fixtures::link_repeat(&app, county.token("t1_staff"), &third_id, &older).await;
    assert!(linked["errors"].is_null(), "{linked}");
    let repeats = "query($id: ID!) { case(id: $id) { repeats { id } } }";
    let older_view = app
        .gql(
            Some(county.token("bureau_staff")),
            repeats,
            json!({"id": older}),
        )
        .await;
    assert_eq!(
        older_view["data"]["case"]["repeats"],
        json!([{"id": third_id}])
    );
    // Reclassified as an ordinary appeal, the third case drops its link to the accusation and
    // leaves the matter.
    let v = version(&app, county.token("bureau_staff"), &third_id).await;
    let moved = ok(
        &app,
        county.token("bureau_staff"),
        "reclassifyCase",
        json!({"caseId": third_id, "expectedVersion": v, "category": "APPEAL", "subject": "HOUSING_DEMOLITION", "reason": "实为拆迁诉求"}),
        "case { isRepeat repeatOf { id } repeatLinks { state } matter { cases { id } } }",
    )
    .await;
    assert_eq!(
        moved["case"],
        json!({"isRepeat": false, "repeatOf": null, "repeatLinks": [], "matter": {"cases": [{"id": third_id}]}})
    );
    let older_view = app
        .gql(
            Some(county.token("bureau_staff")),
            repeats,
            json!({"id": older}),
        )
        .await;
    assert_eq!(
        older_view["data"]["case"]["repeats"],
        json!([]),
        "{older_view}"
    );
    // An ordinary petition is never linked to an accusation by hand either.
    let refused =
        fixtures::link_repeat(&app, county.token("bureau_staff"), &third_id, &older).await;
    assert_eq!(
        crate::support::code(&refused),
        Some("BAD_USER_INPUT"),
        "{refused}"
    );
    let _ = hidden;
}
