//! Who each live event reaches, and what they may read of it — decided when the event
//! arrives, against the viewer's scope now, never when a subscription started: a case that
//! left the viewer's sight ends its stream, and nothing invisible is ever sent. The GraphQL
//! subscriptions turn what this module hands them into their answers.

use crate::access::{Inbox, Viewer};
use crate::cases::find_visible;
use crate::error::Result;
use crate::events::{Event, InboxKind};
use crate::records::{CaseRecord, ReferralRecord};
use crate::state::Db;

/// What one socket has already worked out about the events it receives: whether the
/// viewer sees an event's case, asked once per event for all the socket's subscriptions
/// (an event reaches every subscription of a socket, and each would ask the database).
#[derive(Default)]
pub struct EventSight {
    // An async lock, held while the first subscription asks the database, so that the others
    // reading the same event wait for its answer instead of asking too.
    seen: tokio::sync::Mutex<std::collections::VecDeque<(EventKey, Option<CaseRecord>)>>,
}

/// An event's identity: its case, and its entry (or, for a notice, its time and action).
type EventKey = (i64, Option<i64>, i64, String);

/// How many recent events a socket remembers; subscriptions read each event at nearly the
/// same moment, so a short memory serves them all.
const SIGHT_MEMORY: usize = 64;

impl EventSight {
    /// The event's case if the viewer sees it now — from the socket's memory when another
    /// subscription of the socket has asked already.
    pub async fn case_of(&self, db: &Db, me: &Viewer, event: &Event) -> Result<Option<CaseRecord>> {
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
        let case = find_visible(db, me, event.case_id).await?;
        if seen.len() >= SIGHT_MEMORY {
            seen.pop_front();
        }
        seen.push_back((key, case.clone()));
        Ok(case)
    }
}

/// An event as it reaches a viewer's inbox.
pub struct InboxDelivery {
    pub kind: InboxKind,
    /// The case, for its number and title (the sender of an objected referral may read
    /// these even after the case left its sight: the referral entitles it).
    pub case: CaseRecord,
    /// The referral concerned, with its case as the viewer sees it at this event.
    pub referral: Option<(ReferralRecord, Option<CaseRecord>)>,
}

/// Whether an event belongs in this viewer's inbox — a citizen's: the public steps of cases
/// they see; a unit's: what was routed to that very unit and it may still read.
pub async fn inbox_delivery(
    db: &Db,
    sight: &EventSight,
    me: &Viewer,
    event: &Event,
) -> Result<Option<InboxDelivery>> {
    let (kind, case) = match me.inbox()? {
        Inbox::Citizen => {
            if !event.public || event.entry_id.is_none() {
                return Ok(None);
            }
            match sight.case_of(db, me, event).await? {
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
                    crate::referrals::referral_case(db, me, referral_id).await?
                }
                _ => sight.case_of(db, me, event).await?,
            };
            match case {
                Some(c) => (kind, c),
                None => return Ok(None),
            }
        }
    };
    let referral = match event.referral_id {
        Some(id) => match crate::referrals::referral_record(db, id).await? {
            Some(row) => {
                // The referral's case as the viewer sees it at this event (the sender of an
                // objected referral may no longer see it at all).
                let seen = match kind {
                    InboxKind::Objection | InboxKind::ObjectionResolved => {
                        find_visible(db, me, case.id).await?
                    }
                    _ => Some(case.clone()),
                };
                Some((row, seen))
            }
            None => None,
        },
        None => None,
    };
    Ok(Some(InboxDelivery {
        kind,
        case,
        referral,
    }))
}
