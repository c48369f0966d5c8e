//! Deadline notices: a background task notices cases (and supervision orders) entering
//! warning (due within 3 days) or overdue, and publishes one inbox event per case, deadline,
//! due instant and level.
//!
//! "Once" holds across ticks, restarts and processes because claiming a notice is inserting
//! its row into `deadline_notices`: only the transaction whose insert succeeds publishes, in
//! the same transaction (see `events`).

use crate::deadlines;
use crate::domain::{CaseStatus, DeadlineKind};
use crate::error::Result;
use crate::events::{Event, InboxKind};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::sync::Arc;
use xinfang_entity::{case, deadline_notice, supervision};

/// At most this many notices per kind and tick; the rest follow on the next tick.
const BATCH: u64 = 500;

fn deadline_of(status: &CaseStatus) -> Option<DeadlineKind> {
    DeadlineKind::of_status(*status)
}

/// No notice of this level was sent yet for this case, deadline and due instant (two
/// deadlines of one case may fall due at the same instant; each gets its own notice).
fn not_yet_sent(level: &'static str, deadline: Expr, case_col: Expr, due_col: Expr) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(deadline_notice::Entity)
            .and_where(
                Expr::col((deadline_notice::Entity, deadline_notice::Column::CaseId)).eq(case_col),
            )
            .and_where(
                Expr::col((deadline_notice::Entity, deadline_notice::Column::Deadline))
                    .eq(deadline),
            )
            .and_where(
                Expr::col((deadline_notice::Entity, deadline_notice::Column::DueAt)).eq(due_col),
            )
            .and_where(
                Expr::col((deadline_notice::Entity, deadline_notice::Column::Level)).eq(level),
            )
            .to_owned(),
    )
    .not()
}

/// One pass: claims and publishes every notice that is due now. Returns how many it sent.
pub async fn scan(state: &AppState) -> Result<usize> {
    let now = state.clock.now();
    let mut sent = 0;
    for (level, overdue) in [("OVERDUE", true), ("WARNING", false)] {
        let window =
            deadlines::window_sql(Expr::col((case::Entity, case::Column::DueAt)), now, overdue);
        let cases = case::Entity::find()
            .filter(window)
            .filter(case::Column::Status.is_in(deadlines::pending_statuses()))
            .filter(not_yet_sent(
                level,
                status_deadline(),
                Expr::col((case::Entity, case::Column::Id)),
                Expr::col((case::Entity, case::Column::DueAt)),
            ))
            .limit(BATCH)
            .all(&state.db)
            .await?;
        for c in cases {
            let (Some(deadline), Some(due)) = (deadline_of(&c.status), c.due_at) else {
                continue;
            };
            // A review decision is owed by the reviewing body, everything else by the lead unit.
            let owner = if deadline == DeadlineKind::ReviewDecision {
                c.reviewing_unit_id.unwrap_or(c.lead_unit_id)
            } else {
                c.lead_unit_id
            };
            if claim(state, c.id, owner, deadline.as_str(), due, level, now).await? {
                sent += 1;
            }
        }
        let window = deadlines::window_sql(
            Expr::col((supervision::Entity, supervision::Column::DueAt)),
            now,
            overdue,
        );
        let orders = supervision::Entity::find()
            .filter(window)
            .filter(supervision::Column::AnsweredAt.is_null())
            .filter(not_yet_sent(
                level,
                Expr::val(DeadlineKind::Supervision.as_str()),
                Expr::col((supervision::Entity, supervision::Column::CaseId)),
                Expr::col((supervision::Entity, supervision::Column::DueAt)),
            ))
            .limit(BATCH)
            .all(&state.db)
            .await?;
        for order in orders {
            let Some(c) = case::Entity::find_by_id(order.case_id)
                .one(&state.db)
                .await?
            else {
                continue;
            };
            if claim(
                state,
                c.id,
                c.lead_unit_id,
                DeadlineKind::Supervision.as_str(),
                order.due_at,
                level,
                now,
            )
            .await?
            {
                sent += 1;
            }
        }
        // Reports back owed to a higher body that assigned the case (上级交办).
        let due_col = || Expr::col((case::Entity, case::Column::HigherReportDueAt));
        let owed = case::Entity::find()
            .filter(deadlines::window_sql(due_col(), now, overdue))
            .filter(case::Column::HigherReportedAt.is_null())
            .filter(case::Column::SentUpAt.is_null())
            .filter(not_yet_sent(
                level,
                Expr::val(DeadlineKind::HigherReport.as_str()),
                Expr::col((case::Entity, case::Column::Id)),
                due_col(),
            ))
            .limit(BATCH)
            .all(&state.db)
            .await?;
        for c in owed {
            let Some(due) = c.higher_report_due_at else {
                continue;
            };
            if claim(
                state,
                c.id,
                c.lead_unit_id,
                DeadlineKind::HigherReport.as_str(),
                due,
                level,
                now,
            )
            .await?
            {
                sent += 1;
            }
        }
    }
    Ok(sent)
}

/// The deadline a case's state waits on, as stored in `deadline_notices` (SQL).
fn status_deadline() -> Expr {
    let mut when = Expr::case(
        Expr::col((case::Entity, case::Column::Status))
            .is_in(status_names(DeadlineKind::Acceptance)),
        DeadlineKind::Acceptance.as_str(),
    );
    for kind in [DeadlineKind::Handling, DeadlineKind::ReviewDecision] {
        when = when.case(
            Expr::col((case::Entity, case::Column::Status)).is_in(status_names(kind)),
            kind.as_str(),
        );
    }
    when.finally(Expr::val("")).into()
}

fn status_names(kind: DeadlineKind) -> Vec<&'static str> {
    kind.statuses().iter().map(|s| s.as_str()).collect()
}

/// Inserts the notice row; if this call inserted it, publishes the inbox event in the same
/// transaction and returns true.
async fn claim(
    state: &AppState,
    case_id: i64,
    unit_id: i64,
    deadline: &str,
    due: DateTime<Utc>,
    level: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let tx = crate::db::begin_write(&state.db).await?;
    let insert = Query::insert()
        .into_table(deadline_notice::Entity)
        .columns([
            deadline_notice::Column::CaseId,
            deadline_notice::Column::Deadline,
            deadline_notice::Column::DueAt,
            deadline_notice::Column::Level,
            deadline_notice::Column::SentAt,
        ])
        .values_panic([
            case_id.into(),
            deadline.into(),
            due.into(),
            level.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::columns([
                deadline_notice::Column::CaseId,
                deadline_notice::Column::Deadline,
                deadline_notice::Column::DueAt,
                deadline_notice::Column::Level,
            ])
            .do_nothing()
            .to_owned(),
        )
        .to_owned();
    if tx.execute(&insert).await?.rows_affected() != 1 {
        return Ok(false);
    }
    let overdue = level == "OVERDUE";
    let event = Event {
        case_id,
        entry_id: None,
        action: if overdue {
            "DEADLINE_OVERDUE".into()
        } else {
            "DEADLINE_WARNING".into()
        },
        public: false,
        at: now,
        inbox_unit: Some(unit_id),
        inbox_kind: Some(if overdue {
            InboxKind::DeadlineOverdue
        } else {
            InboxKind::DeadlineWarning
        }),
        referral_id: None,
        deadline: Some(deadline.to_string()),
        due_at: Some(due),
    };
    state.bus.stage(&tx, &event).await?;
    crate::outbox::enqueue(&tx, &event).await?;
    tx.commit().await?;
    state.bus.committed(event);
    Ok(true)
}

/// Runs [`scan`] every `every` until the process ends, and sweeps expired uploads.
pub fn spawn_scanner(state: Arc<AppState>, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match scan(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(notices = n, "deadline notices sent"),
                Err(e) => tracing::error!(error = e.message_for_operator(), "deadline scan failed"),
            }
            // Uploads left unattached past their time give their space back.
            match crate::attachments::sweep_expired(&state.db, &state.storage, state.clock.now())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(uploads = n, "expired uploads removed"),
                Err(e) => tracing::error!(error = e.message_for_operator(), "upload sweep failed"),
            }
        }
    });
}
