//! The city's calendar as the aggregator reads it. The view's current
//! period and the supervision report's schedule ask the clock for today,
//! never the system directly, so a test can start the city on any day and
//! let days pass with tokio's paused time.

use chrono::{NaiveDate, NaiveDateTime};
use tokio::time::Instant;

/// Where "today" comes from.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system's wall clock in the city's time zone (UTC+8).
    System,
    /// A city time that starts at `at` and moves with tokio's clock.
    Starting {
        /// The city's local time at `origin`.
        at: NaiveDateTime,
        /// The tokio instant the clock started.
        origin: Instant,
    },
}

impl Clock {
    /// A clock that starts at city time `at` now and runs with tokio's
    /// clock: paused in a test, it moves only as the test advances it.
    pub fn starting_at(at: NaiveDateTime) -> Self {
        Self::Starting {
            at,
            origin: Instant::now(),
        }
    }

    /// Today in the city.
    pub fn today(&self) -> NaiveDate {
        match self {
            Self::System => citydash_sector::domain::city_today(),
            Self::Starting { at, origin } => {
                let elapsed = chrono::Duration::from_std(origin.elapsed()).unwrap_or(chrono::Duration::MAX);
                at.checked_add_signed(elapsed).unwrap_or(NaiveDateTime::MAX).date()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_started_clock_moves_with_tokio_time() {
        let at = NaiveDate::from_ymd_opt(2026, 6, 30)
            .and_then(|d| d.and_hms_opt(23, 59, 0))
            .expect("a date");
        let clock = Clock::starting_at(at);
        assert_eq!(clock.today(), at.date());
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 7, 1).expect("a date"));
    }
}
