//! The append-only, hash-chained record of every action on a case.
//!
//! Each entry stores the SHA-256 of its own content together with the hash of the entry
//! before it (of the same case), so changing or removing any entry breaks every link after
//! it. [`verify_case`] walks a case's chain and reports the first broken link.

use crate::auth::sha256_hex;
use crate::error::Result;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use xinfang_entity::{admin_event, case_event};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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

/// Appends an entry to a case's timeline, inside the caller's transaction.
pub async fn append(
    tx: &impl ConnectionTrait,
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
    let (seq, prev) = match &last {
        Some(e) => (e.seq + 1, e.hash.clone()),
        None => (1, GENESIS.to_string()),
    };
    let detail = detail.to_string();
    let hash = entry_hash(&prev, case_id, seq, at, actor, action, &detail, public);
    Ok(case_event::ActiveModel {
        case_id: Set(case_id),
        seq: Set(seq),
        at: Set(at),
        actor_user_id: Set(actor.user_id),
        actor_unit_id: Set(actor.unit_id),
        action: Set(action.to_string()),
        detail: Set(detail),
        public: Set(public),
        prev_hash: Set(prev),
        hash: Set(hash),
        ..Default::default()
    }
    .insert(tx)
    .await?)
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
