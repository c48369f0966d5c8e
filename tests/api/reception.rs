//! Leader reception and the practice around the case (issue: hearings, leader reception, …):
//! leaders' instructions (批示) and the reports back on them.

use crate::fixtures::{self, mutate, ok};
use crate::support::{code, gid, spawn_app};
use serde_json::{Value, json};

const INSTRUCTIONS: &str = "query($id: ID!) { case(id: $id) { instructions { id text leader
    leaderUnit { name } toUnit { name } report reportedAt } viewerCan { giveInstruction reportOnInstruction }
    timeline { nodes { action } } } }";

#[tokio::test]
async fn a_leaders_instruction_reaches_the_unit_in_charge_which_reports_back() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    // A case led by 县住建局, about 东关镇.
    let a = county.token("a_staff");
    let (id, _) =
        fixtures::register(&app, a, json!({"townshipId": gid("OrgUnit", county.t1)})).await;
    fixtures::accept(&app, a, &id).await;
    let leader = county.token("county_leader");
    let seen = app.gql(Some(leader), INSTRUCTIONS, json!({"id": id})).await;
    assert_eq!(
        seen["data"]["case"]["viewerCan"]["giveInstruction"], true,
        "{seen}"
    );
    // Staff write none; a leader does.
    let staff = mutate(
        &app,
        county.token("county_staff"),
        "giveInstruction",
        json!({"caseId": id, "text": "请抓紧办理"}),
        "instruction { id }",
    )
    .await;
    assert_eq!(code(&staff), Some("FORBIDDEN"));
    let blank = mutate(
        &app,
        leader,
        "giveInstruction",
        json!({"caseId": id, "text": ""}),
        "instruction { id }",
    )
    .await;
    assert_eq!(code(&blank), Some("BAD_USER_INPUT"));
    let given = ok(
        &app,
        leader,
        "giveInstruction",
        json!({"caseId": id, "text": "请住建局务必于月底前妥善解决，并报结果。"}),
        "instruction { id toUnit { name } leaderUnit { name } report }",
    )
    .await;
    let instruction = given["instruction"]["id"].as_str().unwrap().to_string();
    assert_eq!(given["instruction"]["toUnit"]["name"], "县住建局");
    assert_eq!(given["instruction"]["report"], Value::Null);

    // The unit in charge sees it and reports back, once; others may not report.
    let mine = app.gql(Some(a), INSTRUCTIONS, json!({"id": id})).await;
    let c = &mine["data"]["case"];
    assert_eq!(
        c["instructions"][0]["text"],
        "请住建局务必于月底前妥善解决，并报结果。"
    );
    assert_eq!(c["instructions"][0]["leader"], "county_leader");
    assert_eq!(c["viewerCan"]["reportOnInstruction"], true);
    let not_theirs = mutate(
        &app,
        county.token("bureau_staff"),
        "reportOnInstruction",
        json!({"instructionId": instruction, "text": "已办"}),
        "instruction { id }",
    )
    .await;
    assert_eq!(code(&not_theirs), Some("FORBIDDEN"));
    let reported = ok(
        &app,
        a,
        "reportOnInstruction",
        json!({"instructionId": instruction, "text": "已约谈当事人，补偿款将于本月底前发放。"}),
        "instruction { report reportedAt }",
    )
    .await;
    assert_eq!(
        reported["instruction"]["report"],
        "已约谈当事人，补偿款将于本月底前发放。"
    );
    let twice = mutate(
        &app,
        a,
        "reportOnInstruction",
        json!({"instructionId": instruction, "text": "再报"}),
        "instruction { id }",
    )
    .await;
    assert_eq!(code(&twice), Some("CONFLICT"));
    let actions = fixtures::timeline_actions(&app, a, &id).await;
    assert!(
        actions.contains(&"INSTRUCTION_GIVEN".to_string())
            && actions.contains(&"INSTRUCTION_REPORTED".to_string()),
        "{actions:?}"
    );

    // Staff records: a unit that does not see the case finds nothing, by id or node.
    let t2 = county.token("t2_staff");
    let node = app
        .gql(
            Some(t2),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": instruction}),
        )
        .await;
    assert_eq!(code(&node), Some("NOT_FOUND"));
    let report = mutate(
        &app,
        t2,
        "reportOnInstruction",
        json!({"instructionId": instruction, "text": "x"}),
        "instruction { id }",
    )
    .await;
    assert_eq!(code(&report), Some("NOT_FOUND"));
    let node = app
        .gql(
            Some(a),
            "query($id: ID!) { node(id: $id) { ... on Instruction { report } } }",
            json!({"id": instruction}),
        )
        .await;
    assert_eq!(
        node["data"]["node"]["report"],
        "已约谈当事人，补偿款将于本月底前发放。"
    );
}

#[tokio::test]
async fn a_petitioner_sees_no_instruction_and_the_accused_unit_nothing_at_all() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (citizen, submitted) = fixtures::accusation_against_t1(&app, &county, "case { id }").await;
    let id = submitted["case"]["id"].as_str().unwrap().to_string();
    let given = ok(
        &app,
        county.token("bureau_leader"),
        "giveInstruction",
        json!({"caseId": id, "text": "请纪委监委依规核查。"}),
        "instruction { id }",
    )
    .await;
    let instruction = given["instruction"]["id"].as_str().unwrap();
    // The accuser follows the case, not its instructions.
    let theirs = app
        .gql(Some(&citizen), INSTRUCTIONS, json!({"id": id}))
        .await;
    assert_eq!(
        theirs["data"]["case"]["instructions"],
        json!([]),
        "{theirs}"
    );
    let actions = theirs["data"]["case"]["timeline"]["nodes"].to_string();
    assert!(!actions.contains("INSTRUCTION"), "{actions}");
    let node = app
        .gql(
            Some(&citizen),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": instruction}),
        )
        .await;
    assert_eq!(code(&node), Some("NOT_FOUND"));
    // The accused township's leader can neither see nor instruct.
    let accused = county.token("t1_leader");
    let give = mutate(
        &app,
        accused,
        "giveInstruction",
        json!({"caseId": id, "text": "x"}),
        "instruction { id }",
    )
    .await;
    assert_eq!(code(&give), Some("NOT_FOUND"));
    let node = app
        .gql(
            Some(accused),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": instruction}),
        )
        .await;
    assert_eq!(code(&node), Some("NOT_FOUND"));
}
