//! Webhook endpoints and the sender that empties the outbox ([`crate::outbox`]).
//!
//! A unit's administrator registers an endpoint: a URL, the kinds of event wanted, and a
//! secret shown once. The sender, in every server process, leases due messages from the
//! outbox — on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two processes never take the same
//! one — and only the oldest pending message of each endpoint and case, so a case's messages
//! arrive in order. Each is POSTed with the Standard Webhooks headers (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`). A 2xx answer delivers it; anything else, or no
//! answer within the timeout, schedules a retry with exponential backoff — and holds the
//! endpoint's other waiting messages as long, so a dead receiver costs one attempt per round —
//! until the message is older than the dead-letter age. A process that dies holding a lease lets go when the lease
//! runs out: delivery is at least once, and a receiver dedupes by `webhook-id`.

use crate::access::Viewer;
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::{AppError, Result, bad_input};
use crate::outbox::{DEAD, DELIVERED, PENDING, WITHHELD, WebhookEventKind};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use xinfang_entity::{org_unit, webhook_endpoint, webhook_message};

/// Most endpoints one unit may hold (each event is weighed against every endpoint).
pub const MAX_ENDPOINTS_PER_UNIT: u64 = 5;
/// Messages a dead-letter or delivery listing shows at most.
pub const MAX_LISTED: u64 = 100;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

pub struct NewEndpoint<'a> {
    pub unit_id: i64,
    pub url: &'a str,
    pub kinds: &'a [WebhookEventKind],
    pub description: Option<&'a str>,
}

/// Whether an address is one a webhook must not reach without `--webhook-allow-private`:
/// loopback, private, link-local, shared (CGN), unspecified, broadcast, multicast, reserved,
/// benchmarking or documentation space — and an IPv6 address that carries one of those in
/// IPv4 (mapped, compatible, NAT64, 6to4), or is unique-local or site-local.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0 // 0.0.0.0/8, "this network"
                || a >= 240 // 240.0.0.0/4, reserved
                || (a == 100 && (b & 0xc0) == 64) // 100.64.0.0/10, carrier-grade NAT
                || (a == 198 && (b & 0xfe) == 18) // 198.18.0.0/15, benchmarking
                || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24, protocol assignments
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                ))
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            // ::a.b.c.d (IPv4-compatible) and 64:ff9b::a.b.c.d (NAT64).
            if s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified()
                || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            {
                return is_internal(embedded(s[6], s[7]));
            }
            // 2002:a.b.c.d::/48 (6to4).
            if s[0] == 0x2002 {
                return is_internal(embedded(s[1], s[2]));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated, still routed inside)
        }
    }
}

/// Whether a URL names its host by an internal address literally (the resolver guard is not
/// asked for literal addresses, so the sender checks these itself).
fn internal_literal(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        _ => false,
    }
}

/// Checks a URL a unit wants its messages sent to.
pub fn check_url(settings: &Settings, raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err(bad_input("url", "at most 2000 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad_input("url", "not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if !settings.production() => {}
        "http" => return Err(bad_input("url", "webhook URLs must be https in production")),
        _ => return Err(bad_input("url", "a webhook URL is http(s)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad_input(
            "url",
            "no credentials in the URL; the signature authenticates",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad_input("url", "no fragment in a webhook URL"));
    }
    let internal = match url.host() {
        None => return Err(bad_input("url", "a webhook URL names a host")),
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if internal && !settings.webhook_allow_private {
        return Err(bad_input(
            "url",
            "private, loopback and link-local addresses are not allowed (see --webhook-allow-private)",
        ));
    }
    Ok(url.to_string())
}

/// The scheme, host and port of a URL, for the record: a path or query may carry a token of
/// the receiver's.
fn origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Registers an endpoint; returns it with its secret, which is never shown again.
pub async fn register(
    db: &DatabaseConnection,
    clock: &Clock,
    settings: &Settings,
    viewer: &Viewer,
    new: NewEndpoint<'_>,
) -> Result<(webhook_endpoint::Model, String)> {
    let url = check_url(settings, new.url)?;
    if new.kinds.is_empty() {
        return Err(bad_input("kinds", "name at least one kind of event"));
    }
    let description = new.description.unwrap_or("").trim().to_string();
    if description.chars().count() > 200 {
        return Err(bad_input("description", "at most 200 characters"));
    }
    let unit = managed_unit(db, viewer, new.unit_id).await?;
    let tx = crate::db::begin_write(db).await?;
    // Registrations for one unit take turns (PostgreSQL; SQLite has one writer), so the cap
    // below holds under concurrency.
    crate::db::lock_row(&tx, crate::db::LockedTable::OrgUnits, unit.id).await?;
    let held = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::UnitId.eq(unit.id))
        .filter(webhook_endpoint::Column::Active.eq(true))
        .count(&tx)
        .await?;
    if held >= MAX_ENDPOINTS_PER_UNIT {
        return Err(crate::error::conflict(format!(
            "a unit holds at most {MAX_ENDPOINTS_PER_UNIT} active endpoints; deactivate one first"
        )));
    }
    let secret = crate::outbox::new_secret();
    let now = clock.now();
    let endpoint = webhook_endpoint::ActiveModel {
        unit_id: Set(unit.id),
        url: Set(url),
        kinds: Set(WebhookEventKind::store_list(new.kinds)),
        description: Set(description),
        secret: Set(secret.clone()),
        active: Set(true),
        created_by_user_id: Set(viewer.user_id),
        created_at: Set(now),
        deactivated_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    crate::identity::record(
        &tx,
        now,
        Some(viewer),
        "WEBHOOK_REGISTERED",
        Some(unit.id),
        format!("WebhookEndpoint:{}", endpoint.id),
        serde_json::json!({"origin": origin(&endpoint.url), "kinds": endpoint.kinds}),
    )
    .await?;
    tx.commit().await?;
    Ok((endpoint, secret))
}

/// The unit an administrator names, if it may manage it. A unit outside the administrator's
/// reach reads as absent.
async fn managed_unit(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    unit_id: i64,
) -> Result<org_unit::Model> {
    viewer.manages_webhooks_of(unit_id)?;
    let unit = org_unit::Entity::find_by_id(unit_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("unit"))?;
    if !unit.active {
        return Err(bad_input("unitId", "the unit is deactivated"));
    }
    Ok(unit)
}

/// An endpoint the administrator manages (absent otherwise).
pub async fn managed_endpoint(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<webhook_endpoint::Model> {
    // Another unit's endpoint is, to this administrator, not there.
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::UnitId.eq(viewer.webhook_unit()?))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))
}

/// The endpoints of the administrator's own unit, newest first.
pub async fn endpoints(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
) -> Result<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::UnitId.eq(viewer.webhook_unit()?))
        .order_by_desc(webhook_endpoint::Column::Id)
        .all(db)
        .await?)
}

/// Stops sending to an endpoint: nothing more is written for it, and what is pending stays
/// (a later replay after re-registering is not possible; a new endpoint starts afresh).
pub async fn deactivate(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    id: i64,
) -> Result<webhook_endpoint::Model> {
    let tx = crate::db::begin_write(db).await?;
    let endpoint = managed_endpoint(&tx, viewer, id).await?;
    if !endpoint.active {
        return Err(crate::error::conflict(
            "the endpoint is already deactivated",
        ));
    }
    let now = clock.now();
    let mut row: webhook_endpoint::ActiveModel = endpoint.into();
    row.active = Set(false);
    row.deactivated_at = Set(Some(now));
    let endpoint = row.update(&tx).await?;
    crate::identity::record(
        &tx,
        now,
        Some(viewer),
        "WEBHOOK_DEACTIVATED",
        Some(endpoint.unit_id),
        format!("WebhookEndpoint:{}", endpoint.id),
        serde_json::json!({"origin": origin(&endpoint.url)}),
    )
    .await?;
    tx.commit().await?;
    Ok(endpoint)
}

/// Sends again every message of an endpoint written at or after `since` — delivered, pending
/// or dead — with the ids they had, in their order. Returns how many.
pub async fn replay(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    id: i64,
    since: DateTime<Utc>,
) -> Result<u64> {
    let now = clock.now();
    if since > now {
        return Err(bad_input("since", "cannot replay from the future"));
    }
    let tx = crate::db::begin_write(db).await?;
    let endpoint = managed_endpoint(&tx, viewer, id).await?;
    if !endpoint.active {
        return Err(crate::error::conflict("the endpoint is deactivated"));
    }
    let replayed = releasing()
        .col_expr(webhook_message::Column::Status, Expr::value(PENDING))
        .col_expr(webhook_message::Column::Attempts, Expr::value(0))
        .col_expr(webhook_message::Column::NextAttemptAt, Expr::value(now))
        // A replayed message gets the whole dead-letter age again.
        .col_expr(webhook_message::Column::AgeFrom, Expr::value(now))
        .filter(webhook_message::Column::EndpointId.eq(endpoint.id))
        .filter(webhook_message::Column::CreatedAt.gte(since))
        .exec(&tx)
        .await?
        .rows_affected;
    crate::identity::record(
        &tx,
        now,
        Some(viewer),
        "WEBHOOK_REPLAYED",
        Some(endpoint.unit_id),
        format!("WebhookEndpoint:{}", endpoint.id),
        serde_json::json!({"since": since, "messages": replayed}),
    )
    .await?;
    tx.commit().await?;
    Ok(replayed)
}

/// An endpoint's messages, newest first, optionally of one status.
pub async fn messages(
    db: &impl ConnectionTrait,
    endpoint_id: i64,
    status: Option<&str>,
    first: u64,
) -> Result<Vec<webhook_message::Model>> {
    let mut q =
        webhook_message::Entity::find().filter(webhook_message::Column::EndpointId.eq(endpoint_id));
    if let Some(status) = status {
        q = q.filter(webhook_message::Column::Status.eq(status));
    }
    Ok(q.order_by_desc(webhook_message::Column::Id)
        .limit(Ord::min(first, MAX_LISTED))
        .all(db)
        .await?)
}

/// How many of an endpoint's messages are in each state: (pending, delivered, dead,
/// withheld).
pub async fn counts(db: &impl ConnectionTrait, endpoint_id: i64) -> Result<(u64, u64, u64, u64)> {
    let rows: Vec<(String, i64)> = webhook_message::Entity::find()
        .select_only()
        .column(webhook_message::Column::Status)
        .expr(Expr::col(webhook_message::Column::Id).count())
        .filter(webhook_message::Column::EndpointId.eq(endpoint_id))
        .group_by(webhook_message::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let of = |s: &str| {
        rows.iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n as u64)
            .unwrap_or(0)
    };
    Ok((of(PENDING), of(DELIVERED), of(DEAD), of(WITHHELD)))
}

// ---------------------------------------------------------------------------------------
// The sender.

/// A message this process holds the lease of.
struct Leased {
    id: i64,
    endpoint_id: i64,
    case_id: i64,
    payload: String,
    attempts: i32,
    age_from: DateTime<Utc>,
}

/// Resolves host names for the sender, refusing internal addresses unless allowed: checked at
/// connection time, so a name that later resolves inward (DNS rebinding) is still refused.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest_tls::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest_tls::dns::Name) -> reqwest_tls::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || !is_internal(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no address a webhook may reach").into());
            }
            let addrs: reqwest_tls::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

fn client(settings: &Settings) -> Result<reqwest_tls::Client> {
    reqwest_tls::Client::builder()
        .timeout(Duration::from_millis(settings.webhook_timeout_ms))
        .connect_timeout(Duration::from_millis(settings.webhook_timeout_ms))
        .redirect(reqwest_tls::redirect::Policy::none())
        .no_proxy()
        .https_only(settings.production())
        .user_agent(concat!("xinfang-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: settings.webhook_allow_private,
        }))
        .build()
        .map_err(|e| crate::error::internal(e.to_string()))
}

/// Starts this process's sender, unless `--webhook-workers 0`.
pub fn spawn_sender(state: Arc<AppState>) {
    if state.settings.webhook_workers == 0 {
        return;
    }
    let http = match client(&state.settings) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(
                error = e.message_for_operator(),
                "webhooks disabled: no HTTP client"
            );
            return;
        }
    };
    tokio::spawn(async move {
        let mut events = state.bus.subscribe();
        let mut stopping = state.stopping.subscribe();
        let poll = Duration::from_millis(state.settings.webhook_poll_ms);
        loop {
            if *stopping.borrow() {
                return;
            }
            let full = match send_due(&state, &http).await {
                Ok(full) => full,
                Err(e) => {
                    tracing::warn!(
                        error = e.message_for_operator(),
                        "webhook sender could not read the outbox"
                    );
                    false
                }
            };
            if full {
                continue; // more may be due right away
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = events.recv() => {}
                _ = stopping.changed() => {}
            }
            // One look at the outbox serves every event that arrived meanwhile: a burst of
            // commits costs one round, not one each.
            crate::events::gather(&mut events).await;
        }
    });
}

/// Leases a batch of due messages and sends them; `true` when the batch was full.
async fn send_due(state: &Arc<AppState>, http: &reqwest_tls::Client) -> Result<bool> {
    let batch = state.settings.webhook_workers;
    let leased = lease(state, batch).await?;
    let full = leased.len() == batch;
    if leased.is_empty() {
        return Ok(false);
    }
    let ids: Vec<i64> = leased.iter().map(|(m, _)| m.endpoint_id).collect();
    let endpoints: std::collections::HashMap<i64, webhook_endpoint::Model> =
        webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
    let sends = leased.into_iter().map(|(message, token)| {
        let endpoint = endpoints.get(&message.endpoint_id).cloned();
        async move {
            let outcome = match endpoint {
                Some(e) => match still_sees(state, &e, message.case_id).await {
                    Ok(true) => send(state, http, &e, &message).await,
                    Ok(false) => {
                        if let Err(e) = withhold(state, &message, token).await {
                            tracing::warn!(
                                error = e.message_for_operator(),
                                message = message.id,
                                "could not withhold a webhook message"
                            );
                        }
                        return;
                    }
                    Err(_) => Err((None, "could not check the unit's sight".to_string())),
                },
                None => Err((None, "the endpoint is gone".to_string())),
            };
            if let Err(e) = settle(state, &message, token, outcome).await {
                tracing::warn!(
                    error = e.message_for_operator(),
                    message = message.id,
                    "could not record a webhook attempt"
                );
            }
        }
    });
    futures_util::future::join_all(sends).await;
    Ok(full)
}

/// Whether the endpoint's unit still sees the message's case. Sight is asked again at each
/// send, as a live subscription asks it when an event arrives: a backlog, or a replay, is not
/// sent about a case the unit has since lost (transferred away, reclassified, sent up).
async fn still_sees(
    state: &AppState,
    endpoint: &webhook_endpoint::Model,
    case_id: i64,
) -> Result<bool> {
    let unit = crate::identity::find_unit(&state.db, endpoint.unit_id).await?;
    if !unit.active {
        return Ok(false);
    }
    let viewer = Viewer::unit_system(crate::auth::unit_scope(&unit)?);
    Ok(crate::cases::find_visible(&state.db, &viewer, case_id)
        .await?
        .is_some())
}

/// An update of messages that also lets go of their lease.
fn releasing() -> sea_orm::UpdateMany<webhook_message::Entity> {
    webhook_message::Entity::update_many()
        .col_expr(
            webhook_message::Column::LeasedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            webhook_message::Column::LeaseToken,
            Expr::value(Option::<i64>::None),
        )
}

/// [`releasing`] one leased message, and only while this sender still holds it (a sender
/// whose lease ran out and was taken over records nothing).
fn releasing_held(message: &Leased, token: i64) -> sea_orm::UpdateMany<webhook_message::Entity> {
    releasing()
        .filter(webhook_message::Column::Id.eq(message.id))
        .filter(webhook_message::Column::LeaseToken.eq(token))
}

/// Marks a message as withheld (its unit no longer sees the case), while still holding it.
async fn withhold(state: &AppState, message: &Leased, token: i64) -> Result<()> {
    releasing_held(message, token)
        .col_expr(webhook_message::Column::Status, Expr::value(WITHHELD))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Takes the lease of up to `batch` due messages: per endpoint and case only the oldest
/// pending one, so a case's messages go out in order.
async fn lease(state: &AppState, batch: usize) -> Result<Vec<(Leased, i64)>> {
    let now = state.clock.now();
    // Long enough for a send and its bookkeeping; a process that dies lets go after it.
    let lease =
        chrono::Duration::milliseconds(state.settings.webhook_timeout_ms as i64 * 2 + 2_000);
    let token: i64 = rand::random::<i64>() & i64::MAX;
    let backend = state.db.get_database_backend();
    let skip_locked = match backend {
        DatabaseBackend::Postgres => "FOR UPDATE OF m SKIP LOCKED",
        _ => "",
    };
    let sql = format!(
        "UPDATE webhook_messages SET leased_until = $1, lease_token = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT m.id FROM webhook_messages m \
           JOIN webhook_endpoints e ON e.id = m.endpoint_id AND e.active \
           WHERE m.status = 'PENDING' AND m.next_attempt_at <= $3 \
             AND (m.leased_until IS NULL OR m.leased_until < $3) \
             AND NOT EXISTS (SELECT 1 FROM webhook_messages p WHERE p.endpoint_id = m.endpoint_id \
               AND p.case_id = m.case_id AND p.status = 'PENDING' AND p.id < m.id) \
           ORDER BY m.id LIMIT $4 {skip_locked}) \
         RETURNING id, endpoint_id, case_id, payload, attempts, age_from"
    );
    let sql = match backend {
        DatabaseBackend::Postgres => sql,
        _ => sql.replace('$', "?"),
    };
    let rows = state
        .db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                (now + lease).into(),
                token.into(),
                now.into(),
                (batch as i64).into(),
            ],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push((
            Leased {
                id: row.try_get("", "id")?,
                endpoint_id: row.try_get("", "endpoint_id")?,
                case_id: row.try_get("", "case_id")?,
                payload: row.try_get("", "payload")?,
                attempts: row.try_get("", "attempts")?,
                age_from: row.try_get("", "age_from")?,
            },
            token,
        ));
    }
    // The oldest first: receivers see a case's messages in order within a batch as well
    // (one per case per batch anyway).
    out.sort_by_key(|(m, _)| m.id);
    Ok(out)
}

/// One POST. `Ok(status)` for a 2xx answer; otherwise the status (if any) and why.
async fn send(
    state: &AppState,
    http: &reqwest_tls::Client,
    endpoint: &webhook_endpoint::Model,
    message: &Leased,
) -> std::result::Result<u16, (Option<u16>, String)> {
    // An endpoint registered while private addresses were allowed stops when they are not.
    if !state.settings.webhook_allow_private && internal_literal(&endpoint.url) {
        return Err((None, "the address is not one a webhook may reach".into()));
    }
    let id = crate::outbox::message_id(message.id);
    let timestamp = state.clock.now().timestamp();
    let signature = crate::outbox::sign(&endpoint.secret, &id, timestamp, &message.payload)
        .map_err(|e| (None, e.message_for_operator()))?;
    let answer = http
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(message.payload.clone())
        .send()
        .await;
    match answer {
        Ok(res) if res.status().is_success() => Ok(res.status().as_u16()),
        Ok(res) => Err((
            Some(res.status().as_u16()),
            format!("answered {}", res.status()),
        )),
        Err(e) => Err((None, describe(&e))),
    }
}

/// A short reason for a failed send, for the delivery log: the kind of failure only — the
/// resolver's or the socket's own words would tell an administrator which internal names
/// exist and which ports answer.
fn describe(e: &reqwest_tls::Error) -> String {
    if e.is_timeout() {
        "no answer within the timeout"
    } else if e.is_connect() {
        "could not connect (unknown name, refused, or an address a webhook may not reach)"
    } else if e.is_redirect() {
        "redirected (not followed)"
    } else {
        "the request failed"
    }
    .to_string()
}

/// Records the outcome of an attempt — only while this process still holds the lease.
async fn settle(
    state: &AppState,
    message: &Leased,
    token: i64,
    outcome: std::result::Result<u16, (Option<u16>, String)>,
) -> Result<()> {
    let now = state.clock.now();
    let mut hold_endpoint_until = None;
    let mut update = releasing_held(message, token);
    match outcome {
        Ok(status) => {
            update = update
                .col_expr(webhook_message::Column::Status, Expr::value(DELIVERED))
                .col_expr(webhook_message::Column::DeliveredAt, Expr::value(Some(now)))
                .col_expr(
                    webhook_message::Column::LastStatus,
                    Expr::value(Some(status as i32)),
                )
                .col_expr(
                    webhook_message::Column::LastError,
                    Expr::value(Option::<String>::None),
                );
        }
        Err((status, error)) => {
            let dead_at = message.age_from
                + chrono::Duration::seconds(state.settings.webhook_dead_after_secs as i64);
            let next = now + backoff(state.settings.webhook_retry_ms, message.attempts);
            update = update
                .col_expr(
                    webhook_message::Column::LastStatus,
                    Expr::value(status.map(i32::from)),
                )
                .col_expr(webhook_message::Column::LastError, Expr::value(Some(error)));
            update = if next >= dead_at {
                update.col_expr(webhook_message::Column::Status, Expr::value(DEAD))
            } else {
                hold_endpoint_until = Some(next);
                update.col_expr(webhook_message::Column::NextAttemptAt, Expr::value(next))
            };
        }
    }
    let settled = update.exec(&state.db).await?.rows_affected;
    // A receiver that failed is failing for all its cases: the endpoint's other waiting
    // messages wait as long as this one, so a dead receiver takes one sender slot per round
    // instead of one per case (and healthy receivers are not kept waiting behind it).
    if let (Some(until), 1) = (hold_endpoint_until, settled) {
        webhook_message::Entity::update_many()
            .col_expr(webhook_message::Column::NextAttemptAt, Expr::value(until))
            .filter(webhook_message::Column::EndpointId.eq(message.endpoint_id))
            .filter(webhook_message::Column::Status.eq(PENDING))
            .filter(webhook_message::Column::NextAttemptAt.lt(until))
            .filter(
                sea_orm::Condition::any()
                    .add(webhook_message::Column::LeasedUntil.is_null())
                    .add(webhook_message::Column::LeasedUntil.lt(now)),
            )
            .exec(&state.db)
            .await?;
    }
    Ok(())
}

/// The wait before the next attempt after `attempts` failed ones: the base, doubled each
/// time, at most an hour, with up to a tenth added at random so retries spread out.
pub fn backoff(base_ms: u64, attempts: i32) -> chrono::Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let wait = Duration::from_millis(base_ms.saturating_mul(1u64 << doublings)).min(MAX_BACKOFF);
    let jitter = rand::random::<u64>() % (wait.as_millis() as u64 / 10 + 1);
    chrono::Duration::milliseconds((wait.as_millis() as u64 + jitter) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip} is internal");
        }
        for ip in [
            "0.1.2.3",
            "198.18.0.1",
            "192.0.0.8",
            "224.0.0.1",
            "240.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "2002:0a00:0001::1",  // 6to4 of 10.0.0.1
            "fec0::1",
            "ff02::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip} is internal");
        }
        for ip in [
            "1.1.1.1",
            "203.0.114.1",
            "2606:4700::1111",
            "100.128.0.1",
            "64:ff9b::808:808",  // NAT64 of 8.8.8.8
            "2002:0808:0808::1", // 6to4 of 8.8.8.8
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} is public");
        }
    }

    fn settings(args: &[&str]) -> Settings {
        let mut all = vec!["xinfang"];
        all.extend_from_slice(args);
        <crate::config::Cli as clap::Parser>::try_parse_from(all)
            .unwrap()
            .settings
    }

    #[test]
    fn urls_https_only_in_production_and_never_inward_without_the_flag() {
        let dev = settings(&[]);
        let prod = settings(&["--env", "production"]);
        let intranet = settings(&["--webhook-allow-private"]);
        assert!(check_url(&dev, "http://example.org/hook").is_ok());
        assert!(check_url(&prod, "http://example.org/hook").is_err());
        assert!(check_url(&prod, "https://example.org/hook").is_ok());
        // Spellings of 127.0.0.1 that parsers normalise; each refused without the flag.
        for url in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://LOCALHOST./",
            "http://api.localhost/",
        ] {
            assert!(check_url(&dev, url).is_err(), "{url}");
            assert!(check_url(&intranet, url).is_ok(), "{url} with the flag");
        }
        assert!(internal_literal("http://10.1.2.3/x"));
        assert!(!internal_literal("https://example.org/x"));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let ms = |n| backoff(1_000, n).num_milliseconds();
        assert!((1_000..=1_100).contains(&ms(1)));
        assert!((2_000..=2_200).contains(&ms(2)));
        assert!((8_000..=8_800).contains(&ms(4)));
        assert!((3_600_000..=3_960_000).contains(&ms(40)));
    }
}
