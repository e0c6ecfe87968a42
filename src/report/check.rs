//! The report of `vpce-audit check`: a summary, the rules, per-bucket counters and the
//! flagged requests, as `table`, `json` or `csv`.
//!
//! With `--state`, every bucket has two sets of counters: `total`, summed over all
//! runs recorded in the state plus this one, and `this_run`, for the log objects read
//! now. The listed violations and contradictions, and the exit status, are this run's
//! only: an hourly job reports each violation once.
//!
//! The per-bucket rows ([`CheckBuckets`]) are made as they are written, from the
//! counters themselves, and the tables are printed in pages, so that a check of a
//! million buckets holds their counters once.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use comfy_table::{Cell, CellAlignment};
use serde::{Serialize, Serializer};

use super::table::paged;
use super::ErrorEntry;
use crate::check::bucket_policy::{Analysis, Enforcement};
use crate::check::counters::Counters;
use crate::check::rules::{Require, Rules};
use crate::check::state::State;
use crate::check::{Flagged, Run, KEPT_FINDINGS};
use crate::escape;
use crate::settings::Settings;
use crate::tally::Rejection;
use crate::time::rfc3339;

/// The check report.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// [`super::SCHEMA_VERSION`].
    pub schema_version: u32,
    pub summary: CheckSummary,
    pub rules: Vec<RuleSummary>,
    pub buckets: CheckBuckets,
    /// This run's violations, in input order (the first 100 000; the summary counts
    /// all).
    pub violations: Vec<Flagged>,
    /// This run's contradictions with the bucket policy, likewise.
    pub contradictions: Vec<Flagged>,
    pub bucket_policy: Option<PolicyBrief>,
    /// The first rejected lines (up to 1000; `summary.rejected` counts all).
    pub rejections: Vec<Rejection>,
    pub errors: Vec<ErrorEntry>,
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
    /// Inputs read in this run.
    pub inputs: u64,
    /// Inputs skipped because the state already had them.
    pub inputs_skipped: u64,
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
    pub excepted: u64,
    pub contradictions: u64,
    pub violations_listed: usize,
    pub contradictions_listed: usize,
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
    excepted: 0,
    blocked: 0,
    violations: 0,
    contradictions: 0,
    first_violation: crate::check::counters::Earliest(None),
    last_violation: crate::check::counters::Latest(None),
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
}

/// What the report needs besides the run.
#[derive(Clone, Copy, Debug)]
pub struct CheckContext<'a> {
    pub settings: &'a Settings,
    pub rules: &'a Rules,
    pub policy: Option<&'a Analysis>,
    /// The state with this run recorded in it ([`State::record`]), and where it lives.
    pub state: Option<(&'a Path, &'a State)>,
    pub exit_code: u8,
}

impl CheckReport {
    /// Builds the report of a finished run.
    pub fn build(run: Run, ctx: &CheckContext<'_>) -> CheckReport {
        let now = run.findings.totals();
        // Over all runs: the state's counters, this run's recorded in them.
        let (totals, this_run) = match ctx.state {
            Some((_, s)) => (s.buckets.clone(), Some(run.findings.buckets)),
            None => (run.findings.buckets, None),
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
        let summary = CheckSummary {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            result: match ctx.exit_code {
                0 => "pass",
                1 => "fail",
                _ => "error",
            },
            exit_code: ctx.exit_code,
            inputs: tally.counts.inputs,
            inputs_skipped: run.skipped,
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
            excepted: now.excepted,
            contradictions: now.contradictions,
            violations_listed: run.findings.violations.len(),
            contradictions_listed: run.findings.contradictions.len(),
            state: ctx.state.map(|(path, s)| StateSummary {
                path: path.display().to_string(),
                runs: s.runs,
                objects: s.objects.len(),
            }),
        };
        CheckReport {
            schema_version: super::SCHEMA_VERSION,
            summary,
            rules,
            buckets,
            violations: run.findings.violations,
            contradictions: run.findings.contradictions,
            bucket_policy: ctx.policy.map(|p| PolicyBrief {
                bucket: p.bucket.clone(),
                status: p.status,
                gaps: p.gaps.len(),
            }),
            rejections: run.tally.rejections,
            errors: ErrorEntry::list(&run.tally.errors),
            warnings: ErrorEntry::list(&run.tally.warnings),
        }
    }
}

/// Writes the report as one JSON document followed by a newline.
pub fn write_json(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    escape::write_json(&mut *out, report, true)?;
    out.write_all(b"\n")
}

/// The CSV header.
pub const CSV_HEADER: [&str; 13] = [
    "kind",
    "time",
    "bucket",
    "remote_ip",
    "class",
    "requester",
    "operation",
    "key",
    "status",
    "source",
    "line",
    "action",
    "statement",
];

/// Writes one row per violation, then per contradiction. With `protect`, cells a
/// spreadsheet would run as a formula are neutralised.
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
    let rows = report
        .violations
        .iter()
        .map(|f| ("violation", f))
        .chain(report.contradictions.iter().map(|f| ("contradiction", f)));
    for (kind, f) in rows {
        w.write_record([
            kind.to_string(),
            f.time.clone(),
            cell(&f.bucket),
            opt(&f.remote_ip),
            f.class.name().to_string(),
            opt(&f.requester),
            opt(&f.operation),
            opt(&f.key),
            f.status.map(|s| s.to_string()).unwrap_or_default(),
            cell(&f.source),
            f.line.to_string(),
            opt(&f.action),
            opt(&f.statement),
        ])?;
    }
    w.flush()
}

/// Writes the report for a terminal; every value from a log is escaped.
pub fn write_table(report: &CheckReport, out: &mut dyn Write, fit: bool) -> io::Result<()> {
    write_summary(report, out)?;
    if report.buckets.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    write_buckets(report, out, fit)?;
    let s = &report.summary;
    flagged_table(out, fit, "violations", &report.violations, s.violations)?;
    flagged_table(
        out,
        fit,
        "contradictions (succeeded public requests the bucket policy says are denied)",
        &report.contradictions,
        s.contradictions,
    )
}

/// The result, what was read and checked, the state, the bucket policy and the rules
/// that matched nothing.
fn write_summary(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let verdict = match s.result {
        "pass" => "PASS".to_string(),
        "fail" => format!(
            "FAIL: {} violation(s), {} contradiction(s)",
            s.violations, s.contradictions
        ),
        _ => "ERROR: the check could not read everything (see stderr)".to_string(),
    };
    writeln!(out, "{} check: {verdict}", s.tool)?;
    write!(
        out,
        "{} input(s) read, {} lines: {} parsed, {} rejected; {} requests checked, {} blocked attempt(s), {} excepted",
        s.inputs, s.lines, s.parsed, s.rejected, s.requests, s.blocked, s.excepted
    )?;
    if let Some(st) = &s.state {
        write!(
            out,
            "\nstate {}: run {}, {} input(s) skipped as already processed, {} known",
            escape::terminal(st.path.as_bytes()),
            st.runs,
            s.inputs_skipped,
            st.objects
        )?;
    }
    writeln!(out)?;
    if let Some(p) = &report.bucket_policy {
        writeln!(
            out,
            "bucket policy{}: {}, {} gap(s) (details: vpce-audit policy)",
            p.bucket
                .as_deref()
                .map(|b| format!(" of {}", escape::terminal(b.as_bytes())))
                .unwrap_or_default(),
            p.status.name(),
            p.gaps
        )?;
    }
    for r in report.rules.iter().filter(|r| r.requests == 0) {
        writeln!(
            out,
            "note: rule {} matched no requests (a typo in the bucket name passes silently)",
            escape::terminal(r.bucket.as_bytes())
        )?;
    }
    Ok(())
}

/// The per-bucket counters (over all runs, with a state).
fn write_buckets(report: &CheckReport, out: &mut dyn Write, fit: bool) -> io::Result<()> {
    let incremental = report.summary.state.is_some();
    let mut names = vec![
        "bucket",
        "rule",
        "requests",
        "private",
        "public",
        "internal",
        "excepted",
        "blocked",
        "violations",
    ];
    if incremental {
        names.push("new violations");
    }
    if report.bucket_policy.is_some() {
        names.push("contradictions");
    }
    names.extend(["first violation", "last violation"]);
    if incremental {
        writeln!(out, "per bucket, over all runs in the state:")?;
    }
    let rows = report.buckets.iter().map(|b| {
        let c = &b.total;
        let mut row = vec![
            Cell::new(escape::terminal(b.bucket.as_bytes())),
            Cell::new(escape::terminal(
                b.rule.as_deref().unwrap_or("-").as_bytes(),
            )),
            num(c.requests),
            num(c.private),
            num(c.public),
            num(c.internal),
            num(c.excepted),
            num(c.blocked),
            num(c.violations),
        ];
        if incremental {
            row.push(num(b.this_run.violations));
        }
        if report.bucket_policy.is_some() {
            row.push(num(c.contradictions));
        }
        row.push(Cell::new(c.first_violation.0.map_or("-".into(), rfc3339)));
        row.push(Cell::new(c.last_violation.0.map_or("-".into(), rfc3339)));
        row
    });
    paged(&names, rows, out, fit)
}

fn flagged_table(
    out: &mut dyn Write,
    fit: bool,
    title: &str,
    list: &[Flagged],
    total: u64,
) -> io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    if total as usize > list.len() {
        writeln!(out, "{title}, the first {KEPT_FINDINGS} of {total}:")?;
    } else {
        writeln!(out, "{title}:")?;
    }
    let with_action = list.iter().any(|f| f.action.is_some());
    let mut names = vec![
        "time",
        "bucket",
        "remote IP",
        "requester",
        "operation",
        "key",
        "status",
        "source",
    ];
    if with_action {
        names.extend(["action", "statement"]);
    }
    let text = |v: &Option<String>| -> String {
        v.as_deref().map_or_else(
            || "-".to_string(),
            |s| escape::terminal(s.as_bytes()).into_owned(),
        )
    };
    let rows = list.iter().map(|f| {
        let mut row = vec![
            f.time.clone(),
            escape::terminal(f.bucket.as_bytes()).into_owned(),
            f.remote_ip.clone().unwrap_or_else(|| "-".into()),
            text(&f.requester),
            text(&f.operation),
            text(&f.key),
            f.status.map_or_else(|| "-".into(), |s| s.to_string()),
            format!("{}:{}", escape::terminal(f.source.as_bytes()), f.line),
        ];
        if with_action {
            row.push(text(&f.action));
            row.push(text(&f.statement));
        }
        row.into_iter().map(Cell::new).collect()
    });
    paged(&names, rows, out, fit)
}

fn num(n: u64) -> Cell {
    Cell::new(n).set_alignment(CellAlignment::Right)
}
