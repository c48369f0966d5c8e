//! Written documents (issue: documents, delivery, attachments, query code): each decision the
//! petitioner must be told of issues a numbered notice, readable back as PDF with its Chinese
//! text; delivery per document; corrections that supersede; the query code's public view.

use crate::fixtures::{self, County, mutate, ok, version};
use crate::support::{TestApp, code, field, gid, parse_instant, spawn_app};
use serde_json::{Value, json};

const DOCUMENTS: &str = "query($id: ID!) { case(id: $id) { documents { id kind title number issuer
    issuedAt addressee body reviewClause sha256 supersedes supersededBy correctionReason pdfPath queryCode
    delivery { method deliveredAt trackingNumber } } } }";

/// The digest a viewer would compute to test a guess at a document's addressee, from what the
/// document shows it (`DOCUMENTS`): the content as the server hashed it before each document
/// carried a salt of its own.
fn digest_of_guess(
    doc: &Value,
    case_number: &Value,
    unit_id: i64,
    addressee: &str,
    salt: Option<&str>,
) -> Value {
    use sha2::Digest;
    let body: Vec<&str> = doc["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let mut content = json!({
        "kind": doc["kind"], "number": doc["number"], "case": case_number, "unitId": unit_id,
        "issuedAt": parse_instant(doc["issuedAt"].as_str().unwrap()), "addressee": addressee,
        "body": body.join("\n"), "reviewClause": doc["reviewClause"],
        "supersedes": Value::Null, "correctionReason": doc["correctionReason"],
    });
    if let Some(salt) = salt {
        content["salt"] = json!(salt);
    }
    json!(hex::encode(sha2::Sha256::digest(
        content.to_string().as_bytes()
    )))
}

async fn documents(app: &TestApp, token: &str, case: &str) -> Vec<Value> {
    let body = app.gql(Some(token), DOCUMENTS, json!({"id": case})).await;
    body["data"]["case"]["documents"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

/// Asserts each viewer's `Document.viewerCan` on `doc`, given as (viewer, deliver, correct); a
/// viewer who does not see the document may do neither.
async fn told(app: &TestApp, county: &County, doc: &Value, expected: &[(&str, bool, bool)]) {
    for (who, deliver, correct) in expected {
        let got = flags(app, county.token(who), doc).await;
        assert_eq!(got, (*deliver, *correct), "{who} on {}", doc["number"]);
    }
}

/// One token's `Document.viewerCan` on `doc` as (deliver, correct): both false where the
/// document is out of sight (`NOT_FOUND`); otherwise the flags, without an error.
async fn flags(app: &TestApp, token: &str, doc: &Value) -> (bool, bool) {
    let body = app
        .gql(
            Some(token),
            "query($id: ID!) { node(id: $id) { ... on Document { viewerCan { deliver correct } } } }",
            json!({"id": doc["id"]}),
        )
        .await;
    match &body["data"]["node"] {
        Value::Null => {
            assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
            (false, false)
        }
        node => {
            assert!(body["errors"].is_null(), "{body}");
            let flag = |f: &str| node["viewerCan"][f].as_bool().expect("a flag");
            (flag("deliver"), flag("correct"))
        }
    }
}

fn pin(app: &TestApp, rfc3339: &str) {
    let at = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .to_utc();
    assert!(app.state.clock.set(at));
}

/// GETs a PDF path with a bearer token (or a query code); the status and the bytes.
pub async fn get_pdf(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    query_code: Option<&str>,
) -> (u16, Vec<u8>) {
    let mut req = app.client.get(format!("{}{path}", app.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(c) = query_code {
        req = req.header("x-query-code", c);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.bytes().await.unwrap().to_vec())
}

/// The text of a PDF as a reader extracts it, with the layout's spaces and breaks removed
/// (a line may wrap anywhere in Chinese text).
pub fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    pdf_extract::extract_text_from_mem(bytes)
        .expect("the PDF's text reads back")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// A case registered by the bureau about 东关镇, transferred to 东关镇 and accepted there.
async fn accepted_at_township(app: &TestApp, county: &County) -> String {
    let bureau = county.token("bureau_staff");
    let (id, _) = fixtures::register(
        app,
        bureau,
        json!({"townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let v = version(app, bureau, &id).await;
    ok(app, bureau, "transferCase",
        json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.t1), "mode": "TRANSFER", "reason": "属地管理"}),
        "case { id }").await;
    let t1 = county.token("t1_staff");
    fixtures::accept(app, t1, &id).await;
    id
}

fn numbers_joined(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| d["number"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("；")
}

/// The query code as the acceptance notice shows it to the unit handing it over.
fn query_code_in(document: &Value) -> String {
    document["queryCode"]
        .as_str()
        .unwrap_or_else(|| panic!("no query code on {document}"))
        .to_string()
}

#[tokio::test]
async fn each_decision_issues_a_numbered_notice_that_reads_back_as_pdf() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    pin(&app, "2026-11-02T02:00:00Z"); // Monday 10:00 in China
    county.renew(&app).await;
    let id = accepted_at_township(&app, &county).await;
    let t1 = county.token("t1_staff");
    let ext = ok(
        &app,
        t1,
        "requestExtension",
        json!({"caseId": id, "days": 10, "reason": "需等待审计结果"}),
        "extension { id }",
    )
    .await;
    ok(
        &app,
        county.token("t1_leader"),
        "decideExtension",
        json!({"extensionId": ext["extension"]["id"], "approve": true}),
        "case { id }",
    )
    .await;
    let v = version(&app, t1, &id).await;
    ok(&app, county.token("t1_leader"), "issueReply",
        json!({"caseId": id, "expectedVersion": v, "outcome": "PARTIALLY_SUPPORTED", "facts": "经查，补偿款已发放百分之八十。", "reasons": "剩余部分待审计。", "basis": "《国有土地上房屋征收与补偿条例》"}),
        "case { status }").await;

    let docs = documents(&app, t1, &id).await;
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "TRANSFER_NOTICE",
            "ACCEPTANCE_NOTICE",
            "EXTENSION_NOTICE",
            "REPLY_OPINION"
        ],
        "one notice per decision the petitioner is told of, in order"
    );
    // Each kind is numbered in the county's own series for the year (division code 130534).
    let numbers: Vec<&str> = docs.iter().map(|d| d["number"].as_str().unwrap()).collect();
    assert_eq!(
        numbers,
        [
            "130534信转〔2026〕1号",
            "130534信受〔2026〕1号",
            "130534信延〔2026〕1号",
            "130534信处〔2026〕1号"
        ]
    );
    assert_eq!(
        docs[0]["issuer"], "清河县信访局",
        "the bureau transferred it"
    );
    assert_eq!(docs[1]["issuer"], "东关镇", "the unit in charge decided");
    for d in &docs {
        assert_eq!(d["addressee"], "李四");
        assert_eq!(d["delivery"], Value::Null, "nothing delivered yet");
        assert_eq!(d["sha256"].as_str().unwrap().len(), 64);
    }
    // An appeal's reply names where review may be asked: the township's superior, 30 days.
    let clause = docs[3]["reviewClause"].as_str().unwrap();
    assert!(
        clause.contains("30日内") && clause.contains("清河县") && clause.contains("请求复查"),
        "{clause}"
    );
    assert_eq!(docs[1]["reviewClause"], Value::Null);

    // The PDFs carry the Chinese text: title, number, addressee, decision, issuer and date.
    let expect: [&[&str]; 4] = [
        &[
            "信访事项转送告知书",
            "130534信转〔2026〕1号",
            "李四：",
            "转送东关镇办理",
            "属地管理",
            "清河县信访局",
            "2026年11月2日",
        ],
        &[
            "信访事项受理告知书",
            "130534信受〔2026〕1号",
            "决定予以受理",
            "东关镇",
            "查询码",
        ],
        &["信访事项延期办理告知书", "延长10日", "需等待审计结果"],
        &[
            "信访事项处理意见书",
            "130534信处〔2026〕1号",
            "部分支持",
            "剩余部分待审计",
            "《国有土地上房屋征收与补偿条例》",
            "请求复查",
        ],
    ];
    for (d, wanted) in docs.iter().zip(expect) {
        let (status, bytes) = get_pdf(&app, d["pdfPath"].as_str().unwrap(), Some(t1), None).await;
        assert_eq!(status, 200);
        let text = pdf_text(&bytes);
        for w in wanted {
            assert!(text.contains(w), "{} lacks {w}: {text}", d["number"]);
        }
    }
    // The acceptance notice prints the query code the petitioner follows the case with, on the
    // copy of the unit that hands it over; the stored text does not hold it.
    let query_code = query_code_in(&docs[1]);
    let (_, bytes) = get_pdf(&app, docs[1]["pdfPath"].as_str().unwrap(), Some(t1), None).await;
    assert!(pdf_text(&bytes).contains(&format!("查询码：{query_code}")));
    assert!(!docs[1]["body"].to_string().contains(&query_code));
    assert_eq!(
        docs[0]["queryCode"],
        Value::Null,
        "only on the acceptance notice"
    );

    // The timeline's entry for each decision names its document and the content's SHA-256.
    let body = app
        .gql(
            Some(t1),
            "query($id: ID!) { case(id: $id) { timeline { nodes { action detail } } } }",
            json!({"id": id}),
        )
        .await;
    let accept = body["data"]["case"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "ACCEPT")
        .unwrap()
        .clone();
    let detail: Value = serde_json::from_str(accept["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["document"]["number"], docs[1]["number"]);
    assert_eq!(detail["document"]["sha256"], docs[1]["sha256"]);

    // The export lists the case's document numbers.
    let number = app
        .gql(
            Some(t1),
            "query($id: ID!) { case(id: $id) { number } }",
            json!({"id": id}),
        )
        .await["data"]["case"]["number"]
        .as_str()
        .unwrap()
        .to_string();
    let (numbers, files) = crate::attachments::export_tail(&app, t1, &number).await;
    assert_eq!(numbers, numbers_joined(&docs));
    assert_eq!(files, "0");

    // Without a token, or for a unit that does not see the case, there is no document.
    assert_eq!(
        get_pdf(&app, docs[1]["pdfPath"].as_str().unwrap(), None, None)
            .await
            .0,
        401
    );
    let (status, _) = get_pdf(
        &app,
        docs[1]["pdfPath"].as_str().unwrap(),
        Some(county.token("t2_staff")),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let node = app
        .gql(
            Some(county.token("t2_staff")),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": docs[1]["id"]}),
        )
        .await;
    assert_eq!(code(&node), Some("NOT_FOUND"));
    let node = app
        .gql(
            Some(t1),
            "query($id: ID!) { node(id: $id) { ... on Document { number } } }",
            json!({"id": docs[1]["id"]}),
        )
        .await;
    assert_eq!(node["data"]["node"]["number"], docs[1]["number"]);
}

#[tokio::test]
async fn declines_and_legal_routes_are_told_in_writing() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let a = county.token("a_staff");
    let (declined, _) = fixtures::register(&app, a, json!({"category": "SUGGESTION"})).await;
    let v = version(&app, a, &declined).await;
    ok(&app, a, "decideAcceptance",
        json!({"caseId": declined, "expectedVersion": v, "decision": "DECLINE", "reason": "已由法院受理的同一争议。"}),
        "case { status }").await;
    let (routed, _) = fixtures::register(&app, a, json!({})).await;
    let v = version(&app, a, &routed).await;
    ok(&app, a, "decideAcceptance",
        json!({"caseId": routed, "expectedVersion": v, "decision": "REDIRECT_TO_LEGAL_ROUTE", "legalRoute": "ADMINISTRATIVE_RECONSIDERATION"}),
        "case { status }").await;
    let d = &documents(&app, a, &declined).await[0];
    assert_eq!(d["kind"], "NON_ACCEPTANCE_NOTICE");
    let (_, bytes) = get_pdf(&app, d["pdfPath"].as_str().unwrap(), Some(a), None).await;
    let text = pdf_text(&bytes);
    for w in [
        "信访事项不予受理告知书",
        "决定不予受理",
        "已由法院受理的同一争议",
        "县住建局",
    ] {
        assert!(text.contains(w), "lacks {w}: {text}");
    }
    assert!(
        !text.contains("查询码"),
        "a declined case has no query code"
    );
    let d = &documents(&app, a, &routed).await[0];
    assert_eq!(d["kind"], "LEGAL_ROUTE_NOTICE");
    let (_, bytes) = get_pdf(&app, d["pdfPath"].as_str().unwrap(), Some(a), None).await;
    assert!(pdf_text(&bytes).contains("应当通过行政复议途径解决"));
}

#[tokio::test]
async fn delivery_is_recorded_per_document_and_the_reply_starts_the_window() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    pin(&app, "2026-11-02T02:00:00Z");
    county.renew(&app).await;
    let id = accepted_at_township(&app, &county).await;
    let t1 = county.token("t1_staff");
    let acceptance = documents(&app, t1, &id).await[1].clone();
    const DELIVERED: &str =
        "document { number delivery { method deliveredAt trackingNumber } } case { version }";
    // (viewer, deliver, correct): the issuing township leads the case; the bureau delivers
    // any document of its county; the county unit oversees without either; t2 sees nothing.
    told(
        &app,
        &county,
        &acceptance,
        &[
            ("t1_staff", true, true),
            ("bureau_staff", true, false),
            ("county_staff", false, false),
            ("t2_staff", false, false),
        ],
    )
    .await;

    // By post without its tracking number: refused, nothing recorded.
    let refused = mutate(
        &app,
        t1,
        "deliverDocument",
        json!({"documentId": acceptance["id"], "method": "POST"}),
        DELIVERED,
    )
    .await;
    assert_eq!(code(&refused), Some("BAD_USER_INPUT"));
    assert_eq!(field(&refused), Some("trackingNumber"));
    assert_eq!(documents(&app, t1, &id).await[1]["delivery"], Value::Null);
    // Another township does not see the case, so not the document either.
    let elsewhere = mutate(
        &app,
        county.token("t2_staff"),
        "deliverDocument",
        json!({"documentId": acceptance["id"], "method": "IN_PERSON"}),
        DELIVERED,
    )
    .await;
    assert_eq!(code(&elsewhere), Some("NOT_FOUND"));
    let done = ok(&app, t1, "deliverDocument",
        json!({"documentId": acceptance["id"], "method": "POST", "trackingNumber": "EMS1234567890"}), DELIVERED).await;
    assert_eq!(done["document"]["delivery"]["method"], "POST");
    assert_eq!(
        done["document"]["delivery"]["trackingNumber"],
        "EMS1234567890"
    );
    let at = done["document"]["delivery"]["deliveredAt"]
        .as_str()
        .unwrap();
    assert!(at.starts_with("2026-11-02T02:00:0"), "delivered now: {at}");
    let again = mutate(
        &app,
        t1,
        "deliverDocument",
        json!({"documentId": acceptance["id"], "method": "IN_PERSON"}),
        DELIVERED,
    )
    .await;
    assert_eq!(
        code(&again),
        Some("CONFLICT"),
        "a delivery is recorded once"
    );
    told(
        &app,
        &county,
        &acceptance,
        &[("t1_staff", false, true), ("bureau_staff", false, false)],
    )
    .await;

    // The reply, delivered by e-mail three days after it is signed: the petitioner's 30-day
    // window runs from the delivery (Nov 5 + 30 days = Saturday Dec 5, so Monday Dec 7), not
    // from signing (which would end Wednesday Dec 2).
    let v = version(&app, t1, &id).await;
    ok(&app, county.token("t1_leader"), "issueReply",
        json!({"caseId": id, "expectedVersion": v, "outcome": "SUPPORTED", "facts": "属实。", "reasons": "符合政策。", "basis": "《信访工作条例》"}),
        "case { id }").await;
    pin(&app, "2026-11-05T02:00:00Z");
    county.renew(&app).await;
    let t1 = county.token("t1_staff");
    let signed = documents(&app, t1, &id).await[2].clone();
    assert_eq!(signed["kind"], "REPLY_OPINION");
    // The reply the case waits to deliver: whoever may recordDelivery; signed, so corrected
    // by the township's leader only.
    told(
        &app,
        &county,
        &signed,
        &[
            ("t1_staff", true, false),
            ("t1_leader", true, true),
            ("bureau_staff", true, false),
            ("county_staff", false, false),
        ],
    )
    .await;
    // Before it goes out the township corrects it — a signed opinion, so its leader does.
    let by_staff = mutate(
        &app,
        t1,
        "correctDocument",
        json!({"documentId": signed["id"], "reason": "笔误"}),
        "document { id }",
    )
    .await;
    assert_eq!(code(&by_staff), Some("FORBIDDEN"));
    let corrected = ok(
        &app,
        county.token("t1_leader"),
        "correctDocument",
        json!({"documentId": signed["id"], "reason": "依据条款笔误"}),
        "document { id number }",
    )
    .await;
    let reply = documents(&app, t1, &id).await[3].clone();
    assert_eq!(reply["id"], corrected["document"]["id"]);
    told(
        &app,
        &county,
        &signed,
        &[("t1_staff", false, false), ("t1_leader", false, false)],
    )
    .await;
    told(
        &app,
        &county,
        &reply,
        &[("t1_staff", true, false), ("t1_leader", true, true)],
    )
    .await;
    // The superseded one is not delivered; the correction is, and starts the window.
    let old = mutate(
        &app,
        t1,
        "deliverDocument",
        json!({"documentId": signed["id"], "method": "IN_PERSON"}),
        DELIVERED,
    )
    .await;
    assert_eq!(code(&old), Some("CONFLICT"), "{old}");
    ok(
        &app,
        t1,
        "deliverDocument",
        json!({"documentId": reply["id"], "method": "EMAIL", "trackingNumber": "lisi@example.cn"}),
        DELIVERED,
    )
    .await;
    let body = app
        .gql(
            Some(t1),
            "query($id: ID!) { case(id: $id) { viewerCan { recordDelivery } deadlines { reviewRequestBy }
               replies { deliveryMethod } timeline { nodes { action } } } }",
            json!({"id": id}),
        )
        .await;
    let c = &body["data"]["case"];
    told(
        &app,
        &county,
        &reply,
        &[("t1_staff", false, false), ("t1_leader", false, true)],
    )
    .await;
    assert_eq!(
        c["deadlines"]["reviewRequestBy"],
        "2026-12-07T15:59:59.999Z"
    );
    assert_eq!(c["replies"][0]["deliveryMethod"], "EMAIL");
    assert_eq!(
        c["viewerCan"]["recordDelivery"], false,
        "nothing waits any more"
    );
    let actions: Vec<&str> = c["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "DOCUMENT_DELIVERED")
            .count(),
        1,
        "the notice's delivery: {actions:?}"
    );
    assert_eq!(
        actions.last(),
        Some(&"DELIVERED"),
        "the reply's delivery: {actions:?}"
    );
}

#[tokio::test]
async fn a_petitioner_opening_a_document_in_the_app_records_its_delivery() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let citizen =
        fixtures::citizen(&app, "lisi", "李四", "440524188001010014", "13912345678").await;
    let submitted = ok(&app, &citizen, "submitPetition",
        json!({"category": "APPEAL", "subject": "HOUSING_DEMOLITION", "title": "拆迁补偿款未足额发放", "content": "请求足额发放。", "townshipId": gid("OrgUnit", county.t1)}),
        "case { id version }").await;
    let id = submitted["case"]["id"].as_str().unwrap().to_string();
    let bureau = county.token("bureau_staff");
    fixtures::accept(&app, bureau, &id).await;
    let mine = documents(&app, &citizen, &id).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["addressee"], "李四", "their own name");
    // The petitioner delivers it to themselves by opening it, and corrects nothing.
    assert_eq!(flags(&app, &citizen, &mine[0]).await, (true, false));
    // Recording delivery any other way is staff's.
    let refused = mutate(
        &app,
        &citizen,
        "deliverDocument",
        json!({"documentId": mine[0]["id"], "method": "IN_PERSON"}),
        "document { id }",
    )
    .await;
    assert_eq!(code(&refused), Some("BAD_USER_INPUT"));
    let (status, bytes) = get_pdf(
        &app,
        mine[0]["pdfPath"].as_str().unwrap(),
        Some(&citizen),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(pdf_text(&bytes).contains("信访事项受理告知书"));
    let after = documents(&app, bureau, &id).await;
    assert_eq!(after[0]["delivery"]["method"], "IN_APP");
    assert_eq!(
        flags(&app, &citizen, &mine[0]).await,
        (false, false),
        "delivered"
    );
    let first = after[0]["delivery"]["deliveredAt"].clone();
    // Opening it again changes nothing.
    get_pdf(
        &app,
        mine[0]["pdfPath"].as_str().unwrap(),
        Some(&citizen),
        None,
    )
    .await;
    assert_eq!(
        documents(&app, bureau, &id).await[0]["delivery"]["deliveredAt"],
        first
    );
}

const PUBLIC: &str = "query($c: String!) { caseByQueryCode(code: $c) { number title status leadUnit
    steps { action at } documents { number kind addressee pdfPath } } }";

#[tokio::test]
async fn the_query_code_opens_public_steps_and_documents_only() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    let (id, number) = fixtures::register(&app, bureau, json!({})).await;
    fixtures::accept(&app, bureau, &id).await;
    ok(
        &app,
        bureau,
        "addProgressNote",
        json!({"caseId": id, "text": "内部：待与住建局协调。"}),
        "case { id }",
    )
    .await;
    let (other, _) = fixtures::register(&app, bureau, json!({})).await;
    fixtures::accept(&app, bureau, &other).await;
    let notice = documents(&app, bureau, &id).await[0].clone();
    let other_notice = documents(&app, bureau, &other).await[0].clone();
    let code_text = query_code_in(&notice);
    assert_eq!(
        code_text.len(),
        23,
        "20 characters in groups of five: {code_text}"
    );
    let mut lookups = 0;

    // No account needed: the case's public steps and its documents, the name masked.
    let seen = app.gql(None, PUBLIC, json!({"c": code_text})).await;
    lookups += 1;
    let public = &seen["data"]["caseByQueryCode"];
    assert_eq!(public["number"], number.as_str(), "{seen}");
    assert_eq!(public["status"], "IN_PROGRESS");
    assert_eq!(public["leadUnit"], "清河县信访局");
    let steps: Vec<&str> = public["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(steps.contains(&"ACCEPT"), "{steps:?}");
    assert!(
        !steps.contains(&"PROGRESS_NOTE"),
        "internal notes stay internal: {steps:?}"
    );
    assert_eq!(public["documents"][0]["number"], notice["number"]);
    assert_eq!(public["documents"][0]["addressee"], "李*");
    // What the code's holder may do with a document: nothing, signed in or not, unless the
    // account may act on the case anyway (the bureau leads it and issued the notice).
    for (token, may_correct) in [
        (None, false),
        (Some(county.token("t2_staff")), false),
        (Some(bureau), true),
    ] {
        let flags = app
            .gql(
                token,
                "query($c: String!) { caseByQueryCode(code: $c) { documents { viewerCan { deliver correct } } } }",
                json!({"c": code_text}),
            )
            .await;
        lookups += 1;
        assert_eq!(
            flags["data"]["caseByQueryCode"]["documents"][0]["viewerCan"]["correct"],
            json!(may_correct),
            "{token:?}: {flags}"
        );
        if !may_correct {
            assert_eq!(
                flags["data"]["caseByQueryCode"]["documents"][0]["viewerCan"],
                json!({"deliver": false, "correct": false}),
                "{flags}"
            );
        }
    }
    // The type has nothing internal to ask for.
    let internal = app
        .gql(
            None,
            "query($c: String!) { caseByQueryCode(code: $c) { petitioners { name } } }",
            json!({"c": code_text}),
        )
        .await;
    assert!(
        internal["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Unknown field")),
        "{internal}"
    );
    // Typed back loosely: lower case, no dashes.
    let loose = code_text.replace('-', "").to_lowercase();
    let seen = app.gql(None, PUBLIC, json!({"c": loose})).await;
    lookups += 1;
    assert_eq!(seen["data"]["caseByQueryCode"]["number"], number.as_str());
    // A wrong code finds nothing, and says no more.
    let wrong = app
        .gql(None, PUBLIC, json!({"c": "00000-00000-00000-00000"}))
        .await;
    lookups += 1;
    assert_eq!(wrong["data"]["caseByQueryCode"], Value::Null);
    assert!(wrong["errors"].is_null());

    // The PDF under /public with the code; never another case's.
    let path = format!("/public{}", notice["pdfPath"].as_str().unwrap());
    let (status, bytes) = get_pdf(&app, &path, None, Some(&code_text)).await;
    lookups += 1;
    assert_eq!(status, 200);
    assert!(
        pdf_text(&bytes).contains("李*"),
        "the addressee masked there too"
    );
    let foreign = format!("/public{}", other_notice["pdfPath"].as_str().unwrap());
    assert_eq!(get_pdf(&app, &foreign, None, Some(&code_text)).await.0, 404);
    lookups += 1;

    // Reissued by the bureau (the unit in charge): the old code stops working at once.
    let refused = mutate(
        &app,
        county.token("t2_staff"),
        "reissueQueryCode",
        json!({"caseId": id}),
        "queryCode",
    )
    .await;
    assert_eq!(code(&refused), Some("NOT_FOUND"));
    let fresh = ok(
        &app,
        bureau,
        "reissueQueryCode",
        json!({"caseId": id}),
        "queryCode case { viewerCan { reissueQueryCode } }",
    )
    .await;
    let new_code = fresh["queryCode"].as_str().unwrap().to_string();
    assert_ne!(new_code, code_text);
    let old = app.gql(None, PUBLIC, json!({"c": code_text})).await;
    lookups += 1;
    assert_eq!(old["data"]["caseByQueryCode"], Value::Null);
    let new = app.gql(None, PUBLIC, json!({"c": new_code})).await;
    lookups += 1;
    assert_eq!(new["data"]["caseByQueryCode"]["number"], number.as_str());
    let actions = fixtures::timeline_actions(&app, bureau, &id).await;
    assert!(actions.contains(&"QUERY_CODE_REISSUED".to_string()));

    // Per address: 30 lookups in ten minutes, then RATE_LIMITED.
    while lookups < 30 {
        let r = app.gql(None, PUBLIC, json!({"c": new_code})).await;
        assert!(r["errors"].is_null(), "lookup {lookups}: {r}");
        lookups += 1;
    }
    let limited = app.gql(None, PUBLIC, json!({"c": new_code})).await;
    assert_eq!(code(&limited), Some("RATE_LIMITED"));
}

#[tokio::test]
async fn a_correction_supersedes_and_both_stay_on_the_record() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let id = accepted_at_township(&app, &county).await;
    let t1 = county.token("t1_staff");
    let original = documents(&app, t1, &id).await[1].clone();
    const CORRECTED: &str = "document { id number supersedes correctionReason body }";
    let not_issuer = mutate(
        &app,
        county.token("bureau_staff"),
        "correctDocument",
        json!({"documentId": original["id"], "reason": "笔误"}),
        CORRECTED,
    )
    .await;
    assert_eq!(
        code(&not_issuer),
        Some("FORBIDDEN"),
        "only the issuing unit corrects"
    );
    let blank = mutate(
        &app,
        t1,
        "correctDocument",
        json!({"documentId": original["id"], "reason": ""}),
        CORRECTED,
    )
    .await;
    assert_eq!(code(&blank), Some("BAD_USER_INPUT"));
    let body = json!(["你反映的拆迁补偿问题，经审查予以受理（更正）。"]);
    let fixed = ok(
        &app,
        t1,
        "correctDocument",
        json!({"documentId": original["id"], "reason": "事项表述有误", "body": body}),
        CORRECTED,
    )
    .await;
    assert_eq!(fixed["document"]["number"], "130534信受〔2026〕2号");
    assert_eq!(fixed["document"]["supersedes"], original["id"]);
    assert_eq!(fixed["document"]["body"], body);
    let docs = documents(&app, t1, &id).await;
    assert_eq!(docs.len(), 3, "the old document stays");
    assert_eq!(docs[1]["supersededBy"], fixed["document"]["id"]);
    assert_eq!(docs[1]["body"], original["body"], "never edited");
    let twice = mutate(
        &app,
        t1,
        "correctDocument",
        json!({"documentId": original["id"], "reason": "再次更正"}),
        CORRECTED,
    )
    .await;
    assert_eq!(
        code(&twice),
        Some("CONFLICT"),
        "correct the correction instead"
    );
    let actions = fixtures::timeline_actions(&app, t1, &id).await;
    assert!(
        actions.contains(&"DOCUMENT_CORRECTED".to_string()),
        "{actions:?}"
    );
    let (_, bytes) = get_pdf(&app, docs[2]["pdfPath"].as_str().unwrap(), Some(t1), None).await;
    let text = pdf_text(&bytes);
    assert!(
        text.contains("事项表述有误") && text.contains("（更正）"),
        "{text}"
    );
}

#[tokio::test]
async fn an_accusations_documents_follow_its_scope() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (citizen, submitted) =
        fixtures::accusation_against_t1(&app, &county, "case { id number }").await;
    let id = submitted["case"]["id"].as_str().unwrap().to_string();
    let bureau = county.token("bureau_staff");
    fixtures::accept(&app, bureau, &id).await;
    ok(
        &app,
        bureau,
        "addAssistingUnit",
        json!({"caseId": id, "unitId": gid("OrgUnit", county.dept_a)}),
        "case { id }",
    )
    .await;
    let notice = documents(&app, bureau, &id).await[0].clone();
    assert_eq!(notice["addressee"], "张三", "the bureau knows who accused");
    assert_eq!(documents(&app, &citizen, &id).await[0]["addressee"], "张三");
    // Delivered by e-mail: the address is contact data, for those who see it in full.
    ok(&app, bureau, "deliverDocument",
        json!({"documentId": notice["id"], "method": "EMAIL", "trackingNumber": "zhangsan@example.cn"}),
        "document { id }").await;
    assert_eq!(
        documents(&app, bureau, &id).await[0]["delivery"]["trackingNumber"],
        "zhangsan@example.cn"
    );
    // An assisting unit sees the case but not who accused, how to reach them, or the code.
    let assisting = documents(&app, county.token("a_staff"), &id).await;
    assert_eq!(assisting[0]["addressee"], "保密");
    assert_eq!(assisting[0]["delivery"]["method"], "EMAIL");
    assert_eq!(assisting[0]["delivery"]["trackingNumber"], Value::Null);
    assert_eq!(assisting[0]["queryCode"], Value::Null);
    // Nor can it learn the name from the digest: shown every other part of the content, it
    // hashes it with each name it suspects, as the content was hashed before documents
    // carried a salt of their own, and none matches — the right name included.
    let number = submitted["case"]["number"].clone();
    let units = [
        county.county,
        county.bureau,
        county.t1,
        county.t2,
        county.dept_a,
        county.dept_b,
        county.discipline,
    ];
    for guess in ["张三", "李四", "保密"] {
        for unit in units {
            assert_ne!(
                digest_of_guess(&assisting[0], &number, unit, guess, None),
                assisting[0]["sha256"],
                "the digest confirms the guess {guess}"
            );
        }
    }
    // The same content with the salt the server keeps does give the digest (so the guesses
    // above were made over the content as it is hashed), for the issuer alone.
    let doc_id = xinfang_api::graphql::lookup_id(
        "Document",
        &async_graphql::ID(notice["id"].as_str().unwrap().into()),
    )
    .unwrap();
    let salt = {
        use sea_orm::ConnectionTrait;
        let db = app.db();
        let sql = format!("SELECT salt FROM documents WHERE id = {doc_id}");
        db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap()
    };
    let issuers: Vec<i64> = units
        .into_iter()
        .filter(|&u| {
            digest_of_guess(&assisting[0], &number, u, "张三", Some(&salt))
                == assisting[0]["sha256"]
        })
        .collect();
    assert_eq!(issuers.len(), 1, "{issuers:?}");
    // A document issued before documents carried a salt (made so here: its digest over the
    // content alone, as then): its digest is withheld from whoever is not shown the
    // addressee, and shown to the bureau, which is.
    let unsalted = digest_of_guess(&assisting[0], &number, issuers[0], "张三", None);
    app.sql(&format!(
        "UPDATE documents SET salt = NULL, sha256 = {unsalted} WHERE id = {doc_id}",
        unsalted = unsalted.to_string().replace('"', "'")
    ))
    .await;
    assert_eq!(
        documents(&app, county.token("a_staff"), &id).await[0]["sha256"],
        Value::Null
    );
    assert_eq!(documents(&app, bureau, &id).await[0]["sha256"], unsalted);
    // Nor does a decision's timeline entry carry the digest to whoever may not know who
    // accused; the bureau reads it there.
    let digests = |token: String| {
        let app = &app;
        let id = id.clone();
        async move {
            let body = app
                .gql(
                    Some(&token),
                    "query($id: ID!) { case(id: $id) { timeline { nodes { detail } } } }",
                    json!({"id": id}),
                )
                .await;
            body["data"]["case"]["timeline"]["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .filter_map(|n| serde_json::from_str::<Value>(n["detail"].as_str().unwrap()).ok())
                .filter(|d| d["document"].is_object())
                .map(|d| d["document"]["sha256"].clone())
                .collect::<Vec<Value>>()
        }
    };
    let seen_by_assisting = digests(county.token("a_staff").to_string()).await;
    assert!(!seen_by_assisting.is_empty());
    assert!(
        seen_by_assisting.iter().all(Value::is_null),
        "{seen_by_assisting:?}"
    );
    assert!(
        digests(bureau.to_string())
            .await
            .iter()
            .all(Value::is_string)
    );
    // The accuser holds the code; what it opens names no one.
    let code_text = query_code_in(&documents(&app, &citizen, &id).await[0]);
    let public = app.gql(None, PUBLIC, json!({"c": code_text})).await;
    assert_eq!(
        public["data"]["caseByQueryCode"]["documents"][0]["addressee"], "保密",
        "{public}"
    );
    let (_, bytes) = get_pdf(
        &app,
        notice["pdfPath"].as_str().unwrap(),
        Some(county.token("a_staff")),
        None,
    )
    .await;
    let text = pdf_text(&bytes);
    assert!(text.contains("保密") && !text.contains("张三"), "{text}");
    // The accused township: nothing on any path.
    let accused = county.token("t1_staff");
    assert_eq!(
        get_pdf(
            &app,
            notice["pdfPath"].as_str().unwrap(),
            Some(accused),
            None
        )
        .await
        .0,
        404
    );
    let node = app
        .gql(
            Some(accused),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": notice["id"]}),
        )
        .await;
    assert_eq!(code(&node), Some("NOT_FOUND"));
    let deliver = mutate(
        &app,
        accused,
        "deliverDocument",
        json!({"documentId": notice["id"], "method": "IN_PERSON"}),
        "document { id }",
    )
    .await;
    assert_eq!(code(&deliver), Some("NOT_FOUND"));
    let correct = mutate(
        &app,
        accused,
        "correctDocument",
        json!({"documentId": notice["id"], "reason": "x"}),
        "document { id }",
    )
    .await;
    assert_eq!(code(&correct), Some("NOT_FOUND"));
}

#[tokio::test]
async fn the_seed_writes_documents_query_codes_and_files() {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("seed.db").display());
    let files = dir.path().join("files");
    let out = crate::support::xinfang()
        .args(["--database-url", &db_url, "--storage-dir"])
        .arg(&files)
        .args(["seed", "--cases", "400"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = Database::connect(&db_url).await.unwrap();
    let one = |sql: &str| {
        let db = db.clone();
        let sql = sql.to_string();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    // Every decision on acceptance has its notice, every reply its 处理意见书, every accepted
    // case a query code; numbers never repeat.
    let decided = one("SELECT COUNT(*) FROM cases WHERE accept_decided_at IS NOT NULL").await;
    let notices = one("SELECT COUNT(*) FROM documents WHERE kind IN ('ACCEPTANCE_NOTICE', 'NON_ACCEPTANCE_NOTICE', 'LEGAL_ROUTE_NOTICE')").await;
    assert!(decided > 100);
    assert_eq!(notices, decided);
    assert_eq!(
        one("SELECT COUNT(*) FROM documents WHERE kind = 'REPLY_OPINION'").await,
        one("SELECT COUNT(*) FROM replies").await
    );
    assert_eq!(
        one("SELECT COUNT(*) FROM case_query_codes").await,
        one("SELECT COUNT(*) FROM cases WHERE acceptance_decision = 'ACCEPT'").await
    );
    assert_eq!(
        one("SELECT COUNT(DISTINCT number) FROM documents").await,
        one("SELECT COUNT(*) FROM documents").await
    );
    // The practice around the cases: every leader ownership has its plan, three hearings
    // hold their clocks, late group visits are flagged, and the rest exists.
    assert_eq!(
        one("SELECT COUNT(*) FROM ownership_plans").await,
        one("SELECT COUNT(*) FROM cases WHERE leader_user_id IS NOT NULL").await
    );
    assert_eq!(
        one("SELECT COUNT(*) FROM hearings WHERE status = 'SCHEDULED'").await,
        3
    );
    assert_eq!(
        one("SELECT COUNT(*) FROM cases WHERE clock_paused_at IS NOT NULL AND due_at IS NULL")
            .await,
        3
    );
    assert_eq!(
        one("SELECT COUNT(*) FROM cases WHERE registered_late").await,
        one("SELECT COUNT(*) FROM cases WHERE (is_group OR urgent) AND registration_delay_minutes > 1440").await
    );
    assert!(one("SELECT COUNT(*) FROM cases WHERE registered_late").await > 0);
    assert_eq!(
        one("SELECT COUNT(*) FROM hotline_tickets").await,
        one("SELECT COUNT(*) FROM cases WHERE channel = 'HOTLINE_12345'").await
    );
    assert!(one("SELECT COUNT(*) FROM hotline_tickets").await > 0);
    for table in [
        "reception_slots",
        "receptions",
        "dispute_returns",
        "dispute_reports",
        "joint_items",
    ] {
        assert!(
            one(&format!("SELECT COUNT(*) FROM {table}")).await > 0,
            "{table}"
        );
    }
    // A file on every 20th case, its bytes in the store under its hash.
    assert_eq!(one("SELECT COUNT(*) FROM attachments").await, 20);
    let stored = walk(&files);
    assert_eq!(stored.len(), 20, "{stored:?}");
    // The record still verifies.
    let verify = crate::support::xinfang()
        .args(["--database-url", &db_url, "audit", "verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_review_decision_awaiting_delivery_is_delivered_by_whoever_may_record_the_delivery() {
    // The review decision is the document the case waits to deliver: whoever may
    // recordDelivery delivers it — the lead unit, the bureau and the reviewing body (the
    // county unit here) — and no one else; a signed opinion is corrected by its issuing
    // unit's leader only.
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let walked = fixtures::every_record(
        &app,
        &county,
        fixtures::Walk {
            registrant: "bureau_staff",
            input: json!({}),
            leader_owns: false,
            evaluate: false,
            review_requester: Some(county.token("bureau_staff")),
        },
    )
    .await;
    let reviewer = county.token("county_staff");
    let v = version(&app, reviewer, &walked.case).await;
    ok(&app, reviewer, "decideReview",
        json!({"caseId": walked.case, "expectedVersion": v, "decision": "UPHOLD", "text": "维持原处理意见。"}),
        "__typename").await;
    let decision = documents(&app, reviewer, &walked.case)
        .await
        .into_iter()
        .find(|d| d["kind"] == "REVIEW_OPINION")
        .expect("the review decision's document");
    let expected: &[(&str, bool, bool)] = &[
        ("county_staff", true, false),
        ("county_leader", true, true),
        ("bureau_staff", true, false),
        ("a_staff", true, false),
        ("b_staff", false, false), // assisting: sees the case, delivers nothing
        ("t2_staff", false, false), // no part in it: does not see it
    ];
    told(&app, &county, &decision, expected).await;
    let deliver = |who: &'static str| {
        let (app, token, id) = (&app, county.token(who).to_string(), decision["id"].clone());
        async move {
            mutate(
                app,
                &token,
                "deliverDocument",
                json!({"documentId": id, "method": "IN_PERSON"}),
                "document { id }",
            )
            .await
        }
    };
    for (who, may, _) in expected {
        if !may {
            let refused = deliver(who).await;
            assert!(
                matches!(code(&refused), Some("FORBIDDEN" | "NOT_FOUND")),
                "{who}: {refused}"
            );
        }
    }
    let delivered = deliver("county_staff").await;
    assert!(delivered["errors"].is_null(), "{delivered}");
    // It was the case's own delivery: the case no longer waits on one, and the re-review
    // window runs from it.
    let case = app
        .gql(
            Some(reviewer),
            "query($id: ID!) { case(id: $id) { viewerCan { recordDelivery } deadlines { reviewRequestBy } } }",
            json!({"id": walked.case}),
        )
        .await;
    assert_eq!(
        case["data"]["case"]["viewerCan"]["recordDelivery"], false,
        "{case}"
    );
    assert!(
        case["data"]["case"]["deadlines"]["reviewRequestBy"].is_string(),
        "{case}"
    );
    // Delivered once: no one is offered it again.
    for (who, _, _) in expected {
        assert!(!flags(&app, county.token(who), &decision).await.0, "{who}");
    }
}
