//! 12345 hotline tickets on the graph: `Case.hotlineTickets`, `addHotlineTicket` (并单); the
//! ticket on registration is `registerCase(hotlineTicket)`.

use super::cases::Case;
use super::cases::loaded;
use super::workflow::caller;
use super::{GqlResult, Instant, input_id};
use crate::records::{CaseRecord, HotlineTicketRecord};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

/// 12345 工单 — a hotline ticket the case was registered from or merged with.
#[derive(SimpleObject)]
pub struct HotlineTicket {
    /// 工单号 — the platform's number.
    pub ticket_number: String,
    pub received_at: Instant,
    /// 并单 — merged into the case rather than the ticket it was registered from.
    pub merged: bool,
}

impl From<HotlineTicketRecord> for HotlineTicket {
    fn from(r: HotlineTicketRecord) -> Self {
        HotlineTicket {
            ticket_number: r.ticket_number,
            received_at: Instant(r.received_at),
            merged: r.merged,
        }
    }
}

pub async fn tickets_of(
    ctx: &Context<'_>,
    case: &CaseRecord,
) -> super::GqlResult<Vec<HotlineTicket>> {
    Ok(loaded(
        &ctx.data_unchecked::<super::Loaders>().hotline_tickets,
        case.id,
    )
    .await?
    .into_iter()
    .map(HotlineTicket::from)
    .collect())
}

#[derive(InputObject, Debug)]
pub struct AddHotlineTicketInput {
    pub case_id: ID,
    pub ticket_number: String,
    /// When the platform received it (default now).
    pub received_at: Option<Instant>,
}

#[derive(SimpleObject)]
pub struct HotlineTicketPayload {
    pub case: Case,
}

#[derive(Default)]
pub struct HotlineMutation;

#[Object]
impl HotlineMutation {
    /// 并单 — the lead unit or the bureau merges a further 12345 ticket about the case's
    /// matter into it; each ticket is kept (`Case.hotlineTickets`). A ticket number already
    /// registered in the county is CONFLICT.
    async fn add_hotline_ticket(
        &self,
        ctx: &Context<'_>,
        input: AddHotlineTicketInput,
    ) -> GqlResult<HotlineTicketPayload> {
        let id = input_id("Case", "caseId", &input.case_id)?;
        let case = crate::hotline::merge(
            &caller(ctx)?,
            id,
            &input.ticket_number,
            input.received_at.map(|t| t.0),
        )
        .await?;
        Ok(HotlineTicketPayload { case: Case(case) })
    }
}
