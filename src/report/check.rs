//! The report of `vpce-audit check`: a summary, the findings about the run (shown
//! first: missing, stale or unreadable evidence, then the warnings), the rules,
//! per-bucket counters and the flagged requests, as `table`, `json` or `csv`; the
//! same report feeds the HTML page ([`super::html::check`]), OCSF ([`super::ocsf`])
//! and JUnit ([`super::junit`]).
//!
//! With `--state`, every bucket has two sets of counters: `total`, summed over all
//! runs recorded in the state plus this one, and `this_run`, for the log objects read
//! now. The listed requests and the exit status are this run's only: an hourly job
//! reports each violation once.
//!
//! The per-bucket rows ([`CheckBuckets`]) are made as they are written, from the
//! counters themselves, and the tables are printed in pages, so that a check of a
//! million buckets holds their counters once.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::{Serialize, Serializer};

use super::grid::{paged, Cell, Column, Grid, Kind, Screen, Tone, PAGE};
use super::{ErrorEntry, InputHash};
use crate::arn::{principal, requester_name};
use crate::check::bucket_policy::{Analysis, Enforcement};
use crate::check::counters::Counters;
use crate::check::evidence::{self, Finding};
use crate::check::rules::{Require, Rules};
use crate::check::state::State;
use crate::check::{Flagged, Run, KEPT_FINDINGS};
use crate::classify::Outcome;
use crate::escape;
use crate::input::Duplicate;
use crate::settings::Settings;
use crate::tally::Rejection;
use crate::time::{rfc3339, Zone};

/// How many attempts and requests denied through the endpoint the table lists (JSON
/// and CSV list them all, up to [`KEPT_FINDINGS`]).
pub const TABLE_LISTED: usize = 20;

/// The check report.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// [`super::SCHEMA_VERSION`].
    pub schema_version: u32,
    pub summary: CheckSummary,
    /// What a person must know before trusting the result: the findings that fail the
    /// check, then the warnings.
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleSummary>,
    pub buckets: CheckBuckets,
    /// This run's violations, in input order (the first 100 000; the summary counts
    /// all).
    pub violations: Vec<Flagged>,
    /// This run's contradictions with the bucket policy, likewise.
    pub contradictions: Vec<Flagged>,
    /// This run's refused attempts from the internet: `outcome` `denied` (blocked by a
    /// policy) or `rejected` (refused before any policy), likewise.
    pub attempts: Vec<Flagged>,
    /// This run's requests denied through the endpoint, likewise.
    pub private_denied: Vec<Flagged>,
    pub bucket_policy: Option<PolicyBrief>,
    /// With `--evidence-hashes`: every input read to its end, with its size and
    /// SHA-256 as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<InputHash>>,
    /// Inputs reached a second time and not read again.
    pub duplicates: Vec<DuplicateEntry>,
    /// The first rejected lines (up to 1000; `summary.rejected` counts all).
    pub rejections: Vec<Rejection>,
    pub errors: Vec<ErrorEntry>,
    /// The zone the table shows times in (`--tz`); JSON and CSV times are UTC.
    #[serde(skip)]
    pub zone: Zone,
    /// What was left out on purpose (links not followed, link loops).
    pub warnings: Vec<ErrorEntry>,
}

/// Run-wide numbers; the request counters are this run's.
#[derive(Clone, Debug, Serialize)]
pub struct CheckSummary {
    pub tool: &'static str,
    pub version: &'static str,
    /// `pass` (exit 0), `fail` (exit 1) or `error` (exit 2).
    pub result: &'static str,
    pub exit_code: u8,
    /// Findings about the run that fail the check.
    pub failing_findings: usize,
    /// Findings about the run that are warnings.
    pub warnings: usize,
    /// Inputs read in this run.
    pub inputs: u64,
    /// Inputs skipped because the state already had them.
    pub inputs_skipped: u64,
    /// Inputs named twice (the same file, the same S3 object), read once.
    pub inputs_duplicate: usize,
    pub input_errors: usize,
    pub lines: u64,
    pub parsed: u64,
    pub rejected: u64,
    pub matched: u64,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Requests to buckets under a rule or the bucket policy.
    pub requests: u64,
    pub violations: u64,
    pub blocked: u64,
    pub public_rejected: u64,
    pub private_denied: u64,
    pub excepted: u64,
    pub contradictions: u64,
    /// Of the violations, requests through VPC endpoints the rules do not allow.
    pub foreign_endpoint: u64,
    /// With `--policy-since`: when the bucket policy took effect.
    pub policy_since: Option<String>,
    /// Public requests before `--policy-since`, not cross-checked.
    pub before_policy: u64,
    /// Records older than the state's horizon, not judged.
    pub before_horizon: u64,
    pub violations_listed: usize,
    pub contradictions_listed: usize,
    pub attempts_listed: usize,
    pub private_denied_listed: usize,
    pub state: Option<StateSummary>,
}

/// The incremental state, after this run.
#[derive(Clone, Debug, Serialize)]
pub struct StateSummary {
    pub path: String,
    /// Runs recorded, this one included.
    pub runs: u64,
    /// Log objects known, this run's included.
    pub objects: usize,
    /// Records older than this are not judged (RFC 3339), if the state pruned any.
    pub horizon: Option<String>,
}

/// One rule and how much traffic it matched (over all runs with a state).
#[derive(Clone, Debug, Serialize)]
pub struct RuleSummary {
    pub bucket: String,
    pub require: Require,
    pub buckets: usize,
    pub requests: u64,
}

/// One bucket's counters.
#[derive(Clone, Debug, Serialize)]
pub struct BucketSummary {
    pub bucket: String,
    /// The pattern of the rule that covers it; `null` if only the bucket policy does.
    pub rule: Option<String>,
    pub total: Counters,
    pub this_run: Counters,
}

/// The checked buckets by name, each row ([`BucketSummary`]) made as it is read.
#[derive(Clone, Debug)]
pub struct CheckBuckets {
    /// The counters over all runs (with a state) or of this run.
    totals: BTreeMap<String, Counters>,
    /// This run's counters, when they differ from `totals` (with a state).
    this_run: Option<BTreeMap<String, Counters>>,
    /// The patterns of the rules, by number.
    patterns: Vec<String>,
    /// The rule of each bucket of `totals`, in its order.
    rule_of: Vec<Option<u32>>,
}

impl CheckBuckets {
    /// How many buckets there are.
    pub fn len(&self) -> usize {
        self.totals.len()
    }

    /// Are there none?
    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }

    /// The rows, by bucket name.
    pub fn iter(&self) -> impl Iterator<Item = BucketSummary> + '_ {
        self.totals
            .iter()
            .zip(&self.rule_of)
            .map(|((name, total), rule)| BucketSummary {
                bucket: name.clone(),
                rule: rule.map(|i| self.patterns[i as usize].clone()),
                total: *total,
                this_run: match &self.this_run {
                    Some(now) => now.get(name).copied().unwrap_or_default(),
                    None => *total,
                },
            })
    }
}

impl CheckBuckets {
    /// Each bucket's counters over all runs and of this run, by bucket name: what a
    /// page ranks the buckets by, without making their rows.
    pub fn counters(&self) -> impl Iterator<Item = (&Counters, &Counters)> + '_ {
        self.totals.iter().map(|(name, total)| {
            let now = match &self.this_run {
                Some(now) => now.get(name).unwrap_or(&NONE),
                None => total,
            };
            (total, now)
        })
    }

    /// The rows of the buckets at these places (in name order), by place.
    pub fn rows_at(&self, places: &[usize]) -> std::collections::HashMap<usize, BucketSummary> {
        let wanted: std::collections::HashSet<usize> = places.iter().copied().collect();
        self.iter()
            .enumerate()
            .filter(|(i, _)| wanted.contains(i))
            .collect()
    }
}

/// The counters of a bucket without requests in this run.
static NONE: Counters = Counters {
    requests: 0,
    private: 0,
    public: 0,
    internal: 0,
    private_denied: 0,
    excepted: 0,
    blocked: 0,
    public_rejected: 0,
    violations: 0,
    contradictions: 0,
    foreign_endpoint: 0,
    first_violation: crate::check::counters::Earliest(None),
    last_violation: crate::check::counters::Latest(None),
    last_request: crate::check::counters::Latest(None),
};

impl Serialize for CheckBuckets {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The cross-checked bucket policy in brief (`vpce-audit policy` has the details).
#[derive(Clone, Debug, Serialize)]
pub struct PolicyBrief {
    pub bucket: Option<String>,
    pub status: Enforcement,
    pub gaps: usize,
    /// When the policy took effect, if a `PutBucketPolicy` of its bucket was in the
    /// CloudTrail input: requests before it are not cross-checked.
    pub effective_from: Option<String>,
    /// VPC endpoints that carried requests (CloudTrail) which the policy does not
    /// allow, with their requests.
    pub endpoints_not_allowed: Vec<EndpointSeen>,
}

/// A VPC endpoint seen in the evidence, on a bucket.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointSeen {
    pub bucket: String,
    pub endpoint: String,
    pub requests: u64,
}

/// An input named twice and read once.
#[derive(Clone, Debug, Serialize)]
pub struct DuplicateEntry {
    pub source: String,
    pub same_as: String,
}

/// What the report needs besides the run.
#[derive(Clone, Copy, Debug)]
pub struct CheckContext<'a> {
    pub settings: &'a Settings,
    pub rules: &'a Rules,
    pub policy: Option<&'a Analysis>,
    pub policy_since: Option<i64>,
    /// The state with this run recorded, and where it lives.
    pub state: Option<(&'a Path, &'a State)>,
    pub duplicates: &'a [Duplicate],
    /// List every input's digest (`--evidence-hashes`).
    pub evidence_hashes: bool,
    pub exit_code: u8,
}

impl CheckReport {
    /// Builds the report of a finished run with its `findings`.
    pub fn build(mut run: Run, findings: Vec<Finding>, ctx: &CheckContext<'_>) -> CheckReport {
        let now = run.findings.totals();
        // Over all runs: the state's counters, this run's recorded in them.
        let mine = std::mem::take(&mut run.findings.buckets);
        let (totals, this_run) = match ctx.state {
            Some((_, s)) => (s.buckets.clone(), Some(mine)),
            None => (mine, None),
        };
        let rule_of: Vec<Option<u32>> = totals
            .keys()
            .map(|name| ctx.rules.rule_for(name).map(|i| i as u32))
            .collect();
        let mut rules: Vec<RuleSummary> = (0..ctx.rules.len())
            .map(|i| {
                let (pattern, require) = ctx.rules.describe(i);
                RuleSummary {
                    bucket: pattern.to_string(),
                    require,
                    buckets: 0,
                    requests: 0,
                }
            })
            .collect();
        for (c, rule) in totals.values().zip(&rule_of) {
            if let Some(i) = rule {
                rules[*i as usize].buckets += 1;
                rules[*i as usize].requests += c.requests;
            }
        }
        let buckets = CheckBuckets {
            patterns: rules.iter().map(|r| r.bucket.clone()).collect(),
            totals,
            this_run,
            rule_of,
        };
        let tally = &run.tally;
        let filter = &ctx.settings.filter;
        let f = &run.findings;
        let summary = CheckSummary {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            result: match ctx.exit_code {
                0 => "pass",
                1 => "fail",
                _ => "error",
            },
            exit_code: ctx.exit_code,
            failing_findings: findings.iter().filter(|f| f.fails).count(),
            warnings: findings.iter().filter(|f| !f.fails).count(),
            inputs: tally.counts.inputs,
            inputs_skipped: run.skipped,
            inputs_duplicate: ctx.duplicates.len(),
            input_errors: tally.errors.len(),
            lines: tally.counts.lines,
            parsed: tally.counts.parsed,
            rejected: tally.counts.rejected,
            matched: tally.counts.matched,
            since: filter.since.map(rfc3339),
            until: filter.until.map(rfc3339),
            requests: now.requests,
            violations: now.violations,
            blocked: now.blocked,
            public_rejected: now.public_rejected,
            private_denied: now.private_denied,
            excepted: now.excepted,
            contradictions: now.contradictions,
            foreign_endpoint: now.foreign_endpoint,
            policy_since: ctx.policy_since.or(run.findings.policy_from).map(rfc3339),
            before_policy: f.before_policy,
            before_horizon: f.before_horizon,
            violations_listed: f.violations.len(),
            contradictions_listed: f.contradictions.len(),
            attempts_listed: f.attempts.len(),
            private_denied_listed: f.private_denied.len(),
            state: ctx.state.map(|(path, s)| StateSummary {
                path: path.display().to_string(),
                runs: s.runs,
                objects: s.objects.len(),
                horizon: s.horizon.clone(),
            }),
        };
        let inputs = ctx
            .evidence_hashes
            .then(|| InputHash::list(&run.tally.digests));
        let findings_of_run = run.findings;
        CheckReport {
            schema_version: super::SCHEMA_VERSION,
            summary,
            findings,
            rules,
            buckets,
            violations: findings_of_run.violations,
            contradictions: findings_of_run.contradictions,
            attempts: findings_of_run.attempts,
            private_denied: findings_of_run.private_denied,
            bucket_policy: ctx.policy.map(|p| PolicyBrief {
                bucket: p.bucket.clone(),
                status: p.status,
                gaps: p.gaps.len(),
                effective_from: findings_of_run.policy_from.map(rfc3339),
                endpoints_not_allowed: findings_of_run
                    .unlisted_endpoints
                    .iter()
                    .map(|((bucket, endpoint), &requests)| EndpointSeen {
                        bucket: bucket.clone(),
                        endpoint: endpoint.clone(),
                        requests,
                    })
                    .collect(),
            }),
            inputs,
            duplicates: ctx
                .duplicates
                .iter()
                .map(|d| DuplicateEntry {
                    source: d.name.clone(),
                    same_as: d.same_as.clone(),
                })
                .collect(),
            rejections: run.tally.rejections,
            errors: ErrorEntry::list(&run.tally.errors),
            warnings: ErrorEntry::list(&run.tally.warnings),
            zone: ctx.settings.zone,
        }
    }

    /// Every flagged request with the name of its kind: violations, contradictions,
    /// attempts (`blocked` or `rejected`), requests denied through the endpoint.
    pub fn flagged(&self) -> impl Iterator<Item = (&'static str, &Flagged)> {
        let attempt = |f: &Flagged| {
            if f.outcome == Outcome::Rejected {
                "rejected"
            } else {
                "blocked"
            }
        };
        self.violations
            .iter()
            .map(|f| ("violation", f))
            .chain(self.contradictions.iter().map(|f| ("contradiction", f)))
            .chain(self.attempts.iter().map(move |f| (attempt(f), f)))
            .chain(self.private_denied.iter().map(|f| ("private_denied", f)))
    }
}

/// Writes the report as one JSON document followed by a newline.
pub fn write_json(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    escape::write_json(&mut *out, report, true)?;
    out.write_all(b"\n")
}

/// The CSV header.
pub const CSV_HEADER: [&str; 20] = [
    "kind",
    "fails",
    "subject",
    "reason",
    "time",
    "bucket",
    "remote_ip",
    "class",
    "outcome",
    "requester",
    "account",
    "operation",
    "key",
    "status",
    "error_code",
    "request_id",
    "source",
    "line",
    "action",
    "statement",
];

/// Writes one row per finding about the run (first), then per flagged request:
/// violations, contradictions, attempts, requests denied through the endpoint. With
/// `protect`, cells a spreadsheet would run as a formula are neutralised.
pub fn write_csv(report: &CheckReport, out: &mut dyn Write, protect: bool) -> io::Result<()> {
    let cell = |text: &str| -> String {
        if protect {
            escape::csv_cell(text).into_owned()
        } else {
            text.to_string()
        }
    };
    let opt = |v: &Option<String>| cell(v.as_deref().unwrap_or(""));
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER)?;
    for f in &report.findings {
        let mut row = vec![String::new(); CSV_HEADER.len()];
        row[0] = f.kind.name().to_string();
        row[1] = f.fails.to_string();
        row[2] = cell(&f.subject);
        row[3] = cell(&f.reason);
        w.write_record(&row)?;
    }
    let private_denied_fails = report
        .findings
        .iter()
        .any(|f| f.kind == evidence::Kind::PrivateDenied && f.fails);
    let fails = |kind: &str| match kind {
        "violation" | "contradiction" => true,
        "private_denied" => private_denied_fails,
        _ => false,
    };
    for (kind, f) in report.flagged() {
        w.write_record([
            kind.to_string(),
            fails(kind).to_string(),
            String::new(),
            String::new(),
            f.time.clone(),
            cell(&f.bucket),
            opt(&f.remote_ip),
            f.class.name().to_string(),
            outcome_name(f.outcome).to_string(),
            opt(&f.requester),
            cell(&f.account),
            opt(&f.operation),
            opt(&f.key),
            f.status.map(|s| s.to_string()).unwrap_or_default(),
            opt(&f.error_code),
            opt(&f.request_id),
            cell(&f.source),
            f.line.to_string(),
            opt(&f.action),
            opt(&f.statement),
        ])?;
    }
    w.flush()
}

/// The name of an outcome in every output.
pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allowed => "allowed",
        Outcome::Denied => "denied",
        Outcome::Rejected => "rejected",
    }
}

/// Writes the report for a terminal; every value from a log is escaped.
pub fn write_table(report: &CheckReport, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    write_summary(report, out, screen)?;
    write_findings(report, out, screen)?;
    if report.buckets.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    write_buckets(report, out, screen)?;
    let s = &report.summary;
    let zone = report.zone;
    let lists = [
        (
            "violations",
            &report.violations,
            s.violations,
            KEPT_FINDINGS,
        ),
        (
            "contradictions (succeeded public requests the bucket policy says are denied)",
            &report.contradictions,
            s.contradictions,
            KEPT_FINDINGS,
        ),
        (
            "refused attempts from the internet (blocked by a policy, or rejected before one)",
            &report.attempts,
            s.blocked + s.public_rejected,
            TABLE_LISTED,
        ),
        (
            "requests denied through the VPC endpoint",
            &report.private_denied,
            s.private_denied,
            TABLE_LISTED,
        ),
    ];
    for (title, list, total, shown) in lists {
        flagged_table(out, screen, zone, title, list, total, shown)?;
    }
    Ok(())
}

/// The result, what was read and checked, the state and the bucket policy.
fn write_summary(report: &CheckReport, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    let s = &report.summary;
    let verdict = match s.result {
        "pass" => screen.paint("PASS", Tone::Good),
        "fail" => format!(
            "{}: {} violation(s), {} contradiction(s), {} failing finding(s)",
            screen.paint("FAIL", Tone::Bad),
            s.violations,
            s.contradictions,
            s.failing_findings
        ),
        _ => format!(
            "{}: the check could not read everything (see stderr)",
            screen.paint("ERROR", Tone::Bad)
        ),
    };
    writeln!(out, "{} check: {verdict}", s.tool)?;
    screen.say(
        out,
        &format!(
            "{} input(s) read, {} lines: {} parsed, {} rejected; {} requests checked, {} blocked attempt(s), {} rejected attempt(s), {} denied through the endpoint, {} excepted",
            s.inputs,
            s.lines,
            s.parsed,
            s.rejected,
            s.requests,
            s.blocked,
            s.public_rejected,
            s.private_denied,
            s.excepted
        ),
    )?;
    if s.inputs_duplicate > 0 {
        screen.say(
            out,
            &format!("{} input(s) named twice, read once", s.inputs_duplicate),
        )?;
    }
    if let Some(st) = &s.state {
        screen.say(
            out,
            &format!(
                "state {}: run {}, {} input(s) skipped as already processed, {} known",
                escape::terminal(st.path.as_bytes()),
                st.runs,
                s.inputs_skipped,
                st.objects
            ),
        )?;
    }
    if s.foreign_endpoint > 0 {
        screen.say(
            out,
            &format!(
                "{} of the violations came through VPC endpoints the rules do not allow (allowed_vpce)",
                s.foreign_endpoint
            ),
        )?;
    }
    if let Some(p) = &report.bucket_policy {
        screen.say(
            out,
            &format!(
                "bucket policy{}: {}, {} gap(s) (details: vpce-audit policy){}",
                p.bucket
                    .as_deref()
                    .map(|b| format!(" of {}", escape::terminal(b.as_bytes())))
                    .unwrap_or_default(),
                p.status.name(),
                p.gaps,
                s.policy_since
                    .as_deref()
                    .map(|t| format!(
                        "; in effect since {t}{}, {} earlier public request(s) not cross-checked",
                        if p.effective_from.as_deref() == Some(t) {
                            " (PutBucketPolicy in CloudTrail)"
                        } else {
                            ""
                        },
                        s.before_policy
                    ))
                    .unwrap_or_default()
            ),
        )?;
        for e in &p.endpoints_not_allowed {
            screen.say(
                out,
                &format!(
                    "endpoint {} carried {} request(s) to {}, but the bucket policy does not allow it",
                    escape::terminal(e.endpoint.as_bytes()),
                    e.requests,
                    escape::terminal(e.bucket.as_bytes())
                ),
            )?;
        }
    }
    Ok(())
}

/// The findings about the run, failing ones first.
fn write_findings(report: &CheckReport, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    for f in &report.findings {
        let label = if f.fails {
            screen.paint("FAIL", Tone::Bad)
        } else {
            screen.paint("warning", Tone::Warn)
        };
        screen.say(
            out,
            &format!(
                "{label} {} ({}): {}",
                f.kind.name(),
                escape::terminal(f.subject.as_bytes()),
                escape::terminal(f.reason.as_bytes())
            ),
        )?;
    }
    Ok(())
}

/// The per-bucket counters (over all runs, with a state).
fn write_buckets(report: &CheckReport, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    let incremental = report.summary.state.is_some();
    let mut columns = vec![
        Column::keep("bucket", Kind::Text),
        Column::drop("rule", Kind::Text, 7),
        Column::drop("requests", Kind::Number, 4),
        Column::drop("private", Kind::Number, 3),
        Column::drop("private denied", Kind::Number, 2),
        Column::drop("public", Kind::Number, 5),
        Column::drop("internal", Kind::Number, 6),
        Column::drop("excepted", Kind::Number, 2),
        Column::keep("blocked", Kind::Number),
        Column::drop("rejected", Kind::Number, 2),
        Column::keep("violations", Kind::Number),
    ];
    if incremental {
        columns.push(Column::keep("new violations", Kind::Number));
    }
    if report.bucket_policy.is_some() {
        columns.push(Column::keep("contradictions", Kind::Number));
    }
    columns.extend([
        Column::drop("first violation", Kind::Atom, 1),
        Column::drop("last violation", Kind::Atom, 1),
    ]);
    let bad = |n: u64| Cell::from(n).tone_if(n > 0, Tone::Bad);
    let warn = |n: u64| Cell::from(n).tone_if(n > 0, Tone::Warn);
    if incremental {
        writeln!(out, "per bucket, over all runs in the state:")?;
    }
    let rows = report.buckets.iter().map(|b| {
        let c = &b.total;
        let mut row = vec![
            Cell::from(escape::terminal(b.bucket.as_bytes()).into_owned()),
            Cell::from(escape::terminal(b.rule.as_deref().unwrap_or("-").as_bytes()).into_owned()),
            c.requests.into(),
            c.private.into(),
            warn(c.private_denied),
            c.public.into(),
            c.internal.into(),
            c.excepted.into(),
            c.blocked.into(),
            c.public_rejected.into(),
            bad(c.violations),
        ];
        if incremental {
            row.push(bad(b.this_run.violations));
        }
        if report.bucket_policy.is_some() {
            row.push(bad(c.contradictions));
        }
        let time = |t: Option<i64>| t.map_or("-".into(), |t| report.zone.show_secs(t));
        row.push(time(c.first_violation.0).into());
        row.push(time(c.last_violation.0).into());
        row
    });
    paged(&columns, rows, out, screen)
}

/// The first `shown` of the flagged requests, one per line, grouped by requester (a
/// principal: an assumed role without its sessions), the group with the most first;
/// with how many there are in all.
fn flagged_table(
    out: &mut dyn Write,
    screen: &Screen,
    zone: Zone,
    title: &str,
    list: &[Flagged],
    total: u64,
    shown: usize,
) -> io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let shown = list.len().min(shown);
    if total as usize > shown {
        screen.say(
            out,
            &format!(
                "{title}, the first {shown} of {total} (--format json or csv lists up to {KEPT_FINDINGS}):"
            ),
        )?;
    } else {
        screen.say(out, &format!("{title} ({total}):"))?;
    }
    let list = &list[..shown];
    let with_action = list.iter().any(|f| f.action.is_some());
    let mut columns = vec![
        Column::keep("time", Kind::Atom),
        Column::drop("bucket", Kind::Clip, 3),
        Column::keep("remote IP", Kind::Atom),
        Column::drop("operation", Kind::Atom, 4),
        Column::keep("status", Kind::Number),
        Column::drop("error code", Kind::Atom, 5),
        Column::drop("request id", Kind::Atom, 6),
        Column::drop("key", Kind::Clip, 1),
        Column::drop("source", Kind::Clip, 2),
    ];
    if with_action {
        columns.extend([
            Column::drop("action", Kind::Atom, 5),
            Column::drop("statement", Kind::Clip, 6),
        ]);
    }
    let text = |v: &Option<String>| -> String {
        v.as_deref().map_or_else(
            || "-".to_string(),
            |s| escape::terminal(s.as_bytes()).into_owned(),
        )
    };
    let who = |f: &Flagged| -> String {
        let raw = f.requester.as_deref().unwrap_or("-").as_bytes();
        escape::terminal(requester_name(principal(raw)).as_bytes()).into_owned()
    };
    let mut groups: Vec<(String, Vec<&Flagged>)> = Vec::new();
    for f in list {
        let name = who(f);
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, members)) => members.push(f),
            None => groups.push((name, vec![f])),
        }
    }
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let mut t = Grid::new(&columns);
    for (name, members) in &groups {
        t.heading(format!("{name}: {}", members.len()));
        for f in members {
            let mut row = vec![
                Cell::from(zone.show(&f.time)),
                Cell::from(escape::terminal(f.bucket.as_bytes()).into_owned()),
                Cell::from(f.remote_ip.clone().unwrap_or_else(|| "-".into())),
                Cell::from(text(&f.operation)),
                Cell::from(f.status.map_or_else(|| "-".into(), |s| s.to_string())),
                Cell::from(text(&f.error_code)),
                Cell::from(text(&f.request_id)),
                Cell::from(text(&f.key)),
                Cell::from(format!(
                    "{}:{}",
                    escape::terminal(f.source.as_bytes()),
                    f.line
                )),
            ];
            if with_action {
                row.push(Cell::from(text(&f.action)));
                row.push(Cell::from(text(&f.statement)));
            }
            t.row(row);
            // Printed in pages, so that a hundred thousand rows never sit in memory as
            // cells; a group that goes on past a page goes on in the next one.
            if t.len() == PAGE {
                t.write(out, screen)?;
                t = Grid::new(&columns);
            }
        }
    }
    if !t.is_empty() {
        t.write(out, screen)?;
    }
    Ok(())
}
