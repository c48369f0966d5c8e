//! `xinfang demo`: a realistic demo county on a fresh SQLite database — the seed generator's
//! county (units, accounts, a few thousand cases in every state), the named accounts and
//! hand-made cases the printed queries are about, and a webhook pointing nowhere until set.

use crate::access::Viewer;
use crate::auth;
use crate::cases::{self, NewCase, PetitionerEntry, Registrar};
use crate::domain::{AcceptanceDecision, ReferralMode, ReplyOutcome};
use crate::domain::{Category, Channel, Role};
use crate::error::Result;
use crate::identity::{self, NewUser};
use crate::state::AppState;
use crate::workflow::{self, AcceptanceInput, Caller, ReplyInput};
use chrono::TimeDelta;
use sea_orm::EntityTrait;
use xinfang_entity::user;

/// How many generated cases the demo county holds besides the hand-made ones.
pub const DEMO_CASES: u64 = 3_000;

/// Every demo account's password. Demo only: the demo database is recreated on each start.
pub const PASSWORD: &str = "demo-password-2026";

/// A ready-made query per role, printed by `xinfang demo` for GraphiQL (each on one line).
pub const QUERIES: &[(&str, &str)] = &[
    (
        "bureau_staff",
        "{ oversight(level: OVERDUE) { unit { name } deadline count } receptions { leader summary } disputeReports { title grade urgent } jointItems { text dueOn units { unit { name } answer } } }",
    ),
    (
        "county_leader",
        "{ statistics(from: \"2020-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\", groupBy: UNIT) { total { cases timelyAcceptanceRate onTimeCompletionRate lateRegistrations } groups { label figures { cases } } } }",
    ),
    (
        "dongguan_staff",
        "{ cases { totalCount nodes { number title status petitioners { name idNumber phone } viewerCan { decideAcceptance scheduleHearing } } } }",
    ),
    (
        "zhujian_staff",
        "{ cases(filter: {status: [IN_PROGRESS]}) { nodes { number dueAt deadlines { handleBy pausedSince } hearings { heldAt place status } } } }",
    ),
    (
        "citizen",
        "{ cases { nodes { number title status documents { title number } } } }",
    ),
];

async fn viewer_of(state: &AppState, user_id: i64) -> Result<Viewer> {
    let account = user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(crate::error::AppError::NotFound("user"))?;
    auth::viewer_for(&state.db, &account, "demo".into())
        .await?
        .ok_or_else(|| crate::error::internal("demo account has no viewer"))
}

/// Seeds the demo county and returns the logins to print.
pub async fn seed(state: &AppState) -> Result<Vec<(String, String)>> {
    let (db, cfg, clock) = (&state.db, &state.auth, &state.clock);
    // The generated county first: its units, 200 accounts and a few thousand cases over
    // three years in every state, with documents, files and the practice around them — so
    // lists, statistics and exports look like a county's. The hand-made cases below, and the
    // named accounts, are the ones the printed queries are about.
    let storage = state.settings.storage().map_err(crate::error::internal)?;
    crate::seed::fill(
        db,
        cfg,
        &storage,
        &crate::seed::SeedOptions {
            cases: DEMO_CASES,
            password: PASSWORD.into(),
            writers: 1,
        },
        false,
    )
    .await
    .map_err(crate::error::internal)?;
    let unit_named = |name: &'static str| async move {
        identity::unit_by_name(db, name)
            .await?
            .ok_or_else(|| crate::error::internal(format!("the generated county has no {name}")))
    };
    let county = unit_named("清河县").await?;
    let bureau = unit_named("清河县信访局").await?;
    let mut units = vec![];
    for name in [
        "东关镇",
        "西营乡",
        "南湖街道",
        "县住建局",
        "县人社局",
        "县自然资源局",
        "县纪委监委",
    ] {
        units.push(unit_named(name).await?);
    }
    let admin = identity::user_by_username(db, "admin")
        .await?
        .ok_or_else(|| crate::error::internal("the generated county has no admin"))?;
    let admin_v = viewer_of(state, admin.id).await?;
    let (dongguan, xiying, zhujian, renshe) = (&units[0], &units[1], &units[3], &units[4]);
    let mut logins = vec![(
        "admin".to_string(),
        "ADMIN of 清河县 (accounts and units)".to_string(),
    )];
    let mut make =
        |username: &'static str, name: &'static str, unit: i64, role: Role, what: String| {
            logins.push((username.to_string(), what));
            NewUser {
                username: username.into(),
                password: PASSWORD.into(),
                display_name: name.into(),
                org_unit_id: unit,
                role,
            }
        };
    let accounts = vec![
        make(
            "county_leader",
            "王县长",
            county.id,
            Role::Leader,
            "LEADER of the county (oversight)".into(),
        ),
        make(
            "bureau_staff",
            "李信访",
            bureau.id,
            Role::Staff,
            "STAFF of the petition bureau".into(),
        ),
        make(
            "bureau_leader",
            "赵局长",
            bureau.id,
            Role::Leader,
            "LEADER of the petition bureau".into(),
        ),
        make(
            "bureau_admin",
            "钱管理",
            bureau.id,
            Role::Admin,
            "ADMIN of the petition bureau (its accounts and webhooks)".into(),
        ),
        make(
            "dongguan_staff",
            "陈镇干",
            dongguan.id,
            Role::Staff,
            "STAFF of 东关镇 (a township)".into(),
        ),
        make(
            "dongguan_leader",
            "周书记",
            dongguan.id,
            Role::Leader,
            "LEADER of 东关镇".into(),
        ),
        make(
            "xiying_staff",
            "吴乡干",
            xiying.id,
            Role::Staff,
            "STAFF of 西营乡 (another township)".into(),
        ),
        make(
            "zhujian_staff",
            "孙科员",
            zhujian.id,
            Role::Staff,
            "STAFF of 县住建局 (a department)".into(),
        ),
        make(
            "zhujian_leader",
            "钱局长",
            zhujian.id,
            Role::Leader,
            "LEADER of 县住建局".into(),
        ),
        make(
            "renshe_staff",
            "郑科员",
            renshe.id,
            Role::Staff,
            "STAFF of 县人社局".into(),
        ),
    ];
    let mut ids = std::collections::HashMap::new();
    for a in accounts {
        let username = a.username.clone();
        // The generated county has some of these accounts already (same unit and role).
        let id = match identity::user_by_username(db, &username).await? {
            Some(existing) => existing.id,
            None => identity::create_user(db, cfg, clock, &admin_v, a).await?.id,
        };
        ids.insert(username, id);
    }
    // A webhook for the bureau, pointing nowhere until an integrator sets a real receiver:
    // its delivery log shows what would have been sent (see README, Webhooks).
    let bureau_admin = viewer_of(state, ids["bureau_admin"]).await?;
    crate::webhooks::register(
        db,
        clock,
        &state.settings,
        &bureau_admin,
        crate::webhooks::NewEndpoint {
            unit_id: bureau.id,
            url: "https://receiver.example.invalid/xinfang",
            kinds: &crate::outbox::WebhookEventKind::ALL,
            description: Some("demo: replace with your receiver"),
        },
    )
    .await?;
    identity::register_petitioner(
        db,
        cfg,
        clock,
        identity::NewPetitioner {
            username: "citizen".into(),
            password: PASSWORD.into(),
            name: "张三".into(),
            phone: "13800138000".into(),
            id_number: "11010519491231002X".into(),
        },
    )
    .await?;
    logins.push((
        "citizen".into(),
        "a citizen (PETITIONER) using the mobile app".into(),
    ));

    let bureau_staff = viewer_of(state, ids["bureau_staff"]).await?;
    let dongguan_staff = viewer_of(state, ids["dongguan_staff"]).await?;
    let now = clock.now();
    let person = |name: &str, id: &str, phone: &str| PetitionerEntry {
        id_number: Some(id.into()),
        phone: Some(phone.into()),
        address: Some("清河县东关镇和平路12号".into()),
        ..PetitionerEntry::person(name)
    };
    let mut registered = vec![];
    let samples = [
        (
            &bureau_staff,
            Channel::Visit,
            Category::Appeal,
            "HOUSING_DEMOLITION",
            "拆迁补偿款未足额发放",
            Some(dongguan.id),
            Some(zhujian.id),
            person("李四", "440524188001010014", "13912345678"),
            1,
        ),
        (
            &dongguan_staff,
            Channel::Phone,
            Category::Appeal,
            "MIGRANT_WORKER_WAGES",
            "工地拖欠农民工工资",
            Some(dongguan.id),
            None,
            person("张三", "11010519491231002X", "13800138000"),
            1,
        ),
        (
            &bureau_staff,
            Channel::Letter,
            Category::Suggestion,
            "ENVIRONMENT",
            "建议整治南湖水质",
            None,
            None,
            person("王五", "33010619900101123X", "13700001111"),
            1,
        ),
        (
            &bureau_staff,
            Channel::Hotline12345,
            Category::Appeal,
            "LABOR_SOCIAL_SECURITY",
            "社保转移接续办理缓慢",
            Some(xiying.id),
            Some(renshe.id),
            person("赵六", "330106198502022346", "13600002222"),
            1,
        ),
    ];
    for (i, (who, channel, category, subject, title, township, lead, p, count)) in
        samples.into_iter().enumerate()
    {
        let input = NewCase {
            channel,
            category,
            subject: subject.into(),
            title: title.into(),
            content: format!("{title}。请有关部门依法处理并答复。"),
            township_id: township,
            received_at: Some(now - TimeDelta::days(10 - i as i64 * 3)),
            petitioners: vec![p],
            person_count: Some(count),
            accused_unit_id: None,
            lead_unit_id: lead,
            from_higher: None,
            urgent: false,
            reception_id: None,
            dispute_report_id: None,
            hotline_ticket: None,
        };
        registered.push(
            cases::register(
                db,
                clock,
                &state.bus,
                &state.directory,
                Registrar::Staff(who),
                input,
                None,
            )
            .await?,
        );
    }
    // An accusation against the township: invisible to 东关镇 itself.
    let accusation = NewCase {
        channel: Channel::Letter,
        category: Category::Accusation,
        subject: "OFFICIAL_CONDUCT".into(),
        title: "反映某镇干部违规收取费用".into(),
        content: "实名举报东关镇工作人员在办理宅基地审批时收取费用。".into(),
        township_id: Some(dongguan.id),
        received_at: Some(now - TimeDelta::days(2)),
        petitioners: vec![person("钱七", "330106197703033450", "13500003333")],
        person_count: None,
        accused_unit_id: Some(dongguan.id),
        lead_unit_id: Some(units[6].id),
        from_higher: None,
        urgent: false,
        reception_id: None,
        dispute_report_id: None,
        hotline_ticket: None,
    };
    cases::register(
        db,
        clock,
        &state.bus,
        &state.directory,
        Registrar::Staff(&bureau_staff),
        accusation,
        None,
    )
    .await?;
    // Who else a case may name: an organisation, the signatories of a joint letter, nobody,
    // and the representatives a group visit elected.
    let company = PetitionerEntry {
        kind: crate::domain::PetitionerKind::Organisation,
        credit_code: Some("91110000600037341L".into()),
        contact_person: Some("王经理".into()),
        phone: Some("13900004444".into()),
        ..PetitionerEntry::person("清河县宏达建筑有限公司")
    };
    let others = [
        (
            Channel::Phone,
            "MIGRANT_WORKER_WAGES",
            "企业反映工程款长期拖欠",
            vec![company],
            None,
        ),
        (
            Channel::Letter,
            "ENVIRONMENT",
            "联名反映南湖周边养殖污染",
            vec![
                person("孙八", "330102198001010026", "13800005555"),
                person("周九", "33010219850505003X", "13800006666"),
            ],
            Some(12),
        ),
        (
            Channel::Letter,
            "OTHER",
            "匿名信反映村务公开不及时",
            vec![],
            None,
        ),
        (
            Channel::Visit,
            "LAND_EXPROPRIATION",
            "村民集体来访反映征地补偿标准",
            vec![
                PetitionerEntry {
                    representative: true,
                    ..person("吴十", "330102198001010026", "13800007777")
                },
                PetitionerEntry {
                    representative: true,
                    ..person("郑十一", "33010219850505003X", "13800008888")
                },
            ],
            Some(8),
        ),
    ];
    for (channel, subject, title, petitioners, person_count) in others {
        let input = NewCase {
            channel,
            category: Category::Suggestion,
            subject: subject.into(),
            title: title.into(),
            content: format!("{title}。请有关部门依法处理并答复。"),
            township_id: Some(dongguan.id),
            received_at: Some(now - TimeDelta::days(1)),
            petitioners,
            person_count,
            accused_unit_id: None,
            lead_unit_id: None,
            from_higher: None,
            urgent: false,
            reception_id: None,
            dispute_report_id: None,
            hotline_ticket: None,
        };
        cases::register(
            db,
            clock,
            &state.bus,
            &state.directory,
            Registrar::Staff(&bureau_staff),
            input,
            None,
        )
        .await?;
    }
    move_along(state, &ids, &registered, zhujian.id).await?;
    Ok(logins)
}

/// Moves the demo cases into the states a desk sees every day: accepted, replied, under
/// review, closed, declined, handed on, supervised.
async fn move_along(
    state: &AppState,
    ids: &std::collections::HashMap<String, i64>,
    registered: &[xinfang_entity::case::Model],
    zhujian: i64,
) -> Result<()> {
    let as_user = |name: &str| ids[name];
    let zhujian_staff = viewer_of(state, as_user("zhujian_staff")).await?;
    let dongguan_staff = viewer_of(state, as_user("dongguan_staff")).await?;
    let dongguan_leader = viewer_of(state, as_user("dongguan_leader")).await?;
    let renshe_staff = viewer_of(state, as_user("renshe_staff")).await?;
    let bureau_staff = viewer_of(state, as_user("bureau_staff")).await?;
    let accept = AcceptanceInput {
        decision: AcceptanceDecision::Accept,
        reason: None,
        legal_route: None,
        cited_case_id: None,
    };
    let reply = || ReplyInput {
        outcome: ReplyOutcome::PartiallySupported,
        facts: "经核查，所反映情况部分属实。".into(),
        reasons: "相关款项已按程序拨付，剩余部分待审计确认。".into(),
        basis: "《信访工作条例》第三十二条及相关规定。".into(),
        delivered_by: Some(crate::domain::DeliveryMethod::InPerson),
    };
    // 拆迁补偿 at 住建局: accepted, with a public progress note.
    let c = workflow::decide_acceptance(
        &caller(state, &zhujian_staff),
        registered[0].id,
        registered[0].version,
        accept.clone(),
    )
    .await?;
    workflow::add_progress_note(
        &caller(state, &zhujian_staff),
        c.id,
        "已约谈拆迁实施单位，责令限期补足。",
        false,
    )
    .await?;
    // 工地欠薪 at 东关镇: accepted and replied; the petitioner may now ask for a review.
    let c = workflow::decide_acceptance(
        &caller(state, &dongguan_staff),
        registered[1].id,
        registered[1].version,
        accept.clone(),
    )
    .await?;
    workflow::issue_reply(&caller(state, &dongguan_leader), c.id, c.version, reply()).await?;
    // 社保转移 at 人社局: accepted and supervised by the bureau.
    let c = workflow::decide_acceptance(
        &caller(state, &renshe_staff),
        registered[3].id,
        registered[3].version,
        accept.clone(),
    )
    .await?;
    workflow::issue_supervision(
        &caller(state, &bureau_staff),
        c.id,
        "请于本月底前办结并报告。",
        state.clock.now() + TimeDelta::days(10),
    )
    .await?;
    // 南湖水质 (a suggestion at the bureau): handed on to 住建局, waiting to be acknowledged.
    let transfer = crate::referrals::TransferInput {
        to_unit_id: zhujian,
        mode: ReferralMode::Transfer,
        reason: "属城市建设管理职能".into(),
        report_due_at: None,
    };
    crate::referrals::transfer(
        &caller(state, &bureau_staff),
        registered[2].id,
        registered[2].version,
        transfer,
    )
    .await?;
    Ok(())
}

fn caller<'a>(state: &'a AppState, viewer: &'a Viewer) -> Caller<'a> {
    Caller {
        db: &state.db,
        clock: &state.clock,
        viewer,
        bus: &state.bus,
        idempotency: None,
    }
}
