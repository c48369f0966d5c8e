//! Matters (信访事项) and repeat petitions (重复信访), domain §2 and §7: the system proposes,
//! staff confirm or undo with a reason, only confirmed links count, and 不再受理 is a decision
//! that cites the concluded matter.

use crate::fixtures::{self, link_repeat, mutate, ok, version};
use crate::support::{code, field, spawn_app};
use serde_json::{Value, json};

const CASE: &str = "query($id: ID!) { case(id: $id) {
  number version isRepeat notAcceptable repeatOf { number }
  matter { id state caseCount cases { number } firstCase { number } concludedBy { number } }
  repeatLinks { state basis reason earlierCase { number } decidedBy { name } }
  viewerCan { linkRepeat undoRepeat decideAcceptance }
} }";

async fn case(app: &crate::support::TestApp, token: &str, id: &str) -> Value {
    let body = app.gql(Some(token), CASE, json!({"id": id})).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["case"].clone()
}

fn numbers(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| c["number"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn the_system_proposes_repeats_and_only_what_staff_confirm_counts() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    // 李四 (the fixture's petitioner) about a demolition payment.
    let (first, first_no) = fixtures::register(&app, bureau, json!({})).await;
    // The same person on the same subject: proposed (same ID number, same subject, and a
    // title sharing most of its character pairs).
    let (second, second_no) = fixtures::register(
        &app,
        bureau,
        json!({"title": "再次反映拆迁补偿款未足额发放"}),
    )
    .await;
    // The same person on another subject with an unrelated title: not proposed.
    let (other_subject, _) = fixtures::register(
        &app,
        bureau,
        json!({"subject": "EDUCATION", "title": "孩子入学难", "content": "学校不接收。"}),
    )
    .await;
    // The same person on another subject, but the same story: proposed for its text.
    let (similar_text, _) = fixtures::register(
        &app,
        bureau,
        json!({"subject": "OTHER", "title": "拆迁补偿款未足额发放问题"}),
    )
    .await;
    // Someone else on the same subject: not proposed.
    let (someone_else, _) = fixtures::register(
        &app,
        bureau,
        json!({"petitioners": [{"name": "王五", "idNumber": "11010519491231002X", "phone": "13800000001"}]}),
    )
    .await;
    // A person named without an ID number is found by name and phone.
    let by_phone = json!({"petitioners": [{"name": "赵六", "phone": "13700000002"}], "title": "宅基地纠纷", "subject": "LAND_EXPROPRIATION"});
    let (phone_first, phone_first_no) = fixtures::register(&app, bureau, by_phone.clone()).await;
    let (phone_again, _) = fixtures::register(&app, bureau, by_phone).await;

    let proposed = case(&app, bureau, &second).await;
    assert_eq!(
        proposed["repeatLinks"],
        json!([{"state": "PROPOSED", "basis": ["ID_NUMBER", "SUBJECT", "SIMILAR_TEXT"], "reason": null,
                "earlierCase": {"number": first_no}, "decidedBy": null}]),
        "{proposed}"
    );
    // A proposal counts for nothing: no repeat, a matter of its own.
    assert_eq!(proposed["isRepeat"], false);
    assert_eq!(numbers(&proposed["matter"]["cases"]), [second_no.as_str()]);
    assert_eq!(proposed["viewerCan"]["linkRepeat"], true);
    assert_eq!(proposed["viewerCan"]["undoRepeat"], false);
    for (id, expected) in [
        (&other_subject, json!([])),
        (&someone_else, json!([])),
        (&similar_text, json!(["ID_NUMBER", "SIMILAR_TEXT"])),
        (
            &phone_again,
            json!(["NAME_PHONE", "SUBJECT", "SIMILAR_TEXT"]),
        ),
    ] {
        let c = case(&app, bureau, id).await;
        let links = c["repeatLinks"].as_array().unwrap();
        match expected.as_array().unwrap().is_empty() {
            true => assert!(links.is_empty(), "{c}"),
            false => {
                // Each of these names only one earlier case of the same person that qualifies
                // (the similar-text case also matches the second case; the newest comes first).
                assert!(links.iter().all(|l| l["state"] == "PROPOSED"), "{c}");
                assert!(links.iter().any(|l| l["basis"] == expected), "{c}");
            }
        }
    }
    let c = case(&app, bureau, &phone_again).await;
    assert_eq!(c["repeatLinks"][0]["earlierCase"]["number"], phone_first_no);
    let _ = phone_first;
    let counts = "{ repeats: cases(filter: {repeat: true}) { totalCount } statistics(from: \"2020-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") { total { cases matters repeats firstPetitions } } }";
    let before = app.gql(Some(bureau), counts, json!({})).await;
    assert_eq!(before["data"]["repeats"]["totalCount"], 0, "{before}");
    assert_eq!(
        before["data"]["statistics"]["total"],
        json!({"cases": 7, "matters": 7, "repeats": 0, "firstPetitions": 7}),
        "{before}"
    );

    // Refusals change nothing: no reason, the later case named as the earlier, itself.
    let v = version(&app, bureau, &second).await;
    for (input, bad) in [
        (
            json!({"caseId": second, "earlierCaseId": first, "expectedVersion": v, "reason": ""}),
            "reason",
        ),
        (
            json!({"caseId": first, "earlierCaseId": second, "expectedVersion": version(&app, bureau, &first).await, "reason": "同一事项"}),
            "earlierCaseId",
        ),
        (
            json!({"caseId": second, "earlierCaseId": second, "expectedVersion": v, "reason": "同一事项"}),
            "earlierCaseId",
        ),
    ] {
        let body = mutate(&app, bureau, "linkRepeat", input, "case { id }").await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(field(&body), Some(bad), "{body}");
    }
    assert_eq!(
        version(&app, bureau, &second).await,
        v,
        "a refusal changes nothing"
    );
    // A unit that neither leads the case nor is the bureau may not link it.
    let body = mutate(
        &app,
        county.token("t2_staff"),
        "linkRepeat",
        json!({"caseId": second, "earlierCaseId": first, "expectedVersion": v, "reason": "同一事项"}),
        "case { id }",
    )
    .await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");

    // The bureau confirms the proposal.
    let linked = link_repeat(&app, bureau, &second, &first).await;
    assert!(linked["errors"].is_null(), "{linked}");
    let confirmed = case(&app, bureau, &second).await;
    assert_eq!(confirmed["isRepeat"], true);
    assert_eq!(confirmed["repeatOf"]["number"], first_no);
    assert_eq!(confirmed["version"], v + 1);
    assert_eq!(
        numbers(&confirmed["matter"]["cases"]),
        [first_no.as_str(), second_no.as_str()]
    );
    assert_eq!(confirmed["matter"]["firstCase"]["number"], first_no);
    assert_eq!(confirmed["matter"]["state"], "OPEN");
    assert_eq!(confirmed["repeatLinks"][0]["state"], "CONFIRMED");
    assert_eq!(
        confirmed["repeatLinks"][0]["reason"],
        "同一信访人就同一事项再次信访"
    );
    assert_eq!(
        confirmed["repeatLinks"][0]["decidedBy"]["name"],
        "清河县信访局"
    );
    assert_eq!(confirmed["viewerCan"]["undoRepeat"], true);
    let first_view = case(&app, bureau, &first).await;
    assert_eq!(first_view["matter"]["id"], confirmed["matter"]["id"]);
    let after = app.gql(Some(bureau), counts, json!({})).await;
    assert_eq!(after["data"]["repeats"]["totalCount"], 1, "{after}");
    assert_eq!(
        after["data"]["statistics"]["total"],
        json!({"cases": 7, "matters": 6, "repeats": 1, "firstPetitions": 6}),
        "{after}"
    );
    // On the record, with its reason and without the other case's id.
    let timeline = app
        .gql(
            Some(bureau),
            "query($id: ID!) { case(id: $id) { timeline { nodes { action detail public } } } }",
            json!({"id": second}),
        )
        .await;
    let entry = timeline["data"]["case"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "LINK_REPEAT")
        .unwrap_or_else(|| panic!("{timeline}"))
        .clone();
    let detail: Value = serde_json::from_str(entry["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail, json!({"reason": "同一信访人就同一事项再次信访"}));
    // Linking again is refused until the link is undone.
    let again = link_repeat(&app, bureau, &second, &first).await;
    assert_eq!(code(&again), Some("BAD_USER_INPUT"), "{again}");

    // A third petition follows the second; undoing the second's link takes both out together.
    let (third, third_no) =
        fixtures::register(&app, bureau, json!({"title": "第三次反映拆迁补偿款"})).await;
    assert!(link_repeat(&app, bureau, &third, &second).await["errors"].is_null());
    let three = case(&app, bureau, &first).await;
    assert_eq!(three["matter"]["caseCount"], 3, "{three}");
    let v = version(&app, bureau, &second).await;
    let undone = ok(
        &app,
        bureau,
        "undoRepeat",
        json!({"caseId": second, "expectedVersion": v, "reason": "经核实系不同房屋的补偿问题"}),
        "case { isRepeat repeatOf { number } matter { cases { number } } repeatLinks { state reason } }",
    )
    .await;
    assert_eq!(
        undone["case"],
        json!({"isRepeat": false, "repeatOf": null,
               "matter": {"cases": [{"number": second_no}, {"number": third_no}]},
               "repeatLinks": [{"state": "UNDONE", "reason": "经核实系不同房屋的补偿问题"}]})
    );
    let alone = case(&app, bureau, &first).await;
    assert_eq!(numbers(&alone["matter"]["cases"]), [first_no.as_str()]);
    let after = app.gql(Some(bureau), counts, json!({})).await;
    // Only the third's link to the second still stands.
    assert_eq!(
        after["data"]["statistics"]["total"],
        json!({"cases": 8, "matters": 7, "repeats": 1, "firstPetitions": 7}),
        "{after}"
    );
    // A matter spanning groups counts once in the total: the similar-text case (subject
    // OTHER) joins the first (HOUSING_DEMOLITION).
    assert!(link_repeat(&app, bureau, &similar_text, &first).await["errors"].is_null());
    let grouped = app
        .gql(
            Some(bureau),
            "{ statistics(from: \"2020-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\", groupBy: SUBJECT) { total { cases matters } groups { key figures { cases matters } } } }",
            json!({}),
        )
        .await;
    let stats = &grouped["data"]["statistics"];
    // Matters now: {first, similar_text}, {second, third}, and four of one case each (the
    // groups below add up to 7, as the matter of first counts in two subjects).
    assert_eq!(
        stats["total"],
        json!({"cases": 8, "matters": 6}),
        "{grouped}"
    );
    let group = |key: &str| {
        stats["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .map(|g| g["figures"].clone())
    };
    // HOUSING_DEMOLITION: first, second, third, someone_else — three matters; OTHER: one.
    assert_eq!(
        group("HOUSING_DEMOLITION"),
        Some(json!({"cases": 4, "matters": 3}))
    );
    assert_eq!(group("OTHER"), Some(json!({"cases": 1, "matters": 1})));
    // A case that others repeat cannot cross the line between accusations and other
    // petitions (its matter would hold both); nothing changes.
    let v = version(&app, bureau, &first).await;
    let crossing = mutate(
        &app,
        bureau,
        "reclassifyCase",
        json!({"caseId": first, "expectedVersion": v, "category": "ACCUSATION",
               "subject": "OFFICIAL_CONDUCT", "reason": "实为检举"}),
        "case { category }",
    )
    .await;
    assert_eq!(
        (code(&crossing), field(&crossing)),
        (Some("BAD_USER_INPUT"), Some("category")),
        "{crossing}"
    );
    assert_eq!(version(&app, bureau, &first).await, v);
    // Undoing a case that repeats nothing is refused.
    let v = version(&app, bureau, &first).await;
    let body = mutate(
        &app,
        bureau,
        "undoRepeat",
        json!({"caseId": first, "expectedVersion": v, "reason": "撤销"}),
        "case { id }",
    )
    .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
}

#[tokio::test]
async fn declined_and_closed_cases_are_proposed_and_not_acceptable_is_a_decision_citing_the_conclusion()
 {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    // The first petition was declined; a petition that comes back after it is still proposed.
    let (declined, declined_no) = fixtures::register(&app, bureau, json!({})).await;
    ok(
        &app,
        bureau,
        "decideAcceptance",
        json!({"caseId": declined, "expectedVersion": 1, "decision": "DECLINE", "reason": "不属于本单位职责范围"}),
        "case { status }",
    )
    .await;
    let (back, _) = fixtures::register(&app, bureau, json!({})).await;
    let c = case(&app, bureau, &back).await;
    assert_eq!(
        c["repeatLinks"][0]["earlierCase"]["number"], declined_no,
        "{c}"
    );

    // A matter concluded by re-review: its re-review was decided (the workflow tests walk that
    // path; here the state is set as it leaves it).
    let (concluded, concluded_no) = fixtures::register(
        &app,
        bureau,
        json!({"subject": "MIGRANT_WORKER_WAGES", "title": "拖欠农民工工资"}),
    )
    .await;
    use sea_orm::ConnectionTrait;
    let concluded_id =
        xinfang_api::graphql::lookup_id("Case", &async_graphql::ID(concluded.clone())).unwrap();
    app.db()
        .execute_unprepared(&format!(
            "UPDATE cases SET status = 'FINALIZED' WHERE id = {concluded_id}"
        ))
        .await
        .unwrap();
    let (again, _) = fixtures::register(
        &app,
        bureau,
        json!({"subject": "MIGRANT_WORKER_WAGES", "title": "农民工工资被拖欠"}),
    )
    .await;
    let fresh = case(&app, bureau, &again).await;
    // Nothing blocks acceptance automatically.
    assert_eq!(fresh["viewerCan"]["decideAcceptance"], true);
    assert_eq!(fresh["notAcceptable"], false);
    let decline = |cited: Option<&str>, v: i64| {
        let mut input = json!({"caseId": again, "expectedVersion": v, "decision": "DECLINE_CONCLUDED",
                               "reason": "该事项已经复核终结，不再受理"});
        if let Some(c) = cited {
            input["citedCaseId"] = json!(c);
        }
        input
    };
    let select = "case { status notAcceptable acceptance { decision reason citedCase { number } } matter { state concludedBy { number } } }";
    // 不再受理 names the conclusion, and only once the cases are one matter.
    let v = version(&app, bureau, &again).await;
    for (input, bad) in [
        (decline(None, v), "citedCaseId"),
        (decline(Some(&concluded), v), "citedCaseId"),
    ] {
        let body = mutate(&app, bureau, "decideAcceptance", input, select).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(field(&body), Some(bad), "{body}");
    }
    assert!(link_repeat(&app, bureau, &again, &concluded).await["errors"].is_null());
    let linked = case(&app, bureau, &again).await;
    assert_eq!(linked["matter"]["state"], "CONCLUDED", "{linked}");
    assert_eq!(linked["matter"]["concludedBy"]["number"], concluded_no);
    // An open case of the matter is no conclusion to cite.
    let (open_one, _) = fixtures::register(
        &app,
        bureau,
        json!({"subject": "MIGRANT_WORKER_WAGES", "title": "拖欠农民工工资三"}),
    )
    .await;
    assert!(link_repeat(&app, bureau, &open_one, &concluded).await["errors"].is_null());
    let v = version(&app, bureau, &again).await;
    let body = mutate(
        &app,
        bureau,
        "decideAcceptance",
        decline(Some(&open_one), v),
        select,
    )
    .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(body.to_string().contains("has not concluded"), "{body}");
    let declined_now = ok(
        &app,
        bureau,
        "decideAcceptance",
        decline(Some(&concluded), v),
        select,
    )
    .await;
    assert_eq!(
        declined_now["case"],
        json!({"status": "NOT_ACCEPTED", "notAcceptable": true,
               "acceptance": {"decision": "DECLINE_CONCLUDED", "reason": "该事项已经复核终结，不再受理",
                              "citedCase": {"number": concluded_no}},
               "matter": {"state": "CONCLUDED", "concludedBy": {"number": concluded_no}}})
    );
    // The link stands with the decision that rests on it.
    let v = version(&app, bureau, &again).await;
    let undo = mutate(
        &app,
        bureau,
        "undoRepeat",
        json!({"caseId": again, "expectedVersion": v, "reason": "撤销"}),
        "case { id }",
    )
    .await;
    assert_eq!(code(&undo), Some("BAD_USER_INPUT"), "{undo}");
    assert_eq!(version(&app, bureau, &again).await, v);
    // The other new petition on the concluded matter may still be accepted: the unit decides.
    let v = version(&app, bureau, &open_one).await;
    let accepted = ok(
        &app,
        bureau,
        "decideAcceptance",
        json!({"caseId": open_one, "expectedVersion": v, "decision": "ACCEPT"}),
        "case { status notAcceptable }",
    )
    .await;
    assert_eq!(
        accepted["case"],
        json!({"status": "IN_PROGRESS", "notAcceptable": false})
    );
}

/// Two petitions for 县住建局: the earlier registered by the bureau, county-wide, out of
/// 东关镇's sight; the later at 东关镇's counter, so 东关镇 sees it as its registering unit.
/// ((earlier id, its number), (later id, its number))
async fn earlier_out_of_t1s_sight(
    app: &crate::support::TestApp,
    county: &fixtures::County,
) -> ((String, String), (String, String)) {
    let dept = json!({"leadUnitId": crate::support::gid("OrgUnit", county.dept_a)});
    let earlier = fixtures::register(app, county.token("bureau_staff"), dept.clone()).await;
    let later = fixtures::register(app, county.token("t1_staff"), dept).await;
    (earlier, later)
}

/// 不再受理 cites the earlier case whose conclusion stands; only the decider had to see it. A
/// reader of the new case who may not see the earlier one reads the notice, on the graph and in
/// its PDF, without that number, and no timeline entry of the new case stores the earlier
/// case's id or number (the entry's hash, shown to staff, would let a reader try ids until it
/// matched).
#[tokio::test]
async fn a_not_acceptable_notice_names_the_cited_case_only_to_those_who_see_it() {
    use crate::documents::{get_pdf, pdf_text};
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // The earlier petition, registered by the bureau for 县住建局 and since finalized: 东关镇
    // does not see it. The later one, registered at 东关镇's counter for 县住建局.
    let ((earlier, earlier_no), (later, _)) = earlier_out_of_t1s_sight(&app, &county).await;
    let earlier_id =
        xinfang_api::graphql::lookup_id("Case", &async_graphql::ID(earlier.clone())).unwrap();
    app.sql(&format!(
        "UPDATE cases SET status = 'FINALIZED' WHERE id = {earlier_id}"
    ))
    .await;
    let later_id =
        xinfang_api::graphql::lookup_id("Case", &async_graphql::ID(later.clone())).unwrap();
    let a_staff = county.token("a_staff");
    assert!(link_repeat(&app, a_staff, &later, &earlier).await["errors"].is_null());
    let v = version(&app, a_staff, &later).await;
    ok(
        &app,
        a_staff,
        "decideAcceptance",
        json!({"caseId": later, "expectedVersion": v, "decision": "DECLINE_CONCLUDED",
               "reason": "该事项已经复核终结，不再受理", "citedCaseId": earlier}),
        "case { status }",
    )
    .await;
    let notice = |token: String| {
        let app = &app;
        let later = later.clone();
        async move {
            let body = app
                .gql(
                    Some(&token),
                    "query($id: ID!) { case(id: $id) { documents { kind body pdfPath } } }",
                    json!({"id": later}),
                )
                .await;
            let doc = body["data"]["case"]["documents"]
                .as_array()
                .and_then(|d| d.iter().find(|d| d["kind"] == "NON_ACCEPTANCE_NOTICE"))
                .unwrap_or_else(|| panic!("{body}"))
                .clone();
            let text: String = doc["body"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            let (status, pdf) =
                get_pdf(app, doc["pdfPath"].as_str().unwrap(), Some(&token), None).await;
            assert_eq!(status, 200);
            (text, pdf_text(&pdf))
        }
    };
    let earlier_no = earlier_no.as_str();
    // The lead unit, which sees both, reads the notice as issued.
    let (text, pdf) = notice(county.token("a_staff").to_string()).await;
    assert!(
        text.contains(earlier_no) && pdf.contains(earlier_no),
        "{text} / {pdf}"
    );
    // 东关镇 reads it without the number, in both.
    let (text, pdf) = notice(county.token("t1_staff").to_string()).await;
    assert!(
        !text.contains(earlier_no) && text.contains("〔另案，编号不予显示〕"),
        "{text}"
    );
    assert!(!pdf.contains(earlier_no) && pdf.contains("另案"), "{pdf}");
    let stored = format!(
        "SELECT count(*) FROM case_events WHERE case_id = {later_id} \
         AND (detail LIKE '%citedCaseId%' OR detail LIKE '%{earlier_no}%')"
    );
    assert_eq!(app.number(&stored).await, 0);
}

#[tokio::test]
async fn a_link_to_a_case_out_of_sight_leaves_no_trace_on_the_timeline() {
    use crate::support::Ws;
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // The earlier petition: registered by the bureau for 县住建局, county-wide — 东关镇 does
    // not see it. The later one: registered at 东关镇's counter for 县住建局, so 东关镇 sees it
    // as its registering unit.
    let ((earlier, _), (later, _)) = earlier_out_of_t1s_sight(&app, &county).await;
    let t1 = county.token("t1_staff");
    let hidden = app
        .gql(
            Some(t1),
            "query($id: ID!) { case(id: $id) { id } }",
            json!({"id": earlier}),
        )
        .await;
    assert_eq!(code(&hidden), Some("NOT_FOUND"), "{hidden}");
    let mut ws = Ws::open(&app.url, t1, None).await.expect("upgrade");
    ws.acked().await;
    ws.subscribe(
        "1",
        "subscription($id: ID!) { caseEvents(caseId: $id) { action } }",
        json!({"id": later}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // 县住建局 leads both and confirms the link, then accepts the case.
    let a_staff = county.token("a_staff");
    assert!(link_repeat(&app, a_staff, &later, &earlier).await["errors"].is_null());
    let v = version(&app, a_staff, &later).await;
    ok(
        &app,
        a_staff,
        "decideAcceptance",
        json!({"caseId": later, "expectedVersion": v, "decision": "ACCEPT"}),
        "__typename",
    )
    .await;
    // The socket's next event is the acceptance: the link never reached it.
    let next = ws
        .next_data(std::time::Duration::from_secs(5))
        .await
        .expect("an event");
    assert_eq!(next["caseEvents"]["action"], "ACCEPT", "{next}");

    let q = "query($id: ID!) { case(id: $id) {
      number isRepeat matter { caseCount firstCase { number } } repeatLinks { state }
      latest: timeline { totalCount nodes { id action } }
      paged: timeline(first: 10, after: \"1\") { totalCount nodes { action } } } }";
    let lead = app.gql(Some(a_staff), q, json!({"id": later})).await;
    let actions = |body: &Value, which: &str| -> Vec<String> {
        body["data"]["case"][which]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|n| n["action"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    // The lead unit sees both cases, the link and its entry: REGISTER, LINK_REPEAT, ACCEPT.
    assert_eq!(
        actions(&lead, "latest"),
        ["REGISTER", "LINK_REPEAT", "ACCEPT"]
    );
    assert_eq!(lead["data"]["case"]["latest"]["totalCount"], 3);
    assert_eq!(actions(&lead, "paged"), ["LINK_REPEAT", "ACCEPT"]);
    // 东关镇 sees the later case only: no link, no entry, and counts that agree.
    let registrant = app.gql(Some(t1), q, json!({"id": later})).await;
    let c = &registrant["data"]["case"];
    assert_eq!(c["isRepeat"], false, "{registrant}");
    assert_eq!(c["matter"]["caseCount"], 1);
    // Its first case, as far as it sees: the later case itself, not a hint of the earlier.
    assert_eq!(c["matter"]["firstCase"]["number"], c["number"]);
    assert_eq!(c["repeatLinks"], json!([]));
    assert_eq!(actions(&registrant, "latest"), ["REGISTER", "ACCEPT"]);
    assert_eq!(c["latest"]["totalCount"], 2);
    assert_eq!(actions(&registrant, "paged"), ["ACCEPT"]);
    assert_eq!(c["paged"]["totalCount"], 2);
    // Grouped by the unit that first received each case (首接单位): the bureau sees one of its
    // own and one of 东关镇's.
    let by_registrant = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ statistics(from: \"2020-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\", groupBy: REGISTERED_BY) { groups { label figures { cases } } } }",
            json!({}),
        )
        .await;
    let mut groups: Vec<(String, i64)> = by_registrant["data"]["statistics"]["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("{by_registrant}"))
        .iter()
        .map(|g| {
            (
                g["label"].as_str().unwrap_or_default().to_string(),
                g["figures"]["cases"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        [("东关镇".to_string(), 1), ("清河县信访局".to_string(), 1)]
    );
    // Nor by the entry's own id.
    let link_entry = lead["data"]["case"]["latest"]["nodes"][1]["id"].clone();
    let by_id = app
        .gql(
            Some(t1),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": link_entry}),
        )
        .await;
    assert_eq!(by_id["data"]["node"], Value::Null, "{by_id}");
    assert_eq!(code(&by_id), Some("NOT_FOUND"), "{by_id}");
    let seen = app
        .gql(
            Some(a_staff),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": link_entry}),
        )
        .await;
    assert_eq!(seen["data"]["node"]["id"], link_entry, "{seen}");
}

#[tokio::test]
async fn two_links_at_once_leave_every_case_in_the_matter_of_the_case_it_repeats() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    let a_staff = county.token("a_staff");
    let dept = json!({"leadUnitId": crate::support::gid("OrgUnit", county.dept_a)});
    // Oldest first: F, then E, then C — three petitions of one person.
    let (f, _) = fixtures::register(&app, bureau, dept.clone()).await;
    let (e, _) = fixtures::register(&app, bureau, dept.clone()).await;
    let (c, _) = fixtures::register(&app, bureau, dept).await;
    for _ in 0..3 {
        // C joins E's matter while E joins F's, at the same moment, by two units' staff.
        let (one, two) = tokio::join!(
            link_repeat(&app, bureau, &c, &e),
            link_repeat(&app, a_staff, &e, &f)
        );
        assert!(one["errors"].is_null(), "{one}");
        assert!(two["errors"].is_null(), "{two}");
        let ids: Vec<Value> = futures_util::future::join_all(
            [&f, &e, &c].map(|id| async { case(&app, bureau, id).await["matter"]["id"].clone() }),
        )
        .await;
        assert!(
            ids.iter().all(|m| *m == ids[0]),
            "one matter for all three: {ids:?}"
        );
        // Back to three matters for the next round.
        for id in [&c, &e] {
            let v = version(&app, bureau, id).await;
            ok(
                &app,
                bureau,
                "undoRepeat",
                json!({"caseId": id, "expectedVersion": v, "reason": "重来"}),
                "__typename",
            )
            .await;
        }
    }
}

/// A matter lists at most its 500 oldest cases, but its count, state and concluding case come
/// from every case the viewer sees: a matter of 521 cases whose 510th closed after its reply
/// once the review window had lapsed (a 506th closed before it did; a 516th was finalized)
/// counts 521 and is concluded by that case, seen from its first case and from its
/// latest.
#[tokio::test]
async fn a_matter_past_its_listing_bound_still_counts_and_concludes_from_every_case() {
    use sea_orm::{EntityTrait, IntoActiveModel, Set};
    use xinfang_api::domain::CaseStatus;
    use xinfang_entity::case;
    let app = spawn_app().await;
    let c = fixtures::county(&app).await;
    let staff = c.token("bureau_staff");
    let (first_id, first_number) = fixtures::register(&app, staff, json!({})).await;
    let first = case::Entity::find()
        .one(app.db())
        .await
        .expect("read")
        .expect("the first case");
    // 520 more cases of the same matter, received one minute apart after the first, put
    // straight into the table (registering and linking each through the API would take
    // minutes).
    let mut rows = vec![];
    for i in 1..=520_i64 {
        let mut row = first.clone().into_active_model();
        row.id = sea_orm::ActiveValue::NotSet;
        row.number = Set(format!("{}-{i}", first.number));
        row.received_at = Set(first.received_at + chrono::TimeDelta::minutes(i));
        let at = first.received_at + chrono::TimeDelta::days(i);
        match i {
            // Closed after its reply before its review window lapsed: not concluding.
            505 => {
                row.status = Set(CaseStatus::Closed);
                row.replied_at = Set(Some(at));
                row.review_request_by = Set(Some(at + chrono::TimeDelta::days(30)));
                row.closed_at = Set(Some(at + chrono::TimeDelta::days(2)));
            }
            // Closed after its reply once the window lapsed with no request: concluding.
            509 => {
                row.status = Set(CaseStatus::Closed);
                row.replied_at = Set(Some(at));
                row.review_request_by = Set(Some(at + chrono::TimeDelta::days(30)));
                row.closed_at = Set(Some(at + chrono::TimeDelta::days(31)));
            }
            // Finalized after re-review, later: concluding too, but not the first.
            515 => row.status = Set(CaseStatus::Finalized),
            _ => {}
        }
        rows.push(row);
    }
    for chunk in rows.chunks(100) {
        case::Entity::insert_many(chunk.to_vec())
            .exec(app.db())
            .await
            .expect("the copies");
    }
    let concluding = format!("{}-509", first.number);
    let latest = case::Entity::find()
        .all(app.db())
        .await
        .expect("read")
        .into_iter()
        .max_by_key(|m| m.received_at)
        .expect("the latest");
    for id in [first_id.clone(), crate::support::gid("Case", latest.id)] {
        let m = &case(&app, staff, &id).await["matter"];
        assert_eq!(m["caseCount"], 521, "{id}");
        assert_eq!(m["cases"].as_array().map(Vec::len), Some(500), "{id}");
        assert_eq!(m["firstCase"]["number"], first_number.as_str(), "{id}");
        assert_eq!(m["concludedBy"]["number"], concluding.as_str(), "{id}");
        assert_eq!(m["state"], "CONCLUDED", "{id}");
    }
    // Every one of the 521, page by page, oldest first: the first, then the copies in the
    // order they were received.
    let matter = case(&app, staff, &first_id).await["matter"]["id"].clone();
    let mut expected = vec![first_number.clone()];
    expected.extend((1..=520).map(|i| format!("{}-{i}", first.number)));
    let listed = matter_cases(&app, staff, &matter, 100).await;
    assert_eq!(listed.0, 521, "totalCount");
    assert_eq!(listed.1, expected);
}

/// `cases(filter: {matterId})` read to the end, `first` at a time, oldest first: the
/// connection's `totalCount` and the numbers of every page in order.
async fn matter_cases(
    app: &crate::support::TestApp,
    token: &str,
    matter: &Value,
    first: i64,
) -> (i64, Vec<String>) {
    let mut listed: Vec<String> = vec![];
    let mut after = Value::Null;
    loop {
        let body = app
            .gql(
                Some(token),
                "query($m: ID!, $first: Int!, $after: String) {
                   cases(first: $first, after: $after, filter: {matterId: $m},
                         orderBy: {field: RECEIVED_AT, direction: ASC}) {
                     totalCount nodes { number } pageInfo { hasNextPage endCursor } } }",
                json!({"m": matter, "first": first, "after": after}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let page = &body["data"]["cases"];
        listed.extend(numbers(&page["nodes"]).into_iter().map(str::to_string));
        if page["pageInfo"]["hasNextPage"] != true {
            return (page["totalCount"].as_i64().unwrap_or(-1), listed);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn a_matter_is_listed_page_by_page_as_far_as_each_viewer_sees_it() {
    use crate::support::gid;
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // As in `a_link_to_a_case_out_of_sight_leaves_no_trace_on_the_timeline`: the earlier
    // petition is the bureau's, for 县住建局, out of 东关镇's sight; the later one is
    // registered at 东关镇's counter for 县住建局. 县住建局 leads both and links them into
    // one matter.
    let ((earlier, earlier_number), (later, later_number)) =
        earlier_out_of_t1s_sight(&app, &county).await;
    let a_staff = county.token("a_staff");
    assert!(link_repeat(&app, a_staff, &later, &earlier).await["errors"].is_null());
    let matter = case(&app, a_staff, &later).await["matter"]["id"].clone();
    // A petition of another matter that every one of them but 县人社局 sees: never listed.
    fixtures::register(
        &app,
        county.token("t1_staff"),
        json!({"leadUnitId": gid("OrgUnit", county.dept_a)}),
    )
    .await;
    // Who sees what of the matter: the lead unit and the bureau both cases, 东关镇 only the one
    // it registered, 县人社局 (no relation to either) none — an empty page, not an error.
    let both = vec![earlier_number.clone(), later_number.clone()];
    let sees: [(&str, Vec<String>); 4] = [
        ("a_staff", both.clone()),
        ("bureau_staff", both),
        ("t1_staff", vec![later_number.clone()]),
        ("b_staff", vec![]),
    ];
    for (who, expected) in sees {
        let (total, listed) = matter_cases(&app, county.token(who), &matter, 1).await;
        assert_eq!(listed, expected, "{who}");
        assert_eq!(total, expected.len() as i64, "{who}: totalCount");
    }
    // The export takes the same filter: 东关镇's sheet of the matter has its one case (none of
    // the three was registered late).
    let csv = app
        .client
        .get(format!("{}/export/cases.csv", app.url))
        .query(&[
            ("matterId", matter.as_str().unwrap_or_default()),
            ("registeredLate", "false"),
        ])
        .bearer_auth(county.token("t1_staff"))
        .send()
        .await
        .expect("the export answers")
        .text()
        .await
        .expect("a sheet");
    assert!(csv.contains(&later_number), "{csv}");
    assert!(!csv.contains(&earlier_number), "{csv}");
    assert_eq!(csv.lines().count(), 2, "a header and one case: {csv}");
    // An id that is not a matter's is refused, and says which field.
    let refused = app
        .gql(
            Some(a_staff),
            "query($m: ID!) { cases(filter: {matterId: $m}) { totalCount } }",
            json!({"m": later}),
        )
        .await;
    assert_eq!(code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    assert!(refused.to_string().contains("filter.matterId"), "{refused}");
}
