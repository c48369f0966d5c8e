//! The review chain and the levels above the county (issue: review chain and higher levels):
//! counties side by side in one deployment, review for appeals only, delivery, CHANGE that
//! changes something, and decisions above the county.

use crate::fixtures::{self, ok};
use crate::support::{TestApp, code, field, spawn_app};
use serde_json::{Value, json};

/// A city deployment: 邢台市 at the root with 清河县 (130534) bootstrapped under it; the city's
/// administrator adds 临西县 (130535) and its bureau through the API, and one bureau clerk per
/// county.
struct Deployment {
    admin: String,
    city: String,
    /// Per county: a bureau clerk's token and the county's id as the API names it.
    clerks: [(String, String); 2],
}

async fn two_counties(app: &TestApp) -> Deployment {
    let fixtures::City {
        admin,
        city,
        qinghe,
        qinghe_bureau,
    } = fixtures::city(app).await;
    let linxi = fixtures::add_unit(
        app,
        &admin,
        json!({"name": "临西县", "kind": "COUNTY", "parentId": city, "divisionCode": "130535"}),
    )
    .await;
    let linxi_bureau = fixtures::add_unit(app, &admin, json!({"name": "临西县信访局", "kind": "DEPARTMENT", "parentId": linxi, "petitionBureau": true})).await;
    let mut out = vec![];
    for (username, bureau, county) in [
        ("qh_clerk", qinghe_bureau, qinghe),
        ("lx_clerk", linxi_bureau, linxi),
    ] {
        let token = fixtures::add_user(app, &admin, username, &bureau, "STAFF").await;
        out.push((token, county));
    }
    Deployment {
        admin,
        city,
        clerks: out.try_into().unwrap(),
    }
}

/// Case numbers are unique per county and year and carry the county's division code, so two
/// counties registering at the same moment never collide (before, the second county's first
/// registration failed with INTERNAL on the number's unique index).
#[tokio::test]
async fn two_counties_register_side_by_side_each_with_its_own_numbers() {
    let app = spawn_app().await;
    let d = two_counties(&app).await;
    let [(qh, _), (lx, _)] = &d.clerks;
    let mut jobs = vec![];
    for i in 0..6 {
        for token in [qh, lx] {
            let app = &app;
            jobs.push(async move {
                let body = app
                    .gql(
                        Some(token),
                        fixtures::REGISTER,
                        json!({"input": fixtures::case_input(json!({"title": format!("并发登记 {i}")}))}),
                    )
                    .await;
                assert!(body["errors"].is_null(), "{body}");
                body["data"]["registerCase"]["case"]["number"].as_str().unwrap().to_string()
            });
        }
    }
    let numbers = futures_util::future::join_all(jobs).await;
    let year = {
        use chrono::Datelike;
        xinfang_api::calendar::local_date(app.state.clock.now()).year()
    };
    for code in ["130534", "130535"] {
        let mut mine: Vec<&String> = numbers
            .iter()
            .filter(|n| n.starts_with(&format!("XF-{code}-{year}-")))
            .collect();
        mine.sort();
        let expected: Vec<String> = (1..=6)
            .map(|n| format!("XF-{code}-{year}-{n:06}"))
            .collect();
        assert_eq!(
            mine.into_iter().cloned().collect::<Vec<_>>(),
            expected,
            "each county numbers its own cases 1..6: {numbers:?}"
        );
    }

    assert_eq!(numbers.len(), 12);

    // A second county with a code already taken is refused; a malformed code is bad input;
    // only counties carry one. Nothing is created by a refusal.
    let create = async |input: Value| {
        fixtures::mutate(&app, &d.admin, "createOrgUnit", input, "orgUnit { id }").await
    };
    let taken = create(
        json!({"name": "威县", "kind": "COUNTY", "parentId": d.city, "divisionCode": "130535"}),
    )
    .await;
    assert_eq!(code(&taken), Some("CONFLICT"), "{taken}");
    for bad in ["13053", "13053X", "1305351"] {
        let refused = create(
            json!({"name": "威县", "kind": "COUNTY", "parentId": d.city, "divisionCode": bad}),
        )
        .await;
        assert_eq!(code(&refused), Some("BAD_USER_INPUT"), "{bad}: {refused}");
        assert_eq!(field(&refused), Some("divisionCode"));
    }
    let township = create(json!({"name": "葛仙庄镇", "kind": "TOWNSHIP", "parentId": d.clerks[0].1, "divisionCode": "130536"})).await;
    assert_eq!(field(&township), Some("divisionCode"), "{township}");
    let units = app
        .gql(
            Some(&d.admin),
            "{ orgUnits(first: 100) { nodes { name divisionCode } } }",
            json!({}),
        )
        .await;
    let names: Vec<&str> = units["data"]["orgUnits"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{units}"))
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"威县") && !names.contains(&"葛仙庄镇"),
        "{names:?}"
    );
}

const CASE_VIEW: &str = "query($id: ID!) { case(id: $id) { status version
    deadlines { handleBy } matter { state }
    reply { outcome quashed reviewRequestBy deliveryMethod }
    replies { quashed }
    reviews { stage decision change aboveCounty reviewingUnit { name } higherBody { name level } documentNumber decidedOn deliveryMethod }
    viewerCan { requestReview decideReview recordDelivery close } } }";

async fn view(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app.gql(Some(token), CASE_VIEW, json!({"id": id})).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["case"].clone()
}

/// Tries a case action as `token`, with the version that viewer reads (1 when it sees
/// nothing, so a refusal is about sight, not the version); the whole answer.
async fn act(app: &TestApp, token: &str, name: &str, mut input: Value, id: &str) -> Value {
    input["caseId"] = json!(id);
    if !matches!(name, "requestReview" | "recordDelivery" | "evaluateCase") {
        let read = app
            .gql(
                Some(token),
                "query($id: ID!) { case(id: $id) { version } }",
                json!({"id": id}),
            )
            .await;
        input["expectedVersion"] = read["data"]["case"]["version"]
            .as_i64()
            .map_or(json!(1), |v| json!(v));
    }
    let selection = if name == "sendUpward" {
        "sent { id }"
    } else {
        "case { status }"
    };
    fixtures::mutate(app, token, name, input, selection).await
}

async fn done(app: &TestApp, token: &str, name: &str, input: Value, id: &str) {
    let body = act(app, token, name, input, id).await;
    assert!(body["errors"].is_null(), "{name}: {body}");
}

fn reply_input(delivered: Option<&str>) -> Value {
    json!({"outcome": "NOT_SUPPORTED", "facts": "经查，补偿已按标准足额发放。", "reasons": "诉求缺乏依据。",
        "basis": "《国有土地上房屋征收与补偿条例》", "deliveredBy": delivered})
}

/// Domain §4 and §9, in the common county-only deployment: a township's reply to an appeal
/// is reviewed by the county (复查), which quashes it and sends it back (CHANGE → REDO, a new
/// 60-day handling clock); the new reply is reviewed and upheld; the re-review (复核) goes to
/// the city, which is not in the deployment, so the bureau records the city's decision from
/// its document and the case reaches FINALIZED, concluding the matter.
#[tokio::test]
async fn an_appeal_runs_review_redo_and_a_city_re_review_to_finalized_in_a_county_only_deployment()
{
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (t1, t1_leader, county_leader, bureau) = (
        county.token("t1_staff"),
        county.token("t1_leader"),
        county.token("county_leader"),
        county.token("bureau_staff"),
    );
    let (id, _) = fixtures::register(
        &app,
        t1,
        json!({"townshipId": crate::support::gid("OrgUnit", county.t1)}),
    )
    .await;
    done(
        &app,
        t1,
        "decideAcceptance",
        json!({"decision": "ACCEPT"}),
        &id,
    )
    .await;
    done(&app, t1_leader, "issueReply", reply_input(None), &id).await;
    // Not yet delivered: no window, no review, no closing.
    let c = view(&app, t1, &id).await;
    assert_eq!(c["reply"]["reviewRequestBy"], Value::Null);
    assert_eq!(
        c["viewerCan"],
        json!({"requestReview": false, "decideReview": false, "recordDelivery": true, "close": false})
    );
    let future = act(
        &app,
        t1,
        "recordDelivery",
        json!({"method": "POST", "trackingNumber": "EMS1000000001", "deliveredAt": "2099-01-01T00:00:00Z"}),
        &id,
    )
    .await;
    assert_eq!(field(&future), Some("deliveredAt"), "{future}");
    let in_app = act(&app, t1, "recordDelivery", json!({"method": "IN_APP"}), &id).await;
    assert_eq!(
        field(&in_app),
        Some("method"),
        "staff cannot claim the app opened it: {in_app}"
    );
    done(
        &app,
        t1,
        "recordDelivery",
        json!({"method": "POST", "trackingNumber": "EMS1000000001"}),
        &id,
    )
    .await;
    let c = view(&app, t1, &id).await;
    assert_eq!(c["reply"]["deliveryMethod"], "POST");
    assert!(c["reply"]["reviewRequestBy"].is_string());

    // A call-back finds the petitioner basically satisfied; they still ask for review.
    done(
        &app,
        t1,
        "evaluateCase",
        json!({"satisfaction": "BASICALLY_SATISFIED", "onBehalf": true}),
        &id,
    )
    .await;
    // 复查 by the county (the township's parent).
    done(
        &app,
        t1,
        "requestReview",
        json!({"reason": "对处理意见不服，代为申请复查"}),
        &id,
    )
    .await;
    let c = view(&app, county_leader, &id).await;
    assert_eq!(c["status"], "UNDER_REVIEW");
    assert_eq!(c["reviews"][0]["reviewingUnit"]["name"], "清河县");
    assert_eq!(c["reviews"][0]["aboveCounty"], false);
    assert_eq!(c["viewerCan"]["decideReview"], true);
    let own = act(
        &app,
        t1_leader,
        "decideReview",
        json!({"decision": "UPHOLD", "text": "维持"}),
        &id,
    )
    .await;
    assert_eq!(
        code(&own),
        Some("FORBIDDEN"),
        "a township does not review itself"
    );
    let vague = act(
        &app,
        county_leader,
        "decideReview",
        json!({"decision": "CHANGE", "text": "撤销"}),
        &id,
    )
    .await;
    assert_eq!(
        field(&vague),
        Some("change"),
        "a CHANGE says what it does: {vague}"
    );
    let from_paper = act(&app, county_leader, "decideReview", json!({"decision": "UPHOLD", "text": "维持",
        "higherBody": {"name": "邢台市人民政府", "level": "CITY", "documentNumber": "x", "decidedOn": "2026-01-01"}}), &id).await;
    assert_eq!(field(&from_paper), Some("higherBody"), "{from_paper}");
    done(&app, county_leader, "decideReview", json!({"decision": "CHANGE", "change": "REDO", "text": "原处理意见认定事实不清，撤销并责令重新办理。"}), &id).await;
    let c = view(&app, county_leader, &id).await;
    assert_eq!(c["status"], "IN_PROGRESS", "sent back for a new reply");
    assert_eq!(c["reply"], Value::Null, "no reply stands");
    assert_eq!(c["replies"], json!([{"quashed": true}]));
    assert_eq!(c["reviews"][0]["change"], "REDO");
    assert_eq!(
        c["viewerCan"]["recordDelivery"], true,
        "the review decision is owed to the petitioner"
    );
    let handle_by = c["deadlines"]["handleBy"].as_str().unwrap().to_string();
    let sixty = crate::support::parse_instant(&handle_by) - app.state.clock.now();
    assert!(
        sixty >= chrono::TimeDelta::days(59) && sixty <= chrono::TimeDelta::days(64),
        "a fresh 60-day handling clock: {handle_by}"
    );
    done(
        &app,
        county_leader,
        "recordDelivery",
        json!({"method": "IN_PERSON"}),
        &id,
    )
    .await;

    // The new reply, handed over at once; reviewed again and upheld.
    done(
        &app,
        t1_leader,
        "issueReply",
        reply_input(Some("IN_PERSON")),
        &id,
    )
    .await;
    let c = view(&app, t1, &id).await;
    assert_eq!(c["replies"], json!([{"quashed": true}, {"quashed": false}]));
    assert_eq!(c["reply"]["quashed"], false);
    assert_eq!(
        c["viewerCan"]["close"], false,
        "the rating was of the quashed reply: the new one's window must run"
    );
    // The new reply is rated afresh, once.
    done(
        &app,
        t1,
        "evaluateCase",
        json!({"satisfaction": "DISSATISFIED", "onBehalf": true}),
        &id,
    )
    .await;
    let again = act(
        &app,
        t1,
        "evaluateCase",
        json!({"satisfaction": "SATISFIED", "onBehalf": true}),
        &id,
    )
    .await;
    assert_eq!(code(&again), Some("CONFLICT"), "{again}");
    done(&app, t1, "requestReview", json!({"reason": "仍不服"}), &id).await;
    done(
        &app,
        county_leader,
        "decideReview",
        json!({"decision": "UPHOLD", "text": "维持重新作出的处理意见。"}),
        &id,
    )
    .await;
    assert_eq!(view(&app, t1, &id).await["status"], "REVIEWED");
    done(
        &app,
        county_leader,
        "recordDelivery",
        json!({"method": "POST", "trackingNumber": "EMS1000000001"}),
        &id,
    )
    .await;

    // 复核: the county's superior is above the deployment; the bureau stands for it.
    done(
        &app,
        t1,
        "requestReview",
        json!({"reason": "申请复核"}),
        &id,
    )
    .await;
    let c = view(&app, bureau, &id).await;
    assert_eq!(c["status"], "UNDER_RE_REVIEW");
    assert_eq!(c["reviews"][2]["aboveCounty"], true);
    assert_eq!(c["reviews"][2]["reviewingUnit"]["name"], "清河县信访局");
    assert_eq!(c["viewerCan"]["decideReview"], true);
    let unrecorded = act(
        &app,
        bureau,
        "decideReview",
        json!({"decision": "UPHOLD", "text": "维持"}),
        &id,
    )
    .await;
    assert_eq!(field(&unrecorded), Some("higherBody"), "{unrecorded}");
    let today = xinfang_api::calendar::local_date(app.state.clock.now());
    let city = |decided_on: String| json!({"name": "邢台市人民政府", "level": "CITY", "documentNumber": "邢政复〔2026〕12号", "decidedOn": decided_on});
    let sent_back = act(&app, bureau, "decideReview", json!({"decision": "CHANGE", "change": "REDO", "text": "x", "higherBody": city(today.to_string())}), &id).await;
    assert_eq!(
        field(&sent_back),
        Some("change"),
        "a re-review concludes: {sent_back}"
    );
    let tomorrow = act(&app, bureau, "decideReview", json!({"decision": "UPHOLD", "text": "x", "higherBody": city((today + chrono::Days::new(1)).to_string())}), &id).await;
    assert_eq!(field(&tomorrow), Some("higherBody.decidedOn"), "{tomorrow}");
    let bad_date = act(
        &app,
        bureau,
        "decideReview",
        json!({"decision": "UPHOLD", "text": "x", "higherBody": city("2026-13-01".into())}),
        &id,
    )
    .await;
    assert_eq!(code(&bad_date), Some("BAD_USER_INPUT"), "{bad_date}");
    let before = view(&app, bureau, &id).await;
    assert_eq!(
        before["status"], "UNDER_RE_REVIEW",
        "refusals change nothing"
    );
    done(
        &app,
        bureau,
        "decideReview",
        json!({"decision": "CHANGE", "change": "REPLACE", "text": "复核变更：予以补偿差额。", "higherBody": city(today.to_string())}), &id).await;
    let c = view(&app, bureau, &id).await;
    assert_eq!(c["status"], "FINALIZED");
    assert_eq!(
        c["reply"],
        Value::Null,
        "the city's decision overturned the upheld reply"
    );
    assert_eq!(c["replies"], json!([{"quashed": true}, {"quashed": true}]));
    assert_eq!(c["matter"]["state"], "CONCLUDED");
    assert_eq!(
        (
            &c["reviews"][2]["higherBody"],
            &c["reviews"][2]["documentNumber"],
            &c["reviews"][2]["decidedOn"]
        ),
        (
            &json!({"name": "邢台市人民政府", "level": "CITY"}),
            &json!("邢政复〔2026〕12号"),
            &json!(today.to_string())
        )
    );
    assert_eq!(c["viewerCan"]["recordDelivery"], true);
    done(
        &app,
        bureau,
        "recordDelivery",
        json!({"method": "POST", "trackingNumber": "EMS1000000001"}),
        &id,
    )
    .await;
    assert_eq!(
        view(&app, bureau, &id).await["viewerCan"]["requestReview"],
        false
    );

    // On the record, in order.
    let actions = fixtures::timeline_actions(&app, bureau, &id).await;
    assert_eq!(
        actions,
        [
            "REGISTER",
            "ACCEPT",
            "REPLY",
            "DELIVERED",
            "EVALUATE",
            "REVIEW_REQUESTED",
            "REVIEW_DECIDED",
            "DELIVERED",
            "REPLY",
            "EVALUATE",
            "REVIEW_REQUESTED",
            "REVIEW_DECIDED",
            "DELIVERED",
            "REVIEW_REQUESTED",
            "REVIEW_DECIDED",
            "DELIVERED"
        ]
    );
    // Statistics: a reply a review changed is counted, and is not a satisfied one.
    let stats = app
        .gql(Some(bureau), "{ statistics(from: \"2000-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") { total { changedOnReview byStatus { status count } } } }", json!({}))
        .await;
    assert_eq!(
        stats["data"]["statistics"]["total"],
        json!({"changedOnReview": 1, "byStatus": [{"status": "FINALIZED", "count": 1}]}),
        "{stats}"
    );
}

/// Domain §4: review is for appeals (申诉求决) only; a suggestion's reply names no review
/// body and offers no review.
#[tokio::test]
async fn only_appeals_are_reviewed() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (a, a_leader) = (county.token("a_staff"), county.token("a_leader"));
    let (id, _) = fixtures::register(
        &app,
        a,
        json!({"leadUnitId": crate::support::gid("OrgUnit", county.dept_a), "category": "SUGGESTION", "subject": "ENVIRONMENT"}),
    )
    .await;
    done(
        &app,
        a,
        "decideAcceptance",
        json!({"decision": "ACCEPT"}),
        &id,
    )
    .await;
    let mut input = reply_input(Some("IN_PERSON"));
    input["outcome"] = json!("EXPLAINED");
    done(&app, a_leader, "issueReply", input, &id).await;
    let c = app
        .gql(Some(a), "query($id: ID!) { case(id: $id) { version reply { reviewBody { name } reviewRequestBy } viewerCan { requestReview evaluate } } }", json!({"id": id}))
        .await;
    let c = &c["data"]["case"];
    assert_eq!(c["reply"]["reviewBody"], Value::Null);
    assert!(
        c["reply"]["reviewRequestBy"].is_string(),
        "the petitioner may still rate it"
    );
    assert_eq!(
        c["viewerCan"],
        json!({"requestReview": false, "evaluate": true})
    );
    let refused = act(&app, a, "requestReview", json!({"reason": "不服"}), &id).await;
    assert_eq!(code(&refused), Some("INVALID_TRANSITION"), "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("appeal"),
        "{refused}"
    );
    assert_eq!(
        view(&app, a, &id).await["version"],
        c["version"],
        "the refusal changed nothing"
    );
}

/// Domain §4 and §9 in a deployment that holds the city: the same appeal runs inside the
/// system — 复查 by the county, which first sends the reply back (CHANGE → REDO, 重新办理) and
/// then replaces the new one with its own decision (CHANGE → REPLACE); 复核 by the city unit's
/// own staff, no document to record — and the neighbouring county never sees it.
#[tokio::test]
async fn in_a_city_deployment_the_city_decides_the_re_review_itself() {
    let app = spawn_app().await;
    let d = two_counties(&app).await;
    let [(qh_clerk, qinghe), (lx_clerk, _)] = &d.clerks;
    let made = ok(
        &app,
        &d.admin,
        "createOrgUnit",
        json!({"name": "葛仙庄镇", "kind": "TOWNSHIP", "parentId": qinghe}),
        "orgUnit { id }",
    )
    .await;
    let township = made["orgUnit"]["id"].as_str().unwrap().to_string();
    let t_staff = fixtures::add_user(&app, &d.admin, "gxz_staff", &township, "STAFF").await;
    let t_leader = fixtures::add_user(&app, &d.admin, "gxz_leader", &township, "LEADER").await;
    let county_leader = fixtures::add_user(&app, &d.admin, "qh_leader", qinghe, "LEADER").await;
    let city_staff = fixtures::add_user(&app, &d.admin, "city_staff", &d.city, "STAFF").await;

    let (id, _) = fixtures::register(
        &app,
        qh_clerk,
        json!({"leadUnitId": township, "townshipId": township}),
    )
    .await;
    done(
        &app,
        &t_staff,
        "decideAcceptance",
        json!({"decision": "ACCEPT"}),
        &id,
    )
    .await;
    done(
        &app,
        &t_leader,
        "issueReply",
        reply_input(Some("IN_PERSON")),
        &id,
    )
    .await;
    done(
        &app,
        &t_staff,
        "requestReview",
        json!({"reason": "不服，申请复查"}),
        &id,
    )
    .await;
    done(
        &app,
        &county_leader,
        "decideReview",
        json!({"decision": "CHANGE", "change": "REDO", "text": "事实不清，撤销并责令重新办理。"}),
        &id,
    )
    .await;
    assert_eq!(view(&app, &t_staff, &id).await["status"], "IN_PROGRESS");
    done(
        &app,
        &county_leader,
        "recordDelivery",
        json!({"method": "POST", "trackingNumber": "EMS1000000001"}),
        &id,
    )
    .await;
    done(
        &app,
        &t_leader,
        "issueReply",
        reply_input(Some("IN_PERSON")),
        &id,
    )
    .await;
    done(
        &app,
        &t_staff,
        "requestReview",
        json!({"reason": "仍不服"}),
        &id,
    )
    .await;
    done(&app, &county_leader, "decideReview", json!({"decision": "CHANGE", "change": "REPLACE", "text": "变更原处理意见：补足差额部分。"}), &id).await;
    let c = view(&app, &county_leader, &id).await;
    assert_eq!(c["status"], "REVIEWED");
    assert_eq!(
        c["reply"],
        Value::Null,
        "the county's decision replaced the reply"
    );
    assert_eq!(c["replies"], json!([{"quashed": true}, {"quashed": true}]));
    assert_eq!(
        (&c["reviews"][0]["change"], &c["reviews"][1]["change"]),
        (&json!("REDO"), &json!("REPLACE"))
    );
    done(
        &app,
        &county_leader,
        "recordDelivery",
        json!({"method": "POST", "trackingNumber": "EMS1000000001"}),
        &id,
    )
    .await;

    // Before the re-review the city has no relation to the case and does not see it.
    let unseen = app
        .gql(
            Some(&city_staff),
            "query($id: ID!) { case(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(unseen["data"]["case"], Value::Null, "{unseen}");
    done(
        &app,
        &t_staff,
        "requestReview",
        json!({"reason": "申请复核"}),
        &id,
    )
    .await;
    let c = view(&app, &city_staff, &id).await;
    assert_eq!(c["status"], "UNDER_RE_REVIEW");
    assert_eq!(c["reviews"][2]["reviewingUnit"]["name"], "邢台市");
    assert_eq!(c["reviews"][2]["aboveCounty"], false);
    assert_eq!(c["viewerCan"]["decideReview"], true);
    let paper = act(&app, &city_staff, "decideReview", json!({"decision": "UPHOLD", "text": "维持",
        "higherBody": {"name": "邢台市人民政府", "level": "CITY", "documentNumber": "x", "decidedOn": "2026-01-01"}}), &id).await;
    assert_eq!(
        field(&paper),
        Some("higherBody"),
        "the city decides here, not from paper: {paper}"
    );
    let county_bureau = act(
        &app,
        qh_clerk,
        "decideReview",
        json!({"decision": "UPHOLD", "text": "维持"}),
        &id,
    )
    .await;
    assert_eq!(code(&county_bureau), Some("FORBIDDEN"), "{county_bureau}");
    done(
        &app,
        &city_staff,
        "decideReview",
        json!({"decision": "UPHOLD", "text": "复核维持复查意见。"}),
        &id,
    )
    .await;
    let c = view(&app, &city_staff, &id).await;
    assert_eq!(c["status"], "FINALIZED");
    assert_eq!(c["matter"]["state"], "CONCLUDED");

    // The other county sees none of it: not by id, not in its lists.
    let elsewhere = app
        .gql(
            Some(lx_clerk),
            "query($id: ID!) { case(id: $id) { id } cases(first: 10) { totalCount } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(elsewhere["data"]["case"], Value::Null, "{elsewhere}");
    assert_eq!(elsewhere["data"]["cases"]["totalCount"], 0, "{elsewhere}");
}

const FROM_ABOVE: &str = "query($id: ID!) { case(id: $id) { version
    fromHigherBody { body { name level } referenceNumber mode reportDueAt reportedAt report overdue }
    viewerCan { reportToHigherBody } } }";

/// Domain §9 上级转交办: a case from a higher body keeps the body, its reference number and
/// whether it was transferred or assigned; an assignment owes a report back by its deadline,
/// shows up overdue on the oversight lists when late, and counts in 上级交办办结率.
#[tokio::test]
async fn a_case_assigned_from_above_owes_a_report_back_tracked_to_its_deadline() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let dept_a = crate::support::gid("OrgUnit", county.dept_a);
    let register = async |token: &str, extra: Value| {
        let mut input =
            fixtures::case_input(json!({"leadUnitId": dept_a, "channel": "HIGHER_REFERRAL"}));
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        app.gql(Some(token), fixtures::REGISTER, json!({"input": input}))
            .await
    };
    let bureau = county.token("bureau_staff").to_string();
    let city = |mode: &str, due: Option<chrono::DateTime<chrono::Utc>>| json!({"name": "邢台市信访局", "level": "CITY", "referenceNumber": format!("邢信交〔2026〕{mode}"), "mode": mode, "reportDueAt": due});
    let in_days = |n: i64| app.state.clock.now() + chrono::TimeDelta::days(n);
    // Bad intakes are refused before anything is written.
    let unnamed = register(&bureau, json!({})).await;
    assert_eq!(field(&unnamed), Some("fromHigherBody"), "{unnamed}");
    let wrong_channel = register(
        &bureau,
        json!({"channel": "VISIT", "fromHigherBody": city("ASSIGN", None)}),
    )
    .await;
    assert_eq!(field(&wrong_channel), Some("channel"), "{wrong_channel}");
    let transfer_with_deadline = register(
        &bureau,
        json!({"fromHigherBody": city("TRANSFER", Some(in_days(10)))}),
    )
    .await;
    assert_eq!(
        field(&transfer_with_deadline),
        Some("fromHigherBody.reportDueAt")
    );
    let past = register(
        &bureau,
        json!({"fromHigherBody": city("ASSIGN", Some(in_days(-1)))}),
    )
    .await;
    assert_eq!(field(&past), Some("fromHigherBody.reportDueAt"));
    let none = app
        .gql(
            Some(&bureau),
            "{ cases(first: 5) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        none["data"]["cases"]["totalCount"], 0,
        "refusals wrote nothing"
    );

    let id_of = |body: Value| {
        body["data"]["registerCase"]["case"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string()
    };
    let reported = id_of(
        register(
            &bureau,
            json!({"fromHigherBody": city("ASSIGN", Some(in_days(20)))}),
        )
        .await,
    );
    let late = id_of(
        register(
            &bureau,
            json!({"title": "另一件交办", "fromHigherBody": city("ASSIGN", Some(in_days(5)))}),
        )
        .await,
    );
    let transferred = id_of(
        register(
            &bureau,
            json!({"title": "转送件", "fromHigherBody": city("TRANSFER", None)}),
        )
        .await,
    );
    let c = app
        .gql(
            Some(county.token("a_staff")),
            FROM_ABOVE,
            json!({"id": reported}),
        )
        .await;
    let from = &c["data"]["case"]["fromHigherBody"];
    assert_eq!(
        from["body"],
        json!({"name": "邢台市信访局", "level": "CITY"})
    );
    assert_eq!(from["referenceNumber"], "邢信交〔2026〕ASSIGN");
    assert_eq!(
        (&from["mode"], &from["reportedAt"], &from["overdue"]),
        (&json!("ASSIGN"), &Value::Null, &json!(false))
    );
    assert_eq!(
        c["data"]["case"]["viewerCan"]["reportToHigherBody"], false,
        "nothing to report before a result"
    );

    // The lead unit accepts and replies, then reports back; only once, only where owed.
    let (a, a_leader) = (
        county.token("a_staff").to_string(),
        county.token("a_leader").to_string(),
    );
    for id in [&reported, &transferred] {
        done(
            &app,
            &a,
            "decideAcceptance",
            json!({"decision": "ACCEPT"}),
            id,
        )
        .await;
        done(
            &app,
            &a_leader,
            "issueReply",
            reply_input(Some("IN_PERSON")),
            id,
        )
        .await;
    }
    let early = act(&app, &a, "reportToHigherBody", json!({"text": "x"}), &late).await;
    assert_eq!(code(&early), Some("INVALID_TRANSITION"), "{early}");
    let outsider = act(
        &app,
        county.token("t2_staff"),
        "reportToHigherBody",
        json!({"text": "x"}),
        &reported,
    )
    .await;
    assert_eq!(code(&outsider), Some("NOT_FOUND"), "{outsider}");
    let not_owed = act(
        &app,
        &a,
        "reportToHigherBody",
        json!({"text": "x"}),
        &transferred,
    )
    .await;
    assert_eq!(
        code(&not_owed),
        Some("INVALID_TRANSITION"),
        "a transfer owes no report: {not_owed}"
    );
    done(
        &app,
        &a,
        "reportToHigherBody",
        json!({"text": "已按交办要求调查处理并答复信访人。"}),
        &reported,
    )
    .await;
    let twice = act(
        &app,
        &a,
        "reportToHigherBody",
        json!({"text": "again"}),
        &reported,
    )
    .await;
    assert_eq!(code(&twice), Some("CONFLICT"), "{twice}");
    let c = app.gql(Some(&a), FROM_ABOVE, json!({"id": reported})).await;
    assert!(c["data"]["case"]["fromHigherBody"]["reportedAt"].is_string());
    assert_eq!(
        c["data"]["case"]["fromHigherBody"]["report"],
        "已按交办要求调查处理并答复信访人。"
    );

    // Six days on, the other assignment's report is overdue: on the case, in the oversight
    // lists and the deadline filter, and in 上级交办办结率 (1 made on time of 2 due).
    app.advance_days(6);
    county.renew(&app).await;
    let bureau = county.token("bureau_staff");
    let c = app.gql(Some(bureau), FROM_ABOVE, json!({"id": late})).await;
    assert_eq!(c["data"]["case"]["fromHigherBody"]["overdue"], true);
    let lists = app
        .gql(Some(bureau), "{ oversight(level: OVERDUE) { unit { name } deadline count }
            cases(filter: {deadline: HIGHER_REPORT, overdue: true}) { nodes { id } }
            statistics(from: \"2000-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") { total {
              higherAssignmentReportRate higherReportedOnTime higherReportedLate higherUnreportedOverdue } } }", json!({}))
        .await;
    let data = &lists["data"];
    let owed: Vec<&Value> = data["oversight"]
        .as_array()
        .unwrap_or_else(|| panic!("{lists}"))
        .iter()
        .filter(|r| r["deadline"] == "HIGHER_REPORT")
        .collect();
    assert_eq!(
        owed,
        vec![&json!({"unit": {"name": "县住建局"}, "deadline": "HIGHER_REPORT", "count": 1})]
    );
    assert_eq!(data["cases"]["nodes"], json!([{"id": late}]));
    assert_eq!(
        data["statistics"]["total"],
        json!({"higherAssignmentReportRate": 0.5, "higherReportedOnTime": 1, "higherReportedLate": 0, "higherUnreportedOverdue": 1})
    );
}

/// Domain §9 sending upward: the bureau sends an accusation against the county's own
/// leadership up to the city's discipline body. The county keeps the referral record —
/// number, title, receiver, reason — and loses sight of the content on every path.
#[tokio::test]
async fn a_matter_sent_upward_leaves_the_county_with_the_record_only() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    let (id, number) = fixtures::register(
        &app,
        bureau,
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "title": "反映县领导违规插手工程",
            "accusedUnitId": crate::support::gid("OrgUnit", county.county),
            "leadUnitId": crate::support::gid("OrgUnit", county.discipline)}),
    )
    .await;
    let disc = county.token("disc_staff");
    let seen = app
        .gql(
            Some(disc),
            "query($id: ID!) { case(id: $id) { viewerCan { sendUpward } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        seen["data"]["case"]["viewerCan"]["sendUpward"], false,
        "only the bureau sends up: {seen}"
    );
    let refused = act(
        &app,
        disc,
        "sendUpward",
        json!({"higherBody": {"name": "邢台市纪委监委", "level": "CITY"}, "reason": "x"}),
        &id,
    )
    .await;
    assert_eq!(code(&refused), Some("FORBIDDEN"), "{refused}");
    let no_reason = act(
        &app,
        bureau,
        "sendUpward",
        json!({"higherBody": {"name": "邢台市纪委监委", "level": "CITY"}, "reason": ""}),
        &id,
    )
    .await;
    assert_eq!(field(&no_reason), Some("reason"), "{no_reason}");
    let mut input = json!({"caseId": id, "higherBody": {"name": "邢台市纪委监委", "level": "CITY"},
        "reason": "反映县委主要负责人问题，按干部管理权限报送市纪委监委"});
    input["expectedVersion"] = view(&app, bureau, &id).await["version"].clone();
    let sent = fixtures::mutate(
        &app,
        bureau,
        "sendUpward",
        input,
        "sent { caseNumber title bodyName level reason status }",
    )
    .await;
    assert_eq!(
        sent["data"]["sendUpward"]["sent"],
        json!({"caseNumber": number, "title": "反映县领导违规插手工程", "bodyName": "邢台市纪委监委", "level": "CITY",
            "reason": "反映县委主要负责人问题，按干部管理权限报送市纪委监委", "status": "REGISTERED"}),
        "{sent}"
    );
    // Gone from every staff path of the county: by id, by number, in lists and counts.
    for token in [bureau, disc, county.token("county_staff")] {
        let body = app
            .gql(Some(token), "query($id: ID!, $n: String!) { case(id: $id) { id } caseByNumber(number: $n) { id }
                cases(first: 10) { totalCount } statistics(from: \"2000-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") { total { cases } } }",
                json!({"id": id, "n": number}))
            .await;
        assert_eq!(
            (&body["data"]["cases"], &body["data"]["statistics"]),
            (&json!({"totalCount": 0}), &json!({"total": {"cases": 0}})),
            "{body}"
        );
        let not_found: Vec<(&Value, &Value)> = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| (&e["path"][0], &e["extensions"]["code"]))
            .collect();
        assert_eq!(
            not_found.len(),
            2,
            "by id and by number, both not found: {body}"
        );
        assert!(not_found.iter().all(|(_, c)| *c == "NOT_FOUND"), "{body}");
    }
    // The bureau keeps the record; nobody else has one.
    let record = app
        .gql(
            Some(bureau),
            "{ sentUpward { caseNumber bodyName } }",
            json!({}),
        )
        .await;
    assert_eq!(
        record["data"]["sentUpward"],
        json!([{"caseNumber": number, "bodyName": "邢台市纪委监委"}])
    );
    let other = app
        .gql(
            Some(county.token("a_staff")),
            "{ sentUpward { caseNumber } }",
            json!({}),
        )
        .await;
    assert_eq!(other["data"]["sentUpward"], json!([]));
    // Once a written decision exists the review chain runs its course here: no sending up.
    let (replied, _) = fixtures::register(
        &app,
        bureau,
        json!({"leadUnitId": crate::support::gid("OrgUnit", county.dept_a)}),
    )
    .await;
    done(
        &app,
        county.token("a_staff"),
        "decideAcceptance",
        json!({"decision": "ACCEPT"}),
        &replied,
    )
    .await;
    done(
        &app,
        county.token("a_leader"),
        "issueReply",
        reply_input(Some("IN_PERSON")),
        &replied,
    )
    .await;
    let too_late = act(
        &app,
        bureau,
        "sendUpward",
        json!({"higherBody": {"name": "邢台市信访局", "level": "CITY"}, "reason": "x"}),
        &replied,
    )
    .await;
    assert_eq!(code(&too_late), Some("INVALID_TRANSITION"), "{too_late}");
    let again = act(
        &app,
        bureau,
        "sendUpward",
        json!({"higherBody": {"name": "邢台市纪委监委", "level": "CITY"}, "reason": "再次"}),
        &id,
    )
    .await;
    assert_eq!(code(&again), Some("NOT_FOUND"), "{again}");
}

/// A report owed to a higher body warns its lead unit like any deadline: once, as it comes
/// within 3 days, through the inbox.
#[tokio::test]
async fn a_report_owed_upward_warns_the_lead_unit_once() {
    let app = crate::support::spawn_app_with(&["--deadline-scan-seconds", "3600"]).await;
    let county = fixtures::county(&app).await;
    let due = app.state.clock.now() + chrono::TimeDelta::days(2);
    let (_, number) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"leadUnitId": crate::support::gid("OrgUnit", county.dept_a), "channel": "HIGHER_REFERRAL",
            "fromHigherBody": {"name": "邢台市信访局", "level": "CITY", "referenceNumber": "邢信交〔2026〕7号", "mode": "ASSIGN", "reportDueAt": due}}),
    )
    .await;
    let mut ws = crate::referrals::open(&app, county.token("a_staff")).await;
    ws.subscribe("1", crate::referrals::INBOX, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Acceptance is due in 15 days (no warning); the report in 2 (a warning).
    assert_eq!(xinfang_api::notices::scan(&app.state).await.unwrap(), 1);
    let warning = ws
        .next_data(std::time::Duration::from_secs(15))
        .await
        .expect("a warning");
    assert_eq!(
        warning["inbox"],
        json!({"kind": "DEADLINE_WARNING", "action": "DEADLINE_WARNING", "caseNumber": number, "referral": null, "deadline": "HIGHER_REPORT"})
    );
    assert_eq!(
        xinfang_api::notices::scan(&app.state).await.unwrap(),
        0,
        "once"
    );
}

/// Domain §9 in a deployment that holds the city: the city receives — a petition that reached
/// it is registered for a unit of one of its counties, and a matter a county sends up arrives
/// in its hands — and sends down with an ordinary transfer, after which the county sees the
/// case again. Each county sees only its own.
#[tokio::test]
async fn in_a_city_deployment_the_city_receives_matters_and_sends_them_down() {
    let app = spawn_app().await;
    let d = two_counties(&app).await;
    let [(qh_clerk, qinghe), (lx_clerk, linxi)] = &d.clerks;
    let city_staff = fixtures::add_user(&app, &d.admin, "city_desk", &d.city, "STAFF").await;
    let bureau_of = async |county: &str| -> String {
        let units = app
            .gql(Some(&d.admin), "query($id: ID!) { node(id: $id) { ... on OrgUnit { children { id petitionBureau } } } }", json!({"id": county}))
            .await;
        units["data"]["node"]["children"]
            .as_array()
            .unwrap_or_else(|| panic!("{units}"))
            .iter()
            .find(|u| u["petitionBureau"] == true)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (qh_bureau, lx_bureau) = (bureau_of(qinghe).await, bureau_of(linxi).await);
    let sees = async |token: &str, id: &str| {
        app.gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { id } }",
            json!({"id": id}),
        )
        .await["data"]["case"]
            .is_object()
    };

    // A petition that reached the city, registered for 临西县's bureau.
    let no_lead = app
        .gql(
            Some(&city_staff),
            fixtures::REGISTER,
            json!({"input": fixtures::case_input(json!({}))}),
        )
        .await;
    assert_eq!(field(&no_lead), Some("leadUnitId"), "{no_lead}");
    let (received, number) =
        fixtures::register(&app, &city_staff, json!({"leadUnitId": lx_bureau})).await;
    assert!(
        number.starts_with("XF-130535-"),
        "numbered in 临西县: {number}"
    );
    assert!(sees(lx_clerk, &received).await && sees(&city_staff, &received).await);
    assert!(
        !sees(qh_clerk, &received).await,
        "the other county sees nothing of it"
    );

    // 清河县 sends a matter up to the city, inside the deployment.
    let (id, _) = fixtures::register(&app, qh_clerk, json!({})).await;
    let both = act(&app, qh_clerk, "sendUpward", json!({"toUnitId": d.city, "higherBody": {"name": "邢台市", "level": "CITY"}, "reason": "x"}), &id).await;
    assert_eq!(field(&both), Some("higherBody"), "one target: {both}");
    let sideways = act(
        &app,
        qh_clerk,
        "sendUpward",
        json!({"toUnitId": linxi, "reason": "x"}),
        &id,
    )
    .await;
    assert_eq!(field(&sideways), Some("toUnitId"), "{sideways}");
    done(
        &app,
        qh_clerk,
        "sendUpward",
        json!({"toUnitId": d.city, "reason": "涉及跨县事项，报市级处理"}),
        &id,
    )
    .await;
    assert!(!sees(qh_clerk, &id).await, "the county loses sight of it");
    let c = app
        .gql(Some(&city_staff), "query($id: ID!) { case(id: $id) { status leadUnit { name } viewerCan { decideAcceptance transfer } } }", json!({"id": id}))
        .await;
    assert_eq!(
        c["data"]["case"],
        json!({"status": "REGISTERED", "leadUnit": {"name": "邢台市"}, "viewerCan": {"decideAcceptance": true, "transfer": true}}),
        "{c}"
    );
    // The city sends it back down; the county sees it again and keeps the record.
    done(
        &app,
        &city_staff,
        "transferCase",
        json!({"toUnitId": qh_bureau, "mode": "ASSIGN", "reason": "请清河县依法办理并报告结果"}),
        &id,
    )
    .await;
    assert!(sees(qh_clerk, &id).await, "back in the county's sight");
    let record = app
        .gql(
            Some(qh_clerk),
            "{ sentUpward { bodyName reason } }",
            json!({}),
        )
        .await;
    assert_eq!(
        record["data"]["sentUpward"],
        json!([{"bodyName": "邢台市", "reason": "涉及跨县事项，报市级处理"}])
    );
    let c = view(&app, qh_clerk, &id).await;
    assert_eq!(c["status"], "REGISTERED");
    assert!(!sees(lx_clerk, &id).await);
}
