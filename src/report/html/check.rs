//! `check --format html`: the compliance check as one self-contained page of evidence.
//!
//! The page is built from the pieces of [`super`] and [`super::audit`], so it has the same
//! guarantees: inline CSS and SVG only, a Content-Security-Policy that forbids every
//! load, and every string that came from a log or a file name escaped with [`Esc`].
//! A header says how the check was made and what it found (rules in force, state,
//! cross-checked bucket policy); an overview lists each checked bucket with its
//! compliance verdict; per bucket, a section holds the timeline chart of the report
//! and then the violating requests, the refused attempts from the internet and the
//! requests denied through the endpoint, at most [`MAX_LISTED`] of each with their
//! count (the JSON and CSV outputs list them all). The findings about the run (missing
//! or stale evidence, unreadable input, warnings) come first, in the header. With more
//! than [`SECTIONS`](super::SECTIONS) buckets, the sections go to those with the most
//! findings in this run, as in the report page.

use std::collections::HashMap;
use std::io::{self, Write};

use super::audit::{bucket_body, bucket_close, bucket_open, cap_note, rejections};
use super::{
    begin_with, end, filter_and_lines, input_errors, input_hashes, invocation_rows, plural,
    private_ranges_row, thousands, Esc, Invocation, Shown, OPEN_ALL,
};
use crate::check::counters::Counters;
use crate::check::rules::RulesSpec;
use crate::check::Flagged;
use crate::report::check::{BucketSummary, CheckReport};
use crate::report::Report;
use crate::time::{rfc3339, Zone};

/// Most violations (and, separately, contradictions) listed per bucket.
pub const MAX_LISTED: usize = 500;

/// Everything the page shows.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    /// The verdicts and flagged requests.
    pub check: &'a CheckReport,
    /// The checked requests of this run as a report, for the charts.
    pub report: &'a Report,
    /// The command line and inputs.
    pub invocation: &'a Invocation,
    /// The rules as written (flags merged in).
    pub rules: &'a RulesSpec,
    /// The `--policy` file, if the rules came from one.
    pub rules_file: Option<&'a str>,
    /// The `--bucket-policy` given, if any.
    pub bucket_policy_file: Option<&'a str>,
}

/// Which checked buckets get a section: in a page of many, those with the most
/// findings in this run, then over all runs, then public requests.
fn shown(check: &CheckReport) -> Shown {
    let keys: Vec<_> = check
        .buckets
        .counters()
        .map(|(all, now)| {
            (
                now.violations.saturating_add(now.contradictions),
                all.violations.saturating_add(all.contradictions),
                all.public,
                all.requests,
            )
        })
        .collect();
    Shown::of(keys.len(), |i| keys[i])
}

/// The names of the buckets the page gives a section to, with a chart: what a second
/// reading must aggregate when the check dropped its charts.
pub fn charted(check: &CheckReport) -> Vec<String> {
    let shown = shown(check);
    let mut rows: Vec<_> = check.buckets.rows_at(&shown.sections).into_iter().collect();
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, b)| b.bucket).collect()
}

/// Writes the whole page.
pub fn write(e: &Evidence<'_>, out: &mut dyn Write) -> io::Result<()> {
    begin_with(&title(e.check), CSS, out)?;
    header(e, out)?;
    let shown = shown(e.check);
    let rows = e
        .check
        .buckets
        .rows_at(&[&shown.sections[..], &shown.compact[..]].concat());
    overview(e.check, &shown, &rows, out)?;
    let violations = by_bucket(&e.check.violations);
    let contradictions = by_bucket(&e.check.contradictions);
    let attempts = by_bucket(&e.check.attempts);
    let private_denied = by_bucket(&e.check.private_denied);
    let open_all = e.check.buckets.len() <= OPEN_ALL;
    for (i, b) in shown.sections.iter().map(|i| &rows[i]).enumerate() {
        let open = open_all || fails(&b.this_run);
        let chart = e
            .report
            .buckets
            .position(&b.bucket)
            .map(|at| e.report.buckets.get(at));
        match &chart {
            Some(chart) => bucket_open(i, chart, open, out)?,
            None => writeln!(
                out,
                "<details class=\"bucket\" id=\"b{}\"{}>\n<summary><h2>{}</h2> \
                 <span class=\"counts\">no requests in this run</span></summary>\n\
                 <div class=\"body\">",
                i + 1,
                if open { " open" } else { "" },
                Esc(&b.bucket)
            )?,
        }
        compliance(b, e.check.summary.state.is_some(), out)?;
        if let Some(chart) = &chart {
            writeln!(out, "<h3>Traffic in this run</h3>")?;
            bucket_body(i, chart, &e.report.summary, out)?;
        }
        flagged(
            "Violations",
            "public requests let through to a bucket that must be reached through the VPC \
             endpoint",
            violations
                .get(b.bucket.as_str())
                .map_or(&[][..], Vec::as_slice),
            b.this_run.violations,
            out,
        )?;
        if b.this_run.contradictions > 0 {
            flagged(
                "Contradictions with the bucket policy",
                "succeeded public requests that the bucket policy says are denied",
                contradictions
                    .get(b.bucket.as_str())
                    .map_or(&[][..], Vec::as_slice),
                b.this_run.contradictions,
                out,
            )?;
        }
        let refused = b.this_run.blocked + b.this_run.public_rejected;
        if refused > 0 {
            flagged(
                "Refused attempts from the internet",
                "blocked (a policy denied them, HTTP 403 AccessDenied) or rejected before any \
                 policy (a bad signature, an unknown key, an expired token: no proof the \
                 policy works)",
                attempts
                    .get(b.bucket.as_str())
                    .map_or(&[][..], Vec::as_slice),
                refused,
                out,
            )?;
        }
        if b.this_run.private_denied > 0 {
            flagged(
                "Denied through the VPC endpoint",
                "requests through the endpoint that a policy denied: does the bucket policy \
                 name the right vpce id, and does the endpoint policy allow these actions?",
                private_denied
                    .get(b.bucket.as_str())
                    .map_or(&[][..], Vec::as_slice),
                b.this_run.private_denied,
                out,
            )?;
        }
        bucket_close(out)?;
    }
    rejections(e.report, out)?;
    end(e.report, out)
}

/// The page title: the result and what was checked.
pub fn title(check: &CheckReport) -> String {
    format!(
        "VPC endpoint compliance check: {}, {} bucket(s)",
        result_name(&check.summary.result.to_uppercase()),
        check.buckets.len()
    )
}

fn result_name(result: &str) -> &str {
    match result {
        "PASS" => "PASS",
        "FAIL" => "FAIL",
        _ => "ERROR",
    }
}

fn fails(c: &Counters) -> bool {
    c.violations > 0 || c.contradictions > 0
}

/// The flagged requests of each bucket, in time order (stable: input order within a
/// second).
fn by_bucket(list: &[Flagged]) -> HashMap<&str, Vec<&Flagged>> {
    let mut map: HashMap<&str, Vec<&Flagged>> = HashMap::new();
    for f in list {
        map.entry(f.bucket.as_str()).or_default().push(f);
    }
    for v in map.values_mut() {
        v.sort_by(|a, b| a.time.cmp(&b.time));
    }
    map
}

fn header(e: &Evidence<'_>, out: &mut dyn Write) -> io::Result<()> {
    let s = &e.check.summary;
    let r = &e.report.summary;
    let result = s.result.to_uppercase();
    writeln!(
        out,
        "<header>\n<h1>VPC endpoint compliance check {}</h1>",
        result_badge(&result)
    )?;
    writeln!(
        out,
        "<p class=\"lead\">Whether requests to buckets that must only be reached through a \
         VPC endpoint came over the internet, from the buckets' server access logs. A \
         violation is a public request that was let through; a public request a policy \
         denied (HTTP 403 AccessDenied) is a blocked attempt, evidence that a bucket policy \
         works; one refused before any policy is a rejected attempt, evidence of nothing. \
         A pass needs evidence: every rule must have matched requests. All times are \
         UTC{}.</p>",
        match Zone::named(&e.report.summary.time_zone) {
            Zone::Utc => String::new(),
            zone => format!(", but the charts' (on the clock of {})", zone.name()),
        }
    )?;
    writeln!(out, "<dl class=\"summary\">")?;
    result_row(e.check, &result, out)?;
    invocation_rows(e.invocation, r, out)?;
    inputs_read(e.check, out)?;
    match (&r.first, &r.last) {
        (Some(first), Some(last)) => writeln!(
            out,
            "<dt>Time range</dt><dd>{} to {} (first and last checked request)</dd>",
            Esc(first),
            Esc(last)
        )?,
        _ => writeln!(out, "<dt>Time range</dt><dd>no checked requests</dd>")?,
    }
    // The chart report is built from this run's accounting: the same lines.
    filter_and_lines(r, None, out)?;
    writeln!(
        out,
        "<dt>Checked</dt><dd>{} to buckets under a rule: {}, {} (denied by a policy), {} \
         (refused before any policy), {}, {}</dd>",
        plural(s.requests, "request"),
        plural(s.violations, "violation"),
        plural(s.blocked, "blocked attempt"),
        plural(s.public_rejected, "rejected attempt"),
        plural(s.private_denied, "request denied through the endpoint"),
        plural(s.excepted, "excepted request")
    )?;
    rules(e, out)?;
    state_row(e.check, out)?;
    bucket_policy_row(e, out)?;
    private_ranges_row(&r.private_ranges, out)?;
    writeln!(out, "</dl>")?;
    findings(e.check, out)?;
    input_errors(&e.check.errors, &e.check.warnings, out)?;
    input_hashes(e.check.inputs.as_deref(), out)?;
    writeln!(out, "</header>")
}

/// The findings about the run, failing ones first, each with its reason.
fn findings(check: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    if check.findings.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<div class=\"findings\"><h2>Findings about the run</h2><ul>"
    )?;
    for f in &check.findings {
        writeln!(
            out,
            "<li class=\"{}\"><span class=\"{}\">{}</span> <code>{}</code> ({}): {}</li>",
            if f.fails { "fails" } else { "warns" },
            if f.fails {
                "result r-fail"
            } else {
                "result r-warn"
            },
            if f.fails { "FAIL" } else { "warning" },
            Esc(f.kind.name()),
            Esc(&f.subject),
            Esc(&f.reason)
        )?;
    }
    writeln!(out, "</ul></div>")
}

/// The header row with the result and the exit status.
fn result_row(check: &CheckReport, result: &str, out: &mut dyn Write) -> io::Result<()> {
    let s = &check.summary;
    let outcome = match result_name(result) {
        "PASS" => "no violations, no contradictions, evidence for every rule".to_string(),
        "FAIL" => format!(
            "{}, {}, {}",
            plural(s.violations, "violation"),
            plural(s.contradictions, "contradiction"),
            plural(s.failing_findings as u64, "failing finding")
        ),
        _ => "the check could not read everything; its findings are incomplete".to_string(),
    };
    writeln!(
        out,
        "<dt>Result</dt><dd><span class=\"{}\">{}: {outcome}</span> (exit status {})</dd>",
        if s.exit_code == 0 { "ok" } else { "warn" },
        Esc(result),
        s.exit_code
    )
}

/// The end of the inputs row: how many were read, skipped and failed.
fn inputs_read(check: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &check.summary;
    write!(out, " ({} read", plural(s.inputs, "file"))?;
    if s.inputs_duplicate > 0 {
        write!(
            out,
            ", {} named twice and read once",
            plural(s.inputs_duplicate as u64, "file")
        )?;
    }
    if s.inputs_skipped > 0 {
        write!(
            out,
            ", {} skipped as already processed",
            plural(s.inputs_skipped, "file")
        )?;
    }
    if s.input_errors > 0 {
        write!(
            out,
            ", <span class=\"warn\">{} failed</span>",
            plural(s.input_errors as u64, "input")
        )?;
    }
    writeln!(out, ")</dd>")
}

/// The header row of the incremental state, if there is one.
fn state_row(check: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let Some(st) = &check.summary.state else {
        return Ok(());
    };
    writeln!(
        out,
        "<dt>State</dt><dd><code>{}</code>: run {}, {} known; the counters in the \
         overview are summed over all runs, the listed requests and the charts are this \
         run's</dd>",
        Esc(&st.path),
        thousands(st.runs),
        plural(st.objects as u64, "log object")
    )
}

/// The header row of the cross-checked bucket policy, if there is one.
fn bucket_policy_row(e: &Evidence<'_>, out: &mut dyn Write) -> io::Result<()> {
    let Some(p) = &e.check.bucket_policy else {
        return Ok(());
    };
    write!(out, "<dt>Bucket policy</dt><dd>")?;
    if let Some(file) = e.bucket_policy_file {
        write!(out, "<code>{}</code>", Esc(file))?;
    }
    if let Some(bucket) = &p.bucket {
        write!(out, " of <code>{}</code>", Esc(bucket))?;
    }
    let contradictions = e.check.summary.contradictions;
    writeln!(
        out,
        ": {}, {} (details: <code>vpce-audit policy</code>); <span class=\"{}\">{}</span> \
         with the logs</dd>",
        Esc(p.status.name()),
        plural(p.gaps as u64, "gap"),
        if contradictions > 0 { "warn" } else { "ok" },
        plural(contradictions, "contradiction")
    )
}

/// The rules in force: where they came from, each bucket rule with its exceptions,
/// the global exceptions.
fn rules(e: &Evidence<'_>, out: &mut dyn Write) -> io::Result<()> {
    let spec = e.rules;
    write!(out, "<dt>Rules</dt><dd>")?;
    match e.rules_file {
        Some(file) => write!(out, "from <code>{}</code>", Esc(file))?,
        None => write!(out, "from the command line")?,
    }
    if spec.buckets.is_empty() {
        write!(
            out,
            "; no bucket rules, only the bucket policy's claims are checked"
        )?;
    }
    writeln!(
        out,
        "; blocked attempts {}",
        if spec.count_blocked {
            "count as violations (--count-blocked)"
        } else {
            "are not violations"
        }
    )?;
    if !spec.buckets.is_empty() {
        writeln!(
            out,
            "<table class=\"rules\"><thead><tr><th>bucket pattern</th><th>requires</th>\
             <th>internal traffic</th><th>exceptions</th><th class=\"n\">buckets</th>\
             <th class=\"n\">requests</th></tr></thead><tbody>"
        )?;
        for (rule, seen) in spec.buckets.iter().zip(&e.check.rules) {
            writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"n\">{}</td><td class=\"n{}\">{}</td></tr>",
                Esc(&rule.name),
                Esc(rule.require.name()),
                if rule.allow_internal {
                    "allowed"
                } else {
                    "forbidden"
                },
                exceptions(&rule.public_cidrs, &rule.requesters, &rule.operations),
                thousands(seen.buckets as u64),
                if seen.requests == 0 { " warn" } else { "" },
                if seen.requests == 0 {
                    "0: no request matched (no evidence: the check fails)".to_string()
                } else {
                    thousands(seen.requests)
                }
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    let g = &spec.exceptions;
    writeln!(
        out,
        "Exceptions for every rule: {}</dd>",
        exceptions(&g.public_cidrs, &g.requesters, &g.operations)
    )
}

fn exceptions(cidrs: &[String], requesters: &[String], operations: &[String]) -> String {
    let mut parts = Vec::new();
    for (what, list) in [
        ("public ranges", cidrs),
        ("requesters", requesters),
        ("operations", operations),
    ] {
        if !list.is_empty() {
            let items: Vec<String> = list
                .iter()
                .map(|v| format!("<code>{}</code>", Esc(v)))
                .collect();
            parts.push(format!("{what} {}", items.join(", ")));
        }
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("; ")
    }
}

/// One row per checked bucket with a section, with its compliance verdict and
/// counters; then, in a page of many, the compact table of the others.
fn overview(
    check: &CheckReport,
    shown: &Shown,
    rows: &HashMap<usize, BucketSummary>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "<nav>\n<h2>Buckets</h2>")?;
    if check.buckets.is_empty() {
        return writeln!(
            out,
            "<p>No request to a bucket under a rule was found.</p>\n</nav>\n<main>"
        );
    }
    if shown.capped() {
        cap_note(
            check.buckets.len(),
            shown,
            "the most findings in this run (then over all runs, then public requests)",
            out,
        )?;
    }
    if check.buckets.len() > OPEN_ALL {
        writeln!(
            out,
            "<p class=\"note\">Sections of buckets without findings start closed; click a \
             name to open one.</p>"
        )?;
    }
    let incremental = check.summary.state.is_some();
    let policy = check.bucket_policy.is_some();
    let mut head = "<thead><tr><th>bucket</th><th>rule</th><th>compliance</th>\
         <th class=\"n\">requests</th><th class=\"n\">private</th><th class=\"n\">public</th>\
         <th class=\"n\">internal</th><th class=\"n\">excepted</th>\
         <th class=\"n\">blocked attempts</th><th class=\"n\">violations</th>"
        .to_string();
    if incremental {
        head.push_str("<th class=\"n\">new violations</th>");
    }
    if policy {
        head.push_str("<th class=\"n\">contradictions</th>");
    }
    head.push_str("<th>first violation</th><th>last violation</th></tr></thead>\n<tbody>");
    let row = |name: &str, b: &BucketSummary, out: &mut dyn Write| -> io::Result<()> {
        let c = &b.total;
        write!(
            out,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            rule_cell(b),
            compliance_badge(b),
            thousands(c.requests),
            thousands(c.private),
            thousands(c.public),
            thousands(c.internal),
            thousands(c.excepted),
            thousands(c.blocked),
            thousands(c.violations)
        )?;
        if incremental {
            write!(
                out,
                "<td class=\"n\">{}</td>",
                thousands(b.this_run.violations)
            )?;
        }
        if policy {
            write!(out, "<td class=\"n\">{}</td>", thousands(c.contradictions))?;
        }
        writeln!(
            out,
            "<td class=\"nw\">{}</td><td class=\"nw\">{}</td></tr>",
            Esc(&c.first_violation.0.map_or("-".into(), rfc3339)),
            Esc(&c.last_violation.0.map_or("-".into(), rfc3339))
        )
    };
    writeln!(out, "<table class=\"toc\">\n{head}")?;
    for (n, &i) in shown.sections.iter().enumerate() {
        let b = &rows[&i];
        let name = format!("<a href=\"#b{}\">{}</a>", n + 1, Esc(&b.bucket));
        row(&name, b, out)?;
    }
    writeln!(out, "</tbody>\n</table>")?;
    if !shown.compact.is_empty() {
        writeln!(
            out,
            "<h3>Buckets without a section</h3>\n<table class=\"toc\">\n{head}"
        )?;
        for &i in &shown.compact {
            let b = &rows[&i];
            row(&Esc(&b.bucket).to_string(), b, out)?;
        }
        writeln!(out, "</tbody>\n</table>")?;
    }
    writeln!(out, "</nav>\n<main>")
}

fn rule_cell(b: &BucketSummary) -> String {
    match &b.rule {
        Some(rule) => format!("<code>{}</code>", Esc(rule)),
        None => "bucket policy only".to_string(),
    }
}

fn result_badge(result: &str) -> String {
    let name = result_name(result);
    format!(
        "<span class=\"result r-{}\">{name}</span>",
        name.to_lowercase()
    )
}

/// `fail` when this run found violations or contradictions in the bucket.
fn compliance_badge(b: &BucketSummary) -> String {
    result_badge(if fails(&b.this_run) { "FAIL" } else { "PASS" })
}

/// The bucket's verdict in words and its counters.
fn compliance(b: &BucketSummary, incremental: bool, out: &mut dyn Write) -> io::Result<()> {
    let c = &b.this_run;
    let text = if c.violations > 0 {
        format!(
            "{} in this run: public requests let through, {} to {}.",
            plural(c.violations, "violation"),
            Esc(&c.first_violation.0.map_or("-".into(), rfc3339)),
            Esc(&c.last_violation.0.map_or("-".into(), rfc3339))
        )
    } else if c.contradictions > 0 {
        "No violation of the rules, but succeeded public requests contradict the bucket \
         policy."
            .to_string()
    } else if c.requests == 0 {
        "No requests in this run.".to_string()
    } else {
        "Compliant in this run: no public request was let through.".to_string()
    };
    writeln!(
        out,
        "<p class=\"compliance\">{} {text} Rule: {}.{}</p>",
        compliance_badge(b),
        rule_cell(b),
        if c.blocked > 0 {
            format!(
                " {} (public, denied with HTTP 403): the bucket policy turned {} away.",
                plural(c.blocked, "blocked attempt"),
                if c.blocked == 1 { "it" } else { "them" }
            )
        } else {
            String::new()
        }
    )?;
    let facts = |label: &str, c: &Counters| -> String {
        format!(
            "<dl class=\"facts\"><dt>{label}</dt><dd></dd><dt>requests</dt><dd>{}</dd>\
             <dt>private</dt><dd>{}</dd><dt>public</dt><dd>{}</dd><dt>internal</dt><dd>{}</dd>\
             <dt>excepted</dt><dd>{}</dd><dt>blocked attempts</dt><dd>{}</dd>\
             <dt>rejected attempts</dt><dd>{}</dd><dt>denied through the endpoint</dt><dd>{}</dd>\
             <dt>violations</dt><dd>{}</dd><dt>contradictions</dt><dd>{}</dd></dl>",
            thousands(c.requests),
            thousands(c.private),
            thousands(c.public),
            thousands(c.internal),
            thousands(c.excepted),
            thousands(c.blocked),
            thousands(c.public_rejected),
            thousands(c.private_denied),
            thousands(c.violations),
            thousands(c.contradictions)
        )
    };
    writeln!(out, "{}", facts("this run", c))?;
    if incremental {
        writeln!(out, "{}", facts("all runs in the state", &b.total))?;
    }
    Ok(())
}

/// A table of flagged requests of one bucket: at most [`MAX_LISTED`] rows, then a note
/// on how many more there are. `total` counts all, listed or not.
fn flagged(
    title: &str,
    what: &str,
    list: &[&Flagged],
    total: u64,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "<h3>{title}</h3>")?;
    if list.is_empty() && total == 0 {
        return writeln!(out, "<p class=\"note\">None in this run.</p>");
    }
    writeln!(
        out,
        "<p class=\"note\">{}: {what}, in time order.</p>",
        plural(total, "request")
    )?;
    let with_action = list.iter().any(|f| f.action.is_some());
    write!(
        out,
        "<table class=\"flagged\"><thead><tr><th>time</th><th>remote IP</th>\
         <th>requester</th><th>operation</th><th>key</th><th class=\"n\">status</th>\
         <th>error code</th><th>request id</th><th>source</th>"
    )?;
    if with_action {
        write!(out, "<th>denied action</th><th>statement</th>")?;
    }
    writeln!(out, "</tr></thead><tbody>")?;
    let text = |v: &Option<String>| -> String {
        v.as_deref()
            .map_or_else(|| "-".to_string(), |s| format!("<code>{}</code>", Esc(s)))
    };
    let shown = list.len().min(MAX_LISTED);
    for f in &list[..shown] {
        write!(
            out,
            "<tr><td class=\"nw\">{}</td><td class=\"nw\">{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td><code>{}:{}</code></td>",
            Esc(&f.time),
            text(&f.remote_ip),
            text(&f.requester),
            text(&f.operation),
            text(&f.key),
            f.status.map_or_else(|| "-".to_string(), |s| s.to_string()),
            text(&f.error_code),
            text(&f.request_id),
            Esc(&f.source),
            f.line
        )?;
        if with_action {
            write!(
                out,
                "<td>{}</td><td>{}</td>",
                text(&f.action),
                text(&f.statement)
            )?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody></table>")?;
    let more = total.saturating_sub(shown as u64);
    if more > 0 {
        writeln!(
            out,
            "<p class=\"note more\">{} more not shown here; see <code>--format json</code> or \
             <code>--format csv</code>.</p>",
            thousands(more)
        )?;
    }
    Ok(())
}

const CSS: &str = r#"
h1 .result{font-size:14px;vertical-align:4px;margin-left:6px}
.result{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;color:#000;vertical-align:middle;border:1px solid #000}
.r-pass{background:#009E73}.r-fail{background:#D55E00;border-width:3px;border-style:double}.r-error{background:#cccccc}.r-warn{background:#E69F00}
.findings{border:1px solid #E69F00;background:#fffbeb;padding:8px 14px;border-radius:6px;margin:0 0 12px}
.findings ul{margin:6px 0 0;padding-left:18px}.findings li{margin:3px 0}
.ok{color:#15803d;font-weight:600}
.compliance{font-size:15px;margin:10px 0 4px}
table.rules{margin:6px 0}
table.flagged td{font-size:12.5px}
td.warn{color:#b45309}
table.toc td:nth-child(-n+2){white-space:nowrap}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(bucket: &str, time: &str, line: u64) -> Flagged {
        Flagged {
            time: time.into(),
            bucket: bucket.into(),
            remote_ip: Some("52.79.54.241".into()),
            class: crate::classify::Class::Public,
            outcome: crate::classify::Outcome::Allowed,
            requester: Some("\"><img src=x onerror=alert(1)>".into()),
            account: "anonymous".into(),
            operation: Some("REST.GET.OBJECT".into()),
            key: Some("<script>alert(1)</script>".into()),
            status: Some(200),
            error_code: Some("<b>".into()),
            request_id: Some("3E57427F3EXAMPLE".into()),
            source: "logs/a".into(),
            line,
            action: None,
            statement: None,
            vpc_endpoint_id: None,
        }
    }

    fn table(list: &[Flagged], total: u64) -> String {
        let refs: Vec<&Flagged> = list.iter().collect();
        let mut out = Vec::new();
        flagged("Violations", "public", &refs, total, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn long_lists_stop_with_a_pointer_to_the_full_outputs() {
        let list: Vec<Flagged> = (0..MAX_LISTED as u64 + 7)
            .map(|i| flag("b", "2022-05-09T10:32:00Z", i + 1))
            .collect();
        let html = table(&list, list.len() as u64 + 100);
        assert_eq!(html.matches("<tr><td").count(), MAX_LISTED);
        assert!(html.contains("107 more not shown here; see <code>--format json</code>"));
        let short = table(&list[..3], 3);
        assert_eq!(short.matches("<tr><td").count(), 3);
        assert!(!short.contains("more not shown"));
        assert!(table(&[], 0).contains("None in this run."));
    }

    #[test]
    fn flagged_fields_are_escaped() {
        let html = table(&[flag("b", "2022-05-09T10:32:00Z", 9)], 1);
        assert!(!html.contains("<script") && !html.contains("<img"));
        assert!(html.contains("<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"));
        assert!(html.contains("<code>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</code>"));
        assert!(html.contains("<code>logs/a:9</code>"));
    }

    #[test]
    fn flagged_requests_are_grouped_per_bucket_in_time_order() {
        let list = [
            flag("b", "2022-05-09T10:40:00Z", 1),
            flag("a", "2022-05-09T10:35:00Z", 2),
            flag("b", "2022-05-09T10:33:00Z", 3),
        ];
        let map = by_bucket(&list);
        let lines = |b: &str| map[b].iter().map(|f| f.line).collect::<Vec<_>>();
        assert_eq!(lines("b"), [3, 1]);
        assert_eq!(lines("a"), [2]);
    }
}
