//! Whether a check had the evidence to pass at all, and what else a person must know
//! before trusting its answer.
//!
//! A check that read nothing finds no violation. So a PASS must be earned: no parsed
//! record, a rule that matched no request, newest evidence older than `--max-age`, or
//! more than `--max-rejected` of the lines rejected are findings of their own that
//! fail the check ([`Kind::NoEvidence`], [`Kind::StaleEvidence`],
//! [`Kind::UnreadableInput`]). Beside them come the warnings: requests denied through
//! the endpoint (failing with `--fail-on-private-denied`), exceptions that let
//! everything through or that let through the public side of a requester who also
//! came through the endpoint, and records too old for the state to judge.
//! docs/check.md says what each means and what to do.

use std::collections::BTreeMap;

use serde::Serialize;

use super::bucket_policy::Analysis;
use super::counters::Counters;
use super::rules::{Require, Rules};
use super::Findings;
use crate::tally::Tally;
use crate::time::{duration_name, rfc3339};

/// The kinds of finding about the run as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// No record was read, or a rule matched no request.
    NoEvidence,
    /// The newest request under a rule is older than `--max-age`.
    StaleEvidence,
    /// More than `--max-rejected` of the lines were rejected.
    UnreadableInput,
    /// Requests through the endpoint were denied (HTTP 403 `AccessDenied`).
    PrivateDenied,
    /// An exception lets every address, requester or operation through.
    CatchAllException,
    /// An exception let through public requests of a requester that also came
    /// through the endpoint.
    ExceptionCoversTransition,
    /// Records older than the state's horizon were not judged.
    BeforeHorizon,
}

impl Kind {
    /// The name used in every output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::NoEvidence => "no_evidence",
            Kind::StaleEvidence => "stale_evidence",
            Kind::UnreadableInput => "unreadable_input",
            Kind::PrivateDenied => "private_denied",
            Kind::CatchAllException => "catch_all_exception",
            Kind::ExceptionCoversTransition => "exception_covers_transition",
            Kind::BeforeHorizon => "before_horizon",
        }
    }
}

/// One finding about the run, with its reason in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// Does it fail the check (exit 1)? Otherwise it is a warning.
    pub fails: bool,
    /// What it is about: `rule shared-*`, `bucket shared-data-prod`, `inputs`,
    /// `exceptions`.
    pub subject: String,
    /// What was found and what to do, in words.
    pub reason: String,
}

/// What the run expects of its evidence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Expectations {
    /// The largest share of rejected lines (0.01 for 1 %).
    pub max_rejected: f64,
    /// The newest request under each rule must be at most this many seconds old.
    pub max_age: Option<i64>,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// Silence is expected: missing or stale evidence is a warning, not a failure.
    pub allow_no_evidence: bool,
    /// Requests denied through the endpoint fail the check.
    pub fail_on_private_denied: bool,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            max_rejected: 0.01,
            max_age: None,
            now: 0,
            allow_no_evidence: false,
            fail_on_private_denied: false,
        }
    }
}

/// What the findings are drawn from.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    pub rules: &'a Rules,
    pub policy: Option<&'a Analysis>,
    /// Per bucket, this run's counters plus those of the earlier runs in the state.
    pub totals: &'a BTreeMap<String, Counters>,
    /// This run's findings.
    pub findings: &'a Findings,
    /// This run's accounting.
    pub tally: &'a Tally,
    /// The time window, if any, for the reasons.
    pub window: (Option<i64>, Option<i64>),
}

/// The findings about the run: those that fail it first, then the warnings.
pub fn assess(e: &Evidence<'_>, x: &Expectations) -> Vec<Finding> {
    let mut out = Vec::new();
    let silence_ok = x.allow_no_evidence;
    let mut add = |kind, fails, subject: String, reason: String| {
        out.push(Finding {
            kind,
            fails,
            subject,
            reason,
        })
    };
    let counts = &e.tally.counts;
    let earlier: u64 = e.totals.values().map(|c| c.requests).sum::<u64>()
        - e.findings.buckets.values().map(|c| c.requests).sum::<u64>();
    if counts.parsed == 0 && earlier == 0 {
        add(
            Kind::NoEvidence,
            !silence_ok,
            "inputs".into(),
            format!(
                "no log record was read ({} input(s), {} line(s), {} rejected): an empty folder, a \
                 wrong prefix, logging switched off or logs of another kind all look like this; \
                 a check without evidence cannot pass",
                counts.inputs, counts.lines, counts.rejected
            ),
        );
    }
    if counts.lines > 0 && counts.rejected as f64 > x.max_rejected * counts.lines as f64 {
        add(
            Kind::UnreadableInput,
            true,
            "inputs".into(),
            unreadable(e.tally, x.max_rejected),
        );
    }
    for (subject, requests, newest) in evidence_per_rule(e) {
        if requests == 0 {
            let window = match e.window {
                (None, None) => String::new(),
                (since, until) => format!(
                    " between {} and {}",
                    since.map_or("the first record".into(), rfc3339),
                    until.map_or("the last".into(), rfc3339)
                ),
            };
            add(
                Kind::NoEvidence,
                !silence_ok,
                subject.clone(),
                format!(
                    "{subject} matched no request{window}: a typo in the bucket name, logs of \
                     other buckets, logs outside the time window, or no traffic at all look \
                     alike; a rule without evidence cannot pass"
                ),
            );
        } else if let (Some(max_age), Some(newest)) = (x.max_age, newest) {
            let age = x.now - newest;
            if age > max_age {
                add(
                    Kind::StaleEvidence,
                    !silence_ok,
                    subject.clone(),
                    format!(
                        "the newest request under {subject} is from {} ({} ago), older than \
                         --max-age {}: logging switched off, logs delivered elsewhere or a \
                         bucket no longer used look alike",
                        rfc3339(newest),
                        duration_name(age),
                        duration_name(max_age)
                    ),
                );
            }
        }
    }
    for (bucket, c) in &e.findings.buckets {
        if c.private_denied > 0 {
            add(
                Kind::PrivateDenied,
                x.fail_on_private_denied,
                format!("bucket {bucket}"),
                private_denied(bucket, c.private_denied, e.findings),
            );
        }
    }
    for w in e.rules.warnings() {
        add(
            Kind::CatchAllException,
            false,
            "exceptions".into(),
            w.clone(),
        );
    }
    for c in e.findings.crossings.found() {
        add(
            Kind::ExceptionCoversTransition,
            false,
            format!("bucket {}", c.bucket),
            format!(
                "{} let through public requests of {} (the first at {} from {}), which also \
                 came through the VPC endpoint: if that is the endpoint being bypassed (through \
                 a NAT gateway, as in the blog post), the exception hides the leak the check \
                 looks for",
                e.rules.exception(c.exception),
                c.requester,
                rfc3339(c.time),
                if c.remote_ip.is_empty() {
                    "-"
                } else {
                    &c.remote_ip
                }
            ),
        );
    }
    if e.findings.before_horizon > 0 {
        add(
            Kind::BeforeHorizon,
            false,
            "state".into(),
            format!(
                "{} record(s) older than the state's horizon were not judged: the state no \
                 longer remembers whether the log objects that held them were processed \
                 (raise --state-retention to keep them longer)",
                e.findings.before_horizon
            ),
        );
    }
    out.sort_by_key(|f| !f.fails);
    out
}

/// Per private rule (or, without rules, for the bucket policy): what it is called,
/// how many requests it matched and the time of the newest.
fn evidence_per_rule(e: &Evidence<'_>) -> Vec<(String, u64, Option<i64>)> {
    let rules = e.rules;
    let mut per_rule: Vec<(String, u64, Option<i64>)> = (0..rules.len())
        .map(|i| (format!("rule {}", rules.describe(i).0), 0, None))
        .collect();
    let mut policy = (0, None);
    for (name, c) in e.totals {
        match rules.rule_for(name) {
            Some(i) => {
                per_rule[i].1 += c.requests;
                per_rule[i].2 = per_rule[i].2.max(c.last_request.0);
            }
            None => {
                policy.0 += c.requests;
                policy.1 = policy.1.max(c.last_request.0);
            }
        }
    }
    let mut out: Vec<_> = per_rule
        .into_iter()
        .enumerate()
        .filter(|(i, _)| rules.describe(*i).1 == Require::Private)
        .map(|(_, r)| r)
        .collect();
    if rules.is_empty() && e.policy.is_some() {
        out.push(("the bucket policy's buckets".into(), policy.0, policy.1));
    }
    out
}

/// The reason of an unreadable-input finding: the share, what the inputs look like,
/// the first rejected line.
fn unreadable(tally: &Tally, max: f64) -> String {
    let c = &tally.counts;
    let mut reason = format!(
        "{} of {} line(s) were rejected ({:.1} %), more than --max-rejected {}: the evidence \
         may be in lines this tool cannot read",
        c.rejected,
        c.lines,
        100.0 * c.rejected as f64 / c.lines as f64,
        percent(max)
    );
    if !tally.other_logs.is_empty() {
        let named: Vec<String> = tally
            .other_logs
            .iter()
            .take(3)
            .map(|(source, kind)| format!("{source} looks like {kind}"))
            .collect();
        let more = tally.other_logs.len().saturating_sub(3);
        reason.push_str(&format!(
            "; {}{}, not S3 server access logs",
            named.join(", "),
            if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            }
        ));
    }
    if let Some(r) = tally.rejections.first() {
        reason.push_str(&format!("; first: {}:{}: {}", r.source, r.line, r.reason));
    }
    reason
}

/// A share as a person writes it: `1%`, `0.5%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}%", p.round())
    } else {
        format!("{p}%")
    }
}

/// The reason of a private-denied finding: how many, from which addresses.
fn private_denied(bucket: &str, count: u64, findings: &Findings) -> String {
    let mut by_ip: BTreeMap<&str, u64> = BTreeMap::new();
    for f in findings
        .private_denied
        .iter()
        .filter(|f| f.bucket == bucket)
    {
        *by_ip
            .entry(f.remote_ip.as_deref().unwrap_or("-"))
            .or_default() += 1;
    }
    let mut top: Vec<(&str, u64)> = by_ip.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let from: Vec<String> = top
        .iter()
        .take(3)
        .map(|(ip, n)| format!("{ip} ({n})"))
        .collect();
    format!(
        "{count} request(s) through the VPC endpoint were denied (HTTP 403 AccessDenied){}: \
         does the bucket policy name the right vpce id, and does the endpoint policy allow \
         these actions?",
        if from.is_empty() {
            String::new()
        } else {
            format!(", from {}", from.join(", "))
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::counters::Latest;
    use crate::check::rules::{BucketRule, RulesSpec};
    use crate::tally::Rejection;

    fn rules(patterns: &[&str]) -> Rules {
        Rules::new(RulesSpec {
            buckets: patterns.iter().map(|p| BucketRule::private(p)).collect(),
            ..RulesSpec::default()
        })
        .unwrap()
    }

    fn tally(lines: u64, rejected: u64) -> Tally {
        let mut t = Tally::default();
        t.counts.inputs = 1;
        t.counts.lines = lines;
        t.counts.parsed = lines - rejected;
        t.counts.rejected = rejected;
        t
    }

    fn counters(requests: u64, last: i64) -> Counters {
        Counters {
            requests,
            last_request: Latest(Some(last)),
            ..Counters::default()
        }
    }

    fn kinds(found: &[Finding]) -> Vec<(&'static str, bool, &str)> {
        found
            .iter()
            .map(|f| (f.kind.name(), f.fails, f.subject.as_str()))
            .collect()
    }

    #[test]
    fn a_pass_needs_records_a_match_for_every_rule_and_readable_lines() {
        let r = rules(&["shared-*", "jmj-shared-buckte"]);
        let mut findings = Findings::default();
        findings
            .buckets
            .insert("shared-data".into(), counters(20, 1000));
        let totals = findings.buckets.clone();
        let t = tally(20, 0);
        let e = Evidence {
            rules: &r,
            policy: None,
            totals: &totals,
            findings: &findings,
            tally: &t,
            window: (None, None),
        };
        let found = assess(&e, &Expectations::default());
        assert_eq!(
            kinds(&found),
            [("no_evidence", true, "rule jmj-shared-buckte")]
        );
        assert!(
            found[0].reason.contains("a typo in the bucket name"),
            "{}",
            found[0].reason
        );

        // Nothing read at all: no evidence of anything.
        let empty = BTreeMap::new();
        let none = Findings::default();
        let t = tally(0, 0);
        let e = Evidence {
            totals: &empty,
            findings: &none,
            tally: &t,
            ..e
        };
        assert_eq!(
            kinds(&assess(&e, &Expectations::default())),
            [
                ("no_evidence", true, "inputs"),
                ("no_evidence", true, "rule shared-*"),
                ("no_evidence", true, "rule jmj-shared-buckte")
            ]
        );
        // The opt-out keeps them, as warnings.
        let quiet = Expectations {
            allow_no_evidence: true,
            ..Expectations::default()
        };
        assert!(assess(&e, &quiet).iter().all(|f| !f.fails));
    }

    #[test]
    fn too_many_rejected_lines_fail_and_name_what_the_inputs_look_like() {
        let r = rules(&["b"]);
        let none = Findings::default();
        let empty = BTreeMap::new();
        let mut t = tally(10, 10);
        t.other_logs
            .push(("trail.json.gz".into(), "CloudTrail JSON"));
        t.rejections.push(Rejection {
            source: "trail.json.gz".into(),
            line: 1,
            reason: "time field (#3): '[' is not a time".into(),
            unit: 0,
        });
        let e = Evidence {
            rules: &r,
            policy: None,
            totals: &empty,
            findings: &none,
            tally: &t,
            window: (None, None),
        };
        let found = assess(&e, &Expectations::default());
        let unreadable = found
            .iter()
            .find(|f| f.kind == Kind::UnreadableInput)
            .unwrap();
        assert!(unreadable.fails);
        assert!(
            unreadable.reason.starts_with(
                "10 of 10 line(s) were rejected (100.0 %), more than --max-rejected 1%"
            ),
            "{}",
            unreadable.reason
        );
        assert!(unreadable
            .reason
            .contains("trail.json.gz looks like CloudTrail JSON"));
        assert!(unreadable.reason.contains("first: trail.json.gz:1:"));
        // 1 in 100 is within 1 %; 2 in 100 is not.
        for (rejected, fails) in [(1, false), (2, true)] {
            let t = tally(100, rejected);
            let e = Evidence { tally: &t, ..e };
            let kinds: Vec<_> = assess(&e, &Expectations::default())
                .into_iter()
                .map(|f| f.kind)
                .collect();
            assert_eq!(kinds.contains(&Kind::UnreadableInput), fails, "{rejected}");
        }
        assert_eq!(percent(0.01), "1%");
        assert_eq!(percent(0.005), "0.5%");
    }

    #[test]
    fn evidence_older_than_the_max_age_is_stale() {
        let r = rules(&["b"]);
        let mut findings = Findings::default();
        findings.buckets.insert("b".into(), counters(3, 1_000_000));
        let totals = findings.buckets.clone();
        let t = tally(3, 0);
        let e = Evidence {
            rules: &r,
            policy: None,
            totals: &totals,
            findings: &findings,
            tally: &t,
            window: (None, None),
        };
        let at = |now, max_age| Expectations {
            now,
            max_age: Some(max_age),
            ..Expectations::default()
        };
        assert!(assess(&e, &at(1_000_000 + 26 * 3600, 26 * 3600)).is_empty());
        let found = assess(&e, &at(1_000_000 + 26 * 3600 + 1, 26 * 3600));
        assert_eq!(kinds(&found), [("stale_evidence", true, "rule b")]);
        assert!(
            found[0].reason.contains("older than --max-age 1d2h"),
            "{}",
            found[0].reason
        );
    }
}
