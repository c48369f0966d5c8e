//! Registering and reading cases (issue: cases): validation, Unicode, numbering,
//! idempotency, repeat petitions, search, filters and pagination.

use crate::fixtures::{self, REGISTER, case_input};
use crate::support::{TestApp, code, field, gid, spawn_app};
use serde_json::{Value, json};

async fn case_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    xinfang_entity::case::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_validation_rule_names_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let person = |over: Value| {
        let mut p =
            json!({"name": "李四", "idNumber": "440524188001010014", "phone": "13912345678"});
        for (k, v) in over.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    let five = |reps: usize| {
        (0..6)
            .map(|i| json!({"name": format!("群众{i}"), "representative": i < reps}))
            .collect::<Vec<_>>()
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty title",            json!({"title": ""}),                                   "title"),
        ("blank title",            json!({"title": "   "}),                                "title"),
        ("201-character title",    json!({"title": "访".repeat(201)}),                     "title"),
        ("NUL in the title",       json!({"title": "a\u{0}b"}),                            "title"),
        ("control char in content",json!({"content": "bell\u{7}"}),                        "content"),
        ("20,001-character content",json!({"content": "访".repeat(20_001)}),               "content"),
        ("wrong check digit",      json!({"petitioners": [person(json!({"idNumber": "440524188001010015"}))]}), "petitioners[0].idNumber"),
        ("bad phone",              json!({"petitioners": [person(json!({"phone": "12345"}))]}),                  "petitioners[0].phone"),
        ("no petitioner",          json!({"petitioners": []}),                             "petitioners"),
        ("personCount below listed",json!({"personCount": 0}),                             "personCount"),
        ("group visit with six representatives", json!({"petitioners": five(6)}),          "petitioners"),
        ("representative of a single petition", json!({"petitioners": [person(json!({"representative": true}))]}), "petitioners"),
        ("representatives of a joint letter", json!({"channel": "LETTER", "petitioners": five(2)}), "petitioners"),
        ("anonymous phone call",     json!({"channel": "PHONE", "petitioners": []}),       "petitioners"),
        ("organisation, wrong check character", json!({"petitioners": [{"kind": "ORGANISATION", "name": "某公司", "creditCode": "91350100M000100Y44", "contactPerson": "王经理"}]}), "petitioners[0].creditCode"),
        ("organisation with an ID number", json!({"petitioners": [{"kind": "ORGANISATION", "name": "某公司", "creditCode": "91350100M000100Y43", "contactPerson": "王经理", "idNumber": "440524188001010014"}]}), "petitioners[0].idNumber"),
        ("organisation without a contact", json!({"petitioners": [{"kind": "ORGANISATION", "name": "某公司", "creditCode": "91350100M000100Y43"}]}), "petitioners[0].contactPerson"),
        ("person with a credit code", json!({"petitioners": [person(json!({"creditCode": "91350100M000100Y43"}))]}), "petitioners[0].creditCode"),
        ("township is a department", json!({"townshipId": gid("OrgUnit", county.dept_a)}), "townshipId"),
        ("township is the county",   json!({"townshipId": gid("OrgUnit", county.county)}), "townshipId"),
        ("township id of a user",    json!({"townshipId": gid("User", 1)}),                "townshipId"),
        ("unknown subject",          json!({"subject": "ASTROLOGY"}),                      "subject"),
        ("received in the future",   json!({"receivedAt": "2099-01-01T00:00:00Z"}),        "receivedAt"),
        ("accused unit on an appeal", json!({"accusedUnitId": gid("OrgUnit", county.t1)}), "accusedUnitId"),
        ("accusation led by the accused", json!({"category": "ACCUSATION", "accusedUnitId": gid("OrgUnit", county.t1), "leadUnitId": gid("OrgUnit", county.t1)}), "leadUnitId"),
        ("accusation led by the accused by default", json!({"category": "ACCUSATION", "accusedUnitId": gid("OrgUnit", county.bureau)}), "leadUnitId"),
    ];
    for (what, over, expected_field) in cases {
        let body = app
            .gql(
                Some(county.token("bureau_staff")),
                REGISTER,
                json!({"input": case_input(over)}),
            )
            .await;
        assert_eq!(
            (code(&body), field(&body)),
            (Some("BAD_USER_INPUT"), Some(expected_field)),
            "{what}: {body}"
        );
    }
    // An unknown enum value fails GraphQL validation before anything runs.
    let body = app
        .gql(
            Some(county.token("bureau_staff")),
            REGISTER,
            json!({"input": case_input(json!({"channel": "PIGEON"}))}),
        )
        .await;
    assert!(body["errors"].is_array() && body["data"].is_null());
    assert_eq!(
        case_count(&app).await,
        0,
        "no refused registration left anything behind"
    );
    // Group petitions with 1 to 5 representatives are fine.
    let body = app
        .gql(
            Some(county.token("bureau_staff")),
            REGISTER,
            json!({"input": case_input(json!({"petitioners": five(5), "personCount": 40}))}),
        )
        .await;
    assert!(
        body["data"]["registerCase"]["case"]["id"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn only_staff_register_and_only_citizens_submit() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    assert_eq!(
        code(
            &app.gql(
                Some(county.token("county_admin")),
                REGISTER,
                json!({"input": case_input(json!({}))})
            )
            .await
        ),
        Some("FORBIDDEN")
    );
    assert_eq!(
        code(
            &app.gql(None, REGISTER, json!({"input": case_input(json!({}))}))
                .await
        ),
        Some("UNAUTHENTICATED")
    );
    let submit =
        "mutation($i: SubmitPetitionInput!) { submitPetition(input: $i) { case { number } } }";
    let input =
        json!({"i": {"category": "APPEAL", "subject": "EDUCATION", "title": "t", "content": "c"}});
    assert_eq!(
        code(
            &app.gql(Some(county.token("bureau_staff")), submit, input)
                .await
        ),
        Some("FORBIDDEN")
    );
}

/// Supervision orders and the reports owed to a higher body are staff records: a petitioner
/// who could pick their cases by them would learn which carry one. Staff pick by them; the
/// petitioner is refused, and may still pick by the deadlines they are shown.
#[tokio::test]
async fn a_petitioner_cannot_pick_cases_by_staff_records() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let citizen = fixtures::citizen(
        &app,
        "wangwu",
        "王五",
        &crate::support::id_number("44052419900101002"),
        "13900139000",
    )
    .await;
    let submitted = app
        .gql(
            Some(&citizen),
            "mutation($i: SubmitPetitionInput!) { submitPetition(input: $i) { case { id } } }",
            json!({"i": {"category": "APPEAL", "subject": "EDUCATION", "title": "学位分配", "content": "学位分配不公。"}}),
        )
        .await;
    let id = submitted["data"]["submitPetition"]["case"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{submitted}"))
        .to_string();
    let bureau = county.token("bureau_staff");
    fixtures::accept(&app, bureau, &id).await;
    let supervised = app
        .gql(
            Some(bureau),
            "mutation($i: IssueSupervisionInput!) { issueSupervision(input: $i) { __typename } }",
            json!({"i": {"caseId": id, "text": "请加快办理", "dueAt": "2099-01-01T00:00:00Z"}}),
        )
        .await;
    assert!(supervised["errors"].is_null(), "{supervised}");
    let count = |token: &str, deadline: &str| {
        let q = format!("{{ cases(filter: {{deadline: {deadline}}}) {{ totalCount }} }}");
        let token = token.to_string();
        let app = &app;
        async move { app.gql(Some(&token), &q, json!({})).await }
    };
    // (viewer, deadline, the count it gets, or the error code)
    let expected: [(&str, &str, Result<i64, &str>); 5] = [
        ("bureau_staff", "SUPERVISION", Ok(1)),
        ("bureau_staff", "HIGHER_REPORT", Ok(0)),
        ("citizen", "SUPERVISION", Err("FORBIDDEN")),
        ("citizen", "HIGHER_REPORT", Err("FORBIDDEN")),
        ("citizen", "HANDLING", Ok(1)),
    ];
    for (viewer, deadline, want) in expected {
        let token = if viewer == "citizen" {
            citizen.as_str()
        } else {
            county.token(viewer)
        };
        let body = count(token, deadline).await;
        match want {
            Ok(n) => assert_eq!(
                body["data"]["cases"]["totalCount"], n,
                "{viewer} {deadline}: {body}"
            ),
            Err(c) => {
                assert_eq!(code(&body), Some(c), "{viewer} {deadline}: {body}");
                assert!(!body.to_string().contains("totalCount\":"), "{body}");
            }
        }
    }
    // The export refuses before it starts: a status and a body, not a CSV cut off midway.
    for (token, deadline, want) in [
        (citizen.as_str(), "SUPERVISION", 403),
        (citizen.as_str(), "HIGHER_REPORT", 403),
        (county.token("bureau_staff"), "SUPERVISION", 200),
    ] {
        let res = app
            .client
            .get(format!("{}/export/cases.csv?deadline={deadline}", app.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, want, "{deadline}: {text}");
        if want == 403 {
            let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
            assert_eq!(code(&body), Some("FORBIDDEN"), "{text}");
        } else {
            assert_eq!(
                text.lines().count(),
                2,
                "a header and the supervised case: {text}"
            );
        }
    }
}

#[tokio::test]
async fn unicode_is_stored_and_returned_exactly() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let title = "拆迁补偿😀 e\u{301} ｆｕｌｌ-width «quotes» 'single' \"double\"";
    let content = "第一行\n第二行\t制表符\r\n𠀀𪚥 (astral CJK) ❤️‍🔥";
    let (id, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"title": title, "content": content, "petitioners": [{"name": "欧阳·娜娜"}]}),
    )
    .await;
    let body = app
        .gql(
            Some(county.token("bureau_staff")),
            "query($id: ID!) { case(id: $id) { title content petitioners { name } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        body["data"]["case"],
        json!({"title": title, "content": content, "petitioners": [{"name": "欧阳·娜娜"}]})
    );
}

#[tokio::test]
async fn a_registered_case_has_its_facts_deadline_and_first_timeline_entry() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (id, number) = fixtures::register(&app, county.token("t1_staff"), json!({"townshipId": gid("OrgUnit", county.t1), "receivedAt": "2026-11-02T04:00:00Z", "personCount": 3})).await;
    assert!(
        number.starts_with("XF-130534-2026-"),
        "the county's division code and the year: {number}"
    );
    let q = "query($id: ID!) { case(id: $id) { status channel category subject version receivedAt personCount isGroup isRepeat
               leadUnit { name } registeredBy { name } township { name } deadlines { acceptBy }
               timeline { totalCount nodes { seq action unitName actorName public hash } } } }";
    let body = app
        .gql(Some(county.token("t1_staff")), q, json!({"id": id}))
        .await;
    let c = &body["data"]["case"];
    assert_eq!(c["status"], "REGISTERED");
    assert_eq!(c["version"], 1);
    assert_eq!(
        c["leadUnit"]["name"], "东关镇",
        "lead defaults to the registering unit"
    );
    assert_eq!(c["registeredBy"]["name"], "东关镇");
    assert_eq!(c["personCount"], 3);
    assert_eq!(c["isGroup"], false);
    // Received Monday 2026-11-02 (12:00 local): 15 days counted from the 3rd end on Tuesday
    // 2026-11-17, at the end of that day in China time.
    assert_eq!(c["deadlines"]["acceptBy"], "2026-11-17T15:59:59.999Z");
    assert_eq!(c["timeline"]["totalCount"], 1);
    let entry = &c["timeline"]["nodes"][0];
    assert_eq!(
        (
            entry["seq"].clone(),
            entry["action"].clone(),
            entry["unitName"].clone(),
            entry["actorName"].clone()
        ),
        (
            json!(1),
            json!("REGISTER"),
            json!("东关镇"),
            json!("t1_staff")
        )
    );
    assert_eq!(entry["hash"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_case_and_refuses_a_different_input() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let app = &app;
    let send = |title: &str, key: &str, token: &str| {
        let body = json!({"input": case_input(json!({"title": title, "idempotencyKey": key}))});
        let token = token.to_string();
        async move { app.gql(Some(&token), REGISTER, body).await }
    };
    let first = send("同一件事", "phone-7f3a", token).await;
    let again = send("同一件事", "phone-7f3a", token).await;
    assert_eq!(
        first["data"]["registerCase"]["case"]["id"],
        again["data"]["registerCase"]["case"]["id"]
    );
    let different = send("另一件事", "phone-7f3a", token).await;
    assert_eq!(code(&different), Some("CONFLICT"));
    // The key belongs to its user: another user's same key creates another case.
    let other = send("同一件事", "phone-7f3a", county.token("bureau_leader")).await;
    assert_ne!(
        other["data"]["registerCase"]["case"]["id"],
        first["data"]["registerCase"]["case"]["id"]
    );
    assert_eq!(case_count(app).await, 2);

    // Ten concurrent retries with one key create one case.
    let mut tasks = vec![];
    for _ in 0..10 {
        let (client, url, token) = (app.client.clone(), app.url.clone(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let body = json!({"query": REGISTER, "variables": {"input": case_input(json!({"title": "弱网重试", "idempotencyKey": "retry-1"}))}});
            client.post(format!("{url}/graphql")).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap()
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let body = t.await.unwrap();
        ids.insert(
            body["data"]["registerCase"]["case"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_string(),
        );
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(case_count(app).await, 3);
}

#[tokio::test]
async fn search_treats_wildcards_and_quotes_as_plain_characters() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    for title in [
        "满意度100%达标",
        "满意度1000达标",
        "a_b 路段积水",
        "axb 路段积水",
        "O'Brien 的\"来信\"",
        "Backslash \\ 路径",
    ] {
        fixtures::register(
            &app,
            token,
            json!({"title": title, "subject": "OTHER", "petitioners": [{"name": "某人"}]}),
        )
        .await;
    }
    let app = &app;
    let titles = |q: &'static str| async move {
        let body = app.gql(Some(token), "query($q: String!) { cases(filter: {search: $q}, orderBy: {field: NUMBER, direction: ASC}) { nodes { title } } }", json!({"q": q})).await;
        body["data"]["cases"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|n| n["title"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(titles("100%").await, ["满意度100%达标"]);
    assert_eq!(titles("a_b").await, ["a_b 路段积水"]);
    assert_eq!(titles("O'Brien").await, ["O'Brien 的\"来信\""]);
    assert_eq!(titles("\"来信\"").await, ["O'Brien 的\"来信\""]);
    assert_eq!(titles("\\").await, ["Backslash \\ 路径"]);
    assert_eq!(titles("%").await, ["满意度100%达标"]);
    assert_eq!(
        titles("BACKSLASH").await,
        ["Backslash \\ 路径"],
        "search ignores ASCII case"
    );
    assert_eq!(
        titles("XF-130534-20").await.len(),
        6,
        "numbers are searchable"
    );
}

#[tokio::test]
async fn filters_orderings_and_pages() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let t1 = gid("OrgUnit", county.t1);
    fixtures::register(
        &app,
        token,
        json!({"channel": "LETTER", "townshipId": t1, "receivedAt": "2026-10-01T02:00:00Z"}),
    )
    .await;
    fixtures::register(&app, token, json!({"channel": "PHONE", "category": "SUGGESTION", "subject": "ENVIRONMENT", "receivedAt": "2026-10-05T02:00:00Z"})).await;
    fixtures::register(&app, token, json!({"channel": "VISIT", "townshipId": t1, "subject": "EDUCATION", "receivedAt": "2026-10-03T02:00:00Z",
        "petitioners": [{"name": "代表甲", "representative": true}, {"name": "群众乙"}], "personCount": 12})).await;
    fixtures::register(&app, token, json!({"channel": "HOTLINE_12345", "subject": "HEALTHCARE", "leadUnitId": gid("OrgUnit", county.dept_a), "receivedAt": "2026-10-04T02:00:00Z"})).await;
    fixtures::register(
        &app,
        token,
        json!({"channel": "EMAIL", "subject": "OTHER", "receivedAt": "2026-10-02T02:00:00Z"}),
    )
    .await;

    let app = &app;
    let count = |filter: Value| async move {
        let body = app
            .gql(
                Some(token),
                "query($f: CaseFilterInput) { cases(filter: $f) { totalCount } }",
                json!({"f": filter}),
            )
            .await;
        body["data"]["cases"]["totalCount"]
            .as_u64()
            .unwrap_or_else(|| panic!("{body}"))
    };
    assert_eq!(count(json!({})).await, 5);
    assert_eq!(count(json!({"townshipId": t1})).await, 2);
    assert_eq!(count(json!({"channel": ["LETTER", "PHONE"]})).await, 2);
    assert_eq!(count(json!({"category": ["SUGGESTION"]})).await, 1);
    assert_eq!(
        count(json!({"subject": ["EDUCATION", "HEALTHCARE"]})).await,
        2
    );
    assert_eq!(
        count(json!({"leadUnitId": gid("OrgUnit", county.dept_a)})).await,
        1
    );
    assert_eq!(count(json!({"group": true})).await, 1);
    assert_eq!(count(json!({"status": ["REGISTERED"]})).await, 5);
    assert_eq!(count(json!({"status": ["IN_PROGRESS"]})).await, 0);
    assert_eq!(
        count(
            json!({"receivedFrom": "2026-10-02T00:00:00Z", "receivedTo": "2026-10-04T00:00:00Z"})
        )
        .await,
        2
    );

    // Newest first by default, then pages of two by received time ascending.
    let order = |args: &'static str| async move {
        let body = app.gql(Some(token), &format!("{{ cases({args}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ channel }} }} }}"), json!({})).await;
        body["data"]["cases"].clone()
    };
    let newest = order("first: 20").await;
    assert_eq!(newest["nodes"][0]["channel"], "PHONE");
    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let args = match &after {
            Some(c) => format!(
                r#"first: 2, after: "{c}", orderBy: {{field: RECEIVED_AT, direction: ASC}}"#
            ),
            None => "first: 2, orderBy: {field: RECEIVED_AT, direction: ASC}".to_string(),
        };
        let body = app.gql(Some(token), &format!("{{ cases({args}) {{ pageInfo {{ hasNextPage hasPreviousPage endCursor }} nodes {{ channel }} }} }}"), json!({})).await;
        let page = &body["data"]["cases"];
        // Items precede a page exactly when it was asked for after a cursor.
        assert_eq!(
            page["pageInfo"]["hasPreviousPage"],
            json!(after.is_some()),
            "{body}"
        );
        seen.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["channel"].as_str().unwrap().to_string()),
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, ["LETTER", "EMAIL", "VISIT", "HOTLINE_12345", "PHONE"]);
    // Due dates follow received dates here (same 15-day rule), so DUE_AT orders alike.
    let by_due = order("orderBy: {field: DUE_AT, direction: ASC}").await;
    assert_eq!(by_due["nodes"][0]["channel"], "LETTER");
    // `first` is clamped to 1..=100; a foreign cursor is a clear error.
    let clamped = app
        .gql(
            Some(token),
            "{ cases(first: 1000) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        clamped["data"]["cases"]["nodes"].as_array().unwrap().len(),
        5
    );
    let zero = app
        .gql(
            Some(token),
            "{ cases(first: 0) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(zero["data"]["cases"]["nodes"].as_array().unwrap().len(), 1);
    let bad = app
        .gql(
            Some(token),
            r#"{ cases(after: "not-a-cursor") { nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        (code(&bad), field(&bad)),
        (Some("BAD_USER_INPUT"), Some("after"))
    );
}

#[tokio::test]
async fn a_citizen_submits_online_and_the_petition_lands_at_the_bureau() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let signup = app
        .gql(None, "mutation($i: RegisterPetitionerInput!) { registerPetitioner(input: $i) { accessToken } }",
            json!({"i": {"username": "zhang_san", "password": "citizen password", "name": "张三", "phone": "13800138000", "idNumber": "11010519491231002X"}}))
        .await;
    let token = signup["data"]["registerPetitioner"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let submit = "mutation($i: SubmitPetitionInput!) { submitPetition(input: $i) { case { id number channel status leadUnit { name } registeredBy { name } petitioners { name idNumber phone } } } }";
    let input = json!({"i": {"category": "APPEAL", "subject": "MIGRANT_WORKER_WAGES", "title": "工地欠薪", "content": "工地拖欠三个月工资。", "townshipId": gid("OrgUnit", county.t1), "idempotencyKey": "app-1"}});
    let body = app.gql(Some(&token), submit, input.clone()).await;
    let case = &body["data"]["submitPetition"]["case"];
    assert_eq!(case["channel"], "ONLINE", "{body}");
    assert_eq!(case["leadUnit"]["name"], "清河县信访局");
    assert_eq!(case["registeredBy"]["name"], "清河县信访局");
    assert_eq!(
        case["petitioners"],
        json!([{"name": "张三", "idNumber": "11010519491231002X", "phone": "13800138000"}])
    );
    // The app retries on a flaky network: same case.
    let again = app.gql(Some(&token), submit, input).await;
    assert_eq!(again["data"]["submitPetition"]["case"]["id"], case["id"]);
    // The bureau sees it in full; the township sees it (territory) masked; the citizen's list
    // holds just it.
    let q = "query($id: ID!) { case(id: $id) { petitioners { idNumber } } }";
    assert_eq!(
        app.gql(
            Some(county.token("bureau_staff")),
            q,
            json!({"id": case["id"]})
        )
        .await["data"]["case"]["petitioners"][0]["idNumber"],
        "11010519491231002X"
    );
    assert_eq!(
        app.gql(Some(county.token("t1_staff")), q, json!({"id": case["id"]}))
            .await["data"]["case"]["petitioners"][0]["idNumber"],
        "1101**********002X"
    );
    let mine = app.gql(Some(&token), "{ cases { totalCount nodes { number accusedUnit { id } assistingUnits { id } timeline { nodes { action actorName } } } } }", json!({})).await;
    assert_eq!(mine["data"]["cases"]["totalCount"], 1);
    // Petitioners see the public timeline without staff names; the one who acted here is
    // the citizen, who reads their own name.
    assert_eq!(
        mine["data"]["cases"]["nodes"][0]["timeline"]["nodes"],
        json!([{"action": "REGISTER", "actorName": "张三"}])
    );
}

#[tokio::test]
async fn an_accusation_is_not_linked_as_a_repeat_of_an_ordinary_petition() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    fixtures::register(&app, token, json!({"subject": "OFFICIAL_CONDUCT"})).await;
    let (accusation, _) = fixtures::register(
        &app,
        token,
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1), "leadUnitId": gid("OrgUnit", county.discipline)}),
    )
    .await;
    let body = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { isRepeat repeatOf { id } } }",
            json!({"id": accusation}),
        )
        .await;
    assert_eq!(
        body["data"]["case"],
        json!({"isRepeat": false, "repeatOf": null})
    );
}

#[tokio::test]
async fn registering_a_case_one_may_not_see_returns_its_number_only() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // The township records an accusation against itself and routes it to the discipline unit.
    let body = app
        .gql(
            Some(county.token("t1_staff")),
            "mutation($input: RegisterCaseInput!) { registerCase(input: $input) { number case { id } } }",
            json!({"input": case_input(json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1),
                "leadUnitId": gid("OrgUnit", county.discipline), "idempotencyKey": "self-report"}))}),
        )
        .await;
    assert!(
        body["data"]["registerCase"]["number"]
            .as_str()
            .unwrap()
            .starts_with("XF-"),
        "{body}"
    );
    assert_eq!(
        body["data"]["registerCase"]["case"],
        Value::Null,
        "the accused unit does not see it, not even through the payload"
    );
}

#[tokio::test]
async fn group_visits_joint_letters_organisations_and_anonymous_letters_count_as_the_rules_say() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = county.token("bureau_staff");
    let people = |n: usize, reps: usize| {
        (0..n)
            .map(|i| json!({"name": format!("群众{i}"), "representative": i < reps}))
            .collect::<Vec<_>>()
    };
    // (what, input, isGroup): a visit by 6 that elected nobody is still a group visit; one by
    // 7 with two representatives too; a joint letter signed by 8 (3 listed) is not; nor is an
    // anonymous letter or an organisation's call.
    let rows = [
        (
            "group visit, no representatives",
            json!({"channel": "VISIT", "petitioners": people(6, 0)}),
            true,
        ),
        (
            "group visit, two representatives",
            json!({"channel": "VISIT", "petitioners": people(2, 2), "personCount": 7}),
            true,
        ),
        (
            "joint letter",
            json!({"channel": "LETTER", "petitioners": people(3, 0), "personCount": 8}),
            false,
        ),
        (
            "anonymous letter",
            json!({"channel": "LETTER", "petitioners": []}),
            false,
        ),
        (
            "organisation",
            json!({"channel": "PHONE", "petitioners": [{"kind": "ORGANISATION", "name": "清河县某建筑公司",
            "creditCode": "91110000600037341l", "contactPerson": "王经理", "phone": "13912345678"}]}),
            false,
        ),
    ];
    let mut ids = vec![];
    for (what, over, group) in rows {
        let body = app
            .gql(
                Some(token),
                "mutation($input: RegisterCaseInput!) { registerCase(input: $input) { case { id isGroup personCount
                   petitioners { kind name creditCode contactPerson phone representative } } } }",
                json!({"input": case_input(over)}),
            )
            .await;
        let case = &body["data"]["registerCase"]["case"];
        assert_eq!(case["isGroup"], group, "{what}: {body}");
        ids.push(case["id"].as_str().unwrap().to_string());
        if what == "anonymous letter" {
            assert_eq!(
                (case["petitioners"].clone(), case["personCount"].clone()),
                (json!([]), json!(1)),
                "{body}"
            );
        }
        if what == "organisation" {
            // The credit code is upper-cased; the bureau sees the contact's phone in full.
            assert_eq!(
                case["petitioners"],
                json!([{"kind": "ORGANISATION", "name": "清河县某建筑公司", "creditCode": "91110000600037341L",
                        "contactPerson": "王经理", "phone": "13912345678", "representative": false}]),
                "{body}"
            );
        }
    }
    // 件次 5; 人次 6 + 7 + 8 + 1 + 1 = 23; 批次: the two group visits only.
    let stats = app
        .gql(
            Some(token),
            "{ statistics(from: \"2020-01-01T00:00:00Z\", to: \"2040-01-01T00:00:00Z\") { total { cases persons groupPetitions } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        stats["data"]["statistics"]["total"],
        json!({"cases": 5, "persons": 23, "groupPetitions": 2}),
        "{stats}"
    );
    // The group filter finds the group visits.
    let groups = app
        .gql(
            Some(token),
            "{ cases(filter: {group: true}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(groups["data"]["cases"]["totalCount"], 2, "{groups}");
}
