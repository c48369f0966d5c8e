//! Live updates: `caseEvents(caseId)` and `inbox`. Who each event reaches is decided in
//! [`crate::live`], against the subscriber's scope when the event arrives; this module turns
//! it into answers.

use super::Loaders;
use super::cases::TimelineEntry;
use super::workflow::Referral;
use super::{Instant, global_id, lookup_id, viewer};
use crate::access::Viewer;
use crate::cases::find_visible;
use crate::error::{AppError, Result};
use crate::events::{Event, InboxKind};
use crate::live::EventSight;
use crate::records;
use crate::state::AppState;
use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures_util::Stream;
use futures_util::stream;
use std::sync::Arc;
use tokio::sync::broadcast::{Receiver, error::RecvError};

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

/// An inbox item for this viewer, if the event is one (see [`crate::live::inbox_delivery`]).
async fn inbox_item(
    state: &AppState,
    sight: &EventSight,
    me: &Viewer,
    event: &Event,
) -> Result<Option<InboxItem>> {
    let Some(delivery) = crate::live::inbox_delivery(&state.db, sight, me, event).await? else {
        return Ok(None);
    };
    Ok(Some(InboxItem {
        kind: delivery.kind,
        action: event.action.clone(),
        at: Instant(event.at),
        case_id: global_id("Case", delivery.case.id),
        case_number: delivery.case.number,
        case_title: delivery.case.title,
        referral: delivery
            .referral
            .map(|(row, seen)| Referral::at_event(row, seen)),
        deadline: event.deadline.clone(),
        due_at: event.due_at.map(Instant),
    }))
}

/// The socket's shared memory of event sight (a fresh one outside a socket).
fn socket_sight(ctx: &Context<'_>) -> Arc<EventSight> {
    ctx.data_opt::<Arc<EventSight>>()
        .cloned()
        .unwrap_or_default()
}

/// Empties the operation's loaders before an event goes out, so its fields are read as things
/// stand now rather than answered from what an earlier event's fields loaded. (Each event is
/// resolved in full before the stream is asked for the next, so nothing is loading here.)
fn forget(loaders: &Option<Loaders>) {
    if let Some(loaders) = loaders {
        loaders.forget();
    }
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
        let loaders = ctx.data_opt::<Loaders>().cloned();
        Ok(stream::unfold(
            (rx, state, me, id, socket, loaders),
            |(mut rx, state, me, id, socket, loaders)| async move {
                loop {
                    let event = next_event(&mut rx).await?;
                    let Some(entry_id) = event.entry_id.filter(|_| event.case_id == id) else {
                        continue;
                    };
                    let case = match socket.case_of(&state.db, &me, &event).await {
                        Ok(Some(case)) => case,
                        _ => return None, // out of sight now: the stream ends
                    };
                    let sight = me.sight(&case);
                    if !sight.shows_entry(event.public) {
                        continue;
                    }
                    match records::entry_of_visible_case(&state.db, &me, &case, entry_id).await {
                        Ok(Some(named)) => {
                            let entry = TimelineEntry::seen_by(&sight, named);
                            forget(&loaders);
                            return Some((entry, (rx, state, me, id, socket, loaders)));
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
        let loaders = ctx.data_opt::<Loaders>().cloned();
        Ok(stream::unfold(
            (rx, state, me, socket, loaders),
            |(mut rx, state, me, socket, loaders)| async move {
                loop {
                    let event = next_event(&mut rx).await?;
                    match inbox_item(&state, &socket, &me, &event).await {
                        Ok(Some(item)) => {
                            forget(&loaders);
                            return Some((item, (rx, state, me, socket, loaders)));
                        }
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
