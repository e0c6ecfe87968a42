//! A bucket's timeline laid on a continuous UTC time axis and merged into a bounded
//! number of slots, for pictures of it: the HTML report's bars and the table's
//! sparklines.
//!
//! The report's timeline leaves out windows without requests; a chart must not, or a
//! quiet night would vanish between two busy days. [`Series::of`] puts every window on
//! its place in time and, when there are more windows than a chart has room for,
//! merges adjacent windows into slots of a round length (5m, 1h, 1d, …) that is a
//! multiple of the interval, so the picture stays the same size for one window or a
//! year of minutes.

use derive_more::AddAssign;

use super::Point;
use crate::time::parse_rfc3339;

/// Slot lengths tried, shortest first, before falling back to doubling.
const ROUND: [i64; 18] = [
    60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
    1_209_600, 2_592_000, 7_776_000, 31_536_000,
];

/// The requests of one slot, by how they reached the bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, AddAssign)]
pub struct Slot {
    /// Through the VPC endpoint and let through.
    pub private_allowed: u64,
    /// Through the VPC endpoint and denied by a policy.
    pub private_denied: u64,
    /// Over the internet and let through.
    pub public_allowed: u64,
    /// Over the internet and denied by a policy (HTTP 403 `AccessDenied`).
    pub public_denied: u64,
    /// Over the internet and refused before any policy (bad signature, ...).
    pub public_rejected: u64,
    /// S3's own requests, without a remote IP.
    pub internal: u64,
}

impl Slot {
    /// All requests of the slot.
    pub fn total(&self) -> u64 {
        self.private_allowed
            + self.private_denied
            + self.public_allowed
            + self.public_denied
            + self.public_rejected
            + self.internal
    }

    /// The requests of window `p`.
    pub fn of(p: &Point) -> Slot {
        Slot {
            private_allowed: p.private - p.private_denied,
            private_denied: p.private_denied,
            public_allowed: p.public_allowed,
            public_denied: p.public_denied,
            public_rejected: p.public_rejected,
            internal: p.internal,
        }
    }

    fn add(&mut self, p: &Point) {
        *self += Slot::of(p);
    }
}

/// A timeline on a continuous time axis, in equal slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// Start of the first slot, seconds since the epoch (UTC).
    pub start: i64,
    /// Length of every slot in seconds: the interval or a multiple of it.
    pub slot_seconds: i64,
    /// The slots in time order, empty ones included.
    pub slots: Vec<Slot>,
}

impl Series {
    /// Lays `timeline` (windows of `interval` seconds) on a time axis of at most
    /// `max_slots` slots. An empty timeline gives no slots.
    pub fn of(timeline: &[Point], interval: i64, max_slots: usize) -> Series {
        let interval = interval.max(1);
        let max_slots = max_slots.max(1) as i64;
        let times: Vec<(i64, &Point)> = timeline
            .iter()
            .filter_map(|p| parse_rfc3339(&p.start).map(|t| (t, p)))
            .collect();
        let (Some(first), Some(last)) = (
            times.iter().map(|(t, _)| *t).min(),
            times.iter().map(|(t, _)| *t).max(),
        ) else {
            return Series {
                start: 0,
                slot_seconds: interval,
                slots: Vec::new(),
            };
        };
        let count = |slot: i64| (last.div_euclid(slot) - first.div_euclid(slot)) + 1;
        let slot_seconds = std::iter::once(interval)
            .chain(
                ROUND
                    .iter()
                    .copied()
                    .filter(|&r| r > interval && r % interval == 0),
            )
            .find(|&s| count(s) <= max_slots)
            .unwrap_or_else(|| {
                let mut s = interval;
                while count(s) > max_slots {
                    s = s.saturating_mul(2);
                }
                s
            });
        let start = first.div_euclid(slot_seconds) * slot_seconds;
        let mut slots = vec![Slot::default(); count(slot_seconds) as usize];
        for (t, p) in times {
            slots[((t - start) / slot_seconds) as usize].add(p);
        }
        Series {
            start,
            slot_seconds,
            slots,
        }
    }

    /// End of the last slot, seconds since the epoch.
    pub fn end(&self) -> i64 {
        self.start + self.slot_seconds * self.slots.len() as i64
    }

    /// The largest slot total (0 for an empty series).
    pub fn max_total(&self) -> u64 {
        self.slots.iter().map(Slot::total).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Traffic;

    fn point(start: i64, private: u64, allowed: u64, denied: u64) -> Point {
        let t = Traffic {
            requests: private + allowed + denied,
            private,
            public: allowed + denied,
            public_denied: denied,
            ..Traffic::default()
        };
        Point::new(start, &t, 1, 1)
    }

    const T0: i64 = 1_652_090_400; // 2022-05-09T10:00:00Z

    #[test]
    fn empty_windows_take_their_place_in_time() {
        let s = Series::of(
            &[point(T0, 3, 0, 0), point(T0 + 3 * 3600, 0, 2, 1)],
            3600,
            100,
        );
        assert_eq!((s.start, s.slot_seconds, s.slots.len()), (T0, 3600, 4));
        assert_eq!(s.slots[1], Slot::default());
        assert_eq!(s.slots[3].public_allowed, 2);
        assert_eq!(s.slots[3].public_denied, 1);
        assert_eq!(s.end(), T0 + 4 * 3600);
        assert_eq!(s.max_total(), 3);
    }

    #[test]
    fn many_windows_merge_into_round_slots_and_keep_every_request() {
        let timeline: Vec<Point> = (0..10_000)
            .map(|i| point(T0 + i * 60, 1, (i % 7 == 0) as u64, 0))
            .collect();
        let s = Series::of(&timeline, 60, 120);
        assert!(s.slots.len() <= 120, "{} slots", s.slots.len());
        assert_eq!(s.slot_seconds, 7200);
        assert_eq!(s.start % 7200, 0);
        let private: u64 = s.slots.iter().map(|x| x.private_allowed).sum();
        let allowed: u64 = s.slots.iter().map(|x| x.public_allowed).sum();
        assert_eq!(private, 10_000);
        assert_eq!(allowed, (0..10_000).filter(|i| i % 7 == 0).count() as u64);
    }

    #[test]
    fn very_long_spans_double_past_the_round_lengths() {
        let far = T0 + 400 * 31_536_000;
        let s = Series::of(&[point(T0, 1, 0, 0), point(far, 0, 1, 0)], 86_400, 50);
        assert!(s.slots.len() <= 50);
        assert_eq!(s.slot_seconds % 86_400, 0);
        assert_eq!(s.slots.iter().map(Slot::total).sum::<u64>(), 2);
    }

    #[test]
    fn one_window_is_one_slot_and_no_window_is_none() {
        let s = Series::of(&[point(T0, 1, 0, 0)], 300, 120);
        assert_eq!((s.slots.len(), s.slot_seconds), (1, 300));
        assert!(Series::of(&[], 300, 120).slots.is_empty());
    }
}
