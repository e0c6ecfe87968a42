//! Access logs joined with CloudTrail on the request id, so that a request both logs
//! hold is counted once.
//!
//! S3 writes the same request id into its access log (`request_id`) and into
//! CloudTrail (`requestID`). When a run reads both, CloudTrail is read first and its
//! S3 requests are kept here ([`Keeper::keep`]); then every access log record looks up
//! its request id ([`Join::enrich`]): found, it takes the VPC endpoint (and the
//! region) from its CloudTrail event, which is then not counted again; the CloudTrail
//! requests that no access log had (a `VpceAccessDenied` never reaches S3; access logs
//! are best-effort) are counted last ([`Join::pending`]).
//!
//! Memory is bounded: the requests kept take at most [`BUDGET`] bytes. Past it, a
//! CloudTrail request is counted at once without a join, and the report says so
//! ([`JoinCounts::unjoined`]): if its access log record is read too, that request is
//! counted twice.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use foldhash::fast::RandomState;

use crate::record::{OwnedRecord, Record};
use crate::tally::JoinCounts;

/// The memory the kept CloudTrail requests may take: 256 MiB (about half a million
/// data events).
pub const BUDGET: usize = 256 << 20;

/// What one entry of the index takes beside its record, counted into the budget.
const ENTRY: usize = 64;

/// A CloudTrail request waiting for the access logs.
#[derive(Debug)]
struct Kept {
    record: OwnedRecord,
    /// A network activity event: its data event, if any, is the one counted.
    network: bool,
    /// The input it came from (an index into the names).
    input: usize,
    /// Its position there: the event's number.
    ordinal: u64,
    /// Did an access log record take its place, or is it a duplicate?
    done: AtomicBool,
}

/// What to do with a CloudTrail request handed to a [`Keeper`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// Kept for the join: counted later, or not at all if an access log has it.
    Kept,
    /// Its request id was seen before: the same request, not counted again.
    Duplicate,
    /// Count it now (no access logs to join with, or past the budget).
    CountNow,
}

/// Keeps CloudTrail requests while the CloudTrail inputs are read in parallel; with
/// no access logs to join with ([`Keeper::counting`]), only their request ids, so that
/// a request CloudTrail logged twice is counted once.
#[derive(Debug)]
pub struct Keeper {
    kept: Mutex<Vec<Kept>>,
    bytes: AtomicUsize,
    budget: usize,
    unjoined: AtomicU64,
    /// Keep only request ids (no join).
    ids_only: bool,
    ids: Mutex<HashSet<Box<[u8]>, RandomState>>,
    duplicates: AtomicU64,
}

impl Default for Keeper {
    /// A keeper with the [`BUDGET`].
    fn default() -> Self {
        Keeper::with_budget(BUDGET)
    }
}

impl Keeper {
    /// A keeper that holds at most `budget` bytes.
    pub fn with_budget(budget: usize) -> Self {
        Keeper {
            kept: Mutex::new(Vec::new()),
            bytes: AtomicUsize::new(0),
            budget,
            unjoined: AtomicU64::new(0),
            ids_only: false,
            ids: Mutex::new(HashSet::default()),
            duplicates: AtomicU64::new(0),
        }
    }

    /// A keeper for a run without access logs: requests are counted as they are read,
    /// once per request id (the ids take the [`BUDGET`]; past it, a repeated id is
    /// counted again, and the report says so).
    pub fn counting() -> Self {
        Keeper {
            ids_only: true,
            ..Keeper::with_budget(BUDGET)
        }
    }

    /// Takes a CloudTrail request of input `input` (event `ordinal`); `network`: it is
    /// a network activity event. Of the events of one request, the data event counts,
    /// else the first network activity event in input order, whatever order they are
    /// read in.
    pub fn hold(&self, record: &Record<'_>, input: usize, ordinal: u64, network: bool) -> Held {
        if !self.ids_only || network {
            return if self.keep(record, input, ordinal, network) {
                Held::Kept
            } else {
                Held::CountNow
            };
        }
        let Some(id) = record.request_id else {
            return Held::CountNow;
        };
        let mut ids = self.ids.lock().expect("no keeper panicked");
        if ids.contains(id) {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return Held::Duplicate;
        }
        let cost = ENTRY + id.len();
        if self.bytes.load(Ordering::Relaxed) + cost > self.budget {
            self.unjoined.fetch_add(1, Ordering::Relaxed);
        } else {
            self.bytes.fetch_add(cost, Ordering::Relaxed);
            ids.insert(id.into());
        }
        Held::CountNow
    }

    /// Keeps a CloudTrail request of input `input` (event `ordinal`); `false` if the
    /// budget is spent, and the caller counts it at once.
    pub fn keep(&self, record: &Record<'_>, input: usize, ordinal: u64, network: bool) -> bool {
        let record = OwnedRecord::new(record);
        let cost = std::mem::size_of::<Kept>() + ENTRY + record.size();
        let before = self.bytes.fetch_add(cost, Ordering::Relaxed);
        if before + cost > self.budget {
            self.bytes.fetch_sub(cost, Ordering::Relaxed);
            self.unjoined.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let kept = Kept {
            record,
            network,
            input,
            ordinal,
            done: AtomicBool::new(false),
        };
        self.kept.lock().expect("no keeper panicked").push(kept);
        true
    }

    /// The join of what was kept, in input order, indexed by request id; a request id
    /// seen again is a duplicate, counted once. `names` are the inputs' names.
    pub fn finish(self, names: Vec<String>) -> Join {
        let mut kept = self.kept.into_inner().expect("no keeper panicked");
        kept.sort_unstable_by_key(|k| (k.network, k.input, k.ordinal));
        // Without a join, the data events were counted as read: their network activity
        // events are the same requests.
        let counted = self.ids.into_inner().expect("no keeper panicked");
        let mut by_id = HashMap::with_capacity_and_hasher(kept.len(), RandomState::default());
        let mut duplicates = 0;
        for (at, k) in kept.iter_mut().enumerate() {
            if let Some(id) = k.record.record().request_id {
                if by_id.contains_key(id) || counted.contains(id) {
                    duplicates += 1;
                    *k.done.get_mut() = true;
                } else {
                    by_id.insert(Box::from(id), at);
                }
            }
        }
        Join {
            names,
            kept,
            by_id,
            duplicates: duplicates + self.duplicates.into_inner(),
            unjoined: self.unjoined.into_inner(),
        }
    }
}

/// The CloudTrail requests of a run, by request id.
#[derive(Debug, Default)]
pub struct Join {
    names: Vec<String>,
    kept: Vec<Kept>,
    by_id: HashMap<Box<[u8]>, usize, RandomState>,
    duplicates: u64,
    unjoined: u64,
}

impl Join {
    /// Gives an access log record the VPC endpoint (and region) of its CloudTrail event,
    /// found by request id and bucket; that event will not be counted again. `false` if
    /// CloudTrail does not have it.
    #[inline]
    pub fn enrich<'a>(&'a self, r: &mut Record<'a>) -> bool {
        let Some(id) = r.request_id else {
            return false;
        };
        let Some(&at) = self.by_id.get(id) else {
            return false;
        };
        let kept = &self.kept[at];
        let event = kept.record.record();
        if event.bucket != r.bucket {
            return false;
        }
        kept.done.store(true, Ordering::Relaxed);
        r.vpc_endpoint_id = r.vpc_endpoint_id.or(event.vpc_endpoint_id);
        r.vpc_endpoint_account = r.vpc_endpoint_account.or(event.vpc_endpoint_account);
        r.region = r.region.or(event.region);
        true
    }

    /// How many requests are kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Is nothing kept?
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Calls `each(record, input name, ordinal)` for every kept request in `range`
    /// that no access log record took the place of (nor an earlier duplicate).
    pub fn pending(
        &self,
        range: std::ops::Range<usize>,
        mut each: impl FnMut(&Record<'_>, &str, u64) -> bool,
    ) {
        for kept in &self.kept[range] {
            let done = kept.done.load(Ordering::Relaxed);
            if !done && !each(&kept.record.record(), &self.names[kept.input], kept.ordinal) {
                return;
            }
        }
    }

    /// What the join did (read after the access logs).
    pub fn counts(&self) -> JoinCounts {
        let mut joined = 0;
        let mut with_endpoint = 0;
        let by_id_done = |k: &Kept| k.done.load(Ordering::Relaxed);
        for (at, k) in self.kept.iter().enumerate() {
            let first = k
                .record
                .record()
                .request_id
                .is_some_and(|id| self.by_id.get(id) == Some(&at));
            if first && by_id_done(k) {
                joined += 1;
                with_endpoint += u64::from(k.record.record().vpc_endpoint_id.is_some());
            }
        }
        JoinCounts {
            kept: self.kept.len() as u64,
            joined,
            joined_with_endpoint: with_endpoint,
            duplicates: self.duplicates,
            unjoined: self.unjoined,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(id: &'a str, bucket: &'a str, vpce: Option<&'a str>) -> Record<'a> {
        Record {
            bucket: Some(bucket.as_bytes()),
            request_id: Some(id.as_bytes()),
            vpc_endpoint_id: vpce.map(str::as_bytes),
            region: Some(b"ap-northeast-2"),
            ..Record::default()
        }
    }

    #[test]
    fn past_the_budget_requests_are_not_kept_and_counted_as_unjoined() {
        let one =
            std::mem::size_of::<Kept>() + ENTRY + OwnedRecord::new(&event("A1", "b", None)).size();
        let keeper = Keeper::with_budget(2 * one);
        assert!(keeper.keep(&event("A1", "b", None), 0, 1, false));
        assert!(keeper.keep(&event("A2", "b", None), 0, 2, false));
        assert!(!keeper.keep(&event("A3", "b", None), 0, 3, false));
        let join = keeper.finish(vec!["t".into()]);
        assert_eq!(join.len(), 2);
        let c = join.counts();
        assert_eq!((c.kept, c.unjoined), (2, 1));
        let mut late = Record {
            request_id: Some(b"A3"),
            bucket: Some(b"b"),
            ..Record::default()
        };
        assert!(!join.enrich(&mut late), "not kept, not joined");
    }

    #[test]
    fn without_access_logs_requests_are_counted_at_once_and_once() {
        let keeper = Keeper::counting();
        assert_eq!(
            keeper.hold(&event("A1", "b", None), 0, 1, false),
            Held::CountNow
        );
        assert_eq!(
            keeper.hold(&event("A2", "b", None), 0, 2, false),
            Held::CountNow
        );
        assert_eq!(
            keeper.hold(&event("A1", "b", None), 1, 1, false),
            Held::Duplicate
        );
        // A network activity event of a counted request, read before or after its
        // data event: the data event counts.
        assert_eq!(keeper.hold(&event("A2", "b", None), 1, 5, true), Held::Kept);
        assert_eq!(keeper.hold(&event("N1", "b", None), 1, 6, true), Held::Kept);
        let join = keeper.finish(vec!["a".into(), "b".into()]);
        let mut left = Vec::new();
        join.pending(0..join.len(), |r, _, _| {
            left.push(r.request_id.unwrap().to_vec());
            true
        });
        assert_eq!(
            left,
            [b"N1".to_vec()],
            "only the network event without its data event"
        );
        assert_eq!(join.counts().duplicates, 2);
    }

    #[test]
    fn an_access_log_record_takes_its_events_place() {
        let keeper = Keeper::default();
        // Kept in any order (workers race), joined in input order.
        assert!(keeper.keep(&event("C3", "b", Some("vpce-1")), 0, 4, false));
        assert!(
            keeper.keep(&event("A1", "b", Some("vpce-1")), 0, 3, false),
            "duplicate"
        );
        assert!(keeper.keep(&event("A1", "b", Some("vpce-1")), 0, 1, false));
        assert!(keeper.keep(&event("B2", "b", None), 0, 2, false));
        let join = keeper.finish(vec!["ct.json".into()]);
        let mut log = Record {
            request_id: Some(b"A1"),
            bucket: Some(b"b"),
            remote_ip: Some("2600:1f18::5".parse().unwrap()),
            ..Record::default()
        };
        assert!(join.enrich(&mut log));
        assert_eq!(log.vpc_endpoint_id, Some(&b"vpce-1"[..]));
        assert_eq!(log.region, Some(&b"ap-northeast-2"[..]));
        let mut other_bucket = Record {
            request_id: Some(b"B2"),
            bucket: Some(b"x"),
            ..Record::default()
        };
        assert!(!join.enrich(&mut other_bucket));
        let mut plain = Record {
            request_id: Some(b"B2"),
            bucket: Some(b"b"),
            ..Record::default()
        };
        assert!(join.enrich(&mut plain));
        assert_eq!(plain.vpc_endpoint_id, None);
        let mut left = Vec::new();
        join.pending(0..join.len(), |r, name, n| {
            left.push((r.request_id.unwrap().to_vec(), name.to_string(), n));
            true
        });
        assert_eq!(left, [(b"C3".to_vec(), "ct.json".to_string(), 4)]);
        let c = join.counts();
        assert_eq!(
            (
                c.kept,
                c.joined,
                c.joined_with_endpoint,
                c.duplicates,
                c.unjoined
            ),
            (4, 2, 1, 1, 0)
        );
    }
}
