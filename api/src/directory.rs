//! This process's copy of who is signed in and of the units, so that a request does not ask
//! the database who its viewer is, nor what its cases' units are called — and of the reference
//! data every registration reads (subjects, a county's calendar and settings).
//!
//! Only on PostgreSQL, and only while it can be kept exact. Triggers on `sessions`, `users`
//! and `org_units` (migration 023), and on `subjects`, `calendar_days` and `county_settings`
//! (migration 029), send `NOTIFY xinfang_directory` inside every transaction that
//! revokes or ends a session, or changes an account's role, unit or standing, or any unit;
//! PostgreSQL delivers it when, and only if, that transaction commits, to every process. A
//! process that hears one forgets everything it kept. The copy is used only while its
//! listener is connected *and* has heard the process's own heartbeat (a notification sent
//! every [`HEARTBEAT`] on a connection of its own, carrying the time it was sent) sent less
//! than [`SILENCE`] ago. Notifications arrive in commit order, so that heartbeat proves every
//! change committed before it has been heard: a listener that fell behind, or a connection
//! that died without a word, stops the copy within [`SILENCE`], and a listener silent that long
//! is replaced. While it is not in use, every request asks the database, as on SQLite (where
//! statements run in the process and cost little). The domain functions that change sessions,
//! accounts, units or the reference data take the copy and forget it right after their commit,
//! without waiting for their own notification.
//!
//! A lookup that misses reads the database and keeps what it read only if nothing was forgotten
//! while it read ([`Directory::ticket`]): a revocation that committed during the read cannot be
//! undone by a stale answer arriving after it.

use crate::access::UnitScope;
use crate::domain::Role;
use crate::events::Bus;
use crate::identity::UnitRecord;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, DatabaseConnection};
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The notification channel the triggers and the heartbeat use.
pub const CHANNEL: &str = "xinfang_directory";
/// How often each process sends a heartbeat on the channel.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// How long the listener may hear nothing before the copy is set aside.
/// (The default of `--directory-silence-ms`.)
pub const SILENCE: Duration = Duration::from_millis(2_000);
/// Heartbeat payloads start with this; any other payload on [`CHANNEL`] is a change.
const HEARTBEAT_MARK: &str = "heartbeat:";
/// The longest any answer is kept, whatever the notifications say.
const MAX_AGE: Duration = Duration::from_secs(60);
/// Beyond this many sessions the copy starts again from empty (memory stays bounded).
const MAX_SESSIONS: usize = 50_000;

/// What a live session's bearer may do, as the database said when it was read.
#[derive(Clone, Debug)]
pub struct SessionFacts {
    pub user_id: i64,
    pub expires_at: DateTime<Utc>,
    pub role: Role,
    pub unit: Option<UnitScope>,
}

struct Kept<T> {
    value: T,
    at: Instant,
}

impl<T> Kept<T> {
    fn new(value: T) -> Self {
        Kept {
            value,
            at: Instant::now(),
        }
    }

    fn fresh(&self) -> bool {
        self.at.elapsed() < MAX_AGE
    }
}

/// Beyond this many pieces of reference data the copy of them starts again from empty.
const MAX_REFERENCE: usize = 4_096;

#[derive(Default)]
struct Copy {
    sessions: HashMap<String, Kept<SessionFacts>>,
    units: HashMap<i64, Kept<UnitRecord>>,
    /// Reference data by kind and key ([`Directory::reference`]).
    reference: HashMap<(&'static str, String), Kept<Arc<dyn Any + Send + Sync>>>,
}

pub struct Directory {
    /// PostgreSQL: the process listens (for events too, see [`Self::spawn_listener`]).
    postgres: bool,
    /// Off on SQLite, and when the operator turns it off.
    enabled: bool,
    copy: Mutex<Copy>,
    /// Counts every time the copy was forgotten.
    generation: AtomicU64,
    listening: AtomicBool,
    /// When the newest heartbeat of this process that the listener has heard was sent, in
    /// milliseconds since `origin`.
    heard: AtomicU64,
    origin: Instant,
    /// Tells this process's heartbeats from other processes'.
    nonce: String,
    /// How long the listener may go without hearing its own heartbeat ([`SILENCE`] unless
    /// configured).
    silence: Duration,
}

impl Directory {
    pub fn new(backend: DatabaseBackend, enabled: bool, silence: Duration) -> Self {
        Directory {
            postgres: backend == DatabaseBackend::Postgres,
            enabled: enabled && backend == DatabaseBackend::Postgres,
            copy: Mutex::default(),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            heard: AtomicU64::new(0),
            origin: Instant::now(),
            nonce: crate::auth::random_token()[..12].to_string(),
            silence,
        }
    }

    fn millis(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Whether the copy may be read and written now.
    pub fn in_use(&self) -> bool {
        self.enabled
            && self.listening.load(Ordering::Acquire)
            && self
                .millis()
                .saturating_sub(self.heard.load(Ordering::Acquire))
                < self.silence.as_millis() as u64
    }

    /// The `xinfang_directory_in_use` lines of `/metrics`.
    pub fn render(&self) -> String {
        format!(
            "# HELP xinfang_directory_in_use Whether this process answers who a viewer is from its notified copy.\n# TYPE xinfang_directory_in_use gauge\nxinfang_directory_in_use {}\n",
            u8::from(self.in_use())
        )
    }

    /// Taken before reading the database, handed back to [`Self::keep_session`] or
    /// [`Self::keep_units`] (and within [`Self::reference`]): `None` when the copy is not in
    /// use.
    pub fn ticket(&self) -> Option<u64> {
        self.in_use()
            .then(|| self.generation.load(Ordering::Acquire))
    }

    /// Drops everything kept. Anything read before this call is not kept afterwards.
    pub fn forget_all(&self) {
        if !self.enabled {
            return;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut copy) = self.copy.lock() {
            copy.sessions.clear();
            copy.units.clear();
            copy.reference.clear();
        }
    }

    /// The copy to read from: `None` while it is not in use.
    fn readable(&self) -> Option<MutexGuard<'_, Copy>> {
        if !self.in_use() {
            return None;
        }
        self.copy.lock().ok()
    }

    /// The copy to keep what was read under `ticket` in: `None` without a ticket, or when
    /// something was forgotten since it was taken (checked under the lock: `forget_all` bumps
    /// the generation before it clears).
    fn keepable(&self, ticket: Option<u64>) -> Option<MutexGuard<'_, Copy>> {
        let ticket = ticket?;
        let copy = self.copy.lock().ok()?;
        (self.in_use() && self.generation.load(Ordering::Acquire) == ticket).then_some(copy)
    }

    pub fn session(&self, session_id: &str) -> Option<SessionFacts> {
        let copy = self.readable()?;
        let kept = copy.sessions.get(session_id)?;
        kept.fresh().then(|| kept.value.clone())
    }

    pub fn keep_session(&self, ticket: Option<u64>, session_id: &str, facts: SessionFacts) {
        let Some(mut copy) = self.keepable(ticket) else {
            return;
        };
        if copy.sessions.len() >= MAX_SESSIONS {
            copy.sessions.clear();
        }
        copy.sessions
            .insert(session_id.to_string(), Kept::new(facts));
    }

    /// The units of `ids` this process holds, and the ids it must read.
    pub fn units(&self, ids: &[i64]) -> (HashMap<i64, UnitRecord>, Vec<i64>) {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        let copy = self.readable();
        for id in ids {
            match copy
                .as_ref()
                .and_then(|c| c.units.get(id))
                .filter(|k| k.fresh())
            {
                Some(kept) => {
                    found.insert(*id, kept.value.clone());
                }
                None => missing.push(*id),
            }
        }
        (found, missing)
    }

    pub fn keep_units<'a>(&self, ticket: Option<u64>, units: impl Iterator<Item = &'a UnitRecord>) {
        let Some(mut copy) = self.keepable(ticket) else {
            return;
        };
        for unit in units {
            copy.units.insert(unit.id, Kept::new(unit.clone()));
        }
    }

    /// Reference data that changes rarely and is read by every registration — the subject
    /// list, a county's calendar, a county's settings — from the copy when it holds it, or
    /// from `read`, whose answer is kept (when the copy is in use and nothing was forgotten
    /// meanwhile). `kind` names what is read and must be used with one type of answer only.
    /// Only for reads outside a transaction that changes the same data: the copy does not
    /// hold a transaction's own uncommitted writes. The tables' triggers (migration 029)
    /// make every process forget on any change.
    pub async fn reference<T, F, Fut>(
        &self,
        kind: &'static str,
        key: String,
        read: F,
    ) -> crate::error::Result<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = crate::error::Result<T>>,
    {
        if let Some(copy) = self.readable()
            && let Some(kept) = copy.reference.get(&(kind, key.clone()))
            && kept.fresh()
            && let Some(value) = kept.value.downcast_ref::<T>()
        {
            return Ok(value.clone());
        }
        let ticket = self.ticket();
        let value = read().await?;
        if let Some(mut copy) = self.keepable(ticket) {
            if copy.reference.len() >= MAX_REFERENCE {
                copy.reference.clear();
            }
            let kept: Arc<dyn Any + Send + Sync> = Arc::new(value.clone());
            copy.reference.insert((kind, key), Kept::new(kept));
        }
        Ok(value)
    }

    /// The process's one listening connection (PostgreSQL; nothing otherwise): it hears
    /// [`CHANNEL`] for this copy and the events channel for the [`Bus`]. It is a connection of
    /// its own, from a pool of one made for each attempt to listen: taken from the requests'
    /// pool, it left that pool one short for as long as the process ran, and a pool of one
    /// with nothing at all; and a listener given up on (silent too long) hands its connection
    /// back only once `UNLISTEN` has gone through, which on a dead connection may take as long
    /// as TCP takes to give up, so the next attempt does not wait for it. The heartbeat goes
    /// out on another connection of its own, so a busy pool cannot hold it up. Neither is
    /// counted as the requests' statements.
    pub fn spawn_listener(self: &std::sync::Arc<Self>, db: &DatabaseConnection, bus: Bus) {
        if !self.postgres {
            return;
        }
        let requests = db.get_postgres_connection_pool();
        let options = requests.connect_options();
        let listen_with = (*options).clone();
        let acquire_timeout = requests.options().get_acquire_timeout();
        let me = self.clone();
        let beat = self.clone();
        tokio::spawn(async move {
            use sea_orm::sqlx::Connection;
            loop {
                let mut conn =
                    match sea_orm::sqlx::postgres::PgConnection::connect_with(&options).await {
                        Ok(c) => c,
                        Err(_) => {
                            // Not heard, so the copy goes out of use; try again shortly.
                            tokio::time::sleep(HEARTBEAT).await;
                            continue;
                        }
                    };
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    let sent = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(beat.heartbeat())
                        .execute(&mut conn)
                        .await;
                    if sent.is_err() {
                        break;
                    }
                }
            }
        });
        tokio::spawn(async move {
            loop {
                let listening = sea_orm::sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(acquire_timeout)
                    .connect_lazy_with(listen_with.clone());
                me.listen(&listening, &bus).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// This process's heartbeat payload: a mark of its own and when it was sent.
    fn heartbeat(&self) -> String {
        format!("{HEARTBEAT_MARK}{}:{}", self.nonce, self.millis())
    }

    /// One connection's life: returns when it is lost, or when it has said nothing for longer
    /// than [`SILENCE`] (a connection that died without a word would otherwise wait for the
    /// kernel for hours). Events sent while it is down are lost to live subscribers, never to
    /// the record.
    async fn listen(&self, pool: &sea_orm::sqlx::PgPool, bus: &Bus) {
        use sea_orm::sqlx::postgres::PgListener;
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for account changes; asking the database on every request");
                return;
            }
        };
        // A lost connection must be seen, not quietly re-established with notifications lost.
        listener.eager_reconnect(false);
        if let Err(e) = listener.listen_all([CHANNEL, crate::events::CHANNEL]).await {
            tracing::error!(error = %e, "cannot LISTEN for account changes; asking the database on every request");
            return;
        }
        // Anything kept before this moment may have missed a notification. Until this
        // process hears its own next heartbeat, nothing is used.
        self.forget_all();
        self.listening.store(true, Ordering::Release);
        let own = format!("{HEARTBEAT_MARK}{}:", self.nonce);
        loop {
            // Dropping the read on a timeout is safe: the listener is dropped with it, and its
            // connection goes back to this attempt's pool, which nothing else uses.
            let next = tokio::time::timeout(self.silence, listener.try_recv()).await;
            match next {
                Ok(Ok(Some(n))) if n.channel() == CHANNEL => {
                    let payload = n.payload();
                    if let Some(sent) = payload.strip_prefix(own.as_str()) {
                        // Notifications arrive in commit order: once our heartbeat sent at
                        // `sent` is here, so is every change committed before it.
                        if let Ok(sent) = sent.parse::<u64>() {
                            self.heard.fetch_max(sent, Ordering::AcqRel);
                        }
                    } else if !payload.starts_with(HEARTBEAT_MARK) {
                        self.forget_all();
                    }
                }
                Ok(Ok(Some(n))) => bus.deliver(n.payload()),
                _ => {
                    self.listening.store(false, Ordering::Release);
                    self.forget_all();
                    tracing::warn!(
                        "the account-change listener lost its connection or fell silent; reconnecting"
                    );
                    return;
                }
            }
        }
    }

    #[cfg(test)]
    fn pretend_listening(&self) {
        self.heard.store(self.millis(), Ordering::Release);
        self.listening.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> SessionFacts {
        SessionFacts {
            user_id: 7,
            expires_at: Utc::now(),
            role: Role::Staff,
            unit: None,
        }
    }

    #[test]
    fn nothing_is_kept_on_sqlite_or_before_the_listener_is_up() {
        let sqlite = Directory::new(DatabaseBackend::Sqlite, true, SILENCE);
        sqlite.pretend_listening();
        assert_eq!(sqlite.ticket(), None);
        let pg = Directory::new(DatabaseBackend::Postgres, true, SILENCE);
        assert_eq!(pg.ticket(), None, "not listening yet");
        pg.keep_session(Some(0), "s", facts());
        pg.pretend_listening();
        assert!(pg.session("s").is_none());
    }

    #[test]
    fn a_read_that_overlaps_a_forget_is_not_kept() {
        let d = Directory::new(DatabaseBackend::Postgres, true, SILENCE);
        d.pretend_listening();
        let ticket = d.ticket();
        assert!(ticket.is_some());
        d.forget_all();
        d.keep_session(ticket, "s", facts());
        assert!(d.session("s").is_none());
        let ticket = d.ticket();
        d.keep_session(ticket, "s", facts());
        assert_eq!(d.session("s").map(|f| f.user_id), Some(7));
        d.forget_all();
        assert!(d.session("s").is_none());
    }

    #[test]
    fn silence_sets_the_copy_aside() {
        let mut d = Directory::new(DatabaseBackend::Postgres, true, SILENCE);
        d.origin = Instant::now() - Duration::from_secs(10);
        d.pretend_listening();
        d.keep_session(d.ticket(), "s", facts());
        assert!(d.session("s").is_some());
        // Heard ten seconds ago: as if the heartbeat had stopped arriving.
        d.heard.store(0, Ordering::Release);
        assert!(!d.in_use());
        assert!(d.session("s").is_none());
        assert_eq!(d.ticket(), None);
    }

    #[test]
    fn turned_off_keeps_nothing() {
        let d = Directory::new(DatabaseBackend::Postgres, false, SILENCE);
        d.pretend_listening();
        assert_eq!(d.ticket(), None);
    }
}
