//! GraphQL types and queries for statistics and oversight lists.

use super::identity::{OrgUnit, load_unit};
use super::{GqlResult, Instant, state, viewer};
use crate::domain::FromDb;
use crate::domain::{CaseStatus, Category, Channel, DeadlineKind, DeadlineLevel};
use crate::error::bad_input;
use crate::stats::{self, Figures, GroupBy};
use async_graphql::{Context, Enum, Object, SimpleObject};

/// 统计维度
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum StatisticsGroupBy {
    /// 按主办单位
    Unit,
    /// 按首接单位 — the unit that first received and registered each case (首办责任制).
    RegisteredBy,
    /// 按属地乡镇
    Township,
    /// 按类别
    Category,
    /// 按信访形式
    Channel,
    /// 按事项分类
    Subject,
    /// 按月份 (China time)
    Month,
}

/// 按状态计数
#[derive(SimpleObject)]
pub struct StatusCount {
    pub status: CaseStatus,
    pub count: i64,
}

/// 统计数据 — counts and rates over the cases the viewer may see (README: Statistics).
pub struct StatisticsFigures(Figures);

#[Object]
impl StatisticsFigures {
    /// 件次
    async fn cases(&self) -> i64 {
        self.0.cases
    }
    /// 人次
    async fn persons(&self) -> i64 {
        self.0.persons
    }
    /// 集体访批次 — cases of 5 or more people.
    async fn group_petitions(&self) -> i64 {
        self.0.group_petitions
    }
    /// 迟报 — urgent matters and group visits registered later than the county's
    /// `registrationLimitHours` after receipt.
    async fn late_registrations(&self) -> i64 {
        self.0.late_registrations
    }
    /// 平均登记用时 — mean hours from receipt to registration (per registering unit with
    /// `groupBy: REGISTERED_BY`); null without cases.
    async fn mean_registration_hours(&self) -> Option<f64> {
        self.0.mean_registration_hours()
    }
    /// 重复信访件次 — cases confirmed as repeats of an earlier case the viewer sees.
    async fn repeats(&self) -> i64 {
        self.0.repeats
    }
    /// 事项 — distinct matters among the cases counted (a matter with cases in several groups
    /// counts once in the total).
    async fn matters(&self) -> i64 {
        self.0.matters
    }
    /// 初信初访件次 — cases that repeat no earlier case the viewer sees (`cases - repeats`):
    /// each is the first petition of its matter as far as the viewer can tell.
    async fn first_petitions(&self) -> i64 {
        self.0.cases - self.0.repeats
    }
    /// 按状态
    async fn by_status(&self) -> Vec<StatusCount> {
        self.0
            .by_status
            .iter()
            .map(|(status, count)| StatusCount {
                status: *status,
                count: *count,
            })
            .collect()
    }
    /// 及时受理率 — null when nothing was due.
    async fn timely_acceptance_rate(&self) -> Option<f64> {
        self.0.timely_acceptance_rate()
    }
    /// 按期办结率
    async fn on_time_completion_rate(&self) -> Option<f64> {
        self.0.on_time_completion_rate()
    }
    /// 群众满意率
    async fn satisfaction_rate(&self) -> Option<f64> {
        self.0.satisfaction_rate()
    }
    /// 重复信访率
    async fn repeat_rate(&self) -> Option<f64> {
        self.0.repeat_rate()
    }
    /// 一次性化解率
    async fn first_time_resolution_rate(&self) -> Option<f64> {
        self.0.first_time_resolution_rate()
    }
    /// 按期受理 — acceptance clocks met: decided by the deadline, or (an earlier lead unit,
    /// counted in its own group when grouped by unit) passed on by it.
    async fn accepted_on_time(&self) -> i64 {
        self.0.accepted_on_time
    }
    /// 上级交办办结率 — reports back to a higher body made on time ÷ those due; null when none
    /// was due.
    async fn higher_assignment_report_rate(&self) -> Option<f64> {
        self.0.higher_assignment_report_rate()
    }
    /// 上级交办: reports back made by their deadline.
    async fn higher_reported_on_time(&self) -> i64 {
        self.0.higher_reported_on_time
    }
    /// 上级交办: reports back made after their deadline.
    async fn higher_reported_late(&self) -> i64 {
        self.0.higher_reported_late
    }
    /// 上级交办: reports back still owed with the deadline passed.
    async fn higher_unreported_overdue(&self) -> i64 {
        self.0.higher_unreported_overdue
    }
    /// 复查/复核改变 — cases whose decision a review or re-review changed (CHANGE); none of
    /// them counts as satisfied.
    async fn changed_on_review(&self) -> i64 {
        self.0.changed_on_review
    }
    /// 超期受理 — acceptance clocks decided after their deadline.
    async fn accepted_late(&self) -> i64 {
        self.0.accepted_late
    }
    /// 逾期未受理 — acceptance clocks past their deadline undecided (including an earlier
    /// lead unit's that passed the case on after it).
    async fn undecided_overdue(&self) -> i64 {
        self.0.undecided_overdue
    }
    /// 按期答复
    async fn replied_on_time(&self) -> i64 {
        self.0.replied_on_time
    }
    /// 超期答复
    async fn replied_late(&self) -> i64 {
        self.0.replied_late
    }
    /// 逾期未答复
    async fn unreplied_overdue(&self) -> i64 {
        self.0.unreplied_overdue
    }
    /// 满意与基本满意
    async fn satisfied(&self) -> i64 {
        self.0.satisfied
    }
    /// 已评价
    async fn rated(&self) -> i64 {
        self.0.rated
    }
    /// 逾期未评价 — replied, unrated, review window lapsed.
    async fn unrated_lapsed(&self) -> i64 {
        self.0.unrated_lapsed
    }
    /// 初信初访办结
    async fn first_closed(&self) -> i64 {
        self.0.first_closed
    }
    /// 初信初访一次性化解 — closed without any review.
    async fn first_closed_without_review(&self) -> i64 {
        self.0.first_closed_without_review
    }
}

/// One group of a statistics query.
#[derive(SimpleObject)]
pub struct StatisticsGroup {
    /// The group's value: a unit id as text, an enum value, a subject code or `YYYY-MM`;
    /// null for cases without a township.
    pub key: Option<String>,
    /// 名称 — readable name of the group.
    pub label: String,
    pub figures: StatisticsFigures,
}

/// 统计
#[derive(SimpleObject)]
pub struct Statistics {
    pub from: Instant,
    pub to: Instant,
    pub total: StatisticsFigures,
    pub groups: Vec<StatisticsGroup>,
}

/// 超期/临期 — how many cases of a unit wait past (or near) one kind of deadline.
#[derive(SimpleObject)]
pub struct OversightRow {
    pub unit: Option<OrgUnit>,
    pub deadline: DeadlineKind,
    pub count: i64,
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// 三率统计 — counts and rates of the cases received in `[from, to)` that the viewer may
    /// see, in total and (optionally) per group. STAFF and LEADER accounts.
    #[graphql(complexity = "super::cost::STATISTICS + child_complexity")]
    async fn statistics(
        &self,
        ctx: &Context<'_>,
        from: Instant,
        to: Instant,
        group_by: Option<StatisticsGroupBy>,
    ) -> GqlResult<Statistics> {
        let me = viewer(ctx)?;
        me.handling_unit()?;
        if to.0 <= from.0 {
            return Err(bad_input("to", "the period ends after it starts").into());
        }
        let s = state(ctx);
        let by = group_by.map(|g| match g {
            StatisticsGroupBy::Unit => GroupBy::Unit,
            StatisticsGroupBy::RegisteredBy => GroupBy::RegisteredBy,
            StatisticsGroupBy::Township => GroupBy::Township,
            StatisticsGroupBy::Category => GroupBy::Category,
            StatisticsGroupBy::Channel => GroupBy::Channel,
            StatisticsGroupBy::Subject => GroupBy::Subject,
            StatisticsGroupBy::Month => GroupBy::Month,
        });
        let now = s.clock.now();
        let (total, groups) = s
            .read(|db| async move {
                let asked = stats::Asked {
                    from: from.0,
                    to: to.0,
                    group_by: by,
                    now,
                    unrated_counts_as_satisfied: s.settings.unrated_counts_as_satisfied,
                };
                stats::statistics(&db, me, asked).await
            })
            .await?;
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let label = label(ctx, by, g.key.as_deref()).await?;
            out.push(StatisticsGroup {
                key: g.key,
                label,
                figures: StatisticsFigures(g.figures),
            });
        }
        Ok(Statistics {
            from,
            to,
            total: StatisticsFigures(total),
            groups: out,
        })
    }

    /// 超期/临期督办清单 — per unit and deadline kind, how many visible cases are past due
    /// (OVERDUE) or due within 3 days (WARNING). List them with
    /// `cases(filter: {deadline: …, overdue: true, leadUnitId: …})`.
    #[graphql(complexity = "super::cost::OVERSIGHT + child_complexity")]
    async fn oversight(
        &self,
        ctx: &Context<'_>,
        level: DeadlineLevel,
    ) -> GqlResult<Vec<OversightRow>> {
        let me = viewer(ctx)?;
        me.handling_unit()?;
        let s = state(ctx);
        let rows =
            stats::oversight(&s.db, me, level == DeadlineLevel::Overdue, s.clock.now()).await?;
        let mut out = vec![];
        for (unit, deadline, count) in rows {
            out.push(OversightRow {
                unit: load_unit(ctx, Some(unit)).await?,
                deadline,
                count,
            });
        }
        Ok(out)
    }
}

async fn label(ctx: &Context<'_>, by: Option<GroupBy>, key: Option<&str>) -> GqlResult<String> {
    let Some(key) = key else {
        return Ok("（无）".into());
    };
    Ok(match by {
        Some(GroupBy::Unit | GroupBy::RegisteredBy | GroupBy::Township) => {
            let id = key.parse::<i64>().ok();
            load_unit(ctx, id)
                .await?
                .map(|u| u.0.name)
                .unwrap_or_else(|| key.to_string())
        }
        Some(GroupBy::Subject) => crate::identity::subject_name(&state(ctx).db, key)
            .await?
            .unwrap_or_else(|| key.to_string()),
        Some(GroupBy::Category) => match Category::from_db(key)? {
            Category::Suggestion => "建议意见".into(),
            Category::Accusation => "检举控告".into(),
            Category::Appeal => "申诉求决".into(),
        },
        Some(GroupBy::Channel) => match Channel::from_db(key)? {
            Channel::Letter => "书信".into(),
            Channel::Visit => "走访".into(),
            Channel::Phone => "电话".into(),
            Channel::Fax => "传真".into(),
            Channel::Email => "电子邮件".into(),
            Channel::Online => "网上信访".into(),
            Channel::Hotline12345 => "12345热线".into(),
            Channel::HigherReferral => "上级转交办".into(),
        },
        _ => key.to_string(),
    })
}
