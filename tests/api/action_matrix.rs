//! Every mutation of domain §5's action table against every relation a viewer can have to a
//! case, with the expected answer written in the table: allowed, `FORBIDDEN` (the viewer sees
//! the case but may not act) or `NOT_FOUND` (the viewer may not see it). A refused attempt
//! leaves the case exactly as it was: same version, same number of timeline entries.
//!
//! The case of every row (one county, see `fixtures`): an appeal about 东关镇 (t1), registered
//! by 县自然资源局 (c_staff), led by 县住建局 (a_staff, a_leader), with 县人社局 (b_staff)
//! assisting; the petitioner 李四 follows it in the app (li_si). Its reviewing body is the
//! county unit. Rows that need a referral have 县自然资源局 hand the case to 县住建局 instead.

use crate::fixtures::{self, County, mutate, ok, version};
use crate::support::{TestApp, code, gid, spawn_app};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The viewers, one column each.
const VIEWERS: [&str; 14] = [
    "county_staff",  // county unit: oversight
    "county_leader", // county unit: oversight, LEADER
    "bureau_staff",  // the petition bureau
    "bureau_leader", // the petition bureau, LEADER
    "a_staff",       // lead unit
    "a_leader",      // lead unit, LEADER
    "b_staff",       // assisting unit
    "c_staff",       // registered it (and, in referral rows, sent it)
    "t1_staff",      // territory
    "t2_staff",      // unrelated township
    "disc_staff",    // the discipline body: on an appeal, an unrelated department
    "county_admin",  // ADMIN: sees no case
    "li_si",         // the petitioner
    "wang_wu",       // another citizen
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// Allowed: the mutation succeeds.
    Y,
    /// Refused with FORBIDDEN.
    F,
    /// Refused with NOT_FOUND.
    N,
}
use Answer::*;

/// The state the case is put in before the mutation is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    Registered,
    /// Registered, and confirmed by the lead unit as a repeat of an earlier case.
    RepeatLinked,
    InProgress,
    ExtensionPending,
    SupervisionOpen,
    Assigned,
    Reported,
    /// Replied, the reply not yet delivered.
    RepliedUndelivered,
    /// Registered as assigned by the city's bureau (上级交办), accepted and replied: a report
    /// back is owed.
    FromAboveReplied,
    Replied,
    RepliedSatisfied,
    UnderReview,
    ReferralPending,
    ReferralObjected,
    /// In progress, with an instruction from the bureau's leader waiting for its report.
    InstructionGiven,
    /// In progress, the lead unit's hearing holding the handling clock.
    HearingScheduled,
    /// In progress, owned by a county leader with a plan.
    Owned,
}

#[rustfmt::skip]
const MATRIX: &[(&str, Setup, [Answer; 14])] = &[
    //                                            cty  cty-L bur  bur-L lead lead-L assist reg  terr  t2  disc admin li_si wang
    ("transferCase",          Setup::Registered,       [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("addAssistingUnit",      Setup::Registered,       [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("decideAcceptance",      Setup::Registered,       [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("reclassifyCase",        Setup::Registered,       [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("linkRepeat",            Setup::Registered,       [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("undoRepeat",            Setup::RepeatLinked,     [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("takeLeaderOwnership",   Setup::Registered,       [F,  Y,    F,   F,    F,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("addProgressNote",       Setup::InProgress,       [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("addAssistingOpinion",   Setup::InProgress,       [F,  F,    F,   F,    F,   F,     Y,     F,   F,    N,  N,   N,    F,    N]),
    ("requestExtension",      Setup::InProgress,       [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("issueSupervision",      Setup::InProgress,       [F,  F,    Y,   Y,    F,   F,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("issueReply",            Setup::InProgress,       [F,  F,    F,   F,    F,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("decideExtension",       Setup::ExtensionPending, [F,  F,    F,   F,    F,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("answerSupervision",     Setup::SupervisionOpen,  [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("fileCompletionReport",  Setup::Assigned,         [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("decideCompletionReport",Setup::Reported,         [F,  F,    Y,   Y,    F,   F,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("evaluateCase",          Setup::Replied,          [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    Y,    N]),
    ("requestReview",         Setup::Replied,          [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    Y,    N]),
    ("sendUpward",            Setup::Registered,       [F,  F,    Y,   Y,    F,   F,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("reportToHigherBody",    Setup::FromAboveReplied, [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("recordDelivery",        Setup::RepliedUndelivered,[F, F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    Y,    N]),
    ("startUpload",           Setup::InProgress,       [F,  F,    Y,   Y,    Y,   Y,     Y,     F,   F,    N,  N,   N,    Y,    N]),
    ("giveInstruction",       Setup::InProgress,       [F,  Y,    F,   Y,    F,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("reportOnInstruction",   Setup::InstructionGiven, [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    N,    N]),
    ("scheduleHearing",       Setup::InProgress,       [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("cancelHearing",         Setup::HearingScheduled, [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("recordOwnershipProgress",Setup::Owned,           [F,  Y,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("addHotlineTicket",      Setup::InProgress,       [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("reissueQueryCode",      Setup::InProgress,       [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("closeCase",             Setup::RepliedSatisfied, [F,  F,    Y,   Y,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("decideReview",          Setup::UnderReview,      [Y,  Y,    F,   F,    F,   F,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("acknowledgeReferral",   Setup::ReferralPending,  [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("objectReferral",        Setup::ReferralPending,  [F,  F,    F,   F,    Y,   Y,     F,     F,   F,    N,  N,   N,    F,    N]),
    ("resolveObjection",      Setup::ReferralObjected, [F,  F,    Y,   Y,    F,   F,     F,     Y,   F,    N,  N,   N,    F,    N]),
];

/// The `viewerCan` flag that announces each mutation of the table, as (the object that
/// carries it, the flag): it must be true exactly where the table says the mutation succeeds.
fn flag_of(mutation: &str) -> (&'static str, &'static str) {
    let case = |flag| ("Case", flag);
    match mutation {
        "transferCase" => case("transfer"),
        "addAssistingUnit" => case("addAssistingUnit"),
        "decideAcceptance" => case("decideAcceptance"),
        "reclassifyCase" => case("reclassify"),
        "linkRepeat" => case("linkRepeat"),
        "undoRepeat" => case("undoRepeat"),
        "takeLeaderOwnership" => case("takeLeaderOwnership"),
        "addProgressNote" => case("addProgressNote"),
        "addAssistingOpinion" => case("addAssistingOpinion"),
        "requestExtension" => case("requestExtension"),
        "issueSupervision" => case("issueSupervision"),
        "issueReply" => case("reply"),
        "decideExtension" => case("decideExtension"),
        "answerSupervision" => case("answerSupervision"),
        "fileCompletionReport" => case("fileCompletionReport"),
        "decideCompletionReport" => case("decideCompletionReport"),
        "evaluateCase" => case("evaluate"),
        "requestReview" => case("requestReview"),
        "sendUpward" => case("sendUpward"),
        "reportToHigherBody" => case("reportToHigherBody"),
        "recordDelivery" => case("recordDelivery"),
        "startUpload" => case("attachFile"),
        "giveInstruction" => case("giveInstruction"),
        "reportOnInstruction" => case("reportOnInstruction"),
        "scheduleHearing" => case("scheduleHearing"),
        "cancelHearing" => case("endHearing"),
        "recordOwnershipProgress" => case("recordOwnershipProgress"),
        "addHotlineTicket" => case("addHotlineTicket"),
        "reissueQueryCode" => case("reissueQueryCode"),
        "closeCase" => case("close"),
        "decideReview" => case("decideReview"),
        "acknowledgeReferral" => ("Referral", "acknowledge"),
        "objectReferral" => ("Referral", "object"),
        "resolveObjection" => ("Referral", "resolveObjection"),
        other => panic!("no viewerCan flag named for {other}"),
    }
}

/// The viewer's `viewerCan` flag for `mutation` on what the setup made; `None` where the
/// viewer does not see the object at all (`NOT_FOUND`).
async fn announced(
    app: &TestApp,
    w: &World,
    mutation: &str,
    made: &Made,
    viewer: &str,
) -> Option<bool> {
    let (kind, flag) = flag_of(mutation);
    let id = match kind {
        "Referral" => made
            .referral
            .clone()
            .expect("a referral row makes a referral"),
        _ => made.case.clone(),
    };
    let q = format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on {kind} {{ viewerCan {{ {flag} }} }} }} }}"
    );
    let body = app.gql(Some(w.token(viewer)), &q, json!({"id": id})).await;
    match &body["data"]["node"] {
        Value::Null => {
            assert_eq!(
                code(&body),
                Some("NOT_FOUND"),
                "{mutation} by {viewer}: {body}"
            );
            None
        }
        node => {
            assert!(body["errors"].is_null(), "{mutation} by {viewer}: {body}");
            Some(node["viewerCan"][flag].as_bool().unwrap_or_else(|| {
                panic!("{mutation} by {viewer}: no {kind}.viewerCan.{flag}: {body}")
            }))
        }
    }
}

const LI_SI_ID: &str = "440524188001010014";
const LI_SI_PHONE: &str = "13912345678";

struct World {
    county: County,
    citizens: HashMap<&'static str, String>,
}

impl World {
    fn token(&self, viewer: &str) -> &str {
        self.citizens
            .get(viewer)
            .map(String::as_str)
            .unwrap_or_else(|| self.county.token(viewer))
    }
}

/// What a setup leaves behind for the mutation to name.
#[derive(Default)]
struct Made {
    case: String,
    extension: Option<String>,
    supervision: Option<String>,
    report: Option<String>,
    referral: Option<String>,
    instruction: Option<String>,
    hearing: Option<String>,
}

/// The case of the matrix in the state a row needs, made by the accounts the rules allow.
/// With `accusation`, the same case is an accusation against 东关镇 (t1), led by 县住建局.
async fn setup(app: &TestApp, w: &World, setup: Setup, accusation: bool) -> Made {
    let c = &w.county;
    let referral_rows = matches!(
        setup,
        Setup::ReferralPending | Setup::ReferralObjected | Setup::Assigned | Setup::Reported
    );
    let mut input = json!({"townshipId": gid("OrgUnit", c.t1),
        "petitioners": [{"name": "李四", "idNumber": LI_SI_ID, "phone": LI_SI_PHONE}]});
    if !referral_rows {
        input["leadUnitId"] = json!(gid("OrgUnit", c.dept_a));
    }
    if accusation {
        input["category"] = json!("ACCUSATION");
        input["subject"] = json!("OFFICIAL_CONDUCT");
        input["accusedUnitId"] = json!(gid("OrgUnit", c.t1));
    }
    if setup == Setup::FromAboveReplied {
        input["channel"] = json!("HIGHER_REFERRAL");
        input["fromHigherBody"] = json!({"name": "邢台市信访局", "level": "CITY", "referenceNumber": "邢信交〔2026〕1号", "mode": "ASSIGN"});
    }
    let (case, _) = fixtures::register(app, c.token("c_staff"), input).await;
    let mut made = Made {
        case: case.clone(),
        ..Default::default()
    };
    let v = |token: &'static str| {
        let case = case.clone();
        async move { version(app, c.token(token), &case).await }
    };
    if referral_rows {
        let mode = if matches!(setup, Setup::Assigned | Setup::Reported) {
            "ASSIGN"
        } else {
            "TRANSFER"
        };
        let sent = ok(
            app,
            c.token("c_staff"),
            "transferCase",
            json!({"caseId": case, "expectedVersion": v("c_staff").await, "toUnitId": gid("OrgUnit", c.dept_a), "mode": mode, "reason": "属住建局职责"}),
            "referral { id }",
        )
        .await;
        made.referral = sent["referral"]["id"].as_str().map(str::to_string);
    }
    ok(
        app,
        c.token("a_staff"),
        "addAssistingUnit",
        json!({"caseId": case, "unitId": gid("OrgUnit", c.dept_b)}),
        "__typename",
    )
    .await;
    match setup {
        Setup::Registered | Setup::ReferralPending => return made,
        Setup::RepeatLinked => {
            let earlier = earlier_case(app, w, accusation).await;
            let linked = fixtures::link_repeat(app, c.token("a_staff"), &case, &earlier).await;
            assert!(linked["errors"].is_null(), "{linked}");
            return made;
        }
        Setup::ReferralObjected => {
            ok(
                app,
                c.token("a_staff"),
                "objectReferral",
                json!({"referralId": made.referral, "reason": "不属本单位职责"}),
                "__typename",
            )
            .await;
            return made;
        }
        _ => {}
    }
    if matches!(setup, Setup::Assigned | Setup::Reported) {
        ok(
            app,
            c.token("a_staff"),
            "acknowledgeReferral",
            json!({"referralId": made.referral}),
            "__typename",
        )
        .await;
    }
    ok(
        app,
        c.token("a_staff"),
        "decideAcceptance",
        json!({"caseId": case, "expectedVersion": v("a_staff").await, "decision": "ACCEPT"}),
        "__typename",
    )
    .await;
    match setup {
        Setup::InProgress | Setup::Assigned => {}
        Setup::Owned => {
            ok(
                app,
                c.token("county_leader"),
                "takeLeaderOwnership",
                fixtures::owning(app, &case, 30),
                "__typename",
            )
            .await;
        }
        Setup::HearingScheduled => {
            let held_at = app.state.clock.now() + chrono::TimeDelta::days(30);
            let scheduled = ok(
                app,
                c.token("a_staff"),
                "scheduleHearing",
                json!({"caseId": case, "heldAt": held_at.to_rfc3339(), "place": "县住建局会议室",
                       "chair": "县住建局局长", "participants": [{"kind": "LAWYER", "name": "王律师"}]}),
                "hearing { id }",
            )
            .await;
            made.hearing = scheduled["hearing"]["id"].as_str().map(str::to_string);
        }
        Setup::InstructionGiven => {
            let given = ok(
                app,
                c.token("bureau_leader"),
                "giveInstruction",
                json!({"caseId": case, "text": "请抓紧办理"}),
                "instruction { id }",
            )
            .await;
            made.instruction = given["instruction"]["id"].as_str().map(str::to_string);
        }
        Setup::ExtensionPending => {
            let asked = ok(
                app,
                c.token("a_staff"),
                "requestExtension",
                json!({"caseId": case, "days": 10, "reason": "需现场勘验"}),
                "extension { id }",
            )
            .await;
            made.extension = asked["extension"]["id"].as_str().map(str::to_string);
        }
        Setup::SupervisionOpen => {
            let issued = ok(
                app,
                c.token("bureau_staff"),
                "issueSupervision",
                json!({"caseId": case, "text": "请加快办理", "dueAt": "2099-01-01T00:00:00Z"}),
                "supervision { id }",
            )
            .await;
            made.supervision = issued["supervision"]["id"].as_str().map(str::to_string);
        }
        Setup::Reported => {
            let filed = ok(
                app,
                c.token("a_staff"),
                "fileCompletionReport",
                json!({"caseId": case, "text": "已办结"}),
                "report { id }",
            )
            .await;
            made.report = filed["report"]["id"].as_str().map(str::to_string);
        }
        Setup::RepliedUndelivered
        | Setup::FromAboveReplied
        | Setup::Replied
        | Setup::RepliedSatisfied
        | Setup::UnderReview => {
            let mut reply = json!({"caseId": case, "expectedVersion": v("a_leader").await, "outcome": "SUPPORTED",
                       "facts": "经查属实。", "reasons": "符合政策。", "basis": "《信访工作条例》"});
            if setup != Setup::RepliedUndelivered {
                reply["deliveredBy"] = json!("IN_PERSON");
            }
            ok(app, c.token("a_leader"), "issueReply", reply, "__typename").await;
            if setup == Setup::RepliedSatisfied {
                ok(
                    app,
                    c.token("bureau_staff"),
                    "evaluateCase",
                    json!({"caseId": case, "satisfaction": "SATISFIED", "onBehalf": true}),
                    "__typename",
                )
                .await;
            }
            if setup == Setup::UnderReview {
                ok(
                    app,
                    c.token("bureau_staff"),
                    "requestReview",
                    json!({"caseId": case, "reason": "对处理意见不服"}),
                    "__typename",
                )
                .await;
            }
        }
        Setup::Registered
        | Setup::RepeatLinked
        | Setup::ReferralPending
        | Setup::ReferralObjected => {}
    }
    made
}

/// An earlier petition of the same person, led by 县住建局 (so its lead and the bureau see it).
/// With `accusation`, it accuses 东关镇 like the matrix's case.
async fn earlier_case(app: &TestApp, w: &World, accusation: bool) -> String {
    let c = &w.county;
    let mut input = json!({"leadUnitId": gid("OrgUnit", c.dept_a), "receivedAt": "2020-01-01T00:00:00Z",
        "petitioners": [{"name": "李四", "idNumber": LI_SI_ID, "phone": LI_SI_PHONE}]});
    if accusation {
        input["category"] = json!("ACCUSATION");
        input["subject"] = json!("OFFICIAL_CONDUCT");
        input["accusedUnitId"] = json!(gid("OrgUnit", c.t1));
    }
    fixtures::register(app, c.token("bureau_staff"), input)
        .await
        .0
}

/// The input of a row's mutation, as `viewer` would send it.
async fn input(app: &TestApp, w: &World, name: &str, made: &Made, viewer: &str) -> Value {
    let c = &w.county;
    // Read with the bureau's eyes: a refused viewer must not be refused merely for a stale
    // or unreadable version.
    let v = version(app, c.token("bureau_staff"), &made.case).await;
    let case = &made.case;
    let on_behalf = !matches!(viewer, "li_si" | "wang_wu");
    match name {
        "transferCase" => {
            json!({"caseId": case, "expectedVersion": v, "toUnitId": gid("OrgUnit", c.t2), "mode": "TRANSFER", "reason": "转属地办理"})
        }
        "addAssistingUnit" => json!({"caseId": case, "unitId": gid("OrgUnit", c.t2)}),
        "decideAcceptance" => json!({"caseId": case, "expectedVersion": v, "decision": "ACCEPT"}),
        "reclassifyCase" => {
            json!({"caseId": case, "expectedVersion": v, "subject": "LAND_EXPROPRIATION", "reason": "事项分类更正"})
        }
        "linkRepeat" => {
            let earlier = earlier_case(app, w, false).await;
            json!({"caseId": case, "expectedVersion": v, "earlierCaseId": earlier, "reason": "同一事项"})
        }
        "undoRepeat" => json!({"caseId": case, "expectedVersion": v, "reason": "并非同一事项"}),
        "takeLeaderOwnership" => fixtures::owning(app, case, 30),
        "addProgressNote" => json!({"caseId": case, "text": "已约谈当事人"}),
        "addAssistingOpinion" => json!({"caseId": case, "text": "建议按政策补足"}),
        "requestExtension" => json!({"caseId": case, "days": 10, "reason": "需现场勘验"}),
        "issueSupervision" => {
            json!({"caseId": case, "text": "请加快办理", "dueAt": "2099-01-01T00:00:00Z"})
        }
        "issueReply" => {
            json!({"caseId": case, "expectedVersion": v, "outcome": "SUPPORTED", "facts": "经查属实。", "reasons": "符合政策。", "basis": "《信访工作条例》"})
        }
        "decideExtension" => json!({"extensionId": made.extension, "approve": true}),
        "answerSupervision" => json!({"supervisionId": made.supervision, "text": "已按要求办理"}),
        "fileCompletionReport" => json!({"caseId": case, "text": "已办结"}),
        "decideCompletionReport" => json!({"reportId": made.report, "approve": true}),
        "evaluateCase" => {
            json!({"caseId": case, "satisfaction": "SATISFIED", "onBehalf": on_behalf})
        }
        "requestReview" => json!({"caseId": case, "reason": "对处理意见不服"}),
        "sendUpward" => {
            json!({"caseId": case, "expectedVersion": v, "higherBody": {"name": "邢台市信访局", "level": "CITY"}, "reason": "属市级职权事项"})
        }
        "reportToHigherBody" => {
            json!({"caseId": case, "expectedVersion": v, "text": "已按交办要求办结"})
        }
        // A petitioner records delivery by opening the reply in the app.
        "recordDelivery" if on_behalf => {
            json!({"caseId": case, "method": "POST", "trackingNumber": "EMS1000000001"})
        }
        "recordDelivery" => json!({"caseId": case, "method": "IN_APP"}),
        "closeCase" => json!({"caseId": case, "expectedVersion": v}),
        "reissueQueryCode" => json!({"caseId": case}),
        "giveInstruction" => json!({"caseId": case, "text": "请于月底前办结"}),
        "reportOnInstruction" => {
            json!({"instructionId": made.instruction, "text": "已按批示办理"})
        }
        "startUpload" => json!({"caseId": case, "fileName": "材料.pdf", "size": 1024}),
        "scheduleHearing" => {
            let held_at = app.state.clock.now() + chrono::TimeDelta::days(30);
            json!({"caseId": case, "heldAt": held_at.to_rfc3339(), "place": "县住建局会议室",
                   "chair": "县住建局局长", "participants": [{"kind": "PARTY", "name": "李四"}]})
        }
        "cancelHearing" => json!({"hearingId": made.hearing, "reason": "当事人申请延期"}),
        "recordOwnershipProgress" => json!({"caseId": case, "text": "已约谈信访人"}),
        "addHotlineTicket" => {
            // A fresh number for every attempt: numbers are unique in the county.
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            json!({"caseId": case, "ticketNumber": format!("12345-MATRIX-{n}")})
        }
        "decideReview" => {
            json!({"caseId": case, "expectedVersion": v, "decision": "UPHOLD", "text": "维持原处理意见"})
        }
        "acknowledgeReferral" => json!({"referralId": made.referral}),
        "objectReferral" => json!({"referralId": made.referral, "reason": "不属本单位职责"}),
        "resolveObjection" => json!({"referralId": made.referral, "approve": false}),
        other => panic!("no input for {other}"),
    }
}

/// The case as the bureau sees it: (version, number of timeline entries).
async fn footprint(app: &TestApp, w: &World, case: &str) -> (i64, i64) {
    let body = app
        .gql(
            Some(w.county.token("bureau_staff")),
            "query($id: ID!) { case(id: $id) { version timeline { totalCount } } }",
            json!({"id": case}),
        )
        .await;
    let c = &body["data"]["case"];
    (
        c["version"].as_i64().unwrap_or_else(|| panic!("{body}")),
        c["timeline"]["totalCount"].as_i64().unwrap(),
    )
}

async fn world(app: &TestApp) -> World {
    let county = fixtures::county(app).await;
    let mut citizens = HashMap::new();
    citizens.insert(
        "li_si",
        fixtures::citizen(app, "li_si", "李四", LI_SI_ID, LI_SI_PHONE).await,
    );
    citizens.insert(
        "wang_wu",
        fixtures::citizen(app, "wang_wu", "王五", "33010619900101123X", "13800138000").await,
    );
    World { county, citizens }
}

fn answer_of(body: &Value) -> Result<Answer, String> {
    match (body["errors"].is_null(), code(body)) {
        (true, _) => Ok(Y),
        (false, Some("FORBIDDEN")) => Ok(F),
        (false, Some("NOT_FOUND")) => Ok(N),
        _ => Err(body.to_string()),
    }
}

#[tokio::test]
async fn every_mutation_answers_every_relation_as_the_action_table_says() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut failures = vec![];
    for (name, state, answers) in MATRIX {
        // Every refusal on one case, which must come out of them unchanged.
        let made = setup(&app, &w, *state, false).await;
        // Before anyone acts, every viewer is told exactly what the table allows.
        for (viewer, expected) in VIEWERS.iter().zip(answers) {
            // Out of sight only where the table says NOT_FOUND; in sight, the flag is true
            // exactly where the table allows.
            let can = announced(&app, &w, name, &made, viewer).await;
            let agrees = match can {
                None => *expected == N,
                Some(can) => can == (*expected == Y),
            };
            if !agrees {
                failures.push(format!(
                    "{name} by {viewer}: viewerCan says {can:?}, the table says {expected:?}"
                ));
            }
        }
        let before = footprint(&app, &w, &made.case).await;
        for (viewer, expected) in VIEWERS.iter().zip(answers) {
            if *expected == Y {
                continue;
            }
            let i = input(&app, &w, name, &made, viewer).await;
            let body = mutate(&app, w.token(viewer), name, i, "__typename").await;
            match answer_of(&body) {
                Ok(got) if got == *expected => {}
                Ok(got) => failures.push(format!(
                    "{name} by {viewer}: {got:?}, expected {expected:?}: {body}"
                )),
                Err(other) => failures.push(format!("{name} by {viewer}: {other}")),
            }
        }
        let after = footprint(&app, &w, &made.case).await;
        if before != after {
            failures.push(format!(
                "{name}: refusals changed the case: {before:?} → {after:?}"
            ));
        }
        // Each allowed viewer on a case of its own, since success moves the case on.
        for (viewer, expected) in VIEWERS.iter().zip(answers) {
            if *expected != Y {
                continue;
            }
            let made = setup(&app, &w, *state, false).await;
            let before = footprint(&app, &w, &made.case).await;
            let i = input(&app, &w, name, &made, viewer).await;
            let body = mutate(&app, w.token(viewer), name, i, "__typename").await;
            if !body["errors"].is_null() {
                failures.push(format!("{name} by {viewer} must succeed: {body}"));
                continue;
            }
            if name == &"sendUpward" {
                // Sent up, the case leaves the county's sight; the record of it stays.
                let gone = app
                    .gql(
                        Some(w.county.token("bureau_staff")),
                        "query($id: ID!) { case(id: $id) { id } sentUpward { id } }",
                        json!({"id": made.case}),
                    )
                    .await;
                if code(&gone) != Some("NOT_FOUND")
                    || gone["data"]["sentUpward"]
                        .as_array()
                        .is_none_or(|a| a.is_empty())
                {
                    failures.push(format!("{name} by {viewer}: the case is still in sight or the record is missing: {gone}"));
                }
                continue;
            }
            if name == &"startUpload" {
                // Declaring an upload records nothing yet; attaching it does (attachments tests).
                continue;
            }
            let after = footprint(&app, &w, &made.case).await;
            if after.1 <= before.1 {
                failures.push(format!("{name} by {viewer}: nothing on the record"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells disagree with the action table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_accused_unit_finds_nothing_to_act_on() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut failures = vec![];
    // The same rows on an accusation against 东关镇: its staff and leader — the territory
    // township above — now get NOT_FOUND for every action, and so does the citizen, whose
    // account is never linked to an accusation filed at a counter. An accusation is never
    // under review (domain §4), so that row has no accusation to try.
    for (name, state, _) in MATRIX.iter().filter(|(_, s, _)| *s != Setup::UnderReview) {
        let made = setup(&app, &w, *state, true).await;
        let before = footprint(&app, &w, &made.case).await;
        for viewer in ["t1_staff", "t1_leader", "li_si"] {
            let i = input(&app, &w, name, &made, viewer).await;
            let body = mutate(&app, w.token(viewer), name, i, "__typename").await;
            if answer_of(&body) != Ok(N) {
                failures.push(format!("{name} by {viewer} on the accusation: {body}"));
            }
        }
        if footprint(&app, &w, &made.case).await != before {
            failures.push(format!("{name}: a refusal changed the accusation"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn registration_and_administration_follow_the_action_table() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let c = &w.county;
    let mut failures = vec![];
    let mut check = |what: String, body: Value, expected: Answer| {
        let got = match (body["errors"].is_null(), code(&body)) {
            (true, _) => Y,
            (false, Some("FORBIDDEN")) => F,
            (false, Some("NOT_FOUND")) => N,
            _ => {
                failures.push(format!("{what}: {body}"));
                return;
            }
        };
        if got != expected {
            failures.push(format!("{what}: {got:?}, expected {expected:?}: {body}"));
        }
    };
    // 登记: staff and leaders of any unit register; administrators and citizens do not (a
    // citizen submits online instead, which staff may not).
    #[rustfmt::skip]
    let register = [
        ("county_staff", Y), ("bureau_leader", Y), ("a_staff", Y), ("t1_staff", Y), ("disc_staff", Y),
        ("county_admin", F), ("t1_admin", F), ("li_si", F),
    ];
    for (viewer, expected) in register {
        let body = mutate(
            &app,
            w.token(viewer),
            "registerCase",
            fixtures::case_input(json!({})),
            "number",
        )
        .await;
        check(format!("registerCase by {viewer}"), body, expected);
    }
    #[rustfmt::skip]
    let submit = [("li_si", Y), ("wang_wu", Y), ("bureau_staff", F), ("county_admin", F)];
    for (viewer, expected) in submit {
        let body = mutate(&app, w.token(viewer), "submitPetition",
            json!({"category": "SUGGESTION", "subject": "OTHER", "title": "建议", "content": "建议增设公交站。", "townshipId": gid("OrgUnit", c.t1)}),
            "number").await;
        check(format!("submitPetition by {viewer}"), body, expected);
    }
    // Administration: ADMIN within its own unit's subtree, never above it; nobody else. An
    // account outside an administrator's subtree is, to that administrator, not there.
    // Columns: createUser in t1, updateUser of t1_staff, deactivateUser in t2, createOrgUnit
    // under the county, setCalendarDays, updateOrgUnit of t1, resetPassword of t1_staff,
    // setSubject (the county-wide list), setCountySettings, registerWebhook for t1,
    // registerWebhook for the bureau, replayWebhooks of t1's endpoint. Webhooks are the
    // administrator's own unit's only: whoever sets the URL decides where the unit's view of
    // its cases goes.
    #[rustfmt::skip]
    let admins = [("county_admin",  [Y, Y, Y, Y, Y, Y, Y, Y, Y, F, F, N]),
                  ("t1_admin",      [Y, Y, N, F, F, Y, Y, F, F, Y, F, Y]),
                  ("bureau_leader", [F, F, F, F, F, F, F, F, F, F, F, F]),
                  ("county_leader", [F, F, F, F, F, F, F, F, F, F, F, F]),
                  ("li_si",         [F, F, F, F, F, F, F, F, F, F, F, F])];
    let t1_hook = ok(&app, c.token("t1_admin"), "registerWebhook",
        json!({"unitId": gid("OrgUnit", c.t1), "url": "https://example.org/t1", "kinds": ["CASE_EVENT"]}),
        "endpoint { id }").await["endpoint"]["id"].clone();
    for (i, (viewer, expected)) in admins.iter().enumerate() {
        let token = w.token(viewer);
        let username = format!("new_{i}");
        let created = mutate(&app, token, "createUser",
            json!({"username": username, "password": "a long enough password", "displayName": "新人", "orgUnitId": gid("OrgUnit", c.t1), "role": "STAFF"}),
            "user { id }").await;
        check(
            format!("createUser in t1 by {viewer}"),
            created,
            expected[0],
        );
        let renamed = mutate(&app, token, "updateUser",
            json!({"id": gid("User", c.user("t1_staff")), "displayName": format!("东关镇经办人{i}")}),
            "user { id }").await;
        check(
            format!("updateUser of t1_staff by {viewer}"),
            renamed,
            expected[1],
        );
        // A target of its own for each allowed deactivation, so the fixture accounts live on.
        let target = ok(&app, c.token("county_admin"), "createUser",
            json!({"username": format!("leaving_{i}"), "password": "a long enough password", "displayName": "将离职", "orgUnitId": gid("OrgUnit", c.t2), "role": "STAFF"}),
            "user { id }").await;
        let deactivated = mutate(
            &app,
            token,
            "deactivateUser",
            json!({"id": target["user"]["id"]}),
            "user { id }",
        )
        .await;
        check(
            format!("deactivateUser in t2 by {viewer}"),
            deactivated,
            expected[2],
        );
        let unit = mutate(&app, token, "createOrgUnit",
            json!({"name": format!("新设部门{i}"), "kind": "DEPARTMENT", "parentId": gid("OrgUnit", c.county)}),
            "orgUnit { id }").await;
        check(
            format!("createOrgUnit under the county by {viewer}"),
            unit,
            expected[3],
        );
        let calendar = mutate(
            &app,
            token,
            "setCalendarDays",
            json!({"days": [{"date": "2026-10-01", "working": false, "note": "国庆节"}]}),
            "days { date }",
        )
        .await;
        check(
            format!("setCalendarDays by {viewer}"),
            calendar,
            expected[4],
        );
        let renamed_unit = mutate(
            &app,
            token,
            "updateOrgUnit",
            json!({"id": gid("OrgUnit", c.t1), "name": format!("东关镇{i}")}),
            "orgUnit { id }",
        )
        .await;
        check(
            format!("updateOrgUnit of t1 by {viewer}"),
            renamed_unit,
            expected[5],
        );
        let reset = mutate(
            &app,
            token,
            "resetPassword",
            json!({"id": gid("User", c.user("t1_staff")), "newPassword": format!("a new long password {i}")}),
            "__typename",
        )
        .await;
        check(
            format!("resetPassword of t1_staff by {viewer}"),
            reset,
            expected[6],
        );
        let subject = mutate(
            &app,
            token,
            "setSubject",
            json!({"code": format!("RURAL_ROADS_{i}"), "name": "农村公路"}),
            "subject { code }",
        )
        .await;
        check(format!("setSubject by {viewer}"), subject, expected[7]);
        let settings = mutate(
            &app,
            token,
            "setCountySettings",
            json!({"hearingNoticeDays": 10 + i}),
            "hearingNoticeDays",
        )
        .await;
        check(
            format!("setCountySettings by {viewer}"),
            settings,
            expected[8],
        );
        for (column, unit, name) in [(9, c.t1, "t1"), (10, c.bureau, "the bureau")] {
            let hook = mutate(&app, token, "registerWebhook",
                json!({"unitId": gid("OrgUnit", unit), "url": format!("https://example.org/{i}"), "kinds": ["CASE_EVENT"]}),
                "secret").await;
            check(
                format!("registerWebhook for {name} by {viewer}"),
                hook,
                expected[column],
            );
        }
        let replay = mutate(
            &app,
            token,
            "replayWebhooks",
            json!({"endpointId": t1_hook, "since": "2026-01-01T00:00:00Z"}),
            "replayed",
        )
        .await;
        check(
            format!("replayWebhooks of t1's endpoint by {viewer}"),
            replay,
            expected[11],
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
