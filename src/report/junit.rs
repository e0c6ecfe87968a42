//! `check --format junit`: the check as JUnit XML, the test report CI systems show
//! (GitHub Actions, GitLab, Jenkins). Per rule, one test case says whether it had
//! evidence (a request matched it, recently enough) and one per bucket it covers
//! says whether that bucket was reached from the internet; buckets only the bucket
//! policy covers come under `bucket policy`; one test case says whether the inputs
//! were readable. Failures carry the findings and the first flagged requests; input
//! errors are JUnit errors; warnings go to the suite's `system-out`.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::check::{BucketSummary, CheckReport};
use crate::check::evidence::{Finding, Kind};
use crate::check::Flagged;
use crate::escape;

/// How many flagged requests a failure lists (the JSON and CSV list them all).
pub const LISTED: usize = 20;

/// One test case.
struct Case {
    classname: String,
    name: String,
    /// `(type, message, text)` of each failure.
    failures: Vec<(String, String, String)>,
    /// The message and text of an error.
    error: Option<(String, String)>,
    out: String,
}

impl Case {
    fn new(classname: String, name: String) -> Case {
        Case {
            classname,
            name,
            failures: Vec::new(),
            error: None,
            out: String::new(),
        }
    }

    fn fail_with(&mut self, f: &Finding) {
        self.failures
            .push((f.kind.name().to_string(), f.reason.clone(), String::new()));
    }
}

/// Writes the report as one JUnit XML document.
pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let cases = cases(report);
    let failures = cases.iter().filter(|c| !c.failures.is_empty()).count();
    let errors = cases.iter().filter(|c| c.error.is_some()).count();
    let s = &report.summary;
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"vpce-audit check\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        cases.len()
    )?;
    writeln!(
        out,
        "  <testsuite name=\"vpce-audit check\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">",
        cases.len()
    )?;
    writeln!(out, "    <properties>")?;
    for (name, value) in [
        ("result", s.result.to_string()),
        ("exit_code", s.exit_code.to_string()),
        ("version", s.version.to_string()),
        ("inputs", s.inputs.to_string()),
        ("lines", s.lines.to_string()),
        ("requests", s.requests.to_string()),
        ("violations", s.violations.to_string()),
        ("contradictions", s.contradictions.to_string()),
    ] {
        writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            xml(&value)
        )?;
    }
    writeln!(out, "    </properties>")?;
    for c in &cases {
        write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(&c.classname),
            xml(&c.name)
        )?;
        if c.failures.is_empty() && c.error.is_none() && c.out.is_empty() {
            writeln!(out, "/>")?;
            continue;
        }
        writeln!(out, ">")?;
        for (kind, message, text) in &c.failures {
            writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                xml(kind),
                xml(message),
                xml(text)
            )?;
        }
        if let Some((message, text)) = &c.error {
            writeln!(
                out,
                "      <error type=\"input_error\" message=\"{}\">{}</error>",
                xml(message),
                xml(text)
            )?;
        }
        if !c.out.is_empty() {
            writeln!(out, "      <system-out>{}</system-out>", xml(&c.out))?;
        }
        writeln!(out, "    </testcase>")?;
    }
    let warnings: Vec<String> = report
        .findings
        .iter()
        .filter(|f| !f.fails)
        .map(|f| format!("warning {} ({}): {}", f.kind.name(), f.subject, f.reason))
        .collect();
    if !warnings.is_empty() {
        writeln!(
            out,
            "    <system-out>{}</system-out>",
            xml(&warnings.join("\n"))
        )?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

/// The test cases: the inputs, then per rule its evidence and its buckets, then the
/// buckets only the bucket policy covers.
fn cases(report: &CheckReport) -> Vec<Case> {
    let failing = |kind: Kind, subject: String| {
        report
            .findings
            .iter()
            .filter(move |f| f.fails && f.kind == kind && f.subject == subject)
    };
    let mut cases = Vec::new();
    let mut inputs = Case::new("inputs".into(), "readable".into());
    for f in failing(Kind::NoEvidence, "inputs".into())
        .chain(failing(Kind::UnreadableInput, "inputs".into()))
    {
        inputs.fail_with(f);
    }
    if !report.errors.is_empty() {
        let text: Vec<String> = report
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.source, e.message))
            .collect();
        inputs.error = Some((
            format!("{} input(s) could not be read", report.errors.len()),
            text.join("\n"),
        ));
    }
    inputs.out = format!(
        "{} input(s), {} line(s): {} parsed, {} rejected",
        report.summary.inputs, report.summary.lines, report.summary.parsed, report.summary.rejected
    );
    cases.push(inputs);
    for rule in &report.rules {
        let class = format!("rule {}", rule.bucket);
        let mut evidence = Case::new(class.clone(), "evidence".into());
        for f in failing(Kind::NoEvidence, class.clone())
            .chain(failing(Kind::StaleEvidence, class.clone()))
        {
            evidence.fail_with(f);
        }
        evidence.out = format!("{} request(s) in {} bucket(s)", rule.requests, rule.buckets);
        cases.push(evidence);
        for b in report
            .buckets
            .iter()
            .filter(|b| b.rule.as_deref() == Some(rule.bucket.as_str()))
        {
            cases.push(bucket_case(report, class.clone(), &b));
        }
    }
    for b in report.buckets.iter().filter(|b| b.rule.is_none()) {
        cases.push(bucket_case(report, "bucket policy".into(), &b));
    }
    cases
}

/// The test case of one bucket: fails on this run's violations, contradictions and
/// (when they fail the check) requests denied through the endpoint.
fn bucket_case(report: &CheckReport, classname: String, b: &BucketSummary) -> Case {
    let mut case = Case::new(classname, b.bucket.clone());
    let c = &b.this_run;
    let of_bucket = |list: &'_ [Flagged]| -> String {
        let lines: Vec<String> = list
            .iter()
            .filter(|f| f.bucket == b.bucket)
            .take(LISTED)
            .map(line)
            .collect();
        lines.join("\n")
    };
    if c.violations > 0 {
        case.failures.push((
            "violation".into(),
            format!(
                "{} request(s) from the internet were let through",
                c.violations
            ),
            of_bucket(&report.violations),
        ));
    }
    if c.contradictions > 0 {
        case.failures.push((
            "contradiction".into(),
            format!(
                "{} succeeded public request(s) the bucket policy says are denied",
                c.contradictions
            ),
            of_bucket(&report.contradictions),
        ));
    }
    let subject = format!("bucket {}", b.bucket);
    for f in report
        .findings
        .iter()
        .filter(|f| f.fails && f.kind == Kind::PrivateDenied && f.subject == subject)
    {
        case.failures.push((
            f.kind.name().into(),
            f.reason.clone(),
            of_bucket(&report.private_denied),
        ));
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "{} request(s): {} private ({} denied), {} public ({} excepted, {} blocked, {} rejected), {} internal",
        c.requests,
        c.private,
        c.private_denied,
        c.public,
        c.excepted,
        c.blocked,
        c.public_rejected,
        c.internal
    );
    case.out = out;
    case
}

/// One flagged request on a line: time, address, requester, operation, status,
/// request id and where it is.
fn line(f: &Flagged) -> String {
    format!(
        "{} {} {} {} {} {} request id {} at {}:{}",
        f.time,
        f.remote_ip.as_deref().unwrap_or("-"),
        f.requester.as_deref().unwrap_or("-"),
        f.operation.as_deref().unwrap_or("-"),
        f.status.map_or("-".to_string(), |s| s.to_string()),
        f.error_code.as_deref().unwrap_or("-"),
        f.request_id.as_deref().unwrap_or("-"),
        f.source,
        f.line
    )
}

/// Text made safe for XML 1.0 content and attributes: characters XML cannot hold
/// (C0 controls other than tab and newline, invalid bytes) shown as visible escapes
/// like the terminal output, then `& < > " '` as entities; a newline in an attribute
/// as a character reference.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("&#10;");
        }
        for c in escape::terminal(part.as_bytes()).chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                // Not characters XML 1.0 can hold.
                '\u{fffe}' | '\u{ffff}' => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml("one\ntwo"), "one&#10;two");
        let escaped = xml("bell\x07 esc\x1b[2J nul\0");
        assert!(!escaped.chars().any(|c| c.is_control()), "{escaped}");
        assert!(escaped.contains("\\x1b"), "{escaped}");
    }
}
