//! CSV export of the cases a viewer may see: the same filters, scope and masking as the
//! `cases` query, streamed page by page so a large export never sits in memory.
//!
//! The file is UTF-8 with a byte-order mark, which Excel needs to read Chinese correctly.
//! Cells that a spreadsheet would take for a formula (`=`, `+`, `-`, `@` first) are prefixed
//! with `'`, so an exported petition cannot run anything on the reader's machine.

use crate::access::Viewer;
use crate::calendar::{DeadlineState, china, deadline_state};
use crate::cases::{self, CaseFilter, CaseOrder, SortField};
use crate::error::Result;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use std::sync::Arc;
use xinfang_entity::{attachment, case, case_petitioner, document, org_unit};

const PAGE: u64 = 500;
const HEADER: &[&str] = &[
    "案件编号",
    "收到时间",
    "信访形式",
    "类别",
    "事项分类",
    "标题",
    "状态",
    "主办单位",
    "属地",
    "首接单位",
    "人次",
    "集体访",
    "重复信访",
    "信访人",
    "身份证号",
    "联系电话",
    "受理期限",
    "办理期限",
    "当前期限",
    "超期",
    "文书",
    "材料",
];

fn cell(out: &mut String, value: &str) {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&guarded.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&guarded);
    }
}

fn line(out: &mut String, cells: &[String]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out, c);
    }
    out.push_str("\r\n");
}

fn local(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| {
        t.with_timezone(&china())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

fn petitioner_cells(
    viewer: &Viewer,
    case: &case::Model,
    people: &[&case_petitioner::Model],
) -> (String, String, String) {
    let sight = viewer.sight(case);
    let mut names = vec![];
    let mut ids = vec![];
    let mut phones = vec![];
    for p in people {
        let shown = sight.petitioner(p);
        names.push(shown.name);
        ids.push(shown.id_number.unwrap_or_default());
        phones.push(shown.phone.unwrap_or_default());
    }
    (names.join("；"), ids.join("；"), phones.join("；"))
}

struct Cursor {
    state: Arc<AppState>,
    /// The replica when it may serve the export (chosen once, at the start), else the primary.
    db: crate::state::Db,
    on_replica: bool,
    viewer: Viewer,
    filter: CaseFilter,
    after: Option<String>,
    started: bool,
    done: bool,
    units: Option<HashMap<i64, String>>,
}

async fn next_chunk(cur: &mut Cursor) -> Result<Option<String>> {
    let mut out = String::new();
    if !cur.started {
        (cur.db, cur.on_replica) = cur.state.read_db().await?;
        cur.started = true;
        out.push('\u{feff}');
        line(
            &mut out,
            &HEADER.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        return Ok(Some(out));
    }
    if cur.done {
        return Ok(None);
    }
    let now = cur.state.clock.now();
    let order = CaseOrder {
        field: SortField::ReceivedAt,
        descending: true,
    };
    let cases::Page { rows, more, .. } = cases::list_visible(
        &cur.db,
        &cur.viewer,
        &cur.filter,
        cases::PageAsk {
            order,
            first: PAGE,
            after: cur.after.as_deref(),
        },
        now,
        None,
    )
    .await?;
    cur.done = !more;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    cur.after = Some(cases::cursor_of(last, order));
    if cur.units.is_none() {
        let all = org_unit::Entity::find().all(&cur.db).await?;
        cur.units = Some(all.into_iter().map(|u| (u.id, u.name)).collect());
    }
    let units = cur
        .units
        .as_ref()
        .map(|u| u as &HashMap<i64, String>)
        .unwrap_or_else(|| unreachable!("filled above"));
    let name = |id: Option<i64>| id.and_then(|i| units.get(&i).cloned()).unwrap_or_default();
    let people = cases::petitioners_of(&cur.db, rows.iter().map(|c| c.id).collect()).await?;
    // The page's documents (their numbers) and files (those this viewer sees, standing).
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let mut numbers: HashMap<i64, Vec<String>> = HashMap::new();
    for d in document::Entity::find()
        .filter(document::Column::CaseId.is_in(ids.clone()))
        .order_by_asc(document::Column::Id)
        .all(&cur.db)
        .await?
    {
        numbers.entry(d.case_id).or_default().push(d.number);
    }
    let files = attachment::Entity::find()
        .filter(attachment::Column::CaseId.is_in(ids))
        .filter(attachment::Column::WithdrawnAt.is_null())
        .all(&cur.db)
        .await?;
    // A repeat reads as one only where the case it repeats is visible too.
    let seen_earlier = cases::visible_among(
        &cur.db,
        &cur.viewer,
        rows.iter().filter_map(|c| c.repeat_of_id).collect(),
    )
    .await?;
    for c in &rows {
        let mine: Vec<&case_petitioner::Model> =
            people.iter().filter(|p| p.case_id == c.id).collect();
        let (names, ids, phones) = petitioner_cells(&cur.viewer, c, &mine);
        let overdue = c
            .due_at
            .is_some_and(|d| deadline_state(d, now) == DeadlineState::Overdue);
        line(
            &mut out,
            &[
                c.number.clone(),
                local(Some(c.received_at)),
                c.channel.as_str().to_string(),
                c.category.as_str().to_string(),
                c.subject.clone(),
                c.title.clone(),
                c.status.as_str().to_string(),
                name(Some(c.lead_unit_id)),
                name(c.township_id),
                name(Some(c.registered_by_unit_id)),
                c.person_count.to_string(),
                if c.is_group {
                    "是".into()
                } else {
                    "否".into()
                },
                if c.repeat_of_id.is_some_and(|id| seen_earlier.contains(&id)) {
                    "是".into()
                } else {
                    "否".into()
                },
                names,
                ids,
                phones,
                local(c.accept_by),
                local(c.handle_by),
                local(c.due_at),
                if overdue { "是".into() } else { "否".into() },
                numbers.get(&c.id).map(|n| n.join("；")).unwrap_or_default(),
                files
                    .iter()
                    .filter(|a| a.case_id == c.id && cur.viewer.sees_file(c, a.uploaded_by_user_id))
                    .count()
                    .to_string(),
            ],
        );
    }
    Ok(Some(out))
}

/// The CSV, as a stream of chunks (header first, then a page of cases at a time).
pub fn csv(
    state: Arc<AppState>,
    viewer: Viewer,
    filter: CaseFilter,
) -> impl Stream<Item = Result<String>> {
    let cursor = Cursor {
        db: state.db.clone(),
        on_replica: false,
        state,
        viewer,
        filter,
        after: None,
        started: false,
        done: false,
        units: None,
    };
    futures_util::stream::unfold(cursor, |mut cur| async move {
        let before = (cur.after.clone(), cur.done);
        let mut chunk = next_chunk(&mut cur).await;
        if let (Err(e), true) = (&chunk, cur.on_replica) {
            // The page failed on the replica: the same page again, from the primary.
            if let Some(replica) = &cur.state.replica {
                replica.failed(e);
            }
            (cur.after, cur.done) = before;
            cur.db = cur.state.db.clone();
            cur.on_replica = false;
            chunk = next_chunk(&mut cur).await;
        } else if cur.on_replica && cur.done {
            // The whole export came from the replica.
            if let Some(replica) = &cur.state.replica {
                replica.served();
            }
            cur.on_replica = false;
        }
        match chunk {
            Ok(Some(chunk)) => Some((Ok(chunk), cur)),
            Ok(None) => None,
            Err(e) => {
                cur.done = true;
                Some((Err(e), cur))
            }
        }
    })
}
