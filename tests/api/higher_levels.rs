//! The review chain and the levels above the county (issue: review chain and higher levels):
//! counties side by side in one deployment, review for appeals only, delivery, CHANGE that
//! changes something, and decisions above the county.

use crate::fixtures::{self, ok};
use crate::support::{PASSWORD, TestApp, code, field, spawn_app};
use serde_json::{Value, json};
use xinfang_api::identity;

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
    let s = &app.state;
    let (qinghe, _bureau, admin) = identity::bootstrap(
        &s.db,
        &s.auth,
        &s.clock,
        identity::Bootstrap {
            city_name: Some("邢台市"),
            county_name: "清河县",
            county_code: Some("130534"),
            bureau_name: "清河县信访局",
            admin_username: "city_admin",
            admin_password: PASSWORD,
        },
    )
    .await
    .expect("bootstrap");
    let admin = app.token_for(admin.id).await;
    let unit = async |input: Value| -> String {
        let made = ok(app, &admin, "createOrgUnit", input, "orgUnit { id }").await;
        made["orgUnit"]["id"].as_str().unwrap().to_string()
    };
    let city = crate::support::gid("OrgUnit", qinghe.parent_id.unwrap());
    let linxi = unit(
        json!({"name": "临西县", "kind": "COUNTY", "parentId": city, "divisionCode": "130535"}),
    )
    .await;
    let linxi_bureau = unit(json!({"name": "临西县信访局", "kind": "DEPARTMENT", "parentId": linxi, "petitionBureau": true})).await;
    let qinghe_bureau = crate::support::gid("OrgUnit", _bureau.id);
    let mut out = vec![];
    for (username, bureau, county) in [
        (
            "qh_clerk",
            qinghe_bureau,
            crate::support::gid("OrgUnit", qinghe.id),
        ),
        ("lx_clerk", linxi_bureau, linxi),
    ] {
        ok(app, &admin, "createUser", json!({"username": username, "displayName": username, "orgUnitId": bureau, "role": "STAFF", "password": PASSWORD}), "user { id }").await;
        let login = app
            .gql(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                json!({"i": {"username": username, "password": PASSWORD}}),
            )
            .await;
        let token = login["data"]["login"]["accessToken"]
            .as_str()
            .expect("login")
            .to_string();
        out.push((token, county));
    }
    Deployment {
        admin,
        city,
        clerks: out.try_into().unwrap(),
    }
}

/// Creates an account through the API as `admin` and signs it in; its access token.
async fn add_user(app: &TestApp, admin: &str, username: &str, unit: &str, role: &str) -> String {
    ok(app, admin, "createUser", json!({"username": username, "displayName": username, "orgUnitId": unit, "role": role, "password": PASSWORD}), "user { id }").await;
    let login = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({"i": {"username": username, "password": PASSWORD}}),
        )
        .await;
    login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{login}"))
        .to_string()
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

async fn act(app: &TestApp, token: &str, name: &str, mut input: Value, id: &str) -> Value {
    input["caseId"] = json!(id);
    if !matches!(name, "requestReview" | "recordDelivery") {
        input["expectedVersion"] = json!(view(app, token, id).await["version"]);
    }
    fixtures::mutate(app, token, name, input, "case { status }").await
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
        json!({"method": "POST", "deliveredAt": "2099-01-01T00:00:00Z"}),
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
    done(&app, t1, "recordDelivery", json!({"method": "POST"}), &id).await;
    let c = view(&app, t1, &id).await;
    assert_eq!(c["reply"]["deliveryMethod"], "POST");
    assert!(c["reply"]["reviewRequestBy"].is_string());

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
        json!({"method": "POST"}),
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
        json!({"decision": "UPHOLD", "text": "复核维持。", "higherBody": city(today.to_string())}),
        &id,
    )
    .await;
    let c = view(&app, bureau, &id).await;
    assert_eq!(c["status"], "FINALIZED");
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
        json!({"method": "POST"}),
        &id,
    )
    .await;
    assert_eq!(
        view(&app, bureau, &id).await["viewerCan"]["requestReview"],
        false
    );

    // On the record, in order.
    let timeline = app
        .gql(
            Some(bureau),
            "query($id: ID!) { case(id: $id) { timeline { nodes { action } } } }",
            json!({"id": id}),
        )
        .await;
    let actions: Vec<&str> = timeline["data"]["case"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "REGISTER",
            "ACCEPT",
            "REPLY",
            "DELIVERED",
            "REVIEW_REQUESTED",
            "REVIEW_DECIDED",
            "DELIVERED",
            "REPLY",
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
/// system — 复查 by the county (CHANGE → REPLACE: the county's decision stands in place of
/// the township's reply), 复核 by the city unit's own staff, no document to record — and the
/// neighbouring county never sees it.
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
    let t_staff = add_user(&app, &d.admin, "gxz_staff", &township, "STAFF").await;
    let t_leader = add_user(&app, &d.admin, "gxz_leader", &township, "LEADER").await;
    let county_leader = add_user(&app, &d.admin, "qh_leader", qinghe, "LEADER").await;
    let city_staff = add_user(&app, &d.admin, "city_staff", &d.city, "STAFF").await;

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
    done(&app, &county_leader, "decideReview", json!({"decision": "CHANGE", "change": "REPLACE", "text": "变更原处理意见：补足差额部分。"}), &id).await;
    let c = view(&app, &county_leader, &id).await;
    assert_eq!(c["status"], "REVIEWED");
    assert_eq!(
        c["reply"],
        Value::Null,
        "the county's decision replaced the reply"
    );
    assert_eq!(c["replies"], json!([{"quashed": true}]));
    assert_eq!(c["reviews"][0]["change"], "REPLACE");
    done(
        &app,
        &county_leader,
        "recordDelivery",
        json!({"method": "POST"}),
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
    assert_eq!(c["reviews"][1]["reviewingUnit"]["name"], "邢台市");
    assert_eq!(c["reviews"][1]["aboveCounty"], false);
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
