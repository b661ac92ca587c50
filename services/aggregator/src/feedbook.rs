//! Each feed's state, kept in one place: how it is linked (a state machine
//! whose methods are the transitions), where it resumes, what the view shows
//! of it and when it was last heard. The feed consumers drive the link
//! (`feeds`), the one writer moves what is shown (`view`), and every status
//! the screens see is read from here.
//!
//! ```text
//!                connected                 heartbeat, shown ≥ its sequence
//! Disconnected ─────────────▶ CatchingUp ───────────────────────────────▶ Current
//!      ▲                         │   ▲                                      │  ▲
//!      │ disconnected            │   │ heard                                │  │ heard
//!      └── (from any state)      ▼   │                       silent too long ▼  │
//!                                Silent { was_current: false }   Silent { was_current: true }
//! ```
//!
//! Time is passed in: the link's clock is tokio's (`Instant`), so silence is
//! tested with paused time, and the wall-clock `since` is only for display.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use citydash_proto::v1;
use tokio::time::Instant;

use crate::readstore::{FeedPosition, Rebuilt, timestamp};

/// How a feed is linked to its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Not connected, since `since` (at start-up, since the process started).
    Disconnected {
        /// When the view began to miss this feed.
        since: SystemTime,
    },
    /// Connected and sending its backlog. `until` is the sector's last
    /// sequence as of the first heartbeat since connecting, once one came:
    /// the feed is current when the view shows that far.
    CatchingUp {
        /// The sequence the view must show to be current.
        until: Option<i64>,
    },
    /// Connected, and the view holds everything its sector had committed
    /// when it last said so.
    Current,
    /// Connected but silent for too long (a slow or stuck sector).
    Silent {
        /// When it was marked silent.
        since: SystemTime,
        /// Whether it was current before: a word from it takes it back there.
        was_current: bool,
    },
}

/// One feed's state.
#[derive(Debug, Clone, PartialEq)]
struct Feed {
    link: Link,
    /// The last sequence the read store has committed: the feed resumes after it.
    stored: i64,
    /// The last sequence the model holds: what the view computes from.
    shown: i64,
    /// The time of the last change shown.
    last_change_time: Option<prost_types::Timestamp>,
    /// When the source last sent anything (a change or a heartbeat).
    heard: Option<Instant>,
    /// The read store's generation of this sector's records.
    generation: i64,
    /// The change at the stored position (without its record), which the
    /// feed shows its source when it resumes, if known.
    tip: Option<v1::Change>,
    /// A rebuild is handed to the writer and not taken yet.
    resetting: bool,
    /// The last rebuild from sequence 0, if any.
    rebuilt: Option<Rebuilt>,
}

/// Every feed of the aggregator, by sector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedBook {
    feeds: BTreeMap<i32, Feed>,
}

impl FeedBook {
    /// The feeds of `sectors`, each disconnected since `now`, at the
    /// positions the read store holds (`positions`: the last sequence and
    /// its time, by sector).
    pub fn new(
        sectors: &[v1::Sector],
        positions: &BTreeMap<i32, (i64, Option<prost_types::Timestamp>)>,
        now: SystemTime,
    ) -> Self {
        let feeds = sectors
            .iter()
            .map(|s| {
                let sector = *s as i32;
                let (position, time) = positions.get(&sector).copied().unwrap_or((0, None));
                let feed = Feed {
                    link: Link::Disconnected { since: now },
                    stored: position,
                    shown: position,
                    last_change_time: time,
                    heard: None,
                    generation: 0,
                    tip: None,
                    resetting: false,
                    rebuilt: None,
                };
                (sector, feed)
            })
            .collect();
        Self { feeds }
    }

    /// The link of `sector`'s feed, if the aggregator follows it.
    pub fn link(&self, sector: i32) -> Option<Link> {
        self.feeds.get(&sector).map(|f| f.link)
    }

    /// Where `sector`'s feed resumes: the last sequence the read store holds.
    pub fn stored(&self, sector: i32) -> i64 {
        self.feeds.get(&sector).map_or(0, |f| f.stored)
    }

    /// The last sequence of `sector` the model holds.
    pub fn shown(&self, sector: i32) -> i64 {
        self.feeds.get(&sector).map_or(0, |f| f.shown)
    }

    /// The data version of the view: the sum of the shown positions, which
    /// only grows.
    pub fn version(&self) -> i64 {
        self.feeds.values().map(|f| f.shown).sum()
    }

    /// The source connected and its stream is open: it sends its backlog next.
    pub fn connected(&mut self, sector: i32, now: Instant) -> bool {
        self.transition(sector, |f| {
            f.heard = Some(now);
            f.link = Link::CatchingUp { until: None };
        })
    }

    /// The source sent something: a silent feed is back where it was.
    pub fn heard(&mut self, sector: i32, now: Instant) -> bool {
        self.transition(sector, |f| {
            f.heard = Some(now);
            if let Link::Silent { was_current, .. } = f.link {
                f.link = if was_current {
                    Link::Current
                } else {
                    Link::CatchingUp { until: None }
                };
            }
        })
    }

    /// The source said its sector has committed nothing after `last`: once
    /// the view shows that far, the feed is current.
    pub fn heartbeat(&mut self, sector: i32, last: i64) -> bool {
        self.transition(sector, |f| {
            if let Link::CatchingUp { until } = &mut f.link {
                *until = Some(until.map_or(last, |u| u.max(last)));
            }
            f.settle();
        })
    }

    /// The stream ended or failed. A feed already missed keeps its `since`.
    pub fn disconnected(&mut self, sector: i32, now: SystemTime) -> bool {
        self.transition(sector, |f| {
            f.link = match f.link {
                Link::Disconnected { since } | Link::Silent { since, .. } => Link::Disconnected { since },
                Link::CatchingUp { .. } | Link::Current => Link::Disconnected { since: now },
            };
        })
    }

    /// Marks silent every connected feed not heard for longer than
    /// `silence`; returns those newly marked.
    pub fn check_silence(&mut self, now: Instant, wall: SystemTime, silence: Duration) -> Vec<i32> {
        let mut marked = Vec::new();
        for (sector, f) in &mut self.feeds {
            let quiet = f.heard.is_none_or(|t| now.saturating_duration_since(t) > silence);
            let was_current = match f.link {
                Link::CatchingUp { .. } => false,
                Link::Current => true,
                Link::Disconnected { .. } | Link::Silent { .. } => continue,
            };
            if quiet {
                f.link = Link::Silent {
                    since: wall,
                    was_current,
                };
                marked.push(*sector);
            }
        }
        marked
    }

    /// The read store committed `sector`'s changes up to `sequence`.
    pub fn set_stored(&mut self, sector: i32, sequence: i64) {
        if let Some(f) = self.feeds.get_mut(&sector) {
            f.stored = f.stored.max(sequence);
        }
    }

    /// The read store committed `sector`'s changes up to `last` (under the
    /// generation the feed follows): its position and what is there.
    pub fn set_stored_at(&mut self, sector: i32, last: &v1::Change) {
        if let Some(f) = self.feeds.get_mut(&sector)
            && last.sequence >= f.stored
        {
            f.stored = last.sequence;
            f.tip = Some(v1::Change {
                record: None,
                ..last.clone()
            });
        }
    }

    /// What the read store holds of `sector` besides its position, as
    /// loaded: the generation, the last rebuild, and the change at the
    /// stored position when it is known.
    pub fn set_loaded(&mut self, sector: i32, generation: i64, rebuilt: Option<Rebuilt>, tip: Option<v1::Change>) {
        if let Some(f) = self.feeds.get_mut(&sector) {
            f.generation = generation;
            f.rebuilt = rebuilt;
            f.tip = tip
                .filter(|t| t.sequence == f.stored)
                .map(|t| v1::Change { record: None, ..t });
        }
    }

    /// Where `sector`'s feed resumes: the stored position, the generation it
    /// is stored under, and the change there, when known.
    pub fn resume(&self, sector: i32) -> (i64, i64, Option<v1::Change>) {
        self.feeds
            .get(&sector)
            .map_or((0, 0, None), |f| (f.stored, f.generation, f.tip.clone()))
    }

    /// `sector` is read again from 0 under the generation of `position`:
    /// the feed resumes from 0, and the writer takes the sector's records out
    /// of the model before it takes the new ones.
    pub fn rebuilding(&mut self, sector: i32, position: &FeedPosition) {
        if let Some(f) = self.feeds.get_mut(&sector) {
            f.stored = 0;
            f.generation = position.generation;
            f.tip = None;
            f.resetting = true;
            f.rebuilt = position.rebuilt.clone();
        }
    }

    /// Whether a rebuild of `sector` waits for the writer.
    pub fn resetting(&self, sector: i32) -> bool {
        self.feeds.get(&sector).is_some_and(|f| f.resetting)
    }

    /// The writer took `sector`'s records out of the model: it shows
    /// nothing of it. Called only by the writer, under the model's lock.
    pub fn reset_shown(&mut self, sector: i32) {
        if let Some(f) = self.feeds.get_mut(&sector) {
            f.shown = 0;
            f.last_change_time = None;
            f.resetting = false;
        }
    }

    /// The model took `sector`'s changes up to `sequence` (the last one
    /// written at `time`): the view shows that far. Called only by the
    /// writer, under the model's lock, so positions and data agree.
    pub fn show(&mut self, sector: i32, sequence: i64, time: Option<prost_types::Timestamp>) {
        if let Some(f) = self.feeds.get_mut(&sector)
            && sequence > f.shown
        {
            f.shown = sequence;
            f.last_change_time = time.or(f.last_change_time);
            f.settle();
        }
    }

    /// Whether every feed is current: only then does the view hold all
    /// the data a stored snapshot must be taken from.
    pub fn all_current(&self) -> bool {
        self.feeds.values().all(|f| f.link == Link::Current)
    }

    /// Every feed's status as the screens see it.
    pub fn statuses(&self) -> BTreeMap<i32, v1::FeedStatus> {
        self.feeds
            .iter()
            .map(|(sector, f)| {
                let (connected, stale_since) = match f.link {
                    Link::Disconnected { since } => (false, Some(since)),
                    Link::Silent { since, .. } => (true, Some(since)),
                    Link::CatchingUp { .. } | Link::Current => (true, None),
                };
                let status = v1::FeedStatus {
                    sector: *sector,
                    connected,
                    stale: stale_since.is_some(),
                    stale_since: stale_since.map(prost_types::Timestamp::from),
                    last_change_time: f.last_change_time,
                    last_sequence: f.shown,
                    rebuilt_time: f.rebuilt.as_ref().map(|r| timestamp(r.at_ms)),
                    rebuild_reason_zh: f.rebuilt.as_ref().map(|r| r.reason.clone()).unwrap_or_default(),
                };
                (*sector, status)
            })
            .collect()
    }

    /// Applies `change` to `sector`'s feed; whether its status changed.
    fn transition(&mut self, sector: i32, change: impl FnOnce(&mut Feed)) -> bool {
        let Some(f) = self.feeds.get_mut(&sector) else {
            return false;
        };
        let before = f.link;
        change(f);
        f.link != before
    }
}

impl Feed {
    /// A feed catching up whose target the view shows is current.
    fn settle(&mut self) {
        if let Link::CatchingUp { until: Some(until) } = self.link
            && self.shown >= until
        {
            self.link = Link::Current;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: i32 = v1::Sector::Agriculture as i32;
    const B: i32 = v1::Sector::Industry as i32;

    fn book(positions: &[(i32, i64)]) -> FeedBook {
        let positions = positions.iter().map(|(s, p)| (*s, (*p, None))).collect();
        FeedBook::new(
            &[v1::Sector::Agriculture, v1::Sector::Industry],
            &positions,
            SystemTime::UNIX_EPOCH,
        )
    }

    fn wall(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn a_loaded_feed_resumes_after_its_stored_position_and_is_stale_until_connected() {
        let b = book(&[(A, 40)]);
        assert_eq!((b.stored(A), b.shown(A), b.stored(B)), (40, 40, 0));
        assert_eq!(b.version(), 40);
        let s = &b.statuses()[&A];
        assert!(!s.connected && s.stale && s.stale_since.is_some());
        assert_eq!(s.last_sequence, 40);
        assert!(!b.all_current());
    }

    #[test]
    fn a_feed_is_current_only_once_the_view_shows_what_its_heartbeat_named() {
        let now = Instant::now();
        let mut b = book(&[(A, 10)]);
        b.connected(A, now);
        b.connected(B, now);
        assert_eq!(b.link(A), Some(Link::CatchingUp { until: None }));
        assert!(
            !b.statuses()[&A].stale,
            "connected feeds are not stale while they catch up"
        );
        b.heartbeat(A, 12);
        assert_eq!(b.link(A), Some(Link::CatchingUp { until: Some(12) }));
        b.show(A, 11, None);
        assert_eq!(
            b.link(A),
            Some(Link::CatchingUp { until: Some(12) }),
            "stored is not shown"
        );
        b.show(A, 12, None);
        assert_eq!(b.link(A), Some(Link::Current));
        assert!(!b.all_current(), "industry has not caught up");
        b.heartbeat(B, 0);
        assert!(b.all_current(), "an empty sector is current at once");
        b.disconnected(B, wall(5));
        assert!(!b.all_current());
        b.connected(B, now);
        assert!(!b.all_current(), "a reconnected feed sends its backlog again");
    }

    #[test]
    fn a_silent_feed_is_stale_and_a_word_takes_it_back_where_it_was() {
        let t0 = Instant::now();
        let mut b = book(&[]);
        b.connected(A, t0);
        b.heartbeat(A, 0);
        b.connected(B, t0);
        let silence = Duration::from_secs(6);
        assert!(
            b.check_silence(t0 + Duration::from_secs(6), wall(6), silence)
                .is_empty()
        );
        b.heard(A, t0 + Duration::from_secs(5));
        assert_eq!(b.check_silence(t0 + Duration::from_secs(7), wall(7), silence), vec![B]);
        let s = &b.statuses()[&B];
        assert!(s.connected && s.stale);
        assert_eq!(s.stale_since, Some(prost_types::Timestamp::from(wall(7))));
        assert_eq!(
            b.check_silence(t0 + Duration::from_secs(12), wall(12), silence),
            vec![A]
        );
        assert!(
            b.check_silence(t0 + Duration::from_secs(20), wall(20), silence)
                .is_empty()
        );
        b.heard(A, t0 + Duration::from_secs(21));
        b.heard(B, t0 + Duration::from_secs(21));
        assert_eq!(b.link(A), Some(Link::Current));
        assert_eq!(b.link(B), Some(Link::CatchingUp { until: None }));
    }

    #[test]
    fn a_missed_feed_keeps_the_time_it_was_first_missed() {
        let mut b = book(&[]);
        b.connected(A, Instant::now());
        b.check_silence(
            Instant::now() + Duration::from_secs(60),
            wall(100),
            Duration::from_secs(6),
        );
        b.disconnected(A, wall(200));
        assert_eq!(b.link(A), Some(Link::Disconnected { since: wall(100) }));
        let s = &b.statuses()[&A];
        assert!(!s.connected, "a silent feed that drops is disconnected");
        b.disconnected(A, wall(300));
        assert_eq!(b.link(A), Some(Link::Disconnected { since: wall(100) }));
    }

    #[test]
    fn positions_never_move_back_and_unknown_sectors_are_ignored() {
        let mut b = book(&[(A, 5)]);
        b.set_stored(A, 3);
        b.show(A, 4, None);
        assert_eq!((b.stored(A), b.shown(A)), (5, 5));
        let before = b.clone();
        assert!(!b.connected(99, Instant::now()));
        b.show(99, 7, None);
        assert_eq!(b, before);
    }
}
