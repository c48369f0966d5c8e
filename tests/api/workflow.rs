//! The statutory workflow (issue: workflow): deadlines, every transition and its refusals,
//! concurrency, and the tamper-evident record.

use crate::fixtures::{self, County, mutate, ok};
use crate::support::{TestApp, code, field, gid, spawn_app};
use serde_json::{Value, json};

const CASE: &str = "query($id: ID!) { case(id: $id) { status version dueAt overdue warning
    deadlines { acceptBy handleBy reviewRequestBy decideBy } leadUnit { name }
    timeline { totalCount nodes { action public } } } }";

async fn case(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app.gql(Some(token), CASE, json!({"id": id})).await;
    assert!(body["data"]["case"].is_object(), "{body}");
    body["data"]["case"].clone()
}

fn version(c: &Value) -> i64 {
    c["version"].as_i64().unwrap()
}

/// A case registered by and led by 县住建局 (dept_a), about 东关镇.
async fn dept_case(app: &TestApp, county: &County) -> String {
    fixtures::register(
        app,
        county.token("a_staff"),
        json!({"townshipId": gid("OrgUnit", county.t1)}),
    )
    .await
    .0
}

async fn accept(app: &TestApp, token: &str, id: &str) -> Value {
    let v = version(&case(app, token, id).await);
    ok(
        app,
        token,
        "decideAcceptance",
        json!({"caseId": id, "expectedVersion": v, "decision": "ACCEPT"}),
        "case { status version }",
    )
    .await
}

/// Signs the reply and hands it over in person at once (the window starts now).
async fn reply(app: &TestApp, token: &str, id: &str) -> Value {
    reply_delivered(app, token, id, Some("IN_PERSON")).await
}

async fn reply_delivered(app: &TestApp, token: &str, id: &str, by: Option<&str>) -> Value {
    let v = version(&case(app, token, id).await);
    ok(
        app,
        token,
        "issueReply",
        json!({"caseId": id, "expectedVersion": v, "outcome": "PARTIALLY_SUPPORTED", "facts": "经查，补偿款已发放80%。", "reasons": "剩余部分待审计。", "basis": "《国有土地上房屋征收与补偿条例》", "deliveredBy": by}),
        "case { status }",
    )
    .await
}

fn pin(app: &TestApp, rfc3339: &str) {
    let at = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .to_utc();
    assert!(app.state.clock.set(at));
}

/// What `viewerCan` offers `who` on the case: (requestExtension, decideExtension).
async fn extension_buttons(app: &TestApp, county: &County, who: &str, id: &str) -> (bool, bool) {
    let body = app
        .gql(
            Some(county.token(who)),
            "query($id: ID!) { case(id: $id) { viewerCan { requestExtension decideExtension } } }",
            json!({"id": id}),
        )
        .await;
    let can = &body["data"]["case"]["viewerCan"];
    match (
        can["requestExtension"].as_bool(),
        can["decideExtension"].as_bool(),
    ) {
        (Some(request), Some(decide)) => (request, decide),
        _ => panic!("{body}"),
    }
}

async fn request_extension(app: &TestApp, county: &County, who: &str, id: &str) -> Value {
    mutate(
        app,
        county.token(who),
        "requestExtension",
        json!({"caseId": id, "days": 10, "reason": "需现场勘验"}),
        "extension { id }",
    )
    .await
}

/// `viewerCan.requestExtension` and `viewerCan.decideExtension` say yes exactly when the
/// mutation would go on to write: a decision needs a request waiting that the leader did not
/// make; a request needs no other request waiting and the handling deadline not yet passed.
#[tokio::test]
async fn extension_buttons_show_exactly_when_the_mutations_would_act() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    accept(&app, county.token("a_staff"), &id).await;
    // Nothing waits: the leader has nothing to decide.
    assert_eq!(
        extension_buttons(&app, &county, "a_leader", &id).await,
        (true, false)
    );
    // The staff member asks; the leader may decide, the staff member may not.
    let asked = request_extension(&app, &county, "a_staff", &id).await;
    let by_staff = asked["data"]["requestExtension"]["extension"]["id"].clone();
    assert!(by_staff.is_string(), "{asked}");
    // One request waits at a time: no one is offered a second.
    assert_eq!(
        extension_buttons(&app, &county, "a_leader", &id).await,
        (false, true)
    );
    assert_eq!(
        extension_buttons(&app, &county, "a_staff", &id).await,
        (false, false)
    );
    let second = request_extension(&app, &county, "a_leader", &id).await;
    assert_eq!(code(&second), Some("CONFLICT"), "{second}");
    ok(
        &app,
        county.token("a_leader"),
        "decideExtension",
        json!({"extensionId": by_staff, "approve": false}),
        "__typename",
    )
    .await;
    assert_eq!(
        extension_buttons(&app, &county, "a_leader", &id).await,
        (true, false)
    );
    // The leader's own request is not theirs to approve: no button, and the mutation agrees.
    let asked = request_extension(&app, &county, "a_leader", &id).await;
    let own = asked["data"]["requestExtension"]["extension"]["id"].clone();
    assert!(own.is_string(), "{asked}");
    assert!(!extension_buttons(&app, &county, "a_leader", &id).await.1);
    let refused = mutate(
        &app,
        county.token("a_leader"),
        "decideExtension",
        json!({"extensionId": own, "approve": true}),
        "__typename",
    )
    .await;
    assert_eq!(code(&refused), Some("FORBIDDEN"), "{refused}");
    // Past the handling deadline no extension may be asked: no button, and the mutation agrees.
    app.advance_days(90);
    county.renew(&app).await;
    assert!(!extension_buttons(&app, &county, "a_staff", &id).await.0);
    let late = request_extension(&app, &county, "a_staff", &id).await;
    assert_eq!(code(&late), Some("DEADLINE_PASSED"), "{late}");
}

#[tokio::test]
async fn the_life_of_a_typical_case_end_to_end() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    pin(&app, "2026-11-02T02:00:00Z"); // Monday 10:00 in China
    county.renew(&app).await;
    // 1. A citizen submits online; it lands at the bureau.
    let signup = app
        .gql(None, "mutation($i: RegisterPetitionerInput!) { registerPetitioner(input: $i) { accessToken } }",
            json!({"i": {"username": "citizen", "password": "citizen password", "name": "李四", "phone": "13912345678", "idNumber": "440524188001010014"}}))
        .await;
    let citizen = signup["data"]["registerPetitioner"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let submitted = ok(&app, &citizen, "submitPetition",
        json!({"category": "APPEAL", "subject": "HOUSING_DEMOLITION", "title": "拆迁补偿款未足额发放", "content": "请求足额发放。", "townshipId": gid("OrgUnit", county.t1)}),
        "case { id version }").await;
    let id = submitted["case"]["id"].as_str().unwrap().to_string();
    let bureau = county.token("bureau_staff");

    // 2. The bureau assigns it to the township with a report deadline.
    let assigned = ok(&app, bureau, "transferCase",
        json!({"caseId": id, "expectedVersion": 1, "toUnitId": gid("OrgUnit", county.t1), "mode": "ASSIGN", "reason": "属地管理", "reportDueAt": "2026-12-31T09:00:00Z"}),
        "referral { mode status toUnit { name } reportDueAt } case { status leadUnit { name } }").await;
    assert_eq!(assigned["referral"]["toUnit"]["name"], "东关镇");
    assert_eq!(
        assigned["case"]["leadUnit"]["name"], "东关镇",
        "the bureau still sees it"
    );
    let t1 = county.token("t1_staff");
    // Fresh acceptance clock from the arrival: Nov 2 + 15 = Nov 17 (Tuesday).
    assert_eq!(
        case(&app, t1, &id).await["deadlines"]["acceptBy"],
        "2026-11-17T15:59:59.999Z"
    );

    // 3. The township accepts: 60 days from Nov 2 is Jan 1 2027 (a Friday).
    let accepted = accept(&app, t1, &id).await;
    assert_eq!(accepted["case"]["status"], "IN_PROGRESS");
    assert_eq!(
        case(&app, t1, &id).await["deadlines"]["handleBy"],
        "2027-01-01T15:59:59.999Z"
    );

    // 4. An assisting department gives its opinion.
    ok(
        &app,
        bureau,
        "addAssistingUnit",
        json!({"caseId": id, "unitId": gid("OrgUnit", county.dept_a)}),
        "case { id }",
    )
    .await;
    ok(
        &app,
        county.token("a_staff"),
        "addAssistingOpinion",
        json!({"caseId": id, "text": "补偿标准符合规定。"}),
        "case { id }",
    )
    .await;

    // 5. Progress notes, one public; an extension asked by staff and approved by the leader.
    ok(
        &app,
        t1,
        "addProgressNote",
        json!({"caseId": id, "text": "已约谈拆迁办。", "internal": false}),
        "case { id }",
    )
    .await;
    ok(
        &app,
        t1,
        "addProgressNote",
        json!({"caseId": id, "text": "内部：经费待批。"}),
        "case { id }",
    )
    .await;
    let ext = ok(
        &app,
        t1,
        "requestExtension",
        json!({"caseId": id, "days": 10, "reason": "需等待审计结果"}),
        "extension { id status }",
    )
    .await;
    let ext_id = ext["extension"]["id"].as_str().unwrap();
    let decided = ok(
        &app,
        county.token("t1_leader"),
        "decideExtension",
        json!({"extensionId": ext_id, "approve": true}),
        "extension { status } case { deadlines { handleBy } }",
    )
    .await;
    assert_eq!(decided["extension"]["status"], "APPROVED");
    // Jan 1 2027 + 10 days = Jan 11 (Monday).
    assert_eq!(
        decided["case"]["deadlines"]["handleBy"],
        "2027-01-11T15:59:59.999Z"
    );

    // 6. The bureau supervises; the township answers.
    let sup = ok(
        &app,
        bureau,
        "issueSupervision",
        json!({"caseId": id, "text": "请加快办理", "dueAt": "2026-11-20T09:00:00Z"}),
        "supervision { id }",
    )
    .await;
    ok(
        &app,
        t1,
        "answerSupervision",
        json!({"supervisionId": sup["supervision"]["id"], "text": "已加快。"}),
        "supervision { answer }",
    )
    .await;

    // 7. The assignment's completion report: a reply before approval is refused.
    let early = mutate(&app, county.token("t1_leader"), "issueReply",
        json!({"caseId": id, "expectedVersion": version(&case(&app, t1, &id).await), "outcome": "SUPPORTED", "facts": "f", "reasons": "r", "basis": "b"}), "case { id }").await;
    assert_eq!(code(&early), Some("INVALID_TRANSITION"));
    let report = ok(
        &app,
        t1,
        "fileCompletionReport",
        json!({"caseId": id, "text": "已办结，补偿款足额发放。"}),
        "report { id } case { status }",
    )
    .await;
    assert_eq!(report["case"]["status"], "REPORTED");
    let approved = ok(
        &app,
        bureau,
        "decideCompletionReport",
        json!({"reportId": report["report"]["id"], "approve": true}),
        "report { status } case { status }",
    )
    .await;
    assert_eq!(approved["case"]["status"], "IN_PROGRESS");

    // 8. The township leader signs the reply; the review body is the county.
    reply_delivered(&app, county.token("t1_leader"), &id, None).await;
    let replied = app.gql(Some(&citizen), "query($id: ID!) { case(id: $id) { status reply { outcome signedBy unit { name } reviewBody { name } reviewRequestBy } } }", json!({"id": id})).await;
    assert_eq!(
        replied["data"]["case"]["reply"]["reviewBody"]["name"],
        "清河县"
    );
    assert_eq!(
        replied["data"]["case"]["reply"]["signedBy"],
        Value::Null,
        "petitioners see the signing unit, not the signer"
    );
    // The window runs from delivery (送达): nothing runs until the reply reaches the citizen,
    // and a review cannot be asked for an undelivered reply.
    assert_eq!(
        replied["data"]["case"]["reply"]["reviewRequestBy"],
        Value::Null
    );
    let undelivered = mutate(
        &app,
        &citizen,
        "requestReview",
        json!({"caseId": id, "reason": "不服"}),
        "case { id }",
    )
    .await;
    assert_eq!(
        code(&undelivered),
        Some("INVALID_TRANSITION"),
        "{undelivered}"
    );
    // The citizen opens it in the app: that is its delivery.
    let opened = ok(&app, &citizen, "recordDelivery", json!({"caseId": id, "method": "IN_APP"}),
        "case { viewerCan { recordDelivery requestReview } reply { deliveredAt deliveryMethod reviewRequestBy } }").await;
    assert_eq!(
        opened["case"]["reply"]["reviewRequestBy"],
        "2026-12-02T15:59:59.999Z"
    );
    assert_eq!(opened["case"]["reply"]["deliveryMethod"], "IN_APP");
    assert_eq!(
        opened["case"]["viewerCan"],
        json!({"recordDelivery": false, "requestReview": true})
    );
    let twice = mutate(
        &app,
        &citizen,
        "recordDelivery",
        json!({"caseId": id, "method": "IN_APP"}),
        "case { id }",
    )
    .await;
    assert_eq!(code(&twice), Some("CONFLICT"), "{twice}");

    // 9. The citizen is dissatisfied and asks for a review; the county upholds the reply.
    ok(
        &app,
        &citizen,
        "evaluateCase",
        json!({"caseId": id, "satisfaction": "DISSATISFIED", "comment": "金额不对"}),
        "case { id }",
    )
    .await;
    let again = mutate(
        &app,
        &citizen,
        "evaluateCase",
        json!({"caseId": id, "satisfaction": "SATISFIED"}),
        "case { id }",
    )
    .await;
    assert_eq!(code(&again), Some("CONFLICT"), "one evaluation per case");
    let review = ok(
        &app,
        &citizen,
        "requestReview",
        json!({"caseId": id, "reason": "补偿金额计算有误"}),
        "case { status }",
    )
    .await;
    assert_eq!(review["case"]["status"], "UNDER_REVIEW");
    let county_staff = county.token("county_staff");
    let v = version(&case(&app, county_staff, &id).await);
    ok(&app, county_staff, "decideReview", json!({"caseId": id, "expectedVersion": v, "decision": "UPHOLD", "text": "维持原处理意见。"}), "case { status }").await;
    // The county posts its decision; the re-review window runs from its delivery.
    ok(
        &app,
        county_staff,
        "recordDelivery",
        json!({"caseId": id, "method": "POST", "trackingNumber": "EMS1000000001"}),
        "case { status }",
    )
    .await;

    // 10. The re-review window lapses; the lead unit closes the case.
    let v = version(&case(&app, t1, &id).await);
    let too_early = mutate(
        &app,
        t1,
        "closeCase",
        json!({"caseId": id, "expectedVersion": v}),
        "case { id }",
    )
    .await;
    assert_eq!(code(&too_early), Some("INVALID_TRANSITION"), "{too_early}");
    app.advance_days(31);
    county.renew(&app).await;
    let t1 = county.token("t1_staff");
    let bureau = county.token("bureau_staff");
    let closed = ok(
        &app,
        t1,
        "closeCase",
        json!({"caseId": id, "expectedVersion": v}),
        "case { status }",
    )
    .await;
    assert_eq!(closed["case"]["status"], "CLOSED");

    // The record: every step, intact; the citizen sees only the public steps.
    let staff_view = case(&app, bureau, &id).await;
    let actions: Vec<&str> = staff_view["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "REGISTER",
            "ASSIGN",
            "ACCEPT",
            "ASSISTING_UNIT_ADDED",
            "ASSISTING_OPINION",
            "PROGRESS_NOTE",
            "PROGRESS_NOTE",
            "EXTENSION_REQUESTED",
            "EXTENSION_APPROVED",
            "SUPERVISION_ISSUED",
            "SUPERVISION_ANSWERED",
            "COMPLETION_REPORT_FILED",
            "COMPLETION_REPORT_APPROVED",
            "REPLY",
            "DELIVERED",
            "EVALUATE",
            "REVIEW_REQUESTED",
            "REVIEW_DECIDED",
            "DELIVERED",
            "CLOSE",
        ]
    );
    let relogin = app.gql(None, "mutation { login(input: {username: \"citizen\", password: \"citizen password\"}) { accessToken } }", json!({})).await;
    let citizen = relogin["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let citizen_view = app.gql(Some(&citizen), "query($id: ID!) { case(id: $id) { timeline { nodes { action } } supervisions { id } completionReports { id } extensions { reason } } }", json!({"id": id})).await;
    let public: Vec<&str> = citizen_view["data"]["case"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        public,
        [
            "REGISTER",
            "ASSIGN",
            "ACCEPT",
            "PROGRESS_NOTE",
            "EXTENSION_APPROVED",
            "REPLY",
            "DELIVERED",
            "EVALUATE",
            "REVIEW_REQUESTED",
            "REVIEW_DECIDED",
            "DELIVERED",
            "CLOSE"
        ]
    );
    assert_eq!(citizen_view["data"]["case"]["supervisions"], json!([]));
    assert_eq!(citizen_view["data"]["case"]["completionReports"], json!([]));
    assert_eq!(
        citizen_view["data"]["case"]["extensions"],
        json!([{"reason": "需等待审计结果"}]),
        "the extension's reason is shown to the petitioner"
    );
    // Units' reasons for handing the case on stay between the units.
    let handed = app
        .gql(Some(&citizen), "query($id: ID!) { case(id: $id) { referrals { reason toUnit { name } } timeline(first: 2) { nodes { action detail } } } }", json!({"id": id}))
        .await;
    assert_eq!(
        handed["data"]["case"]["referrals"],
        json!([{"reason": null, "toUnit": {"name": "东关镇"}}])
    );
    let assign_detail = handed["data"]["case"]["timeline"]["nodes"][1]["detail"]
        .as_str()
        .unwrap();
    assert!(!assign_detail.contains("属地管理"), "{assign_detail}");
    let integrity = app
        .gql(
            Some(bureau),
            "query($id: ID!) { auditIntegrity(caseId: $id) { intact entries brokenAtSeq } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        integrity["data"]["auditIntegrity"],
        json!({"intact": true, "entries": 20, "brokenAtSeq": null})
    );
}

#[tokio::test]
async fn refusals_name_their_reason_and_change_nothing() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    let before = case(&app, county.token("a_staff"), &id).await;
    let v = version(&before);
    let decide =
        |version: i64| json!({"caseId": id, "expectedVersion": version, "decision": "ACCEPT"});
    let reply_input = json!({"caseId": id, "expectedVersion": v, "outcome": "SUPPORTED", "facts": "f", "reasons": "r", "basis": "b"});
    #[rustfmt::skip]
    let refusals: Vec<(&str, &str, Value, &str)> = vec![
        ("b_staff",      "decideAcceptance", decide(v),     "NOT_FOUND"),          // unrelated: cannot see it
        ("t1_staff",     "decideAcceptance", decide(v),     "FORBIDDEN"),          // territory sees, may not act
        ("county_staff", "decideAcceptance", decide(v),     "FORBIDDEN"),          // oversight sees, may not act
        ("t2_staff",     "decideAcceptance", decide(v),     "NOT_FOUND"),          // cannot even see it
        ("county_admin", "decideAcceptance", decide(v),     "NOT_FOUND"),
        ("a_staff",      "decideAcceptance", decide(v + 1), "CONFLICT"),           // stale version
        ("a_leader",     "issueReply",       reply_input.clone(), "INVALID_TRANSITION"), // not accepted yet
        ("a_staff",      "issueReply",       reply_input,   "FORBIDDEN"),          // a reply signed by STAFF
        ("a_staff",      "requestReview",    json!({"caseId": id, "reason": "x"}), "INVALID_TRANSITION"),
        ("a_staff",      "decideAcceptance", json!({"caseId": id, "expectedVersion": v, "decision": "DECLINE"}), "BAD_USER_INPUT"),
        ("a_staff",      "decideAcceptance", json!({"caseId": id, "expectedVersion": v, "decision": "REDIRECT_TO_LEGAL_ROUTE"}), "BAD_USER_INPUT"),
        ("bureau_staff", "issueSupervision", json!({"caseId": id, "text": "x", "dueAt": "2020-01-01T00:00:00Z"}), "BAD_USER_INPUT"),
        ("a_staff",      "issueSupervision", json!({"caseId": id, "text": "x", "dueAt": "2099-01-01T00:00:00Z"}), "FORBIDDEN"),
        ("a_staff",      "takeLeaderOwnership", fixtures::owning(&app, &id, 30), "FORBIDDEN"),   // STAFF
        ("a_staff",      "transferCase",     json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.dept_a), "mode": "TRANSFER", "reason": "x"}), "BAD_USER_INPUT"),
    ];
    for (who, name, input, expected) in refusals {
        let body = mutate(&app, county.token(who), name, input, "__typename").await;
        assert_eq!(code(&body), Some(expected), "{who} {name}: {body}");
    }
    let invalid = mutate(&app, county.token("a_leader"), "issueReply",
        json!({"caseId": id, "expectedVersion": v, "outcome": "SUPPORTED", "facts": "f", "reasons": "r", "basis": "b"}), "__typename").await;
    assert_eq!(invalid["errors"][0]["extensions"]["status"], "REGISTERED");
    assert_eq!(invalid["errors"][0]["extensions"]["action"], "issueReply");
    let after = case(&app, county.token("a_staff"), &id).await;
    assert_eq!(after, before, "no refusal changed the case or its record");
}

#[tokio::test]
async fn two_concurrent_updates_with_one_version_one_wins() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    let mut tasks = vec![];
    for (who, decision) in [
        ("a_staff", "ACCEPT"),
        ("a_leader", "DECLINE"),
        ("a_staff", "ACCEPT"),
        ("a_leader", "DECLINE"),
    ] {
        let (client, url, token, id) = (
            app.client.clone(),
            app.url.clone(),
            county.token(who).to_string(),
            id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let q = "mutation($i: DecideAcceptanceInput!) { decideAcceptance(input: $i) { case { status } } }";
            let input = json!({"caseId": id, "expectedVersion": 1, "decision": decision, "reason": "不属于本单位职权范围"});
            client.post(format!("{url}/graphql")).bearer_auth(token).json(&json!({"query": q, "variables": {"i": input}})).send().await.unwrap().json::<Value>().await.unwrap()
        }));
    }
    let mut wins = 0;
    let mut conflicts = 0;
    for t in tasks {
        let body = t.await.unwrap();
        match code(&body) {
            None => wins += 1,
            Some("CONFLICT") => conflicts += 1,
            other => panic!("unexpected {other:?}: {body}"),
        }
    }
    assert_eq!((wins, conflicts), (1, 3));
    let after = case(&app, county.token("a_staff"), &id).await;
    assert_eq!(after["version"], 2);
    assert_eq!(after["timeline"]["totalCount"], 2, "one decision recorded");
}

#[tokio::test]
async fn extensions_total_at_most_thirty_days_and_are_approved_by_another_leader() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    accept(&app, county.token("a_staff"), &id).await;
    let request = |days: i64| json!({"caseId": id, "days": days, "reason": "需现场勘查"});
    let sel = "extension { id }";
    // A LEADER asks; the same LEADER may not approve; STAFF may not approve at all.
    let first = ok(
        &app,
        county.token("a_leader"),
        "requestExtension",
        request(20),
        sel,
    )
    .await;
    let ext = first["extension"]["id"].clone();
    let second_pending = mutate(
        &app,
        county.token("a_staff"),
        "requestExtension",
        request(5),
        sel,
    )
    .await;
    assert_eq!(
        code(&second_pending),
        Some("CONFLICT"),
        "one pending at a time"
    );
    let own = mutate(
        &app,
        county.token("a_leader"),
        "decideExtension",
        json!({"extensionId": ext, "approve": true}),
        "__typename",
    )
    .await;
    assert_eq!(code(&own), Some("FORBIDDEN"), "self-approval: {own}");
    let by_staff = mutate(
        &app,
        county.token("a_staff"),
        "decideExtension",
        json!({"extensionId": ext, "approve": true}),
        "__typename",
    )
    .await;
    assert_eq!(code(&by_staff), Some("FORBIDDEN"));
    // Another leader of the unit approves.
    let second_leader = {
        let s = &app.state;
        let admin = app.viewer(county.user("county_admin")).await;
        let created = xinfang_api::identity::create_user(
            &s.db,
            &s.auth,
            &s.clock,
            &admin,
            xinfang_api::identity::NewUser {
                username: "a_leader2".into(),
                password: crate::support::PASSWORD.into(),
                display_name: "副局长".into(),
                org_unit_id: county.dept_a,
                role: xinfang_api::domain::Role::Leader,
            },
        )
        .await
        .unwrap();
        app.token_for(created.id).await
    };
    ok(
        &app,
        &second_leader,
        "decideExtension",
        json!({"extensionId": ext, "approve": true}),
        "__typename",
    )
    .await;
    // 20 granted: 11 more would exceed 30; 10 is fine.
    let too_many = mutate(
        &app,
        county.token("a_staff"),
        "requestExtension",
        request(11),
        sel,
    )
    .await;
    assert_eq!(
        (code(&too_many), field(&too_many)),
        (Some("BAD_USER_INPUT"), Some("days"))
    );
    let out_of_range = mutate(
        &app,
        county.token("a_staff"),
        "requestExtension",
        request(31),
        sel,
    )
    .await;
    assert_eq!(field(&out_of_range), Some("days"));
    let last = ok(
        &app,
        county.token("a_staff"),
        "requestExtension",
        request(10),
        sel,
    )
    .await;
    let rejected = ok(
        &app,
        county.token("a_leader"),
        "decideExtension",
        json!({"extensionId": last["extension"]["id"], "approve": false, "note": "理由不充分"}),
        "extension { status }",
    )
    .await;
    assert_eq!(rejected["extension"]["status"], "REJECTED");
    // After the handling deadline has passed, no more requests.
    app.advance_days(100);
    county.renew(&app).await;
    let late = mutate(
        &app,
        county.token("a_staff"),
        "requestExtension",
        request(5),
        sel,
    )
    .await;
    assert_eq!(code(&late), Some("DEADLINE_PASSED"));
}

#[tokio::test]
async fn windows_close_after_thirty_days() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    accept(&app, county.token("a_staff"), &id).await;
    reply(&app, county.token("a_leader"), &id).await;
    app.advance_days(35);
    county.renew(&app).await;
    let review = mutate(
        &app,
        county.token("bureau_staff"),
        "requestReview",
        json!({"caseId": id, "reason": "代为申请"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&review), Some("DEADLINE_PASSED"));
    let evaluation = mutate(
        &app,
        county.token("bureau_staff"),
        "evaluateCase",
        json!({"caseId": id, "satisfaction": "SATISFIED", "onBehalf": true}),
        "__typename",
    )
    .await;
    assert_eq!(code(&evaluation), Some("DEADLINE_PASSED"));
    // Once the window has lapsed the case may close.
    let v = version(&case(&app, county.token("a_staff"), &id).await);
    ok(
        &app,
        county.token("a_staff"),
        "closeCase",
        json!({"caseId": id, "expectedVersion": v}),
        "case { status }",
    )
    .await;
}

#[tokio::test]
async fn a_satisfied_petitioner_lets_the_case_close_at_once_and_staff_evaluate_on_behalf() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    accept(&app, county.token("a_staff"), &id).await;
    reply(&app, county.token("a_leader"), &id).await;
    let not_marked = mutate(
        &app,
        county.token("a_staff"),
        "evaluateCase",
        json!({"caseId": id, "satisfaction": "SATISFIED"}),
        "__typename",
    )
    .await;
    assert_eq!(
        (code(&not_marked), field(&not_marked)),
        (Some("BAD_USER_INPUT"), Some("onBehalf"))
    );
    let rated = ok(
        &app,
        county.token("a_staff"),
        "evaluateCase",
        json!({"caseId": id, "satisfaction": "BASICALLY_SATISFIED", "onBehalf": true}),
        "case { evaluation { satisfaction onBehalf } viewerCan { close } }",
    )
    .await;
    assert_eq!(
        rated["case"]["evaluation"],
        json!({"satisfaction": "BASICALLY_SATISFIED", "onBehalf": true})
    );
    assert_eq!(rated["case"]["viewerCan"]["close"], true);
    let v = version(&case(&app, county.token("a_staff"), &id).await);
    ok(
        &app,
        county.token("a_staff"),
        "closeCase",
        json!({"caseId": id, "expectedVersion": v}),
        "case { status }",
    )
    .await;
}

#[tokio::test]
async fn deadlines_follow_the_calendar_and_cases_show_warning_then_overdue() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    // National Day 2026: Oct 1–7 off; Sep 27 (Sunday) and Oct 10 (Saturday) are working days.
    let mut days: Vec<Value> = (1..=7)
        .map(|d| json!({"date": format!("2026-10-0{d}"), "working": false, "note": "国庆节"}))
        .collect();
    days.push(json!({"date": "2026-09-27", "working": true, "note": "调休"}));
    days.push(json!({"date": "2026-10-10", "working": true, "note": "调休"}));
    let set = mutate(
        &app,
        county.token("county_admin"),
        "setCalendarDays",
        json!({"days": days}),
        "days { date }",
    )
    .await;
    assert!(set["errors"].is_null(), "{set}");
    let by_township_admin = mutate(
        &app,
        county.token("t1_admin"),
        "setCalendarDays",
        json!({"days": [{"date": "2026-12-01", "working": false}]}),
        "days { date }",
    )
    .await;
    assert_eq!(code(&by_township_admin), Some("FORBIDDEN"));

    pin(&app, "2026-09-16T04:00:00Z"); // Wednesday, noon in China
    county.renew(&app).await;
    let id = dept_case(&app, &county).await;
    // Sep 16 + 15 = Oct 1, a holiday: the deadline rolls to Thursday Oct 8.
    assert_eq!(
        case(&app, county.token("a_staff"), &id).await["deadlines"]["acceptBy"],
        "2026-10-08T15:59:59.999Z"
    );
    // Objection window of a transfer: 5 working days from Wednesday Sep 16 → Wednesday Sep 23.
    let v = version(&case(&app, county.token("a_staff"), &id).await);
    let moved = ok(&app, county.token("a_staff"), "transferCase",
        json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.dept_b), "mode": "TRANSFER", "reason": "属人社局职能"}),
        "referral { objectBy }").await;
    assert_eq!(moved["referral"]["objectBy"], "2026-09-23T15:59:59.999Z");
    let b = county.token("b_staff");
    // Accepting on Sep 16: 60 days → Nov 15, a Sunday → Monday Nov 16.
    accept(&app, b, &id).await;
    assert_eq!(
        case(&app, b, &id).await["deadlines"]["handleBy"],
        "2026-11-16T15:59:59.999Z"
    );

    // A fresh case, to watch its acceptance deadline (Oct 8) approach.
    let (fresh, _) = fixtures::register(&app, county.token("b_staff"), json!({})).await;
    pin(&app, "2026-10-06T04:00:00Z");
    county.renew(&app).await;
    let b = county.token("b_staff");
    let c = case(&app, b, &fresh).await;
    assert_eq!(
        (c["warning"].clone(), c["overdue"].clone()),
        (json!(true), json!(false))
    );
    pin(&app, "2026-10-09T04:00:00Z");
    county.renew(&app).await;
    let b = county.token("b_staff");
    let c = case(&app, b, &fresh).await;
    assert_eq!(
        (c["warning"].clone(), c["overdue"].clone()),
        (json!(false), json!(true))
    );
    let overdue = app
        .gql(
            Some(b),
            "{ cases(filter: {overdue: true}) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(overdue["data"]["cases"]["nodes"], json!([{"id": fresh}]));
}

#[tokio::test]
async fn declines_redirects_and_finalized_repeats() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    let declined = ok(&app, county.token("a_staff"), "decideAcceptance",
        json!({"caseId": id, "expectedVersion": 1, "decision": "DECLINE", "reason": "已在诉讼程序中"}),
        "case { status acceptance { decision reason } dueAt }").await;
    assert_eq!(declined["case"]["status"], "NOT_ACCEPTED");
    assert_eq!(
        declined["case"]["acceptance"],
        json!({"decision": "DECLINE", "reason": "已在诉讼程序中"})
    );
    assert_eq!(declined["case"]["dueAt"], Value::Null);

    let (suggestion, _) = fixtures::register(
        &app,
        county.token("a_staff"),
        json!({"category": "SUGGESTION", "subject": "ENVIRONMENT"}),
    )
    .await;
    let wrong = mutate(&app, county.token("a_staff"), "decideAcceptance", json!({"caseId": suggestion, "expectedVersion": 1, "decision": "REDIRECT_TO_LEGAL_ROUTE", "legalRoute": "LITIGATION"}), "__typename").await;
    assert_eq!(
        (code(&wrong), field(&wrong)),
        (Some("BAD_USER_INPUT"), Some("decision"))
    );
    let (appeal, _) = fixtures::register(
        &app,
        county.token("a_staff"),
        json!({"subject": "LABOR_SOCIAL_SECURITY"}),
    )
    .await;
    let redirected = ok(&app, county.token("a_staff"), "decideAcceptance", json!({"caseId": appeal, "expectedVersion": 1, "decision": "REDIRECT_TO_LEGAL_ROUTE", "legalRoute": "ARBITRATION"}), "case { acceptance { legalRoute } }").await;
    assert_eq!(
        redirected["case"]["acceptance"]["legalRoute"],
        "ARBITRATION"
    );
}

#[tokio::test]
async fn handing_a_case_on_moves_responsibility_and_sight() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // Registered by the bureau and led by dept_a: dept_a's only relation is LEAD.
    let (id, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"leadUnitId": gid("OrgUnit", county.dept_a)}),
    )
    .await;
    let a = county.token("a_staff");
    let moved = ok(&app, a, "transferCase",
        json!({"caseId": id, "expectedVersion": 1, "toUnitId": gid("OrgUnit", county.dept_b), "mode": "TRANSFER", "reason": "属人社局职能"}),
        "referral { status fromUnit { name } toUnit { name } caseNumber } case { id }").await;
    assert_eq!(moved["referral"]["status"], "PENDING");
    assert_eq!(
        moved["case"],
        Value::Null,
        "the sender lost sight of the case at once"
    );
    assert_eq!(
        code(
            &app.gql(
                Some(a),
                "query($id: ID!) { case(id: $id) { id } }",
                json!({"id": id})
            )
            .await
        ),
        Some("NOT_FOUND")
    );
    let b = case(&app, county.token("b_staff"), &id).await;
    assert_eq!(
        (b["leadUnit"]["name"].clone(), b["status"].clone()),
        (json!("县人社局"), json!("REGISTERED"))
    );
    // The chain is kept on the case.
    let chain = app.gql(Some(county.token("bureau_staff")), "query($id: ID!) { case(id: $id) { referrals { mode fromUnit { name } toUnit { name } } } }", json!({"id": id})).await;
    assert_eq!(
        chain["data"]["case"]["referrals"],
        json!([{"mode": "TRANSFER", "fromUnit": {"name": "县住建局"}, "toUnit": {"name": "县人社局"}}])
    );

    // Refused destinations: the accused unit, a deactivated unit, another county.
    let (accusation, _) = fixtures::register(&app, county.token("bureau_staff"), json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1), "leadUnitId": gid("OrgUnit", county.discipline)})).await;
    let to = |unit: i64| json!({"caseId": accusation, "expectedVersion": 1, "toUnitId": gid("OrgUnit", unit), "mode": "TRANSFER", "reason": "x"});
    let accused = mutate(
        &app,
        county.token("disc_staff"),
        "transferCase",
        to(county.t1),
        "__typename",
    )
    .await;
    assert_eq!(
        (code(&accused), field(&accused)),
        (Some("BAD_USER_INPUT"), Some("toUnitId"))
    );
    app.gql(
        Some(county.token("county_admin")),
        "mutation($i: UpdateOrgUnitInput!) { updateOrgUnit(input: $i) { orgUnit { active } } }",
        json!({"i": {"id": gid("OrgUnit", county.t2), "active": false}}),
    )
    .await;
    let inactive = mutate(
        &app,
        county.token("disc_staff"),
        "transferCase",
        to(county.t2),
        "__typename",
    )
    .await;
    assert_eq!(field(&inactive), Some("toUnitId"));
    let other_county = {
        use sea_orm::{ActiveModelTrait, Set};
        xinfang_entity::org_unit::ActiveModel {
            name: Set("邻县".into()),
            kind: Set(xinfang_api::domain::OrgUnitKind::County),
            parent_id: Set(None),
            county_id: Set(None),
            petition_bureau: Set(false),
            bureau_of_county_id: Set(None),
            path: Set("/other/".into()),
            active: Set(true),
            created_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap()
        .id
    };
    let elsewhere = mutate(
        &app,
        county.token("disc_staff"),
        "transferCase",
        to(other_county),
        "__typename",
    )
    .await;
    assert_eq!(field(&elsewhere), Some("toUnitId"));
}

#[tokio::test]
async fn leader_ownership_and_assisting_opinions() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    let taken = ok(
        &app,
        county.token("a_leader"),
        "takeLeaderOwnership",
        fixtures::owning(&app, &id, 30),
        "case { leader { name unit { name } } }",
    )
    .await;
    assert_eq!(
        taken["case"]["leader"],
        json!({"name": "a_leader", "unit": {"name": "县住建局"}})
    );
    let again = mutate(
        &app,
        county.token("county_leader"),
        "takeLeaderOwnership",
        fixtures::owning(&app, &id, 30),
        "__typename",
    )
    .await;
    assert_eq!(code(&again), Some("CONFLICT"));
    // A county leader may take ownership of a case nobody owns.
    let other = dept_case(&app, &county).await;
    ok(
        &app,
        county.token("county_leader"),
        "takeLeaderOwnership",
        fixtures::owning(&app, &other, 30),
        "__typename",
    )
    .await;

    // Assisting: only the assisting unit gives opinions, once the case is being handled.
    ok(
        &app,
        county.token("a_staff"),
        "addAssistingUnit",
        json!({"caseId": id, "unitId": gid("OrgUnit", county.dept_b)}),
        "__typename",
    )
    .await;
    let twice = mutate(
        &app,
        county.token("a_staff"),
        "addAssistingUnit",
        json!({"caseId": id, "unitId": gid("OrgUnit", county.dept_b)}),
        "__typename",
    )
    .await;
    assert_eq!(code(&twice), Some("CONFLICT"));
    let lead_self = mutate(
        &app,
        county.token("a_staff"),
        "addAssistingUnit",
        json!({"caseId": id, "unitId": gid("OrgUnit", county.dept_a)}),
        "__typename",
    )
    .await;
    assert_eq!(field(&lead_self), Some("unitId"));
    let early = mutate(
        &app,
        county.token("b_staff"),
        "addAssistingOpinion",
        json!({"caseId": id, "text": "意见"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&early), Some("INVALID_TRANSITION"));
    accept(&app, county.token("a_staff"), &id).await;
    ok(
        &app,
        county.token("b_staff"),
        "addAssistingOpinion",
        json!({"caseId": id, "text": "社保缴费记录无误。"}),
        "__typename",
    )
    .await;
    let not_assisting = mutate(
        &app,
        county.token("t1_staff"),
        "addAssistingOpinion",
        json!({"caseId": id, "text": "x"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&not_assisting), Some("FORBIDDEN"));
    let note_by_assisting = mutate(
        &app,
        county.token("b_staff"),
        "addProgressNote",
        json!({"caseId": id, "text": "x"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&note_by_assisting), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_rejected_completion_report_returns_the_case_to_handling() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (id, _) = fixtures::register(&app, county.token("bureau_staff"), json!({})).await;
    ok(&app, county.token("bureau_staff"), "transferCase",
        json!({"caseId": id, "expectedVersion": 1, "toUnitId": gid("OrgUnit", county.dept_a), "mode": "ASSIGN", "reason": "交办"}), "__typename").await;
    accept(&app, county.token("a_staff"), &id).await;
    let report = ok(
        &app,
        county.token("a_staff"),
        "fileCompletionReport",
        json!({"caseId": id, "text": "已办结"}),
        "report { id }",
    )
    .await;
    let by_lead = mutate(
        &app,
        county.token("a_leader"),
        "decideCompletionReport",
        json!({"reportId": report["report"]["id"], "approve": true}),
        "__typename",
    )
    .await;
    assert_eq!(
        code(&by_lead),
        Some("FORBIDDEN"),
        "the bureau approves completion reports"
    );
    let rejected = ok(
        &app,
        county.token("bureau_leader"),
        "decideCompletionReport",
        json!({"reportId": report["report"]["id"], "approve": false, "note": "材料不全"}),
        "report { status note } case { status viewerCan { fileCompletionReport reply } }",
    )
    .await;
    assert_eq!(
        rejected["report"],
        json!({"status": "REJECTED", "note": "材料不全"})
    );
    assert_eq!(rejected["case"]["status"], "IN_PROGRESS");
    assert_eq!(
        rejected["case"]["viewerCan"],
        json!({"fileCompletionReport": false, "reply": false}),
        "the bureau neither reports nor replies"
    );
    let lead_can = app
        .gql(
            Some(county.token("a_leader")),
            "query($id: ID!) { case(id: $id) { viewerCan { fileCompletionReport reply } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        lead_can["data"]["case"]["viewerCan"],
        json!({"fileCompletionReport": true, "reply": false})
    );
}

#[tokio::test]
async fn the_record_is_append_only_and_tampering_is_detected() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let id = dept_case(&app, &county).await;
    accept(&app, county.token("a_staff"), &id).await;
    ok(
        &app,
        county.token("a_staff"),
        "addProgressNote",
        json!({"caseId": id, "text": "第一次约谈"}),
        "__typename",
    )
    .await;
    let q = "query($id: ID!) { auditIntegrity(caseId: $id) { intact entries brokenAtSeq reason } }";
    let bureau = county.token("bureau_staff");
    assert_eq!(
        app.gql(Some(bureau), q, json!({"id": id})).await["data"]["auditIntegrity"],
        json!({"intact": true, "entries": 3, "brokenAtSeq": null, "reason": null})
    );
    assert_eq!(
        code(
            &app.gql(Some(county.token("a_staff")), q, json!({"id": id}))
                .await
        ),
        Some("FORBIDDEN")
    );

    use sea_orm::ConnectionTrait;
    let db = app.db();
    // The database refuses changes to the record.
    assert!(
        db.execute_unprepared("UPDATE case_events SET detail = '{}' WHERE seq = 2")
            .await
            .is_err()
    );
    assert!(
        db.execute_unprepared("DELETE FROM case_events WHERE seq = 3")
            .await
            .is_err()
    );
    // Someone with the power to drop the guard edits an entry anyway.
    let on_pg = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    if on_pg {
        db.execute_unprepared("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only")
            .await
            .unwrap();
    } else {
        db.execute_unprepared("DROP TRIGGER case_events_no_update")
            .await
            .unwrap();
    }
    db.execute_unprepared(
        "UPDATE case_events SET detail = '{\"decision\":\"DECLINE\"}' WHERE seq = 2",
    )
    .await
    .unwrap();
    let report = app.gql(Some(bureau), q, json!({"id": id})).await;
    assert_eq!(report["data"]["auditIntegrity"]["intact"], false);
    assert_eq!(report["data"]["auditIntegrity"]["brokenAtSeq"], 2);

    // The command line finds it too, and says so with its exit code.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xinfang"))
        .args(["audit", "verify", "--database-url", &app.db_url])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("entry 2"), "{stdout}");
    assert!(
        stdout.contains("1 cases checked, 1 with a broken record"),
        "{stdout}"
    );
}
