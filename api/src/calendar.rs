//! Days, working days and deadline arithmetic (domain §3), in China Standard Time (UTC+8,
//! no daylight saving). Pure functions over a [`WorkCalendar`]; loading the calendar's
//! exceptions from the database is the caller's business.
//!
//! - "N days" are calendar days counted from the day after the start; a deadline that falls
//!   on a non-working day rolls forward to the next working day.
//! - "N working days" count only working days, from the day after the start.
//! - A deadline is the end (23:59:59.999 local) of its day, stored as a UTC instant.

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday,
};
use std::collections::HashMap;

/// Within this many days of a deadline, a case is in *warning*.
pub const WARNING_DAYS: i64 = 3;

pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a fixed offset of 8 hours is valid")
}

/// The local (China) date of an instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&china()).date_naive()
}

/// The first instant of a local date (its midnight), as a UTC instant.
pub fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN)
        .and_local_timezone(china())
        .single()
        .expect("a fixed offset is unambiguous")
        .to_utc()
}

/// The last millisecond of a local date, as a UTC instant.
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let last = NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("a valid time");
    day.and_time(last)
        .and_local_timezone(china())
        .single()
        .expect("a fixed offset is unambiguous")
        .to_utc()
}

/// Weekends off, plus per-date exceptions: holidays (`false`) and make-up working days (`true`).
#[derive(Clone, Debug, Default)]
pub struct WorkCalendar {
    exceptions: HashMap<NaiveDate, bool>,
}

impl WorkCalendar {
    pub fn new(exceptions: impl IntoIterator<Item = (NaiveDate, bool)>) -> Self {
        WorkCalendar {
            exceptions: exceptions.into_iter().collect(),
        }
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        self.exceptions
            .get(&day)
            .copied()
            .unwrap_or(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
    }

    fn next_working_day_from(&self, mut day: NaiveDate) -> NaiveDate {
        // A calendar never has a year without working days; the bound only guards bad data.
        for _ in 0..366 {
            if self.is_working_day(day) {
                return day;
            }
            day = day + Days::new(1);
        }
        day
    }

    /// The deadline `days` calendar days after `start`, rolled to a working day.
    pub fn due_after_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let day = local_date(start) + Days::new(u64::from(days));
        end_of_day(self.next_working_day_from(day))
    }

    /// The deadline `days` working days after `start`.
    pub fn due_after_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let mut day = local_date(start);
        let mut left = days;
        while left > 0 {
            day = day + Days::new(1);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        end_of_day(day)
    }
}

impl WorkCalendar {
    /// The working days after the local day of `from` up to and including the local day of
    /// `to` (0 when `to` is on or before `from`'s day): the days a paused clock was held.
    pub fn working_days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
        let (mut day, last) = (local_date(from), local_date(to));
        let mut count = 0;
        while day < last {
            day = day + Days::new(1);
            if self.is_working_day(day) {
                count += 1;
            }
        }
        count
    }
}

/// Where a pending deadline stands at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineState {
    OnTime,
    Warning,
    Overdue,
}

pub fn deadline_state(due: DateTime<Utc>, now: DateTime<Utc>) -> DeadlineState {
    if now > due {
        DeadlineState::Overdue
    } else if due - now <= TimeDelta::days(WARNING_DAYS) {
        DeadlineState::Warning
    } else {
        DeadlineState::OnTime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Noon local time on a date.
    fn noon(s: &str) -> DateTime<Utc> {
        d(s).and_hms_opt(12, 0, 0)
            .unwrap()
            .and_local_timezone(china())
            .unwrap()
            .to_utc()
    }

    fn due_day(at: DateTime<Utc>) -> String {
        local_date(at).to_string()
    }

    #[test]
    fn fifteen_days_from_a_monday_lands_on_a_tuesday() {
        // 2026-11-02 is a Monday; day 1 is the 3rd, day 15 the 17th (a Tuesday).
        let cal = WorkCalendar::default();
        assert_eq!(
            due_day(cal.due_after_days(noon("2026-11-02"), 15)),
            "2026-11-17"
        );
    }

    #[test]
    fn a_pause_counts_the_working_days_after_its_first_day() {
        // Notice Tue 2026-09-29, conclusion Fri 2026-10-09 with the National Day week off
        // (10-01..10-07) and Sat 10-10 worked: 09-30, 10-08 and 10-09 → 3 working days.
        let mut days: Vec<(NaiveDate, bool)> = (1..=7)
            .map(|n| (d(&format!("2026-10-0{n}")), false))
            .collect();
        days.push((d("2026-10-10"), true));
        let cal = WorkCalendar::new(days);
        assert_eq!(
            cal.working_days_between(noon("2026-09-29"), noon("2026-10-09")),
            3
        );
        assert_eq!(
            cal.working_days_between(noon("2026-10-09"), noon("2026-09-29")),
            0
        );
        assert_eq!(
            cal.working_days_between(noon("2026-09-29"), noon("2026-09-29")),
            0
        );
    }

    #[test]
    fn a_deadline_on_a_saturday_rolls_to_monday() {
        // 2026-11-06 (Fri) + 15 = 2026-11-21 (Sat) → Monday 2026-11-23.
        let cal = WorkCalendar::default();
        assert_eq!(
            due_day(cal.due_after_days(noon("2026-11-06"), 15)),
            "2026-11-23"
        );
    }

    #[test]
    fn month_ends_and_leap_days() {
        let cal = WorkCalendar::default();
        // 2028 is a leap year: 2028-02-14 + 15 = 2028-02-29 (a Tuesday).
        assert_eq!(
            due_day(cal.due_after_days(noon("2028-02-14"), 15)),
            "2028-02-29"
        );
        // 2027 is not: 2027-02-14 + 15 = 2027-03-01 (a Monday).
        assert_eq!(
            due_day(cal.due_after_days(noon("2027-02-14"), 15)),
            "2027-03-01"
        );
        // 2026-01-31 + 30 = 2026-03-02 (a Monday).
        assert_eq!(
            due_day(cal.due_after_days(noon("2026-01-31"), 30)),
            "2026-03-02"
        );
    }

    #[test]
    fn the_local_day_counts_not_the_utc_day() {
        // 2026-11-02 23:30 local is still 15:30 UTC on the 2nd; 00:30 local on the 3rd is
        // 16:30 UTC on the 2nd but counts from the 3rd.
        let cal = WorkCalendar::default();
        let late = d("2026-11-03")
            .and_hms_opt(0, 30, 0)
            .unwrap()
            .and_local_timezone(china())
            .unwrap()
            .to_utc();
        assert_eq!(due_day(cal.due_after_days(late, 15)), "2026-11-18");
        // The deadline is the end of the local day.
        let due = cal.due_after_days(noon("2026-11-02"), 15);
        assert_eq!(due.to_rfc3339(), "2026-11-17T15:59:59.999+00:00");
    }

    #[test]
    fn a_holiday_week_pushes_the_deadline_past_it() {
        // National Day week 2026: Oct 1–7 off, with make-up working days on Sep 27 (Sun) and
        // Oct 10 (Sat).
        let mut days: Vec<(NaiveDate, bool)> = (1..=7)
            .map(|i| (d(&format!("2026-10-0{i}")), false))
            .collect();
        days.push((d("2026-09-27"), true));
        days.push((d("2026-10-10"), true));
        let cal = WorkCalendar::new(days);
        // 2026-09-16 + 15 = 2026-10-01, a holiday: rolls to Oct 8 (Thursday).
        assert_eq!(
            due_day(cal.due_after_days(noon("2026-09-16"), 15)),
            "2026-10-08"
        );
        // 5 working days from Wednesday 2026-09-30: Oct 8, 9, 10 (make-up Saturday), 12, 13.
        assert_eq!(
            due_day(cal.due_after_working_days(noon("2026-09-30"), 5)),
            "2026-10-13"
        );
        // A make-up Saturday is a working day, so a deadline on it stays there.
        // 2026-09-25 + 15 = 2026-10-10.
        assert_eq!(
            due_day(cal.due_after_days(noon("2026-09-25"), 15)),
            "2026-10-10"
        );
    }

    #[test]
    fn five_working_days_skip_the_weekend() {
        // From Thursday 2026-11-19: Fri 20, Mon 23, Tue 24, Wed 25, Thu 26.
        let cal = WorkCalendar::default();
        assert_eq!(
            due_day(cal.due_after_working_days(noon("2026-11-19"), 5)),
            "2026-11-26"
        );
    }

    #[test]
    fn warning_is_within_three_days_and_overdue_is_past() {
        let due = noon("2026-11-20");
        assert_eq!(
            deadline_state(due, noon("2026-11-10")),
            DeadlineState::OnTime
        );
        assert_eq!(
            deadline_state(due, noon("2026-11-17")),
            DeadlineState::Warning
        );
        assert_eq!(
            deadline_state(due, noon("2026-11-20")),
            DeadlineState::Warning
        );
        assert_eq!(
            deadline_state(due, noon("2026-11-21")),
            DeadlineState::Overdue
        );
    }
}
