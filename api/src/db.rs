//! Connecting to SQLite or PostgreSQL, and every place where the two differ.
//!
//! SQLite runs in WAL mode with foreign keys on and a busy timeout, and write transactions
//! begin IMMEDIATE: a writer takes the write lock up front instead of failing with "database is
//! locked" when it upgrades later. PostgreSQL gets an explicit pool size and statement timeout.

use crate::config::Settings;
use crate::error::Result;
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, InsertStatement, LikeExpr, SimpleExpr,
    WithClause,
};
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
    /// How long to wait for a free connection (and to open one).
    pub acquire_timeout: Duration,
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
    let mut opts = pool_options(settings, Plans::Custom);
    opts.min_connections(1);
    let mut db = Database::connect(opts).await?;
    let counter = std::sync::Arc::new(StatementCounter::default());
    count_into(&mut db, counter.clone());
    Ok((db, counter))
}

/// How PostgreSQL plans a pool's prepared statements.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plans {
    /// PostgreSQL's default: plans made for the parameters when that pays.
    Custom,
    /// One generic plan per statement and connection ([`connect_pages`]).
    Generic,
}

/// A pooled connection idle at least this long is pinged before it is handed out; one in use
/// a moment ago is not. The driver's default pings on every checkout: a round trip to
/// PostgreSQL before each statement outside a transaction, the database's CPU spent on
/// nothing (bench/README.md). A connection that dies while in steady use fails the one
/// statement that finds it dead, and the pool replaces it.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// What every pool of the server shares: its size and timeouts, and per backend the
/// statement timeout and no JIT (PostgreSQL), or WAL, foreign keys and a busy timeout
/// (SQLite). Connections open as they are needed.
fn pool_options(settings: &DbSettings, plans: Plans) -> ConnectOptions {
    let mut opts = ConnectOptions::new(settings.url.clone());
    opts.max_connections(settings.pool_size)
        .min_connections(0)
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire_if_idle_for(PING_WHEN_IDLE_FOR)
        .sqlx_logging(false);
    if settings.url.starts_with("postgres") {
        opts.statement_timeout(settings.statement_timeout)
            .map_sqlx_postgres_opts(move |o| match plans {
                Plans::Custom => no_jit(o),
                Plans::Generic => no_jit(o).options([("plan_cache_mode", "force_generic_plan")]),
            });
    } else {
        opts.map_sqlx_sqlite_opts(sqlite_options);
    }
    opts
}

fn sqlite_options(
    o: sea_orm::sqlx::sqlite::SqliteConnectOptions,
) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    o.journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30))
}

/// Counts the statements run through `db` in `counter` (and prints them with
/// `XINFANG_TRACE_SQL` set).
fn count_into(db: &mut DatabaseConnection, counter: std::sync::Arc<StatementCounter>) {
    let trace = std::env::var("XINFANG_TRACE_SQL").is_ok();
    db.set_metric_callback(move |info| {
        if trace {
            eprintln!(
                "SQL {}",
                info.statement.sql.chars().take(160).collect::<String>()
            );
        }
        counter.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
}

/// The pool for the statements of every read request — a list's page, one case, and what
/// their fields read by id — on PostgreSQL: their connections reuse one generic plan per
/// statement (`plan_cache_mode = force_generic_plan`). With the default, PostgreSQL plans a
/// list's page afresh for its parameters at every execution, which cost more of its CPU
/// than running it (bench/README.md). These statements are walks of an index in the list's
/// order, or lookups by id, whose best plan does not depend on the values; statistics, the
/// export and searches keep the main pool, where plans are made for their parameters.
/// On SQLite, which plans each statement once when it prepares it, this is the main pool.
pub async fn connect_pages(
    settings: &DbSettings,
    main: &DatabaseConnection,
    counter: std::sync::Arc<StatementCounter>,
) -> Result<DatabaseConnection> {
    if main.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(main.clone());
    }
    let mut db = Database::connect(pool_options(settings, Plans::Generic)).await?;
    count_into(&mut db, counter);
    Ok(db)
}

/// PostgreSQL compiles expressions of a costly statement with LLVM (`jit`) before it runs it.
/// For the server's largest statement, statistics over a county's 100,000 cases, compiling
/// took 140–190 ms and running without it was 50–150 ms faster (`EXPLAIN ANALYZE` on the
/// benchmark's county); the other statements cost too little for JIT to start. So it is off
/// for the server's connections.
fn no_jit(
    opts: sea_orm::sqlx::postgres::PgConnectOptions,
) -> sea_orm::sqlx::postgres::PgConnectOptions {
    opts.options([("jit", "off")])
}

/// A pool that opens its connections only when first used (a read replica that is down when
/// the server starts must not stop it), for work outside requests. Its statements are not
/// counted.
pub async fn connect_lazy(settings: &DbSettings) -> Result<DatabaseConnection> {
    let mut opts = pool_options(settings, Plans::Custom);
    opts.connect_lazy(true);
    Ok(Database::connect(opts).await?)
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

/// Runs `main`, an insert that returns its row, and the inserts `beside` it as one statement
/// — each of `beside` a data-modifying `WITH` of `main` — so a write of several tables costs
/// one round trip. In one statement no part sees another's rows, so none may read what another
/// writes (the caller takes the ids they share beforehand); the foreign keys and the triggers
/// are checked at the statement's end and see all of them. PostgreSQL only: on SQLite, where
/// statements cost no round trip, callers insert one after another.
pub async fn insert_together(
    tx: &impl sea_orm::ConnectionTrait,
    mut main: InsertStatement,
    beside: Vec<InsertStatement>,
) -> Result<sea_orm::QueryResult> {
    if tx.get_database_backend() != DatabaseBackend::Postgres {
        return Err(crate::error::internal(
            "inserts go together only on PostgreSQL",
        ));
    }
    main.returning_all();
    let alone = beside.is_empty();
    let mut with = WithClause::new();
    for (i, insert) in beside.into_iter().enumerate() {
        with.cte(
            CommonTableExpression::new()
                .query(insert)
                .table_name(Alias::new(format!("beside_{i}")))
                .to_owned(),
        );
    }
    let found = if alone {
        tx.query_one(&main).await?
    } else {
        tx.query_one(&main.with(with)).await?
    };
    found.ok_or_else(|| crate::error::internal("an insert returned no row"))
}

/// Locks one row of `table` (by id) until the transaction ends, so writers that take the
/// same lock take turns. PostgreSQL only: SQLite's write transaction (`BEGIN IMMEDIATE`,
/// [`begin_write`]) already excludes every other writer.
pub async fn lock_row(
    tx: &impl sea_orm::ConnectionTrait,
    table: LockedTable,
    id: i64,
) -> Result<()> {
    if tx.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let table = match table {
        LockedTable::Cases => "cases",
        LockedTable::OrgUnits => "org_units",
    };
    tx.execute_raw(sea_orm::Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"),
        [id.into()],
    ))
    .await?;
    Ok(())
}

/// The tables whose rows [`lock_row`] locks.
#[derive(Clone, Copy, Debug)]
pub enum LockedTable {
    Cases,
    OrgUnits,
}

/// Makes a subquery a planning fence on PostgreSQL: with `OFFSET 0` the planner neither pulls
/// it up into the query around it nor turns it into a join or a hashed set, so it runs as
/// written — where the caller knows better than the cost estimates (each caller says why).
/// SQLite takes OFFSET only after a LIMIT, and keeps such subqueries as written anyway.
pub fn planning_fence(backend: DatabaseBackend, query: &mut sea_orm::sea_query::SelectStatement) {
    if backend == DatabaseBackend::Postgres {
        query.offset(0);
    }
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

/// `YYYY-MM-DD`, the local (China Standard Time) day of an instant, as text on both databases.
pub fn local_day(backend: DatabaseBackend, column: SimpleExpr) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust_with_exprs(
            "to_char($1 AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')",
            [column],
        ),
        _ => Expr::cust_with_exprs("strftime('%Y-%m-%d', ?, '+8 hours')", [column]),
    }
}

/// The ids of an `IN (…)` list, sorted, without repeats, and padded (by repeating the last) to
/// a power of two.
///
/// Every distinct SQL text is a new prepared statement on each pooled connection: PostgreSQL
/// parses and plans it again, and the driver's per-connection statement cache fills with
/// one-off entries and evicts the statements that are used on every request. Batched lookups
/// of 1 to 1,000 keys would otherwise produce up to 1,000 texts; padded, at most 11.
pub fn bucketed_ids(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if let Some(&last) = ids.last() {
        ids.resize(ids.len().next_power_of_two(), last);
    }
    ids
}

/// `n` placeholders for a hand-written statement, in the backend's own syntax.
pub fn placeholders(backend: DatabaseBackend, n: usize) -> String {
    (1..=n)
        .map(|i| match backend {
            DatabaseBackend::Postgres => format!("${i}"),
            _ => "?".to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Opens the database the settings name.
pub async fn open(settings: &Settings) -> std::result::Result<DatabaseConnection, String> {
    Ok(open_counted(settings).await?.db)
}

/// The database's pools: the main one, the one for read requests' statements
/// ([`connect_pages`]), the linker's, and the count of the statements the first two run.
pub struct Pools {
    pub db: DatabaseConnection,
    pub pages: DatabaseConnection,
    /// One connection for the audit linker, whose statements run between requests and are
    /// not counted.
    pub linker: DatabaseConnection,
    pub statements: std::sync::Arc<StatementCounter>,
}

/// The pool settings the server's settings give.
pub fn db_settings(settings: &Settings) -> DbSettings {
    DbSettings {
        url: settings.database_url.clone(),
        pool_size: settings.db_pool_size,
        statement_timeout: Duration::from_millis(settings.db_statement_timeout_ms),
        acquire_timeout: Duration::from_millis(std::cmp::max(settings.db_acquire_timeout_ms, 1)),
    }
}

/// Opens the database the settings name, counting its statements.
pub async fn open_counted(settings: &Settings) -> std::result::Result<Pools, String> {
    let db_settings = db_settings(settings);
    let failed = |e: crate::error::AppError| {
        format!("cannot open the database: {}", e.message_for_operator())
    };
    let (db, statements) = connect_counted(&db_settings).await.map_err(failed)?;
    let pages = connect_pages(&db_settings, &db, statements.clone())
        .await
        .map_err(failed)?;
    let linker = connect_lazy(&DbSettings {
        pool_size: 1,
        ..db_settings
    })
    .await
    .map_err(failed)?;
    Ok(Pools {
        db,
        pages,
        linker,
        statements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_come_in_a_few_lengths() {
        assert_eq!(bucketed_ids([]), Vec::<i64>::new());
        assert_eq!(bucketed_ids([7]), vec![7]);
        assert_eq!(bucketed_ids([3, 1, 3]), vec![1, 3]);
        assert_eq!(bucketed_ids([5, 4, 3]), vec![3, 4, 5, 5]);
        let lengths: std::collections::BTreeSet<usize> =
            (1..=1000).map(|n| bucketed_ids(0..n).len()).collect();
        assert_eq!(lengths.len(), 11, "{lengths:?}");
    }

    #[test]
    fn placeholders_follow_the_backend() {
        assert_eq!(placeholders(DatabaseBackend::Postgres, 3), "$1,$2,$3");
        assert_eq!(placeholders(DatabaseBackend::Sqlite, 2), "?,?");
    }
}
