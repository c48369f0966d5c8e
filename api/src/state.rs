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
    /// SQL statements run so far (for `/metrics`).
    pub statements: Arc<crate::db::StatementCounter>,
    /// Set when the process is asked to stop: open sockets close with a proper frame.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Live subscriptions per account, across this process's sockets.
    pub subscriptions: std::sync::Mutex<std::collections::HashMap<i64, usize>>,
}

impl AppState {
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
