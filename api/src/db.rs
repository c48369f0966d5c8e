//! Connecting to SQLite or PostgreSQL, and every place where the two differ.
//!
//! SQLite runs in WAL mode with foreign keys on and a busy timeout, and write transactions
//! begin IMMEDIATE: a writer takes the write lock up front instead of failing with "database is
//! locked" when it upgrades later. PostgreSQL gets an explicit pool size and statement timeout.

use crate::error::Result;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, SimpleExpr};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct DbSettings {
    pub url: String,
    pub pool_size: u32,
    pub statement_timeout: Duration,
}

/// Counts the SQL statements a connection pool runs (exported as a metric; the N+1 test reads
/// it through `/metrics`).
#[derive(Debug, Default)]
pub struct StatementCounter(std::sync::atomic::AtomicU64);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

pub async fn connect(settings: &DbSettings) -> Result<DatabaseConnection> {
    Ok(connect_counted(settings).await?.0)
}

/// Connects and counts every statement run through the connection (and its transactions).
pub async fn connect_counted(
    settings: &DbSettings,
) -> Result<(DatabaseConnection, std::sync::Arc<StatementCounter>)> {
    let mut opts = ConnectOptions::new(settings.url.clone());
    opts.max_connections(settings.pool_size)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    if settings.url.starts_with("postgres") {
        opts.statement_timeout(settings.statement_timeout);
    } else {
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
        });
    }
    let mut db = Database::connect(opts).await?;
    let counter = std::sync::Arc::new(StatementCounter::default());
    let counting = counter.clone();
    db.set_metric_callback(move |_| {
        counting
            .0
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    Ok((db, counter))
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: match db.get_database_backend() {
            DatabaseBackend::Sqlite => Some(SqliteTransactionMode::Immediate),
            _ => None,
        },
        ..Default::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// Escapes `%`, `_` and `\` so user text matches itself literally in a `LIKE … ESCAPE '\'`,
/// and wraps it for a "contains" match.
pub fn like_contains(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// A case-insensitive "contains" test of a column against user text. PostgreSQL's `LIKE` is
/// case-sensitive, SQLite's is not (for ASCII): `ILIKE` makes them agree. (sea-query renders
/// `ILIKE … ESCAPE` with stray parentheses, so that branch is written out; `$1`/`$2` are
/// PostgreSQL's own placeholders there.)
pub fn contains(backend: DatabaseBackend, column: SimpleExpr, text: &str) -> SimpleExpr {
    let pattern = like_contains(text);
    match backend {
        DatabaseBackend::Postgres => {
            Expr::cust_with_exprs("$1 ILIKE $2 ESCAPE '\\'", [column, Expr::val(pattern)])
        }
        _ => column.like(LikeExpr::new(pattern).escape('\\')),
    }
}

/// The year and month (`YYYY-MM`) of an instant in China time, for grouping by month.
pub fn local_month(backend: DatabaseBackend, column: SimpleExpr) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust_with_exprs(
            "to_char($1 AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')",
            [column],
        ),
        _ => Expr::cust_with_exprs("strftime('%Y-%m', ?, '+8 hours')", [column]),
    }
}
