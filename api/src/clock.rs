//! The one clock the server reads "now" from. Tests may move it forward (to reach deadlines)
//! when the server runs with the test clock enabled, which production refuses.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    movable: bool,
}

impl Clock {
    pub fn system() -> Self {
        Clock {
            offset_ms: AtomicI64::new(0),
            movable: false,
        }
    }

    pub fn movable() -> Self {
        Clock {
            offset_ms: AtomicI64::new(0),
            movable: true,
        }
    }

    pub fn is_movable(&self) -> bool {
        self.movable
    }

    /// Now, in UTC, truncated to whole milliseconds so that stored and compared instants
    /// agree on both databases.
    pub fn now(&self) -> DateTime<Utc> {
        let ms = Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::Relaxed);
        DateTime::from_timestamp_millis(ms).unwrap_or_default()
    }

    /// Sets the clock to an instant (time then runs on from there); refused on a system clock.
    pub fn set(&self, at: DateTime<Utc>) -> bool {
        if !self.movable {
            return false;
        }
        self.offset_ms.store(
            at.timestamp_millis() - Utc::now().timestamp_millis(),
            Ordering::Relaxed,
        );
        true
    }

    /// Moves the clock forward; refused (returns false) on a system clock.
    pub fn advance(&self, by: TimeDelta) -> bool {
        if !self.movable {
            return false;
        }
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
        true
    }
}
