//! Live updates: `caseEvents(caseId)` and `inbox`. Each event from the bus is checked against
//! the subscriber's scope when it arrives, not when the subscription started: a case that
//! leaves the viewer's sight ends its stream, and nothing invisible is ever sent.

use super::cases::TimelineEntry;
use super::workflow::Referral;
use super::{Instant, global_id, lookup_id, viewer};
use crate::access::{Inbox, Viewer};
use crate::cases::find_visible;
use crate::error::{AppError, Result};
use crate::events::{Event, InboxKind};
use crate::records::{self, CaseRecord};
use crate::state::AppState;
use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures_util::Stream;
use futures_util::stream;
use std::sync::Arc;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// What one socket has already worked out about the events it receives: whether the
/// viewer sees an event's case, asked once per event for all the socket's subscriptions
/// (an event reached every subscription of a socket, and each asked the database).
#[derive(Default)]
pub struct SocketSight {
    // An async lock, held while the first subscription asks the database, so that the others
    // reading the same event wait for its answer instead of asking too.
    seen: tokio::sync::Mutex<std::collections::VecDeque<(EventKey, Option<CaseRecord>)>>,
}

/// An event's identity: its case, and its entry (or, for a notice, its time and action).
type EventKey = (i64, Option<i64>, i64, String);

/// How many recent events a socket remembers; subscriptions read each event at nearly the
/// same moment, so a short memory serves them all.
const SIGHT_MEMORY: usize = 64;

impl SocketSight {
    /// The event's case if the viewer sees it now — from the socket's memory when another
    /// subscription of the socket has asked already.
    async fn case_of(
        &self,
        state: &AppState,
        me: &Viewer,
        event: &Event,
    ) -> Result<Option<CaseRecord>> {
        let key: EventKey = (
            event.case_id,
            event.entry_id,
            event.at.timestamp_micros(),
            event.action.clone(),
        );
        let mut seen = self.seen.lock().await;
        if let Some((_, case)) = seen.iter().find(|(k, _)| *k == key) {
            return Ok(case.clone());
        }
        let case = find_visible(&state.db, me, event.case_id).await?;
        if seen.len() >= SIGHT_MEMORY {
            seen.pop_front();
        }
        seen.push_back((key, case.clone()));
        Ok(case)
    }
}

/// Waits for the next event that passes `keep`; `None` when the bus closes.
async fn next_event(rx: &mut Receiver<Event>) -> Option<Event> {
    loop {
        match rx.recv().await {
            Ok(event) => return Some(event),
            // A subscriber that fell behind skips what it missed; the record stays queryable.
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "subscriber lagged behind the event bus")
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

/// 待办消息 — something for the viewer's unit (or, for a citizen, their own case).
#[derive(SimpleObject)]
pub struct InboxItem {
    pub kind: InboxKind,
    /// What happened, e.g. `TRANSFER`, `SUPERVISION_ISSUED`, `DEADLINE_WARNING`.
    pub action: String,
    pub at: Instant,
    pub case_id: ID,
    /// 案件编号
    pub case_number: String,
    /// 标题
    pub case_title: String,
    /// The referral concerned, for referral, assignment and objection items.
    pub referral: Option<Referral>,
    /// For deadline items: ACCEPTANCE, HANDLING, REVIEW_DECISION or SUPERVISION.
    pub deadline: Option<String>,
    pub due_at: Option<Instant>,
}

/// Whether an event belongs in this viewer's inbox, checked against the scope now.
async fn inbox_item(
    state: &AppState,
    sight: &SocketSight,
    me: &Viewer,
    event: &Event,
) -> Result<Option<InboxItem>> {
    let (kind, case) = match me.inbox()? {
        Inbox::Citizen => {
            if !event.public || event.entry_id.is_none() {
                return Ok(None);
            }
            match sight.case_of(state, me, event).await? {
                Some(c) => (InboxKind::CaseEvent, c),
                None => return Ok(None),
            }
        }
        Inbox::Unit(unit) => {
            let (Some(to), Some(kind)) = (event.inbox_unit, event.inbox_kind) else {
                return Ok(None);
            };
            if to != unit {
                return Ok(None);
            }
            let case = match (kind, event.referral_id) {
                // The sender of a referral hears about objections even after the case left
                // its sight: the referral itself entitles it to the number and title.
                (InboxKind::Objection | InboxKind::ObjectionResolved, Some(referral_id)) => {
                    crate::referrals::referral_case(&state.db, me, referral_id).await?
                }
                _ => sight.case_of(state, me, event).await?,
            };
            match case {
                Some(c) => (kind, c),
                None => return Ok(None),
            }
        }
    };
    let referral = match event.referral_id {
        Some(id) => match crate::referrals::referral_record(&state.db, id).await? {
            Some(row) => {
                // The referral's case as the viewer sees it at this event (the sender of an
                // objected referral may no longer see it at all).
                let seen = match kind {
                    InboxKind::Objection | InboxKind::ObjectionResolved => {
                        find_visible(&state.db, me, case.id).await?
                    }
                    _ => Some(case.clone()),
                };
                Some(Referral::at_event(row, seen))
            }
            None => None,
        },
        None => None,
    };
    Ok(Some(InboxItem {
        kind,
        action: event.action.clone(),
        at: Instant(event.at),
        case_id: global_id("Case", case.id),
        case_number: case.number,
        case_title: case.title,
        referral,
        deadline: event.deadline.clone(),
        due_at: event.due_at.map(Instant),
    }))
}

/// The socket's shared memory of event sight (a fresh one outside a socket).
fn socket_sight(ctx: &Context<'_>) -> Arc<SocketSight> {
    ctx.data_opt::<Arc<SocketSight>>()
        .cloned()
        .unwrap_or_default()
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// 案件动态 — every new timeline entry of a case the viewer may see. The stream ends when
    /// the viewer loses sight of the case (for example, it was transferred away).
    async fn case_events(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = TimelineEntry>> {
        let me = viewer(ctx)?.clone();
        let state = ctx.data_unchecked::<Arc<AppState>>().clone();
        let id = lookup_id("Case", &case_id).ok_or(AppError::NotFound("case"))?;
        find_visible(&state.db, &me, id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
        let rx = state.bus.subscribe();
        let socket = socket_sight(ctx);
        Ok(stream::unfold(
            (rx, state, me, id, socket),
            |(mut rx, state, me, id, socket)| async move {
                loop {
                    let event = next_event(&mut rx).await?;
                    let Some(entry_id) = event.entry_id.filter(|_| event.case_id == id) else {
                        continue;
                    };
                    let case = match socket.case_of(&state, &me, &event).await {
                        Ok(Some(case)) => case,
                        _ => return None, // out of sight now: the stream ends
                    };
                    let sight = me.sight(&case);
                    if !sight.shows_entry(event.public) {
                        continue;
                    }
                    match records::entry_of_visible_case(&state.db, &case, entry_id).await {
                        Ok(Some(named)) => {
                            let entry = TimelineEntry::seen_by(&sight, named);
                            return Some((entry, (rx, state, me, id, socket)));
                        }
                        Ok(None) => continue,
                        Err(e) => tracing::error!(
                            error = e.message_for_operator(),
                            "cannot build a timeline event"
                        ),
                    }
                }
            },
        ))
    }

    /// 待办 — referrals, assignments, objections, supervision orders and deadline notices for
    /// the viewer's unit; for a citizen, the public steps of their own cases.
    async fn inbox(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = InboxItem>> {
        let me = viewer(ctx)?.clone();
        me.inbox()?;
        let state = ctx.data_unchecked::<Arc<AppState>>().clone();
        let rx = state.bus.subscribe();
        let socket = socket_sight(ctx);
        Ok(stream::unfold(
            (rx, state, me, socket),
            |(mut rx, state, me, socket)| async move {
                loop {
                    let event = next_event(&mut rx).await?;
                    match inbox_item(&state, &socket, &me, &event).await {
                        Ok(Some(item)) => return Some((item, (rx, state, me, socket))),
                        Ok(None) => continue,
                        Err(e) => tracing::error!(
                            error = e.message_for_operator(),
                            "cannot build an inbox item"
                        ),
                    }
                }
            },
        ))
    }
}
