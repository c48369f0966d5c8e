//! The command line and its environment-variable fallbacks, defaults and validation.
//! Every flag can also be set through the variable named in `--help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "xinfang",
    version,
    about = "Xinfang: the GraphQL API for county petition (信访) case management"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Apply pending migrations, then serve (the default).
    Serve,
    /// Apply or inspect migrations.
    Migrate {
        #[arg(value_enum, default_value_t = MigrateAction::Up)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Create the county, its petition bureau and the first administrator.
    Bootstrap(BootstrapArgs),
    /// Check the tamper-evident record.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Fill an empty database with a generated county and its cases (for benchmarks).
    Seed {
        /// How many cases to generate, spread over the last three years.
        #[arg(long, env = "XINFANG_SEED_CASES", default_value_t = 100_000)]
        cases: u64,
        /// The password every generated account gets.
        #[arg(
            long,
            env = "XINFANG_SEED_PASSWORD",
            default_value = "bench-password-2026",
            hide_env_values = true
        )]
        password: String,
    },
    /// Start over with a fresh SQLite database holding a demo county, and serve it.
    Demo {
        /// The SQLite file the demo recreates on every start.
        #[arg(long, env = "XINFANG_DEMO_DB", default_value = "xinfang-demo.db")]
        demo_db: PathBuf,
    },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum AuditAction {
    /// Re-compute every case's chain, every county's chain and the administrative record,
    /// and hold them against every signed checkpoint (exit code 1 when anything is broken).
    Verify {
        /// A checkpoint file kept outside the database (JSON lines, as the server writes
        /// them); defaults to --audit-checkpoint-file.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Sign the heads of every chain now (as the server does periodically).
    Checkpoint,
    /// Print a new audit key (for XINFANG_AUDIT_KEY) and its public key.
    Keygen,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateAction {
    Up,
    Status,
}

#[derive(Args, Debug, Clone)]
pub struct BootstrapArgs {
    #[arg(long, env = "XINFANG_COUNTY_NAME")]
    pub county_name: String,
    #[arg(long, env = "XINFANG_ADMIN_USERNAME")]
    pub admin_username: String,
    /// A file holding the administrator's password (or set XINFANG_ADMIN_PASSWORD).
    #[arg(long, env = "XINFANG_ADMIN_PASSWORD_FILE")]
    pub admin_password_file: Option<PathBuf>,
    #[arg(long, env = "XINFANG_BUREAU_NAME", default_value = "信访局")]
    pub bureau_name: String,
    /// The county's administrative division code (行政区划代码, 6 digits), carried by its case
    /// numbers.
    #[arg(long, env = "XINFANG_COUNTY_CODE")]
    pub county_code: Option<String>,
    /// Set up a city deployment: the city at the root, the county under it, the administrator
    /// at the city (who may then add further counties).
    #[arg(long, env = "XINFANG_CITY_NAME")]
    pub city_name: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnv {
    Dev,
    Production,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    #[arg(
        long,
        env = "XINFANG_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// SQLite (`sqlite://file.db?mode=rwc`) or PostgreSQL (`postgres://…`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://xinfang.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
    #[arg(long = "env", env = "XINFANG_ENV", value_enum, default_value_t = RunEnv::Dev, global = true)]
    pub run_env: RunEnv,
    #[arg(long, env = "XINFANG_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// A PostgreSQL streaming replica for statistics and the CSV export. A read goes there only
    /// when the replica has replayed everything the primary had committed when the read began;
    /// otherwise (or when it is down) the primary serves it.
    #[arg(
        long,
        env = "XINFANG_REPLICA_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub replica_database_url: Option<String>,
    /// How long a read waits for a lagging replica to catch up before it goes to the primary
    /// (milliseconds).
    #[arg(
        long,
        env = "XINFANG_REPLICA_MAX_LAG_MS",
        default_value_t = 250,
        global = true
    )]
    pub replica_max_lag_ms: u64,
    /// Database connections per process.
    #[arg(
        long,
        env = "XINFANG_DB_POOL_SIZE",
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub db_pool_size: u32,
    /// PostgreSQL statement timeout, in milliseconds.
    #[arg(
        long,
        env = "XINFANG_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub db_statement_timeout_ms: u64,
    /// How long a request waits for a free database connection before it is answered
    /// SERVICE_UNAVAILABLE, in milliseconds: an unreachable database fails requests fast
    /// instead of holding them.
    #[arg(
        long,
        env = "XINFANG_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 3_000,
        global = true
    )]
    pub db_acquire_timeout_ms: u64,
    /// How long a WebSocket may stay open without `connection_init` before it is closed
    /// with 4408, in milliseconds.
    #[arg(
        long,
        env = "XINFANG_WS_INIT_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub ws_init_timeout_ms: u64,
    /// How long a request body may take to arrive, in milliseconds; a slower one is answered
    /// 408 and its connection closed.
    #[arg(
        long,
        env = "XINFANG_BODY_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub body_timeout_ms: u64,
    /// The JWT signing secret (at least 32 bytes). Required in production.
    #[arg(
        long,
        env = "XINFANG_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<String>,
    /// A file holding the JWT signing secret.
    #[arg(long, env = "XINFANG_JWT_SECRET_FILE", global = true)]
    pub jwt_secret_file: Option<PathBuf>,
    /// Key id of the signing secret, written into each token's header.
    #[arg(long, env = "XINFANG_JWT_KID", default_value = "k1", global = true)]
    pub jwt_kid: String,
    /// Older verification keys still accepted during a rotation: `kid=secret,kid2=secret2`.
    #[arg(
        long,
        env = "XINFANG_JWT_PREVIOUS_KEYS",
        hide_env_values = true,
        global = true
    )]
    pub jwt_previous_keys: Option<String>,
    #[arg(
        long,
        env = "XINFANG_JWT_ISSUER",
        default_value = "xinfang",
        global = true
    )]
    pub jwt_issuer: String,
    #[arg(
        long,
        env = "XINFANG_JWT_AUDIENCE",
        default_value = "xinfang-api",
        global = true
    )]
    pub jwt_audience: String,
    /// Access-token lifetime, in seconds.
    #[arg(
        long,
        env = "XINFANG_ACCESS_TOKEN_TTL",
        default_value_t = 900,
        global = true
    )]
    pub access_token_ttl: i64,
    /// A refresh token unused this many days expires.
    #[arg(
        long,
        env = "XINFANG_REFRESH_IDLE_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub refresh_idle_days: i64,
    /// A sign-in ends this many days after it began, whatever the refreshes.
    #[arg(
        long,
        env = "XINFANG_REFRESH_ABSOLUTE_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub refresh_absolute_days: i64,
    /// Largest request body, in bytes.
    #[arg(long, env = "XINFANG_BODY_LIMIT", default_value_t = 256 * 1024, global = true)]
    pub body_limit: usize,
    #[arg(long, env = "XINFANG_MAX_DEPTH", default_value_t = 12, global = true)]
    pub max_depth: usize,
    #[arg(
        long,
        env = "XINFANG_MAX_COMPLEXITY",
        default_value_t = 2_000,
        global = true
    )]
    pub max_complexity: usize,
    /// Allow introspection in production (always on in dev).
    #[arg(long, env = "XINFANG_INTROSPECTION", global = true)]
    pub introspection: bool,
    /// Origins allowed by CORS and for WebSockets, comma-separated.
    #[arg(
        long,
        env = "XINFANG_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
    /// Petitioner sign-ups allowed per client address per hour.
    #[arg(
        long,
        env = "XINFANG_SIGNUPS_PER_HOUR",
        default_value_t = 10,
        global = true
    )]
    pub signups_per_hour: i32,
    /// How often to look for deadlines entering warning or overdue, in seconds.
    #[arg(
        long,
        env = "XINFANG_DEADLINE_SCAN_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub deadline_scan_seconds: u64,
    /// How often to fold changed days of the folded statistics scopes (the county-wide ones
    /// and, on PostgreSQL, townships and departments), in seconds; 0 folds
    /// none, and statistics are then computed from the cases (see `stat_days`).
    #[arg(
        long,
        env = "XINFANG_STATISTICS_FOLD_SECONDS",
        default_value_t = 5,
        global = true
    )]
    pub statistics_fold_seconds: u64,
    /// Count replied cases left unrated after their review window as satisfied in the
    /// satisfaction rate (as some provinces do). Off by default.
    #[arg(long, env = "XINFANG_UNRATED_COUNTS_AS_SATISFIED", global = true)]
    pub unrated_counts_as_satisfied: bool,
    /// The Ed25519 key (base64 of a 32-byte seed) that signs checkpoints of the audit
    /// chains; keep it away from the database. Required in production.
    #[arg(long, env = "XINFANG_AUDIT_KEY", hide_env_values = true, global = true)]
    pub audit_key: Option<String>,
    /// A file holding the audit key.
    #[arg(long, env = "XINFANG_AUDIT_KEY_FILE", global = true)]
    pub audit_key_file: Option<PathBuf>,
    /// The public key checkpoints must be signed with, for `audit verify` on a machine that
    /// does not hold the audit key (base64).
    #[arg(long, env = "XINFANG_AUDIT_PUBLIC_KEY", global = true)]
    pub audit_public_key: Option<String>,
    /// How often the server signs a checkpoint of the audit chains, in seconds (only when
    /// something was written since the last one).
    #[arg(
        long,
        env = "XINFANG_AUDIT_CHECKPOINT_SECONDS",
        default_value_t = 900,
        global = true
    )]
    pub audit_checkpoint_seconds: u64,
    /// A file, outside the database, that every checkpoint is appended to as a JSON line
    /// (besides the log).
    #[arg(long, env = "XINFANG_AUDIT_CHECKPOINT_FILE", global = true)]
    pub audit_checkpoint_file: Option<PathBuf>,
    /// A TrueType/OpenType font with Chinese glyphs to set PDF documents in, instead of the
    /// built-in GB 2312 subset of WenQuanYi Micro Hei (for rare characters in names, say).
    #[arg(long, env = "XINFANG_PDF_FONT", global = true)]
    pub pdf_font: Option<PathBuf>,
    /// The directory attachments are stored in (the embedded setup), unless `--s3-bucket` is
    /// set.
    #[arg(
        long,
        env = "XINFANG_STORAGE_DIR",
        default_value = "xinfang-files",
        global = true
    )]
    pub storage_dir: PathBuf,
    /// Store attachments in this S3-compatible bucket instead (several server processes
    /// share it).
    #[arg(long, env = "XINFANG_S3_BUCKET", global = true)]
    pub s3_bucket: Option<String>,
    /// The S3-compatible server's URL (MinIO, SeaweedFS, …); AWS itself when unset.
    #[arg(long, env = "XINFANG_S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,
    #[arg(
        long,
        env = "XINFANG_S3_REGION",
        default_value = "us-east-1",
        global = true
    )]
    pub s3_region: String,
    #[arg(long, env = "XINFANG_S3_ACCESS_KEY_ID", global = true)]
    pub s3_access_key_id: Option<String>,
    #[arg(
        long,
        env = "XINFANG_S3_SECRET_ACCESS_KEY",
        hide_env_values = true,
        global = true
    )]
    pub s3_secret_access_key: Option<String>,
    /// Largest attachment, in bytes.
    #[arg(long, env = "XINFANG_ATTACHMENT_MAX_BYTES", default_value_t = 20 * 1024 * 1024, global = true)]
    pub attachment_max_bytes: i64,
    /// Most bytes of attachments one case may hold.
    #[arg(long, env = "XINFANG_CASE_ATTACHMENTS_MAX_BYTES", default_value_t = 200 * 1024 * 1024, global = true)]
    pub case_attachments_max_bytes: i64,
    /// Let tests move the server's clock. Refused with `--env production`.
    #[arg(long, env = "XINFANG_TEST_CLOCK", global = true)]
    pub test_clock: bool,
    /// Ask the database who the viewer is, and what units are called, on every request. By
    /// default a PostgreSQL server keeps both in memory, forgotten on every change it is
    /// notified of (and set aside while it cannot be notified).
    #[arg(long, env = "XINFANG_NO_DIRECTORY_CACHE", global = true)]
    pub no_directory_cache: bool,
    /// How long (milliseconds) a process may go without hearing its own heartbeat before it
    /// sets that copy aside: the longest a change could take to reach it if its listener
    /// stalls. Sent every 500 ms.
    #[arg(
        long,
        env = "XINFANG_DIRECTORY_SILENCE_MS",
        default_value_t = 2_000,
        global = true
    )]
    pub directory_silence_ms: u64,
    /// Webhook URLs may name private, loopback and link-local addresses (an intranet
    /// receiver, a test). Off by default: a registered URL must not reach inside the network.
    #[arg(long, env = "XINFANG_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: bool,
    /// How many webhook messages this process sends at once (0: this process sends none;
    /// another process on the same database does).
    #[arg(
        long,
        env = "XINFANG_WEBHOOK_WORKERS",
        default_value_t = 4,
        global = true
    )]
    pub webhook_workers: usize,
    /// Longest wait for a webhook receiver to answer, in milliseconds.
    #[arg(
        long,
        env = "XINFANG_WEBHOOK_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub webhook_timeout_ms: u64,
    /// The first retry of a failed webhook message waits this long (milliseconds); each further
    /// one twice as long as the one before, up to an hour.
    #[arg(
        long,
        env = "XINFANG_WEBHOOK_RETRY_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub webhook_retry_ms: u64,
    /// A webhook message still undelivered this long after it was written goes to the dead
    /// letters (seconds; 3 days by default). `replayWebhooks` sends it again.
    #[arg(long = "webhook-dead-after", env = "XINFANG_WEBHOOK_DEAD_AFTER", default_value_t = 3 * 24 * 3600, global = true)]
    pub webhook_dead_after_secs: u64,
    /// How often the sender looks for due messages when no event woke it (milliseconds).
    #[arg(
        long,
        env = "XINFANG_WEBHOOK_POLL_MS",
        default_value_t = 1_000,
        global = true
    )]
    pub webhook_poll_ms: u64,
}

impl Settings {
    pub fn production(&self) -> bool {
        self.run_env == RunEnv::Production
    }

    /// Where attachments are stored: the S3 bucket when one is named (with its keys, and
    /// https in production), otherwise the directory.
    pub fn storage(&self) -> Result<crate::storage::Storage, String> {
        let Some(bucket) = &self.s3_bucket else {
            return crate::storage::Storage::local(&self.storage_dir);
        };
        let (Some(key), Some(secret)) = (&self.s3_access_key_id, &self.s3_secret_access_key) else {
            return Err("--s3-bucket needs --s3-access-key-id and --s3-secret-access-key".into());
        };
        let plain_http = self
            .s3_endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        if plain_http && self.production() {
            return Err("the S3 endpoint must be https in production".into());
        }
        crate::storage::Storage::s3(crate::storage::S3Settings {
            endpoint: self.s3_endpoint.as_deref(),
            bucket,
            region: &self.s3_region,
            access_key_id: key,
            secret_access_key: secret,
            allow_http: plain_http,
        })
    }

    pub fn attachment_limits(&self) -> crate::attachments::Limits {
        crate::attachments::Limits {
            per_file: self.attachment_max_bytes,
            per_case: self.case_attachments_max_bytes,
        }
    }

    /// The signing secret: from the flag, the variable or the file; in dev a random one
    /// (with a warning) when none is set; in production, an error.
    pub fn jwt_secret(&self) -> Result<Vec<u8>, String> {
        let configured = match (&self.jwt_secret, &self.jwt_secret_file) {
            (Some(s), _) => Some(s.trim().as_bytes().to_vec()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        format!("cannot read the JWT secret file {}: {e}", path.display())
                    })?
                    .trim()
                    .as_bytes()
                    .to_vec(),
            ),
            (None, None) => None,
        };
        match configured {
            Some(secret) if secret.len() >= 32 => Ok(secret),
            Some(_) => Err("the JWT secret must be at least 32 bytes".into()),
            None if self.production() => {
                Err("production needs a JWT secret: set XINFANG_JWT_SECRET or XINFANG_JWT_SECRET_FILE (32 bytes or more)".into())
            }
            None => {
                tracing::warn!("no JWT secret configured: using a random one; tokens will not survive a restart");
                let mut secret = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
                Ok(secret)
            }
        }
    }

    /// The checkpoint signer, if an audit key is configured; production needs one.
    pub fn audit_signer(&self) -> Result<Option<crate::audit::Signer>, String> {
        let text = match (&self.audit_key, &self.audit_key_file) {
            (Some(k), _) => k.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the audit key file {}: {e}", path.display()))?,
            (None, None) if self.production() => {
                return Err("production needs an audit key to sign checkpoints: set XINFANG_AUDIT_KEY or XINFANG_AUDIT_KEY_FILE (`xinfang audit keygen` makes one)".into());
            }
            (None, None) => return Ok(None),
        };
        crate::audit::Signer::from_base64(&text).map(Some)
    }

    /// Checks that hold before anything starts.
    pub fn validate(&self) -> Result<(), String> {
        if self.production() && self.test_clock {
            return Err("the test clock cannot be enabled in production".into());
        }
        if self.cors_origins.iter().any(|o| o.trim() == "*") {
            return Err("CORS origins must be listed; `*` is not allowed".into());
        }
        if !(1..=3600).contains(&self.access_token_ttl) {
            return Err("the access-token lifetime must be 1 to 3600 seconds".into());
        }
        if self.attachment_max_bytes < 1
            || self.case_attachments_max_bytes < self.attachment_max_bytes
        {
            return Err("attachment caps: a file at least 1 byte, a case at least one file".into());
        }
        if !(1_000..=60_000).contains(&self.directory_silence_ms) {
            return Err("the directory's silence bound is 1000 to 60000 ms".into());
        }
        if let Some(replica) = &self.replica_database_url {
            if !replica.starts_with("postgres") || !self.database_url.starts_with("postgres") {
                return Err(
                    "a read replica is a PostgreSQL replica of a PostgreSQL primary".into(),
                );
            }
            if self.replica_max_lag_ms > 60_000 {
                return Err("the replica's lag bound is at most 60000 ms".into());
            }
        }
        if !(100..=120_000).contains(&self.webhook_timeout_ms) {
            return Err("the webhook timeout must be 100 ms to 2 minutes".into());
        }
        if self.webhook_retry_ms < 10 || self.webhook_poll_ms < 10 || self.webhook_workers > 64 {
            return Err(
                "webhook retry and poll intervals are at least 10 ms; at most 64 workers".into(),
            );
        }
        Ok(())
    }
}
