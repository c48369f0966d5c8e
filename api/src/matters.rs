//! Matters (信访事项) and repeat petitions (重复信访), domain §2 and §7.
//!
//! Every case belongs to exactly one matter. A new case starts a matter of its own; at
//! registration the system *proposes* earlier cases of the same person on the same subject or
//! with a similar title (`repeat_links`, state `PROPOSED`), only among cases the registrant may
//! see. A proposal counts for nothing until the bureau or the lead unit confirms it
//! (`linkRepeat`), which moves the case — and whatever already followed it — into the earlier
//! case's matter; `undoRepeat` takes it out again into a matter of its own. Both carry a reason
//! and are entries on the case's timeline.
//!
//! A matter is read through the viewer's scope: it is visible where one of its cases is, and
//! shows only those cases; its state follows from the cases it shows.

use crate::access::Viewer;
use crate::cases;
use crate::db;
use crate::domain::{CaseStatus, Category, Satisfaction};
use crate::error::{AppError, Result, bad_input};
use crate::workflow::{self, Caller, save, text, unchanged};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::InsertStatement;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use xinfang_entity::kinds::{MatterState, RepeatLinkState};
use xinfang_entity::{backlog_entry, case, case_petitioner, evaluation, matter, repeat_link};

pub use crate::domain::Action;

/// A repeat link as stored.
pub type RepeatLinkRecord = repeat_link::Model;

/// How many of a person's earlier cases the proposal looks through, newest first.
const LOOKBACK: u64 = 2_000;
/// How many proposals one registration records at most (the newest).
const MAX_PROPOSALS: usize = 10;
/// How much of a case's content the similarity check reads.
const CONTENT_SAMPLE: usize = 400;

/// Serialises the changes to a county's matters (links, undoing, reclassifying across the
/// accusation line, backlog listings) on PostgreSQL, where rows of several cases move at once:
/// taken before any case row is locked, so two such changes never wait on each other's rows.
/// SQLite runs one writer at a time already.
pub async fn lock_county(tx: &impl ConnectionTrait, county_id: i64) -> Result<()> {
    if tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        tx.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock(7308460, $1::int)",
            [(county_id as i32).into()],
        ))
        .await?;
    }
    Ok(())
}

/// [`lock_county`] for the county of a case, if the case exists (nothing is read or told).
pub async fn lock_county_of(tx: &impl ConnectionTrait, case_id: i64) -> Result<()> {
    if tx.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    let county: Option<i64> = case::Entity::find_by_id(case_id)
        .select_only()
        .column(case::Column::CountyId)
        .into_tuple()
        .one(tx)
        .await?;
    match county {
        Some(c) => lock_county(tx, c).await,
        None => Ok(()),
    }
}

/// Starts a matter for a new case.
pub async fn start(tx: &impl ConnectionTrait, county_id: i64, now: DateTime<Utc>) -> Result<i64> {
    let mut insert = start_row(county_id, now, None);
    insert.returning_col(matter::Column::Id);
    let row = tx
        .query_one(&insert)
        .await?
        .ok_or_else(|| crate::error::internal("a new matter returned no row"))?;
    Ok(row.try_get("", "id")?)
}

/// The insert that starts a matter, with its id when the caller took one already.
pub fn start_row(county_id: i64, now: DateTime<Utc>, id: Option<i64>) -> InsertStatement {
    matter::Entity::insert(matter::ActiveModel {
        id: id.map_or(NotSet, Set),
        county_id: Set(county_id),
        created_at: Set(now),
    })
    .into_query()
}

/// Who a petition names, for finding the same person's earlier petitions.
#[derive(Default)]
pub struct Identity {
    pub id_numbers: Vec<String>,
    /// (name, phone) of people named without an ID number.
    pub names_and_phones: Vec<(String, String)>,
    pub credit_codes: Vec<String>,
}

impl Identity {
    pub fn is_empty(&self) -> bool {
        self.id_numbers.is_empty()
            && self.names_and_phones.is_empty()
            && self.credit_codes.is_empty()
    }
}

/// Records the system's proposals for a case just registered: earlier cases of the same
/// person (ID number, name and phone, or an organisation's credit code), on the same subject
/// or with a similar title or content, in any state, among the cases `viewer` (the
/// registrant) may see — on the same side of the line between accusations and the rest.
/// Returns how many were proposed.
pub async fn propose(
    tx: &impl ConnectionTrait,
    viewer: &Viewer,
    created: &case::Model,
    who: &Identity,
    now: DateTime<Utc>,
) -> Result<usize> {
    if who.is_empty() {
        return Ok(0);
    }
    let mut same_person = Condition::any();
    if !who.id_numbers.is_empty() {
        same_person =
            same_person.add(case_petitioner::Column::IdNumber.is_in(who.id_numbers.clone()));
    }
    for (name, phone) in &who.names_and_phones {
        same_person = same_person.add(
            Condition::all()
                .add(case_petitioner::Column::Name.eq(name.clone()))
                .add(case_petitioner::Column::Phone.eq(phone.clone())),
        );
    }
    if !who.credit_codes.is_empty() {
        same_person =
            same_person.add(case_petitioner::Column::CreditCode.is_in(who.credit_codes.clone()));
    }
    // Their earlier cases first, by the petitioner indexes; most registrations name someone
    // new and stop here.
    let named: Vec<(i64, String, Option<String>)> = case_petitioner::Entity::find()
        .select_only()
        .column(case_petitioner::Column::CaseId)
        .column(case_petitioner::Column::Name)
        .column(case_petitioner::Column::IdNumber)
        .filter(same_person)
        .filter(case_petitioner::Column::CaseId.ne(created.id))
        .order_by_desc(case_petitioner::Column::CaseId)
        .limit(LOOKBACK)
        .into_tuple()
        .all(tx)
        .await?;
    if named.is_empty() {
        return Ok(0);
    }
    let by_id_number: HashSet<i64> = named
        .iter()
        .filter(|(_, _, idn)| idn.as_ref().is_some_and(|i| who.id_numbers.contains(i)))
        .map(|(id, _, _)| *id)
        .collect();
    let ids: Vec<i64> = named.iter().map(|(id, _, _)| *id).collect();
    let accusation = created.category == Category::Accusation;
    let candidates = case::Entity::find()
        .filter(case::Column::Id.is_in(db::bucketed_ids(ids)))
        .filter(case::Column::CountyId.eq(created.county_id))
        .filter(case::Column::ReceivedAt.lte(created.received_at))
        .filter(if accusation {
            case::Column::Category.eq(Category::Accusation.as_str())
        } else {
            case::Column::Category.ne(Category::Accusation.as_str())
        })
        .filter(viewer.case_scope())
        .order_by_desc(case::Column::ReceivedAt)
        .order_by_desc(case::Column::Id)
        .limit(200)
        .all(tx)
        .await?;
    let mut proposed = 0;
    for earlier in candidates {
        if proposed == MAX_PROPOSALS {
            break;
        }
        let same_subject = earlier.subject == created.subject;
        let similar = similar(&earlier.title, &created.title)
            || similar(sample(&earlier.content), sample(&created.content));
        if !same_subject && !similar {
            continue;
        }
        let mut basis = vec![if by_id_number.contains(&earlier.id) {
            "ID_NUMBER"
        } else if who.credit_codes.is_empty() {
            "NAME_PHONE"
        } else {
            "CREDIT_CODE"
        }];
        if same_subject {
            basis.push("SUBJECT");
        }
        if similar {
            basis.push("SIMILAR_TEXT");
        }
        repeat_link::ActiveModel {
            case_id: Set(created.id),
            earlier_case_id: Set(earlier.id),
            state: Set(RepeatLinkState::Proposed),
            basis: Set(basis.join(" ")),
            proposed_at: Set(Some(now)),
            ..Default::default()
        }
        .insert(tx)
        .await?;
        proposed += 1;
    }
    Ok(proposed)
}

fn sample(text: &str) -> &str {
    match text.char_indices().nth(CONTENT_SAMPLE) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Whether two texts are alike: at least half of the shorter one's character pairs (bigrams)
/// appear in the other, ignoring whitespace and punctuation. Chinese titles are short and
/// carry their meaning in pairs of characters, so this catches "拖欠工资" against "工资被拖欠"
/// without any dictionary.
pub fn similar(a: &str, b: &str) -> bool {
    let pairs = |s: &str| -> HashSet<(char, char)> {
        let chars: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).collect();
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (pa, pb) = (pairs(a), pairs(b));
    let smaller = pa.len().min(pb.len());
    if smaller < 2 {
        return false;
    }
    let shared = pa.intersection(&pb).count();
    shared * 2 >= smaller
}

/// The most cases of one matter shown (per side of the line between accusations and other
/// petitions).
const MATTER_CASES_MAX: i64 = 500;

/// A case of a matter as [`visible_cases`] reads it.
#[derive(Clone, Debug)]
pub struct MatterCase {
    pub case: case::Model,
    /// Among the oldest [`MATTER_CASES_MAX`] of its side, the ones a matter lists. A row past
    /// them is read only because it is its side's latest case or first concluding one.
    pub shown: bool,
    /// How many cases of the matter on the same side the viewer may see.
    pub side_count: i64,
}

/// The cases of some matters the viewer may see, each matter's in the order they were
/// received. Per side of the line between accusations and other petitions (a matter shown
/// from a case keeps to that case's side), at most the oldest [`MATTER_CASES_MAX`] are
/// listed, so a matter with thousands of cases is not read whole; beside them come the side's
/// latest case and its first concluding one, wherever they fall, and the side's count, so
/// the matter's state and counts do not depend on the bound.
pub async fn visible_cases(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    matter_ids: &[i64],
) -> Result<HashMap<i64, Vec<MatterCase>>> {
    use sea_orm::FromQueryResult;
    use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query};
    let col = |name: &'static str| Expr::col((Alias::new("cases"), Alias::new(name)));
    // The SQL form of [`concludes`]; the rows it picks are checked by `concludes` again.
    let concludes_sql = format!(
        "CASE WHEN cases.status = '{finalized}' OR (cases.status = '{closed}' \
         AND cases.replied_at IS NOT NULL AND cases.closed_at >= cases.review_request_by) \
         THEN 1 ELSE 0 END",
        finalized = CaseStatus::Finalized.as_str(),
        closed = CaseStatus::Closed.as_str(),
    );
    let side_sql = format!(
        "CASE WHEN cases.category = '{}' THEN 1 ELSE 0 END",
        Category::Accusation.as_str()
    );
    let seen = Query::select()
        .column((Alias::new("cases"), Asterisk))
        .expr_as(Expr::cust(side_sql), Alias::new("matter_side"))
        .expr_as(Expr::cust(concludes_sql), Alias::new("matter_concludes"))
        .from(Alias::new("cases"))
        .and_where(col("matter_id").is_in(db::bucketed_ids(matter_ids.iter().copied())))
        .cond_where(viewer.case_scope())
        .to_owned();
    let side = "PARTITION BY cases.matter_id, cases.matter_side";
    let ranked = Query::select()
        .column((Alias::new("cases"), Asterisk))
        .expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER ({side} ORDER BY cases.received_at, cases.id)"
            )),
            Alias::new("oldest_rank"),
        )
        .expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER ({side} ORDER BY cases.received_at DESC, cases.id DESC)"
            )),
            Alias::new("newest_rank"),
        )
        .expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER ({side}, cases.matter_concludes \
                 ORDER BY cases.received_at, cases.id)"
            )),
            Alias::new("concludes_rank"),
        )
        .expr_as(
            Expr::cust(format!("COUNT(*) OVER ({side})")),
            Alias::new("side_count"),
        )
        .from_subquery(seen, Alias::new("cases"))
        .to_owned();
    let query = Query::select()
        .column(Asterisk)
        .from_subquery(ranked, Alias::new("cases"))
        .cond_where(
            sea_orm::Condition::any()
                .add(col("oldest_rank").lte(MATTER_CASES_MAX))
                .add(col("newest_rank").eq(1))
                .add(
                    col("matter_concludes")
                        .eq(1)
                        .and(col("concludes_rank").eq(1)),
                ),
        )
        .order_by((Alias::new("cases"), Alias::new("received_at")), Order::Asc)
        .order_by((Alias::new("cases"), Alias::new("id")), Order::Asc)
        .to_owned();
    let mut out: HashMap<i64, Vec<MatterCase>> = HashMap::new();
    for row in db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?
    {
        let case = case::Model::from_query_result(&row, "")?;
        let shown = row.try_get::<i64>("", "oldest_rank")? <= MATTER_CASES_MAX;
        let side_count = row.try_get::<i64>("", "side_count")?;
        if let Some(matter) = case.matter_id {
            out.entry(matter).or_default().push(MatterCase {
                case,
                shown,
                side_count,
            });
        }
    }
    Ok(out)
}

/// How many cases the viewer sees of a matter read by [`visible_cases`] (both sides, or the
/// one side a matter seen from a case keeps to).
pub fn case_count(cases: &[MatterCase]) -> i64 {
    [true, false]
        .into_iter()
        .filter_map(|accusations| {
            cases
                .iter()
                .find(|c| (c.case.category == Category::Accusation) == accusations)
                .map(|c| c.side_count)
        })
        .sum()
}

/// Which of some matters a backlog campaign resolved (化解).
pub async fn resolved_in_campaign(
    db: &impl ConnectionTrait,
    matter_ids: &[i64],
) -> Result<HashMap<i64, bool>> {
    use xinfang_entity::backlog_entry;
    Ok(backlog_entry::Entity::find()
        .filter(backlog_entry::Column::MatterId.is_in(db::bucketed_ids(matter_ids.iter().copied())))
        .filter(
            backlog_entry::Column::Status
                .eq(xinfang_entity::kinds::BacklogStatus::Resolved.as_str()),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|entry| (entry.matter_id, true))
        .collect())
}

/// The case whose end concluded the matter (终结), among the given ones: the earliest that was
/// finalized after re-review, or closed after a written reply once its review window had lapsed
/// with no request (a petitioner satisfied early has not exhausted the path: that matter is
/// resolved, not concluded).
pub fn concluding_case(cases: &[case::Model]) -> Option<&case::Model> {
    cases.iter().find(|c| concludes(c))
}

/// Whether a case's end concludes its matter.
pub fn concludes(c: &case::Model) -> bool {
    let window_lapsed = match (c.closed_at, c.review_request_by) {
        (Some(closed), Some(by)) => closed >= by,
        _ => false,
    };
    c.status == CaseStatus::Finalized
        || (c.status == CaseStatus::Closed && c.replied_at.is_some() && window_lapsed)
}

/// The state of a matter as these (visible) cases show it: resolved when a backlog campaign
/// resolved it, or when its latest case closed with the petitioner satisfied (its
/// `latest_evaluation`); concluded when one of the cases concluded it; else open.
pub fn state(
    cases: &[case::Model],
    resolved_in_campaign: bool,
    latest_evaluation: Option<&evaluation::Model>,
) -> MatterState {
    let Some(latest) = cases.last() else {
        return MatterState::Open;
    };
    if resolved_in_campaign {
        return MatterState::Resolved;
    }
    let satisfied = latest_evaluation.is_some_and(|e| e.satisfaction != Satisfaction::Dissatisfied);
    if latest.status == CaseStatus::Closed && satisfied {
        return MatterState::Resolved;
    }
    if concluding_case(cases).is_some() {
        MatterState::Concluded
    } else {
        MatterState::Open
    }
}

/// The most links of one case read (its newest).
const LINKS_MAX: i64 = 50;

/// The repeat links of cases the viewer sees (as the later case): of each case's newest
/// [`LINKS_MAX`], those where the viewer may also see the earlier case and read the link
/// between the two, newest first.
pub async fn visible_links(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    later: &[case::Model],
) -> Result<HashMap<i64, Vec<repeat_link::Model>>> {
    use sea_orm::FromQueryResult;
    use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, WindowStatement};
    let links = || Alias::new("repeat_links");
    let col = |name: &'static str| Expr::col((links(), Alias::new(name)));
    let mut window = WindowStatement::partition_by((links(), Alias::new("case_id")));
    window.order_by((links(), Alias::new("id")), Order::Desc);
    let ranked = Query::select()
        .column((links(), Asterisk))
        .expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new("link_rank"))
        .from(links())
        .and_where(col("case_id").is_in(db::bucketed_ids(later.iter().map(|c| c.id))))
        .to_owned();
    let query = Query::select()
        .column(Asterisk)
        .from_subquery(ranked, links())
        .and_where(col("link_rank").lte(LINKS_MAX))
        .order_by((links(), Alias::new("id")), Order::Desc)
        .to_owned();
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?
        .iter()
        .map(|row| repeat_link::Model::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let earlier: HashMap<i64, case::Model> = case::Entity::find()
        .filter(case::Column::Id.is_in(db::bucketed_ids(rows.iter().map(|r| r.earlier_case_id))))
        .filter(viewer.case_scope())
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let mut out: HashMap<i64, Vec<repeat_link::Model>> = HashMap::new();
    for row in rows {
        let Some(case) = later.iter().find(|c| c.id == row.case_id) else {
            continue;
        };
        let readable = earlier
            .get(&row.earlier_case_id)
            .is_some_and(|e| cases::link_readable(case, e));
        if readable {
            out.entry(case.id).or_default().push(row);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Confirming and undoing links

/// 确认重复信访: the bureau or the lead unit of `case_id` confirms it as a repeat of
/// `earlier_id` — a proposal, or a link made by hand — with a reason. The case, and every case
/// that already followed it, joins the earlier case's matter.
pub async fn link(
    caller: &Caller<'_>,
    case_id: i64,
    earlier_id: i64,
    expected_version: i32,
    reason: &str,
) -> Result<case::Model> {
    text("reason", reason)?;
    let open = workflow::open(caller, case_id, Action::LinkRepeat, Some(expected_version)).await?;
    let case = open.case.clone();
    if let Some(existing) = case.repeat_of_id {
        // Named only to one who sees the case it repeats.
        let seen = cases::find_visible(&open.tx, caller.viewer, existing)
            .await?
            .is_some_and(|e| cases::link_readable(&case, &e));
        return Err(bad_input(
            "caseId",
            if seen {
                format!(
                    "case {} is already confirmed as a repeat; undo that link first (undoRepeat)",
                    case.number
                )
            } else {
                format!(
                    "case {} cannot be linked by your unit now; ask the petition bureau",
                    case.number
                )
            },
        ));
    }
    if earlier_id == case.id {
        return Err(bad_input("earlierCaseId", "a case cannot repeat itself"));
    }
    let earlier = cases::find_visible(&open.tx, caller.viewer, earlier_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    if !cases::link_readable(&case, &earlier) {
        return Err(bad_input(
            "earlierCaseId",
            "an accusation and an ordinary petition are never one matter",
        ));
    }
    if earlier.county_id != case.county_id {
        return Err(bad_input(
            "earlierCaseId",
            "the earlier case belongs to another county",
        ));
    }
    if (earlier.received_at, earlier.id) > (case.received_at, case.id) {
        return Err(bad_input(
            "earlierCaseId",
            format!(
                "{} was received after {}; link the later case to the earlier one",
                earlier.number, case.number
            ),
        ));
    }
    // The lead unit answers for the later case and must be able to see what it repeats (a
    // link would otherwise show it, on its own case, a petition out of its sight — an
    // accusation against it, say). Only one who sees both cases reads this refusal.
    if case.lead_unit_id != caller.viewer.unit.as_ref().map_or(0, |u| u.id) {
        let lead = crate::identity::find_unit(&open.tx, case.lead_unit_id).await?;
        let lead_viewer =
            Viewer::standing_for(crate::auth::unit_scope(&lead)?, crate::domain::Role::Staff);
        if cases::find_visible(&open.tx, &lead_viewer, earlier.id)
            .await?
            .is_none()
        {
            return Err(bad_input(
                "earlierCaseId",
                format!(
                    "{} leads {} and may not see {}; they cannot be linked while it leads",
                    lead.name, case.number, earlier.number
                ),
            ));
        }
    }
    let from_matter = matter_of(&case);
    let to_matter = matter_of(&earlier);
    if from_matter == to_matter {
        return Err(bad_input(
            "earlierCaseId",
            format!(
                "{} and {} are already one matter",
                earlier.number, case.number
            ),
        ));
    }
    // A backlog entry follows its matter; the same campaign cannot list the merged matter twice.
    let listed: Vec<(i64, i64)> = backlog_entry::Entity::find()
        .select_only()
        .column(backlog_entry::Column::CampaignId)
        .column(backlog_entry::Column::MatterId)
        .filter(backlog_entry::Column::MatterId.is_in([from_matter, to_matter]))
        .into_tuple()
        .all(&open.tx)
        .await?;
    let campaigns_of = |m: i64| -> HashSet<i64> {
        listed
            .iter()
            .filter(|(_, x)| *x == m)
            .map(|(c, _)| *c)
            .collect()
    };
    if !campaigns_of(from_matter).is_disjoint(&campaigns_of(to_matter)) {
        return Err(bad_input(
            "earlierCaseId",
            "both matters are listed in the same backlog campaign; the bureau settles that first",
        ));
    }
    backlog_entry::Entity::update_many()
        .col_expr(backlog_entry::Column::MatterId, to_matter.into())
        .filter(backlog_entry::Column::MatterId.eq(from_matter))
        .exec(&open.tx)
        .await?;
    // The case is the first of its matter (it repeats nothing), so its whole matter follows it.
    case::Entity::update_many()
        .col_expr(case::Column::MatterId, to_matter.into())
        .filter(case::Column::MatterId.eq(from_matter))
        .filter(case::Column::Id.ne(case.id))
        .exec(&open.tx)
        .await?;
    decide_link(
        &open.tx,
        caller,
        &case,
        earlier.id,
        RepeatLinkState::Confirmed,
        reason,
        open.now,
    )
    .await?;
    let mut changes = unchanged();
    changes.repeat_of_id = Set(Some(earlier.id));
    changes.matter_id = Set(Some(to_matter));
    let detail = json!({ "reason": reason, "repeatOfId": earlier.id });
    save(open, changes, "LINK_REPEAT", detail, false).await
}

/// 撤销重复信访关联: the bureau or the lead unit undoes a confirmed link, with a reason. The
/// case, and whatever followed it, becomes a matter of its own again.
pub async fn undo(
    caller: &Caller<'_>,
    case_id: i64,
    expected_version: i32,
    reason: &str,
) -> Result<case::Model> {
    text("reason", reason)?;
    let open = workflow::open(caller, case_id, Action::UndoRepeat, Some(expected_version)).await?;
    let case = open.case.clone();
    // A link to a case out of the actor's sight is no link to it (the refusal reads the same).
    let earlier = match case.repeat_of_id {
        Some(id) => cases::find_visible(&open.tx, caller.viewer, id).await?,
        None => None,
    };
    let Some(earlier) = earlier.filter(|e| cases::link_readable(&case, e)) else {
        return Err(bad_input(
            "caseId",
            format!(
                "case {} is not linked as a repeat of a case you can see",
                case.number
            ),
        ));
    };
    if case.not_acceptable {
        return Err(bad_input(
            "caseId",
            format!(
                "case {} was declined as 不再受理 on this matter's conclusion; the link stands with that decision",
                case.number
            ),
        ));
    }
    let new_matter = detach(&open.tx, &case, open.now).await?;
    decide_link(
        &open.tx,
        caller,
        &case,
        earlier.id,
        RepeatLinkState::Undone,
        reason,
        open.now,
    )
    .await?;
    let mut changes = unchanged();
    changes.repeat_of_id = Set(None);
    changes.matter_id = Set(Some(new_matter));
    let detail = json!({ "reason": reason, "repeatOfId": earlier.id });
    save(open, changes, "UNDO_REPEAT", detail, false).await
}

/// Whether any case is confirmed as a repeat of this one.
pub async fn has_followers(tx: &impl ConnectionTrait, case_id: i64) -> Result<bool> {
    Ok(case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(case::Column::RepeatOfId.eq(case_id))
        .into_tuple::<i64>()
        .one(tx)
        .await?
        .is_some())
}

/// A case's matter (cases registered before matters existed were given one of the same id).
pub fn matter_of(case: &case::Model) -> i64 {
    case.matter_id.unwrap_or(case.id)
}

/// Moves a case and every case that followed it by confirmed links into a new matter, and
/// returns it. The case's own row is left for the caller to update (with its version).
pub async fn detach(
    tx: &impl ConnectionTrait,
    case: &case::Model,
    now: DateTime<Utc>,
) -> Result<i64> {
    let members: Vec<(i64, Option<i64>)> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .column(case::Column::RepeatOfId)
        .filter(case::Column::MatterId.eq(matter_of(case)))
        .into_tuple()
        .all(tx)
        .await?;
    let mut followers: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, of) in &members {
        if let Some(of) = of {
            followers.entry(*of).or_default().push(*id);
        }
    }
    let mut moving = vec![];
    let mut stack = followers.get(&case.id).cloned().unwrap_or_default();
    while let Some(id) = stack.pop() {
        moving.push(id);
        stack.extend(followers.get(&id).cloned().unwrap_or_default());
    }
    let new_matter = start(tx, case.county_id, now).await?;
    if !moving.is_empty() {
        case::Entity::update_many()
            .col_expr(case::Column::MatterId, new_matter.into())
            .filter(case::Column::Id.is_in(db::bucketed_ids(moving)))
            .exec(tx)
            .await?;
    }
    Ok(new_matter)
}

/// Writes a link's new state (creating the row for a link made by hand).
async fn decide_link(
    tx: &impl ConnectionTrait,
    caller: &Caller<'_>,
    case: &case::Model,
    earlier_id: i64,
    state: RepeatLinkState,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let existing = repeat_link::Entity::find()
        .filter(repeat_link::Column::CaseId.eq(case.id))
        .filter(repeat_link::Column::EarlierCaseId.eq(earlier_id))
        .one(tx)
        .await?;
    let mut row: repeat_link::ActiveModel = match existing {
        Some(row) => row.into(),
        None => repeat_link::ActiveModel {
            case_id: Set(case.id),
            earlier_case_id: Set(earlier_id),
            basis: Set("MANUAL".into()),
            proposed_at: Set(None),
            ..Default::default()
        },
    };
    row.state = Set(state);
    row.reason = Set(Some(reason.to_string()));
    row.decided_by_user_id = Set(Some(caller.viewer.user_id));
    row.decided_by_unit_id = Set(caller.viewer.unit.as_ref().map(|u| u.id));
    row.decided_at = Set(Some(now));
    row.save(tx).await?;
    Ok(())
}

/// A confirmed link dropped by a reclassification across the line between accusations and
/// the rest: the link is undone and the case leaves the matter. Returns the new matter.
pub async fn drop_on_reclassify(
    tx: &impl ConnectionTrait,
    caller: &Caller<'_>,
    case: &case::Model,
    now: DateTime<Utc>,
) -> Result<i64> {
    let new_matter = detach(tx, case, now).await?;
    if let Some(earlier) = case.repeat_of_id {
        decide_link(
            tx,
            caller,
            case,
            earlier,
            RepeatLinkState::Undone,
            "reclassified across the line between accusations and other petitions",
            now,
        )
        .await?;
    }
    Ok(new_matter)
}

#[cfg(test)]
mod tests {
    use super::similar;

    #[test]
    fn similar_titles_share_half_their_character_pairs() {
        assert!(similar("拖欠农民工工资", "农民工工资被拖欠"));
        assert!(similar("反映某小区噪音扰民", "某小区噪音扰民问题"));
        assert!(!similar("拖欠农民工工资", "土地征收补偿标准"));
        assert!(!similar("工", "工"), "one character is no evidence");
    }
}
