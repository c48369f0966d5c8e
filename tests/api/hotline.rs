//! 12345 hotline tickets: the ticket number on registration, the same ticket registered
//! again answering with its case, further tickets merged into a case (并单), each kept.

use crate::fixtures::{self, mutate, ok};
use crate::support::{code, field, gid, spawn_app};
use serde_json::json;

#[tokio::test]
async fn a_ticket_registered_twice_finds_its_case_and_further_tickets_merge_into_it() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");
    let ticket = |n: &str| json!({"channel": "HOTLINE_12345", "hotlineTicket": n, "leadUnitId": gid("OrgUnit", county.dept_a)});
    let (case, _) = fixtures::register(&app, bureau, ticket("12345-20261202-0001")).await;
    // The platform sends the same ticket again (a retry, or twice by mistake): the same case.
    let (again, _) = fixtures::register(&app, bureau, ticket("12345-20261202-0001")).await;
    assert_eq!(again, case);
    let count = app
        .gql(Some(bureau), "{ cases { totalCount } }", json!({}))
        .await;
    assert_eq!(count["data"]["cases"]["totalCount"], 1, "{count}");

    // A ticket comes with the hotline channel, and is written as the platform writes it.
    let mut visit = ticket("12345-20261202-0009");
    visit["channel"] = json!("VISIT");
    for (input, why) in [(visit, "channel"), (ticket("工单#1"), "format")] {
        let body = mutate(
            &app,
            bureau,
            "registerCase",
            fixtures::case_input(input),
            "case { id }",
        )
        .await;
        assert_eq!(field(&body), Some("hotlineTicket"), "{why}: {body}");
    }

    // 并单: a second ticket about the same matter, by the lead unit; each ticket is kept.
    ok(
        &app,
        county.token("a_staff"),
        "addHotlineTicket",
        json!({"caseId": case, "ticketNumber": "12345-20261202-0002"}),
        "case { id }",
    )
    .await;
    let read = app
        .gql(
            Some(bureau),
            "query($id: ID!) { case(id: $id) { hotlineTickets { ticketNumber merged }
        viewerCan { addHotlineTicket } timeline { nodes { action } } } }",
            json!({"id": case}),
        )
        .await;
    let c = &read["data"]["case"];
    assert_eq!(
        c["hotlineTickets"],
        json!([{"ticketNumber": "12345-20261202-0001", "merged": false},
                                          {"ticketNumber": "12345-20261202-0002", "merged": true}])
    );
    assert_eq!(c["viewerCan"]["addHotlineTicket"], true);
    assert!(
        c["timeline"]["nodes"]
            .to_string()
            .contains("HOTLINE_TICKET_MERGED")
    );
    // The merged ticket registered again finds the case too; merged twice is refused.
    let (merged, _) = fixtures::register(&app, bureau, ticket("12345-20261202-0002")).await;
    assert_eq!(merged, case);
    let twice = mutate(
        &app,
        bureau,
        "addHotlineTicket",
        json!({"caseId": case, "ticketNumber": "12345-20261202-0001"}),
        "case { id }",
    )
    .await;
    assert_eq!(code(&twice), Some("CONFLICT"), "{twice}");

    // A unit that does not see the case neither gets it back nor makes a second case.
    let other = mutate(
        &app,
        county.token("t2_staff"),
        "registerCase",
        fixtures::case_input(ticket("12345-20261202-0001")),
        "case { id }",
    )
    .await;
    assert_eq!(code(&other), Some("CONFLICT"), "{other}");
    let merge = mutate(
        &app,
        county.token("t2_staff"),
        "addHotlineTicket",
        json!({"caseId": case, "ticketNumber": "12345-20261202-0003"}),
        "case { id }",
    )
    .await;
    assert_eq!(code(&merge), Some("NOT_FOUND"), "{merge}");
    let count = app
        .gql(Some(bureau), "{ cases { totalCount } }", json!({}))
        .await;
    assert_eq!(count["data"]["cases"]["totalCount"], 1, "{count}");
}
