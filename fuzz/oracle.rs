//! What must hold for any input bytes: the checks shared by the fuzz targets and by the
//! `cargo test` replay of their regression seeds (`tests/fuzz_regressions.rs`).
//!
//! * [`parse_line`]: both parsers return, without panicking, the same record (on the
//!   17 required fields) or the same error; each gives exactly what it gives without
//!   its fast path for the common line; a reused parser gives what a fresh one does;
//!   a line with a carriage return inside is rejected for it; and a line that reads in
//!   more than one way as S3 writes a request (counted by brute force, [`readings`]) is
//!   rejected as ambiguous, never parsed, while a line with one such reading is read
//!   that way.
//! * [`pipeline`]: every line is parsed or rejected (`lines == parsed + rejected`), and
//!   every renderer of `report`, `requests` and `check` writes output that is safe where
//!   it goes: terminal text without a raw control or bidi character, JSON that parses
//!   and holds none either (C1 controls and bidi overrides escaped as `\u`),
//!   CSV that parses with every protected cell neutralised (no formula start, also
//!   after spaces or full-width, and no raw control or bidi character), HTML without
//!   raw controls.

#![allow(dead_code)] // each fuzz target uses one of the two checks

use std::io::Write as _;

use vpce_audit::aggregate::Aggregate;
use vpce_audit::check::bucket_policy;
use vpce_audit::check::rules::{BucketRule, Rules, RulesSpec};
use vpce_audit::check::{self, Checker};
use vpce_audit::classify::Classifier;
use vpce_audit::filter::Filter;
use vpce_audit::input::{decode, Input};
use vpce_audit::parse::{trim_end, LineParser, ParseError, Problem};
use vpce_audit::pipeline;
use vpce_audit::record::{Field, Record};
use vpce_audit::report::check::{CheckContext, CheckReport};
use vpce_audit::report::csv::Rows;
use vpce_audit::report::grid::Screen;
use vpce_audit::report::requests::RequestWriter;
use vpce_audit::report::{self, Report};
use vpce_audit::settings::Settings;
use vpce_audit::tally::Tally;
use vpce_audit::time::Zone;

/// The input's name in every message and output: hostile itself.
const SOURCE: &str = "logs/\u{1b}[2J\u{202e}=evil.log";

/// Parses `data` as one line with both parsers and compares them.
pub fn parse_line(data: &[u8]) {
    let mut full = LineParser::new();
    let mut head = LineParser::required_only();
    // A parser that has seen a longer line first: its reused index must not leak.
    let mut reused = LineParser::new();
    let _ = reused.parse(&[b' '; 300]);
    let _ = reused.parse(b"a \"b\" \"c\" d \"e\"");
    let f = full.parse(data);
    assert_eq!(f, reused.parse(data), "a reused parser differs");
    let shown = || String::from_utf8_lossy(data).into_owned();
    let reference = LineParser::new().without_fast_path().parse(data);
    assert_eq!(f, reference, "the fast path differs: {}", shown());
    let head_reference = LineParser::required_only().without_fast_path().parse(data);
    assert_eq!(
        head.clone().parse(data),
        head_reference,
        "the fast path differs on the required fields: {}",
        shown()
    );
    match (f, head.parse(data)) {
        (Ok(mut f), Ok(h)) => {
            for field in [
                &h.version_id,
                &h.host_id,
                &h.signature_version,
                &h.cipher_suite,
                &h.authentication_type,
                &h.host_header,
                &h.tls_version,
                &h.access_point_arn,
                &h.acl_required,
                &h.source_region,
            ] {
                assert_eq!(*field, None, "required_only read a later field");
            }
            clear_later_fields(&mut f);
            assert_eq!(f, h, "required_only disagrees with the full parse");
        }
        (Err(f), Err(h)) => assert_eq!(f, h, "the parsers reject for other reasons"),
        (f, h) => panic!("one parser accepts, the other rejects: {f:?} / {h:?}"),
    }
    ambiguity(data);
}

/// The line rules against a brute-force reading of the line: a carriage return inside
/// rejects it; two readings as S3 writes a request make it ambiguous; one reading is
/// the one parsed.
fn ambiguity(data: &[u8]) {
    let parsed = LineParser::new().parse(data);
    let line = trim_end(data);
    if line.contains(&b'\r') {
        assert_eq!(parsed.err(), Some(ParseError::CarriageReturn));
        return;
    }
    // The request-URI is the tenth run of non-blanks: the time holds one blank.
    let Some(uri) = runs(line).nth(9) else {
        return;
    };
    if line[uri] != b'"' {
        return;
    }
    let found = readings(line, uri);
    let reached_uri = match &parsed {
        Ok(_) | Err(ParseError::Ambiguous { .. }) => true,
        Err(ParseError::Invalid { field, .. }) => *field as usize >= Field::RequestUri as usize,
        Err(ParseError::Truncated { fields }) => *fields > Field::RequestUri as usize,
        Err(ParseError::CarriageReturn) => false,
    };
    if !reached_uri {
        return;
    }
    let shown = String::from_utf8_lossy(data);
    match &parsed {
        Err(ParseError::Ambiguous { .. }) => {
            assert_ne!(found.len(), 1, "one reading, called ambiguous: {shown}")
        }
        // A count past 64 bits is no request S3 wrote: the line may be rejected for
        // that before its readings are counted, but it is never parsed.
        Err(ParseError::Invalid {
            problem: Problem::NotANumber(_),
            ..
        }) if has_count_past_u64(line) => {}
        _ => assert!(
            found.len() < 2,
            "ambiguous, not rejected ({found:?}): {shown}"
        ),
    }
    if let (Ok(r), [(uri_end, referer, referer_end)]) = (&parsed, &found[..]) {
        let dash = |v: &'_ [u8]| -> Option<Vec<u8>> { (v != b"-").then(|| v.to_vec()) };
        assert_eq!(
            r.request_uri.map(<[u8]>::to_vec),
            dash(&line[uri + 1..*uri_end]),
            "{shown}"
        );
        assert_eq!(
            r.referer.map(<[u8]>::to_vec),
            dash(&line[referer + 1..*referer_end]),
            "{shown}"
        );
    }
}

/// Does `line` hold a run of digits too large for a `u64`?
fn has_count_past_u64(line: &[u8]) -> bool {
    line.split(|&c| c == b' ').any(|token| {
        !token.is_empty()
            && token.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(token).is_ok_and(|s| s.parse::<u64>().is_err())
    })
}

/// Where each run of non-blanks of `line` starts.
fn runs(line: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..line.len()).filter(move |&i| line[i] != b' ' && (i == 0 || line[i - 1] == b' '))
}

/// Every way the quoted fields from the request-URI's opening quote at `uri` read as S3
/// writes a request, by brute force: (end of the request-URI, the referer's opening
/// quote, end of the referer). The request-URI ends at a quote that ends a token,
/// followed by a status (3 digits or `-`), an error code, four numbers (digits or `-`)
/// and a quoted referer; the referer ends at a quote that ends a token, followed by a
/// quoted user-agent; the user-agent ends at the line's last quote that ends a token.
pub fn readings(line: &[u8], uri: usize) -> Vec<(usize, usize, usize)> {
    let ends_token = |q: usize| line[q] == b'"' && line.get(q + 1).is_none_or(|&c| c == b' ');
    let Some(last) = (0..line.len()).rev().find(|&q| ends_token(q)) else {
        return Vec::new();
    };
    let tokens_after = |q: usize| -> Vec<(usize, &[u8])> {
        runs(&line[q + 1..])
            .map(|i| {
                let at = q + 1 + i;
                let end = line[at..]
                    .iter()
                    .position(|&c| c == b' ')
                    .map_or(line.len(), |n| at + n);
                (at, &line[at..end])
            })
            .take(7)
            .collect()
    };
    let digits = |t: &[u8]| t.iter().all(u8::is_ascii_digit);
    let mut found = Vec::new();
    for uri_end in (uri + 1..line.len()).filter(|&q| ends_token(q)) {
        let t = tokens_after(uri_end);
        let fits = t.len() == 7
            && (t[0].1 == b"-" || (t[0].1.len() == 3 && digits(t[0].1)))
            && t[2..6].iter().all(|(_, n)| *n == b"-" || digits(n))
            && t[6].1[0] == b'"';
        if !fits {
            continue;
        }
        let referer = t[6].0;
        for referer_end in (referer + 1..line.len()).filter(|&q| ends_token(q)) {
            let agent = line[referer_end + 1..].iter().position(|&c| c != b' ');
            if let Some(n) = agent {
                let agent = referer_end + 1 + n;
                if n > 0 && line[agent] == b'"' && agent < last {
                    found.push((uri_end, referer, referer_end));
                }
            }
        }
    }
    found
}

fn clear_later_fields(r: &mut Record<'_>) {
    r.version_id = None;
    r.host_id = None;
    r.signature_version = None;
    r.cipher_suite = None;
    r.authentication_type = None;
    r.host_header = None;
    r.tls_version = None;
    r.access_point_arn = None;
    r.acl_required = None;
    r.source_region = None;
}

/// The screens tables are written for: a file, and narrow terminals (columns dropped,
/// then one block per row).
const SCREENS: [Screen; 3] = [
    Screen::PLAIN,
    Screen {
        width: Some(80),
        color: false,
    },
    Screen {
        width: Some(30),
        color: false,
    },
];

fn settings() -> Settings {
    Settings {
        classifier: Classifier::new(&[]),
        filter: Filter::default(),
        interval: 3600,
        hashes: Default::default(),
        zone: Zone::Utc,
        regions: false,
    }
}

/// Runs `data` (plain or gzip) through the whole pipeline and every renderer.
pub fn pipeline(data: &[u8]) {
    let settings = settings();
    let mut agg = Aggregate::new(settings.interval);
    let mut tally = Tally::default();
    let (mut table, mut csv, mut raw_csv, mut ndjson) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    {
        let mut listings = [
            RequestWriter::table(&mut table, Screen::PLAIN, Zone::Utc),
            RequestWriter::csv(&mut csv, true, Zone::Utc),
            RequestWriter::csv(&mut raw_csv, false, Zone::Utc),
            RequestWriter::ndjson(&mut ndjson),
        ];
        let reader = decode::decoded(data).expect("a slice reads without error");
        pipeline::scan(
            SOURCE,
            reader,
            &settings,
            &mut tally,
            |record, class, line| {
                agg.add(record, class);
                for w in &mut listings {
                    w.write(record, class, SOURCE, line)
                        .expect("writing to memory");
                }
                true
            },
        );
        for w in listings {
            w.finish().expect("writing to memory");
        }
    }
    assert_eq!(
        tally.counts.lines,
        tally.counts.parsed + tally.counts.rejected,
        "accounting"
    );
    assert_eq!(
        tally.counts.matched, tally.counts.parsed,
        "no filter: every record matches"
    );
    assert!(tally.errors.len() <= 1, "one input, at most one error");
    let records = usize::try_from(tally.counts.matched).unwrap();

    assert_terminal_safe(&table);
    assert_eq!(csv_rows(&csv, true).len(), records + 1);
    assert_eq!(csv_rows(&raw_csv, false).len(), records + 1);
    assert_terminal_safe(&ndjson);
    let ndjson = std::str::from_utf8(&ndjson).expect("NDJSON is UTF-8");
    assert_eq!(ndjson.lines().count(), records);
    for line in ndjson.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert_eq!(v["source"], SOURCE);
    }

    let report = Report::build(agg, &tally, &settings);
    assert_eq!(
        (
            report.summary.lines,
            report.summary.parsed,
            report.summary.rejected
        ),
        (
            tally.counts.lines,
            tally.counts.parsed,
            tally.counts.rejected
        )
    );
    render_report(&report);
    check_run(data, &settings, &tally);
}

/// Every format of `report`.
fn render_report(report: &Report) {
    for screen in SCREENS {
        let mut out = Vec::new();
        report::table::write(report, &mut out, &screen).expect("writing to memory");
        assert_terminal_safe(&out);
    }
    let mut out = Vec::new();
    report::json::write(report, &mut out).expect("writing to memory");
    assert_terminal_safe(&out);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("the report is JSON");
    assert_eq!(v["summary"]["lines"], report.summary.lines);
    for protect in [true, false] {
        let mut out = Vec::new();
        report::csv::write(report, Rows::Timeline, &mut out, protect).expect("writing to memory");
        let windows: usize = report.buckets.iter().map(|b| b.timeline.len()).sum();
        assert_eq!(csv_rows(&out, protect).len(), windows + 1);
    }
    let invocation = report::html::Invocation {
        command_line: report::html::command_line(["vpce-audit".into(), SOURCE.into()]),
        inputs: vec![SOURCE.to_string()],
    };
    let mut out = Vec::new();
    report::html::audit::write(report, &invocation, &mut out).expect("writing to memory");
    assert_html_safe(&out);
}

/// `check` over the same bytes, from a file, with a rule on every bucket and the
/// blog post's bucket policy cross-checked; all three formats.
fn check_run(data: &[u8], settings: &Settings, tally: &Tally) {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(data).expect("writing the temporary file");
    let rules = Rules::new(RulesSpec {
        buckets: vec![BucketRule::private("*")],
        ..RulesSpec::default()
    })
    .expect("valid rules");
    let policy = bucket_policy::analyze(include_str!("../testdata/policies/blog-post.json"), None)
        .expect("the blog post's policy is valid");
    let checker = Checker {
        settings,
        rules: &rules,
        policy: Some(&policy),
        policy_since: None,
        horizon: None,
        aggregate: true,
    };
    let run = check::run(&checker, &[Input::File(file.path().to_path_buf())], None);
    assert_eq!(
        (
            run.tally.counts.lines,
            run.tally.counts.parsed,
            run.tally.counts.rejected
        ),
        (
            tally.counts.lines,
            tally.counts.parsed,
            tally.counts.rejected
        ),
        "check reads the file as the report reads the bytes"
    );
    let charted: u64 = run.findings.aggregate.as_ref().map_or(0, |agg| {
        agg.buckets().iter().map(|(_, s)| s.counts.requests).sum()
    });
    assert_eq!(
        charted,
        run.findings.totals().requests,
        "the charts of check --format html count every checked request"
    );
    let findings = check::evidence::assess(
        &check::evidence::Evidence {
            rules: &rules,
            policy: Some(&policy),
            totals: &run.findings.buckets,
            findings: &run.findings,
            tally: &run.tally,
            window: (None, None),
        },
        &check::evidence::Expectations::default(),
    );
    let ctx = CheckContext {
        settings,
        rules: &rules,
        policy: Some(&policy),
        policy_since: None,
        state: None,
        duplicates: &[],
        evidence_hashes: false,
        exit_code: 0,
    };
    let report = CheckReport::build(run, findings, &ctx);
    for screen in SCREENS {
        let mut out = Vec::new();
        report::check::write_table(&report, &mut out, &screen).expect("writing to memory");
        assert_terminal_safe(&out);
    }
    let mut out = Vec::new();
    report::check::write_json(&report, &mut out).expect("writing to memory");
    assert_terminal_safe(&out);
    serde_json::from_slice::<serde_json::Value>(&out).expect("the check report is JSON");
    let rows = report.findings.len() + report.flagged().count();
    for protect in [true, false] {
        let mut out = Vec::new();
        report::check::write_csv(&report, &mut out, protect).expect("writing to memory");
        assert_eq!(csv_rows(&out, protect).len(), rows + 1);
    }
    let mut out = Vec::new();
    report::ocsf::write(&report, 0, &mut out).expect("writing to memory");
    let ocsf: serde_json::Value = serde_json::from_slice(&out).expect("the OCSF findings are JSON");
    assert_eq!(
        ocsf.as_array().map(Vec::len),
        Some(rows),
        "one OCSF finding each"
    );
    let mut out = Vec::new();
    report::junit::write(&report, &mut out).expect("writing to memory");
    assert_terminal_safe(&out);
}

/// Characters that must never reach a terminal raw: controls (but the newline that
/// ends a line of output) and the bidirectional overrides and isolates.
fn unsafe_for_terminal(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn assert_terminal_safe(out: &[u8]) {
    let text = std::str::from_utf8(out).expect("terminal output is UTF-8");
    if let Some(c) = text.chars().find(|&c| unsafe_for_terminal(c)) {
        panic!("raw {c:?} in terminal output:\n{text}");
    }
}

fn assert_html_safe(out: &[u8]) {
    assert_terminal_safe(out);
    let text = std::str::from_utf8(out).expect("HTML is UTF-8");
    assert!(
        !text.to_ascii_lowercase().contains("<script"),
        "a script element"
    );
}

/// The rows of a CSV document (header included); with `protected`, no cell may begin
/// like a spreadsheet formula.
fn csv_rows(out: &[u8], protected: bool) -> Vec<csv::StringRecord> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(out);
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.expect("the CSV parses"))
        .collect();
    if protected {
        for row in &rows {
            for cell in row {
                assert!(
                    !cell.trim_start_matches(' ').starts_with([
                        '=', '+', '-', '@', '\t', '\r', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}',
                        '\u{ff20}'
                    ]),
                    "formula cell {cell:?}"
                );
                assert!(
                    !cell.chars().any(unsafe_for_terminal),
                    "raw control in a protected cell {cell:?}"
                );
            }
        }
    }
    rows
}
