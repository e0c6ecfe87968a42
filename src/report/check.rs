//! The report of `vpce-audit check`: a summary, the rules, per-bucket counters and the
//! flagged requests, as `table`, `json` or `csv`.
//!
//! With `--state`, every bucket has two sets of counters: `total`, summed over all
//! runs recorded in the state plus this one, and `this_run`, for the log objects read
//! now. The listed violations and contradictions, and the exit status, are this run's
//! only: an hourly job reports each violation once.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::grid::{Cell, Column, Grid, Kind, Screen, Tone};
use super::ErrorEntry;
use crate::arn::{principal, requester_name};
use crate::check::bucket_policy::{Analysis, Enforcement};
use crate::check::counters::Counters;
use crate::check::rules::{Require, Rules};
use crate::check::state::State;
use crate::check::{Flagged, Run, KEPT_FINDINGS};
use crate::escape;
use crate::settings::Settings;
use crate::tally::Rejection;
use crate::time::{rfc3339, Zone};

/// The check report.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// [`super::SCHEMA_VERSION`].
    pub schema_version: u32,
    pub summary: CheckSummary,
    pub rules: Vec<RuleSummary>,
    pub buckets: Vec<BucketSummary>,
    /// This run's violations, in input order (the first 100 000; the summary counts
    /// all).
    pub violations: Vec<Flagged>,
    /// This run's contradictions with the bucket policy, likewise.
    pub contradictions: Vec<Flagged>,
    pub bucket_policy: Option<PolicyBrief>,
    /// The first rejected lines (up to 1000; `summary.rejected` counts all).
    pub rejections: Vec<Rejection>,
    pub errors: Vec<ErrorEntry>,
    /// The zone the table shows times in (`--tz`); JSON and CSV times are UTC.
    #[serde(skip)]
    pub zone: Zone,
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
    /// Of the violations, requests through VPC endpoints the rules do not allow.
    pub foreign_endpoint: u64,
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

/// What the report needs besides the run.
#[derive(Clone, Copy, Debug)]
pub struct CheckContext<'a> {
    pub settings: &'a Settings,
    pub rules: &'a Rules,
    pub policy: Option<&'a Analysis>,
    /// The state as loaded before this run, and where it lives.
    pub state: Option<(&'a Path, &'a State)>,
    pub exit_code: u8,
}

impl CheckReport {
    /// Builds the report of a finished run.
    pub fn build(run: Run, ctx: &CheckContext<'_>) -> CheckReport {
        let mut totals = ctx
            .state
            .map(|(_, s)| s.buckets.clone())
            .unwrap_or_default();
        for (name, c) in &run.findings.buckets {
            *totals.entry(name.clone()).or_default() += *c;
        }
        let buckets: Vec<BucketSummary> = totals
            .iter()
            .map(|(name, total)| BucketSummary {
                bucket: name.clone(),
                rule: ctx
                    .rules
                    .rule_for(name)
                    .map(|i| ctx.rules.describe(i).0.to_string()),
                total: *total,
                this_run: run.findings.buckets.get(name).copied().unwrap_or_default(),
            })
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
        for (name, c) in &totals {
            if let Some(i) = ctx.rules.rule_for(name) {
                rules[i].buckets += 1;
                rules[i].requests += c.requests;
            }
        }
        let now = run.findings.totals();
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
            foreign_endpoint: now.foreign_endpoint,
            violations_listed: run.findings.violations.len(),
            contradictions_listed: run.findings.contradictions.len(),
            state: ctx.state.map(|(path, s)| StateSummary {
                path: path.display().to_string(),
                runs: s.runs + 1,
                objects: s.objects.len() + run.read.len(),
            }),
        };
        CheckReport {
            zone: ctx.settings.zone,
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
                effective_from: run.findings.policy_from.map(rfc3339),
                endpoints_not_allowed: run
                    .findings
                    .unlisted_endpoints
                    .iter()
                    .map(|((bucket, endpoint), &requests)| EndpointSeen {
                        bucket: bucket.clone(),
                        endpoint: endpoint.clone(),
                        requests,
                    })
                    .collect(),
            }),
            rejections: run.tally.rejections,
            errors: run
                .tally
                .errors
                .into_iter()
                .map(|e| ErrorEntry {
                    source: e.source_name,
                    message: e.message,
                })
                .collect(),
        }
    }
}

/// Writes the report as one JSON document followed by a newline.
pub fn write_json(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
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
pub fn write_table(report: &CheckReport, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    write_summary(report, out, screen)?;
    if report.buckets.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    write_buckets(report, out, screen)?;
    let s = &report.summary;
    let zone = report.zone;
    flagged_table(
        out,
        screen,
        zone,
        "violations",
        &report.violations,
        s.violations,
    )?;
    flagged_table(
        out,
        screen,
        zone,
        "contradictions (succeeded public requests the bucket policy says are denied)",
        &report.contradictions,
        s.contradictions,
    )
}

/// The result, what was read and checked, the state, the bucket policy and the rules
/// that matched nothing.
fn write_summary(report: &CheckReport, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    let s = &report.summary;
    let verdict = match s.result {
        "pass" => screen.paint("PASS", Tone::Good),
        "fail" => format!(
            "{}: {} violation(s), {} contradiction(s)",
            screen.paint("FAIL", Tone::Bad),
            s.violations,
            s.contradictions
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
            "{} input(s) read, {} lines: {} parsed, {} rejected; {} requests checked, {} blocked attempt(s), {} excepted",
            s.inputs, s.lines, s.parsed, s.rejected, s.requests, s.blocked, s.excepted
        ),
    )?;
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
        writeln!(
            out,
            "bucket policy{}: {}, {} gap(s) (details: vpce-audit policy){}",
            p.bucket
                .as_deref()
                .map(|b| format!(" of {}", escape::terminal(b.as_bytes())))
                .unwrap_or_default(),
            p.status.name(),
            p.gaps,
            p.effective_from
                .as_deref()
                .map(|t| format!("; in effect from {t} (PutBucketPolicy in CloudTrail)"))
                .unwrap_or_default()
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
    for r in report.rules.iter().filter(|r| r.requests == 0) {
        screen.say(
            out,
            &format!(
                "note: rule {} matched no requests (a typo in the bucket name passes silently)",
                escape::terminal(r.bucket.as_bytes())
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
        Column::drop("public", Kind::Number, 5),
        Column::drop("internal", Kind::Number, 6),
        Column::drop("excepted", Kind::Number, 2),
        Column::keep("blocked", Kind::Number),
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
    let mut t = Grid::new(&columns);
    let bad = |n: u64| Cell::from(n).tone_if(n > 0, Tone::Bad);
    for b in &report.buckets {
        let c = &b.total;
        let mut row = vec![
            Cell::from(escape::terminal(b.bucket.as_bytes()).into_owned()),
            Cell::from(escape::terminal(b.rule.as_deref().unwrap_or("-").as_bytes()).into_owned()),
            c.requests.into(),
            c.private.into(),
            c.public.into(),
            c.internal.into(),
            c.excepted.into(),
            c.blocked.into(),
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
        t.row(row);
    }
    if incremental {
        writeln!(out, "per bucket, over all runs in the state:")?;
    }
    t.write(out, screen)
}

/// The flagged requests, one per line, grouped by requester (a principal: an assumed
/// role without its sessions), the group with the most first.
fn flagged_table(
    out: &mut dyn Write,
    screen: &Screen,
    report_zone: Zone,
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
        writeln!(out, "{title} ({total}):")?;
    }
    let with_action = list.iter().any(|f| f.action.is_some());
    let mut columns = vec![
        Column::keep("time", Kind::Atom),
        Column::drop("bucket", Kind::Clip, 3),
        Column::keep("remote IP", Kind::Atom),
        Column::drop("operation", Kind::Atom, 4),
        Column::keep("status", Kind::Number),
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
    let zone = report_zone;
    for (name, members) in &groups {
        t.heading(format!("{name}: {}", members.len()));
        for f in members {
            let mut row = vec![
                Cell::from(zone.show(&f.time)),
                Cell::from(escape::terminal(f.bucket.as_bytes()).into_owned()),
                Cell::from(f.remote_ip.clone().unwrap_or_else(|| "-".into())),
                Cell::from(text(&f.operation)),
                Cell::from(f.status.map_or_else(|| "-".into(), |s| s.to_string())),
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
        }
    }
    t.write(out, screen)
}
