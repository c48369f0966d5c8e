//! Leaders' instructions (批示, domain §10): a LEADER of any unit that sees a case writes an
//! instruction on it; the unit in charge sees it (its inbox, the case) and reports back on it,
//! once. Staff records: a petitioner sees neither the instruction nor its report, and the
//! accused unit of an accusation, which does not see the case, sees nothing of either.

use crate::access::Viewer;
use crate::domain::Action;
use crate::error::{AppError, Result, conflict};
use crate::events::InboxKind;
use crate::workflow::{Caller, open, save, text, unchanged, with_record};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use xinfang_entity::{case, instruction};

/// 批示: on an open case the leader's unit sees; for the unit in charge now.
pub async fn give(
    caller: &Caller<'_>,
    case_id: i64,
    words: &str,
) -> Result<(instruction::Model, case::Model)> {
    text("text", words)?;
    let open = open(caller, case_id, Action::GiveInstruction, None).await?;
    let unit = caller.viewer.handling_unit()?;
    let created = instruction::ActiveModel {
        case_id: Set(open.case.id),
        leader_user_id: Set(caller.viewer.user_id),
        leader_unit_id: Set(unit.id),
        to_unit_id: Set(open.case.lead_unit_id),
        text: Set(words.to_string()),
        given_at: Set(open.now),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    let mut open = open;
    open.inbox = Some((open.case.lead_unit_id, InboxKind::Instruction, None));
    let case = save(
        with_record(open, created.id),
        unchanged(),
        "INSTRUCTION_GIVEN",
        json!({ "instructionId": created.id }),
        false,
    )
    .await?;
    Ok((created, case))
}

/// 落实情况报告: the unit in charge reports back on an instruction, once.
pub async fn report(
    caller: &Caller<'_>,
    instruction_id: i64,
    words: &str,
) -> Result<(instruction::Model, case::Model)> {
    text("text", words)?;
    let (found_case, _) = find_visible(caller.db, caller.viewer, instruction_id)
        .await?
        .ok_or(AppError::NotFound("instruction"))?;
    let open = open(caller, found_case.id, Action::ReportOnInstruction, None).await?;
    let row = instruction::Entity::find_by_id(instruction_id)
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("instruction"))?;
    if row.reported_at.is_some() {
        return Err(conflict("this instruction was already reported on"));
    }
    let mut active: instruction::ActiveModel = row.into();
    active.report = Set(Some(words.to_string()));
    active.reported_at = Set(Some(open.now));
    active.reported_by_user_id = Set(Some(caller.viewer.user_id));
    let row = active.update(&open.tx).await?;
    let case = save(
        with_record(open, row.id),
        unchanged(),
        "INSTRUCTION_REPORTED",
        json!({ "instructionId": instruction_id }),
        false,
    )
    .await?;
    Ok((row, case))
}

/// One instruction, where the viewer is staff who sees its case.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, instruction::Model)>> {
    if !viewer.sees_staff_records() {
        return Ok(None);
    }
    let row = instruction::Entity::find_by_id(id)
        .filter(instruction::Column::CaseId.in_subquery(crate::cases::visible_ids(viewer)))
        .one(db)
        .await?;
    crate::records::with_case(db, viewer, row, |r| r.case_id).await
}
