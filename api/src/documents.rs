//! Written documents (domain §8): each decision the petitioner must be told of issues a
//! numbered document from the case's fields, inside the decision's own transaction. A
//! document is never edited: a correction is a new document superseding it, on the record.
//! Delivery (送达) is recorded per document; the reply's and review decisions' delivery starts
//! the petitioner's windows (see [`crate::reviews::record_delivery`]).
//!
//! Also here: the query code (查询码) printed on the acceptance notice, with which anyone
//! holding it may follow the case's public steps without an account.

use crate::access::{CONFIDENTIAL_NAME, Viewer};
use crate::calendar::local_date;
use crate::error::{AppError, Result, bad_input, conflict, forbidden, internal};
use crate::identity::find_unit;
use crate::workflow::{Caller, Open, open_for_record, save, text, unchanged};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use xinfang_entity::kinds::{CaseStatus, Category, DeliveryMethod, DocumentKind};
use xinfang_entity::{
    case, case_event, case_petitioner, case_query_code, document, org_unit, reply, review,
};

/// 文书名称, as printed.
pub fn title(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::AcceptanceNotice => "信访事项受理告知书",
        DocumentKind::NonAcceptanceNotice => "信访事项不予受理告知书",
        DocumentKind::LegalRouteNotice => "导入法定途径告知书",
        DocumentKind::TransferNotice => "信访事项转送告知书",
        DocumentKind::ExtensionNotice => "信访事项延期办理告知书",
        DocumentKind::ReplyOpinion => "信访事项处理意见书",
        DocumentKind::ReviewOpinion => "信访事项复查意见书",
        DocumentKind::ReReviewOpinion => "信访事项复核意见书",
    }
}

/// The character of the number that says the kind (`130534信受〔2026〕12号`).
fn number_mark(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::AcceptanceNotice => "受",
        DocumentKind::NonAcceptanceNotice => "不受",
        DocumentKind::LegalRouteNotice => "导",
        DocumentKind::TransferNotice => "转",
        DocumentKind::ExtensionNotice => "延",
        DocumentKind::ReplyOpinion => "处",
        DocumentKind::ReviewOpinion => "复查",
        DocumentKind::ReReviewOpinion => "复核",
    }
}

/// `2026年12月2日`
pub fn chinese_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// What a decision puts into its document.
pub struct Draft {
    pub kind: DocumentKind,
    pub paragraphs: Vec<String>,
    pub review_clause: Option<String>,
    pub reply_id: Option<i64>,
    pub review_id: Option<i64>,
}

/// Issues the document of a decision inside the decision's transaction, numbered in the
/// county's series for its kind and year; returns it and the timeline's reference to it.
pub(crate) async fn issue(
    open: &Open,
    draft: Draft,
) -> Result<(document::Model, serde_json::Value)> {
    let unit_id = open
        .actor
        .unit_id
        .ok_or_else(|| internal("a document is issued by a unit"))?;
    let issue = Issue {
        case: &open.case,
        number: numbered(open, draft.kind).await?,
        unit_id,
        user_id: issuer(open)?,
        at: open.now,
        addressee: addressee_of(&open.tx, open.case.id).await?,
        correction: None,
    };
    write(&open.tx, issue, draft).await
}

/// The next number of the county's series for the kind, in the year of `open.now`.
async fn numbered(open: &Open, kind: DocumentKind) -> Result<String> {
    let year = local_date(open.now).year();
    next_number(&open.tx, open.case.county_id, year, kind).await
}

fn issuer(open: &Open) -> Result<i64> {
    open.actor
        .user_id
        .ok_or_else(|| internal("a document is issued by a person"))
}

/// The petitioner a document is addressed to (id) and the name it shows.
pub type Addressee = (Option<i64>, Option<String>);

/// Who issues a document, when, to whom, and what it corrects.
pub struct Issue<'a> {
    pub case: &'a case::Model,
    pub number: String,
    pub unit_id: i64,
    pub user_id: i64,
    pub at: DateTime<Utc>,
    pub addressee: Addressee,
    pub correction: Option<(&'a document::Model, &'a str)>,
}

/// A document's row, its content hashed, ready to insert (the seed fills in a delivery).
pub fn new_row(issue: Issue<'_>, draft: Draft) -> document::ActiveModel {
    let body = draft.paragraphs.join("\n");
    let (addressee_id, addressee) = issue.addressee;
    let salt = hex::encode(crate::auth::random_bytes(16));
    let sha256 = content_sha256(&Content {
        salt: &salt,
        kind: draft.kind,
        number: &issue.number,
        case_number: &issue.case.number,
        unit_id: issue.unit_id,
        issued_at: issue.at,
        addressee: addressee.as_deref(),
        body: &body,
        review_clause: draft.review_clause.as_deref(),
        supersedes: issue.correction.map(|(d, _)| d.number.as_str()),
        correction_reason: issue.correction.map(|(_, r)| r),
    });
    document::ActiveModel {
        case_id: Set(issue.case.id),
        county_id: Set(issue.case.county_id),
        kind: Set(draft.kind),
        number: Set(issue.number),
        issued_by_unit_id: Set(issue.unit_id),
        issued_by_user_id: Set(issue.user_id),
        issued_at: Set(issue.at),
        addressee_petitioner_id: Set(addressee_id),
        addressee: Set(addressee),
        body: Set(body),
        review_clause: Set(draft.review_clause),
        reply_id: Set(draft.reply_id),
        review_id: Set(draft.review_id),
        supersedes_id: Set(issue.correction.map(|(d, _)| d.id)),
        correction_reason: Set(issue.correction.map(|(_, r)| r.to_string())),
        sha256: Set(sha256),
        salt: Set(Some(salt)),
        ..Default::default()
    }
}

/// Numbers the document in the county's series and writes it; returns it and the timeline's
/// reference to it.
async fn write(
    tx: &impl ConnectionTrait,
    issue: Issue<'_>,
    draft: Draft,
) -> Result<(document::Model, serde_json::Value)> {
    let row = new_row(issue, draft).insert(tx).await?;
    let reference = json!({ "id": row.id, "number": row.number, "kind": row.kind.as_str(), "sha256": row.sha256 });
    Ok((row, reference))
}

/// What a document's SHA-256 covers: everything it says, where it stands in the record, and
/// the document's own random salt. Without the salt, a viewer shown every part of the content
/// but the addressee (保密 on an accusation) could try names until the digest matched.
struct Content<'a> {
    salt: &'a str,
    kind: DocumentKind,
    number: &'a str,
    case_number: &'a str,
    unit_id: i64,
    issued_at: DateTime<Utc>,
    addressee: Option<&'a str>,
    body: &'a str,
    review_clause: Option<&'a str>,
    supersedes: Option<&'a str>,
    correction_reason: Option<&'a str>,
}

/// The SHA-256 (hex) of a document's content, as a canonical JSON text.
fn content_sha256(c: &Content<'_>) -> String {
    let content = json!({
        "kind": c.kind.as_str(), "number": c.number, "case": c.case_number,
        "unitId": c.unit_id, "issuedAt": c.issued_at, "addressee": c.addressee, "body": c.body,
        "reviewClause": c.review_clause, "supersedes": c.supersedes,
        "correctionReason": c.correction_reason, "salt": c.salt,
    });
    hex::encode(Sha256::digest(content.to_string().as_bytes()))
}

/// The petitioner a document is addressed to: the representative, or the first named, with
/// "等N人" for a group. None for an anonymous case.
async fn addressee_of(db: &impl ConnectionTrait, case_id: i64) -> Result<Addressee> {
    let all = case_petitioner::Entity::find()
        .filter(case_petitioner::Column::CaseId.eq(case_id))
        .all(db)
        .await?;
    Ok(addressee_among(all))
}

/// The petitioner a document is addressed to: the first representative, or the first named,
/// with "等N人" for a group. None for an anonymous case.
pub fn addressee_among(mut all: Vec<case_petitioner::Model>) -> Addressee {
    all.sort_by_key(|p| (!p.representative, p.position));
    match all.first() {
        None => (None, None),
        Some(first) if all.len() == 1 => (Some(first.id), Some(first.name.clone())),
        Some(first) => (
            Some(first.id),
            Some(format!("{}等{}人", first.name, all.len())),
        ),
    }
}

async fn next_number(
    tx: &impl ConnectionTrait,
    county_id: i64,
    year: i32,
    kind: DocumentKind,
) -> Result<String> {
    let table = Alias::new("document_number_counters");
    let stmt = Query::insert()
        .into_table(table.clone())
        .columns([
            Alias::new("county_id"),
            Alias::new("year"),
            Alias::new("kind"),
            Alias::new("last_value"),
        ])
        .values_panic([
            county_id.into(),
            year.into(),
            kind.as_str().into(),
            1_i64.into(),
        ])
        .on_conflict(
            OnConflict::columns([
                Alias::new("county_id"),
                Alias::new("year"),
                Alias::new("kind"),
            ])
            .value(
                Alias::new("last_value"),
                Expr::col((table.clone(), Alias::new("last_value"))).add(1),
            )
            .to_owned(),
        )
        .returning_col(Alias::new("last_value"))
        .to_owned();
    let row = tx
        .query_one(&stmt)
        .await?
        .ok_or_else(|| internal("the document counter returned no row"))?;
    let value: i64 = row.try_get("", "last_value")?;
    let county = find_unit(tx, county_id).await?;
    let prefix = match &county.division_code {
        Some(code) => code.clone(),
        None => format!("C{}", county.id),
    };
    Ok(number_text(&prefix, kind, year, value))
}

/// 文号: the county's division code (or `C<id>`), 信, the kind's mark, the year, the
/// sequence: `130534信受〔2026〕12号`.
pub fn number_text(prefix: &str, kind: DocumentKind, year: i32, sequence: i64) -> String {
    format!("{prefix}信{}〔{year}〕{sequence}号", number_mark(kind))
}

// ---------------------------------------------------------------------------------------
// The text of each kind

const REGULATION: &str = "《信访工作条例》";

/// The acceptance notice's last paragraph; the code itself is printed below it only on the
/// copies of those who hand it over (it is not part of the stored text).
const QUERY_CODE_NOTE: &str =
    "凭本告知书所附查询码可查询本事项的办理进展和文书，请妥善保管，勿告知他人。";

pub fn acceptance(case: &case::Model, unit: &str, handle_by: DateTime<Utc>) -> Draft {
    Draft {
        kind: DocumentKind::AcceptanceNotice,
        paragraphs: vec![
            format!(
                "你于{}提出的信访事项（编号{}，“{}”）收悉。经审查，该事项属于{}职责范围，依照{}的规定，决定予以受理。",
                chinese_date(local_date(case.received_at)),
                case.number,
                case.title,
                unit,
                REGULATION
            ),
            format!(
                "本机关将于{}前办理完毕，并书面答复你。",
                chinese_date(local_date(handle_by))
            ),
            QUERY_CODE_NOTE.to_string(),
        ],
        review_clause: None,
        reply_id: None,
        review_id: None,
    }
}

pub fn non_acceptance(case: &case::Model, reason: &str, cited: Option<&str>) -> Draft {
    let mut paragraphs = vec![format!(
        "你于{}提出的信访事项（编号{}，“{}”）收悉。经审查，依照{}的规定，决定不予受理。",
        chinese_date(local_date(case.received_at)),
        case.number,
        case.title,
        REGULATION
    )];
    paragraphs.push(format!("理由：{reason}"));
    if let Some(number) = cited {
        paragraphs.push(format!(
            "该事项已在编号{number}的信访件中办理终结。你仍以同一事实和理由提出的，不再受理。"
        ));
    }
    Draft {
        kind: DocumentKind::NonAcceptanceNotice,
        paragraphs,
        review_clause: None,
        reply_id: None,
        review_id: None,
    }
}

pub fn legal_route(case: &case::Model, route: &str, reason: Option<&str>) -> Draft {
    let mut paragraphs = vec![format!(
        "你于{}提出的信访事项（编号{}，“{}”）收悉。经审查，该事项应当通过{}途径解决，依照{}的规定，本机关不作为信访事项受理，请你依法向有权处理的机关提出。",
        chinese_date(local_date(case.received_at)),
        case.number,
        case.title,
        route,
        REGULATION
    )];
    if let Some(r) = reason {
        paragraphs.push(format!("说明：{r}"));
    }
    Draft {
        kind: DocumentKind::LegalRouteNotice,
        paragraphs,
        review_clause: None,
        reply_id: None,
        review_id: None,
    }
}

pub fn transfer(case: &case::Model, to: &str, assigned: bool, reason: &str) -> Draft {
    Draft {
        kind: DocumentKind::TransferNotice,
        paragraphs: vec![
            format!(
                "你于{}提出的信访事项（编号{}，“{}”）收悉。依照{}“属地管理、分级负责，谁主管、谁负责”的规定，现已{}{}办理，由其依法处理并答复你。",
                chinese_date(local_date(case.received_at)),
                case.number,
                case.title,
                REGULATION,
                if assigned { "交由" } else { "转送" },
                to
            ),
            format!("理由：{reason}"),
        ],
        review_clause: None,
        reply_id: None,
        review_id: None,
    }
}

pub fn extension(case: &case::Model, days: i32, reason: &str, handle_by: DateTime<Utc>) -> Draft {
    Draft {
        kind: DocumentKind::ExtensionNotice,
        paragraphs: vec![
            format!(
                "你提出的信访事项（编号{}，“{}”）因情况复杂，经批准，办理期限延长{}日，至{}。",
                case.number,
                case.title,
                days,
                chinese_date(local_date(handle_by))
            ),
            format!("延期理由：{reason}"),
        ],
        review_clause: None,
        reply_id: None,
        review_id: None,
    }
}

/// Who reviews, as the clause names them: a named unit, or the body above the deployment.
pub fn review_clause(stage: &str, document: &str, reviewer: Option<&str>) -> String {
    format!(
        "如对本{document}不服，可以自收到本{document}之日起30日内向{}请求{stage}。",
        reviewer.unwrap_or("上一级行政机关")
    )
}

pub struct ReplyText<'a> {
    pub outcome: &'a str,
    pub facts: &'a str,
    pub reasons: &'a str,
    pub basis: &'a str,
}

pub fn reply(
    case: &case::Model,
    t: ReplyText<'_>,
    reviewer: Option<Option<&str>>,
    reply_id: i64,
) -> Draft {
    Draft {
        kind: DocumentKind::ReplyOpinion,
        paragraphs: vec![
            format!(
                "你提出的信访事项（编号{}，“{}”），本机关已依法办理。现将处理意见告知如下：",
                case.number, case.title
            ),
            format!("一、查明的事实：{}", t.facts),
            format!("二、处理意见：{}。理由：{}", t.outcome, t.reasons),
            format!("三、依据：{}", t.basis),
        ],
        review_clause: reviewer.map(|r| review_clause("复查", "处理意见", r)),
        reply_id: Some(reply_id),
        review_id: None,
    }
}

pub fn review_decision(
    case: &case::Model,
    re_review: bool,
    decision: &str,
    text: &str,
    next_reviewer: Option<Option<&str>>,
    review_id: i64,
) -> Draft {
    let (kind, name, stage) = if re_review {
        (DocumentKind::ReReviewOpinion, "复核意见", "复核")
    } else {
        (DocumentKind::ReviewOpinion, "复查意见", "复查")
    };
    let mut paragraphs = vec![
        format!(
            "你对信访事项（编号{}，“{}”）的处理意见提出的{}请求，本机关已依法审查。",
            case.number, case.title, stage
        ),
        format!("{stage}决定：{decision}。"),
        format!("理由：{text}"),
    ];
    if re_review {
        paragraphs.push(format!(
            "本复核意见为终结意见。你仍以同一事实和理由提出投诉请求的，依照{REGULATION}的规定不再受理。"
        ));
    }
    Draft {
        kind,
        paragraphs,
        review_clause: next_reviewer.map(|r| review_clause("复核", name, r)),
        reply_id: None,
        review_id: Some(review_id),
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// A document as a viewer may read it: the addressee withheld where the viewer may not know
/// who petitioned (an accusation seen from outside the lead unit and the bureau).
#[derive(Clone)]
pub struct DocumentView {
    pub row: document::Model,
    /// The text as this viewer reads it: the issued text, but for the number of an earlier
    /// case it cites (不再受理) where the viewer may not see that case.
    pub body: String,
    /// The content's SHA-256; none on a document issued before documents carried a salt when
    /// this viewer is shown less than its content (the addressee or a cited number withheld),
    /// since that digest would confirm a guess at what is withheld.
    pub sha256: Option<String>,
    pub addressee: Option<String>,
    /// The delivery's tracking number or address, where the viewer may read the petitioner's
    /// contact details in full; otherwise none.
    pub tracking: Option<String>,
    /// The case's query code, printed on the acceptance notice for the lead unit, the bureau
    /// and the petitioner.
    pub query_code: Option<String>,
    pub issuer: String,
    pub superseded_by: Option<i64>,
}

/// Stands in a document's text for the number of a case the reader may not see.
pub const WITHHELD_CASE_NUMBER: &str = "〔另案，编号不予显示〕";

/// The written documents of cases the viewer sees, oldest first, in a fixed number of
/// statements for all of them (a list of cases asking for their documents).
pub async fn of_cases(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    cases: &[case::Model],
) -> Result<HashMap<i64, Vec<DocumentView>>> {
    let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
    let rows = document::Entity::find()
        .filter(document::Column::CaseId.is_in(crate::db::bucketed_ids(ids)))
        .order_by_asc(document::Column::Id)
        .all(db)
        .await?;
    views_by_case(db, Sight::Viewer(viewer), cases, rows).await
}

/// One document, when the viewer can see its case.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, DocumentView)>> {
    // Found only among the cases the viewer sees, never loaded first and checked after.
    let Some(row) = document::Entity::find_by_id(id)
        .filter(document::Column::CaseId.in_subquery(crate::cases::visible_ids(viewer)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(case) = crate::cases::find_visible(db, viewer, row.case_id).await? else {
        return Ok(None);
    };
    let view = views(db, Sight::Viewer(viewer), &case, vec![row])
        .await?
        .pop()
        .ok_or_else(|| internal("a document vanished"))?;
    Ok(Some((case, view)))
}

#[derive(Clone, Copy)]
enum Sight<'a> {
    Viewer(&'a Viewer),
    /// Someone holding the case's query code: the petitioner's own notices, the name masked
    /// to its first character so a code passed on reveals no one.
    QueryCode,
}

async fn views(
    db: &impl ConnectionTrait,
    sight: Sight<'_>,
    case: &case::Model,
    rows: Vec<document::Model>,
) -> Result<Vec<DocumentView>> {
    Ok(views_by_case(db, sight, std::slice::from_ref(case), rows)
        .await?
        .remove(&case.id)
        .unwrap_or_default())
}

/// Lays out documents of `cases` (each row's case among them) for one sight: the petitioners
/// they address, their issuers, their corrections and the query codes are read once for all.
async fn views_by_case(
    db: &impl ConnectionTrait,
    sight: Sight<'_>,
    cases: &[case::Model],
    rows: Vec<document::Model>,
) -> Result<HashMap<i64, Vec<DocumentView>>> {
    let mut out: HashMap<i64, Vec<DocumentView>> = HashMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let case_ids = || crate::db::bucketed_ids(cases.iter().map(|c| c.id));
    let petitioners = case_petitioner::Entity::find()
        .filter(case_petitioner::Column::CaseId.is_in(case_ids()))
        .all(db)
        .await?;
    let unit_ids = crate::db::bucketed_ids(rows.iter().map(|d| d.issued_by_unit_id));
    let units = org_unit::Entity::find()
        .filter(org_unit::Column::Id.is_in(unit_ids))
        .all(db)
        .await?;
    let superseding: Vec<(i64, i64)> = document::Entity::find()
        .filter(document::Column::CaseId.is_in(case_ids()))
        .filter(document::Column::SupersedesId.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|d| d.supersedes_id.map(|old| (old, d.id)))
        .collect();
    // The query code goes on the acceptance notices of cases whose code the viewer hands over.
    let coded: Vec<i64> = cases
        .iter()
        .filter(|case| match sight {
            Sight::Viewer(v) => v.sees_query_code(case),
            Sight::QueryCode => false,
        })
        .filter(|case| {
            rows.iter()
                .any(|d| d.case_id == case.id && d.kind == DocumentKind::AcceptanceNotice)
        })
        .map(|case| case.id)
        .collect();
    // A 不再受理 notice names the earlier case whose conclusion stands. Only the decider had
    // to see that case; any other reader who may not is shown the notice without its number.
    let cited_ids: Vec<i64> = cases
        .iter()
        .filter_map(|c| c.acceptance_cited_case_id)
        .collect();
    let (cited_numbers, cited_seen) = if cited_ids.is_empty() {
        (HashMap::new(), std::collections::HashSet::new())
    } else {
        let numbers: HashMap<i64, String> = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::Number)
            .filter(case::Column::Id.is_in(crate::db::bucketed_ids(cited_ids.iter().copied())))
            .into_tuple::<(i64, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let seen = match sight {
            Sight::Viewer(v) => crate::cases::visible_among(db, v, cited_ids).await?,
            Sight::QueryCode => Default::default(),
        };
        (numbers, seen)
    };
    let codes: HashMap<i64, String> = if coded.is_empty() {
        HashMap::new()
    } else {
        case_query_code::Entity::find()
            .filter(case_query_code::Column::CaseId.is_in(crate::db::bucketed_ids(coded)))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.case_id, c.code))
            .collect()
    };
    for row in rows {
        let Some(case) = cases.iter().find(|c| c.id == row.case_id) else {
            continue;
        };
        let case_sight = match sight {
            Sight::Viewer(v) => Some(v.sight(case)),
            Sight::QueryCode => None,
        };
        let full_contact = case_sight
            .as_ref()
            .is_some_and(|s| s.personal_data == crate::access::PersonalData::Full);
        let code = codes.get(&case.id);
        let view = {
            let addressee = match (&row.addressee, &case_sight) {
                (None, _) => None,
                (Some(name), Some(s)) => {
                    let shown = petitioners
                        .iter()
                        .find(|p| Some(p.id) == row.addressee_petitioner_id)
                        .map(|p| !s.petitioner(p).confidential)
                        .unwrap_or(false);
                    Some(if shown {
                        name.clone()
                    } else {
                        CONFIDENTIAL_NAME.to_string()
                    })
                }
                // A code passed on reveals no one: an accuser not at all.
                (Some(_), None) if case.category == Category::Accusation => {
                    Some(CONFIDENTIAL_NAME.to_string())
                }
                (Some(name), None) => Some(crate::validate::mask(name, 1, 0)),
            };
            let tracking = row.delivery_tracking.clone().filter(|_| full_contact);
            let query_code = code
                .cloned()
                .filter(|_| row.kind == DocumentKind::AcceptanceNotice);
            let issuer = units
                .iter()
                .find(|u| u.id == row.issued_by_unit_id)
                .map(|u| u.name.clone())
                .unwrap_or_default();
            let superseded_by = superseding
                .iter()
                .find(|(old, _)| *old == row.id)
                .map(|(_, new)| *new);
            let withheld = case
                .acceptance_cited_case_id
                .filter(|cited| !cited_seen.contains(cited))
                .and_then(|cited| cited_numbers.get(&cited));
            let body = match withheld {
                Some(number) => row.body.replace(number.as_str(), WITHHELD_CASE_NUMBER),
                None => row.body.clone(),
            };
            let withholds = addressee != row.addressee || body != row.body;
            let sha256 = (row.salt.is_some() || !withholds).then(|| row.sha256.clone());
            DocumentView {
                row,
                body,
                sha256,
                addressee,
                tracking,
                query_code,
                issuer,
                superseded_by,
            }
        };
        out.entry(case.id).or_default().push(view);
    }
    Ok(out)
}

/// The document laid out and rendered to PDF.
pub fn pdf(view: &DocumentView) -> Result<Vec<u8>> {
    let date = chinese_date(local_date(view.row.issued_at));
    let mut paragraphs: Vec<String> = view.body.lines().map(str::to_owned).collect();
    if let Some(c) = &view.row.review_clause {
        paragraphs.push(c.clone());
    }
    if let Some(code) = &view.query_code {
        paragraphs.push(format!("查询码：{code}"));
    }
    let footnote = view
        .row
        .correction_reason
        .as_ref()
        .map(|r| format!("本文书更正前文（见更正说明）。更正理由：{r}"));
    crate::pdf::render(&crate::pdf::Letter {
        title: title(view.row.kind),
        number: &view.row.number,
        addressee: view.addressee.as_deref(),
        paragraphs,
        issuer: &view.issuer,
        date: &date,
        footnote,
    })
}

// ---------------------------------------------------------------------------------------
// Delivery and correction

pub struct DocumentDelivery {
    pub method: DeliveryMethod,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The postal tracking number (required for POST), or the address or number the
    /// e-mail or SMS link went to.
    pub tracking: Option<String>,
}

/// The correction that superseded a document, if any.
async fn corrected_by(
    db: &impl ConnectionTrait,
    document_id: i64,
) -> Result<Option<document::Model>> {
    Ok(document::Entity::find()
        .filter(document::Column::SupersedesId.eq(document_id))
        .one(db)
        .await?)
}

/// `CONFLICT` when a correction superseded `doc`: the correction is what is delivered.
async fn refuse_corrected(db: &impl ConnectionTrait, doc: &document::Model) -> Result<()> {
    match corrected_by(db, doc.id).await? {
        Some(newer) => Err(conflict(format!(
            "{} was corrected by {}; deliver the correction",
            doc.number, newer.number
        ))),
        None => Ok(()),
    }
}

/// Records how and when a document reached the petitioner. The reply or review decision the
/// case is waiting on goes through [`crate::reviews::record_delivery`], which also starts
/// the petitioner's window; any other notice is marked delivered on its own.
pub async fn deliver(
    caller: &Caller<'_>,
    document_id: i64,
    delivery: DocumentDelivery,
) -> Result<(document::Model, case::Model)> {
    check_tracking(delivery.method, delivery.tracking.as_deref())?;
    let found = visible_row(caller, document_id).await?;
    refuse_corrected(caller.db, &found).await?;
    if found.delivered_at.is_some() {
        return Err(conflict(format!(
            "{} was already delivered; a delivery is recorded once",
            found.number
        )));
    }
    let awaited = is_awaited(caller.db, &found).await?;
    if awaited {
        let case = crate::reviews::record_delivery(
            caller,
            found.case_id,
            None,
            crate::reviews::Delivery {
                method: delivery.method,
                delivered_at: delivery.delivered_at,
                tracking: delivery.tracking,
                document_id: Some(found.id),
            },
        )
        .await?;
        let row = document::Entity::find_by_id(document_id)
            .one(caller.db)
            .await?
            .ok_or(AppError::NotFound("document"))?;
        return Ok((row, case));
    }
    check_method(caller, delivery.method, delivery.delivered_at)?;
    let open = open_for_record(caller, found.case_id).await?;
    if !caller
        .viewer
        .may_deliver_document(&open.case, found.issued_by_unit_id)
    {
        return Err(forbidden(
            "a document is delivered by its issuing unit, the lead unit or the petition bureau",
        ));
    }
    let row = document::Entity::find_by_id(document_id)
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("document"))?;
    if row.delivered_at.is_some() {
        return Err(conflict(format!("{} was already delivered", row.number)));
    }
    // Asked again under the case's lock: a correction (which takes the same lock) may have
    // committed since the first look.
    refuse_corrected(&open.tx, &row).await?;
    let at = delivery.delivered_at.unwrap_or(open.now);
    if at > open.now {
        return Err(bad_input("deliveredAt", "delivery cannot be in the future"));
    }
    if at < row.issued_at {
        return Err(bad_input(
            "deliveredAt",
            "delivery cannot precede the document it delivers",
        ));
    }
    let number = row.number.clone();
    let mut active: document::ActiveModel = row.into();
    active.delivery_method = Set(Some(delivery.method));
    active.delivered_at = Set(Some(at));
    active.delivery_tracking = Set(delivery.tracking.clone());
    active.delivery_recorded_by_user_id = Set(Some(caller.viewer.user_id));
    let row = active.update(&open.tx).await?;
    let detail = json!({ "document": number, "documentId": document_id, "method": delivery.method.as_str(), "deliveredAt": at });
    let case = save(open, unchanged(), "DOCUMENT_DELIVERED", detail, true).await?;
    Ok((row, case))
}

/// Marks the document that `record_delivery` delivered (the reply's or the review
/// decision's: the newest of theirs not yet delivered, a correction before what it corrects),
/// inside its transaction. With `named`, the document the caller asked to deliver, refused
/// (`CONFLICT`) when that is no longer the one: a correction committed since it was read.
pub(crate) async fn mark_delivered(
    tx: &impl ConnectionTrait,
    named: Option<i64>,
    (reply_id, review_id): (Option<i64>, Option<i64>),
    method: DeliveryMethod,
    at: DateTime<Utc>,
    tracking: Option<String>,
    by: i64,
) -> Result<Option<String>> {
    let mut find = document::Entity::find().filter(document::Column::DeliveredAt.is_null());
    find = match (reply_id, review_id) {
        (Some(id), _) => find.filter(document::Column::ReplyId.eq(id)),
        (_, Some(id)) => find.filter(document::Column::ReviewId.eq(id)),
        _ => return Ok(None),
    };
    let Some(row) = find.order_by_desc(document::Column::Id).one(tx).await? else {
        return Ok(None);
    };
    if let Some(named) = named
        && named != row.id
    {
        return Err(conflict(format!(
            "the document was corrected by {}; deliver the correction",
            row.number
        )));
    }
    let number = row.number.clone();
    let mut active: document::ActiveModel = row.into();
    active.delivery_method = Set(Some(method));
    active.delivered_at = Set(Some(at));
    active.delivery_tracking = Set(tracking);
    active.delivery_recorded_by_user_id = Set(Some(by));
    active.update(tx).await?;
    Ok(Some(number))
}

/// A delivery by post names its tracking number; any note of where it went is short text.
pub(crate) fn check_tracking(method: DeliveryMethod, tracking: Option<&str>) -> Result<()> {
    if let Some(t) = tracking {
        crate::validate::text("trackingNumber", t, 1, 200)?;
    }
    if method == DeliveryMethod::Post && tracking.is_none() {
        return Err(bad_input(
            "trackingNumber",
            "a delivery by post names its tracking number",
        ));
    }
    Ok(())
}

/// A petitioner records delivery only by opening the document in the app; staff record the
/// other methods.
pub(crate) fn check_method(
    caller: &Caller<'_>,
    method: DeliveryMethod,
    at: Option<DateTime<Utc>>,
) -> Result<()> {
    match (caller.viewer.is_petitioner(), method) {
        (true, DeliveryMethod::InApp) if at.is_none() => Ok(()),
        (true, _) => Err(bad_input(
            "method",
            "a petitioner records delivery by opening the document in the app (IN_APP, now)",
        )),
        (false, DeliveryMethod::InApp) => Err(bad_input(
            "method",
            "delivery in the app is recorded when the petitioner opens it",
        )),
        (false, _) => Ok(()),
    }
}

async fn visible_row(caller: &Caller<'_>, document_id: i64) -> Result<document::Model> {
    document::Entity::find_by_id(document_id)
        .filter(document::Column::CaseId.in_subquery(crate::cases::visible_ids(caller.viewer)))
        .one(caller.db)
        .await?
        .ok_or(AppError::NotFound("document"))
}

/// An opinion is signed by a leader; so is its correction.
fn is_signed(kind: DocumentKind) -> bool {
    matches!(
        kind,
        DocumentKind::ReplyOpinion | DocumentKind::ReviewOpinion | DocumentKind::ReReviewOpinion
    )
}

/// What the viewer may do with a document now (`Document.viewerCan`): what [`deliver`] and
/// [`correct`] check before they write, short of their input (a delivery's method and time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DocumentCapabilities {
    pub deliver: bool,
    pub correct: bool,
}

/// The facts of a document's case [`capabilities`] decides from, read by the caller (the
/// graph reads the case, the relations and the decisions through its request's loaders).
pub struct DocumentFacts<'a> {
    /// The case as the viewer sees it.
    pub case: &'a case::Model,
    /// The viewer's unit's relations to it.
    pub relations: &'a [crate::domain::UnitRelation],
    /// A correction supersedes the document.
    pub superseded: bool,
    /// The case's replies and reviews, when [`may_be_awaited`] says they are needed.
    pub decisions: Option<CaseDecisions<'a>>,
}

/// A case's written replies and its reviews: what says which decision it waits to deliver.
#[derive(Clone, Copy)]
pub struct CaseDecisions<'a> {
    pub replies: &'a [reply::Model],
    pub reviews: &'a [review::Model],
}

/// Whether the document could be the decision its case waits to deliver, so that deciding
/// what may be done with it needs the case's replies and reviews.
pub fn may_be_awaited(row: &document::Model, case: &case::Model) -> bool {
    (row.reply_id.is_some() || row.review_id.is_some()) && case.awaiting_delivery
}

pub fn capabilities(
    viewer: &Viewer,
    row: &document::Model,
    facts: DocumentFacts<'_>,
) -> Result<DocumentCapabilities> {
    if facts.superseded {
        return Ok(DocumentCapabilities::default());
    }
    let case = facts.case;
    let away = viewer.kept_from_sent_up(case);
    let correct = !away && viewer.may_correct_document(row.issued_by_unit_id, is_signed(row.kind));
    let awaited = if may_be_awaited(row, case) {
        let decisions = facts.decisions.ok_or_else(|| {
            internal("a document's case awaits delivery: its decisions are needed")
        })?;
        awaited_among(row, case, decisions)
    } else {
        false
    };
    let deliver = if row.delivered_at.is_some() {
        false
    } else if awaited {
        // Delivered as the case's own delivery (`recordDelivery`).
        crate::workflow::allows(
            viewer,
            case,
            facts.relations,
            crate::domain::Action::RecordDelivery,
        )
    } else {
        !away && viewer.may_deliver_document(case, row.issued_by_unit_id)
    };
    Ok(DocumentCapabilities { deliver, correct })
}

/// Whether this is the written decision the case waits to deliver: the document of the
/// current reply (the latest a review did not set aside) while REPLIED, else of the latest
/// decided review — as `record_delivery` finds them.
fn awaited_among(doc: &document::Model, case: &case::Model, decisions: CaseDecisions<'_>) -> bool {
    if !case.awaiting_delivery {
        return false;
    }
    if case.status == CaseStatus::Replied {
        let current = decisions
            .replies
            .iter()
            .filter(|r| r.quashed_by_review_id.is_none())
            .max_by_key(|r| r.id);
        doc.reply_id.is_some() && doc.reply_id == current.map(|r| r.id)
    } else {
        let decided = decisions
            .reviews
            .iter()
            .filter(|r| r.decided_at.is_some())
            .max_by_key(|r| r.id);
        doc.review_id.is_some() && doc.review_id == decided.map(|r| r.id)
    }
}

/// [`awaited_among`] for one document, reading its case and the case's candidate decisions.
async fn is_awaited(db: &impl ConnectionTrait, doc: &document::Model) -> Result<bool> {
    if doc.reply_id.is_none() && doc.review_id.is_none() {
        return Ok(false);
    }
    let case = case::Entity::find_by_id(doc.case_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("document"))?;
    if !case.awaiting_delivery {
        return Ok(false);
    }
    // Only the candidates are read: the current reply, the latest decided review.
    let current = crate::reviews::current_reply(db, case.id).await?;
    let decided = crate::reviews::latest_decided_review(db, case.id).await?;
    let decisions = CaseDecisions {
        replies: current.as_slice(),
        reviews: decided.as_slice(),
    };
    Ok(awaited_among(doc, &case, decisions))
}

/// A petitioner opening a document in the app: its delivery, if not yet recorded. Failing
/// to record it never keeps the petitioner from reading (a concurrent delivery, say).
pub async fn opened_by_petitioner(caller: &Caller<'_>, view: &DocumentView) -> Result<()> {
    if !caller.viewer.is_petitioner() || view.row.delivered_at.is_some() {
        return Ok(());
    }
    let delivery = DocumentDelivery {
        method: DeliveryMethod::InApp,
        delivered_at: None,
        tracking: None,
    };
    match deliver(caller, view.row.id, delivery).await {
        Ok(_) | Err(AppError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Issues a corrected document in place of `document_id`: the same kind, the text given
/// (or the old one), a new number, and the reason on both the document and the timeline.
/// The old document stays, marked superseded. Only its issuing unit corrects it.
pub async fn correct(
    caller: &Caller<'_>,
    document_id: i64,
    reason: &str,
    paragraphs: Option<Vec<String>>,
) -> Result<(document::Model, case::Model)> {
    text("reason", reason)?;
    if let Some(p) = &paragraphs {
        if p.is_empty() || p.len() > 20 {
            return Err(bad_input("body", "a corrected text has 1 to 20 paragraphs"));
        }
        for line in p {
            text("body", line)?;
            if line.contains('\n') {
                return Err(bad_input(
                    "body",
                    "one paragraph per entry, without line breaks",
                ));
            }
        }
    }
    let found = visible_row(caller, document_id).await?;
    let open = open_for_record(caller, found.case_id).await?;
    let old = document::Entity::find_by_id(document_id)
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("document"))?;
    if !caller
        .viewer
        .may_correct_document(old.issued_by_unit_id, is_signed(old.kind))
    {
        return Err(forbidden(if is_signed(old.kind) {
            "a signed opinion is corrected by a LEADER of the unit that issued it"
        } else {
            "only the unit that issued a document corrects it"
        }));
    }
    if let Some(newer) = corrected_by(&open.tx, old.id).await? {
        return Err(conflict(format!(
            "{} was already corrected by {}; correct that one",
            old.number, newer.number
        )));
    }
    let draft = Draft {
        kind: old.kind,
        paragraphs: paragraphs.unwrap_or_else(|| old.body.lines().map(str::to_owned).collect()),
        review_clause: old.review_clause.clone(),
        reply_id: old.reply_id,
        review_id: old.review_id,
    };
    let issue = Issue {
        case: &open.case,
        number: numbered(&open, old.kind).await?,
        unit_id: old.issued_by_unit_id,
        user_id: issuer(&open)?,
        at: open.now,
        addressee: (old.addressee_petitioner_id, old.addressee.clone()),
        correction: Some((&old, reason)),
    };
    let (row, reference) = write(&open.tx, issue, draft).await?;
    let detail = json!({ "document": reference, "supersedes": old.number, "reason": reason });
    let case = save(open, unchanged(), "DOCUMENT_CORRECTED", detail, true).await?;
    Ok((row, case))
}

// ---------------------------------------------------------------------------------------
// The query code (查询码)

/// 100 bits in 20 characters of Crockford's base32, printed in groups of five.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn new_code() -> String {
    let bytes = crate::auth::random_bytes(13);
    let mut bits: u128 = 0;
    for b in &bytes {
        bits = (bits << 8) | u128::from(*b);
    }
    let chars: Vec<u8> = (0..20)
        .map(|i| CODE_ALPHABET[((bits >> (i * 5)) & 31) as usize])
        .collect();
    chars
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code as typed back: case, dashes and spaces ignored, the letters people confuse with
/// digits read as those digits.
fn normalise(code: &str) -> Option<String> {
    let mut out = String::with_capacity(20);
    for c in code.chars() {
        match c.to_ascii_uppercase() {
            '-' | ' ' => {}
            'O' => out.push('0'),
            'I' | 'L' => out.push('1'),
            c if CODE_ALPHABET.contains(&(c as u8)) && c.is_ascii() => out.push(c),
            _ => return None,
        }
    }
    (out.len() == 20).then_some(out)
}

fn code_hash(normalised: &str) -> String {
    hex::encode(Sha256::digest(
        format!("xinfang-query-code:{normalised}").as_bytes(),
    ))
}

/// A new code and the hash that is stored of it (for the seed, which writes rows directly).
pub fn fresh_code() -> (String, String) {
    let code = new_code();
    let hash = code_hash(&normalise(&code).unwrap_or_default());
    (code, hash)
}

/// Puts a new query code in force for the case (the old one, if any, stops working) and
/// returns it.
pub(crate) async fn put_code(open: &Open) -> Result<String> {
    let code = new_code();
    let hash = code_hash(&normalise(&code).ok_or_else(|| internal("a fresh code is malformed"))?);
    case_query_code::Entity::delete_by_id(open.case.id)
        .exec(&open.tx)
        .await?;
    case_query_code::ActiveModel {
        case_id: Set(open.case.id),
        code_hash: Set(hash),
        code: Set(code.clone()),
        issued_at: Set(open.now),
        issued_by_user_id: Set(open
            .actor
            .user_id
            .ok_or_else(|| internal("a code is issued by a person"))?),
    }
    .insert(&open.tx)
    .await?;
    Ok(code)
}

/// 重新生成查询码: the lead unit or the bureau issues a new code (a petitioner lost theirs, or
/// it reached someone else); the old one stops working at once. Returned once.
pub async fn reissue_code(caller: &Caller<'_>, case_id: i64) -> Result<(String, case::Model)> {
    let open = crate::workflow::open(
        caller,
        case_id,
        crate::domain::Action::ReissueQueryCode,
        None,
    )
    .await?;
    let code = put_code(&open).await?;
    let case = save(open, unchanged(), "QUERY_CODE_REISSUED", json!({}), false).await?;
    Ok((code, case))
}

/// Lookups by query code allowed per client address in [`LOOKUP_WINDOW_MINUTES`].
pub const LOOKUPS_PER_ADDRESS: i32 = 30;
pub const LOOKUP_WINDOW_MINUTES: i64 = 10;

/// Takes one of the client address's query-code lookups (GraphQL and the public PDF share
/// them), or `RATE_LIMITED`.
pub async fn take_lookup(
    db: &sea_orm::DatabaseConnection,
    address: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let window = chrono::TimeDelta::minutes(LOOKUP_WINDOW_MINUTES);
    let bucket = format!("query-code:{address}");
    if crate::auth::take_rate_limit(db, &bucket, LOOKUPS_PER_ADDRESS, window, now).await? {
        return Ok(());
    }
    Err(AppError::RateLimited(
        "too many query-code lookups from this address; wait and try again".into(),
    ))
}

/// What the holder of a query code may read: the case's public steps and its documents,
/// nothing internal and no one's personal data.
pub struct PublicCase {
    pub case: case::Model,
    pub lead_unit: String,
    pub steps: Vec<case_event::Model>,
    pub documents: Vec<DocumentView>,
}

/// The case a query code opens, if the code is in force. Rate-limited per client address
/// by the caller; a wrong code says nothing about why.
pub async fn by_code(db: &impl ConnectionTrait, code: &str) -> Result<Option<PublicCase>> {
    let Some(normalised) = normalise(code) else {
        return Ok(None);
    };
    let Some(found) = case_query_code::Entity::find()
        .filter(case_query_code::Column::CodeHash.eq(code_hash(&normalised)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(case) = case::Entity::find_by_id(found.case_id).one(db).await? else {
        return Ok(None);
    };
    // A matter sent up is in a higher body's hands: the county's code shows it no more.
    if case.sent_up_at.is_some() {
        return Ok(None);
    }
    let steps = case_event::Entity::find()
        .filter(case_event::Column::CaseId.eq(case.id))
        .filter(case_event::Column::Public.eq(true))
        .order_by_asc(case_event::Column::Seq)
        .all(db)
        .await?;
    let rows = document::Entity::find()
        .filter(document::Column::CaseId.eq(case.id))
        .order_by_asc(document::Column::Id)
        .all(db)
        .await?;
    let documents = views(db, Sight::QueryCode, &case, rows).await?;
    let lead_unit = find_unit(db, case.lead_unit_id).await?.name;
    Ok(Some(PublicCase {
        case,
        lead_unit,
        steps,
        documents,
    }))
}
