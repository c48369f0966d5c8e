//! Attachments (材料, domain §8): files attached to a case by staff who may act on it or by the
//! citizen on their own case, arriving by a resumable upload.
//!
//! 1. `startUpload` declares the file (name, size, optionally its SHA-256) for a case; the size
//!    is checked against the per-file and per-case caps before a byte is sent.
//! 2. The bytes go to `PATCH /uploads/{id}` (`Upload-Offset`, `application/offset+octet-stream`)
//!    in one or more requests; a request cut off midway keeps what arrived, `HEAD` tells the
//!    offset to resume from.
//! 3. `attachUpload` checks the whole file — its type from the content, never the name; the
//!    declared hash — strips a photo's metadata (EXIF, GPS position, XMP, comments), stores it
//!    and puts its SHA-256 on the timeline. Attaching the same upload again answers the same
//!    attachment.
//!
//! Nothing is deleted: `withdrawAttachment` marks a file withdrawn with a reason, on the record.
//! Who sees a file is who sees the case — except an accusation's material, which only the lead
//! unit, the bureau and whoever uploaded it see.

use crate::access::Viewer;
use crate::domain::{Action, AttachmentKind, CaseStatus, Category};
use crate::error::{AppError, Result, bad_input, conflict, forbidden};
use crate::storage::Storage;
use crate::workflow::{Caller, open, save, unchanged};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use xinfang_entity::{attachment, case, upload};

/// The caps on what may be attached, from the settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_file: i64,
    pub per_case: i64,
}

pub const FILE_NAME_MAX: usize = 200;
/// An upload not attached within this long expires: its bytes no longer count, it takes
/// no more.
pub const UPLOAD_HOURS: i64 = 24;
/// Uploads one account may have open (started, not attached, not expired) at once.
pub const OPEN_UPLOADS_PER_ACCOUNT: u64 = 10;

/// The types accepted, by what the content is.
const ACCEPTED: &[(&str, &str)] = &[
    ("application/pdf", "PDF"),
    ("image/jpeg", "JPEG"),
    ("image/png", "PNG"),
    ("image/webp", "WebP"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "DOCX",
    ),
];

fn check_name(name: &str) -> Result<()> {
    crate::validate::text("fileName", name, 1, FILE_NAME_MAX)?;
    if name.contains(['/', '\\', '\n', '\r']) {
        return Err(bad_input(
            "fileName",
            "a file name has no path and no line breaks",
        ));
    }
    Ok(())
}

fn check_sha256(value: &str) -> Result<String> {
    let v = value.trim().to_ascii_lowercase();
    if v.len() != 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad_input("sha256", "a SHA-256 is 64 hexadecimal digits"));
    }
    Ok(v)
}

fn open_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::TimeDelta::hours(UPLOAD_HOURS)
}

/// The total of the `size` column over the rows a query selects.
async fn total_size<E: EntityTrait>(db: &impl ConnectionTrait, rows: Select<E>) -> Result<i64> {
    let sum: Option<Option<i64>> = rows
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"),
            "total",
        )
        .into_tuple()
        .one(db)
        .await?;
    Ok(sum.flatten().unwrap_or(0))
}

/// Bytes of the case's open uploads (started, not attached, not expired).
async fn pending_bytes(db: &impl ConnectionTrait, case_id: i64, now: DateTime<Utc>) -> Result<i64> {
    let open = upload::Entity::find()
        .filter(upload::Column::CaseId.eq(case_id))
        .filter(upload::Column::AttachmentId.is_null())
        .filter(upload::Column::CreatedAt.gt(open_since(now)));
    total_size(db, open).await
}

/// Bytes of the case's files that count against its cap (withdrawn ones too: they are kept).
async fn case_bytes(db: &impl ConnectionTrait, case_id: i64) -> Result<i64> {
    let files = attachment::Entity::find().filter(attachment::Column::CaseId.eq(case_id));
    total_size(db, files).await
}

/// Declares an upload to a case the caller may attach to; returns it (offset 0).
pub async fn start_upload(
    caller: &Caller<'_>,
    limits: Limits,
    case_id: i64,
    file_name: &str,
    size: i64,
    sha256: Option<&str>,
) -> Result<upload::Model> {
    check_name(file_name)?;
    let sha256 = sha256.map(check_sha256).transpose()?;
    if size <= 0 {
        return Err(bad_input("size", "a file has at least one byte"));
    }
    if size > limits.per_file {
        return Err(bad_input(
            "size",
            format!("a file may have at most {} bytes", limits.per_file),
        ));
    }
    // Opened as an action: the scope, the unit's relation, the case's state, sent-up cases.
    let open = open(caller, case_id, Action::AttachFile, None).await?;
    let mine = upload::Entity::find()
        .filter(upload::Column::UserId.eq(caller.viewer.user_id))
        .filter(upload::Column::AttachmentId.is_null())
        .filter(upload::Column::CreatedAt.gt(open_since(open.now)))
        .count(&open.tx)
        .await?;
    if mine >= OPEN_UPLOADS_PER_ACCOUNT {
        return Err(AppError::RateLimited(format!(
            "{OPEN_UPLOADS_PER_ACCOUNT} uploads are open already; attach them, or wait {UPLOAD_HOURS} hours for them to expire"
        )));
    }
    // Open uploads count too, so many started at once cannot pass the cap together.
    let taken =
        case_bytes(&open.tx, case_id).await? + pending_bytes(&open.tx, case_id, open.now).await?;
    if taken + size > limits.per_case {
        return Err(bad_input(
            "size",
            format!(
                "the files of a case may have at most {} bytes in all",
                limits.per_case
            ),
        ));
    }
    let row = upload::ActiveModel {
        id: Set(crate::auth::random_token()),
        case_id: Set(case_id),
        user_id: Set(caller.viewer.user_id),
        file_name: Set(file_name.to_string()),
        size: Set(size),
        sha256: Set(sha256),
        received: Set(0),
        created_at: Set(open.now),
        attachment_id: Set(None),
    }
    .insert(&open.tx)
    .await?;
    open.tx.commit().await?;
    Ok(row)
}

/// The caller's own upload (anyone else's is not found).
pub async fn own_upload(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: &str,
) -> Result<upload::Model> {
    upload::Entity::find_by_id(id.to_string())
        .filter(upload::Column::UserId.eq(viewer.user_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("upload"))
}

/// Stores bytes received at `offset` and moves the upload's offset on; returns the new
/// offset. The offset must be the upload's current one (`CONFLICT` otherwise, with nothing
/// stored), and the bytes may not run past the declared size. The upload's row is locked
/// while its part is written, so two requests at one offset cannot both store a part.
pub async fn receive(
    db: &sea_orm::DatabaseConnection,
    storage: &Storage,
    viewer: &Viewer,
    id: &str,
    offset: i64,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let tx = crate::db::begin_write(db).await?;
    let up = upload::Entity::find_by_id(id.to_string())
        .filter(upload::Column::UserId.eq(viewer.user_id))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("upload"))?;
    if up.attachment_id.is_some() {
        return Err(conflict("this upload is already attached"));
    }
    if up.created_at <= open_since(now) {
        return Err(conflict(format!(
            "this upload expired after {UPLOAD_HOURS} hours; start it again"
        )));
    }
    if offset != up.received {
        return Err(conflict(format!(
            "the upload is at offset {}; resume from there",
            up.received
        )));
    }
    if bytes.is_empty() {
        return Ok(up.received);
    }
    let end = offset + bytes.len() as i64;
    if end > up.size {
        return Err(bad_input(
            "Upload-Offset",
            "more bytes than the upload declared",
        ));
    }
    storage.put_part(id, offset, bytes).await?;
    upload::Entity::update_many()
        .col_expr(upload::Column::Received, Expr::value(end))
        .filter(upload::Column::Id.eq(id))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(end)
}

/// Removes uploads that expired unattached, and their parts from the store: at most a
/// hundred per call (the deadline scanner calls it on every tick). Several processes may
/// sweep at once; removing twice is harmless.
pub async fn sweep_expired(
    db: &sea_orm::DatabaseConnection,
    storage: &Storage,
    now: DateTime<Utc>,
) -> Result<usize> {
    let expired = upload::Entity::find()
        .filter(upload::Column::AttachmentId.is_null())
        .filter(upload::Column::CreatedAt.lte(open_since(now)))
        .limit(100)
        .all(db)
        .await?;
    for up in &expired {
        storage.remove_parts(&up.id).await;
        upload::Entity::delete_many()
            .filter(upload::Column::Id.eq(up.id.as_str()))
            .filter(upload::Column::AttachmentId.is_null())
            .exec(db)
            .await?;
    }
    Ok(expired.len())
}

/// What the content is, by its bytes: one of [`ACCEPTED`], or a clear refusal.
pub fn sniff(bytes: &[u8]) -> Result<&'static str> {
    let found = infer::get(bytes).map(|t| t.mime_type());
    if let Some(m) = found
        && let Some((accepted, _)) = ACCEPTED.iter().find(|(a, _)| *a == m)
    {
        return Ok(accepted);
    }
    let names: Vec<&str> = ACCEPTED.iter().map(|(_, n)| *n).collect();
    Err(bad_input(
        "uploadId",
        match found {
            Some("image/heif") => {
                "HEIC photos cannot be read here to strip their location; send them as JPEG".into()
            }
            Some(m) => format!(
                "files of type {m} are not accepted; send {}",
                names.join(", ")
            ),
            None => format!(
                "the file's type is not recognised; send {}",
                names.join(", ")
            ),
        },
    ))
}

/// A photo without its metadata: EXIF (with any GPS position), XMP, comments and text
/// chunks. The picture itself is kept as it was; other types are returned unchanged.
pub fn strip_metadata(content_type: &str, bytes: Vec<u8>) -> Result<Vec<u8>> {
    use img_parts::{Bytes, ImageEXIF};
    let unreadable = |_| bad_input("uploadId", "the image cannot be read");
    Ok(match content_type {
        "image/jpeg" => {
            let mut jpeg =
                img_parts::jpeg::Jpeg::from_bytes(Bytes::from(bytes)).map_err(unreadable)?;
            // APP1 (EXIF, XMP), APP3–APP13 (maker notes, IPTC), APP15 and comments; APP0
            // (JFIF), APP2 (the colour profile) and APP14 (Adobe colour transform) stay.
            jpeg.segments_mut().retain(|s| {
                let m = s.marker();
                !(m == img_parts::jpeg::markers::APP1
                    || (img_parts::jpeg::markers::APP3..=img_parts::jpeg::markers::APP13)
                        .contains(&m)
                    || m == img_parts::jpeg::markers::APP15
                    || m == img_parts::jpeg::markers::COM)
            });
            jpeg.encoder().bytes().to_vec()
        }
        "image/png" => {
            let mut png =
                img_parts::png::Png::from_bytes(Bytes::from(bytes)).map_err(unreadable)?;
            png.chunks_mut()
                .retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt" | b"tIME"));
            png.encoder().bytes().to_vec()
        }
        "image/webp" => {
            let mut webp =
                img_parts::webp::WebP::from_bytes(Bytes::from(bytes)).map_err(unreadable)?;
            webp.set_exif(None);
            webp.remove_chunks_by_id(*b"XMP ");
            webp.encoder().bytes().to_vec()
        }
        _ => bytes,
    })
}

/// Attaches a completed upload to its case: checks the whole, strips a photo's metadata,
/// stores it, records it with its SHA-256 on the timeline. Again for the same upload: the
/// same attachment.
pub async fn attach(
    caller: &Caller<'_>,
    storage: &Storage,
    limits: Limits,
    upload_id: &str,
    kind: AttachmentKind,
    description: Option<&str>,
) -> Result<(attachment::Model, case::Model)> {
    crate::validate::optional_text("description", description, 2000)?;
    let up = own_upload(caller.db, caller.viewer, upload_id).await?;
    if let Some(done) = up.attachment_id {
        return existing(caller, done).await;
    }
    if up.created_at <= open_since(caller.clock.now()) {
        return Err(conflict(format!(
            "this upload expired after {UPLOAD_HOURS} hours; start it again"
        )));
    }
    if up.received < up.size {
        return Err(conflict(format!(
            "the upload has {} of {} bytes; send the rest first",
            up.received, up.size
        )));
    }
    let received = storage.assemble(upload_id, up.size).await?;
    let received_sha256 = hex::encode(Sha256::digest(&received));
    if up
        .sha256
        .as_ref()
        .is_some_and(|declared| *declared != received_sha256)
    {
        return Err(bad_input(
            "uploadId",
            "the bytes received do not match the SHA-256 declared; upload the file again",
        ));
    }
    let content_type = sniff(&received)?;
    let kept = strip_metadata(content_type, received)?;
    let sha256 = hex::encode(Sha256::digest(&kept));
    let size = kept.len() as i64;
    let key = format!("attachments/{}/{sha256}", up.case_id);
    // The bytes first: a failure after this leaves an unreferenced object, never a record
    // pointing at nothing.
    storage.put(&key, kept).await?;
    let open = open(caller, up.case_id, Action::AttachFile, None).await?;
    // Two attaches of one upload at once: the second finds the first's attachment.
    let again = upload::Entity::find_by_id(upload_id.to_string())
        .lock_exclusive()
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("upload"))?;
    if let Some(done) = again.attachment_id {
        drop(open);
        return existing(caller, done).await;
    }
    // The cap again, now that the case is locked: what is attached, and this file.
    if case_bytes(&open.tx, up.case_id).await? + size > limits.per_case {
        return Err(bad_input(
            "uploadId",
            format!(
                "the files of a case may have at most {} bytes in all",
                limits.per_case
            ),
        ));
    }
    let row = attachment::ActiveModel {
        case_id: Set(up.case_id),
        kind: Set(kind),
        file_name: Set(up.file_name.clone()),
        content_type: Set(content_type.to_string()),
        size: Set(size),
        sha256: Set(sha256.clone()),
        received_sha256: Set(received_sha256.clone()),
        description: Set(description.map(str::to_owned)),
        storage_key: Set(key),
        uploaded_by_user_id: Set(caller.viewer.user_id),
        uploaded_by_unit_id: Set(caller.viewer.unit.as_ref().map(|u| u.id)),
        created_at: Set(open.now),
        withdrawn_at: Set(None),
        withdrawn_by_user_id: Set(None),
        withdraw_reason: Set(None),
        ..Default::default()
    }
    .insert(&open.tx)
    .await?;
    upload::Entity::update_many()
        .col_expr(upload::Column::AttachmentId, Expr::value(row.id))
        .filter(upload::Column::Id.eq(upload_id))
        .exec(&open.tx)
        .await?;
    // On an accusation the material is the lead unit's and the bureau's: staff only there.
    let public = open.case.category != Category::Accusation;
    let detail = json!({ "attachmentId": row.id, "kind": kind.as_str(), "contentType": content_type,
        "size": size, "sha256": sha256, "receivedSha256": received_sha256 });
    let case = save(open, unchanged(), "ATTACHMENT_ADDED", detail, public).await?;
    storage.remove_parts(upload_id).await;
    Ok((row, case))
}

async fn existing(caller: &Caller<'_>, id: i64) -> Result<(attachment::Model, case::Model)> {
    find_visible(caller.db, caller.viewer, id)
        .await?
        .map(|(case, a)| (a, case))
        .ok_or(AppError::NotFound("attachment"))
}

/// 撤回: the file stays, marked withdrawn with the reason, on the record. The uploader, or
/// staff of the lead unit or the bureau.
pub async fn withdraw(
    caller: &Caller<'_>,
    attachment_id: i64,
    reason: &str,
) -> Result<(attachment::Model, case::Model)> {
    crate::validate::text("reason", reason, 1, 2000)?;
    let (case, found) = find_visible(caller.db, caller.viewer, attachment_id)
        .await?
        .ok_or(AppError::NotFound("attachment"))?;
    if !caller
        .viewer
        .may_withdraw_file(&case, found.uploaded_by_user_id)
    {
        return Err(forbidden(
            "a file is withdrawn by whoever attached it, the lead unit or the bureau",
        ));
    }
    let open = open(caller, case.id, Action::AttachFile, None).await?;
    let row = attachment::Entity::find_by_id(attachment_id)
        .lock_exclusive()
        .one(&open.tx)
        .await?
        .ok_or(AppError::NotFound("attachment"))?;
    if row.withdrawn_at.is_some() {
        return Err(conflict("this file was already withdrawn"));
    }
    let mut active: attachment::ActiveModel = row.into();
    active.withdrawn_at = Set(Some(open.now));
    active.withdrawn_by_user_id = Set(Some(caller.viewer.user_id));
    active.withdraw_reason = Set(Some(reason.to_string()));
    let row = active.update(&open.tx).await?;
    let public = open.case.category != Category::Accusation;
    let detail = json!({ "attachmentId": row.id, "sha256": row.sha256, "reason": reason });
    let case = save(open, unchanged(), "ATTACHMENT_WITHDRAWN", detail, public).await?;
    Ok((row, case))
}

/// Whether the viewer may withdraw the file now (`Attachment.viewerCan.withdraw`): what
/// [`withdraw`] checks before it writes, given the file's case as the viewer sees it and the
/// viewer's unit's relations to it.
pub fn may_withdraw(
    viewer: &Viewer,
    row: &attachment::Model,
    case: &case::Model,
    relations: &[crate::domain::UnitRelation],
) -> bool {
    row.withdrawn_at.is_none()
        && viewer.sees_file(case, row.uploaded_by_user_id)
        && viewer.may_withdraw_file(case, row.uploaded_by_user_id)
        && crate::workflow::allows(viewer, case, relations, Action::AttachFile)
}

/// The files of cases the viewer sees that show to it, withdrawn ones included, oldest first,
/// in one statement for all the cases.
pub async fn of_cases(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    cases: &[case::Model],
) -> Result<std::collections::HashMap<i64, Vec<attachment::Model>>> {
    let ids = crate::db::bucketed_ids(cases.iter().map(|c| c.id));
    let mut out: std::collections::HashMap<i64, Vec<attachment::Model>> = Default::default();
    for row in attachment::Entity::find()
        .filter(attachment::Column::CaseId.is_in(ids))
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?
    {
        if let Some(case) = cases.iter().find(|c| c.id == row.case_id)
            && viewer.sees_file(case, row.uploaded_by_user_id)
        {
            out.entry(case.id).or_default().push(row);
        }
    }
    Ok(out)
}

/// One file, when the viewer sees its case and it.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<(case::Model, attachment::Model)>> {
    let Some(row) = attachment::Entity::find_by_id(id)
        .filter(attachment::Column::CaseId.in_subquery(crate::cases::visible_ids(viewer)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(case) = crate::cases::find_visible(db, viewer, row.case_id).await? else {
        return Ok(None);
    };
    Ok(viewer
        .sees_file(&case, row.uploaded_by_user_id)
        .then_some((case, row)))
}

/// The bytes of a file the viewer sees. A withdrawn file's bytes are kept for the lead unit
/// and the bureau only.
pub async fn content(
    db: &impl ConnectionTrait,
    storage: &Storage,
    viewer: &Viewer,
    id: i64,
) -> Result<(attachment::Model, Vec<u8>)> {
    let (case, row) = find_visible(db, viewer, id)
        .await?
        .ok_or(AppError::NotFound("attachment"))?;
    // A withdrawn file's bytes are kept for the units in charge only.
    if row.withdrawn_at.is_some() && !viewer.in_charge_of(&case) {
        return Err(AppError::NotFound("attachment"));
    }
    let bytes = storage.get(&row.storage_key).await?;
    Ok((row, bytes))
}

/// Whether a case's state still takes files (closed cases do not).
pub fn state_takes_files(status: CaseStatus) -> bool {
    status != CaseStatus::Closed
}

/// A 4×4 PNG: the seed's stand-in for a scanned letter.
pub const SAMPLE_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09,
    0x29, 0x00, 0x00, 0x00, 0x14, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x3c, 0x21, 0x27, 0xc7,
    0x00, 0x03, 0x4c, 0x0c, 0x48, 0x00, 0x37, 0x07, 0x00, 0x34, 0x76, 0x01, 0x0c, 0xaf, 0x6a, 0xb9,
    0xb5, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// For the seed: a file attached directly, as an upload would have left it.
#[allow(clippy::too_many_arguments)]
pub async fn seed_file(
    db: &impl ConnectionTrait,
    storage: &Storage,
    case_id: i64,
    user_id: i64,
    unit_id: Option<i64>,
    file_name: &str,
    kind: AttachmentKind,
    bytes: Vec<u8>,
    at: DateTime<Utc>,
) -> Result<attachment::Model> {
    let content_type = sniff(&bytes)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let key = format!("attachments/{case_id}/{sha256}");
    let size = bytes.len() as i64;
    storage.put(&key, bytes).await?;
    Ok(attachment::ActiveModel {
        case_id: Set(case_id),
        kind: Set(kind),
        file_name: Set(file_name.to_string()),
        content_type: Set(content_type.to_string()),
        size: Set(size),
        sha256: Set(sha256.clone()),
        received_sha256: Set(sha256),
        description: Set(None),
        storage_key: Set(key),
        uploaded_by_user_id: Set(user_id),
        uploaded_by_unit_id: Set(unit_id),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
