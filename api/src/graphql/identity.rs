//! GraphQL types and operations for units, accounts and sessions.

use super::cases::{CaseConnection, CaseFilterInput, CaseOrderBy, case_connection};
use super::{
    GqlResult, Instant, Loaders, PageInfo, global_id, input_id, lookup_id, offset_of,
    offset_page_info, page_size, request, state, viewer,
};
use crate::auth::{self, Tokens};
use crate::domain::{OrgUnitKind, Role};
use crate::error::{AppError, Result};
use crate::identity::{self as domain, NewPetitioner, NewUnit, NewUser, UserChanges};
use crate::identity::{UnitRecord, UserRecord};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::TimeDelta;

/// 单位 — an organisational unit: the county, a township, a department (the petition bureau
/// is one), or a city above counties.
#[derive(Clone)]
pub struct OrgUnit(pub UnitRecord);

#[Object]
impl OrgUnit {
    pub async fn id(&self) -> ID {
        global_id("OrgUnit", self.0.id)
    }
    /// 单位名称 — the unit's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 单位类别 — the unit's kind.
    async fn kind(&self) -> OrgUnitKind {
        self.0.kind
    }
    /// 信访局 — whether this unit is its county's petition bureau.
    async fn petition_bureau(&self) -> bool {
        self.0.petition_bureau
    }
    /// 纪委监委 — whether this unit is its county's discipline body.
    async fn discipline_body(&self) -> bool {
        self.0.discipline_body
    }
    /// 行政区划代码 — a county's division code, carried by its case numbers.
    async fn division_code(&self) -> Option<&str> {
        self.0.division_code.as_deref()
    }
    /// Whether the unit is in service; deactivated units receive no new cases or accounts.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// 上级单位 — the unit above this one.
    async fn parent(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, self.0.parent_id).await
    }
    /// 所属县 — the county this unit belongs to.
    async fn county(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, self.0.county_id).await
    }
    /// 主办案件 — the cases this unit leads now, as far as the viewer may see them.
    #[graphql(
        complexity = "super::cost::list(first, child_complexity) + super::cost::search(filter.as_ref().and_then(|f| f.search.as_ref()))"
    )]
    async fn cases(
        &self,
        ctx: &Context<'_>,
        filter: Option<CaseFilterInput>,
        order_by: Option<CaseOrderBy>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<CaseConnection> {
        let mut filter = filter.unwrap_or_default().into_domain()?;
        filter.lead_unit_id = Some(self.0.id);
        case_connection(ctx, filter, order_by, first, after).await
    }
    /// 下级单位 — the units directly below this one.
    async fn children(&self, ctx: &Context<'_>) -> GqlResult<Vec<OrgUnit>> {
        viewer(ctx)?;
        let rows = domain::children_of(&state(ctx).db, self.0.id).await?;
        Ok(rows.into_iter().map(OrgUnit).collect())
    }
}

pub async fn load_unit(ctx: &Context<'_>, id: Option<i64>) -> GqlResult<Option<OrgUnit>> {
    let Some(id) = id else { return Ok(None) };
    let loaders = ctx.data_unchecked::<Loaders>();
    let unit = loaders
        .units
        .load_one(id)
        .await
        .map_err(super::cases::loader_error)?
        .flatten();
    Ok(unit.map(OrgUnit))
}

/// 账号 — an account: staff of a unit, or a citizen (信访人) using the mobile app.
///
/// The flag says whether the account is the requester's own (the viewer, or the account
/// that just signed in), which alone shows the citizen profile.
#[derive(Clone)]
pub struct User(pub UserRecord, pub bool);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        global_id("User", self.0.id)
    }
    /// 用户名 — the sign-in name (unique, case-insensitively).
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// 姓名 — the name shown to colleagues.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// 角色 — the account's role.
    async fn role(&self) -> Role {
        self.0.role
    }
    /// 所属单位 — the unit of a staff account; null for citizens.
    async fn org_unit(&self, ctx: &Context<'_>) -> GqlResult<Option<OrgUnit>> {
        load_unit(ctx, self.0.org_unit_id).await
    }
    /// Whether the account may sign in.
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }
    /// 信访人资料 — a citizen's own profile; shown only to that citizen.
    async fn petitioner(&self, ctx: &Context<'_>) -> Option<PetitionerProfile> {
        let own = self.1
            || request(ctx)
                .viewer
                .as_ref()
                .is_some_and(|me| me.user_id == self.0.id);
        if !own || self.0.role != Role::Petitioner {
            return None;
        }
        Some(PetitionerProfile {
            name: self.0.display_name.clone(),
            phone: self.0.phone.clone().unwrap_or_default(),
            id_number: crate::access::profile_id_number(self.0.id_number.as_deref()),
        })
    }
}

/// 信访人资料 — a citizen's profile as the citizen sees it (the ID number masked).
#[derive(SimpleObject)]
pub struct PetitionerProfile {
    /// 姓名 — name.
    pub name: String,
    /// 手机号 — mobile number.
    pub phone: String,
    /// 身份证号 — resident ID number, masked.
    pub id_number: String,
}

/// 事项分类 — a policy area a case can be about.
#[derive(SimpleObject)]
pub struct Subject {
    /// The code used in inputs and filters, e.g. `LAND_EXPROPRIATION`.
    pub code: String,
    /// 名称 — the Chinese name, e.g. 土地征收.
    pub name: String,
}

/// A page of units.
#[derive(SimpleObject)]
pub struct OrgUnitConnection {
    pub nodes: Vec<OrgUnit>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

/// A page of accounts.
#[derive(SimpleObject)]
pub struct UserConnection {
    pub nodes: Vec<User>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

#[derive(InputObject, Default)]
pub struct OrgUnitFilter {
    pub kind: Option<OrgUnitKind>,
    pub parent_id: Option<ID>,
    /// Include deactivated units (default false).
    pub include_inactive: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct UserFilter {
    pub org_unit_id: Option<ID>,
    pub role: Option<Role>,
    pub include_inactive: Option<bool>,
}

pub async fn unit_by_id(ctx: &Context<'_>, id: &ID) -> Result<Option<OrgUnit>> {
    viewer(ctx)?;
    let Some(n) = lookup_id("OrgUnit", id) else {
        return Ok(None);
    };
    Ok(domain::unit_record(&state(ctx).db, n).await?.map(OrgUnit))
}

/// Accounts are visible to the account itself and to administrators of its unit's subtree.
pub async fn user_by_id(ctx: &Context<'_>, id: &ID) -> Result<Option<User>> {
    let me = viewer(ctx)?;
    let Some(n) = lookup_id("User", id) else {
        return Ok(None);
    };
    Ok(domain::visible_user(&state(ctx).db, me, n)
        .await?
        .map(|u| User(u, false)))
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in account, with its unit and role (and, for a citizen, their profile).
    async fn viewer(&self, ctx: &Context<'_>) -> GqlResult<User> {
        let me = viewer(ctx)?;
        Ok(User(domain::own_account(&state(ctx).db, me).await?, true))
    }

    /// 单位 — the unit tree. Any signed-in account may read it (citizens need townships).
    #[graphql(complexity = "super::cost::list(first, child_complexity)")]
    async fn org_units(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrgUnitFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<OrgUnitConnection> {
        viewer(ctx)?;
        let filter = filter.unwrap_or_default();
        let filter = domain::UnitFilter {
            kind: filter.kind,
            parent_id: filter
                .parent_id
                .as_ref()
                .map(|p| input_id("OrgUnit", "filter.parentId", p))
                .transpose()?,
            include_inactive: filter.include_inactive.unwrap_or(false),
        };
        let offset = offset_of(after.as_deref())?;
        let (rows, total) =
            domain::list_units(&state(ctx).db, &filter, offset, page_size(first)).await?;
        Ok(OrgUnitConnection {
            page_info: offset_page_info(offset, rows.len(), total),
            total_count: total,
            nodes: rows.into_iter().map(OrgUnit).collect(),
        })
    }

    /// 单位 — one unit by ID.
    async fn org_unit(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<OrgUnit>> {
        Ok(unit_by_id(ctx, &id).await?)
    }

    /// 账号 — staff accounts in the administrator's subtree. ADMIN only.
    #[graphql(complexity = "super::cost::list(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<UserConnection> {
        let me = viewer(ctx)?;
        let filter = filter.unwrap_or_default();
        let filter = domain::UserFilter {
            org_unit_id: filter
                .org_unit_id
                .as_ref()
                .map(|u| input_id("OrgUnit", "filter.orgUnitId", u))
                .transpose()?,
            role: filter.role,
            include_inactive: filter.include_inactive.unwrap_or(false),
        };
        let offset = offset_of(after.as_deref())?;
        let (rows, total) =
            domain::list_users(&state(ctx).db, me, &filter, offset, page_size(first)).await?;
        Ok(UserConnection {
            page_info: offset_page_info(offset, rows.len(), total),
            total_count: total,
            nodes: rows.into_iter().map(|u| User(u, false)).collect(),
        })
    }

    /// 事项分类 — the subjects a case can be filed under.
    async fn subjects(&self, ctx: &Context<'_>) -> GqlResult<Vec<Subject>> {
        viewer(ctx)?;
        let rows = domain::active_subjects(&state(ctx).db).await?;
        Ok(rows
            .into_iter()
            .map(|s| Subject {
                code: s.code,
                name: s.name,
            })
            .collect())
    }
}

/// A signed-in session's tokens.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque token for `refreshSession`; it rotates on every use.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: Instant,
    pub user: User,
}

impl From<Tokens> for AuthPayload {
    fn from(t: Tokens) -> Self {
        AuthPayload {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: Instant(t.expires_at),
            user: User(t.user, true),
        }
    }
}

#[derive(InputObject)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct RefreshSessionInput {
    pub refresh_token: String,
}

#[derive(InputObject)]
pub struct LogoutInput {
    pub refresh_token: String,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

#[derive(InputObject)]
pub struct RegisterPetitionerInput {
    pub username: String,
    pub password: String,
    /// 姓名 — the citizen's name.
    pub name: String,
    /// 手机号 — mainland mobile number.
    pub phone: String,
    /// 身份证号 — 18-character resident ID number.
    pub id_number: String,
}

#[derive(InputObject)]
pub struct CreateOrgUnitInput {
    pub name: String,
    pub kind: OrgUnitKind,
    pub parent_id: ID,
    #[graphql(default)]
    pub petition_bureau: bool,
    /// 纪委监委 — the county's discipline body: it sees online accusations until they name an
    /// accused unit, and leads accusations against the county's own leadership.
    #[graphql(default)]
    pub discipline_body: bool,
    /// A county's administrative division code (行政区划代码, 6 digits, unique); its case
    /// numbers carry it (`XF-130534-2026-000001`). Counties only.
    pub division_code: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateOrgUnitInput {
    pub id: ID,
    pub name: Option<String>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub org_unit_id: ID,
    pub role: Role,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: ID,
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub org_unit_id: Option<ID>,
}

#[derive(InputObject)]
pub struct DeactivateUserInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct ResetPasswordInput {
    pub id: ID,
    pub new_password: String,
}

/// The outcome of an operation that has nothing else to return.
#[derive(SimpleObject)]
pub struct OkPayload {
    pub ok: bool,
}

#[derive(SimpleObject)]
pub struct OrgUnitPayload {
    pub org_unit: OrgUnit,
}

#[derive(SimpleObject)]
pub struct UserPayload {
    pub user: User,
}

#[derive(InputObject)]
pub struct SetSubjectInput {
    /// `SCREAMING_CASE` code, e.g. `RURAL_ROADS`.
    pub code: String,
    /// 名称 — the Chinese name.
    pub name: String,
    /// Inactive subjects are refused for new cases but stay on old ones.
    #[graphql(default = true)]
    pub active: bool,
}

#[derive(SimpleObject)]
pub struct SubjectPayload {
    pub subject: Subject,
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// 登录 — sign in with username and password.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> GqlResult<AuthPayload> {
        let s = state(ctx);
        Ok(auth::login(
            &s.db,
            &s.auth,
            &s.clock,
            &input.username,
            &input.password,
            &request(ctx).client_addr,
        )
        .await?
        .into())
    }

    /// Exchanges a refresh token for a new pair; the old refresh token is spent.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> GqlResult<AuthPayload> {
        let s = state(ctx);
        Ok(
            auth::refresh(&s.db, &s.auth, &s.clock, &input.refresh_token)
                .await?
                .into(),
        )
    }

    /// 退出 — ends the session the refresh token belongs to.
    async fn logout(&self, ctx: &Context<'_>, input: LogoutInput) -> GqlResult<OkPayload> {
        let s = state(ctx);
        auth::logout(&s.db, &s.directory, &s.clock, &input.refresh_token).await?;
        Ok(OkPayload { ok: true })
    }

    /// 修改密码 — changes the viewer's password and ends their other sessions.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> GqlResult<OkPayload> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        auth::change_password(
            &s.db,
            &s.directory,
            &s.auth,
            &s.clock,
            me,
            &input.current_password,
            &input.new_password,
        )
        .await?;
        Ok(OkPayload { ok: true })
    }

    /// 信访人注册 — a citizen account for the mobile app; signs the citizen in.
    async fn register_petitioner(
        &self,
        ctx: &Context<'_>,
        input: RegisterPetitionerInput,
    ) -> GqlResult<AuthPayload> {
        let s = state(ctx);
        let bucket = format!("signup:{}", request(ctx).client_addr);
        if !auth::take_rate_limit(
            &s.db,
            &bucket,
            s.settings.signups_per_hour,
            TimeDelta::hours(1),
            s.clock.now(),
        )
        .await?
        {
            return Err(AppError::RateLimited(
                "too many sign-ups from this address; try again later".into(),
            )
            .into());
        }
        let tokens = domain::register_petitioner(
            &s.db,
            &s.auth,
            &s.clock,
            NewPetitioner {
                username: input.username,
                password: input.password,
                name: input.name,
                phone: input.phone,
                id_number: input.id_number,
            },
        )
        .await?;
        Ok(tokens.into())
    }

    /// 新建单位 — ADMIN, under a unit of their own subtree.
    async fn create_org_unit(
        &self,
        ctx: &Context<'_>,
        input: CreateOrgUnitInput,
    ) -> GqlResult<OrgUnitPayload> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        let unit = domain::create_org_unit(
            &s.db,
            &s.clock,
            me,
            NewUnit {
                name: input.name,
                kind: input.kind,
                parent_id: input_id("OrgUnit", "parentId", &input.parent_id)?,
                petition_bureau: input.petition_bureau,
                discipline_body: input.discipline_body,
                division_code: input.division_code,
            },
        )
        .await?;
        Ok(OrgUnitPayload {
            org_unit: OrgUnit(unit),
        })
    }

    /// 事项分类 — adds or changes a subject of the configurable list. ADMIN of a top-level
    /// unit (the county, or the city above it), since the list is shared.
    async fn set_subject(
        &self,
        ctx: &Context<'_>,
        input: SetSubjectInput,
    ) -> GqlResult<SubjectPayload> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        let saved = domain::set_subject(
            &s.db,
            &s.directory,
            &s.clock,
            me,
            &input.code,
            &input.name,
            input.active,
        )
        .await?;
        Ok(SubjectPayload {
            subject: Subject {
                code: saved.code,
                name: saved.name,
            },
        })
    }

    /// 修改单位 — rename or (de)activate a unit of the administrator's subtree.
    async fn update_org_unit(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrgUnitInput,
    ) -> GqlResult<OrgUnitPayload> {
        let me = viewer(ctx)?;
        let id = input_id("OrgUnit", "id", &input.id)?;
        let unit = domain::update_org_unit(
            &state(ctx).db,
            &state(ctx).directory,
            &state(ctx).clock,
            me,
            id,
            input.name,
            input.active,
        )
        .await?;
        Ok(OrgUnitPayload {
            org_unit: OrgUnit(unit),
        })
    }

    /// 新建账号 — a staff account in the administrator's subtree.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> GqlResult<UserPayload> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        let new = NewUser {
            username: input.username,
            password: input.password,
            display_name: input.display_name,
            org_unit_id: input_id("OrgUnit", "orgUnitId", &input.org_unit_id)?,
            role: input.role,
        };
        Ok(UserPayload {
            user: User(
                domain::create_user(&s.db, &s.auth, &s.clock, me, new).await?,
                false,
            ),
        })
    }

    /// 修改账号 — display name, role or unit; a new role or unit ends the account's sessions.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        input: UpdateUserInput,
    ) -> GqlResult<UserPayload> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        let id = input_id("User", "id", &input.id)?;
        let changes = UserChanges {
            display_name: input.display_name,
            role: input.role,
            org_unit_id: input
                .org_unit_id
                .as_ref()
                .map(|u| input_id("OrgUnit", "orgUnitId", u))
                .transpose()?,
        };
        let user = domain::update_user(&s.db, &s.directory, &s.clock, me, id, changes).await?;
        Ok(UserPayload {
            user: User(user, false),
        })
    }

    /// 停用账号 — the account can no longer sign in; its sessions end at once.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: DeactivateUserInput,
    ) -> GqlResult<UserPayload> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        let id = input_id("User", "id", &input.id)?;
        let user = domain::deactivate_user(&s.db, &s.directory, &s.clock, me, id).await?;
        Ok(UserPayload {
            user: User(user, false),
        })
    }

    /// 重置密码 — sets a new password; the account's sessions end at once.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> GqlResult<UserPayload> {
        let me = viewer(ctx)?;
        let s = state(ctx);
        let id = input_id("User", "id", &input.id)?;
        let user = domain::reset_password(
            &s.db,
            &s.directory,
            &s.auth,
            &s.clock,
            me,
            id,
            &input.new_password,
        )
        .await?;
        Ok(UserPayload {
            user: User(user, false),
        })
    }
}

/// 管理记录 — one administrative action on the append-only, hash-chained record.
#[derive(SimpleObject)]
pub struct AdminRecordEntry {
    /// 序号 — 1, 2, 3 … over the whole deployment.
    pub seq: i64,
    pub at: Instant,
    /// What was done, e.g. `USER_CREATED`, `PASSWORD_RESET`, `CALENDAR_SET`.
    pub action: String,
    /// 操作人 — the administrator who acted (null for the bootstrap).
    pub actor_name: Option<String>,
    /// What was acted on, e.g. `User:12`.
    pub target: String,
    /// What changed, as JSON (never a password).
    pub detail: String,
    /// The SHA-256 link of this entry.
    pub hash: String,
}

/// A page of the administrative record.
#[derive(SimpleObject)]
pub struct AdminRecordConnection {
    pub nodes: Vec<AdminRecordEntry>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

/// 管理记录校验 — the result of re-computing the administrative chain.
#[derive(SimpleObject)]
pub struct AdminRecordIntegrity {
    pub intact: bool,
    pub entries: i32,
    pub broken_at_seq: Option<i32>,
    pub reason: Option<String>,
}

/// 审计签名 — the heads of every audit chain (each county's and the administrative record's),
/// signed with the audit key, which the database does not hold. Keep copies elsewhere and
/// give them to `xinfang audit verify --checkpoints`.
#[derive(SimpleObject)]
pub struct AuditCheckpoint {
    pub at: Instant,
    /// The signed JSON text, byte for byte: `{"at", "heads": [{"chain", "seq", "hash"}]}`.
    pub statement: String,
    /// Ed25519 signature of `statement`, base64.
    pub signature: String,
    /// The public key that verifies it, base64.
    pub public_key: String,
}

#[derive(Default)]
pub struct AdminRecordQuery;

#[Object]
impl AdminRecordQuery {
    /// 管理记录 — who created, changed, reset or deactivated accounts and units, and changed the
    /// subject list or the calendar, newest first: the entries about the administrator's own
    /// subtree. ADMIN only.
    #[graphql(complexity = "super::cost::list(first, child_complexity)")]
    async fn admin_record(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<AdminRecordConnection> {
        let me = viewer(ctx)?;
        let offset = offset_of(after.as_deref())?;
        let (rows, total) =
            domain::admin_record(&state(ctx).db, me, offset, page_size(first)).await?;
        Ok(AdminRecordConnection {
            page_info: offset_page_info(offset, rows.len(), total),
            total_count: total,
            nodes: rows
                .into_iter()
                .map(|r| AdminRecordEntry {
                    seq: r.entry.seq,
                    at: Instant(r.entry.at),
                    action: r.entry.action,
                    actor_name: r.actor_name,
                    target: r.entry.target,
                    detail: r.entry.detail,
                    hash: r.entry.hash,
                })
                .collect(),
        })
    }

    /// 审计签名 — the newest signed checkpoints (at most 100), newest first. An ADMIN of the
    /// top-level unit.
    async fn audit_checkpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] last: i32,
    ) -> GqlResult<Vec<AuditCheckpoint>> {
        let me = viewer(ctx)?;
        let rows = domain::audit_checkpoints(&state(ctx).db, me, last.clamp(1, 100) as u64).await?;
        Ok(rows
            .into_iter()
            .map(|c| AuditCheckpoint {
                at: Instant(c.at),
                statement: c.statement,
                signature: c.signature,
                public_key: c.public_key,
            })
            .collect())
    }

    /// 管理记录校验 — re-computes the whole administrative chain. An ADMIN of the top-level unit.
    async fn admin_record_integrity(&self, ctx: &Context<'_>) -> GqlResult<AdminRecordIntegrity> {
        let me = viewer(ctx)?;
        let (entries, broken) = domain::check_admin_record(&state(ctx).db, me).await?;
        Ok(AdminRecordIntegrity {
            intact: broken.is_none(),
            entries: entries as i32,
            broken_at_seq: broken.as_ref().map(|b| b.seq),
            reason: broken.map(|b| b.reason),
        })
    }
}
