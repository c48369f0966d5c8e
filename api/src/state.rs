//! What every request shares: the database, the clock, the auth keys, the settings and the
//! metrics.

use crate::auth::AuthConfig;
use crate::clock::Clock;
use crate::config::Settings;
use crate::events::Bus;
use crate::metrics::Metrics;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The database handle (a pool), as the layers above the domain name it.
pub type Db = DatabaseConnection;

pub struct AppState {
    pub db: Db,
    /// The pool for read requests' statements: a list's page, one case, what their fields
    /// read by id (one generic plan per statement on PostgreSQL; [`crate::db::connect_pages`]).
    /// Never for a write, and never for statistics or a search.
    pub pages: Db,
    /// One connection for the audit linker ([`crate::audit::link_pending`]), not counted.
    pub linker: Db,
    pub clock: Arc<Clock>,
    pub auth: AuthConfig,
    /// Parsed documents kept by the hash of their text (and automatic persisted queries).
    pub documents: Arc<crate::graphql::Documents>,
    /// Where attachments' bytes are kept.
    pub storage: crate::storage::Storage,
    /// Signs checkpoints of the audit chains (none in dev without a key).
    pub signer: Option<crate::audit::Signer>,
    pub settings: Settings,
    pub metrics: Metrics,
    pub bus: Bus,
    /// The read replica, when one is configured.
    pub replica: Option<crate::replica::Replica>,
    /// Who is signed in, and the units, as this process keeps them (PostgreSQL).
    pub directory: Arc<crate::directory::Directory>,
    /// SQL statements run so far (for `/metrics`).
    pub statements: Arc<crate::db::StatementCounter>,
    /// Set when the process is asked to stop: open sockets close with a proper frame.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Live subscriptions per account, across this process's sockets.
    pub subscriptions: std::sync::Mutex<std::collections::HashMap<i64, usize>>,
}

impl AppState {
    /// The pool a page of a case list runs on: a text search keeps plans made for its text
    /// (the main pool); every other page walks an index in order and reuses one plan per
    /// statement (`pages`, see [`crate::db`]).
    pub fn list_db(&self, filter: &crate::cases::CaseFilter) -> &Db {
        if filter.search.is_some() {
            &self.db
        } else {
            &self.pages
        }
    }

    /// The connection for a read that a replica may serve (statistics, the export), and
    /// whether it is the replica's (see [`crate::replica`]).
    pub async fn read_db(&self) -> crate::error::Result<(Db, bool)> {
        match &self.replica {
            Some(replica) => replica.choose(&self.db).await,
            None => Ok((self.db.clone(), false)),
        }
    }

    /// Runs a read on the replica where [`Self::read_db`] allows, and again on the primary if
    /// it fails there.
    pub async fn read<T, F, Fut>(&self, read: F) -> crate::error::Result<T>
    where
        F: Fn(Db) -> Fut,
        Fut: std::future::Future<Output = crate::error::Result<T>>,
    {
        let (db, on_replica) = self.read_db().await?;
        let Some(replica) = self.replica.as_ref().filter(|_| on_replica) else {
            return read(db).await;
        };
        match read(db).await {
            Ok(answer) => {
                replica.served();
                Ok(answer)
            }
            Err(e) => {
                replica.failed(&e);
                read(self.db.clone()).await
            }
        }
    }

    pub fn subscription_count(&self, user_id: i64) -> usize {
        self.subscriptions
            .lock()
            .map(|m| m.get(&user_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn count_subscription(&self, user_id: i64, by: i64) {
        if let Ok(mut m) = self.subscriptions.lock() {
            let n = m.entry(user_id).or_default();
            *n = (*n as i64 + by).max(0) as usize;
            if *n == 0 {
                m.remove(&user_id);
            }
        }
    }
}
