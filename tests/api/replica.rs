//! Statistics and the export served by a real PostgreSQL streaming replica: a primary and a
//! standby the test starts itself (`initdb`, `pg_basebackup -R`, a second port), so that it
//! can pause the standby's replay and stop it.
//!
//! Runs in the PostgreSQL pass (`TEST_DATABASE_URL=postgres://…`), which needs PostgreSQL's
//! server programs (Debian: /usr/lib/postgresql/<version>/bin); the SQLite pass has no replica
//! to speak of and says so.

use crate::fixtures;
use crate::support::{TestApp, free_port, spawn_app_on};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The newest PostgreSQL server programs on the machine.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_basebackup").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop()
}

/// PostgreSQL refuses to run as root: as root, its programs run as the `postgres` account.
fn as_server_user(bin: &Path, program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin.join(program));
        cmd
    } else {
        Command::new(bin.join(program))
    }
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A primary and its streaming standby, stopped when dropped.
struct Pair {
    bin: PathBuf,
    dir: tempfile::TempDir,
    primary_port: u16,
    standby_port: u16,
}

impl Pair {
    fn start(bin: PathBuf) -> Pair {
        let dir = tempfile::tempdir().expect("a scratch directory");
        // The server account must own its directories.
        let ids = Command::new("id").args(["-u", "postgres"]).output();
        if let (Ok(uid), Ok(gid)) = (ids, Command::new("id").args(["-g", "postgres"]).output()) {
            let parse = |o: std::process::Output| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u32>()
                    .ok()
            };
            let _ = std::os::unix::fs::chown(dir.path(), parse(uid), parse(gid));
        }
        let root = dir.path().display().to_string();
        let (primary_port, standby_port) = (free_port(), free_port());
        let mut initdb = as_server_user(&bin, "initdb");
        initdb.args([
            "-D",
            &format!("{root}/primary"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        run(initdb, "initdb");
        let options = |port: u16| {
            format!(
                "-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
            )
        };
        let mut start = as_server_user(&bin, "pg_ctl");
        start.args([
            "-D",
            &format!("{root}/primary"),
            "-l",
            &format!("{root}/primary.log"),
            "-w",
            // pg_ctl waits 60 s by default; a loaded two-core machine has needed more.
            "-t",
            "300",
            "-o",
            &options(primary_port),
            "start",
        ]);
        run(start, "start the primary");
        let mut backup = as_server_user(&bin, "pg_basebackup");
        backup.args([
            "-h",
            "127.0.0.1",
            "-p",
            &primary_port.to_string(),
            "-U",
            "postgres",
            "-D",
            &format!("{root}/standby"),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ]);
        run(backup, "pg_basebackup");
        let mut start = as_server_user(&bin, "pg_ctl");
        start.args([
            "-D",
            &format!("{root}/standby"),
            "-l",
            &format!("{root}/standby.log"),
            "-w",
            // pg_ctl waits 60 s by default; a loaded two-core machine has needed more.
            "-t",
            "300",
            "-o",
            &options(standby_port),
            "start",
        ]);
        run(start, "start the standby");
        Pair {
            bin,
            dir,
            primary_port,
            standby_port,
        }
    }

    fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }

    fn stop(&self, which: &str) {
        let mut stop = as_server_user(&self.bin, "pg_ctl");
        stop.args([
            "-D",
            &format!("{}/{which}", self.dir.path().display()),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]);
        let _ = stop.output();
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.stop("standby");
        self.stop("primary");
    }
}

async fn on_standby(pair: &Pair, sql: &str) {
    let db = sea_orm::Database::connect(Pair::url(pair.standby_port))
        .await
        .expect("the standby answers");
    sea_orm::ConnectionTrait::execute_unprepared(&db, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Waits until the standby has replayed everything the primary had written when asked: a step
/// that needs the standby current (a role just created, replay just resumed) must not race its
/// replay, which a busy machine may hold back for longer than the server's lag bound.
async fn standby_caught_up(pair: &Pair) {
    let lsn =
        |row: Option<sea_orm::QueryResult>| row.unwrap().try_get::<String>("", "lsn").unwrap();
    let primary = sea_orm::Database::connect(Pair::url(pair.primary_port))
        .await
        .unwrap();
    let target = lsn(sea_orm::ConnectionTrait::query_one_raw(
        &primary,
        sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_current_wal_insert_lsn()::text AS lsn",
        ),
    )
    .await
    .unwrap());
    let standby = sea_orm::Database::connect(Pair::url(pair.standby_port))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let sql = format!(
            "SELECT (coalesce(pg_last_wal_replay_lsn() >= '{target}'::pg_lsn, false))::text AS lsn"
        );
        let row = sea_orm::ConnectionTrait::query_one_raw(
            &standby,
            sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql),
        )
        .await
        .unwrap();
        if lsn(row) == "true" {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the standby did not replay {target} within a minute"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// `xinfang_replica_reads_total` by outcome.
async fn reads(app: &TestApp) -> [u64; 4] {
    let text = app.metrics().await;
    ["replica", "lagging", "down", "failed"].map(|outcome| {
        let prefix = format!("xinfang_replica_reads_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix} in /metrics"))
            .parse()
            .unwrap()
    })
}

const STATS: &str = "{ statistics(from: \"2000-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") { total { cases } } }";

async fn cases_counted(app: &TestApp, token: &str) -> i64 {
    let body = app.gql(Some(token), STATS, json!({})).await;
    body["data"]["statistics"]["total"]["cases"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// The export's data rows (the header and the byte-order mark aside).
async fn exported(app: &TestApp, token: &str) -> Vec<String> {
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
    csv.split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn number(case: &(String, String)) -> &str {
    &case.1
}

#[tokio::test]
async fn statistics_and_export_come_from_the_replica_only_when_it_has_every_committed_write() {
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"));
    if !postgres {
        eprintln!("read replicas are a PostgreSQL matter: run with TEST_DATABASE_URL=postgres://…");
        return;
    }
    let bin = server_bin().expect("PostgreSQL's server programs (initdb, pg_basebackup)");
    let pair = Pair::start(bin);
    let standby = Pair::url(pair.standby_port);
    let app = spawn_app_on(
        &Pair::url(pair.primary_port),
        &[
            "--replica-database-url",
            &standby,
            "--replica-max-lag-ms",
            "300",
        ],
    )
    .await;
    let county = fixtures::county(&app).await;
    let bureau = county.token("bureau_staff");

    // Each count is asked right after the registration commits: the replica may serve it only
    // once it has replayed that registration, so the count is always the full one.
    let mut registered: Vec<(String, String)> = vec![];
    for i in 0..3 {
        registered
            .push(fixtures::register(&app, bureau, json!({"title": format!("副本{i}")})).await);
        assert_eq!(cases_counted(&app, bureau).await, registered.len() as i64);
    }
    let [replica, lagging, down, failed] = reads(&app).await;
    assert_eq!(replica + lagging, 3, "every count asked where to go");
    assert!(
        replica >= 1,
        "the caught-up replica served counts ({replica} of 3)"
    );
    assert_eq!((down, failed), (0, 0));
    let rows = exported(&app, bureau).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        registered
            .iter()
            .all(|c| rows.iter().any(|r| r.starts_with(number(c))))
    );
    let counted = reads(&app).await;
    assert_eq!(counted[0] + counted[1], 4, "{counted:?}");

    // A replica that answers but cannot read the tables (its URL names a role without the
    // right): each read fails there and is answered by the primary, the export page by page.
    app.sql("CREATE ROLE outsider LOGIN").await;
    standby_caught_up(&pair).await;
    // (A replica that failed is left alone for a while, so each read gets a server of its own.)
    for read in ["statistics", "export"] {
        let narrow = spawn_app_on(
            &Pair::url(pair.primary_port),
            &[
                "--replica-database-url",
                &format!(
                    "postgres://outsider@127.0.0.1:{}/postgres",
                    pair.standby_port
                ),
                "--replica-max-lag-ms",
                "30000",
            ],
        )
        .await;
        if read == "statistics" {
            assert_eq!(cases_counted(&narrow, bureau).await, 3);
        } else {
            let rows = exported(&narrow, bureau).await;
            assert_eq!(rows.len(), 3, "the export, from the primary: {rows:?}");
        }
        assert_eq!(
            reads(&narrow).await,
            [0, 0, 0, 1],
            "{read}: failed on the replica, answered by the primary"
        );
    }

    // The standby stops replaying: a registration it has not seen sends the count to the
    // primary, after the lag bound.
    on_standby(&pair, "SELECT pg_wal_replay_pause()").await;
    // Pausing takes effect a moment later.
    let standby_db = sea_orm::Database::connect(&standby).await.unwrap();
    loop {
        let state = sea_orm::ConnectionTrait::query_one_raw(
            &standby_db,
            sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_get_wal_replay_pause_state() AS s",
            ),
        )
        .await
        .unwrap()
        .unwrap();
        if state.try_get::<String>("", "s").unwrap() == "paused" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(standby_db);
    registered.push(fixtures::register(&app, bureau, json!({"title": "副本3"})).await);
    let before = reads(&app).await;
    let started = std::time::Instant::now();
    assert_eq!(cases_counted(&app, bureau).await, 4);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let after = reads(&app).await;
    assert_eq!(
        after[1],
        before[1] + 1,
        "counted as lagging: {before:?} → {after:?}"
    );
    assert_eq!(after[0], before[0]);
    let rows = exported(&app, bureau).await;
    assert_eq!(
        rows.len(),
        4,
        "the export from the primary has the new case"
    );

    // Replay resumes: the replica catches up and serves again.
    on_standby(&pair, "SELECT pg_wal_replay_resume()").await;
    standby_caught_up(&pair).await;
    let before = reads(&app).await;
    assert_eq!(cases_counted(&app, bureau).await, 4);
    assert_eq!(
        reads(&app).await[0],
        before[0] + 1,
        "the replica serves again"
    );

    // The standby goes away: reads fall back to the primary and writes carry on.
    pair.stop("standby");
    registered.push(fixtures::register(&app, bureau, json!({"title": "副本4"})).await);
    let before = reads(&app).await;
    assert_eq!(cases_counted(&app, bureau).await, 5);
    assert_eq!(exported(&app, bureau).await.len(), 5);
    let after = reads(&app).await;
    assert_eq!(
        after[0], before[0],
        "nothing was served by a stopped replica"
    );
    assert_eq!(
        (after[2] + after[3]) - (before[2] + before[3]),
        2,
        "both reads counted as down or failed: {before:?} → {after:?}"
    );
}
