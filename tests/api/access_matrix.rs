//! The access rules of domain §5 as a matrix: every viewer against every read path and the
//! masking of each personal field, with the expected answer written in the table.
//!
//! Scenario (one county):
//! - Case **P**, an appeal about 东关镇 (t1), received and registered by 县自然资源局 (dept_c),
//!   led by 县住建局 (dept_a), with 县人社局 (dept_b) assisting. Petitioner 李四.
//! - Case **A**, an accusation against 东关镇 (t1), registered by the petition bureau and led
//!   by 县纪委监委 (discipline). Petitioner 钱七.
//! - The citizen account `li_si` is 李四 (same ID number); `wang_wu` is another citizen.

use crate::fixtures::{self, County, case_input};
use crate::support::{TestApp, Ws, WsEvent, code, gid, spawn_app};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shown {
    /// Name, ID number, phone and address as registered.
    Full,
    /// Name and address; ID number and phone masked to their shape.
    Masked,
    /// Identity withheld: name reads 保密, the rest is null.
    Confidential,
}

use Shown::*;

struct Cell {
    viewer: &'static str,
    case: &'static str,
    /// By id, by number, node, list and count alike.
    sees: bool,
    shown: Option<Shown>,
    finds_by_name: bool,
    finds_by_phone: bool,
}

const fn see(
    viewer: &'static str,
    case: &'static str,
    shown: Shown,
    finds_by_name: bool,
    finds_by_phone: bool,
) -> Cell {
    Cell {
        viewer,
        case,
        sees: true,
        shown: Some(shown),
        finds_by_name,
        finds_by_phone,
    }
}

const fn blind(viewer: &'static str, case: &'static str) -> Cell {
    Cell {
        viewer,
        case,
        sees: false,
        shown: None,
        finds_by_name: false,
        finds_by_phone: false,
    }
}

#[rustfmt::skip]
const MATRIX: &[Cell] = &[
    // viewer            case  shown          by name by phone
    see("county_staff",  "P",  Masked,        true,   false),  // rule 1: county oversight
    see("county_leader", "P",  Masked,        true,   false),
    see("bureau_staff",  "P",  Full,          true,   true),   // rule 1: the bureau
    see("a_staff",       "P",  Full,          true,   true),   // rule 2: lead unit
    see("b_staff",       "P",  Masked,        true,   false),  // rule 2: assisting unit
    blind("disc_staff",  "P"),                                 // unrelated department
    see("t1_staff",      "P",  Masked,        true,   false),  // rule 3: territory
    blind("t2_staff",    "P"),                                 // sibling township
    see("c_staff",       "P",  Full,          true,   true),   // rule 4: registered it, moved on
    blind("county_admin","P"),                                 // ADMIN sees no case content
    see("li_si",         "P",  Full,          false,  false),  // the petitioner: own entry
    blind("wang_wu",     "P"),                                 // another petitioner

    see("county_staff",  "A",  Confidential,  false,  false),  // oversight, identity withheld
    see("county_leader", "A",  Confidential,  false,  false),
    see("bureau_staff",  "A",  Full,          true,   true),   // the bureau sees all
    see("disc_staff",    "A",  Full,          true,   true),   // lead unit
    blind("t1_staff",    "A"),                                 // the accused unit (and territory)
    blind("t2_staff",    "A"),
    blind("a_staff",     "A"),
    blind("b_staff",     "A"),
    blind("c_staff",     "A"),
    blind("county_admin","A"),
    blind("li_si",       "A"),
    blind("wang_wu",     "A"),
];

struct Scenario {
    county: County,
    /// Case name → (global id, number).
    cases: std::collections::HashMap<&'static str, (String, String)>,
    tokens: std::collections::HashMap<&'static str, String>,
}

impl Scenario {
    fn token(&self, viewer: &str) -> &str {
        self.tokens
            .get(viewer)
            .map(String::as_str)
            .unwrap_or_else(|| self.county.token(viewer))
    }
}

const LI_SI_ID: &str = "440524188001010014";
const LI_SI_PHONE: &str = "13912345678";
const QIAN_QI_ID: &str = "11010519491231002X";
const QIAN_QI_PHONE: &str = "13500003333";

async fn scenario(app: &TestApp) -> Scenario {
    let county = fixtures::county(app).await;
    let mut tokens = std::collections::HashMap::new();
    tokens.insert(
        "li_si",
        fixtures::citizen(app, "li_si", "李四", LI_SI_ID, LI_SI_PHONE).await,
    );
    tokens.insert(
        "wang_wu",
        fixtures::citizen(app, "wang_wu", "王五", "33010619900101123X", "13800138000").await,
    );
    let p = fixtures::register(
        app,
        county.token("c_staff"),
        json!({"townshipId": gid("OrgUnit", county.t1), "leadUnitId": gid("OrgUnit", county.dept_a),
               "petitioners": [{"name": "李四", "idNumber": LI_SI_ID, "phone": LI_SI_PHONE, "address": "东关镇和平路12号"}]}),
    )
    .await;
    // Assisting units are added by the workflow's addAssistingUnit; until then the fixture
    // writes the relation row the way that mutation will.
    {
        use sea_orm::EntityTrait;
        let id: i64 = p.1.rsplit('-').next().unwrap().parse().unwrap();
        let model = xinfang_entity::case::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.number == p.1)
            .unwrap();
        assert_eq!(id, 1);
        xinfang_api::cases::add_relation(
            app.db(),
            &model,
            county.dept_b,
            xinfang_api::domain::UnitRelation::Assisting,
        )
        .await
        .unwrap();
    }
    let a = fixtures::register(
        app,
        county.token("bureau_staff"),
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "title": "反映镇干部违规收费", "content": "实名举报。",
               "townshipId": gid("OrgUnit", county.t1), "accusedUnitId": gid("OrgUnit", county.t1), "leadUnitId": gid("OrgUnit", county.discipline),
               "petitioners": [{"name": "钱七", "idNumber": QIAN_QI_ID, "phone": QIAN_QI_PHONE, "address": "西营乡"}]}),
    )
    .await;
    Scenario {
        county,
        cases: [("P", p), ("A", a)].into(),
        tokens,
    }
}

const PETITIONERS: &str = "petitioners { name idNumber phone address confidential }";

fn expected_petitioner(case: &str, shown: Shown) -> Value {
    let (name, id, phone, address) = match case {
        "P" => ("李四", LI_SI_ID, LI_SI_PHONE, "东关镇和平路12号"),
        _ => ("钱七", QIAN_QI_ID, QIAN_QI_PHONE, "西营乡"),
    };
    match shown {
        Full => {
            json!({"name": name, "idNumber": id, "phone": phone, "address": address, "confidential": false})
        }
        Masked => {
            json!({"name": name, "idNumber": format!("{}**********{}", &id[..4], &id[14..]), "phone": format!("{}****{}", &phone[..3], &phone[7..]), "address": address, "confidential": false})
        }
        Confidential => {
            json!({"name": "保密", "idNumber": null, "phone": null, "address": null, "confidential": true})
        }
    }
}

#[tokio::test]
async fn every_viewer_sees_exactly_what_the_rules_allow_on_every_read_path() {
    let app = spawn_app().await;
    let s = scenario(&app).await;
    let mut failures = vec![];
    for cell in MATRIX {
        let token = s.token(cell.viewer);
        let (id, number) = &s.cases[cell.case];
        let label = format!("{} on {}", cell.viewer, cell.case);

        let by_id = app
            .gql(
                Some(token),
                &format!("query($id: ID!) {{ case(id: $id) {{ number {PETITIONERS} }} }}"),
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
                "query($id: ID!) { node(id: $id) { ... on Case { number } } }",
                json!({"id": id}),
            )
            .await;
        let list = app
            .gql(
                Some(token),
                "{ cases(first: 100) { nodes { number } } }",
                json!({}),
            )
            .await;
        let listed = list["data"]["cases"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["number"] == *number);

        if cell.sees {
            if by_id["data"]["case"]["number"] != *number {
                failures.push(format!("{label}: by id {by_id}"))
            }
            if by_number["data"]["caseByNumber"]["number"] != *number {
                failures.push(format!("{label}: by number {by_number}"))
            }
            if node["data"]["node"]["number"] != *number {
                failures.push(format!("{label}: node {node}"))
            }
            if !listed {
                failures.push(format!("{label}: not listed"))
            }
            let shown = by_id["data"]["case"]["petitioners"][0].clone();
            if shown != expected_petitioner(cell.case, cell.shown.unwrap()) {
                failures.push(format!("{label}: masking {shown}"))
            }
        } else {
            for (path, body, key) in [
                ("by id", &by_id, "case"),
                ("by number", &by_number, "caseByNumber"),
                ("node", &node, "node"),
            ] {
                let hidden = body["data"][key].is_null() && code(body) == Some("NOT_FOUND");
                if !hidden {
                    failures.push(format!("{label}: {path} must be NOT_FOUND: {body}"))
                }
            }
            if listed {
                failures.push(format!("{label}: listed"))
            }
        }

        let name = if cell.case == "P" { "李四" } else { "钱七" };
        let phone = if cell.case == "P" {
            LI_SI_PHONE
        } else {
            QIAN_QI_PHONE
        };
        for (what, text, expected) in [
            ("name", name, cell.finds_by_name),
            ("phone", phone, cell.finds_by_phone),
        ] {
            let found = app.gql(Some(token), "query($q: String!) { cases(filter: {search: $q}) { totalCount nodes { number } } }", json!({"q": text})).await;
            let hit = found["data"]["cases"]["nodes"]
                .as_array()
                .map(|n| n.iter().any(|n| n["number"] == *number))
                .unwrap_or(false);
            if hit != expected {
                failures.push(format!(
                    "{label}: search by {what} expected {expected}, got {found}"
                ))
            }
        }
    }
    // Counts: totalCount equals the number of cases the table says each viewer sees.
    let mut viewers: Vec<&str> = MATRIX.iter().map(|c| c.viewer).collect();
    viewers.dedup();
    for viewer in viewers {
        let expected = MATRIX
            .iter()
            .filter(|c| c.viewer == viewer && c.sees)
            .count();
        let body = app
            .gql(Some(s.token(viewer)), "{ cases { totalCount } }", json!({}))
            .await;
        let got = body["data"]["cases"]["totalCount"]
            .as_u64()
            .map(|n| n as usize)
            .unwrap_or(usize::MAX);
        if got != expected {
            failures.push(format!(
                "{viewer}: totalCount {got}, expected {expected}: {body}"
            ))
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells disagree with the rules:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn an_invisible_case_is_indistinguishable_from_a_missing_one() {
    let app = spawn_app().await;
    let s = scenario(&app).await;
    let hidden = app
        .gql(
            Some(s.token("t2_staff")),
            "query($id: ID!) { case(id: $id) { number } }",
            json!({"id": s.cases["P"].0}),
        )
        .await;
    let missing = app
        .gql(
            Some(s.token("t2_staff")),
            "query($id: ID!) { case(id: $id) { number } }",
            json!({"id": gid("Case", 987654)}),
        )
        .await;
    assert_eq!(
        hidden["errors"][0]["message"],
        missing["errors"][0]["message"]
    );
    assert_eq!(
        hidden["errors"][0]["extensions"],
        missing["errors"][0]["extensions"]
    );
    assert_eq!(hidden["data"], missing["data"]);
    let by_number = app
        .gql(
            Some(s.token("t1_staff")),
            "query($n: String!) { caseByNumber(number: $n) { number } }",
            json!({"n": s.cases["A"].1}),
        )
        .await;
    let no_number = app
        .gql(
            Some(s.token("t1_staff")),
            "query($n: String!) { caseByNumber(number: $n) { number } }",
            json!({"n": "XF-130534-2026-999999"}),
        )
        .await;
    assert_eq!(by_number, no_number);
}

/// A repeat of P (same person, same subject), registered by the territory township, which
/// leads it and sees P (its territory): it confirms the proposal. Its id and number.
async fn linked_repeat_of_p(app: &TestApp, s: &Scenario) -> (String, String) {
    let repeat = fixtures::register(
        app,
        s.county.token("t1_staff"),
        json!({"townshipId": gid("OrgUnit", s.county.t1)}),
    )
    .await;
    let linked = fixtures::link_repeat(app, s.token("t1_staff"), &repeat.0, &s.cases["P"].0).await;
    assert!(linked["errors"].is_null(), "{linked}");
    repeat
}

/// A repeat counts as one (in the `repeat` filter and in statistics) only for a viewer who
/// sees the case it repeats; for everyone else it is a first petition. The rule asks about a
/// second case from inside the query over the first, so each viewer's scope is written twice
/// (`Viewer::case_scope_on`): the second township, which assists on the repeat only, is the
/// row that catches a scope asked about the wrong case.
#[tokio::test]
async fn a_repeat_counts_only_where_the_case_it_repeats_is_seen() {
    let app = spawn_app().await;
    let s = scenario(&app).await;
    let repeat = linked_repeat_of_p(&app, &s).await;
    let assist = fixtures::mutate(
        &app,
        s.token("t1_staff"),
        "addAssistingUnit",
        json!({"caseId": repeat.0, "unitId": gid("OrgUnit", s.county.t2)}),
        "__typename",
    )
    .await;
    assert!(assist["errors"].is_null(), "{assist}");
    let staff_q = "{ all: cases { totalCount } repeats: cases(filter: {repeat: true}) { totalCount } \
        firsts: cases(filter: {repeat: false}) { totalCount } \
        statistics(from: \"2020-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") { total { cases repeats firstPetitions } } }";
    let citizen_q = "{ all: cases { totalCount } repeats: cases(filter: {repeat: true}) { totalCount } \
        firsts: cases(filter: {repeat: false}) { totalCount } }";
    // (viewer, sees the repeat, sees P): a repeat is counted where both are seen.
    #[rustfmt::skip]
    let rows: [(&str, bool, bool); 8] = [
        ("li_si",        true,  true),   // named on both
        ("t1_staff",     true,  true),   // leads the repeat, territory of P
        ("bureau_staff", true,  true),
        ("county_leader", true, true),   // the county unit
        ("a_staff",      false, true),   // leads P only
        ("b_staff",      false, true),   // assists on P only
        ("t2_staff",     true,  false),  // assists on the repeat only
        ("disc_staff",   false, false),
    ];
    for (viewer, sees_repeat, sees_p) in rows {
        let citizen = viewer == "li_si";
        let body = app
            .gql(
                Some(s.token(viewer)),
                if citizen { citizen_q } else { staff_q },
                json!({}),
            )
            .await;
        assert!(body["errors"].is_null(), "{viewer}: {body}");
        let shown = |case: &str| {
            let q = "query($id: ID!) { case(id: $id) { id } }";
            let app = &app;
            let token = s.token(viewer).to_string();
            let id = case.to_string();
            async move { app.gql(Some(&token), q, json!({"id": id})).await["data"]["case"].is_object() }
        };
        assert_eq!(
            (shown(&repeat.0).await, shown(&s.cases["P"].0).await),
            (sees_repeat, sees_p),
            "{viewer}: the scenario's sight"
        );
        let counted = i64::from(sees_repeat && sees_p);
        let d = &body["data"];
        assert_eq!(d["repeats"]["totalCount"], counted, "{viewer}: {body}");
        assert_eq!(
            d["firsts"]["totalCount"].as_i64().unwrap() + counted,
            d["all"]["totalCount"].as_i64().unwrap(),
            "{viewer}: {body}"
        );
        if !citizen {
            let total = &d["statistics"]["total"];
            assert_eq!(total["repeats"], counted, "{viewer}: {body}");
            assert_eq!(total["cases"], d["all"]["totalCount"], "{viewer}: {body}");
            assert_eq!(
                total["firstPetitions"].as_i64().unwrap() + counted,
                d["all"]["totalCount"].as_i64().unwrap(),
                "{viewer}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn nested_lists_respect_the_scope() {
    let app = spawn_app().await;
    let s = scenario(&app).await;
    let repeat = linked_repeat_of_p(&app, &s).await;
    let q = "query($id: ID!) { case(id: $id) { repeatOf { number } repeats { number } } }";
    // The lead unit of P sees P but not the repeat (only the township relates to it).
    let lead = app
        .gql(Some(s.token("a_staff")), q, json!({"id": s.cases["P"].0}))
        .await;
    assert_eq!(lead["data"]["case"]["repeats"], json!([]), "{lead}");
    // The township sees both, linked.
    let township = app
        .gql(Some(s.token("t1_staff")), q, json!({"id": repeat.0}))
        .await;
    assert_eq!(
        township["data"]["case"]["repeatOf"]["number"], s.cases["P"].1,
        "{township}"
    );
    let township_p = app
        .gql(
            Some(s.token("t1_staff")),
            "query($id: ID!) { case(id: $id) { repeats { number } matter { id } } }",
            json!({"id": s.cases["P"].0}),
        )
        .await;
    assert_eq!(
        township_p["data"]["case"]["repeats"],
        json!([{"number": repeat.1}])
    );
    // P's matter as each viewer may see it: only the cases of it they see, and its links only
    // where they see both cases (null: the viewer sees no case of it).
    let matter_q = "query($id: ID!) { case(id: $id) { matter { id cases { number } } repeatLinks { state } } }";
    let matter_id = township_p["data"]["case"]["matter"]["id"].clone();
    let (p_no, r_no) = (s.cases["P"].1.as_str(), repeat.1.as_str());
    #[rustfmt::skip]
    let rows: [(&str, Option<&[&str]>); 6] = [
        ("a_staff",      Some(&[p_no])),          // leads P; the repeat is out of its sight
        ("t1_staff",     Some(&[p_no, r_no])),    // territory of P, lead of the repeat
        ("bureau_staff", Some(&[p_no, r_no])),
        ("t2_staff",     None),
        ("disc_staff",   None),
        ("county_admin", None),
    ];
    for (viewer, expected) in rows {
        let by_id = app
            .gql(
                Some(s.token(viewer)),
                "query($id: ID!) { matter(id: $id) { cases { number } } }",
                json!({"id": matter_id}),
            )
            .await;
        let by_node = app
            .gql(
                Some(s.token(viewer)),
                "query($id: ID!) { node(id: $id) { ... on Matter { cases { number } } } }",
                json!({"id": matter_id}),
            )
            .await;
        assert_eq!(
            by_node["data"]["node"], by_id["data"]["matter"],
            "{viewer}: {by_node}"
        );
        match expected {
            Some(numbers) => {
                let cases: Vec<Value> = numbers.iter().map(|n| json!({"number": n})).collect();
                assert_eq!(
                    by_id["data"]["matter"]["cases"],
                    json!(cases),
                    "{viewer}: {by_id}"
                );
                let via_p = app
                    .gql(
                        Some(s.token(viewer)),
                        matter_q,
                        json!({"id": s.cases["P"].0}),
                    )
                    .await;
                assert_eq!(
                    via_p["data"]["case"]["matter"]["cases"],
                    json!(cases),
                    "{viewer}: {via_p}"
                );
                // The link belongs to the repeat: shown where both cases are seen.
                let via_r = app
                    .gql(Some(s.token(viewer)), matter_q, json!({"id": repeat.0}))
                    .await;
                let links = if numbers.len() == 2 {
                    json!([{"state": "CONFIRMED"}])
                } else {
                    Value::Null
                };
                assert_eq!(
                    via_r["data"]["case"]["repeatLinks"], links,
                    "{viewer}: {via_r}"
                );
            }
            None => {
                assert_eq!(by_id["data"]["matter"], Value::Null, "{viewer}: {by_id}");
                assert_eq!(
                    crate::support::code(&by_id),
                    Some("NOT_FOUND"),
                    "{viewer}: {by_id}"
                );
            }
        }
    }
    // A unit's cases: the lead unit's list of P, as each viewer may see it.
    let unit_cases = "query($u: ID!) { orgUnit(id: $u) { cases { totalCount nodes { number } } } }";
    let dept_a = json!({"u": gid("OrgUnit", s.county.dept_a)});
    for (viewer, expected) in [
        ("a_staff", 1),
        ("bureau_staff", 1),
        ("t1_staff", 1),
        ("disc_staff", 0),
        ("t2_staff", 0),
        ("county_admin", 0),
    ] {
        let body = app
            .gql(Some(s.token(viewer)), unit_cases, dept_a.clone())
            .await;
        assert_eq!(
            body["data"]["orgUnit"]["cases"]["totalCount"], expected,
            "{viewer}: {body}"
        );
    }
    // The discipline unit leads A; the accused township asking for that list sees nothing.
    let disc = json!({"u": gid("OrgUnit", s.county.discipline)});
    let body = app
        .gql(Some(s.token("t1_staff")), unit_cases, disc.clone())
        .await;
    assert_eq!(body["data"]["orgUnit"]["cases"]["totalCount"], 0);
    let body = app
        .gql(Some(s.token("county_staff")), unit_cases, disc)
        .await;
    assert_eq!(body["data"]["orgUnit"]["cases"]["totalCount"], 1);
    // The accused township never sees the accusation against it through a nested path either:
    // the accusation's number does not appear anywhere in its answers.
    let everything = app
        .gql(
            Some(s.token("t1_staff")),
            "{ cases(first: 100) { nodes { number repeatOf { number } repeats { number } } } }",
            json!({}),
        )
        .await;
    assert!(!everything.to_string().contains(&s.cases["A"].1));
}

#[tokio::test]
async fn viewer_can_shows_only_the_buttons_that_will_work() {
    let app = spawn_app().await;
    let s = scenario(&app).await;
    let q = "query($id: ID!) { case(id: $id) { viewerCan { transfer decideAcceptance reply addAssistingOpinion issueSupervision takeLeaderOwnership seeFullPersonalData } } }";
    #[rustfmt::skip]
    let expected = [
        // viewer           transfer decide reply  opinion superv. ownership full data
        ("a_staff",        [true,    true,  false, false,  false,  false,    true]),   // lead STAFF
        ("a_leader",       [true,    true,  false, false,  false,  true,     true]),   // lead LEADER: no reply before acceptance
        ("b_staff",        [false,   false, false, false,  false,  false,    false]),  // assisting: opinions only once in progress
        ("bureau_staff",   [true,    false, false, false,  true,   false,    true]),   // the bureau routes and supervises
        ("county_leader",  [false,   false, false, false,  false,  true,     false]),  // county LEADER may take ownership
        ("t1_staff",       [false,   false, false, false,  false,  false,    false]),  // territory sees, acts not
        ("c_staff",        [false,   false, false, false,  false,  false,    true]),   // registrant
        ("li_si",          [false,   false, false, false,  false,  false,    false]),
    ];
    let keys = [
        "transfer",
        "decideAcceptance",
        "reply",
        "addAssistingOpinion",
        "issueSupervision",
        "takeLeaderOwnership",
        "seeFullPersonalData",
    ];
    for (viewer, want) in expected {
        let body = app
            .gql(Some(s.token(viewer)), q, json!({"id": s.cases["P"].0}))
            .await;
        let can = &body["data"]["case"]["viewerCan"];
        let got: Vec<bool> = keys
            .iter()
            .map(|k| {
                can[k]
                    .as_bool()
                    .unwrap_or_else(|| panic!("{viewer}: {body}"))
            })
            .collect();
        assert_eq!(got, want, "{viewer}");
    }
}

#[tokio::test]
async fn a_petitioner_who_signs_up_later_sees_the_cases_that_name_them() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (id, number) =
        fixtures::register(&app, county.token("a_staff"), case_input(json!({}))).await;
    let token = fixtures::citizen(&app, "li_si_late", "李四", LI_SI_ID, LI_SI_PHONE).await;
    let body = app
        .gql(
            Some(&token),
            "query($id: ID!) { case(id: $id) { number } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(body["data"]["case"]["number"], number, "{body}");
}

#[tokio::test]
async fn an_id_number_alone_does_not_open_someone_elses_cases() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // Li Si's appeal, and an accusation he filed at the counter.
    let (appeal, _) =
        fixtures::register(&app, county.token("a_staff"), case_input(json!({}))).await;
    let (accusation, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1), "leadUnitId": gid("OrgUnit", county.discipline),
               "petitioners": [{"name": "李四", "idNumber": LI_SI_ID, "phone": LI_SI_PHONE}]}),
    )
    .await;
    // Someone who knows his ID number but not his phone signs up first: they see nothing.
    let impostor = fixtures::citizen(&app, "impostor", "李四", LI_SI_ID, "13700000000").await;
    for id in [&appeal, &accusation] {
        let body = app
            .gql(
                Some(&impostor),
                "query($id: ID!) { case(id: $id) { id } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
    }
    // Nor does their sign-up lock the real 李四 out, or tell anyone that the number has an
    // account: his own sign-up succeeds, and with his phone he follows his appeal — never the
    // accusation.
    let again = app
        .gql(None, "mutation($i: RegisterPetitionerInput!) { registerPetitioner(input: $i) { accessToken } }",
            json!({"i": {"username": "li_si_real", "password": "citizen password", "name": "李四", "phone": LI_SI_PHONE, "idNumber": LI_SI_ID}}))
        .await;
    let real = again["data"]["registerPetitioner"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{again}"));
    let q = "query($id: ID!) { case(id: $id) { id } }";
    let sees = app.gql(Some(real), q, json!({"id": appeal})).await;
    assert_eq!(sees["data"]["case"]["id"], appeal.as_str(), "{sees}");
    let hidden = app.gql(Some(real), q, json!({"id": accusation})).await;
    assert_eq!(code(&hidden), Some("NOT_FOUND"), "{hidden}");
    // A taken username is the one thing a sign-up is refused for.
    let taken = app
        .gql(None, "mutation($i: RegisterPetitionerInput!) { registerPetitioner(input: $i) { accessToken } }",
            json!({"i": {"username": "impostor", "password": "citizen password", "name": "王五", "phone": "13600000000", "idNumber": "110101199003070011"}}))
        .await;
    assert_eq!(code(&taken), Some("CONFLICT"), "{taken}");
}

#[tokio::test]
async fn an_accusation_is_never_linked_to_an_account_by_id_number() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let token = fixtures::citizen(&app, "li_si", "李四", LI_SI_ID, LI_SI_PHONE).await;
    let (accusation, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "accusedUnitId": gid("OrgUnit", county.t1), "leadUnitId": gid("OrgUnit", county.discipline),
               "petitioners": [{"name": "李四", "idNumber": LI_SI_ID, "phone": LI_SI_PHONE}]}),
    )
    .await;
    let body = app
        .gql(
            Some(&token),
            "query($id: ID!) { case(id: $id) { id } }",
            json!({"id": accusation}),
        )
        .await;
    assert_eq!(
        code(&body),
        Some("NOT_FOUND"),
        "an accusation filed at the counter is followed there, not in the app"
    );
}

/// The records of a case, by kind, in the order of [`RECORD_KINDS`].
const RECORD_KINDS: [&str; 8] = [
    "Referral",
    "Extension",
    "Supervision",
    "CompletionReport",
    "Reply",
    "Review",
    "TimelineEntry (public)",
    "TimelineEntry (internal)",
];

struct RecordCell {
    viewer: &'static str,
    /// The case itself: by id, list, count, statistics, export, caseEvents.
    sees: bool,
    /// `node(id)` of each record kind finds it.
    records: [bool; 8],
    /// How many referrals `referralsSent` / `referralsReceived` list.
    sent: u64,
    received: u64,
    /// The REGISTER entry's `actorName` (registered by c_staff).
    actor: Option<&'static str>,
}

const STAFF_RECORDS: [bool; 8] = [true; 8];
const PUBLIC_RECORDS: [bool; 8] = [true, true, false, false, true, true, true, false];
const NO_RECORDS: [bool; 8] = [false; 8];

#[rustfmt::skip]
const RECORD_MATRIX: &[RecordCell] = &[
    RecordCell { viewer: "county_staff", sees: true,  records: STAFF_RECORDS,  sent: 0, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "bureau_staff", sees: true,  records: STAFF_RECORDS,  sent: 0, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "a_staff",      sees: true,  records: STAFF_RECORDS,  sent: 0, received: 1, actor: Some("c_staff") },
    RecordCell { viewer: "b_staff",      sees: true,  records: STAFF_RECORDS,  sent: 0, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "c_staff",      sees: true,  records: STAFF_RECORDS,  sent: 1, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "t1_staff",     sees: true,  records: STAFF_RECORDS,  sent: 0, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "t2_staff",     sees: false, records: NO_RECORDS,     sent: 0, received: 0, actor: None },
    RecordCell { viewer: "disc_staff",   sees: false, records: NO_RECORDS,     sent: 0, received: 0, actor: None },
    RecordCell { viewer: "county_admin", sees: false, records: NO_RECORDS,     sent: 0, received: 0, actor: None },
    RecordCell { viewer: "li_si",        sees: true,  records: PUBLIC_RECORDS, sent: 0, received: 0, actor: None },
    RecordCell { viewer: "wang_wu",      sees: false, records: NO_RECORDS,     sent: 0, received: 0, actor: None },
];

/// A case with one record of every kind: registered by 县自然资源局, assigned to 县住建局
/// (with 县人社局 assisting), accepted, extended, supervised, reported, replied, and (an
/// appeal) under review at 李四's request. Returns the case's id and number and each record's id.
async fn case_with_every_record(
    app: &TestApp,
    s: &Scenario,
    accusation: bool,
) -> (String, String, [String; 8]) {
    let c = &s.county;
    let mut input = json!({"townshipId": gid("OrgUnit", c.t1),
        "petitioners": [{"name": "李四", "idNumber": LI_SI_ID, "phone": LI_SI_PHONE}]});
    if accusation {
        input["category"] = json!("ACCUSATION");
        input["subject"] = json!("OFFICIAL_CONDUCT");
        input["accusedUnitId"] = json!(gid("OrgUnit", c.t1));
    }
    // The citizen asks for a review in the app. An accusation is not reviewed (domain §4):
    // its slot in the records is then the public REPLY entry of its timeline.
    let requester = (!accusation).then(|| s.token("li_si"));
    let walked = fixtures::every_record(
        app,
        c,
        fixtures::Walk {
            registrant: "c_staff",
            input,
            leader_owns: false,
            evaluate: false,
            review_requester: requester,
        },
    )
    .await;
    let case = walked.case.clone();
    let ids = app
        .gql(
            Some(c.token("bureau_staff")),
            "query($id: ID!) { case(id: $id) { reply { id } reviews { id } timeline(first: 100) { nodes { id action public } } } }",
            json!({"id": case}),
        )
        .await;
    let c_ = &ids["data"]["case"];
    let entries = c_["timeline"]["nodes"].as_array().unwrap();
    let entry = |public: bool, action: &str| {
        entries
            .iter()
            .find(|e| e["public"] == public && e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} entry: {ids}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let text = |v: &Value| v.as_str().unwrap().to_string();
    let records = [
        walked.referral,
        walked.extension,
        walked.supervision,
        walked.report,
        text(&c_["reply"]["id"]),
        if accusation {
            entry(true, "REPLY")
        } else {
            text(&c_["reviews"][0]["id"])
        },
        entry(true, "REGISTER"),
        entry(false, "PROGRESS_NOTE"),
    ];
    (case, walked.number, records)
}

#[tokio::test]
async fn every_record_and_side_path_follows_the_case_scope() {
    let app = spawn_app().await;
    let s = scenario(&app).await;
    let (case, number, records) = case_with_every_record(&app, &s, false).await;
    let failures = record_failures(&app, &s, &case, &number, &records, RECORD_MATRIX).await;
    assert!(
        failures.is_empty(),
        "{} cells disagree with the rules:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same case as an accusation against 东关镇 (the territory township): it and the citizen
/// (never linked to an accusation filed at a counter) reach none of it, on any path.
#[rustfmt::skip]
const ACCUSATION_RECORD_MATRIX: &[RecordCell] = &[
    RecordCell { viewer: "county_staff", sees: true,  records: STAFF_RECORDS, sent: 0, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "bureau_staff", sees: true,  records: STAFF_RECORDS, sent: 0, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "a_staff",      sees: true,  records: STAFF_RECORDS, sent: 0, received: 1, actor: Some("c_staff") },
    RecordCell { viewer: "b_staff",      sees: true,  records: STAFF_RECORDS, sent: 0, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "c_staff",      sees: true,  records: STAFF_RECORDS, sent: 1, received: 0, actor: Some("c_staff") },
    RecordCell { viewer: "t1_staff",     sees: false, records: NO_RECORDS,    sent: 0, received: 0, actor: None },
    RecordCell { viewer: "t2_staff",     sees: false, records: NO_RECORDS,    sent: 0, received: 0, actor: None },
    RecordCell { viewer: "disc_staff",   sees: false, records: NO_RECORDS,    sent: 0, received: 0, actor: None },
    RecordCell { viewer: "li_si",        sees: false, records: NO_RECORDS,    sent: 0, received: 0, actor: None },
];

#[tokio::test]
async fn the_accused_unit_reaches_no_record_and_no_side_path_of_the_accusation() {
    let app = spawn_app().await;
    let s = scenario(&app).await;
    let (case, number, records) = case_with_every_record(&app, &s, true).await;
    let failures =
        record_failures(&app, &s, &case, &number, &records, ACCUSATION_RECORD_MATRIX).await;
    assert!(
        failures.is_empty(),
        "{} cells disagree with the rules:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every cell of a record matrix checked against the server; the disagreements.
async fn record_failures(
    app: &TestApp,
    s: &Scenario,
    case: &str,
    number: &str,
    records: &[String; 8],
    matrix: &[RecordCell],
) -> Vec<String> {
    let mut failures = vec![];
    for cell in matrix {
        let token = s.token(cell.viewer);
        let label = cell.viewer;
        for (i, id) in records.iter().enumerate() {
            let body = app
                .gql(
                    Some(token),
                    "query($id: ID!) { node(id: $id) { id } }",
                    json!({"id": id}),
                )
                .await;
            let found = body["data"]["node"]["id"] == *id;
            if found != cell.records[i] {
                failures.push(format!(
                    "{label}: node of {} expected {}: {body}",
                    RECORD_KINDS[i], cell.records[i]
                ));
            }
            if !found && code(&body) != Some("NOT_FOUND") {
                failures.push(format!(
                    "{label}: node of {} must be NOT_FOUND: {body}",
                    RECORD_KINDS[i]
                ));
            }
        }
        // The referral lists, statistics and the actor name on the timeline.
        let side = app
            .gql(
                Some(token),
                "query($id: ID!) { referralsSent { totalCount } referralsReceived { totalCount }
                   statistics(from: \"2020-01-01T00:00:00Z\", to: \"2099-01-01T00:00:00Z\") { total { cases } }
                   case(id: $id) { timeline(first: 1) { nodes { actorName } } } }",
                json!({"id": case}),
            )
            .await;
        let staff = !matches!(cell.viewer, "li_si" | "wang_wu" | "county_admin");
        if staff {
            let sent = side["data"]["referralsSent"]["totalCount"].as_u64();
            let received = side["data"]["referralsReceived"]["totalCount"].as_u64();
            if (sent, received) != (Some(cell.sent), Some(cell.received)) {
                failures.push(format!(
                    "{label}: referral lists {sent:?}/{received:?}: {side}"
                ));
            }
        }
        // Statistics count the scenario's cases too: P and A as the read matrix says, plus this one.
        let expected_cases = MATRIX
            .iter()
            .filter(|c| c.viewer == cell.viewer && c.sees)
            .count() as u64
            + u64::from(cell.sees);
        let counted = side["data"]["statistics"]["total"]["cases"].as_u64();
        // (Statistics are for units; a citizen or an administrator is refused outright.)
        if staff && counted != Some(expected_cases) {
            failures.push(format!(
                "{label}: statistics counted {counted:?}, expected {expected_cases}: {side}"
            ));
        }
        let actor = &side["data"]["case"]["timeline"]["nodes"][0]["actorName"];
        if cell.sees && *actor != json!(cell.actor) {
            failures.push(format!("{label}: REGISTER actorName {actor}"));
        }
        // The CSV export lists the case exactly where the viewer sees it.
        let csv = app
            .client
            .get(format!("{}/export/cases.csv", app.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if csv.contains(number) != cell.sees {
            failures.push(format!(
                "{label}: export lists the case: {}",
                csv.contains(number)
            ));
        }
        // A caseEvents subscription is accepted exactly where the viewer sees the case.
        let mut ws = Ws::open(&app.url, token, None).await.expect("upgrade");
        ws.acked().await;
        ws.subscribe(
            "1",
            "subscription($id: ID!) { caseEvents(caseId: $id) { action } }",
            json!({"id": case}),
        )
        .await;
        let refused = match ws.next(std::time::Duration::from_millis(300)).await {
            WsEvent::Message(m) => m["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND",
            _ => false,
        };
        if refused == cell.sees {
            failures.push(format!("{label}: caseEvents refused = {refused}"));
        }
    }
    failures
}
