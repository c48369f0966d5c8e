//! GraphiQL on an intranet: the page and everything it loads come from the server itself. A
//! real headless Chromium (Debian's `chromium`), driven over the DevTools protocol, with every
//! host name but the loopback address made unresolvable, loads `/graphiql`, runs
//! `{ __typename }`, then a query signed in through the header editor.
//!
//! The browser is found at `XINFANG_BROWSER`, else `/usr/bin/chromium`. Without one the test
//! says so and passes, unless `XINFANG_REQUIRE_BROWSER` is set — as CI sets it, after
//! installing Chromium.

use crate::fixtures;
use crate::support::spawn_app;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::BufRead;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn browser() -> Option<String> {
    let path = std::env::var("XINFANG_BROWSER").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if std::path::Path::new(&path).exists() {
        return Some(path);
    }
    assert!(
        std::env::var("XINFANG_REQUIRE_BROWSER").is_err(),
        "no browser at {path}: install Debian's chromium (apt-get install chromium) or set XINFANG_BROWSER"
    );
    eprintln!("skipping the GraphiQL browser test: no browser at {path}");
    None
}

/// The browser process and its profile. Fields drop in order: the process is stopped before
/// its profile directory is removed.
struct Browser {
    _process: crate::support::Running,
    _profile: tempfile::TempDir,
}

/// A DevTools connection to one page.
struct Page {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Page {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.socket
            .send(Message::Text(
                json!({"id": id, "method": method, "params": params})
                    .to_string()
                    .into(),
            ))
            .await
            .expect("send to the browser");
        loop {
            let message = tokio::time::timeout(Duration::from_secs(20), self.socket.next())
                .await
                .expect("the browser answers")
                .expect("the socket is open")
                .expect("a frame");
            let Message::Text(text) = message else {
                continue;
            };
            let v: Value = serde_json::from_str(text.as_str()).expect("JSON from the browser");
            if v["id"] == id {
                assert!(v["error"].is_null(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluates an expression in the page and returns its value.
    async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Waits until an expression is truthy; returns its last value.
    async fn until(&mut self, expression: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            last = self.eval(expression).await;
            if last.as_bool() == Some(true) || last.as_str().is_some_and(|s| !s.is_empty()) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never true in the page: {expression} (last {last})");
    }
}

async fn open_browser(path: &str) -> (Browser, Page) {
    let profile = tempfile::tempdir().expect("a browser profile");
    let mut child = std::process::Command::new(path)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            // No way out: every name but the loopback address fails to resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the browser");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let browser = Browser {
        _process: crate::support::Running(child),
        _profile: profile,
    };
    let endpoint = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the browser's DevTools address");
    let port = endpoint
        .trim_start_matches("ws://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let targets: Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
        .await
        .expect("the target list")
        .json()
        .await
        .unwrap();
    let page_url = targets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "page")
        .and_then(|t| t["webSocketDebuggerUrl"].as_str())
        .expect("a page")
        .to_string();
    let (socket, _) = tokio_tungstenite::connect_async(page_url)
        .await
        .expect("connect to the page");
    (browser, Page { socket, next_id: 0 })
}

/// Puts `query` into the query editor and presses the run button — after a pause, as a person
/// would: the editor parses what was typed a moment later, and GraphiQL decides by that parse
/// whether an operation is a subscription (and goes over the socket).
async fn type_and_run(page: &mut Page, query: &str) {
    let set = format!(
        "(() => {{ document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue({});
            return true; }})()",
        serde_json::to_string(query).unwrap()
    );
    assert_eq!(page.eval(&set).await, true);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let click =
        "(() => { document.querySelector('.graphiql-execute-button').click(); return true; })()";
    assert_eq!(page.eval(click).await, true);
}

/// The text of the response pane after running `query` (with the header editor as it is).
async fn run(page: &mut Page, query: &str, expect: &str) -> String {
    type_and_run(page, query).await;
    let read = format!(
        "(() => {{ const r = document.querySelector('.graphiql-response .CodeMirror');
            const text = r ? r.CodeMirror.getValue() : '';
            return text.includes({}) ? text : ''; }})()",
        serde_json::to_string(expect).unwrap()
    );
    page.until(&read).await.as_str().unwrap().to_string()
}

#[tokio::test]
async fn graphiql_renders_and_runs_queries_with_no_network() {
    let Some(path) = browser() else {
        return;
    };
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (_browser, mut page) = open_browser(&path).await;
    page.call("Page.enable", json!({})).await;
    page.call(
        "Page.navigate",
        json!({"url": format!("{}/graphiql", app.url)}),
    )
    .await;
    page.until("!!document.querySelector('.graphiql-query-editor .CodeMirror')")
        .await;

    let answer = run(&mut page, "{ __typename }", "QueryRoot").await;
    let v: Value = serde_json::from_str(&answer).expect("the response pane holds JSON");
    assert_eq!(v, json!({"data": {"__typename": "QueryRoot"}}));

    // The header editor is there, prefilled for a bearer token; with one, the query runs as
    // that account.
    let token = county.token("bureau_staff");
    let set_headers = format!(
        "(() => {{ const cm = [...document.querySelectorAll('.CodeMirror')].map(e => e.CodeMirror)
              .find(cm => cm.getValue().includes('\"Authorization\": \"Bearer \"'));
            if (!cm) return false;
            cm.setValue(JSON.stringify({{Authorization: 'Bearer {token}'}})); return true; }})()"
    );
    assert_eq!(
        page.eval(&set_headers).await,
        true,
        "a prefilled header editor"
    );
    let answer = run(&mut page, "{ viewer { username } }", "bureau_staff").await;
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(v["data"]["viewer"]["username"], "bureau_staff", "{v}");

    // Subscriptions go over the socket, signed in with the same header: a step taken on the
    // case elsewhere shows in the response pane.
    let (case, _) = fixtures::register(&app, token, json!({})).await;
    let subscribe = format!("subscription {{ caseEvents(caseId: \"{case}\") {{ action }} }}");
    type_and_run(&mut page, &subscribe).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let v = fixtures::version(&app, token, &case).await;
    fixtures::ok(&app, token, "transferCase",
        json!({"caseId": case, "expectedVersion": v, "toUnitId": crate::support::gid("OrgUnit", county.dept_a), "mode": "TRANSFER", "reason": "职能"}),
        "referral { id }").await;
    let pane = page
        .until(
            "(() => { const r = document.querySelector('.graphiql-response .CodeMirror');
               const t = r ? r.CodeMirror.getValue() : ''; return t.includes('TRANSFER') ? t : ''; })()",
        )
        .await;
    assert!(
        pane.as_str().unwrap().contains("\"action\": \"TRANSFER\""),
        "{pane}"
    );

    // Everything the page loaded came from the server itself.
    let loaded = page
        .eval("JSON.stringify(performance.getEntriesByType('resource').map(e => e.name))")
        .await;
    let loaded: Vec<String> = serde_json::from_str(loaded.as_str().unwrap()).unwrap();
    assert!(
        loaded
            .iter()
            .filter(|u| u.contains("/graphiql/assets/"))
            .count()
            >= 5,
        "{loaded:?}"
    );
    assert!(
        loaded.iter().all(|u| u.starts_with(&app.url)),
        "loaded from elsewhere: {loaded:?}"
    );
}
