//! Per-bucket, per-window counters, built one record at a time and merged across
//! threads.
//!
//! Every worker fills its own [`Aggregate`]; partial aggregates combine with
//! [`Aggregate::merge`], which is associative and commutative, so the result does not
//! depend on how the input was split. Windows are aligned on multiples of the interval
//! in UTC. Per requester, the first and last private and public request of each window
//! is kept: enough to tell when a requester switched between the VPC endpoint and the
//! internet, without keeping every request.
//!
//! Memory is bounded whatever the input: distinct addresses are counted exactly up to
//! [`EXACT_DISTINCT`] per window and class, then estimated (HyperLogLog, about 1.6 %
//! error); at most [`TRACKED_PUBLIC_IPS`] public addresses and [`TRACKED_REQUESTERS`]
//! requesters are tracked one by one per bucket. Going past a limit is flagged in the
//! report. What grows with the input is kept small where it is many: a bucket's
//! windows and requesters are short lists, searched in order and grown one entry at a
//! time while there are at most [`SHORT`], indexed by a hash map beyond, so that a
//! million buckets of one request each cost about 800 bytes each, not 3 KB.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cardinality_estimator::CardinalityEstimator;
use derive_more::AddAssign;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use rayon::prelude::*;

use crate::arn::principal;
use crate::classify::{Class, Outcome, VPCE_ACCESS_DENIED};
use crate::record::Record;
use crate::time::Zone;

type Map<K, V> = HashMap<K, V, RandomState>;

/// Distinct addresses counted exactly per window and class before estimating.
pub const EXACT_DISTINCT: usize = 1024;
/// Public addresses whose requests are counted one by one per bucket.
pub const TRACKED_PUBLIC_IPS: usize = 100_000;
/// Requesters (principals) tracked one by one per bucket; the rest are pooled.
pub const TRACKED_REQUESTERS: usize = 10_000;
/// The name under which requesters beyond [`TRACKED_REQUESTERS`] are pooled.
pub const OTHER_REQUESTERS: &[u8] = b"(other requesters)";
/// VPC endpoints tracked one by one per bucket; the rest are pooled.
pub const TRACKED_ENDPOINTS: usize = 1000;
/// The name under which endpoints beyond [`TRACKED_ENDPOINTS`] are pooled.
pub const OTHER_ENDPOINTS: &[u8] = b"(other endpoints)";
/// How many windows or requesters of a bucket are found by a search in order, before
/// a hash map indexes them.
pub const SHORT: usize = 8;

/// Pushes `item` onto `list`, growing a short list by exactly one entry (a vector's
/// first growth would make room for four).
#[inline]
fn push_short<T>(list: &mut Vec<T>, item: T) {
    if list.len() == list.capacity() && list.len() < SHORT {
        list.reserve_exact(1);
    }
    list.push(item);
}

/// Requests by the network they came from: the counters of windows, buckets and
/// requesters. Two add up with `+=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, AddAssign)]
pub struct Traffic {
    /// All requests.
    pub requests: u64,
    /// Through the VPC endpoint.
    pub private: u64,
    /// Private requests a policy denied (HTTP 403 `AccessDenied` through the
    /// endpoint: the bucket policy names another endpoint, or an endpoint policy
    /// refuses).
    pub private_denied: u64,
    /// Over the internet.
    pub public: u64,
    /// Public requests a policy denied (HTTP 403 `AccessDenied`): blocked attempts.
    pub public_denied: u64,
    /// Public requests S3 refused before any policy was evaluated (bad signature,
    /// unknown key, expired token, ...): neither let through nor proof that a policy
    /// works.
    pub public_rejected: u64,
    /// S3's own requests (no remote IP).
    pub internal: u64,
    /// Bytes sent in responses.
    pub bytes_sent: u64,
}

impl Traffic {
    #[inline]
    fn add(&mut self, class: Class, outcome: Outcome, bytes: u64) {
        self.requests += 1;
        match class {
            Class::Private => {
                self.private += 1;
                self.private_denied += u64::from(outcome == Outcome::Denied);
            }
            Class::Public => {
                self.public += 1;
                self.public_denied += u64::from(outcome == Outcome::Denied);
                self.public_rejected += u64::from(outcome == Outcome::Rejected);
            }
            Class::Internal => self.internal += 1,
        }
        self.bytes_sent += bytes;
    }

    /// Public requests neither denied nor rejected: traffic that really went over the
    /// internet.
    pub fn public_allowed(&self) -> u64 {
        self.public - self.public_denied - self.public_rejected
    }
}

/// A count of distinct addresses: exact up to [`EXACT_DISTINCT`], estimated beyond.
///
/// Exact sets are sorted vectors (4 bytes an IPv4 address, 16 an IPv6 one), so the many
/// small windows of a long timeline stay small in memory.
#[derive(Clone, Debug)]
pub enum Distinct {
    Exact { v4: Vec<u32>, v6: Vec<u128> },
    Estimated(Box<CardinalityEstimator<IpAddr>>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact {
            v4: Vec::new(),
            v6: Vec::new(),
        }
    }
}

/// Inserts `x` into the sorted `set`; `true` if it was not there.
#[inline]
fn insert_sorted<T: Ord>(set: &mut Vec<T>, x: T) -> bool {
    match set.binary_search(&x) {
        Ok(_) => false,
        Err(at) => {
            set.insert(at, x);
            true
        }
    }
}

/// Adds the sorted `theirs` to the sorted `set`, each value once: one pass over both.
fn merge_sorted<T: Ord + Copy>(set: &mut Vec<T>, theirs: &[T]) {
    match (set.last(), theirs.first()) {
        (_, None) => {}
        (None, Some(_)) => set.extend_from_slice(theirs),
        (Some(last), Some(first)) if last < first => set.extend_from_slice(theirs),
        _ => {
            let mut merged = Vec::with_capacity(set.len() + theirs.len());
            let (mut a, mut b) = (set.iter().peekable(), theirs.iter().peekable());
            while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
                merged.push(x.min(y));
                if x <= y {
                    a.next();
                }
                if y <= x {
                    b.next();
                }
            }
            merged.extend(a);
            merged.extend(b);
            *set = merged;
        }
    }
}

impl Distinct {
    /// Counts one address.
    #[inline]
    pub fn insert(&mut self, ip: IpAddr) {
        match self {
            Distinct::Exact { v4, v6 } => {
                let new = match ip {
                    IpAddr::V4(a) => insert_sorted(v4, u32::from(a)),
                    IpAddr::V6(a) => insert_sorted(v6, u128::from(a)),
                };
                if new && v4.len() + v6.len() > EXACT_DISTINCT {
                    self.estimate_from_now_on();
                }
            }
            Distinct::Estimated(sketch) => sketch.insert(&ip),
        }
    }

    fn addresses<'a>(v4: &'a [u32], v6: &'a [u128]) -> impl Iterator<Item = IpAddr> + 'a {
        let v4 = v4.iter().map(|&a| IpAddr::from(Ipv4Addr::from(a)));
        v4.chain(v6.iter().map(|&a| IpAddr::from(Ipv6Addr::from(a))))
    }

    fn estimate_from_now_on(&mut self) {
        if let Distinct::Exact { v4, v6 } = self {
            let mut sketch = Box::new(CardinalityEstimator::new());
            for ip in Self::addresses(v4, v6) {
                sketch.insert(&ip);
            }
            *self = Distinct::Estimated(sketch);
        }
    }

    /// Adds every address of `other`.
    pub fn merge(&mut self, other: &Distinct) {
        match (&mut *self, other) {
            (Distinct::Exact { v4, v6 }, Distinct::Exact { v4: o4, v6: o6 }) => {
                merge_sorted(v4, o4);
                merge_sorted(v6, o6);
                if v4.len() + v6.len() > EXACT_DISTINCT {
                    self.estimate_from_now_on();
                }
            }
            (Distinct::Estimated(mine), Distinct::Exact { v4, v6 }) => {
                for ip in Self::addresses(v4, v6) {
                    mine.insert(&ip);
                }
            }
            (_, Distinct::Estimated(theirs)) => {
                self.estimate_from_now_on();
                if let Distinct::Estimated(mine) = self {
                    mine.merge(theirs);
                }
            }
        }
    }

    /// The addresses of all `sets` together.
    pub fn union<'a>(sets: impl IntoIterator<Item = &'a Distinct>) -> Distinct {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        let mut sketch: Option<Box<CardinalityEstimator<IpAddr>>> = None;
        for set in sets {
            match set {
                Distinct::Exact { v4: a, v6: b } => {
                    v4.extend_from_slice(a);
                    v6.extend_from_slice(b);
                }
                Distinct::Estimated(theirs) => match &mut sketch {
                    Some(mine) => mine.merge(theirs),
                    None => sketch = Some(theirs.clone()),
                },
            }
        }
        // A bucket's windows together hold tens of thousands of addresses: a radix sort
        // orders them several times faster than comparisons do.
        radsort::sort(&mut v4);
        v4.dedup();
        radsort::sort(&mut v6);
        v6.dedup();
        let mut union = Distinct::Exact { v4, v6 };
        if union.count() > EXACT_DISTINCT {
            union.estimate_from_now_on();
        }
        if let Some(sketch) = sketch {
            union.merge(&Distinct::Estimated(sketch));
        }
        union
    }

    /// The number of distinct addresses (an estimate if not [`Distinct::is_exact`]).
    pub fn count(&self) -> usize {
        match self {
            Distinct::Exact { v4, v6 } => v4.len() + v6.len(),
            Distinct::Estimated(sketch) => sketch.estimate(),
        }
    }

    /// Is [`Distinct::count`] exact?
    pub fn is_exact(&self) -> bool {
        matches!(self, Distinct::Exact { .. })
    }
}

/// One time window of one bucket.
#[derive(Clone, Debug, Default)]
pub struct Window {
    pub counts: Traffic,
    pub private_ips: Distinct,
    pub public_ips: Distinct,
}

/// The earliest and latest request of one class in a window, with their addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstLast {
    pub first: (i64, IpAddr),
    pub last: (i64, IpAddr),
}

impl FirstLast {
    fn extend(&mut self, o: &FirstLast) {
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }
}

/// What one requester did in one window: when it used which network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub private: Option<FirstLast>,
    pub public: Option<FirstLast>,
}

impl Cell {
    #[inline]
    fn add(&mut self, class: Class, time: i64, ip: IpAddr) {
        let slot = match class {
            Class::Private => &mut self.private,
            Class::Public => &mut self.public,
            Class::Internal => return,
        };
        match slot {
            // Most records come later than the last one: one integer comparison each.
            Some(s) if time > s.last.0 => s.last = (time, ip),
            Some(s) if time < s.first.0 => s.first = (time, ip),
            Some(s) => {
                if (time, ip) < s.first {
                    s.first = (time, ip);
                }
                if (time, ip) > s.last {
                    s.last = (time, ip);
                }
            }
            None => {
                *slot = Some(FirstLast {
                    first: (time, ip),
                    last: (time, ip),
                })
            }
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

/// Public addresses counted per requester and bucket, all requesters together; the
/// requests from addresses beyond are counted in `untracked_requester_public`.
pub const TRACKED_REQUESTER_IPS: usize = 100_000;

/// A requester's cells by window start, in one vector: a run sorted by start, each
/// start once, followed by the cells of windows that came out of order, unsorted and
/// possibly repeated. Records come roughly in time order, so nearly every new window
/// extends the run; the others are sorted into it once they are as many as the run
/// (or [`SHORT`]), so the list stays within twice the windows and sorting costs a
/// logarithmic number of moves per cell added. Two lists merge by concatenation and
/// one sort of their two runs: a pass over both, where a tree would be walked for
/// every cell.
#[derive(Clone, Debug, Default)]
struct Cells {
    list: Vec<(i64, Cell)>,
    /// `list[..sorted]` is the run.
    sorted: usize,
    /// Where the latest record's cell is likely to be in `list` (checked before use).
    latest: usize,
}

impl Cells {
    /// Notes a request of `class` from `ip` at `time`, in the window starting at `start`.
    #[inline]
    fn add(&mut self, start: i64, class: Class, time: i64, ip: IpAddr) {
        match self.list.get_mut(self.latest) {
            Some((at, cell)) if *at == start => cell.add(class, time, ip),
            _ => {
                self.latest = self.slot(start);
                self.list[self.latest].1.add(class, time, ip);
            }
        }
    }

    /// Where the cell of the window starting at `start` is, added if it is not in the
    /// run (the unsorted tail is not searched: a repeat there is merged when sorted).
    fn slot(&mut self, start: i64) -> usize {
        let run = &self.list[..self.sorted];
        if let Ok(at) = run.binary_search_by_key(&start, |(s, _)| *s) {
            return at;
        }
        let extends_run = run.last().is_none_or(|(last, _)| *last < start);
        if extends_run && self.sorted == self.list.len() {
            self.sorted += 1;
        } else if self.list.len() - self.sorted >= self.sorted.max(SHORT) {
            self.sort();
            return self.slot(start);
        }
        push_short(&mut self.list, (start, Cell::default()));
        self.list.len() - 1
    }

    /// Sorts the whole list into the run, merging the cells of the same window.
    fn sort(&mut self) {
        self.list.sort_by_key(|(start, _)| *start);
        self.list.dedup_by(|(start, cell), (kept_start, kept)| {
            let same = start == kept_start;
            if same {
                kept.merge(cell);
            }
            same
        });
        self.sorted = self.list.len();
        self.latest = usize::MAX;
    }

    /// Adds every cell of `other`.
    fn merge(&mut self, other: Cells) {
        if self.list.is_empty() {
            *self = other;
            return;
        }
        self.list.extend(other.list);
        self.sort();
    }

    /// The cells in time order, each window once.
    fn in_order(&self) -> Cow<'_, [(i64, Cell)]> {
        if self.sorted == self.list.len() {
            return Cow::Borrowed(&self.list);
        }
        let mut all = self.clone();
        all.sort();
        Cow::Owned(all.list)
    }
}

/// Everything one requester did to one bucket.
#[derive(Clone, Debug, Default)]
pub struct RequesterStats {
    pub counts: Traffic,
    /// Time of the requester's first and last request (of any class).
    pub first: i64,
    pub last: i64,
    /// Requests per public address.
    pub public_ips: AddressCounts,
    /// What it did per window.
    cells: Cells,
}

impl RequesterStats {
    fn new(time: i64) -> Self {
        RequesterStats {
            first: time,
            last: time,
            ..RequesterStats::default()
        }
    }

    /// The first and last public request over all windows: `(first, last)`.
    pub fn public_span(&self) -> Option<(i64, i64)> {
        self.cells
            .list
            .iter()
            .filter_map(|(_, c)| c.public)
            .map(|p| (p.first.0, p.last.0))
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }

    /// Notes a request of `class` from `ip` at `time`, in the window starting at `start`.
    #[inline]
    fn add_cell(&mut self, start: i64, class: Class, time: i64, ip: IpAddr) {
        self.cells.add(start, class, time, ip);
    }

    /// What the requester did per window start, in time order; windows with only
    /// internal requests are absent.
    pub fn cells(&self) -> Cow<'_, [(i64, Cell)]> {
        self.cells.in_order()
    }

    /// Adds what `other` did.
    fn merge(&mut self, mut other: RequesterStats, ips_room: &mut usize) -> u64 {
        if self.counts.requests == 0 {
            self.first = other.first;
            self.last = other.last;
        } else {
            self.first = self.first.min(other.first);
            self.last = self.last.max(other.last);
        }
        self.counts += other.counts;
        let mut untracked = 0;
        self.public_ips
            .reserve(other.public_ips.len().min(*ips_room));
        for (ip, n) in std::mem::take(&mut other.public_ips).iter() {
            let room = *ips_room > 0;
            let known = self.public_ips.len();
            if self.public_ips.add(ip, n, room) {
                *ips_room -= self.public_ips.len() - known;
            } else {
                untracked += n;
            }
        }
        self.cells.merge(other.cells);
        untracked
    }
}

/// The requesters of a bucket, by principal: a short list, and a hash map from
/// principal to place once there are more than [`SHORT`].
#[derive(Clone, Debug, Default)]
pub struct Requesters {
    list: Vec<(Box<[u8]>, RequesterStats)>,
    index: Option<Box<Map<Box<[u8]>, usize>>>,
}

impl Requesters {
    /// How many requesters there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Are there none?
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Is this principal among them?
    pub fn contains_key(&self, who: &[u8]) -> bool {
        self.position(who).is_some()
    }

    /// Each requester and what it did, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &RequesterStats)> + '_ {
        self.list.iter().map(|(who, r)| (&**who, r))
    }

    #[inline]
    fn position(&self, who: &[u8]) -> Option<usize> {
        match &self.index {
            None => self.list.iter().position(|(k, _)| same_bytes(k, who)),
            Some(index) => index.get(who).copied(),
        }
    }

    /// The stats of `who`, added empty (first seen at `time`) if new.
    #[inline]
    fn entry(&mut self, who: &[u8], time: i64) -> &mut RequesterStats {
        let at = match self.position(who) {
            Some(at) => at,
            None => self.insert(who.into(), time),
        };
        &mut self.list[at].1
    }

    /// Adds `who` (not there yet, first seen at `time`) with empty stats; where it is.
    fn insert(&mut self, who: Box<[u8]>, time: i64) -> usize {
        let at = self.list.len();
        if at >= SHORT {
            let list = &self.list;
            let index = self.index.get_or_insert_with(|| {
                Box::new(
                    list.iter()
                        .enumerate()
                        .map(|(i, (k, _))| (k.clone(), i))
                        .collect(),
                )
            });
            index.insert(who.clone(), at);
        }
        push_short(&mut self.list, (who, RequesterStats::new(time)));
        at
    }
}

/// Requests per address, IPv4 and IPv6 apart: an IPv4 entry is a plain integer and its
/// count (16 bytes, where an `IpAddr` key takes 32), so more of them stay in cache. Most
/// buckets and requesters have no public address, or one: none takes no memory, one
/// takes a small box, and the maps are made for the second.
#[derive(Clone, Debug, Default)]
pub struct AddressCounts(Addresses);

#[derive(Clone, Debug, Default)]
enum Addresses {
    #[default]
    None,
    One(Box<(IpAddr, u64)>),
    Many(Box<Maps>),
}

#[derive(Clone, Debug, Default)]
struct Maps {
    v4: Map<u32, u64>,
    v6: Map<u128, u64>,
}

impl Maps {
    #[inline]
    fn add(&mut self, ip: IpAddr, n: u64, room: bool) -> bool {
        match ip {
            IpAddr::V4(a) => add_count(&mut self.v4, u32::from(a), n, room),
            IpAddr::V6(a) => add_count(&mut self.v6, u128::from(a), n, room),
        }
    }
}

impl AddressCounts {
    /// How many addresses are counted.
    pub fn len(&self) -> usize {
        match &self.0 {
            Addresses::None => 0,
            Addresses::One(_) => 1,
            Addresses::Many(m) => m.v4.len() + m.v6.len(),
        }
    }

    /// Is no address counted?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each address with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (IpAddr, u64)> + '_ {
        let (one, maps) = match &self.0 {
            Addresses::None => (None, None),
            Addresses::One(one) => (Some(**one), None),
            Addresses::Many(m) => (None, Some(&**m)),
        };
        let v4 = maps.into_iter().flat_map(|a| &a.v4);
        let v6 = maps.into_iter().flat_map(|a| &a.v6);
        one.into_iter()
            .chain(v4.map(|(&a, &n)| (Ipv4Addr::from(a).into(), n)))
            .chain(v6.map(|(&a, &n)| (Ipv6Addr::from(a).into(), n)))
    }

    /// Adds `n` to the count of `ip`; a new address only if there is `room`. `false` if
    /// it was not counted.
    #[inline]
    fn add(&mut self, ip: IpAddr, n: u64, room: bool) -> bool {
        match &mut self.0 {
            Addresses::Many(m) => m.add(ip, n, room),
            Addresses::One(one) if one.0 == ip => {
                one.1 += n;
                true
            }
            _ if !room => false,
            Addresses::None => {
                self.0 = Addresses::One(Box::new((ip, n)));
                true
            }
            Addresses::One(_) => {
                let mut maps = self.take_maps();
                let counted = maps.add(ip, n, room);
                self.0 = Addresses::Many(maps);
                counted
            }
        }
    }

    /// The maps, taken out: made (with the one address there was) if there were none.
    fn take_maps(&mut self) -> Box<Maps> {
        match std::mem::take(&mut self.0) {
            Addresses::Many(maps) => maps,
            Addresses::One(one) => {
                let mut maps = Box::<Maps>::default();
                maps.add(one.0, one.1, true);
                maps
            }
            Addresses::None => Box::default(),
        }
    }

    fn reserve(&mut self, additional: usize) {
        // Room for one more is made as it comes: a single address needs no map.
        if additional > 1 {
            let mut maps = self.take_maps();
            maps.v4.reserve(additional);
            self.0 = Addresses::Many(maps);
        }
    }
}

#[inline]
fn add_count<K: std::hash::Hash + Eq>(map: &mut Map<K, u64>, key: K, n: u64, room: bool) -> bool {
    match map.get_mut(&key) {
        Some(count) => *count += n,
        None if room => {
            map.insert(key, n);
        }
        None => return false,
    }
    true
}

/// The requests one VPC endpoint carried to a bucket (known from CloudTrail).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// The account that owns the endpoint, if CloudTrail said.
    pub account: Option<Box<[u8]>>,
    pub requests: u64,
    /// Requests denied through it (HTTP 403 `AccessDenied`, or `VpceAccessDenied`).
    pub denied: u64,
    /// Of those, how many its own policy denied (`VpceAccessDenied`).
    pub denied_by_endpoint_policy: u64,
    pub first: i64,
    pub last: i64,
}

impl EndpointStats {
    fn merge(&mut self, o: &EndpointStats) {
        if self.requests == 0 {
            *self = o.clone();
            return;
        }
        self.account = self.account.take().or_else(|| o.account.clone());
        self.requests += o.requests;
        self.denied += o.denied;
        self.denied_by_endpoint_policy += o.denied_by_endpoint_policy;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }
}

/// The window of the previous record: `[start, end)` and where it is stored.
#[derive(Clone, Copy, Debug, Default)]
struct Current {
    start: i64,
    end: i64,
    at: usize,
}

/// The VPC endpoints that carried a bucket's requests, by id: none for most buckets (only
/// CloudTrail names them), so the map is made for the first.
#[derive(Clone, Debug, Default)]
pub struct Endpoints(Option<Box<Map<Box<[u8]>, EndpointStats>>>);

impl Endpoints {
    /// How many endpoints there are.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// Are there none?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Is this endpoint among them?
    pub fn contains_key(&self, id: &[u8]) -> bool {
        self.0.as_ref().is_some_and(|m| m.contains_key(id))
    }

    /// Each endpoint and what it carried, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &EndpointStats)> + '_ {
        self.0
            .iter()
            .flat_map(|m| m.iter().map(|(id, e)| (&**id, e)))
    }

    /// The endpoints' ids, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.iter().map(|(id, _)| id)
    }

    /// What each endpoint carried, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &EndpointStats> + '_ {
        self.iter().map(|(_, e)| e)
    }

    fn get_mut(&mut self, id: &[u8]) -> Option<&mut EndpointStats> {
        self.0.as_mut().and_then(|m| m.get_mut(id))
    }

    fn insert(&mut self, id: Box<[u8]>, stats: EndpointStats) {
        self.0.get_or_insert_with(Box::default).insert(id, stats);
    }
}

/// Everything seen for one bucket.
#[derive(Clone, Debug, Default)]
pub struct BucketStats {
    pub counts: Traffic,
    pub first: i64,
    pub last: i64,
    /// The windows by start (seconds since the epoch, a multiple of the interval), in
    /// order of first appearance; see [`BucketStats::timeline`].
    windows: Vec<(i64, Window)>,
    /// Where each window start is in `windows`, once there are more than [`SHORT`].
    window_index: Option<Box<Map<i64, usize>>>,
    /// Records come roughly in time order, so most fall in the previous record's
    /// window: checking its bounds skips the division and the lookup. Empty (`0..0`)
    /// until the first record.
    current: Current,
    /// Per requester principal (see [`principal`]); `-` for anonymous requests.
    pub requesters: Requesters,
    /// Requests per public address, for the top talkers over the internet.
    pub public_ips: AddressCounts,
    /// Denied requests per private address: who was refused through the endpoint
    /// (rare, and bounded like the public addresses).
    pub denied_private_ips: AddressCounts,
    /// Public requests from addresses beyond [`TRACKED_PUBLIC_IPS`].
    pub untracked_public: u64,
    /// Per VPC endpoint that carried requests, when the records name it (CloudTrail).
    pub endpoints: Endpoints,
    /// The bucket's region, when a record says it (CloudTrail's `awsRegion`).
    pub region: Option<Box<[u8]>>,
    /// (requester, public address) pairs counted in the requesters' `public_ips`.
    requester_ips: usize,
    /// Public requests whose address was not counted for their requester, past
    /// [`TRACKED_REQUESTER_IPS`].
    pub untracked_requester_public: u64,
}

impl BucketStats {
    fn new(time: i64) -> Self {
        BucketStats {
            first: time,
            last: time,
            ..BucketStats::default()
        }
    }

    /// The window holding `time`, and its start.
    #[inline]
    fn window_at(&mut self, time: i64, windows: (i64, Zone)) -> (i64, &mut Window) {
        let current = self.current;
        if !(current.start <= time && time < current.end) {
            let (start, end) = windows.1.window(time, windows.0);
            self.current = Current {
                start,
                end,
                at: self.window_slot(start),
            };
        }
        (self.current.start, &mut self.windows[self.current.at].1)
    }

    /// Where the window starting at `start` is in `windows`, adding it if new.
    fn window_slot(&mut self, start: i64) -> usize {
        let found = match &self.window_index {
            None => self.windows.iter().position(|(s, _)| *s == start),
            Some(index) => index.get(&start).copied(),
        };
        if let Some(at) = found {
            return at;
        }
        let at = self.windows.len();
        if at >= SHORT {
            let windows = &self.windows;
            let index = self.window_index.get_or_insert_with(|| {
                Box::new(
                    windows
                        .iter()
                        .enumerate()
                        .map(|(i, (s, _))| (*s, i))
                        .collect(),
                )
            });
            index.insert(start, at);
        }
        push_short(&mut self.windows, (start, Window::default()));
        at
    }

    #[inline]
    fn add(&mut self, r: &Record<'_>, class: Class, windows: (i64, Zone)) {
        let outcome = Outcome::of(r.http_status, r.error_code);
        let bytes = r.bytes_sent.unwrap_or(0);
        self.counts.add(class, outcome, bytes);
        self.first = self.first.min(r.time);
        self.last = self.last.max(r.time);

        let (start, window) = self.window_at(r.time, windows);
        window.counts.add(class, outcome, bytes);
        match (class, r.remote_ip) {
            (Class::Private, Some(ip)) => {
                window.private_ips.insert(ip);
                if outcome == Outcome::Denied {
                    let room = self.denied_private_ips.len() < TRACKED_PUBLIC_IPS;
                    self.denied_private_ips.add(ip, 1, room);
                }
            }
            (Class::Public, Some(ip)) => {
                window.public_ips.insert(ip);
                self.count_public(ip, 1);
            }
            _ => {}
        }

        let who = principal(r.requester.unwrap_or(b"-"));
        let key = if self.requesters.len() < TRACKED_REQUESTERS || self.requesters.contains_key(who)
        {
            who
        } else {
            OTHER_REQUESTERS
        };
        let stats = self.requesters.entry(key, r.time);
        stats.counts.add(class, outcome, bytes);
        stats.first = stats.first.min(r.time);
        stats.last = stats.last.max(r.time);
        if let (Some(ip), Class::Private | Class::Public) = (r.remote_ip, class) {
            stats.add_cell(start, class, r.time, ip);
            if class == Class::Public {
                let known = stats.public_ips.len();
                let room = self.requester_ips < TRACKED_REQUESTER_IPS;
                if stats.public_ips.add(ip, 1, room) {
                    self.requester_ips += stats.public_ips.len() - known;
                } else {
                    self.untracked_requester_public += 1;
                }
            }
        }
        if r.vpc_endpoint_id.is_some() || r.region.is_some() {
            self.add_cloudtrail_fields(r, outcome);
        } else if self.region.is_none() && r.host_header.is_some() {
            self.region = r.host_header.and_then(region_of_host).map(Box::from);
        }
    }

    /// What only CloudTrail (or a record joined with it) says: the endpoint, the region.
    fn add_cloudtrail_fields(&mut self, r: &Record<'_>, outcome: Outcome) {
        if self.region.is_none() {
            self.region = r.region.map(Box::from);
        }
        let Some(id) = r.vpc_endpoint_id else {
            return;
        };
        let one = EndpointStats {
            account: r.vpc_endpoint_account.map(Box::from),
            requests: 1,
            denied: u64::from(outcome == Outcome::Denied),
            denied_by_endpoint_policy: u64::from(
                r.error_code == Some(VPCE_ACCESS_DENIED.as_bytes()),
            ),
            first: r.time,
            last: r.time,
        };
        self.add_endpoint(id, &one);
    }

    fn add_endpoint(&mut self, id: &[u8], stats: &EndpointStats) {
        let key = if self.endpoints.contains_key(id) || self.endpoints.len() < TRACKED_ENDPOINTS {
            id
        } else {
            OTHER_ENDPOINTS
        };
        match self.endpoints.get_mut(key) {
            Some(mine) => mine.merge(stats),
            None => {
                self.endpoints.insert(key.into(), stats.clone());
            }
        }
    }

    #[inline]
    fn count_public(&mut self, ip: IpAddr, n: u64) {
        let room = self.public_ips.len() < TRACKED_PUBLIC_IPS;
        if !self.public_ips.add(ip, n, room) {
            self.untracked_public += n;
        }
    }

    fn merge(&mut self, o: BucketStats) {
        if o.counts.requests == 0 {
            return;
        }
        if self.counts.requests == 0 {
            *self = o;
            return;
        }
        self.counts += o.counts;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        for (start, w) in o.windows {
            let known = self.windows.len();
            let at = self.window_slot(start);
            if at == known {
                // A window only they have is moved over whole.
                self.windows[at].1 = w;
                continue;
            }
            let mine = &mut self.windows[at].1;
            mine.counts += w.counts;
            mine.private_ips.merge(&w.private_ips);
            mine.public_ips.merge(&w.public_ips);
        }
        self.untracked_public += o.untracked_public;
        let room = TRACKED_PUBLIC_IPS.saturating_sub(self.public_ips.len());
        self.public_ips.reserve(o.public_ips.len().min(room));
        for (ip, n) in o.public_ips.iter() {
            self.count_public(ip, n);
        }
        for (ip, n) in o.denied_private_ips.iter() {
            let room = self.denied_private_ips.len() < TRACKED_PUBLIC_IPS;
            self.denied_private_ips.add(ip, n, room);
        }
        if self.region.is_none() {
            self.region = o.region;
        }
        for (id, e) in o.endpoints.iter() {
            self.add_endpoint(id, e);
        }
        self.untracked_requester_public += o.untracked_requester_public;
        let mut ips_room = TRACKED_REQUESTER_IPS.saturating_sub(self.requester_ips);
        for (who, r) in o.requesters.list {
            let key = if self.requesters.len() < TRACKED_REQUESTERS
                || self.requesters.contains_key(&who)
            {
                &*who
            } else {
                OTHER_REQUESTERS
            };
            let mine = self.requesters.entry(key, r.first);
            self.untracked_requester_public += mine.merge(r, &mut ips_room);
        }
        self.requester_ips = TRACKED_REQUESTER_IPS - ips_room;
    }

    /// How many windows had requests.
    pub fn timeline_len(&self) -> usize {
        self.windows.len()
    }

    /// The windows in time order.
    pub fn timeline(&self) -> Vec<(i64, &Window)> {
        let mut all: Vec<_> = self.windows.iter().map(|(k, v)| (*k, v)).collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all
    }
}

/// The region in an S3 host name: `bucket.s3.ap-northeast-2.amazonaws.com`,
/// `s3.dualstack.eu-west-1.amazonaws.com`, `bucket.s3-us-west-2.amazonaws.com`, or an
/// interface endpoint's `bucket.vpce-….s3.ap-northeast-2.vpce.amazonaws.com`. The
/// global `s3.amazonaws.com` names none.
fn region_of_host(host: &[u8]) -> Option<&[u8]> {
    let host = host.strip_suffix(b".amazonaws.com")?;
    let labels: Vec<&[u8]> = host.split(|&b| b == b'.').collect();
    let is_region = |l: &[u8]| {
        let parts: Vec<&[u8]> = l.split(|&b| b == b'-').collect();
        parts.len() >= 3
            && parts[0].len() == 2
            && parts[0].iter().all(u8::is_ascii_lowercase)
            && parts
                .last()
                .is_some_and(|p| p.iter().all(u8::is_ascii_digit) && !p.is_empty())
    };
    labels.iter().enumerate().find_map(|(i, &l)| {
        if l == b"s3" {
            labels[i + 1..]
                .iter()
                .find(|&&next| next != b"dualstack")
                .copied()
                .filter(|r| is_region(r))
        } else {
            l.strip_prefix(b"s3-").filter(|r| is_region(r))
        }
    })
}

/// `a == b`, without a call to memcmp when both are 8 to 16 bytes long (most bucket
/// names) or differ in their last 8 bytes (most principals of one account's roles):
/// records of several buckets and requesters interleave, and most comparisons fail.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], at: usize| s[at..].first_chunk::<8>().map(|w| u64::from_le_bytes(*w));
    match a.len() {
        len if len != b.len() => false,
        8..=16 => word(a, 0) == word(b, 0) && word(a, a.len() - 8) == word(b, b.len() - 8),
        // Names of one length mostly differ near their end (`role/app-1`, `role/app-2`):
        // their last word tells most of them apart without the whole comparison.
        17.. => word(a, a.len() - 8) == word(b, b.len() - 8) && a == b,
        _ => a == b,
    }
}

/// The aggregate of any number of records.
#[derive(Clone, Debug)]
pub struct Aggregate {
    interval: i64,
    zone: Zone,
    /// The buckets with their names, in order of first appearance. Each bucket's
    /// counters are boxed: merging aggregates moves a pointer, and the list grows by
    /// 24 bytes a bucket, not by a copy of all of them.
    buckets: Vec<(Box<[u8]>, Box<BucketStats>)>,
    /// Where each bucket is in `buckets`, found by its name's hash: 4 bytes a bucket,
    /// the name itself is kept once, in `buckets`.
    index: HashTable<u32>,
    /// Hashes the names for `index`.
    hasher: RandomState,
    /// Where the previous record's bucket is in `buckets`: a log object holds the
    /// records of one bucket, so comparing the name skips the hashing.
    last: usize,
}

impl Aggregate {
    /// An empty aggregate with windows of `interval` seconds, aligned in UTC.
    pub fn new(interval: i64) -> Self {
        Aggregate::in_zone(interval, Zone::Utc)
    }

    /// An empty aggregate with windows of `interval` seconds (dividing a day, or a
    /// week) cut in `zone` (see [`Zone::window`]).
    pub fn in_zone(interval: i64, zone: Zone) -> Self {
        assert!(interval > 0, "interval must be positive");
        Aggregate {
            interval,
            zone,
            buckets: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::default(),
            last: 0,
        }
    }

    /// The window length in seconds.
    pub fn interval(&self) -> i64 {
        self.interval
    }

    /// The zone windows are cut in.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The start of the window holding `time`.
    #[inline]
    pub fn window_start(&self, time: i64) -> i64 {
        self.zone.window(time, self.interval).0
    }

    /// Counts one record of the given class.
    #[inline]
    pub fn add(&mut self, r: &Record<'_>, class: Class) {
        let name = r.bucket.unwrap_or(b"-");
        let at = match self.buckets.get(self.last) {
            Some((last, _)) if same_bytes(last, name) => self.last,
            _ => self.bucket_slot(name, r.time),
        };
        self.last = at;
        self.buckets[at].1.add(r, class, (self.interval, self.zone));
    }

    /// Where the bucket `name` is in `buckets`, adding it (first seen at `time`) if new.
    fn bucket_slot(&mut self, name: &[u8], time: i64) -> usize {
        match self.find(name) {
            Some(at) => at,
            None => self.push(name.into(), Box::new(BucketStats::new(time))),
        }
    }

    /// Where the bucket `name` is in `buckets`.
    fn find(&self, name: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one(name);
        let buckets = &self.buckets;
        self.index
            .find(hash, |&at| same_bytes(&buckets[at as usize].0, name))
            .map(|&at| at as usize)
    }

    /// Adds a bucket that is not there yet; where it is.
    fn push(&mut self, name: Box<[u8]>, stats: Box<BucketStats>) -> usize {
        let at = self.buckets.len();
        let hash = self.hasher.hash_one(&*name);
        self.buckets.push((name, stats));
        let (buckets, hasher) = (&self.buckets, &self.hasher);
        self.index.insert_unique(hash, at as u32, |&i| {
            hasher.hash_one(&*buckets[i as usize].0)
        });
        at
    }

    /// Folds another aggregate (of the same interval) into this one.
    pub fn merge(&mut self, other: Aggregate) {
        debug_assert_eq!((self.interval, self.zone), (other.interval, other.zone));
        // Buckets seen on both sides merge in parallel: the last merge of a run waits
        // for nothing else.
        let mut theirs: Vec<Option<Box<BucketStats>>> = Vec::new();
        theirs.resize_with(self.buckets.len(), || None);
        for (name, stats) in other.buckets {
            match self.find(&name) {
                Some(at) => theirs[at] = Some(stats),
                None => {
                    self.push(name, stats);
                }
            }
        }
        self.buckets
            .par_iter_mut()
            .zip(theirs)
            .for_each(|((_, mine), theirs)| {
                if let Some(theirs) = theirs {
                    mine.merge(*theirs);
                }
            });
    }

    /// The buckets, sorted by name.
    pub fn buckets(&self) -> Vec<(&[u8], &BucketStats)> {
        self.by_name()
            .into_iter()
            .map(|at| self.bucket(at))
            .collect()
    }

    /// How many buckets there are.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Are there none?
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The bucket at `at` (`0..len()`, in no particular order), with its name.
    pub fn bucket(&self, at: u32) -> (&[u8], &BucketStats) {
        let (name, stats) = &self.buckets[at as usize];
        (name, stats)
    }

    /// The places of the buckets (see [`Aggregate::bucket`]) in name order: 4 bytes a
    /// bucket, where [`Aggregate::buckets`] takes 24.
    pub fn by_name(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.buckets.len() as u32).collect();
        order
            .sort_unstable_by(|&a, &b| self.buckets[a as usize].0.cmp(&self.buckets[b as usize].0));
        order
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::classify::Classifier;

    fn rec(bucket: &'static str, time: i64, ip: Option<&str>, status: u16) -> Record<'static> {
        Record {
            bucket: Some(bucket.as_bytes()),
            time,
            remote_ip: ip.map(|s| s.parse().unwrap()),
            requester: Some(b"arn:aws:sts::111122223333:assumed-role/r/i-1"),
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
    fn same_bytes_is_slice_equality() {
        let names: [&[u8]; 11] = [
            b"data-lake-07",
            b"data-lake-17",
            b"",
            b"a",
            b"abcdefg",
            b"abcdefgh",
            b"abcdefgX",
            b"xbcdefgh",
            b"logs-2024-prod-x",
            b"logs-2024-prod-y",
            // Its first and last eight bytes are those of `abcdefgh`.
            b"abcdefghabcdefgh",
        ];
        for a in names {
            for b in names {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
        let long = [b'a'; 17];
        for at in [0, 8, 16] {
            let mut other = long;
            other[at] = b'b';
            assert!(
                same_bytes(&long, &long) && !same_bytes(&long, &other),
                "{at}"
            );
        }
    }

    #[test]
    fn regions_come_from_s3_host_names() {
        for (host, region) in [
            (
                "shared-data-prod.s3.ap-northeast-2.amazonaws.com",
                Some("ap-northeast-2"),
            ),
            ("s3.dualstack.eu-west-1.amazonaws.com", Some("eu-west-1")),
            ("b.s3-us-west-2.amazonaws.com", Some("us-west-2")),
            (
                "b.vpce-0a1b.s3.ap-northeast-2.vpce.amazonaws.com",
                Some("ap-northeast-2"),
            ),
            ("b.s3.us-gov-west-1.amazonaws.com", Some("us-gov-west-1")),
            ("s3.amazonaws.com", None),
            ("b.s3.amazonaws.com", None),
            ("example.com", None),
            ("s3.evil.amazonaws.com", None),
            // Almost regions: two parts, a three-letter start, capitals, no number.
            ("b.s3.us-1.amazonaws.com", None),
            ("b.s3.abc-east-1.amazonaws.com", None),
            ("b.s3.US-EAST-1.amazonaws.com", None),
            ("b.s3.us-east-x.amazonaws.com", None),
            ("b.s3.us-east-.amazonaws.com", None),
        ] {
            assert_eq!(
                region_of_host(host.as_bytes()),
                region.map(str::as_bytes),
                "{host}"
            );
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
        let timeline = stats.timeline();
        let (s0, w0) = timeline[0];
        assert_eq!(s0, 0);
        assert_eq!((w0.private_ips.count(), w0.public_ips.count()), (1, 2));
        assert_eq!(timeline[1].0, 3600);
        assert_eq!(timeline[1].1.counts.internal, 1);
        assert_eq!((stats.first, stats.last), (0, 3600));
        assert_eq!(stats.public_ips.len(), 2);
    }

    #[test]
    fn denials_are_told_apart_by_class_and_error_code() {
        let with_code = |ip: &str, status: u16, code: &'static str| Record {
            error_code: Some(code.as_bytes()),
            ..rec("b", 0, Some(ip), status)
        };
        let mut agg = Aggregate::new(3600);
        add_all(
            &mut agg,
            &[
                with_code("10.0.3.57", 403, "AccessDenied"),
                with_code("10.0.3.57", 403, "AccessDenied"),
                with_code("10.0.3.58", 200, "-"),
                with_code("52.1.2.3", 403, "AccessDenied"),
                with_code("52.1.2.4", 403, "SignatureDoesNotMatch"),
                with_code("52.1.2.5", 400, "ExpiredToken"),
                with_code("52.1.2.6", 404, "NoSuchKey"),
            ],
        );
        let stats = agg.buckets()[0].1;
        let c = stats.counts;
        assert_eq!((c.private, c.private_denied), (3, 2));
        assert_eq!((c.public, c.public_denied, c.public_rejected), (4, 1, 2));
        assert_eq!(c.public_allowed(), 1);
        let window = stats.timeline()[0].1.counts;
        assert_eq!(window, c);
        let denied: Vec<_> = stats.denied_private_ips.iter().collect();
        assert_eq!(denied, [("10.0.3.57".parse().unwrap(), 2)]);
    }

    /// Each window counts the denials and refusals of its own requests, whatever
    /// order the records come in and however the input was split between workers.
    #[test]
    fn denials_are_counted_in_their_own_window() {
        let coded = |time: i64, ip: &str, status: u16, code: &'static str| Record {
            error_code: Some(code.as_bytes()),
            ..rec("b", time, Some(ip), status)
        };
        let records = [
            coded(7200, "10.0.0.1", 200, "-"),
            coded(10, "10.0.0.1", 403, "AccessDenied"),
            coded(3700, "52.1.2.3", 403, "AccessDenied"),
            coded(7300, "52.1.2.4", 403, "SignatureDoesNotMatch"),
            coded(20, "52.1.2.3", 200, "-"),
            coded(3800, "52.1.2.3", 403, "AccessDenied"),
            coded(7400, "10.0.0.2", 403, "AccessDenied"),
        ];
        // (private, private_denied, public, public_denied, public_rejected) per window.
        type Counts = (u64, u64, u64, u64, u64);
        let expected: [(i64, Counts); 3] = [
            (0, (1, 1, 1, 0, 0)),
            (3600, (0, 0, 2, 2, 0)),
            (7200, (2, 1, 1, 0, 1)),
        ];
        let per_window = |agg: &Aggregate| -> Vec<(i64, Counts)> {
            agg.buckets()[0]
                .1
                .timeline()
                .iter()
                .map(|(start, w)| {
                    let c = w.counts;
                    let counts = (
                        c.private,
                        c.private_denied,
                        c.public,
                        c.public_denied,
                        c.public_rejected,
                    );
                    (*start, counts)
                })
                .collect()
        };
        let mut whole = Aggregate::new(3600);
        add_all(&mut whole, &records);
        assert_eq!(per_window(&whole), expected);
        let (mut first, mut second) = (Aggregate::new(3600), Aggregate::new(3600));
        add_all(&mut first, &records[4..]);
        add_all(&mut second, &records[..4]);
        first.merge(second);
        assert_eq!(per_window(&first), expected);
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
                    .timeline()
                    .iter()
                    .map(|(k, w)| (*k, w.counts, w.private_ips.count()))
                    .collect();
                let w2: Vec<_> = s2
                    .timeline()
                    .iter()
                    .map(|(k, w)| (*k, w.counts, w.private_ips.count()))
                    .collect();
                assert_eq!(w1, w2);
                let r1: Vec<_> = s1.requesters.iter().map(|(_, r)| r.cells()).collect();
                let r2: Vec<_> = s2.requesters.iter().map(|(_, r)| r.cells()).collect();
                assert_eq!(r1, r2);
            }
        }
    }

    /// Everything an aggregate holds, in a canonical order.
    fn snapshot(agg: &Aggregate) -> String {
        fn members(d: &Distinct) -> Option<Vec<IpAddr>> {
            match d {
                Distinct::Exact { v4, v6 } => Some(Distinct::addresses(v4, v6).collect()),
                Distinct::Estimated(_) => None,
            }
        }
        let mut out = String::new();
        for (name, s) in agg.buckets() {
            let timeline: Vec<_> = s
                .timeline()
                .into_iter()
                .map(|(start, w)| {
                    let private = members(&w.private_ips);
                    (start, w.counts, private, members(&w.public_ips))
                })
                .collect();
            let mut requesters: Vec<_> = s
                .requesters
                .iter()
                .map(|(who, r)| {
                    let mut ips: Vec<_> = r.public_ips.iter().collect();
                    ips.sort();
                    let span = (r.first, r.last, r.public_span());
                    (who.to_vec(), r.counts, r.cells(), span, ips)
                })
                .collect();
            requesters.sort_by(|a, b| a.0.cmp(&b.0));
            let mut public: Vec<_> = s.public_ips.iter().collect();
            public.sort();
            let mut denied: Vec<_> = s.denied_private_ips.iter().collect();
            denied.sort();
            out += &format!(
                "{name:?} {:?} {}..{} {timeline:?} {requesters:?} {public:?} {denied:?} {}\n",
                s.counts, s.first, s.last, s.untracked_public
            );
        }
        out
    }

    /// The aggregate of `records` without any of `add`'s shortcuts: each record in an
    /// aggregate of its own, merged.
    fn one_by_one(interval: i64, records: &[Record<'static>]) -> Aggregate {
        let mut all = Aggregate::new(interval);
        for r in records {
            let mut one = Aggregate::new(interval);
            add_all(&mut one, std::slice::from_ref(r));
            all.merge(one);
        }
        all
    }

    #[test]
    fn shortcuts_for_the_previous_bucket_window_and_cell_change_nothing() {
        let who: [&'static [u8]; 3] = [
            b"arn:aws:sts::111122223333:assumed-role/r/i-1",
            b"arn:aws:sts::111122223333:assumed-role/r/i-2",
            b"arn:aws:iam::111122223333:user/alice",
        ];
        // Alternating buckets, times out of order, on both sides of window boundaries
        // and of zero, equal times from different addresses.
        let times = [
            0, -1, 3599, 3600, -3600, -3601, 3600, 7199, 100, 100, 100, 7200, 3599, -7201, 50, 50,
            0, 86_399, 86_400, -86_401, 7200, 3601,
        ];
        let ips = ["10.0.0.2", "52.1.2.3", "10.0.0.1", "52.1.2.1", "0.0.0.0"];
        let records: Vec<_> = times
            .iter()
            .enumerate()
            .map(|(i, &time)| Record {
                bucket: Some(if i % 5 < 3 { &b"a"[..] } else { &b"bb"[..] }),
                time,
                remote_ip: (i % 7 != 6).then(|| ips[i * 3 % ips.len()].parse().unwrap()),
                requester: Some(who[i % 4 % 3]),
                http_status: Some(if i % 4 == 0 { 403 } else { 200 }),
                bytes_sent: Some(i as u64),
                ..Record::default()
            })
            .chain(
                // Same bucket, principal, class and second: the address decides.
                [
                    (7, "52.1.2.3"),
                    (7, "52.1.2.1"),
                    (7, "52.1.2.2"),
                    (6, "52.1.2.0"),
                ]
                .map(|(time, ip)| Record {
                    bucket: Some(b"a"),
                    time,
                    remote_ip: Some(ip.parse().unwrap()),
                    requester: Some(who[0]),
                    ..Record::default()
                }),
            )
            .collect();
        for interval in [60, 300, 3600, 86_400] {
            let mut sequential = Aggregate::new(interval);
            add_all(&mut sequential, &records);
            let expected = snapshot(&one_by_one(interval, &records));
            assert_eq!(snapshot(&sequential), expected, "interval {interval}");
            let mut reversed: Vec<_> = records.clone();
            reversed.reverse();
            let mut backwards = Aggregate::new(interval);
            add_all(&mut backwards, &reversed);
            assert_eq!(snapshot(&backwards), expected, "interval {interval}");
        }
    }

    #[test]
    fn address_counts_go_from_none_to_one_to_maps_unchanged() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let sorted = |c: &AddressCounts| {
            let mut all: Vec<_> = c.iter().collect();
            all.sort();
            all
        };
        let mut c = AddressCounts::default();
        assert!(c.is_empty());
        assert!(!c.add(ip("52.1.2.3"), 1, false), "no room, not counted");
        assert!(c.is_empty());
        assert!(c.add(ip("52.1.2.3"), 2, true));
        assert!(
            c.add(ip("52.1.2.3"), 3, false),
            "a known address needs no room"
        );
        assert!(matches!(c.0, Addresses::One(_)));
        assert_eq!(sorted(&c), [(ip("52.1.2.3"), 5)]);
        assert!(!c.add(ip("2001:db8::1"), 1, false));
        assert!(
            matches!(c.0, Addresses::One(_)),
            "a refused address makes no map"
        );
        assert!(c.add(ip("2001:db8::1"), 4, true));
        assert!(c.add(ip("52.1.2.4"), 1, true));
        assert!(matches!(c.0, Addresses::Many(_)));
        assert_eq!(c.len(), 3);
        assert_eq!(
            sorted(&c),
            [
                (ip("52.1.2.3"), 5),
                (ip("52.1.2.4"), 1),
                (ip("2001:db8::1"), 4)
            ]
        );
        let mut one = AddressCounts::default();
        one.add(ip("10.0.0.1"), 1, true);
        one.reserve(1);
        assert!(matches!(one.0, Addresses::One(_)), "room for one is no map");
        one.reserve(10);
        assert_eq!(sorted(&one), [(ip("10.0.0.1"), 1)]);
    }

    #[test]
    fn short_lists_of_windows_and_requesters_grow_into_indexed_ones_unchanged() {
        // 30 windows and 20 requesters in a scrambled order: both lists pass SHORT.
        let names: Vec<Vec<u8>> = (0..20)
            .map(|i| format!("arn:aws:iam::111122223333:user/u{i}").into_bytes())
            .collect();
        let names: &'static [Vec<u8>] = Box::leak(names.into_boxed_slice());
        let records: Vec<_> = (0..600u64)
            .map(|i| {
                let k = i * 7919 % 600;
                Record {
                    bucket: Some(b"bkt"),
                    time: (k % 30) as i64 * 3600 + (k % 11) as i64,
                    remote_ip: Some(
                        if k % 3 == 0 { "52.1.2.3" } else { "10.0.0.1" }
                            .parse()
                            .unwrap(),
                    ),
                    requester: Some(&names[(k % 20) as usize]),
                    http_status: Some(200),
                    ..Record::default()
                }
            })
            .collect();
        let mut sequential = Aggregate::new(3600);
        add_all(&mut sequential, &records);
        let stats = sequential.buckets()[0].1;
        assert_eq!((stats.timeline().len(), stats.requesters.len()), (30, 20));
        assert!(stats.requesters.contains_key(&names[19]));
        let expected = snapshot(&one_by_one(3600, &records));
        assert_eq!(snapshot(&sequential), expected);
        for split in [5, 300] {
            let (mut left, mut right) = (Aggregate::new(3600), Aggregate::new(3600));
            add_all(&mut left, &records[..split]);
            add_all(&mut right, &records[split..]);
            left.merge(right);
            assert_eq!(snapshot(&left), expected, "split {split}");
        }
    }

    #[test]
    fn distinct_counts_are_exact_then_estimated() {
        let ip = |i: u32| IpAddr::from((0x3400_0000u32 + i).to_be_bytes());
        let mut d = Distinct::default();
        for i in 0..EXACT_DISTINCT as u32 {
            d.insert(ip(i));
            d.insert(ip(i));
        }
        assert!(d.is_exact());
        assert_eq!(d.count(), EXACT_DISTINCT);
        let mut big = Distinct::default();
        for i in 0..50_000 {
            big.insert(ip(i));
        }
        assert!(!big.is_exact());
        let estimate = big.count() as f64;
        assert!((estimate - 50_000.0).abs() / 50_000.0 < 0.05, "{estimate}");
        // Merging halves gives the same estimate as counting the whole.
        let (mut a, mut b) = (Distinct::default(), Distinct::default());
        for i in 0..50_000 {
            if i % 2 == 0 {
                a.insert(ip(i))
            } else {
                b.insert(ip(i))
            }
        }
        a.merge(&b);
        assert_eq!(a.count(), big.count());
        let mut small = Distinct::default();
        small.insert(ip(1));
        small.merge(&big);
        assert_eq!(small.count(), big.count());
    }

    #[test]
    fn short_lists_grow_one_entry_at_a_time_then_geometrically() {
        let mut list = Vec::new();
        for i in 0..SHORT {
            push_short(&mut list, i);
            assert_eq!(list.capacity(), list.len(), "no spare room up to SHORT");
        }
        push_short(&mut list, SHORT);
        assert!(
            list.capacity() > SHORT + 1,
            "past SHORT a list grows by more than one entry: {}",
            list.capacity()
        );
    }

    #[test]
    fn distinct_addresses_of_both_families_count_together_towards_the_exact_limit() {
        let v4 = |i: u32| IpAddr::from(Ipv4Addr::from(0x3400_0000u32 + i));
        let v6 = |i: u128| IpAddr::from(Ipv6Addr::from(0x2001_0db8_u128 << 96 | i));
        let set = |four: u32, six: u128| {
            let mut d = Distinct::default();
            (0..four).for_each(|i| d.insert(v4(i)));
            (0..six).for_each(|i| d.insert(v6(i)));
            d
        };
        assert_eq!(set(1, 2).count(), 3);
        assert!(set(512, 512).is_exact());
        assert!(
            !set(600, 600).is_exact(),
            "1200 addresses are past the limit"
        );
        assert!(!set(0, EXACT_DISTINCT as u128 + 1).is_exact());
        // Merged: exactly the limit stays exact, one more is estimated.
        let mut half = set(512, 0);
        half.merge(&set(0, 512));
        assert!(half.is_exact());
        assert_eq!(half.count(), EXACT_DISTINCT);
        let mut over = set(1, 0);
        over.merge(&set(0, EXACT_DISTINCT as u128));
        assert!(!over.is_exact());
        // The union likewise, and it holds the addresses of every set.
        let union = Distinct::union([&set(3, 0), &set(0, 2), &set(2, 1)]);
        assert!(union.is_exact());
        assert_eq!(union.count(), 5);
        let at_limit = Distinct::union([&set(512, 0), &set(0, 512)]);
        assert!(at_limit.is_exact());
        assert_eq!(at_limit.count(), EXACT_DISTINCT);
        assert!(!Distinct::union([&set(513, 0), &set(0, 512)]).is_exact());
    }

    /// Requests of one requester in windows of 100 s, in the orders logs can come in
    /// (in time order, backwards, shuffled, two windows in turn): the cells read back
    /// in time order, one per window, as a map of every request says; the list never
    /// holds more than twice the windows (plus [`SHORT`]); and two halves merged in
    /// either order give the same cells.
    #[test]
    fn cells_come_out_in_time_order_whatever_order_the_requests_came_in() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |below: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % below
        };
        let mut orders: Vec<Vec<i64>> = vec![
            (0..500).collect(),
            (0..500).rev().collect(),
            (0..500).map(|i| i / 2 * 2 + (1 - i % 2)).collect(),
            (0..500).map(|i| [7, 3][i as usize % 2]).collect(),
        ];
        for windows in [3, 40, 1000] {
            orders.push((0..600).map(|_| next(windows) as i64).collect());
        }
        for order in orders {
            let requests: Vec<(i64, Class, i64, IpAddr)> = order
                .iter()
                .map(|&w| {
                    let class = if next(3) == 0 {
                        Class::Public
                    } else {
                        Class::Private
                    };
                    let ip = IpAddr::from([10, 0, 0, next(4) as u8]);
                    (w * 100, class, w * 100 + next(100) as i64, ip)
                })
                .collect();
            let mut model: BTreeMap<i64, Cell> = BTreeMap::new();
            let mut cells = Cells::default();
            for &(start, class, time, ip) in &requests {
                model.entry(start).or_default().add(class, time, ip);
                cells.add(start, class, time, ip);
                assert!(cells.list.len() <= 2 * model.len() + SHORT, "{order:?}");
            }
            let expected: Vec<(i64, Cell)> = model.into_iter().collect();
            assert_eq!(&*cells.in_order(), &expected[..], "{order:?}");
            let half = requests.len() / 2;
            let (mut a, mut b) = (Cells::default(), Cells::default());
            for &(start, class, time, ip) in &requests[..half] {
                a.add(start, class, time, ip);
            }
            for &(start, class, time, ip) in &requests[half..] {
                b.add(start, class, time, ip);
            }
            let (mut ab, mut ba) = (a.clone(), b.clone());
            ab.merge(b);
            ba.merge(a);
            assert_eq!(&*ab.in_order(), &expected[..], "{order:?}");
            assert_eq!(&*ba.in_order(), &expected[..], "{order:?}");
        }
    }

    /// Requests in time order, several per window, keep the cells one sorted run: the
    /// common case reads them back without a copy.
    #[test]
    fn cells_of_requests_in_time_order_stay_one_sorted_run() {
        let mut cells = Cells::default();
        let ip = IpAddr::from([10, 0, 0, 1]);
        for time in 0..1_000 {
            cells.add(time / 60 * 60, Class::Private, time, ip);
            assert_eq!(cells.sorted, cells.list.len(), "at {time}");
        }
        assert_eq!(cells.list.len(), 17);
        assert!(matches!(cells.in_order(), Cow::Borrowed(_)));
    }

    /// Two sorted sets merged hold each value of either once, in order, whether they
    /// are empty, one follows the other, they touch at one value or interleave.
    #[test]
    fn sorted_sets_merge_into_their_union() {
        let cases: [(&[u32], &[u32]); 9] = [
            (&[], &[]),
            (&[], &[1, 2]),
            (&[1, 2], &[]),
            (&[1, 2], &[3, 4]),
            (&[3, 4], &[1, 2]),
            (&[1, 2], &[2, 3]),
            (&[2, 3], &[1, 2]),
            (&[1, 3, 5, 7], &[2, 3, 6, 7, 9]),
            (&[1, 2, 3], &[1, 2, 3]),
        ];
        for (mine, theirs) in cases {
            let mut set = mine.to_vec();
            merge_sorted(&mut set, theirs);
            let union: std::collections::BTreeSet<u32> =
                mine.iter().chain(theirs).copied().collect();
            assert_eq!(
                set,
                union.into_iter().collect::<Vec<_>>(),
                "{mine:?} {theirs:?}"
            );
        }
    }

    /// The earliest and latest request of a class in a window; equal times are told
    /// apart by the address, so the result does not depend on the order of records.
    #[test]
    fn a_cell_keeps_the_earliest_and_latest_request_whatever_the_order() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let mut cell = Cell::default();
        cell.add(Class::Public, 5, ip("52.0.0.2"));
        cell.add(Class::Public, 5, ip("52.0.0.9"));
        cell.add(Class::Public, 5, ip("52.0.0.1"));
        let fives = FirstLast {
            first: (5, ip("52.0.0.1")),
            last: (5, ip("52.0.0.9")),
        };
        assert_eq!(cell.public, Some(fives));
        cell.add(Class::Public, 3, ip("52.0.0.7"));
        cell.add(Class::Public, 3, ip("52.0.0.8"));
        cell.add(Class::Internal, 1, ip("52.0.0.3"));
        cell.add(Class::Private, 4, ip("10.0.0.1"));
        assert_eq!(
            cell.public,
            Some(FirstLast {
                first: (3, ip("52.0.0.7")),
                last: (5, ip("52.0.0.9")),
            })
        );
        let private = Some(FirstLast {
            first: (4, ip("10.0.0.1")),
            last: (4, ip("10.0.0.1")),
        });
        assert_eq!(cell.private, private);
    }

    #[test]
    fn a_requester_keeps_its_cells_and_public_span_per_window() {
        let mut agg = Aggregate::new(3600);
        let who = |time, ip| Record {
            requester: Some(&b"arn:aws:iam::111122223333:user/alice"[..]),
            ..rec("b", time, Some(ip), 200)
        };
        add_all(
            &mut agg,
            &[
                who(7300, "52.1.2.3"),
                who(100, "10.0.0.1"),
                who(200, "52.1.2.4"),
                who(3700, "10.0.0.2"),
                who(7250, "52.1.2.5"),
            ],
        );
        let (_, stats) = agg.buckets()[0];
        assert!(!stats.requesters.is_empty());
        assert!(stats
            .requesters
            .contains_key(b"arn:aws:iam::111122223333:user/alice"));
        assert!(!stats
            .requesters
            .contains_key(b"arn:aws:iam::111122223333:user/bob"));
        let (name, r) = stats.requesters.iter().next().unwrap();
        assert_eq!(name, b"arn:aws:iam::111122223333:user/alice");
        assert_eq!(r.public_span(), Some((200, 7300)));
        let cells = r.cells();
        let starts: Vec<i64> = cells.iter().map(|(start, _)| *start).collect();
        assert_eq!(starts, [0, 3600, 7200]);
        assert_eq!(cells[0].1.private.unwrap().first.0, 100);
        assert_eq!(cells[0].1.public.unwrap().first.0, 200);
        assert_eq!(cells[1].1.public, None);
        assert_eq!(cells[2].1.public.unwrap().first.0, 7250);
        // Only public addresses are counted per requester.
        let mut ips: Vec<_> = r.public_ips.iter().map(|(ip, _)| ip.to_string()).collect();
        ips.sort();
        assert_eq!(ips, ["52.1.2.3", "52.1.2.4", "52.1.2.5"]);
        assert!(!r.public_ips.is_empty());
        // A requester with no public request has no span.
        let mut private_only = Aggregate::new(3600);
        add_all(&mut private_only, &[rec("b", 0, Some("10.0.0.1"), 200)]);
        let (_, stats) = private_only.buckets()[0];
        assert_eq!(
            stats.requesters.iter().next().unwrap().1.public_span(),
            None
        );
        assert!(Requesters::default().is_empty());
    }

    #[test]
    fn an_aggregate_tells_its_interval_zone_and_buckets() {
        let seoul = Zone::parse("Asia/Seoul").unwrap();
        let mut agg = Aggregate::in_zone(600, seoul);
        assert_eq!((agg.interval(), agg.zone()), (600, seoul));
        assert!(agg.is_empty());
        assert_eq!(agg.len(), 0);
        add_all(&mut agg, &[rec("a", 0, None, 200), rec("b", 0, None, 200)]);
        assert!(!agg.is_empty());
        assert_eq!(agg.len(), 2);
        let (_, a) = agg.bucket(agg.by_name()[0]);
        assert_eq!(a.timeline_len(), 1);
        add_all(&mut agg, &[rec("a", 600, None, 200)]);
        assert_eq!(agg.buckets()[0].1.timeline_len(), 2);
    }

    #[test]
    fn address_counts_in_maps_add_up_and_refuse_new_addresses_without_room() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let mut c = AddressCounts::default();
        assert!(c.add(ip("52.1.2.3"), 2, true));
        assert!(!c.is_empty());
        assert!(c.add(ip("52.1.2.4"), 1, true));
        assert!(matches!(c.0, Addresses::Many(_)));
        assert!(
            c.add(ip("52.1.2.4"), 3, false),
            "a known address needs no room"
        );
        assert!(!c.add(ip("52.1.2.5"), 1, false), "a new one does");
        let mut all: Vec<_> = c.iter().collect();
        all.sort();
        assert_eq!(all, [(ip("52.1.2.3"), 2), (ip("52.1.2.4"), 4)]);
        // Room made ahead for many is a map.
        let mut one = AddressCounts::default();
        one.add(ip("10.0.0.1"), 1, true);
        one.reserve(10);
        assert!(matches!(one.0, Addresses::Many(_)));
    }

    /// Past the limits, requests are still counted, once, in the bucket's untracked
    /// counters, whether one aggregate saw them all or two were merged either way.
    #[test]
    fn requests_past_the_address_limits_are_counted_as_untracked_once() {
        let limit = TRACKED_PUBLIC_IPS as u32;
        assert_eq!(TRACKED_PUBLIC_IPS, TRACKED_REQUESTER_IPS);
        let public = |i: u32| IpAddr::from(Ipv4Addr::from(0x3400_0000u32 + i));
        let private = |i: u32| IpAddr::from(Ipv4Addr::from(0x0a00_0000u32 + i));
        let record = |ip: IpAddr, status| Record {
            remote_ip: Some(ip),
            error_code: (status == 403).then_some(&b"AccessDenied"[..]),
            ..rec("b", 0, None, status)
        };
        let many: Vec<_> = (0..limit)
            .flat_map(|i| [record(public(i), 200), record(private(i), 403)])
            .collect();
        let extra = [record(public(limit), 200), record(private(limit), 403)];
        let check = |agg: &Aggregate, what: &str| {
            let (_, s) = agg.buckets()[0];
            assert_eq!(s.public_ips.len(), TRACKED_PUBLIC_IPS, "{what}");
            assert_eq!(s.denied_private_ips.len(), TRACKED_PUBLIC_IPS, "{what}");
            assert_eq!(s.untracked_public, 1, "{what}");
            assert_eq!(s.untracked_requester_public, 1, "{what}");
            assert_eq!(s.counts.public, u64::from(limit) + 1, "{what}");
        };
        let mut whole = Aggregate::new(3600);
        add_all(&mut whole, &many);
        add_all(&mut whole, &extra);
        check(&whole, "one aggregate");
        let (mut left, mut right) = (Aggregate::new(3600), Aggregate::new(3600));
        add_all(&mut left, &many);
        add_all(&mut right, &extra);
        let mut right_first = right.clone();
        left.merge(right);
        check(&left, "merged after");
        right_first.merge(left_of(&many));
        check(&right_first, "merged before");
        // Untracked on both sides adds up.
        let mut twice = whole.clone();
        twice.merge(whole);
        let (_, s) = twice.buckets()[0];
        assert_eq!((s.untracked_public, s.untracked_requester_public), (2, 2));
    }

    fn left_of(records: &[Record<'static>]) -> Aggregate {
        let mut agg = Aggregate::new(3600);
        add_all(&mut agg, records);
        agg
    }

    #[test]
    fn requesters_past_the_limit_are_pooled_whether_added_or_merged() {
        let names: Vec<Vec<u8>> = (0..TRACKED_REQUESTERS)
            .map(|i| format!("arn:aws:iam::111122223333:user/u{i}").into_bytes())
            .collect();
        let names: &'static [Vec<u8>] = Box::leak(names.into_boxed_slice());
        let records: Vec<_> = names
            .iter()
            .map(|n| Record {
                requester: Some(&n[..]),
                ..rec("b", 0, None, 200)
            })
            .collect();
        let newcomer = Record {
            requester: Some(&b"arn:aws:iam::111122223333:user/new"[..]),
            ..rec("b", 0, None, 200)
        };
        let mut merged = left_of(&records);
        merged.merge(left_of(std::slice::from_ref(&newcomer)));
        let mut added = left_of(&records);
        add_all(&mut added, &[newcomer]);
        for agg in [merged, added] {
            let (_, s) = agg.buckets()[0];
            assert!(s.requesters.contains_key(OTHER_REQUESTERS));
            assert!(!s
                .requesters
                .contains_key(b"arn:aws:iam::111122223333:user/new"));
        }
    }

    /// CloudTrail names the endpoint and the region: each endpoint's requests and
    /// denials are counted, merged, and pooled past the limit.
    #[test]
    fn endpoints_count_their_requests_and_denials_and_merge() {
        let through = |id: &'static str, time, status, code: &'static str| Record {
            vpc_endpoint_id: Some(id.as_bytes()),
            vpc_endpoint_account: Some(b"111122223333"),
            region: Some(b"ap-northeast-2"),
            error_code: Some(code.as_bytes()),
            ..rec("b", time, Some("10.0.0.1"), status)
        };
        let a = [
            through("vpce-1", 10, 200, "-"),
            through("vpce-1", 5, 403, "AccessDenied"),
        ];
        let b = [
            through("vpce-1", 30, 403, VPCE_ACCESS_DENIED),
            through("vpce-2", 20, 200, "-"),
        ];
        let expected = EndpointStats {
            account: Some(Box::from(&b"111122223333"[..])),
            requests: 3,
            denied: 2,
            denied_by_endpoint_policy: 1,
            first: 5,
            last: 30,
        };
        let mut whole = left_of(&a);
        add_all(&mut whole, &b);
        let mut merged = left_of(&a);
        merged.merge(left_of(&b));
        for agg in [&whole, &merged] {
            let (_, s) = agg.buckets()[0];
            assert_eq!(s.region.as_deref(), Some(&b"ap-northeast-2"[..]));
            assert_eq!(s.endpoints.len(), 2);
            assert!(!s.endpoints.is_empty());
            assert!(s.endpoints.contains_key(b"vpce-2"));
            assert!(!s.endpoints.contains_key(b"vpce-3"));
            let one = s
                .endpoints
                .iter()
                .find(|(id, _)| *id == b"vpce-1")
                .unwrap()
                .1;
            assert_eq!(one, &expected);
            let mut keys: Vec<_> = s.endpoints.keys().collect();
            keys.sort();
            assert_eq!(keys, [&b"vpce-1"[..], b"vpce-2"]);
            assert_eq!(s.endpoints.values().map(|e| e.requests).sum::<u64>(), 4);
        }
        assert!(Endpoints::default().is_empty());
        // Past TRACKED_ENDPOINTS, new endpoints are pooled; known ones still count.
        let ids: Vec<String> = (0..=TRACKED_ENDPOINTS)
            .map(|i| format!("vpce-{i}"))
            .collect();
        let ids: &'static [String] = Box::leak(ids.into_boxed_slice());
        let records: Vec<_> = ids
            .iter()
            .chain([&ids[0]])
            .map(|id| Record {
                vpc_endpoint_id: Some(id.as_bytes()),
                ..rec("b", 0, Some("10.0.0.1"), 200)
            })
            .collect();
        let agg = left_of(&records);
        let (_, s) = agg.buckets()[0];
        assert_eq!(s.endpoints.len(), TRACKED_ENDPOINTS + 1);
        let pooled = s.endpoints.iter().find(|(id, _)| *id == OTHER_ENDPOINTS);
        assert_eq!(pooled.map(|(_, e)| e.requests), Some(1));
        let first = s.endpoints.iter().find(|(id, _)| *id == b"vpce-0");
        assert_eq!(first.map(|(_, e)| e.requests), Some(2));
    }

    #[test]
    fn the_region_comes_from_cloudtrail_or_else_from_the_host_name() {
        let host = |name: &'static [u8]| Record {
            host_header: Some(name),
            ..rec("b", 0, None, 200)
        };
        let region = |records: &[Record<'static>]| {
            let agg = left_of(records);
            agg.buckets()[0].1.region.as_deref().map(<[u8]>::to_vec)
        };
        let eu = host(b"b.s3.eu-west-1.amazonaws.com");
        assert_eq!(
            region(std::slice::from_ref(&eu)),
            Some(b"eu-west-1".to_vec())
        );
        let cloudtrail = Record {
            region: Some(b"ap-northeast-2"),
            ..rec("b", 0, None, 200)
        };
        assert_eq!(region(&[cloudtrail]), Some(b"ap-northeast-2".to_vec()));
        assert_eq!(region(&[rec("b", 0, None, 200)]), None);
        // The first host name that names a region decides.
        let us = host(b"b.s3.us-east-2.amazonaws.com");
        assert_eq!(region(&[eu.clone(), us]), Some(b"eu-west-1".to_vec()));
    }
}
