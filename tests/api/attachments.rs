//! Attachments (issue: documents, delivery, attachments, query code): resumable uploads that
//! survive a cut connection, types decided by content, caps, photos stripped of their
//! location, withdrawal on the record, the case's scope on every path, and the S3 store.

use crate::fixtures::{self, County, mutate, ok};
use crate::support::{TestApp, code, field, gid, s3_server, spawn_app, spawn_app_with};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A 4×4 red JPEG, as a camera would write it before its metadata.
const JPEG_B64: &str = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAEAAQDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDgKKKK+eP2E//Z";
/// A 4×4 PNG.
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAFElEQVR4nGM8ISfHAANMDEgANwcANHYBDK9qubUAAAAASUVORK5CYII=";

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// The JPEG with an EXIF block that records where it was taken (GPSLatitudeRef "N").
fn photo_with_location() -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II\x2a\x00");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    // IFD0: one entry, GPSInfo (0x8825, LONG) pointing at the GPS IFD at 26.
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x8825u16.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&26u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: GPSLatitudeRef (0x0001, ASCII, 2) = "N".
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let jpeg = b64(JPEG_B64);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Where the photo says it was taken, if it says.
fn gps_of(bytes: &[u8]) -> Option<String> {
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .ok()?;
    exif.get_field(exif::Tag::GPSLatitudeRef, exif::In::PRIMARY)
        .map(|f| f.display_value().to_string())
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn start(app: &TestApp, token: &str, case: &str, name: &str, bytes: &[u8]) -> Value {
    ok(
        app,
        token,
        "startUpload",
        json!({"caseId": case, "fileName": name, "size": bytes.len(), "sha256": sha256(bytes)}),
        "uploadId url offset size",
    )
    .await
}

/// PATCHes bytes at an offset; the status and the offset the server answers.
async fn patch(
    app: &TestApp,
    token: &str,
    url: &str,
    offset: usize,
    bytes: &[u8],
) -> (u16, Option<i64>) {
    let res = app
        .client
        .patch(format!("{}{url}", app.url))
        .bearer_auth(token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let at = res
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (res.status().as_u16(), at)
}

async fn head(app: &TestApp, token: &str, url: &str) -> i64 {
    let res = app
        .client
        .head(format!("{}{url}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Uploads a whole file in one PATCH and attaches it; the payload or the error body.
pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    case: &str,
    name: &str,
    kind: &str,
    bytes: &[u8],
) -> Value {
    let ticket = start(app, token, case, name, bytes).await;
    let (status, _) = patch(app, token, ticket["url"].as_str().unwrap(), 0, bytes).await;
    assert_eq!(status, 204);
    mutate(app, token, "attachUpload",
        json!({"uploadId": ticket["uploadId"], "kind": kind}),
        "attachment { id kind contentType size sha256 receivedSha256 downloadPath withdrawnAt } case { id }").await
}

async fn download(app: &TestApp, token: Option<&str>, path: &str) -> (u16, Vec<u8>) {
    let mut req = app.client.get(format!("{}{path}", app.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

async fn listed(app: &TestApp, token: &str, case: &str) -> Vec<Value> {
    let body = app
        .gql(
            Some(token),
            "query($id: ID!) { case(id: $id) { attachments { id fileName withdrawnAt withdrawReason } } }",
            json!({"id": case}),
        )
        .await;
    body["data"]["case"]["attachments"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

/// The last cells (文书, 材料) of a case's line in the viewer's CSV export.
pub async fn export_tail(app: &TestApp, token: &str, number: &str) -> (String, String) {
    let text = app
        .client
        .get(format!("{}/export/cases.csv", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.ends_with("文书,材料"), "{header}");
    let line = text
        .lines()
        .find(|l| l.starts_with(number))
        .unwrap_or_else(|| panic!("{number} not exported: {text}"));
    let mut cells: Vec<&str> = line.rsplitn(3, ',').collect();
    cells.truncate(2);
    (cells[1].to_string(), cells[0].to_string())
}

async fn bureau_case(app: &TestApp, county: &County) -> String {
    fixtures::register(app, county.token("bureau_staff"), json!({}))
        .await
        .0
}

#[tokio::test]
async fn a_photo_resumes_after_a_cut_connection_and_is_stored_without_its_location() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let case = bureau_case(&app, &county).await;
    let bureau = county.token("bureau_staff");
    let photo = photo_with_location();
    assert_eq!(
        gps_of(&photo).as_deref(),
        Some("N"),
        "the test photo carries a location"
    );
    let ticket = start(&app, bureau, &case, "现场照片.jpg", &photo).await;
    let url = ticket["url"].as_str().unwrap().to_string();
    assert_eq!(ticket["offset"], 0);

    // The first half goes out on a connection that is then cut, the request unfinished.
    let half = photo.len() / 2;
    let addr = app.url.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head_text = format!(
        "PATCH {url} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bureau}\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
        photo.len()
    );
    socket.write_all(head_text.as_bytes()).await.unwrap();
    socket.write_all(&photo[..half]).await.unwrap();
    socket.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(socket);
    // What arrived was kept: the client asks where to resume.
    let mut at = 0;
    for _ in 0..50 {
        at = head(&app, bureau, &url).await;
        if at > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(at, half as i64, "resume exactly where the cut left it");
    // Sending from the wrong offset changes nothing and says where it stands.
    let (status, said) = patch(&app, bureau, &url, 0, &photo).await;
    assert_eq!((status, said), (409, Some(half as i64)));
    // Not before the rest is there.
    let early = mutate(
        &app,
        bureau,
        "attachUpload",
        json!({"uploadId": ticket["uploadId"], "kind": "PHOTO"}),
        "attachment { id }",
    )
    .await;
    assert_eq!(code(&early), Some("CONFLICT"));
    let (status, said) = patch(&app, bureau, &url, half, &photo[half..]).await;
    assert_eq!((status, said), (204, Some(photo.len() as i64)));

    const ATTACHED: &str =
        "attachment { id kind contentType size sha256 receivedSha256 downloadPath } case { id }";
    let attached = ok(
        &app,
        bureau,
        "attachUpload",
        json!({"uploadId": ticket["uploadId"], "kind": "PHOTO", "description": "现场照片"}),
        ATTACHED,
    )
    .await;
    let a = &attached["attachment"];
    assert_eq!(a["contentType"], "image/jpeg");
    assert_eq!(
        a["receivedSha256"],
        sha256(&photo),
        "every byte arrived, in order"
    );
    assert_ne!(
        a["sha256"], a["receivedSha256"],
        "the stored copy differs: no metadata"
    );
    let (status, stored) = download(&app, Some(bureau), a["downloadPath"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(sha256(&stored), a["sha256"].as_str().unwrap());
    assert_eq!(gps_of(&stored), None, "no location in what is kept");
    assert!(
        exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&stored))
            .is_err(),
        "no EXIF at all"
    );
    assert_eq!(&stored[..2], &[0xFF, 0xD8], "still a JPEG");
    assert!(stored.len() < photo.len());

    // Attaching again (a retry after a lost answer) gives the same attachment.
    let again = ok(
        &app,
        bureau,
        "attachUpload",
        json!({"uploadId": ticket["uploadId"], "kind": "PHOTO"}),
        ATTACHED,
    )
    .await;
    assert_eq!(again["attachment"]["id"], a["id"]);
    assert_eq!(listed(&app, bureau, &case).await.len(), 1);
    let body = app
        .gql(
            Some(bureau),
            "query($id: ID!) { case(id: $id) { timeline { nodes { action detail } } } }",
            json!({"id": case}),
        )
        .await;
    let added: Vec<Value> = body["data"]["case"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "ATTACHMENT_ADDED")
        .map(|e| serde_json::from_str(e["detail"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(added.len(), 1, "on the record once");
    assert_eq!(added[0]["sha256"], a["sha256"]);
    // Someone else's upload is not theirs to write to or ask about.
    let (status, _) = patch(&app, county.token("bureau_leader"), &url, photo.len(), b"x").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn types_are_decided_by_content_and_sizes_are_capped() {
    let app = spawn_app_with(&[
        "--attachment-max-bytes",
        "1000",
        "--case-attachments-max-bytes",
        "1500",
    ])
    .await;
    let county = fixtures::county(&app).await;
    let case = bureau_case(&app, &county).await;
    let bureau = county.token("bureau_staff");
    let too_big = mutate(
        &app,
        bureau,
        "startUpload",
        json!({"caseId": case, "fileName": "big.pdf", "size": 1001}),
        "uploadId",
    )
    .await;
    assert_eq!(code(&too_big), Some("BAD_USER_INPUT"));
    assert_eq!(field(&too_big), Some("size"));
    let path = mutate(
        &app,
        bureau,
        "startUpload",
        json!({"caseId": case, "fileName": "../etc/passwd", "size": 10}),
        "uploadId",
    )
    .await;
    assert_eq!(field(&path), Some("fileName"));
    // A text file named as a PDF is refused by what it is, and leaves nothing behind.
    let fake = upload(
        &app,
        bureau,
        &case,
        "合同.pdf",
        "EVIDENCE",
        "这不是PDF文件".as_bytes(),
    )
    .await;
    assert_eq!(code(&fake), Some("BAD_USER_INPUT"), "{fake}");
    assert!(listed(&app, bureau, &case).await.is_empty());
    // A declared hash the bytes do not match.
    let png = b64(PNG_B64);
    let ticket = ok(
        &app,
        bureau,
        "startUpload",
        json!({"caseId": case, "fileName": "a.png", "size": png.len(), "sha256": sha256(b"other")}),
        "uploadId url",
    )
    .await;
    patch(&app, bureau, ticket["url"].as_str().unwrap(), 0, &png).await;
    let mismatch = mutate(
        &app,
        bureau,
        "attachUpload",
        json!({"uploadId": ticket["uploadId"], "kind": "PHOTO"}),
        "attachment { id }",
    )
    .await;
    assert_eq!(code(&mismatch), Some("BAD_USER_INPUT"));
    // More bytes than declared are refused before they are stored.
    let ticket = start(&app, bureau, &case, "a.png", &png).await;
    let mut longer = png.clone();
    longer.push(0);
    let (status, _) = patch(&app, bureau, ticket["url"].as_str().unwrap(), 0, &longer).await;
    assert_eq!(status, 400);
    assert_eq!(head(&app, bureau, ticket["url"].as_str().unwrap()).await, 0);
    // Not a simple request: plain text is refused.
    let res = app
        .client
        .patch(format!("{}{}", app.url, ticket["url"].as_str().unwrap()))
        .bearer_auth(bureau)
        .header("content-type", "text/plain")
        .header("upload-offset", "0")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    // A real PNG is accepted, labelled by its content whatever its name.
    let fine = upload(&app, bureau, &case, "scan.pdf", "LETTER", &png).await;
    assert_eq!(
        fine["data"]["attachUpload"]["attachment"]["contentType"], "image/png",
        "{fine}"
    );
    // The case's cap counts what is attached: 1500 bytes in all.
    let big = vec![0u8; 1000];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend_from_slice(&big[..900]);
    let first = upload(&app, bureau, &case, "a.pdf", "EVIDENCE", &pdf).await;
    assert!(first["errors"].is_null(), "{first}");
    let over = mutate(
        &app,
        bureau,
        "startUpload",
        json!({"caseId": case, "fileName": "b.pdf", "size": 600}),
        "uploadId",
    )
    .await;
    assert_eq!(code(&over), Some("BAD_USER_INPUT"), "{over}");
    // Uploads still open count as well: two of 600 fit a fresh case, a third does not.
    let other = bureau_case(&app, &county).await;
    for _ in 0..2 {
        ok(
            &app,
            bureau,
            "startUpload",
            json!({"caseId": other, "fileName": "c.pdf", "size": 600}),
            "uploadId",
        )
        .await;
    }
    let third = mutate(
        &app,
        bureau,
        "startUpload",
        json!({"caseId": other, "fileName": "c.pdf", "size": 600}),
        "uploadId",
    )
    .await;
    assert_eq!(field(&third), Some("size"), "{third}");
    // No token: nothing.
    let path = fine["data"]["attachUpload"]["attachment"]["downloadPath"]
        .as_str()
        .unwrap();
    assert_eq!(download(&app, None, path).await.0, 401);
}

#[tokio::test]
async fn attachments_follow_the_case_and_an_accusations_material_stays_with_lead_and_bureau() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let (citizen, submitted) = fixtures::accusation_against_t1(
        &app,
        &county,
        "case { id number viewerCan { attachFile } }",
    )
    .await;
    assert_eq!(submitted["case"]["viewerCan"]["attachFile"], true);
    let case = submitted["case"]["id"].as_str().unwrap().to_string();
    let bureau = county.token("bureau_staff");
    ok(
        &app,
        bureau,
        "addAssistingUnit",
        json!({"caseId": case, "unitId": gid("OrgUnit", county.dept_a)}),
        "case { id }",
    )
    .await;
    let evidence = upload(
        &app,
        &citizen,
        &case,
        "收费收据.png",
        "EVIDENCE",
        &b64(PNG_B64),
    )
    .await;
    let a = evidence["data"]["attachUpload"]["attachment"].clone();
    assert!(a.is_object(), "{evidence}");
    let id = a["id"].as_str().unwrap();
    let path = a["downloadPath"].as_str().unwrap();

    // Who sees it, by every path: list, node, download; and whoever sees it here may also
    // withdraw it (`viewerCan.withdraw`): who uploaded it and the unit in charge. (viewer, sees)
    let matrix: &[(&str, bool)] = &[
        ("citizen", true),      // who uploaded it
        ("bureau_staff", true), // the bureau leads it
        ("a_staff", false),     // assisting: sees the case, not an accusation's material
        ("t1_staff", false),    // the accused township: not even the case
        ("t2_staff", false),
        ("county_staff", false),
    ];
    for (who, sees) in matrix {
        let token = if *who == "citizen" {
            citizen.as_str()
        } else {
            county.token(who)
        };
        let body = app
            .gql(
                Some(token),
                "query($id: ID!) { node(id: $id) { ... on Attachment { sha256 viewerCan { withdraw } } } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(
            body["data"]["node"]["sha256"].is_string(),
            *sees,
            "{who} by node: {body}"
        );
        assert_eq!(
            body["data"]["node"]["viewerCan"]["withdraw"].as_bool() == Some(true),
            *sees,
            "{who} may withdraw: {body}"
        );
        if !sees {
            assert_eq!(code(&body), Some("NOT_FOUND"), "{who}");
        }
        let (status, _) = download(&app, Some(token), path).await;
        assert_eq!(status == 200, *sees, "{who} download: {status}");
        let list = app
            .gql(Some(token), "query($id: ID!) { case(id: $id) { attachments { id } timeline { nodes { action } } } }", json!({"id": case}))
            .await;
        let n = list["data"]["case"]["attachments"]
            .as_array()
            .map(|l| l.len())
            .unwrap_or(0);
        assert_eq!(n == 1, *sees, "{who} in the list: {list}");
        // And in a list of cases, where files are read for many cases at once.
        let page = app
            .gql(
                Some(token),
                "{ cases(first: 50) { nodes { id attachments { id } } } }",
                json!({}),
            )
            .await;
        let in_page = page["data"]["cases"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{who}: {page}"))
            .iter()
            .find(|node| node["id"] == case.as_str())
            .map(|node| node["attachments"].as_array().unwrap().len());
        assert_eq!(
            in_page == Some(1),
            *sees,
            "{who} in a list of cases: {page}"
        );
        if list["data"]["case"].is_object() && !sees {
            let actions = list["data"]["case"]["timeline"]["nodes"].to_string();
            assert!(
                !actions.contains("ATTACHMENT_ADDED"),
                "{who} learns of it from the timeline: {actions}"
            );
        }
    }
    // The export counts the files each viewer sees: the bureau one, the assisting unit none.
    let number = submitted["case"]["number"].as_str().unwrap();
    assert_eq!(export_tail(&app, bureau, number).await.1, "1");
    assert_eq!(
        export_tail(&app, county.token("a_staff"), number).await.1,
        "0"
    );
    // The accused township cannot attach to it either.
    let refused = mutate(
        &app,
        county.token("t1_staff"),
        "startUpload",
        json!({"caseId": case, "fileName": "x.png", "size": 10}),
        "uploadId",
    )
    .await;
    assert_eq!(code(&refused), Some("NOT_FOUND"));

    // Withdrawn, never deleted: listed with its reason; the bytes kept for the bureau only.
    let w = mutate(
        &app,
        county.token("a_staff"),
        "withdrawAttachment",
        json!({"attachmentId": id, "reason": "x"}),
        "attachment { id }",
    )
    .await;
    assert_eq!(code(&w), Some("NOT_FOUND"));
    let blank = mutate(
        &app,
        bureau,
        "withdrawAttachment",
        json!({"attachmentId": id, "reason": ""}),
        "attachment { id }",
    )
    .await;
    assert_eq!(code(&blank), Some("BAD_USER_INPUT"));
    let done = ok(
        &app,
        bureau,
        "withdrawAttachment",
        json!({"attachmentId": id, "reason": "与本案无关"}),
        "attachment { withdrawnAt withdrawReason }",
    )
    .await;
    assert_eq!(done["attachment"]["withdrawReason"], "与本案无关");
    let after = app
        .gql(
            Some(&citizen),
            "query($id: ID!) { node(id: $id) { ... on Attachment { viewerCan { withdraw } } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        after["data"]["node"]["viewerCan"]["withdraw"], false,
        "withdrawn once: {after}"
    );
    let twice = mutate(
        &app,
        bureau,
        "withdrawAttachment",
        json!({"attachmentId": id, "reason": "再次"}),
        "attachment { id }",
    )
    .await;
    assert_eq!(code(&twice), Some("CONFLICT"));
    let mine = listed(&app, &citizen, &case).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["withdrawReason"], "与本案无关");
    assert_eq!(download(&app, Some(&citizen), path).await.0, 404);
    assert_eq!(download(&app, Some(bureau), path).await.0, 200);
    let actions = fixtures::timeline_actions(&app, bureau, &case).await;
    assert!(actions.contains(&"ATTACHMENT_WITHDRAWN".to_string()));

    // On an ordinary case every unit that sees it sees its files.
    let plain = bureau_case(&app, &county).await;
    ok(
        &app,
        bureau,
        "addAssistingUnit",
        json!({"caseId": plain, "unitId": gid("OrgUnit", county.dept_a)}),
        "case { id }",
    )
    .await;
    let letter = upload(&app, bureau, &plain, "来信.png", "LETTER", &b64(PNG_B64)).await;
    let path = letter["data"]["attachUpload"]["attachment"]["downloadPath"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        download(&app, Some(county.token("a_staff")), &path).await.0,
        200
    );
    assert_eq!(
        download(&app, Some(county.token("t2_staff")), &path)
            .await
            .0,
        404
    );
    // Seeing a file is not withdrawing it: the assisting unit reads the bureau's file but
    // neither attached it nor is in charge; the bureau, which is, may.
    let letter_id = &letter["data"]["attachUpload"]["attachment"]["id"];
    for (who, may) in [("a_staff", false), ("bureau_staff", true)] {
        let body = app
            .gql(
                Some(county.token(who)),
                "query($id: ID!) { node(id: $id) { ... on Attachment { viewerCan { withdraw } } } }",
                json!({"id": letter_id}),
            )
            .await;
        assert!(body["errors"].is_null(), "{who}: {body}");
        assert_eq!(
            body["data"]["node"]["viewerCan"]["withdraw"], may,
            "{who}: {body}"
        );
    }
}

#[tokio::test]
async fn the_s3_store_keeps_parts_and_files_on_a_real_s3_server() {
    let (endpoint, root) = s3_server("xinfang-test", "xinfang-test-secret").await;
    let app = spawn_app_with(&[
        "--s3-bucket",
        "xinfang",
        "--s3-endpoint",
        &endpoint,
        "--s3-access-key-id",
        "xinfang-test",
        "--s3-secret-access-key",
        "xinfang-test-secret",
    ])
    .await;
    let county = fixtures::county(&app).await;
    let case = bureau_case(&app, &county).await;
    let bureau = county.token("bureau_staff");
    let photo = photo_with_location();
    let ticket = start(&app, bureau, &case, "照片.jpg", &photo).await;
    let url = ticket["url"].as_str().unwrap();
    // In two parts, each stored as an object; the second resumes from the first's end.
    let third = photo.len() / 3;
    assert_eq!(
        patch(&app, bureau, url, 0, &photo[..third]).await,
        (204, Some(third as i64))
    );
    assert_eq!(head(&app, bureau, url).await, third as i64);
    assert_eq!(
        patch(&app, bureau, url, third, &photo[third..]).await.0,
        204
    );
    let parts_before = count_files(&root.path().join("xinfang").join("uploads"));
    assert_eq!(
        parts_before, 2,
        "each part is an object until the file is attached"
    );
    let attached = ok(
        &app,
        bureau,
        "attachUpload",
        json!({"uploadId": ticket["uploadId"], "kind": "PHOTO"}),
        "attachment { sha256 receivedSha256 downloadPath }",
    )
    .await;
    let a = &attached["attachment"];
    assert_eq!(a["receivedSha256"], sha256(&photo));
    let (status, stored) = download(&app, Some(bureau), a["downloadPath"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(gps_of(&stored), None);
    // The object is in the S3 server's bucket under its hash, not on the server's disk.
    let mut found = Vec::new();
    let mut stack = vec![root.path().join("xinfang")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).map(|b| sha256(&b)).ok().as_deref() == a["sha256"].as_str()
            {
                found.push(p);
            }
        }
    }
    assert!(
        !found.is_empty(),
        "the stored file is an object in the bucket"
    );
    // The upload's parts are gone once the whole file is stored.
    let left = count_files(&root.path().join("xinfang").join("uploads"));
    assert_eq!(left, 0, "no parts left");
    assert!(
        found[0]
            .display()
            .to_string()
            .contains(a["sha256"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_frontend_of_an_allowed_origin_may_resume_uploads_and_no_other() {
    let app = spawn_app_with(&["--cors-origins", "https://desk.qinghe.gov.cn"]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/uploads/abc", app.url))
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization,content-type,upload-offset",
            )
            .send()
    };
    let allowed = preflight("https://desk.qinghe.gov.cn").await.unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        methods.contains("PATCH") && methods.contains("HEAD"),
        "{methods}"
    );
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

fn count_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                n += 1;
            }
        }
    }
    n
}

/// A 4×4 lossless WebP whose EXIF records a location (GPSLatitudeRef "N").
const WEBP_WITH_GPS_B64: &str = "UklGRmQAAABXRUJQVlA4WAoAAAAIAAAAAwAAAwAAVlA4TBEAAAAvA8AAAAdQ5CrUo/+BiOh/AABFWElGLAAAAE1NACoAAAAIAAGIJQAEAAAAAQAAABoAAAAAAAEAAQACAAAAAk4AAAAAAAAA";
/// A minimal DOCX: a zip of `[Content_Types].xml`, `_rels/.rels` and two parts under `word/`,
/// in the order Word writes them.
const DOCX_B64: &str = "UEsDBBQAAAAAAFMagl3GEnoH8QAAAPEAAAATAAAAW0NvbnRlbnRfVHlwZXNdLnhtbDw/eG1sIHZlcnNpb249IjEuMCI/PjxUeXBlcyB4bWxucz0iaHR0cDovL3NjaGVtYXMub3BlbnhtbGZvcm1hdHMub3JnL3BhY2thZ2UvMjAwNi9jb250ZW50LXR5cGVzIj48T3ZlcnJpZGUgUGFydE5hbWU9Ii93b3JkL2RvY3VtZW50LnhtbCIgQ29udGVudFR5cGU9ImFwcGxpY2F0aW9uL3ZuZC5vcGVueG1sZm9ybWF0cy1vZmZpY2Vkb2N1bWVudC53b3JkcHJvY2Vzc2luZ21sLmRvY3VtZW50Lm1haW4reG1sIi8+PC9UeXBlcz5QSwMEFAAAAAAAUxqCXV8zlVIHAQAABwEAAAsAAABfcmVscy8ucmVsczw/eG1sIHZlcnNpb249IjEuMCI/PjxSZWxhdGlvbnNoaXBzIHhtbG5zPSJodHRwOi8vc2NoZW1hcy5vcGVueG1sZm9ybWF0cy5vcmcvcGFja2FnZS8yMDA2L3JlbGF0aW9uc2hpcHMiPjxSZWxhdGlvbnNoaXAgSWQ9InJJZDEiIFR5cGU9Imh0dHA6Ly9zY2hlbWFzLm9wZW54bWxmb3JtYXRzLm9yZy9vZmZpY2VEb2N1bWVudC8yMDA2L3JlbGF0aW9uc2hpcHMvb2ZmaWNlRG9jdW1lbnQiIFRhcmdldD0id29yZC9kb2N1bWVudC54bWwiLz48L1JlbGF0aW9uc2hpcHM+UEsDBBQAAAAAAFMagl0oUfnZagAAAGoAAAAcAAAAd29yZC9fcmVscy9kb2N1bWVudC54bWwucmVsczw/eG1sIHZlcnNpb249IjEuMCI/PjxSZWxhdGlvbnNoaXBzIHhtbG5zPSJodHRwOi8vc2NoZW1hcy5vcGVueG1sZm9ybWF0cy5vcmcvcGFja2FnZS8yMDA2L3JlbGF0aW9uc2hpcHMiLz5QSwMEFAAAAAAAUxqCXThHF8mYAAAAmAAAABEAAAB3b3JkL2RvY3VtZW50LnhtbDx3OmRvY3VtZW50IHhtbG5zOnc9Imh0dHA6Ly9zY2hlbWFzLm9wZW54bWxmb3JtYXRzLm9yZy93b3JkcHJvY2Vzc2luZ21sLzIwMDYvbWFpbiI+PHc6Ym9keT48dzpwPjx3OnI+PHc6dD7mnaXkv6E8L3c6dD48L3c6cj48L3c6cD48L3c6Ym9keT48L3c6ZG9jdW1lbnQ+UEsBAhQDFAAAAAAAUxqCXcYSegfxAAAA8QAAABMAAAAAAAAAAAAAAIABAAAAAFtDb250ZW50X1R5cGVzXS54bWxQSwECFAMUAAAAAABTGoJdXzOVUgcBAAAHAQAACwAAAAAAAAAAAAAAgAEiAQAAX3JlbHMvLnJlbHNQSwECFAMUAAAAAABTGoJdKFH52WoAAABqAAAAHAAAAAAAAAAAAAAAgAFSAgAAd29yZC9fcmVscy9kb2N1bWVudC54bWwucmVsc1BLAQIUAxQAAAAAAFMagl04RxfJmAAAAJgAAAARAAAAAAAAAAAAAACAAfYCAAB3b3JkL2RvY3VtZW50LnhtbFBLBQYAAAAABAAEAAMBAAC9AwAAAAA=";

#[tokio::test]
async fn webp_loses_its_location_docx_is_taken_and_heic_is_refused_with_a_reason() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let case = bureau_case(&app, &county).await;
    let bureau = county.token("bureau_staff");
    let webp = b64(WEBP_WITH_GPS_B64);
    assert_eq!(
        gps_of(&webp).as_deref(),
        Some("N"),
        "the test WebP carries a location"
    );
    let sent = upload(&app, bureau, &case, "现场.webp", "PHOTO", &webp).await;
    let a = &sent["data"]["attachUpload"]["attachment"];
    assert_eq!(a["contentType"], "image/webp", "{sent}");
    let (_, stored) = download(&app, Some(bureau), a["downloadPath"].as_str().unwrap()).await;
    assert_eq!(&stored[8..12], b"WEBP");
    assert_eq!(gps_of(&stored), None, "no location kept");
    assert!(
        !stored.windows(4).any(|w| w == b"EXIF"),
        "no EXIF chunk kept"
    );

    let docx = upload(&app, bureau, &case, "情况说明", "EVIDENCE", &b64(DOCX_B64)).await;
    assert_eq!(
        docx["data"]["attachUpload"]["attachment"]["contentType"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "{docx}"
    );

    let mut heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic".to_vec();
    heic.extend_from_slice(&[0u8; 64]);
    let refused = upload(&app, bureau, &case, "IMG_0001.HEIC", "PHOTO", &heic).await;
    assert_eq!(code(&refused), Some("BAD_USER_INPUT"));
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("JPEG"), "{message}");
    assert_eq!(
        listed(&app, bureau, &case).await.len(),
        2,
        "the HEIC left nothing"
    );
}

#[tokio::test]
async fn an_upload_left_unattached_expires_and_its_parts_are_removed() {
    let app = spawn_app().await;
    let mut county = fixtures::county(&app).await;
    let case = bureau_case(&app, &county).await;
    let bureau = county.token("bureau_staff").to_string();
    let png = b64(PNG_B64);
    let ticket = start(&app, &bureau, &case, "a.png", &png).await;
    let url = ticket["url"].as_str().unwrap().to_string();
    let half = png.len() / 2;
    assert_eq!(patch(&app, &bureau, &url, 0, &png[..half]).await.0, 204);
    let uploads = app.files_dir().unwrap().join("uploads");
    assert_eq!(count_files(&uploads), 1, "the part is stored");
    // A day and more later the upload has expired: nothing more is taken, the scanner
    // removes it and its part.
    app.advance_days(2);
    county.renew(&app).await;
    let bureau = county.token("bureau_staff");
    let mut gone = false;
    for _ in 0..50 {
        let res = app
            .client
            .head(format!("{}{url}", app.url))
            .bearer_auth(bureau)
            .send()
            .await
            .unwrap();
        if res.status().as_u16() == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the expired upload is removed");
    assert_eq!(count_files(&uploads), 0, "its part is gone from the store");
    let late = mutate(
        &app,
        bureau,
        "attachUpload",
        json!({"uploadId": ticket["uploadId"], "kind": "PHOTO"}),
        "attachment { id }",
    )
    .await;
    assert_eq!(code(&late), Some("NOT_FOUND"));
}
