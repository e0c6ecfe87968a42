//! The audit report: the stable, documented model that every output format renders.
//!
//! [`Report::build`] turns an [`Aggregate`] and the run's [`Tally`] into plain data:
//! per bucket a verdict, a timeline, the transitions between the VPC endpoint and the
//! internet per requester, and a per-account breakdown. The JSON output is this model
//! serialised as is; table and CSV show the same numbers.
//!
//! The buckets ([`Buckets`]) are built as a renderer asks for them, a batch at a time
//! on the current rayon pool, so that the reports of a million buckets never sit in
//! memory together: every renderer writes a bucket and lets it go.

pub mod check;
pub mod csv;
pub mod html;
pub mod json;
pub mod policy;
pub mod requests;
pub mod series;
pub mod table;

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Serialize, Serializer};

use crate::aggregate::{
    Aggregate, BucketStats, Cell, Distinct, FirstLast, Traffic, OTHER_REQUESTERS,
};
use crate::arn::account_of;
use crate::classify::Class;
use crate::escape;
use crate::input::{InputError, S3Counts};
use crate::settings::Settings;
use crate::tally::{Rejection, Tally};
use crate::time::{duration_name, rfc3339};

/// The version of the JSON documents' layout (`docs/json.md`): raised when a field
/// changes meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub summary: Summary,
    pub buckets: Buckets,
    /// The first rejected lines (up to 1000; `summary.rejected` counts all).
    pub rejections: Vec<Rejection>,
    /// Inputs that could not be read, fully or at all.
    pub errors: Vec<ErrorEntry>,
    /// What was left out on purpose (links not followed, link loops).
    pub warnings: Vec<ErrorEntry>,
}

/// Run-wide numbers. `lines == parsed + rejected` always holds.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub tool: &'static str,
    pub version: &'static str,
    pub inputs: u64,
    pub input_errors: usize,
    pub bytes: u64,
    pub lines: u64,
    pub parsed: u64,
    pub rejected: u64,
    /// Parsed records that passed `--bucket/--since/--until/--operation`.
    pub matched: u64,
    pub blank_lines: u64,
    pub interval: String,
    pub interval_seconds: i64,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Time of the earliest and latest matched request.
    pub first: Option<String>,
    pub last: Option<String>,
    pub private_ranges: Vec<String>,
    pub buckets: usize,
    pub requests: u64,
    pub private: u64,
    pub public: u64,
    pub public_denied: u64,
    pub internal: u64,
    /// Objects listed, skipped and read when inputs came from S3 (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Counts>,
    /// Parts of the report the engine that scanned the logs could not compute (Athena's
    /// aggregated rows have no per-requester detail, see docs/athena.md); absent when the
    /// report is complete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_available: Vec<&'static str>,
}

/// What a bucket's traffic says about its network path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Requests came through the VPC endpoint; no public request was let through.
    PrivateOnly,
    /// Both: some requests came through the endpoint, some over the internet.
    Mixed,
    /// Public requests were let through and none came through the endpoint.
    PublicOnly,
    /// Public requests were all denied (HTTP 403), none came through the endpoint.
    DeniedOnly,
    /// Only S3's own requests (no remote IP).
    InternalOnly,
}

impl Verdict {
    /// The verdict on a bucket's counts.
    pub fn of(c: &Traffic) -> Self {
        match (c.private > 0, c.public_allowed() > 0) {
            (true, true) => Verdict::Mixed,
            (false, true) => Verdict::PublicOnly,
            (true, false) => Verdict::PrivateOnly,
            (false, false) if c.public_denied > 0 => Verdict::DeniedOnly,
            (false, false) => Verdict::InternalOnly,
        }
    }

    /// The name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::PrivateOnly => "private-only",
            Verdict::Mixed => "mixed",
            Verdict::PublicOnly => "public-only",
            Verdict::DeniedOnly => "denied-only",
            Verdict::InternalOnly => "internal-only",
        }
    }
}

/// One bucket.
#[derive(Clone, Debug, Serialize)]
pub struct BucketReport {
    pub bucket: String,
    pub verdict: Verdict,
    pub first_seen: String,
    pub last_seen: String,
    pub requests: u64,
    pub private: u64,
    pub public: u64,
    pub public_denied: u64,
    pub public_allowed: u64,
    pub internal: u64,
    pub bytes_sent: u64,
    pub distinct_private_ips: usize,
    pub distinct_public_ips: usize,
    /// The public addresses with the most requests (at most [`TOP`]).
    pub top_public_ips: Vec<Talker>,
    /// The requesters with the most requests (at most [`TOP`]).
    pub top_requesters: Vec<Talker>,
    /// What is estimated rather than counted in this bucket, past the documented
    /// limits: `distinct_ips`, `top_public_ips`, `requesters`. Usually empty.
    pub approximations: Vec<&'static str>,
    pub timeline: Vec<Point>,
    pub transitions: Vec<Transition>,
    pub accounts: Vec<Account>,
}

/// How many entries the top lists keep.
pub const TOP: usize = 10;

/// A public address or a requester, with its number of requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Talker {
    pub name: String,
    pub requests: u64,
}

fn top(mut all: Vec<Talker>) -> Vec<Talker> {
    all.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.name.cmp(&b.name))
    });
    all.truncate(TOP);
    all
}

/// [`top`] of addresses and their requests. Only the addresses that can make the list
/// are written out as text: a bucket may have tens of thousands.
fn top_addresses(counts: impl Iterator<Item = (IpAddr, u64)>) -> Vec<Talker> {
    let mut all: Vec<(IpAddr, u64)> = counts.collect();
    if all.len() > TOP {
        all.select_nth_unstable_by(TOP - 1, |a, b| b.1.cmp(&a.1));
        let least = all[TOP - 1].1;
        all.retain(|&(_, requests)| requests >= least);
    }
    top(all
        .into_iter()
        .map(|(ip, requests)| Talker {
            name: ip.to_string(),
            requests,
        })
        .collect())
}

/// One window of a bucket's timeline; windows without requests are left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Point {
    /// Window start, RFC 3339 UTC.
    pub start: String,
    pub requests: u64,
    pub private: u64,
    pub public: u64,
    pub internal: u64,
    pub public_denied: u64,
    pub public_allowed: u64,
    pub distinct_private_ips: usize,
    pub distinct_public_ips: usize,
    pub bytes_sent: u64,
}

impl Point {
    /// The window starting at `start` (seconds since the epoch) with this traffic and
    /// these numbers of distinct private and public addresses.
    pub fn new(
        start: i64,
        t: &Traffic,
        distinct_private_ips: usize,
        distinct_public_ips: usize,
    ) -> Self {
        Point {
            start: rfc3339(start),
            requests: t.requests,
            private: t.private,
            public: t.public,
            internal: t.internal,
            public_denied: t.public_denied,
            public_allowed: t.public_allowed(),
            distinct_private_ips,
            distinct_public_ips,
            bytes_sent: t.bytes_sent,
        }
    }
}

/// A requester's traffic switching between the VPC endpoint and the internet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub requester: String,
    pub account: String,
    pub from: Class,
    pub to: Class,
    /// The first request on the new network (see docs/report.md for the precision).
    pub at: String,
    pub remote_ip: String,
}

/// The requests of one AWS account (or anonymous, or an AWS service) to a bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    pub account: String,
    pub requesters: usize,
    pub requests: u64,
    pub private: u64,
    pub public: u64,
    pub public_denied: u64,
    pub internal: u64,
}

/// One input that failed, or was left out with a warning.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorEntry {
    pub source: String,
    pub message: String,
}

impl ErrorEntry {
    /// The entries of `errors`, for the report.
    pub fn list(errors: &[InputError]) -> Vec<ErrorEntry> {
        errors
            .iter()
            .map(|e| ErrorEntry {
                source: e.source_name.clone(),
                message: e.message.clone(),
            })
            .collect()
    }
}

/// The buckets of a report, in name order: from a run, built from its aggregate as
/// they are asked for; from Athena's rows (or a test), built ahead.
#[derive(Clone, Debug)]
pub struct Buckets(Source);

#[derive(Clone, Debug)]
enum Source {
    Built(Vec<BucketReport>),
    Aggregated {
        agg: Arc<Aggregate>,
        /// The buckets' places in the aggregate, in name order.
        order: Vec<u32>,
    },
}

/// Buckets are built in batches of at most this many, in parallel.
const BATCH: usize = 64;
/// A batch holds buckets of at most about this many windows and requesters together,
/// so that a batch of large buckets stays small in memory.
const BATCH_WEIGHT: usize = 100_000;

impl From<Vec<BucketReport>> for Buckets {
    fn from(built: Vec<BucketReport>) -> Self {
        Buckets(Source::Built(built))
    }
}

impl Buckets {
    /// The buckets of `agg`, to be built as they are read.
    pub fn of(agg: Arc<Aggregate>) -> Self {
        let order = agg.by_name();
        Buckets(Source::Aggregated { agg, order })
    }

    /// How many buckets there are.
    pub fn len(&self) -> usize {
        match &self.0 {
            Source::Built(v) => v.len(),
            Source::Aggregated { order, .. } => order.len(),
        }
    }

    /// Are there none?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bucket `i` in name order.
    pub fn get(&self, i: usize) -> Cow<'_, BucketReport> {
        match &self.0 {
            Source::Built(v) => Cow::Borrowed(&v[i]),
            Source::Aggregated { agg, order } => {
                let (name, stats) = agg.bucket(order[i]);
                Cow::Owned(bucket_report(name, stats))
            }
        }
    }

    /// The public traffic of bucket `i`, for ranking buckets without building them:
    /// (public requests let through, public requests denied, requests).
    pub fn public_traffic(&self, i: usize) -> (u64, u64, u64) {
        match &self.0 {
            Source::Built(v) => (v[i].public_allowed, v[i].public_denied, v[i].requests),
            Source::Aggregated { agg, order } => {
                let c = &agg.bucket(order[i]).1.counts;
                (c.public_allowed(), c.public_denied, c.requests)
            }
        }
    }

    /// Where the bucket named `name` is in name order, if it is there.
    pub fn position(&self, name: &str) -> Option<usize> {
        match &self.0 {
            Source::Built(v) => v.binary_search_by(|b| b.bucket.as_str().cmp(name)).ok(),
            Source::Aggregated { agg, order } => {
                let by_bytes = order
                    .binary_search_by(|&at| agg.bucket(at).0.cmp(name.as_bytes()))
                    .ok();
                // A name that is not UTF-8 is shown with U+FFFD in place of its bad
                // bytes: only a search in order finds it.
                by_bytes.or_else(|| {
                    name.contains('\u{fffd}')
                        .then(|| {
                            order
                                .iter()
                                .position(|&at| escape::lossy(agg.bucket(at).0) == name)
                        })
                        .flatten()
                })
            }
        }
    }

    /// Every bucket in name order, built in parallel batches as they are read.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Cow<'_, BucketReport>> + '_> {
        match &self.0 {
            Source::Built(v) => Box::new(v.iter().map(Cow::Borrowed)),
            Source::Aggregated { agg, order } => Box::new(
                Batches {
                    agg,
                    order,
                    next: 0,
                    ready: VecDeque::new(),
                }
                .map(Cow::Owned),
            ),
        }
    }
}

/// The buckets of an aggregate, built a batch at a time.
struct Batches<'a> {
    agg: &'a Aggregate,
    order: &'a [u32],
    next: usize,
    ready: VecDeque<BucketReport>,
}

impl Iterator for Batches<'_> {
    type Item = BucketReport;

    fn next(&mut self) -> Option<BucketReport> {
        if self.ready.is_empty() && self.next < self.order.len() {
            let start = self.next;
            let mut weight = 0;
            while self.next < self.order.len()
                && self.next - start < BATCH
                && (self.next == start || weight < BATCH_WEIGHT)
            {
                let stats = self.agg.bucket(self.order[self.next]).1;
                weight += stats.timeline_len() + stats.requesters.len();
                self.next += 1;
            }
            // Buckets are independent: each is reported on a worker of the current pool.
            self.ready = self.order[start..self.next]
                .par_iter()
                .map(|&at| {
                    let (name, stats) = self.agg.bucket(at);
                    bucket_report(name, stats)
                })
                .collect::<Vec<_>>()
                .into();
        }
        self.ready.pop_front()
    }
}

impl<'a> IntoIterator for &'a Buckets {
    type Item = Cow<'a, BucketReport>;
    type IntoIter = Box<dyn Iterator<Item = Cow<'a, BucketReport>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Serialize for Buckets {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl Report {
    /// Builds the report of a finished run under `settings`; the buckets are built as
    /// they are written.
    pub fn build(agg: Aggregate, tally: &Tally, settings: &Settings) -> Report {
        let mut totals = Traffic::default();
        let (mut first, mut last) = (None::<i64>, None::<i64>);
        for at in 0..agg.len() as u32 {
            let stats = agg.bucket(at).1;
            totals.requests += stats.counts.requests;
            totals.private += stats.counts.private;
            totals.public += stats.counts.public;
            totals.public_denied += stats.counts.public_denied;
            totals.internal += stats.counts.internal;
            first = Some(first.map_or(stats.first, |t| t.min(stats.first)));
            last = Some(last.map_or(stats.last, |t| t.max(stats.last)));
        }
        let interval = agg.interval();
        let buckets = Buckets::of(Arc::new(agg));
        let filter = &settings.filter;
        let summary = Summary {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            inputs: tally.counts.inputs,
            input_errors: tally.errors.len(),
            bytes: tally.counts.bytes,
            lines: tally.counts.lines,
            parsed: tally.counts.parsed,
            rejected: tally.counts.rejected,
            matched: tally.counts.matched,
            blank_lines: tally.counts.blank,
            interval: duration_name(interval),
            interval_seconds: interval,
            since: filter.since.map(rfc3339),
            until: filter.until.map(rfc3339),
            first: first.map(rfc3339),
            last: last.map(rfc3339),
            private_ranges: settings
                .classifier
                .ranges()
                .iter()
                .map(ToString::to_string)
                .collect(),
            buckets: buckets.len(),
            requests: totals.requests,
            private: totals.private,
            public: totals.public,
            public_denied: totals.public_denied,
            internal: totals.internal,
            s3: None,
            not_available: Vec::new(),
        };
        Report {
            schema_version: SCHEMA_VERSION,
            summary,
            buckets,
            rejections: tally.rejections.clone(),
            errors: ErrorEntry::list(&tally.errors),
            warnings: ErrorEntry::list(&tally.warnings),
        }
    }
}

fn bucket_report(name: &[u8], stats: &BucketStats) -> BucketReport {
    let windows = stats.timeline();
    let all_private = Distinct::union(windows.iter().map(|(_, w)| &w.private_ips));
    let all_public = Distinct::union(windows.iter().map(|(_, w)| &w.public_ips));
    let exact = all_private.is_exact()
        && all_public.is_exact()
        && windows
            .iter()
            .all(|(_, w)| w.private_ips.is_exact() && w.public_ips.is_exact());
    let timeline = windows
        .into_iter()
        .map(|(start, w)| {
            Point::new(
                start,
                &w.counts,
                w.private_ips.count(),
                w.public_ips.count(),
            )
        })
        .collect();
    let mut approximations = Vec::new();
    if !exact {
        approximations.push("distinct_ips");
    }
    if stats.untracked_public > 0 {
        approximations.push("top_public_ips");
    }
    if stats.requesters.contains_key(OTHER_REQUESTERS) {
        approximations.push("requesters");
    }

    let mut transitions = Vec::new();
    let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
    let mut requesters = Vec::with_capacity(stats.requesters.len());
    for (who, r) in stats.requesters.iter() {
        let requester = escape::lossy(who).into_owned();
        requesters.push(Talker {
            name: requester.clone(),
            requests: r.counts.requests,
        });
        let account = account_of(&requester);
        transitions_of(&requester, &account, &r.cells(), &mut transitions);
        let entry = accounts.entry(account.clone()).or_insert_with(|| Account {
            account,
            requesters: 0,
            requests: 0,
            private: 0,
            public: 0,
            public_denied: 0,
            internal: 0,
        });
        entry.requesters += 1;
        entry.requests += r.counts.requests;
        entry.private += r.counts.private;
        entry.public += r.counts.public;
        entry.public_denied += r.counts.public_denied;
        entry.internal += r.counts.internal;
    }
    transitions.sort_by(|a, b| (&a.at, &a.requester).cmp(&(&b.at, &b.requester)));
    let mut accounts: Vec<Account> = accounts.into_values().collect();
    accounts.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.account.cmp(&b.account))
    });

    BucketReport {
        bucket: escape::lossy(name).into_owned(),
        verdict: Verdict::of(&stats.counts),
        first_seen: rfc3339(stats.first),
        last_seen: rfc3339(stats.last),
        requests: stats.counts.requests,
        private: stats.counts.private,
        public: stats.counts.public,
        public_denied: stats.counts.public_denied,
        public_allowed: stats.counts.public_allowed(),
        internal: stats.counts.internal,
        bytes_sent: stats.counts.bytes_sent,
        distinct_private_ips: all_private.count(),
        distinct_public_ips: all_public.count(),
        top_public_ips: top_addresses(stats.public_ips.iter()),
        top_requesters: top(requesters),
        approximations,
        timeline,
        transitions,
        accounts,
    }
}

/// Walks a requester's windows in time order and records every switch between the
/// private and the public network. Within a window, the networks are ordered by their
/// first request; when a window ends on the other network than its last switch, the
/// switch back is dated by the last request in that window.
fn transitions_of(
    requester: &str,
    account: &str,
    cells: &BTreeMap<i64, Cell>,
    out: &mut Vec<Transition>,
) {
    let mut state: Option<Class> = None;
    let mut emit = |state: &mut Option<Class>, to: Class, (at, ip): (i64, IpAddr)| {
        if let Some(from) = *state {
            if from != to {
                out.push(Transition {
                    requester: requester.to_string(),
                    account: account.to_string(),
                    from,
                    to,
                    at: rfc3339(at),
                    remote_ip: ip.to_string(),
                });
            }
        }
        *state = Some(to);
    };
    for cell in cells.values() {
        let mut parts: Vec<(Class, FirstLast)> =
            [(Class::Private, cell.private), (Class::Public, cell.public)]
                .into_iter()
                .filter_map(|(class, seen)| seen.map(|s| (class, s)))
                .collect();
        parts.sort_by_key(|(_, s)| s.first);
        for &(class, seen) in &parts {
            emit(&mut state, class, seen.first);
        }
        if let [(_, a), (b_class, b)] = parts[..] {
            if a.last > b.last {
                let (a_class, _) = parts[0];
                emit(&mut state, a_class, a.last);
            } else {
                state = Some(b_class);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_addresses_name_only_the_contenders_and_agree_with_top() {
        // Ties at the cut-off are broken by the address as text ("10.0.0.10" < "10.0.0.9").
        for spread in [1, 3, 50] {
            let counts: Vec<(IpAddr, u64)> = (0..300u32)
                .map(|i| {
                    (
                        IpAddr::from([10, 0, (i / 256) as u8, i as u8]),
                        u64::from(i * 7 % spread),
                    )
                })
                .collect();
            let everyone = counts
                .iter()
                .map(|(ip, requests)| Talker {
                    name: ip.to_string(),
                    requests: *requests,
                })
                .collect();
            assert_eq!(
                top_addresses(counts.iter().copied()),
                top(everyone),
                "{spread}"
            );
        }
        assert!(top_addresses(std::iter::empty()).is_empty());
    }

    fn seen(first: i64, last: i64, ip: &str) -> Option<FirstLast> {
        let ip: IpAddr = ip.parse().unwrap();
        Some(FirstLast {
            first: (first, ip),
            last: (last, ip),
        })
    }

    #[test]
    fn verdicts_judge_traffic_that_got_through() {
        let c = |private, public, public_denied, internal| Traffic {
            requests: private + public + internal,
            private,
            public,
            public_denied,
            internal,
            bytes_sent: 0,
        };
        assert_eq!(Verdict::of(&c(5, 0, 0, 1)), Verdict::PrivateOnly);
        assert_eq!(Verdict::of(&c(5, 2, 2, 0)), Verdict::PrivateOnly);
        assert_eq!(Verdict::of(&c(5, 2, 1, 0)), Verdict::Mixed);
        assert_eq!(Verdict::of(&c(0, 2, 0, 0)), Verdict::PublicOnly);
        assert_eq!(Verdict::of(&c(0, 2, 2, 0)), Verdict::DeniedOnly);
        assert_eq!(Verdict::of(&c(0, 0, 0, 3)), Verdict::InternalOnly);
    }

    #[test]
    fn transitions_follow_the_blog_post_experiment() {
        // 10:00 private; 10:32 endpoint deleted, public until 10:40; 10:50 back private.
        let h = 36_000;
        let mut cells = BTreeMap::new();
        cells.insert(
            h,
            Cell {
                private: seen(h + 300, h + 3000, "10.0.1.5"),
                public: seen(h + 1920, h + 2400, "52.79.54.241"),
            },
        );
        cells.insert(
            h + 3600,
            Cell {
                private: None,
                public: seen(h + 3700, h + 3800, "52.79.54.241"),
            },
        );
        let mut out = Vec::new();
        transitions_of("role", "1", &cells, &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|t| (t.from, t.to, t.at.as_str(), t.remote_ip.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Class::Private,
                    Class::Public,
                    "1970-01-01T10:32:00Z",
                    "52.79.54.241"
                ),
                (
                    Class::Public,
                    Class::Private,
                    "1970-01-01T10:50:00Z",
                    "10.0.1.5"
                ),
                (
                    Class::Private,
                    Class::Public,
                    "1970-01-01T11:01:40Z",
                    "52.79.54.241"
                ),
            ]
        );
    }
}
