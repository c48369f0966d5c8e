//! GraphQL types and operations for the backlog (积案): campaigns, listed matters, progress and
//! the per-campaign and per-unit report.

use super::identity::{OrgUnit, load_unit};
use super::matters::Matter;
use super::{GqlResult, Instant, global_id, input_id, state, viewer};
use crate::backlog::{self, CampaignRecord, EntryRecord, Tally};
use crate::domain::{BacklogResolution, BacklogStatus};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use std::collections::BTreeMap;

/// 专项治理批次 — a backlog campaign, with the entries the viewer sees.
pub struct BacklogCampaign {
    campaign: CampaignRecord,
    entries: Vec<EntryRecord>,
}

#[Object]
impl BacklogCampaign {
    async fn id(&self) -> ID {
        global_id("BacklogCampaign", self.campaign.id)
    }
    /// 批次名称
    async fn name(&self) -> &str {
        &self.campaign.name
    }
    /// 目标日期 (YYYY-MM-DD)
    async fn target_date(&self) -> String {
        self.campaign.target_date.to_string()
    }
    /// 列入事项 — the listed matters the viewer sees (all of them for the bureau). Costed as a
    /// full page of 100, since each may read its matter.
    #[graphql(complexity = "super::cost::list(Some(100), child_complexity)")]
    async fn entries(&self, ctx: &Context<'_>) -> GqlResult<Vec<BacklogEntry>> {
        entries(ctx, &self.entries).await
    }
    /// 化解情况 — counts over the entries the viewer sees, in all and per lead unit.
    async fn report(&self) -> BacklogReport {
        let mut by_unit: BTreeMap<i64, Vec<&EntryRecord>> = BTreeMap::new();
        for e in &self.entries {
            by_unit.entry(e.lead_unit_id).or_default().push(e);
        }
        BacklogReport {
            total: Tally::of(&self.entries).into(),
            by_unit: by_unit
                .into_iter()
                .map(|(unit, list)| BacklogUnitTally {
                    unit_id: unit,
                    tally: Tally::of(list).into(),
                })
                .collect(),
        }
    }
}

/// 积案 — a matter listed in a campaign.
pub struct BacklogEntry {
    entry: EntryRecord,
    leader_name: Option<String>,
}

#[Object]
impl BacklogEntry {
    pub async fn id(&self) -> ID {
        global_id("BacklogEntry", self.entry.id)
    }
    /// 化解状态
    async fn status(&self) -> BacklogStatus {
        self.entry.status
    }
    /// 化解方式 — how it was resolved (已化解 only).
    async fn resolution(&self) -> Option<BacklogResolution> {
        self.entry.resolution
    }
    /// The latest note on its progress.
    async fn note(&self) -> Option<&str> {
        self.entry.note.as_deref()
    }
    /// Pass it back as `expectedVersion` when recording progress.
    async fn version(&self) -> i64 {
        self.entry.version
    }
    async fn listed_at(&self) -> Instant {
        Instant(self.entry.listed_at)
    }
    async fn resolved_at(&self) -> Option<Instant> {
        self.entry.resolved_at.map(Instant)
    }
    /// 包案领导
    async fn leader_name(&self) -> Option<&str> {
        self.leader_name.as_deref()
    }
    /// 责任单位
    async fn lead_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.entry.lead_unit_id)).await
    }
    /// The matter, showing the cases of it the viewer may see (null when none).
    async fn matter(&self, ctx: &Context<'_>) -> GqlResult<Option<Matter>> {
        Matter::by_id(ctx, self.entry.matter_id).await
    }
    /// 可执行操作 — what this viewer may do with the entry now. Every entry shown is one the
    /// viewer is a party to (its county's bureau, its owning leader, its lead unit).
    async fn viewer_can(&self) -> BacklogEntryViewerCan {
        BacklogEntryViewerCan {
            update: backlog::may_progress(self.entry.status),
        }
    }
}

/// One entry, for `node(id)`.
pub async fn entry_node(ctx: &Context<'_>, entry: EntryRecord) -> GqlResult<BacklogEntry> {
    Ok(entries(ctx, &[entry]).await?.remove(0))
}

async fn entries(ctx: &Context<'_>, list: &[EntryRecord]) -> GqlResult<Vec<BacklogEntry>> {
    let names = backlog::leader_names(
        &state(ctx).db,
        list.iter().map(|e| e.leader_user_id).collect(),
    )
    .await?;
    Ok(list
        .iter()
        .map(|e| BacklogEntry {
            entry: e.clone(),
            leader_name: names.get(&e.leader_user_id).cloned(),
        })
        .collect())
}

/// The actions on a backlog entry its viewer may take now.
#[derive(SimpleObject)]
pub struct BacklogEntryViewerCan {
    /// 化解进展 (updateBacklogEntry; until the matter is resolved or left unresolved)
    pub update: bool,
}

/// 化解统计 — counts of listed matters by status, and 积案化解率.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct BacklogTally {
    /// 列入 — all listed matters.
    pub listed: i64,
    /// Listed, work not yet begun.
    pub not_started: i64,
    /// 化解中
    pub in_progress: i64,
    /// 已化解
    pub resolved: i64,
    /// 未化解
    pub unresolved: i64,
}

#[async_graphql::ComplexObject]
impl BacklogTally {
    /// 积案化解率 = resolved ÷ listed (null when nothing is listed).
    async fn resolution_rate(&self) -> Option<f64> {
        Tally {
            listed: self.listed,
            resolved: self.resolved,
            ..Tally::default()
        }
        .resolution_rate()
    }
}

impl From<Tally> for BacklogTally {
    fn from(t: Tally) -> Self {
        BacklogTally {
            listed: t.listed,
            not_started: t.not_started,
            in_progress: t.in_progress,
            resolved: t.resolved,
            unresolved: t.unresolved,
        }
    }
}

/// A campaign's counts, in all and per lead unit.
#[derive(SimpleObject)]
pub struct BacklogReport {
    pub total: BacklogTally,
    pub by_unit: Vec<BacklogUnitTally>,
}

/// One lead unit's part in a campaign.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct BacklogUnitTally {
    #[graphql(skip)]
    pub unit_id: i64,
    pub tally: BacklogTally,
}

#[async_graphql::ComplexObject]
impl BacklogUnitTally {
    async fn unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, Some(self.unit_id)).await
    }
}

#[derive(Default)]
pub struct BacklogQuery;

#[Object]
impl BacklogQuery {
    /// 积案专项治理 — the campaigns the viewer takes part in (the bureau: all of its county's),
    /// newest first, with the entries it sees.
    async fn backlog_campaigns(&self, ctx: &Context<'_>) -> GqlResult<Vec<BacklogCampaign>> {
        let me = viewer(ctx)?;
        Ok(backlog::campaigns(&state(ctx).db, me)
            .await?
            .into_iter()
            .map(|(campaign, entries)| BacklogCampaign { campaign, entries })
            .collect())
    }
}

#[derive(InputObject, Debug)]
pub struct CreateBacklogCampaignInput {
    /// 批次名称, e.g. 2026年信访积案化解专项行动.
    pub name: String,
    /// 目标日期, YYYY-MM-DD.
    pub target_date: String,
}

#[derive(InputObject, Debug)]
pub struct ListBacklogMatterInput {
    pub campaign_id: ID,
    /// Any case of the matter.
    pub case_id: ID,
    /// 包案领导 — a LEADER account of the county who may see the case.
    pub leader_id: ID,
    /// 责任单位 — a unit of the county that may see the case.
    pub lead_unit_id: ID,
    pub note: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct UpdateBacklogEntryInput {
    pub entry_id: ID,
    pub expected_version: i64,
    /// IN_PROGRESS, RESOLVED or UNRESOLVED.
    pub status: BacklogStatus,
    /// Required with RESOLVED, refused otherwise.
    pub resolution: Option<BacklogResolution>,
    /// What was done.
    pub note: String,
}

#[derive(SimpleObject)]
pub struct BacklogEntryPayload {
    pub entry: BacklogEntry,
}

#[derive(Default)]
pub struct BacklogMutation;

#[Object]
impl BacklogMutation {
    /// 专项治理 — the petition bureau opens a backlog campaign.
    async fn create_backlog_campaign(
        &self,
        ctx: &Context<'_>,
        input: CreateBacklogCampaignInput,
    ) -> GqlResult<BacklogCampaign> {
        let s = state(ctx);
        let campaign = backlog::create_campaign(
            &s.db,
            &s.clock,
            viewer(ctx)?,
            &input.name,
            &input.target_date,
        )
        .await?;
        Ok(BacklogCampaign {
            campaign,
            entries: vec![],
        })
    }

    /// 列入 — the petition bureau lists a matter, naming its owning leader and lead unit.
    async fn list_backlog_matter(
        &self,
        ctx: &Context<'_>,
        input: ListBacklogMatterInput,
    ) -> GqlResult<BacklogEntryPayload> {
        let s = state(ctx);
        let listing = backlog::Listing {
            campaign_id: input_id("BacklogCampaign", "campaignId", &input.campaign_id)?,
            case_id: input_id("Case", "caseId", &input.case_id)?,
            leader_user_id: input_id("User", "leaderId", &input.leader_id)?,
            lead_unit_id: input_id("OrgUnit", "leadUnitId", &input.lead_unit_id)?,
            note: input.note,
        };
        let entry = backlog::list_matter(&s.db, &s.clock, viewer(ctx)?, listing).await?;
        Ok(BacklogEntryPayload {
            entry: entries(ctx, &[entry]).await?.remove(0),
        })
    }

    /// 化解进展 — the owning leader, the lead unit or the bureau records progress: 化解中,
    /// 已化解 (with how) or 未化解.
    async fn update_backlog_entry(
        &self,
        ctx: &Context<'_>,
        input: UpdateBacklogEntryInput,
    ) -> GqlResult<BacklogEntryPayload> {
        let s = state(ctx);
        let progress = backlog::Progress {
            entry_id: input_id("BacklogEntry", "entryId", &input.entry_id)?,
            expected_version: input.expected_version,
            status: input.status,
            resolution: input.resolution,
            note: input.note,
        };
        let entry = backlog::update(&s.db, &s.clock, viewer(ctx)?, progress).await?;
        Ok(BacklogEntryPayload {
            entry: entries(ctx, &[entry]).await?.remove(0),
        })
    }
}
