//! `--format table`: the report for a person at a terminal.
//!
//! Every value that came from a log passes through [`escape::terminal`], so a key or
//! user agent cannot move the cursor, clear the screen or hide text.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::series::{Series, Slot};
use super::{BucketReport, ChangeReport, Report};
use crate::escape;
use crate::time::{duration_name, rfc3339};

/// Writes the summary, the bucket overview and each bucket's details.
pub fn write(report: &Report, out: &mut dyn Write, fit: bool) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "{} {}: {} input(s), {} lines: {} parsed, {} rejected; {} matched requests",
        s.tool, s.version, s.inputs, s.lines, s.parsed, s.rejected, s.matched
    )?;
    if !s.not_available.is_empty() {
        writeln!(
            out,
            "not available from aggregated results: {}",
            s.not_available.join(", ")
        )?;
    }
    if let (Some(first), Some(last)) = (&s.first, &s.last) {
        writeln!(out, "time range {first} .. {last}, interval {}", s.interval)?;
    }
    if let Some(ct) = &s.cloudtrail {
        write!(
            out,
            "cloudtrail: {} input(s), {} events of other services skipped, {} change(s) to the network path",
            ct.inputs, s.skipped_events, ct.changes
        )?;
        if let Some(j) = ct.join.filter(|j| j.joined > 0 || j.unjoined > 0) {
            write!(
                out,
                "; joined with the access logs: {} request(s) in both counted once ({} with their endpoint)",
                j.joined, j.joined_with_endpoint
            )?;
            if j.unjoined > 0 {
                write!(
                    out,
                    "; attribution partial: {} CloudTrail request(s) past the join's memory limit were counted without a join",
                    j.unjoined
                )?;
            }
        }
        writeln!(out)?;
    }
    if let Some(r) = &s.aws_ranges {
        writeln!(
            out,
            "aws ranges: {} prefixes (created {})",
            r.prefixes,
            r.created.as_deref().unwrap_or("?")
        )?;
    }
    if report.buckets.is_empty() {
        writeln!(out, "no requests matched")?;
        write_changes("changes to the network path:", &report.changes, out, fit)?;
        return Ok(());
    }
    writeln!(out)?;
    let mut overview = new_table(fit);
    overview.set_header(header(&[
        "bucket",
        "verdict",
        "requests",
        "private",
        "private denied",
        "public allowed",
        "public denied",
        "public refused",
        "internal",
        "private IPs",
        "public IPs",
        "first seen",
        "last seen",
    ]));
    for b in &report.buckets {
        overview.add_row(vec![
            Cell::new(escape::terminal(b.bucket.as_bytes())),
            Cell::new(b.verdict.name()),
            num(b.requests),
            num(b.private),
            num(b.private_denied),
            num(b.public_allowed),
            num(b.public_denied),
            num(b.public_rejected),
            num(b.internal),
            num(b.distinct_private_ips as u64),
            num(b.distinct_public_ips as u64),
            Cell::new(&b.first_seen),
            Cell::new(&b.last_seen),
        ]);
    }
    writeln!(out, "{overview}")?;
    for b in &report.buckets {
        write_bucket(b, s.interval_seconds, out, fit)?;
    }
    if !report.changes.is_empty() {
        writeln!(out)?;
    }
    write_changes(
        "changes to the network path, not tied to a bucket above:",
        &report.changes,
        out,
        fit,
    )
}

/// CloudTrail's changes to the network path, under `title`; nothing if there are none.
fn write_changes(
    title: &str,
    changes: &[ChangeReport],
    out: &mut dyn Write,
    fit: bool,
) -> io::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    writeln!(out, "{title}")?;
    let mut t = new_table(fit);
    t.set_header(header(&[
        "time",
        "event",
        "endpoint or bucket",
        "by",
        "result",
    ]));
    for c in changes {
        let what = match &c.bucket {
            Some(b) => b.clone(),
            None => c.endpoints.join(" "),
        };
        t.add_row(vec![
            Cell::new(&c.time),
            Cell::new(escape::terminal(c.event.as_bytes())),
            Cell::new(escape::terminal(what.as_bytes())),
            Cell::new(escape::terminal(c.by.as_deref().unwrap_or("-").as_bytes())),
            Cell::new(escape::terminal(
                c.error.as_deref().unwrap_or("done").as_bytes(),
            )),
        ]);
    }
    writeln!(out, "{t}")
}

/// The events of `changes` in the window starting at `start` (RFC 3339) of `interval`
/// seconds, for the timeline's marker column.
fn markers(changes: &[ChangeReport], start: &str, interval: i64) -> String {
    let Some(start) = crate::time::parse_rfc3339(start) else {
        return String::new();
    };
    changes
        .iter()
        .filter(|c| {
            crate::time::parse_rfc3339(&c.time)
                .is_some_and(|t| (start..start.saturating_add(interval)).contains(&t))
        })
        .map(|c| format!("{} {}", c.event, c.time.get(11..19).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_bucket(b: &BucketReport, interval: i64, out: &mut dyn Write, fit: bool) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "bucket {}: {}",
        escape::terminal(b.bucket.as_bytes()),
        b.verdict.name()
    )?;
    for w in &b.warnings {
        writeln!(out, "warning: {}", escape::terminal(w.as_bytes()))?;
    }
    if let Some(n) = &b.public_networks {
        let own = match (&n.region, n.ec2_same_region) {
            (Some(region), Some(ec2)) => {
                format!("{ec2} from EC2 of {region} (the bucket's region), ")
            }
            _ => "the bucket's region is not known, ".to_string(),
        };
        writeln!(
            out,
            "public requests by network: {own}{} from other AWS ranges, {} from outside AWS{}",
            n.other_aws,
            n.outside_aws,
            if n.not_looked_up > 0 {
                format!(
                    ", {} not looked up (past the address limit)",
                    n.not_looked_up
                )
            } else {
                String::new()
            }
        )?;
    }
    write_sparklines(b, interval, out)?;
    let mut timeline = new_table(fit);
    let mut columns = vec![
        "window start",
        "requests",
        "private",
        "private denied",
        "public allowed",
        "public denied",
        "public refused",
        "internal",
        "private IPs",
        "public IPs",
        "bytes sent",
    ];
    if !b.changes.is_empty() {
        columns.push("changes (CloudTrail)");
    }
    timeline.set_header(header(&columns));
    for p in &b.timeline {
        let mut row = vec![
            Cell::new(&p.start),
            num(p.requests),
            num(p.private),
            num(p.private_denied),
            num(p.public_allowed),
            num(p.public_denied),
            num(p.public_rejected),
            num(p.internal),
            num(p.distinct_private_ips as u64),
            num(p.distinct_public_ips as u64),
            num(p.bytes_sent),
        ];
        if !b.changes.is_empty() {
            let marks = markers(&b.changes, &p.start, interval);
            row.push(Cell::new(escape::terminal(marks.as_bytes())));
        }
        timeline.add_row(row);
    }
    writeln!(out, "{timeline}")?;

    if !b.transitions.is_empty() {
        writeln!(
            out,
            "transitions between the VPC endpoint and the internet:"
        )?;
        let causes = b.transitions.iter().any(|t| t.likely_cause.is_some());
        let ranges = b.transitions.iter().any(|t| t.aws.is_some());
        let mut t = new_table(fit);
        let mut columns = vec!["at", "requester", "from", "to", "remote IP"];
        if ranges {
            columns.push("AWS range");
        }
        if causes {
            columns.push("likely cause (CloudTrail)");
        }
        t.set_header(header(&columns));
        for tr in &b.transitions {
            let mut row = vec![
                Cell::new(&tr.at),
                Cell::new(escape::terminal(tr.requester.as_bytes())),
                Cell::new(tr.from.name()),
                Cell::new(tr.to.name()),
                Cell::new(&tr.remote_ip),
            ];
            if ranges {
                row.push(Cell::new(tr.aws.as_deref().unwrap_or("")));
            }
            if causes {
                let cause = tr.likely_cause.as_ref().map_or(String::new(), |c| {
                    format!("{} {} at {}", c.event, c.endpoints.join(" "), c.time)
                });
                row.push(Cell::new(escape::terminal(cause.as_bytes())));
            }
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
    }

    if !b.endpoints.is_empty() {
        writeln!(out, "VPC endpoints that carried requests (CloudTrail):")?;
        let mut t = new_table(fit);
        t.set_header(header(&[
            "endpoint",
            "account",
            "requests",
            "denied",
            "first seen",
            "last seen",
        ]));
        for e in &b.endpoints {
            t.add_row(vec![
                Cell::new(escape::terminal(e.id.as_bytes())),
                Cell::new(escape::terminal(
                    e.account.as_deref().unwrap_or("-").as_bytes(),
                )),
                num(e.requests),
                num(e.denied),
                Cell::new(&e.first_seen),
                Cell::new(&e.last_seen),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    write_changes(
        "changes to its network path (CloudTrail):",
        &b.changes,
        out,
        fit,
    )?;

    writeln!(out, "requests per account:")?;
    let mut a = new_table(fit);
    a.set_header(header(&[
        "account",
        "requesters",
        "requests",
        "private",
        "private denied",
        "public allowed",
        "public denied",
        "public refused",
        "internal",
    ]));
    for acc in &b.accounts {
        a.add_row(vec![
            Cell::new(escape::terminal(acc.account.as_bytes())),
            num(acc.requesters as u64),
            num(acc.requests),
            num(acc.private),
            num(acc.private_denied),
            num(acc.public_allowed),
            num(acc.public_denied),
            num(acc.public_rejected),
            num(acc.internal),
        ]);
    }
    writeln!(out, "{a}")
}

/// Most marks in a sparkline; more windows are merged.
pub const SPARK_WIDTH: usize = 60;

/// The bucket's private / public mix over time, one mark per slot, on one scale:
/// `·` for none, `▁` to `█` for a few to the most.
fn write_sparklines(b: &BucketReport, interval: i64, out: &mut dyn Write) -> io::Result<()> {
    let series = Series::of(&b.timeline, interval, SPARK_WIDTH);
    if series.slots.is_empty() {
        return Ok(());
    }
    let row = |value: fn(&Slot) -> u64| series.slots.iter().map(value).collect::<Vec<u64>>();
    let mut rows: Vec<(&str, Vec<u64>)> = vec![
        ("private", row(|s| s.private_allowed + s.private_denied)),
        ("public allowed", row(|s| s.public_allowed)),
    ];
    if b.private_denied > 0 {
        rows.push(("private denied", row(|s| s.private_denied)));
    }
    if b.public_denied > 0 {
        rows.push(("public denied", row(|s| s.public_denied)));
    }
    if b.public_rejected > 0 {
        rows.push(("public refused", row(|s| s.public_rejected)));
    }
    let max = rows.iter().flat_map(|(_, v)| v).copied().max().unwrap_or(0);
    for (name, values) in &rows {
        writeln!(out, "  {name:<16}{}", sparkline(values, max))?;
    }
    writeln!(
        out,
        "  {:<16}{} .. {}, one mark per {}",
        "",
        rfc3339(series.start),
        rfc3339(series.end()),
        duration_name(series.slot_seconds)
    )
}

/// One mark per value, scaled to `max`: `·` for zero, so a single request still
/// shows as `▁`.
pub fn sparkline(values: &[u64], max: u64) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|&v| {
            if v == 0 || max == 0 {
                '·'
            } else {
                let level = (u128::from(v) * 8 - 1) / u128::from(max);
                LEVELS[level.min(7) as usize]
            }
        })
        .collect()
}

/// A table in the house style; `fit` wraps it to the terminal's width.
pub fn new_table(fit: bool) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_content_arrangement(if fit {
        ContentArrangement::Dynamic
    } else {
        ContentArrangement::Disabled
    });
    t
}

/// Header cells.
pub fn header(names: &[&str]) -> Vec<Cell> {
    names.iter().map(|n| Cell::new(*n)).collect()
}

fn num(n: u64) -> Cell {
    Cell::new(n).set_alignment(CellAlignment::Right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_largest_value_and_keep_single_requests() {
        assert_eq!(sparkline(&[0, 1, 50, 100], 100), "·▁▄█");
        assert_eq!(sparkline(&[1, 2], 2), "▄█");
        assert_eq!(sparkline(&[0, 0], 0), "··");
    }
}
