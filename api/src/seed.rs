//! `xinfang seed`: a deterministic, realistic county for benchmarks — units, staff accounts
//! and as many cases as asked for, spread over three years and every status, with their
//! petitioners, relations, referrals, workflow records and a verifiable timeline.
//!
//! The rows are written directly, in multi-row INSERTs, rather than through the workflow
//! functions: going through `cases::register` and the workflow one case at a time would take
//! hours for 100,000 cases. The price is that this module must keep the invariants the
//! workflow keeps (see `cases::register_in_tx` and `workflow`): relation rows, deadlines per
//! status, version = number of saved actions, the hash chain. It does so by simulating each
//! case's life as a list of steps and folding them into rows the way the workflow would.
//!
//! Randomness comes from ChaCha8 with a fixed seed, and each case draws its texts from a
//! stream of its own, so the same `--cases` gives the same county (relative to the clock's
//! "now") however the work is chunked.

use crate::audit::{self, Actor, GENESIS};
use crate::auth;
use crate::calendar::{WorkCalendar, local_date};
use crate::clock::Clock;
use crate::config::Settings;
use crate::deadlines;
use crate::domain::{
    AcceptanceDecision, ApprovalStatus, CaseStatus, Category, Channel, DeliveryMethod, LegalRoute,
    OrgUnitKind, ReferralMode, ReferralStatus, ReplyOutcome, ReviewDecision, ReviewStage, Role,
    Satisfaction, UnitRelation,
};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait, Value,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::time::Instant;
use xinfang_entity::{org_unit, user};
use xinfang_migration::{Migrator, MigratorTrait};

/// The fixed seed: changing it changes every generated county.
const SEED: u64 = 0x58_46_20_26_5E_ED_00_01;
/// Cases per transaction. Each chunk also carries all rows hanging off its cases.
const CHUNK_CASES: usize = 1_000;
/// Bind parameters per INSERT stay under this: PostgreSQL allows 65,535, SQLite 32,766.
const PARAMS_PER_STATEMENT: usize = 16_000;
const YEARS: i64 = 3;
/// The seed's statement timeout: an hour, enough for a whole-table update of millions of cases.
const SEED_STATEMENT_TIMEOUT_MS: u64 = 3_600_000;

pub const COUNTY_USER: &str = "county_staff";
pub const TOWNSHIP_USER: &str = "township_staff";
pub const DEPARTMENT_USER: &str = "department_staff";
pub const BUREAU_USER: &str = "bureau_staff";

const CITY: &str = "邢台市";
const COUNTY: &str = "清河县";
/// 清河县's administrative division code, carried by its case numbers.
pub const COUNTY_CODE: &str = "130534";
const BUREAU: &str = "清河县信访局";
const DISCIPLINE: &str = "县纪委监委";

/// 20 townships; the first is where the township user works and gets the most cases.
const TOWNSHIPS: [&str; 20] = [
    "东关镇",
    "西营乡",
    "南湖街道",
    "葛仙庄镇",
    "连庄镇",
    "油坊镇",
    "谢炉镇",
    "王官庄镇",
    "坝营镇",
    "城关镇",
    "北马乡",
    "孙庄乡",
    "白塔乡",
    "杨二庄乡",
    "黄金庄乡",
    "马屯乡",
    "赵庄乡",
    "李家庄乡",
    "刘庄乡",
    "临河街道",
];

/// 40 county departments besides the petition bureau; the first is the department user's.
const DEPARTMENTS: [&str; 40] = [
    "县住建局",
    "县人社局",
    "县自然资源局",
    DISCIPLINE,
    "县公安局",
    "县教育局",
    "县卫健局",
    "县生态环境分局",
    "县农业农村局",
    "县水利局",
    "县交通运输局",
    "县民政局",
    "县财政局",
    "县市场监管局",
    "县城管局",
    "县应急管理局",
    "县商务局",
    "县文旅局",
    "县医保局",
    "县退役军人事务局",
    "县司法局",
    "县审计局",
    "县统计局",
    "县林业局",
    "县发改局",
    "县工信局",
    "县科技局",
    "县国资办",
    "县供销社",
    "县住房公积金中心",
    "县税务局",
    "县行政审批局",
    "县档案馆",
    "县气象局",
    "县粮食和物资储备局",
    "县残联",
    "县妇联",
    "县总工会",
    "县团委",
    "县融媒体中心",
];

/// Subject codes (as the initial migration creates them), how often each comes up for
/// appeals and suggestions, and the department in charge of it (`None`: one of several).
const SUBJECTS: [(&str, u32, Option<&str>); 10] = [
    ("LAND_EXPROPRIATION", 14, Some("县自然资源局")),
    ("HOUSING_DEMOLITION", 14, Some("县住建局")),
    ("LABOR_SOCIAL_SECURITY", 12, Some("县人社局")),
    ("MIGRANT_WORKER_WAGES", 12, Some("县人社局")),
    ("ENVIRONMENT", 8, Some("县生态环境分局")),
    ("ENTERPRISE_RESTRUCTURING", 4, Some("县国资办")),
    ("EDUCATION", 6, Some("县教育局")),
    ("HEALTHCARE", 6, Some("县卫健局")),
    ("OFFICIAL_CONDUCT", 4, Some(DISCIPLINE)),
    ("OTHER", 20, None),
];
const OFFICIAL_CONDUCT: usize = 8;
const OTHER_DEPARTMENTS: [&str; 7] = [
    "县民政局",
    "县城管局",
    "县交通运输局",
    "县农业农村局",
    "县水利局",
    "县市场监管局",
    "县公安局",
];

const SURNAMES: [&str; 40] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹",
    "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕",
];
const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "建华", "志强", "玉兰", "淑珍",
    "海燕", "红梅", "春生", "长顺", "福来", "金凤", "国庆", "保国", "振华", "文博", "子涵", "浩然",
];
const VILLAGES: [&str; 16] = [
    "张庄村",
    "李家屯",
    "后营村",
    "前街村",
    "北关村",
    "南辛庄",
    "王窑村",
    "刘官庄",
    "小屯村",
    "大杨庄",
    "东马村",
    "西孙庄",
    "河沿村",
    "新华社区",
    "建设社区",
    "和平社区",
];
/// Area codes for ID numbers: mostly 清河县 itself, then its neighbours.
const AREAS: [(&str, u32); 8] = [
    ("130534", 80),
    ("130502", 3),
    ("130523", 3),
    ("130525", 3),
    ("130532", 3),
    ("130533", 3),
    ("130581", 3),
    ("371581", 2),
];
const MOBILE_PREFIXES: [&str; 16] = [
    "130", "133", "135", "136", "137", "138", "139", "150", "151", "158", "159", "177", "180",
    "186", "189", "199",
];

/// What `xinfang seed` was asked for.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    pub cases: u64,
    pub password: String,
    /// Connections writing at once (PostgreSQL; SQLite has one writer).
    pub writers: usize,
}

/// Runs `xinfang seed`: migrates, refuses a database that already has units or accounts,
/// fills it, and prints what the benchmark needs.
pub async fn run(settings: Settings, options: SeedOptions) -> Result<(), String> {
    settings.validate()?;
    auth::check_password_rules("password", &options.password)
        .map_err(|e| e.message_for_operator())?;
    // Only the password hashing parameters are needed here; the seed signs no tokens, so
    // a missing JWT secret is no reason for the dev-mode warning about one.
    let mut auth_settings = settings.clone();
    if auth_settings.jwt_secret.is_none() && auth_settings.jwt_secret_file.is_none() {
        auth_settings.jwt_secret = Some(auth::random_token());
    }
    let auth = crate::auth::auth_config(&auth_settings)?;
    // The seed ends with whole-table statements (matters, numbering, links): over a
    // province's million cases each takes longer than a request's statement timeout, which
    // exists to stop runaway reads, not an operator's bulk load. A configured 0 (PostgreSQL's
    // "no timeout") stays 0.
    let mut settings = settings;
    if settings.db_statement_timeout_ms != 0 {
        settings.db_statement_timeout_ms = settings
            .db_statement_timeout_ms
            .max(SEED_STATEMENT_TIMEOUT_MS);
    }
    let db = crate::db::open(&settings).await?;
    Migrator::up(&db, None)
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    let sql = |e: sea_orm::DbErr| format!("database error: {e}");
    let units = org_unit::Entity::find().count(&db).await.map_err(sql)?;
    let accounts = user::Entity::find().count(&db).await.map_err(sql)?;
    if units > 0 || accounts > 0 {
        return Err(format!(
            "this database already has {units} units and {accounts} accounts; `xinfang seed` fills only an empty database (create a new one)"
        ));
    }
    let started = Instant::now();
    let storage = settings.storage()?;
    let filled = fill(
        &db,
        &auth,
        &storage,
        &options,
        std::io::stderr().is_terminal(),
    )
    .await?;
    let (summary, documents, files, practice) = (
        filled.summary,
        filled.documents,
        filled.files,
        filled.practice,
    );
    let total = options.cases as usize;
    let elapsed = started.elapsed();

    println!(
        "seeded {COUNTY}: {} units, {} accounts, {total} cases in {:.1} s",
        summary.units,
        summary.accounts,
        elapsed.as_secs_f64()
    );
    println!("cases by status:");
    for status in CaseStatus::ALL {
        let n = summary.by_status.get(status.as_str()).copied().unwrap_or(0);
        println!("  {:<16} {n}", status.as_str());
    }
    println!(
        "rows: {} petitioners, {} unit relations, {} referrals, {} timeline entries",
        summary.petitioners, summary.relations, summary.referrals, summary.events
    );
    println!(
        "{documents} written documents, {files} attachments (in {})",
        storage.describe
    );
    println!(
        "practice: {} roster lines, {} receptions, {} hearings, {} ownership plans, {} dispute reports, {} joint meeting items",
        practice.roster_lines,
        practice.receptions,
        practice.hearings,
        practice.plans,
        practice.dispute_reports,
        practice.joint_items
    );
    // The password itself is not echoed: it may be a chosen one, and output ends up in logs.
    println!("every account's password: the --password given (default bench-password-2026)");
    println!("county user:     {COUNTY_USER}");
    println!("township user:   {TOWNSHIP_USER} ({})", TOWNSHIPS[0]);
    println!("department user: {DEPARTMENT_USER} ({})", DEPARTMENTS[0]);
    println!("bureau user:     {BUREAU_USER}");
    Ok(())
}

/// What [`fill`] wrote.
pub struct Filled {
    summary: Summary,
    pub documents: usize,
    pub files: usize,
    pub practice: crate::seed_practice::Written,
}

/// Fills an empty, migrated database with the generated county: units, accounts (all with
/// `options.password`), cases over three years, their documents and files, and the practice
/// around them. `xinfang seed` and `xinfang demo` both build on it.
pub async fn fill(
    db: &DatabaseConnection,
    auth: &crate::auth::AuthConfig,
    storage: &crate::storage::Storage,
    options: &SeedOptions,
    progress: bool,
) -> Result<Filled, String> {
    // One argon2 hash for every account: hashing 200 passwords would take longer than the
    // cases, and every account sharing the known password is the point of a bench county.
    let password_hash = auth::hash_password(auth, &options.password)
        .await
        .map_err(|e| e.message_for_operator())?;
    let now = Clock::system().now();
    let world = World::build(now, password_hash);
    write_world(db, &world)
        .await
        .map_err(|e| e.message_for_operator())?;

    let bar = if progress {
        let bar = ProgressBar::new(options.cases);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} seeding cases [{bar:40}] {pos}/{len} ({elapsed}, about {eta} left)",
            )
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    // Generation (simulation, texts, hashes) runs on its own thread and hands finished
    // chunks to the writers, so the CPU work overlaps the database's.
    //
    // PostgreSQL gets several writers, each on its own connection. sqlx 0.9.0 leaves Nagle's
    // algorithm on (transact-rs/sqlx#4335), so each large INSERT over TCP idles ~40 ms for
    // a delayed ACK; one writer spent most of its time waiting (about 5x slower than over a
    // Unix socket), and parallel writers overlap those waits. SQLite has one writer anyway.
    let writers = match db.get_database_backend() {
        DatabaseBackend::Postgres => options.writers.clamp(1, 8),
        _ => 1,
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Batch>(writers + 2);
    let receiver = tokio::sync::Mutex::new(receiver);
    let total = options.cases as usize;
    let generator = std::thread::spawn(move || generate(world, total, sender));
    let writer = || async {
        loop {
            let next = receiver.lock().await.recv().await;
            let Some(batch) = next else {
                return Ok::<(), String>(());
            };
            let cases = batch.cases;
            write_batch(db, batch)
                .await
                .map_err(|e| e.message_for_operator())?;
            bar.inc(cases as u64);
        }
    };
    let written = futures_util::future::try_join_all((0..writers).map(|_| writer())).await;
    // On an error the receiver is gone, the generator's next send fails and it stops.
    drop(receiver);
    written?;
    let summary = generator
        .join()
        .map_err(|_| "the generator thread panicked".to_string())?;
    bar.finish_and_clear();
    finish(db, &summary)
        .await
        .map_err(|e| e.message_for_operator())?;
    let (documents, files) = documents_and_files(db, storage)
        .await
        .map_err(|e| e.message_for_operator())?;
    let practice = crate::seed_practice::seed(db, &Clock::system())
        .await
        .map_err(|e| e.message_for_operator())?;
    // The practice was written through the server's own functions; link its entries now, as a
    // running server would.
    crate::audit::link_pending(db, true)
        .await
        .map_err(|e| e.message_for_operator())?;
    Ok(Filled {
        summary,
        documents,
        files,
        practice,
    })
}

// ---------------------------------------------------------------------------------------
// The unit tree and its accounts

#[derive(Clone, Debug)]
struct Unit {
    id: i64,
    name: &'static str,
    kind: OrgUnitKind,
    parent_id: Option<i64>,
    path: String,
    bureau: bool,
    staff: Vec<i64>,
    leaders: Vec<i64>,
}

#[derive(Clone, Debug)]
struct Account {
    id: i64,
    username: String,
    display_name: String,
    role: Role,
    unit_id: i64,
}

/// Everything about the county that cases refer to.
struct World {
    now: DateTime<Utc>,
    password_hash: String,
    units: Vec<Unit>,
    accounts: Vec<Account>,
    city: usize,
    county: usize,
    bureau: usize,
    townships: Vec<usize>,
    departments: Vec<usize>,
    discipline: usize,
    by_name: HashMap<&'static str, usize>,
    calendar: WorkCalendar,
}

impl World {
    fn build(now: DateTime<Utc>, password_hash: String) -> World {
        let mut units: Vec<Unit> = vec![];
        let add = |name, kind, parent: Option<usize>, bureau, units: &mut Vec<Unit>| {
            let id = units.len() as i64 + 1;
            let (parent_id, parent_path) = match parent {
                Some(p) => (Some(units[p].id), units[p].path.clone()),
                None => (None, "/".to_string()),
            };
            units.push(Unit {
                id,
                name,
                kind,
                parent_id,
                path: format!("{parent_path}{id}/"),
                bureau,
                staff: vec![],
                leaders: vec![],
            });
            units.len() - 1
        };
        // The city exists so that a re-review (复核) has a body to go to: the county's
        // reviews go to its superior, and without one FINALIZED could never be reached.
        let city = add(CITY, OrgUnitKind::City, None, false, &mut units);
        let county = add(COUNTY, OrgUnitKind::County, Some(city), false, &mut units);
        let bureau = add(
            BUREAU,
            OrgUnitKind::Department,
            Some(county),
            true,
            &mut units,
        );
        let townships: Vec<usize> = TOWNSHIPS
            .iter()
            .map(|n| add(n, OrgUnitKind::Township, Some(county), false, &mut units))
            .collect();
        let departments: Vec<usize> = DEPARTMENTS
            .iter()
            .map(|n| add(n, OrgUnitKind::Department, Some(county), false, &mut units))
            .collect();
        let by_name: HashMap<&'static str, usize> =
            units.iter().enumerate().map(|(i, u)| (u.name, i)).collect();
        let discipline = by_name[DISCIPLINE];

        // 200 staff accounts plus the administrator. The named accounts come first in their
        // units so the bench can sign in as them.
        let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0xACC0);
        let mut accounts: Vec<Account> = vec![Account {
            id: 1,
            username: "admin".into(),
            display_name: "管理员".into(),
            role: Role::Admin,
            unit_id: units[county].id,
        }];
        let mut people = |unit: usize, count: usize, named: &[(&str, Role)], units: &mut [Unit]| {
            for k in 0..count {
                let id = accounts.len() as i64 + 1;
                let (username, role) = match named.get(k) {
                    Some((n, r)) => (n.to_string(), *r),
                    None => (
                        format!("u{:03}", id),
                        if k == 0 { Role::Leader } else { Role::Staff },
                    ),
                };
                let display_name = person_name(&mut rng);
                match role {
                    Role::Leader => units[unit].leaders.push(id),
                    Role::Staff => units[unit].staff.push(id),
                    _ => {}
                }
                accounts.push(Account {
                    id,
                    username,
                    display_name,
                    role,
                    unit_id: units[unit].id,
                });
            }
        };
        let staff = |name: &'static str| (name, Role::Staff);
        let leader = |name: &'static str| (name, Role::Leader);
        people(
            city,
            2,
            &[leader("city_leader"), staff("city_staff")],
            &mut units,
        );
        people(
            county,
            6,
            &[
                staff(COUNTY_USER),
                leader("county_leader"),
                leader("county_leader2"),
            ],
            &mut units,
        );
        people(
            bureau,
            12,
            &[
                staff(BUREAU_USER),
                leader("bureau_leader"),
                leader("bureau_leader2"),
            ],
            &mut units,
        );
        for (k, &t) in townships.iter().enumerate() {
            let named: &[(&str, Role)] = if k == 0 {
                &[staff(TOWNSHIP_USER), leader("township_leader")]
            } else {
                &[]
            };
            people(t, 4, named, &mut units);
        }
        for (k, &d) in departments.iter().enumerate() {
            let named: &[(&str, Role)] = if k == 0 {
                &[staff(DEPARTMENT_USER), leader("department_leader")]
            } else {
                &[]
            };
            people(d, if k < 20 { 3 } else { 2 }, named, &mut units);
        }
        debug_assert_eq!(accounts.len(), 201);
        World {
            now,
            password_hash,
            units,
            accounts,
            city,
            county,
            bureau,
            townships,
            departments,
            discipline,
            by_name,
            calendar: WorkCalendar::default(),
        }
    }

    fn unit(&self, id: i64) -> &Unit {
        &self.units[id as usize - 1]
    }

    fn id(&self, index: usize) -> i64 {
        self.units[index].id
    }

    /// Whether `unit` is `accused` or inside it: such a unit never gets a relation row.
    fn inside(&self, unit: i64, accused: Option<i64>) -> bool {
        accused.is_some_and(|a| self.unit(unit).path.starts_with(&self.unit(a).path))
    }

    fn staff_of(&self, unit: i64, rng: &mut ChaCha8Rng) -> i64 {
        let u = self.unit(unit);
        if u.staff.is_empty() {
            return u.leaders[rng.random_range(0..u.leaders.len())];
        }
        u.staff[rng.random_range(0..u.staff.len())]
    }

    fn leader_of(&self, unit: i64, rng: &mut ChaCha8Rng) -> i64 {
        let u = self.unit(unit);
        u.leaders[rng.random_range(0..u.leaders.len())]
    }

    fn department_for(&self, subject: usize, rng: &mut ChaCha8Rng) -> i64 {
        let name = SUBJECTS[subject]
            .2
            .unwrap_or_else(|| OTHER_DEPARTMENTS[rng.random_range(0..OTHER_DEPARTMENTS.len())]);
        self.id(self.by_name[name])
    }
}

async fn write_world(db: &DatabaseConnection, world: &World) -> crate::error::Result<()> {
    let tx = crate::db::begin_write(db).await?;
    let county_id = world.id(world.county);
    let mut units = Rows::new("org_units", ORG_UNIT_COLUMNS);
    for u in &world.units {
        let county = match u.kind {
            OrgUnitKind::City => None,
            _ => Some(county_id),
        };
        units.push(vec![
            u.id.into(),
            u.name.into(),
            u.kind.as_str().into(),
            u.parent_id.into(),
            county.into(),
            u.bureau.into(),
            (if u.bureau { county } else { None }).into(),
            (u.name == DISCIPLINE).into(),
            (if u.name == DISCIPLINE { county } else { None }).into(),
            u.path.clone().into(),
            true.into(),
            (world.now - TimeDelta::days(YEARS * 365 + 30)).into(),
            (u.kind == OrgUnitKind::County)
                .then_some(COUNTY_CODE)
                .into(),
        ]);
    }
    units.insert(&tx).await?;
    let mut users = Rows::new("users", USER_COLUMNS);
    for a in &world.accounts {
        users.push(vec![
            a.id.into(),
            a.username.clone().into(),
            auth::username_key(&a.username).into(),
            a.display_name.clone().into(),
            a.role.as_str().into(),
            Some(a.unit_id).into(),
            world.password_hash.clone().into(),
            true.into(),
            Option::<String>::None.into(),
            Option::<String>::None.into(),
            world.now.into(),
            world.now.into(),
        ]);
    }
    users.insert(&tx).await?;
    Ok(tx.commit().await?)
}

// ---------------------------------------------------------------------------------------
// The life of a case, as steps

#[derive(Clone, Copy, Debug)]
enum StepKind {
    Register,
    /// The lead unit confirms the system's proposal that the case repeats an earlier one.
    LinkRepeat,
    Refer {
        mode: ReferralMode,
        to: i64,
    },
    Acknowledge,
    AddAssisting {
        unit: i64,
    },
    AssistingOpinion {
        unit: i64,
    },
    Decide(AcceptanceDecision),
    ProgressNote {
        internal: bool,
    },
    ExtensionRequested {
        days: i32,
    },
    ExtensionApproved,
    SupervisionIssued {
        due: DateTime<Utc>,
    },
    SupervisionAnswered,
    LeaderOwnership,
    ReportFiled,
    ReportApproved,
    Reply(ReplyOutcome),
    Evaluate(Satisfaction),
    ReviewRequested(ReviewStage),
    ReviewDecided(ReviewDecision),
    Close,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    at: DateTime<Utc>,
    kind: StepKind,
}

/// The status a step leaves the case in (the workflow's transitions).
fn status_after(current: CaseStatus, kind: StepKind) -> CaseStatus {
    use CaseStatus::*;
    match kind {
        StepKind::Register | StepKind::Refer { .. } => Registered,
        StepKind::Decide(AcceptanceDecision::Accept) => InProgress,
        StepKind::Decide(_) => NotAccepted,
        StepKind::ReportFiled => Reported,
        StepKind::ReportApproved => InProgress,
        StepKind::Reply(_) => Replied,
        StepKind::ReviewRequested(ReviewStage::Review) => UnderReview,
        StepKind::ReviewRequested(ReviewStage::ReReview) => UnderReReview,
        StepKind::ReviewDecided(_) if current == UnderReview => Reviewed,
        StepKind::ReviewDecided(_) => Finalized,
        StepKind::Close => Closed,
        _ => current,
    }
}

/// The facts of a case that do not change as it moves.
#[derive(Clone, Debug)]
struct Facts {
    channel: Channel,
    category: Category,
    subject: usize,
    township: Option<i64>,
    accused: Option<i64>,
    /// Seeds the primary petitioner's identity, so a repeat names the same person.
    person: u64,
    listed: usize,
    person_count: i32,
    registering_unit: i64,
    first_lead: i64,
    /// Marked urgent at registration (紧急).
    urgent: bool,
}

struct Plan {
    facts: Facts,
    received_at: DateTime<Utc>,
    steps: Vec<Step>,
    status: CaseStatus,
    repeat_of: Option<usize>,
    not_acceptable: bool,
    /// When the case stopped being open (closed or not accepted), if it did.
    ended_at: Option<DateTime<Utc>>,
    finalized_at: Option<DateTime<Utc>>,
}

/// Which way a case goes at each fork; `forced` pins a status for small seeds.
#[derive(Clone, Copy, Debug, Default)]
struct Forks {
    assign: Option<bool>,
    decline: Option<bool>,
    review: Option<bool>,
    re_review: Option<bool>,
    stall: Option<CaseStatus>,
}

fn forks_for(status: CaseStatus) -> Forks {
    use CaseStatus::*;
    let mut f = Forks {
        stall: Some(status),
        decline: Some(status == NotAccepted),
        ..Default::default()
    };
    match status {
        Reported => f.assign = Some(true),
        UnderReview | Reviewed => f.review = Some(true),
        UnderReReview | Finalized => {
            f.review = Some(true);
            f.re_review = Some(true);
        }
        Closed => f.review = Some(false),
        _ => {}
    }
    f
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (v, w) in weighted {
        if x < *w {
            return *v;
        }
        x -= w;
    }
    weighted[weighted.len() - 1].0
}

fn hours(rng: &mut ChaCha8Rng, from: f64, to: f64) -> TimeDelta {
    TimeDelta::milliseconds(
        rng.random_range((from * 3_600_000.0) as i64..(to * 3_600_000.0) as i64),
    )
}

fn days(rng: &mut ChaCha8Rng, from: f64, to: f64) -> TimeDelta {
    hours(rng, from * 24.0, to * 24.0)
}

/// Draws the facts of a fresh (not repeated) case.
fn draw_facts(world: &World, rng: &mut ChaCha8Rng) -> Facts {
    use Channel::*;
    let channel = pick(
        rng,
        &[
            (Visit, 25),
            (Letter, 15),
            (Phone, 10),
            (Online, 18),
            (Hotline12345, 20),
            (Email, 3),
            (Fax, 1),
            (HigherReferral, 8),
        ],
    );
    let category = pick(
        rng,
        &[
            (Category::Appeal, 75),
            (Category::Suggestion, 13),
            (Category::Accusation, 12),
        ],
    );
    let subject = if category == Category::Accusation {
        pick(rng, &[(OFFICIAL_CONDUCT, 70), (0, 10), (1, 10), (9, 10)])
    } else {
        let weights: Vec<(usize, u32)> =
            SUBJECTS.iter().enumerate().map(|(i, s)| (i, s.1)).collect();
        pick(rng, &weights)
    };
    let township = if rng.random_bool(0.85) {
        // The first township is the busiest: a fifth of all township cases.
        let k = if rng.random_bool(0.2) {
            0
        } else {
            rng.random_range(1..world.townships.len())
        };
        Some(world.id(world.townships[k]))
    } else {
        None
    };
    let (listed, person_count) = if rng.random_bool(0.05) {
        (rng.random_range(1..=5), rng.random_range(5..=60))
    } else if rng.random_bool(0.1) {
        let n = rng.random_range(2..=3);
        (n, n as i32 + rng.random_range(0..=1))
    } else {
        (1, 1)
    };
    let person_count = person_count.max(listed as i32);
    let mut facts = Facts {
        channel,
        category,
        subject,
        township,
        accused: None,
        person: rng.random(),
        listed,
        person_count,
        registering_unit: 0,
        first_lead: 0,
        urgent: false,
    };
    // About one case in 33 is marked urgent — derived from the person drawn above, so the
    // generator's random stream (and every county it planned before) stays the same.
    facts.urgent = facts.person.is_multiple_of(33);
    route(world, &mut facts, rng);
    facts
}

/// Who registers a case and who leads it at registration (before any referral). An
/// accusation goes to the discipline unit, never to the unit it accuses.
fn route(world: &World, facts: &mut Facts, rng: &mut ChaCha8Rng) {
    let bureau = world.id(world.bureau);
    let discipline = world.id(world.discipline);
    if facts.category == Category::Accusation {
        let accused = facts.accused.unwrap_or_else(|| match facts.township {
            Some(t) if rng.random_bool(0.6) => t,
            _ => loop {
                let d = world.id(world.departments[rng.random_range(0..world.departments.len())]);
                if d != discipline {
                    break d;
                }
            },
        });
        facts.accused = Some(accused);
        (facts.registering_unit, facts.first_lead) = if rng.random_bool(0.75) {
            let lead = if rng.random_bool(0.3) {
                discipline
            } else {
                bureau
            };
            (bureau, lead)
        } else {
            (discipline, discipline)
        };
        return;
    }
    facts.accused = None;
    let subject_department = world.department_for(facts.subject, rng);
    let target = match facts.township {
        Some(t) if rng.random_bool(0.5) => t,
        _ => subject_department,
    };
    let roll = rng.random_range(0..100);
    (facts.registering_unit, facts.first_lead) = match facts.township {
        // The bureau registers most cases, and every online one; it keeps the case, names
        // the lead at once, or routes it later (see `draw_steps`).
        _ if roll < 55 || facts.channel == Channel::Online => {
            (bureau, if rng.random_bool(0.3) { target } else { bureau })
        }
        Some(t) if roll < 85 => (t, t),
        _ => (subject_department, subject_department),
    };
}
/// Where a case registered at the bureau is routed, if it is.
fn route_target(world: &World, facts: &Facts, rng: &mut ChaCha8Rng) -> i64 {
    if facts.category == Category::Accusation {
        return world.id(world.discipline);
    }
    match facts.township {
        Some(t) if rng.random_bool(0.5) => t,
        _ => world.department_for(facts.subject, rng),
    }
}

/// Draws a case's whole intended life from registration on; [`cut`] then keeps what has
/// happened by now.
fn draw_steps(
    world: &World,
    facts: &Facts,
    received_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    // None for a first petition; for a repeat, whether its matter was concluded before it.
    repeat: Option<bool>,
    forks: Forks,
    rng: &mut ChaCha8Rng,
) -> Vec<Step> {
    let bureau = world.id(world.bureau);
    let mut steps = vec![Step {
        at: created_at,
        kind: StepKind::Register,
    }];
    let mut lead = facts.first_lead;
    // The acceptance clock runs from receipt, and afresh from a referral's arrival.
    let mut clock_from = received_at;
    let mut t = created_at;
    let not_acceptable = repeat == Some(true);
    if repeat.is_some() {
        // The registering unit looks at the system's proposal at once and confirms it.
        t += TimeDelta::minutes(rng.random_range(5..50));
        steps.push(Step {
            at: t,
            kind: StepKind::LinkRepeat,
        });
    }
    let mut assigned = false;
    let wants_assign = forks.assign;
    // A case the bureau kept as lead is usually routed on within days (转送/交办).
    if lead == bureau && (wants_assign == Some(true) || rng.random_bool(0.8)) {
        let to = route_target(world, facts, rng);
        let mode = match wants_assign {
            Some(true) => ReferralMode::Assign,
            _ if rng.random_bool(0.25) => ReferralMode::Assign,
            _ => ReferralMode::Transfer,
        };
        t += hours(rng, 1.0, 72.0);
        steps.push(Step {
            at: t,
            kind: StepKind::Refer { mode, to },
        });
        clock_from = t;
        t += hours(rng, 2.0, 72.0);
        steps.push(Step {
            at: t,
            kind: StepKind::Acknowledge,
        });
        lead = to;
        assigned = mode == ReferralMode::Assign;
    }
    let accept_by = world
        .calendar
        .due_after_days(clock_from, deadlines::ACCEPTANCE_DAYS);
    let decision = if not_acceptable {
        AcceptanceDecision::DeclineConcluded
    } else if forks.decline == Some(true) {
        AcceptanceDecision::Decline
    } else if forks.decline == Some(false) || rng.random_bool(0.9) {
        AcceptanceDecision::Accept
    } else if facts.category == Category::Appeal && rng.random_bool(0.4) {
        AcceptanceDecision::RedirectToLegalRoute
    } else {
        AcceptanceDecision::Decline
    };
    let decided = if rng.random_bool(0.05) {
        accept_by + days(rng, 1.0, 10.0)
    } else {
        (t + hours(rng, 4.0, 24.0 * 12.0)).min(accept_by - TimeDelta::hours(2))
    };
    t = decided.max(t + TimeDelta::minutes(10));
    // Now and then the bureau presses for the decision (督办) shortly before it comes.
    if rng.random_bool(0.03) {
        steps.push(Step {
            at: t - hours(rng, 0.5, 2.0).min((t - steps[steps.len() - 1].at) / 2),
            kind: StepKind::SupervisionIssued {
                due: t + TimeDelta::days(10),
            },
        });
    }
    steps.push(Step {
        at: t,
        kind: StepKind::Decide(decision),
    });
    if decision != AcceptanceDecision::Accept {
        return sorted(steps);
    }
    let accepted = t;
    let mut handle_by = world
        .calendar
        .due_after_days(accepted, deadlines::HANDLING_DAYS);
    let mut side = vec![];
    if rng.random_bool(0.12) {
        let mut at = accepted + hours(rng, 2.0, 72.0);
        for _ in 0..rng.random_range(1..=2) {
            let unit = loop {
                let d = world.id(world.departments[rng.random_range(0..world.departments.len())]);
                if d != lead && !world.inside(d, facts.accused) {
                    break d;
                }
            };
            if side
                .iter()
                .any(|s: &Step| matches!(s.kind, StepKind::AddAssisting { unit: u } if u == unit))
            {
                continue;
            }
            side.push(Step {
                at,
                kind: StepKind::AddAssisting { unit },
            });
            if rng.random_bool(0.7) {
                side.push(Step {
                    at: at + days(rng, 1.0, 5.0),
                    kind: StepKind::AssistingOpinion { unit },
                });
            }
            at += hours(rng, 0.5, 6.0);
        }
    }
    if rng.random_bool(0.03) {
        side.push(Step {
            at: accepted + days(rng, 0.5, 8.0),
            kind: StepKind::LeaderOwnership,
        });
    }
    let mut reply_earliest = accepted + TimeDelta::days(10);
    if !assigned && rng.random_bool(0.05) {
        let asked = accepted + days(rng, 30.0, 45.0);
        let approved = asked + days(rng, 0.5, 3.0);
        let extra = rng.random_range(10..=30);
        side.push(Step {
            at: asked,
            kind: StepKind::ExtensionRequested { days: extra },
        });
        side.push(Step {
            at: approved,
            kind: StepKind::ExtensionApproved,
        });
        handle_by = world.calendar.due_after_days(handle_by, extra as u32);
        reply_earliest = approved + TimeDelta::hours(1);
    }
    let mut late_reply = rng.random_bool(0.07);
    if assigned {
        let filed = accepted + days(rng, 20.0, 50.0);
        let approved = filed + days(rng, 1.0, 7.0);
        side.push(Step {
            at: filed,
            kind: StepKind::ReportFiled,
        });
        side.push(Step {
            at: approved,
            kind: StepKind::ReportApproved,
        });
        reply_earliest = approved + TimeDelta::hours(2);
        late_reply = late_reply || reply_earliest > handle_by;
    }
    let replied = if late_reply {
        reply_earliest.max(handle_by) + days(rng, 1.0, 20.0)
    } else {
        let span = (handle_by - reply_earliest).max(TimeDelta::hours(3));
        reply_earliest + TimeDelta::milliseconds(rng.random_range(0..span.num_milliseconds()))
    };
    for _ in 0..rng.random_range(0..=1) {
        let span = (replied - accepted).num_milliseconds().max(2);
        let at = accepted + TimeDelta::milliseconds(rng.random_range(1..span));
        // The assigned case is REPORTED between filing and approval; notes are allowed then.
        side.push(Step {
            at,
            kind: StepKind::ProgressNote {
                internal: rng.random_bool(0.5),
            },
        });
    }
    if rng.random_bool(0.04) {
        let issued = accepted + days(rng, 1.0, 9.0);
        side.push(Step {
            at: issued,
            kind: StepKind::SupervisionIssued {
                due: issued + TimeDelta::days(10),
            },
        });
        if rng.random_bool(0.8) {
            side.push(Step {
                at: issued + days(rng, 0.5, 9.0),
                kind: StepKind::SupervisionAnswered,
            });
        }
    }
    // Side steps happen while the case is handled: none after the reply.
    side.retain(|s| s.at < replied);
    steps.extend(side);
    let outcome = if facts.category == Category::Suggestion {
        ReplyOutcome::Explained
    } else {
        pick(
            rng,
            &[
                (ReplyOutcome::Supported, 40),
                (ReplyOutcome::PartiallySupported, 25),
                (ReplyOutcome::NotSupported, 30),
                (ReplyOutcome::Explained, 5),
            ],
        )
    };
    steps.push(Step {
        at: replied,
        kind: StepKind::Reply(outcome),
    });
    let window = world
        .calendar
        .due_after_days(replied, deadlines::REVIEW_DAYS);
    let mut t = replied;
    let satisfaction = if rng.random_bool(0.7) {
        let s = pick(
            rng,
            &[
                (Satisfaction::Satisfied, 60),
                (Satisfaction::BasicallySatisfied, 25),
                (Satisfaction::Dissatisfied, 15),
            ],
        );
        t = replied + days(rng, 1.0, 20.0);
        steps.push(Step {
            at: t,
            kind: StepKind::Evaluate(s),
        });
        Some(s)
    } else {
        None
    };
    let dissatisfied = satisfaction == Some(Satisfaction::Dissatisfied);
    // Only appeals are reviewed (domain §4).
    let review = facts.category == Category::Appeal
        && forks
            .review
            .unwrap_or_else(|| rng.random_bool(if dissatisfied { 0.5 } else { 0.05 }));
    if !review {
        let closed = match satisfaction {
            Some(Satisfaction::Satisfied | Satisfaction::BasicallySatisfied) => {
                t + days(rng, 0.2, 5.0)
            }
            _ => window + days(rng, 0.5, 10.0),
        };
        steps.push(Step {
            at: closed,
            kind: StepKind::Close,
        });
        return sorted(steps);
    }
    let requested = (t + days(rng, 1.0, 10.0)).min(window - TimeDelta::hours(3));
    steps.push(Step {
        at: requested,
        kind: StepKind::ReviewRequested(ReviewStage::Review),
    });
    let review_due = world
        .calendar
        .due_after_days(requested, deadlines::REVIEW_DAYS);
    let decided = if rng.random_bool(0.05) {
        review_due + days(rng, 1.0, 10.0)
    } else {
        requested + days(rng, 5.0, 29.0).min(review_due - requested - TimeDelta::hours(1))
    };
    let decision = |rng: &mut ChaCha8Rng| {
        pick(
            rng,
            &[(ReviewDecision::Uphold, 85), (ReviewDecision::Change, 15)],
        )
    };
    steps.push(Step {
        at: decided,
        kind: StepKind::ReviewDecided(decision(rng)),
    });
    let window = world
        .calendar
        .due_after_days(decided, deadlines::REVIEW_DAYS);
    if !forks.re_review.unwrap_or_else(|| rng.random_bool(0.3)) {
        steps.push(Step {
            at: window + days(rng, 0.5, 10.0),
            kind: StepKind::Close,
        });
        return sorted(steps);
    }
    let requested = (decided + days(rng, 3.0, 28.0)).min(window - TimeDelta::hours(3));
    steps.push(Step {
        at: requested,
        kind: StepKind::ReviewRequested(ReviewStage::ReReview),
    });
    let due = world
        .calendar
        .due_after_days(requested, deadlines::REVIEW_DAYS);
    let decided = requested + days(rng, 5.0, 29.0).min(due - requested - TimeDelta::hours(1));
    steps.push(Step {
        at: decided,
        kind: StepKind::ReviewDecided(decision(rng)),
    });
    sorted(steps)
}

fn sorted(mut steps: Vec<Step>) -> Vec<Step> {
    // Stable: steps drawn at the same instant keep the order they were drawn in.
    steps.sort_by_key(|s| s.at);
    steps
}

/// Keeps the steps that have happened by `now`, and stops early at a stalled status (a case
/// left lying in that state, as some are).
fn cut(steps: &mut Vec<Step>, now: DateTime<Utc>, stall: Option<CaseStatus>) -> CaseStatus {
    let mut status = CaseStatus::Registered;
    let mut keep = 0;
    for step in steps.iter() {
        if step.at > now {
            break;
        }
        status = status_after(status, step.kind);
        keep += 1;
        if stall == Some(status) {
            break;
        }
    }
    steps.truncate(keep.max(1));
    status
}

/// Draws every case's facts and life, in registration order. Repeats (重复信访) name the
/// same person and subject as an earlier matter that was still open — or finalized, which
/// makes them not acceptable again — when they arrived.
fn plan_cases(world: &World, total: usize) -> Vec<Plan> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let now = world.now;
    let span_ms = (TimeDelta::days(YEARS * 365) - TimeDelta::minutes(10)).num_milliseconds();
    let start = now - TimeDelta::days(YEARS * 365);
    let mut created: Vec<DateTime<Utc>> = (0..total)
        .map(|_| start + TimeDelta::milliseconds(rng.random_range(0..span_ms)))
        .collect();
    created.sort();
    // A few cases, spread through the oldest half, are pinned to each status so that even a
    // small seed shows every one of them.
    let mut pinned: HashMap<usize, CaseStatus> = HashMap::new();
    if total >= 40 {
        for (k, status) in CaseStatus::ALL.iter().enumerate() {
            pinned.insert(k * total / 20 + 1, *status);
        }
    }
    let mut plans: Vec<Plan> = Vec::with_capacity(total);
    for (i, &created_at) in created.iter().enumerate() {
        let mut facts = draw_facts(world, &mut rng);
        let mut repeat_of = None;
        let mut not_acceptable = false;
        let forced = pinned.get(&i).copied();
        if forced.is_none() && i > 0 && rng.random_bool(0.07) {
            for _ in 0..8 {
                // Most repeats follow within weeks; some come back long after, when the
                // matter may have been finalized (and is then not accepted again).
                let j = if rng.random_bool(0.7) {
                    i - 1 - rng.random_range(0..i.min(3_000))
                } else {
                    rng.random_range(0..i)
                };
                let earlier = &plans[j];
                let open_then = earlier.ended_at.is_none_or(|end| end > created_at);
                let finalized_before = earlier.finalized_at.is_some_and(|f| f <= created_at);
                if earlier.repeat_of.is_none() && (open_then || finalized_before) {
                    // The same person on the same matter; who registers it this time is
                    // drawn afresh (an accusation keeps its accused unit).
                    let e = &earlier.facts;
                    facts.category = e.category;
                    facts.subject = e.subject;
                    facts.township = e.township;
                    facts.accused = e.accused;
                    facts.person = e.person;
                    route(world, &mut facts, &mut rng);
                    repeat_of = Some(j);
                    not_acceptable = finalized_before;
                    break;
                }
            }
        }
        if forced.is_some() {
            // Pinned cases start at the bureau so that every path (an assignment included)
            // is open to them.
            facts.registering_unit = world.id(world.bureau);
            facts.first_lead = world.id(world.bureau);
        }
        // One urgent matter or group visit in three is registered a day or more late (迟报),
        // chosen by the person drawn earlier: one draw of `hours` replaces the usual one.
        let late = (facts.urgent
            || crate::cases::is_group_visit(facts.channel, facts.person_count))
            && (facts.person >> 8).is_multiple_of(3);
        let received_at = match facts.channel {
            _ if late => created_at - hours(&mut rng, 26.0, 60.0),
            Channel::Letter | Channel::Email | Channel::Fax | Channel::HigherReferral => {
                created_at - hours(&mut rng, 1.0, 48.0)
            }
            _ => created_at - TimeDelta::minutes(rng.random_range(0..90)),
        };
        // A repeat is received after the petition it repeats (a back-dated letter included).
        let received_at = match repeat_of {
            Some(j) if received_at <= plans[j].received_at => {
                (plans[j].received_at + TimeDelta::minutes(1)).min(created_at)
            }
            _ => received_at,
        };
        let forks = match forced {
            Some(s) => forks_for(s),
            None if rng.random_bool(0.015) => Forks {
                stall: Some(pick(
                    &mut rng,
                    &[
                        (CaseStatus::Registered, 1),
                        (CaseStatus::InProgress, 4),
                        (CaseStatus::Replied, 2),
                    ],
                )),
                ..Default::default()
            },
            None => Forks::default(),
        };
        let mut steps = draw_steps(
            world,
            &facts,
            received_at,
            created_at,
            repeat_of.map(|_| not_acceptable),
            forks,
            &mut rng,
        );
        let status = cut(&mut steps, now, forks.stall);
        let last = steps[steps.len() - 1].at;
        let ended_at =
            matches!(status, CaseStatus::Closed | CaseStatus::NotAccepted).then_some(last);
        let finalized_at = (status == CaseStatus::Finalized).then_some(last);
        plans.push(Plan {
            facts,
            received_at,
            steps,
            status,
            repeat_of,
            not_acceptable,
            ended_at,
            finalized_at,
        });
    }
    plans
}

// ---------------------------------------------------------------------------------------
// People and texts

fn person_name(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

/// A valid 18-character resident ID number: area, birth date, sequence, GB 11643 check.
fn id_number(rng: &mut ChaCha8Rng) -> String {
    let area = pick(rng, &AREAS);
    let first = NaiveDate::from_ymd_opt(1945, 1, 1).unwrap_or_default();
    let birth = first + TimeDelta::days(rng.random_range(0..58 * 365));
    let first17 = format!(
        "{area}{}{:03}",
        birth.format("%Y%m%d"),
        rng.random_range(1..1000)
    );
    let check = crate::validate::id_check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

fn mobile(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{:08}",
        MOBILE_PREFIXES[rng.random_range(0..MOBILE_PREFIXES.len())],
        rng.random_range(0..100_000_000)
    )
}

struct Person {
    name: String,
    id_number: String,
    phone: String,
    address: String,
}

fn person(seed: u64, township: Option<&str>) -> Person {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let name = person_name(&mut rng);
    let id_number = id_number(&mut rng);
    let phone = mobile(&mut rng);
    let address = format!(
        "{COUNTY}{}{}{}号",
        township.unwrap_or("城区"),
        VILLAGES[rng.random_range(0..VILLAGES.len())],
        rng.random_range(1..200)
    );
    Person {
        name,
        id_number,
        phone,
        address,
    }
}

fn title_and_content(
    subject: usize,
    category: Category,
    place: &str,
    rng: &mut ChaCha8Rng,
) -> (String, String) {
    let village = VILLAGES[rng.random_range(0..VILLAGES.len())];
    let titles: [&str; 3] = match (category, SUBJECTS[subject].0) {
        (Category::Accusation, _) => [
            "反映{p}干部违规收取费用",
            "举报{p}{v}村干部优亲厚友",
            "反映{p}工作人员作风粗暴",
        ],
        (Category::Suggestion, _) => [
            "建议改善{p}{v}道路照明",
            "关于{p}农贸市场管理的建议",
            "建议{p}增设公交站点",
        ],
        (_, "LAND_EXPROPRIATION") => [
            "{p}{v}土地征收补偿标准过低",
            "{v}征地补偿款未发放到位",
            "反映{p}征地程序不规范",
        ],
        (_, "HOUSING_DEMOLITION") => [
            "{p}{v}拆迁补偿款未足额发放",
            "反映{v}安置房迟迟未交付",
            "{p}旧城改造拆迁评估不公",
        ],
        (_, "LABOR_SOCIAL_SECURITY") => [
            "社保转移接续办理缓慢",
            "反映{p}企业未缴纳社会保险",
            "养老保险待遇核定有误",
        ],
        (_, "MIGRANT_WORKER_WAGES") => [
            "{p}工地拖欠农民工工资",
            "反映{v}建筑项目欠薪",
            "讨要{p}某公司拖欠工资",
        ],
        (_, "ENVIRONMENT") => [
            "{p}{v}养殖场污染严重",
            "反映{p}企业夜间排污",
            "{v}垃圾堆放无人清理",
        ],
        (_, "ENTERPRISE_RESTRUCTURING") => [
            "原县属企业改制职工安置问题",
            "反映企业改制后工龄认定",
            "改制企业职工医疗保险问题",
        ],
        (_, "EDUCATION") => [
            "{p}学校入学划片不合理",
            "反映{p}中学乱收费",
            "{v}小学校车安全问题",
        ],
        (_, "HEALTHCARE") => [
            "反映{p}卫生院服务态度差",
            "医保报销比例有异议",
            "{p}{v}村卫生室药价过高",
        ],
        (_, "OFFICIAL_CONDUCT") => [
            "反映{p}办事推诿扯皮",
            "{p}窗口办事效率低",
            "反映{p}干部不作为",
        ],
        _ => [
            "{p}{v}道路破损影响出行",
            "反映{v}低保评定不公",
            "{p}噪音扰民问题",
        ],
    };
    let title = titles[rng.random_range(0..3)]
        .replace("{p}", place)
        .replace("{v}", village);
    const OPENINGS: [&str; 4] = [
        "本人系{p}{v}村民，",
        "我们是{p}{v}的群众，",
        "信访人反映：",
        "来信人称：",
    ];
    const MIDDLES: &[&str] = &[
        "此事已多次向村委会和镇政府反映，至今未得到解决。",
        "当时有关负责人口头承诺年底前解决，但一直没有兑现。",
        "具体情况是，对方以各种理由拖延，至今没有给出明确说法。",
        "家中老人常年患病，经济十分困难，实在无力承担。",
        "相关部门答复需要研究，但一直没有结果。",
        "该问题已持续一年有余，严重影响家庭生活。",
        "曾于去年拨打12345热线，工作人员答应核实后回复，至今未见回音。",
        "涉及群众二十余户，大家意见很大。",
        "我们手中有相关协议和票据，可以提供。",
    ];
    const ENDINGS: [&str; 3] = [
        "恳请有关部门依法依规调查处理，并给予书面答复。",
        "希望领导高度重视，尽快协调解决。",
        "请求上级部门督促落实，维护群众合法权益。",
    ];
    let mut content = OPENINGS[rng.random_range(0..OPENINGS.len())]
        .replace("{p}", place)
        .replace("{v}", village);
    content.push_str(&format!("{title}。"));
    for _ in 0..rng.random_range(3..=6) {
        content.push_str(MIDDLES[rng.random_range(0..MIDDLES.len())]);
    }
    content.push_str(ENDINGS[rng.random_range(0..ENDINGS.len())]);
    (title, content)
}

// ---------------------------------------------------------------------------------------
// Rows

const ORG_UNIT_COLUMNS: &str = "id name kind parent_id county_id petition_bureau bureau_of_county_id \
     discipline_body discipline_of_county_id path active created_at division_code";
const USER_COLUMNS: &str = "id username username_key display_name role org_unit_id password_hash active \
     phone id_number created_at updated_at";
const CASE_COLUMNS: &str = "id county_id number version status channel category subject title content \
     received_at township_id lead_unit_id registered_by_unit_id registered_by_user_id \
     accused_unit_id person_count is_group repeat_of_id not_acceptable \
     submitted_by_user_id accept_by handle_by due_at acceptance_decision \
     acceptance_reason legal_route accept_decided_at replied_at review_request_by \
     decide_by reviewing_unit_id extension_days leader_user_id assignment_id \
     report_approved closed_at created_at updated_at urgent registration_delay_minutes registered_late";
const PETITIONER_COLUMNS: &str =
    "case_id position name id_number phone address representative user_id";
const CASE_UNIT_COLUMNS: &str = "case_id unit_id relation received_at";
const REFERRAL_COLUMNS: &str = "id case_id mode from_unit_id to_unit_id reason report_due_at status object_by \
     objection_reason created_by_user_id created_at resolved_by_user_id resolved_at \
     resolution_note sender_accept_by sender_accept_decided_at";
const EXTENSION_COLUMNS: &str = "id case_id days reason status requested_by_user_id requested_at \
     decided_by_user_id decided_at note";
const REPLY_COLUMNS: &str = "case_id outcome facts reasons basis signed_by_user_id unit_id review_unit_id \
     review_request_by issued_at delivered_at delivery_method delivery_recorded_by_user_id";
const EVALUATION_COLUMNS: &str = "case_id satisfaction comment on_behalf by_user_id at";
const REVIEW_COLUMNS: &str = "case_id stage reason requested_by_user_id on_behalf requested_at \
     reviewing_unit_id decide_by decision text decided_by_user_id decided_at delivered_at \
     delivery_method delivery_recorded_by_user_id change_mode";
const SUPERVISION_COLUMNS: &str = "id case_id text due_at issued_by_user_id issued_at answer answered_by_user_id \
     answered_at";
const REPORT_COLUMNS: &str = "id case_id referral_id text filed_by_user_id filed_at status decided_by_user_id \
     decided_at note";
const EVENT_COLUMNS: &str =
    "case_id seq at actor_user_id actor_unit_id action detail public prev_hash hash";
const CHAIN_COLUMNS: &str = "county_id seq case_id case_seq entry_hash prev_hash hash";

/// Rows of one table, written as multi-row INSERTs.
struct Rows {
    table: &'static str,
    columns: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
}

impl Rows {
    /// `columns` are the column names separated by whitespace.
    fn new(table: &'static str, columns: &'static str) -> Rows {
        Rows {
            table,
            columns: columns.split_whitespace().collect(),
            rows: vec![],
        }
    }

    fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{}", self.table);
        self.rows.push(row);
    }

    async fn insert(self, db: &impl ConnectionTrait) -> Result<(), sea_orm::DbErr> {
        let per_statement = (PARAMS_PER_STATEMENT / self.columns.len()).clamp(1, 1_000);
        let mut rows = self.rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new(self.table))
                .columns(self.columns.iter().map(|c| Alias::new(*c)));
            for row in rows.by_ref().take(per_statement) {
                insert.values_panic(row.into_iter().map(Expr::from));
            }
            db.execute(&insert).await?;
        }
        Ok(())
    }
}

/// One transaction's worth: a chunk of cases and everything hanging off them, in the order
/// the foreign keys need.
struct Batch {
    cases: usize,
    tables: Vec<Rows>,
}

/// Running totals the generator hands back when it is done.
#[derive(Default)]
struct Summary {
    units: usize,
    accounts: usize,
    by_status: BTreeMap<&'static str, usize>,
    numbers: BTreeMap<i32, i64>,
    county_id: i64,
    petitioners: usize,
    relations: usize,
    referrals: usize,
    events: usize,
    /// (case, the earlier case it repeats).
    repeats: Vec<(i64, i64)>,
}

/// Next ids of the tables whose ids other rows (or timeline details) refer to.
#[derive(Default)]
struct Ids {
    referral: i64,
    extension: i64,
    supervision: i64,
    report: i64,
}

fn generate(world: World, total: usize, sender: tokio::sync::mpsc::Sender<Batch>) -> Summary {
    let plans = plan_cases(&world, total);
    let mut summary = Summary {
        units: world.units.len(),
        accounts: world.accounts.len(),
        county_id: world.id(world.county),
        ..Default::default()
    };
    // Numbers per local year of registration, in registration order, like the counter.
    let mut numbers = Vec::with_capacity(plans.len());
    for plan in &plans {
        let year = local_date(plan.steps[0].at).year();
        let n = summary.numbers.entry(year).or_insert(0);
        *n += 1;
        numbers.push(format!("XF-{COUNTY_CODE}-{year}-{:06}", *n));
    }
    let mut ids = Ids::default();
    // The county chain links every entry once more, in the order they are generated.
    let mut chain_head = (0i64, audit::GENESIS.to_string());
    let mut start = 0;
    while start < plans.len() {
        let end = (start + CHUNK_CASES).min(plans.len());
        let mut batch = CaseRows::default();
        for i in start..end {
            let first_event = batch.events.rows.len();
            build_case(&world, &plans, i, &numbers[i], &mut ids, &mut batch);
            for e in first_event..batch.events.rows.len() {
                let (
                    Value::BigInt(Some(case_id)),
                    Value::Int(Some(case_seq)),
                    Value::String(Some(entry_hash)),
                ) = (
                    &batch.events.rows[e][0],
                    &batch.events.rows[e][1],
                    &batch.events.rows[e][9],
                )
                else {
                    unreachable!("event rows are (case_id, seq, …, hash)")
                };
                let seq = chain_head.0 + 1;
                let hash = audit::county_link_hash(
                    &chain_head.1,
                    summary.county_id,
                    seq,
                    *case_id,
                    *case_seq,
                    entry_hash,
                );
                let row = vec![
                    summary.county_id.into(),
                    seq.into(),
                    (*case_id).into(),
                    (*case_seq).into(),
                    entry_hash.clone().into(),
                    chain_head.1.clone().into(),
                    hash.clone().into(),
                ];
                batch.chain.push(row);
                chain_head = (seq, hash);
            }
            *summary
                .by_status
                .entry(plans[i].status.as_str())
                .or_insert(0) += 1;
            if let Some(j) = plans[i].repeat_of {
                summary.repeats.push((i as i64 + 1, j as i64 + 1));
            }
        }
        summary.petitioners += batch.petitioners.rows.len();
        summary.relations += batch.relations.rows.len();
        summary.referrals += batch.referrals.rows.len();
        summary.events += batch.events.rows.len();
        let batch = Batch {
            cases: end - start,
            tables: batch.into_tables(),
        };
        if sender.blocking_send(batch).is_err() {
            // The writer stopped (a database error); it reports why.
            break;
        }
        start = end;
    }
    summary
}

struct CaseRows {
    cases: Rows,
    petitioners: Rows,
    relations: Rows,
    referrals: Rows,
    extensions: Rows,
    replies: Rows,
    evaluations: Rows,
    reviews: Rows,
    supervisions: Rows,
    reports: Rows,
    events: Rows,
    chain: Rows,
}

impl Default for CaseRows {
    fn default() -> Self {
        CaseRows {
            cases: Rows::new("cases", CASE_COLUMNS),
            petitioners: Rows::new("case_petitioners", PETITIONER_COLUMNS),
            relations: Rows::new("case_units", CASE_UNIT_COLUMNS),
            referrals: Rows::new("referrals", REFERRAL_COLUMNS),
            extensions: Rows::new("extensions", EXTENSION_COLUMNS),
            replies: Rows::new("replies", REPLY_COLUMNS),
            evaluations: Rows::new("evaluations", EVALUATION_COLUMNS),
            reviews: Rows::new("reviews", REVIEW_COLUMNS),
            supervisions: Rows::new("supervisions", SUPERVISION_COLUMNS),
            reports: Rows::new("completion_reports", REPORT_COLUMNS),
            events: Rows::new("case_events", EVENT_COLUMNS),
            chain: Rows::new("county_chain", CHAIN_COLUMNS),
        }
    }
}

impl CaseRows {
    fn into_tables(self) -> Vec<Rows> {
        vec![
            self.cases,
            self.petitioners,
            self.relations,
            self.referrals,
            self.extensions,
            self.replies,
            self.evaluations,
            self.reviews,
            self.supervisions,
            self.reports,
            self.events,
            self.chain,
        ]
    }
}

/// A row being built up as the case's steps are replayed; later steps change earlier rows
/// (a referral is acknowledged, a review decided), so they are kept open until the end.
struct Open<T> {
    id: i64,
    row: T,
}

struct ReferralRow {
    case_id: i64,
    mode: ReferralMode,
    from: i64,
    to: i64,
    report_due_at: Option<DateTime<Utc>>,
    reason: &'static str,
    status: ReferralStatus,
    object_by: DateTime<Utc>,
    by: i64,
    at: DateTime<Utc>,
    /// Who acknowledged it, and when (as `workflow::acknowledge_referral` records it).
    resolved: Option<(i64, DateTime<Utc>)>,
    /// The sender's acceptance clock as it stood (due, decided).
    sender_clock: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
}

/// An extension request, supervision order or completion report: who filed it when, and
/// who decided (approved, answered) it when, if anyone has yet.
struct Record {
    id: i64,
    by: i64,
    at: DateTime<Utc>,
    /// Days (extension), due date (supervision) or referral id (report).
    days: i32,
    due: Option<DateTime<Utc>>,
    referral: i64,
    decided: Option<(i64, DateTime<Utc>)>,
}

impl Record {
    fn new(id: i64, by: i64, at: DateTime<Utc>) -> Record {
        Record {
            id,
            by,
            at,
            days: 0,
            due: None,
            referral: 0,
            decided: None,
        }
    }
}

struct ReviewRow {
    stage: ReviewStage,
    requested_by: i64,
    requested_at: DateTime<Utc>,
    reviewing_unit: i64,
    decide_by: DateTime<Utc>,
    decision: Option<(ReviewDecision, i64, DateTime<Utc>)>,
}

/// The case's mutable columns, as the workflow leaves them after each step.
struct CaseState {
    status: CaseStatus,
    version: i32,
    lead: i64,
    accept_by: Option<DateTime<Utc>>,
    handle_by: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    acceptance_decision: Option<AcceptanceDecision>,
    acceptance_reason: Option<String>,
    legal_route: Option<LegalRoute>,
    accept_decided_at: Option<DateTime<Utc>>,
    replied_at: Option<DateTime<Utc>>,
    review_request_by: Option<DateTime<Utc>>,
    decide_by: Option<DateTime<Utc>>,
    reviewing_unit: Option<i64>,
    extension_days: i32,
    leader: Option<i64>,
    assignment: Option<i64>,
    report_approved: bool,
    closed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

/// Replays a planned case into its rows: the case itself, its petitioners and relations, the
/// workflow records and the hash-chained timeline.
fn build_case(
    world: &World,
    plans: &[Plan],
    index: usize,
    number: &str,
    ids: &mut Ids,
    out: &mut CaseRows,
) {
    let plan = &plans[index];
    let facts = &plan.facts;
    let case_id = index as i64 + 1;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    rng.set_stream(case_id as u64);
    let cal = &world.calendar;
    let bureau = world.id(world.bureau);
    let created_at = plan.steps[0].at;
    let township_name = facts.township.map(|t| world.unit(t).name);
    let place = township_name.unwrap_or(COUNTY);
    let (title, content) = title_and_content(facts.subject, facts.category, place, &mut rng);
    let registered_by = world.staff_of(facts.registering_unit, &mut rng);

    // Petitioners: the first is the person a repeat shares; group petitions list their
    // representatives.
    let group = crate::cases::is_group_visit(facts.channel, facts.person_count);
    for position in 0..facts.listed {
        let seed = if position == 0 {
            facts.person
        } else {
            rng.random()
        };
        let p = person(seed, township_name);
        out.petitioners.push(vec![
            case_id.into(),
            (position as i32).into(),
            p.name.into(),
            Some(p.id_number).into(),
            Some(p.phone).into(),
            Some(p.address).into(),
            group.into(),
            Option::<i64>::None.into(),
        ]);
    }

    let mut state = CaseState {
        status: CaseStatus::Registered,
        version: 0,
        lead: facts.first_lead,
        accept_by: None,
        handle_by: None,
        due_at: None,
        acceptance_decision: None,
        acceptance_reason: None,
        legal_route: None,
        accept_decided_at: None,
        replied_at: None,
        review_request_by: None,
        decide_by: None,
        reviewing_unit: None,
        extension_days: 0,
        leader: None,
        assignment: None,
        report_approved: false,
        closed_at: None,
        updated_at: created_at,
    };
    // (unit, relation) rows, in the order they were added; moving the lead removes some.
    let mut relations: Vec<(i64, UnitRelation)> = vec![];
    let relate = |relations: &mut Vec<(i64, UnitRelation)>, unit: i64, relation| {
        if !relations.contains(&(unit, relation)) {
            relations.push((unit, relation));
        }
    };
    let mut referrals: Vec<Open<ReferralRow>> = vec![];
    let mut extensions: Vec<Record> = vec![];
    let mut supervisions: Vec<Record> = vec![];
    let mut reports: Vec<Record> = vec![];
    let mut reviews: Vec<ReviewRow> = vec![];
    let mut prev = GENESIS.to_string();

    for (k, step) in plan.steps.iter().enumerate() {
        let at = step.at;
        let staff = world.staff_of(state.lead, &mut rng);
        let (actor_user, actor_unit, action, detail, public): (
            i64,
            i64,
            String,
            serde_json::Value,
            bool,
        ) = match step.kind {
            StepKind::Register => {
                let accept_by = cal.due_after_days(plan.received_at, deadlines::ACCEPTANCE_DAYS);
                state.accept_by = Some(accept_by);
                state.due_at = Some(accept_by);
                relate(&mut relations, facts.first_lead, UnitRelation::Lead);
                if !world.inside(facts.registering_unit, facts.accused) {
                    relate(
                        &mut relations,
                        facts.registering_unit,
                        UnitRelation::Registered,
                    );
                }
                if let Some(t) = facts.township
                    && !world.inside(t, facts.accused)
                {
                    relate(&mut relations, t, UnitRelation::Territory);
                }
                let detail = json!({
                    "number": number,
                    "channel": facts.channel.as_str(),
                    "category": facts.category.as_str(),
                    "subject": SUBJECTS[facts.subject].0,
                    "leadUnitId": facts.first_lead,
                    "townshipId": facts.township,
                    "personCount": facts.person_count,
                    "acceptBy": accept_by,
                });
                (
                    registered_by,
                    facts.registering_unit,
                    "REGISTER".into(),
                    detail,
                    true,
                )
            }
            StepKind::Refer { mode, to } => {
                ids.referral += 1;
                let id = ids.referral;
                let from = state.lead;
                let report_due_at = (mode == ReferralMode::Assign)
                    .then(|| cal.due_after_days(at, deadlines::HANDLING_DAYS));
                let reason = if facts.category == Category::Accusation {
                    "检举控告事项，按管理权限转纪检监察机关办理"
                } else {
                    "按照属地管理、分级负责和谁主管、谁负责的原则转办"
                };
                referrals.push(Open {
                    id,
                    row: ReferralRow {
                        case_id,
                        mode,
                        from,
                        to,
                        report_due_at,
                        reason,
                        status: ReferralStatus::Pending,
                        object_by: cal
                            .due_after_working_days(at, deadlines::OBJECTION_WORKING_DAYS),
                        by: staff,
                        at,
                        resolved: None,
                        sender_clock: (state.accept_by, state.accept_decided_at),
                    },
                });
                relations.retain(|&(u, r)| {
                    !(u == from && matches!(r, UnitRelation::Lead | UnitRelation::PendingReferral))
                });
                relate(&mut relations, to, UnitRelation::Lead);
                relate(&mut relations, to, UnitRelation::PendingReferral);
                let accept_by = cal.due_after_days(at, deadlines::ACCEPTANCE_DAYS);
                state.lead = to;
                state.status = CaseStatus::Registered;
                state.accept_by = Some(accept_by);
                state.accept_decided_at = None;
                state.due_at = Some(accept_by);
                state.handle_by = None;
                state.extension_days = 0;
                state.report_approved = false;
                state.assignment = (mode == ReferralMode::Assign).then_some(id);
                let detail = json!({
                    "referralId": id, "mode": mode.as_str(), "fromUnitId": from, "toUnitId": to,
                    "reason": reason, "reportDueAt": report_due_at,
                });
                (staff, from, mode.as_str().into(), detail, true)
            }
            StepKind::Acknowledge => {
                let r = referrals.last_mut().map(|r| {
                    r.row.status = ReferralStatus::Acknowledged;
                    r.row.resolved = Some((staff, at));
                    r.id
                });
                let lead = state.lead;
                relations.retain(|&(u, rel)| !(u == lead && rel == UnitRelation::PendingReferral));
                (
                    staff,
                    lead,
                    "REFERRAL_ACKNOWLEDGED".into(),
                    json!({ "referralId": r }),
                    false,
                )
            }
            StepKind::Decide(decision) => {
                let (reason, route) = match decision {
                    AcceptanceDecision::Accept => (None, None),
                    AcceptanceDecision::DeclineConcluded => {
                        (Some("该事项已经复核终结，不再受理"), None)
                    }
                    AcceptanceDecision::Decline => (
                        Some(
                            ["不属于本单位职责范围", "同一事项正在办理中"][rng.random_range(0..2)],
                        ),
                        None,
                    ),
                    AcceptanceDecision::RedirectToLegalRoute => (
                        Some("该诉求应当通过法定途径解决"),
                        Some(pick(
                            &mut rng,
                            &[
                                (LegalRoute::Litigation, 4),
                                (LegalRoute::Arbitration, 3),
                                (LegalRoute::AdministrativeReconsideration, 2),
                                (LegalRoute::OtherStatutory, 1),
                            ],
                        )),
                    ),
                };
                let handle_by = (decision == AcceptanceDecision::Accept)
                    .then(|| cal.due_after_days(at, deadlines::HANDLING_DAYS));
                let on_time = state.accept_by.is_none_or(|by| at <= by);
                state.acceptance_decision = Some(decision);
                state.acceptance_reason = reason.map(str::to_owned);
                state.legal_route = route;
                state.accept_decided_at = Some(at);
                state.handle_by = handle_by;
                state.due_at = handle_by;
                let detail = json!({
                    "decision": decision.as_str(),
                    "reason": reason,
                    "legalRoute": route.map(|r| r.as_str()),
                    "handleBy": handle_by,
                    "onTime": on_time,
                });
                (staff, state.lead, decision.as_str().into(), detail, true)
            }
            StepKind::AddAssisting { unit } => {
                relate(&mut relations, unit, UnitRelation::Assisting);
                (
                    staff,
                    state.lead,
                    "ASSISTING_UNIT_ADDED".into(),
                    json!({ "unitId": unit }),
                    false,
                )
            }
            StepKind::AssistingOpinion { unit } => (
                world.staff_of(unit, &mut rng),
                unit,
                "ASSISTING_OPINION".into(),
                json!({ "unitId": unit, "text": "经核查，我单位意见已书面反馈主办单位。" }),
                false,
            ),
            StepKind::LinkRepeat => (
                staff,
                state.lead,
                "LINK_REPEAT".into(),
                json!({
                    "reason": "同一信访人就同一事项再次信访",
                    "repeatOfId": plan.repeat_of.map(|j| j as i64 + 1),
                }),
                false,
            ),
            StepKind::ProgressNote { internal } => (
                staff,
                state.lead,
                "PROGRESS_NOTE".into(),
                json!({ "text": if internal { "已约谈相关当事人，正在调查核实。" } else { "已安排工作人员实地走访核实情况。" } }),
                !internal,
            ),
            StepKind::ExtensionRequested { days } => {
                ids.extension += 1;
                extensions.push(Record {
                    days,
                    ..Record::new(ids.extension, staff, at)
                });
                (
                    staff,
                    state.lead,
                    "EXTENSION_REQUESTED".into(),
                    json!({ "extensionId": ids.extension, "days": days, "reason": "情况复杂，需进一步调查" }),
                    false,
                )
            }
            StepKind::ExtensionApproved => {
                let leader = world.leader_of(state.lead, &mut rng);
                let (id, days) = match extensions.last_mut() {
                    Some(e) => {
                        e.decided = Some((leader, at));
                        (e.id, e.days)
                    }
                    None => (0, 0),
                };
                let base = state.handle_by.unwrap_or(at);
                let handle_by = cal.due_after_days(base, days as u32);
                state.handle_by = Some(handle_by);
                state.due_at = Some(handle_by);
                state.extension_days += days;
                (
                    leader,
                    state.lead,
                    "EXTENSION_APPROVED".into(),
                    json!({ "extensionId": id, "days": days, "reason": "情况复杂，需进一步调查", "handleBy": handle_by }),
                    true,
                )
            }
            StepKind::SupervisionIssued { due } => {
                ids.supervision += 1;
                let by = world.staff_of(bureau, &mut rng);
                supervisions.push(Record {
                    due: Some(due),
                    ..Record::new(ids.supervision, by, at)
                });
                (
                    by,
                    bureau,
                    "SUPERVISION_ISSUED".into(),
                    json!({ "supervisionId": ids.supervision, "dueAt": due }),
                    false,
                )
            }
            StepKind::SupervisionAnswered => {
                let (id, on_time) = match supervisions.last_mut() {
                    Some(s) => {
                        s.decided = Some((staff, at));
                        (s.id, s.due.is_none_or(|due| at <= due))
                    }
                    None => (0, true),
                };
                (
                    staff,
                    state.lead,
                    "SUPERVISION_ANSWERED".into(),
                    json!({ "supervisionId": id, "onTime": on_time }),
                    false,
                )
            }
            StepKind::LeaderOwnership => {
                let leader = world.leader_of(state.lead, &mut rng);
                state.leader = Some(leader);
                (
                    leader,
                    state.lead,
                    "LEADER_OWNERSHIP".into(),
                    json!({ "unitId": state.lead }),
                    false,
                )
            }
            StepKind::ReportFiled => {
                ids.report += 1;
                reports.push(Record {
                    referral: state.assignment.unwrap_or_default(),
                    ..Record::new(ids.report, staff, at)
                });
                (
                    staff,
                    state.lead,
                    "COMPLETION_REPORT_FILED".into(),
                    json!({ "reportId": ids.report }),
                    false,
                )
            }
            StepKind::ReportApproved => {
                let by = world.staff_of(bureau, &mut rng);
                let id = match reports.last_mut() {
                    Some(r) => {
                        r.decided = Some((by, at));
                        r.id
                    }
                    None => 0,
                };
                state.report_approved = true;
                (
                    by,
                    bureau,
                    "COMPLETION_REPORT_APPROVED".into(),
                    json!({ "reportId": id, "note": Option::<String>::None }),
                    false,
                )
            }
            StepKind::Reply(outcome) => {
                let leader = world.leader_of(state.lead, &mut rng);
                let review_unit = (facts.category == Category::Appeal)
                    .then(|| world.unit(state.lead).parent_id)
                    .flatten();
                // Handed over in person as it is signed: the window runs from now.
                let review_by = cal.due_after_days(at, deadlines::REVIEW_DAYS);
                let on_time = state.handle_by.is_none_or(|by| at <= by);
                out.replies.push(vec![
                    case_id.into(),
                    outcome.as_str().into(),
                    format!("经调查核实，{title}一事基本属实。").into(),
                    "根据调查情况，依据相关政策规定作出本处理意见。".into(),
                    "《信访工作条例》及相关法律法规".into(),
                    leader.into(),
                    state.lead.into(),
                    review_unit.into(),
                    review_by.into(),
                    at.into(),
                    at.into(),
                    DeliveryMethod::InPerson.as_str().into(),
                    leader.into(),
                ]);
                state.replied_at = Some(at);
                state.review_request_by = Some(review_by);
                state.due_at = None;
                let detail = json!({ "outcome": outcome.as_str(), "reviewUnitId": review_unit, "reviewRequestBy": review_by,
                    "deliveredBy": DeliveryMethod::InPerson.as_str(), "onTime": on_time });
                (leader, state.lead, "REPLY".into(), detail, true)
            }
            StepKind::Evaluate(satisfaction) => {
                out.evaluations.push(vec![
                    case_id.into(),
                    satisfaction.as_str().into(),
                    Some("电话回访记录".to_string()).into(),
                    true.into(),
                    staff.into(),
                    at.into(),
                ]);
                (
                    staff,
                    state.lead,
                    "EVALUATE".into(),
                    json!({ "satisfaction": satisfaction.as_str(), "onBehalf": true }),
                    true,
                )
            }
            StepKind::ReviewRequested(stage) => {
                let below = match stage {
                    ReviewStage::Review => state.lead,
                    ReviewStage::ReReview => state.reviewing_unit.unwrap_or(state.lead),
                };
                let reviewer = world.unit(below).parent_id.unwrap_or(world.id(world.city));
                let decide_by = cal.due_after_days(at, deadlines::REVIEW_DAYS);
                reviews.push(ReviewRow {
                    stage,
                    requested_by: staff,
                    requested_at: at,
                    reviewing_unit: reviewer,
                    decide_by,
                    decision: None,
                });
                if !world.inside(reviewer, facts.accused) {
                    relate(&mut relations, reviewer, UnitRelation::Reviewing);
                }
                state.reviewing_unit = Some(reviewer);
                state.decide_by = Some(decide_by);
                state.due_at = Some(decide_by);
                let detail = json!({ "stage": stage.as_str(), "reviewingUnitId": reviewer, "aboveCounty": false, "decideBy": decide_by, "onBehalf": true });
                (staff, state.lead, "REVIEW_REQUESTED".into(), detail, true)
            }
            StepKind::ReviewDecided(decision) => {
                let reviewer = state.reviewing_unit.unwrap_or(state.lead);
                let by = world.staff_of(reviewer, &mut rng);
                let (stage, on_time) = match reviews.last_mut() {
                    Some(r) => {
                        r.decision = Some((decision, by, at));
                        (r.stage, at <= r.decide_by)
                    }
                    None => (ReviewStage::Review, true),
                };
                state.decide_by = None;
                state.due_at = None;
                state.review_request_by = match stage {
                    ReviewStage::Review => Some(cal.due_after_days(at, deadlines::REVIEW_DAYS)),
                    ReviewStage::ReReview => None,
                };
                // The seed's changes replace the decision below (the reviewing body decides
                // itself); the decision is handed over as it is made.
                let change = (decision == ReviewDecision::Change).then_some("REPLACE");
                let detail = json!({ "stage": stage.as_str(), "decision": decision.as_str(), "change": change, "onTime": on_time,
                    "higherBody": null, "documentNumber": null, "decidedOn": null });
                (by, reviewer, "REVIEW_DECIDED".into(), detail, true)
            }
            StepKind::Close => {
                state.closed_at = Some(at);
                state.due_at = None;
                (staff, state.lead, "CLOSE".into(), json!({}), true)
            }
        };
        state.status = status_after(state.status, step.kind);
        // Registration writes version 1; every later action is one `save`, one more.
        state.version += 1;
        state.updated_at = at;
        let seq = k as i32 + 1;
        let detail = detail.to_string();
        let actor = Actor {
            user_id: Some(actor_user),
            unit_id: Some(actor_unit),
        };
        let hash = audit::entry_hash(&prev, case_id, seq, at, actor, &action, &detail, public);
        out.events.push(vec![
            case_id.into(),
            seq.into(),
            at.into(),
            Some(actor_user).into(),
            Some(actor_unit).into(),
            action.into(),
            detail.into(),
            public.into(),
            prev.clone().into(),
            hash.clone().into(),
        ]);
        prev = hash;
    }
    debug_assert_eq!(state.status, plan.status);
    let registration_delay = (created_at - plan.received_at)
        .num_minutes()
        .clamp(0, i64::from(i32::MAX)) as i32;

    out.cases.push(vec![
        case_id.into(),
        world.id(world.county).into(),
        number.to_string().into(),
        state.version.into(),
        state.status.as_str().into(),
        facts.channel.as_str().into(),
        facts.category.as_str().into(),
        SUBJECTS[facts.subject].0.into(),
        title.clone().into(),
        content.into(),
        plan.received_at.into(),
        facts.township.into(),
        state.lead.into(),
        facts.registering_unit.into(),
        registered_by.into(),
        facts.accused.into(),
        facts.person_count.into(),
        group.into(),
        // Linked in `finish`: the earlier case may sit in a chunk another writer has not
        // committed yet, and the foreign key would refuse the link.
        Option::<i64>::None.into(),
        plan.not_acceptable.into(),
        Option::<i64>::None.into(),
        state.accept_by.into(),
        state.handle_by.into(),
        state.due_at.into(),
        state
            .acceptance_decision
            .map(|d| d.as_str().to_string())
            .into(),
        state.acceptance_reason.into(),
        state.legal_route.map(|r| r.as_str().to_string()).into(),
        state.accept_decided_at.into(),
        state.replied_at.into(),
        state.review_request_by.into(),
        state.decide_by.into(),
        state.reviewing_unit.into(),
        state.extension_days.into(),
        state.leader.into(),
        state.assignment.into(),
        state.report_approved.into(),
        state.closed_at.into(),
        created_at.into(),
        state.updated_at.into(),
        facts.urgent.into(),
        registration_delay.into(),
        // 迟报 under the default limit of 24 hours.
        ((group || facts.urgent) && registration_delay > 24 * 60).into(),
    ]);
    for (unit, relation) in relations {
        out.relations.push(vec![
            case_id.into(),
            unit.into(),
            relation.as_str().into(),
            plan.received_at.into(),
        ]);
    }
    for r in referrals {
        let r_ = r.row;
        out.referrals.push(vec![
            r.id.into(),
            r_.case_id.into(),
            r_.mode.as_str().into(),
            r_.from.into(),
            r_.to.into(),
            r_.reason.into(),
            r_.report_due_at.into(),
            r_.status.as_str().into(),
            r_.object_by.into(),
            Option::<String>::None.into(),
            r_.by.into(),
            r_.at.into(),
            r_.resolved.map(|(by, _)| by).into(),
            r_.resolved.map(|(_, at)| at).into(),
            Option::<String>::None.into(),
            r_.sender_clock.0.into(),
            r_.sender_clock.1.into(),
        ]);
    }
    let status = |r: &Record| match r.decided {
        Some(_) => ApprovalStatus::Approved.as_str(),
        None => ApprovalStatus::Pending.as_str(),
    };
    for e in extensions {
        out.extensions.push(vec![
            e.id.into(),
            case_id.into(),
            e.days.into(),
            "情况复杂，需进一步调查".into(),
            status(&e).into(),
            e.by.into(),
            e.at.into(),
            e.decided.map(|d| d.0).into(),
            e.decided.map(|d| d.1).into(),
            Option::<String>::None.into(),
        ]);
    }
    for s in supervisions {
        out.supervisions.push(vec![
            s.id.into(),
            case_id.into(),
            "请加快办理进度，按期答复信访人".into(),
            s.due.unwrap_or(s.at).into(),
            s.by.into(),
            s.at.into(),
            s.decided.map(|_| "已按要求加快办理".to_string()).into(),
            s.decided.map(|a| a.0).into(),
            s.decided.map(|a| a.1).into(),
        ]);
    }
    for r in reports {
        out.reports.push(vec![
            r.id.into(),
            case_id.into(),
            r.referral.into(),
            "交办事项已办理完毕，现将办理情况报告如下。".into(),
            r.by.into(),
            r.at.into(),
            status(&r).into(),
            r.decided.map(|d| d.0).into(),
            r.decided.map(|d| d.1).into(),
            Option::<String>::None.into(),
        ]);
    }
    for r in reviews {
        out.reviews.push(vec![
            case_id.into(),
            r.stage.as_str().into(),
            "对处理意见不服，申请复查".into(),
            r.requested_by.into(),
            true.into(),
            r.requested_at.into(),
            r.reviewing_unit.into(),
            r.decide_by.into(),
            r.decision.map(|d| d.0.as_str().to_string()).into(),
            r.decision
                .map(|_| "经审查，作出如下决定。".to_string())
                .into(),
            r.decision.map(|d| d.1).into(),
            r.decision.map(|d| d.2).into(),
            r.decision.map(|d| d.2).into(),
            r.decision
                .map(|_| DeliveryMethod::InPerson.as_str().to_string())
                .into(),
            r.decision.map(|d| d.1).into(),
            r.decision
                .filter(|d| d.0 == ReviewDecision::Change)
                .map(|_| "REPLACE".to_string())
                .into(),
        ]);
    }
}

async fn write_batch(db: &DatabaseConnection, batch: Batch) -> crate::error::Result<()> {
    let tx = crate::db::begin_write(db).await?;
    for rows in batch.tables {
        rows.insert(&tx).await?;
    }
    Ok(tx.commit().await?)
}

/// The counters and sequences that later registrations continue from, and fresh planner
/// statistics for the benchmark.
async fn finish(db: &DatabaseConnection, summary: &Summary) -> crate::error::Result<()> {
    let mut counters = Rows::new("case_number_counters", "county_id year last_value");
    for (year, last) in &summary.numbers {
        counters.push(vec![
            summary.county_id.into(),
            (*year).into(),
            (*last).into(),
        ]);
    }
    counters.insert(db).await?;
    for links in summary.repeats.chunks(500) {
        // Integers only, so writing them into the text is safe; CASE works on both databases.
        let cases: Vec<String> = links
            .iter()
            .map(|(case, earlier)| format!("WHEN {case} THEN {earlier}"))
            .collect();
        let ids: Vec<String> = links.iter().map(|(case, _)| case.to_string()).collect();
        db.execute_unprepared(&format!(
            "UPDATE cases SET repeat_of_id = CASE id {} END WHERE id IN ({})",
            cases.join(" "),
            ids.join(",")
        ))
        .await?;
    }
    // Matters: each first petition starts one (numbered like its case), and its repeats join
    // it by the confirmed links the lead units made (LINK_REPEAT on their timelines).
    for sql in [
        "INSERT INTO matters (id, county_id, created_at) \
         SELECT id, county_id, created_at FROM cases WHERE repeat_of_id IS NULL",
        "UPDATE cases SET matter_id = COALESCE(repeat_of_id, id), \
         acceptance_cited_case_id = CASE WHEN acceptance_decision = 'DECLINE_CONCLUDED' \
         THEN repeat_of_id END, \
         not_acceptable = COALESCE(acceptance_decision = 'DECLINE_CONCLUDED', FALSE)",
        "INSERT INTO repeat_links (case_id, earlier_case_id, state, basis, proposed_at, reason, \
         decided_by_user_id, decided_by_unit_id, decided_at) \
         SELECT c.id, c.repeat_of_id, 'CONFIRMED', 'ID_NUMBER SUBJECT', c.created_at, \
         '同一信访人就同一事项再次信访', e.actor_user_id, e.actor_unit_id, e.at \
         FROM cases c JOIN case_events e ON e.case_id = c.id AND e.action = 'LINK_REPEAT' \
         WHERE c.repeat_of_id IS NOT NULL",
        // Cases from the city's bureau (上级转交办): every other open one assigned (交办),
        // owing a report back by its handling deadline (none made yet: a report is an action
        // on the record, which the seed does not invent); the rest transferred (转送).
        "INSERT INTO higher_bodies (name, level, created_at) \
         SELECT '邢台市信访局', 'CITY', MIN(created_at) FROM cases \
         WHERE channel = 'HIGHER_REFERRAL' HAVING COUNT(*) > 0",
        "INSERT INTO higher_referrals (case_id, direction, higher_body_id, mode, reference_number, \
         report_due_at, created_by_user_id, created_at) \
         SELECT c.id, 'FROM_ABOVE', (SELECT MIN(id) FROM higher_bodies), \
         CASE WHEN c.id % 2 = 0 AND c.status NOT IN ('CLOSED', 'FINALIZED', 'NOT_ACCEPTED') \
         THEN 'ASSIGN' ELSE 'TRANSFER' END, '邢信转' || c.id, \
         CASE WHEN c.id % 2 = 0 AND c.status NOT IN ('CLOSED', 'FINALIZED', 'NOT_ACCEPTED') \
         THEN COALESCE(c.handle_by, c.accept_by) END, \
         c.registered_by_user_id, c.created_at \
         FROM cases c WHERE c.channel = 'HIGHER_REFERRAL'",
        "UPDATE cases SET higher_report_due_at = (SELECT h.report_due_at FROM higher_referrals h \
         WHERE h.case_id = cases.id) WHERE channel = 'HIGHER_REFERRAL'",
        // Cases from the 12345 hotline carry the platform's ticket, numbered after the case.
        "INSERT INTO hotline_tickets (county_id, ticket_number, case_id, received_at, merged, \
         added_by_user_id, added_at) \
         SELECT county_id, '12345-' || id, id, received_at, FALSE, registered_by_user_id, created_at \
         FROM cases WHERE channel = 'HOTLINE_12345'",
        // A review that changed the decision set the reply aside.
        "UPDATE replies SET quashed_by_review_id = (SELECT MIN(r.id) FROM reviews r \
         WHERE r.case_id = replies.case_id AND r.stage = 'REVIEW' AND r.decision = 'CHANGE') \
         WHERE EXISTS (SELECT 1 FROM reviews r WHERE r.case_id = replies.case_id \
         AND r.stage = 'REVIEW' AND r.decision = 'CHANGE')",
    ] {
        db.execute_unprepared(sql).await?;
    }
    // A backlog campaign: every matter that came back lists, owned by a leader of the unit that
    // leads its first case, in each state of 列入 → 化解中 → 已化解 / 未化解.
    db.execute_unprepared(&format!(
        "INSERT INTO backlog_campaigns (county_id, name, target_date, created_by_user_id, created_at) \
         SELECT {}, '2026年信访积案化解专项行动', '2026-12-31', \
         (SELECT MIN(id) FROM users WHERE role = 'LEADER'), MAX(created_at) FROM cases",
        summary.county_id
    ))
    .await?;
    db.execute_unprepared(
        "INSERT INTO backlog_entries (campaign_id, matter_id, leader_user_id, lead_unit_id, status, \
         resolution, note, version, listed_at, resolved_at, updated_at) \
         SELECT (SELECT MAX(id) FROM backlog_campaigns), m.matter_id, \
         (SELECT MIN(u.id) FROM users u WHERE u.role = 'LEADER' AND u.org_unit_id = f.lead_unit_id), \
         f.lead_unit_id, \
         CASE m.matter_id % 4 WHEN 0 THEN 'LISTED' WHEN 1 THEN 'IN_PROGRESS' \
         WHEN 2 THEN 'RESOLVED' ELSE 'UNRESOLVED' END, \
         CASE m.matter_id % 4 WHEN 2 THEN 'SETTLED' END, '列入积案专项治理', 1, f.created_at, \
         CASE m.matter_id % 4 WHEN 2 THEN f.updated_at END, f.updated_at \
         FROM (SELECT DISTINCT matter_id FROM cases WHERE repeat_of_id IS NOT NULL) m \
         JOIN cases f ON f.id = m.matter_id \
         WHERE EXISTS (SELECT 1 FROM users u WHERE u.role = 'LEADER' AND u.org_unit_id = f.lead_unit_id)",
    )
    .await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // Explicit ids do not advance PostgreSQL's sequences; without this the next
        // `registerCase` would collide with case 1. (SQLite takes max(rowid) + 1 by itself.)
        for table in [
            "org_units",
            "users",
            "cases",
            "matters",
            "referrals",
            "extensions",
            "supervisions",
            "completion_reports",
        ] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), m) FROM (SELECT MAX(id) AS m FROM {table}) t WHERE m IS NOT NULL"
            ))
            .await?;
        }
        db.execute_unprepared("ANALYZE").await?;
    }
    // The triggers listed every seeded case as changed for statistics (`stat_days`); the
    // county has never been folded, and its first fold reads every day of its cases anyway.
    db.execute_unprepared("DELETE FROM stat_dirty").await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Written documents and attachments

/// Every 20th case carries a small file (a scanned letter, as a tiny PNG).
const FILE_EVERY: i64 = 20;

/// The seeded cases' written documents — an acceptance or non-acceptance notice for each
/// decision on acceptance, a 处理意见书 for each reply — numbered in the county's series per
/// kind and year, with a query code for each accepted case; and a small file on every
/// [`FILE_EVERY`]th case, stored like an upload. Written after the cases, in pages. The
/// timeline entries of the seed do not name the documents (the live server's do).
async fn documents_and_files(
    db: &DatabaseConnection,
    storage: &crate::storage::Storage,
) -> crate::error::Result<(usize, usize)> {
    use crate::documents;
    use sea_orm::{ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    use xinfang_entity::kinds::{AcceptanceDecision, AttachmentKind, DocumentKind};
    use xinfang_entity::{case, case_query_code, document, reply};
    let mut counters: HashMap<(i64, i32, DocumentKind), i64> = HashMap::new();
    let mut prefixes: HashMap<i64, String> = HashMap::new();
    let mut units: HashMap<i64, String> = HashMap::new();
    for u in org_unit::Entity::find().all(db).await? {
        if u.county_id == Some(u.id) || u.parent_id.is_none() {
            prefixes.insert(
                u.id,
                u.division_code
                    .clone()
                    .unwrap_or_else(|| format!("C{}", u.id)),
            );
        }
        units.insert(u.id, u.name);
    }
    let (mut written, mut files, mut after) = (0usize, 0usize, 0i64);
    loop {
        let page = case::Entity::find()
            .filter(case::Column::Id.gt(after))
            .order_by_asc(case::Column::Id)
            .limit(1000)
            .all(db)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        let ids: Vec<i64> = page.iter().map(|c| c.id).collect();
        let mut petitioners: HashMap<i64, Vec<_>> = HashMap::new();
        for p in crate::cases::petitioners_of(db, ids.clone()).await? {
            petitioners.entry(p.case_id).or_default().push(p);
        }
        let replies = reply::Entity::find()
            .filter(reply::Column::CaseId.is_in(ids))
            .all(db)
            .await?;
        let mut rows = vec![];
        let mut codes = vec![];
        // The delivery a reply already had (the seed's replies record theirs).
        type Delivered = Option<(DateTime<Utc>, xinfang_entity::kinds::DeliveryMethod, i64)>;
        let mut push = |c: &case::Model,
                        at: DateTime<Utc>,
                        unit: i64,
                        draft: documents::Draft,
                        delivered: Delivered| {
            let year = local_date(at).year();
            let seq = counters.entry((c.county_id, year, draft.kind)).or_insert(0);
            *seq += 1;
            let prefix = prefixes.get(&c.county_id).cloned().unwrap_or_default();
            let number = documents::number_text(&prefix, draft.kind, year, *seq);
            let addressee =
                documents::addressee_among(petitioners.get(&c.id).cloned().unwrap_or_default());
            let mut row = documents::new_row(
                documents::Issue {
                    case: c,
                    number,
                    unit_id: unit,
                    user_id: c.registered_by_user_id,
                    at,
                    addressee,
                    correction: None,
                },
                draft,
            );
            if let Some((at, method, by)) = delivered {
                row.delivery_method = Set(Some(method));
                row.delivered_at = Set(Some(at));
                row.delivery_recorded_by_user_id = Set(Some(by));
            }
            rows.push(row);
        };
        for c in &page {
            let Some(at) = c.accept_decided_at else {
                continue;
            };
            let reason = c
                .acceptance_reason
                .as_deref()
                .unwrap_or("不属于信访事项受理范围");
            let draft = match c.acceptance_decision {
                Some(AcceptanceDecision::Accept) => {
                    let (code, hash) = documents::fresh_code();
                    codes.push(case_query_code::ActiveModel {
                        case_id: Set(c.id),
                        code_hash: Set(hash),
                        code: Set(code),
                        issued_at: Set(at),
                        issued_by_user_id: Set(c.registered_by_user_id),
                    });
                    let unit = units.get(&c.lead_unit_id).cloned().unwrap_or_default();
                    documents::acceptance(c, &unit, c.handle_by.unwrap_or(at))
                }
                Some(AcceptanceDecision::RedirectToLegalRoute) => documents::legal_route(
                    c,
                    c.legal_route
                        .map(crate::workflow::legal_route_name)
                        .unwrap_or("法定"),
                    c.acceptance_reason.as_deref(),
                ),
                Some(_) => documents::non_acceptance(c, reason, None),
                None => continue,
            };
            push(c, at, c.lead_unit_id, draft, None);
        }
        for r in &replies {
            let Some(c) = page.iter().find(|c| c.id == r.case_id) else {
                continue;
            };
            let reviewer = r
                .review_unit_id
                .map(|id| units.get(&id).map(String::as_str));
            let draft = documents::reply(
                c,
                documents::ReplyText {
                    outcome: crate::workflow::reply_outcome_name(r.outcome),
                    facts: &r.facts,
                    reasons: &r.reasons,
                    basis: &r.basis,
                },
                reviewer,
                r.id,
            );
            let delivered = match (r.delivered_at, r.delivery_method) {
                (Some(at), Some(method)) => Some((
                    at,
                    method,
                    r.delivery_recorded_by_user_id
                        .unwrap_or(r.signed_by_user_id),
                )),
                _ => None,
            };
            push(c, r.issued_at, r.unit_id, draft, delivered);
        }
        written += rows.len();
        for chunk in rows.chunks(500) {
            document::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await?;
        }
        for chunk in codes.chunks(500) {
            case_query_code::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await?;
        }
        for c in page.iter().filter(|c| c.id % FILE_EVERY == 0) {
            crate::attachments::seed_file(
                db,
                storage,
                c.id,
                c.registered_by_user_id,
                Some(c.registered_by_unit_id),
                "来信扫描件.png",
                AttachmentKind::Letter,
                crate::attachments::SAMPLE_PNG.to_vec(),
                c.received_at,
            )
            .await?;
            files += 1;
        }
    }
    let mut rows = Rows::new("document_number_counters", "county_id year kind last_value");
    for ((county, year, kind), last) in counters {
        rows.push(vec![
            county.into(),
            year.into(),
            kind.as_str().into(),
            last.into(),
        ]);
    }
    rows.insert(db).await?;
    Ok((written, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_numbers_and_phones_pass_the_servers_checks() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..1_000 {
            let id = id_number(&mut rng);
            assert_eq!(crate::validate::id_number("id", &id).ok(), Some(id.clone()));
            let phone = mobile(&mut rng);
            assert!(crate::validate::mobile("phone", &phone).is_ok(), "{phone}");
        }
    }

    /// Every simulated step is one the workflow's state table allows where it happens, so the
    /// seeded county is one the server itself could have produced.
    #[test]
    fn every_simulated_step_is_allowed_by_the_workflows_state_table() {
        use crate::domain::Action;
        use crate::workflow::state_table;
        let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
        let world = World::build(now, String::new());
        let plans = plan_cases(&world, 2_000);
        let mut checked = 0;
        for (i, plan) in plans.iter().enumerate() {
            assert!(matches!(plan.steps[0].kind, StepKind::Register), "case {i}");
            let mut status = CaseStatus::Registered;
            let mut assignment_open = false;
            for step in &plan.steps[1..] {
                let action = match step.kind {
                    StepKind::Register => panic!("case {i} registers twice"),
                    // Acknowledging is the referral's own step, taken while the case waits
                    // for its new lead unit's acceptance decision.
                    StepKind::Acknowledge => {
                        assert_eq!(status, CaseStatus::Registered, "case {i}");
                        continue;
                    }
                    StepKind::Refer { .. } => Action::Transfer,
                    StepKind::LinkRepeat => Action::LinkRepeat,
                    StepKind::AddAssisting { .. } => Action::AddAssistingUnit,
                    StepKind::AssistingOpinion { .. } => Action::AddAssistingOpinion,
                    StepKind::Decide(_) => Action::DecideAcceptance,
                    StepKind::ProgressNote { .. } => Action::AddProgressNote,
                    StepKind::ExtensionRequested { .. } => Action::RequestExtension,
                    StepKind::ExtensionApproved => Action::DecideExtension,
                    StepKind::SupervisionIssued { .. } => Action::IssueSupervision,
                    StepKind::SupervisionAnswered => Action::AnswerSupervision,
                    StepKind::LeaderOwnership => Action::TakeLeaderOwnership,
                    StepKind::ReportFiled => Action::FileCompletionReport,
                    StepKind::ReportApproved => Action::DecideCompletionReport,
                    StepKind::Reply(_) => Action::Reply,
                    StepKind::Evaluate(_) => Action::Evaluate,
                    StepKind::ReviewRequested(_) => Action::RequestReview,
                    StepKind::ReviewDecided(_) => Action::DecideReview,
                    StepKind::Close => Action::Close,
                };
                assert!(
                    state_table(status, assignment_open, action),
                    "case {i}: {:?} in {status:?} (report owed: {assignment_open})",
                    step.kind
                );
                checked += 1;
                match step.kind {
                    StepKind::Refer { mode, .. } => {
                        assignment_open = mode == ReferralMode::Assign;
                    }
                    StepKind::ReportApproved => assignment_open = false,
                    _ => {}
                }
                status = status_after(status, step.kind);
            }
            assert_eq!(status, plan.status, "case {i} ends where its plan says");
        }
        assert!(checked > 5_000, "only {checked} steps checked");
    }

    #[test]
    fn the_same_seed_plans_the_same_county() {
        let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
        let a = plan_cases(&World::build(now, String::new()), 500);
        let b = plan_cases(&World::build(now, String::new()), 500);
        let key = |p: &Plan| (p.steps.len(), p.status, p.facts.person, p.received_at);
        assert!(a.iter().map(key).eq(b.iter().map(key)));
    }

    #[test]
    fn every_status_appears_and_relations_never_touch_the_accused() {
        let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
        let world = World::build(now, String::new());
        let plans = plan_cases(&world, 1000);
        for status in CaseStatus::ALL {
            assert!(plans.iter().any(|p| p.status == *status), "{status:?}");
        }
        let mut ids = Ids::default();
        let mut rows = CaseRows::default();
        for i in 0..plans.len() {
            build_case(
                &world,
                &plans,
                i,
                "XF-130534-2026-000001",
                &mut ids,
                &mut rows,
            );
        }
        let accused: HashMap<i64, Option<i64>> = plans
            .iter()
            .enumerate()
            .map(|(i, p)| (i as i64 + 1, p.facts.accused))
            .collect();
        for row in &rows.relations.rows {
            let (Value::BigInt(Some(case)), Value::BigInt(Some(unit))) = (&row[0], &row[1]) else {
                panic!("unexpected relation row {row:?}");
            };
            assert_ne!(
                accused[case],
                Some(*unit),
                "case {case} relates its accused unit"
            );
        }
    }
}
