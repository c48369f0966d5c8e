//! Publishing what happened to subscribers, inside one process and across processes.
//!
//! Every committed timeline entry (and every deadline notice) becomes an [`Event`]. With
//! SQLite — one process — events go straight to an in-process broadcast channel after the
//! transaction commits. With PostgreSQL they travel as `NOTIFY xinfang_events` issued *inside*
//! the transaction, so PostgreSQL delivers them exactly when (and only if) the change commits,
//! to every `xinfang` process listening on the database, this one included; each process's
//! listener re-broadcasts them locally.
//!
//! An event carries ids, never content: subscribers re-read what they may see through the
//! access scope. This module knows no rules.

use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

pub const CHANNEL: &str = "xinfang_events";

/// Why an event belongs in a unit's inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InboxKind {
    /// 转送 — a case was transferred to the unit.
    Referral,
    /// 交办 — a case was assigned to the unit, with a report due.
    Assignment,
    /// 异议 — a unit the case was sent to objects; the sender (or the bureau) decides.
    Objection,
    /// 异议处理 — an objection was decided.
    ObjectionResolved,
    /// 督办 — a supervision order for the unit.
    Supervision,
    /// 批示 — a leader's instruction on a case the unit is in charge of.
    Instruction,
    /// 临期预警 — a deadline falls within 3 days.
    DeadlineWarning,
    /// 超期 — a deadline has passed.
    DeadlineOverdue,
    /// 案件动态 — a public step on a petitioner's own case.
    CaseEvent,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub case_id: i64,
    /// The timeline entry, when the event is one.
    pub entry_id: Option<i64>,
    pub action: String,
    /// Whether petitioners may see it.
    pub public: bool,
    pub at: DateTime<Utc>,
    /// The unit whose inbox it belongs in, and why.
    pub inbox_unit: Option<i64>,
    pub inbox_kind: Option<InboxKind>,
    pub referral_id: Option<i64>,
    /// For deadline notices: which deadline and when it falls.
    pub deadline: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
}

impl Event {
    /// The event of a timeline entry that goes to no inbox.
    pub fn of_entry(
        case_id: i64,
        entry_id: i64,
        action: &str,
        public: bool,
        at: DateTime<Utc>,
    ) -> Event {
        Event {
            case_id,
            entry_id: Some(entry_id),
            action: action.to_string(),
            public,
            at,
            inbox_unit: None,
            inbox_kind: None,
            referral_id: None,
            deadline: None,
            due_at: None,
        }
    }
}

/// How long a task that wakes on events waits for the rest of a burst before it looks at the
/// database again: under load commits come hundreds a second, and without the pause each
/// would cost the linker (or the webhook sender) a round of its own.
pub const GATHER: std::time::Duration = std::time::Duration::from_millis(50);

/// Waits [`GATHER`], then drops the events waiting in a receiver (missed ones included), for a
/// task that wakes on events only to look at the database again.
pub async fn gather(events: &mut broadcast::Receiver<Event>) {
    tokio::time::sleep(GATHER).await;
    use broadcast::error::TryRecvError;
    while !matches!(
        events.try_recv(),
        Err(TryRecvError::Empty | TryRecvError::Closed)
    ) {}
}

/// The event bus of one process.
#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Event>,
    backend: DatabaseBackend,
}

impl Bus {
    pub fn new(backend: DatabaseBackend) -> Self {
        // Slow subscribers that fall this far behind miss events (and are told so by the
        // channel); the record itself is never lost, only the live notification.
        let (local, _) = broadcast::channel(1024);
        Bus { local, backend }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    /// Hands an event to the database inside the writing transaction (PostgreSQL), so it is
    /// delivered when, and only if, the transaction commits.
    pub async fn stage(&self, tx: &impl ConnectionTrait, event: &Event) -> Result<()> {
        if self.backend == DatabaseBackend::Postgres {
            let payload =
                serde_json::to_string(event).map_err(|e| crate::error::internal(e.to_string()))?;
            tx.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// After the commit: with SQLite, publish to this process's subscribers.
    pub fn committed(&self, event: Event) {
        if self.backend != DatabaseBackend::Postgres {
            // No subscriber is not an error.
            let _ = self.local.send(event);
        }
    }

    /// An event another process (or this one) sent through PostgreSQL, handed to this
    /// process's subscribers. The listening connection is the directory's
    /// ([`crate::directory::Directory::spawn_listener`]).
    pub fn deliver(&self, payload: &str) {
        match serde_json::from_str::<Event>(payload) {
            Ok(event) => {
                // No subscriber is not an error.
                let _ = self.local.send(event);
            }
            Err(e) => tracing::error!(error = %e, "malformed event notification"),
        }
    }
}
