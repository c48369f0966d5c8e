//! Reads served by a PostgreSQL streaming replica (`--replica-database-url`): statistics and
//! the CSV export, which read much and change nothing.
//!
//! A read goes to the replica only when the replica has replayed everything the primary had
//! written when the read began: the primary's WAL insert position is read first (one short
//! statement), and the replica must have replayed up to it. (The insert position, not the
//! flush position: a deployment that acknowledges commits before they are flushed,
//! `synchronous_commit = off`, still never reads past a caller's own write.) Every commit a client has been
//! told about is at or before that position, so a read never misses the caller's own
//! committed writes, nor anybody else's that finished before it. A replica that is behind is
//! given up to `--replica-max-lag-ms` to catch up; past that, or when it cannot be reached,
//! or when the read fails there, the read runs on the primary. A replica that failed is left
//! alone for a few seconds before it is tried again. Nothing ever writes through it.

use crate::db::DbSettings;
use crate::error::Result;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a replica that failed is left alone.
const REST: Duration = Duration::from_secs(5);
/// How often a lagging replica is asked again while a read waits for it.
const POLL: Duration = Duration::from_millis(5);

/// Where a read went, and why (the `outcome` label of `xinfang_replica_reads_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Served by the replica.
    Replica,
    /// The replica had not caught up within the bound: the primary served it.
    Lagging,
    /// The replica could not be reached (now or a moment ago): the primary served it.
    Down,
    /// The read failed on the replica and was run again on the primary.
    Failed,
}

const OUTCOMES: [(Outcome, &str); 4] = [
    (Outcome::Replica, "replica"),
    (Outcome::Lagging, "lagging"),
    (Outcome::Down, "down"),
    (Outcome::Failed, "failed"),
];

pub struct Replica {
    db: DatabaseConnection,
    max_lag: Duration,
    resting_until: Mutex<Option<Instant>>,
    counts: [AtomicU64; 4],
}

impl Replica {
    /// Prepares the replica's pool without connecting: a replica that is down when the server
    /// starts only sends reads to the primary.
    pub async fn open(settings: &DbSettings, max_lag: Duration) -> Result<Replica> {
        let db = crate::db::connect_lazy(settings).await?;
        Ok(Replica {
            db,
            max_lag,
            resting_until: Mutex::new(None),
            counts: Default::default(),
        })
    }

    fn count(&self, outcome: Outcome) {
        let i = OUTCOMES
            .iter()
            .position(|(o, _)| *o == outcome)
            .unwrap_or(0);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    fn resting(&self) -> bool {
        self.resting_until
            .lock()
            .map(|r| r.is_some_and(|t| Instant::now() < t))
            .unwrap_or(true)
    }

    fn rest(&self) {
        if let Ok(mut r) = self.resting_until.lock() {
            *r = Some(Instant::now() + REST);
        }
    }

    /// The connection for a read that may be served by the replica, and whether it is the
    /// replica's.
    pub async fn choose(&self, primary: &DatabaseConnection) -> Result<(DatabaseConnection, bool)> {
        if self.resting() {
            self.count(Outcome::Down);
            return Ok((primary.clone(), false));
        }
        let flushed = primary
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT pg_current_wal_insert_lsn()::text AS lsn",
            ))
            .await?
            .and_then(|row| row.try_get::<String>("", "lsn").ok());
        let Some(flushed) = flushed else {
            self.count(Outcome::Down);
            return Ok((primary.clone(), false));
        };
        let started = Instant::now();
        loop {
            let caught_up = self
                .db
                .query_one_raw(Statement::from_sql_and_values(
                    DatabaseBackend::Postgres,
                    "SELECT pg_is_in_recovery() AS standby, \
                     coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS ok",
                    [flushed.clone().into()],
                ))
                .await
                .map(|row| {
                    row.and_then(|r| {
                        Some((
                            r.try_get::<bool>("", "standby").ok()?,
                            r.try_get::<bool>("", "ok").ok()?,
                        ))
                    })
                });
            match caught_up {
                Ok(Some((false, _))) => {
                    tracing::error!(
                        "the replica URL names a server that is not a standby; reading from the primary"
                    );
                    self.rest();
                    self.count(Outcome::Down);
                    return Ok((primary.clone(), false));
                }
                Ok(Some((true, true))) => return Ok((self.db.clone(), true)),
                Ok(_) if started.elapsed() + POLL <= self.max_lag => {
                    tokio::time::sleep(POLL).await;
                }
                Ok(_) => {
                    self.count(Outcome::Lagging);
                    return Ok((primary.clone(), false));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the read replica cannot be reached; reading from the primary");
                    self.rest();
                    self.count(Outcome::Down);
                    return Ok((primary.clone(), false));
                }
            }
        }
    }

    /// A read chosen for the replica was answered there.
    pub fn served(&self) {
        self.count(Outcome::Replica);
    }

    /// A read failed on the replica and is being run again on the primary.
    pub fn failed(&self, error: &crate::error::AppError) {
        tracing::warn!(
            error = error.message_for_operator(),
            "a read failed on the replica; running it on the primary"
        );
        self.rest();
        self.count(Outcome::Failed);
    }

    /// The `xinfang_replica_reads_total` lines of `/metrics`.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP xinfang_replica_reads_total Reads that could go to the replica, by where they went.\n# TYPE xinfang_replica_reads_total counter\n",
        );
        for (i, (_, label)) in OUTCOMES.iter().enumerate() {
            out.push_str(&format!(
                "xinfang_replica_reads_total{{outcome=\"{label}\"}} {}\n",
                self.counts[i].load(Ordering::Relaxed)
            ));
        }
        out
    }
}
