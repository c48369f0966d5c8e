//! Written documents (文书) on the graph: `Case.documents`, `Document`, their delivery and
//! correction, and the query code (查询码) — its reissue and the public view it opens.

use super::cases::Case;
use super::cases::loaded;
use super::workflow::caller;
use super::{GqlResult, Instant, global_id, input_id, request, state, viewer};
use crate::documents::{self, DocumentDelivery, DocumentView, PublicCase};
use crate::domain::{CaseStatus, DeliveryMethod, DocumentKind};
use crate::error::{AppError, Result};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

/// 文书 — a numbered written notice issued on a decision. Never edited: a correction is a new
/// document that supersedes it.
pub struct Document(pub DocumentView);

#[Object]
impl Document {
    pub async fn id(&self) -> ID {
        global_id("Document", self.0.row.id)
    }
    async fn kind(&self) -> DocumentKind {
        self.0.row.kind
    }
    /// 文书名称, e.g. 信访事项受理告知书.
    async fn title(&self) -> &'static str {
        documents::title(self.0.row.kind)
    }
    /// 文号, e.g. 130534信受〔2026〕12号.
    async fn number(&self) -> &str {
        &self.0.row.number
    }
    /// 出具单位
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    async fn issued_at(&self) -> Instant {
        Instant(self.0.row.issued_at)
    }
    /// The petitioner addressed, or 保密 where the viewer may not know who petitioned.
    async fn addressee(&self) -> Option<&str> {
        self.0.addressee.as_deref()
    }
    /// The text, one paragraph per entry. The number of an earlier case a 不再受理 notice cites
    /// reads 〔另案，编号不予显示〕 to a viewer who may not see that case.
    async fn body(&self) -> Vec<&str> {
        self.0.body.lines().collect()
    }
    /// Where and within what time the petitioner may ask for review, when they may.
    async fn review_clause(&self) -> Option<&str> {
        self.0.row.review_clause.as_deref()
    }
    /// SHA-256 of the issued content, as written on the case's timeline. Null on a document
    /// issued before documents carried a salt of their own, where the viewer is shown less than
    /// its content (the addressee or a cited case's number withheld): that digest would
    /// confirm a guess at what is withheld.
    async fn sha256(&self) -> Option<&str> {
        self.0.sha256.as_deref()
    }
    /// The document this one corrects, and why.
    async fn supersedes(&self) -> Option<ID> {
        self.0.row.supersedes_id.map(|id| global_id("Document", id))
    }
    async fn correction_reason(&self) -> Option<&str> {
        self.0.row.correction_reason.as_deref()
    }
    /// The correction that replaced this document, if any.
    async fn superseded_by(&self) -> Option<ID> {
        self.0.superseded_by.map(|id| global_id("Document", id))
    }
    /// 送达 — how and when it reached the petitioner; null until recorded.
    async fn delivery(&self) -> Option<DocumentDeliveryRecord> {
        let r = &self.0.row;
        Some(DocumentDeliveryRecord {
            method: r.delivery_method?,
            delivered_at: Instant(r.delivered_at?),
            tracking_number: self.0.tracking.clone(),
        })
    }
    /// 查询码 — on the acceptance notice, for the lead unit, the bureau and the petitioner
    /// (who hand it over or hold it); null for everyone else and on other documents.
    async fn query_code(&self) -> Option<&str> {
        self.0.query_code.as_deref()
    }
    /// Where to download it as PDF (GET with the same bearer token; with the `X-Query-Code`
    /// header under `/public/documents/…` for a query code's holder).
    async fn pdf_path(&self) -> String {
        format!("/documents/{}.pdf", self.0.row.id)
    }
    /// 可执行操作 — what this viewer may do with the document now (nothing, for a query
    /// code's holder who is not signed in).
    async fn viewer_can(&self, ctx: &Context<'_>) -> GqlResult<DocumentViewerCan> {
        let nothing = documents::DocumentCapabilities::default().into();
        let Ok(me) = viewer(ctx) else {
            return Ok(nothing);
        };
        let Some((case, relations)) = super::cases::case_in_sight(ctx, self.0.row.case_id).await?
        else {
            return Ok(nothing);
        };
        // The case's replies and reviews only when the document may be the decision it waits
        // to deliver; through the loaders, so a list's documents read them once.
        let read = if documents::may_be_awaited(&self.0.row, &case) {
            let loaders = ctx.data_unchecked::<super::Loaders>();
            Some(futures_util::try_join!(
                loaded(&loaders.replies, case.id),
                loaded(&loaders.reviews, case.id)
            )?)
        } else {
            None
        };
        let decisions = read
            .as_ref()
            .map(|(replies, reviews)| documents::CaseDecisions { replies, reviews });
        let facts = documents::DocumentFacts {
            case: &case,
            relations: &relations,
            superseded: self.0.superseded_by.is_some(),
            decisions,
        };
        Ok(documents::capabilities(me, &self.0.row, facts)?.into())
    }
}

impl From<documents::DocumentCapabilities> for DocumentViewerCan {
    fn from(c: documents::DocumentCapabilities) -> Self {
        DocumentViewerCan {
            deliver: c.deliver,
            correct: c.correct,
        }
    }
}

/// The actions on a document its viewer may take now.
#[derive(SimpleObject)]
pub struct DocumentViewerCan {
    /// 送达 (deliverDocument; the issuing unit, the lead unit, the bureau, the reviewing body,
    /// and the petitioner by opening it in the app; for the reply or review decision the case
    /// waits on, whoever may `recordDelivery`)
    pub deliver: bool,
    /// 更正 (correctDocument; the issuing unit — a LEADER of it for a signed opinion — until
    /// it is corrected)
    pub correct: bool,
}

#[derive(SimpleObject)]
pub struct DocumentDeliveryRecord {
    pub method: DeliveryMethod,
    pub delivered_at: Instant,
    /// The postal tracking number, or where the e-mail or SMS link went — shown only to
    /// those who see the petitioner's contact details in full.
    pub tracking_number: Option<String>,
}

/// The documents of a case, oldest first.
pub async fn documents_of(
    ctx: &Context<'_>,
    case: &crate::records::CaseRecord,
) -> GqlResult<Vec<Document>> {
    // Through the request's loader: a list of cases reads all their documents at once.
    let found = loaded(&ctx.data_unchecked::<super::Loaders>().documents, case.id).await?;
    Ok(found.into_iter().map(Document).collect())
}

/// `node(id:)` for a document: found exactly where its case is.
pub async fn document_by_id(ctx: &Context<'_>, id: i64) -> Result<Option<Document>> {
    let s = state(ctx);
    Ok(documents::find_visible(&s.db, viewer(ctx)?, id)
        .await?
        .map(|(_, view)| Document(view)))
}

async fn reload(ctx: &Context<'_>, id: i64) -> Result<Document> {
    document_by_id(ctx, id)
        .await?
        .ok_or(AppError::NotFound("document"))
}

#[derive(InputObject, Debug)]
pub struct DeliverDocumentInput {
    pub document_id: ID,
    /// How it reached the petitioner (IN_APP is recorded by the petitioner opening it).
    pub method: DeliveryMethod,
    /// When (default: now); not before it was issued, not in the future.
    pub delivered_at: Option<Instant>,
    /// Required for POST: the tracking number. For EMAIL or SMS_LINK, where it went.
    pub tracking_number: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct CorrectDocumentInput {
    pub document_id: ID,
    /// Why the document is corrected (on the new document and the timeline).
    pub reason: String,
    /// The corrected text, one paragraph per entry; omitted, the old text is issued again
    /// (a corrected addressee or number, say).
    pub body: Option<Vec<String>>,
}

#[derive(InputObject, Debug)]
pub struct ReissueQueryCodeInput {
    pub case_id: ID,
}

#[derive(SimpleObject)]
pub struct DocumentPayload {
    pub document: Document,
    pub case: Case,
}

#[derive(SimpleObject)]
pub struct QueryCodePayload {
    /// The new code, shown this once: hand it to the petitioner. The old code stops working.
    pub query_code: String,
    pub case: Case,
}

#[derive(Default)]
pub struct LettersMutation;

#[Object]
impl LettersMutation {
    /// 送达 — records how and when a document reached the petitioner. For the reply or a review
    /// decision the case waits on, this is `recordDelivery`: the petitioner's window starts.
    async fn deliver_document(
        &self,
        ctx: &Context<'_>,
        input: DeliverDocumentInput,
    ) -> GqlResult<DocumentPayload> {
        let id = input_id("Document", "documentId", &input.document_id)?;
        let c = caller(ctx)?;
        let (row, case) = documents::deliver(
            &c,
            id,
            DocumentDelivery {
                method: input.method,
                delivered_at: input.delivered_at.map(|i| i.0),
                tracking: input.tracking_number,
            },
        )
        .await?;
        Ok(DocumentPayload {
            document: reload(ctx, row.id).await?,
            case: Case(case),
        })
    }

    /// 更正 — issues a corrected document superseding this one (its issuing unit only). The old
    /// document stays on the case, marked superseded; the reason is on the record.
    async fn correct_document(
        &self,
        ctx: &Context<'_>,
        input: CorrectDocumentInput,
    ) -> GqlResult<DocumentPayload> {
        let id = input_id("Document", "documentId", &input.document_id)?;
        let c = caller(ctx)?;
        let (row, case) = documents::correct(&c, id, &input.reason, input.body).await?;
        Ok(DocumentPayload {
            document: reload(ctx, row.id).await?,
            case: Case(case),
        })
    }

    /// 重新生成查询码 — the lead unit or the bureau; the old code stops working at once.
    async fn reissue_query_code(
        &self,
        ctx: &Context<'_>,
        input: ReissueQueryCodeInput,
    ) -> GqlResult<QueryCodePayload> {
        let id = input_id("Case", "caseId", &input.case_id)?;
        let c = caller(ctx)?;
        let (code, case) = documents::reissue_code(&c, id).await?;
        Ok(QueryCodePayload {
            query_code: code,
            case: Case(case),
        })
    }
}

/// 查询 — what a query code's holder sees: the case's public steps and its documents, with
/// no one's personal data (the addressee masked to the first character) and nothing
/// internal.
pub struct PublicCaseView(PublicCase);

#[Object]
impl PublicCaseView {
    async fn number(&self) -> &str {
        &self.0.case.number
    }
    async fn title(&self) -> &str {
        &self.0.case.title
    }
    async fn status(&self) -> CaseStatus {
        self.0.case.status
    }
    async fn received_at(&self) -> Instant {
        Instant(self.0.case.received_at)
    }
    /// 承办单位
    async fn lead_unit(&self) -> &str {
        &self.0.lead_unit
    }
    /// When a decision is due next (acceptance, handling or review), while one is.
    async fn due_at(&self) -> Option<Instant> {
        self.0.case.due_at.map(Instant)
    }
    /// The public steps, oldest first: what happened and when, without who or why.
    async fn steps(&self) -> Vec<PublicStep> {
        self.0
            .steps
            .iter()
            .map(|e| PublicStep {
                action: e.action.clone(),
                at: Instant(e.at),
            })
            .collect()
    }
    async fn documents(&self) -> Vec<Document> {
        self.0
            .documents
            .iter()
            .map(|d| Document(d.clone()))
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct PublicStep {
    /// The timeline's action name (REGISTER, ACCEPT, TRANSFER, REPLY, …).
    pub action: String,
    pub at: Instant,
}

#[derive(Default)]
pub struct LettersQuery;

#[Object]
impl LettersQuery {
    /// 查询码查询 — no account needed. A code not in force (wrong, or replaced) finds nothing.
    /// At most 30 lookups per client address in 10 minutes (RATE_LIMITED).
    async fn case_by_query_code(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> GqlResult<Option<PublicCaseView>> {
        let s = state(ctx);
        documents::take_lookup(&s.db, &request(ctx).client_addr, s.clock.now()).await?;
        if code.len() > 64 {
            return Ok(None);
        }
        Ok(documents::by_code(&s.db, &code).await?.map(PublicCaseView))
    }
}
