//! Who sees and does what (domain §5, 谁主管、谁负责) — the one place that decides it.
//!
//! A [`Viewer`] is resolved once per request. Its [`Viewer::case_scope`] is a SQL condition
//! over `cases` that every read path adds to its query (by id, by number, node, lists, counts,
//! search, nested lists): no code loads a case and asks afterwards. Masking of personal data
//! and the capabilities behind `viewerCan` are decided here too, from the same facts.
//!
//! What a viewer sees *of* a visible case is decided here too, field by field, by one
//! decision: [`Viewer::sight`] gives a [`CaseSight`] — which level of personal data applies,
//! whether staff-only records show, and how a person's name reads wherever it appears
//! (petitioners, timeline actors, export, subscriptions). Presenters ask it; none decides.
//!
//! One deliberate exception, decided here too ([`Viewer::sees_referral`]): the parties to a
//! referral read that referral — the case's number, title, receiver and status — even after
//! the case has left their sight, as domain §5 asks; they reach nothing else of the case. An
//! accused unit is never such a party to an accusation against it.
//!
//! This module knows nothing of HTTP or GraphQL.

use crate::domain::{
    Action, CaseStatus, Category, Channel, OrgUnitKind, PetitionerKind, Role, UnitRelation,
};
use crate::error::{AppError, Result, forbidden};
use crate::validate::{mask_id_number, mask_phone};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query};
use xinfang_entity::{case, case_petitioner, org_unit, referral};

/// The unit a staff account belongs to, with what the rules need to know about it.
#[derive(Clone, Debug)]
pub struct UnitScope {
    pub id: i64,
    pub name: String,
    pub kind: OrgUnitKind,
    pub county_id: Option<i64>,
    pub petition_bureau: bool,
    /// 纪委监委 — the county's discipline body.
    pub discipline_body: bool,
    /// Materialized path `/root/…/self/`.
    pub path: String,
}

impl UnitScope {
    /// This unit and every unit above it.
    pub fn self_and_ancestors(&self) -> Vec<i64> {
        self.path
            .split('/')
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    /// Whether a unit (by its path) is this unit or inside it.
    pub fn contains_path(&self, other_path: &str) -> bool {
        other_path.starts_with(&self.path)
    }

    pub fn is_county_unit(&self) -> bool {
        self.kind == OrgUnitKind::County
    }

    /// The units whose accusation hides a case from this unit: the unit itself and the units
    /// above it that are below its county. Accusing the county unit (its leadership) hides
    /// the case from the county unit alone, not from its townships and departments, which
    /// must still be able to handle it — see [`accusation_hides_from`].
    pub fn hidden_when_accused(&self) -> Vec<i64> {
        let path = self.self_and_ancestors();
        let below_county = match self.county_id {
            Some(county) if county != self.id => path
                .iter()
                .position(|&id| id == county)
                .map(|i| i + 1)
                .unwrap_or(path.len().saturating_sub(1)),
            _ => path.len().saturating_sub(1),
        };
        path[below_county..].to_vec()
    }
}

/// Whether naming `accused` on an accusation hides the case from `unit` (domain §5): the
/// accused unit itself, and every unit inside it unless the accused is a county or a city —
/// an accusation against a county's leadership is still handled by the county's own
/// discipline body. The petition bureau is exempt from this rule; callers ask
/// [`Viewer::case_scope`] or check `petition_bureau` for that.
pub fn accusation_hides_from(accused: &org_unit::Model, unit: &org_unit::Model) -> bool {
    if unit.id == accused.id {
        return true;
    }
    let above_county = matches!(accused.kind.as_str(), "COUNTY" | "CITY");
    !above_county && unit.path.starts_with(&accused.path)
}

/// Whether a case's accusation hides it from `unit`: [`accusation_hides_from`], with the
/// petition bureau exempt, as it is from every exclusion.
pub fn hidden_by_accusation(accused: Option<&org_unit::Model>, unit: &org_unit::Model) -> bool {
    !unit.petition_bureau && accused.is_some_and(|a| accusation_hides_from(a, unit))
}

/// Why `unit` may not lead (or receive, or assist on) an accusation against `accused`, if it
/// may not: never the accused unit itself, nor a unit the accusation hides the case from;
/// and an accusation against a county's leadership only its discipline body (or the petition
/// bureau, until it routes the case there).
pub fn accusation_lead_refusal(
    accused: &org_unit::Model,
    unit: &org_unit::Model,
) -> Option<&'static str> {
    if unit.id == accused.id {
        return Some("an accusation is never led by, or handed to, the accused unit");
    }
    if unit.petition_bureau {
        return None;
    }
    if accused.kind == OrgUnitKind::County && !unit.discipline_body {
        return Some(
            "an accusation against the county's leadership is led by the discipline body (纪委监委)",
        );
    }
    if accusation_hides_from(accused, unit) {
        return Some("an accusation is never led by, or handed to, the accused unit");
    }
    None
}

/// Why a case that awaits its accused unit ([`awaits_accused_unit`]) may not go to `unit`,
/// if it may not: until the accused unit is named, only the discipline body (and the bureau,
/// which holds it) may be handed it or asked to assist.
pub fn awaiting_accused_refusal(
    case: &case::Model,
    unit: &org_unit::Model,
) -> Option<&'static str> {
    (awaits_accused_unit(case) && !unit.discipline_body && !unit.petition_bureau).then_some(
        "name the accused unit first (reclassifyCase): until then only the discipline body may take this accusation",
    )
}

/// Whether a case is an online accusation that names no accused unit yet: until it does,
/// only the petition bureau, the county's discipline body and the units it is explicitly
/// routed to see it — never the territory township or the county unit (domain §5).
pub fn awaits_accused_unit(case: &case::Model) -> bool {
    case.category == Category::Accusation
        && case.channel == Channel::Online
        && case.accused_unit_id.is_none()
}

fn awaiting_accused_unit(table: &'static str) -> Condition {
    Condition::all()
        .add(col_of(table, "category").eq(Category::Accusation.as_str()))
        .add(col_of(table, "channel").eq(Channel::Online.as_str()))
        .add(col_of(table, "accused_unit_id").is_null())
}

/// The signed-in account of a request.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user_id: i64,
    pub session_id: String,
    pub role: Role,
    /// None for petitioners.
    pub unit: Option<UnitScope>,
}

/// How much of a case's personal data (petitioner identity, ID numbers, phones) a viewer sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonalData {
    /// Everything as registered.
    Full,
    /// Names and addresses; ID numbers and phones masked to their shape.
    Masked,
    /// An accusation's petitioners read as confidential: no name, ID number, phone or address.
    Confidential,
}

/// The table alias every case query uses, so scope conditions can refer to it.
pub const CASES: &str = "cases";

fn col(name: &'static str) -> Expr {
    col_of(CASES, name)
}

/// A column under the alias `table` (`cases`, or another table's alias in a hand-built query).
pub(crate) fn col_of(table: &'static str, name: &'static str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(name)))
}

impl Viewer {
    pub fn is_petitioner(&self) -> bool {
        self.role == Role::Petitioner
    }

    /// The unit of a STAFF or LEADER account: the roles that handle cases.
    pub fn handling_unit(&self) -> Result<&UnitScope> {
        match (&self.unit, self.role) {
            (Some(unit), Role::Staff | Role::Leader) => Ok(unit),
            _ => Err(forbidden("only staff and leaders of a unit may do this")),
        }
    }

    /// A viewer standing for any account of `unit` with `role`, for asking what that unit may
    /// see (a lead unit or an owning leader named by someone else). It has no account or
    /// session of its own and is never used to act.
    pub fn standing_for(unit: UnitScope, role: Role) -> Viewer {
        Viewer {
            user_id: 0,
            session_id: String::new(),
            role,
            unit: Some(unit),
        }
    }

    /// Whether a matter sent up keeps this viewer from acting on it: it is in the higher
    /// body's hands, and nothing more happens to it in the county (the petitioner still reads
    /// it). Inside a city deployment the units above the counties act on it.
    pub fn kept_from_sent_up(&self, case: &case::Model) -> bool {
        case.sent_up_at.is_some() && !self.handling_unit().is_ok_and(|u| u.county_id.is_none())
    }

    /// The county whose petition bureau the viewer works in (STAFF or LEADER), if any.
    pub fn bureau_county(&self) -> Option<i64> {
        self.handling_unit()
            .ok()
            .filter(|u| u.petition_bureau)
            .and_then(|u| u.county_id)
    }

    /// Whether the viewer is a party to a backlog entry (积案) of `county_id`: that county's
    /// petition bureau, the owning leader, or staff and leaders of the lead unit. (Anyone but
    /// the bureau also needs a case of the matter in sight; `backlog` asks that of the data.)
    pub fn party_to_backlog_entry(
        &self,
        county_id: i64,
        leader_user_id: i64,
        lead_unit_id: i64,
    ) -> bool {
        let Ok(unit) = self.handling_unit() else {
            return false;
        };
        self.bureau_county() == Some(county_id)
            || leader_user_id == self.user_id
            || lead_unit_id == unit.id
    }

    /// A citizen's own account (submitting a petition online): `FORBIDDEN` for anyone else.
    pub fn require_citizen(&self) -> Result<()> {
        if self.is_petitioner() {
            Ok(())
        } else {
            Err(forbidden(
                "only citizens submit petitions; staff use registerCase",
            ))
        }
    }

    /// The county whose calendar this viewer sets: an administrator of the county unit.
    pub fn calendar_county(&self) -> Result<i64> {
        let admin = self.admin_unit()?;
        match admin.county_id {
            Some(county) if admin.is_county_unit() => Ok(county),
            _ => Err(forbidden(
                "only the county's administrator sets its calendar",
            )),
        }
    }

    /// The county whose calendar this viewer reads: any account of a county's unit.
    pub fn reading_county(&self) -> Result<i64> {
        self.unit
            .as_ref()
            .and_then(|u| u.county_id)
            .ok_or_else(|| forbidden("only staff of a county read its calendar"))
    }

    /// Whether this viewer may verify a case's record (`auditIntegrity`), as an error.
    pub fn require_record_check(&self, case: &case::Model) -> Result<()> {
        if self.may_verify_record(case) {
            Ok(())
        } else {
            Err(forbidden("only the petition bureau verifies the record"))
        }
    }

    /// The unit of an ADMIN account of the top-level unit (the county, or the city above it):
    /// what is shared by the whole deployment (the subject list, the administrative record's
    /// chain) is theirs alone.
    pub fn top_level_admin(&self, what: &str) -> Result<&UnitScope> {
        let admin = self.admin_unit()?;
        if admin.self_and_ancestors().len() != 1 {
            return Err(forbidden(format!(
                "only an administrator of the top-level unit {what}"
            )));
        }
        Ok(admin)
    }

    /// The unit of an ADMIN account, whose subtree it manages.
    /// The county whose prevention records (receptions, dispute screening, joint meetings)
    /// this viewer reads in full: staff and leaders of its petition bureau or county unit.
    pub fn oversees_county(&self) -> Option<i64> {
        match self.handling_unit() {
            Ok(u) if u.petition_bureau || u.is_county_unit() => u.county_id,
            _ => None,
        }
    }

    /// Whether this viewer may keep `unit_id`'s reception roster: its ADMIN or a LEADER.
    pub fn keeps_roster_of(&self, unit_id: i64) -> bool {
        matches!(self.role, Role::Admin | Role::Leader)
            && self.unit.as_ref().is_some_and(|u| u.id == unit_id)
    }

    /// The condition under which this viewer reads a unit's prevention record (a reception,
    /// a dispute report), over the record's unit and county columns: the unit's own staff and
    /// leaders, and the county's bureau and county unit. Nobody else.
    pub fn unit_record_scope<C: sea_orm::ColumnTrait>(&self, unit: C, county: C) -> Condition {
        let Ok(own) = self.handling_unit() else {
            return Condition::all().add(Expr::val(1).eq(0));
        };
        let mut any = Condition::any().add(unit.eq(own.id));
        if let Some(c) = self.oversees_county() {
            any = any.add(county.eq(c));
        }
        any
    }

    /// Whether the people a dispute report names show in full (ID numbers and phones): to
    /// the unit that reported them and the bureau; masked to the county unit.
    pub fn sees_reported_people(&self, unit_id: i64, county_id: i64) -> bool {
        self.bureau_county() == Some(county_id)
            || self.handling_unit().is_ok_and(|u| u.id == unit_id)
    }

    /// What a unit's own system hears by webhook: exactly what the unit's staff may see (the
    /// scope of `inbox` and `caseEvents`), and nothing kept for a person — no account stands
    /// behind it, so nothing it uploaded or wrote itself.
    pub fn unit_system(unit: UnitScope) -> Viewer {
        Viewer {
            user_id: 0,
            session_id: "webhook".into(),
            role: Role::Staff,
            unit: Some(unit),
        }
    }

    /// The unit whose webhook endpoints this viewer manages ([`Viewer::manages_webhooks_of`]),
    /// for scoping reads; `FORBIDDEN` for anyone but an administrator.
    pub fn webhook_unit(&self) -> Result<i64> {
        Ok(self.admin_unit()?.id)
    }

    /// Who registers, lists, deactivates and replays a unit's webhook endpoints: an
    /// administrator of that very unit. Not one above it: whoever sets an endpoint's URL
    /// decides where the unit's view of its cases goes, so a county administrator may not
    /// point the bureau's or the discipline body's stream at itself.
    pub fn manages_webhooks_of(&self, unit_id: i64) -> Result<()> {
        if self.webhook_unit()? == unit_id {
            Ok(())
        } else {
            Err(forbidden(
                "an administrator registers and manages the webhooks of its own unit only",
            ))
        }
    }

    pub fn admin_unit(&self) -> Result<&UnitScope> {
        match (&self.unit, self.role) {
            (Some(unit), Role::Admin) => Ok(unit),
            _ => Err(forbidden("only an administrator may do this")),
        }
    }

    /// The county and unit whose statistics may be added up from days folded per unit
    /// (`stat_days`) for this viewer: a whole county's ([`Viewer::county_wide_scope`]), or a
    /// township's or department's, whose staff and leaders see by the unit's relation rows
    /// ([`Viewer::sight_unit`]). What those scopes see follows from the cases and their
    /// relation rows alone, whose every change lists the cases it may move. Not the
    /// discipline body (it also sees the county's accusations awaiting an accused unit,
    /// which would make its fold as costly as a county's), nor a unit above the counties.
    pub fn folded_scope(&self) -> Option<(i64, i64)> {
        if let Some(scope) = self.county_wide_scope() {
            return Some(scope);
        }
        let county = self.unit.as_ref()?.county_id?;
        Some((county, self.sight_unit()?))
    }

    /// The county and unit of a viewer who sees a whole county: staff and leaders of a
    /// petition bureau or a county unit (every case of their county but those sent up and,
    /// for the county unit, accusations against it — [`Viewer::case_scope`]).
    pub fn county_wide_scope(&self) -> Option<(i64, i64)> {
        if !matches!(self.role, Role::Staff | Role::Leader) {
            return None;
        }
        let unit = self.unit.as_ref()?;
        let county = unit.county_id?;
        (unit.petition_bureau || unit.is_county_unit()).then_some((county, unit.id))
    }

    /// The condition, over the `cases` alias, that limits any query to the cases this viewer
    /// may see. Rules (domain §5): the county unit and the petition bureau see their county's
    /// cases; a unit with a relation row (lead, assisting, territory, registered, pending
    /// referral) sees that case; an accusation is hidden from its accused unit and everything
    /// inside it, whatever the rule, except from the petition bureau. Administrators see no case
    /// content by their role; petitioners see the cases they submitted or are named on.
    pub fn case_scope(&self) -> Condition {
        self.case_scope_on(CASES)
    }

    /// [`Viewer::case_scope`] over `cases` under another alias: for a subquery that asks
    /// whether a case it reaches from another one (the case a repeat repeats) is visible,
    /// while the outer query already holds the name `cases`.
    pub fn case_scope_on(&self, table: &'static str) -> Condition {
        let col = |name: &'static str| col_of(table, name);
        match (self.role, &self.unit) {
            (Role::Petitioner, _) => {
                let named = Query::select()
                    .expr(Expr::val(1))
                    .from(Alias::new("case_petitioners"))
                    .and_where(
                        Expr::col((Alias::new("case_petitioners"), Alias::new("case_id")))
                            .equals((Alias::new(table), Alias::new("id"))),
                    )
                    .and_where(
                        Expr::col((Alias::new("case_petitioners"), Alias::new("user_id")))
                            .eq(self.user_id),
                    )
                    .to_owned();
                Condition::any()
                    .add(col("submitted_by_user_id").eq(self.user_id))
                    .add(Expr::exists(named))
            }
            (Role::Staff | Role::Leader, Some(unit)) => {
                // A matter sent up to a higher body leaves every staff scope of the county
                // (domain §9); the bureau keeps only the referral record.
                let kept = col("sent_up_at").is_null();
                // A unit above the counties (the city) sees by its relation rows, sent up or not:
                // a matter the county sent up to it is its own to handle.
                let Some(county_id) = unit.county_id else {
                    return self.related_rows_scope(unit, table);
                };
                let scope = if unit.petition_bureau {
                    Condition::all().add(col("county_id").eq(county_id))
                } else if unit.is_county_unit() {
                    Condition::all()
                        .add(col("county_id").eq(county_id))
                        .add(not_accused(unit, table))
                        .add(awaiting_accused_unit(table).not())
                } else if unit.discipline_body {
                    // The related rows as for any unit, and the county's online accusations
                    // that name no accused unit yet.
                    Condition::any()
                        .add(self.related_rows_scope(unit, table))
                        .add(
                            Condition::all()
                                .add(col("county_id").eq(county_id))
                                .add(awaiting_accused_unit(table)),
                        )
                } else {
                    self.related_rows_scope(unit, table)
                };
                Condition::all().add(scope).add(kept)
            }
            // ADMIN (and any account without a unit that is not a petitioner): nothing.
            _ => Condition::all().add(Expr::val(1).eq(0)),
        }
    }

    /// The unit whose relation rows decide what this viewer sees, when that is the rule (a
    /// township's or department's staff and leaders): every visible case has a `case_sight`
    /// row for it, so lists may walk those rows. `None` for the county unit, the petition
    /// bureau, the discipline body (which also sees accusations it has no row for),
    /// petitioners and administrators.
    pub fn sight_unit(&self) -> Option<i64> {
        match (self.role, &self.unit) {
            (Role::Staff | Role::Leader, Some(unit))
                if !(unit.county_id.is_some()
                    && (unit.petition_bureau || unit.is_county_unit() || unit.discipline_body)) =>
            {
                Some(unit.id)
            }
            _ => None,
        }
    }

    fn related_rows_scope(&self, unit: &UnitScope, table: &'static str) -> Condition {
        let related = Query::select()
            .expr(Expr::val(1))
            .from(Alias::new("case_units"))
            .and_where(
                Expr::col((Alias::new("case_units"), Alias::new("case_id")))
                    .equals((Alias::new(table), Alias::new("id"))),
            )
            .and_where(Expr::col((Alias::new("case_units"), Alias::new("unit_id"))).eq(unit.id))
            .to_owned();
        let mut scope = Condition::all()
            .add(Expr::exists(related))
            .add(not_accused(unit, table));
        // Relation rows only ever name units of the case's own county; saying so lets the
        // database walk the county's newest cases in index order instead of scanning them all.
        if let Some(county_id) = unit.county_id {
            scope = scope.add(col_of(table, "county_id").eq(county_id));
        }
        scope
    }

    pub(crate) fn is_bureau_of(&self, case: &case::Model) -> bool {
        matches!(&self.unit, Some(u) if u.petition_bureau && u.county_id == Some(case.county_id))
    }

    fn is_unit(&self, unit_id: i64) -> bool {
        matches!(&self.unit, Some(u) if u.id == unit_id)
    }

    /// Staff or a leader of `unit_id`: who registers what was raised at the unit's receptions.
    pub fn acts_for_unit(&self, unit_id: i64) -> bool {
        self.handling_unit().is_ok_and(|u| u.id == unit_id)
    }

    /// Staff or a leader of the petition bureau of `county_id`: who follows up the county's
    /// dispute reports and turns them into cases.
    pub fn acts_for_bureau_of(&self, county_id: i64) -> bool {
        self.bureau_county() == Some(county_id)
    }

    /// Staff of the case's lead unit or of its county's petition bureau: the units in charge,
    /// who know who petitioned, hold the query code and keep an accusation's material.
    pub fn in_charge_of(&self, case: &case::Model) -> bool {
        self.handling_unit()
            .is_ok_and(|u| u.id == case.lead_unit_id || self.is_bureau_of(case))
    }

    /// Whether a file of a case this viewer sees shows to it: every file, except that an
    /// accusation's material shows only to the units in charge and to whoever uploaded it.
    pub fn sees_file(&self, case: &case::Model, uploaded_by_user_id: i64) -> bool {
        case.category != Category::Accusation
            || uploaded_by_user_id == self.user_id
            || (!self.is_petitioner() && self.in_charge_of(case))
    }

    /// [`Viewer::sees_file`] as a condition on the timeline (`case_events e`): the entries
    /// about an accusation's files. The viewer's ids are bound values, so every viewer of a
    /// kind shares one statement text (and one prepared statement per connection).
    pub fn sees_file_entries(&self) -> Condition {
        let m = |name: &'static str| col_of("m", name);
        let in_charge = match self.handling_unit() {
            Ok(u) => match (u.petition_bureau, u.county_id) {
                (true, Some(county)) => Condition::any()
                    .add(m("lead_unit_id").eq(u.id))
                    .add(m("county_id").eq(county)),
                _ => Condition::all().add(m("lead_unit_id").eq(u.id)),
            },
            Err(_) => Condition::all().add(Expr::cust("1 = 0")),
        };
        let not_hidden = Query::select()
            .expr(Expr::cust("1"))
            .from_as(Alias::new(CASES), Alias::new("m"))
            .and_where(m("id").equals((Alias::new("e"), Alias::new("case_id"))))
            .cond_where(
                Condition::any()
                    .add(Expr::cust("m.category <> 'ACCUSATION'"))
                    .add(in_charge),
            )
            .to_owned();
        Condition::any()
            .add(col_of("e", "actor_user_id").eq(self.user_id))
            .add(Expr::exists(not_hidden))
    }

    /// Who withdraws a file: whoever attached it, or the units in charge.
    pub fn may_withdraw_file(&self, case: &case::Model, uploaded_by_user_id: i64) -> bool {
        uploaded_by_user_id == self.user_id || self.in_charge_of(case)
    }

    /// Who reads a case's query code: the units in charge, who hand it over, and the
    /// petitioner (who sees only their own cases).
    pub fn sees_query_code(&self, case: &case::Model) -> bool {
        self.is_petitioner() || self.in_charge_of(case)
    }

    /// Who records a document's delivery: the petitioner (by opening it), the unit that issued
    /// it, the lead unit, the bureau, the reviewing body.
    pub fn may_deliver_document(&self, case: &case::Model, issued_by_unit_id: i64) -> bool {
        if self.is_petitioner() {
            return true;
        }
        self.handling_unit().is_ok_and(|u| {
            u.id == issued_by_unit_id
                || u.id == case.lead_unit_id
                || Some(u.id) == case.reviewing_unit_id
                || self.is_bureau_of(case)
        })
    }

    /// Who corrects a document: the unit that issued it — a LEADER of it for a signed opinion.
    pub fn may_correct_document(&self, issued_by_unit_id: i64, signed: bool) -> bool {
        self.is_unit(issued_by_unit_id) && (!signed || self.role == Role::Leader)
    }

    /// Whether the viewer may verify a case's record (`auditIntegrity`): its county's petition
    /// bureau, staff or leader.
    pub fn may_verify_record(&self, case: &case::Model) -> bool {
        self.handling_unit().is_ok() && self.is_bureau_of(case)
    }

    /// What this viewer sees of a case it can see (domain §5): see [`CaseSight`].
    pub fn sight(&self, case: &case::Model) -> CaseSight {
        CaseSight {
            personal_data: self.personal_data(case),
            ..self.record_sight()
        }
    }

    /// What this viewer sees of records it reaches without seeing their case (the referrals
    /// its unit was party to): the staff-only parts by role, and no personal data at all.
    pub fn record_sight(&self) -> CaseSight {
        let staff = self.sees_staff_records();
        CaseSight {
            personal_data: PersonalData::Confidential,
            staff_records: staff,
            staff_names: staff,
            viewer_user_id: self.user_id,
        }
    }

    /// Whether staff-only records show to this viewer at all (everyone but petitioners; an
    /// administrator sees no case in the first place).
    pub fn sees_staff_records(&self) -> bool {
        !self.is_petitioner()
    }

    /// Whether the viewer may pick cases by this deadline. Supervision orders and the reports
    /// owed to a higher body are staff records: filtering by them would tell a petitioner
    /// which of their cases carry one.
    pub fn may_filter_by_deadline(&self, kind: crate::domain::DeadlineKind) -> bool {
        use crate::domain::DeadlineKind;
        !matches!(kind, DeadlineKind::Supervision | DeadlineKind::HigherReport)
            || self.sees_staff_records()
    }

    /// Personal data of a case the viewer can already see (domain §5, masking).
    fn personal_data(&self, case: &case::Model) -> PersonalData {
        let lead_or_bureau = self.is_unit(case.lead_unit_id) || self.is_bureau_of(case);
        let accusation = case.category == Category::Accusation;
        if self.is_petitioner() {
            // Petitioners see their own entry in full (decided per petitioner by the caller),
            // and the others masked — or confidential on an accusation.
            return if accusation {
                PersonalData::Confidential
            } else {
                PersonalData::Masked
            };
        }
        if accusation {
            return if lead_or_bureau {
                PersonalData::Full
            } else {
                PersonalData::Confidential
            };
        }
        if lead_or_bureau || self.is_unit(case.registered_by_unit_id) {
            PersonalData::Full
        } else {
            PersonalData::Masked
        }
    }

    /// The condition under which a case's petitioner ID numbers and phones are visible in
    /// full to this viewer, for searching by them: searching a masked field must not match.
    pub fn full_personal_data_scope(&self) -> Condition {
        match (self.role, &self.unit) {
            (Role::Staff | Role::Leader, Some(unit)) => {
                if unit.petition_bureau {
                    return Condition::all();
                }
                let accusation = col("category").eq(Category::Accusation.as_str());
                Condition::any().add(col("lead_unit_id").eq(unit.id)).add(
                    Condition::all()
                        .add(col("registered_by_unit_id").eq(unit.id))
                        .add(accusation.not()),
                )
            }
            _ => Condition::all().add(Expr::val(1).eq(0)),
        }
    }

    /// The condition under which petitioner names are visible (searching by name).
    pub fn petitioner_name_scope(&self) -> Condition {
        let not_accusation = col("category").ne(Category::Accusation.as_str());
        match (self.role, &self.unit) {
            (Role::Staff | Role::Leader, Some(unit)) if unit.petition_bureau => Condition::all(),
            (Role::Staff | Role::Leader, Some(unit)) => Condition::any()
                .add(not_accusation)
                .add(col("lead_unit_id").eq(unit.id)),
            _ => Condition::all().add(Expr::val(1).eq(0)),
        }
    }

    /// Whether this viewer's role and unit allow an action on a case they can see (the "who"
    /// of domain §5's action table). Whether the case's state allows it now is the
    /// workflow's question; `viewerCan` asks both.
    pub fn may(&self, case: &case::Model, relations: &[UnitRelation], action: Action) -> bool {
        let handling = self.handling_unit().ok();
        let lead = handling.is_some_and(|u| u.id == case.lead_unit_id);
        let bureau = handling.is_some() && self.is_bureau_of(case);
        let leader = self.role == Role::Leader;
        let county_unit = matches!(handling, Some(u) if u.is_county_unit() && u.county_id == Some(case.county_id));
        match action {
            Action::Transfer | Action::AddAssistingUnit | Action::Close => lead || bureau,
            Action::DecideAcceptance
            | Action::AddProgressNote
            | Action::RequestExtension
            | Action::AnswerSupervision
            | Action::FileCompletionReport => lead,
            Action::DecideExtension | Action::Reply => lead && leader,
            Action::AddAssistingOpinion => {
                handling.is_some() && relations.contains(&UnitRelation::Assisting)
            }
            Action::IssueSupervision | Action::DecideCompletionReport => bureau,
            Action::TakeLeaderOwnership => leader && (lead || county_unit),
            // 包案进展: the owning leader, or the lead unit that carries the plan out.
            Action::RecordOwnershipProgress => {
                lead || (handling.is_some() && case.leader_user_id == Some(self.user_id))
            }
            // A petitioner who can see the case is on it; staff act on their behalf.
            Action::Evaluate | Action::RequestReview => self.is_petitioner() || lead || bureau,
            Action::DecideReview => handling.is_some_and(|u| Some(u.id) == case.reviewing_unit_id),
            // Whoever handed the decision over records it: the lead unit, the bureau, the
            // reviewing body for its own decision; the petitioner by opening it in the app.
            // The result goes back up from whoever holds it; only the bureau sends a matter up.
            Action::ReportToHigherBody => lead || bureau,
            Action::SendUpward => bureau,
            // The petitioner's code is the lead unit's or the bureau's to replace.
            Action::ReissueQueryCode => lead || bureau,
            // 批示: a LEADER of any unit that sees the case; the unit in charge reports back.
            Action::GiveInstruction => leader && handling.is_some(),
            Action::ReportOnInstruction => lead,
            // 听证: the unit whose decision the running clock waits for — the reviewing body
            // during a review, the lead unit otherwise.
            Action::ScheduleHearing | Action::ConcludeHearing | Action::CancelHearing => {
                if matches!(
                    case.status,
                    CaseStatus::UnderReview | CaseStatus::UnderReReview
                ) {
                    handling.is_some_and(|u| Some(u.id) == case.reviewing_unit_id)
                } else {
                    lead
                }
            }
            // The petitioner on their own case; staff of the units working on it.
            Action::AttachFile => {
                self.is_petitioner()
                    || lead
                    || bureau
                    || relations.contains(&UnitRelation::Assisting)
                    || handling.is_some_and(|u| Some(u.id) == case.reviewing_unit_id)
            }
            Action::RecordDelivery => {
                self.is_petitioner()
                    || lead
                    || bureau
                    || handling.is_some_and(|u| Some(u.id) == case.reviewing_unit_id)
            }
            // 大口进入、分类处理: the bureau corrects a case's classification at any time; the
            // lead unit only before it has decided acceptance.
            Action::Reclassify => bureau || (lead && case.status == CaseStatus::Registered),
            // Whether a petition repeats an earlier one is the bureau's or the lead unit's call.
            Action::LinkRepeat | Action::UndoRepeat => lead || bureau,
            // 并单: a further 12345 ticket about the case's matter.
            Action::AddHotlineTicket => lead || bureau,
        }
    }

    /// Whether the viewer's unit is a party to a referral (sender or receiver) or the county's
    /// petition bureau: they see the referral (number, title, receiver, status) even when they
    /// no longer see the case — except a party that the case's accusation names as accused
    /// (or contains), which sees nothing of it.
    pub fn sees_referral(&self, referral: &referral::Model, case: &case::Model) -> bool {
        match self.handling_unit() {
            Ok(u) if u.petition_bureau && u.county_id == Some(case.county_id) => true,
            Ok(u) => {
                (u.id == referral.from_unit_id || u.id == referral.to_unit_id)
                    && !case
                        .accused_unit_id
                        .is_some_and(|a| u.hidden_when_accused().contains(&a))
            }
            Err(_) => false,
        }
    }

    /// The condition, over the `referrals` table joined to its case as `cases`, that a
    /// referral is one the viewer's unit is a party to — its sender or receiver, unless the
    /// case accuses the unit — or, for the petition bureau, one of its county's: the rule
    /// [`Viewer::sees_referral`] applies to one loaded row, for reads.
    pub fn referral_party_scope(&self) -> Condition {
        let referrals = |c: &'static str| Expr::col((Alias::new("referrals"), Alias::new(c)));
        let Ok(u) = self.handling_unit() else {
            return Condition::all().add(Expr::val(1).eq(0));
        };
        let party = Condition::all()
            .add(
                Condition::any()
                    .add(referrals("from_unit_id").eq(u.id))
                    .add(referrals("to_unit_id").eq(u.id)),
            )
            .add(not_accused(u, CASES));
        match (u.petition_bureau, u.county_id) {
            // The bureau: its county's referrals, and — as any unit — those it is party to.
            (true, Some(county)) => Condition::any().add(col("county_id").eq(county)).add(party),
            _ => party,
        }
    }

    /// The condition, over the `referrals` table joined to its case as `cases`, that limits a
    /// list of referrals to those the viewer's unit sent (or received, with `received`),
    /// leaving out accusations against the unit. `None` for accounts without a handling unit.
    pub fn referral_list_scope(&self, received: bool) -> Option<Condition> {
        let unit = self.handling_unit().ok()?;
        let party = if received {
            "to_unit_id"
        } else {
            "from_unit_id"
        };
        Some(
            Condition::all()
                .add(Expr::col((Alias::new("referrals"), Alias::new(party))).eq(unit.id))
                .add(if unit.petition_bureau {
                    Condition::all()
                } else {
                    not_accused(unit, CASES)
                }),
        )
    }

    /// Who acts on a referral: the receiver acknowledges or objects; the sender or the
    /// bureau resolves an objection.
    pub fn may_on_referral(
        &self,
        referral: &referral::Model,
        case: &case::Model,
        resolve: bool,
    ) -> bool {
        let Ok(u) = self.handling_unit() else {
            return false;
        };
        if !self.sees_referral(referral, case) {
            return false;
        }
        if resolve {
            // Someone other than the objector rules on an objection: the sender, or the
            // bureau when it is not itself the receiver that objected.
            u.id == referral.from_unit_id
                || (u.petition_bureau
                    && u.county_id == Some(case.county_id)
                    && u.id != referral.to_unit_id)
        } else {
            u.id == referral.to_unit_id
        }
    }

    /// `FORBIDDEN` unless [`Viewer::may`].
    pub fn require(
        &self,
        case: &case::Model,
        relations: &[UnitRelation],
        action: Action,
    ) -> Result<()> {
        if self.may(case, relations, action) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "your unit or role may not {} on case {}",
                action.name(),
                case.number
            )))
        }
    }

    /// Whose inbox this viewer reads: a citizen's own (the public steps of their cases), or
    /// their unit's (referrals, supervision, deadlines) for staff and leaders.
    pub fn inbox(&self) -> Result<Inbox> {
        if self.is_petitioner() {
            return Ok(Inbox::Citizen);
        }
        Ok(Inbox::Unit(self.handling_unit()?.id))
    }

    /// Whether this viewer acts for the citizen (staff recording on a petitioner's behalf).
    pub fn acts_on_behalf(&self) -> bool {
        !self.is_petitioner()
    }
}

/// A citizen's ID number as their own profile shows it: masked even to them, so a phone left
/// signed in does not show the whole number.
pub fn profile_id_number(id_number: Option<&str>) -> String {
    id_number.map(mask_id_number).unwrap_or_default()
}

/// Whose `inbox` a viewer reads ([`Viewer::inbox`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbox {
    /// The public steps of the citizen's own cases.
    Citizen,
    /// The items addressed to this unit.
    Unit(i64),
}

/// What a viewer sees of a case it can see: the one decision every presenter (resolvers,
/// the CSV export, subscriptions) asks, field by field. Made by [`Viewer::sight`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseSight {
    /// Which level of the petitioners' personal data applies (a citizen always reads their
    /// own entry in full).
    pub personal_data: PersonalData,
    /// Staff-only records show: internal notes and other non-public timeline entries,
    /// assisting units and their opinions, referral and objection reasons, extension notes,
    /// supervision orders, completion reports, leader ownership, the accused unit, and the
    /// record's hashes. Petitioners read only the public parts.
    pub staff_records: bool,
    /// Names of the staff who acted (timeline actors, requesters, signers). Petitioners see
    /// the acting unit, never the person.
    pub staff_names: bool,
    viewer_user_id: i64,
}

/// How a petitioner of a case reads to one viewer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PetitionerView {
    /// Null where the identity is withheld: even whether an accuser is an organisation
    /// narrows who they are.
    pub kind: Option<PetitionerKind>,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub representative: bool,
    pub confidential: bool,
    pub credit_code: Option<String>,
    pub contact_person: Option<String>,
}

/// The name shown where an identity is withheld (accusations, domain §5).
pub const CONFIDENTIAL_NAME: &str = "保密";

/// Who acted on a timeline entry, as stored, before the viewer's sight is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub name: String,
    /// A citizen (PETITIONER account) rather than staff.
    pub citizen: bool,
}

impl CaseSight {
    /// One petitioner as this viewer may read them: the one place that masks a petitioner.
    pub fn petitioner(&self, p: &case_petitioner::Model) -> PetitionerView {
        let own = !self.staff_names && p.user_id == Some(self.viewer_user_id);
        let level = if own {
            PersonalData::Full
        } else {
            self.personal_data
        };
        match level {
            PersonalData::Full => PetitionerView {
                kind: Some(p.kind),
                credit_code: p.credit_code.clone(),
                contact_person: p.contact_person.clone(),
                name: p.name.clone(),
                id_number: p.id_number.clone(),
                phone: p.phone.clone(),
                address: p.address.clone(),
                representative: p.representative,
                confidential: false,
            },
            PersonalData::Masked => PetitionerView {
                kind: Some(p.kind),
                credit_code: p.credit_code.clone(),
                contact_person: p.contact_person.clone(),
                name: p.name.clone(),
                id_number: p.id_number.as_deref().map(mask_id_number),
                phone: p.phone.as_deref().map(mask_phone),
                address: p.address.clone(),
                representative: p.representative,
                confidential: false,
            },
            PersonalData::Confidential => PetitionerView {
                kind: None,
                credit_code: None,
                contact_person: None,
                name: CONFIDENTIAL_NAME.into(),
                id_number: None,
                phone: None,
                address: None,
                representative: p.representative,
                confidential: true,
            },
        }
    }

    /// Whether this viewer reads who the parties are (names, and records naming them such as
    /// hearing minutes): not where an accusation's petitioners are 保密 to them.
    pub fn reads_parties(&self) -> bool {
        self.personal_data != PersonalData::Confidential
    }

    /// A hearing participant's name as this viewer may read it: the parties of an accusation
    /// are 保密 to whoever does not see its petitioners.
    pub fn participant_name(&self, party: bool, name: &str) -> String {
        if party && !self.reads_parties() {
            CONFIDENTIAL_NAME.into()
        } else {
            name.into()
        }
    }

    /// The name of whoever acted, as this viewer may read it. Staff names show to staff only.
    /// A citizen's name shows to a viewer who sees that citizen's identity — to staff unless
    /// the case is an accusation they do not lead, and to the citizen themselves.
    pub fn actor_name(&self, actor: Option<&Actor>) -> Option<String> {
        let actor = actor?;
        let shown = if actor.citizen {
            actor.user_id == self.viewer_user_id
                || (self.staff_names && self.personal_data != PersonalData::Confidential)
        } else {
            self.staff_names
        };
        shown.then(|| actor.name.clone())
    }

    /// A staff member's name on a record (requester, signer), or nothing for petitioners.
    pub fn staff_name(&self, name: Option<String>) -> Option<String> {
        name.filter(|_| self.staff_names)
    }

    /// A staff-only value (a reason between units, an approval note), or nothing.
    pub fn staff_only<T>(&self, value: T) -> Option<T> {
        self.staff_records.then_some(value)
    }

    /// A timeline entry's hash link, for staff, unless the entry was written before links
    /// to other cases left the details: its hash covers the other case's id, which the
    /// detail no longer shows, and trying ids until the hash matched would find it.
    pub fn timeline_hash(&self, detail: &str, hash: String) -> Option<String> {
        self.staff_only(hash).filter(|_| !carries_link(detail))
    }

    /// Whether a timeline entry shows at all.
    pub fn shows_entry(&self, public: bool) -> bool {
        public || self.staff_records
    }

    /// The detail of a timeline entry as this viewer may read it. A link to another case is
    /// never carried in a detail (entries written before that rule lose it here): whether
    /// another case exists is the scope's question, answered by `repeatOf`. Petitioners do
    /// not read the reasons units give each other when handing a case on.
    pub fn timeline_detail(&self, action: &str, detail: &str) -> String {
        let trims_reason =
            !self.staff_records && matches!(action, "TRANSFER" | "ASSIGN" | "SENT_UPWARD");
        // How a higher body handed the case down (its reference number, the report owed) and
        // the record ids of a referral upward are between the units.
        let trims_higher = !self.staff_records && matches!(action, "REGISTER" | "SENT_UPWARD");
        let links = carries_link(detail);
        // A document's digest (`document.sha256`) of one issued before documents carried a
        // salt would confirm a guess at what this viewer is not shown: the accuser's name,
        // where the viewer may not know who petitioned, or the number of the case an old
        // 不再受理 entry cites. `Document.sha256` says it where it is safe to.
        let trims_digest = detail.contains("\"document\"")
            && (self.personal_data == PersonalData::Confidential || links);
        if !trims_reason && !trims_higher && !links && !trims_digest {
            return detail.to_string();
        }
        match serde_json::from_str::<serde_json::Value>(detail) {
            Ok(serde_json::Value::Object(mut fields)) => {
                for key in TIMELINE_LINKS {
                    fields.remove(key);
                }
                if trims_digest
                    && let Some(serde_json::Value::Object(document)) = fields.get_mut("document")
                {
                    document.remove("sha256");
                }
                if trims_reason {
                    fields.remove("reason");
                }
                if trims_higher {
                    fields.remove("fromHigherBody");
                    fields.remove("higherReferralId");
                }
                serde_json::Value::Object(fields).to_string()
            }
            _ => "{}".to_string(),
        }
    }
}

/// The keys of a timeline detail that name another case: never shown (entries written before
/// that rule still carry them).
const TIMELINE_LINKS: [&str; 2] = ["repeatOfId", "citedCaseId"];

fn carries_link(detail: &str) -> bool {
    TIMELINE_LINKS.iter().any(|k| detail.contains(k))
}

/// Hides an accusation from the accused unit and every unit inside it
/// ([`UnitScope::hidden_when_accused`]).
fn not_accused(unit: &UnitScope, table: &'static str) -> Condition {
    Condition::any()
        .add(col_of(table, "accused_unit_id").is_null())
        .add(col_of(table, "accused_unit_id").is_not_in(unit.hidden_when_accused()))
}

/// The actions a viewer may take on a case now: [`Viewer::may`] and the workflow's state
/// table together (see `workflow::capabilities_given`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub transfer: bool,
    pub decide_acceptance: bool,
    pub add_progress_note: bool,
    pub request_extension: bool,
    pub decide_extension: bool,
    pub reply: bool,
    pub add_assisting_unit: bool,
    pub add_assisting_opinion: bool,
    pub issue_supervision: bool,
    pub answer_supervision: bool,
    pub file_completion_report: bool,
    pub decide_completion_report: bool,
    pub take_leader_ownership: bool,
    pub evaluate: bool,
    pub request_review: bool,
    pub decide_review: bool,
    pub record_delivery: bool,
    pub report_to_higher_body: bool,
    pub send_upward: bool,
    pub reissue_query_code: bool,
    pub attach_file: bool,
    pub give_instruction: bool,
    pub report_on_instruction: bool,
    pub schedule_hearing: bool,
    pub end_hearing: bool,
    pub record_ownership_progress: bool,
    pub add_hotline_ticket: bool,
    pub close: bool,
    pub reclassify: bool,
    pub link_repeat: bool,
    pub undo_repeat: bool,
    pub see_full_personal_data: bool,
}

/// Which units an administrator may manage: its own unit and everything below it.
pub fn admin_may_manage(admin: &UnitScope, target_path: &str) -> Result<()> {
    if admin.contains_path(target_path) {
        Ok(())
    } else {
        Err(forbidden(
            "administrators manage only their own unit and the units below it",
        ))
    }
}

#[cfg(test)]
mod tests {
    //! The decisions of this module as pure functions of a viewer and a case: one county
    //! (id 1) with its bureau (2), two townships (3, 4), two departments (5, 6) and the
    //! discipline body (7).
    use super::*;
    use chrono::DateTime;

    fn unit(id: i64, kind: OrgUnitKind) -> UnitScope {
        UnitScope {
            id,
            name: format!("unit {id}"),
            kind,
            county_id: Some(1),
            petition_bureau: id == 2,
            discipline_body: id == 7,
            path: if id == 1 {
                "/1/".into()
            } else {
                format!("/1/{id}/")
            },
        }
    }

    fn staff(id: i64, role: Role) -> Viewer {
        let kind = match id {
            1 => OrgUnitKind::County,
            3 | 4 => OrgUnitKind::Township,
            _ => OrgUnitKind::Department,
        };
        Viewer {
            user_id: 100 + id,
            session_id: String::new(),
            role,
            unit: Some(unit(id, kind)),
        }
    }

    fn citizen(user_id: i64) -> Viewer {
        Viewer {
            user_id,
            session_id: String::new(),
            role: Role::Petitioner,
            unit: None,
        }
    }

    /// An appeal led by department 5, registered by department 6, about township 3.
    fn appeal() -> case::Model {
        let t = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        case::Model {
            id: 1,
            county_id: 1,
            number: "XF-2026-000001".into(),
            version: 1,
            status: CaseStatus::Registered,
            channel: Channel::Visit,
            category: Category::Appeal,
            subject: "HOUSING_DEMOLITION".into(),
            title: "t".into(),
            content: "c".into(),
            received_at: t,
            township_id: Some(3),
            lead_unit_id: 5,
            registered_by_unit_id: 6,
            registered_by_user_id: 106,
            accused_unit_id: None,
            person_count: 1,
            is_group: false,
            repeat_of_id: None,
            not_acceptable: false,
            submitted_by_user_id: None,
            accept_by: Some(t),
            handle_by: None,
            due_at: Some(t),
            acceptance_decision: None,
            acceptance_reason: None,
            legal_route: None,
            accept_decided_at: None,
            replied_at: None,
            review_request_by: None,
            decide_by: None,
            reviewing_unit_id: None,
            extension_days: 0,
            leader_user_id: None,
            assignment_id: None,
            report_approved: false,
            closed_at: None,
            created_at: t,
            updated_at: t,
            matter_id: Some(1),
            acceptance_cited_case_id: None,
            awaiting_delivery: false,
            higher_report_due_at: None,
            higher_reported_at: None,
            sent_up_at: None,
            clock_paused_at: None,
            urgent: false,
            registration_delay_minutes: 0,
            registered_late: false,
        }
    }

    fn accusation_against(accused: i64, lead: i64) -> case::Model {
        case::Model {
            category: Category::Accusation,
            accused_unit_id: Some(accused),
            lead_unit_id: lead,
            registered_by_unit_id: 2,
            ..appeal()
        }
    }

    fn org(id: i64, kind: &str) -> org_unit::Model {
        let kind = OrgUnitKind::parse(kind).unwrap();
        let scope = unit(id, kind);
        org_unit::Model {
            id,
            name: scope.name,
            kind,
            parent_id: (id != 1).then_some(1),
            county_id: Some(1),
            petition_bureau: scope.petition_bureau,
            bureau_of_county_id: scope.petition_bureau.then_some(1),
            discipline_body: scope.discipline_body,
            discipline_of_county_id: scope.discipline_body.then_some(1),
            path: scope.path,
            division_code: None,
            active: true,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    #[test]
    fn accusing_a_unit_hides_the_case_from_it_and_accusing_the_county_from_the_county_alone() {
        let county = org(1, "COUNTY");
        let township = org(3, "TOWNSHIP");
        let department = org(5, "DEPARTMENT");
        assert!(accusation_hides_from(&township, &township));
        assert!(!accusation_hides_from(&township, &department));
        assert!(accusation_hides_from(&county, &county));
        assert!(!accusation_hides_from(&county, &township));
        assert!(!accusation_hides_from(&county, &department));
        assert_eq!(
            unit(3, OrgUnitKind::Township).hidden_when_accused(),
            vec![3]
        );
        assert_eq!(unit(1, OrgUnitKind::County).hidden_when_accused(), vec![1]);
    }

    #[test]
    fn only_an_online_accusation_without_an_accused_unit_awaits_one() {
        let mut online = accusation_against(3, 2);
        online.channel = Channel::Online;
        assert!(!awaits_accused_unit(&online));
        online.accused_unit_id = None;
        assert!(awaits_accused_unit(&online));
        online.channel = Channel::Letter;
        assert!(!awaits_accused_unit(&online));
        let mut appeal_online = appeal();
        appeal_online.channel = Channel::Online;
        assert!(!awaits_accused_unit(&appeal_online));
    }

    #[test]
    fn personal_data_and_staff_records_follow_the_viewers_relation() {
        use PersonalData::*;
        let appeal = appeal();
        let accusation = accusation_against(3, 7);
        #[rustfmt::skip]
        let table = [
            // viewer                        appeal       accusation   staff records
            (staff(2, Role::Staff),          Full,        Full,        true),  // bureau
            (staff(5, Role::Staff),          Full,        Confidential, true), // leads the appeal only
            (staff(6, Role::Staff),          Full,        Confidential, true), // registered the appeal
            (staff(7, Role::Staff),          Masked,      Full,        true),  // leads the accusation
            (staff(1, Role::Leader),         Masked,      Confidential, true), // county oversight
            (staff(3, Role::Staff),          Masked,      Confidential, true), // territory
            (citizen(9),                     Masked,      Confidential, false),
        ];
        for (viewer, on_appeal, on_accusation, staff_records) in table {
            let label = format!("{:?} {:?}", viewer.role, viewer.unit.as_ref().map(|u| u.id));
            assert_eq!(viewer.sight(&appeal).personal_data, on_appeal, "{label}");
            assert_eq!(
                viewer.sight(&accusation).personal_data,
                on_accusation,
                "{label}"
            );
            assert_eq!(
                viewer.sight(&appeal).staff_records,
                staff_records,
                "{label}"
            );
            assert_eq!(viewer.sight(&appeal).staff_names, staff_records, "{label}");
        }
    }

    #[test]
    fn a_petitioner_reads_their_own_entry_in_full_and_others_by_the_rule() {
        let mut own = case_petitioner::Model {
            id: 1,
            case_id: 1,
            position: 0,
            name: "李四".into(),
            id_number: Some("440524188001010014".into()),
            phone: Some("13912345678".into()),
            address: Some("东关镇".into()),
            representative: false,
            user_id: Some(9),
            kind: PetitionerKind::Person,
            credit_code: None,
            contact_person: None,
        };
        let accusation = accusation_against(3, 7);
        let me = citizen(9);
        assert_eq!(
            me.sight(&accusation).petitioner(&own).id_number.as_deref(),
            Some("440524188001010014")
        );
        own.user_id = Some(10);
        // An organisation accusing: withheld, its kind included.
        own.kind = PetitionerKind::Organisation;
        own.credit_code = Some("91350100M000100Y43".into());
        own.contact_person = Some("王经理".into());
        let other = me.sight(&accusation).petitioner(&own);
        assert_eq!(
            (
                other.name.as_str(),
                other.confidential,
                other.kind,
                other.credit_code,
                other.contact_person
            ),
            (CONFIDENTIAL_NAME, true, None, None, None)
        );
        own.kind = PetitionerKind::Person;
        own.credit_code = None;
        own.contact_person = None;
        let masked = staff(3, Role::Staff).sight(&appeal()).petitioner(&own);
        assert_eq!(masked.id_number.as_deref(), Some("4405**********0014"));
        assert_eq!(masked.phone.as_deref(), Some("139****5678"));
        assert_eq!(masked.name, "李四");
    }

    #[test]
    fn a_citizen_actor_is_named_only_to_those_who_see_their_identity() {
        let citizen_actor = Actor {
            user_id: 9,
            name: "张三".into(),
            citizen: true,
        };
        let staff_actor = Actor {
            user_id: 102,
            name: "经办人".into(),
            citizen: false,
        };
        let accusation = accusation_against(3, 7);
        let name =
            |viewer: &Viewer, actor: &Actor| viewer.sight(&accusation).actor_name(Some(actor));
        assert_eq!(
            name(&staff(7, Role::Staff), &citizen_actor).as_deref(),
            Some("张三")
        );
        assert_eq!(
            name(&staff(2, Role::Staff), &citizen_actor).as_deref(),
            Some("张三")
        );
        assert_eq!(name(&staff(1, Role::Staff), &citizen_actor), None);
        assert_eq!(name(&citizen(9), &citizen_actor).as_deref(), Some("张三"));
        assert_eq!(name(&citizen(9), &staff_actor), None);
        assert_eq!(
            name(&staff(1, Role::Staff), &staff_actor).as_deref(),
            Some("经办人")
        );
        // On an appeal the county sees the citizen's name, as it sees the petitioners'.
        let appeal_name = staff(1, Role::Staff)
            .sight(&appeal())
            .actor_name(Some(&citizen_actor));
        assert_eq!(appeal_name.as_deref(), Some("张三"));
    }

    #[test]
    fn timeline_details_carry_no_link_and_petitioners_no_reasons() {
        let staff_sight = staff(2, Role::Staff).sight(&appeal());
        let citizen_sight = citizen(9).sight(&appeal());
        let register = r#"{"number":"XF-1","repeatOfId":42}"#;
        assert_eq!(
            staff_sight.timeline_detail("REGISTER", register),
            r#"{"number":"XF-1"}"#
        );
        let transfer = r#"{"reason":"属地","toUnitId":3}"#;
        assert_eq!(staff_sight.timeline_detail("TRANSFER", transfer), transfer);
        assert_eq!(
            citizen_sight.timeline_detail("TRANSFER", transfer),
            r#"{"toUnitId":3}"#
        );
        // How a higher body handed the case down, and a referral upward's reason and record,
        // stay between the units.
        let from_above = r#"{"fromHigherBody":{"referenceNumber":"邢信交1"},"number":"XF-1"}"#;
        assert_eq!(
            staff_sight.timeline_detail("REGISTER", from_above),
            from_above
        );
        assert_eq!(
            citizen_sight.timeline_detail("REGISTER", from_above),
            r#"{"number":"XF-1"}"#
        );
        let sent_up = r#"{"higherBody":"市纪委监委","higherReferralId":4,"reason":"管理权限"}"#;
        assert_eq!(
            citizen_sight.timeline_detail("SENT_UPWARD", sent_up),
            r#"{"higherBody":"市纪委监委"}"#
        );
        assert!(citizen_sight.shows_entry(true));
        assert!(!citizen_sight.shows_entry(false));
        // An entry that still names another case (written before that rule) keeps its hash
        // from everyone: the hash covers the id the detail no longer shows.
        assert_eq!(staff_sight.timeline_hash(register, "h".into()), None);
        assert_eq!(
            staff_sight.timeline_hash(transfer, "h".into()),
            Some("h".to_string())
        );
        assert_eq!(citizen_sight.timeline_hash(transfer, "h".into()), None);
        // Nor does its document's digest show (it covers the cited case's number).
        let old_decline = r#"{"citedCaseId":7,"decision":"DECLINE_CONCLUDED","document":{"number":"信不〔2026〕1号","sha256":"ab"}}"#;
        assert_eq!(
            staff_sight.timeline_detail("DECLINE_CONCLUDED", old_decline),
            r#"{"decision":"DECLINE_CONCLUDED","document":{"number":"信不〔2026〕1号"}}"#
        );
        let decided =
            r#"{"decision":"ACCEPT","document":{"number":"信受〔2026〕1号","sha256":"ab"}}"#;
        assert_eq!(staff_sight.timeline_detail("ACCEPT", decided), decided);
    }

    #[test]
    fn who_may_act_follows_the_action_table() {
        use Action::*;
        let case = appeal();
        let lead_staff = staff(5, Role::Staff);
        let lead_leader = staff(5, Role::Leader);
        let bureau = staff(2, Role::Staff);
        let county_leader = staff(1, Role::Leader);
        let territory = staff(3, Role::Staff);
        let assisting = staff(4, Role::Staff);
        let admin = staff(5, Role::Admin);
        let petitioner = citizen(9);
        let rows: &[(Action, &[&Viewer])] = &[
            (Transfer, &[&lead_staff, &lead_leader, &bureau]),
            (DecideAcceptance, &[&lead_staff, &lead_leader]),
            (Reply, &[&lead_leader]),
            (DecideExtension, &[&lead_leader]),
            (IssueSupervision, &[&bureau]),
            (DecideCompletionReport, &[&bureau]),
            (TakeLeaderOwnership, &[&lead_leader, &county_leader]),
            (Evaluate, &[&lead_staff, &lead_leader, &bureau, &petitioner]),
            (AddAssistingOpinion, &[&assisting]),
            (Reclassify, &[&lead_staff, &lead_leader, &bureau]),
            (LinkRepeat, &[&lead_staff, &lead_leader, &bureau]),
        ];
        let everyone = [
            &lead_staff,
            &lead_leader,
            &bureau,
            &county_leader,
            &territory,
            &assisting,
            &admin,
            &petitioner,
        ];
        for (action, allowed) in rows {
            for viewer in everyone {
                let relations: &[UnitRelation] = if std::ptr::eq(viewer, &assisting) {
                    &[UnitRelation::Assisting]
                } else {
                    &[]
                };
                let expected = allowed.iter().any(|a| std::ptr::eq(*a, viewer));
                assert_eq!(
                    viewer.may(&case, relations, *action),
                    expected,
                    "{} by {:?} of unit {:?}",
                    action.name(),
                    viewer.role,
                    viewer.unit.as_ref().map(|u| u.id)
                );
            }
        }
        // The lead unit reclassifies only before acceptance; the bureau at any time.
        let accepted = case::Model {
            status: CaseStatus::InProgress,
            ..appeal()
        };
        assert!(!lead_staff.may(&accepted, &[], Reclassify));
        assert!(bureau.may(&accepted, &[], Reclassify));
    }

    #[test]
    fn an_accused_party_does_not_see_the_referral_it_sent() {
        let accusation = accusation_against(3, 7);
        let t = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let sent = referral::Model {
            id: 1,
            case_id: 1,
            mode: crate::domain::ReferralMode::Transfer,
            from_unit_id: 3,
            to_unit_id: 7,
            reason: "r".into(),
            report_due_at: None,
            status: crate::domain::ReferralStatus::Pending,
            object_by: t,
            objection_reason: None,
            created_by_user_id: 103,
            created_at: t,
            resolved_by_user_id: None,
            resolved_at: None,
            resolution_note: None,
            sender_accept_by: None,
            sender_accept_decided_at: None,
        };
        assert!(!staff(3, Role::Staff).sees_referral(&sent, &accusation));
        assert!(staff(7, Role::Staff).sees_referral(&sent, &accusation));
        assert!(staff(2, Role::Staff).sees_referral(&sent, &accusation));
        assert!(staff(3, Role::Staff).sees_referral(&sent, &appeal()));
        assert!(!staff(4, Role::Staff).sees_referral(&sent, &appeal()));
    }
}
