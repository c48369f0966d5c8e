//! Referrals between units and live updates (issue: referrals and subscriptions).

use crate::fixtures::{self, County, mutate, ok, version};
use crate::support::{TestApp, Ws, WsEvent, code, gid, spawn_app};
use serde_json::{Value, json};
use std::time::Duration;

/// Which of the fixture units see the case now, by its id.
async fn who_sees(app: &TestApp, county: &County, id: &str) -> Vec<&'static str> {
    let mut seeing = vec![];
    for viewer in ["bureau_staff", "a_staff", "b_staff", "t2_staff"] {
        let body = app
            .gql(
                Some(county.token(viewer)),
                "query($id: ID!) { case(id: $id) { id } }",
                json!({"id": id}),
            )
            .await;
        if body["data"]["case"].is_object() {
            seeing.push(viewer);
        }
    }
    seeing
}

async fn transfer(app: &TestApp, token: &str, id: &str, to: i64, mode: &str) -> String {
    let v = version(app, token, id).await;
    let moved = ok(app, token, "transferCase", json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", to), "mode": mode, "reason": "依职能转办"}), "referral { id }").await;
    moved["referral"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn bureau_to_department_objection_approved_back_then_assigned_with_a_report() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    let (id, number) = fixtures::register(&app, bureau, json!({})).await;
    assert_eq!(who_sees(&app, &county, &id).await, ["bureau_staff"]);

    // 1. Bureau → department A: A leads now with a fresh acceptance clock.
    let first = transfer(&app, bureau, &id, county.dept_a, "TRANSFER").await;
    assert_eq!(
        who_sees(&app, &county, &id).await,
        ["bureau_staff", "a_staff"]
    );
    let received = app.gql(Some(county.token("a_staff")), "{ referralsReceived(status: [PENDING]) { totalCount nodes { caseNumber fromUnit { name } } } }", json!({})).await;
    assert_eq!(
        received["data"]["referralsReceived"]["nodes"],
        json!([{"caseNumber": number, "fromUnit": {"name": "清河县信访局"}}])
    );

    // 2. A objects within 5 working days; B (not a party) cannot resolve it; the bureau approves.
    let objected = ok(
        &app,
        county.token("a_staff"),
        "objectReferral",
        json!({"referralId": first, "reason": "不属于住建局职能"}),
        "referral { status objectionReason }",
    )
    .await;
    assert_eq!(
        objected["referral"],
        json!({"status": "OBJECTED", "objectionReason": "不属于住建局职能"})
    );
    let stranger = mutate(
        &app,
        county.token("b_staff"),
        "resolveObjection",
        json!({"referralId": first, "approve": true}),
        "__typename",
    )
    .await;
    assert_eq!(code(&stranger), Some("NOT_FOUND"));
    let by_receiver = mutate(
        &app,
        county.token("a_staff"),
        "resolveObjection",
        json!({"referralId": first, "approve": true}),
        "__typename",
    )
    .await;
    assert_eq!(code(&by_receiver), Some("FORBIDDEN"));
    let resolved = ok(
        &app,
        county.token("bureau_leader"),
        "resolveObjection",
        json!({"referralId": first, "approve": true, "note": "同意退回"}),
        "referral { status }",
    )
    .await;
    assert_eq!(resolved["referral"]["status"], "RETURNED");
    // Back at the bureau, to decide afresh; A no longer sees the case but still its referral.
    assert_eq!(who_sees(&app, &county, &id).await, ["bureau_staff"]);
    let c = app
        .gql(
            Some(bureau),
            "query($id: ID!) { case(id: $id) { status leadUnit { name } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        c["data"]["case"],
        json!({"status": "REGISTERED", "leadUnit": {"name": "清河县信访局"}})
    );
    let kept = app
        .gql(
            Some(county.token("a_staff")),
            "{ referralsReceived { nodes { caseNumber caseTitle status case { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        kept["data"]["referralsReceived"]["nodes"],
        json!([{"caseNumber": number, "caseTitle": "拆迁补偿款未足额发放", "status": "RETURNED", "case": null}])
    );

    // 3. The bureau assigns it to department B with a report; B accepts, reports; approved.
    let assignment = transfer(&app, bureau, &id, county.dept_b, "ASSIGN").await;
    assert_eq!(
        who_sees(&app, &county, &id).await,
        ["bureau_staff", "b_staff"]
    );
    let b = county.token("b_staff");
    ok(
        &app,
        b,
        "acknowledgeReferral",
        json!({"referralId": assignment}),
        "referral { status }",
    )
    .await;
    let late_objection = mutate(
        &app,
        b,
        "objectReferral",
        json!({"referralId": assignment, "reason": "x"}),
        "__typename",
    )
    .await;
    assert_eq!(
        code(&late_objection),
        Some("INVALID_TRANSITION"),
        "an acknowledged referral is no longer open to objection"
    );
    fixtures::accept(&app, b, &id).await;
    let report = ok(
        &app,
        b,
        "fileCompletionReport",
        json!({"caseId": id, "text": "已办结"}),
        "report { id }",
    )
    .await;
    ok(
        &app,
        bureau,
        "decideCompletionReport",
        json!({"reportId": report["report"]["id"], "approve": true}),
        "__typename",
    )
    .await;

    // The whole chain, in order, on the case.
    let chain = app.gql(Some(bureau), "query($id: ID!) { case(id: $id) { referrals { mode status fromUnit { name } toUnit { name } } } }", json!({"id": id})).await;
    assert_eq!(
        chain["data"]["case"]["referrals"],
        json!([
            {"mode": "TRANSFER", "status": "RETURNED", "fromUnit": {"name": "清河县信访局"}, "toUnit": {"name": "县住建局"}},
            {"mode": "ASSIGN", "status": "ACKNOWLEDGED", "fromUnit": {"name": "清河县信访局"}, "toUnit": {"name": "县人社局"}},
        ])
    );
    let sent = app
        .gql(Some(bureau), "{ referralsSent { totalCount } }", json!({}))
        .await;
    assert_eq!(sent["data"]["referralsSent"]["totalCount"], 2);
}

/// A case the bureau registered for department A (A's only relation is leading it), which A
/// then transferred to department B: (the case, its number, the referral).
async fn handed_from_a_to_b(app: &TestApp, county: &County) -> (String, String, String) {
    let lead_a = json!({"leadUnitId": gid("OrgUnit", county.dept_a)});
    let (id, number) = fixtures::register(app, county.token("bureau_staff"), lead_a).await;
    let referral = transfer(app, county.token("a_staff"), &id, county.dept_b, "TRANSFER").await;
    (id, number, referral)
}

#[tokio::test]
async fn an_overruled_objection_leaves_the_case_with_the_receiver_and_late_objections_are_refused()
{
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let (id, _, referral) = handed_from_a_to_b(&app, &county).await;
    // The sender lost sight of the case but still sees what it sent, and may rule on objections.
    let sent = app
        .gql(
            Some(county.token("a_staff")),
            "{ referralsSent { nodes { status toUnit { name } case { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        sent["data"]["referralsSent"]["nodes"],
        json!([{"status": "PENDING", "toUnit": {"name": "县人社局"}, "case": null}])
    );
    ok(
        &app,
        county.token("b_staff"),
        "objectReferral",
        json!({"referralId": referral, "reason": "应由住建局办理"}),
        "__typename",
    )
    .await;
    let overruled = ok(
        &app,
        county.token("a_leader"),
        "resolveObjection",
        json!({"referralId": referral, "approve": false, "note": "属人社局职能"}),
        "referral { status }",
    )
    .await;
    assert_eq!(overruled["referral"]["status"], "KEPT");
    assert_eq!(
        who_sees(&app, &county, &id).await,
        ["bureau_staff", "b_staff"]
    );

    // A second referral, objected to after 5 working days: refused.
    let (other, _) =
        fixtures::register(&app, county.token("a_staff"), json!({"title": "另一件"})).await;
    let late = transfer(
        &app,
        county.token("a_staff"),
        &other,
        county.dept_b,
        "TRANSFER",
    )
    .await;
    app.advance_days(10);
    county.renew(&app).await;
    // The receiver is told before it tries: it may still acknowledge, no longer object.
    let told = app
        .gql(
            Some(county.token("b_staff")),
            "query($id: ID!) { node(id: $id) { ... on Referral { viewerCan { acknowledge object resolveObjection } } } }",
            json!({"id": late}),
        )
        .await;
    assert_eq!(
        told["data"]["node"]["viewerCan"],
        json!({"acknowledge": true, "object": false, "resolveObjection": false}),
        "{told}"
    );
    let refused = mutate(
        &app,
        county.token("b_staff"),
        "objectReferral",
        json!({"referralId": late, "reason": "迟到的异议"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&refused), Some("DEADLINE_PASSED"));
}

const REFERRAL_CAN: &str = "query($id: ID!) { node(id: $id) { ... on Referral { status viewerCan { resolveObjection } } } }";
const CASE_STANDING: &str = "query($id: ID!) { case(id: $id) { status leadUnit { name } } }";

/// The `data` of a query about one object, as `token` reads it.
async fn read(app: &TestApp, token: &str, query: &str, id: &str) -> Value {
    app.gql(Some(token), query, json!({"id": id})).await["data"].clone()
}

/// The receiver stays in charge while its objection waits (domain §5: one unit in charge at any
/// moment). Once it has decided acceptance, approving the objection would send a decided case
/// back to the start, so only overruling is left; and once the county has sent the matter up,
/// the referral is out of every party's hands, as the case is.
#[tokio::test]
async fn a_waiting_objection_neither_undoes_the_receivers_decision_nor_outlives_a_sending_up() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let can_resolve = |referral: String| {
        let (app, token) = (&app, county.token("a_leader"));
        async move { read(app, token, REFERRAL_CAN, &referral).await["node"].clone() }
    };
    let standing = |id: String| {
        let (app, token) = (&app, county.token("bureau_staff"));
        async move { read(app, token, CASE_STANDING, &id).await["case"].clone() }
    };

    // A hands the case to B, B objects and then accepts it all the same.
    let (id, _, referral) = handed_from_a_to_b(&app, &county).await;
    let b = county.token("b_staff");
    ok(
        &app,
        b,
        "objectReferral",
        json!({"referralId": referral, "reason": "应由住建局办理"}),
        "__typename",
    )
    .await;
    fixtures::accept(&app, b, &id).await;
    // The sender may still rule, but only to overrule: approving is refused and changes nothing.
    assert_eq!(
        can_resolve(referral.clone()).await,
        json!({"status": "OBJECTED", "viewerCan": {"resolveObjection": true}})
    );
    let approved = mutate(
        &app,
        county.token("a_leader"),
        "resolveObjection",
        json!({"referralId": referral, "approve": true}),
        "referral { status }",
    )
    .await;
    assert_eq!(code(&approved), Some("INVALID_TRANSITION"), "{approved}");
    assert_eq!(
        standing(id.clone()).await,
        json!({"status": "IN_PROGRESS", "leadUnit": {"name": "县人社局"}})
    );
    assert_eq!(can_resolve(referral.clone()).await["status"], "OBJECTED");
    let overruled = ok(
        &app,
        county.token("a_leader"),
        "resolveObjection",
        json!({"referralId": referral, "approve": false}),
        "referral { status }",
    )
    .await;
    assert_eq!(overruled["referral"]["status"], "KEPT");
    assert_eq!(
        standing(id.clone()).await,
        json!({"status": "IN_PROGRESS", "leadUnit": {"name": "县人社局"}})
    );

    // Another case, objected to and then sent up by the bureau while the objection waits.
    let (other, other_number, waiting) = handed_from_a_to_b(&app, &county).await;
    ok(
        &app,
        b,
        "objectReferral",
        json!({"referralId": waiting, "reason": "应由住建局办理"}),
        "__typename",
    )
    .await;
    let bureau = county.token("bureau_staff");
    let v = version(&app, bureau, &other).await;
    ok(
        &app,
        bureau,
        "sendUpward",
        json!({"caseId": other, "expectedVersion": v,
        "higherBody": {"name": "邢台市信访局", "level": "CITY"}, "reason": "属市级职权事项"}),
        "sent { id }",
    )
    .await;
    assert_eq!(
        can_resolve(waiting.clone()).await,
        json!({"status": "OBJECTED", "viewerCan": {"resolveObjection": false}})
    );
    for approve in [true, false] {
        let refused = mutate(
            &app,
            county.token("a_leader"),
            "resolveObjection",
            json!({"referralId": waiting, "approve": approve}),
            "referral { status }",
        )
        .await;
        assert_eq!(
            code(&refused),
            Some("INVALID_TRANSITION"),
            "approve {approve}: {refused}"
        );
    }
    // Out of the county's sight now; as stored, still where the objection found it.
    let as_stored = format!(
        "SELECT count(*) FROM cases WHERE number = '{other_number}' AND status = 'REGISTERED' \
         AND lead_unit_id = {} AND sent_up_at IS NOT NULL",
        county.dept_b
    );
    assert_eq!(app.number(&as_stored).await, 1);
    assert_eq!(can_resolve(waiting).await["status"], "OBJECTED");
}

const CASE_EVENTS: &str =
    "subscription($id: ID!) { caseEvents(caseId: $id) { seq action unitName actorName public } }";
pub const INBOX: &str =
    "subscription { inbox { kind action caseNumber referral { mode toUnit { name } } deadline } }";

pub async fn open(app: &TestApp, token: &str) -> Ws {
    let mut ws = Ws::open(&app.url, token, None).await.expect("upgrade");
    ws.acked().await;
    ws
}

#[tokio::test]
async fn case_events_stream_what_happens_and_ends_when_the_case_leaves_sight() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (id, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"leadUnitId": gid("OrgUnit", county.dept_a)}),
    )
    .await;
    let mut a = open(&app, county.token("a_staff")).await;
    a.subscribe("1", CASE_EVENTS, json!({"id": id})).await;
    let mut bureau = open(&app, county.token("bureau_staff")).await;
    bureau.subscribe("1", CASE_EVENTS, json!({"id": id})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let v = version(&app, county.token("a_staff"), &id).await;
    ok(
        &app,
        county.token("a_staff"),
        "decideAcceptance",
        json!({"caseId": id, "expectedVersion": v, "decision": "ACCEPT"}),
        "__typename",
    )
    .await;
    let got = a.next_data(Duration::from_secs(5)).await.expect("an event");
    assert_eq!(
        got["caseEvents"],
        json!({"seq": 2, "action": "ACCEPT", "unitName": "县住建局", "actorName": "a_staff", "public": true})
    );
    assert_eq!(
        bureau
            .next_data(Duration::from_secs(5))
            .await
            .expect("an event")["caseEvents"]["action"],
        "ACCEPT"
    );

    // A hands the case to B: A's stream ends (without the transfer), the bureau's goes on.
    transfer(
        &app,
        county.token("a_staff"),
        &id,
        county.dept_b,
        "TRANSFER",
    )
    .await;
    match a.next(Duration::from_secs(5)).await {
        WsEvent::Message(m) => assert_eq!(m, json!({"id": "1", "type": "complete"})),
        _ => panic!("A's stream must complete"),
    }
    assert_eq!(
        bureau
            .next_data(Duration::from_secs(5))
            .await
            .expect("an event")["caseEvents"]["action"],
        "TRANSFER"
    );

    // Subscribing to a case one may not see is NOT_FOUND, like any other path.
    let mut t2 = open(&app, county.token("t2_staff")).await;
    t2.subscribe("9", CASE_EVENTS, json!({"id": id})).await;
    match t2.next(Duration::from_secs(5)).await {
        WsEvent::Message(m) => {
            assert_eq!(
                m["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
                "{m}"
            );
            assert!(m["payload"]["data"].is_null());
        }
        _ => panic!("expected an error"),
    }
}

#[tokio::test]
async fn inboxes_receive_exactly_what_each_unit_may_see() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let signup = app
        .gql(None, "mutation($i: RegisterPetitionerInput!) { registerPetitioner(input: $i) { accessToken } }",
            json!({"i": {"username": "citizen", "password": "citizen password", "name": "李四", "phone": "13912345678", "idNumber": "440524188001010014"}}))
        .await;
    let citizen = signup["data"]["registerPetitioner"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let (id, number) = fixtures::register(&app, county.token("bureau_staff"), json!({})).await;

    let mut inboxes = vec![];
    for token in [
        county.token("b_staff"),
        county.token("t2_staff"),
        county.token("a_staff"),
        citizen.as_str(),
    ] {
        let mut ws = open(&app, token).await;
        ws.subscribe("1", INBOX, json!({})).await;
        inboxes.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let [b, t2, a, petitioner] = &mut inboxes[..] else {
        unreachable!()
    };

    // The bureau assigns the case to B, then supervises it.
    transfer(
        &app,
        county.token("bureau_staff"),
        &id,
        county.dept_b,
        "ASSIGN",
    )
    .await;
    let item = b
        .next_data(Duration::from_secs(5))
        .await
        .expect("B's inbox");
    assert_eq!(
        item["inbox"],
        json!({"kind": "ASSIGNMENT", "action": "ASSIGN", "caseNumber": number, "referral": {"mode": "ASSIGN", "toUnit": {"name": "县人社局"}}, "deadline": null})
    );
    ok(
        &app,
        county.token("bureau_staff"),
        "issueSupervision",
        json!({"caseId": id, "text": "请于月底前办结", "dueAt": "2099-01-01T00:00:00Z"}),
        "__typename",
    )
    .await;
    assert_eq!(
        b.next_data(Duration::from_secs(5))
            .await
            .expect("B's inbox")["inbox"]["kind"],
        "SUPERVISION"
    );
    // The citizen, named on the case, hears the public step (the assignment), not the supervision.
    let public = petitioner
        .next_data(Duration::from_secs(5))
        .await
        .expect("the citizen's inbox");
    assert_eq!(
        (
            public["inbox"]["kind"].clone(),
            public["inbox"]["action"].clone()
        ),
        (json!("CASE_EVENT"), json!("ASSIGN"))
    );
    // Units with no part in it hear nothing.
    assert!(t2.next_data(Duration::from_millis(700)).await.is_none());
    assert!(a.next_data(Duration::from_millis(300)).await.is_none());
    assert!(
        petitioner
            .next_data(Duration::from_millis(300))
            .await
            .is_none(),
        "supervision is internal"
    );
}

/// The next inbox item of `kind`, passing over others (an objection's resolution, say).
async fn next_of_kind(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let item = ws
            .next_data(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no {kind} item"));
        if item["inbox"]["kind"] == kind {
            return item["inbox"].clone();
        }
    }
}

#[tokio::test]
async fn each_inbox_event_shows_the_case_as_it_stands_then() {
    // One subscription lives for many events. An event about a case the stream has already
    // shown must show the case as it is now: a file added since the first event is listed.
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    let (id, _) = fixtures::register(&app, bureau, json!({})).await;
    let mut ws = open(&app, bureau).await;
    ws.subscribe(
        "1",
        "subscription { inbox { kind referral { toUnit { name } case { attachments { fileName } } } } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Sent to A, who objects; the bureau hears of it while the case has no file.
    let first = transfer(&app, bureau, &id, county.dept_a, "TRANSFER").await;
    ok(
        &app,
        county.token("a_staff"),
        "objectReferral",
        json!({"referralId": first, "reason": "不属于住建局职能"}),
        "__typename",
    )
    .await;
    assert_eq!(
        next_of_kind(&mut ws, "OBJECTION").await["referral"],
        json!({"toUnit": {"name": "县住建局"}, "case": {"attachments": []}})
    );
    ok(
        &app,
        county.token("bureau_leader"),
        "resolveObjection",
        json!({"referralId": first, "approve": true}),
        "__typename",
    )
    .await;

    // Back at the bureau, which files a note on it and sends it to B; B objects too.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend_from_slice("情况说明".as_bytes());
    let attached =
        crate::attachments::upload(&app, bureau, &id, "说明.pdf", "EVIDENCE", &pdf).await;
    assert!(attached["errors"].is_null(), "{attached}");
    let second = transfer(&app, bureau, &id, county.dept_b, "TRANSFER").await;
    ok(
        &app,
        county.token("b_staff"),
        "objectReferral",
        json!({"referralId": second, "reason": "不属于人社局职能"}),
        "__typename",
    )
    .await;
    assert_eq!(
        next_of_kind(&mut ws, "OBJECTION").await["referral"],
        json!({"toUnit": {"name": "县人社局"}, "case": {"attachments": [{"fileName": "说明.pdf"}]}})
    );
}

#[tokio::test]
async fn bad_tokens_expired_tokens_and_foreign_origins_are_refused() {
    let app = spawn_app_with_origin().await;
    let county = fixtures::county(&app).await;
    // A garbage token: the socket closes with 4403.
    let mut bad = Ws::open(&app.url, "not-a-token", None)
        .await
        .expect("upgrade");
    match bad.next(Duration::from_secs(5)).await {
        WsEvent::Closed(code) => assert_eq!(code, 4403),
        _ => panic!("expected a close"),
    }
    // An allowed origin connects; a foreign one is refused at the upgrade.
    assert!(
        Ws::open(
            &app.url,
            county.token("a_staff"),
            Some("https://desk.example.gov.cn")
        )
        .await
        .is_ok()
    );
    assert_eq!(
        Ws::open(
            &app.url,
            county.token("a_staff"),
            Some("https://evil.example")
        )
        .await
        .err(),
        Some(403)
    );
    // The socket closes with 4401 once the access token expires.
    let mut ws = open(&app, county.token("a_staff")).await;
    ws.subscribe("1", INBOX, json!({})).await;
    app.state.clock.advance(chrono::TimeDelta::minutes(16));
    match ws.next(Duration::from_secs(5)).await {
        WsEvent::Closed(code) => assert_eq!(code, 4401),
        _ => panic!("expected a close"),
    }
}

async fn spawn_app_with_origin() -> TestApp {
    crate::support::spawn_app_with(&["--cors-origins", "https://desk.example.gov.cn"]).await
}

#[tokio::test]
async fn deadline_warnings_go_out_once_per_case_deadline_and_level() {
    // The scanners tick when the test says (`notices::scan`), not every second: a tick between
    // moving the clock and subscribing would send the warning before anyone listens.
    let app = crate::support::spawn_app_with(&["--deadline-scan-seconds", "3600"]).await;
    let mut county = fixtures::county(&app).await;
    // Received on a Monday, so acceptance falls due on a working day 15 days out (Tuesday
    // 17 March) whatever day the test runs: a deadline on a weekend moves to the Monday,
    // and the window below would then open a day later.
    let monday = chrono::DateTime::parse_from_rfc3339("2026-03-02T02:00:00Z").unwrap();
    assert!(app.state.clock.set(monday.to_utc()));
    county.renew(&app).await;
    let (_, number) = fixtures::register(&app, county.token("a_staff"), json!({})).await;
    // Two days before the deadline, the case enters warning.
    app.advance_days(13);
    county.renew(&app).await;
    let mut ws = open(&app, county.token("a_staff")).await;
    ws.subscribe("1", INBOX, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await; // the subscription is in place
    let sent = xinfang_api::notices::scan(&app.state).await.unwrap();
    assert_eq!(sent, 1, "one case enters warning");
    let warning = ws
        .next_data(Duration::from_secs(15))
        .await
        .expect("a warning");
    assert_eq!(
        warning["inbox"],
        json!({"kind": "DEADLINE_WARNING", "action": "DEADLINE_WARNING", "caseNumber": number, "referral": null, "deadline": "ACCEPTANCE"})
    );
    // Another tick, and a second server process on the same database, do not send it again.
    let second = xinfang_api::cli::build_state(app.state.settings.clone(), app.state.clock.clone())
        .await
        .unwrap();
    let (server, _) = xinfang_api::cli::start_server(second.clone(), "127.0.0.1:0").unwrap();
    tokio::spawn(server);
    assert_eq!(xinfang_api::notices::scan(&app.state).await.unwrap(), 0);
    assert_eq!(xinfang_api::notices::scan(&second).await.unwrap(), 0);
    assert!(
        ws.next_data(Duration::from_millis(1500)).await.is_none(),
        "no repeat across ticks or processes"
    );
    // Past the deadline: both processes tick at once, and one overdue notice is claimed.
    app.advance_days(3);
    let (a, b) = tokio::join!(
        xinfang_api::notices::scan(&app.state),
        xinfang_api::notices::scan(&second)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1, "exactly one process claims it");
    use sea_orm::EntityTrait;
    let notices = xinfang_entity::deadline_notice::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    let count = |level: &str| notices.iter().filter(|n| n.level == level).count();
    assert_eq!(
        (count("WARNING"), count("OVERDUE")),
        (1, 1),
        "one notice per level: {notices:?}"
    );
}

#[tokio::test]
async fn events_cross_server_processes_through_postgresql() {
    let app = spawn_app().await;
    if !app.on_postgres() {
        // One SQLite process has no one to talk to; the in-process bus is covered above.
        return;
    }
    let county = fixtures::county(&app).await;
    let (id, _) = fixtures::register(&app, county.token("bureau_staff"), json!({})).await;
    let mut processes = vec![];
    let mut urls = vec![];
    for _ in 0..2 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_xinfang"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &app.db_url,
                "--jwt-secret",
                crate::support::SECRET,
            ])
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        processes.push(crate::support::Running(child));
        urls.push(format!("http://127.0.0.1:{port}"));
    }
    for url in &urls {
        let up = crate::support::answers_ok(&format!("{url}/readyz")).await;
        assert!(up, "{url} did not start");
    }
    // Subscribe on the first process; transfer through the second.
    let mut ws = Ws::open(&urls[0], county.token("b_staff"), None)
        .await
        .unwrap();
    ws.acked().await;
    ws.subscribe("1", INBOX, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = version(&app, county.token("bureau_staff"), &id).await;
    let body = app
        .client
        .post(format!("{}/graphql", urls[1]))
        .bearer_auth(county.token("bureau_staff"))
        .json(&json!({"query": "mutation($i: TransferCaseInput!) { transferCase(input: $i) { referral { id } } }",
            "variables": {"i": {"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.dept_b), "mode": "TRANSFER", "reason": "跨进程"}}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(body["errors"].is_null(), "{body}");
    let item = ws
        .next_data(Duration::from_secs(5))
        .await
        .expect("the event crossed processes");
    assert_eq!(item["inbox"]["kind"], "REFERRAL");
}

#[tokio::test]
async fn a_socket_closes_when_its_session_is_revoked() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let mut ws = open(&app, county.token("a_staff")).await;
    ws.subscribe("1", INBOX, json!({})).await;
    ok(
        &app,
        county.token("county_admin"),
        "deactivateUser",
        json!({"id": gid("User", county.user("a_staff"))}),
        "user { active }",
    )
    .await;
    match ws.next(Duration::from_secs(8)).await {
        WsEvent::Closed(code) => assert_eq!(code, 4401),
        _ => panic!("the socket of a deactivated account must close"),
    }
}
