//! Per-bucket, per-window counters, built one record at a time and merged across
//! threads.
//!
//! Every worker fills its own [`Aggregate`]; partial aggregates combine with
//! [`Aggregate::merge`], which is associative and commutative, so the result does not
//! depend on how the input was split. Windows are aligned on multiples of the interval
//! in UTC. Per requester, the first and last private and public request of each window
//! is kept: enough to tell when a requester switched between the VPC endpoint and the
//! internet, without keeping every request.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use foldhash::fast::RandomState;

use crate::classify::Class;
use crate::record::Record;

type Map<K, V> = HashMap<K, V, RandomState>;

/// The distinct addresses seen in one window.
pub type IpSet = HashSet<IpAddr, RandomState>;

/// Counters shared by windows, buckets and requesters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub private: u64,
    pub public: u64,
    pub internal: u64,
    /// Public requests answered with HTTP 403: blocked attempts.
    pub public_denied: u64,
    pub bytes_sent: u64,
}

impl Counts {
    #[inline]
    fn add(&mut self, class: Class, status: Option<u16>, bytes: Option<u64>) {
        self.requests += 1;
        match class {
            Class::Private => self.private += 1,
            Class::Public => {
                self.public += 1;
                if status == Some(403) {
                    self.public_denied += 1;
                }
            }
            Class::Internal => self.internal += 1,
        }
        self.bytes_sent += bytes.unwrap_or(0);
    }

    fn merge(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.private += o.private;
        self.public += o.public;
        self.internal += o.internal;
        self.public_denied += o.public_denied;
        self.bytes_sent += o.bytes_sent;
    }

    /// Public requests that were not denied: traffic that really went over the internet.
    pub fn public_allowed(&self) -> u64 {
        self.public - self.public_denied
    }
}

/// One time window of one bucket.
#[derive(Clone, Debug, Default)]
pub struct Window {
    pub counts: Counts,
    pub private_ips: IpSet,
    pub public_ips: IpSet,
}

/// The earliest and latest request of one class in a window, with their addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub first: (i64, IpAddr),
    pub last: (i64, IpAddr),
}

impl Seen {
    fn new(time: i64, ip: IpAddr) -> Self {
        Seen {
            first: (time, ip),
            last: (time, ip),
        }
    }

    fn extend(&mut self, o: &Seen) {
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }
}

/// What one requester did in one window: when it used which network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub private: Option<Seen>,
    pub public: Option<Seen>,
}

impl Cell {
    fn add(&mut self, class: Class, time: i64, ip: IpAddr) {
        let slot = match class {
            Class::Private => &mut self.private,
            Class::Public => &mut self.public,
            Class::Internal => return,
        };
        let seen = Seen::new(time, ip);
        match slot {
            Some(s) => s.extend(&seen),
            None => *slot = Some(seen),
        }
    }

    fn merge(&mut self, o: &Cell) {
        for (mine, theirs) in [
            (&mut self.private, &o.private),
            (&mut self.public, &o.public),
        ] {
            match (mine.as_mut(), theirs) {
                (Some(m), Some(t)) => m.extend(t),
                (None, Some(t)) => *mine = Some(*t),
                _ => {}
            }
        }
    }
}

/// Everything one requester did to one bucket.
#[derive(Clone, Debug, Default)]
pub struct RequesterStats {
    pub counts: Counts,
    /// Per window start; windows with only internal requests are absent.
    pub cells: BTreeMap<i64, Cell>,
}

/// Everything seen for one bucket.
#[derive(Clone, Debug, Default)]
pub struct BucketStats {
    pub counts: Counts,
    pub first: i64,
    pub last: i64,
    /// Per window start (seconds since the epoch, a multiple of the interval).
    pub windows: BTreeMap<i64, Window>,
    /// Per requester (`-` for anonymous requests).
    pub requesters: Map<Box<[u8]>, RequesterStats>,
    /// Requests per public address, for the top talkers over the internet.
    pub public_ips: Map<IpAddr, u64>,
}

impl BucketStats {
    fn merge(&mut self, o: BucketStats) {
        if o.counts.requests == 0 {
            return;
        }
        if self.counts.requests == 0 {
            *self = o;
            return;
        }
        self.counts.merge(&o.counts);
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        for (start, w) in o.windows {
            let mine = self.windows.entry(start).or_default();
            mine.counts.merge(&w.counts);
            mine.private_ips.extend(w.private_ips);
            mine.public_ips.extend(w.public_ips);
        }
        for (ip, n) in o.public_ips {
            *self.public_ips.entry(ip).or_default() += n;
        }
        for (who, r) in o.requesters {
            let mine = self.requesters.entry(who).or_default();
            mine.counts.merge(&r.counts);
            for (start, cell) in r.cells {
                mine.cells.entry(start).or_default().merge(&cell);
            }
        }
    }
}

/// The aggregate of any number of records.
#[derive(Clone, Debug)]
pub struct Aggregate {
    interval: i64,
    buckets: Map<Box<[u8]>, BucketStats>,
}

impl Aggregate {
    /// An empty aggregate with windows of `interval` seconds.
    pub fn new(interval: i64) -> Self {
        assert!(interval > 0, "interval must be positive");
        Aggregate {
            interval,
            buckets: Map::default(),
        }
    }

    /// The window length in seconds.
    pub fn interval(&self) -> i64 {
        self.interval
    }

    /// The start of the window holding `time`.
    #[inline]
    pub fn window_start(&self, time: i64) -> i64 {
        time.div_euclid(self.interval) * self.interval
    }

    /// Counts one record of the given class.
    #[inline]
    pub fn add(&mut self, r: &Record<'_>, class: Class) {
        let bucket = r.bucket.unwrap_or(b"-");
        let start = self.window_start(r.time);
        if !self.buckets.contains_key(bucket) {
            let first = BucketStats {
                first: r.time,
                last: r.time,
                ..BucketStats::default()
            };
            self.buckets.insert(bucket.into(), first);
        }
        let stats = self.buckets.get_mut(bucket).expect("inserted above");
        stats.counts.add(class, r.http_status, r.bytes_sent);
        stats.first = stats.first.min(r.time);
        stats.last = stats.last.max(r.time);

        let window = stats.windows.entry(start).or_default();
        window.counts.add(class, r.http_status, r.bytes_sent);
        match (class, r.remote_ip) {
            (Class::Private, Some(ip)) => {
                window.private_ips.insert(ip);
            }
            (Class::Public, Some(ip)) => {
                window.public_ips.insert(ip);
                *stats.public_ips.entry(ip).or_default() += 1;
            }
            _ => {}
        }

        let requester = r.requester.unwrap_or(b"-");
        let who = match stats.requesters.get_mut(requester) {
            Some(who) => who,
            None => stats.requesters.entry(requester.into()).or_default(),
        };
        who.counts.add(class, r.http_status, r.bytes_sent);
        if let Some(ip) = r.remote_ip {
            who.cells.entry(start).or_default().add(class, r.time, ip);
        }
    }

    /// Folds another aggregate (of the same interval) into this one.
    pub fn merge(&mut self, other: Aggregate) {
        debug_assert_eq!(self.interval, other.interval);
        for (bucket, stats) in other.buckets {
            match self.buckets.get_mut(&bucket) {
                Some(mine) => mine.merge(stats),
                None => {
                    self.buckets.insert(bucket, stats);
                }
            }
        }
    }

    /// The buckets, sorted by name.
    pub fn buckets(&self) -> Vec<(&[u8], &BucketStats)> {
        let mut all: Vec<_> = self.buckets.iter().map(|(k, v)| (&**k, v)).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;

    fn rec(bucket: &'static str, time: i64, ip: Option<&str>, status: u16) -> Record<'static> {
        Record {
            bucket: Some(bucket.as_bytes()),
            time,
            remote_ip: ip.map(|s| s.parse().unwrap()),
            requester: Some(b"arn:aws:sts::111122223333:assumed-role/r/i"),
            http_status: Some(status),
            bytes_sent: Some(10),
            ..Record::default()
        }
    }

    fn add_all(agg: &mut Aggregate, records: &[Record<'static>]) {
        let c = Classifier::new(&[]);
        for r in records {
            agg.add(r, c.classify(r.remote_ip));
        }
    }

    #[test]
    fn windows_are_aligned_in_utc() {
        let agg = Aggregate::new(3600);
        assert_eq!(agg.window_start(1_652_090_400 + 1799), 1_652_090_400);
        assert_eq!(agg.window_start(-1), -3600);
        assert_eq!(
            Aggregate::new(300).window_start(1_652_090_699),
            1_652_090_400
        );
    }

    #[test]
    fn counts_per_class_and_denials() {
        let mut agg = Aggregate::new(3600);
        add_all(
            &mut agg,
            &[
                rec("b", 0, Some("10.0.0.1"), 200),
                rec("b", 10, Some("10.0.0.1"), 200),
                rec("b", 20, Some("52.1.2.3"), 403),
                rec("b", 30, Some("52.1.2.4"), 200),
                rec("b", 3600, None, 200),
            ],
        );
        let buckets = agg.buckets();
        let (name, stats) = buckets[0];
        assert_eq!(name, b"b");
        assert_eq!(stats.counts.requests, 5);
        assert_eq!(
            (
                stats.counts.private,
                stats.counts.public,
                stats.counts.internal
            ),
            (2, 2, 1)
        );
        assert_eq!(
            (stats.counts.public_denied, stats.counts.public_allowed()),
            (1, 1)
        );
        assert_eq!(stats.counts.bytes_sent, 50);
        let w0 = &stats.windows[&0];
        assert_eq!((w0.private_ips.len(), w0.public_ips.len()), (1, 2));
        assert_eq!(stats.windows[&3600].counts.internal, 1);
        assert_eq!((stats.first, stats.last), (0, 3600));
    }

    #[test]
    fn merging_in_any_split_gives_the_same_result() {
        let records: Vec<_> = (0..40)
            .map(|i| {
                let ip = if i % 3 == 0 { "52.9.9.9" } else { "10.1.1.1" };
                rec(if i % 2 == 0 { "a" } else { "b" }, i * 700, Some(ip), 200)
            })
            .collect();
        let mut whole = Aggregate::new(3600);
        add_all(&mut whole, &records);
        for split in [1, 7, 20, 39] {
            let (mut left, mut right) = (Aggregate::new(3600), Aggregate::new(3600));
            add_all(&mut left, &records[..split]);
            add_all(&mut right, &records[split..]);
            right.merge(left);
            for ((n1, s1), (n2, s2)) in whole.buckets().into_iter().zip(right.buckets()) {
                assert_eq!(n1, n2);
                assert_eq!(s1.counts, s2.counts);
                assert_eq!((s1.first, s1.last), (s2.first, s2.last));
                let w1: Vec<_> = s1
                    .windows
                    .iter()
                    .map(|(k, w)| (*k, w.counts, w.private_ips.len()))
                    .collect();
                let w2: Vec<_> = s2
                    .windows
                    .iter()
                    .map(|(k, w)| (*k, w.counts, w.private_ips.len()))
                    .collect();
                assert_eq!(w1, w2);
                let r1: Vec<_> = s1
                    .requesters
                    .values()
                    .flat_map(|r| r.cells.clone())
                    .collect();
                let r2: Vec<_> = s2
                    .requesters
                    .values()
                    .flat_map(|r| r.cells.clone())
                    .collect();
                assert_eq!(r1, r2);
            }
        }
    }
}
