//! Units and accounts: the unit tree, staff accounts managed by administrators inside their
//! own subtree, citizen sign-up, and the first county created by `xinfang bootstrap`.

use crate::access::{Viewer, admin_may_manage};
use crate::auth::{
    self, AuthConfig, check_password_rules, hash_password, revoke_sessions, username_key,
};
use crate::clock::Clock;
use crate::directory::Directory;
use crate::domain::{OrgUnitKind, Role};
use crate::error::{AppError, Result, bad_input, conflict, forbidden};
use crate::validate;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use xinfang_entity::{case_petitioner, org_unit, session, subject, user};

pub const NAME_MAX: usize = 100;
pub const USERNAME_MAX: usize = 64;

fn check_username(username: &str) -> Result<()> {
    let ok = !username.is_empty()
        && username.chars().count() <= USERNAME_MAX
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(bad_input(
            "username",
            "usernames are 1 to 64 letters, digits, `_`, `-`, `.` or `@`",
        ))
    }
}

/// A unit as the domain hands it out.
pub type UnitRecord = org_unit::Model;

/// Units by id (one statement).
pub async fn units_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, UnitRecord>> {
    let rows = org_unit::Entity::find()
        .filter(org_unit::Column::Id.is_in(crate::db::bucketed_ids(ids.iter().copied())))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|u| (u.id, u)).collect())
}

/// Units by id: from the process's copy where it holds them, the rest in one statement.
pub async fn units_through(
    directory: &Directory,
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, UnitRecord>> {
    let (mut found, missing) = directory.units(ids);
    if !missing.is_empty() {
        let ticket = directory.ticket();
        let read = units_by_id(db, &missing).await?;
        directory.keep_units(ticket, read.values());
        found.extend(read);
    }
    Ok(found)
}

/// Puts an administrative action on the administrative record, in the caller's transaction.
pub(crate) async fn record(
    tx: &impl ConnectionTrait,
    now: chrono::DateTime<chrono::Utc>,
    viewer: Option<&Viewer>,
    action: &str,
    unit_id: Option<i64>,
    target: String,
    detail: serde_json::Value,
) -> Result<()> {
    let actor = crate::audit::Actor {
        user_id: viewer.map(|v| v.user_id),
        unit_id: viewer.and_then(|v| v.unit.as_ref().map(|u| u.id)),
    };
    crate::audit::append_admin(
        tx,
        now,
        actor,
        crate::audit::AdminAction {
            action,
            unit_id,
            target,
            detail,
        },
    )
    .await?;
    Ok(())
}

/// The unit of that exact name, if there is one (the first, should there be several).
pub async fn unit_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<UnitRecord>> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::Name.eq(name))
        .order_by_asc(org_unit::Column::Id)
        .one(db)
        .await?)
}

/// The account of a username (compared as sign-in compares it).
pub async fn user_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::UsernameKey.eq(username_key(username)))
        .one(db)
        .await?)
}

pub async fn find_unit(db: &impl ConnectionTrait, id: i64) -> Result<org_unit::Model> {
    org_unit::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("unit"))
}

/// Inserts a unit under `parent` (or as a root) and fills in its path and county.
/// A unit to insert under `parent`.
struct UnitRow<'a> {
    name: &'a str,
    kind: OrgUnitKind,
    petition_bureau: bool,
    discipline_body: bool,
    division_code: Option<&'a str>,
}

async fn insert_unit(
    db: &impl ConnectionTrait,
    now: chrono::DateTime<chrono::Utc>,
    parent: Option<&org_unit::Model>,
    row: UnitRow<'_>,
) -> Result<org_unit::Model> {
    let UnitRow {
        name,
        kind,
        petition_bureau,
        discipline_body,
        division_code,
    } = row;
    if let Some(code) = division_code {
        let taken = org_unit::Entity::find()
            .filter(org_unit::Column::DivisionCode.eq(code))
            .count(db)
            .await?;
        if taken > 0 {
            return Err(conflict(format!(
                "another unit already has the division code {code}"
            )));
        }
    }
    let county_id = match (kind, parent) {
        (OrgUnitKind::City, _) | (OrgUnitKind::County, _) => None,
        (_, Some(p)) => p.county_id,
        (_, None) => None,
    };
    let created = org_unit::ActiveModel {
        name: Set(name.to_string()),
        kind: Set(kind),
        parent_id: Set(parent.map(|p| p.id)),
        county_id: Set(county_id),
        petition_bureau: Set(petition_bureau),
        bureau_of_county_id: Set(if petition_bureau { county_id } else { None }),
        discipline_body: Set(discipline_body),
        discipline_of_county_id: Set(if discipline_body { county_id } else { None }),
        path: Set(String::new()),
        division_code: Set(division_code.map(str::to_owned)),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(AppError::from)
    .map_err(|e| {
        if e.is_unique_violation() {
            conflict(if petition_bureau {
                "this county already has a petition bureau"
            } else if discipline_body {
                "this county already has a discipline body"
            } else {
                // Two units given one division code at the same moment.
                "another unit already has this division code"
            })
        } else {
            e
        }
    })?;
    let path = format!(
        "{}{}/",
        parent.map(|p| p.path.as_str()).unwrap_or("/"),
        created.id
    );
    let mut active: org_unit::ActiveModel = created.into();
    active.path = Set(path);
    if kind == OrgUnitKind::County {
        active.county_id = Set(Some(*active.id.as_ref()));
    }
    Ok(active.update(db).await?)
}

pub struct NewUnit {
    pub name: String,
    pub kind: OrgUnitKind,
    pub parent_id: i64,
    pub petition_bureau: bool,
    /// 纪委监委 — the county's discipline body (at most one per county).
    pub discipline_body: bool,
    /// A county's administrative division code (行政区划代码): 6 digits, unique.
    pub division_code: Option<String>,
}

/// A county's (or city's) administrative division code: six digits.
pub fn division_code(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.len() != 6 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_input(
            field,
            "a division code (行政区划代码) is six digits, e.g. 130534",
        ));
    }
    Ok(v.to_string())
}

pub async fn create_org_unit(
    db: &DatabaseConnection,
    clock: &Clock,
    viewer: &Viewer,
    input: NewUnit,
) -> Result<org_unit::Model> {
    let admin = viewer.admin_unit()?;
    validate::text("name", &input.name, 1, NAME_MAX)?;
    let tx = crate::db::begin_write(db).await?;
    let parent = find_unit(&tx, input.parent_id).await?;
    admin_may_manage(admin, &parent.path)?;
    let parent_kind = parent.kind;
    let allowed_parent = match input.kind {
        OrgUnitKind::City => false,
        OrgUnitKind::County => parent_kind == OrgUnitKind::City,
        OrgUnitKind::Township | OrgUnitKind::Department => parent_kind == OrgUnitKind::County,
    };
    if !allowed_parent {
        return Err(bad_input(
            "parentId",
            "townships and departments belong to a county; counties to a city",
        ));
    }
    if input.petition_bureau && input.kind != OrgUnitKind::Department {
        return Err(bad_input(
            "petitionBureau",
            "only a department can be the petition bureau",
        ));
    }
    if input.discipline_body && (input.kind != OrgUnitKind::Department || input.petition_bureau) {
        return Err(bad_input(
            "disciplineBody",
            "only a department other than the petition bureau can be the discipline body",
        ));
    }
    if !parent.active {
        return Err(bad_input("parentId", "the parent unit is deactivated"));
    }
    let code = match (&input.division_code, input.kind) {
        (None, _) => None,
        (Some(code), OrgUnitKind::County) => Some(division_code("divisionCode", code)?),
        (Some(_), _) => {
            return Err(bad_input(
                "divisionCode",
                "only a county carries a division code",
            ));
        }
    };
    let unit = insert_unit(
        &tx,
        clock.now(),
        Some(&parent),
        UnitRow {
            name: input.name.trim(),
            kind: input.kind,
            petition_bureau: input.petition_bureau,
            discipline_body: input.discipline_body,
            division_code: code.as_deref(),
        },
    )
    .await?;
    record(
        &tx,
        clock.now(),
        Some(viewer),
        "UNIT_CREATED",
        Some(unit.id),
        format!("OrgUnit:{}", unit.id),
        serde_json::json!({"name": unit.name, "kind": unit.kind, "parentId": parent.id,
            "petitionBureau": unit.petition_bureau, "disciplineBody": unit.discipline_body,
            "divisionCode": unit.division_code}),
    )
    .await?;
    tx.commit().await?;
    Ok(unit)
}

pub async fn update_org_unit(
    db: &DatabaseConnection,
    directory: &Directory,
    clock: &Clock,
    viewer: &Viewer,
    id: i64,
    name: Option<String>,
    active: Option<bool>,
) -> Result<org_unit::Model> {
    let admin = viewer.admin_unit()?;
    if let Some(n) = &name {
        validate::text("name", n, 1, NAME_MAX)?;
    }
    let tx = crate::db::begin_write(db).await?;
    let unit = find_unit(&tx, id).await?;
    admin_may_manage(admin, &unit.path)?;
    if active == Some(false) && unit.id == admin.id {
        return Err(forbidden("administrators cannot deactivate their own unit"));
    }
    let detail = serde_json::json!({"name": name.as_deref().map(str::trim), "active": active});
    let mut model: org_unit::ActiveModel = unit.into();
    if let Some(n) = name {
        model.name = Set(n.trim().to_string());
    }
    if let Some(a) = active {
        model.active = Set(a);
    }
    let updated = model.update(&tx).await?;
    record(
        &tx,
        clock.now(),
        Some(viewer),
        "UNIT_CHANGED",
        Some(updated.id),
        format!("OrgUnit:{}", updated.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    directory.forget_all();
    Ok(updated)
}

pub struct NewUser {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub org_unit_id: i64,
    pub role: Role,
}

fn staff_role(field: &str, role: Role) -> Result<()> {
    if role == Role::Petitioner {
        return Err(bad_input(
            field,
            "petitioner accounts sign up through registerPetitioner",
        ));
    }
    Ok(())
}

pub async fn create_user(
    db: &DatabaseConnection,
    config: &AuthConfig,
    clock: &Clock,
    viewer: &Viewer,
    input: NewUser,
) -> Result<user::Model> {
    let admin = viewer.admin_unit()?;
    check_username(&input.username)?;
    check_password_rules("password", &input.password)?;
    validate::text("displayName", &input.display_name, 1, NAME_MAX)?;
    staff_role("role", input.role)?;
    let unit = find_unit(db, input.org_unit_id).await?;
    admin_may_manage(admin, &unit.path)?;
    if !unit.active {
        return Err(bad_input("orgUnitId", "the unit is deactivated"));
    }
    let hash = hash_password(config, &input.password).await?;
    let now = clock.now();
    let tx = crate::db::begin_write(db).await?;
    let created = user::ActiveModel {
        username: Set(input.username.clone()),
        username_key: Set(username_key(&input.username)),
        display_name: Set(input.display_name.trim().to_string()),
        role: Set(input.role),
        org_unit_id: Set(Some(unit.id)),
        password_hash: Set(hash),
        active: Set(true),
        phone: Set(None),
        id_number: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .map_err(AppError::from)
    .map_err(|e| {
        if e.is_unique_violation() {
            bad_input("username", "this username is taken")
        } else {
            e
        }
    })?;
    record(
        &tx,
        now,
        Some(viewer),
        "USER_CREATED",
        Some(unit.id),
        format!("User:{}", created.id),
        serde_json::json!({"username": created.username, "displayName": created.display_name,
            "role": created.role, "orgUnitId": unit.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Loads a staff account an administrator may manage.
async fn managed_user(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> Result<user::Model> {
    let admin = viewer.admin_unit()?;
    let account = user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let Some(unit_id) = account.org_unit_id else {
        return Err(AppError::NotFound("user"));
    };
    let unit = find_unit(db, unit_id).await?;
    if !admin.contains_path(&unit.path) {
        // Accounts outside the subtree are not listed to this administrator either.
        return Err(AppError::NotFound("user"));
    }
    Ok(account)
}

pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub org_unit_id: Option<i64>,
}

pub async fn update_user(
    db: &DatabaseConnection,
    directory: &Directory,
    clock: &Clock,
    viewer: &Viewer,
    id: i64,
    changes: UserChanges,
) -> Result<user::Model> {
    let admin = viewer.admin_unit()?;
    if let Some(n) = &changes.display_name {
        validate::text("displayName", n, 1, NAME_MAX)?;
    }
    if let Some(r) = changes.role {
        staff_role("role", r)?;
    }
    let now = clock.now();
    let tx = crate::db::begin_write(db).await?;
    let account = managed_user(&tx, viewer, id).await?;
    let mut access_changed = false;
    let mut model: user::ActiveModel = account.clone().into();
    if let Some(n) = changes.display_name {
        model.display_name = Set(n.trim().to_string());
    }
    if let Some(r) = changes.role
        && r != account.role
    {
        if account.id == viewer.user_id {
            return Err(forbidden("administrators cannot change their own role"));
        }
        model.role = Set(r);
        access_changed = true;
    }
    if let Some(unit_id) = changes.org_unit_id
        && Some(unit_id) != account.org_unit_id
    {
        let unit = find_unit(&tx, unit_id).await?;
        admin_may_manage(admin, &unit.path)?;
        if !unit.active {
            return Err(bad_input("orgUnitId", "the unit is deactivated"));
        }
        model.org_unit_id = Set(Some(unit_id));
        access_changed = true;
    }
    model.updated_at = Set(now);
    let updated = model.update(&tx).await?;
    record(
        &tx,
        now,
        Some(viewer),
        "USER_CHANGED",
        updated.org_unit_id,
        format!("User:{}", updated.id),
        serde_json::json!({"displayName": updated.display_name, "role": updated.role,
            "orgUnitId": updated.org_unit_id, "accessChanged": access_changed}),
    )
    .await?;
    if access_changed {
        revoke_sessions(
            &tx,
            session::Column::UserId.eq(id),
            now,
            "role or unit changed",
        )
        .await?;
    }
    tx.commit().await?;
    directory.forget_all();
    Ok(updated)
}

pub async fn deactivate_user(
    db: &DatabaseConnection,
    directory: &Directory,
    clock: &Clock,
    viewer: &Viewer,
    id: i64,
) -> Result<user::Model> {
    if id == viewer.user_id {
        return Err(forbidden("administrators cannot deactivate themselves"));
    }
    let now = clock.now();
    let tx = crate::db::begin_write(db).await?;
    let account = managed_user(&tx, viewer, id).await?;
    let mut model: user::ActiveModel = account.into();
    model.active = Set(false);
    model.updated_at = Set(now);
    let updated = model.update(&tx).await?;
    record(
        &tx,
        now,
        Some(viewer),
        "USER_DEACTIVATED",
        updated.org_unit_id,
        format!("User:{}", updated.id),
        serde_json::json!({"username": updated.username}),
    )
    .await?;
    revoke_sessions(
        &tx,
        session::Column::UserId.eq(id),
        now,
        "account deactivated",
    )
    .await?;
    tx.commit().await?;
    directory.forget_all();
    Ok(updated)
}

pub async fn reset_password(
    db: &DatabaseConnection,
    directory: &Directory,
    config: &AuthConfig,
    clock: &Clock,
    viewer: &Viewer,
    id: i64,
    password: &str,
) -> Result<user::Model> {
    check_password_rules("newPassword", password)?;
    managed_user(db, viewer, id).await?;
    let hash = hash_password(config, password).await?;
    let now = clock.now();
    let tx = crate::db::begin_write(db).await?;
    let account = managed_user(&tx, viewer, id).await?;
    let mut model: user::ActiveModel = account.into();
    model.password_hash = Set(hash);
    model.updated_at = Set(now);
    let updated = model.update(&tx).await?;
    record(
        &tx,
        now,
        Some(viewer),
        "PASSWORD_RESET",
        updated.org_unit_id,
        format!("User:{}", updated.id),
        serde_json::json!({"username": updated.username}),
    )
    .await?;
    revoke_sessions(&tx, session::Column::UserId.eq(id), now, "password reset").await?;
    tx.commit().await?;
    directory.forget_all();
    Ok(updated)
}

/// The one reason a sign-up is refused once its input is valid. An ID number may have more
/// than one account (see migration m20261201_000008): whether a person has signed up is not
/// the caller's business.
const SIGN_UP_REFUSED: &str = "this username is taken";

pub struct NewPetitioner {
    pub username: String,
    pub password: String,
    pub name: String,
    pub phone: String,
    pub id_number: String,
}

/// Citizen sign-up for the mobile app. Rate-limited per client address by the caller.
pub async fn register_petitioner(
    db: &DatabaseConnection,
    config: &AuthConfig,
    clock: &Clock,
    input: NewPetitioner,
) -> Result<auth::Tokens> {
    check_username(&input.username)?;
    check_password_rules("password", &input.password)?;
    validate::text("name", &input.name, 1, NAME_MAX)?;
    let phone = validate::mobile("phone", &input.phone)?;
    let id_number = validate::id_number("idNumber", &input.id_number)?;
    let hash = hash_password(config, &input.password).await?;
    let now = clock.now();
    let tx = crate::db::begin_write(db).await?;
    let account = user::ActiveModel {
        username: Set(input.username.clone()),
        username_key: Set(username_key(&input.username)),
        display_name: Set(input.name.trim().to_string()),
        role: Set(Role::Petitioner),
        org_unit_id: Set(None),
        password_hash: Set(hash),
        active: Set(true),
        phone: Set(Some(phone)),
        id_number: Set(Some(id_number.clone())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .map_err(AppError::from);
    let account = match account {
        Ok(a) => a,
        Err(e) if e.is_unique_violation() => {
            return Err(conflict(SIGN_UP_REFUSED));
        }
        Err(e) => return Err(e),
    };
    // Cases registered earlier that name this person become theirs to follow — only where
    // both the ID number and the mobile number match what the case recorded, and never an
    // accusation: nothing verifies who signs up, and an accuser's identity must stay hidden.
    let accusations = sea_orm::sea_query::Query::select()
        .column(xinfang_entity::case::Column::Id)
        .from(xinfang_entity::case::Entity)
        .and_where(
            Expr::col(xinfang_entity::case::Column::Category)
                .eq(crate::domain::Category::Accusation.as_str()),
        )
        .to_owned();
    case_petitioner::Entity::update_many()
        .col_expr(case_petitioner::Column::UserId, Expr::val(account.id))
        .filter(case_petitioner::Column::IdNumber.eq(id_number))
        .filter(case_petitioner::Column::Phone.eq(account.phone.clone()))
        .filter(case_petitioner::Column::UserId.is_null())
        .filter(case_petitioner::Column::CaseId.not_in_subquery(accusations))
        .exec(&tx)
        .await?;
    let tokens = auth::start_session(&tx, config, now, account).await?;
    tx.commit().await?;
    Ok(tokens)
}

/// What `xinfang bootstrap` creates: a county (under a city, in a city deployment), its
/// petition bureau and the first administrator.
pub struct Bootstrap<'a> {
    /// In a city deployment, the city at the root; the administrator then belongs to it and
    /// may add further counties.
    pub city_name: Option<&'a str>,
    pub county_name: &'a str,
    /// The county's administrative division code (行政区划代码), carried by its case numbers.
    pub county_code: Option<&'a str>,
    pub bureau_name: &'a str,
    pub admin_username: &'a str,
    pub admin_password: &'a str,
}

/// `xinfang bootstrap`: the units and the first administrator, in one transaction. Refused
/// when any unit exists.
pub async fn bootstrap(
    db: &DatabaseConnection,
    config: &AuthConfig,
    clock: &Clock,
    input: Bootstrap<'_>,
) -> Result<(org_unit::Model, org_unit::Model, user::Model)> {
    let Bootstrap {
        city_name,
        county_name,
        county_code,
        bureau_name,
        admin_username,
        admin_password,
    } = input;
    validate::text("countyName", county_name, 1, NAME_MAX)?;
    validate::text("bureauName", bureau_name, 1, NAME_MAX)?;
    if let Some(city) = city_name {
        validate::text("cityName", city, 1, NAME_MAX)?;
    }
    let county_code = county_code
        .map(|c| division_code("countyCode", c))
        .transpose()?;
    check_username(admin_username)?;
    check_password_rules("adminPassword", admin_password)?;
    let hash = hash_password(config, admin_password).await?;
    let now = clock.now();
    let tx = crate::db::begin_write(db).await?;
    if org_unit::Entity::find().count(&tx).await? > 0 {
        return Err(conflict("this database is already bootstrapped"));
    }
    let city = match city_name {
        Some(name) => Some(
            insert_unit(
                &tx,
                now,
                None,
                UnitRow {
                    name,
                    kind: OrgUnitKind::City,
                    petition_bureau: false,
                    discipline_body: false,
                    division_code: None,
                },
            )
            .await?,
        ),
        None => None,
    };
    let county = insert_unit(
        &tx,
        now,
        city.as_ref(),
        UnitRow {
            name: county_name,
            kind: OrgUnitKind::County,
            petition_bureau: false,
            discipline_body: false,
            division_code: county_code.as_deref(),
        },
    )
    .await?;
    let bureau = insert_unit(
        &tx,
        now,
        Some(&county),
        UnitRow {
            name: bureau_name,
            kind: OrgUnitKind::Department,
            petition_bureau: true,
            discipline_body: false,
            division_code: None,
        },
    )
    .await?;
    let admin_unit = city.as_ref().unwrap_or(&county);
    let admin = user::ActiveModel {
        username: Set(admin_username.to_string()),
        username_key: Set(username_key(admin_username)),
        display_name: Set("管理员".to_string()),
        role: Set(Role::Admin),
        org_unit_id: Set(Some(admin_unit.id)),
        password_hash: Set(hash),
        active: Set(true),
        phone: Set(None),
        id_number: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    record(
        &tx,
        now,
        None,
        "BOOTSTRAPPED",
        Some(county.id),
        format!("OrgUnit:{}", county.id),
        serde_json::json!({"city": city.as_ref().map(|c| &c.name), "county": county.name,
            "divisionCode": county.division_code, "bureau": bureau.name, "admin": admin.username}),
    )
    .await?;
    tx.commit().await?;
    Ok((county, bureau, admin))
}

/// Adds or changes a subject. Only an administrator of a top-level unit may: the list is
/// shared by every county of the deployment.
pub async fn set_subject(
    db: &DatabaseConnection,
    directory: &Directory,
    clock: &Clock,
    viewer: &Viewer,
    code: &str,
    name: &str,
    active: bool,
) -> Result<subject::Model> {
    let admin = viewer.top_level_admin("manages subjects")?;
    let code_ok = (2..=40).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !code_ok {
        return Err(bad_input(
            "code",
            "codes are 2 to 40 characters: A–Z, digits and `_`, starting with a letter",
        ));
    }
    validate::text("name", name, 1, 50)?;
    let tx = crate::db::begin_write(db).await?;
    let saved = match subject::Entity::find_by_id(code.to_string())
        .one(&tx)
        .await?
    {
        Some(existing) => {
            let mut model: subject::ActiveModel = existing.into();
            model.name = Set(name.trim().to_string());
            model.active = Set(active);
            model.update(&tx).await?
        }
        None => {
            let next = subject::Entity::find().count(&tx).await? as i32;
            subject::ActiveModel {
                code: Set(code.to_string()),
                name: Set(name.trim().to_string()),
                active: Set(active),
                sort_order: Set(next),
            }
            .insert(&tx)
            .await?
        }
    };
    record(
        &tx,
        clock.now(),
        Some(viewer),
        "SUBJECT_SET",
        Some(admin.id),
        format!("Subject:{}", saved.code),
        serde_json::json!({"name": saved.name, "active": saved.active}),
    )
    .await?;
    tx.commit().await?;
    directory.forget_all();
    Ok(saved)
}

// ---------------------------------------------------------------------------------------
// Reading units, accounts and subjects (the GraphQL layer's only way to them).

/// An account as the domain hands it out.
pub type UserRecord = user::Model;
/// A subject of the configurable list.
pub type SubjectRecord = subject::Model;

/// A unit by id, if there is one (the unit tree is public to signed-in accounts).
pub async fn unit_record(db: &impl ConnectionTrait, id: i64) -> Result<Option<UnitRecord>> {
    Ok(org_unit::Entity::find_by_id(id).one(db).await?)
}

/// The units directly below a unit, by id.
pub async fn children_of(db: &impl ConnectionTrait, unit_id: i64) -> Result<Vec<UnitRecord>> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::ParentId.eq(unit_id))
        .order_by_asc(org_unit::Column::Id)
        .all(db)
        .await?)
}

/// Which units a list of the tree holds.
#[derive(Clone, Debug, Default)]
pub struct UnitFilter {
    pub kind: Option<OrgUnitKind>,
    pub parent_id: Option<i64>,
    pub include_inactive: bool,
}

/// A page of the unit tree, by id, and how many units match.
pub async fn list_units(
    db: &impl ConnectionTrait,
    filter: &UnitFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<UnitRecord>, u64)> {
    let mut query = org_unit::Entity::find();
    if let Some(kind) = filter.kind {
        query = query.filter(org_unit::Column::Kind.eq(kind.as_str()));
    }
    if let Some(parent) = filter.parent_id {
        query = query.filter(org_unit::Column::ParentId.eq(parent));
    }
    if !filter.include_inactive {
        query = query.filter(org_unit::Column::Active.eq(true));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(org_unit::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The ids of the units inside a subtree (by materialized path), as a subquery.
fn subtree_units(path: &str) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(org_unit::Column::Id)
        .from(org_unit::Entity)
        .and_where(sea_orm::sea_query::Expr::col(org_unit::Column::Path).like(format!("{path}%")))
        .to_owned()
}

/// The signed-in account itself.
pub async fn own_account(db: &impl ConnectionTrait, viewer: &Viewer) -> Result<UserRecord> {
    user::Entity::find_by_id(viewer.user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated("sign in first"))
}

/// An account by id, as the viewer may see it: its own, or one inside the subtree of the
/// unit it administers; `None` otherwise, exactly as for an account that does not exist.
pub async fn visible_user(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<UserRecord>> {
    let mut query = user::Entity::find_by_id(id);
    if viewer.user_id != id {
        let Ok(admin) = viewer.admin_unit() else {
            return Ok(None);
        };
        query = query.filter(user::Column::OrgUnitId.in_subquery(subtree_units(&admin.path)));
    }
    Ok(query.one(db).await?)
}

/// Which accounts an administrator's list holds.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub org_unit_id: Option<i64>,
    pub role: Option<Role>,
    pub include_inactive: bool,
}

/// A page of the accounts in the administrator's subtree, and how many match. ADMIN only.
pub async fn list_users(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &UserFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<UserRecord>, u64)> {
    let admin = viewer.admin_unit()?;
    let mut query = user::Entity::find()
        .filter(user::Column::OrgUnitId.in_subquery(subtree_units(&admin.path)));
    if let Some(unit) = filter.org_unit_id {
        query = query.filter(user::Column::OrgUnitId.eq(unit));
    }
    if let Some(role) = filter.role {
        query = query.filter(user::Column::Role.eq(role.as_str()));
    }
    if !filter.include_inactive {
        query = query.filter(user::Column::Active.eq(true));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(user::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The subjects a case can be filed under, in their order.
pub async fn active_subjects(db: &impl ConnectionTrait) -> Result<Vec<SubjectRecord>> {
    Ok(subject::Entity::find()
        .filter(subject::Column::Active.eq(true))
        .order_by_asc(subject::Column::SortOrder)
        .all(db)
        .await?)
}

/// A subject's name by its code, if there is such a subject.
pub async fn subject_name(db: &impl ConnectionTrait, code: &str) -> Result<Option<String>> {
    Ok(subject::Entity::find_by_id(code.to_string())
        .one(db)
        .await?
        .map(|s| s.name))
}

/// An entry of the administrative record, with the name of who acted.
pub struct AdminEntry {
    pub entry: xinfang_entity::admin_event::Model,
    pub actor_name: Option<String>,
}

/// A page of the administrative record as an administrator may read it — the entries about
/// units of their own subtree — newest first, and how many there are. ADMIN only.
pub async fn admin_record(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    offset: u64,
    limit: u64,
) -> Result<(Vec<AdminEntry>, u64)> {
    use xinfang_entity::admin_event;
    let admin = viewer.admin_unit()?;
    let query = admin_event::Entity::find()
        .filter(admin_event::Column::UnitId.in_subquery(subtree_units(&admin.path)));
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(admin_event::Column::Seq)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    let actors: Vec<i64> = rows.iter().filter_map(|e| e.actor_user_id).collect();
    let names: std::collections::HashMap<i64, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(actors))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok((
        rows.into_iter()
            .map(|entry| AdminEntry {
                actor_name: entry.actor_user_id.and_then(|id| names.get(&id).cloned()),
                entry,
            })
            .collect(),
        total,
    ))
}

/// The newest signed checkpoints of the audit chains, newest first: for an administrator of
/// a top-level unit, since they cover the deployment.
pub async fn audit_checkpoints(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    limit: u64,
) -> Result<Vec<xinfang_entity::audit_checkpoint::Model>> {
    viewer.top_level_admin("reads the audit checkpoints")?;
    crate::audit::recent_checkpoints(db, limit).await
}

/// Checks the whole administrative chain: for an administrator of a top-level unit, since
/// the chain spans the deployment.
pub async fn check_admin_record(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
) -> Result<(usize, Option<crate::audit::BrokenLink>)> {
    viewer.top_level_admin("verifies the administrative record")?;
    crate::audit::verify_admin(db).await
}
