//! A county's working-day calendar as its administrator keeps it: holidays and make-up
//! working days (调休), per date. The deadline arithmetic that reads it is `calendar`'s; who
//! may change or read it is `access`'s ([`Viewer::calendar_county`],
//! [`Viewer::reading_county`]). This module knows nothing of HTTP or GraphQL.

use crate::access::Viewer;
use crate::directory::Directory;
use crate::error::{Result, bad_input};
use chrono::NaiveDate;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use xinfang_entity::calendar_day;

/// At most this many dates in one change.
pub const DAYS_MAX: usize = 366;

/// One date's exception to the weekday rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub working: bool,
    pub note: String,
}

/// A date written `YYYY-MM-DD`, or `BAD_USER_INPUT` on `field`.
pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| bad_input(field, "dates are written YYYY-MM-DD"))
}

/// Sets the given dates of the administrator's county (each replaces what that date said),
/// all or nothing.
pub async fn set_days(
    db: &DatabaseConnection,
    directory: &Directory,
    clock: &crate::clock::Clock,
    viewer: &Viewer,
    days: Vec<CalendarDay>,
) -> Result<Vec<CalendarDay>> {
    let county_id = viewer.calendar_county()?;
    if days.is_empty() || days.len() > DAYS_MAX {
        return Err(bad_input("days", format!("give 1 to {DAYS_MAX} days")));
    }
    for (i, d) in days.iter().enumerate() {
        crate::validate::text(&format!("days[{i}].note"), &d.note, 0, 100)?;
    }
    let tx = crate::db::begin_write(db).await?;
    for d in &days {
        let row = calendar_day::ActiveModel {
            county_id: Set(county_id),
            day: Set(d.date.to_string()),
            working: Set(d.working),
            note: Set(d.note.clone()),
        };
        calendar_day::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([calendar_day::Column::CountyId, calendar_day::Column::Day])
                    .update_columns([calendar_day::Column::Working, calendar_day::Column::Note])
                    .to_owned(),
            )
            .exec(&tx)
            .await?;
    }
    let detail: Vec<serde_json::Value> = days
        .iter()
        .map(|d| serde_json::json!({"date": d.date.to_string(), "working": d.working, "note": d.note}))
        .collect();
    crate::audit::append_admin(
        &tx,
        clock.now(),
        crate::audit::Actor {
            user_id: Some(viewer.user_id),
            unit_id: viewer.unit.as_ref().map(|u| u.id),
        },
        crate::audit::AdminAction {
            action: "CALENDAR_SET",
            unit_id: Some(county_id),
            target: format!("Calendar:{county_id}"),
            detail: serde_json::Value::Array(detail),
        },
    )
    .await?;
    tx.commit().await?;
    directory.forget_all();
    Ok(days)
}

/// The exceptions of the viewer's county between two dates (inclusive), by date.
pub async fn days_between(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CalendarDay>> {
    let county_id = viewer.reading_county()?;
    let rows = calendar_day::Entity::find()
        .filter(calendar_day::Column::CountyId.eq(county_id))
        .filter(calendar_day::Column::Day.gte(from.to_string()))
        .filter(calendar_day::Column::Day.lte(to.to_string()))
        .order_by_asc(calendar_day::Column::Day)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            NaiveDate::parse_from_str(&r.day, "%Y-%m-%d")
                .ok()
                .map(|date| CalendarDay {
                    date,
                    working: r.working,
                    note: r.note,
                })
        })
        .collect())
}
