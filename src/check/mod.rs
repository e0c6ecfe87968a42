//! The compliance check behind `vpce-audit check`: every request to a bucket under a
//! rule is judged ([`rules`]), counted per bucket, and the violating ones are kept with
//! where they are in the input, as are the attempts from the internet that were
//! refused (blocked by a policy, or rejected before one) and the requests denied
//! through the endpoint. With a bucket policy, public requests that succeeded although
//! the policy says they are denied are kept as contradictions.
//!
//! Counting is exact and unbounded; the detailed lists keep the first
//! [`KEPT_FINDINGS`] entries each, in input order (the counters say how many there
//! were in all). Inputs are read in parallel as they come ([`crate::pipeline::read_each`]);
//! the partial results merge in input order, so the output is deterministic.
//!
//! On request ([`Checker::aggregate`]) the same pass also aggregates the checked
//! requests into timeline windows, for the charts of `check --format html`, as long as
//! they are of at most [`CHARTED`] buckets: past that the aggregate is dropped
//! ([`Findings::charts_dropped`]), and the page's charts come from a second reading of
//! the buckets it gives a section to.
//!
//! [`run`] adds the incremental part: with a [`State`], inputs processed by earlier
//! runs are skipped (unread where the state knows their place, else once their
//! content is known), and inputs that changed since are errors.
//!
//! Beside the checker: [`counters`] (per-bucket numbers, for a run and the state),
//! [`rules`] (the compliance rules and the judgement of one request), [`evidence`]
//! (whether the run had the evidence to pass at all, and the warnings), [`state`] (the
//! memory of incremental runs), [`bucket_policy`] (what a bucket policy denies) and
//! [`wildcard`] (the IAM pattern language both files use).

pub mod bucket_policy;
pub mod counters;
pub mod evidence;
pub mod rules;
pub mod state;
pub mod wildcard;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use serde::Serialize;

use crate::aggregate::Aggregate;
use crate::arn::{account_of, principal};
use crate::classify::{Class, Outcome};
use crate::escape;
use crate::input::digest::Digest;
use crate::input::stream::{self, SourceExt, AHEAD};
use crate::input::{describe, Input, InputError};
use crate::join::Join;
use crate::pipeline::{joined, read_cloudtrail, read_each, scan_input};
use crate::record::Record;
use crate::settings::Settings;
use crate::tally::Tally;
use crate::time::rfc3339;
use bucket_policy::Analysis;
use counters::{Counters, Earliest, Latest};
use rules::{Exception, ExceptionKind, Judgement, Rules};
use state::{locate, AtPlace, Evidence, Location, State};

/// How many violations (and, separately, contradictions, attempts and requests denied
/// through the endpoint) are listed in detail; all are counted.
pub const KEPT_FINDINGS: usize = 100_000;
/// The most buckets aggregated for charts while checking (see [`Findings::charts_dropped`]).
pub const CHARTED: usize = 1000;

/// How many requesters per bucket are remembered for [`Crossings`].
pub const TRACKED_REQUESTERS: usize = 10_000;

/// One flagged request, with where it is in the input: the fields that join it to
/// other evidence (request id, time, address, account). Text fields are the log's
/// bytes as UTF-8 (invalid bytes replaced); `None` is a `-` in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flagged {
    pub time: String,
    pub bucket: String,
    pub remote_ip: Option<String>,
    pub class: Class,
    /// What S3 did with it: `allowed`, `denied` (by a policy, HTTP 403
    /// `AccessDenied`) or `rejected` (before any policy).
    pub outcome: Outcome,
    pub requester: Option<String>,
    /// The requester's account id (`anonymous` for `-`).
    pub account: String,
    pub operation: Option<String>,
    pub key: Option<String>,
    pub status: Option<u16>,
    pub error_code: Option<String>,
    /// S3's request id: the same in CloudTrail (`requestID`).
    pub request_id: Option<String>,
    /// The input it was read from.
    pub source: String,
    /// Its line number there.
    pub line: u64,
    /// For contradictions: the IAM action the policy denies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// For contradictions: the statement that should have denied it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The VPC endpoint it came through, when CloudTrail named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
}

/// What a check found in some inputs.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// Buckets under a rule or the bucket policy, with their counters.
    pub buckets: BTreeMap<String, Counters>,
    /// The first [`KEPT_FINDINGS`] violations, in input order.
    pub violations: Vec<Flagged>,
    /// The first [`KEPT_FINDINGS`] contradictions, in input order.
    pub contradictions: Vec<Flagged>,
    /// The first [`KEPT_FINDINGS`] refused attempts from the internet (blocked by a
    /// policy, or rejected before one), in input order.
    pub attempts: Vec<Flagged>,
    /// The first [`KEPT_FINDINGS`] requests denied through the endpoint, in input
    /// order.
    pub private_denied: Vec<Flagged>,
    /// Requesters seen both through the endpoint and, under an exception, from the
    /// internet.
    pub crossings: Crossings,
    /// Records not judged because they are older than the state's horizon.
    pub before_horizon: u64,
    /// Public requests not cross-checked because they came before `--policy-since`.
    pub before_policy: u64,
    /// The requests to the buckets above, in windows of the settings' interval, if
    /// the checker was asked to aggregate them.
    pub aggregate: Option<Aggregate>,
    /// Requests through VPC endpoints the bucket policy does not allow, per bucket and
    /// endpoint (CloudTrail names the endpoint).
    pub unlisted_endpoints: BTreeMap<(String, String), u64>,
    /// When the bucket policy took effect: the latest `PutBucketPolicy` of its bucket
    /// in the CloudTrail input. Requests before it are not cross-checked.
    pub policy_from: Option<i64>,
    /// The aggregate was dropped: more than [`CHARTED`] buckets were checked.
    pub charts_dropped: bool,
    /// The times of the first and last checked request.
    pub span: Option<(i64, i64)>,
}

/// Adds the entries of `other` to `mine`, keeping the first [`KEPT_FINDINGS`].
fn keep_first(mine: &mut Vec<Flagged>, other: Vec<Flagged>) {
    let room = KEPT_FINDINGS.saturating_sub(mine.len());
    mine.extend(other.into_iter().take(room));
}

impl Findings {
    /// Adds `other`, whose inputs come after these.
    pub fn merge(&mut self, other: Findings) {
        for (name, c) in other.buckets {
            *self.buckets.entry(name).or_default() += c;
        }
        keep_first(&mut self.violations, other.violations);
        keep_first(&mut self.contradictions, other.contradictions);
        keep_first(&mut self.attempts, other.attempts);
        keep_first(&mut self.private_denied, other.private_denied);
        self.crossings.merge(other.crossings);
        self.before_horizon += other.before_horizon;
        self.before_policy += other.before_policy;
        self.charts_dropped |= other.charts_dropped;
        self.span = match (self.span, other.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (mine, theirs) => mine.or(theirs),
        };
        match (&mut self.aggregate, other.aggregate) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        for (key, n) in other.unlisted_endpoints {
            *self.unlisted_endpoints.entry(key).or_default() += n;
        }
        self.policy_from = self.policy_from.or(other.policy_from);
        // Dropped anywhere (some part had more than CHARTED buckets) or too large once
        // merged: the same outcome whatever the parts, since either means more than
        // CHARTED buckets in all.
        if self.charts_dropped || self.aggregate.as_ref().is_some_and(|a| a.len() > CHARTED) {
            self.aggregate = None;
            self.charts_dropped = true;
        }
    }

    /// The counters of all buckets added up.
    pub fn totals(&self) -> Counters {
        let mut t = Counters::default();
        for c in self.buckets.values() {
            t += *c;
        }
        t
    }
}

/// The requesters of each bucket seen through the endpoint, and those whose requests
/// from the internet an address or requester exception let through: a requester in
/// both may be the endpoint bypassed (through a NAT gateway, as in the blog post), and
/// the exception hides it. At most [`TRACKED_REQUESTERS`] of each per bucket.
#[derive(Clone, Debug, Default)]
pub struct Crossings {
    buckets: HashMap<String, BucketCrossings>,
}

#[derive(Clone, Debug, Default)]
struct BucketCrossings {
    private: HashSet<String>,
    excepted: HashMap<String, Crossing>,
}

/// The first public request of a requester that an exception let through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossing {
    /// The bucket.
    pub bucket: String,
    /// The requester (an assumed role without its session).
    pub requester: String,
    /// When (seconds since the epoch).
    pub time: i64,
    /// From where.
    pub remote_ip: String,
    /// The exception that let it through.
    pub exception: Exception,
}

impl Crossings {
    /// Notes a requester seen through the endpoint; allocates only the first time a
    /// bucket or a requester is seen (this runs for every private request).
    fn private(&mut self, bucket: &str, requester: &[u8]) {
        let b = match self.buckets.get_mut(bucket) {
            Some(b) => b,
            None => self.buckets.entry(bucket.to_string()).or_default(),
        };
        let who = escape::lossy(principal(requester));
        if !b.private.contains(&*who) && b.private.len() < TRACKED_REQUESTERS {
            b.private.insert(who.into_owned());
        }
    }

    fn excepted(&mut self, bucket: &str, requester: &[u8], r: &Record<'_>, e: Exception) {
        let b = self.buckets.entry(bucket.to_string()).or_default();
        let who = escape::lossy(principal(requester)).into_owned();
        if b.excepted.len() >= TRACKED_REQUESTERS && !b.excepted.contains_key(&who) {
            return;
        }
        let seen = Crossing {
            bucket: bucket.to_string(),
            requester: who.clone(),
            time: r.time,
            remote_ip: r.remote_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            exception: e,
        };
        match b.excepted.get_mut(&who) {
            Some(first) if first.time <= seen.time => {}
            Some(first) => *first = seen,
            None => {
                b.excepted.insert(who, seen);
            }
        }
    }

    fn merge(&mut self, other: Crossings) {
        for (bucket, theirs) in other.buckets {
            let mine = self.buckets.entry(bucket).or_default();
            for who in theirs.private {
                if mine.private.len() < TRACKED_REQUESTERS {
                    mine.private.insert(who);
                }
            }
            for (who, seen) in theirs.excepted {
                let room = mine.excepted.len() < TRACKED_REQUESTERS;
                match mine.excepted.get_mut(&who) {
                    Some(first) if first.time <= seen.time => {}
                    Some(first) => *first = seen,
                    None if room => {
                        mine.excepted.insert(who, seen);
                    }
                    None => {}
                }
            }
        }
    }

    /// The requesters seen through the endpoint whose public requests an exception let
    /// through, with the first such request; by bucket and requester.
    pub fn found(&self) -> Vec<&Crossing> {
        let mut out: Vec<&Crossing> = self
            .buckets
            .values()
            .flat_map(|b| {
                b.excepted
                    .iter()
                    .filter(|(who, _)| b.private.contains(*who))
                    .map(|(_, seen)| seen)
            })
            .collect();
        out.sort_by(|a, b| (&a.bucket, &a.requester).cmp(&(&b.bucket, &b.requester)));
        out
    }
}

/// Judges requests: the rules, and optionally a bucket policy to cross-check.
#[derive(Clone, Copy, Debug)]
pub struct Checker<'a> {
    pub settings: &'a Settings,
    pub rules: &'a Rules,
    pub policy: Option<&'a Analysis>,
    /// Public requests before this time (seconds since the epoch) are not
    /// cross-checked with the bucket policy: it did not exist yet.
    pub policy_since: Option<i64>,
    /// Records before this time are not judged (the state's horizon).
    pub horizon: Option<i64>,
    /// Also aggregate the checked requests ([`Findings::aggregate`]).
    pub aggregate: bool,
}

/// What the checker remembers of a bucket name: its rule, and whether the bucket
/// policy applies to it.
type Coverage = HashMap<Vec<u8>, (Option<usize>, bool)>;

/// The most bucket names a worker's [`Coverage`] keeps; past it, it starts over.
const COVERAGE_CACHED: usize = 10_000;

/// One worker's findings and its cache of bucket coverage.
#[derive(Default)]
struct Partial {
    findings: Findings,
    tally: Tally,
    coverage: Coverage,
}

impl Checker<'_> {
    /// Reads `inputs` (in parallel on the current rayon pool) and returns what they
    /// hold, with the accounting of every line. CloudTrail inputs are read first and
    /// joined with the access logs on the request id (see [`crate::join`]), so a
    /// request in both is judged once; a `PutBucketPolicy` of the cross-checked
    /// bucket among them dates the policy.
    pub fn scan(&self, inputs: &[Input]) -> (Findings, Tally) {
        let (trails, logs): (Vec<&Input>, Vec<&Input>) =
            inputs.iter().partition(|i| i.holds_cloudtrail());
        if trails.is_empty() {
            return self.scan_logs(inputs, None, None);
        }
        let mut tally = Tally::default();
        // Past the join's budget, CloudTrail requests are judged at once.
        let unjoined = Mutex::new(self.partial());
        let judge_now = |r: &Record<'_>, class, name: &str, line| {
            let mut p = unjoined.lock().expect("no worker panicked");
            let Partial {
                findings, coverage, ..
            } = &mut *p;
            self.observe(findings, coverage, r, class, name, line, None);
            true
        };
        // Kept even without access logs, to be judged once the policy's date is known.
        let join = read_cloudtrail(&trails, true, self.settings, &mut tally, &judge_now);
        let policy_from = self.policy.and_then(|p| policy_time(p, &tally));
        let logs: Vec<Input> = logs.into_iter().cloned().collect();
        let (mut findings, logs_tally) = self.scan_logs(&logs, Some(&join), policy_from);
        tally.merge(logs_tally);
        let mut rest = self.partial();
        join.pending(0..join.len(), |r, name, line| {
            if self.settings.filter.matches(r) {
                tally.counts.matched += 1;
                let class = self.settings.classifier.classify_record(r);
                let Partial {
                    findings, coverage, ..
                } = &mut rest;
                self.observe(findings, coverage, r, class, name, line, policy_from);
            }
            true
        });
        tally.join = Some(joined(&join, &tally));
        findings.merge(rest.findings);
        findings.merge(unjoined.into_inner().expect("no worker panicked").findings);
        findings.policy_from = policy_from;
        (findings, tally)
    }

    /// The access logs (and any CloudTrail input their names hid), joined with `join`:
    /// read in parallel on the current rayon pool while S3 listings go on, merged in
    /// input order.
    fn scan_logs(
        &self,
        inputs: &[Input],
        join: Option<&Join>,
        policy_from: Option<i64>,
    ) -> (Findings, Tally) {
        let mut all = self.partial();
        read_each(
            stream::each(inputs).ahead(AHEAD),
            || (),
            |_, item| {
                let mut p = self.partial();
                match item {
                    Ok(input) => self.scan_into(&input, &mut p, join, policy_from),
                    Err(e) => p.tally.errors.push(e),
                }
                p
            },
            |p| {
                all.findings.merge(p.findings);
                all.tally.merge(p.tally);
            },
        );
        (all.findings, all.tally)
    }

    /// Reads one input into findings and a tally of its own.
    fn scan_one(&self, input: &Input) -> (Findings, Tally) {
        let mut p = self.partial();
        self.scan_into(input, &mut p, None, None);
        (p.findings, p.tally)
    }

    /// Reads one input into `p`, joined with `join`, the policy in force from
    /// `policy_from` (CloudTrail's `PutBucketPolicy`) unless `--policy-since` says.
    fn scan_into(
        &self,
        input: &Input,
        p: &mut Partial,
        join: Option<&Join>,
        policy_from: Option<i64>,
    ) {
        let name = input.name();
        let Partial {
            findings,
            tally,
            coverage,
        } = p;
        scan_input(input, self.settings, join, tally, |r, class, line| {
            self.observe(findings, coverage, r, class, &name, line, policy_from);
            true
        });
    }

    fn partial(&self) -> Partial {
        let mut p = Partial::default();
        if self.aggregate {
            p.findings.aggregate = Some(Aggregate::in_zone(
                self.settings.interval,
                self.settings.zone,
            ));
        }
        p
    }

    #[allow(clippy::too_many_arguments)]
    fn observe(
        &self,
        f: &mut Findings,
        coverage: &mut Coverage,
        r: &Record<'_>,
        class: Class,
        source: &str,
        line: u64,
        policy_from: Option<i64>,
    ) {
        let Some(bucket_bytes) = r.bucket else {
            return;
        };
        let (rule, under_policy) = match coverage.get(bucket_bytes) {
            Some(&known) => known,
            None => {
                let name = escape::lossy(bucket_bytes);
                let known = (
                    self.rules.rule_for(&name),
                    self.policy.is_some_and(|p| p.applies_to(&name)),
                );
                // A cache, not a record: a log of a million buckets does not keep a
                // million names here.
                if coverage.len() >= COVERAGE_CACHED {
                    coverage.clear();
                }
                coverage.insert(bucket_bytes.to_vec(), known);
                known
            }
        };
        if rule.is_none() && !under_policy {
            return;
        }
        if self.horizon.is_some_and(|h| r.time < h) {
            f.before_horizon += 1;
            return;
        }
        let bucket = escape::lossy(bucket_bytes);
        if let Some(agg) = &mut f.aggregate {
            agg.add(r, class);
            if agg.len() > CHARTED {
                f.aggregate = None;
                f.charts_dropped = true;
            }
        }
        let outcome = Outcome::of(r.http_status, r.error_code);
        // When the policy took effect: --policy-since, else its PutBucketPolicy in
        // CloudTrail.
        let since = self.policy_since.or(policy_from);
        let in_force = since.is_none_or(|from| r.time >= from);
        let claim = match self.policy {
            Some(policy) if under_policy && in_force && class == Class::Private => {
                endpoint_claim(policy, r, &bucket, &mut f.unlisted_endpoints)
            }
            Some(policy)
                if under_policy && class == Class::Public && outcome == Outcome::Allowed =>
            {
                if !in_force {
                    f.before_policy += 1;
                    None
                } else {
                    let key = r.key.map(escape::lossy);
                    let op = r.operation.map(escape::lossy);
                    let who = r.requester.map(escape::lossy);
                    op.and_then(|op| policy.claim(&bucket, key.as_deref(), &op, who.as_deref()))
                }
            }
            _ => None,
        };
        let judgement = rule.map_or(Judgement::Unchecked, |i| self.rules.judge(i, r, class));
        let c = match f.buckets.get_mut(&*bucket) {
            Some(c) => c,
            None => f.buckets.entry(bucket.to_string()).or_default(),
        };
        c.requests += 1;
        c.last_request += Latest(Some(r.time));
        f.span = Some(f.span.map_or((r.time, r.time), |(first, last)| {
            (first.min(r.time), last.max(r.time))
        }));
        match class {
            Class::Private => c.private += 1,
            Class::Public => c.public += 1,
            Class::Internal => c.internal += 1,
        }
        let flag = || flagged(r, class, outcome, source, line);
        let violation = match judgement {
            Judgement::Excepted(e) => {
                c.excepted += 1;
                if let (Some(who), ExceptionKind::Cidr | ExceptionKind::Requester) =
                    (r.requester, e.kind)
                {
                    f.crossings.excepted(&bucket, who, r, e);
                }
                false
            }
            Judgement::Blocked => {
                c.blocked += 1;
                push(&mut f.attempts, flag);
                self.rules.count_blocked()
            }
            Judgement::Rejected => {
                c.public_rejected += 1;
                push(&mut f.attempts, flag);
                false
            }
            Judgement::PrivateDenied => {
                c.private_denied += 1;
                push(&mut f.private_denied, flag);
                false
            }
            Judgement::Violation => true,
            Judgement::ForeignEndpoint => {
                c.foreign_endpoint += 1;
                true
            }
            Judgement::Unchecked | Judgement::Compliant => false,
        };
        // Requesters seen through the endpoint matter only where an exception could
        // let the same requester through from the internet: elsewhere they are not
        // kept (a check of a million buckets would hold a set for each).
        let crossable = rule.is_some_and(|i| self.rules.excepts_addresses_or_requesters(i));
        if class == Class::Private && crossable {
            if let Some(who) = r.requester {
                f.crossings.private(&bucket, who);
            }
        }
        if violation {
            c.violations += 1;
            c.first_violation += Earliest(Some(r.time));
            c.last_violation += Latest(Some(r.time));
            push(&mut f.violations, flag);
        }
        if let Some(claim) = claim {
            c.contradictions += 1;
            push(&mut f.contradictions, || Flagged {
                action: Some(claim.action),
                statement: Some(claim.statement),
                ..flag()
            });
        }
    }
}

/// Keeps the entry `make` makes if there is room in `list`.
fn push(list: &mut Vec<Flagged>, make: impl FnOnce() -> Flagged) {
    if list.len() < KEPT_FINDINGS {
        list.push(make());
    }
}

fn flagged(r: &Record<'_>, class: Class, outcome: Outcome, source: &str, line: u64) -> Flagged {
    let text = |v: Option<&[u8]>| v.map(|b| escape::lossy(b).into_owned());
    let requester = text(r.requester);
    Flagged {
        time: rfc3339(r.time),
        bucket: text(r.bucket).unwrap_or_default(),
        remote_ip: r.remote_ip.map(|ip| ip.to_string()),
        class,
        outcome,
        account: account_of(requester.as_deref().unwrap_or("-")),
        requester,
        operation: text(r.operation),
        key: text(r.key),
        status: r.http_status,
        error_code: text(r.error_code),
        request_id: text(r.request_id),
        source: source.to_string(),
        line,
        action: None,
        statement: None,
        vpc_endpoint_id: text(r.vpc_endpoint_id),
    }
}

/// The bucket policy's cross-check of a request through a VPC endpoint (named by
/// CloudTrail): if the policy allows only some endpoints for its action and not this
/// one, the endpoint is noted, and a request that succeeded all the same is a
/// contradiction.
fn endpoint_claim(
    policy: &Analysis,
    r: &Record<'_>,
    bucket: &str,
    unlisted: &mut BTreeMap<(String, String), u64>,
) -> Option<bucket_policy::Claim> {
    let id = escape::lossy(r.vpc_endpoint_id?);
    let operation = escape::lossy(r.operation?);
    let (action, _) = bucket_policy::action_for_operation(&operation, r.key.is_some())?;
    let report = policy
        .actions
        .iter()
        .find(|a| a.action.eq_ignore_ascii_case(action))?;
    let limited = !report.endpoints.is_empty();
    if !limited || report.endpoints.iter().any(|e| e.eq_ignore_ascii_case(&id)) {
        return None;
    }
    *unlisted
        .entry((bucket.to_string(), id.into_owned()))
        .or_default() += 1;
    (r.http_status != Some(403)).then(|| bucket_policy::Claim {
        action: report.action.clone(),
        statement: report.statements.first().cloned().unwrap_or_default(),
    })
}

/// When the cross-checked policy took effect: the latest successful `PutBucketPolicy`
/// of its bucket among the CloudTrail changes.
fn policy_time(policy: &Analysis, tally: &Tally) -> Option<i64> {
    let bucket = policy.bucket.as_deref()?;
    tally
        .changes
        .iter()
        .filter(|c| {
            c.event == "PutBucketPolicy" && c.error.is_none() && c.bucket.as_deref() == Some(bucket)
        })
        .map(|c| c.epoch)
        .max()
}

/// What the counters of an incremental state depend on: the rules, the private
/// ranges, the bucket and operation filters, the cross-checked bucket policy and the
/// time it took effect (not the time window, which moves).
pub fn fingerprint(
    rules: &Rules,
    settings: &Settings,
    policy: Option<&Analysis>,
    policy_since: Option<i64>,
) -> serde_json::Value {
    let text = |list: &[Vec<u8>]| -> Vec<String> {
        list.iter().map(|b| escape::lossy(b).into_owned()).collect()
    };
    serde_json::json!({
        "rules": rules.spec(),
        "private_ranges": settings.classifier.ranges().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "buckets": text(&settings.filter.buckets),
        "operations": text(&settings.filter.operations),
        "bucket_policy": policy.map(Analysis::document),
        "policy_since": policy_since.map(rfc3339),
    })
}

/// The result of [`run`].
#[derive(Debug)]
pub struct Run {
    /// What the inputs read in this run hold.
    pub findings: Findings,
    /// Accounting of this run's lines and errors.
    pub tally: Tally,
    /// Inputs skipped because the state had them (unread where it knew their place,
    /// read and set aside where it knew their content).
    pub skipped: u64,
    /// The content and place of the inputs read, for the state.
    pub read: Vec<(Digest, Location)>,
    /// Inputs whose content the state knew, found in a new place: remembered there.
    pub moved: Vec<(Digest, Location)>,
    /// The inputs read (not skipped), for a second reading of them.
    pub inputs: Vec<Input>,
    /// With a state: the kind of log it judges, the state's own or, for a new state,
    /// that of the first input with records.
    pub evidence: Option<Evidence>,
}

/// The kinds of log judged before and read now, when they differ.
fn clash(judged: Option<Evidence>, read: Option<Evidence>) -> Option<(Evidence, Evidence)> {
    match (judged, read) {
        (Some(judged), Some(read)) if judged != read => Some((judged, read)),
        _ => None,
    }
}

/// The kind of log `tally` read, if it read any record or CloudTrail file.
fn evidence_of(tally: &Tally) -> Option<Evidence> {
    if tally.counts.cloudtrail_inputs > 0 {
        Some(Evidence::Cloudtrail)
    } else if tally.counts.parsed > 0 {
        Some(Evidence::AccessLogs)
    } else {
        None
    }
}

/// Checks `inputs`; with a `state`, only those it does not know. An input at a known
/// place whose content is new (it changed since it was processed), an input that
/// changes while it is read, and standard input (which cannot be remembered) are
/// input errors. The checker's settings must ask for the plain digest
/// ([`crate::input::digest::Hashes::plain`]) when there is a state.
pub fn run(checker: &Checker<'_>, inputs: &[Input], state: Option<&State>) -> Run {
    let Some(state) = state else {
        let (findings, tally) = checker.scan(inputs);
        return Run {
            findings,
            tally,
            skipped: 0,
            read: Vec::new(),
            moved: Vec::new(),
            inputs: inputs.to_vec(),
            evidence: None,
        };
    };
    let mut run = Run {
        findings: checker.partial().findings,
        tally: Tally::default(),
        skipped: 0,
        read: Vec::new(),
        moved: Vec::new(),
        inputs: Vec::new(),
        evidence: state.evidence,
    };
    let mut errors = Vec::new();
    let mut skipped = 0;
    // Inputs unchanged at a place the state knows are dropped before they are looked
    // ahead at, so an S3 object already processed is never downloaded.
    let source = stream::each(inputs).retain(|input| match locate(input) {
        Ok(Some(location)) => match state.at(&location) {
            AtPlace::Unchanged => {
                skipped += 1;
                false
            }
            _ => true,
        },
        Ok(None) => {
            errors.push(InputError::new(
                input.name(),
                "standard input cannot be remembered in a --state file; give files",
            ));
            false
        }
        Err(e) => {
            errors.push(InputError::new(input.name(), describe(&e)));
            false
        }
    });
    // Inputs are read side by side and judged in input order, so that of two copies of
    // one log in the same run the first counts, whatever the thread timing.
    let mut read_now = HashSet::new();
    read_each(
        source.ahead(AHEAD),
        || (),
        |_, item| match item {
            Ok(input) => {
                let before = locate(&input);
                let (findings, mut tally) = checker.scan_one(&input);
                let before = match before {
                    Ok(Some(before)) => before,
                    Ok(None) => return Err(Box::new(tally)),
                    Err(e) => {
                        tally
                            .errors
                            .push(InputError::new(input.name(), describe(&e)));
                        return Err(Box::new(tally));
                    }
                };
                if !matches!(locate(&input), Ok(Some(after)) if after == before) {
                    tally.errors.push(InputError::new(
                        input.name(),
                        "changed while it was being read; run again",
                    ));
                }
                Ok((input, before, findings, tally))
            }
            Err(e) => Err(Box::new(Tally {
                errors: vec![e],
                ..Tally::default()
            })),
        },
        |result| {
            let (input, before, findings, tally) = match result {
                Ok(read) => read,
                Err(tally) => return run.tally.merge(*tally),
            };
            let content = tally.digests.iter().find_map(|d| d.plain);
            let Some(content) = content else {
                // Not read to its end: the tally says why, and the run fails.
                run.findings.merge(findings);
                run.tally.merge(tally);
                return;
            };
            if state.knows(&content) {
                run.skipped += 1;
                run.tally.errors.extend(tally.errors);
                run.moved.push((content, before));
            } else if !read_now.insert(content) {
                run.skipped += 1;
                run.tally.errors.extend(tally.errors);
            } else if let AtPlace::Was(was) = state.at(&before) {
                run.tally.errors.push(InputError::new(
                    input.name(),
                    format!(
                        "changed since it was processed (was {} bytes, now {} bytes of other content); log objects do not change, so it is not read again: check it, then start a new state file",
                        was.size, content.bytes
                    ),
                ));
            } else if let Some((judged, other)) = clash(run.evidence, evidence_of(&tally)) {
                run.tally.errors.extend(tally.errors);
                run.tally.errors.push(InputError::new(
                    input.name(),
                    format!(
                        "holds {other}, but this state file judges {judged}: a request logged in both would be judged twice across runs, so it is not read; keep one state file for each kind of log"
                    ),
                ));
            } else {
                run.evidence = run.evidence.or(evidence_of(&tally));
                run.findings.merge(findings);
                run.tally.merge(tally);
                run.read.push((content, before));
                run.inputs.push(input);
            }
        },
    );
    run.skipped += skipped;
    run.tally.errors.splice(0..0, errors);
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;
    use crate::filter::Filter;
    use crate::input::digest::Hashes;
    use crate::pipeline::scan;
    use rules::{BucketRule, RulesSpec};

    fn line(bucket: &str, ip: &str, op: &str, status: u16) -> String {
        coded(
            bucket,
            ip,
            op,
            status,
            if status == 403 { "AccessDenied" } else { "-" },
        )
    }

    fn coded(bucket: &str, ip: &str, op: &str, status: u16, code: &str) -> String {
        format!("o {bucket} [06/Feb/2019:00:00:38 +0000] {ip} arn:aws:iam::1:user/u REQ{status} {op} k \"GET /k HTTP/1.1\" {status} {code} 1 1 1 1 \"-\" \"ua\"\n")
    }

    fn settings() -> Settings {
        Settings {
            classifier: Classifier::new(&[]),
            filter: Filter::default(),
            interval: 3600,
            hashes: Hashes {
                raw: false,
                plain: true,
            },
            zone: crate::time::Zone::Utc,
            regions: false,
        }
    }

    fn checker<'a>(
        settings: &'a Settings,
        rules: &'a Rules,
        policy: Option<&'a Analysis>,
    ) -> Checker<'a> {
        Checker {
            settings,
            rules,
            policy,
            policy_since: None,
            horizon: None,
            aggregate: true,
        }
    }

    fn check_with(text: &str, checker: &Checker<'_>) -> Findings {
        let mut f = checker.partial().findings;
        let mut cache = HashMap::new();
        let mut tally = Tally::default();
        scan(
            "mem",
            text.as_bytes(),
            checker.settings,
            &mut tally,
            |r, c, n| {
                checker.observe(&mut f, &mut cache, r, c, "mem", n, None);
                true
            },
        );
        f
    }

    fn check(text: &str, spec: RulesSpec, policy: Option<&Analysis>) -> Findings {
        let settings = settings();
        let rules = Rules::new(spec).unwrap();
        check_with(text, &checker(&settings, &rules, policy))
    }

    #[test]
    fn violations_attempts_and_unchecked_buckets() {
        let text = [
            line("secure", "10.0.0.1", "REST.GET.OBJECT", 200),
            line("secure", "52.1.2.3", "REST.GET.OBJECT", 200),
            line("secure", "52.1.2.3", "REST.GET.OBJECT", 403),
            line("secure", "-", "S3.EXPIRE.OBJECT", 200),
            line("open", "52.1.2.3", "REST.GET.OBJECT", 200),
        ]
        .concat();
        let spec = RulesSpec {
            buckets: vec![BucketRule::private("sec*")],
            ..RulesSpec::default()
        };
        let f = check(&text, spec.clone(), None);
        assert_eq!(f.buckets.keys().collect::<Vec<_>>(), ["secure"]);
        let c = f.buckets["secure"];
        assert_eq!((c.requests, c.private, c.public, c.internal), (4, 1, 2, 1));
        assert_eq!((c.violations, c.blocked, c.excepted), (1, 1, 0));
        assert_eq!(c.last_request, Latest(Some(1_549_411_238)));
        assert_eq!(f.violations.len(), 1);
        let v = &f.violations[0];
        assert_eq!(
            (v.line, v.status, v.outcome),
            (2, Some(200), Outcome::Allowed)
        );
        assert_eq!(
            (
                v.source.as_str(),
                v.request_id.as_deref(),
                v.account.as_str()
            ),
            ("mem", Some("REQ200"), "1")
        );
        // The blocked attempt is listed with its request id and error code.
        let a = &f.attempts[0];
        assert_eq!(
            (
                a.line,
                a.outcome,
                a.error_code.as_deref(),
                a.request_id.as_deref()
            ),
            (3, Outcome::Denied, Some("AccessDenied"), Some("REQ403"))
        );
        // The aggregate for the charts holds the checked bucket only, every request.
        let agg = f.aggregate.as_ref().unwrap();
        let names: Vec<&[u8]> = agg.buckets().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, [b"secure".as_slice()]);
        let counts = agg.buckets()[0].1.counts;
        assert_eq!(
            (
                counts.requests,
                counts.private,
                counts.public,
                counts.public_denied
            ),
            (4, 1, 2, 1)
        );

        // More buckets than CHARTED: the aggregate is dropped, and stays dropped.
        let many: String = (0..=CHARTED)
            .map(|i| line(&format!("sec-{i}"), "10.0.0.1", "REST.GET.OBJECT", 200))
            .collect();
        let wide = check(&many, spec.clone(), None);
        assert!(wide.aggregate.is_none() && wide.charts_dropped);
        assert_eq!(wide.buckets.len(), CHARTED + 1);
        let mut merged = f.clone();
        merged.merge(wide);
        assert!(merged.aggregate.is_none() && merged.charts_dropped);

        // Merging findings merges their aggregates, and one without takes the other's.
        let mut merged = Findings::default();
        merged.merge(f.clone());
        merged.merge(f.clone());
        let counts = merged.aggregate.as_ref().unwrap().buckets()[0].1.counts;
        assert_eq!(counts.requests, 8);
        assert_eq!(merged.buckets["secure"].requests, 8);
        assert_eq!(merged.attempts.len(), 2);

        let counting = RulesSpec {
            count_blocked: true,
            ..spec
        };
        let f = check(&text, counting, None);
        assert_eq!(
            (f.buckets["secure"].violations, f.buckets["secure"].blocked),
            (2, 1)
        );
        assert_eq!(f.violations[1].status, Some(403));
    }

    #[test]
    fn denials_through_the_endpoint_and_refusals_before_a_policy_are_kept_apart() {
        let text = [
            coded(
                "secure",
                "10.0.3.57",
                "REST.GET.OBJECT",
                403,
                "AccessDenied",
            ),
            coded(
                "secure",
                "10.0.3.57",
                "REST.GET.OBJECT",
                403,
                "AccessDenied",
            ),
            coded(
                "secure",
                "52.1.2.3",
                "REST.GET.OBJECT",
                403,
                "SignatureDoesNotMatch",
            ),
            coded("secure", "52.1.2.3", "REST.GET.OBJECT", 400, "ExpiredToken"),
            coded("secure", "52.1.2.3", "REST.GET.OBJECT", 403, "AccessDenied"),
        ]
        .concat();
        let spec = RulesSpec {
            buckets: vec![BucketRule::private("secure")],
            count_blocked: true,
            ..RulesSpec::default()
        };
        let f = check(&text, spec, None);
        let c = f.buckets["secure"];
        assert_eq!(
            (
                c.private,
                c.private_denied,
                c.public,
                c.public_rejected,
                c.blocked
            ),
            (2, 2, 3, 2, 1)
        );
        // Refused before a policy: neither a violation, even with --count-blocked, nor
        // proof that the policy works.
        assert_eq!(c.violations, 1);
        let outcomes: Vec<_> = f.attempts.iter().map(|a| (a.line, a.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                (3, Outcome::Rejected),
                (4, Outcome::Rejected),
                (5, Outcome::Denied)
            ]
        );
        let denied: Vec<_> = f
            .private_denied
            .iter()
            .map(|d| (d.line, d.remote_ip.as_deref()))
            .collect();
        assert_eq!(denied, [(1, Some("10.0.3.57")), (2, Some("10.0.3.57"))]);
    }

    #[test]
    fn succeeded_public_requests_contradict_an_enforced_policy() {
        let policy = bucket_policy::analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::secure/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        let text = [
            line("secure", "52.1.2.3", "REST.GET.OBJECT", 200),
            line("secure", "52.1.2.3", "REST.GET.OBJECT", 403),
            coded(
                "secure",
                "52.1.2.3",
                "REST.GET.OBJECT",
                403,
                "SignatureDoesNotMatch",
            ),
            line("secure", "52.1.2.3", "REST.PUT.OBJECT", 200),
            line("secure", "10.0.0.1", "REST.GET.OBJECT", 200),
            line("elsewhere", "52.1.2.3", "REST.GET.OBJECT", 200),
        ]
        .concat();
        let spec = RulesSpec {
            buckets: vec![BucketRule::private("nothing-matches")],
            ..RulesSpec::default()
        };
        let f = check(&text, spec.clone(), Some(&policy));
        assert_eq!(f.buckets.keys().collect::<Vec<_>>(), ["secure"]);
        assert_eq!(f.buckets["secure"].contradictions, 1);
        assert_eq!(f.buckets["secure"].violations, 0);
        let c = &f.contradictions[0];
        assert_eq!((c.line, c.action.as_deref()), (1, Some("s3:GetObject")));

        // Before the policy took effect, a request contradicts nothing.
        let settings = settings();
        let rules = Rules::new(spec).unwrap();
        let after = Checker {
            policy_since: Some(1_549_411_239),
            ..checker(&settings, &rules, Some(&policy))
        };
        let f = check_with(&text, &after);
        assert_eq!(
            (f.buckets["secure"].contradictions, f.before_policy),
            (0, 2)
        );
    }

    /// Findings of inputs read by different workers add up: every count, the
    /// unlisted endpoints, the bucket counters and their totals; the policy's time is
    /// taken from whichever found it.
    #[test]
    fn merged_findings_add_every_count() {
        let counters = |requests, violations| Counters {
            requests,
            violations,
            ..Counters::default()
        };
        let endpoint = |id: &str| ("secure".to_string(), id.to_string());
        let mut first = Findings {
            buckets: BTreeMap::from([("secure".to_string(), counters(5, 1))]),
            before_horizon: 2,
            before_policy: 3,
            unlisted_endpoints: BTreeMap::from([(endpoint("vpce-1"), 4)]),
            policy_from: None,
            ..Findings::default()
        };
        let second = Findings {
            buckets: BTreeMap::from([
                ("secure".to_string(), counters(7, 2)),
                ("other".to_string(), counters(11, 0)),
            ]),
            before_horizon: 5,
            before_policy: 7,
            unlisted_endpoints: BTreeMap::from([(endpoint("vpce-1"), 6), (endpoint("vpce-2"), 1)]),
            policy_from: Some(9),
            ..Findings::default()
        };
        first.merge(second);
        assert_eq!(first.buckets["secure"], counters(12, 3));
        assert_eq!(first.buckets["other"], counters(11, 0));
        assert_eq!((first.before_horizon, first.before_policy), (7, 10));
        assert_eq!(
            first.unlisted_endpoints,
            BTreeMap::from([(endpoint("vpce-1"), 10), (endpoint("vpce-2"), 1)])
        );
        assert_eq!(first.policy_from, Some(9));
        assert_eq!(first.totals(), counters(23, 3));
        assert_eq!(Findings::default().totals(), Counters::default());
    }

    /// The requesters remembered per bucket are bounded (a log may name millions):
    /// at most [`TRACKED_REQUESTERS`], in a worker and when workers' sets merge.
    #[test]
    fn requesters_seen_through_the_endpoint_are_tracked_up_to_the_bound() {
        let name = |i: usize| format!("arn:aws:iam::1:user/u{i}");
        let mut one = Crossings::default();
        let mut other = Crossings::default();
        for i in 0..TRACKED_REQUESTERS + 3 {
            one.private("b", name(i).as_bytes());
            other.private("b", name(TRACKED_REQUESTERS + i).as_bytes());
        }
        // Seen again: no second entry.
        one.private("b", name(0).as_bytes());
        assert_eq!(one.buckets["b"].private.len(), TRACKED_REQUESTERS);
        assert!(one.buckets["b"].private.contains(&name(0)));
        let mut fresh = Crossings::default();
        fresh.merge(other.clone());
        assert_eq!(fresh.buckets["b"].private, other.buckets["b"].private);
        one.merge(other);
        assert_eq!(one.buckets["b"].private.len(), TRACKED_REQUESTERS);
    }

    /// A request through a VPC endpoint (named by CloudTrail) that the bucket policy
    /// does not list for its action is noted per bucket and endpoint, and contradicts
    /// the policy if it succeeded; through a listed endpoint, denied, or before the
    /// policy took effect (at its time it is in force), it contradicts nothing.
    #[test]
    fn requests_through_an_endpoint_the_policy_does_not_list_contradict_it() {
        let policy = bucket_policy::analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::secure/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        let settings = settings();
        let rules = Rules::new(RulesSpec {
            buckets: vec![BucketRule::private("secure")],
            ..RulesSpec::default()
        })
        .unwrap();
        let checker = Checker {
            policy_since: Some(1000),
            ..checker(&settings, &rules, Some(&policy))
        };
        let through = |time: i64, endpoint: &'static str, status: u16| Record {
            bucket: Some(b"secure"),
            time,
            remote_ip: Some("10.0.0.1".parse().unwrap()),
            requester: Some(b"arn:aws:iam::1:user/u"),
            operation: Some(b"REST.GET.OBJECT"),
            key: Some(b"k"),
            http_status: Some(status),
            vpc_endpoint_id: Some(endpoint.as_bytes()),
            ..Record::default()
        };
        let records = [
            through(2000, "vpce-2", 200),
            through(2001, "vpce-2", 403),
            through(2002, "vpce-1", 200),
            through(999, "vpce-2", 200),
            through(1000, "vpce-2", 200),
            through(2003, "VPCE-1", 200),
        ];
        let mut f = checker.partial().findings;
        let mut coverage = HashMap::new();
        for (n, r) in records.iter().enumerate() {
            checker.observe(
                &mut f,
                &mut coverage,
                r,
                Class::Private,
                "mem",
                n as u64 + 1,
                None,
            );
        }
        let c = f.buckets["secure"];
        assert_eq!((c.private, c.contradictions, c.violations), (6, 2, 0));
        let lines: Vec<u64> = f.contradictions.iter().map(|x| x.line).collect();
        assert_eq!(lines, [1, 5]);
        assert_eq!(f.contradictions[0].action.as_deref(), Some("s3:GetObject"));
        assert_eq!(f.contradictions[0].statement.as_deref(), Some("#1"));
        assert_eq!(
            f.unlisted_endpoints,
            BTreeMap::from([(("secure".to_string(), "vpce-2".to_string()), 3)])
        );
    }

    /// A request through an endpoint the rules do not allow (`allowed_vpce`) that was
    /// let through is a violation, counted as such too; through an allowed one, none.
    #[test]
    fn requests_through_an_endpoint_the_rules_do_not_allow_are_violations() {
        let settings = settings();
        let rules = Rules::new(RulesSpec {
            allowed_vpce: vec!["vpce-0a1b2c3d4e5f60718".into()],
            buckets: vec![BucketRule::private("secure")],
            ..RulesSpec::default()
        })
        .unwrap();
        let checker = checker(&settings, &rules, None);
        let through = |endpoint: &'static str| Record {
            bucket: Some(b"secure"),
            time: 2000,
            remote_ip: Some("10.0.0.1".parse().unwrap()),
            http_status: Some(200),
            vpc_endpoint_id: Some(endpoint.as_bytes()),
            ..Record::default()
        };
        let mut f = checker.partial().findings;
        let mut coverage = HashMap::new();
        for (n, id) in [
            "vpce-0bad0bad0bad0bad0",
            "vpce-0a1b2c3d4e5f60718",
            "vpce-0bad0bad0bad0bad0",
        ]
        .into_iter()
        .enumerate()
        {
            checker.observe(
                &mut f,
                &mut coverage,
                &through(id),
                Class::Private,
                "mem",
                n as u64 + 1,
                None,
            );
        }
        let c = f.buckets["secure"];
        assert_eq!((c.private, c.violations, c.foreign_endpoint), (3, 2, 2));
        assert_eq!(
            f.violations.iter().map(|v| v.line).collect::<Vec<_>>(),
            [1, 3]
        );
    }

    /// The cross-checked policy took effect at its bucket's latest successful
    /// `PutBucketPolicy` in CloudTrail: not a failed one, not another bucket's.
    #[test]
    fn the_policy_takes_effect_at_its_latest_successful_put() {
        let policy = bucket_policy::analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::secure/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            Some("secure"),
        )
        .unwrap();
        let change = |epoch: i64, event: &str, bucket: &str, error: Option<&str>| {
            crate::cloudtrail::Change {
                epoch,
                event: event.to_string(),
                endpoints: Vec::new(),
                bucket: Some(bucket.to_string()),
                by: None,
                error: error.map(str::to_string),
            }
        };
        let mut tally = Tally::default();
        assert_eq!(policy_time(&policy, &tally), None);
        tally.changes = vec![
            change(100, "PutBucketPolicy", "secure", None),
            change(300, "PutBucketPolicy", "secure", None),
            change(200, "PutBucketPolicy", "secure", None),
            change(400, "PutBucketPolicy", "secure", Some("AccessDenied")),
            change(500, "PutBucketPolicy", "other", None),
            change(600, "DeleteBucketPolicy", "secure", None),
        ];
        assert_eq!(policy_time(&policy, &tally), Some(300));
    }

    /// At most [`KEPT_FINDINGS`] findings of each kind are kept, the first ones (the
    /// counters count them all).
    #[test]
    fn the_first_findings_are_kept_up_to_the_bound() {
        let one = |line: u64| {
            let r = Record {
                bucket: Some(b"b"),
                ..Record::default()
            };
            flagged(&r, Class::Public, Outcome::Allowed, "mem", line)
        };
        let mut list = Vec::new();
        for line in 0..KEPT_FINDINGS as u64 + 2 {
            push(&mut list, || one(line));
        }
        assert_eq!(list.len(), KEPT_FINDINGS);
        assert_eq!(list.last().unwrap().line, KEPT_FINDINGS as u64 - 1);
        let mut merged = vec![one(7)];
        keep_first(&mut merged, list);
        assert_eq!(merged.len(), KEPT_FINDINGS);
        assert_eq!((merged[0].line, merged[1].line), (7, 0));
    }

    /// Workers' crossings merge to what one worker reading everything finds: the
    /// earliest excepted request of each requester, whichever worker saw it; and the
    /// excepted requesters are bounded like the private ones, in a worker and in a merge.
    #[test]
    fn merged_crossings_keep_each_requesters_earliest_excepted_request() {
        let exception = Exception {
            rule: None,
            kind: ExceptionKind::Cidr,
            index: 0,
        };
        let record = |time: i64, ip: &str| Record {
            time,
            remote_ip: Some(ip.parse().unwrap()),
            ..Record::default()
        };
        let role = b"arn:aws:sts::1:assumed-role/reader/i-0a";
        let seen = |c: &Crossings| -> Vec<(String, i64, String)> {
            c.found()
                .iter()
                .map(|x| (x.requester.clone(), x.time, x.remote_ip.clone()))
                .collect()
        };
        let earliest = vec![(
            "arn:aws:sts::1:assumed-role/reader".to_string(),
            100,
            "52.0.0.1".to_string(),
        )];
        for (first_time, second_time) in [(100, 200), (200, 100)] {
            let ip = |t: i64| if t == 100 { "52.0.0.1" } else { "52.0.0.2" };
            let mut one = Crossings::default();
            one.private("b", role);
            one.excepted("b", role, &record(first_time, ip(first_time)), exception);
            let mut other = Crossings::default();
            other.excepted("b", role, &record(second_time, ip(second_time)), exception);
            let mut whole = one.clone();
            whole.excepted("b", role, &record(second_time, ip(second_time)), exception);
            assert_eq!(seen(&whole), earliest);
            one.merge(other);
            assert_eq!(seen(&one), earliest, "{first_time} then {second_time}");
        }
        // The bound: a full set takes no newcomer, in a worker or in a merge, but still
        // moves a known requester's first request earlier.
        let name = |i: usize| format!("arn:aws:iam::1:user/u{i}");
        let mut full = Crossings::default();
        let mut newcomers = Crossings::default();
        for i in 0..TRACKED_REQUESTERS + 2 {
            full.excepted("b", name(i).as_bytes(), &record(50, "52.0.0.1"), exception);
            newcomers.excepted(
                "b",
                name(2 * TRACKED_REQUESTERS + i).as_bytes(),
                &record(5, "52.0.0.1"),
                exception,
            );
        }
        assert_eq!(full.buckets["b"].excepted.len(), TRACKED_REQUESTERS);
        full.excepted("b", name(0).as_bytes(), &record(10, "52.0.0.3"), exception);
        assert_eq!(full.buckets["b"].excepted[&name(0)].time, 10);
        let mut fresh = Crossings::default();
        fresh.merge(newcomers.clone());
        assert_eq!(fresh.buckets["b"].excepted.len(), TRACKED_REQUESTERS);
        full.merge(newcomers);
        assert_eq!(full.buckets["b"].excepted.len(), TRACKED_REQUESTERS);
        assert!(full.buckets["b"].excepted.values().all(|c| c.time != 5));
    }

    /// Logs are not in time order (S3 delivers them late and out of order, and workers
    /// read files in any order): the first violation is the earliest one, the last the
    /// latest, whatever order the records come in.
    #[test]
    fn first_and_last_violation_are_the_earliest_and_latest_not_the_first_and_last_seen() {
        let at = |clock: &str, ip: &str| {
            format!("o secure [09/May/2022:{clock} +0000] {ip} arn:aws:iam::1:user/u R REST.GET.OBJECT k \"GET /k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"\n")
        };
        let text = [
            at("10:05:00", "52.1.2.3"),
            at("09:00:00", "10.0.0.1"),
            at("10:00:00", "52.1.2.3"),
            at("10:10:00", "52.1.2.3"),
            at("11:00:00", "10.0.0.1"),
            at("10:02:00", "52.1.2.3"),
        ]
        .concat();
        let spec = RulesSpec {
            buckets: vec![BucketRule::private("secure")],
            ..RulesSpec::default()
        };
        let c = check(&text, spec, None).buckets["secure"];
        let t = |clock: &str| crate::time::parse_rfc3339(&format!("2022-05-09T{clock}Z")).unwrap();
        assert_eq!(c.violations, 4);
        assert_eq!(c.first_violation, Earliest(Some(t("10:00:00"))));
        assert_eq!(c.last_violation, Latest(Some(t("10:10:00"))));
        assert_eq!(c.last_request, Latest(Some(t("11:00:00"))));
    }

    #[test]
    fn records_before_the_horizon_are_not_judged() {
        let settings = settings();
        let rules = Rules::new(RulesSpec {
            buckets: vec![BucketRule::private("secure")],
            ..RulesSpec::default()
        })
        .unwrap();
        let text = line("secure", "52.1.2.3", "REST.GET.OBJECT", 200);
        let old = Checker {
            horizon: Some(1_549_411_239),
            ..checker(&settings, &rules, None)
        };
        let f = check_with(&text, &old);
        assert_eq!(
            (f.before_horizon, f.buckets.len(), f.violations.len()),
            (1, 0, 0)
        );
        // A record at the horizon itself is judged.
        let at = Checker {
            horizon: Some(1_549_411_238),
            ..checker(&settings, &rules, None)
        };
        let f = check_with(&text, &at);
        assert_eq!((f.before_horizon, f.violations.len()), (0, 1));
    }

    #[test]
    fn an_exception_covering_a_requester_seen_through_the_endpoint_is_found() {
        // The blog post: the role reads privately, then through the NAT's address,
        // which someone put in the exceptions.
        let role = |ip: &str, time: &str| {
            format!("o secure [09/May/2022:{time} +0000] {ip} arn:aws:sts::1:assumed-role/reader/i-0a REQ REST.GET.OBJECT k \"GET /k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"\n")
        };
        let other = "o secure [09/May/2022:10:50:00 +0000] 52.79.54.241 arn:aws:iam::2:user/partner REQ REST.GET.OBJECT k \"GET /k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"\n";
        let text = [
            role("10.0.12.34", "10:00:00"),
            role("52.79.54.241", "10:40:00"),
            role("52.79.54.241", "10:32:05"),
            other.to_string(),
        ]
        .concat();
        let spec = RulesSpec {
            exceptions: rules::Exceptions {
                public_cidrs: vec!["52.79.54.241/32".into()],
                ..rules::Exceptions::default()
            },
            buckets: vec![BucketRule::private("secure")],
            ..RulesSpec::default()
        };
        let rules = Rules::new(spec.clone()).unwrap();
        let f = check(&text, spec, None);
        assert_eq!(f.buckets["secure"].excepted, 3);
        let found = f.crossings.found();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].requester, "arn:aws:sts::1:assumed-role/reader");
        assert_eq!(
            (found[0].time, found[0].remote_ip.as_str()),
            (1_652_092_325, "52.79.54.241")
        );
        assert_eq!(
            rules.exception(found[0].exception),
            "public_cidrs 52.79.54.241/32 (every rule)"
        );
    }

    /// Writes `files` into a fresh folder and runs the check with `state`.
    fn run_on(dir: &std::path::Path, state: Option<&State>) -> Run {
        let settings = settings();
        let rules = Rules::new(RulesSpec {
            buckets: vec![BucketRule::private("secure")],
            ..RulesSpec::default()
        })
        .unwrap();
        let mut inputs = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        inputs.extend(names.into_iter().map(Input::File));
        run(&checker(&settings, &rules, None), &inputs, state)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn a_state_knows_logs_by_content_wherever_they_are_and_however_stored() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let a = line("secure", "52.1.2.3", "REST.GET.OBJECT", 200);
        let b = line("secure", "52.9.9.9", "REST.GET.OBJECT", 200);
        std::fs::write(logs.join("a"), &a).unwrap();
        let mut state = State::new(serde_json::json!({}));
        let first = run_on(&logs, Some(&state));
        assert_eq!((first.read.len(), first.skipped), (1, 0));
        assert_eq!(first.findings.violations.len(), 1);
        state
            .record(
                &first.read,
                &first.moved,
                &first.findings.buckets,
                0,
                90,
                std::path::Path::new("state"),
            )
            .unwrap();

        // Unchanged in place: skipped unread. Gzipped into another name, a copy in a
        // new folder and a new log beside them: only the new log counts.
        let again = run_on(&logs, Some(&state));
        assert_eq!(
            (again.read.len(), again.skipped, again.tally.counts.inputs),
            (0, 1, 0)
        );
        std::fs::remove_file(logs.join("a")).unwrap();
        std::fs::write(logs.join("a.gz"), gzip(a.as_bytes())).unwrap();
        std::fs::write(logs.join("copy-of-a"), &a).unwrap();
        std::fs::write(logs.join("b"), &b).unwrap();
        let moved = run_on(&logs, Some(&state));
        assert!(moved.tally.errors.is_empty(), "{:?}", moved.tally.errors);
        assert_eq!((moved.read.len(), moved.skipped), (1, 2));
        assert_eq!(moved.findings.violations.len(), 1);
        assert_eq!(
            moved.findings.violations[0].remote_ip.as_deref(),
            Some("52.9.9.9")
        );
        assert_eq!(
            moved.tally.counts.inputs, 1,
            "set-aside copies are not counted"
        );
        state
            .record(
                &moved.read,
                &moved.moved,
                &moved.findings.buckets,
                0,
                90,
                std::path::Path::new("state"),
            )
            .unwrap();
        assert_eq!(state.buckets["secure"].violations, 2);

        // A known log whose content changed in place is an error, not a re-count.
        std::fs::write(logs.join("b"), [b.clone(), a.clone()].concat()).unwrap();
        let changed = run_on(&logs, Some(&state));
        assert_eq!(changed.findings.violations.len(), 0);
        assert_eq!(changed.tally.errors.len(), 1);
        assert!(
            changed.tally.errors[0]
                .message
                .starts_with("changed since it was processed"),
            "{:?}",
            changed.tally.errors
        );
    }

    /// A state's counters hold only for what they were counted under: the fingerprint
    /// changes with the rules, the private ranges, the bucket and operation filters,
    /// the bucket policy and the time it took effect, and not with the time window.
    #[test]
    fn the_fingerprint_changes_with_everything_the_counters_depend_on() {
        let rules = |pattern: &str| {
            Rules::new(RulesSpec {
                buckets: vec![BucketRule::private(pattern)],
                ..RulesSpec::default()
            })
            .unwrap()
        };
        let policy = bucket_policy::analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::secure/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        let base = settings();
        let secure = rules("secure");
        let reference = fingerprint(&secure, &base, None, None);
        assert_eq!(
            reference["rules"],
            serde_json::to_value(secure.spec()).unwrap()
        );
        let mut ranges = settings();
        ranges.classifier = Classifier::new(&["203.0.113.0/24".parse().unwrap()]);
        let mut buckets = settings();
        buckets.filter.buckets = vec![b"secure".to_vec()];
        let mut operations = settings();
        operations.filter.operations = vec![b"REST.GET.OBJECT".to_vec()];
        let changed = [
            fingerprint(&rules("other"), &base, None, None),
            fingerprint(&secure, &ranges, None, None),
            fingerprint(&secure, &buckets, None, None),
            fingerprint(&secure, &operations, None, None),
            fingerprint(&secure, &base, Some(&policy), None),
            fingerprint(&secure, &base, None, Some(1_652_090_400)),
        ];
        for (i, a) in changed.iter().enumerate() {
            assert_ne!(*a, reference, "change {i}");
            for b in &changed[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let mut window = settings();
        window.filter.since = Some(1_652_090_400);
        window.filter.until = Some(1_652_176_800);
        window.interval = 300;
        assert_eq!(fingerprint(&secure, &window, None, None), reference);
    }

    /// An input unchanged at a place the state knows is skipped unread: what the
    /// state says was there is not even compared with the content (an S3 object
    /// already processed is never downloaded again).
    #[test]
    fn an_input_unchanged_at_a_known_place_is_skipped_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, line("secure", "52.1.2.3", "REST.GET.OBJECT", 200)).unwrap();
        let place = locate(&Input::File(path)).unwrap().unwrap();
        // A state that knows this place, unchanged, with other content.
        let mut state = State::new(serde_json::json!({}));
        let other = crate::input::digest::Digest::of(b"other content");
        state
            .record(
                &[(other, place)],
                &[],
                &BTreeMap::new(),
                0,
                90,
                std::path::Path::new("state.json"),
            )
            .unwrap();
        let r = run_on(dir.path(), Some(&state));
        assert_eq!((r.read.len(), r.skipped), (0, 1));
        assert_eq!((r.tally.counts.inputs, r.findings.violations.len()), (0, 0));
    }

    /// Inputs that cannot be read are errors of the run, named, beside the others.
    #[test]
    fn unreadable_inputs_are_named_with_a_state_too() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a"),
            line("secure", "52.1.2.3", "REST.GET.OBJECT", 200),
        )
        .unwrap();
        let settings = settings();
        let rules = Rules::new(RulesSpec {
            buckets: vec![BucketRule::private("secure")],
            ..RulesSpec::default()
        })
        .unwrap();
        let inputs = [
            Input::File(dir.path().join("missing")),
            Input::File(dir.path().join("a")),
        ];
        let state = State::new(serde_json::json!({}));
        for state in [None, Some(&state)] {
            let r = run(&checker(&settings, &rules, None), &inputs, state);
            let errors: Vec<&str> = r
                .tally
                .errors
                .iter()
                .map(|e| e.source_name.as_str())
                .collect();
            assert_eq!(errors.len(), 1, "{:?}", r.tally.errors);
            assert!(errors[0].ends_with("missing"), "{errors:?}");
            assert_eq!(r.findings.violations.len(), 1);
        }
    }

    #[test]
    fn two_copies_of_a_new_log_in_one_run_count_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = line("secure", "52.1.2.3", "REST.GET.OBJECT", 200);
        std::fs::write(dir.path().join("1"), &a).unwrap();
        std::fs::write(dir.path().join("2.gz"), gzip(a.as_bytes())).unwrap();
        let state = State::new(serde_json::json!({}));
        let r = run_on(dir.path(), Some(&state));
        assert_eq!((r.read.len(), r.skipped), (1, 1));
        assert_eq!(r.findings.buckets["secure"].violations, 1);
    }
}
