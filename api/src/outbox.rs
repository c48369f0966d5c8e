//! The webhook outbox: what each registered endpoint is owed of an event, written in the
//! transaction of the change itself — a change that rolls back leaves no message, and a
//! committed one always has its messages. [`crate::webhooks`] delivers them.
//!
//! Who receives what is the scope of the endpoint's unit, asked inside the transaction: an
//! endpoint hears of a case exactly when the unit's staff may see it (so an accused unit hears
//! nothing of an accusation), and of a timeline entry exactly when they may read that entry.
//! A message carries ids, the case number and what happened — no names, no personal data.

use crate::access::Viewer;
use crate::error::{Result, bad_input, internal};
use crate::events::{Event, InboxKind};
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use xinfang_entity::{case, hotline_ticket, org_unit, reply, webhook_endpoint, webhook_message};

/// What an endpoint may ask to receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
pub enum WebhookEventKind {
    /// `case.event` — every new timeline entry the unit may read, of every case it may see.
    CaseEvent,
    /// `case.deadline` — deadline warnings and overdue notices for the unit's own deadlines.
    DeadlineNotice,
    /// `hotline.result` — the result of a 12345 ticket, one message per ticket, when the case
    /// it is on is replied to (for the hotline platform's endpoint).
    HotlineResult,
}

impl WebhookEventKind {
    pub const ALL: [WebhookEventKind; 3] = [
        WebhookEventKind::CaseEvent,
        WebhookEventKind::DeadlineNotice,
        WebhookEventKind::HotlineResult,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventKind::CaseEvent => "CASE_EVENT",
            WebhookEventKind::DeadlineNotice => "DEADLINE_NOTICE",
            WebhookEventKind::HotlineResult => "HOTLINE_RESULT",
        }
    }

    /// The `type` of the messages of this kind.
    pub fn event_type(self) -> &'static str {
        match self {
            WebhookEventKind::CaseEvent => "case.event",
            WebhookEventKind::DeadlineNotice => "case.deadline",
            WebhookEventKind::HotlineResult => "hotline.result",
        }
    }

    /// The kinds stored on an endpoint (comma-separated); unknown names are skipped.
    pub fn parse_list(stored: &str) -> Vec<WebhookEventKind> {
        Self::ALL
            .into_iter()
            .filter(|k| stored.split(',').any(|s| s == k.as_str()))
            .collect()
    }

    pub fn store_list(kinds: &[WebhookEventKind]) -> String {
        Self::ALL
            .into_iter()
            .filter(|k| kinds.contains(k))
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `case.event`: a new timeline entry.
#[derive(Clone, Debug, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "WebhookCaseEvent")]
pub struct CaseEventData {
    /// The case's global id (as `Case.id`).
    pub case_id: String,
    pub case_number: String,
    /// 1, 2, 3 … per endpoint and case, in the order of delivery; a missing number is a gap.
    pub sequence: i32,
    /// The timeline entry's global id (as `TimelineEntry.id`).
    pub entry_id: String,
    /// What happened: the timeline action, e.g. `REGISTER`, `TRANSFER`, `ACCEPT`, `REPLY`.
    pub action: String,
    /// When it happened (RFC 3339).
    pub at: String,
    /// The case's state after it.
    pub state: String,
    /// Set when the step was routed to the receiving unit itself (a referral to it, an
    /// assignment, an objection it must decide …).
    pub inbox_kind: Option<InboxKind>,
    /// The referral concerned, with `inboxKind` (as `Referral.id`).
    pub referral_id: Option<String>,
}

/// `case.deadline`: a deadline of the receiving unit falls within 3 days, or has passed.
#[derive(Clone, Debug, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "WebhookDeadlineNotice")]
pub struct DeadlineNoticeData {
    pub case_id: String,
    pub case_number: String,
    pub sequence: i32,
    /// `DEADLINE_WARNING` or `DEADLINE_OVERDUE`.
    pub action: String,
    /// ACCEPTANCE, HANDLING, REVIEW_DECISION or SUPERVISION.
    pub deadline: String,
    pub due_at: String,
    pub at: String,
}

/// `hotline.result`: a case a 12345 ticket is on was replied to; one message per ticket.
#[derive(Clone, Debug, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "WebhookHotlineResult")]
pub struct HotlineResultData {
    pub case_id: String,
    pub case_number: String,
    pub sequence: i32,
    /// The platform's own ticket number.
    pub ticket_number: String,
    /// Whether the ticket was merged into the case (并单) rather than the one it came from.
    pub merged: bool,
    /// SUPPORTED, PARTIALLY_SUPPORTED, NOT_SUPPORTED or EXPLAINED.
    pub outcome: String,
    /// The unit that replied.
    pub replied_by: String,
    pub replied_at: String,
}

/// The body of every message: `{"type", "timestamp", "data"}`, as in Standard Webhooks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Payload {
    #[serde(rename = "case.event")]
    CaseEvent(CaseEventData),
    #[serde(rename = "case.deadline")]
    DeadlineNotice(DeadlineNoticeData),
    #[serde(rename = "hotline.result")]
    HotlineResult(HotlineResultData),
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(flatten)]
    payload: Payload,
    timestamp: String,
}

impl Payload {
    fn kind(&self) -> WebhookEventKind {
        match self {
            Payload::CaseEvent(_) => WebhookEventKind::CaseEvent,
            Payload::DeadlineNotice(_) => WebhookEventKind::DeadlineNotice,
            Payload::HotlineResult(_) => WebhookEventKind::HotlineResult,
        }
    }

    fn event_type(&self) -> &'static str {
        self.kind().event_type()
    }

    fn body(self, at: DateTime<Utc>) -> Result<String> {
        serde_json::to_string(&Envelope {
            payload: self,
            timestamp: rfc3339(at),
        })
        .map_err(|e| internal(e.to_string()))
    }

    /// The payload of a stored body.
    pub fn of_body(body: &str) -> Option<Payload> {
        serde_json::from_str::<Envelope>(body)
            .ok()
            .map(|e| e.payload)
    }
}

/// One made-up message `data` per type, for integrators writing a receiver (the values are
/// fictional and name no real case).
pub fn samples() -> Vec<Payload> {
    let case_id = crate::records::global_id("Case", 1);
    let case_number = "XF-000000-2026-000001".to_string();
    vec![
        Payload::CaseEvent(CaseEventData {
            case_id: case_id.clone(),
            case_number: case_number.clone(),
            sequence: 2,
            entry_id: crate::records::global_id("TimelineEntry", 2),
            action: "TRANSFER".into(),
            at: "2026-12-01T02:00:00.000Z".into(),
            state: "REGISTERED".into(),
            inbox_kind: Some(InboxKind::Referral),
            referral_id: Some(crate::records::global_id("Referral", 1)),
        }),
        Payload::DeadlineNotice(DeadlineNoticeData {
            case_id: case_id.clone(),
            case_number: case_number.clone(),
            sequence: 3,
            action: "DEADLINE_WARNING".into(),
            deadline: "ACCEPTANCE".into(),
            due_at: "2026-12-04T15:59:59.999Z".into(),
            at: "2026-12-01T16:00:00.000Z".into(),
        }),
        Payload::HotlineResult(HotlineResultData {
            case_id,
            case_number,
            sequence: 7,
            ticket_number: "12345-20261201-0001".into(),
            merged: false,
            outcome: "SUPPORTED".into(),
            replied_by: "县住建局".into(),
            replied_at: "2026-12-20T03:00:00.000Z".into(),
        }),
    ]
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256, keyed with the secret's
/// bytes, of `{id}.{timestamp}.{body}` (the Standard Webhooks scheme).
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Result<String> {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| bad_input("secret", "not a webhook secret"))?;
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| internal(e.to_string()))?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The id receivers see for a message (`webhook-id`).
pub fn message_id(id: i64) -> String {
    format!("msg_{id}")
}

/// Writes the messages an event owes the registered endpoints, inside the event's own
/// transaction.
pub async fn enqueue(tx: &impl ConnectionTrait, event: &Event) -> Result<()> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Active.eq(true))
        .all(tx)
        .await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let Some(case) = case::Entity::find_by_id(event.case_id).one(tx).await? else {
        return Ok(());
    };
    let units =
        crate::identity::units_by_id(tx, &endpoints.iter().map(|e| e.unit_id).collect::<Vec<_>>())
            .await?;
    // Sequences are numbered per case under the case's row lock (PostgreSQL), which the
    // change behind the event holds already; a deadline notice takes it here.
    crate::db::lock_row(tx, crate::db::LockedTable::Cases, case.id).await?;
    let tickets = if event.action == "REPLY" {
        hotline_ticket::Entity::find()
            .filter(hotline_ticket::Column::CaseId.eq(case.id))
            .all(tx)
            .await?
    } else {
        vec![]
    };
    // The scope is asked once per unit, for every kind any of its endpoints wants; each
    // endpoint then takes the kinds it asked for.
    let mut by_unit: std::collections::BTreeMap<i64, Vec<&webhook_endpoint::Model>> =
        Default::default();
    for endpoint in &endpoints {
        by_unit.entry(endpoint.unit_id).or_default().push(endpoint);
    }
    for (unit_id, unit_endpoints) in by_unit {
        let Some(unit) = units.get(&unit_id).filter(|u| u.active) else {
            continue;
        };
        if unit.county_id.is_some_and(|c| c != case.county_id) {
            continue;
        }
        let wanted: Vec<WebhookEventKind> = WebhookEventKind::ALL
            .into_iter()
            .filter(|k| {
                unit_endpoints
                    .iter()
                    .any(|e| WebhookEventKind::parse_list(&e.kinds).contains(k))
            })
            .collect();
        let payloads = owed(tx, event, &case, unit, &wanted, &tickets).await?;
        for endpoint in unit_endpoints {
            let kinds = WebhookEventKind::parse_list(&endpoint.kinds);
            for payload in payloads.iter().filter(|p| kinds.contains(&p.kind())) {
                insert(tx, endpoint.id, &case, payload.clone(), event.at).await?;
            }
        }
    }
    Ok(())
}

/// What one endpoint's unit is owed of an event (sequences still to be filled in).
async fn owed(
    tx: &impl ConnectionTrait,
    event: &Event,
    case: &case::Model,
    unit: &org_unit::Model,
    kinds: &[WebhookEventKind],
    tickets: &[hotline_ticket::Model],
) -> Result<Vec<Payload>> {
    let viewer = Viewer::unit_system(crate::auth::unit_scope(unit)?);
    let Some(case) = crate::cases::find_visible(tx, &viewer, case.id).await? else {
        return Ok(vec![]);
    };
    let case_id = crate::records::global_id("Case", case.id);
    let addressed = event.inbox_unit == Some(unit.id);
    let mut out = vec![];
    match event.entry_id {
        Some(entry_id) if kinds.contains(&WebhookEventKind::CaseEvent) => {
            let readable = viewer.sight(&case).shows_entry(event.public)
                && crate::records::entry_of_visible_case(tx, &viewer, &case, entry_id)
                    .await?
                    .is_some();
            if readable {
                out.push(Payload::CaseEvent(CaseEventData {
                    case_id: case_id.clone(),
                    case_number: case.number.clone(),
                    sequence: 0,
                    entry_id: crate::records::global_id("TimelineEntry", entry_id),
                    action: event.action.clone(),
                    at: rfc3339(event.at),
                    state: case.status.as_str().to_string(),
                    inbox_kind: event.inbox_kind.filter(|_| addressed),
                    referral_id: event
                        .referral_id
                        .filter(|_| addressed)
                        .map(|r| crate::records::global_id("Referral", r)),
                }));
            }
        }
        None if addressed && kinds.contains(&WebhookEventKind::DeadlineNotice) => {
            if let (Some(deadline), Some(due)) = (&event.deadline, event.due_at) {
                out.push(Payload::DeadlineNotice(DeadlineNoticeData {
                    case_id: case_id.clone(),
                    case_number: case.number.clone(),
                    sequence: 0,
                    action: event.action.clone(),
                    deadline: deadline.clone(),
                    due_at: rfc3339(due),
                    at: rfc3339(event.at),
                }));
            }
        }
        _ => {}
    }
    if !tickets.is_empty() && kinds.contains(&WebhookEventKind::HotlineResult) {
        let Some(reply) = reply::Entity::find()
            .filter(reply::Column::CaseId.eq(case.id))
            .filter(reply::Column::QuashedByReviewId.is_null())
            .one(tx)
            .await?
        else {
            return Ok(out);
        };
        let replied_by = crate::identity::find_unit(tx, reply.unit_id).await?.name;
        for ticket in tickets {
            out.push(Payload::HotlineResult(HotlineResultData {
                case_id: case_id.clone(),
                case_number: case.number.clone(),
                sequence: 0,
                ticket_number: ticket.ticket_number.clone(),
                merged: ticket.merged,
                outcome: reply.outcome.as_str().to_string(),
                replied_by: replied_by.clone(),
                replied_at: rfc3339(reply.issued_at),
            }));
        }
    }
    Ok(out)
}

/// Numbers a payload in its endpoint's sequence for the case and writes it as pending.
async fn insert(
    tx: &impl ConnectionTrait,
    endpoint_id: i64,
    case: &case::Model,
    mut payload: Payload,
    at: DateTime<Utc>,
) -> Result<()> {
    let last: Option<Option<i32>> = webhook_message::Entity::find()
        .select_only()
        .expr(Expr::col(webhook_message::Column::Sequence).max())
        .filter(webhook_message::Column::EndpointId.eq(endpoint_id))
        .filter(webhook_message::Column::CaseId.eq(case.id))
        .into_tuple()
        .one(tx)
        .await?;
    let sequence = last.flatten().unwrap_or(0) + 1;
    match &mut payload {
        Payload::CaseEvent(d) => d.sequence = sequence,
        Payload::DeadlineNotice(d) => d.sequence = sequence,
        Payload::HotlineResult(d) => d.sequence = sequence,
    }
    let event_type = payload.event_type();
    webhook_message::ActiveModel {
        endpoint_id: Set(endpoint_id),
        case_id: Set(case.id),
        sequence: Set(sequence),
        event_type: Set(event_type.to_string()),
        payload: Set(payload.body(at)?),
        created_at: Set(at),
        age_from: Set(at),
        status: Set(PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(at),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

pub const PENDING: &str = "PENDING";
pub const DELIVERED: &str = "DELIVERED";
pub const DEAD: &str = "DEAD";
/// Not sent: by the time it was due, the unit no longer saw the case.
pub const WITHHELD: &str = "WITHHELD";
