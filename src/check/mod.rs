//! The compliance check behind `vpce-audit check`: every request to a bucket under a
//! rule is judged ([`rules`]), counted per bucket, and the violating ones are
//! kept with where they are in the input. With a bucket policy, public requests that
//! succeeded although the policy says they are denied are kept as contradictions.
//!
//! Counting is exact and unbounded; the detailed lists keep the first
//! [`KEPT_FINDINGS`] entries each, in input order (the counters say how many there
//! were in all). Inputs are read in parallel as they come ([`crate::pipeline::read_each`]);
//! the partial results merge in input order, so the output is deterministic.
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

use serde::Serialize;

use crate::aggregate::Aggregate;
use crate::classify::Class;
use crate::escape;
use crate::input::stream::{self, Item, SourceExt, AHEAD};
use crate::input::{describe, Input, InputError};
use crate::pipeline::{read_each, scan_input};
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
    /// Reads the inputs `source` yields (in parallel on the current rayon pool, while
    /// it goes on) and returns what they hold, with the accounting of every line. With
    /// `verify`, an input whose identity differs after it was read is an input error.
    pub fn scan(
        &self,
        source: impl Iterator<Item = Item> + Send,
        verify: bool,
    ) -> (Findings, Tally) {
        let mut all = Partial::default();
        read_each(
            source,
            || (),
            |_, item| {
                let mut p = self.partial();
                let input = match item {
                    Ok(input) => input,
                    Err(e) => {
                        p.tally.errors.push(e);
                        return p;
                    }
                };
                let before = verify.then(|| identify(&input));
                let name = input.name();
                let Partial {
                    findings,
                    tally,
                    rule_of,
                } = &mut p;
                scan_input(&input, self.settings, tally, |r, class, line| {
                    self.observe(findings, rule_of, r, class, &name, line);
                    true
                });
                if let Some(Ok(Some(before))) = before {
                    if !matches!(identify(&input), Ok(Some(after)) if after == before) {
                        p.tally.errors.push(InputError::new(
                            name,
                            "changed while it was being read; run again",
                        ));
                    }
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

    fn partial(&self) -> Partial {
        let mut p = Partial::default();
        if self.aggregate {
            p.findings.aggregate = Some(Aggregate::new(self.settings.interval));
        }
        p
    }

    fn observe(
        &self,
        f: &mut Findings,
        rule_of: &mut HashMap<Vec<u8>, Option<usize>>,
        r: &Record<'_>,
        class: Class,
        source: &str,
        line: u64,
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
        let claim = match self.policy {
            Some(policy)
                if under_policy && class == Class::Public && r.http_status != Some(403) =>
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

fn flagged(r: &Record<'_>, class: Class, source: &str, line: u64) -> Flagged {
    let text = |v: Option<&[u8]>| v.map(|b| escape::lossy(b).into_owned());
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
    }
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
        let (findings, tally) = checker.scan(stream::each(inputs).ahead(AHEAD), false);
        return Run {
            findings,
            tally,
            skipped: 0,
            read: Vec::new(),
        };
    };
    let mut errors = Vec::new();
    let mut read = Vec::new();
    let mut skipped = 0;
    let mut ids = HashSet::new();
    // Inputs the state knows are dropped before they are looked ahead at, so an S3
    // object already processed is never downloaded.
    let source = stream::each(inputs).retain(|input| match identify(input) {
        Ok(Some(id)) => {
            if !ids.insert(id.id.clone()) {
                return false;
            }
            match state.lookup(&id) {
                Known::Processed => {
                    skipped += 1;
                    false
                }
                Known::New => {
                    read.push(id);
                    true
                }
                Known::Changed(was) => {
                    errors.push(InputError::new(
                        input.name(),
                        format!(
                            "changed since it was processed (was {} bytes, {}; now {} bytes, {}); log objects do not change, so it is not read again: check it, then start a new state file",
                            was.size, was.version, id.size, id.version
                        ),
                    ));
                    false
                }
            }
        }
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
    let (findings, mut tally) = checker.scan(source.ahead(AHEAD), true);
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
            checker.observe(&mut f, &mut cache, r, c, "mem", n);
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
