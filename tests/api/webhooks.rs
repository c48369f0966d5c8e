//! Webhooks through real processes: a receiving HTTP server of the test's own, `xinfang`
//! binaries delivering from the outbox of the database the test server writes to, one of them
//! killed mid-delivery. What each unit must receive is stated from the rules: the entries its
//! staff may read, of the cases they may see, while they may see them — an accused unit
//! nothing of the accusation.

use crate::fixtures::{self, County, mutate, ok, version};
use crate::support::{Running, TestApp, code, field, free_port, gid, spawn_app_with, xinfang};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Arrival {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A receiving HTTP server: records every POST, answers after `delay_ms`, with 503 while
/// `refuse` is set.
#[derive(Clone, Default)]
struct Receiver {
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    delay_ms: Arc<AtomicU64>,
    refuse: Arc<AtomicBool>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
        let receiver = Receiver::default();
        let shared = receiver.clone();
        let server = HttpServer::new(move || {
            let r = shared.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let r = r.clone();
                async move {
                    let header = |n: &str| {
                        req.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    r.arrivals.lock().unwrap().push(Arrival {
                        path: req.path().to_string(),
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    let delay = r.delay_ms.load(Ordering::Relaxed);
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    if r.refuse.load(Ordering::Relaxed) {
                        HttpResponse::ServiceUnavailable().finish()
                    } else {
                        HttpResponse::NoContent().finish()
                    }
                }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind the receiver");
        let addr = server.addrs()[0];
        tokio::spawn(server.run());
        (receiver, format!("http://{addr}"))
    }

    fn arrivals(&self, path: &str) -> Vec<Arrival> {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.path == path)
            .cloned()
            .collect()
    }

    fn count(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }
}

/// The Standard Webhooks check, as a receiver writes it: HMAC-SHA256 keyed with the secret's
/// bytes over `id.timestamp.body`, compared with every `v1,` signature in the header.
fn verified(secret: &str, a: &Arrival) -> bool {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64 key");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", a.id, a.timestamp, a.body).as_bytes());
    let expected = b64.encode(mac.finalize().into_bytes());
    a.signature
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

/// An `xinfang serve` process on the test server's database, sending webhooks.
fn sender(app: &TestApp, extra: &[&str]) -> Running {
    sender_on(app, free_port(), extra)
}

/// A [`sender`] that has started: it answers `/readyz`.
async fn ready_sender(app: &TestApp, extra: &[&str]) -> Running {
    let port = free_port();
    let running = sender_on(app, port, extra);
    let up = crate::support::answers_ok(&format!("http://127.0.0.1:{port}/readyz")).await;
    assert!(up, "the sender did not start");
    running
}

fn sender_on(app: &TestApp, port: u16, extra: &[&str]) -> Running {
    let mut args = vec![
        "serve".to_string(),
        "--bind".into(),
        format!("127.0.0.1:{port}"),
        "--database-url".into(),
        app.db_url.clone(),
        "--webhook-allow-private".into(),
    ];
    // Quick timings unless the test names its own.
    for (flag, value) in [
        ("--webhook-timeout-ms", "1500"),
        ("--webhook-retry-ms", "100"),
        ("--webhook-poll-ms", "50"),
    ] {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    let child = xinfang()
        .args(args)
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start xinfang");
    Running(child)
}

/// The test server itself writes the outbox but sends nothing: the processes do.
async fn quiet_app() -> TestApp {
    spawn_app_with(&["--webhook-allow-private", "--webhook-workers", "0"]).await
}

/// An administrator of `unit` (东关镇 has one; for another unit the county's administrator
/// makes one): its access token.
async fn unit_admin(app: &TestApp, county: &County, unit: i64) -> String {
    if unit == county.t1 {
        return county.token("t1_admin").to_string();
    }
    let username = format!("admin_of_{unit}");
    ok(app, county.token("county_admin"), "createUser",
        json!({"username": username, "password": "a long enough password", "displayName": "单位管理员",
               "orgUnitId": gid("OrgUnit", unit), "role": "ADMIN"}),
        "user { id }").await;
    fixtures::sign_in(app, &username, "a long enough password").await
}

/// Registers an endpoint as the unit's own administrator: (endpoint id, secret, that
/// administrator's token).
async fn register_endpoint(
    app: &TestApp,
    county: &County,
    unit: i64,
    url: &str,
    kinds: &[&str],
) -> (String, String, String) {
    let admin = unit_admin(app, county, unit).await;
    let made = ok(
        app,
        &admin,
        "registerWebhook",
        json!({"unitId": gid("OrgUnit", unit), "url": url, "kinds": kinds}),
        "endpoint { id url kinds active } secret",
    )
    .await;
    (
        made["endpoint"]["id"].as_str().unwrap().to_string(),
        made["secret"].as_str().unwrap().to_string(),
        admin,
    )
}

/// The timeline entries of a case as `token`'s staff read it: (entry id, action).
async fn timeline(app: &TestApp, token: &str, case: &str) -> Vec<(String, String)> {
    let body = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { timeline(first: 100) { nodes { id action } } } }",
            json!({"id": case}),
        )
        .await;
    body["data"]["case"]["timeline"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_string(),
                n["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Waits until `done` holds, at most `secs`.
async fn until(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..secs * 20 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

/// The messages an endpoint received, deduplicated by `webhook-id` (a redelivery must carry
/// the identical body), checked against the secret, grouped per case and ordered by first
/// arrival: caseId → [data].
fn per_case(secret: &str, arrivals: &[Arrival]) -> BTreeMap<String, Vec<Value>> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for a in arrivals {
        assert!(verified(secret, a), "a message fails its signature: {a:?}");
        if let Some(body) = seen.get(&a.id) {
            assert_eq!(body, &a.body, "a redelivery changed the body of {}", a.id);
            continue;
        }
        seen.insert(a.id.clone(), a.body.clone());
        let v: Value = serde_json::from_str(&a.body).expect("a JSON body");
        let data = v["data"].clone();
        let mut data = data;
        data["type"] = v["type"].clone();
        out.entry(data["caseId"].as_str().unwrap().to_string())
            .or_default()
            .push(data);
    }
    out
}

#[tokio::test]
async fn every_event_arrives_signed_in_order_once_a_killed_sender_is_replaced() {
    let app = quiet_app().await;
    let county = fixtures::county(&app).await;
    let (receiver, base) = Receiver::start().await;
    let (_, bureau_secret, bureau_admin) = register_endpoint(
        &app,
        &county,
        county.bureau,
        &format!("{base}/bureau"),
        &["CASE_EVENT", "HOTLINE_RESULT"],
    )
    .await;
    // The hotline platform's own endpoint on the bureau: the 12345 results only.
    let hotline_secret = ok(
        &app,
        &bureau_admin,
        "registerWebhook",
        json!({"unitId": gid("OrgUnit", county.bureau), "url": format!("{base}/hotline"), "kinds": ["HOTLINE_RESULT"]}),
        "secret",
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, t1_secret, t1_admin) = register_endpoint(
        &app,
        &county,
        county.t1,
        &format!("{base}/t1"),
        &["CASE_EVENT"],
    )
    .await;
    let (_, a_secret, a_admin) = register_endpoint(
        &app,
        &county,
        county.dept_a,
        &format!("{base}/dept_a"),
        &["CASE_EVENT"],
    )
    .await;

    // The work: four cases led by 县住建局, accepted; one case the bureau transfers to 东关镇;
    // an online accusation against 东关镇; a 12345 case with a merged ticket, replied to.
    let bureau = county.token("bureau_staff");
    let led_by_a = json!({"leadUnitId": gid("OrgUnit", county.dept_a)});
    let mut led = vec![];
    for _ in 0..4 {
        let (id, _) = fixtures::register(&app, bureau, led_by_a.clone()).await;
        fixtures::accept(&app, county.token("a_staff"), &id).await;
        led.push(id);
    }
    let (moved, _) = fixtures::register(&app, bureau, json!({})).await;
    let v = version(&app, bureau, &moved).await;
    let referral = ok(&app, bureau, "transferCase",
        json!({"caseId": moved, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.t1), "mode": "TRANSFER", "reason": "属地管理"}),
        "referral { id }").await["referral"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, accusation) =
        fixtures::accusation_against_t1(&app, &county, "case { id number }").await;
    let accusation_id = accusation["case"]["id"].as_str().unwrap().to_string();
    let accusation_number = accusation["case"]["number"].as_str().unwrap().to_string();
    let mut hotline = led_by_a.clone();
    hotline["channel"] = json!("HOTLINE_12345");
    hotline["hotlineTicket"] = json!("12345-20261202-0101");
    let (hot, hot_number) = fixtures::register(&app, bureau, hotline).await;
    ok(
        &app,
        county.token("a_staff"),
        "addHotlineTicket",
        json!({"caseId": hot, "ticketNumber": "12345-20261202-0102"}),
        "case { id }",
    )
    .await;
    fixtures::accept(&app, county.token("a_staff"), &hot).await;
    let v = version(&app, county.token("a_leader"), &hot).await;
    ok(
        &app,
        county.token("a_leader"),
        "issueReply",
        json!({"caseId": hot, "expectedVersion": v, "outcome": "SUPPORTED", "facts": "经查属实。",
               "reasons": "符合政策。", "basis": "《信访工作条例》", "deliveredBy": "IN_PERSON"}),
        "__typename",
    )
    .await;

    // Nothing has been sent: the test server does not send.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.count(), 0);

    // A sender starts, slowly answered, and is killed while a request is in flight.
    receiver.delay_ms.store(300, Ordering::Relaxed);
    let mut first = sender(&app, &[]);
    assert!(
        until(60, || receiver.count() >= 3).await,
        "the first sender delivered nothing"
    );
    first.0.kill().expect("kill the sender");
    let _ = first.0.wait();
    let before_restart = receiver.count();
    receiver.delay_ms.store(0, Ordering::Relaxed);
    let _second = sender(&app, &[]);

    // What each endpoint is owed, from the rules.
    let mut bureau_owed: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for case in led.iter().chain([&moved, &accusation_id, &hot]) {
        bureau_owed.insert(case.clone(), timeline(&app, bureau, case).await);
    }
    let mut a_owed: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for case in led.iter().chain([&hot]) {
        a_owed.insert(
            case.clone(),
            timeline(&app, county.token("a_staff"), case).await,
        );
    }
    let owed_total = bureau_owed.values().map(Vec::len).sum::<usize>()
        + 2 // two hotline results
        + a_owed.values().map(Vec::len).sum::<usize>()
        + 1 // the transfer, to 东关镇
        + 2; // the hotline platform's two results
    let distinct = |r: &Receiver| {
        let mut ids: Vec<String> = r
            .arrivals
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    assert!(
        until(60, || distinct(&receiver) >= owed_total).await,
        "{} of {owed_total} messages arrived ({before_restart} before the restart)",
        distinct(&receiver)
    );
    tokio::time::sleep(Duration::from_millis(500)).await; // nothing more may come
    // The request in flight when the first sender died was sent again by the second.
    assert!(
        receiver.count() > distinct(&receiver),
        "no message was in flight at the kill"
    );

    // The bureau: every entry of every case, in order, numbered without gaps, and a result
    // per 12345 ticket.
    let got = per_case(&bureau_secret, &receiver.arrivals("/bureau"));
    for (case, entries) in &bureau_owed {
        let mut messages = got.get(case).cloned().unwrap_or_default();
        if case == &hot {
            let results: Vec<Value> = messages
                .iter()
                .filter(|m| m["type"] == "hotline.result")
                .cloned()
                .collect();
            let tickets: Vec<(&str, bool, &str)> = results
                .iter()
                .map(|m| {
                    (
                        m["ticketNumber"].as_str().unwrap(),
                        m["merged"].as_bool().unwrap(),
                        m["outcome"].as_str().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                tickets,
                [
                    ("12345-20261202-0101", false, "SUPPORTED"),
                    ("12345-20261202-0102", true, "SUPPORTED")
                ]
            );
            assert!(
                results
                    .iter()
                    .all(|m| m["caseNumber"] == hot_number && m["repliedBy"] == "县住建局")
            );
            // The results follow the reply they report.
            let reply_at = messages
                .iter()
                .position(|m| m["action"] == "REPLY")
                .expect("the reply");
            let first_result = messages
                .iter()
                .position(|m| m["type"] == "hotline.result")
                .unwrap();
            assert!(first_result > reply_at);
        }
        let sequences: Vec<i64> = messages
            .iter()
            .map(|m| m["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(
            sequences,
            (1..=sequences.len() as i64).collect::<Vec<_>>(),
            "case {case}: in order, no gaps"
        );
        messages.retain(|m| m["type"] == "case.event");
        let received: Vec<(String, String)> = messages
            .iter()
            .map(|m| {
                (
                    m["entryId"].as_str().unwrap().to_string(),
                    m["action"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(&received, entries, "case {case}: the bureau's timeline");
    }
    assert_eq!(got.len(), bureau_owed.len(), "no other case");

    // The hotline platform: the two results and nothing else, numbered in its own sequence.
    let got = per_case(&hotline_secret, &receiver.arrivals("/hotline"));
    assert_eq!(got.keys().collect::<Vec<_>>(), [&hot]);
    let results: Vec<(&str, i64)> = got[&hot]
        .iter()
        .map(|m| {
            (
                m["ticketNumber"].as_str().unwrap(),
                m["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [("12345-20261202-0101", 1), ("12345-20261202-0102", 2)]
    );

    // 县住建局: the timelines of the cases it leads, from their registration.
    let got = per_case(&a_secret, &receiver.arrivals("/dept_a"));
    assert_eq!(got.len(), a_owed.len(), "only the cases it leads");
    for (case, entries) in &a_owed {
        let received: Vec<(String, String)> = got[case]
            .iter()
            .map(|m| {
                (
                    m["entryId"].as_str().unwrap().to_string(),
                    m["action"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(&received, entries, "case {case}: 县住建局's timeline");
        assert!(got[case].iter().all(|m| m["type"] == "case.event"));
    }

    // 东关镇: the transfer to it, marked as its inbox item — and nothing of the accusation
    // against it, nor of the steps before the case reached it.
    let t1_arrivals = receiver.arrivals("/t1");
    let got = per_case(&t1_secret, &t1_arrivals);
    assert_eq!(got.keys().collect::<Vec<_>>(), [&moved]);
    let only = &got[&moved];
    assert_eq!(only.len(), 1, "{only:?}");
    assert_eq!(only[0]["action"], "TRANSFER");
    assert_eq!(only[0]["inboxKind"], "REFERRAL");
    assert_eq!(only[0]["referralId"], referral.as_str());
    assert_eq!(only[0]["sequence"], 1);
    for a in &t1_arrivals {
        assert!(
            !a.body.contains(&accusation_number) && !a.body.contains(&accusation_id),
            "the accused unit heard of the accusation: {}",
            a.body
        );
    }
    // No personal data or content in any message: no names, ID numbers, phones, titles or text.
    for a in receiver.arrivals.lock().unwrap().iter() {
        for secret in [
            "李四",
            "440524188001010014",
            "13912345678",
            "张三",
            "13800138000",
            "拆迁补偿款未足额发放",
            "反映镇干部违规收费",
            "违规收取办证费用",
        ] {
            assert!(!a.body.contains(secret), "{secret} in {}", a.body);
        }
    }

    // The delivery logs agree: everything delivered, nothing pending or dead; each unit's
    // administrator sees its own endpoint only.
    let mut delivered = 0;
    for admin in [&bureau_admin, &t1_admin, &a_admin] {
        let log = app
            .gql(
                Some(admin),
                "{ webhookEndpoints { url counts { pending delivered dead } } }",
                json!({}),
            )
            .await;
        let endpoints = log["data"]["webhookEndpoints"].as_array().unwrap();
        let expected = if admin == &bureau_admin { 2 } else { 1 };
        assert_eq!(endpoints.len(), expected, "{log}");
        for e in endpoints {
            assert_eq!(e["counts"]["pending"], 0, "{e}");
            assert_eq!(e["counts"]["dead"], 0, "{e}");
            delivered += e["counts"]["delivered"].as_i64().unwrap();
        }
    }
    assert_eq!(delivered as usize, owed_total);
}

#[tokio::test]
async fn two_senders_share_the_work_failures_retry_then_die_and_a_replay_revives_them() {
    let app = quiet_app().await;
    let county = fixtures::county(&app).await;
    let (receiver, base) = Receiver::start().await;
    let (endpoint, secret, admin) = register_endpoint(
        &app,
        &county,
        county.bureau,
        &format!("{base}/bureau"),
        &["CASE_EVENT"],
    )
    .await;
    let admin = admin.as_str();
    let bureau = county.token("bureau_staff");
    let started = app.state.clock.now();
    let mut cases = vec![];
    for _ in 0..6 {
        cases.push(fixtures::register(&app, bureau, json!({})).await.0);
    }
    // Two processes on the same database: each message goes to the receiver once.
    {
        let _one = sender(&app, &[]);
        let _two = sender(&app, &[]);
        assert!(until(60, || receiver.count() >= 6).await);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let arrivals = receiver.arrivals("/bureau");
    let mut ids: Vec<&str> = arrivals.iter().map(|a| a.id.as_str()).collect();
    ids.sort();
    let all = ids.len();
    ids.dedup();
    assert_eq!((all, ids.len()), (6, 6), "each message exactly once");
    assert!(arrivals.iter().all(|a| verified(&secret, a)));

    // The receiver is down: messages are retried, then go to the dead letters after the
    // configured age (1 s here), with the reason. The sender is up before the messages are
    // written, so that their second the sender spends trying them, not starting.
    receiver.refuse.store(true, Ordering::Relaxed);
    let failing_from = receiver.count();
    let late: String;
    {
        let _one = ready_sender(&app, &["--webhook-dead-after", "1"]).await;
        late = fixtures::register(&app, bureau, json!({})).await.0;
        let v = version(&app, bureau, &late).await;
        ok(&app, bureau, "transferCase",
            json!({"caseId": late, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.dept_b), "mode": "TRANSFER", "reason": "职能"}),
            "referral { id }").await;
        let dead = || async {
            app.gql(
                Some(admin),
                "{ webhookEndpoints { counts { pending dead }
                   messages(status: DEAD) { id eventType sequence attempts lastStatus lastError } } }",
                json!({}),
            )
            .await
        };
        let mut log = Value::Null;
        for _ in 0..100 {
            log = dead().await;
            // The counts and the list are read one after the other, not in one snapshot: a
            // message may die between the two, so both must show it.
            let e = &log["data"]["webhookEndpoints"][0];
            if e["counts"]["dead"] == 2 && e["messages"].as_array().is_some_and(|m| m.len() == 2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let e = &log["data"]["webhookEndpoints"][0];
        assert_eq!(e["counts"], json!({"pending": 0, "dead": 2}), "{log}");
        let letters = e["messages"].as_array().unwrap();
        // The log shows no content; what each message was, the receiver saw on its attempts.
        let sent = receiver.arrivals("/bureau");
        let body_of = |id: &str| -> Value {
            let a = sent
                .iter()
                .find(|a| a.id == id)
                .expect("the message was tried");
            serde_json::from_str(&a.body).unwrap()
        };
        // Newest first: the transfer, then the registration, numbered 2 and 1 for the case;
        // the registration was retried before it died, and both answered 503.
        let (transfer, register) = (
            body_of(letters[0]["id"].as_str().unwrap()),
            body_of(letters[1]["id"].as_str().unwrap()),
        );
        assert_eq!(transfer["data"]["action"], "TRANSFER");
        assert_eq!(register["data"]["action"], "REGISTER");
        assert!(
            [&transfer, &register]
                .iter()
                .all(|b| b["data"]["caseId"] == late.as_str())
        );
        assert_eq!(
            (
                letters[0]["sequence"].clone(),
                letters[1]["sequence"].clone()
            ),
            (json!(2), json!(1))
        );
        assert!(
            letters.iter().all(|l| l["lastStatus"] == 503
                && l["eventType"] == "case.event"
                && l["lastError"].as_str().is_some_and(|e| e.contains("503"))),
            "{log}"
        );
        assert!(
            letters[1]["attempts"].as_i64().unwrap() >= 2,
            "retried: {log}"
        );
        let tried: Vec<String> = receiver.arrivals("/bureau")[failing_from..]
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let first_transfer = tried
            .iter()
            .position(|id| id == letters[0]["id"].as_str().unwrap())
            .expect("the transfer was tried");
        let last_register = tried
            .iter()
            .rposition(|id| id == letters[1]["id"].as_str().unwrap())
            .unwrap();
        assert!(
            last_register < first_transfer,
            "in order per case: {tried:?}"
        );
    }

    // The receiver is back; a replay from before the outage sends everything again, with the
    // same ids, in order per case.
    receiver.refuse.store(false, Ordering::Relaxed);
    let before = receiver.count();
    let replay = ok(
        &app,
        admin,
        "replayWebhooks",
        json!({"endpointId": endpoint, "since": started.to_rfc3339()}),
        "replayed endpoint { counts { pending dead } }",
    )
    .await;
    assert_eq!(replay["replayed"], 8, "{replay}");
    assert_eq!(
        replay["endpoint"]["counts"],
        json!({"pending": 8, "dead": 0})
    );
    let _one = sender(&app, &[]);
    assert!(until(60, || receiver.count() >= before + 8).await);
    let again = per_case(&secret, &receiver.arrivals("/bureau")[before..]);
    assert_eq!(again.len(), 7);
    let late_actions: Vec<&str> = again[&late]
        .iter()
        .map(|m| m["action"].as_str().unwrap())
        .collect();
    assert_eq!(late_actions, ["REGISTER", "TRANSFER"]);
    let replayed_ids: Vec<String> = receiver.arrivals("/bureau")[before..]
        .iter()
        .map(|a| a.id.clone())
        .collect();
    for a in &arrivals {
        assert!(replayed_ids.contains(&a.id), "{} replayed", a.id);
    }
}

#[tokio::test]
async fn who_registers_endpoints_and_which_urls_are_refused() {
    // Private addresses are refused here (no --webhook-allow-private).
    let app = spawn_app_with(&[]).await;
    let county = fixtures::county(&app).await;
    let register = |token: &str, unit: i64, url: &str, kinds: Value| {
        let token = token.to_string();
        let url = url.to_string();
        let app = &app;
        async move {
            mutate(
                app,
                &token,
                "registerWebhook",
                json!({"unitId": gid("OrgUnit", unit), "url": url, "kinds": kinds}),
                "secret",
            )
            .await
        }
    };
    let admin = county.token("county_admin");
    let t1_admin = county.token("t1_admin");
    for (url, why) in [
        ("http://127.0.0.1:9000/hook", "loopback"),
        ("http://2130706433/hook", "loopback as a number"),
        ("https://10.0.0.8/hook", "private"),
        (
            "https://169.254.169.254/latest",
            "link-local (cloud metadata)",
        ),
        ("https://[::1]/hook", "IPv6 loopback"),
        ("https://[::ffff:10.0.0.8]/hook", "IPv4-mapped private"),
        ("https://localhost/hook", "localhost"),
        ("ftp://example.org/hook", "scheme"),
        ("https://user:pw@example.org/hook", "credentials"),
        ("not a url", "garbage"),
    ] {
        let body = register(t1_admin, county.t1, url, json!(["CASE_EVENT"])).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{why}: {body}");
        assert_eq!(field(&body), Some("url"), "{why}: {body}");
    }
    let body = register(t1_admin, county.t1, "https://example.org/hook", json!([])).await;
    assert_eq!(field(&body), Some("kinds"), "{body}");

    // Only the unit's own administrator: not its staff, not another unit's administrator, and
    // not the county's administrator either, though it keeps the township's accounts —
    // whoever sets the URL decides where the unit's view of its cases goes.
    for (token, unit, who) in [
        (
            county.token("bureau_staff"),
            county.bureau,
            "the bureau's staff",
        ),
        (
            t1_admin,
            county.bureau,
            "东关镇's administrator, for the bureau",
        ),
        (admin, county.t1, "the county's administrator, for 东关镇"),
        (
            admin,
            county.bureau,
            "the county's administrator, for the bureau",
        ),
    ] {
        let body = register(
            token,
            unit,
            "https://example.org/hook",
            json!(["CASE_EVENT"]),
        )
        .await;
        assert_eq!(code(&body), Some("FORBIDDEN"), "{who}: {body}");
    }
    let made = register(
        t1_admin,
        county.t1,
        "https://example.org/hook?token=abc",
        json!(["CASE_EVENT", "DEADLINE_NOTICE"]),
    )
    .await;
    let secret = made["data"]["registerWebhook"]["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{made}");
    ok(
        &app,
        admin,
        "registerWebhook",
        json!({"unitId": gid("OrgUnit", county.county), "url": "https://example.org/county", "kinds": ["CASE_EVENT"]}),
        "endpoint { id }",
    )
    .await;

    // Each administrator lists its own unit's endpoints; the secret is never shown again, and
    // no message's content is shown at all.
    let listed = |token: &str| {
        let token = token.to_string();
        let app = &app;
        async move {
            app.gql(
                Some(&token),
                "{ webhookEndpoints { id url unit { name } } }",
                json!({}),
            )
            .await
        }
    };
    let own = listed(admin).await;
    assert_eq!(
        own["data"]["webhookEndpoints"].as_array().unwrap().len(),
        1,
        "{own}"
    );
    assert_eq!(
        own["data"]["webhookEndpoints"][0]["unit"]["name"], "清河县",
        "{own}"
    );
    let t1_list = listed(t1_admin).await;
    assert_eq!(
        t1_list["data"]["webhookEndpoints"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{t1_list}"
    );
    assert_eq!(
        t1_list["data"]["webhookEndpoints"][0]["url"],
        "https://example.org/hook?token=abc"
    );
    let staff = listed(county.token("t1_staff")).await;
    assert_eq!(code(&staff), Some("FORBIDDEN"), "{staff}");
    for (ty, hidden) in [
        ("WebhookEndpoint", "secret"),
        ("WebhookMessage", "body"),
        ("WebhookMessage", "data"),
    ] {
        let schema = app
            .gql(
                None,
                &format!("{{ __type(name: \"{ty}\") {{ fields {{ name }} }} }}"),
                json!({}),
            )
            .await;
        let fields: Vec<&str> = schema["data"]["__type"]["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema}"))
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert!(!fields.contains(&hidden), "{ty}.{hidden}: {fields:?}");
    }
    // What messages carry is documented by example, one per type.
    let samples = app
        .gql(None, "{ webhookPayloadSamples { __typename ... on WebhookCaseEvent { caseId sequence action inboxKind } ... on WebhookHotlineResult { ticketNumber outcome } } }", json!({}))
        .await;
    let kinds: Vec<&str> = samples["data"]["webhookPayloadSamples"]
        .as_array()
        .unwrap_or_else(|| panic!("{samples}"))
        .iter()
        .map(|s| s["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "WebhookCaseEvent",
            "WebhookDeadlineNotice",
            "WebhookHotlineResult"
        ]
    );

    // Another unit's endpoint is not there for an administrator; its own may be deactivated,
    // after which a replay is refused. All of it is on the administrative record, with the
    // receiver's origin only (a query may carry its token).
    let id = t1_list["data"]["webhookEndpoints"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = mutate(
        &app,
        admin,
        "deactivateWebhook",
        json!({"id": id}),
        "active",
    )
    .await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    ok(
        &app,
        t1_admin,
        "deactivateWebhook",
        json!({"id": id}),
        "active deactivatedAt",
    )
    .await;
    let body = mutate(
        &app,
        t1_admin,
        "replayWebhooks",
        json!({"endpointId": id, "since": "2026-01-01T00:00:00Z"}),
        "replayed",
    )
    .await;
    assert_eq!(code(&body), Some("CONFLICT"), "{body}");
    let record = app
        .gql(
            Some(admin),
            "{ adminRecord(first: 100) { nodes { action detail } } }",
            json!({}),
        )
        .await;
    let entries = record["data"]["adminRecord"]["nodes"].to_string();
    assert_eq!(entries.matches("WEBHOOK_REGISTERED").count(), 2, "{record}");
    assert_eq!(
        entries.matches("WEBHOOK_DEACTIVATED").count(),
        1,
        "{record}"
    );
    assert!(
        entries.contains("https://example.org") && !entries.contains("token=abc"),
        "{record}"
    );
}

#[tokio::test]
async fn a_case_taken_over_at_a_reception_is_sent_like_any_entry() {
    // This time the test server sends itself.
    let app = spawn_app_with(&[
        "--webhook-allow-private",
        "--webhook-poll-ms",
        "50",
        "--webhook-retry-ms",
        "100",
    ])
    .await;
    let county = fixtures::county(&app).await;
    let (receiver, base) = Receiver::start().await;
    let (_, secret, _) = register_endpoint(
        &app,
        &county,
        county.t1,
        &format!("{base}/t1"),
        &["CASE_EVENT"],
    )
    .await;
    let t1_staff = county.token("t1_staff");
    let (case, _) = fixtures::register(
        &app,
        t1_staff,
        json!({"townshipId": gid("OrgUnit", county.t1)}),
    )
    .await;
    let received_at = (app.state.clock.now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    ok(&app, t1_staff, "recordReception",
        json!({"leaderId": gid("User", county.user("t1_leader")), "receivedAt": received_at, "place": "东关镇人民政府接访室",
               "visitors": ["李四", "王某"], "personCount": 2, "summary": "反映拆迁补偿问题，镇长当场交办。", "caseIds": [case]}),
        "id").await;
    assert!(
        until(20, || receiver.count() >= 2).await,
        "the messages arrive"
    );
    let got = per_case(&secret, &receiver.arrivals("/t1"));
    let sent: Vec<(&str, i64)> = got[&case]
        .iter()
        .map(|m| {
            (
                m["action"].as_str().unwrap(),
                m["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sent, [("REGISTER", 1), ("RECEPTION", 2)]);
    for a in receiver.arrivals("/t1") {
        assert!(
            !a.body.contains("王某") && !a.body.contains("拆迁补偿"),
            "{}",
            a.body
        );
    }
}

#[tokio::test]
async fn a_failing_receiver_costs_one_attempt_per_round_not_one_per_case() {
    let app = quiet_app().await;
    let county = fixtures::county(&app).await;
    let (receiver, base) = Receiver::start().await;
    receiver.refuse.store(true, Ordering::Relaxed);
    register_endpoint(
        &app,
        &county,
        county.bureau,
        &format!("{base}/bureau"),
        &["CASE_EVENT"],
    )
    .await;
    for _ in 0..12 {
        fixtures::register(&app, county.token("bureau_staff"), json!({})).await;
    }
    // Twelve cases, each with a message due. A sender of two slots tries two, both answered
    // 503; the receiver is failing, so the other ten wait out the same backoff (5 s) instead of
    // being tried one after another.
    let _one = sender(
        &app,
        &["--webhook-workers", "2", "--webhook-retry-ms", "5000"],
    );
    assert!(until(30, || receiver.count() >= 2).await, "the first round");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.count(),
        2,
        "one round of two attempts, then the hold"
    );
}

#[tokio::test]
async fn a_backlog_is_not_sent_about_a_case_the_unit_no_longer_sees() {
    let app = quiet_app().await;
    let county = fixtures::county(&app).await;
    let (receiver, base) = Receiver::start().await;
    let (_, _, a_admin) = register_endpoint(
        &app,
        &county,
        county.dept_a,
        &format!("{base}/dept_a"),
        &["CASE_EVENT"],
    )
    .await;
    // While no sender runs, 县住建局 gets a case (two messages: registered, accepted) and
    // then hands it to 县人社局, which takes it out of its sight.
    let (case, _) = fixtures::register(
        &app,
        county.token("bureau_staff"),
        json!({"leadUnitId": gid("OrgUnit", county.dept_a)}),
    )
    .await;
    fixtures::accept(&app, county.token("a_staff"), &case).await;
    let v = version(&app, county.token("a_staff"), &case).await;
    ok(&app, county.token("a_staff"), "transferCase",
        json!({"caseId": case, "expectedVersion": v, "toUnitId": gid("OrgUnit", county.dept_b), "mode": "TRANSFER", "reason": "职能"}),
        "referral { id }").await;
    let a_sees = app
        .gql(
            Some(county.token("a_staff")),
            "query($id: ID!) { case(id: $id) { id } }",
            json!({"id": case}),
        )
        .await;
    assert_eq!(code(&a_sees), Some("NOT_FOUND"), "{a_sees}");

    // The sender asks again when the messages fall due, as a live subscription would: nothing
    // is sent, and the log says why.
    let _one = sender(&app, &[]);
    let log = || async {
        app.gql(
            Some(&a_admin),
            "{ webhookEndpoints { counts { pending delivered withheld } } }",
            json!({}),
        )
        .await
    };
    let mut counts = Value::Null;
    for _ in 0..100 {
        counts = log().await["data"]["webhookEndpoints"][0]["counts"].clone();
        if counts["pending"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counts, json!({"pending": 0, "delivered": 0, "withheld": 2}));
    assert_eq!(receiver.count(), 0, "nothing reached 县住建局's receiver");
}
