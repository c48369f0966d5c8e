//! The practice records of a seeded county (domain §10–§11) — reception rosters and
//! receptions, hearings, ownership plans, dispute screening returns and urgent reports, a
//! joint meeting — written after its cases through the domain's own functions (so they obey
//! the same rules and land on the same record), except the plans of the leader ownerships the
//! case generator already took, which are added to them directly. Used by `xinfang seed` and
//! `xinfang demo`.

use crate::access::Viewer;
use crate::calendar::{end_of_day, local_date};
use crate::clock::Clock;
use crate::domain::{
    CaseStatus, Category, DisputeGrade, HearingParticipantKind, OrgUnitKind, Role,
};
use crate::error::{Result, internal};
use crate::events::Bus;
use crate::workflow::Caller;
use chrono::{Days, TimeDelta};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use xinfang_entity::{case, org_unit, ownership_plan, user};

/// What was written, for the summary line.
#[derive(Debug, Default)]
pub struct Written {
    pub roster_lines: usize,
    pub receptions: usize,
    pub hearings: usize,
    pub plans: usize,
    pub dispute_reports: usize,
    pub joint_items: usize,
}

async fn viewer(db: &DatabaseConnection, id: i64) -> Result<Viewer> {
    let account = user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| internal("seed account missing"))?;
    crate::auth::viewer_for(db, &account, "seed".into())
        .await?
        .ok_or_else(|| internal("seed account has no viewer"))
}

/// The first active account of `unit` with `role`.
async fn account(db: &DatabaseConnection, unit: i64, role: Role) -> Result<Option<i64>> {
    Ok(user::Entity::find()
        .filter(user::Column::OrgUnitId.eq(unit))
        .filter(user::Column::Role.eq(role.as_str()))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .one(db)
        .await?
        .map(|u| u.id))
}

/// Writes the practice records of the (first) county in the database.
pub async fn seed(db: &DatabaseConnection, clock: &Clock) -> Result<Written> {
    let mut out = Written::default();
    let bus = Bus::new(db.get_database_backend());
    let now = clock.now();
    let today = local_date(now);
    let units = org_unit::Entity::find()
        .filter(org_unit::Column::Active.eq(true))
        .order_by_asc(org_unit::Column::Id)
        .all(db)
        .await?;
    let Some(county) = units.iter().find(|u| u.kind == OrgUnitKind::County) else {
        return Ok(out);
    };
    let Some(bureau) = units
        .iter()
        .find(|u| u.petition_bureau && u.county_id == Some(county.id))
    else {
        return Ok(out);
    };
    let working: Vec<&org_unit::Model> = units
        .iter()
        .filter(|u| {
            u.county_id == Some(county.id)
                && !u.petition_bureau
                && matches!(u.kind, OrgUnitKind::Township | OrgUnitKind::Department)
        })
        .collect();
    // 1. Rosters: the county's leaders on weekdays, each township's leader one weekday.
    let mut rostered = vec![(county.id, (1..=5).collect::<Vec<i32>>())];
    for (i, u) in working.iter().enumerate() {
        if u.kind == OrgUnitKind::Township {
            rostered.push((u.id, vec![(i % 5) as i32 + 1]));
        }
    }
    for (unit, days) in rostered {
        let Some(leader) = account(db, unit, Role::Leader).await? else {
            continue;
        };
        let v = viewer(db, leader).await?;
        let place = units
            .iter()
            .find(|u| u.id == unit)
            .map(|u| format!("{}接访室", u.name))
            .unwrap_or_default();
        for day in days {
            crate::receptions::add_slot(
                db,
                clock,
                &v,
                crate::receptions::NewSlot {
                    unit_id: unit,
                    leader_user_id: leader,
                    weekday: Some(day),
                    on_date: None,
                    starts: "09:00".into(),
                    ends: "12:00".into(),
                    place: place.clone(),
                },
            )
            .await?;
            out.roster_lines += 1;
        }
    }

    // 2. Ownership plans of the ownerships the generator took.
    let owned = case::Entity::find()
        .filter(case::Column::CountyId.eq(county.id))
        .filter(case::Column::LeaderUserId.is_not_null())
        .all(db)
        .await?;
    let leaders = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Leader.as_str()))
        .all(db)
        .await?;
    let mut plans = vec![];
    for c in &owned {
        let Some(leader) = c.leader_user_id else {
            continue;
        };
        let unit = leaders
            .iter()
            .find(|u| u.id == leader)
            .and_then(|u| u.org_unit_id)
            .unwrap_or(c.lead_unit_id);
        let due = local_date(c.received_at) + Days::new(45);
        plans.push(ownership_plan::ActiveModel {
            case_id: sea_orm::Set(c.id),
            leader_user_id: sea_orm::Set(leader),
            leader_unit_id: sea_orm::Set(unit),
            coordinator: sea_orm::Set("包案领导".into()),
            supervisor: sea_orm::Set("县信访局督查室".into()),
            executor: sea_orm::Set("主办单位承办科室".into()),
            contact: sea_orm::Set("属地乡镇信访办".into()),
            goal: sea_orm::Set("依法依规解决合理诉求，做好疏导，案结事了".into()),
            due_on: sea_orm::Set(due.to_string()),
            due_at: sea_orm::Set(end_of_day(due)),
            taken_at: sea_orm::Set(c.received_at),
            completed_at: sea_orm::Set(c.closed_at),
            ..Default::default()
        });
    }
    out.plans = plans.len();
    for chunk in plans.chunks(500) {
        ownership_plan::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }

    // 3. Hearings on three cases being handled, by their lead units.
    let handled = case::Entity::find()
        .filter(case::Column::CountyId.eq(county.id))
        .filter(case::Column::Status.eq(CaseStatus::InProgress.as_str()))
        .filter(case::Column::Category.ne(Category::Accusation.as_str()))
        .filter(case::Column::ClockPausedAt.is_null())
        .filter(case::Column::DueAt.gt(now))
        .filter(case::Column::LeadUnitId.is_in(working.iter().map(|u| u.id)))
        .order_by_asc(case::Column::Id)
        .limit(3)
        .all(db)
        .await?;
    for c in &handled {
        let Some(staff) = account(db, c.lead_unit_id, Role::Staff).await? else {
            continue;
        };
        let v = viewer(db, staff).await?;
        let call = Caller {
            db,
            clock,
            viewer: &v,
            bus: &bus,
            idempotency: None,
        };
        let new = crate::hearings::NewHearing {
            held_at: now + TimeDelta::days(14),
            place: "县信访局听证室".into(),
            chair: "县信访局副局长".into(),
            participants: vec![
                participant(HearingParticipantKind::NpcDeputy, "县人大代表刘某"),
                participant(HearingParticipantKind::CppccMember, "县政协委员陈某"),
                participant(HearingParticipantKind::Lawyer, "法律顾问王某"),
                participant(
                    HearingParticipantKind::CommunityRepresentative,
                    "村民代表孙某",
                ),
            ],
        };
        crate::hearings::schedule(&call, c.id, new).await?;
        out.hearings += 1;
    }

    // 4. Receptions at the bureau, each taking over an open case.
    let (Some(bureau_staff), Some(bureau_leader)) = (
        account(db, bureau.id, Role::Staff).await?,
        account(db, bureau.id, Role::Leader).await?,
    ) else {
        return Ok(out);
    };
    let bureau_viewer = viewer(db, bureau_staff).await?;
    let open = case::Entity::find()
        .filter(case::Column::CountyId.eq(county.id))
        .filter(case::Column::Status.eq(CaseStatus::Registered.as_str()))
        .filter(case::Column::Category.ne(Category::Accusation.as_str()))
        .order_by_desc(case::Column::Id)
        .limit(4)
        .all(db)
        .await?;
    for (i, c) in open.iter().enumerate() {
        crate::receptions::record(
            db,
            clock,
            &bus,
            &bureau_viewer,
            crate::receptions::NewReception {
                leader_user_id: bureau_leader,
                received_at: now - TimeDelta::days(i as i64 + 1),
                place: format!("{}接待大厅", bureau.name),
                visitors: vec!["来访群众".into()],
                person_count: 1,
                summary: format!("来访反映“{}”，领导当场听取诉求并督促办理。", c.title),
                case_ids: vec![c.id],
            },
        )
        .await?;
        out.receptions += 1;
    }

    // 5. Dispute screening: last month's returns (all but the last two units), and two urgent
    //    reports.
    let period = crate::screening::last_month(now);
    let reporting = working.len().saturating_sub(2);
    for (i, u) in working.iter().enumerate() {
        let Some(staff) = account(db, u.id, Role::Staff).await? else {
            continue;
        };
        let v = viewer(db, staff).await?;
        if i < reporting {
            let risks = if i % 3 == 0 {
                vec![risk(DisputeGrade::General, &u.name, false)]
            } else {
                vec![]
            };
            out.dispute_reports += risks.len();
            crate::screening::submit_return(db, clock, &v, &period, risks).await?;
        }
        if i < 2 && u.kind == OrgUnitKind::Township {
            crate::screening::report_urgent(
                db,
                clock,
                &v,
                risk(DisputeGrade::Serious, &u.name, true),
            )
            .await?;
            out.dispute_reports += 1;
        }
    }

    // 6. A joint meeting with items for the units handling cases.
    let mut items = vec![];
    for (i, c) in handled.iter().enumerate() {
        let mut unit_ids = vec![c.lead_unit_id];
        if let Some(t) = c.township_id
            && t != c.lead_unit_id
        {
            unit_ids.push(t);
        }
        items.push(crate::joint::NewItem {
            text: format!("协调化解“{}”，{}日内反馈", c.title, 10 + i * 5),
            case_id: Some(c.id),
            unit_ids,
            due_on: (today + Days::new(10 + i as u64 * 5)).to_string(),
        });
    }
    if let Some(dept) = working.iter().find(|u| u.kind == OrgUnitKind::Department) {
        items.push(crate::joint::NewItem {
            text: "开展矛盾纠纷集中排查化解专项行动".into(),
            case_id: None,
            unit_ids: vec![dept.id],
            due_on: (today + Days::new(30)).to_string(),
        });
    }
    if !items.is_empty() {
        out.joint_items = items.len();
        crate::joint::record(
            db,
            clock,
            &bureau_viewer,
            &today.to_string(),
            "县信访工作联席会议",
            items,
        )
        .await?;
    }
    Ok(out)
}

fn participant(kind: HearingParticipantKind, name: &str) -> crate::hearings::Participant {
    crate::hearings::Participant {
        kind,
        name: name.into(),
    }
}

fn risk(grade: DisputeGrade, unit: &str, urgent: bool) -> crate::screening::NewRisk {
    let (title, summary) = if urgent {
        (
            "工资拖欠引发聚集苗头",
            "十余名务工人员因工资拖欠酝酿集体到县上访。",
        )
    } else {
        (
            "邻里宅基地界址纠纷",
            "两户村民因宅基地界址多次发生口角，有激化苗头。",
        )
    };
    crate::screening::NewRisk {
        grade,
        title: title.into(),
        summary: summary.into(),
        people: vec![],
        places: unit.into(),
        township_id: None,
    }
}
