//! GraphQL types for matters (信访事项) and repeat links (重复信访关联).
//!
//! A matter is reached from a case the viewer sees (`Case.matter`) or by id (`matter`), and
//! shows only the cases of it the viewer may see; a link shows only where the viewer sees both
//! of its cases.

use super::cases::loaded;
use super::cases::loader_error;
use super::identity::{OrgUnit, load_unit};
use super::{GqlResult, Instant, global_id, lookup_id, viewer};
use crate::cases::link_readable;
use crate::domain::{MatterState, RepeatLinkState};
use crate::error::AppError;
use crate::matters::{self, MatterCase, RepeatLinkRecord};
use crate::records::CaseRecord;
use async_graphql::{Context, ID, Object};

use super::Case;

/// 信访事项 — the petitions (cases) on the same facts and requests.
pub struct Matter {
    id: i64,
    /// The cases of it the viewer may see that were read, in the order they were received:
    /// those listed and, past the bound, the latest and the first concluding one.
    cases: Vec<MatterCase>,
}

impl Matter {
    /// The matter of a case the viewer sees, as that viewer may read it: never across the line
    /// between accusations and other petitions, seen from this case.
    pub async fn of_case(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Matter> {
        let id = matters::matter_of(case);
        let cases = visible_cases(ctx, id)
            .await?
            .into_iter()
            .filter(|c| link_readable(case, &c.case))
            .collect();
        Ok(Matter { id, cases })
    }

    /// A matter by id, when one of its cases is visible.
    pub async fn by_id(ctx: &Context<'_>, id: i64) -> GqlResult<Option<Matter>> {
        let cases = visible_cases(ctx, id).await?;
        Ok((!cases.is_empty()).then_some(Matter { id, cases }))
    }

    fn read(&self) -> Vec<CaseRecord> {
        self.cases.iter().map(|c| c.case.clone()).collect()
    }

    fn shown(&self) -> impl Iterator<Item = &CaseRecord> {
        self.cases.iter().filter(|c| c.shown).map(|c| &c.case)
    }
}

fn loaders<'a>(ctx: &Context<'a>) -> &'a super::Loaders {
    ctx.data_unchecked::<super::Loaders>()
}

/// The cases of a matter the viewer sees, through the request's loader.
async fn visible_cases(ctx: &Context<'_>, matter_id: i64) -> GqlResult<Vec<MatterCase>> {
    loaded(&loaders(ctx).matter_cases, matter_id).await
}

#[Object]
impl Matter {
    pub async fn id(&self) -> ID {
        global_id("Matter", self.id)
    }
    /// 事项状态 — open, concluded (终结) or resolved (化解), as the cases the viewer sees make
    /// it.
    async fn state(&self, ctx: &Context<'_>) -> GqlResult<MatterState> {
        let loaders = loaders(ctx);
        let resolved = loaded(&loaders.campaign_resolved, self.id).await?;
        let evaluation = match self.cases.last() {
            Some(latest) => loaders
                .evaluations
                .load_one(latest.case.id)
                .await
                .map_err(loader_error)?
                .flatten(),
            None => None,
        };
        Ok(matters::state(&self.read(), resolved, evaluation.as_ref()))
    }
    /// 件 — the cases of this matter the viewer may see, oldest first (at most the oldest 500
    /// on each side of the line between accusations and other petitions; every one of them,
    /// page by page: `cases(filter: {matterId})`).
    async fn cases(&self) -> Vec<Case> {
        self.shown().cloned().map(Case).collect()
    }
    /// 件次 — how many of its cases the viewer may see.
    async fn case_count(&self) -> i32 {
        matters::case_count(&self.cases) as i32
    }
    /// 初信初访 — the earliest case of the matter the viewer may see (what lies before it, out
    /// of sight, is not hinted at).
    async fn first_case(&self) -> Option<Case> {
        self.cases.first().map(|c| Case(c.case.clone()))
    }
    /// 终结依据 — the case whose end concluded the matter (finalized after re-review, or closed
    /// after its written reply), among those the viewer sees.
    async fn concluded_by(&self) -> Option<Case> {
        matters::concluding_case(&self.read()).cloned().map(Case)
    }
}

/// 重复信访关联 — a later case proposed as, confirmed as, or no longer a repeat of an earlier one.
pub struct RepeatLink {
    pub link: RepeatLinkRecord,
    pub case: CaseRecord,
}

#[Object]
impl RepeatLink {
    async fn id(&self) -> ID {
        global_id("RepeatLink", self.link.id)
    }
    async fn state(&self) -> RepeatLinkState {
        self.link.state
    }
    /// 依据 — what the system's proposal rests on: `ID_NUMBER`, `NAME_PHONE`, `CREDIT_CODE`
    /// (the same person), `SUBJECT`, `SIMILAR_TEXT`; `MANUAL` for a link made by hand.
    async fn basis(&self) -> Vec<String> {
        self.link.basis.split(' ').map(str::to_owned).collect()
    }
    /// The later case.
    async fn case(&self) -> Case {
        Case(self.case.clone())
    }
    /// The earlier case it repeats (or was proposed to repeat).
    async fn earlier_case(&self, ctx: &Context<'_>) -> GqlResult<Case> {
        let found = loaded(&loaders(ctx).visible_cases, self.link.earlier_case_id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
        Ok(Case(found))
    }
    /// 理由 — the reason given with the latest confirmation or undoing.
    async fn reason(&self) -> Option<&str> {
        self.link.reason.as_deref()
    }
    async fn proposed_at(&self) -> Option<Instant> {
        self.link.proposed_at.map(Instant)
    }
    async fn decided_at(&self) -> Option<Instant> {
        self.link.decided_at.map(Instant)
    }
    /// The unit that confirmed or undid it.
    async fn decided_by(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, self.link.decided_by_unit_id).await
    }
}

/// The repeat links of a case (as the later case), where the viewer sees both cases.
pub async fn links_of(ctx: &Context<'_>, case: &CaseRecord) -> GqlResult<Vec<RepeatLink>> {
    let me = viewer(ctx)?;
    // The system's proposals and the reasons staff give are working notes, not the
    // petitioner's (like the LINK_REPEAT entries, which are staff-only).
    if !me.sight(case).staff_records {
        return Ok(vec![]);
    }
    let rows = loaded(
        &ctx.data_unchecked::<super::Loaders>().repeat_links,
        case.id,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|link| RepeatLink {
            link,
            case: case.clone(),
        })
        .collect())
}

/// A matter by its global id, for `matter(id)`.
pub async fn matter_by_global_id(ctx: &Context<'_>, id: &ID) -> GqlResult<Option<Matter>> {
    let found = match lookup_id("Matter", id) {
        Some(n) => Matter::by_id(ctx, n).await?,
        None => None,
    };
    match found {
        Some(m) => Ok(Some(m)),
        None => Err(AppError::NotFound("matter").into()),
    }
}
