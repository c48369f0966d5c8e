//! Hearings (信访听证, domain §10): notice at least the county's days before, the decision
//! clock held from the notice to the end, and moved on by exactly the working days held on
//! the county's calendar; what the petitioner and an accusation's other readers see.

use crate::fixtures::{self, mutate, ok, version};
use crate::support::{code, field, gid, parse_instant, spawn_app};
use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, TimeDelta, Utc, Weekday};
use serde_json::{Value, json};

const CASE: &str = "query($id: ID!) { case(id: $id) { version dueAt overdue
    deadlines { acceptBy pausedSince }
    viewerCan { decideAcceptance scheduleHearing endHearing }
    hearings { id status heldAt place chair outcome minutes publicNotice
      participants { kind name }
      pause { deadline since until workingDays dueBefore dueAfter } }
    timeline { nodes { action } } } }";

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn local(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&china()).date_naive()
}

/// The rule, written out: weekends off unless made working, listed holidays off.
fn working(day: NaiveDate, holidays: &[NaiveDate], makeups: &[NaiveDate]) -> bool {
    if holidays.contains(&day) {
        return false;
    }
    makeups.contains(&day) || !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

async fn read(app: &crate::support::TestApp, token: &str, id: &str) -> Value {
    let body = app.gql(Some(token), CASE, json!({"id": id})).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["case"].clone()
}

fn participants() -> Value {
    json!([{"kind": "NPC_DEPUTY", "name": "刘代表"}, {"kind": "CPPCC_MEMBER", "name": "陈委员"},
           {"kind": "LAWYER", "name": "王律师"}, {"kind": "PARTY", "name": "张三"}])
}

#[tokio::test]
async fn a_hearing_holds_the_acceptance_clock_and_moves_it_by_the_working_days_held() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let (id, _) = fixtures::register(
        &app,
        county.token("a_staff"),
        json!({"townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let before = read(&app, county.token("a_staff"), &id).await;
    let accept_by = parse_instant(before["deadlines"]["acceptBy"].as_str().unwrap());
    assert!(before["viewerCan"]["scheduleHearing"].as_bool().unwrap());
    assert!(!before["viewerCan"]["endHearing"].as_bool().unwrap());
    let now = app.state.clock.now();
    let held_at = now + TimeDelta::days(9);
    let schedule = json!({"caseId": id, "heldAt": held_at.to_rfc3339(), "place": "县信访局听证室",
        "chair": "县信访局副局长赵某", "participants": participants()});

    // Nine days is short of the default ten days' notice: refused, nothing written.
    let short = mutate(
        &app,
        county.token("a_staff"),
        "scheduleHearing",
        schedule.clone(),
        "hearing { id }",
    )
    .await;
    assert_eq!(code(&short), Some("BAD_USER_INPUT"), "{short}");
    assert_eq!(field(&short), Some("heldAt"));
    assert_eq!(
        version(&app, county.token("a_staff"), &id).await,
        before["version"].as_i64().unwrap()
    );

    // The county's administrator shortens the notice to seven days; a unit may not.
    let denied = mutate(
        &app,
        county.token("a_staff"),
        "setCountySettings",
        json!({"hearingNoticeDays": 7}),
        "hearingNoticeDays",
    )
    .await;
    assert_eq!(code(&denied), Some("FORBIDDEN"), "{denied}");
    let set = ok(
        &app,
        county.token("county_admin"),
        "setCountySettings",
        json!({"hearingNoticeDays": 7}),
        "hearingNoticeDays registrationLimitHours",
    )
    .await;
    assert_eq!(
        set,
        json!({"hearingNoticeDays": 7, "registrationLimitHours": 24})
    );

    // The calendar: the first weekday after the notice is a holiday, and the first Saturday
    // after the old deadline is a make-up working day.
    let notice_day = local(now);
    let holiday = (1..8)
        .map(|n| notice_day + Days::new(n))
        .find(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .unwrap();
    let makeup = (1..8)
        .map(|n| local(accept_by) + Days::new(n))
        .find(|d| d.weekday() == Weekday::Sat)
        .unwrap();
    ok(
        &app,
        county.token("county_admin"),
        "setCalendarDays",
        json!({"days": [{"date": holiday.to_string(), "working": false, "note": "假日"},
                        {"date": makeup.to_string(), "working": true, "note": "调休上班"}]}),
        "days { date }",
    )
    .await;

    let scheduled = ok(&app, county.token("a_staff"), "scheduleHearing", schedule, "hearing { id status pause { deadline since dueBefore } } case { dueAt deadlines { pausedSince } }").await;
    let hearing = scheduled["hearing"]["id"].as_str().unwrap().to_string();
    assert_eq!(scheduled["hearing"]["status"], "SCHEDULED");
    assert_eq!(scheduled["hearing"]["pause"]["deadline"], "ACCEPTANCE");
    assert_eq!(
        parse_instant(scheduled["hearing"]["pause"]["dueBefore"].as_str().unwrap()),
        accept_by
    );
    assert!(scheduled["case"]["dueAt"].is_null(), "{scheduled}");
    assert_eq!(
        scheduled["case"]["deadlines"]["pausedSince"],
        scheduled["hearing"]["pause"]["since"]
    );

    // While held, the decision waits and no second hearing is scheduled.
    let held = read(&app, county.token("a_staff"), &id).await;
    assert_eq!(
        held["viewerCan"],
        json!({"decideAcceptance": false, "scheduleHearing": false, "endHearing": true})
    );
    let decide = mutate(
        &app,
        county.token("a_staff"),
        "decideAcceptance",
        json!({"caseId": id, "expectedVersion": held["version"], "decision": "ACCEPT"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&decide), Some("INVALID_TRANSITION"), "{decide}");
    // Nor can the outcome come before the hearing is held.
    let early = mutate(
        &app,
        county.token("a_staff"),
        "concludeHearing",
        json!({"hearingId": hearing, "minutes": "x", "outcome": "x"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&early), Some("INVALID_TRANSITION"), "{early}");

    // Twenty days on, the old deadline has passed, but a held clock is overdue nowhere.
    app.advance_days(20);
    county.renew(&app).await;
    let bureau = county.token("bureau_staff");
    assert!(!read(&app, bureau, &id).await["overdue"].as_bool().unwrap());
    let lists = app.gql(Some(bureau), "query($from: DateTime!, $to: DateTime!) {
        cases(filter: {overdue: true}) { totalCount }
        oversight(level: OVERDUE) { count }
        statistics(from: $from, to: $to) { total { undecidedOverdue } } }",
        json!({"from": (now - TimeDelta::days(1)).to_rfc3339(), "to": (now + TimeDelta::days(1)).to_rfc3339()})).await;
    assert_eq!(lists["data"]["cases"]["totalCount"], 0, "{lists}");
    assert_eq!(lists["data"]["oversight"], json!([]), "{lists}");
    assert_eq!(
        lists["data"]["statistics"]["total"]["undecidedOverdue"], 0,
        "{lists}"
    );

    let concluded = ok(&app, county.token("a_staff"), "concludeHearing",
        json!({"hearingId": hearing, "minutes": "听证员逐一发表意见。", "outcome": "建议依法受理。", "publicNotice": "听证结论已在县信访局公示栏公示。"}),
        "hearing { status outcome pause { until workingDays dueAfter } } case { dueAt overdue deadlines { acceptBy pausedSince } }").await;

    // The days held: those after the notice's day up to the conclusion's, on the calendar.
    let end_day = local(app.state.clock.now());
    let mut expected_held = 0;
    let mut d = notice_day;
    while d < end_day {
        d = d + Days::new(1);
        if working(d, &[holiday], &[makeup]) {
            expected_held += 1;
        }
    }
    // And the deadline moves on by as many working days from the old one.
    let mut due_day = local(accept_by);
    let mut left = expected_held;
    while left > 0 {
        due_day = due_day + Days::new(1);
        if working(due_day, &[holiday], &[makeup]) {
            left -= 1;
        }
    }
    let expected_due = due_day
        .and_hms_milli_opt(23, 59, 59, 999)
        .unwrap()
        .and_local_timezone(china())
        .unwrap()
        .to_utc();
    assert_eq!(concluded["hearing"]["status"], "CONCLUDED");
    assert_eq!(
        concluded["hearing"]["pause"]["workingDays"], expected_held,
        "{concluded}"
    );
    let due_after = parse_instant(concluded["hearing"]["pause"]["dueAfter"].as_str().unwrap());
    assert_eq!(due_after, expected_due);
    assert_eq!(
        parse_instant(concluded["case"]["deadlines"]["acceptBy"].as_str().unwrap()),
        expected_due
    );
    assert_eq!(
        parse_instant(concluded["case"]["dueAt"].as_str().unwrap()),
        expected_due
    );
    assert!(concluded["case"]["deadlines"]["pausedSince"].is_null());
    assert_eq!(
        concluded["case"]["overdue"],
        app.state.clock.now() > expected_due
    );

    // The decision may now be taken; the hearing ends once.
    let again = mutate(
        &app,
        county.token("a_staff"),
        "cancelHearing",
        json!({"hearingId": hearing, "reason": "x"}),
        "__typename",
    )
    .await;
    assert_eq!(code(&again), Some("CONFLICT"), "{again}");
    fixtures::accept(&app, county.token("a_staff"), &id).await;
    let timeline = read(&app, county.token("a_staff"), &id).await["timeline"]["nodes"].to_string();
    assert!(
        timeline.contains("HEARING_SCHEDULED") && timeline.contains("HEARING_CONCLUDED"),
        "{timeline}"
    );

    // A clock that has already run out is not held: a hearing is no way out of a deadline.
    let (late, _) = fixtures::register(
        &app,
        county.token("a_staff"),
        json!({"receivedAt": (app.state.clock.now() - TimeDelta::days(20)).to_rfc3339()}),
    )
    .await;
    assert_eq!(
        read(&app, county.token("a_staff"), &late).await["viewerCan"]["scheduleHearing"],
        false
    );
    let overdue = mutate(
        &app,
        county.token("a_staff"),
        "scheduleHearing",
        json!({"caseId": late, "heldAt": (app.state.clock.now() + TimeDelta::days(12)).to_rfc3339(),
               "place": "x", "chair": "x", "participants": participants()}),
        "hearing { id }",
    )
    .await;
    assert_eq!(code(&overdue), Some("INVALID_TRANSITION"), "{overdue}");
}

#[tokio::test]
async fn the_petitioner_reads_when_where_and_the_outcome_and_an_accusations_parties_stay_secret() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let (_, submitted) = fixtures::accusation_against_t1(&app, &county, "case { id }").await;
    let id = submitted["case"]["id"].as_str().unwrap().to_string();
    // The bureau leads an online accusation; it accepts it and holds a hearing.
    fixtures::accept(&app, county.token("bureau_staff"), &id).await;
    let held_at = app.state.clock.now() + TimeDelta::days(12);
    let scheduled = ok(&app, county.token("bureau_staff"), "scheduleHearing",
        json!({"caseId": id, "heldAt": held_at.to_rfc3339(), "place": "县信访局听证室", "chair": "赵某", "participants": participants()}),
        "hearing { id pause { deadline } }").await;
    assert_eq!(scheduled["hearing"]["pause"]["deadline"], "HANDLING");
    let hearing = scheduled["hearing"]["id"].as_str().unwrap().to_string();
    app.advance_days(12);
    county.renew(&app).await;
    ok(&app, county.token("bureau_staff"), "concludeHearing",
        json!({"hearingId": hearing, "minutes": "张三陈述举报事实。", "outcome": "举报事项部分属实。"}), "__typename").await;

    // The accuser: when, where and how it ended; not who chaired, sat or said what.
    let citizen = fixtures::sign_in(&app, "zhangsan", "citizen password").await;
    let theirs = read(&app, &citizen, &id).await;
    let h = &theirs["hearings"][0];
    assert_eq!(h["place"], "县信访局听证室");
    assert_eq!(
        parse_instant(h["heldAt"].as_str().unwrap()),
        held_at.with_timezone(&Utc)
    );
    assert_eq!(h["outcome"], "举报事项部分属实。");
    assert_eq!(h["status"], "CONCLUDED");
    assert!(h["chair"].is_null() && h["minutes"].is_null(), "{h}");
    assert_eq!(h["participants"], json!([]));
    assert!(
        theirs["timeline"]["nodes"]
            .to_string()
            .contains("HEARING_CONCLUDED")
    );

    // The bureau, which leads, reads every participant; the county unit, which oversees but
    // does not see an accusation's petitioners, reads the parties as 保密.
    let lead = read(&app, county.token("bureau_staff"), &id).await;
    assert_eq!(lead["hearings"][0]["participants"], participants());
    assert_eq!(lead["hearings"][0]["minutes"], "张三陈述举报事实。");
    let oversight = read(&app, county.token("county_staff"), &id).await;
    let names: Vec<&str> = oversight["hearings"][0]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["刘代表", "陈委员", "王律师", "保密"]);
    // The minutes name the accuser: not for a reader who does not see who accused.
    assert!(oversight["hearings"][0]["minutes"].is_null(), "{oversight}");
    assert!(!oversight.to_string().contains("张三"), "{oversight}");

    // The accused township sees nothing of it, by any path.
    for token in [county.token("t1_staff"), county.token("t1_leader")] {
        let node = app
            .gql(
                Some(token),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({"id": hearing}),
            )
            .await;
        assert_eq!(code(&node), Some("NOT_FOUND"), "{node}");
        let case = app.gql(Some(token), CASE, json!({"id": id})).await;
        assert_eq!(code(&case), Some("NOT_FOUND"), "{case}");
        let end = mutate(
            &app,
            token,
            "cancelHearing",
            json!({"hearingId": hearing, "reason": "x"}),
            "__typename",
        )
        .await;
        assert_eq!(code(&end), Some("NOT_FOUND"), "{end}");
    }
}
