//! Passwords (argon2id), access tokens (JWT), refresh sessions and sign-in throttling.
//!
//! - Passwords are hashed with argon2id at m=19456 KiB, t=2, p=1 on a blocking thread, and
//!   re-hashed at sign-in when the stored hash used weaker parameters.
//! - Access tokens are HS256 JWTs with `iss`, `aud`, `sub`, `iat`, `exp`, `typ = at+jwt` and the
//!   session id `sid`. The server pins the algorithm; the header only chooses among our keys by
//!   `kid`. Expiry is checked against the server's clock, with 30 s of leeway.
//! - A refresh token is 256 random bits, stored only as its SHA-256, and spent on use. A spent
//!   token presented again revokes its whole session (the family), as theft is the likely cause.
//! - Every request re-reads the session, the account and its unit (one joined statement), so
//!   revoking a session, deactivating an account or changing its role or unit takes effect on
//!   the next request.
//! - Unknown usernames and wrong passwords fail alike, after the same argon2 work. After
//!   [`FREE_FAILURES`] consecutive failures a username backs off exponentially; the counter
//!   lives in the database so every server process honours it.

use crate::access::{UnitScope, Viewer};
use crate::clock::Clock;
use crate::directory::{Directory, SessionFacts};
use crate::domain::FromDb;
use crate::domain::{OrgUnitKind, Role};
use crate::error::{AppError, Result, bad_input, internal};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseExecutor,
    EntityTrait, FromQueryResult, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use xinfang_entity::{org_unit, rate_limit, refresh_token, session, user};

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const FREE_FAILURES: i32 = 5;
const LEEWAY_SECONDS: i64 = 30;
const MAX_BACKOFF_SECONDS: i64 = 15 * 60;
const ACCESS_TOKEN_TYPE: &str = "at+jwt";

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    buf
}

pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(32))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[derive(Clone)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: TimeDelta,
    pub refresh_idle: TimeDelta,
    pub refresh_absolute: TimeDelta,
    pub signing_kid: String,
    pub signing_key: EncodingKey,
    pub verification_keys: HashMap<String, DecodingKey>,
    pub argon_params: Params,
    /// A hash of a random password, verified against when the username is unknown so that
    /// both failures cost the same time.
    pub dummy_hash: String,
}

impl AuthConfig {
    /// Keys and lifetimes from the settings; `previous_keys` are older verification keys
    /// (by `kid`) still accepted during a key rotation.
    pub fn new(
        settings: &crate::config::Settings,
        signing_secret: &[u8],
        previous_keys: &[(String, Vec<u8>)],
    ) -> Result<Self> {
        let signing_kid = settings.jwt_kid.clone();
        let argon_params = Params::new(19_456, 2, 1, None).map_err(|e| internal(e.to_string()))?;
        let mut verification_keys = HashMap::new();
        for (kid, secret) in previous_keys {
            verification_keys.insert(kid.clone(), DecodingKey::from_secret(secret));
        }
        verification_keys.insert(
            signing_kid.clone(),
            DecodingKey::from_secret(signing_secret),
        );
        let dummy_hash = hash_with(&argon_params, &random_token())?;
        Ok(AuthConfig {
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            access_ttl: TimeDelta::seconds(settings.access_token_ttl),
            refresh_idle: TimeDelta::days(settings.refresh_idle_days),
            refresh_absolute: TimeDelta::days(settings.refresh_absolute_days),
            signing_kid,
            signing_key: EncodingKey::from_secret(signing_secret),
            verification_keys,
            argon_params,
            dummy_hash,
        })
    }

    fn phc_prefix(&self) -> String {
        format!(
            "$argon2id$v=19$m={},t={},p={}$",
            self.argon_params.m_cost(),
            self.argon_params.t_cost(),
            self.argon_params.p_cost()
        )
    }
}

fn hash_with(params: &Params, password: &str) -> Result<String> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| internal(format!("argon2: {e}")))
}

/// Password length rule: 8 to 128 characters, taken exactly as typed.
pub fn check_password_rules(field: &str, password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(bad_input(
            field,
            format!("passwords are {PASSWORD_MIN} to {PASSWORD_MAX} characters long"),
        ));
    }
    Ok(())
}

/// Hashes on a blocking thread: argon2 is deliberately slow and must not stall the executor.
/// Password checks running at once: one per core, since each is all CPU and 19 MiB — and at
/// most [`HASHING_MAX`]: on PostgreSQL each check in progress holds a pooled connection (its
/// lock's transaction, where it also reads and counts), so the default pool of 16 keeps at
/// least half its connections for everything else.
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .min(HASHING_MAX),
    )
});
pub const HASHING_MAX: usize = 8;
/// Checks waiting for a turn; past [`HASHING_QUEUE_MAX`] a new one is turned away.
static HASHING_WAITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub const HASHING_QUEUE_MAX: usize = 32;

/// A turn at argon2, or `SERVICE_UNAVAILABLE` when too many are already waiting: memory and
/// CPU stay bounded however many sign-ins arrive at once.
async fn hashing_turn() -> Result<tokio::sync::SemaphorePermit<'static>> {
    use std::sync::atomic::Ordering;
    let waiting = HASHING_WAITING.fetch_add(1, Ordering::SeqCst);
    if waiting >= HASHING_QUEUE_MAX {
        HASHING_WAITING.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!(waiting, "password check refused: too many waiting");
        return Err(AppError::Unavailable(
            "too many sign-ins at once; try again in a moment".into(),
        ));
    }
    let permit = HASHING.acquire().await;
    HASHING_WAITING.fetch_sub(1, Ordering::SeqCst);
    permit.map_err(|_| internal("the hashing semaphore is closed"))
}

pub async fn hash_password(config: &AuthConfig, password: &str) -> Result<String> {
    let turn = hashing_turn().await?;
    hash_in_turn(config, password, &turn).await
}

/// [`hash_password`] for a caller that already holds a turn.
async fn hash_in_turn(
    config: &AuthConfig,
    password: &str,
    _turn: &tokio::sync::SemaphorePermit<'static>,
) -> Result<String> {
    let params = config.argon_params.clone();
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_with(&params, &password))
        .await
        .map_err(|e| internal(e.to_string()))?
}

/// Verifies on a blocking thread. A malformed stored hash verifies as false (and is logged).
pub async fn verify_password(hash: &str, password: &str) -> Result<bool> {
    let turn = hashing_turn().await?;
    verify_in_turn(hash, password, &turn).await
}

/// [`verify_password`] for a caller that already holds a turn.
async fn verify_in_turn(
    hash: &str,
    password: &str,
    _turn: &tokio::sync::SemaphorePermit<'static>,
) -> Result<bool> {
    let hash = hash.to_owned();
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || match PasswordHash::new(&hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "stored password hash is malformed");
            false
        }
    })
    .await
    .map_err(|e| internal(e.to_string()))
}

#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    exp: i64,
    sid: String,
}

pub fn issue_access_token(
    config: &AuthConfig,
    user_id: i64,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>)> {
    let expires_at = now + config.access_ttl;
    let claims = AccessClaims {
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        sub: user_id.to_string(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        sid: session_id.to_string(),
    };
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some(ACCESS_TOKEN_TYPE.into());
    header.kid = Some(config.signing_kid.clone());
    let token = jsonwebtoken::encode(&header, &claims, &config.signing_key)
        .map_err(|e| internal(format!("jwt: {e}")))?;
    Ok((token, expires_at))
}

/// Checks an access token's signature, type, issuer, audience and expiry; returns the
/// (user id, session id, expiry) it names. Any failure is simply "not a valid token".
pub fn verify_access_token(
    config: &AuthConfig,
    token: &str,
    now: DateTime<Utc>,
) -> Option<(i64, String, DateTime<Utc>)> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != jsonwebtoken::Algorithm::HS256
        || header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE)
    {
        return None;
    }
    let key = config.verification_keys.get(header.kid.as_deref()?)?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Expiry is judged by the server's own clock below, the one every deadline uses.
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<AccessClaims>(token, key, &validation).ok()?;
    let claims = data.claims;
    if claims.exp + LEEWAY_SECONDS < now.timestamp()
        || claims.iat - LEEWAY_SECONDS > now.timestamp()
    {
        return None;
    }
    let user_id = claims.sub.parse().ok()?;
    Some((
        user_id,
        claims.sid,
        DateTime::from_timestamp(claims.exp, 0)?,
    ))
}

/// What a successful sign-in or refresh hands back.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
}

fn login_bucket(username_key: &str) -> String {
    format!("login:{username_key}")
}

fn backoff(failures: i32) -> TimeDelta {
    let over = Ord::clamp(failures - FREE_FAILURES, 0, 20);
    TimeDelta::seconds(Ord::min(1_i64 << over, MAX_BACKOFF_SECONDS))
}

pub fn username_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// Failed credential checks one client address may make in [`ADDRESS_WINDOW_MINUTES`],
/// whatever accounts they name, before it must wait.
pub const ADDRESS_FAILURES: i32 = 20;
const ADDRESS_WINDOW_MINUTES: i64 = 15;

/// Everything one credential check holds: its bucket's gate, a turn at argon2, and where it
/// reads and counts.
struct Throttle<'a> {
    _gate: tokio::sync::OwnedMutexGuard<()>,
    turn: tokio::sync::SemaphorePermit<'static>,
    /// On PostgreSQL the transaction that holds the bucket's advisory lock (READ COMMITTED,
    /// PostgreSQL's default, so its reads after the lock see what the check before it
    /// committed), on SQLite the pool. The check's reads and counts run here, so a check
    /// holds one pooled connection at a time: a sign-in that held the lock on one connection
    /// and asked the pool for another could wait for itself once the pool was used up (with a
    /// pool of 2, two sign-ins at once answered SERVICE_UNAVAILABLE).
    conn: DatabaseExecutor<'a>,
    db: &'a DatabaseConnection,
}

impl Throttle<'_> {
    /// Counts a failed check of `bucket` and settles; the throttle goes with it.
    async fn failed(mut self, bucket: &str, now: DateTime<Utc>) -> Result<()> {
        record_failure(&self.conn, bucket, now).await?;
        self.settle().await
    }

    /// Clears the failures of `bucket` after a check that passed, and settles; the gate and
    /// the turn are still held (a re-hash may follow).
    async fn passed(&mut self, bucket: &str) -> Result<()> {
        rate_limit::Entity::delete_by_id(bucket.to_string())
            .exec(&self.conn)
            .await?;
        self.settle().await
    }

    /// Keeps what the check counted and releases the advisory lock; the gate and the turn
    /// go when the throttle is dropped. On PostgreSQL a throttle dropped unsettled (an error
    /// on the way) counts nothing, its transaction rolled back; on SQLite each count is
    /// written as it is made.
    async fn settle(&mut self) -> Result<()> {
        let held = std::mem::replace(&mut self.conn, DatabaseExecutor::Connection(self.db));
        if let DatabaseExecutor::OwnedTransaction(tx) = held {
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Holds the throttle of `bucket` for one credential check: this process's gate, then a
/// turn at argon2, then on PostgreSQL a transaction-scoped advisory lock. The order matters:
/// the lock's transaction holds a pooled connection, and only checks that have their turn
/// (one per core) may hold one, so a burst of sign-ins cannot take every connection.
async fn hold_throttle<'a>(db: &'a DatabaseConnection, bucket: &str) -> Result<Throttle<'a>> {
    // This process's gate per bucket: the checks of one account (or one password change)
    // run one at a time and each sees the count the one before it left. Across processes
    // the advisory lock below does the same.
    let guard = crate::gates::turn(bucket).await;
    let turn = hashing_turn().await?;
    let conn = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let tx = sea_orm::TransactionTrait::begin(db).await?;
            tx.execute_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                [bucket.into()],
            ))
            .await?;
            DatabaseExecutor::OwnedTransaction(tx)
        }
        _ => DatabaseExecutor::Connection(db),
    };
    Ok(Throttle {
        _gate: guard,
        turn,
        conn,
        db,
    })
}

/// `RATE_LIMITED` while a bucket's failures call for a pause.
async fn check_backoff(db: &impl ConnectionTrait, bucket: &str, now: DateTime<Utc>) -> Result<()> {
    if let Some(throttle) = rate_limit::Entity::find_by_id(bucket.to_string())
        .one(db)
        .await?
        && throttle.hits >= FREE_FAILURES
        && now < throttle.window_start + backoff(throttle.hits)
    {
        tracing::warn!(
            bucket,
            failures = throttle.hits,
            "credential check refused: backing off"
        );
        return Err(AppError::RateLimited(
            "too many failed attempts; wait a moment and try again".into(),
        ));
    }
    Ok(())
}

/// Takes one of a client address's credential checks for the window, before the check runs,
/// or `RATE_LIMITED` when it has none left. Taking the slot first (atomically, see
/// [`take_rate_limit`]) is what bounds a parallel burst: a check that succeeds gives its slot
/// back ([`AddressSlot::give_back`]), so what the window counts is failures and checks in
/// flight.
async fn take_address_slot(
    db: &DatabaseConnection,
    address: &str,
    now: DateTime<Utc>,
) -> Result<AddressSlot> {
    let window = TimeDelta::minutes(ADDRESS_WINDOW_MINUTES);
    if take_rate_limit(db, &address_bucket(address), ADDRESS_FAILURES, window, now).await? {
        return Ok(AddressSlot {
            db: db.clone(),
            address: address.to_string(),
            settled: false,
        });
    }
    tracing::warn!("credential check refused for the address");
    Err(AppError::RateLimited(
        "too many failed sign-ins from this address; wait and try again".into(),
    ))
}

/// A client address's slot for one credential check. A wrong password keeps it
/// ([`AddressSlot::keep`]); anything else gives it back ([`AddressSlot::give_back`]) — and a
/// check that never finished (the client went away while it waited its turn) gives it back
/// when it is dropped, so abandoned requests cannot lock an address out.
struct AddressSlot {
    db: DatabaseConnection,
    address: String,
    settled: bool,
}

impl AddressSlot {
    fn keep(mut self) {
        self.settled = true;
    }

    async fn give_back(mut self) -> Result<()> {
        self.settled = true;
        return_address_slot(&self.db, &self.address).await
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (db, address) = (self.db.clone(), std::mem::take(&mut self.address));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = return_address_slot(&db, &address).await {
                    tracing::warn!(
                        error = e.message_for_operator(),
                        "an abandoned sign-in's address slot was not given back"
                    );
                }
            });
        }
    }
}

/// Gives back the slot of a credential check that did not fail on its credentials.
async fn return_address_slot(db: &DatabaseConnection, address: &str) -> Result<()> {
    rate_limit::Entity::update_many()
        .col_expr(
            rate_limit::Column::Hits,
            Expr::col(rate_limit::Column::Hits).sub(1),
        )
        .filter(rate_limit::Column::Bucket.eq(address_bucket(address)))
        .filter(rate_limit::Column::Hits.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

fn address_bucket(address: &str) -> String {
    format!("addr:{address}")
}

/// Signs in. Each call counts as one attempt, however many share a request. The check and the
/// count are one step per account (see [`hold_throttle`]): of a burst of parallel attempts,
/// no more than [`FREE_FAILURES`] reach the password check before the back-off applies.
pub async fn login(
    db: &DatabaseConnection,
    config: &AuthConfig,
    clock: &Clock,
    username: &str,
    password: &str,
    address: &str,
) -> Result<Tokens> {
    let key = username_key(username);
    let now = clock.now();
    let bucket = login_bucket(&key);
    let slot = take_address_slot(db, address, now).await?;
    let checked = check_login(db, config, password, &key, &bucket, now).await;
    if matches!(checked, Err(AppError::Unauthenticated(_))) {
        slot.keep();
    } else {
        // Only a wrong password keeps its slot: a success, or a refusal before any password
        // was checked (the account's back-off, a full queue), gives it back.
        slot.give_back().await?;
    }
    let (account, throttle) = checked?;
    if !account.password_hash.starts_with(&config.phc_prefix()) {
        let rehashed = hash_in_turn(config, password, &throttle.turn).await?;
        let mut active: user::ActiveModel = account.clone().into();
        active.password_hash = Set(rehashed);
        active.update(db).await?;
        tracing::info!(
            user_id = account.id,
            "password re-hashed with current parameters"
        );
    }
    drop(throttle);
    start_session(db, config, now, account).await
}

/// The password check of a sign-in under its account's throttle: the account, and the turn
/// at argon2 still held (for a re-hash), or why not.
async fn check_login<'a>(
    db: &'a DatabaseConnection,
    config: &AuthConfig,
    password: &str,
    key: &str,
    bucket: &str,
    now: DateTime<Utc>,
) -> Result<(user::Model, Throttle<'a>)> {
    let mut throttle = hold_throttle(db, bucket).await?;
    check_backoff(&throttle.conn, bucket, now).await?;
    let account = user::Entity::find()
        .filter(user::Column::UsernameKey.eq(key))
        .one(&throttle.conn)
        .await?;
    let (hash, account) = match account {
        Some(u) => (u.password_hash.clone(), Some(u)),
        None => (config.dummy_hash.clone(), None),
    };
    let verified = verify_in_turn(&hash, password, &throttle.turn).await?;
    let account = match account {
        Some(u) if verified && u.active => u,
        _ => {
            throttle.failed(bucket, now).await?;
            tracing::warn!(username = %key, "sign-in failed");
            return Err(wrong_credentials());
        }
    };
    throttle.passed(bucket).await?;
    Ok((account, throttle))
}

fn wrong_credentials() -> AppError {
    AppError::Unauthenticated("wrong username or password")
}

async fn record_failure(db: &impl ConnectionTrait, bucket: &str, now: DateTime<Utc>) -> Result<()> {
    let row = rate_limit::ActiveModel {
        bucket: Set(bucket.to_string()),
        window_start: Set(now),
        hits: Set(1),
    };
    rate_limit::Entity::insert(row)
        .on_conflict(
            OnConflict::column(rate_limit::Column::Bucket)
                .value(
                    rate_limit::Column::Hits,
                    Expr::col((rate_limit::Entity, rate_limit::Column::Hits)).add(1),
                )
                .value(rate_limit::Column::WindowStart, now)
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Counts a hit in a fixed window; false when the limit is already reached.
pub async fn take_rate_limit(
    db: &DatabaseConnection,
    bucket: &str,
    limit: i32,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> Result<bool> {
    let tx = crate::db::begin_write(db).await?;
    // SQLite's write transaction already runs alone; on PostgreSQL the bucket's lock makes
    // the read and the count one step, so a parallel burst cannot all read the same count.
    if tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        tx.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [format!("limit:{bucket}").into()],
        ))
        .await?;
    }
    let current = rate_limit::Entity::find_by_id(bucket.to_string())
        .one(&tx)
        .await?;
    let allowed = match current {
        Some(row) if now < row.window_start + window => {
            if row.hits >= limit {
                false
            } else {
                // Counted in SQL (hits + 1), not written back as read: a slot given back
                // meanwhile (return_address_slot) is not overwritten.
                rate_limit::Entity::update_many()
                    .col_expr(
                        rate_limit::Column::Hits,
                        Expr::col(rate_limit::Column::Hits).add(1),
                    )
                    .filter(rate_limit::Column::Bucket.eq(bucket))
                    .exec(&tx)
                    .await?;
                true
            }
        }
        Some(row) => {
            let mut active: rate_limit::ActiveModel = row.into();
            active.hits = Set(1);
            active.window_start = Set(now);
            active.update(&tx).await?;
            true
        }
        None => {
            rate_limit::ActiveModel {
                bucket: Set(bucket.to_string()),
                window_start: Set(now),
                hits: Set(1),
            }
            .insert(&tx)
            .await?;
            true
        }
    };
    tx.commit().await?;
    Ok(allowed)
}

/// Opens a new session (refresh family) for an account and issues its first tokens.
pub async fn start_session(
    db: &impl ConnectionTrait,
    config: &AuthConfig,
    now: DateTime<Utc>,
    account: user::Model,
) -> Result<Tokens> {
    let session_id = random_token();
    session::ActiveModel {
        id: Set(session_id.clone()),
        user_id: Set(account.id),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(now + config.refresh_absolute),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    }
    .insert(db)
    .await?;
    let refresh = random_token();
    refresh_token::ActiveModel {
        token_hash: Set(sha256_hex(refresh.as_bytes())),
        session_id: Set(session_id.clone()),
        created_at: Set(now),
        spent_at: Set(None),
    }
    .insert(db)
    .await?;
    let (access_token, expires_at) = issue_access_token(config, account.id, &session_id, now)?;
    Ok(Tokens {
        access_token,
        refresh_token: refresh,
        expires_at,
        user: account,
    })
}

fn invalid_refresh() -> AppError {
    AppError::Unauthenticated("this session has ended; sign in again")
}

/// Rotates a refresh token. A spent token revokes its session; the caller gets
/// `UNAUTHENTICATED` either way.
pub async fn refresh(
    db: &DatabaseConnection,
    config: &AuthConfig,
    clock: &Clock,
    token: &str,
) -> Result<Tokens> {
    let now = clock.now();
    let hash = sha256_hex(token.as_bytes());
    let tx = crate::db::begin_write(db).await?;
    let Some(stored) = refresh_token::Entity::find_by_id(hash).one(&tx).await? else {
        return Err(invalid_refresh());
    };
    let Some(sess) = session::Entity::find_by_id(stored.session_id.clone())
        .one(&tx)
        .await?
    else {
        return Err(invalid_refresh());
    };
    if stored.spent_at.is_some() {
        revoke_sessions(
            &tx,
            session::Column::Id.eq(sess.id.clone()),
            now,
            "refresh token reused",
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(session = %short(&sess.id), "spent refresh token presented again: session revoked");
        return Err(invalid_refresh());
    }
    if sess.revoked_at.is_some()
        || now >= sess.expires_at
        || now >= sess.last_used_at + config.refresh_idle
    {
        return Err(invalid_refresh());
    }
    let Some(account) = user::Entity::find_by_id(sess.user_id).one(&tx).await? else {
        return Err(invalid_refresh());
    };
    if !account.active {
        return Err(invalid_refresh());
    }
    // Spend it only if nobody spent it meanwhile: a concurrent refresh with the same token
    // loses, as a replay would.
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::SpentAt, Expr::val(now))
        .filter(refresh_token::Column::TokenHash.eq(stored.token_hash.clone()))
        .filter(refresh_token::Column::SpentAt.is_null())
        .exec(&tx)
        .await?;
    if spent.rows_affected != 1 {
        return Err(invalid_refresh());
    }
    let next = random_token();
    refresh_token::ActiveModel {
        token_hash: Set(sha256_hex(next.as_bytes())),
        session_id: Set(sess.id.clone()),
        created_at: Set(now),
        spent_at: Set(None),
    }
    .insert(&tx)
    .await?;
    let session_id = sess.id.clone();
    let mut active: session::ActiveModel = sess.into();
    active.last_used_at = Set(now);
    active.update(&tx).await?;
    tx.commit().await?;
    let (access_token, expires_at) = issue_access_token(config, account.id, &session_id, now)?;
    Ok(Tokens {
        access_token,
        refresh_token: next,
        expires_at,
        user: account,
    })
}

/// Ends the session a refresh token belongs to. Unknown tokens are ignored (logging out
/// twice is not an error).
pub async fn logout(
    db: &DatabaseConnection,
    directory: &Directory,
    clock: &Clock,
    token: &str,
) -> Result<()> {
    let hash = sha256_hex(token.as_bytes());
    if let Some(stored) = refresh_token::Entity::find_by_id(hash).one(db).await? {
        revoke_sessions(
            db,
            session::Column::Id.eq(stored.session_id),
            clock.now(),
            "logged out",
        )
        .await?;
        directory.forget_all();
    }
    Ok(())
}

/// Revokes the sessions matching a condition (one session, or all of a user's).
pub async fn revoke_sessions(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::val(now))
        .col_expr(session::Column::RevokedReason, Expr::val(reason))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A short, non-secret prefix of an identifier for logs.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(6)]
}

/// What one statement reads about a bearer token's session: the session, its account and the
/// account's unit, joined.
#[derive(FromQueryResult)]
struct LiveSession {
    user_id: i64,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    active: bool,
    role: Role,
    unit_id: Option<i64>,
    unit_name: Option<String>,
    unit_kind: Option<String>,
    unit_county_id: Option<i64>,
    unit_petition_bureau: Option<bool>,
    unit_discipline_body: Option<bool>,
    unit_path: Option<String>,
    unit_active: Option<bool>,
}

/// Resolves the viewer of a request from its bearer token: the token must verify and its
/// session, account and unit must still be live. `Ok(None)` means "not a valid token".
///
/// Every request pays for this. On PostgreSQL the answer usually comes from the process's
/// [`Directory`], which forgets it on every notified change (see that module); otherwise it
/// is one statement (session ⋈ account ⟕ unit). Either way the token's own expiry and the
/// session's are checked against the clock now.
pub async fn resolve_viewer(
    db: &DatabaseConnection,
    directory: &Directory,
    config: &AuthConfig,
    clock: &Clock,
    token: &str,
) -> Result<Option<(Viewer, DateTime<Utc>)>> {
    let now = clock.now();
    let Some((user_id, session_id, expires_at)) = verify_access_token(config, token, now) else {
        return Ok(None);
    };
    if let Some(facts) = directory.session(&session_id) {
        if facts.user_id != user_id || now >= facts.expires_at {
            return Ok(None);
        }
        let viewer = Viewer {
            user_id,
            session_id,
            role: facts.role,
            unit: facts.unit,
        };
        return Ok(Some((viewer, expires_at)));
    }
    let ticket = directory.ticket();
    let (s, u, o) = (Alias::new("s"), Alias::new("u"), Alias::new("o"));
    let query = Query::select()
        .column((s.clone(), session::Column::UserId))
        .column((s.clone(), session::Column::ExpiresAt))
        .column((s.clone(), session::Column::RevokedAt))
        .column((u.clone(), user::Column::Active))
        .column((u.clone(), user::Column::Role))
        .expr_as(Expr::col((o.clone(), org_unit::Column::Id)), "unit_id")
        .expr_as(Expr::col((o.clone(), org_unit::Column::Name)), "unit_name")
        .expr_as(Expr::col((o.clone(), org_unit::Column::Kind)), "unit_kind")
        .expr_as(
            Expr::col((o.clone(), org_unit::Column::CountyId)),
            "unit_county_id",
        )
        .expr_as(
            Expr::col((o.clone(), org_unit::Column::PetitionBureau)),
            "unit_petition_bureau",
        )
        .expr_as(
            Expr::col((o.clone(), org_unit::Column::DisciplineBody)),
            "unit_discipline_body",
        )
        .expr_as(Expr::col((o.clone(), org_unit::Column::Path)), "unit_path")
        .expr_as(
            Expr::col((o.clone(), org_unit::Column::Active)),
            "unit_active",
        )
        .from_as(session::Entity, s.clone())
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            u.clone(),
            Expr::col((u.clone(), user::Column::Id)).equals((s.clone(), session::Column::UserId)),
        )
        .join_as(
            JoinType::LeftJoin,
            org_unit::Entity,
            o.clone(),
            Expr::col((o.clone(), org_unit::Column::Id))
                .equals((u.clone(), user::Column::OrgUnitId)),
        )
        .and_where(Expr::col((s, session::Column::Id)).eq(session_id.as_str()))
        .to_owned();
    let stmt = db.get_database_backend().build(&query);
    let Some(live) = LiveSession::find_by_statement(stmt).one(db).await? else {
        return Ok(None);
    };
    if live.user_id != user_id
        || live.revoked_at.is_some()
        || now >= live.expires_at
        || !live.active
    {
        return Ok(None);
    }
    let role = live.role;
    let unit = match live.unit_id {
        None => None,
        // An account whose unit was deactivated signs nobody in.
        Some(_) if live.unit_active != Some(true) => return Ok(None),
        Some(id) => Some(UnitScope {
            id,
            name: live.unit_name.unwrap_or_default(),
            kind: OrgUnitKind::from_db(live.unit_kind.as_deref().unwrap_or_default())?,
            county_id: live.unit_county_id,
            petition_bureau: live.unit_petition_bureau.unwrap_or(false),
            discipline_body: live.unit_discipline_body.unwrap_or(false),
            path: live.unit_path.unwrap_or_default(),
        }),
    };
    directory.keep_session(
        ticket,
        &session_id,
        SessionFacts {
            user_id,
            expires_at: live.expires_at,
            role,
            unit: unit.clone(),
        },
    );
    let viewer = Viewer {
        user_id,
        session_id,
        role,
        unit,
    };
    Ok(Some((viewer, expires_at)))
}

/// Builds the viewer of an account (its unit and the unit's county facts).
pub async fn viewer_for(
    db: &impl ConnectionTrait,
    account: &user::Model,
    session_id: String,
) -> Result<Option<Viewer>> {
    let role = account.role;
    let unit = match account.org_unit_id {
        Some(unit_id) => {
            let Some(unit) = org_unit::Entity::find_by_id(unit_id).one(db).await? else {
                return Ok(None);
            };
            if !unit.active {
                return Ok(None);
            }
            Some(unit_scope(&unit)?)
        }
        None => None,
    };
    Ok(Some(Viewer {
        user_id: account.id,
        session_id,
        role,
        unit,
    }))
}

pub fn unit_scope(unit: &org_unit::Model) -> Result<UnitScope> {
    Ok(UnitScope {
        id: unit.id,
        name: unit.name.clone(),
        kind: unit.kind,
        county_id: unit.county_id,
        petition_bureau: unit.petition_bureau,
        discipline_body: unit.discipline_body,
        path: unit.path.clone(),
    })
}

/// Changes the viewer's own password and ends their other sessions.
pub async fn change_password(
    db: &DatabaseConnection,
    directory: &Directory,
    config: &AuthConfig,
    clock: &Clock,
    viewer: &Viewer,
    current: &str,
    new: &str,
) -> Result<()> {
    check_password_rules("newPassword", new)?;
    // The current-password check is throttled like a sign-in: a stolen session cannot try
    // passwords at will.
    let bucket = format!("password:{}", viewer.user_id);
    let mut throttle = hold_throttle(db, &bucket).await?;
    check_backoff(&throttle.conn, &bucket, clock.now()).await?;
    let account = user::Entity::find_by_id(viewer.user_id)
        .one(&throttle.conn)
        .await?
        .ok_or(AppError::Unauthenticated("sign in first"))?;
    if !verify_in_turn(&account.password_hash, current, &throttle.turn).await? {
        throttle.failed(&bucket, clock.now()).await?;
        return Err(bad_input(
            "currentPassword",
            "the current password is wrong",
        ));
    }
    throttle.passed(&bucket).await?;
    let hash = hash_in_turn(config, new, &throttle.turn).await?;
    drop(throttle);
    let now = clock.now();
    let tx = crate::db::begin_write(db).await?;
    let mut active: user::ActiveModel = account.into();
    active.password_hash = Set(hash);
    active.updated_at = Set(now);
    active.update(&tx).await?;
    revoke_sessions(
        &tx,
        session::Column::UserId
            .eq(viewer.user_id)
            .and(session::Column::Id.ne(viewer.session_id.clone())),
        now,
        "password changed",
    )
    .await?;
    tx.commit().await?;
    directory.forget_all();
    Ok(())
}

fn parse_previous_keys(spec: Option<&str>) -> std::result::Result<Vec<(String, Vec<u8>)>, String> {
    let Some(spec) = spec else { return Ok(vec![]) };
    spec.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|pair| {
            let (kid, secret) = pair
                .split_once('=')
                .ok_or("previous keys are written kid=secret,kid2=secret2")?;
            if secret.len() < 32 {
                return Err(format!("previous key {kid} is shorter than 32 bytes"));
            }
            Ok((kid.trim().to_string(), secret.trim().as_bytes().to_vec()))
        })
        .collect()
}

/// The signing keys and token settings the configuration names.
pub fn auth_config(settings: &crate::config::Settings) -> std::result::Result<AuthConfig, String> {
    let secret = settings.jwt_secret()?;
    let previous = parse_previous_keys(settings.jwt_previous_keys.as_deref())?;
    AuthConfig::new(settings, &secret, &previous).map_err(|e| e.message_for_operator())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_the_free_failures_and_is_capped() {
        assert_eq!(backoff(5), TimeDelta::seconds(1));
        assert_eq!(backoff(6), TimeDelta::seconds(2));
        assert_eq!(backoff(9), TimeDelta::seconds(16));
        assert_eq!(backoff(40), TimeDelta::seconds(MAX_BACKOFF_SECONDS));
    }
}
