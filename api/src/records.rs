//! A case's records read one by one — the timeline with the names it is shown with, and each
//! sub-record that has a global ID (for `node(id)`) — always through the viewer's scope: a
//! record is found only when its case is, as a SQL condition on the same statement.
//!
//! What of a found record the viewer then reads is the presenter's question, answered by
//! [`crate::access::CaseSight`]. This module knows nothing of HTTP or GraphQL.

use crate::access::{Actor, Viewer, col_of as col};
use crate::cases::{find_visible, visible_ids};
use crate::db::bucketed_ids;
use crate::domain::FromDb;
use crate::domain::{ApprovalStatus, Role, UnitRelation};
use crate::error::Result;
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Condition, Expr, ExprTrait, JoinType, Order, Query,
    SelectStatement, WithClause, WithQuery,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use xinfang_entity::{
    case, case_event, case_petitioner, case_unit, completion_report, evaluation, extension,
    hearing, higher_referral, hotline_ticket, instruction, referral, reply, review, supervision,
    user,
};

/// A timeline entry with what it is shown with: its unit's name and who acted.
#[derive(Clone, Debug)]
pub struct NamedEntry {
    pub entry: case_event::Model,
    pub unit_name: Option<String>,
    pub actor: Option<Actor>,
}

/// A case's latest entries (oldest of them first) and, when it was asked for, how many
/// entries it has in all.
#[derive(Clone, Debug, Default)]
pub struct LatestEntries {
    pub entries: Vec<NamedEntry>,
    pub total: Option<i64>,
}

/// What a reader of a case's latest entries shows beyond the entries' short columns: the
/// names they are shown with (their unit's, who acted), the case's count of entries, and the
/// entries' bodies (`detail` and the hash links). A list that shows none of them
/// (`timeline(last: 5) { nodes { action at } }`) reads none: no join to the names, no count
/// over the case's entries, and empty text in place of the bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shown {
    pub names: bool,
    pub total: bool,
    pub body: bool,
}

impl Shown {
    /// Names and count both, as a timeline that shows everything reads them.
    pub const ALL: Shown = Shown {
        names: true,
        total: true,
        body: true,
    };
    /// The entries alone.
    pub const NONE: Shown = Shown {
        names: false,
        total: false,
        body: false,
    };

    /// What either shows.
    pub fn and(self, other: Shown) -> Shown {
        Shown {
            names: self.names || other.names,
            total: self.total || other.total,
            body: self.body || other.body,
        }
    }
}

/// Who reads a timeline: every entry or the public ones only, and — for the entries that link
/// the case to another (`LINK_REPEAT`, `UNDO_REPEAT`) — only where the reader sees that other
/// case too. A link to a case out of sight is no entry at all: not in a page, not in a count.
///
/// The condition binds the viewer's ids as values: the statements that carry it have one text
/// for every viewer of a kind, so a connection prepares and plans each of them once, however
/// many accounts use it.
#[derive(Clone, Debug)]
pub struct Audience {
    pub public_only: bool,
    /// The whole condition on `case_events e`.
    condition: Condition,
    /// The database the condition is written for (it reads JSON its way).
    backend: sea_orm::DatabaseBackend,
}

/// Timeline actions about a case's files: on an accusation only the lead unit, the bureau
/// and whoever acted see them, as only they see the files.
pub const MATERIAL_ACTIONS: [&str; 2] = ["ATTACHMENT_ADDED", "ATTACHMENT_WITHDRAWN"];

/// Timeline actions that name another case (in the detail's `repeatOfId`).
pub const LINK_ACTIONS: [&str; 2] = ["LINK_REPEAT", "UNDO_REPEAT"];

/// `e.action NOT IN (…)` with the fixed action names written in.
fn action_not_in(actions: [&str; 2]) -> Expr {
    let names = actions.map(|a| format!("'{a}'")).join(", ");
    Expr::cust(format!("e.action NOT IN ({names})"))
}

impl Audience {
    pub fn of(db: &impl ConnectionTrait, viewer: &Viewer, public_only: bool) -> Audience {
        Self::on(db.get_database_backend(), viewer, public_only)
    }

    fn on(backend: sea_orm::DatabaseBackend, viewer: &Viewer, public_only: bool) -> Audience {
        let linked = match backend {
            sea_orm::DatabaseBackend::Postgres => {
                "CAST((e.detail::jsonb ->> 'repeatOfId') AS BIGINT)"
            }
            _ => "CAST(json_extract(e.detail, '$.repeatOfId') AS INTEGER)",
        };
        let sees_case = Query::select()
            .expr(Expr::cust("1"))
            .from(case::Entity)
            .and_where(col(crate::access::CASES, "id").eq(Expr::cust(linked)))
            .cond_where(viewer.case_scope())
            .to_owned();
        let mut condition = Condition::all()
            .add(
                Condition::any()
                    .add(action_not_in(LINK_ACTIONS))
                    .add(Expr::exists(sees_case)),
            )
            .add(
                Condition::any()
                    .add(action_not_in(MATERIAL_ACTIONS))
                    .add(viewer.sees_file_entries()),
            );
        if public_only {
            condition = condition.add(Expr::cust("e.public = TRUE"));
        }
        Audience {
            public_only,
            condition,
            backend,
        }
    }
}

/// The entry columns read only where a reader shows them: the detail and the hash links.
const BODY_COLUMNS: [&str; 3] = ["detail", "prev_hash", "hash"];

/// Selects an entry's own columns (on `table`; without `shown.body`, empty text in place of
/// [`BODY_COLUMNS`]), then its unit's name, its author's name and role, joined in — or,
/// without `shown.names`, three NULLs in their place (the rows keep one layout) and no join.
/// `table` must be in the statement before these joins are.
fn select_named(q: &mut SelectStatement, table: &'static str, shown: Shown) {
    for c in case_event::Model::COLUMNS {
        if !shown.body && BODY_COLUMNS.contains(&c) {
            q.expr(Expr::cust("CAST('' AS TEXT)"));
        } else {
            q.expr(col(table, c));
        }
    }
    if !shown.names {
        for _ in 0..3 {
            q.expr(Expr::cust("CAST(NULL AS TEXT)"));
        }
        return;
    }
    q.expr(col("o", "name"))
        .expr(col("u", "display_name"))
        .expr(col("u", "role"))
        .join_as(
            JoinType::LeftJoin,
            Alias::new("org_units"),
            Alias::new("o"),
            col("o", "id").equals((Alias::new(table), Alias::new("actor_unit_id"))),
        )
        .join_as(
            JoinType::LeftJoin,
            Alias::new("users"),
            Alias::new("u"),
            col("u", "id").equals((Alias::new(table), Alias::new("actor_user_id"))),
        );
}

fn named(row: &sea_orm::QueryResult, first: usize) -> Result<NamedEntry> {
    let entry = case_event::Model::from_row(row, first)?;
    let n = first + case_event::Model::COLUMNS.len();
    let unit_name: Option<String> = row.try_get_by_index(n)?;
    let actor_name: Option<String> = row.try_get_by_index(n + 1)?;
    let actor_role: Option<String> = row.try_get_by_index(n + 2)?;
    let actor = match (entry.actor_user_id, actor_name) {
        (Some(user_id), Some(name)) => Some(Actor {
            user_id,
            name,
            citizen: actor_role.as_deref() == Some(Role::Petitioner.as_str()),
        }),
        _ => None,
    };
    Ok(NamedEntry {
        entry,
        unit_name,
        actor,
    })
}

/// Which of a case's entries a list wants with each row: the latest `last` (or, `from_start`,
/// the first `last`) that `audience` may read, with what of them is `shown`.
#[derive(Clone, Debug)]
pub struct LatestWanted {
    pub audience: Audience,
    pub last: u32,
    pub from_start: bool,
    pub shown: Shown,
}

impl LatestWanted {
    /// `t`: the entries of the cases `cases` (a condition on `e.case_id`) admits that the
    /// audience reads, numbered from the latest (or first) down, with each case's count.
    fn ranked(&self, cases: Expr) -> SelectStatement {
        let direction = match self.seq_order() {
            Order::Asc => "ASC",
            _ => "DESC",
        };
        let mut q = Query::select();
        for c in case_event::Model::COLUMNS {
            q.expr(col("e", c));
        }
        q.expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER (PARTITION BY e.case_id ORDER BY e.seq {direction})"
            )),
            Alias::new("rn"),
        )
        .expr_as(
            self.total("COUNT(*) OVER (PARTITION BY e.case_id)"),
            Alias::new("total"),
        )
        .from_as(Alias::new("case_events"), Alias::new("e"))
        .and_where(cases)
        .cond_where(self.audience.condition.clone());
        q
    }

    /// `count` where the total is shown, a NULL count otherwise.
    fn total(&self, count: &'static str) -> Expr {
        Expr::cust(if self.shown.total {
            count
        } else {
            "CAST(NULL AS BIGINT)"
        })
    }

    /// The order in which a case's entries are taken: from the first, or from the latest.
    fn seq_order(&self) -> Order {
        if self.from_start {
            Order::Asc
        } else {
            Order::Desc
        }
    }

    /// `t` for one case of `page` (PostgreSQL): its `last` latest (or first) entries that the
    /// audience reads, with their names and the case's count of such entries where shown, in
    /// the columns of [`Self::select_entries`].
    fn walked(&self) -> SelectStatement {
        let mut q = Query::select();
        q.from_as(Alias::new("case_events"), Alias::new("e"));
        select_named(&mut q, "e", self.shown);
        q.expr_as(self.total("COUNT(*) OVER ()"), Alias::new("total"))
            .and_where(col("e", "case_id").equals((Alias::new("page"), Alias::new("id"))))
            .cond_where(self.audience.condition.clone())
            .order_by_expr(col("e", "seq"), self.seq_order())
            .limit(u64::from(self.last));
        q
    }

    /// The entry columns, its names and the count over `t` (see [`Self::ranked`]), which the
    /// statement must already read from.
    fn select_entries(&self, q: &mut SelectStatement) {
        select_named(q, "t", self.shown);
        q.expr(col("t", "total"));
    }

    /// The statement that reads the page `page` (a query over `cases`, whose columns come
    /// first) together with the entries each of its cases shows, ordered by `order` (on
    /// `page`) and then by entry: one row per entry, or one with no entry for a case without.
    ///
    /// On PostgreSQL each case's entries are a `LATERAL` walk of its own index, newest (or
    /// oldest) first, that stops after `last` and names only those; elsewhere the entries of
    /// the page's cases are ranked together and cut at `last`.
    pub fn with_page(&self, page: SelectStatement, order: Vec<(Expr, Order)>) -> WithQuery {
        let lateral = self.audience.backend == sea_orm::DatabaseBackend::Postgres;
        let mut q = Query::select();
        q.expr(Expr::cust("page.*"));
        if lateral {
            q.expr(Expr::cust("t.*"))
                .from(Alias::new("page"))
                .join_lateral(
                    JoinType::LeftJoin,
                    self.walked(),
                    Alias::new("t"),
                    Expr::cust("TRUE"),
                );
        } else {
            q.from(Alias::new("page")).join_subquery(
                JoinType::LeftJoin,
                self.ranked(Expr::cust("e.case_id IN (SELECT id FROM page)")),
                Alias::new("t"),
                Condition::all()
                    .add(col("t", "case_id").equals((Alias::new("page"), Alias::new("id"))))
                    .add(Expr::cust(format!("t.rn <= {}", self.last))),
            );
            self.select_entries(&mut q);
        }
        for (key, dir) in order {
            q.order_by_expr(key, dir);
        }
        q.order_by_expr(col("t", "seq"), Order::Asc);
        let mut cte = CommonTableExpression::new();
        cte.query(page).table_name(Alias::new("page"));
        if lateral {
            // Planned on its own, as the page alone would be. Folded into the walk, a generic
            // plan (the limit a parameter) scanned and sorted the whole county for its
            // twenty-one rows: 266 ms a list instead of under one (bench/README.md).
            cte.materialized(true);
        }
        q.with(WithClause::new().cte(cte).to_owned())
    }

    /// Reads the entry of a row of [`Self::with_page`] whose entry columns start at `first`;
    /// `None` on the row of a case without entries.
    pub fn read(
        row: &sea_orm::QueryResult,
        first: usize,
        into: &mut std::collections::HashMap<i64, LatestEntries>,
    ) -> Result<()> {
        if row.try_get_by_index::<Option<i64>>(first)?.is_none() {
            return Ok(());
        }
        let entry = named(row, first)?;
        let latest = into.entry(entry.entry.case_id).or_default();
        latest.total = row.try_get_by_index(first + case_event::Model::COLUMNS.len() + 3)?;
        latest.entries.push(entry);
        Ok(())
    }

    /// The statement of [`latest_entries`]: the ids are bound, in buckets of powers of two so
    /// that lists of similar length share a statement.
    fn for_cases(&self, case_ids: &[i64]) -> SelectStatement {
        let bound = bucketed_ids(case_ids.iter().copied());
        let mut q = Query::select();
        q.from_subquery(
            self.ranked(col("e", "case_id").is_in(bound)),
            Alias::new("t"),
        );
        self.select_entries(&mut q);
        q.and_where(Expr::cust(format!("t.rn <= {}", self.last)))
            .order_by_expr(col("t", "case_id"), Order::Asc)
            .order_by_expr(col("t", "seq"), Order::Asc);
        q
    }
}

/// The latest `last` entries of each case — or, `from_start`, its first ones — for one
/// audience (every entry, or the public ones only), with the names they are shown with, in
/// one statement for all the cases. Either way the entries come oldest first.
pub async fn latest_entries(
    db: &impl ConnectionTrait,
    case_ids: &[i64],
    wanted: &LatestWanted,
) -> Result<std::collections::HashMap<i64, LatestEntries>> {
    let statement = db.get_database_backend().build(&wanted.for_cases(case_ids));
    let rows = db.query_all_raw(statement).await?;
    let mut grouped: std::collections::HashMap<i64, LatestEntries> = Default::default();
    for row in rows {
        LatestWanted::read(&row, 0, &mut grouped)?;
    }
    Ok(grouped)
}

/// One page of a case's timeline after entry `after_seq`, oldest first, with the names it is
/// shown with (one statement), and the audience's number of entries in all (another).
pub async fn timeline_page(
    db: &impl ConnectionTrait,
    case_id: i64,
    audience: &Audience,
    after_seq: i32,
    size: u64,
) -> Result<(Vec<NamedEntry>, u64)> {
    let backend = db.get_database_backend();
    let (page, count) = timeline_statements(case_id, audience, after_seq, size);
    let rows = db.query_all_raw(backend.build(&page)).await?;
    let entries = rows
        .iter()
        .map(|r| named(r, 0))
        .collect::<Result<Vec<_>>>()?;
    let total: i64 = db
        .query_one_raw(backend.build(&count))
        .await?
        .map(|row| row.try_get_by_index(0))
        .transpose()?
        .unwrap_or(0);
    Ok((entries, Ord::max(total, 0) as u64))
}

/// The statements of [`timeline_page`]: the page with its names, and the audience's count.
fn timeline_statements(
    case_id: i64,
    audience: &Audience,
    after_seq: i32,
    size: u64,
) -> (SelectStatement, SelectStatement) {
    let mut page = Query::select();
    page.from_as(Alias::new("case_events"), Alias::new("e"));
    select_named(&mut page, "e", Shown::ALL);
    page.and_where(col("e", "case_id").eq(case_id))
        .and_where(col("e", "seq").gt(after_seq))
        .cond_where(audience.condition.clone())
        .order_by_expr(col("e", "seq"), Order::Asc)
        .limit(size);
    let count = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from_as(Alias::new("case_events"), Alias::new("e"))
        .and_where(col("e", "case_id").eq(case_id))
        .cond_where(audience.condition.clone())
        .to_owned();
    (page, count)
}

/// A timeline entry by id, with its case, when the viewer sees the case and the entry (a
/// petitioner sees public entries only).
pub async fn visible_entry(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, NamedEntry)>> {
    let Some(row) = case_event::Entity::find_by_id(id)
        .filter(case_event::Column::CaseId.in_subquery(visible_ids(viewer)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if !(row.public || viewer.sees_staff_records()) {
        return Ok(None);
    }
    let Some(case) = find_visible(db, viewer, row.case_id).await? else {
        return Ok(None);
    };
    Ok(entry_of_visible_case(db, viewer, &case, row.id)
        .await?
        .map(|e| (case, e)))
}

/// An entry of a case the caller has already found through the viewer's scope, with the
/// names it is shown with.
pub async fn entry_of_visible_case(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    case: &case::Model,
    entry_id: i64,
) -> Result<Option<NamedEntry>> {
    let Some(row) = case_event::Entity::find_by_id(entry_id)
        .filter(case_event::Column::CaseId.eq(case.id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    // The entry itself, if this viewer may read it (a link to a case out of its sight is not).
    let audience = Audience::of(db, viewer, false);
    let (page, _) = timeline_page(db, case.id, &audience, row.seq - 1, 1).await?;
    Ok(page.into_iter().next().filter(|e| e.entry.id == entry_id))
}

/// An extension by id, with its case, when the viewer sees both (petitioners: approved ones).
pub async fn visible_extension(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, extension::Model)>> {
    let mut q = extension::Entity::find_by_id(id)
        .filter(extension::Column::CaseId.in_subquery(visible_ids(viewer)));
    if !viewer.sees_staff_records() {
        q = q.filter(extension::Column::Status.eq(ApprovalStatus::Approved.as_str()));
    }
    with_case(db, viewer, q.one(db).await?, |r| r.case_id).await
}

/// A supervision order by id (staff only), with its case.
pub async fn visible_supervision(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, supervision::Model)>> {
    if !viewer.sees_staff_records() {
        return Ok(None);
    }
    let row = supervision::Entity::find_by_id(id)
        .filter(supervision::Column::CaseId.in_subquery(visible_ids(viewer)))
        .one(db)
        .await?;
    with_case(db, viewer, row, |r| r.case_id).await
}

/// A completion report by id (staff only), with its case.
pub async fn visible_completion_report(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, completion_report::Model)>> {
    if !viewer.sees_staff_records() {
        return Ok(None);
    }
    let row = completion_report::Entity::find_by_id(id)
        .filter(completion_report::Column::CaseId.in_subquery(visible_ids(viewer)))
        .one(db)
        .await?;
    with_case(db, viewer, row, |r| r.case_id).await
}

/// A review request by id, with its case.
pub async fn visible_review(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, review::Model)>> {
    let row = review::Entity::find_by_id(id)
        .filter(review::Column::CaseId.in_subquery(visible_ids(viewer)))
        .one(db)
        .await?;
    with_case(db, viewer, row, |r| r.case_id).await
}

/// A written reply by id, with its case.
pub async fn visible_reply(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, reply::Model)>> {
    let row = reply::Entity::find_by_id(id)
        .filter(reply::Column::CaseId.in_subquery(visible_ids(viewer)))
        .one(db)
        .await?;
    with_case(db, viewer, row, |r| r.case_id).await
}

pub(crate) async fn with_case<T>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    row: Option<T>,
    case_of: impl Fn(&T) -> i64,
) -> Result<Option<(case::Model, T)>> {
    let Some(row) = row else { return Ok(None) };
    Ok(find_visible(db, viewer, case_of(&row))
        .await?
        .map(|case| (case, row)))
}

// ---------------------------------------------------------------------------------------
// Batched by case id: what the nested fields of a list read, one statement per kind for
// the whole page (called by the GraphQL layer's DataLoaders).

/// The records of a case as the domain hands them out.
pub type CaseRecord = case::Model;
pub type AttachmentRecord = xinfang_entity::attachment::Model;
pub type InstructionRecord = xinfang_entity::instruction::Model;
pub type HearingRecord = xinfang_entity::hearing::Model;
pub type OwnershipPlanRecord = xinfang_entity::ownership_plan::Model;
pub type OwnershipProgressRecord = xinfang_entity::ownership_progress::Model;
pub type ReceptionSlotRecord = xinfang_entity::reception_slot::Model;
pub type ReceptionRecord = xinfang_entity::reception::Model;
pub type DisputeReportRecord = xinfang_entity::dispute_report::Model;
pub type DisputeReturnRecord = xinfang_entity::dispute_return::Model;
pub type JointItemRecord = xinfang_entity::joint_item::Model;
pub type JointMeetingRecord = xinfang_entity::joint_meeting::Model;
pub type JointItemPartRecord = xinfang_entity::joint_item_unit::Model;
pub type HotlineTicketRecord = xinfang_entity::hotline_ticket::Model;
pub type WebhookEndpointRecord = xinfang_entity::webhook_endpoint::Model;
pub type WebhookMessageRecord = xinfang_entity::webhook_message::Model;
pub type ExtensionRecord = extension::Model;
pub type ReplyRecord = reply::Model;
pub type ReviewRecord = review::Model;
pub type HigherBodyRecord = xinfang_entity::higher_body::Model;
pub type HigherReferralRecord = xinfang_entity::higher_referral::Model;

/// Higher bodies by id (they are named on records a viewer already sees).
pub async fn higher_bodies_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, HigherBodyRecord>> {
    use xinfang_entity::higher_body;
    let rows = higher_body::Entity::find()
        .filter(higher_body::Column::Id.is_in(bucketed_ids(ids.iter().copied())))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|b| (b.id, b)).collect())
}
pub type SupervisionRecord = supervision::Model;
pub type CompletionReportRecord = completion_report::Model;
pub type ReferralRecord = referral::Model;
pub type EvaluationRecord = evaluation::Model;
pub type PetitionerRecord = case_petitioner::Model;

type ByCase<T> = HashMap<i64, T>;

/// Which of a case's lists [`case_parts`] reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartsWanted {
    pub petitioners: bool,
    pub assisting: bool,
    pub referrals: bool,
}

impl PartsWanted {
    /// How many of the lists are wanted.
    pub fn count(&self) -> usize {
        [self.petitioners, self.assisting, self.referrals]
            .into_iter()
            .filter(|w| *w)
            .count()
    }
}

/// A case's petitioners (in order), assisting units (unit ids, ascending) and referrals
/// (oldest first), for several cases. Every asked-for case has an entry in every wanted list.
#[derive(Clone, Debug, Default)]
pub struct CaseParts {
    pub petitioners: ByCase<Vec<PetitionerRecord>>,
    pub assisting: ByCase<Vec<i64>>,
    pub referrals: ByCase<Vec<ReferralRecord>>,
}

/// The lists [`case_parts`] reads, each a row of its driving table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Petitioners,
    Assisting,
    Referrals,
}

impl Part {
    /// The part's number in the driving table, as SQL.
    fn number(self) -> &'static str {
        match self {
            Part::Petitioners => "1",
            Part::Assisting => "2",
            Part::Referrals => "3",
        }
    }
}

/// The wanted lists of several cases in one statement. A tiny driving table holds one row per
/// wanted list (`part`); each list's table is left-joined to the row of its own part only, so
/// every result row carries one record, in its own prefixed columns (`p_`, `a_`, `r_`), with
/// the columns' own types on both databases (a `UNION` of NULL-padded rows would have to
/// spell out every column's type for PostgreSQL).
pub async fn case_parts(
    db: &impl ConnectionTrait,
    case_ids: &[i64],
    wanted: PartsWanted,
) -> Result<CaseParts> {
    if case_ids.is_empty() || wanted.count() == 0 {
        return Ok(CaseParts::default());
    }
    let ids = PartIds::Values(bucketed_ids(case_ids.iter().copied()));
    let query = parts_query(&ids, wanted);
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    read_parts(&rows, case_ids, wanted)
}

/// Whose lists [`parts_query`] reads: cases by id, or those a subquery names.
pub enum PartIds {
    Values(Vec<i64>),
    Subquery(Box<sea_orm::sea_query::SelectStatement>),
}

/// The statement of [`case_parts`] (see there); `wanted` names at least one list.
fn parts_query(ids: &PartIds, wanted: PartsWanted) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Query, UnionType};
    use sea_orm::{IdenStatic, Iterable};
    let assisting_cols = vec![
        case_unit::Column::CaseId.as_str(),
        case_unit::Column::UnitId.as_str(),
    ];
    let parts: Vec<(Part, &str, &str, Vec<&str>)> = [
        wanted.petitioners.then(|| {
            (
                Part::Petitioners,
                "case_petitioners",
                "p_",
                case_petitioner::Column::iter()
                    .map(|c| c.as_str())
                    .collect(),
            )
        }),
        wanted
            .assisting
            .then_some((Part::Assisting, "case_units", "a_", assisting_cols)),
        wanted.referrals.then(|| {
            (
                Part::Referrals,
                "referrals",
                "r_",
                referral::Column::iter().map(|c| c.as_str()).collect(),
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let k = Alias::new("k");
    let part = Alias::new("part");
    let mut driver = Query::select();
    driver.expr_as(Expr::cust(parts[0].0.number()), part.clone());
    for (n, ..) in &parts[1..] {
        driver.union(
            UnionType::All,
            Query::select().expr(Expr::cust(n.number())).to_owned(),
        );
    }
    let mut query = Query::select();
    query.from_subquery(driver, k.clone());
    for (n, table, prefix, cols) in &parts {
        let t = Alias::new(format!("{prefix}t"));
        let mut on = Condition::all()
            .add(Expr::col((k.clone(), part.clone())).eq(Expr::cust(n.number())))
            .add(match ids {
                PartIds::Values(ids) => {
                    Expr::col((t.clone(), Alias::new("case_id"))).is_in(ids.clone())
                }
                PartIds::Subquery(q) => {
                    Expr::col((t.clone(), Alias::new("case_id"))).in_subquery(q.as_ref().clone())
                }
            });
        // A case's unit rows are of several relations; only the assisting ones are the list.
        if *n == Part::Assisting {
            on = on.add(
                Expr::col((t.clone(), Alias::new("relation"))).eq(UnitRelation::Assisting.as_str()),
            );
        }
        query.join_as(JoinType::LeftJoin, Alias::new(*table), t.clone(), on);
        for col in cols {
            query.expr_as(
                Expr::col((t.clone(), Alias::new(*col))),
                Alias::new(format!("{prefix}{col}")),
            );
        }
    }
    query
}

/// Reads the rows of [`parts_query`] (its columns may follow others): every case of
/// `case_ids` gets an entry in every wanted list, in the lists' orders.
fn read_parts(
    rows: &[sea_orm::QueryResult],
    case_ids: &[i64],
    wanted: PartsWanted,
) -> Result<CaseParts> {
    use sea_orm::FromQueryResult;
    let mut out = CaseParts::default();
    for row in rows {
        if row.try_get::<Option<i64>>("p_", "id")?.is_some() {
            let p = case_petitioner::Model::from_query_result(row, "p_")?;
            out.petitioners.entry(p.case_id).or_default().push(p);
        } else if let Some(case_id) = row.try_get::<Option<i64>>("a_", "case_id")? {
            let unit: i64 = row.try_get("a_", "unit_id")?;
            out.assisting.entry(case_id).or_default().push(unit);
        } else if row.try_get::<Option<i64>>("r_", "id")?.is_some() {
            let r = referral::Model::from_query_result(row, "r_")?;
            out.referrals.entry(r.case_id).or_default().push(r);
        }
    }
    for id in case_ids {
        if wanted.petitioners {
            let list = out.petitioners.entry(*id).or_default();
            list.sort_by_key(|p| (p.position, p.id));
        }
        if wanted.assisting {
            out.assisting.entry(*id).or_default().sort_unstable();
        }
        if wanted.referrals {
            out.referrals.entry(*id).or_default().sort_by_key(|r| r.id);
        }
    }
    Ok(out)
}

/// One case the viewer sees, by `case` (a query over `cases` with the viewer's scope, one row
/// at most), with the lists `wanted` of it, in one statement: the case's columns first, then
/// those of [`parts_query`] for the case `ids` names. `None` when the viewer does not see it.
pub async fn case_with_parts(
    db: &impl ConnectionTrait,
    case: sea_orm::sea_query::SelectStatement,
    ids: PartIds,
    wanted: PartsWanted,
) -> Result<Option<(case::Model, CaseParts)>> {
    use sea_orm::sea_query::{Alias, Asterisk, Expr, JoinType, Query};
    let (c, x) = (Alias::new("c"), Alias::new("x"));
    let query = Query::select()
        .column((c.clone(), Asterisk))
        .column((x.clone(), Asterisk))
        .from_subquery(case, c)
        .join_subquery(
            JoinType::LeftJoin,
            parts_query(&ids, wanted),
            x,
            Expr::cust("TRUE"),
        )
        .to_owned();
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let found = case::Model::from_row(first)?;
    let parts = read_parts(&rows, &[found.id], wanted)?;
    Ok(Some((found, parts)))
}

macro_rules! lists_by_case {
    ($(#[$doc:meta])* $name:ident, $entity:ident) => {
        $(#[$doc])*
        pub async fn $name(
            db: &impl ConnectionTrait,
            case_ids: &[i64],
        ) -> Result<ByCase<Vec<$entity::Model>>> {
            let rows = $entity::Entity::find()
                .filter($entity::Column::CaseId.is_in(bucketed_ids(case_ids.iter().copied())))
                .order_by_asc($entity::Column::Id)
                .all(db)
                .await?;
            let mut out: ByCase<Vec<$entity::Model>> = HashMap::new();
            for row in rows {
                out.entry(row.case_id).or_default().push(row);
            }
            Ok(out)
        }
    };
}

lists_by_case!(
    /// Extension requests of cases, oldest first (all of them; the presenter's sight decides
    /// which a viewer reads).
    extensions_by_case,
    extension
);
lists_by_case!(
    /// Review and re-review requests of cases, oldest first.
    reviews_by_case,
    review
);
lists_by_case!(
    /// Written replies of cases, oldest first: those a review set aside, then the one that
    /// stands (if any).
    replies_by_case,
    reply
);
lists_by_case!(
    /// Links of cases to higher bodies (from above, upward), oldest first.
    higher_referrals_by_case,
    higher_referral
);
lists_by_case!(
    /// Supervision orders of cases, oldest first.
    supervisions_by_case,
    supervision
);
lists_by_case!(
    /// Completion reports of cases, oldest first.
    completion_reports_by_case,
    completion_report
);
lists_by_case!(
    /// Referrals of cases, oldest first.
    referrals_by_case,
    referral
);
lists_by_case!(
    /// Hearings of cases, oldest first (what each viewer reads of one: `hearings::view`).
    hearings_by_case,
    hearing
);
lists_by_case!(
    /// 12345 tickets of cases, oldest first.
    hotline_tickets_by_case,
    hotline_ticket
);
lists_by_case!(
    /// Leaders' instructions on cases, oldest first (staff records: the caller asks
    /// `Viewer::sees_staff_records` first).
    instructions_by_case,
    instruction
);

/// The evaluation of each case that has one.
pub async fn evaluations_by_case(
    db: &impl ConnectionTrait,
    case_ids: &[i64],
) -> Result<ByCase<EvaluationRecord>> {
    let rows = evaluation::Entity::find()
        .filter(evaluation::Column::CaseId.is_in(bucketed_ids(case_ids.iter().copied())))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.case_id, r)).collect())
}

/// One unit's relations to each of several cases.
pub async fn relations_by_case(
    db: &impl ConnectionTrait,
    unit_id: i64,
    case_ids: &[i64],
) -> Result<ByCase<Vec<UnitRelation>>> {
    let rows = case_unit::Entity::find()
        .filter(case_unit::Column::UnitId.eq(unit_id))
        .filter(case_unit::Column::CaseId.is_in(bucketed_ids(case_ids.iter().copied())))
        .all(db)
        .await?;
    let mut out: ByCase<Vec<UnitRelation>> = HashMap::new();
    for row in rows {
        out.entry(row.case_id)
            .or_default()
            .push(UnitRelation::from_db(&row.relation)?);
    }
    Ok(out)
}

/// The cases among `ids` that the viewer may see.
pub async fn visible_cases(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ids: &[i64],
) -> Result<ByCase<CaseRecord>> {
    let rows = case::Entity::find()
        .filter(case::Column::Id.is_in(bucketed_ids(ids.iter().copied())))
        .filter(viewer.case_scope())
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.id, c)).collect())
}

/// The later cases that repeat each of several cases, as far as the viewer may see them,
/// oldest first (at most 100 each).
pub async fn visible_repeats_by_case(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    case_ids: &[i64],
) -> Result<ByCase<Vec<CaseRecord>>> {
    let rows = case::Entity::find()
        .filter(case::Column::RepeatOfId.is_in(bucketed_ids(case_ids.iter().copied())))
        .filter(viewer.case_scope())
        .order_by_asc(case::Column::ReceivedAt)
        .order_by_asc(case::Column::Id)
        .all(db)
        .await?;
    let mut out: ByCase<Vec<CaseRecord>> = HashMap::new();
    for row in rows {
        if let Some(of) = row.repeat_of_id {
            let list = out.entry(of).or_default();
            if list.len() < 100 {
                list.push(row);
            }
        }
    }
    Ok(out)
}

/// An account as records name it: its display name and unit.
#[derive(Clone, Debug)]
pub struct Staff {
    pub name: String,
    pub unit_id: Option<i64>,
}

/// Accounts by id, for the names on records (requester, signer, 包案 leader).
pub async fn staff_by_id(db: &impl ConnectionTrait, ids: &[i64]) -> Result<ByCase<Staff>> {
    let rows = user::Entity::find()
        .filter(user::Column::Id.is_in(bucketed_ids(ids.iter().copied())))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|u| {
            (
                u.id,
                Staff {
                    name: u.display_name,
                    unit_id: u.org_unit_id,
                },
            )
        })
        .collect())
}

/// What a check of one case's record found.
pub struct Integrity {
    pub entries: i32,
    pub broken: Option<crate::audit::BrokenLink>,
}

/// Checks the record of a case the viewer sees, if the viewer may (the petition bureau).
pub async fn check_visible_case(
    db: &impl ConnectionTrait,
    viewer: &crate::access::Viewer,
    case_id: i64,
) -> Result<Integrity> {
    let case = find_visible(db, viewer, case_id)
        .await?
        .ok_or(crate::error::AppError::NotFound("case"))?;
    viewer.require_record_check(&case)?;
    let entries = sea_orm::PaginatorTrait::count(
        case_event::Entity::find().filter(case_event::Column::CaseId.eq(case_id)),
        db,
    )
    .await
    .map(|n| n as i32)?;
    Ok(Integrity {
        entries,
        broken: crate::audit::verify_case(db, case_id).await?,
    })
}

/// An object's opaque global id, as the API writes it (`Case.id`, …): also what webhook
/// messages carry, so a receiver can look the object up.
pub fn global_id(kind: &str, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

#[cfg(test)]
mod tests {
    //! The statements that carry a viewer's audience must not carry the viewer: two accounts
    //! of the same kind send the same text with different values, so each connection prepares
    //! (and, on the read pool, plans) it once rather than once per account.
    use super::*;
    use crate::access::UnitScope;
    use crate::domain::OrgUnitKind;
    use sea_orm::{DatabaseBackend, QuerySelect, QueryTrait};

    /// Staff of unit `unit_id` of county `county_id` (the county unit itself when equal).
    fn staff(
        user_id: i64,
        unit_id: i64,
        county_id: i64,
        kind: OrgUnitKind,
        bureau: bool,
    ) -> Viewer {
        Viewer {
            user_id,
            session_id: String::new(),
            role: Role::Staff,
            unit: Some(UnitScope {
                id: unit_id,
                name: format!("unit {unit_id}"),
                kind,
                county_id: Some(county_id),
                petition_bureau: bureau,
                discipline_body: false,
                path: if unit_id == county_id {
                    format!("/{county_id}/")
                } else {
                    format!("/{county_id}/{unit_id}/")
                },
            }),
        }
    }

    fn petitioner(user_id: i64) -> Viewer {
        Viewer {
            user_id,
            session_id: String::new(),
            role: Role::Petitioner,
            unit: None,
        }
    }

    fn wanted(backend: DatabaseBackend, viewer: &Viewer, public_only: bool) -> LatestWanted {
        LatestWanted {
            audience: Audience::on(backend, viewer, public_only),
            last: 5,
            from_start: false,
            shown: Shown::ALL,
        }
    }

    /// The statements that carry an audience, built for one viewer.
    fn statements(
        backend: DatabaseBackend,
        viewer: &Viewer,
        public_only: bool,
    ) -> Vec<sea_orm::Statement> {
        let page = case::Entity::find()
            .filter(viewer.case_scope())
            .limit(21)
            .into_query();
        let order = vec![(col("page", "id"), Order::Desc)];
        let wanted = wanted(backend, viewer, public_only);
        let (timeline, count) = timeline_statements(7, &wanted.audience, 0, 21);
        vec![
            backend.build(&wanted.with_page(page, order)),
            backend.build(&wanted.for_cases(&[7, 8, 9])),
            backend.build(&timeline),
            backend.build(&count),
        ]
    }

    #[test]
    fn an_audience_binds_the_viewer_instead_of_writing_it_in() {
        use OrgUnitKind::{County, Department, Township};
        // Pairs of accounts of one kind (users 101 and 202, in different units or counties),
        // and whether they read public entries only.
        let pairs = [
            (
                staff(101, 3, 1, Township, false),
                staff(202, 4, 1, Township, false),
                false,
            ),
            (
                staff(101, 2, 1, Department, true),
                staff(202, 12, 11, Department, true),
                false,
            ),
            (
                staff(101, 1, 1, County, false),
                staff(202, 11, 11, County, false),
                false,
            ),
            (petitioner(101), petitioner(202), true),
        ];
        for (one, other, public_only) in &pairs {
            for backend in [DatabaseBackend::Postgres, DatabaseBackend::Sqlite] {
                for (a, b) in statements(backend, one, *public_only)
                    .into_iter()
                    .zip(statements(backend, other, *public_only))
                {
                    assert_eq!(a.sql, b.sql, "{backend:?}: one text for both accounts");
                    assert!(
                        !a.sql.contains("101") && !a.sql.contains("202"),
                        "{}",
                        a.sql
                    );
                    assert_eq!(a.sql.contains("e.public = TRUE"), *public_only, "{}", a.sql);
                    let values = |s: &sea_orm::Statement| format!("{:?}", s.values);
                    assert_ne!(
                        values(&a),
                        values(&b),
                        "{backend:?}: the ids travel as values"
                    );
                }
            }
        }
    }
}
