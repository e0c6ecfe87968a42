//! The audit report: the stable, documented model that every output format renders.
//!
//! [`Report::build`] turns an [`Aggregate`] and the run's [`Tally`] into plain data:
//! per bucket a verdict, a timeline, the transitions between the VPC endpoint and the
//! internet per requester, and a per-account breakdown. The JSON output is this model
//! serialised as is; table and CSV show the same numbers.

pub mod check;
pub mod csv;
pub mod grid;
pub mod html;
pub mod json;
pub mod junit;
pub mod ocsf;
pub mod policy;
pub mod requests;
pub mod series;
pub mod table;

use std::collections::BTreeMap;
use std::net::IpAddr;

use rayon::prelude::*;
use serde::Serialize;

use crate::aggregate::{
    Aggregate, BucketStats, Cell, Distinct, FirstLast, Traffic, OTHER_REQUESTERS,
};
use crate::arn::{account_of, requester_name};
use crate::classify::Class;
use crate::escape;
use crate::input::S3Counts;
use crate::settings::Settings;
use crate::tally::{InputDigest, Rejection, Tally};
use crate::time::{interval_name, rfc3339, Zone};

/// The version of the JSON documents' layout (`docs/json.md`): raised when a field
/// changes meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub summary: Summary,
    pub buckets: Vec<BucketReport>,
    /// With `--evidence-hashes`: every input read to its end, with its size and
    /// SHA-256 as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<InputHash>>,
    /// The first rejected lines (up to 1000; `summary.rejected` counts all).
    pub rejections: Vec<Rejection>,
    /// Inputs that could not be read, fully or at all.
    pub errors: Vec<ErrorEntry>,
}

/// One input of the chain of custody: its name, its size and SHA-256 as stored (what
/// `ls -l` and `sha256sum` print).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputHash {
    pub source: String,
    pub bytes: u64,
    pub sha256: String,
}

impl InputHash {
    /// The inputs whose stored bytes were hashed, in input order.
    pub fn list(digests: &[InputDigest]) -> Vec<InputHash> {
        digests
            .iter()
            .filter_map(|d| {
                d.raw.map(|raw| InputHash {
                    source: d.source.clone(),
                    bytes: raw.bytes,
                    sha256: raw.hex(),
                })
            })
            .collect()
    }
}

/// Run-wide numbers. `lines == parsed + rejected` always holds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub tool: &'static str,
    pub version: &'static str,
    pub inputs: u64,
    /// Inputs named twice (the same file, the same S3 object), read once.
    pub inputs_duplicate: usize,
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
    /// The zone windows of a day or a week were cut in (`--tz`; `UTC` without), and
    /// that the table, CSV and HTML outputs show times in. JSON times are UTC.
    pub time_zone: String,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Time of the earliest and latest matched request.
    pub first: Option<String>,
    pub last: Option<String>,
    pub private_ranges: Vec<String>,
    pub buckets: usize,
    pub requests: u64,
    pub private: u64,
    /// Private requests a policy denied (HTTP 403 `AccessDenied` through the endpoint).
    pub private_denied: u64,
    pub public: u64,
    /// Public requests a policy denied (HTTP 403 `AccessDenied`): blocked attempts.
    pub public_denied: u64,
    /// Public requests refused before any policy was evaluated (bad signature, unknown
    /// key, expired token, ...).
    pub public_rejected: u64,
    /// Public requests let through: `public - public_denied - public_rejected`.
    pub public_allowed: u64,
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

impl Summary {
    /// A summary naming this tool with `t` as its requests; the rest is empty.
    pub fn of(t: &Traffic) -> Summary {
        Summary {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            requests: t.requests,
            private: t.private,
            private_denied: t.private_denied,
            public: t.public,
            public_denied: t.public_denied,
            public_rejected: t.public_rejected,
            public_allowed: t.public_allowed(),
            internal: t.internal,
            time_zone: Zone::Utc.name().to_string(),
            ..Summary::default()
        }
    }
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
    /// Public requests were all refused (denied by a policy, or rejected before one),
    /// none came through the endpoint.
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
            (false, false) if c.public > 0 => Verdict::DeniedOnly,
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
    pub private_denied: u64,
    pub public: u64,
    pub public_denied: u64,
    pub public_rejected: u64,
    pub public_allowed: u64,
    pub internal: u64,
    pub bytes_sent: u64,
    pub distinct_private_ips: usize,
    pub distinct_public_ips: usize,
    /// What the numbers ask of a person, in words: denials through the endpoint,
    /// refusals that prove nothing. Usually empty.
    pub warnings: Vec<String>,
    /// The public addresses with the most requests (at most [`TOP`]).
    pub top_public_ips: Vec<Talker>,
    /// The private addresses with the most requests denied through the endpoint (at
    /// most [`TOP`]).
    pub denied_private_ips: Vec<Talker>,
    /// The requesters with the most requests (at most [`TOP`]).
    pub top_requesters: Vec<Talker>,
    /// Who did what: every requester with a public request, then the busiest others
    /// up to [`TOP`] entries in all; sorted by public requests let through, then
    /// denied, then all requests.
    pub requesters: Vec<Requester>,
    /// What is estimated rather than counted in this bucket, past the documented
    /// limits: `distinct_ips`, `top_public_ips`, `requesters`,
    /// `requesters.top_public_ips`. Usually empty.
    pub approximations: Vec<&'static str>,
    pub timeline: Vec<Point>,
    pub transitions: Vec<Transition>,
    pub accounts: Vec<Account>,
}

impl BucketReport {
    /// The report of bucket `bucket` with traffic `t` between `first` and `last`
    /// (seconds since the epoch), these numbers of distinct addresses and this
    /// timeline; the lists that need single requests are empty.
    pub fn of(
        bucket: String,
        t: &Traffic,
        (first, last): (i64, i64),
        (distinct_private_ips, distinct_public_ips): (usize, usize),
        timeline: Vec<Point>,
    ) -> BucketReport {
        BucketReport {
            bucket,
            verdict: Verdict::of(t),
            first_seen: rfc3339(first),
            last_seen: rfc3339(last),
            requests: t.requests,
            private: t.private,
            private_denied: t.private_denied,
            public: t.public,
            public_denied: t.public_denied,
            public_rejected: t.public_rejected,
            public_allowed: t.public_allowed(),
            internal: t.internal,
            bytes_sent: t.bytes_sent,
            distinct_private_ips,
            distinct_public_ips,
            warnings: warnings(t, &[]),
            top_public_ips: Vec::new(),
            denied_private_ips: Vec::new(),
            top_requesters: Vec::new(),
            requesters: Vec::new(),
            approximations: Vec::new(),
            timeline,
            transitions: Vec::new(),
            accounts: Vec::new(),
        }
    }
}

/// How many entries the top lists keep.
pub const TOP: usize = 10;

/// A public address or a requester, with its number of requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Talker {
    pub name: String,
    pub requests: u64,
}

/// The [`TOP`] talkers with the most requests, ties by name.
pub fn top(mut all: Vec<Talker>) -> Vec<Talker> {
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
pub fn top_addresses(counts: impl Iterator<Item = (IpAddr, u64)>) -> Vec<Talker> {
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

/// Public addresses listed per requester.
pub const TOP_REQUESTER_IPS: usize = 5;

/// What one requester (a principal: an assumed role without its sessions) did to a
/// bucket, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Requester {
    /// The principal, `anonymous` for unauthenticated requests, or `(other
    /// requesters)` for those pooled past the tracking limit.
    pub requester: String,
    pub account: String,
    pub requests: u64,
    pub private: u64,
    pub private_denied: u64,
    pub public: u64,
    pub public_allowed: u64,
    pub public_denied: u64,
    pub public_rejected: u64,
    pub internal: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The first and last public request; `null` if there was none.
    pub first_public: Option<String>,
    pub last_public: Option<String>,
    /// The public addresses it came from with the most requests (at most
    /// [`TOP_REQUESTER_IPS`]).
    pub top_public_ips: Vec<Talker>,
}

impl Requester {
    /// The entry of `requester` with traffic `t`, seen from `first` to `last`, over
    /// the internet from `public` (first, last) and from these addresses.
    pub fn new(
        requester: String,
        t: &Traffic,
        (first, last): (i64, i64),
        public: Option<(i64, i64)>,
        addresses: impl Iterator<Item = (IpAddr, u64)>,
    ) -> Requester {
        let mut top_public_ips = top_addresses(addresses);
        top_public_ips.truncate(TOP_REQUESTER_IPS);
        Requester {
            account: account_of(&requester),
            requester,
            requests: t.requests,
            private: t.private,
            private_denied: t.private_denied,
            public: t.public,
            public_allowed: t.public_allowed(),
            public_denied: t.public_denied,
            public_rejected: t.public_rejected,
            internal: t.internal,
            first_seen: rfc3339(first),
            last_seen: rfc3339(last),
            first_public: public.map(|p| rfc3339(p.0)),
            last_public: public.map(|p| rfc3339(p.1)),
            top_public_ips,
        }
    }
}

/// The requesters a bucket's report lists, in order: every one with a public request,
/// then the busiest others up to [`TOP`] entries in all.
pub fn requester_list(mut all: Vec<Requester>) -> Vec<Requester> {
    all.sort_by(|a, b| {
        (b.public_allowed, b.public_denied, b.public, b.requests)
            .cmp(&(a.public_allowed, a.public_denied, a.public, a.requests))
            .then_with(|| a.requester.cmp(&b.requester))
    });
    let public = all.iter().take_while(|r| r.public > 0).count();
    all.truncate(public.max(TOP));
    all
}

/// The accounts of `requesters` with their traffic, busiest first.
pub fn accounts_of<'r>(requesters: impl Iterator<Item = (&'r str, &'r Traffic)>) -> Vec<Account> {
    let mut accounts: BTreeMap<String, (usize, Traffic)> = BTreeMap::new();
    for (who, t) in requesters {
        let (n, traffic) = accounts.entry(account_of(who)).or_default();
        *n += 1;
        *traffic += *t;
    }
    let mut accounts: Vec<Account> = accounts
        .into_iter()
        .map(|(account, (requesters, t))| Account {
            account,
            requesters,
            requests: t.requests,
            private: t.private,
            private_denied: t.private_denied,
            public: t.public,
            public_allowed: t.public_allowed(),
            public_denied: t.public_denied,
            public_rejected: t.public_rejected,
            internal: t.internal,
        })
        .collect();
    accounts.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.account.cmp(&b.account))
    });
    accounts
}

/// One window of a bucket's timeline; windows without requests are left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Point {
    /// Window start, RFC 3339 UTC.
    pub start: String,
    pub requests: u64,
    pub private: u64,
    pub private_denied: u64,
    pub public: u64,
    pub internal: u64,
    pub public_denied: u64,
    pub public_rejected: u64,
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
            private_denied: t.private_denied,
            public: t.public,
            internal: t.internal,
            public_denied: t.public_denied,
            public_rejected: t.public_rejected,
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
    pub private_denied: u64,
    pub public: u64,
    pub public_allowed: u64,
    pub public_denied: u64,
    pub public_rejected: u64,
    pub internal: u64,
}

/// One input that failed.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorEntry {
    pub source: String,
    pub message: String,
}

impl Report {
    /// Builds the report of a finished run under `settings`.
    pub fn build(agg: &Aggregate, tally: &Tally, settings: &Settings) -> Report {
        // Buckets are independent: each is reported on a worker of the current pool.
        let buckets: Vec<BucketReport> = agg
            .buckets()
            .into_par_iter()
            .map(|(name, stats)| bucket_report(name, stats))
            .collect();
        let mut totals = Traffic::default();
        for (_, stats) in agg.buckets() {
            totals += stats.counts;
        }
        let first = agg.buckets().iter().map(|(_, s)| s.first).min();
        let last = agg.buckets().iter().map(|(_, s)| s.last).max();
        let filter = &settings.filter;
        let summary = Summary {
            inputs: tally.counts.inputs,
            input_errors: tally.errors.len(),
            bytes: tally.counts.bytes,
            lines: tally.counts.lines,
            parsed: tally.counts.parsed,
            rejected: tally.counts.rejected,
            matched: tally.counts.matched,
            blank_lines: tally.counts.blank,
            interval: interval_name(agg.interval()),
            interval_seconds: agg.interval(),
            time_zone: agg.zone().name().to_string(),
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
            ..Summary::of(&totals)
        };
        Report {
            schema_version: SCHEMA_VERSION,
            summary,
            buckets,
            inputs: (settings.hashes.raw).then(|| InputHash::list(&tally.digests)),
            rejections: tally.rejections.clone(),
            errors: tally
                .errors
                .iter()
                .map(|e| ErrorEntry {
                    source: e.source_name.clone(),
                    message: e.message.clone(),
                })
                .collect(),
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
    let denied_private_ips = top_addresses(stats.denied_private_ips.iter());
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

    if stats.untracked_requester_public > 0 {
        approximations.push("requesters.top_public_ips");
    }

    let mut transitions = Vec::new();
    let mut talkers = Vec::with_capacity(stats.requesters.len());
    let mut requesters = Vec::with_capacity(stats.requesters.len());
    let mut traffic = Vec::with_capacity(stats.requesters.len());
    for (who, r) in &stats.requesters {
        let requester = requester_name(who).into_owned();
        traffic.push((requester.clone(), r.counts));
        talkers.push(Talker {
            name: requester.clone(),
            requests: r.counts.requests,
        });
        let account = account_of(&requester);
        transitions_of(&requester, &account, &r.cells(), &mut transitions);
        requesters.push(Requester::new(
            requester,
            &r.counts,
            (r.first, r.last),
            r.public_span(),
            r.public_ips.iter(),
        ));
    }
    transitions.sort_by(|a, b| (&a.at, &a.requester).cmp(&(&b.at, &b.requester)));
    let accounts = accounts_of(traffic.iter().map(|(n, t)| (n.as_str(), t)));

    BucketReport {
        warnings: warnings(&stats.counts, &denied_private_ips),
        top_public_ips: top_addresses(stats.public_ips.iter()),
        denied_private_ips,
        top_requesters: top(talkers),
        requesters: requester_list(requesters),
        approximations,
        transitions,
        accounts,
        ..BucketReport::of(
            escape::lossy(name).into_owned(),
            &stats.counts,
            (stats.first, stats.last),
            (all_private.count(), all_public.count()),
            timeline,
        )
    }
}

/// What a bucket's numbers ask of a person: requests denied through the endpoint (the
/// bucket policy names another endpoint, or an endpoint policy refuses), and public
/// refusals that prove nothing about the bucket policy.
pub fn warnings(t: &Traffic, denied_private_ips: &[Talker]) -> Vec<String> {
    let mut out = Vec::new();
    if t.private_denied > 0 {
        let from: Vec<String> = denied_private_ips
            .iter()
            .take(3)
            .map(|a| format!("{} ({})", a.name, a.requests))
            .collect();
        let from = if from.is_empty() {
            String::new()
        } else {
            format!(", from {}", from.join(", "))
        };
        out.push(format!(
            "{} through the VPC endpoint {} denied (HTTP 403 AccessDenied){from}: does the \
             bucket policy name the right vpce id, and does the endpoint policy allow these \
             actions?",
            plural(t.private_denied, "request"),
            if t.private_denied == 1 { "was" } else { "were" },
        ));
    }
    if t.public_rejected > 0 {
        out.push(format!(
            "{} from the internet {} refused before any policy was evaluated (bad signature, \
             unknown access key, expired token): {} nothing about the bucket policy",
            plural(t.public_rejected, "request"),
            if t.public_rejected == 1 {
                "was"
            } else {
                "were"
            },
            if t.public_rejected == 1 {
                "it proves"
            } else {
                "they prove"
            },
        ));
    }
    out
}

/// `1 request`, `2 requests`.
fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
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
    fn denials_through_the_endpoint_and_refusals_before_a_policy_are_warned_about() {
        let t = Traffic {
            requests: 6,
            private: 5,
            private_denied: 5,
            public: 1,
            public_rejected: 1,
            ..Traffic::default()
        };
        let from = [Talker {
            name: "10.0.3.57".into(),
            requests: 5,
        }];
        let w = warnings(&t, &from);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("5 requests through the VPC endpoint were denied"),
            "{}",
            w[0]
        );
        assert!(w[0].contains("from 10.0.3.57 (5)"), "{}", w[0]);
        assert!(w[0].contains("right vpce id"), "{}", w[0]);
        assert!(
            w[1].starts_with("1 request from the internet was refused before any policy"),
            "{}",
            w[1]
        );
        assert!(warnings(&Traffic::default(), &[]).is_empty());
    }

    #[test]
    fn verdicts_judge_traffic_that_got_through() {
        let c = |private, public, public_denied, internal| Traffic {
            requests: private + public + internal,
            private,
            public,
            public_denied,
            internal,
            ..Traffic::default()
        };
        assert_eq!(Verdict::of(&c(5, 0, 0, 1)), Verdict::PrivateOnly);
        assert_eq!(Verdict::of(&c(5, 2, 2, 0)), Verdict::PrivateOnly);
        assert_eq!(Verdict::of(&c(5, 2, 1, 0)), Verdict::Mixed);
        assert_eq!(Verdict::of(&c(0, 2, 0, 0)), Verdict::PublicOnly);
        assert_eq!(Verdict::of(&c(0, 2, 2, 0)), Verdict::DeniedOnly);
        let rejected_only = Traffic {
            public_rejected: 2,
            ..c(0, 2, 0, 0)
        };
        assert_eq!(rejected_only.public_allowed(), 0);
        assert_eq!(Verdict::of(&rejected_only), Verdict::DeniedOnly);
        let private_denied = Traffic {
            private_denied: 5,
            ..c(5, 0, 0, 0)
        };
        assert_eq!(Verdict::of(&private_denied), Verdict::PrivateOnly);
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
