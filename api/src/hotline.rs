//! 12345 hotline tickets (issue: other systems). A case registered from the hotline records
//! the platform's ticket number; the same ticket registered again finds that case instead of
//! making another (an idempotent intake the platform can call); further tickets about the same
//! matter are merged into the case (并单), each kept. Ticket numbers are unique per county.
//! The result goes back per ticket as a `hotline.result` webhook message when the case is
//! replied to ([`crate::outbox`]).

use crate::access::Viewer;
use crate::domain::Action;
use crate::error::{Result, bad_input, conflict};
use crate::workflow::{Caller, open, save, unchanged, with_record};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use xinfang_entity::{case, hotline_ticket};

/// A ticket number as the platform writes it: 1 to 40 letters, digits and hyphens.
pub fn check_ticket(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty()
        || value.len() > 40
        || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(bad_input(
            field,
            "a ticket number is 1 to 40 letters, digits and hyphens",
        ));
    }
    Ok(value.to_string())
}

/// The case a ticket of the county is on, if any: `Ok(Some)` where the viewer sees it;
/// `CONFLICT` where it is on a case the viewer does not see (the platform sent its own
/// number twice; which case holds it is not said).
pub async fn existing(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    county_id: i64,
    ticket: &str,
) -> Result<Option<case::Model>> {
    let Some(row) = hotline_ticket::Entity::find()
        .filter(hotline_ticket::Column::CountyId.eq(county_id))
        .filter(hotline_ticket::Column::TicketNumber.eq(ticket))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    match crate::cases::find_visible(db, viewer, row.case_id).await? {
        Some(case) => Ok(Some(case)),
        None => Err(conflict(
            "this ticket number is already registered in the county",
        )),
    }
}

/// Records a ticket on a case, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record(
    tx: &impl ConnectionTrait,
    county_id: i64,
    ticket: &str,
    case_id: i64,
    received_at: DateTime<Utc>,
    merged: bool,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<hotline_ticket::Model> {
    Ok(hotline_ticket::ActiveModel {
        county_id: Set(county_id),
        ticket_number: Set(ticket.to_string()),
        case_id: Set(case_id),
        received_at: Set(received_at),
        merged: Set(merged),
        added_by_user_id: Set(user_id),
        added_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?)
}

/// 并单: the lead unit or the bureau merges a further ticket about the case's matter into it.
pub async fn merge(
    caller: &Caller<'_>,
    case_id: i64,
    ticket: &str,
    received_at: Option<DateTime<Utc>>,
) -> Result<case::Model> {
    let ticket = check_ticket("ticketNumber", ticket)?;
    let now = caller.clock.now();
    let received_at = received_at.unwrap_or(now);
    if received_at > now {
        return Err(bad_input(
            "receivedAt",
            "a ticket is received before it is merged",
        ));
    }
    let open = open(caller, case_id, Action::AddHotlineTicket, None).await?;
    let taken = hotline_ticket::Entity::find()
        .filter(hotline_ticket::Column::CountyId.eq(open.case.county_id))
        .filter(hotline_ticket::Column::TicketNumber.eq(&ticket))
        .one(&open.tx)
        .await?;
    if taken.is_some() {
        return Err(conflict(
            "this ticket number is already registered in the county",
        ));
    }
    let row = record(
        &open.tx,
        open.case.county_id,
        &ticket,
        open.case.id,
        received_at,
        true,
        caller.viewer.user_id,
        now,
    )
    .await
    .map_err(|e| {
        if e.violates(&crate::error::HOTLINE_TICKET) {
            conflict("this ticket number is already registered in the county")
        } else {
            e
        }
    })?;
    save(
        with_record(open, row.id),
        unchanged(),
        "HOTLINE_TICKET_MERGED",
        json!({ "ticketNumber": ticket }),
        false,
    )
    .await
}
