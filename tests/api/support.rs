//! The test app: the real server on a free port with a fresh database, and a GraphQL client.
//!
//! The database is a temporary SQLite file, or — when `TEST_DATABASE_URL` names a PostgreSQL
//! server — a fresh database created for the test and dropped after it.

use serde_json::{Value, json};
use std::sync::Arc;
use xinfang_api::access::Viewer;
use xinfang_api::clock::Clock;
use xinfang_api::config::Cli;
use xinfang_api::state::AppState;

pub const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long!";
pub const PASSWORD: &str = "correct horse battery";
/// The test servers' checkpoint key: an Ed25519 seed of 32 bytes of 7, base64.
pub const AUDIT_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// A database the test made itself and removes itself.
    Given,
}

/// A process a test started (a second server, say), stopped when the test ends however it
/// ends: a failed assertion unwinds past any `kill` written after it.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside any runtime we may block on: use a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(db) = sea_orm::Database::connect(&admin_url).await {
                        use sea_orm::ConnectionTrait;
                        let _ = db
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

async fn fresh_database() -> (String, TestDb) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            use sea_orm::ConnectionTrait;
            let name = format!("xinfang_test_{}", hex_id());
            let admin = sea_orm::Database::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .expect("a database URL with a path");
            (
                format!("{base}/{name}"),
                TestDb::Postgres { admin_url, name },
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, TestDb::Sqlite(dir))
        }
    }
}

fn hex_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}{n}", std::process::id(), t)
}

/// The `xinfang` binary, with none of the test process's configuration leaking into it.
pub fn xinfang() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xinfang"));
    for (k, _) in std::env::vars() {
        if k.starts_with("XINFANG_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    // Attachments go to a scratch directory, not into the working tree (a flag wins).
    cmd.env(
        "XINFANG_STORAGE_DIR",
        std::env::temp_dir().join("xinfang-test-files"),
    );
    cmd
}

/// `xinfang serve` on `host:port` over a fresh SQLite file at `db`, for tests that need the
/// real process (its own logs, its own memory).
pub fn serve_sqlite(host: &str, port: u16, db: &std::path::Path) -> std::process::Command {
    let mut cmd = xinfang();
    cmd.args([
        "serve",
        "--bind",
        &format!("{host}:{port}"),
        "--database-url",
    ])
    .arg(format!("sqlite://{}?mode=rwc", db.display()));
    cmd
}

/// A loopback port that was free a moment ago, for a server the test starts itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct TestApp {
    pub url: String,
    /// The database the server uses (for tests that run the binary against it).
    pub db_url: String,
    pub client: reqwest::Client,
    pub state: Arc<AppState>,
    _db: TestDb,
    /// The attachments' directory (unless the test named its own store).
    _files: Option<tempfile::TempDir>,
}

/// Options for the server under test, as command-line flags.
pub fn spawn_app() -> impl std::future::Future<Output = TestApp> {
    spawn_app_with(&[])
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let (url, db) = fresh_database().await;
    spawn_on(url, db, extra).await
}

/// The server under test on a database the test provides (a PostgreSQL cluster of its own).
pub async fn spawn_app_on(url: &str, extra: &[&str]) -> TestApp {
    spawn_on(url.to_string(), TestDb::Given, extra).await
}

async fn spawn_on(url: String, db: TestDb, extra: &[&str]) -> TestApp {
    // Server logs only when asked for: XINFANG_LOG=debug cargo test … -- --nocapture
    if std::env::var("XINFANG_LOG").is_ok() {
        xinfang_api::cli::init_tracing(xinfang_api::config::LogFormat::Pretty);
    }
    let mut args = vec![
        "xinfang",
        "--database-url",
        &url,
        "--bind",
        "127.0.0.1:0",
        "--jwt-secret",
        SECRET,
    ];
    if !extra.contains(&"--deadline-scan-seconds") {
        args.extend(["--deadline-scan-seconds", "1"]);
    }
    // Tests fold statistics days when they mean to (`stat_days::fold`), so that which days
    // are folded never depends on timing.
    if !extra.contains(&"--statistics-fold-seconds") {
        args.extend(["--statistics-fold-seconds", "0"]);
    }
    if !extra.contains(&"production") {
        args.push("--test-clock");
    } else if !extra.contains(&"--audit-key") {
        args.extend(["--audit-key", AUDIT_KEY]);
    }
    let files = if extra.contains(&"--storage-dir") || extra.contains(&"--s3-bucket") {
        None
    } else {
        Some(tempfile::tempdir().expect("temp dir for files"))
    };
    let files_dir = files.as_ref().map(|d| d.path().display().to_string());
    if let Some(dir) = &files_dir {
        args.extend(["--storage-dir", dir]);
    }
    args.extend_from_slice(extra);
    let cli = <Cli as clap::Parser>::try_parse_from(args).expect("valid test flags");
    let clock = Arc::new(if cli.settings.test_clock {
        Clock::movable()
    } else {
        Clock::system()
    });
    let state = xinfang_api::cli::build_state(cli.settings, clock)
        .await
        .expect("the server starts");
    let (server, addr) =
        xinfang_api::cli::start_server(state.clone(), "127.0.0.1:0").expect("bind");
    tokio::spawn(server);
    TestApp {
        url: format!("http://{addr}"),
        db_url: url.clone(),
        client: reqwest::Client::new(),
        state,
        _db: db,
        _files: files,
    }
}

impl TestApp {
    /// Whether the suite runs on PostgreSQL (`TEST_DATABASE_URL`) rather than SQLite.
    pub fn on_postgres(&self) -> bool {
        self.db_url.starts_with("postgres")
    }

    /// The text of `/metrics` (Prometheus exposition format).
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// POSTs a GraphQL request and returns the whole JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_at(&self.url, token, query, variables).await
    }

    /// POSTs a GraphQL request to another server (`url`: its base address) with this test's
    /// client, and returns the whole JSON body.
    pub async fn gql_at(
        &self,
        url: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut req = self
            .client
            .post(format!("{url}/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        res.json().await.expect("a JSON body")
    }

    pub fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.state.db
    }

    /// Waits (up to 10 s) until the server has linked every timeline entry into its
    /// county's chain (it does so just after each commit).
    pub async fn linked(&self) {
        use sea_orm::{EntityTrait, PaginatorTrait};
        for _ in 0..200 {
            let pending = xinfang_entity::chain_pending::Entity::find()
                .count(self.db())
                .await
                .unwrap();
            if pending == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("timeline entries still await their county link after 10 s");
    }

    /// The one whole number a query answers (a count, an id), on the server's database.
    pub async fn number(&self, sql: &str) -> i64 {
        sea_orm::ConnectionTrait::query_one_raw(
            self.db(),
            sea_orm::Statement::from_string(self.db().get_database_backend(), sql.to_string()),
        )
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"))
        .try_get_by_index(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs SQL on the server's database as another program would (an operator's `psql`).
    pub async fn sql(&self, sql: &str) {
        sea_orm::ConnectionTrait::execute_unprepared(self.db(), sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Signs an account in directly (real session, real JWT) and returns its access token.
    pub async fn token_for(&self, user_id: i64) -> String {
        use sea_orm::EntityTrait;
        let account = xinfang_entity::user::Entity::find_by_id(user_id)
            .one(self.db())
            .await
            .unwrap()
            .expect("account exists");
        let tokens = xinfang_api::auth::start_session(
            self.db(),
            &self.state.auth,
            self.state.clock.now(),
            account,
        )
        .await
        .expect("session");
        tokens.access_token
    }

    pub async fn viewer(&self, user_id: i64) -> Viewer {
        use sea_orm::EntityTrait;
        let account = xinfang_entity::user::Entity::find_by_id(user_id)
            .one(self.db())
            .await
            .unwrap()
            .expect("account exists");
        xinfang_api::auth::viewer_for(self.db(), &account, "fixture".into())
            .await
            .unwrap()
            .expect("viewer")
    }

    /// The attachments' directory of this server, when the test did not name a store.
    pub fn files_dir(&self) -> Option<&std::path::Path> {
        self._files.as_ref().map(|d| d.path())
    }

    pub fn advance_days(&self, days: i64) {
        assert!(
            self.state.clock.advance(chrono::TimeDelta::days(days)),
            "the test clock is movable"
        );
    }
}

/// The first error's `extensions.code`, if any.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

pub fn field(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["field"].as_str()
}

pub fn gid(kind: &str, id: i64) -> String {
    xinfang_api::graphql::global_id(kind, id).0
}

/// Builds a valid resident ID number from 17 digits by computing the GB 11643 check digit.
pub fn id_number(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{first17}{}", C[(sum % 11) as usize] as char)
}

/// A `graphql-transport-ws` client, as a browser or app would use it.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

pub enum WsEvent {
    Message(Value),
    Closed(u16),
    Nothing,
}

impl Ws {
    /// Opens `/graphql/ws` (with an optional `Origin`) and sends `connection_init`.
    pub async fn open(app_url: &str, token: &str, origin: Option<&str>) -> Result<Ws, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("{}/graphql/ws", app_url.replace("http://", "ws://"))
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        if let Some(o) = origin {
            request.headers_mut().insert("origin", o.parse().unwrap());
        }
        let (stream, _) = match tokio_tungstenite::connect_async(request).await {
            Ok(ok) => ok,
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                return Err(res.status().as_u16());
            }
            Err(e) => panic!("websocket: {e}"),
        };
        let mut ws = Ws { stream };
        ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
        Ok(ws)
    }

    pub async fn send(&mut self, value: Value) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::Text(
                value.to_string().into(),
            ))
            .await
            .unwrap();
    }

    /// The next protocol message, a close, or nothing within `wait`.
    pub async fn next(&mut self, wait: std::time::Duration) -> WsEvent {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return WsEvent::Nothing,
                Ok(None) => return WsEvent::Closed(1006),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return WsEvent::Message(serde_json::from_str(&t).unwrap());
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return WsEvent::Closed(frame.map(|f| u16::from(f.code)).unwrap_or(1005));
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) => return WsEvent::Closed(1006),
            }
        }
    }

    /// Expects `connection_ack`.
    pub async fn acked(&mut self) {
        match self.next(std::time::Duration::from_secs(5)).await {
            WsEvent::Message(m) if m["type"] == "connection_ack" => {}
            WsEvent::Message(m) => panic!("expected connection_ack, got {m}"),
            WsEvent::Closed(code) => panic!("closed with {code} instead of acknowledging"),
            WsEvent::Nothing => panic!("no connection_ack"),
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})).await;
    }

    /// The payload of the next `next` message of subscription `id` (panics on anything else
    /// but a timeout, which returns None).
    pub async fn next_data(&mut self, wait: std::time::Duration) -> Option<Value> {
        match self.next(wait).await {
            WsEvent::Message(m) if m["type"] == "next" => Some(m["payload"]["data"].clone()),
            WsEvent::Message(m) => panic!("unexpected message {m}"),
            WsEvent::Closed(code) => panic!("closed with {code}"),
            WsEvent::Nothing => None,
        }
    }
}

/// Waits up to 30 s until `GET url` answers 200 — a server process the test started is up.
pub async fn answers_ok(url: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// The code of the close frame a socket ends with, waiting at most `secs`; `None` when it
/// ends without one. Panics when the socket is still open by then.
pub async fn close_code<S, E>(socket: &mut S, secs: u64) -> Option<u16>
where
    S: futures_util::Stream<Item = Result<tokio_tungstenite::tungstenite::Message, E>> + Unpin,
{
    use futures_util::StreamExt;
    tokio::time::timeout(std::time::Duration::from_secs(secs), async {
        while let Some(Ok(message)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(frame) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("the socket is closed, not left open")
}

/// An RFC 3339 instant as the API writes it.
pub fn parse_instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_utc()
}

/// A real S3-compatible server (s3s-fs: the S3 API over a directory) on a free loopback
/// port, with one bucket, `xinfang`. Returns its URL and the directory behind it.
pub async fn s3_server(access_key: &str, secret_key: &str) -> (String, tempfile::TempDir) {
    let root = tempfile::tempdir().expect("temp dir for S3");
    std::fs::create_dir_all(root.path().join("xinfang")).expect("the bucket");
    let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret_key));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind S3");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    (url, root)
}
