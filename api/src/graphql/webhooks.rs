//! Webhooks on the graph: a unit's administrator registers, lists, deactivates and replays its
//! endpoints, and reads their delivery log (never the content). Delivery itself is
//! [`crate::webhooks`]; what a message holds is [`crate::outbox`], whose payload types are
//! documented here as the union `WebhookEventData` (`webhookPayloadSamples`).

use super::identity::OrgUnit;
use super::{GqlResult, Instant, global_id, input_id, state, viewer};
use crate::error::Result;
use crate::outbox::{
    CaseEventData, DeadlineNoticeData, HotlineResultData, Payload, WebhookEventKind,
};
use crate::records::{WebhookEndpointRecord, WebhookMessageRecord};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject, Union};

/// A webhook endpoint of a unit. Its secret is shown once, when it is registered.
pub struct WebhookEndpoint(pub WebhookEndpointRecord);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        global_id("WebhookEndpoint", self.0.id)
    }
    /// The unit whose scope decides what the endpoint receives.
    async fn unit(&self, ctx: &Context<'_>) -> GqlResult<OrgUnit> {
        Ok(OrgUnit(
            crate::identity::find_unit(&state(ctx).db, self.0.unit_id).await?,
        ))
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn kinds(&self) -> Vec<WebhookEventKind> {
        WebhookEventKind::parse_list(&self.0.kinds)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }
    async fn deactivated_at(&self) -> Option<Instant> {
        self.0.deactivated_at.map(Instant)
    }
    /// How many of its messages wait, were delivered, and went to the dead letters.
    async fn counts(&self, ctx: &Context<'_>) -> GqlResult<WebhookCounts> {
        let (pending, delivered, dead, withheld) =
            crate::webhooks::counts(&state(ctx).db, self.0.id).await?;
        Ok(WebhookCounts {
            pending: pending as i64,
            delivered: delivered as i64,
            dead: dead as i64,
            withheld: withheld as i64,
        })
    }
    /// Its messages, newest first (at most 100); `status: DEAD` lists the dead letters.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        status: Option<WebhookMessageStatus>,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> GqlResult<Vec<WebhookMessage>> {
        Ok(crate::webhooks::messages(
            &state(ctx).db,
            self.0.id,
            status.map(WebhookMessageStatus::as_str),
            first as u64,
        )
        .await?
        .into_iter()
        .map(WebhookMessage)
        .collect())
    }
}

#[derive(SimpleObject)]
pub struct WebhookCounts {
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
    /// Not sent: by the time they were due, the unit no longer saw their case.
    pub withheld: i64,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMessageStatus {
    /// Not yet answered with 2xx; retried with backoff.
    Pending,
    Delivered,
    /// Undelivered past the dead-letter age; `replayWebhooks` sends it again.
    Dead,
    /// Not sent: by the time it was due, the unit no longer saw the case (sight is asked again
    /// at every send, as for a live subscription).
    Withheld,
}

impl WebhookMessageStatus {
    fn as_str(self) -> &'static str {
        match self {
            WebhookMessageStatus::Pending => crate::outbox::PENDING,
            WebhookMessageStatus::Delivered => crate::outbox::DELIVERED,
            WebhookMessageStatus::Dead => crate::outbox::DEAD,
            WebhookMessageStatus::Withheld => crate::outbox::WITHHELD,
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            crate::outbox::DELIVERED => WebhookMessageStatus::Delivered,
            crate::outbox::DEAD => WebhookMessageStatus::Dead,
            crate::outbox::WITHHELD => WebhookMessageStatus::Withheld,
            _ => WebhookMessageStatus::Pending,
        }
    }
}

/// The body of a message, by its `type`.
#[derive(Union)]
pub enum WebhookEventData {
    /// `case.event`
    CaseEvent(CaseEventData),
    /// `case.deadline`
    DeadlineNotice(DeadlineNoticeData),
    /// `hotline.result`
    HotlineResult(HotlineResultData),
}

/// One message of the outbox and how its delivery went. Its content is not shown here:
/// administrators see no case content, only whether their receiver is keeping up.
pub struct WebhookMessage(pub WebhookMessageRecord);

#[Object]
impl WebhookMessage {
    /// The `webhook-id` header: the same on every attempt and replay.
    async fn id(&self) -> String {
        crate::outbox::message_id(self.0.id)
    }
    /// `case.event`, `case.deadline` or `hotline.result`.
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// 1, 2, 3 … per endpoint and case.
    async fn sequence(&self) -> i32 {
        self.0.sequence
    }
    async fn status(&self) -> WebhookMessageStatus {
        WebhookMessageStatus::of(&self.0.status)
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }
    async fn next_attempt_at(&self) -> Option<Instant> {
        (self.0.status == crate::outbox::PENDING).then_some(Instant(self.0.next_attempt_at))
    }
    async fn delivered_at(&self) -> Option<Instant> {
        self.0.delivered_at.map(Instant)
    }
    /// The HTTP status of the last answer, if there was one.
    async fn last_status(&self) -> Option<i32> {
        self.0.last_status
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
}

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// What webhook messages carry: one made-up `data` per message `type` (`case.event`,
    /// `case.deadline`, `hotline.result`), with fictional values — the shapes to write a
    /// receiver against. Real messages are seen only by their receiver.
    async fn webhook_payload_samples(&self) -> Vec<WebhookEventData> {
        crate::outbox::samples()
            .into_iter()
            .map(|p| match p {
                Payload::CaseEvent(d) => WebhookEventData::CaseEvent(d),
                Payload::DeadlineNotice(d) => WebhookEventData::DeadlineNotice(d),
                Payload::HotlineResult(d) => WebhookEventData::HotlineResult(d),
            })
            .collect()
    }

    /// The webhook endpoints of the administrator's unit and the units below it.
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> GqlResult<Vec<WebhookEndpoint>> {
        Ok(crate::webhooks::endpoints(&state(ctx).db, viewer(ctx)?)
            .await?
            .into_iter()
            .map(WebhookEndpoint)
            .collect())
    }
}

#[derive(InputObject, Debug)]
pub struct RegisterWebhookInput {
    /// The unit whose cases the endpoint hears about (the administrator's own or one below).
    pub unit_id: ID,
    /// `https://…` (plain http only outside production); no private or loopback address
    /// unless the server allows it.
    pub url: String,
    pub kinds: Vec<WebhookEventKind>,
    pub description: Option<String>,
}

#[derive(SimpleObject)]
pub struct RegisterWebhookPayload {
    pub endpoint: WebhookEndpoint,
    /// `whsec_…` — the signing secret. Shown only here: keep it now.
    pub secret: String,
}

#[derive(InputObject, Debug)]
pub struct DeactivateWebhookInput {
    pub id: ID,
}

#[derive(InputObject, Debug)]
pub struct ReplayWebhooksInput {
    pub endpoint_id: ID,
    /// Every message written at or after this instant is sent again, delivered or not.
    pub since: Instant,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ReplayWebhooksPayload {
    /// How many messages will be sent again.
    pub replayed: i64,
    #[graphql(skip)]
    pub endpoint_id: i64,
}

#[ComplexObject]
impl ReplayWebhooksPayload {
    async fn endpoint(&self, ctx: &Context<'_>) -> GqlResult<WebhookEndpoint> {
        endpoint(ctx, self.endpoint_id).await.map_err(Into::into)
    }
}

async fn endpoint(ctx: &Context<'_>, id: i64) -> Result<WebhookEndpoint> {
    Ok(WebhookEndpoint(
        crate::webhooks::managed_endpoint(&state(ctx).db, viewer(ctx)?, id).await?,
    ))
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers a webhook endpoint for a unit (administrators). The events it receives are
    /// those the unit's staff may see; each message is signed with the returned secret.
    async fn register_webhook(
        &self,
        ctx: &Context<'_>,
        input: RegisterWebhookInput,
    ) -> GqlResult<RegisterWebhookPayload> {
        let me = viewer(ctx)?;
        let unit_id = input_id("OrgUnit", "unitId", &input.unit_id)?;
        let st = state(ctx);
        let (endpoint, secret) = crate::webhooks::register(
            &st.db,
            &st.clock,
            &st.settings,
            me,
            crate::webhooks::NewEndpoint {
                unit_id,
                url: &input.url,
                kinds: &input.kinds,
                description: input.description.as_deref(),
            },
        )
        .await?;
        Ok(RegisterWebhookPayload {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Stops an endpoint: nothing further is written or sent to it.
    async fn deactivate_webhook(
        &self,
        ctx: &Context<'_>,
        input: DeactivateWebhookInput,
    ) -> GqlResult<WebhookEndpoint> {
        let id = input_id("WebhookEndpoint", "id", &input.id)?;
        let st = state(ctx);
        Ok(WebhookEndpoint(
            crate::webhooks::deactivate(&st.db, &st.clock, viewer(ctx)?, id).await?,
        ))
    }

    /// Sends again, in order and with their ids, an endpoint's messages from a point in time
    /// (after the receiver lost data, or to revive dead letters).
    async fn replay_webhooks(
        &self,
        ctx: &Context<'_>,
        input: ReplayWebhooksInput,
    ) -> GqlResult<ReplayWebhooksPayload> {
        let id = input_id("WebhookEndpoint", "endpointId", &input.endpoint_id)?;
        let st = state(ctx);
        let replayed =
            crate::webhooks::replay(&st.db, &st.clock, viewer(ctx)?, id, input.since.0).await?;
        Ok(ReplayWebhooksPayload {
            replayed: replayed as i64,
            endpoint_id: id,
        })
    }
}
