//! The `xinfang` command: `serve` (default), `migrate`, `schema`, `bootstrap`, `demo`, `seed`,
//! `audit verify | checkpoint | keygen`.

use crate::clock::Clock;
use crate::config::{AuditAction, Cli, Command, MigrateAction, Settings};
use crate::db;
use crate::graphql::{self, SchemaLimits};
use crate::http;
use crate::metrics::Metrics;
use crate::state::AppState;
use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use xinfang_migration::Migrator;
use xinfang_migration::MigratorTrait;

pub use crate::logging::init_tracing;

/// Opens the database, applies pending migrations and assembles the shared state.
pub async fn build_state(settings: Settings, clock: Arc<Clock>) -> Result<Arc<AppState>, String> {
    settings.validate()?;
    // The one TLS crypto library (ring) for the object store's client; a second call (tests
    // start several servers in one process) finds it installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    crate::pdf::configure_font(settings.pdf_font.as_deref())?;
    let auth = crate::auth::auth_config(&settings)?;
    let signer = settings.audit_signer()?;
    let storage = settings.storage()?;
    let db::Pools {
        db,
        pages,
        linker,
        statements,
    } = db::open_counted(&settings).await?;
    Migrator::up(&db, None)
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    let bus = crate::events::Bus::new(db.get_database_backend());
    let replica = match &settings.replica_database_url {
        Some(url) => Some(
            crate::replica::Replica::open(
                &db::DbSettings {
                    url: url.clone(),
                    pool_size: settings.db_pool_size,
                    statement_timeout: Duration::from_millis(settings.db_statement_timeout_ms),
                    // A replica that does not answer costs a read at most a second.
                    acquire_timeout: Duration::from_millis(
                        settings.db_acquire_timeout_ms.clamp(1, 1_000),
                    ),
                },
                Duration::from_millis(settings.replica_max_lag_ms),
            )
            .await
            .map_err(|e| format!("cannot prepare the replica: {}", e.message_for_operator()))?,
        ),
        None => None,
    };
    let directory = Arc::new(crate::directory::Directory::new(
        db.get_database_backend(),
        !settings.no_directory_cache,
        Duration::from_millis(settings.directory_silence_ms),
    ));
    Ok(Arc::new(AppState {
        db,
        pages,
        linker,
        clock,
        auth,
        documents: Default::default(),
        storage,
        signer,
        settings,
        metrics: Metrics::default(),
        bus,
        replica,
        directory,
        statements,
        stopping: tokio::sync::watch::channel(false).0,
        subscriptions: Default::default(),
    }))
}

pub fn schema_for(state: &Arc<AppState>) -> http::Schemas {
    let s = &state.settings;
    let introspection = !s.production() || s.introspection;
    let limits = || SchemaLimits {
        max_depth: s.max_depth,
        max_complexity: s.max_complexity,
        introspection,
    };
    http::Schemas {
        full: graphql::build_schema(state.clone(), limits()),
        fast: graphql::build_fast_schema(state.clone(), limits()),
        introspection: introspection.then(|| graphql::build_introspection_schema(state.clone())),
    }
}

fn clock_for(settings: &Settings) -> Arc<Clock> {
    Arc::new(if settings.test_clock {
        Clock::movable()
    } else {
        Clock::system()
    })
}

/// Binds the HTTP server and starts the background work that goes with it: the event
/// listener (PostgreSQL), the deadline scanner and the webhook sender. Tests start servers through this too.
pub fn start_server(
    state: Arc<AppState>,
    bind: &str,
) -> std::io::Result<(actix_web::dev::Server, std::net::SocketAddr)> {
    state.directory.spawn_listener(&state.db, state.bus.clone());
    crate::notices::spawn_scanner(
        state.clone(),
        Duration::from_secs(state.settings.deadline_scan_seconds.max(1)),
    );
    spawn_linker(state.clone());
    spawn_checkpoints(state.clone());
    crate::webhooks::spawn_sender(state.clone());
    crate::stat_days::spawn_folder(state.clone());
    let schema = schema_for(&state);
    http::start(state, schema, bind)
}

/// Signs a checkpoint of every chain's head, keeps it in the database, and writes it
/// outside: to the log, and to the checkpoint file if one is configured. `None` when there
/// is no audit key, or nothing was written since the last checkpoint.
pub async fn write_checkpoint(
    state: &AppState,
) -> Result<Option<crate::audit::SignedCheckpoint>, String> {
    let Some(signer) = &state.signer else {
        return Ok(None);
    };
    // Every entry committed so far is covered: the ones still awaiting their link are linked
    // first (waiting for other linkers' rows). If that fails, the heads as they are are still
    // worth signing; the failure is logged.
    if let Err(e) = crate::audit::link_pending(&state.db, true).await {
        tracing::error!(error = %e.message_for_operator(), "linking before the checkpoint failed");
    }
    // The row commits only once the copy outside is written: a checkpoint that reached the
    // database but not the file would never be written there later (nothing changed since).
    let tx = db::begin_write(&state.db)
        .await
        .map_err(|e| e.message_for_operator())?;
    let Some(signed) = crate::audit::checkpoint(&tx, signer, state.clock.now())
        .await
        .map_err(|e| e.message_for_operator())?
    else {
        return Ok(None);
    };
    let line = serde_json::to_string(&signed).map_err(|e| e.to_string())?;
    if let Some(path) = &state.settings.audit_checkpoint_file {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}").and_then(|_| f.sync_data()))
            .map_err(|e| format!("cannot append to {}: {e}", path.display()))?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    tracing::info!(target: "xinfang::audit", checkpoint = %line, "audit checkpoint signed");
    Ok(Some(signed))
}

/// Links timeline entries into their county chains ([`crate::audit::link_pending`]) as soon
/// as the events of their commits arrive (from any process, through the bus), and every few
/// seconds in any case (an entry whose commit sent no event, or entries a stopped process
/// left). A failed round is logged and tried again at the next wake.
fn spawn_linker(state: Arc<AppState>) {
    let mut events = state.bus.subscribe();
    tokio::spawn(async move {
        let mut stopping = state.stopping.subscribe();
        loop {
            if let Err(e) = crate::audit::link_pending(&state.linker, false).await {
                tracing::error!(error = %e.message_for_operator(), "linking timeline entries failed");
            }
            tokio::select! {
                _ = events.recv() => {}
                _ = tokio::time::sleep(LINK_SWEEP) => {}
                _ = stopping.changed() => return,
            }
            // Everything that arrives meanwhile is linked by the next round, in one batch.
            crate::events::gather(&mut events).await;
        }
    });
}

/// How often the linker looks for entries even when no event said so.
const LINK_SWEEP: Duration = Duration::from_secs(5);

/// Signs a checkpoint every `--audit-checkpoint-seconds` while the server runs.
fn spawn_checkpoints(state: Arc<AppState>) {
    if state.signer.is_none() {
        tracing::warn!("no audit key configured: checkpoints of the audit chains are not signed");
        return;
    }
    let every = Duration::from_secs(state.settings.audit_checkpoint_seconds.max(1));
    tokio::spawn(async move {
        let mut stopping = state.stopping.subscribe();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stopping.changed() => return,
            }
            if let Err(e) = write_checkpoint(&state).await {
                tracing::error!(error = %e, "audit checkpoint failed");
            }
        }
    });
}

async fn serve(state: Arc<AppState>) -> Result<(), String> {
    let bind = state.settings.bind.clone();
    let stopping = state.stopping.clone();
    let (server, addr) = start_server(state, &bind).map_err(|e| format!("cannot listen: {e}"))?;
    tracing::info!(%addr, "listening");
    // On SIGTERM or Ctrl-C, tell open sockets to close (with 1001, going away) while the
    // server stops taking connections and finishes what is in flight.
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        stop_signal().await;
        tracing::info!("stopping");
        let _ = stopping.send(true);
        handle.stop(true).await;
    });
    server.await.map_err(|e| e.to_string())
}

/// Reads the checkpoints kept outside the database: a checkpoint file (one signed checkpoint
/// per line) or the server's JSON log (the `checkpoint` field of its `xinfang::audit`
/// records). Lines that hold no checkpoint are skipped, and counted.
fn read_checkpoint_file(
    path: &std::path::Path,
) -> Result<Vec<crate::audit::SignedCheckpoint>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut found = vec![];
    let mut skipped = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Ok(c) = serde_json::from_str::<crate::audit::SignedCheckpoint>(line) {
            found.push(c);
            continue;
        }
        let logged = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|record| {
                record["fields"]["checkpoint"]
                    .as_str()
                    .and_then(|inner| serde_json::from_str(inner).ok())
            });
        match logged {
            Some(c) => found.push(c),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        println!(
            "{}: {skipped} lines hold no checkpoint and were skipped",
            path.display()
        );
    }
    Ok(found)
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The binary's entry point: an actix system (on tokio) running the command line.
pub fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    actix_web::rt::System::new().block_on(run())
}

/// Every password check allocates argon2's 19 MiB working memory. glibc serves blocks that
/// large with mmap — until the first is freed: it then raises its threshold and serves the
/// next from the heap, which it keeps. A burst of sign-ins left 1–2 GB resident for good. A
/// fixed threshold keeps large blocks mapped, so each is returned when its check ends, and
/// resident memory falls back after a burst. (Concurrent checks are bounded too: see
/// `auth`.)
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tuning parameter of the allocator; it is called before
    // any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Runs the command line; the process exits with the returned code.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.settings.log_format);
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<(), String> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let clock = clock_for(&settings);
            serve(build_state(settings, clock).await?).await
        }
        Command::Migrate { action } => {
            let db = db::open(&settings).await?;
            match action {
                MigrateAction::Up => {
                    Migrator::up(&db, None)
                        .await
                        .map_err(|e| format!("migration failed: {e}"))?;
                    println!("migrations applied");
                }
                MigrateAction::Status => {
                    let applied = Migrator::get_applied_migrations(&db)
                        .await
                        .map_err(|e| e.to_string())?;
                    let pending = Migrator::get_pending_migrations(&db)
                        .await
                        .map_err(|e| e.to_string())?;
                    for m in applied {
                        println!("applied  {}", m.name());
                    }
                    for m in pending {
                        println!("pending  {}", m.name());
                    }
                }
            }
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Keygen,
        } => {
            let key = crate::audit::Signer::generate_base64();
            let public = crate::audit::Signer::from_base64(&key)?.public_key_base64();
            println!("XINFANG_AUDIT_KEY={key}");
            println!("XINFANG_AUDIT_PUBLIC_KEY={public}");
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Checkpoint,
        } => {
            if settings.audit_signer()?.is_none() {
                return Err("set XINFANG_AUDIT_KEY or XINFANG_AUDIT_KEY_FILE to sign".into());
            }
            let clock = clock_for(&settings);
            let state = build_state(settings, clock).await?;
            match write_checkpoint(&state).await? {
                Some(c) => println!("signed {}", c.statement),
                None => println!("nothing was written since the last checkpoint"),
            }
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Verify { checkpoints },
        } => {
            let pool = db::open(&settings).await?;
            // Every check reads one snapshot: a write committed meanwhile on a live database
            // must not read as a broken link.
            let db = match pool.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => {
                    sea_orm::TransactionTrait::begin_with_config(
                        &pool,
                        Some(sea_orm::IsolationLevel::RepeatableRead),
                        Some(sea_orm::AccessMode::ReadOnly),
                    )
                    .await
                }
                _ => sea_orm::TransactionTrait::begin(&pool).await,
            }
            .map_err(|e| e.to_string())?;
            let (checked, broken) = crate::audit::verify_all(&db)
                .await
                .map_err(|e| e.message_for_operator())?;
            for (number, link) in &broken {
                println!("BROKEN  {number}: entry {} — {}", link.seq, link.reason);
            }
            println!(
                "{checked} cases checked, {} with a broken record",
                broken.len()
            );
            let (admin_entries, admin_broken) = crate::audit::verify_admin(&db)
                .await
                .map_err(|e| e.message_for_operator())?;
            match &admin_broken {
                Some(link) => println!(
                    "BROKEN  administrative record: entry {} — {}",
                    link.seq, link.reason
                ),
                None => println!("administrative record: {admin_entries} entries, intact"),
            }
            let counties = crate::audit::verify_counties(&db)
                .await
                .map_err(|e| e.message_for_operator())?;
            for b in &counties.broken {
                println!(
                    "BROKEN  county #{} chain: link {} — {}",
                    b.county_id, b.seq, b.reason
                );
            }
            println!("county chains: {} links checked", counties.links);
            if counties.awaiting > 0 {
                // A running server links entries within moments of their commit; entries
                // that stay here are covered by no link and no checkpoint.
                println!(
                    "WARNING  {} timeline entries await their county link: a running server links them (start one if none runs)",
                    counties.awaiting
                );
            }
            let external = match (checkpoints, &settings.audit_checkpoint_file) {
                (Some(path), _) => read_checkpoint_file(&path)?,
                // The configured file may not exist yet (no checkpoint signed so far).
                (None, Some(path)) if path.exists() => read_checkpoint_file(path)?,
                _ => vec![],
            };
            if external.is_empty() {
                println!(
                    "WARNING  no checkpoint kept outside the database was given (--checkpoints): a record rebuilt inside it is caught only against one"
                );
            }
            let trusted = match &settings.audit_public_key {
                Some(k) => Some(k.trim().to_string()),
                None => match settings.audit_signer() {
                    Ok(Some(signer)) => Some(signer.public_key_base64()),
                    Ok(None) => {
                        println!(
                            "WARNING  no audit key or public key given: signatures are checked, but not who made them"
                        );
                        None
                    }
                    Err(_) => {
                        return Err("give --audit-public-key (or the audit key) to verify who signed the checkpoints".into());
                    }
                },
            };
            let report = crate::audit::verify_checkpoints(&db, trusted.as_deref(), &external)
                .await
                .map_err(|e| e.message_for_operator())?;
            for p in &report.problems {
                println!("BROKEN  checkpoint: {p}");
            }
            println!(
                "{} signed checkpoints held against the chains ({} kept outside the database)",
                report.checked,
                external.len()
            );
            let failures = broken.len()
                + usize::from(admin_broken.is_some())
                + counties.broken.len()
                + report.problems.len();
            if failures == 0 {
                Ok(())
            } else {
                Err(format!("the record is broken in {failures} places"))
            }
        }
        Command::Seed { cases, password } => {
            let writers = settings.db_pool_size as usize;
            crate::seed::run(
                settings,
                crate::seed::SeedOptions {
                    cases,
                    password,
                    writers,
                },
            )
            .await
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Bootstrap(args) => {
            let password = match &args.admin_password_file {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
                None => std::env::var("XINFANG_ADMIN_PASSWORD").map_err(|_| {
                    "give the password with --admin-password-file or XINFANG_ADMIN_PASSWORD"
                        .to_string()
                })?,
            };
            let clock = clock_for(&settings);
            let state = build_state(settings, clock).await?;
            let (county, bureau, admin) = crate::identity::bootstrap(
                &state.db,
                &state.auth,
                &state.clock,
                crate::identity::Bootstrap {
                    city_name: args.city_name.as_deref(),
                    county_name: &args.county_name,
                    county_code: args.county_code.as_deref(),
                    bureau_name: &args.bureau_name,
                    admin_username: &args.admin_username,
                    admin_password: &password,
                },
            )
            .await
            .map_err(|e| e.message_for_operator())?;
            println!(
                "bootstrapped {} (petition bureau: {}), administrator {}",
                county.name, bureau.name, admin.username
            );
            Ok(())
        }
        Command::Demo { demo_db } => {
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", demo_db.display());
                let _ = std::fs::remove_file(&path);
            }
            let mut settings = settings;
            settings.database_url = format!("sqlite://{}?mode=rwc", demo_db.display());
            settings.run_env = crate::config::RunEnv::Dev;
            // The demo's files live beside its database and start over with it (unless a store
            // was named).
            if settings.s3_bucket.is_none()
                && settings.storage_dir == std::path::Path::new("xinfang-files")
            {
                settings.storage_dir = demo_db.with_extension("files");
                let _ = std::fs::remove_dir_all(&settings.storage_dir);
            }
            let clock = clock_for(&settings);
            let state = build_state(settings, clock).await?;
            let logins = crate::demo::seed(&state)
                .await
                .map_err(|e| e.message_for_operator())?;
            println!(
                "\nXinfang demo county is ready. GraphiQL: http://{}/graphiql\n",
                state.settings.bind
            );
            println!(
                "Sign in with `mutation {{ login(input: {{username: \"…\", password: \"{}\"}}) {{ accessToken }} }}`:",
                crate::demo::PASSWORD
            );
            for (username, what) in logins {
                println!("  {username:<18} {what}");
            }
            println!("\nThen try, with `Authorization: Bearer <accessToken>`:");
            for (username, query) in crate::demo::QUERIES {
                println!("  as {username}:\n    {query}");
            }
            println!();
            serve(state).await
        }
    }
}
