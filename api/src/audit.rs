//! The append-only, hash-chained record of every action on a case.
//!
//! Each entry stores the SHA-256 of its own content together with the hash of the entry
//! before it (of the same case), so changing or removing any entry breaks every link after
//! it. [`verify_case`] walks a case's chain and reports the first broken link.
//!
//! Every entry is linked a second time into its county's chain ([`verify_counties`]), so a
//! case removed whole breaks a link as well. The link is made just after the entry's
//! transaction commits ([`link_pending`]), so that the writers of a county do not queue for
//! the county's head. Neither chain can show that its newest links
//! were cut, or that someone with write access rebuilt it: that is what [`checkpoint`] is
//! for — the heads of every chain, signed with a key the database does not hold, and kept
//! outside it too (the log, a file), which [`verify_checkpoints`] holds the chains against.

use crate::auth::sha256_hex;
use crate::error::{Result, internal};
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Alias, Asterisk, CommonTableExpression, Expr, Query, WithClause};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QueryTrait, Set,
};
use xinfang_entity::{admin_event, audit_checkpoint, case_event, chain_pending, county_chain};

pub use xinfang_migration::{GENESIS, county_link_hash};

/// Who did something: the account and the unit it acted for (none for a petitioner).
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub unit_id: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev: &str,
    case_id: i64,
    seq: i32,
    at: DateTime<Utc>,
    actor: Actor,
    action: &str,
    detail: &str,
    public: bool,
) -> String {
    let content = format!(
        "{prev}\n{case_id}\n{seq}\n{}\n{}\n{}\n{action}\n{detail}\n{public}",
        at.to_rfc3339_opts(SecondsFormat::Millis, true),
        actor.user_id.map(|v| v.to_string()).unwrap_or_default(),
        actor.unit_id.map(|v| v.to_string()).unwrap_or_default(),
    );
    sha256_hex(content.as_bytes())
}

/// Appends an entry to a case's timeline, inside the caller's transaction, and marks it for
/// its county's chain ([`link_pending`] links it once the transaction has committed). The
/// writers of a county take no common lock: each waits only for its own commit.
#[allow(clippy::too_many_arguments)]
pub async fn append(
    tx: &impl ConnectionTrait,
    county_id: i64,
    case_id: i64,
    at: DateTime<Utc>,
    actor: Actor,
    action: &str,
    detail: serde_json::Value,
    public: bool,
) -> Result<case_event::Model> {
    let last = case_event::Entity::find()
        .filter(case_event::Column::CaseId.eq(case_id))
        .order_by_desc(case_event::Column::Seq)
        .one(tx)
        .await?;
    let entry = NewEntry {
        county_id,
        case_id,
        at,
        actor,
        action,
        detail,
        public,
    };
    write_entry(tx, last.map(|e| (e.seq, e.hash)), entry).await
}

/// What a timeline entry says, before it is chained.
pub struct NewEntry<'a> {
    pub county_id: i64,
    pub case_id: i64,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: &'a str,
    pub detail: serde_json::Value,
    pub public: bool,
}

/// The first entry of a case inserted in the caller's transaction, whose timeline is known to
/// be empty: [`append`] without asking for the last entry.
pub async fn open_timeline(
    tx: &impl ConnectionTrait,
    entry: NewEntry<'_>,
) -> Result<case_event::Model> {
    write_entry(tx, None, entry).await
}

/// Writes an entry after `after` (the timeline's last entry's seq and hash; none for the first)
/// and marks it for its county's chain.
async fn write_entry(
    tx: &impl ConnectionTrait,
    after: Option<(i32, String)>,
    entry: NewEntry<'_>,
) -> Result<case_event::Model> {
    let (seq, prev) = match after {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let detail = entry.detail.to_string();
    let hash = entry_hash(
        &prev,
        entry.case_id,
        seq,
        entry.at,
        entry.actor,
        entry.action,
        &detail,
        entry.public,
    );
    let row = case_event::ActiveModel {
        case_id: Set(entry.case_id),
        seq: Set(seq),
        at: Set(entry.at),
        actor_user_id: Set(entry.actor.user_id),
        actor_unit_id: Set(entry.actor.unit_id),
        action: Set(entry.action.to_string()),
        detail: Set(detail),
        public: Set(entry.public),
        prev_hash: Set(prev),
        hash: Set(hash),
        ..Default::default()
    };
    if tx.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        let written = row.insert(tx).await?;
        chain_pending::ActiveModel {
            event_id: Set(written.id),
            county_id: Set(entry.county_id),
        }
        .insert(tx)
        .await?;
        return Ok(written);
    }
    // On PostgreSQL the entry and its mark go in by one statement.
    let (written, mark) = (Alias::new("written"), Alias::new("mark"));
    let mut insert = case_event::Entity::insert(row).into_query();
    insert.returning_all();
    let mut marks = Query::insert();
    marks
        .into_table(chain_pending::Entity)
        .columns([
            chain_pending::Column::EventId,
            chain_pending::Column::CountyId,
        ])
        .select_from(
            Query::select()
                .column(case_event::Column::Id)
                .expr(Expr::val(entry.county_id))
                .from(written.clone())
                .to_owned(),
        )
        .map_err(|e| internal(e.to_string()))?;
    let query = WithClause::new()
        .cte(
            CommonTableExpression::new()
                .query(insert)
                .table_name(written.clone())
                .to_owned(),
        )
        .cte(
            CommonTableExpression::new()
                .query(marks)
                .table_name(mark)
                .to_owned(),
        )
        .to_owned()
        .query(Query::select().column(Asterisk).from(written).to_owned());
    let found = tx
        .query_one(&query)
        .await?
        .ok_or_else(|| internal("a timeline entry returned no row"))?;
    Ok(case_event::Model::from_query_result(&found, "")?)
}

/// Takes the county's timeline lock for the rest of the transaction (PostgreSQL; SQLite has one
/// writer anyway). Taking it again in the same transaction is free.
async fn lock_county_chain(tx: &impl ConnectionTrait, county_id: i64) -> Result<()> {
    if tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        tx.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock(7308459, $1::int)",
            [(county_id as i32).into()],
        ))
        .await?;
    }
    Ok(())
}

/// How many entries the linker takes at once.
const LINK_BATCH: u64 = 500;

/// The marks of entries awaiting their link whose entry still exists: what [`link_pending`]
/// has to do. The entry is looked up by a scalar subquery, which PostgreSQL runs as one index
/// probe per mark and never turns into a join: as a join, a planner that believed the queue
/// long (its statistics are seldom current) merged it with the whole timeline index from the
/// oldest entry up to the newest marks, some 200 ms per round at 650,000 entries.
const LINKABLE: &str = "FROM chain_pending q \
     WHERE (SELECT x.id FROM case_events x WHERE x.id = q.event_id) IS NOT NULL";

/// Links the entries awaiting their county link ([`append`]), in transactions of up to
/// [`LINK_BATCH`] entries, until none is left; returns how many it linked.
///
/// Each county's head is read under the county's lock (PostgreSQL), taken only for the
/// link itself, so linkers of several processes link one after the other. The rows a linker
/// has taken are skipped by the others — unless `wait`, which a checkpoint uses: it waits for
/// the other linkers to finish with their rows, so that every entry committed before it is
/// linked when it reads the heads. One commit links a whole batch: the busier the county,
/// the more entries each wait for the disk covers.
pub async fn link_pending(db: &sea_orm::DatabaseConnection, wait: bool) -> Result<usize> {
    use sea_orm::Statement;
    // Nothing to link takes no write lock (SQLite has one for the whole database).
    let anything = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT 1 {LINKABLE} ORDER BY q.event_id LIMIT 1"),
        ))
        .await?;
    if anything.is_none() {
        return Ok(0);
    }
    let mut linked = 0;
    loop {
        let tx = crate::db::begin_write(db).await?;
        let taken = link_batch(&tx, wait).await?;
        tx.commit().await?;
        linked += taken;
        if (taken as u64) < LINK_BATCH {
            return Ok(linked);
        }
    }
}

async fn link_batch(tx: &impl ConnectionTrait, wait: bool) -> Result<usize> {
    use sea_orm::Statement;
    let backend = tx.get_database_backend();
    let lock = match (backend, wait) {
        (sea_orm::DatabaseBackend::Postgres, false) => " FOR UPDATE OF q SKIP LOCKED",
        (sea_orm::DatabaseBackend::Postgres, true) => " FOR UPDATE OF q",
        _ => "",
    };
    // An entry that has a link already (which the server never makes) only loses its mark:
    // linking it again would break the one-link-per-entry rule and stop every later batch.
    // The batch's marks first (at most LINK_BATCH, locked), then their entries by id.
    let sql = format!(
        "SELECT p.event_id, p.county_id, e.case_id, e.seq, e.hash, \
         EXISTS (SELECT 1 FROM county_chain l WHERE l.case_id = e.case_id AND l.case_seq = e.seq) \
         FROM (SELECT q.event_id, q.county_id {LINKABLE} \
         ORDER BY q.event_id LIMIT {LINK_BATCH}{lock}) p \
         JOIN case_events e ON e.id = p.event_id ORDER BY p.event_id"
    );
    let rows = tx
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    // County by county, in id order, so two linkers never wait for each other crosswise.
    // Within a county, a batch links in the order the entries were written; two batches of
    // different processes may interleave.
    let mut by_county: std::collections::BTreeMap<i64, Vec<(i64, i64, i32, String)>> =
        Default::default();
    let mut done = vec![];
    for r in &rows {
        let event_id: i64 = r.try_get_by_index(0)?;
        done.push(event_id);
        if r.try_get_by_index::<bool>(5)? {
            continue;
        }
        let county_id: i64 = r.try_get_by_index(1)?;
        by_county.entry(county_id).or_default().push((
            event_id,
            r.try_get_by_index(2)?,
            r.try_get_by_index(3)?,
            r.try_get_by_index(4)?,
        ));
    }
    for (county_id, entries) in by_county {
        lock_county_chain(tx, county_id).await?;
        let last = county_chain::Entity::find()
            .filter(county_chain::Column::CountyId.eq(county_id))
            .order_by_desc(county_chain::Column::Seq)
            .one(tx)
            .await?;
        let (mut seq, mut prev) = match last {
            Some(l) => (l.seq, l.hash),
            None => (0, GENESIS.to_string()),
        };
        let mut links = vec![];
        for (_, case_id, case_seq, entry_hash) in entries {
            seq += 1;
            let hash = county_link_hash(&prev, county_id, seq, case_id, case_seq, &entry_hash);
            links.push(county_chain::ActiveModel {
                county_id: Set(county_id),
                seq: Set(seq),
                case_id: Set(case_id),
                case_seq: Set(case_seq),
                entry_hash: Set(entry_hash),
                prev_hash: Set(prev),
                hash: Set(hash.clone()),
                ..Default::default()
            });
            prev = hash;
        }
        county_chain::Entity::insert_many(links).exec(tx).await?;
    }
    if !done.is_empty() {
        chain_pending::Entity::delete_many()
            .filter(chain_pending::Column::EventId.is_in(crate::db::bucketed_ids(done)))
            .exec(tx)
            .await?;
    }
    Ok(rows.len())
}

/// The first entry (by sequence number) whose link or content does not check out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i32,
    pub reason: String,
}

/// Re-computes a case's chain; `None` when every entry is intact and none is missing.
///
/// Every change to a case bumps its version and appends exactly one entry, in one
/// transaction (`workflow::save`, and registration at version 1), so a case has as many
/// entries as its version says: entries cut from the end of a chain — which leaves every
/// remaining link intact — show up as a version ahead of its record.
pub async fn verify_case(db: &impl ConnectionTrait, case_id: i64) -> Result<Option<BrokenLink>> {
    let entries = case_event::Entity::find()
        .filter(case_event::Column::CaseId.eq(case_id))
        .order_by_asc(case_event::Column::Seq)
        .all(db)
        .await?;
    let version = xinfang_entity::case::Entity::find_by_id(case_id)
        .one(db)
        .await?
        .map(|c| c.version);
    if let Some(version) = version
        && version as usize != entries.len()
    {
        return Ok(Some(BrokenLink {
            seq: entries.len() as i32 + 1,
            reason: format!(
                "the case is at version {version} but its record holds {} entries: entries were removed",
                entries.len()
            ),
        }));
    }
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i32 + 1;
        if e.seq != expected_seq {
            return Ok(Some(BrokenLink {
                seq: expected_seq,
                reason: "an entry is missing".into(),
            }));
        }
        if e.prev_hash != prev {
            return Ok(Some(BrokenLink {
                seq: e.seq,
                reason: "the link to the previous entry is broken".into(),
            }));
        }
        let actor = Actor {
            user_id: e.actor_user_id,
            unit_id: e.actor_unit_id,
        };
        if entry_hash(
            &prev, e.case_id, e.seq, e.at, actor, &e.action, &e.detail, e.public,
        ) != e.hash
        {
            return Ok(Some(BrokenLink {
                seq: e.seq,
                reason: "the entry's content was changed".into(),
            }));
        }
        prev = e.hash.clone();
    }
    Ok(None)
}

/// Verifies every case's chain: how many cases were checked, and (number, first broken link)
/// for each broken one.
pub async fn verify_all(db: &impl ConnectionTrait) -> Result<(usize, Vec<(String, BrokenLink)>)> {
    let cases = xinfang_entity::case::Entity::find()
        .order_by_asc(xinfang_entity::case::Column::Id)
        .all(db)
        .await?;
    let mut broken = vec![];
    for c in &cases {
        if let Some(link) = verify_case(db, c.id).await? {
            broken.push((c.number.clone(), link));
        }
    }
    // Entries whose case is gone: the case was deleted, and with it what `verify_case` would
    // have checked.
    let known: std::collections::HashSet<i64> = cases.iter().map(|c| c.id).collect();
    let orphans: std::collections::BTreeSet<i64> = case_event::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.case_id)
        .filter(|id| !known.contains(id))
        .collect();
    for id in orphans {
        broken.push((
            format!("case #{id}"),
            BrokenLink {
                seq: 0,
                reason: "the record has entries of a case that no longer exists".into(),
            },
        ));
    }
    Ok((cases.len(), broken))
}

// ---------------------------------------------------------------------------------------
// The administrative record: one chain for the whole database.

/// What an administrative action was about, for the record.
pub struct AdminAction<'a> {
    pub action: &'a str,
    /// The unit the action concerns (an administrator reads their subtree's entries).
    pub unit_id: Option<i64>,
    /// What was acted on, e.g. `User:12`.
    pub target: String,
    /// What changed — never a password.
    pub detail: serde_json::Value,
}

#[allow(clippy::too_many_arguments)]
fn admin_hash(
    prev: &str,
    seq: i64,
    at: DateTime<Utc>,
    actor: Actor,
    action: &str,
    unit_id: Option<i64>,
    target: &str,
    detail: &str,
) -> String {
    let content = format!(
        "{prev}\n{seq}\n{}\n{}\n{}\n{action}\n{}\n{target}\n{detail}",
        at.to_rfc3339_opts(SecondsFormat::Millis, true),
        actor.user_id.map(|v| v.to_string()).unwrap_or_default(),
        actor.unit_id.map(|v| v.to_string()).unwrap_or_default(),
        unit_id.map(|v| v.to_string()).unwrap_or_default(),
    );
    sha256_hex(content.as_bytes())
}

/// Appends an administrative action to the record, inside the caller's transaction. On
/// PostgreSQL the chain's head is taken under a transaction-scoped advisory lock, so
/// concurrent administrators append one after the other (SQLite has one writer anyway).
pub async fn append_admin(
    tx: &impl ConnectionTrait,
    at: DateTime<Utc>,
    actor: Actor,
    what: AdminAction<'_>,
) -> Result<admin_event::Model> {
    if tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        tx.execute_unprepared("SELECT pg_advisory_xact_lock(7308458)")
            .await?;
    }
    let last = admin_event::Entity::find()
        .order_by_desc(admin_event::Column::Seq)
        .one(tx)
        .await?;
    let (seq, prev) = match &last {
        Some(e) => (e.seq + 1, e.hash.clone()),
        None => (1, GENESIS.to_string()),
    };
    let detail = what.detail.to_string();
    let hash = admin_hash(
        &prev,
        seq,
        at,
        actor,
        what.action,
        what.unit_id,
        &what.target,
        &detail,
    );
    Ok(admin_event::ActiveModel {
        seq: Set(seq),
        at: Set(at),
        actor_user_id: Set(actor.user_id),
        actor_unit_id: Set(actor.unit_id),
        action: Set(what.action.to_string()),
        unit_id: Set(what.unit_id),
        target: Set(what.target),
        detail: Set(detail),
        prev_hash: Set(prev),
        hash: Set(hash),
        ..Default::default()
    }
    .insert(tx)
    .await?)
}

/// Re-computes the administrative chain: its length, and the first entry whose link,
/// content or sequence number does not check out.
pub async fn verify_admin(db: &impl ConnectionTrait) -> Result<(usize, Option<BrokenLink>)> {
    let entries = admin_event::Entity::find()
        .order_by_asc(admin_event::Column::Seq)
        .all(db)
        .await?;
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        let broken = |reason: &str| {
            Some(BrokenLink {
                seq: e.seq as i32,
                reason: reason.to_string(),
            })
        };
        if e.seq != expected_seq {
            return Ok((entries.len(), broken("an entry before this one is missing")));
        }
        if e.prev_hash != prev {
            return Ok((
                entries.len(),
                broken("the link to the previous entry is broken"),
            ));
        }
        let actor = Actor {
            user_id: e.actor_user_id,
            unit_id: e.actor_unit_id,
        };
        let hash = admin_hash(
            &e.prev_hash,
            e.seq,
            e.at,
            actor,
            &e.action,
            e.unit_id,
            &e.target,
            &e.detail,
        );
        if hash != e.hash {
            return Ok((
                entries.len(),
                broken("the entry was changed after it was written"),
            ));
        }
        prev = e.hash.clone();
    }
    Ok((entries.len(), None))
}

// ---------------------------------------------------------------------------------------
// The county chains.

/// What [`verify_counties`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountyReport {
    /// Links checked.
    pub links: usize,
    /// Each broken county chain's first broken link.
    pub broken: Vec<CountyBreak>,
    /// Entries still awaiting their link (a running server links them within moments).
    pub awaiting: usize,
}

/// A county chain's first broken link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountyBreak {
    pub county_id: i64,
    pub seq: i64,
    pub reason: String,
}

/// Re-computes every county's chain against the timeline: how many links were checked, and
/// the first broken link of each county whose chain does not check out — a link missing or
/// altered, a link whose entry is gone or changed, an entry no link covers (written around
/// the server), or an entry removed while it awaited its link. Entries awaiting their link
/// ([`link_pending`]) are not breaks.
pub async fn verify_counties(db: &impl ConnectionTrait) -> Result<CountyReport> {
    use sea_orm::{QuerySelect, Statement};
    let backend = db.get_database_backend();
    let mut counties: Vec<i64> = county_chain::Entity::find()
        .select_only()
        .column(county_chain::Column::CountyId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let with_cases: Vec<i64> = xinfang_entity::case::Entity::find()
        .select_only()
        .column(xinfang_entity::case::Column::CountyId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    counties.extend(with_cases);
    let awaiting: Vec<i64> = chain_pending::Entity::find()
        .select_only()
        .column(chain_pending::Column::CountyId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    counties.extend(awaiting);
    counties.sort_unstable();
    counties.dedup();
    let mut checked = 0;
    let mut broken = vec![];
    let mut awaiting = 0;
    for county_id in counties {
        let mut entries: std::collections::HashMap<(i64, i32), String> = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT e.case_id, e.seq, e.hash FROM case_events e \
                     JOIN cases c ON c.id = e.case_id WHERE c.county_id = {}",
                    crate::db::placeholders(backend, 1)
                ),
                [county_id.into()],
            ))
            .await?
            .into_iter()
            .map(|r| {
                Ok((
                    (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
                    r.try_get_by_index(2)?,
                ))
            })
            .collect::<std::result::Result<_, sea_orm::DbErr>>()?;
        // Entries awaiting their link are accounted for by their pending row; a pending row
        // whose entry is gone means the entry was removed before it was linked.
        let pending = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT p.event_id, e.case_id, e.seq FROM chain_pending p \
                     LEFT JOIN case_events e ON e.id = p.event_id WHERE p.county_id = {} \
                     ORDER BY p.event_id",
                    crate::db::placeholders(backend, 1)
                ),
                [county_id.into()],
            ))
            .await?;
        let mut removed_while_pending = None;
        for r in &pending {
            let event_id: i64 = r.try_get_by_index(0)?;
            match (
                r.try_get_by_index::<Option<i64>>(1)?,
                r.try_get_by_index::<Option<i32>>(2)?,
            ) {
                (Some(case_id), Some(seq)) => {
                    entries.remove(&(case_id, seq));
                    awaiting += 1;
                }
                _ => {
                    removed_while_pending.get_or_insert(event_id);
                }
            }
        }
        let links = county_chain::Entity::find()
            .filter(county_chain::Column::CountyId.eq(county_id))
            .order_by_asc(county_chain::Column::Seq)
            .all(db)
            .await?;
        checked += links.len();
        let mut prev = GENESIS.to_string();
        let mut first_break = None;
        for (i, l) in links.iter().enumerate() {
            let problem = if l.seq != i as i64 + 1 {
                Some("a link before this one is missing")
            } else if l.prev_hash != prev {
                Some("the link to the previous one is broken")
            } else if county_link_hash(
                &prev,
                county_id,
                l.seq,
                l.case_id,
                l.case_seq,
                &l.entry_hash,
            ) != l.hash
            {
                Some("the link was changed after it was written")
            } else {
                match entries.remove(&(l.case_id, l.case_seq)) {
                    None => Some("the timeline entry it covers was removed"),
                    Some(h) if h != l.entry_hash => {
                        Some("the timeline entry it covers was changed")
                    }
                    Some(_) => None,
                }
            };
            if let Some(reason) = problem {
                first_break = Some(CountyBreak {
                    county_id,
                    seq: l.seq,
                    reason: format!("case #{} entry {}: {reason}", l.case_id, l.case_seq),
                });
                break;
            }
            prev = l.hash.clone();
        }
        if first_break.is_none()
            && let Some(event_id) = removed_while_pending
        {
            first_break = Some(CountyBreak {
                county_id,
                seq: links.len() as i64 + 1,
                reason: format!("timeline entry #{event_id} was removed before it was linked"),
            });
        }
        if first_break.is_none()
            && let Some(((case_id, case_seq), _)) = entries.iter().min()
        {
            first_break = Some(CountyBreak {
                county_id,
                seq: links.len() as i64 + 1,
                reason: format!(
                    "case #{case_id} entry {case_seq} is on no county link: it was written around the server"
                ),
            });
        }
        broken.extend(first_break);
    }
    Ok(CountyReport {
        links: checked,
        broken,
        awaiting,
    })
}

// ---------------------------------------------------------------------------------------
// Signed checkpoints of every chain's head.

/// The head of one chain: `county:<id>` or `admin`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Head {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

/// What a checkpoint signs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Statement {
    pub at: String,
    pub heads: Vec<Head>,
}

/// A signed checkpoint as it is kept outside the database (one JSON line of the checkpoint
/// file, the log's `checkpoint` field) and inside it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedCheckpoint {
    pub statement: String,
    pub signature: String,
    pub public_key: String,
}

impl From<audit_checkpoint::Model> for SignedCheckpoint {
    fn from(m: audit_checkpoint::Model) -> Self {
        SignedCheckpoint {
            statement: m.statement,
            signature: m.signature,
            public_key: m.public_key,
        }
    }
}

/// The signing key: an Ed25519 key from a 32-byte seed, given base64-encoded.
pub struct Signer(ed25519_dalek::SigningKey);

impl Signer {
    pub fn from_base64(text: &str) -> std::result::Result<Signer, String> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "the audit key must be base64".to_string())?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| {
            "the audit key must be 32 bytes (base64 of an Ed25519 seed)".to_string()
        })?;
        Ok(Signer(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// A new random key, base64 (for `xinfang audit keygen`).
    pub fn generate_base64() -> String {
        use base64::Engine;
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
        base64::engine::general_purpose::STANDARD.encode(seed)
    }

    pub fn public_key_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0.verifying_key().as_bytes())
    }

    fn sign(&self, statement: &str) -> String {
        use base64::Engine;
        use ed25519_dalek::Signer as _;
        base64::engine::general_purpose::STANDARD
            .encode(self.0.sign(statement.as_bytes()).to_bytes())
    }
}

/// The heads of every county chain and of the administrative record, now.
pub async fn heads(db: &impl ConnectionTrait) -> Result<Vec<Head>> {
    use sea_orm::{QuerySelect, Statement};
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT l.county_id, l.seq, l.hash FROM county_chain l \
             JOIN (SELECT county_id, MAX(seq) AS seq FROM county_chain GROUP BY county_id) m \
             ON m.county_id = l.county_id AND m.seq = l.seq ORDER BY l.county_id",
        ))
        .await?;
    let mut heads = vec![];
    for r in rows {
        let county_id: i64 = r.try_get_by_index(0)?;
        heads.push(Head {
            chain: format!("county:{county_id}"),
            seq: r.try_get_by_index(1)?,
            hash: r.try_get_by_index(2)?,
        });
    }
    let admin: Option<(i64, String)> = admin_event::Entity::find()
        .select_only()
        .column(admin_event::Column::Seq)
        .column(admin_event::Column::Hash)
        .order_by_desc(admin_event::Column::Seq)
        .into_tuple()
        .one(db)
        .await?;
    if let Some((seq, hash)) = admin {
        heads.push(Head {
            chain: "admin".into(),
            seq,
            hash,
        });
    }
    Ok(heads)
}

/// Signs the heads of every chain and keeps the checkpoint in the database; the caller
/// writes it outside too. `None` when nothing was written since the last checkpoint.
pub async fn checkpoint(
    db: &impl ConnectionTrait,
    signer: &Signer,
    at: DateTime<Utc>,
) -> Result<Option<SignedCheckpoint>> {
    let heads = heads(db).await?;
    let last = audit_checkpoint::Entity::find()
        .order_by_desc(audit_checkpoint::Column::Id)
        .one(db)
        .await?;
    if let Some(last) = &last
        && serde_json::from_str::<Statement>(&last.statement).is_ok_and(|s| s.heads == heads)
    {
        return Ok(None);
    }
    let statement = serde_json::to_string(&Statement {
        at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        heads,
    })
    .map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
    let signed = SignedCheckpoint {
        signature: signer.sign(&statement),
        public_key: signer.public_key_base64(),
        statement,
    };
    audit_checkpoint::ActiveModel {
        at: Set(at),
        statement: Set(signed.statement.clone()),
        signature: Set(signed.signature.clone()),
        public_key: Set(signed.public_key.clone()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Some(signed))
}

/// The newest checkpoints kept in the database, newest first.
pub async fn recent_checkpoints(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<audit_checkpoint::Model>> {
    use sea_orm::QuerySelect;
    Ok(audit_checkpoint::Entity::find()
        .order_by_desc(audit_checkpoint::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// What holding the chains against the checkpoints found.
#[derive(Debug, Default)]
pub struct CheckpointReport {
    pub checked: usize,
    /// Each problem, in words.
    pub problems: Vec<String>,
}

/// Holds every chain against every checkpoint — those in the database and those kept outside
/// it (`external`) — and checks each signature against `trusted` (base64 public key). A
/// checkpoint kept outside but missing inside, a signature that does not verify, or a chain
/// whose link at a signed head is gone or different, is a problem.
pub async fn verify_checkpoints(
    db: &impl ConnectionTrait,
    trusted: Option<&str>,
    external: &[SignedCheckpoint],
) -> Result<CheckpointReport> {
    let inside: Vec<SignedCheckpoint> = audit_checkpoint::Entity::find()
        .order_by_asc(audit_checkpoint::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(SignedCheckpoint::from)
        .collect();
    let mut report = CheckpointReport::default();
    let mut all = inside.clone();
    for c in external {
        if !inside.contains(c) {
            report.problems.push(format!(
                "a checkpoint kept outside the database is missing from it: {}",
                c.statement
            ));
            all.push(c.clone());
        }
    }
    for c in &all {
        report.checked += 1;
        let Ok(statement) = serde_json::from_str::<Statement>(&c.statement) else {
            report
                .problems
                .push(format!("a checkpoint is not readable: {}", c.statement));
            continue;
        };
        let at = &statement.at;
        if let Some(trusted) = trusted
            && trusted.trim() != c.public_key
        {
            report.problems.push(format!(
                "the checkpoint of {at} is signed with a key that is not the audit key"
            ));
            continue;
        }
        if !signature_holds(c) {
            report.problems.push(format!(
                "the checkpoint of {at} has a signature that does not verify"
            ));
            continue;
        }
        for head in &statement.heads {
            let found = head_now(db, &head.chain, head.seq).await?;
            match found {
                None => report.problems.push(format!(
                    "{} no longer reaches link {} signed at {at}: links were removed",
                    head.chain, head.seq
                )),
                Some(hash) if hash != head.hash => report.problems.push(format!(
                    "{} link {} differs from the one signed at {at}: the chain was rewritten",
                    head.chain, head.seq
                )),
                Some(_) => {}
            }
        }
    }
    Ok(report)
}

fn signature_holds(c: &SignedCheckpoint) -> bool {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Ok(key), Ok(sig)) = (b64.decode(&c.public_key), b64.decode(&c.signature)) else {
        return false;
    };
    let (Ok(key), Ok(sig)) = (
        <[u8; 32]>::try_from(key.as_slice()),
        <[u8; 64]>::try_from(sig.as_slice()),
    ) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key) else {
        return false;
    };
    key.verify_strict(
        c.statement.as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .is_ok()
}

/// The hash of a chain's link `seq` as the database holds it now.
async fn head_now(db: &impl ConnectionTrait, chain: &str, seq: i64) -> Result<Option<String>> {
    if chain == "admin" {
        return Ok(admin_event::Entity::find()
            .filter(admin_event::Column::Seq.eq(seq))
            .one(db)
            .await?
            .map(|e| e.hash));
    }
    let Some(county_id) = chain
        .strip_prefix("county:")
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    Ok(county_chain::Entity::find()
        .filter(county_chain::Column::CountyId.eq(county_id))
        .filter(county_chain::Column::Seq.eq(seq))
        .one(db)
        .await?
        .map(|l| l.hash))
}
