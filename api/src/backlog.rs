//! The backlog (积案), domain §7: the petition bureau lists long-standing matters in a special
//! campaign (专项治理: a batch name and a target date), each with the leader who owns it (包案)
//! and the unit that works it; the status runs 列入 → 化解中 → 已化解 (with how) / 未化解.
//!
//! Who sees an entry: the county's petition bureau, the owning leader, and the staff and
//! leaders of its lead unit — the same people who may record progress. Listing a matter
//! requires that the lead unit and the leader may see a case of it, so an entry never points a
//! unit at a matter out of its sight. Every action is on the administrative record.

use crate::access::Viewer;
use crate::cases;
use crate::clock::Clock;
use crate::db;
use crate::domain::{BacklogResolution, BacklogStatus, Role};
use crate::error::{AppError, Result, bad_input, conflict, forbidden};
use crate::identity::{find_unit, record};
use crate::matters::matter_of;
use crate::validate;
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use std::collections::HashMap;
use xinfang_entity::{backlog_campaign, backlog_entry, user};

pub type CampaignRecord = backlog_campaign::Model;
pub type EntryRecord = backlog_entry::Model;

/// The county whose petition bureau the viewer works in, or `FORBIDDEN`.
fn bureau_county(viewer: &Viewer) -> Result<i64> {
    viewer.handling_unit()?;
    viewer
        .bureau_county()
        .ok_or_else(|| forbidden("only the petition bureau runs backlog campaigns"))
}

/// 专项治理: the petition bureau opens a campaign with a batch name and a target date.
pub async fn create_campaign(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    name: &str,
    target_date: &str,
) -> Result<CampaignRecord> {
    let county = bureau_county(viewer)?;
    validate::text("name", name, 1, 100)?;
    let target = NaiveDate::parse_from_str(target_date, "%Y-%m-%d")
        .map_err(|_| bad_input("targetDate", "a date as YYYY-MM-DD"))?;
    let tx = db::begin_write(db).await?;
    let created = backlog_campaign::ActiveModel {
        county_id: Set(county),
        name: Set(name.trim().to_string()),
        target_date: Set(target),
        created_by_user_id: Set(viewer.user_id),
        created_at: Set(clock.now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    record(
        &tx,
        clock.now(),
        Some(viewer),
        "BACKLOG_CAMPAIGN_CREATED",
        viewer.unit.as_ref().map(|u| u.id),
        format!("BacklogCampaign:{}", created.id),
        json!({ "name": created.name, "targetDate": target_date }),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// What listing a matter names.
pub struct Listing {
    pub campaign_id: i64,
    /// Any case of the matter that the bureau sees.
    pub case_id: i64,
    pub leader_user_id: i64,
    pub lead_unit_id: i64,
    pub note: Option<String>,
}

/// Whether an account of `unit` with `role` would see the case (a lead unit or owning leader
/// named for a backlog entry must be able to work it).
async fn unit_sees(
    tx: &impl sea_orm::ConnectionTrait,
    unit: &xinfang_entity::org_unit::Model,
    role: Role,
    case_id: i64,
) -> Result<bool> {
    let standing = Viewer::standing_for(crate::auth::unit_scope(unit)?, role);
    Ok(cases::find_visible(tx, &standing, case_id).await?.is_some())
}

/// 列入: the bureau lists a matter in one of its county's campaigns.
pub async fn list_matter(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    input: Listing,
) -> Result<EntryRecord> {
    let county = bureau_county(viewer)?;
    if let Some(note) = &input.note {
        validate::text("note", note, 1, 2000)?;
    }
    let tx = db::begin_write(db).await?;
    // Not while a link moves the matter being listed.
    crate::matters::lock_county(&tx, county).await?;
    let campaign = backlog_campaign::Entity::find_by_id(input.campaign_id)
        .filter(backlog_campaign::Column::CountyId.eq(county))
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    let case = cases::find_visible(&tx, viewer, input.case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    let matter = matter_of(&case);
    let lead = cases::unit_in_county(&tx, "leadUnitId", input.lead_unit_id, county).await?;
    if !unit_sees(&tx, &lead, Role::Staff, case.id).await? {
        return Err(bad_input(
            "leadUnitId",
            format!("{} may not see case {}", lead.name, case.number),
        ));
    }
    let leader = user::Entity::find_by_id(input.leader_user_id)
        .filter(user::Column::Active.eq(true))
        .one(&tx)
        .await?
        .filter(|u| u.role == Role::Leader)
        .ok_or_else(|| bad_input("leaderId", "name an active LEADER account"))?;
    let leader_unit = match leader.org_unit_id {
        Some(id) => find_unit(&tx, id).await?,
        None => return Err(bad_input("leaderId", "name an active LEADER account")),
    };
    if leader_unit.county_id != Some(county) {
        return Err(bad_input(
            "leaderId",
            "name an active LEADER account of this county",
        ));
    }
    if !unit_sees(&tx, &leader_unit, Role::Leader, case.id).await? {
        return Err(bad_input(
            "leaderId",
            format!("{} may not see case {}", leader.display_name, case.number),
        ));
    }
    let already = backlog_entry::Entity::find()
        .filter(backlog_entry::Column::CampaignId.eq(campaign.id))
        .filter(backlog_entry::Column::MatterId.eq(matter))
        .one(&tx)
        .await?;
    if already.is_some() {
        return Err(conflict(format!(
            "the matter of case {} is already listed in {}",
            case.number, campaign.name
        )));
    }
    let now = clock.now();
    let entry = backlog_entry::ActiveModel {
        campaign_id: Set(campaign.id),
        matter_id: Set(matter),
        leader_user_id: Set(leader.id),
        lead_unit_id: Set(lead.id),
        status: Set(BacklogStatus::Listed),
        resolution: Set(None),
        note: Set(input.note.clone()),
        version: Set(1),
        listed_at: Set(now),
        resolved_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    record(
        &tx,
        clock.now(),
        Some(viewer),
        "BACKLOG_LISTED",
        Some(lead.id),
        format!("BacklogEntry:{}", entry.id),
        json!({ "campaignId": campaign.id, "matterId": matter, "leaderId": leader.id,
                "leadUnitId": lead.id, "note": input.note }),
    )
    .await?;
    tx.commit().await?;
    Ok(entry)
}

/// Of these matters, those with a case the viewer sees.
async fn matters_in_sight(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    matters: Vec<i64>,
) -> Result<std::collections::HashSet<i64>> {
    if matters.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<Option<i64>> = xinfang_entity::case::Entity::find()
        .select_only()
        .column(xinfang_entity::case::Column::MatterId)
        .distinct()
        .filter(xinfang_entity::case::Column::MatterId.is_in(db::bucketed_ids(matters)))
        .filter(viewer.case_scope())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().flatten().collect())
}

/// Whether the viewer is the bureau of the campaign's county.
fn is_bureau_of(viewer: &Viewer, campaign: &CampaignRecord) -> bool {
    viewer.bureau_county() == Some(campaign.county_id)
}

/// `sees`, and — for anyone but the bureau — the matter still has a case in the viewer's
/// sight (a case reclassified to accuse the lead unit takes the entry out of its sight too).
async fn sees_now(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    campaign: &CampaignRecord,
    entry: &EntryRecord,
) -> Result<bool> {
    if !sees(viewer, campaign, entry) {
        return Ok(false);
    }
    if is_bureau_of(viewer, campaign) {
        return Ok(true);
    }
    Ok(matters_in_sight(db, viewer, vec![entry.matter_id])
        .await?
        .contains(&entry.matter_id))
}

/// Whether the viewer's role and unit make it a party to a backlog entry: the bureau of its
/// county, its owning leader, and the staff and leaders of its lead unit.
pub fn sees(viewer: &Viewer, campaign: &CampaignRecord, entry: &EntryRecord) -> bool {
    viewer.party_to_backlog_entry(campaign.county_id, entry.leader_user_id, entry.lead_unit_id)
}

/// Progress on a listed matter.
pub struct Progress {
    pub entry_id: i64,
    pub expected_version: i64,
    pub status: BacklogStatus,
    pub resolution: Option<BacklogResolution>,
    pub note: String,
}

/// The moves of a listed matter: 列入 → 化解中 → 已化解 or 未化解, which are ends.
fn moves(from: BacklogStatus, to: BacklogStatus) -> bool {
    use BacklogStatus::*;
    matches!(
        (from, to),
        (Listed, InProgress | Resolved | Unresolved) | (InProgress, Resolved | Unresolved)
    )
}

/// Whether an entry in this state can still move on (`BacklogEntry.viewerCan.update`, for a
/// viewer who sees it): some move of [`moves`] leaves it.
pub fn may_progress(status: BacklogStatus) -> bool {
    use BacklogStatus::*;
    [InProgress, Resolved, Unresolved]
        .into_iter()
        .any(|to| moves(status, to))
}

/// 化解中 / 已化解 / 未化解: the owning leader, the lead unit or the bureau records progress.
pub async fn update(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    input: Progress,
) -> Result<EntryRecord> {
    validate::text("note", &input.note, 1, 2000)?;
    let tx = db::begin_write(db).await?;
    let entry = backlog_entry::Entity::find_by_id(input.entry_id)
        .lock_exclusive()
        .one(&tx)
        .await?;
    let campaign = match &entry {
        Some(e) => {
            backlog_campaign::Entity::find_by_id(e.campaign_id)
                .one(&tx)
                .await?
        }
        None => None,
    };
    let (Some(entry), Some(campaign)) = (entry, campaign) else {
        return Err(AppError::NotFound("backlog entry"));
    };
    if !sees_now(&tx, viewer, &campaign, &entry).await? {
        return Err(AppError::NotFound("backlog entry"));
    }
    if entry.version != input.expected_version {
        return Err(conflict(format!(
            "the entry changed since you read it (version {} now, you sent {})",
            entry.version, input.expected_version
        )));
    }
    use BacklogStatus::*;
    if !moves(entry.status, input.status) {
        return Err(AppError::InvalidTransition {
            status: entry.status.as_str().into(),
            action: format!("updateBacklogEntry to {}", input.status.as_str()),
            why: Some(
                "a backlog matter moves 列入 → 化解中 → 已化解 or 未化解, and ends there".into(),
            ),
        });
    }
    match (input.status, input.resolution) {
        (Resolved, None) => {
            return Err(bad_input("resolution", "say how the matter was resolved"));
        }
        (Resolved, Some(_)) => {}
        (_, Some(_)) => {
            return Err(bad_input(
                "resolution",
                "only a resolved matter says how it was resolved",
            ));
        }
        (_, None) => {}
    }
    let now = clock.now();
    let mut row: backlog_entry::ActiveModel = entry.clone().into();
    row.status = Set(input.status);
    row.resolution = Set(input.resolution);
    row.note = Set(Some(input.note.clone()));
    row.version = Set(entry.version + 1);
    row.updated_at = Set(now);
    if input.status == Resolved {
        row.resolved_at = Set(Some(now));
    }
    let saved = row.update(&tx).await?;
    record(
        &tx,
        clock.now(),
        Some(viewer),
        "BACKLOG_PROGRESS",
        Some(entry.lead_unit_id),
        format!("BacklogEntry:{}", entry.id),
        json!({ "from": entry.status, "to": input.status,
                "resolution": input.resolution, "note": input.note }),
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// The campaigns the viewer takes part in, newest first, each with the entries it sees.
pub async fn campaigns(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
) -> Result<Vec<(CampaignRecord, Vec<EntryRecord>)>> {
    let Ok(unit) = viewer.handling_unit() else {
        return Ok(vec![]);
    };
    let entries_filter = if unit.petition_bureau {
        let ids: Vec<i64> = backlog_campaign::Entity::find()
            .select_only()
            .column(backlog_campaign::Column::Id)
            .filter(backlog_campaign::Column::CountyId.eq(unit.county_id.unwrap_or(0)))
            .into_tuple()
            .all(db)
            .await?;
        Condition::all().add(backlog_entry::Column::CampaignId.is_in(ids))
    } else {
        Condition::any()
            .add(backlog_entry::Column::LeadUnitId.eq(unit.id))
            .add(backlog_entry::Column::LeaderUserId.eq(viewer.user_id))
    };
    let entries = backlog_entry::Entity::find()
        .filter(entries_filter)
        .order_by_asc(backlog_entry::Column::Id)
        .limit(10_000)
        .all(db)
        .await?;
    let mut campaigns =
        backlog_campaign::Entity::find().order_by_desc(backlog_campaign::Column::Id);
    if unit.petition_bureau {
        campaigns =
            campaigns.filter(backlog_campaign::Column::CountyId.eq(unit.county_id.unwrap_or(0)));
    } else {
        let ids: Vec<i64> = entries.iter().map(|e| e.campaign_id).collect();
        campaigns = campaigns.filter(backlog_campaign::Column::Id.is_in(ids));
    }
    let campaigns = campaigns.all(db).await?;
    let in_sight = if unit.petition_bureau {
        None
    } else {
        Some(matters_in_sight(db, viewer, entries.iter().map(|e| e.matter_id).collect()).await?)
    };
    let mut by_campaign: HashMap<i64, Vec<EntryRecord>> = HashMap::new();
    for e in entries {
        if in_sight.as_ref().is_none_or(|m| m.contains(&e.matter_id)) {
            by_campaign.entry(e.campaign_id).or_default().push(e);
        }
    }
    Ok(campaigns
        .into_iter()
        .filter_map(|c| {
            let mine = by_campaign.remove(&c.id).unwrap_or_default();
            let seen: Vec<EntryRecord> = mine.into_iter().filter(|e| sees(viewer, &c, e)).collect();
            // A unit takes part in a campaign through the entries it sees.
            (is_bureau_of(viewer, &c) || !seen.is_empty()).then_some((c, seen))
        })
        .collect())
}

/// Counts of a set of entries (a campaign, or one unit's part in it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub listed: i64,
    pub not_started: i64,
    pub in_progress: i64,
    pub resolved: i64,
    pub unresolved: i64,
}

impl Tally {
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a EntryRecord>) -> Tally {
        let mut t = Tally::default();
        for e in entries {
            t.listed += 1;
            match e.status {
                BacklogStatus::Listed => t.not_started += 1,
                BacklogStatus::InProgress => t.in_progress += 1,
                BacklogStatus::Resolved => t.resolved += 1,
                BacklogStatus::Unresolved => t.unresolved += 1,
            }
        }
        t
    }

    /// 积案化解率 = resolved ÷ listed (null when nothing is listed).
    pub fn resolution_rate(&self) -> Option<f64> {
        (self.listed > 0).then(|| self.resolved as f64 / self.listed as f64)
    }
}

/// The entry a viewer asked for by id, with its campaign, when they see it.
pub async fn visible_entry(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(CampaignRecord, EntryRecord)>> {
    let Some(entry) = backlog_entry::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let Some(campaign) = backlog_campaign::Entity::find_by_id(entry.campaign_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(sees_now(db, viewer, &campaign, &entry)
        .await?
        .then_some((campaign, entry)))
}

/// Names of the owning leaders, for showing.
pub async fn leader_names(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<HashMap<i64, String>> {
    let rows = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|u| (u.id, u.display_name)).collect())
}
