//! A county to test in: its units and an account of each kind the rules distinguish.

use crate::support::{PASSWORD, TestApp, gid};
use serde_json::{Value, json};
use std::collections::HashMap;
use xinfang_api::domain::{OrgUnitKind, Role};
use xinfang_api::identity::{self, NewUnit, NewUser};

pub struct County {
    pub county: i64,
    pub bureau: i64,
    /// 东关镇
    pub t1: i64,
    /// 西营乡
    pub t2: i64,
    /// 县住建局
    pub dept_a: i64,
    /// 县人社局
    pub dept_b: i64,
    /// 县纪委监委
    pub discipline: i64,
    users: HashMap<&'static str, i64>,
    tokens: HashMap<&'static str, String>,
}

impl County {
    pub fn user(&self, name: &str) -> i64 {
        *self
            .users
            .get(name)
            .unwrap_or_else(|| panic!("no fixture account {name}"))
    }
    pub fn token(&self, name: &str) -> &str {
        self.tokens
            .get(name)
            .unwrap_or_else(|| panic!("no fixture token {name}"))
    }
    /// Signs every account in again: access tokens live 15 minutes of the server's clock, so
    /// a test that moves the clock needs new ones.
    pub async fn renew(&mut self, app: &TestApp) {
        for (name, id) in &self.users {
            self.tokens.insert(*name, app.token_for(*id).await);
        }
    }
}

/// Account name, unit (by fixture field), role.
const ACCOUNTS: &[(&str, &str, Role)] = &[
    ("county_staff", "county", Role::Staff),
    ("county_leader", "county", Role::Leader),
    ("bureau_staff", "bureau", Role::Staff),
    ("bureau_leader", "bureau", Role::Leader),
    ("t1_staff", "t1", Role::Staff),
    ("t1_leader", "t1", Role::Leader),
    ("t1_admin", "t1", Role::Admin),
    ("t2_staff", "t2", Role::Staff),
    ("a_staff", "dept_a", Role::Staff),
    ("a_leader", "dept_a", Role::Leader),
    ("b_staff", "dept_b", Role::Staff),
    ("c_staff", "dept_c", Role::Staff),
    ("disc_staff", "discipline", Role::Staff),
];

pub async fn county(app: &TestApp) -> County {
    let s = &app.state;
    let (county, bureau, admin) = identity::bootstrap(
        &s.db,
        &s.auth,
        &s.clock,
        identity::Bootstrap {
            city_name: None,
            county_name: "清河县",
            county_code: Some("130534"),
            bureau_name: "清河县信访局",
            admin_username: "county_admin",
            admin_password: PASSWORD,
        },
    )
    .await
    .expect("bootstrap");
    let admin_v = app.viewer(admin.id).await;
    let unit = |name: &str, kind, discipline_body: bool| {
        let admin_v = admin_v.clone();
        let name = name.to_string();
        async move {
            identity::create_org_unit(
                &s.db,
                &s.clock,
                &admin_v,
                NewUnit {
                    name,
                    kind,
                    parent_id: county.id,
                    petition_bureau: false,
                    discipline_body,
                    division_code: None,
                },
            )
            .await
            .expect("unit")
            .id
        }
    };
    let t1 = unit("东关镇", OrgUnitKind::Township, false).await;
    let t2 = unit("西营乡", OrgUnitKind::Township, false).await;
    let dept_a = unit("县住建局", OrgUnitKind::Department, false).await;
    let dept_b = unit("县人社局", OrgUnitKind::Department, false).await;
    let dept_c = unit("县自然资源局", OrgUnitKind::Department, false).await;
    let discipline = unit("县纪委监委", OrgUnitKind::Department, true).await;
    let units: HashMap<&str, i64> = [
        ("county", county.id),
        ("bureau", bureau.id),
        ("t1", t1),
        ("t2", t2),
        ("dept_a", dept_a),
        ("dept_b", dept_b),
        ("dept_c", dept_c),
        ("discipline", discipline),
    ]
    .into();
    let mut users = HashMap::from([("county_admin", admin.id)]);
    for (name, unit, role) in ACCOUNTS {
        let created = identity::create_user(
            &s.db,
            &s.auth,
            &s.clock,
            &admin_v,
            NewUser {
                username: name.to_string(),
                password: PASSWORD.into(),
                display_name: name.to_string(),
                org_unit_id: units[unit],
                role: *role,
            },
        )
        .await
        .expect("account");
        users.insert(*name, created.id);
    }
    let mut tokens = HashMap::new();
    for (name, id) in &users {
        tokens.insert(*name, app.token_for(*id).await);
    }
    County {
        county: county.id,
        bureau: bureau.id,
        t1,
        t2,
        dept_a,
        dept_b,
        discipline,
        users,
        tokens,
    }
}

/// Signs a citizen up through the app's own mutation and returns their access token.
pub async fn citizen(app: &TestApp, username: &str, name: &str, id: &str, phone: &str) -> String {
    let body = app
        .gql(
            None,
            "mutation($i: RegisterPetitionerInput!) { registerPetitioner(input: $i) { accessToken } }",
            json!({"i": {"username": username, "password": "citizen password", "name": name, "phone": phone, "idNumber": id}}),
        )
        .await;
    body["data"]["registerPetitioner"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

pub const REGISTER: &str = r#"mutation($input: RegisterCaseInput!) {
  registerCase(input: $input) { case { id number status version leadUnit { name } } }
}"#;

/// A valid registration input; tests override what they exercise.
pub fn case_input(overrides: Value) -> Value {
    let mut input = json!({
        "channel": "VISIT",
        "category": "APPEAL",
        "subject": "HOUSING_DEMOLITION",
        "title": "拆迁补偿款未足额发放",
        "content": "二〇二五年房屋被征收，补偿款至今未足额发放。",
        "petitioners": [{ "name": "李四", "idNumber": "440524188001010014", "phone": "13912345678", "address": "东关镇和平路12号" }],
    });
    if let (Some(base), Some(extra)) = (input.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    input
}

/// Registers a case as `token` and returns (global id, number); panics on an error.
pub async fn register(app: &TestApp, token: &str, overrides: Value) -> (String, String) {
    let body = app
        .gql(
            Some(token),
            REGISTER,
            json!({"input": case_input(overrides)}),
        )
        .await;
    let case = &body["data"]["registerCase"]["case"];
    assert!(case.is_object(), "registration failed: {body}");
    (
        case["id"].as_str().unwrap().to_string(),
        case["number"].as_str().unwrap().to_string(),
    )
}

/// Runs a mutation by name (its input type is `<Name>Input`) and returns the whole body.
pub async fn mutate(
    app: &TestApp,
    token: &str,
    name: &str,
    input: Value,
    selection: &str,
) -> Value {
    let ty = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    let q = format!("mutation($i: {ty}!) {{ {name}(input: $i) {{ {selection} }} }}");
    app.gql(Some(token), &q, json!({"i": input})).await
}

/// Runs a mutation that must succeed; returns its payload.
pub async fn ok(app: &TestApp, token: &str, name: &str, input: Value, selection: &str) -> Value {
    let body = mutate(app, token, name, input, selection).await;
    assert!(body["errors"].is_null(), "{name} failed: {body}");
    body["data"][name].clone()
}

/// Transfers (转送) the case to `to` at its current version; the whole answer, refusals too.
pub async fn transfer(app: &TestApp, token: &str, id: &str, to: i64, reason: &str) -> Value {
    let v = version(app, token, id).await;
    mutate(
        app,
        token,
        "transferCase",
        json!({"caseId": id, "expectedVersion": v, "toUnitId": gid("OrgUnit", to), "mode": "TRANSFER", "reason": reason}),
        "referral { id }",
    )
    .await
}

/// The case's current version, as `expectedVersion` wants it.
pub async fn version(app: &TestApp, token: &str, id: &str) -> i64 {
    let body = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { version } }",
            json!({"id": id}),
        )
        .await;
    body["data"]["case"]["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// How [`every_record`] walks a case.
pub struct Walk<'a> {
    /// Who registers the case (and assigns it to 县住建局).
    pub registrant: &'static str,
    /// The registration input, over [`case_input`]'s defaults.
    pub input: Value,
    /// A county leader takes ownership (领导包案) before the completion report.
    pub leader_owns: bool,
    /// The bureau records the petitioner's dissatisfaction on their behalf before the review.
    pub evaluate: bool,
    /// Who asks for a review (the petitioner in the app, or the bureau on their behalf);
    /// `None` for suggestions and accusations, which are not reviewed.
    pub review_requester: Option<&'a str>,
}

/// The ids of the records [`every_record`] left.
pub struct Walked {
    pub case: String,
    pub number: String,
    pub referral: String,
    pub extension: String,
    pub supervision: String,
    pub report: String,
}

/// A case with a record of every kind: assigned by the registrant to 县住建局 (which
/// acknowledges it), 县交通局 assisting, accepted, an internal note, an extension asked and
/// approved, a supervision order, a completion report approved, a written reply and a review
/// request — one walk for every test that needs a case rich in records.
pub async fn every_record(app: &TestApp, c: &County, walk: Walk<'_>) -> Walked {
    use crate::support::gid;
    let (case, number) = register(app, c.token(walk.registrant), walk.input).await;
    let v = |who: &'static str| {
        let case = case.clone();
        async move { version(app, c.token(who), &case).await }
    };
    let id = |v: Value| v.as_str().unwrap_or_else(|| panic!("{v}")).to_string();
    let referral = id(ok(app, c.token(walk.registrant), "transferCase",
        json!({"caseId": case, "expectedVersion": v(walk.registrant).await, "toUnitId": gid("OrgUnit", c.dept_a), "mode": "ASSIGN", "reason": "属住建局职责"}),
        "referral { id }").await["referral"]["id"].clone());
    let steps: [(&str, &str, Value); 4] = [
        (
            "a_staff",
            "acknowledgeReferral",
            json!({"referralId": referral}),
        ),
        (
            "a_staff",
            "addAssistingUnit",
            json!({"caseId": case, "unitId": gid("OrgUnit", c.dept_b)}),
        ),
        (
            "a_staff",
            "decideAcceptance",
            json!({"caseId": case, "expectedVersion": 0, "decision": "ACCEPT"}),
        ),
        (
            "a_staff",
            "addProgressNote",
            json!({"caseId": case, "text": "内部：已约谈", "internal": true}),
        ),
    ];
    for (who, name, mut input) in steps {
        if input.get("expectedVersion").is_some() {
            input["expectedVersion"] = json!(v("a_staff").await);
        }
        ok(app, c.token(who), name, input, "__typename").await;
    }
    let extension = id(ok(
        app,
        c.token("a_staff"),
        "requestExtension",
        json!({"caseId": case, "days": 10, "reason": "需现场勘验"}),
        "extension { id }",
    )
    .await["extension"]["id"]
        .clone());
    ok(
        app,
        c.token("a_leader"),
        "decideExtension",
        json!({"extensionId": extension, "approve": true}),
        "__typename",
    )
    .await;
    let supervision = id(ok(
        app,
        c.token("bureau_staff"),
        "issueSupervision",
        json!({"caseId": case, "text": "请加快办理", "dueAt": "2099-01-01T00:00:00Z"}),
        "supervision { id }",
    )
    .await["supervision"]["id"]
        .clone());
    if walk.leader_owns {
        ok(
            app,
            c.token("a_leader"),
            "takeLeaderOwnership",
            owning(app, &case, 30),
            "__typename",
        )
        .await;
    }
    let report = id(ok(
        app,
        c.token("a_staff"),
        "fileCompletionReport",
        json!({"caseId": case, "text": "已办结"}),
        "report { id }",
    )
    .await["report"]["id"]
        .clone());
    ok(
        app,
        c.token("bureau_staff"),
        "decideCompletionReport",
        json!({"reportId": report, "approve": true}),
        "__typename",
    )
    .await;
    ok(app, c.token("a_leader"), "issueReply",
        json!({"caseId": case, "expectedVersion": v("a_leader").await, "outcome": "SUPPORTED", "facts": "经查属实。", "reasons": "符合政策。", "basis": "《信访工作条例》", "deliveredBy": "IN_PERSON"}),
        "__typename").await;
    if walk.evaluate {
        ok(
            app,
            c.token("bureau_staff"),
            "evaluateCase",
            json!({"caseId": case, "satisfaction": "DISSATISFIED", "onBehalf": true}),
            "__typename",
        )
        .await;
    }
    if let Some(requester) = walk.review_requester {
        ok(
            app,
            requester,
            "requestReview",
            json!({"caseId": case, "reason": "对处理意见不服"}),
            "__typename",
        )
        .await;
    }
    Walked {
        case,
        number,
        referral,
        extension,
        supervision,
        report,
    }
}

/// Confirms `case` (global id) as a repeat of `earlier` as `token` (linkRepeat) and returns
/// the whole body, errors included.
pub async fn link_repeat(app: &TestApp, token: &str, case: &str, earlier: &str) -> Value {
    let v = version(app, token, case).await;
    mutate(
        app,
        token,
        "linkRepeat",
        json!({"caseId": case, "earlierCaseId": earlier, "expectedVersion": v,
               "reason": "同一信访人就同一事项再次信访"}),
        "case { id isRepeat repeatOf { number } }",
    )
    .await
}

/// The actions on a case's timeline, oldest first, as `token` reads them.
pub async fn timeline_actions(app: &TestApp, token: &str, case: &str) -> Vec<String> {
    let body = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { timeline(first: 100) { nodes { action } } } }",
            json!({"id": case}),
        )
        .await;
    body["data"]["case"]["timeline"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["action"].as_str().unwrap().to_string())
        .collect()
}

/// Accepts a case as `token` (the lead unit's), at its current version.
pub async fn accept(app: &TestApp, token: &str, case: &str) {
    let v = version(app, token, case).await;
    ok(
        app,
        token,
        "decideAcceptance",
        json!({"caseId": case, "expectedVersion": v, "decision": "ACCEPT"}),
        "__typename",
    )
    .await;
}

/// 张三 signs up and accuses 东关镇 (t1) online, about 东关镇; the case lands at the bureau.
/// Returns his access token and the submission's payload with `selection` (naming `id`).
pub async fn accusation_against_t1(
    app: &TestApp,
    county: &County,
    selection: &str,
) -> (String, Value) {
    let citizen = citizen(app, "zhangsan", "张三", "440524188001010014", "13800138000").await;
    let t1 = crate::support::gid("OrgUnit", county.t1);
    let submitted = ok(
        app,
        &citizen,
        "submitPetition",
        json!({"category": "ACCUSATION", "subject": "OFFICIAL_CONDUCT", "title": "反映镇干部违规收费",
               "content": "实名举报镇干部违规收取办证费用。", "townshipId": t1, "accusedUnitId": t1}),
        selection,
    )
    .await;
    (citizen, submitted)
}

/// A city deployment's start: 邢台市 at the root with 清河县 (130534) and its bureau
/// bootstrapped under it, and the city administrator signed in.
pub struct City {
    pub admin: String,
    pub city: String,
    pub qinghe: String,
    pub qinghe_bureau: String,
}

pub async fn city(app: &TestApp) -> City {
    let s = &app.state;
    let (qinghe, bureau, admin) = identity::bootstrap(
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
    City {
        admin: app.token_for(admin.id).await,
        city: crate::support::gid("OrgUnit", qinghe.parent_id.expect("a city above")),
        qinghe: crate::support::gid("OrgUnit", qinghe.id),
        qinghe_bureau: crate::support::gid("OrgUnit", bureau.id),
    }
}

/// Creates a unit through the API as `admin`; its id.
pub async fn add_unit(app: &TestApp, admin: &str, input: Value) -> String {
    let made = ok(app, admin, "createOrgUnit", input, "orgUnit { id }").await;
    made["orgUnit"]["id"].as_str().unwrap().to_string()
}

/// Creates an account through the API as `admin` and signs it in; its access token.
pub async fn add_user(
    app: &TestApp,
    admin: &str,
    username: &str,
    unit: &str,
    role: &str,
) -> String {
    ok(app, admin, "createUser", json!({"username": username, "displayName": username, "orgUnitId": unit, "role": role, "password": PASSWORD}), "user { id }").await;
    sign_in(app, username, PASSWORD).await
}

/// Signs an account in by name and password; returns its access token.
pub async fn sign_in(app: &TestApp, username: &str, password: &str) -> String {
    let body = app
        .gql(
            None,
            "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken } }",
            json!({"u": username, "p": password}),
        )
        .await;
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

/// A `takeLeaderOwnership` input for `case`, with a plan due `days` from the server's today.
pub fn owning(app: &TestApp, case: &str, days: i64) -> Value {
    let due = (app.state.clock.now() + chrono::TimeDelta::days(days))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    json!({"caseId": case, "plan": {"coordinator": "县住建局局长", "supervisor": "县信访局督查室",
        "executor": "县住建局征收科", "contact": "东关镇信访办", "goal": "依政策补足补偿款，息诉罢访",
        "dueOn": due.to_string()}})
}
