//! Higher levels (domain §9) as the API shows them: a case's link to a higher body, the
//! report back an assignment from above owes, and the matters the county sent up.

use super::cases::loaded;
use super::cases::loader_error;
use super::loaders::Loaders;
use super::workflow::HigherBody;
use super::{GqlResult, Instant, global_id, state, viewer};
use crate::domain::{CaseStatus, HigherLevel, ReferralMode};
use crate::higher::{FROM_ABOVE, SentUp};
use crate::records::{CaseRecord, HigherReferralRecord};
use async_graphql::{Context, ID, Object};

/// 上级转交办 — how a higher body handed this case down (staff only).
pub struct FromHigherBody {
    referral: HigherReferralRecord,
    now: chrono::DateTime<chrono::Utc>,
}

#[Object]
impl FromHigherBody {
    /// The higher body.
    async fn body(&self, ctx: &Context<'_>) -> GqlResult<Option<HigherBody>> {
        load_higher_body(ctx, Some(self.referral.higher_body_id)).await
    }
    /// Its own reference number.
    async fn reference_number(&self) -> Option<&str> {
        self.referral.reference_number.as_deref()
    }
    /// 转送 (TRANSFER) or 交办 (ASSIGN).
    async fn mode(&self) -> Option<ReferralMode> {
        self.referral.mode
    }
    /// 交办: the report back is due then.
    async fn report_due_at(&self) -> Option<Instant> {
        self.referral.report_due_at.map(Instant)
    }
    /// When the report back was made.
    async fn reported_at(&self) -> Option<Instant> {
        self.referral.reported_at.map(Instant)
    }
    /// 办结报告 — the report as sent.
    async fn report(&self) -> Option<&str> {
        self.referral.report_text.as_deref()
    }
    /// The report is owed and its deadline has passed.
    async fn overdue(&self) -> bool {
        self.referral.reported_at.is_none()
            && self
                .referral
                .report_due_at
                .is_some_and(|due| due < self.now)
    }
}

/// A higher body by id, through the request's loader (one statement for a whole page).
pub async fn load_higher_body(ctx: &Context<'_>, id: Option<i64>) -> GqlResult<Option<HigherBody>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .data_unchecked::<Loaders>()
        .higher_bodies
        .load_one(id)
        .await
        .map_err(loader_error)?
        .flatten()
        .map(HigherBody))
}

/// The case's link to the higher body that handed it down; staff only.
pub async fn from_higher_body_of(
    ctx: &Context<'_>,
    case: &CaseRecord,
) -> GqlResult<Option<FromHigherBody>> {
    if !viewer(ctx)?.sight(case).staff_records {
        return Ok(None);
    }
    let rows = loaded(&ctx.data_unchecked::<Loaders>().higher_referrals, case.id).await?;
    Ok(rows
        .into_iter()
        .find(|r| r.direction == FROM_ABOVE)
        .map(|referral| FromHigherBody {
            referral,
            now: state(ctx).clock.now(),
        }))
}

/// 上报 — a matter the county sent up: what the county keeps of it.
pub struct SentUpward(pub SentUp);

#[Object]
impl SentUpward {
    async fn id(&self) -> ID {
        global_id("SentUpward", self.0.referral.id)
    }
    /// The case's number.
    async fn case_number(&self) -> &str {
        &self.0.case_number
    }
    async fn title(&self) -> &str {
        &self.0.case_title
    }
    /// The case's state when it left the county.
    async fn status(&self) -> CaseStatus {
        self.0.status
    }
    /// Where it went.
    async fn body_name(&self) -> &str {
        &self.0.body.name
    }
    async fn level(&self) -> HigherLevel {
        self.0.body.level
    }
    /// Why it is outside the county's remit.
    async fn reason(&self) -> Option<&str> {
        self.0.referral.reason.as_deref()
    }
    async fn sent_at(&self) -> Instant {
        Instant(self.0.referral.created_at)
    }
}

#[derive(Default)]
pub struct HigherQuery;

#[Object]
impl HigherQuery {
    /// 上报记录 — the matters this county sent up, newest first (the petition bureau).
    async fn sent_upward(&self, ctx: &Context<'_>) -> GqlResult<Vec<SentUpward>> {
        Ok(crate::higher::sent_up(&state(ctx).db, viewer(ctx)?)
            .await?
            .into_iter()
            .map(SentUpward)
            .collect())
    }
}

/// The payload of `sendUpward`: the record the county keeps (the case itself is out of sight
/// from now on).
#[derive(async_graphql::SimpleObject)]
pub struct SendUpwardPayload {
    pub sent: SentUpward,
}
