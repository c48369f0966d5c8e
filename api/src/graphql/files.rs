//! Attachments (材料) on the graph: `Case.attachments`, `Attachment`, and the mutations of
//! the resumable upload (`startUpload`, then `PATCH /uploads/{id}`, then `attachUpload`).

use super::cases::Case;
use super::cases::loaded;
use super::workflow::caller;
use super::{GqlResult, Instant, global_id, input_id, state, viewer};
use crate::attachments::{self, Limits};
use crate::domain::AttachmentKind;
use crate::error::Result;
use crate::records::AttachmentRecord;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

/// 材料 — a file attached to a case. Never deleted; a withdrawn file stays listed.
pub struct Attachment(pub AttachmentRecord);

#[Object]
impl Attachment {
    pub async fn id(&self) -> ID {
        global_id("Attachment", self.0.id)
    }
    async fn kind(&self) -> AttachmentKind {
        self.0.kind
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// Decided from the content: application/pdf, image/jpeg, image/png, image/webp or DOCX.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    /// Bytes as stored (a photo's without its metadata).
    async fn size(&self) -> i64 {
        self.0.size
    }
    /// SHA-256 of the bytes stored, as on the timeline.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// SHA-256 of the bytes as uploaded (differs for a photo whose metadata was stripped).
    async fn received_sha256(&self) -> &str {
        &self.0.received_sha256
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Uploaded by the petitioner (true) or by staff.
    async fn from_petitioner(&self) -> bool {
        self.0.uploaded_by_unit_id.is_none()
    }
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }
    /// 撤回 — when and why it was withdrawn; null while it stands.
    async fn withdrawn_at(&self) -> Option<Instant> {
        self.0.withdrawn_at.map(Instant)
    }
    async fn withdraw_reason(&self) -> Option<&str> {
        self.0.withdraw_reason.as_deref()
    }
    /// GET it with the same bearer token.
    async fn download_path(&self) -> String {
        format!("/attachments/{}", self.0.id)
    }
    /// 可执行操作 — what this viewer may do with the file now.
    async fn viewer_can(&self, ctx: &Context<'_>) -> GqlResult<AttachmentViewerCan> {
        let me = viewer(ctx)?;
        let withdraw = super::cases::case_in_sight(ctx, self.0.case_id)
            .await?
            .is_some_and(|(case, relations)| {
                attachments::may_withdraw(me, &self.0, &case, &relations)
            });
        Ok(AttachmentViewerCan { withdraw })
    }
}

/// The actions on a file its viewer may take now.
#[derive(SimpleObject)]
pub struct AttachmentViewerCan {
    /// 撤回 (withdrawAttachment; whoever attached it, the lead unit or the bureau, while the
    /// case is open)
    pub withdraw: bool,
}

/// The files of a case this viewer sees, oldest first.
pub async fn attachments_of(
    ctx: &Context<'_>,
    case: &crate::records::CaseRecord,
) -> GqlResult<Vec<Attachment>> {
    // Through the request's loader: a list of cases reads all their files at once.
    let found = loaded(&ctx.data_unchecked::<super::Loaders>().attachments, case.id).await?;
    Ok(found.into_iter().map(Attachment).collect())
}

pub async fn attachment_by_id(ctx: &Context<'_>, id: i64) -> Result<Option<Attachment>> {
    Ok(attachments::find_visible(&state(ctx).db, viewer(ctx)?, id)
        .await?
        .map(|(_, a)| Attachment(a)))
}

#[derive(InputObject, Debug)]
pub struct StartUploadInput {
    pub case_id: ID,
    /// The file's name as the user knows it (no path).
    pub file_name: String,
    /// Its size in bytes (at most the configured cap per file; the case's files together at
    /// most the cap per case).
    pub size: i64,
    /// Its SHA-256 (hex), checked when the upload is attached; recommended.
    pub sha256: Option<String>,
}

/// An upload in progress: send the bytes to `url` with PATCH.
#[derive(SimpleObject)]
pub struct UploadTicket {
    pub upload_id: String,
    /// `/uploads/{uploadId}`: PATCH with `Upload-Offset` and
    /// `Content-Type: application/offset+octet-stream`; HEAD tells the offset to resume from.
    pub url: String,
    pub offset: i64,
    pub size: i64,
}

#[derive(InputObject, Debug)]
pub struct AttachUploadInput {
    pub upload_id: String,
    pub kind: AttachmentKind,
    pub description: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct WithdrawAttachmentInput {
    pub attachment_id: ID,
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct AttachmentPayload {
    pub attachment: Attachment,
    pub case: Case,
}

#[derive(Default)]
pub struct FilesMutation;

#[Object]
impl FilesMutation {
    /// 上传材料, step 1: declares a file for a case you may attach to (`viewerCan.attachFile`).
    async fn start_upload(
        &self,
        ctx: &Context<'_>,
        input: StartUploadInput,
    ) -> GqlResult<UploadTicket> {
        let id = input_id("Case", "caseId", &input.case_id)?;
        let c = caller(ctx)?;
        let limits: Limits = state(ctx).settings.attachment_limits();
        let up = attachments::start_upload(
            &c,
            limits,
            id,
            &input.file_name,
            input.size,
            input.sha256.as_deref(),
        )
        .await?;
        Ok(UploadTicket {
            url: format!("/uploads/{}", up.id),
            upload_id: up.id,
            offset: up.received,
            size: up.size,
        })
    }

    /// 上传材料, step 3: attaches a completed upload to its case. Attaching the same upload
    /// again answers the same attachment.
    async fn attach_upload(
        &self,
        ctx: &Context<'_>,
        input: AttachUploadInput,
    ) -> GqlResult<AttachmentPayload> {
        let c = caller(ctx)?;
        let (row, case) = attachments::attach(
            &c,
            &state(ctx).storage,
            state(ctx).settings.attachment_limits(),
            &input.upload_id,
            input.kind,
            input.description.as_deref(),
        )
        .await?;
        Ok(AttachmentPayload {
            attachment: Attachment(row),
            case: Case(case),
        })
    }

    /// 撤回 — the file stays, marked withdrawn with the reason (whoever attached it, the lead
    /// unit or the bureau).
    async fn withdraw_attachment(
        &self,
        ctx: &Context<'_>,
        input: WithdrawAttachmentInput,
    ) -> GqlResult<AttachmentPayload> {
        let id = input_id("Attachment", "attachmentId", &input.attachment_id)?;
        let c = caller(ctx)?;
        let (row, case) = attachments::withdraw(&c, id, &input.reason).await?;
        Ok(AttachmentPayload {
            attachment: Attachment(row),
            case: Case(case),
        })
    }
}
