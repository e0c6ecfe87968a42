//! The compliance check behind `vpce-audit check`: every request to a bucket under a
//! rule is judged ([`rules`]), counted per bucket, and the violating ones are
//! kept with where they are in the input. With a bucket policy, public requests that
//! succeeded although the policy says they are denied are kept as contradictions.
//!
//! Counting is exact and unbounded; the detailed lists keep the first
//! [`KEPT_FINDINGS`] entries each, in input order (the counters say how many there
//! were in all). Inputs are read in parallel like [`crate::pipeline::aggregate`]; the
//! partial results merge in input order, so the output is deterministic.
//!
//! On request ([`Checker::aggregate`]) the same pass also aggregates the checked
//! requests into timeline windows, for the charts of `check --format html`.
//!
//! [`run`] adds the incremental part: with a [`State`], inputs processed by earlier
//! runs are skipped, and inputs that changed since are errors.
//!
//! Beside the checker: [`counters`] (per-bucket numbers, for a run and the state),
//! [`rules`] (the compliance rules and the judgement of one request), [`state`] (the
//! memory of incremental runs), [`bucket_policy`] (what a bucket policy denies) and
//! [`wildcard`] (the IAM pattern language both files use).

pub mod bucket_policy;
pub mod counters;
pub mod rules;
pub mod state;
pub mod wildcard;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use crate::aggregate::Aggregate;
use crate::classify::Class;
use crate::escape;
use crate::input::{describe, Input, InputError};
use crate::join::Join;
use crate::pipeline::{joined, read_cloudtrail, scan_input};
use crate::record::Record;
use crate::settings::Settings;
use crate::tally::Tally;
use crate::time::rfc3339;
use bucket_policy::Analysis;
use counters::{Counters, Earliest, Latest};
use rules::{Judgement, Rules};
use state::{identify, Known, ObjectId, State};

/// How many violations (and, separately, contradictions) are listed in detail; all
/// are counted.
pub const KEPT_FINDINGS: usize = 100_000;

/// One flagged request, with where it is in the input. Text fields are the log's
/// bytes as UTF-8 (invalid bytes replaced); `None` is a `-` in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flagged {
    pub time: String,
    pub bucket: String,
    pub remote_ip: Option<String>,
    pub class: Class,
    pub requester: Option<String>,
    pub operation: Option<String>,
    pub key: Option<String>,
    pub status: Option<u16>,
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
    /// The requests to the buckets above, in windows of the settings' interval, if
    /// the checker was asked to aggregate them.
    pub aggregate: Option<Aggregate>,
    /// Requests through VPC endpoints the bucket policy does not allow, per bucket and
    /// endpoint (CloudTrail names the endpoint).
    pub unlisted_endpoints: BTreeMap<(String, String), u64>,
    /// When the bucket policy took effect: the latest `PutBucketPolicy` of its bucket
    /// in the CloudTrail input. Requests before it are not cross-checked.
    pub policy_from: Option<i64>,
}

impl Findings {
    /// Adds `other`, whose inputs come after these.
    pub fn merge(&mut self, other: Findings) {
        for (name, c) in other.buckets {
            *self.buckets.entry(name).or_default() += c;
        }
        let room = KEPT_FINDINGS.saturating_sub(self.violations.len());
        self.violations
            .extend(other.violations.into_iter().take(room));
        let room = KEPT_FINDINGS.saturating_sub(self.contradictions.len());
        self.contradictions
            .extend(other.contradictions.into_iter().take(room));
        match (&mut self.aggregate, other.aggregate) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        for (key, n) in other.unlisted_endpoints {
            *self.unlisted_endpoints.entry(key).or_default() += n;
        }
        self.policy_from = self.policy_from.or(other.policy_from);
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

/// Judges requests: the rules, and optionally a bucket policy to cross-check.
#[derive(Clone, Copy, Debug)]
pub struct Checker<'a> {
    pub settings: &'a Settings,
    pub rules: &'a Rules,
    pub policy: Option<&'a Analysis>,
    /// Also aggregate the checked requests ([`Findings::aggregate`]).
    pub aggregate: bool,
}

/// One worker's findings and its cache of bucket → rule.
#[derive(Default)]
struct Partial {
    findings: Findings,
    tally: Tally,
    rule_of: HashMap<Vec<u8>, Option<usize>>,
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
                findings, rule_of, ..
            } = &mut *p;
            self.observe(findings, rule_of, r, class, name, line, None);
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
                    findings, rule_of, ..
                } = &mut rest;
                self.observe(findings, rule_of, r, class, name, line, policy_from);
            }
            true
        });
        tally.join = Some(joined(&join, &tally));
        findings.merge(rest.findings);
        findings.merge(unjoined.into_inner().expect("no worker panicked").findings);
        findings.policy_from = policy_from;
        (findings, tally)
    }

    /// The access logs (and any CloudTrail input their names hid), joined with `join`.
    fn scan_logs(
        &self,
        inputs: &[Input],
        join: Option<&Join>,
        policy_from: Option<i64>,
    ) -> (Findings, Tally) {
        let p = inputs
            .par_iter()
            .with_max_len(1)
            .fold(
                || self.partial(),
                |mut p, input| {
                    let name = input.name();
                    let Partial {
                        findings,
                        tally,
                        rule_of,
                    } = &mut p;
                    scan_input(input, self.settings, join, tally, |r, class, line| {
                        self.observe(findings, rule_of, r, class, &name, line, policy_from);
                        true
                    });
                    p
                },
            )
            .reduce(Partial::default, |mut a, b| {
                a.findings.merge(b.findings);
                a.tally.merge(b.tally);
                a
            });
        (p.findings, p.tally)
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
        rule_of: &mut HashMap<Vec<u8>, Option<usize>>,
        r: &Record<'_>,
        class: Class,
        source: &str,
        line: u64,
        policy_from: Option<i64>,
    ) {
        let Some(bucket_bytes) = r.bucket else {
            return;
        };
        let rule = match rule_of.get(bucket_bytes) {
            Some(&rule) => rule,
            None => {
                let rule = self.rules.rule_for(&escape::lossy(bucket_bytes));
                rule_of.insert(bucket_bytes.to_vec(), rule);
                rule
            }
        };
        let bucket = escape::lossy(bucket_bytes);
        let under_policy = self
            .policy
            .is_some_and(|p| p.bucket.as_deref().is_none_or(|b| b == bucket));
        if rule.is_none() && !under_policy {
            return;
        }
        if let Some(agg) = &mut f.aggregate {
            agg.add(r, class);
        }
        let in_force = policy_from.is_none_or(|from| r.time >= from);
        let claim = match self.policy {
            Some(policy) if under_policy && in_force && class == Class::Private => {
                endpoint_claim(policy, r, &bucket, &mut f.unlisted_endpoints)
            }
            Some(policy)
                if under_policy
                    && in_force
                    && class == Class::Public
                    && r.http_status != Some(403) =>
            {
                let key = r.key.map(escape::lossy);
                let op = r.operation.map(escape::lossy);
                let who = r.requester.map(escape::lossy);
                op.and_then(|op| policy.claim(&bucket, key.as_deref(), &op, who.as_deref()))
            }
            _ => None,
        };
        let judgement = rule.map_or(Judgement::Unchecked, |i| self.rules.judge(i, r, class));
        let c = match f.buckets.get_mut(&*bucket) {
            Some(c) => c,
            None => f.buckets.entry(bucket.to_string()).or_default(),
        };
        c.requests += 1;
        match class {
            Class::Private => c.private += 1,
            Class::Public => c.public += 1,
            Class::Internal => c.internal += 1,
        }
        let violation = match judgement {
            Judgement::Excepted => {
                c.excepted += 1;
                false
            }
            Judgement::Blocked => {
                c.blocked += 1;
                self.rules.count_blocked()
            }
            Judgement::Violation => true,
            Judgement::ForeignEndpoint => {
                c.foreign_endpoint += 1;
                true
            }
            Judgement::Unchecked | Judgement::Compliant => false,
        };
        if violation {
            c.violations += 1;
            c.first_violation += Earliest(Some(r.time));
            c.last_violation += Latest(Some(r.time));
            if f.violations.len() < KEPT_FINDINGS {
                f.violations.push(flagged(r, class, source, line));
            }
        }
        if let Some(claim) = claim {
            c.contradictions += 1;
            if f.contradictions.len() < KEPT_FINDINGS {
                f.contradictions.push(Flagged {
                    action: Some(claim.action),
                    statement: Some(claim.statement),
                    ..flagged(r, class, source, line)
                });
            }
        }
    }
}

fn text(v: Option<&[u8]>) -> Option<String> {
    v.map(|b| escape::lossy(b).into_owned())
}

fn flagged(r: &Record<'_>, class: Class, source: &str, line: u64) -> Flagged {
    Flagged {
        time: rfc3339(r.time),
        bucket: text(r.bucket).unwrap_or_default(),
        remote_ip: r.remote_ip.map(|ip| ip.to_string()),
        class,
        requester: text(r.requester),
        operation: text(r.operation),
        key: text(r.key),
        status: r.http_status,
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
    let limited = !report.any_endpoint && !report.endpoints.is_empty();
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
/// ranges, the bucket and operation filters and the cross-checked bucket policy (not
/// the time window, which moves).
pub fn fingerprint(
    rules: &Rules,
    settings: &Settings,
    policy: Option<&Analysis>,
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
    })
}

/// The result of [`run`].
#[derive(Debug)]
pub struct Run {
    /// What the inputs read in this run hold.
    pub findings: Findings,
    /// Accounting of this run's lines and errors.
    pub tally: Tally,
    /// Inputs skipped because the state had them.
    pub skipped: u64,
    /// The identities of the inputs read, for the state.
    pub read: Vec<ObjectId>,
}

/// Checks `inputs`; with a `state`, only those it does not know. An input the state
/// knows with another size or version, an input that changes while it is read, and
/// standard input (which cannot be remembered) are input errors.
pub fn run(checker: &Checker<'_>, inputs: &[Input], state: Option<&State>) -> Run {
    let Some(state) = state else {
        let (findings, tally) = checker.scan(inputs);
        return Run {
            findings,
            tally,
            skipped: 0,
            read: Vec::new(),
        };
    };
    let mut errors = Vec::new();
    let mut todo = Vec::new();
    let mut read = Vec::new();
    let mut skipped = 0;
    let mut ids = HashSet::new();
    for input in inputs {
        match identify(input) {
            Ok(Some(id)) => {
                if !ids.insert(id.id.clone()) {
                    continue;
                }
                match state.lookup(&id) {
                    Known::Processed => skipped += 1,
                    Known::New => {
                        todo.push(input.clone());
                        read.push(id);
                    }
                    Known::Changed(was) => errors.push(InputError::new(
                        input.name(),
                        format!(
                            "changed since it was processed (was {} bytes, {}; now {} bytes, {}); log objects do not change, so it is not read again: check it, then start a new state file",
                            was.size, was.version, id.size, id.version
                        ),
                    )),
                }
            }
            Ok(None) => errors.push(InputError::new(
                input.name(),
                "standard input cannot be remembered in a --state file; give files",
            )),
            Err(e) => errors.push(InputError::new(input.name(), describe(&e))),
        }
    }
    let (findings, mut tally) = checker.scan(&todo);
    for (input, before) in todo.iter().zip(&read) {
        if !matches!(identify(input), Ok(Some(after)) if after == *before) {
            tally.errors.push(InputError::new(
                input.name(),
                "changed while it was being read; run again",
            ));
        }
    }
    tally.errors.splice(0..0, errors);
    Run {
        findings,
        tally,
        skipped,
        read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;
    use crate::filter::Filter;
    use crate::pipeline::scan;
    use rules::{BucketRule, RulesSpec};

    fn line(bucket: &str, ip: &str, op: &str, status: u16) -> String {
        format!("o {bucket} [06/Feb/2019:00:00:38 +0000] {ip} arn:aws:iam::1:user/u I {op} k \"GET /k HTTP/1.1\" {status} - 1 1 1 1 \"-\" \"ua\"\n")
    }

    fn check(text: &str, spec: RulesSpec, policy: Option<&Analysis>) -> Findings {
        let settings = Settings {
            classifier: Classifier::new(&[]),
            filter: Filter::default(),
            interval: 3600,
            zone: crate::time::Zone::Utc,
            regions: false,
        };
        let rules = Rules::new(spec).unwrap();
        let checker = Checker {
            settings: &settings,
            rules: &rules,
            policy,
            aggregate: true,
        };
        let mut f = checker.partial().findings;
        let mut cache = HashMap::new();
        let mut tally = Tally::default();
        scan("mem", text.as_bytes(), &settings, &mut tally, |r, c, n| {
            checker.observe(&mut f, &mut cache, r, c, "mem", n, None);
            true
        });
        f
    }

    #[test]
    fn violations_blocked_attempts_and_unchecked_buckets() {
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
        assert_eq!(f.violations.len(), 1);
        assert_eq!(
            (f.violations[0].line, f.violations[0].status),
            (2, Some(200))
        );
        assert_eq!(f.violations[0].source, "mem");
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

        // Merging findings merges their aggregates, and one without takes the other's.
        let mut merged = Findings::default();
        merged.merge(f.clone());
        merged.merge(f.clone());
        let counts = merged.aggregate.as_ref().unwrap().buckets()[0].1.counts;
        assert_eq!(counts.requests, 8);
        assert_eq!(merged.buckets["secure"].requests, 8);

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
            line("secure", "52.1.2.3", "REST.PUT.OBJECT", 200),
            line("secure", "10.0.0.1", "REST.GET.OBJECT", 200),
            line("elsewhere", "52.1.2.3", "REST.GET.OBJECT", 200),
        ]
        .concat();
        let spec = RulesSpec {
            buckets: vec![BucketRule::private("nothing-matches")],
            ..RulesSpec::default()
        };
        let f = check(&text, spec, Some(&policy));
        assert_eq!(f.buckets.keys().collect::<Vec<_>>(), ["secure"]);
        assert_eq!(f.buckets["secure"].contradictions, 1);
        assert_eq!(f.buckets["secure"].violations, 0);
        let c = &f.contradictions[0];
        assert_eq!((c.line, c.action.as_deref()), (1, Some("s3:GetObject")));
    }
}
