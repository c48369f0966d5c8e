//! Per-request DataLoaders: nested fields of a list cost one query per kind and level, not
//! one per row. Each loader gathers the keys its sibling fields ask for before the request's
//! task yields (see [`loader`]) and answers them with one batched domain read
//! ([`crate::records`], [`crate::cases`], [`crate::identity`]), whose id lists are padded to a
//! few fixed lengths ([`crate::db::bucketed_ids`]).
//!
//! The loaders that depend on who is asking (visible cases, a unit's relations) are built with
//! the request's viewer and read through its scope.

use crate::access::Viewer;
use crate::directory::Directory;
use crate::domain::UnitRelation;
use crate::error::AppError;
use crate::identity::UnitRecord;
use crate::records::{
    self, CaseParts, CaseRecord, CompletionReportRecord, EvaluationRecord, ExtensionRecord,
    HearingRecord, HigherBodyRecord, HigherReferralRecord, HotlineTicketRecord, InstructionRecord,
    JointItemPartRecord, JointItemRecord, JointMeetingRecord, LatestEntries, PartsWanted,
    PetitionerRecord, ReferralRecord, ReplyRecord, ReviewRecord, Staff, SupervisionRecord,
};
use crate::state::Db;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type LoadResult<V> = Result<HashMap<i64, V>, Arc<AppError>>;

/// An answer for every key — what was found, else the empty value — because a DataLoader
/// caches only the keys it was answered for: a case without extensions would otherwise be
/// asked for again by its row, in a second statement.
fn every_key<V: Default>(keys: &[i64], mut found: HashMap<i64, V>) -> HashMap<i64, V> {
    keys.iter()
        .map(|k| (*k, found.remove(k).unwrap_or_default()))
        .collect()
}

/// A loader keyed by id that answers with one domain read: `$fetch(db, keys)`.
///
/// Every key gets an answer ([`every_key`]): an empty list, or `None` (`$wrap` says which).
macro_rules! by_id_loader {
    ($(#[$doc:meta])* $name:ident, $value:ty, $fetch:path) => {
        by_id_loader!($(#[$doc])* $name, $value, $fetch, |v| v);
    };
    ($(#[$doc:meta])* $name:ident, $value:ty, $fetch:path, $wrap:expr) => {
        $(#[$doc])*
        pub struct $name {
            db: Db,
        }

        impl Loader<i64> for $name {
            type Value = $value;
            type Error = Arc<AppError>;

            async fn load(&self, keys: &[i64]) -> LoadResult<Self::Value> {
                let found: HashMap<i64, $value> = $fetch(&self.db, keys)
                    .await
                    .map_err(Arc::new)?
                    .into_iter()
                    .map(|(k, v)| (k, $wrap(v)))
                    .collect();
                Ok(every_key(keys, found))
            }
        }
    };
}

/// A loader keyed by id that answers with one read in the request viewer's scope:
/// `$fetch(db, viewer, keys)`; without a viewer, every key gets the empty value.
macro_rules! by_viewer_loader {
    ($(#[$doc:meta])* $name:ident, $value:ty, $fetch:path) => {
        $(#[$doc])*
        pub struct $name {
            db: Db,
            viewer: Option<Viewer>,
        }

        impl Loader<i64> for $name {
            type Value = $value;
            type Error = Arc<AppError>;

            async fn load(&self, keys: &[i64]) -> LoadResult<Self::Value> {
                let found = match &self.viewer {
                    Some(v) => $fetch(&self.db, v, keys).await.map_err(Arc::new)?,
                    None => HashMap::new(),
                };
                Ok(every_key(keys, found))
            }
        }
    };
}

/// Units by id: from the process's copy where it holds them, the rest in one statement.
pub struct UnitLoader {
    db: Db,
    directory: Arc<Directory>,
}

impl Loader<i64> for UnitLoader {
    type Value = Option<UnitRecord>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[i64]) -> LoadResult<Self::Value> {
        let found = crate::identity::units_through(&self.directory, &self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(every_key(
            keys,
            found.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        ))
    }
}

by_id_loader!(
    /// The cases behind referrals, by case id, unscoped: only for `Referral.viewerCan`, whose
    /// parties the referral entitles (never resolved as a `Case`).
    ReferralCaseLoader,
    Option<CaseRecord>,
    crate::referrals::referral_case_rows,
    Some
);
by_id_loader!(
    /// Accounts by id, as records name them.
    StaffLoader,
    Option<Staff>,
    records::staff_by_id,
    Some
);
by_id_loader!(
    /// Petitioners of cases, in order.
    PetitionerLoader,
    Vec<PetitionerRecord>,
    crate::cases::petitioners_by_case
);
by_id_loader!(
    /// Assisting units of cases (unit ids).
    AssistingLoader,
    Vec<i64>,
    crate::cases::assisting_units_by_case
);
by_id_loader!(
    /// Referrals of cases, oldest first.
    ReferralLoader,
    Vec<ReferralRecord>,
    records::referrals_by_case
);
by_id_loader!(
    /// Extension requests of cases.
    ExtensionLoader,
    Vec<ExtensionRecord>,
    records::extensions_by_case
);
by_id_loader!(
    /// Review requests of cases.
    ReviewLoader,
    Vec<ReviewRecord>,
    records::reviews_by_case
);
by_id_loader!(
    /// Supervision orders of cases.
    SupervisionLoader,
    Vec<SupervisionRecord>,
    records::supervisions_by_case
);
by_id_loader!(
    /// Completion reports of cases.
    CompletionReportLoader,
    Vec<CompletionReportRecord>,
    records::completion_reports_by_case
);
by_id_loader!(
    /// Higher bodies by id.
    HigherBodyLoader,
    Option<HigherBodyRecord>,
    records::higher_bodies_by_id,
    Some
);
by_id_loader!(
    /// Links of cases to higher bodies.
    HigherReferralLoader,
    Vec<HigherReferralRecord>,
    records::higher_referrals_by_case
);
by_id_loader!(
    /// Joint meeting items about cases, oldest first.
    JointItemsLoader,
    Vec<JointItemRecord>,
    crate::joint::items_by_case
);
by_id_loader!(
    /// The units' parts of joint meeting items, by item.
    JointPartsLoader,
    Vec<JointItemPartRecord>,
    crate::joint::parts_of_items
);
by_id_loader!(
    /// Joint meetings by id.
    JointMeetingLoader,
    Option<JointMeetingRecord>,
    crate::joint::meetings_by_id,
    Some
);
by_id_loader!(
    /// Whether a backlog campaign resolved each matter.
    CampaignResolvedLoader,
    bool,
    crate::matters::resolved_in_campaign
);
by_id_loader!(
    /// Hearings of cases, oldest first.
    HearingLoader,
    Vec<HearingRecord>,
    records::hearings_by_case
);
by_id_loader!(
    /// 12345 tickets of cases, oldest first.
    HotlineTicketLoader,
    Vec<HotlineTicketRecord>,
    records::hotline_tickets_by_case
);
by_id_loader!(
    /// Leaders' instructions on cases, oldest first.
    InstructionLoader,
    Vec<InstructionRecord>,
    records::instructions_by_case
);
by_id_loader!(
    /// The written replies of cases, oldest first.
    ReplyLoader,
    Vec<ReplyRecord>,
    records::replies_by_case
);
by_id_loader!(
    /// The evaluation of cases.
    EvaluationLoader,
    Option<EvaluationRecord>,
    records::evaluations_by_case,
    Some
);

/// Cases by id, as far as the request's viewer may see them (for links between cases).
pub struct VisibleCaseLoader {
    db: Db,
    viewer: Option<Viewer>,
}

impl Loader<i64> for VisibleCaseLoader {
    /// `None` for a case out of sight (answered, so that it is not asked again).
    type Value = Option<CaseRecord>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[i64]) -> LoadResult<Self::Value> {
        let found = match &self.viewer {
            Some(v) => records::visible_cases(&self.db, v, keys)
                .await
                .map_err(Arc::new)?,
            None => HashMap::new(),
        };
        Ok(every_key(
            keys,
            found.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        ))
    }
}

/// What the request's viewer reads of each of some cases, once it has found them in its
/// scope: `$read(db, viewer, cases)`. A case out of sight answers an empty list.
macro_rules! of_visible_cases_loader {
    ($(#[$doc:meta])* $name:ident, $value:ty, $read:path) => {
        $(#[$doc])*
        pub struct $name {
            db: Db,
            viewer: Option<Viewer>,
        }

        impl Loader<i64> for $name {
            type Value = Vec<$value>;
            type Error = Arc<AppError>;

            async fn load(&self, keys: &[i64]) -> LoadResult<Self::Value> {
                let Some(viewer) = &self.viewer else {
                    return Ok(every_key(keys, HashMap::new()));
                };
                let cases: Vec<CaseRecord> = records::visible_cases(&self.db, viewer, keys)
                    .await
                    .map_err(Arc::new)?
                    .into_values()
                    .collect();
                let found = $read(&self.db, viewer, &cases).await.map_err(Arc::new)?;
                Ok(every_key(keys, found))
            }
        }
    };
}

of_visible_cases_loader!(
    /// Each case's written documents, as the viewer reads them.
    DocumentLoader,
    crate::documents::DocumentView,
    crate::documents::of_cases
);

of_visible_cases_loader!(
    /// Each case's files that the viewer sees.
    AttachmentLoader,
    crate::records::AttachmentRecord,
    crate::attachments::of_cases
);

of_visible_cases_loader!(
    /// Each case's repeat links (as the later case) that the viewer reads.
    RepeatLinkLoader,
    crate::matters::RepeatLinkRecord,
    crate::matters::visible_links
);

of_visible_cases_loader!(
    /// Each case's receptions (where it was raised or taken over), with whether it was
    /// produced there.
    CaseReceptionsLoader,
    (crate::records::ReceptionRecord, bool),
    crate::receptions::of_cases
);

by_viewer_loader!(
    /// Each reception's cases that the request's viewer sees, with whether each was produced
    /// there.
    ReceptionCasesLoader,
    Vec<(CaseRecord, bool)>,
    crate::receptions::cases_of
);
by_viewer_loader!(
    /// The cases of each matter that the request's viewer sees, in the order received (as
    /// far as `matters::visible_cases` reads them).
    MatterCasesLoader,
    Vec<crate::matters::MatterCase>,
    crate::matters::visible_cases
);
by_viewer_loader!(
    /// The later cases repeating each case, as far as the request's viewer may see them.
    RepeatsLoader,
    Vec<CaseRecord>,
    records::visible_repeats_by_case
);

/// The request's viewer's unit's relations to cases (for `viewerCan`).
pub struct RelationsLoader {
    db: Db,
    unit: Option<i64>,
}

impl Loader<i64> for RelationsLoader {
    type Value = Vec<UnitRelation>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[i64]) -> LoadResult<Self::Value> {
        let found = match self.unit {
            Some(unit) => records::relations_by_case(&self.db, unit, keys)
                .await
                .map_err(Arc::new)?,
            None => HashMap::new(),
        };
        Ok(every_key(keys, found))
    }
}

/// One timeline that a batch can serve: a case's latest `last` entries — or, `from_start`,
/// its first `last` — and what of them it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LatestAsk {
    pub last: u32,
    pub from_start: bool,
    /// Part of the key, so a timeline that shows the names or the count never finds entries
    /// read without them.
    pub shown: records::Shown,
}

impl LatestAsk {
    /// What to read for this timeline, for `audience`.
    pub fn wanted(self, audience: records::Audience) -> records::LatestWanted {
        records::LatestWanted {
            audience,
            last: self.last,
            from_start: self.from_start,
            shown: self.shown,
        }
    }
}

/// A case's timeline as `ask` wants it (oldest entries first), for one audience (all
/// entries, or public ones only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LatestKey {
    pub case_id: i64,
    pub public_only: bool,
    pub ask: LatestAsk,
}

pub struct LatestEventsLoader {
    db: Db,
    viewer: Option<Viewer>,
}

impl Loader<LatestKey> for LatestEventsLoader {
    type Value = LatestEntries;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[LatestKey],
    ) -> Result<HashMap<LatestKey, Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        // One statement per audience and window: readers of the same entries that show
        // different things share a read of everything any of them shows.
        let mut shapes: HashMap<(bool, u32, bool), (records::Shown, Vec<LatestKey>)> =
            HashMap::new();
        for k in keys {
            let (shown, of) = shapes
                .entry((k.public_only, k.ask.last, k.ask.from_start))
                .or_insert((records::Shown::NONE, vec![]));
            *shown = shown.and(k.ask.shown);
            of.push(*k);
        }
        let Some(viewer) = &self.viewer else {
            return Ok(out);
        };
        for ((public_only, last, from_start), (shown, of)) in shapes {
            let ask = LatestAsk {
                last,
                from_start,
                shown,
            };
            let wanted = ask.wanted(records::Audience::of(&self.db, viewer, public_only));
            let mut ids: Vec<i64> = of.iter().map(|k| k.case_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let grouped = records::latest_entries(&self.db, &ids, &wanted)
                .await
                .map_err(Arc::new)?;
            for key in of {
                let value = grouped.get(&key.case_id).cloned().unwrap_or_default();
                out.insert(key, value);
            }
        }
        Ok(out)
    }
}

/// The loaders of one request. They cache for the request's lifetime, so a list can load
/// what its rows will ask for up front ([`super::cases::prefetch`]) and the rows then find it.
#[derive(Clone)]
pub struct Loaders(Arc<LoaderSet>);

impl std::ops::Deref for Loaders {
    type Target = LoaderSet;
    fn deref(&self) -> &LoaderSet {
        &self.0
    }
}

/// What [`Loaders`] holds.
pub struct LoaderSet {
    pub units: DataLoader<UnitLoader, HashMapCache>,
    pub staff: DataLoader<StaffLoader, HashMapCache>,
    pub petitioners: DataLoader<PetitionerLoader, HashMapCache>,
    pub assisting: DataLoader<AssistingLoader, HashMapCache>,
    pub referrals: DataLoader<ReferralLoader, HashMapCache>,
    pub extensions: DataLoader<ExtensionLoader, HashMapCache>,
    pub reviews: DataLoader<ReviewLoader, HashMapCache>,
    pub supervisions: DataLoader<SupervisionLoader, HashMapCache>,
    pub completion_reports: DataLoader<CompletionReportLoader, HashMapCache>,
    pub replies: DataLoader<ReplyLoader, HashMapCache>,
    pub higher_referrals: DataLoader<HigherReferralLoader, HashMapCache>,
    pub higher_bodies: DataLoader<HigherBodyLoader, HashMapCache>,
    pub evaluations: DataLoader<EvaluationLoader, HashMapCache>,
    pub visible_cases: DataLoader<VisibleCaseLoader, HashMapCache>,
    pub repeats: DataLoader<RepeatsLoader, HashMapCache>,
    pub relations: DataLoader<RelationsLoader, HashMapCache>,
    pub referral_cases: DataLoader<ReferralCaseLoader, HashMapCache>,
    pub latest_events: DataLoader<LatestEventsLoader, HashMapCache>,
    pub documents: DataLoader<DocumentLoader, HashMapCache>,
    pub attachments: DataLoader<AttachmentLoader, HashMapCache>,
    pub hearings: DataLoader<HearingLoader, HashMapCache>,
    pub hotline_tickets: DataLoader<HotlineTicketLoader, HashMapCache>,
    pub instructions: DataLoader<InstructionLoader, HashMapCache>,
    pub joint_items: DataLoader<JointItemsLoader, HashMapCache>,
    pub joint_parts: DataLoader<JointPartsLoader, HashMapCache>,
    pub joint_meetings: DataLoader<JointMeetingLoader, HashMapCache>,
    pub repeat_links: DataLoader<RepeatLinkLoader, HashMapCache>,
    pub case_receptions: DataLoader<CaseReceptionsLoader, HashMapCache>,
    pub reception_cases: DataLoader<ReceptionCasesLoader, HashMapCache>,
    pub matter_cases: DataLoader<MatterCasesLoader, HashMapCache>,
    pub campaign_resolved: DataLoader<CampaignResolvedLoader, HashMapCache>,
}

fn loader<T: Loader<K>, K: Send + Sync + std::hash::Hash + Eq + Clone + 'static>(
    inner: T,
) -> DataLoader<T, HashMapCache> {
    // No timer. The batch is loaded by a task spawned on the worker that runs the request;
    // actix-web's workers are single-threaded runtimes, so that task first runs when the
    // request's own task yields — after every sibling field of the level has queued its key.
    // A timer would only add latency: the default 1 ms turned a 0.7 ms request into 2.4 ms on
    // a peer server, and even 100 µs crosses to the timer thread and back.
    DataLoader::with_cache(inner, tokio::spawn, HashMapCache::default()).delay(Duration::ZERO)
}

impl Loaders {
    pub fn new(db: Db, directory: Arc<Directory>, viewer: Option<&Viewer>) -> Self {
        let unit = viewer.and_then(|v| v.unit.as_ref().map(|u| u.id));
        Loaders(Arc::new(LoaderSet {
            units: loader(UnitLoader {
                db: db.clone(),
                directory,
            }),
            staff: loader(StaffLoader { db: db.clone() }),
            petitioners: loader(PetitionerLoader { db: db.clone() }),
            assisting: loader(AssistingLoader { db: db.clone() }),
            referrals: loader(ReferralLoader { db: db.clone() }),
            extensions: loader(ExtensionLoader { db: db.clone() }),
            reviews: loader(ReviewLoader { db: db.clone() }),
            supervisions: loader(SupervisionLoader { db: db.clone() }),
            completion_reports: loader(CompletionReportLoader { db: db.clone() }),
            replies: loader(ReplyLoader { db: db.clone() }),
            higher_referrals: loader(HigherReferralLoader { db: db.clone() }),
            higher_bodies: loader(HigherBodyLoader { db: db.clone() }),
            evaluations: loader(EvaluationLoader { db: db.clone() }),
            hearings: loader(HearingLoader { db: db.clone() }),
            hotline_tickets: loader(HotlineTicketLoader { db: db.clone() }),
            instructions: loader(InstructionLoader { db: db.clone() }),
            joint_items: loader(JointItemsLoader { db: db.clone() }),
            joint_parts: loader(JointPartsLoader { db: db.clone() }),
            joint_meetings: loader(JointMeetingLoader { db: db.clone() }),
            visible_cases: loader(VisibleCaseLoader {
                db: db.clone(),
                viewer: viewer.cloned(),
            }),
            repeats: loader(RepeatsLoader {
                db: db.clone(),
                viewer: viewer.cloned(),
            }),
            relations: loader(RelationsLoader {
                db: db.clone(),
                unit,
            }),
            referral_cases: loader(ReferralCaseLoader { db: db.clone() }),
            latest_events: loader(LatestEventsLoader {
                db: db.clone(),
                viewer: viewer.cloned(),
            }),
            documents: loader(DocumentLoader {
                db: db.clone(),
                viewer: viewer.cloned(),
            }),
            repeat_links: loader(RepeatLinkLoader {
                db: db.clone(),
                viewer: viewer.cloned(),
            }),
            case_receptions: loader(CaseReceptionsLoader {
                db: db.clone(),
                viewer: viewer.cloned(),
            }),
            reception_cases: loader(ReceptionCasesLoader {
                db: db.clone(),
                viewer: viewer.cloned(),
            }),
            matter_cases: loader(MatterCasesLoader {
                db: db.clone(),
                viewer: viewer.cloned(),
            }),
            campaign_resolved: loader(CampaignResolvedLoader { db: db.clone() }),
            attachments: loader(AttachmentLoader {
                db,
                viewer: viewer.cloned(),
            }),
        }))
    }
}

impl LoaderSet {
    /// Drops everything the loaders remember. A subscription runs as one operation for as long
    /// as it lasts; each event it delivers must be read as things stand then, not as the first
    /// event found them, so the stream calls this before it hands on the next event.
    pub fn forget(&self) {
        self.units.clear::<i64>();
        self.staff.clear::<i64>();
        self.petitioners.clear::<i64>();
        self.assisting.clear::<i64>();
        self.referrals.clear::<i64>();
        self.extensions.clear::<i64>();
        self.reviews.clear::<i64>();
        self.supervisions.clear::<i64>();
        self.completion_reports.clear::<i64>();
        self.replies.clear::<i64>();
        self.higher_referrals.clear::<i64>();
        self.higher_bodies.clear::<i64>();
        self.evaluations.clear::<i64>();
        self.visible_cases.clear::<i64>();
        self.repeats.clear::<i64>();
        self.relations.clear::<i64>();
        self.referral_cases.clear::<i64>();
        self.latest_events.clear::<LatestKey>();
        self.documents.clear::<i64>();
        self.attachments.clear::<i64>();
        self.hearings.clear::<i64>();
        self.hotline_tickets.clear::<i64>();
        self.instructions.clear::<i64>();
        self.joint_items.clear::<i64>();
        self.joint_parts.clear::<i64>();
        self.joint_meetings.clear::<i64>();
        self.repeat_links.clear::<i64>();
        self.case_receptions.clear::<i64>();
        self.reception_cases.clear::<i64>();
        self.matter_cases.clear::<i64>();
        self.campaign_resolved.clear::<i64>();
    }

    /// The lists `wanted` of every case of `ids`, when the loaders hold them all already (a
    /// case asked for by itself reads them with the case and feeds them here).
    fn cached_parts(&self, ids: &[i64], wanted: PartsWanted) -> Option<CaseParts> {
        fn all<V: Clone>(ids: &[i64], cached: HashMap<i64, V>) -> Option<HashMap<i64, V>> {
            ids.iter()
                .map(|id| cached.get(id).map(|v| (*id, v.clone())))
                .collect()
        }
        let mut parts = CaseParts::default();
        if wanted.petitioners {
            parts.petitioners = all(ids, self.petitioners.get_cached_values())?;
        }
        if wanted.assisting {
            parts.assisting = all(ids, self.assisting.get_cached_values())?;
        }
        if wanted.referrals {
            parts.referrals = all(ids, self.referrals.get_cached_values())?;
        }
        Some(parts)
    }

    /// Reads the wanted lists of cases in one statement ([`records::case_parts`]) and hands
    /// them to their loaders, where the cases' fields then find them.
    pub async fn load_parts(
        &self,
        db: &Db,
        ids: &[i64],
        wanted: PartsWanted,
    ) -> Result<CaseParts, Arc<AppError>> {
        if let Some(parts) = self.cached_parts(ids, wanted) {
            return Ok(parts);
        }
        let parts = records::case_parts(db, ids, wanted)
            .await
            .map_err(Arc::new)?;
        self.feed_parts(ids, wanted, &parts).await;
        Ok(parts)
    }

    /// Hands the lists `wanted` of cases to their loaders.
    pub async fn feed_parts(&self, ids: &[i64], wanted: PartsWanted, parts: &CaseParts) {
        if wanted.petitioners {
            let fed = every_key(ids, parts.petitioners.clone());
            self.petitioners.feed_many(fed).await;
        }
        if wanted.assisting {
            let fed = every_key(ids, parts.assisting.clone());
            self.assisting.feed_many(fed).await;
        }
        if wanted.referrals {
            let fed = every_key(ids, parts.referrals.clone());
            self.referrals.feed_many(fed).await;
        }
    }
}
