//! Leaders' instructions (批示) on the graph: `Case.instructions`, `giveInstruction`,
//! `reportOnInstruction`.

use super::cases::Case;
use super::cases::loaded;
use super::workflow::caller;
use super::{GqlResult, Instant, global_id, input_id, state, viewer};
use crate::error::Result;
use crate::records::InstructionRecord;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

/// 批示 — a leader's written instruction on a case, and the unit in charge's report back.
/// Staff only.
pub struct Instruction(pub InstructionRecord);

#[Object]
impl Instruction {
    pub async fn id(&self) -> ID {
        global_id("Instruction", self.0.id)
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// 批示领导 — the leader's name.
    async fn leader(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        super::workflow::staff_name(ctx, viewer(ctx)?, Some(self.0.leader_user_id)).await
    }
    /// The leader's unit.
    async fn leader_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<super::OrgUnit>> {
        super::identity::load_unit(ctx, Some(self.0.leader_unit_id)).await
    }
    /// The unit in charge when it was given, which reports back.
    async fn to_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<super::OrgUnit>> {
        super::identity::load_unit(ctx, Some(self.0.to_unit_id)).await
    }
    async fn given_at(&self) -> Instant {
        Instant(self.0.given_at)
    }
    /// 落实情况 — the report back, once made.
    async fn report(&self) -> Option<&str> {
        self.0.report.as_deref()
    }
    async fn reported_at(&self) -> Option<Instant> {
        self.0.reported_at.map(Instant)
    }
}

pub async fn instructions_of(
    ctx: &Context<'_>,
    case: &crate::records::CaseRecord,
) -> super::GqlResult<Vec<Instruction>> {
    // Staff records: a petitioner reads none.
    if !viewer(ctx)?.sees_staff_records() {
        return Ok(vec![]);
    }
    Ok(loaded(
        &ctx.data_unchecked::<super::Loaders>().instructions,
        case.id,
    )
    .await?
    .into_iter()
    .map(Instruction)
    .collect())
}

pub async fn instruction_by_id(ctx: &Context<'_>, id: i64) -> Result<Option<Instruction>> {
    Ok(
        crate::instructions::find_visible(&state(ctx).db, viewer(ctx)?, id)
            .await?
            .map(|(_, i)| Instruction(i)),
    )
}

#[derive(InputObject, Debug)]
pub struct GiveInstructionInput {
    pub case_id: ID,
    pub text: String,
}

#[derive(InputObject, Debug)]
pub struct ReportOnInstructionInput {
    pub instruction_id: ID,
    pub text: String,
}

#[derive(SimpleObject)]
pub struct InstructionPayload {
    pub instruction: Instruction,
    pub case: Case,
}

#[derive(Default)]
pub struct InstructionsMutation;

#[Object]
impl InstructionsMutation {
    /// 批示 — a LEADER of a unit that sees the case, while it is open; the unit in charge
    /// finds it in its inbox.
    async fn give_instruction(
        &self,
        ctx: &Context<'_>,
        input: GiveInstructionInput,
    ) -> GqlResult<InstructionPayload> {
        let id = input_id("Case", "caseId", &input.case_id)?;
        let (row, case) = crate::instructions::give(&caller(ctx)?, id, &input.text).await?;
        Ok(InstructionPayload {
            instruction: Instruction(row),
            case: Case(case),
        })
    }

    /// 落实情况报告 — the unit in charge reports back on an instruction, once.
    async fn report_on_instruction(
        &self,
        ctx: &Context<'_>,
        input: ReportOnInstructionInput,
    ) -> GqlResult<InstructionPayload> {
        let id = input_id("Instruction", "instructionId", &input.instruction_id)?;
        let (row, case) = crate::instructions::report(&caller(ctx)?, id, &input.text).await?;
        Ok(InstructionPayload {
            instruction: Instruction(row),
            case: Case(case),
        })
    }
}
