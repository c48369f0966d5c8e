//! Ownership plans (包案方案) on the graph: `LeaderOwnership.plan`, `recordOwnershipProgress`,
//! `overdueOwnershipPlans`.

use super::cases::Case;
use super::workflow::caller;
use super::{GqlResult, Instant, global_id, input_id, state, viewer};
use crate::error::Result;
use crate::ownership::{self, NewPlan};
use crate::records::{CaseRecord, OwnershipPlanRecord, OwnershipProgressRecord};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

/// 包案方案 — staff only.
pub struct OwnershipPlan {
    row: OwnershipPlanRecord,
    progress: Vec<OwnershipProgressRecord>,
    case: CaseRecord,
}

/// 包案进展 — one entry of progress against a plan.
pub struct OwnershipProgress(OwnershipProgressRecord);

#[Object]
impl OwnershipProgress {
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// This entry reports the plan carried out.
    async fn completes(&self) -> bool {
        self.0.completes
    }
    async fn at(&self) -> Instant {
        Instant(self.0.at)
    }
    /// Who recorded it.
    async fn author(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        super::workflow::staff_name(ctx, viewer(ctx)?, Some(self.0.user_id)).await
    }
}

#[Object]
impl OwnershipPlan {
    pub async fn id(&self) -> ID {
        global_id("OwnershipPlan", self.row.id)
    }
    /// 包案领导
    async fn leader(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        super::workflow::staff_name(ctx, viewer(ctx)?, Some(self.row.leader_user_id)).await
    }
    async fn leader_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<super::OrgUnit>> {
        super::identity::load_unit(ctx, Some(self.row.leader_unit_id)).await
    }
    /// 牵头协调
    async fn coordinator(&self) -> &str {
        &self.row.coordinator
    }
    /// 督促落实
    async fn supervisor(&self) -> &str {
        &self.row.supervisor
    }
    /// 具体承办
    async fn executor(&self) -> &str {
        &self.row.executor
    }
    /// 联系信访人
    async fn contact(&self) -> &str {
        &self.row.contact
    }
    /// 化解目标
    async fn goal(&self) -> &str {
        &self.row.goal
    }
    /// 化解时限 — `YYYY-MM-DD`.
    async fn due_on(&self) -> &str {
        &self.row.due_on
    }
    async fn taken_at(&self) -> Instant {
        Instant(self.row.taken_at)
    }
    /// When progress reported the plan carried out.
    async fn completed_at(&self) -> Option<Instant> {
        self.row.completed_at.map(Instant)
    }
    /// Past its date and not carried out.
    async fn overdue(&self, ctx: &Context<'_>) -> bool {
        ownership::is_overdue(&self.row, state(ctx).clock.now())
    }
    /// 进展, oldest first.
    async fn progress(&self) -> Vec<OwnershipProgress> {
        self.progress
            .iter()
            .cloned()
            .map(OwnershipProgress)
            .collect()
    }
    /// The case owned.
    async fn case(&self) -> Case {
        Case(self.case.clone())
    }
}

pub async fn plan_of(ctx: &Context<'_>, case: &CaseRecord) -> Result<Option<OwnershipPlan>> {
    with_progress(ctx, case.clone()).await
}

async fn with_progress(ctx: &Context<'_>, case: CaseRecord) -> Result<Option<OwnershipPlan>> {
    let found = ownership::plan_of(&state(ctx).db, viewer(ctx)?, &case).await?;
    Ok(found.map(|(row, progress)| OwnershipPlan {
        row,
        progress,
        case,
    }))
}

pub async fn plan_by_id(ctx: &Context<'_>, id: i64) -> Result<Option<OwnershipPlan>> {
    match ownership::find_visible(&state(ctx).db, viewer(ctx)?, id).await? {
        Some((case, _)) => with_progress(ctx, case).await,
        None => Ok(None),
    }
}

#[derive(InputObject, Debug)]
pub struct OwnershipPlanInput {
    /// 牵头协调 — who coordinates.
    pub coordinator: String,
    /// 督促落实 — who supervises.
    pub supervisor: String,
    /// 具体承办 — who carries it out.
    pub executor: String,
    /// 联系信访人 — who keeps contact with the petitioner.
    pub contact: String,
    /// 化解目标
    pub goal: String,
    /// 化解时限, `YYYY-MM-DD`: today to a year from now.
    pub due_on: String,
}

impl OwnershipPlanInput {
    pub fn into_new(self) -> NewPlan {
        NewPlan {
            coordinator: self.coordinator,
            supervisor: self.supervisor,
            executor: self.executor,
            contact: self.contact,
            goal: self.goal,
            due_on: self.due_on,
        }
    }
}

#[derive(InputObject, Debug)]
pub struct RecordOwnershipProgressInput {
    pub case_id: ID,
    pub text: String,
    /// The plan is carried out with this entry (default false).
    #[graphql(default)]
    pub completes: bool,
}

#[derive(SimpleObject)]
pub struct OwnershipPlanPayload {
    pub plan: OwnershipPlan,
    pub case: Case,
}

#[derive(Default)]
pub struct OwnershipQuery;

#[Object]
impl OwnershipQuery {
    /// 包案逾期 — ownership plans past their date and not carried out, on the cases you see
    /// (staff), the longest overdue first; at most 200.
    async fn overdue_ownership_plans(&self, ctx: &Context<'_>) -> GqlResult<Vec<OwnershipPlan>> {
        let s = state(ctx);
        let rows = ownership::overdue(&s.db, viewer(ctx)?, s.clock.now()).await?;
        let mut out = vec![];
        for (case, _) in rows {
            if let Some(plan) = with_progress(ctx, case).await? {
                out.push(plan);
            }
        }
        Ok(out)
    }
}

#[derive(Default)]
pub struct OwnershipMutation;

#[Object]
impl OwnershipMutation {
    /// 包案进展 — the owning leader or the lead unit records progress against the plan;
    /// `completes: true` reports it carried out.
    async fn record_ownership_progress(
        &self,
        ctx: &Context<'_>,
        input: RecordOwnershipProgressInput,
    ) -> GqlResult<OwnershipPlanPayload> {
        let id = input_id("Case", "caseId", &input.case_id)?;
        let (_, case) =
            ownership::record_progress(&caller(ctx)?, id, &input.text, input.completes).await?;
        let plan = with_progress(ctx, case.clone())
            .await?
            .ok_or(ownership::not_found())?;
        Ok(OwnershipPlanPayload {
            plan,
            case: Case(case),
        })
    }
}
