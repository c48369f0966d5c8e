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
    pub settings: Settings,
    pub metrics: Metrics,
    pub bus: Bus,
    /// SQL statements run so far (for `/metrics`).
    pub statements: Arc<crate::db::StatementCounter>,
    /// Set when the process is asked to stop: open sockets close with a proper frame.
    pub stopping: tokio::sync::watch::Sender<bool>,
}
