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
pub mod grid;
pub mod html;
pub mod json;
pub mod junit;
pub mod ocsf;
pub mod policy;
pub mod requests;
pub mod series;
pub mod table;

use std::borrow::Cow;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Serialize, Serializer};

use crate::aggregate::{
    Aggregate, BucketStats, Cell, Distinct, FirstLast, Traffic, OTHER_ENDPOINTS, OTHER_REQUESTERS,
};
use crate::arn::{account_of, requester_name};
use crate::classify::Class;
use crate::cloudtrail::Change;
use crate::escape;
use crate::input::{InputError, S3Counts};
use crate::ipranges::AwsRanges;
use crate::settings::Settings;
use crate::tally::{InputDigest, JoinCounts, Rejection, Tally};
use crate::time::{interval_name, rfc3339, Zone};

/// The version of the JSON documents' layout (`docs/json.md`): raised when a field
/// changes meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u32 = 2;

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub summary: Summary,
    pub buckets: Buckets,
    /// With `--evidence-hashes`: every input read to its end, with its size and
    /// SHA-256 as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<InputHash>>,
    /// The first rejected lines (up to 1000; `summary.rejected` counts all).
    pub rejections: Vec<Rejection>,
    /// Inputs that could not be read, fully or at all.
    pub errors: Vec<ErrorEntry>,
    /// Changes to the network path (CloudTrail management events) that belong to no
    /// bucket of the report: an endpoint no reported request came through, or whose
    /// traffic CloudTrail did not name.
    pub changes: Vec<ChangeReport>,
    /// What was left out on purpose (links not followed, link loops).
    pub warnings: Vec<ErrorEntry>,
}

/// The `--aws-ip-ranges` file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AwsRangesSummary {
    /// Prefixes in the file.
    pub prefixes: usize,
    /// Its `createDate`.
    pub created: Option<String>,
}

/// What was read from CloudTrail, and how it was joined with the access logs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CloudTrailSummary {
    /// Inputs read as CloudTrail.
    pub inputs: u64,
    /// Changes to the network path found (management events).
    pub changes: usize,
    /// How CloudTrail's requests were matched with the access logs and with each other
    /// (see docs/cloudtrail.md); `None` for a report built without a run.
    pub join: Option<JoinCounts>,
    /// `complete`, or `partial` when CloudTrail requests past the join's memory limit
    /// were counted without looking for their access log record.
    pub attribution: &'static str,
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
    /// CloudTrail events that are not S3 requests to a bucket: skipped, not in `lines`.
    pub skipped_events: u64,
    /// The AWS ranges file given with `--aws-ip-ranges` (absent without).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_ranges: Option<AwsRangesSummary>,
    /// What was read from CloudTrail (absent when no input was CloudTrail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudtrail: Option<CloudTrailSummary>,
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
    /// `requesters.top_public_ips`, `endpoints`. Usually empty.
    pub approximations: Vec<&'static str>,
    /// The bucket's region, when CloudTrail said (`awsRegion`).
    pub region: Option<String>,
    /// Requests its own VPC endpoint's policy denied (CloudTrail `VpceAccessDenied`;
    /// also counted in `private_denied`).
    pub endpoint_policy_denied: u64,
    /// The VPC endpoints that carried requests, when CloudTrail named them; most
    /// requests first.
    pub endpoints: Vec<EndpointReport>,
    /// Changes to the network path of this bucket: its bucket policy, and the
    /// endpoints its traffic came through; by time.
    pub changes: Vec<ChangeReport>,
    /// With `--aws-ip-ranges`: where the public requests came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_networks: Option<PublicNetworks>,
    pub timeline: Vec<Point>,
    pub transitions: Vec<Transition>,
    pub accounts: Vec<Account>,
}

/// Where a bucket's public requests came from, by AWS's published ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PublicNetworks {
    /// The bucket's region (from CloudTrail, or the access logs' host header).
    pub region: Option<String>,
    /// From EC2 ranges of that region: almost surely a VPC of the bucket's region that
    /// reached it past the endpoint (a NAT gateway, a public instance). `null` when the
    /// region is not known.
    pub ec2_same_region: Option<u64>,
    /// From any other AWS range (EC2 elsewhere, other services; all EC2 when the
    /// region is not known).
    pub other_aws: u64,
    /// From outside AWS: someone on the internet.
    pub outside_aws: u64,
    /// From addresses past the tracking limit, not looked up.
    pub not_looked_up: u64,
}

/// One VPC endpoint's requests to a bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointReport {
    /// `vpce-…`, or `(other endpoints)` past the limit.
    pub id: String,
    /// The account that owns the endpoint, if known.
    pub account: Option<String>,
    pub requests: u64,
    /// Requests denied through it (HTTP 403 `AccessDenied` or `VpceAccessDenied`).
    pub denied: u64,
    pub first_seen: String,
    pub last_seen: String,
}

/// A change to the network path: a CloudTrail management event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeReport {
    pub time: String,
    /// `CreateVpcEndpoint`, `ModifyVpcEndpoint`, `DeleteVpcEndpoints`,
    /// `PutBucketPolicy` or `DeleteBucketPolicy`.
    pub event: String,
    /// The endpoints it names (endpoint events).
    pub endpoints: Vec<String>,
    /// The bucket (bucket policy events).
    pub bucket: Option<String>,
    /// Who made the call.
    pub by: Option<String>,
    /// The error code when the call failed (and so changed nothing).
    pub error: Option<String>,
}

impl ChangeReport {
    fn of(c: &Change) -> ChangeReport {
        ChangeReport {
            time: rfc3339(c.epoch),
            event: c.event.clone(),
            endpoints: c.endpoints.clone(),
            bucket: c.bucket.clone(),
            by: c.by.clone(),
            error: c.error.clone(),
        }
    }
}

/// The change that most likely moved a requester from the endpoint to the internet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub event: String,
    pub time: String,
    pub endpoints: Vec<String>,
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
            region: None,
            endpoint_policy_denied: 0,
            endpoints: Vec::new(),
            changes: Vec::new(),
            public_networks: None,
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
    /// For a public address with `--aws-ip-ranges`: the AWS range it is in
    /// (`EC2 ap-northeast-2`) or `outside AWS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<String>,
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
/// are written out as text: a bucket may have tens of thousands, most of them tied at
/// one request, and a tie is broken by the address as text.
pub fn top_addresses(counts: impl Iterator<Item = (IpAddr, u64)>) -> Vec<Talker> {
    let mut all: Vec<(IpAddr, u64)> = counts.collect();
    if all.len() > TOP {
        all.select_nth_unstable_by(TOP - 1, |a, b| b.1.cmp(&a.1));
        let least = all[TOP - 1].1;
        // Every address above the cut-off makes the list; of those at it, the ones
        // whose text comes first fill the rest, kept in a bounded heap.
        let above = all.iter().filter(|&&(_, n)| n > least).count();
        let mut tied: BinaryHeap<(AddressText, IpAddr)> = BinaryHeap::with_capacity(TOP);
        for &(ip, _) in all.iter().filter(|&&(_, n)| n == least) {
            let text = AddressText::of(ip);
            if tied.len() < TOP - above {
                tied.push((text, ip));
            } else if tied.peek().is_some_and(|(last, _)| text < *last) {
                tied.pop();
                tied.push((text, ip));
            }
        }
        all.retain(|&(_, n)| n > least);
        all.extend(tied.into_iter().map(|(_, ip)| (ip, least)));
    }
    top(all
        .into_iter()
        .map(|(ip, requests)| Talker {
            name: ip.to_string(),
            requests,
            aws: None,
        })
        .collect())
}

/// An address as text, on the stack: ordered as its `String` would be.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct AddressText {
    /// The text, padded with zero bytes, which sort before any character of it.
    bytes: [u8; 40],
}

impl AddressText {
    fn of(ip: IpAddr) -> AddressText {
        let mut bytes = [0; 40];
        match ip {
            // Most tied addresses: written digit by digit, as `Display` does, in a
            // fraction of its time.
            IpAddr::V4(v4) => {
                let mut at = 0;
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        bytes[at] = b'.';
                        at += 1;
                    }
                    for (place, digit) in [(100, octet / 100), (10, octet / 10 % 10)] {
                        if octet >= place {
                            bytes[at] = b'0' + digit;
                            at += 1;
                        }
                    }
                    bytes[at] = b'0' + octet % 10;
                    at += 1;
                }
            }
            IpAddr::V6(_) => {
                // The longest address text, eight groups of four hex digits, is 39 bytes.
                let written = io::Write::write_fmt(&mut &mut bytes[..], format_args!("{ip}"));
                debug_assert!(written.is_ok(), "{ip} fits in 40 bytes");
            }
        }
        AddressText { bytes }
    }
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
    /// Shared by the transitions of one requester: a bucket may hold hundreds of
    /// thousands of them.
    pub requester: Arc<str>,
    pub account: Arc<str>,
    pub from: Class,
    pub to: Class,
    /// The first request on the new network (see docs/report.md for the precision).
    pub at: String,
    pub remote_ip: String,
    /// For a move from the endpoint to the internet: the endpoint deletion or route
    /// change (CloudTrail) at most one window before it, the latest one.
    /// Boxed: most transitions have none, and a bucket may hold hundreds of thousands.
    pub likely_cause: Option<Box<Cause>>,
    /// For a move to the internet with `--aws-ip-ranges`: the AWS range of `remote_ip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<String>,
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
        /// What every bucket is built with besides its own counters.
        with: Arc<Context>,
    },
}

/// What a bucket of a run is built with besides its own counters: the changes to the
/// network path, and the AWS ranges its public addresses are tagged with.
#[derive(Clone, Debug, Default)]
struct Context {
    /// Every change read, by time.
    changes: Vec<Change>,
    /// The changes that belong to no bucket, by time: a likely cause of a move to the
    /// internet when the bucket's own changes name none.
    loose: Vec<Change>,
    /// With `--aws-ip-ranges`.
    ranges: Option<Arc<AwsRanges>>,
}

impl Context {
    /// The report of one bucket of the aggregate.
    fn bucket(&self, name: &[u8], stats: &BucketStats, interval: i64) -> BucketReport {
        let mut b = bucket_report(name, stats);
        if !self.changes.is_empty() {
            let changes: Vec<&Change> = self.changes.iter().collect();
            attach_changes(&mut b, stats, &changes, interval);
            let loose: Vec<&Change> = self.loose.iter().collect();
            for t in &mut b.transitions {
                if t.likely_cause.is_none() && t.from == Class::Private && t.to == Class::Public {
                    t.likely_cause = cause(&loose, &t.at, interval).map(Box::new);
                }
            }
        }
        if let Some(ranges) = &self.ranges {
            tag_bucket(&mut b, stats, ranges);
        }
        b
    }
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
    /// The buckets of `agg`, to be built as they are read, with the changes to the
    /// network path (by time) and those of them that belong to no bucket.
    fn of(agg: Arc<Aggregate>, changes: Vec<Change>, loose: Vec<Change>) -> Self {
        let order = agg.by_name();
        let with = Arc::new(Context {
            changes,
            loose,
            ranges: None,
        });
        Buckets(Source::Aggregated { agg, order, with })
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
            Source::Aggregated { agg, order, with } => {
                let (name, stats) = agg.bucket(order[i]);
                Cow::Owned(with.bucket(name, stats, agg.interval()))
            }
        }
    }

    /// The public traffic of bucket `i`, for ranking buckets without building them:
    /// (public requests let through, public requests denied, requests).
    pub fn public_traffic(&self, i: usize) -> (u64, u64, u64) {
        match &self.0 {
            Source::Built(v) => (v[i].public_allowed, v[i].public_denied, v[i].requests),
            Source::Aggregated { agg, order, .. } => {
                let c = &agg.bucket(order[i]).1.counts;
                (c.public_allowed(), c.public_denied, c.requests)
            }
        }
    }

    /// Where the bucket named `name` is in name order, if it is there.
    pub fn position(&self, name: &str) -> Option<usize> {
        match &self.0 {
            Source::Built(v) => v.binary_search_by(|b| b.bucket.as_str().cmp(name)).ok(),
            Source::Aggregated { agg, order, .. } => {
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
            Source::Aggregated { .. } => Box::new(self.map(|b| b)),
        }
    }

    /// `f` of every bucket, in name order: the buckets are built and passed to `f` on
    /// the workers of the current pool, a batch at a time (a batch holds up to
    /// [`BATCH`] buckets of [`BATCH_WEIGHT`] windows and requesters together, or one
    /// heavier bucket), so that what `f` makes of them is made in parallel too.
    pub fn map<'a, T, F>(&'a self, f: F) -> impl Iterator<Item = T> + 'a
    where
        T: Send + 'a,
        F: Fn(Cow<'a, BucketReport>) -> T + Sync + 'a,
    {
        Batches {
            buckets: self,
            f,
            next: 0,
            ready: VecDeque::new(),
        }
    }

    /// Every bucket in name order, drawn by `draw` into a text of its own on the
    /// workers (see [`Buckets::map`]), but for a bucket of more than `in_line` windows
    /// and requesters: that one is handed over as it is, for the writer to draw straight
    /// to its output, so that its text never stands in memory whole.
    pub fn drawn<'a, D>(
        &'a self,
        in_line: usize,
        draw: D,
    ) -> impl Iterator<Item = io::Result<Drawn<'a>>> + 'a
    where
        D: Fn(&BucketReport, &mut Vec<u8>) -> io::Result<()> + Sync + 'a,
    {
        self.map(move |b| {
            if b.timeline.len() + b.requesters.len() > in_line {
                return Ok(Drawn::Bucket(Box::new(b)));
            }
            let mut text = Vec::new();
            draw(&b, &mut text)?;
            Ok(Drawn::Text(text))
        })
    }

    /// The windows and requesters of bucket `i`, what its report grows with.
    fn weight(&self, i: usize) -> usize {
        match &self.0 {
            Source::Built(v) => v[i].timeline.len() + v[i].requesters.len(),
            Source::Aggregated { agg, order, .. } => {
                let stats = agg.bucket(order[i]).1;
                stats.timeline_len() + stats.requesters.len()
            }
        }
    }
}

/// A bucket as [`Buckets::drawn`] hands it to the writer.
pub enum Drawn<'a> {
    /// Its text, drawn on a worker.
    Text(Vec<u8>),
    /// The bucket itself, too heavy for its text to be held.
    Bucket(Box<Cow<'a, BucketReport>>),
}

/// `f` of the buckets, a batch at a time (see [`Buckets::map`]).
struct Batches<'a, F, T> {
    buckets: &'a Buckets,
    f: F,
    next: usize,
    ready: VecDeque<T>,
}

impl<'a, F, T> Iterator for Batches<'a, F, T>
where
    T: Send,
    F: Fn(Cow<'a, BucketReport>) -> T + Sync,
{
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let len = self.buckets.len();
        if self.ready.is_empty() && self.next < len {
            let start = self.next;
            let mut weight = 0;
            while self.next < len
                && self.next - start < BATCH
                && (self.next == start || weight < BATCH_WEIGHT)
            {
                weight += self.buckets.weight(self.next);
                self.next += 1;
            }
            // Buckets are independent: each is built on a worker of the current pool.
            let (buckets, f) = (self.buckets, &self.f);
            self.ready = (start..self.next)
                .into_par_iter()
                .map(|i| f(buckets.get(i)))
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
    /// they are written (see [`Buckets`]).
    pub fn build(agg: Aggregate, tally: &Tally, settings: &Settings) -> Report {
        let mut changes: Vec<Change> = tally.changes.clone();
        changes.sort_by_key(|c| c.epoch);
        let loose = loose_changes(&agg, &changes);
        let interval = agg.interval();
        let zone = agg.zone();
        let mut totals = Traffic::default();
        let (mut first, mut last) = (None::<i64>, None::<i64>);
        for at in 0..agg.len() as u32 {
            let stats = agg.bucket(at).1;
            totals += stats.counts;
            first = Some(first.map_or(stats.first, |t| t.min(stats.first)));
            last = Some(last.map_or(stats.last, |t| t.max(stats.last)));
        }
        let buckets = Buckets::of(Arc::new(agg), changes, loose.clone());
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
            interval: interval_name(interval),
            interval_seconds: interval,
            time_zone: zone.name().to_string(),
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
            skipped_events: tally.counts.skipped_events,
            cloudtrail: (tally.counts.cloudtrail_inputs > 0).then(|| CloudTrailSummary {
                inputs: tally.counts.cloudtrail_inputs,
                changes: tally.changes.len(),
                join: tally.join,
                attribution: if tally.join.is_some_and(|j| j.unjoined > 0) {
                    "partial"
                } else {
                    "complete"
                },
            }),
            ..Summary::of(&totals)
        };
        Report {
            schema_version: SCHEMA_VERSION,
            summary,
            buckets,
            inputs: (settings.hashes.raw).then(|| InputHash::list(&tally.digests)),
            rejections: tally.rejections.clone(),
            errors: ErrorEntry::list(&tally.errors),
            warnings: ErrorEntry::list(&tally.warnings),
            changes: loose.iter().map(ChangeReport::of).collect(),
        }
    }
}

impl Report {
    /// Tags the public addresses with the AWS range they are in (`--aws-ip-ranges`):
    /// top addresses, moves to the internet, and per bucket where its public requests
    /// came from, over every address the run counted. A report of a run only: the
    /// buckets are tagged as they are built.
    pub fn tag_aws(&mut self, ranges: Arc<AwsRanges>) {
        self.summary.aws_ranges = Some(AwsRangesSummary {
            prefixes: ranges.prefixes,
            created: ranges.created.clone(),
        });
        if let Source::Aggregated { with, .. } = &mut self.buckets.0 {
            Arc::make_mut(with).ranges = Some(ranges);
        }
    }
}

/// Tags bucket `b`'s public addresses with the AWS range they are in, and says where
/// its public requests came from, over every address `s` counted.
fn tag_bucket(b: &mut BucketReport, s: &BucketStats, ranges: &AwsRanges) {
    let describe = |ip: &str| ip.parse().ok().map(|ip| ranges.describe(ip));
    for t in &mut b.top_public_ips {
        t.aws = describe(&t.name);
    }
    for t in &mut b.transitions {
        if t.to == Class::Public {
            t.aws = describe(&t.remote_ip);
        }
    }
    let region = s.region.as_deref().map(|r| escape::lossy(r).into_owned());
    let mut n = PublicNetworks {
        ec2_same_region: region.as_ref().map(|_| 0),
        region,
        not_looked_up: s.untracked_public,
        ..PublicNetworks::default()
    };
    for (ip, requests) in s.public_ips.iter() {
        match (ranges.lookup(ip), &n.region) {
            (None, _) => n.outside_aws += requests,
            (Some(tag), Some(region)) if tag.is_ec2_in(region) => {
                *n.ec2_same_region.get_or_insert(0) += requests
            }
            (Some(_), _) => n.other_aws += requests,
        }
    }
    if let (Some(ec2), Some(region)) = (n.ec2_same_region, &n.region) {
        if ec2 > 0 {
            b.warnings.push(format!(
                "{} from the internet came from EC2 addresses of {region}, the bucket's \
                 own region: almost surely a VPC there that reached it past the endpoint \
                 (a NAT gateway or a public instance)",
                plural(ec2, "request"),
            ));
        }
    }
    b.public_networks = Some(n);
}

/// The changes (by time) that belong to no bucket of `agg`: a bucket policy event of a
/// bucket with no request, an endpoint event of an endpoint that carried none (see
/// [`attach_changes`]). One pass over the buckets, without building their reports.
fn loose_changes(agg: &Aggregate, changes: &[Change]) -> Vec<Change> {
    let mut attached = vec![false; changes.len()];
    let mut by_bucket: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut by_endpoint: BTreeMap<&[u8], Vec<usize>> = BTreeMap::new();
    for (i, c) in changes.iter().enumerate() {
        match &c.bucket {
            Some(bucket) => by_bucket.entry(bucket.as_str()).or_default().push(i),
            None => {
                for e in &c.endpoints {
                    by_endpoint.entry(e.as_bytes()).or_default().push(i);
                }
            }
        }
    }
    if !changes.is_empty() {
        for at in 0..agg.len() as u32 {
            let (name, stats) = agg.bucket(at);
            if let Some(mine) = by_bucket.get(&*escape::lossy(name)) {
                mine.iter().for_each(|&i| attached[i] = true);
            }
            for id in stats.endpoints.keys() {
                if let Some(mine) = by_endpoint.get(id) {
                    mine.iter().for_each(|&i| attached[i] = true);
                }
            }
        }
    }
    changes
        .iter()
        .zip(attached)
        .filter(|(_, attached)| !attached)
        .map(|(c, _)| c.clone())
        .collect()
}

/// The changes that belong to a bucket: its own bucket policy events, and the events
/// of the endpoints its traffic came through.
fn attach_changes(b: &mut BucketReport, stats: &BucketStats, changes: &[&Change], interval: i64) {
    for c in changes {
        // A bucket policy event belongs to its bucket only (the endpoints it names are
        // the ones the new policy allows); an endpoint event to every bucket the
        // endpoint carried requests to.
        let mine = match &c.bucket {
            Some(bucket) => *bucket == b.bucket,
            None => c
                .endpoints
                .iter()
                .any(|e| stats.endpoints.contains_key(e.as_bytes())),
        };
        if mine {
            b.changes.push(ChangeReport::of(c));
        }
    }
    let own: Vec<&Change> = changes
        .iter()
        .copied()
        .filter(|c| {
            c.bucket.is_none()
                && c.endpoints
                    .iter()
                    .any(|e| stats.endpoints.contains_key(e.as_bytes()))
        })
        .collect();
    for t in &mut b.transitions {
        if t.from == Class::Private && t.to == Class::Public {
            t.likely_cause = cause(&own, &t.at, interval).map(Box::new);
        }
    }
}

/// The latest endpoint deletion or route change at most `interval` seconds before
/// `at` (RFC 3339).
fn cause(changes: &[&Change], at: &str, interval: i64) -> Option<Cause> {
    let at = crate::time::parse_rfc3339(at)?;
    changes
        .iter()
        .filter(|c| c.moves_traffic() && c.epoch <= at && at - c.epoch <= interval)
        .max_by_key(|c| c.epoch)
        .map(|c| Cause {
            event: c.event.clone(),
            time: rfc3339(c.epoch),
            endpoints: c.endpoints.clone(),
        })
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
    if stats.endpoints.contains_key(OTHER_ENDPOINTS) {
        approximations.push("endpoints");
    }
    let mut endpoints: Vec<EndpointReport> = stats
        .endpoints
        .iter()
        .map(|(id, e)| EndpointReport {
            id: escape::lossy(id).into_owned(),
            account: e.account.as_deref().map(|a| escape::lossy(a).into_owned()),
            requests: e.requests,
            denied: e.denied,
            first_seen: rfc3339(e.first),
            last_seen: rfc3339(e.last),
        })
        .collect();
    endpoints.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.id.cmp(&b.id)));
    let endpoint_policy_denied = stats
        .endpoints
        .values()
        .map(|e| e.denied_by_endpoint_policy)
        .sum();

    if stats.untracked_requester_public > 0 {
        approximations.push("requesters.top_public_ips");
    }

    let mut transitions = Vec::new();
    let mut talkers = Vec::with_capacity(stats.requesters.len());
    let mut requesters = Vec::with_capacity(stats.requesters.len());
    let mut traffic = Vec::with_capacity(stats.requesters.len());
    for (who, r) in stats.requesters.iter() {
        let requester = requester_name(who).into_owned();
        traffic.push((requester.clone(), r.counts));
        talkers.push(Talker {
            name: requester.clone(),
            requests: r.counts.requests,
            aws: None,
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

    // Denials by the endpoint's own policy have a warning of their own.
    let access_denied = Traffic {
        private_denied: stats.counts.private_denied - endpoint_policy_denied,
        ..stats.counts
    };
    let mut warnings = warnings(&access_denied, &denied_private_ips);
    warnings.extend(endpoint_warnings(&endpoints, endpoint_policy_denied));
    BucketReport {
        warnings,
        region: stats
            .region
            .as_deref()
            .map(|r| escape::lossy(r).into_owned()),
        endpoint_policy_denied,
        endpoints,
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

/// What the endpoints ask of a person: private traffic through more than one
/// endpoint, and requests an endpoint's own policy refused.
fn endpoint_warnings(endpoints: &[EndpointReport], by_policy: u64) -> Vec<String> {
    let mut out = Vec::new();
    if endpoints.len() > 1 {
        let each: Vec<String> = endpoints
            .iter()
            .take(5)
            .map(|e| format!("{} ({})", e.id, e.requests))
            .collect();
        out.push(format!(
            "private traffic came through {} VPC endpoints: {}{}; does the bucket policy allow \
             each of them (aws:SourceVpce)?",
            endpoints.len(),
            each.join(", "),
            if endpoints.len() > 5 { ", ..." } else { "" },
        ));
    }
    if by_policy > 0 {
        out.push(format!(
            "{} {} denied by the VPC endpoint's own policy (VpceAccessDenied): the endpoint \
             policy does not allow {} for this bucket",
            plural(by_policy, "request"),
            if by_policy == 1 { "was" } else { "were" },
            if by_policy == 1 { "it" } else { "them" },
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
    cells: &[(i64, Cell)],
    out: &mut Vec<Transition>,
) {
    let (requester, account): (Arc<str>, Arc<str>) = (requester.into(), account.into());
    let mut state: Option<Class> = None;
    let mut emit = |state: &mut Option<Class>, to: Class, (at, ip): (i64, IpAddr)| {
        if let Some(from) = *state {
            if from != to {
                out.push(Transition {
                    requester: Arc::clone(&requester),
                    account: Arc::clone(&account),
                    from,
                    to,
                    at: rfc3339(at),
                    remote_ip: ip.to_string(),
                    likely_cause: None,
                    aws: None,
                });
            }
        }
        *state = Some(to);
    };
    for (_, cell) in cells {
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
    use crate::classify::Classifier;
    use crate::filter::Filter;
    use crate::record::Record;

    /// A report of `buckets` buckets with names and principals chosen to be escaped
    /// (a quote, a line break, ESC, a C1 control, a bidi override), of 1 to 40 windows.
    pub(in crate::report) fn escaped_report(buckets: usize) -> Report {
        let settings = Settings {
            classifier: Classifier::new(&[]),
            filter: Filter::default(),
            interval: 60,
            hashes: Default::default(),
            zone: crate::time::Zone::Utc,
            regions: false,
        };
        let classifier = Classifier::new(&[]);
        let mut agg = Aggregate::new(settings.interval);
        let names: Vec<String> = (0..buckets)
            .map(|b| format!("b{b}-\"q\"\n\u{1b}[2J\u{9b}\u{202e}"))
            .collect();
        let roles: Vec<String> = (0..3)
            .map(|r| format!("arn:aws:sts::111122223333:assumed-role/r{r}\n\"x\"/s"))
            .collect();
        for (b, name) in names.iter().enumerate() {
            for i in 0..(b * 13 % 40 + 1) as i64 {
                for (r, role) in roles.iter().enumerate() {
                    let ip = if (i + r as i64) % 3 == 0 {
                        format!("52.0.{b}.{i}")
                    } else {
                        format!("10.0.{r}.{i}")
                    };
                    let record = Record {
                        bucket: Some(name.as_bytes()),
                        time: 1_700_000_000 + i * 60 + r as i64,
                        remote_ip: Some(ip.parse().unwrap()),
                        requester: Some(role.as_bytes()),
                        http_status: Some(if i % 7 == 0 { 403 } else { 200 }),
                        bytes_sent: Some(10),
                        ..Record::default()
                    };
                    agg.add(&record, classifier.classify(record.remote_ip));
                }
            }
        }
        Report::build(agg, &Tally::default(), &settings)
    }

    /// Buckets of `windows` windows each, one request a minute by one requester, in
    /// name order.
    fn buckets_of(sizes: &[(&str, i64)]) -> Buckets {
        let classifier = Classifier::new(&[]);
        let mut agg = Aggregate::new(60);
        for (name, windows) in sizes {
            for i in 0..*windows {
                let record = Record {
                    bucket: Some(name.as_bytes()),
                    time: 1_700_000_040 + i * 60,
                    remote_ip: Some(IpAddr::from([10, 0, 0, 1])),
                    requester: Some(b"arn:aws:iam::111122223333:user/alice"),
                    http_status: Some(200),
                    ..Record::default()
                };
                agg.add(&record, classifier.classify(record.remote_ip));
            }
        }
        Buckets::of(Arc::new(agg), Vec::new(), Vec::new())
    }

    /// A batch holds up to 64 buckets, and stops at the bucket that brings it to
    /// 100,000 windows and requesters (a heavier bucket is a batch alone): the buckets
    /// are built a batch at a time, in name order, whether they come from an
    /// aggregate or were built before.
    #[test]
    fn buckets_are_built_in_batches_of_64_or_of_100_000_windows_and_requesters() {
        // `a`: 99,999 windows and a requester; 70 light buckets; `c0` and `c1`: half
        // as heavy; `d`: light.
        let mut sizes: Vec<(String, i64)> = vec![("a".into(), 99_999)];
        sizes.extend((0..70).map(|i| (format!("b{i:03}"), 1)));
        sizes.extend([
            ("c0".into(), 50_000),
            ("c1".into(), 50_000),
            ("d".into(), 1),
        ]);
        let named: Vec<(&str, i64)> = sizes.iter().map(|(n, w)| (n.as_str(), *w)).collect();
        let aggregated = buckets_of(&named);
        let first = aggregated.get(0);
        assert_eq!(first.timeline.len() + first.requesters.len(), 100_000);
        drop(first);
        let built = Buckets::from(aggregated.iter().map(Cow::into_owned).collect::<Vec<_>>());
        // Buckets built by the end of each batch: 1, 64, 6 + 2, 1.
        let ends = [1, 65, 73, 74];
        for buckets in [&aggregated, &built] {
            let calls = std::sync::atomic::AtomicUsize::new(0);
            let mut seen = Vec::new();
            for (i, name) in buckets
                .map(|b| {
                    calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    b.bucket.clone()
                })
                .enumerate()
            {
                let built_by_now = calls.load(std::sync::atomic::Ordering::Relaxed);
                let end = *ends.iter().find(|&&end| i < end).unwrap();
                assert_eq!(built_by_now, end, "bucket {i}");
                seen.push(name);
            }
            assert_eq!(
                seen,
                sizes.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
            );
        }
    }

    /// `drawn` hands over the text `draw` made of every bucket, in name order, but for
    /// a bucket of more windows and requesters than asked: that one comes as it is.
    #[test]
    fn buckets_heavier_than_asked_are_handed_over_undrawn() {
        let report = escaped_report(9);
        let buckets = &report.buckets;
        let weights: Vec<usize> = buckets
            .iter()
            .map(|b| b.timeline.len() + b.requesters.len())
            .collect();
        for in_line in 0..=weights.iter().max().unwrap() + 1 {
            let drawn = buckets.drawn(in_line, |b, text| {
                text.extend_from_slice(b.bucket.as_bytes());
                Ok(())
            });
            for (i, d) in drawn.enumerate() {
                let name = buckets.get(i).bucket.clone();
                match d.unwrap() {
                    Drawn::Text(text) => {
                        assert!(weights[i] <= in_line, "bucket {i} above {in_line}");
                        assert_eq!(text, name.as_bytes());
                    }
                    Drawn::Bucket(b) => {
                        assert!(weights[i] > in_line, "bucket {i} at {in_line}");
                        assert_eq!(b.bucket, name);
                    }
                }
            }
        }
    }

    #[test]
    fn top_addresses_name_only_the_contenders_and_agree_with_top() {
        // Ties at the cut-off are broken by the address as text ("10.0.0.10" < "10.0.0.9",
        // "2001:db8::10" < "2001:db8::9", "1.0.0.0" < "1::"), whatever their number.
        for spread in [1, 2, 3, 50, 1000] {
            let counts: Vec<(IpAddr, u64)> = (0..600u32)
                .map(|i| {
                    let ip = match i % 3 {
                        0 => IpAddr::from([10, 0, (i / 256) as u8, i as u8]),
                        1 => IpAddr::from([(i % 9 + 1) as u8, 0, 0, (i / 9) as u8]),
                        _ => IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, (i % 7) as u16, i as u16]),
                    };
                    (ip, u64::from(i * 7 % spread))
                })
                .collect();
            let everyone = counts
                .iter()
                .map(|(ip, requests)| Talker {
                    name: ip.to_string(),
                    requests: *requests,
                    aws: None,
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

    #[test]
    fn address_text_is_the_address_as_displayed() {
        let mut ips: Vec<IpAddr> = [0u8, 1, 9, 10, 99, 100, 109, 110, 199, 200, 255]
            .iter()
            .flat_map(|&a| [IpAddr::from([a, 0, 10, a]), IpAddr::from([1, a, 100, 7])])
            .collect();
        ips.extend(
            [
                "::",
                "::1",
                "2001:db8::a:0:0:9",
                "::ffff:1.2.3.4",
                "1:2:3:4:5:6:7:8",
            ]
            .map(|a| a.parse::<IpAddr>().unwrap()),
        );
        ips.push(IpAddr::from([0xffff; 8]));
        for ip in ips {
            let text = AddressText::of(ip);
            let len = text.bytes.iter().position(|&b| b == 0).unwrap_or(40);
            assert_eq!(&text.bytes[..len], ip.to_string().as_bytes());
            assert!(text.bytes[len..].iter().all(|&b| b == 0), "{ip}");
        }
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
            aws: None,
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
        let cells = [
            (
                h,
                Cell {
                    private: seen(h + 300, h + 3000, "10.0.1.5"),
                    public: seen(h + 1920, h + 2400, "52.79.54.241"),
                },
            ),
            (
                h + 3600,
                Cell {
                    private: None,
                    public: seen(h + 3700, h + 3800, "52.79.54.241"),
                },
            ),
        ];
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
