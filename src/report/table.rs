//! `--format table`: the report for a person at a terminal, fitted to its width
//! ([`super::grid`]).
//!
//! Every value that came from a log passes through [`escape::terminal`], so a key or
//! user agent cannot move the cursor, clear the screen or hide text. Long tables (the
//! bucket overview, a timeline) are printed in pages of [`super::grid::PAGE`] rows, each page a
//! table of its own, so that a million rows never sit in memory as cells. The buckets
//! are built and drawn on every worker, a batch at a time, and printed in order; a
//! bucket too large for its text to be held is drawn straight to the output.

use std::io::{self, Write};

use super::grid::{paged, Cell, Column, Grid, Kind, Screen, Tone};
use super::series::{Series, Slot};
use super::{BucketReport, ChangeReport, Drawn, Report, Requester, Verdict, BATCH_WEIGHT};
use crate::escape;
use crate::time::{duration_name, Zone};

/// Writes the summary, the bucket overview and each bucket's details.
pub fn write(report: &Report, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    write_with(report, out, screen, BATCH_WEIGHT)
}

/// [`write`], with the buckets of more than `in_line` windows and requesters drawn
/// straight to `out` (see [`super::Buckets::drawn`]).
fn write_with(
    report: &Report,
    out: &mut dyn Write,
    screen: &Screen,
    in_line: usize,
) -> io::Result<()> {
    let s = &report.summary;
    let zone = Zone::named(&s.time_zone);
    screen.say(
        out,
        &format!(
            "{} {}: {} input(s), {} lines: {} parsed, {} rejected, {} matched",
            s.tool, s.version, s.inputs, s.lines, s.parsed, s.rejected, s.matched
        ),
    )?;
    if !s.not_available.is_empty() {
        screen.say(
            out,
            &format!(
                "not available from aggregated results: {}",
                s.not_available.join(", ")
            ),
        )?;
    }
    if let (Some(first), Some(last)) = (&s.first, &s.last) {
        screen.say(
            out,
            &format!(
                "time range {} .. {}, interval {}{}",
                zone.show(first),
                zone.show(last),
                s.interval,
                zone.note()
            ),
        )?;
    }
    if let Some(ct) = &s.cloudtrail {
        let mut line = format!(
            "cloudtrail: {} input(s), {} events of other services skipped, {} change(s) to the network path",
            ct.inputs, s.skipped_events, ct.changes
        );
        if let Some(j) = ct.join.filter(|j| j.joined > 0 || j.unjoined > 0) {
            line += &format!(
                "; joined with the access logs: {} request(s) in both counted once ({} with their endpoint)",
                j.joined, j.joined_with_endpoint
            );
            if j.unjoined > 0 {
                line += &format!(
                    "; attribution partial: {} CloudTrail request(s) counted without a join (past its memory limit, or read among the access logs)",
                    j.unjoined
                );
            }
        }
        screen.say(out, &line)?;
    }
    if let Some(r) = &s.aws_ranges {
        screen.say(
            out,
            &format!(
                "aws ranges: {} prefixes (created {})",
                r.prefixes,
                r.created.as_deref().unwrap_or("?")
            ),
        )?;
    }
    if report.buckets.is_empty() {
        writeln!(out, "no requests matched")?;
        write_changes(
            "changes to the network path:",
            &report.changes,
            &zone,
            out,
            screen,
        )?;
        return Ok(());
    }
    writeln!(out)?;
    let overview = [
        Column::keep("bucket", Kind::Text),
        Column::keep("verdict", Kind::Atom),
        Column::drop("requests", Kind::Number, 4),
        Column::drop("private", Kind::Number, 3),
        Column::drop("private denied", Kind::Number, 5),
        Column::keep("public allowed", Kind::Number),
        Column::keep("public denied", Kind::Number),
        Column::drop("public refused", Kind::Number, 6),
        Column::drop("internal", Kind::Number, 7),
        Column::drop("private IPs", Kind::Number, 8),
        Column::drop("public IPs", Kind::Number, 9),
        Column::drop("first seen", Kind::Atom, 10),
        Column::drop("last seen", Kind::Atom, 10),
    ];
    let rows = report.buckets.map(|b| {
        vec![
            escape::terminal(b.bucket.as_bytes()).into_owned().into(),
            verdict(b.verdict),
            b.requests.into(),
            b.private.into(),
            warn(b.private_denied),
            bad(b.public_allowed),
            warn(b.public_denied),
            warn(b.public_rejected),
            b.internal.into(),
            b.distinct_private_ips.into(),
            b.distinct_public_ips.into(),
            zone.show(&b.first_seen).into(),
            zone.show(&b.last_seen).into(),
        ]
    });
    paged(&overview, rows, out, screen)?;
    let interval = s.interval_seconds;
    let buckets = report.buckets.drawn(in_line, |b, text| {
        write_bucket(b, interval, &zone, text, screen)
    });
    for bucket in buckets {
        match bucket? {
            Drawn::Text(text) => out.write_all(&text)?,
            Drawn::Bucket(b) => write_bucket(&b, interval, &zone, out, screen)?,
        }
    }
    if !report.changes.is_empty() {
        writeln!(out)?;
    }
    write_changes(
        "changes to the network path, not tied to a bucket above:",
        &report.changes,
        &zone,
        out,
        screen,
    )
}

/// CloudTrail's changes to the network path, under `title`; nothing if there are none.
fn write_changes(
    title: &str,
    changes: &[ChangeReport],
    zone: &Zone,
    out: &mut dyn Write,
    screen: &Screen,
) -> io::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    writeln!(out, "{title}")?;
    let mut t = Grid::new(&[
        Column::keep("time", Kind::Atom),
        Column::keep("event", Kind::Atom),
        Column::keep("endpoint or bucket", Kind::Text),
        Column::drop("by", Kind::Text, 1),
        Column::drop("result", Kind::Atom, 2),
    ]);
    for c in changes {
        let what = match &c.bucket {
            Some(b) => b.clone(),
            None => c.endpoints.join(" "),
        };
        let result = Cell::from(
            escape::terminal(c.error.as_deref().unwrap_or("done").as_bytes()).into_owned(),
        )
        .tone_if(c.error.is_some(), Tone::Warn);
        t.row(vec![
            zone.show(&c.time).into(),
            escape::terminal(c.event.as_bytes()).into_owned().into(),
            escape::terminal(what.as_bytes()).into_owned().into(),
            escape::terminal(c.by.as_deref().unwrap_or("-").as_bytes())
                .into_owned()
                .into(),
            result,
        ]);
    }
    t.write(out, screen)
}

/// The events of `changes` in the window starting at `start` (RFC 3339) of `interval`
/// seconds, for the timeline's marker column.
fn markers(changes: &[ChangeReport], start: &str, interval: i64, zone: &Zone) -> String {
    let Some(start) = crate::time::parse_rfc3339(start) else {
        return String::new();
    };
    changes
        .iter()
        .filter(|c| {
            crate::time::parse_rfc3339(&c.time)
                .is_some_and(|t| (start..start.saturating_add(interval)).contains(&t))
        })
        .map(|c| {
            let shown = zone.show(&c.time);
            format!("{} {}", c.event, shown.get(11..19).unwrap_or(&shown))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A verdict, coloured by what it means.
fn verdict(v: Verdict) -> Cell {
    let cell = Cell::from(v.name());
    match v {
        Verdict::Mixed | Verdict::PublicOnly => cell.tone(Tone::Bad),
        Verdict::DeniedOnly => cell.tone(Tone::Warn),
        Verdict::PrivateOnly => cell.tone(Tone::Good),
        Verdict::InternalOnly => cell,
    }
}

/// A count of public requests let through: red when not 0.
fn bad(n: u64) -> Cell {
    Cell::from(n).tone_if(n > 0, Tone::Bad)
}

/// A count of denied or refused requests: yellow when not 0.
fn warn(n: u64) -> Cell {
    Cell::from(n).tone_if(n > 0, Tone::Warn)
}

fn write_bucket(
    b: &BucketReport,
    interval: i64,
    zone: &Zone,
    out: &mut dyn Write,
    screen: &Screen,
) -> io::Result<()> {
    writeln!(out)?;
    let name = escape::terminal(b.bucket.as_bytes());
    screen.say_with(out, &format!("bucket {name}:"), &verdict(b.verdict))?;
    for w in &b.warnings {
        screen.say(out, &format!("warning: {}", escape::terminal(w.as_bytes())))?;
    }
    if let Some(n) = &b.public_networks {
        let own = match (&n.region, n.ec2_same_region) {
            (Some(region), Some(ec2)) => {
                format!("{ec2} from EC2 of {region} (the bucket's region), ")
            }
            _ => "the bucket's region is not known, ".to_string(),
        };
        let past = if n.not_looked_up > 0 {
            format!(
                ", {} not looked up (past the address limit)",
                n.not_looked_up
            )
        } else {
            String::new()
        };
        screen.say(
            out,
            &format!(
                "public requests by network: {own}{} from other AWS ranges, {} from outside AWS{past}",
                n.other_aws, n.outside_aws
            ),
        )?;
    }
    write_sparklines(b, interval, zone, out, screen)?;

    let (public, others): (Vec<&Requester>, Vec<&Requester>) =
        b.requesters.iter().partition(|r| r.public > 0);
    if !public.is_empty() {
        writeln!(out, "requesters over the internet, most let through first:")?;
        requesters(&public, zone).write(out, screen)?;
    }
    let more = b.accounts.iter().map(|a| a.requesters).sum::<usize>() - public.len();
    if more > 0 {
        let names: Vec<String> = others
            .iter()
            .take(3)
            .map(|r| escape::terminal(r.requester.as_bytes()).into_owned())
            .collect();
        let rest = if more > names.len() { ", …" } else { "" };
        screen.say(
            out,
            &format!(
                "{more} requester(s) not over the internet: {}{rest}",
                names.join(", ")
            ),
        )?;
    }

    if !b.transitions.is_empty() {
        writeln!(
            out,
            "transitions between the VPC endpoint and the internet:"
        )?;
        let causes = b.transitions.iter().any(|t| t.likely_cause.is_some());
        let ranges = b.transitions.iter().any(|t| t.aws.is_some());
        let mut columns = vec![
            Column::keep("at", Kind::Atom),
            Column::keep("requester", Kind::Text),
            Column::keep("from", Kind::Atom),
            Column::keep("to", Kind::Atom),
            Column::keep("remote IP", Kind::Atom),
        ];
        if ranges {
            columns.push(Column::drop("AWS range", Kind::Text, 2));
        }
        if causes {
            columns.push(Column::keep("likely cause (CloudTrail)", Kind::Text));
        }
        let rows = b.transitions.iter().map(|tr| {
            let to = Cell::from(tr.to.name())
                .tone_if(tr.to == crate::classify::Class::Public, Tone::Bad);
            let mut row = vec![
                zone.show(&tr.at).into(),
                escape::terminal(tr.requester.as_bytes())
                    .into_owned()
                    .into(),
                tr.from.name().into(),
                to,
                tr.remote_ip.as_str().into(),
            ];
            if ranges {
                row.push(tr.aws.as_deref().unwrap_or("").into());
            }
            if causes {
                let cause = tr.likely_cause.as_ref().map_or(String::new(), |c| {
                    format!(
                        "{} {} at {}",
                        c.event,
                        c.endpoints.join(" "),
                        zone.show(&c.time)
                    )
                });
                row.push(escape::terminal(cause.as_bytes()).into_owned().into());
            }
            row
        });
        paged(&columns, rows, out, screen)?;
    }

    if !b.endpoints.is_empty() {
        writeln!(out, "VPC endpoints that carried requests (CloudTrail):")?;
        let mut t = Grid::new(&[
            Column::keep("endpoint", Kind::Atom),
            Column::drop("account", Kind::Atom, 3),
            Column::keep("requests", Kind::Number),
            Column::keep("denied", Kind::Number),
            Column::drop("first seen", Kind::Atom, 2),
            Column::drop("last seen", Kind::Atom, 1),
        ]);
        for e in &b.endpoints {
            t.row(vec![
                escape::terminal(e.id.as_bytes()).into_owned().into(),
                escape::terminal(e.account.as_deref().unwrap_or("-").as_bytes())
                    .into_owned()
                    .into(),
                e.requests.into(),
                warn(e.denied),
                zone.show(&e.first_seen).into(),
                zone.show(&e.last_seen).into(),
            ]);
        }
        t.write(out, screen)?;
    }
    write_changes(
        "changes to its network path (CloudTrail):",
        &b.changes,
        zone,
        out,
        screen,
    )?;

    writeln!(out, "timeline:")?;
    let mut columns = vec![
        Column::keep("window start", Kind::Atom),
        Column::drop("requests", Kind::Number, 3),
        Column::keep("private", Kind::Number),
        Column::drop("private denied", Kind::Number, 4),
        Column::keep("public allowed", Kind::Number),
        Column::keep("public denied", Kind::Number),
        Column::drop("public refused", Kind::Number, 5),
        Column::drop("internal", Kind::Number, 6),
        Column::drop("private IPs", Kind::Number, 7),
        Column::drop("public IPs", Kind::Number, 8),
        Column::drop("bytes sent", Kind::Number, 9),
    ];
    if !b.changes.is_empty() {
        columns.push(Column::keep("changes (CloudTrail)", Kind::Text));
    }
    let rows = b.timeline.iter().map(|p| {
        let mut row = vec![
            zone.show(&p.start).into(),
            p.requests.into(),
            p.private.into(),
            warn(p.private_denied),
            bad(p.public_allowed),
            warn(p.public_denied),
            warn(p.public_rejected),
            p.internal.into(),
            p.distinct_private_ips.into(),
            p.distinct_public_ips.into(),
            p.bytes_sent.into(),
        ];
        if !b.changes.is_empty() {
            let marks = markers(&b.changes, &p.start, interval, zone);
            row.push(escape::terminal(marks.as_bytes()).into_owned().into());
        }
        row
    });
    paged(&columns, rows, out, screen)?;

    if !b.accounts.is_empty() {
        writeln!(out, "requests per account:")?;
        let columns = [
            Column::keep("account", Kind::Text),
            Column::drop("requesters", Kind::Number, 5),
            Column::drop("requests", Kind::Number, 4),
            Column::keep("private", Kind::Number),
            Column::drop("private denied", Kind::Number, 3),
            Column::keep("public allowed", Kind::Number),
            Column::keep("public denied", Kind::Number),
            Column::drop("public refused", Kind::Number, 2),
            Column::drop("internal", Kind::Number, 1),
        ];
        let rows = b.accounts.iter().map(|acc| {
            vec![
                escape::terminal(acc.account.as_bytes()).into_owned().into(),
                acc.requesters.into(),
                acc.requests.into(),
                acc.private.into(),
                warn(acc.private_denied),
                bad(acc.public_allowed),
                warn(acc.public_denied),
                warn(acc.public_rejected),
                acc.internal.into(),
            ]
        });
        paged(&columns, rows, out, screen)?;
    }
    Ok(())
}

/// The requester table: who, how much of it over the internet, when, from where.
fn requesters(list: &[&Requester], zone: &Zone) -> Grid {
    let mut g = Grid::new(&[
        Column::keep("requester", Kind::Text),
        Column::drop("account", Kind::Atom, 6),
        Column::drop("requests", Kind::Number, 5),
        Column::drop("private", Kind::Number, 3),
        Column::keep("public allowed", Kind::Number),
        Column::keep("public denied", Kind::Number),
        Column::drop("public refused", Kind::Number, 4),
        Column::drop("internal", Kind::Number, 7),
        Column::drop("first public", Kind::Atom, 1),
        Column::drop("last public", Kind::Atom, 2),
        Column::drop("public addresses", Kind::Text, 1),
        Column::drop("first seen", Kind::Atom, 9),
        Column::drop("last seen", Kind::Atom, 8),
    ]);
    let or_dash = |t: &Option<String>| {
        t.as_deref()
            .map_or_else(|| "-".to_string(), |t| zone.show(t))
    };
    for r in list {
        let addresses: Vec<String> = r
            .top_public_ips
            .iter()
            .map(|a| format!("{} ({})", a.name, a.requests))
            .collect();
        g.row(vec![
            escape::terminal(r.requester.as_bytes()).into_owned().into(),
            escape::terminal(r.account.as_bytes()).into_owned().into(),
            r.requests.into(),
            r.private.into(),
            bad(r.public_allowed),
            warn(r.public_denied),
            warn(r.public_rejected),
            r.internal.into(),
            or_dash(&r.first_public).into(),
            or_dash(&r.last_public).into(),
            if addresses.is_empty() {
                "-".to_string()
            } else {
                addresses.join(", ")
            }
            .into(),
            zone.show(&r.first_seen).into(),
            zone.show(&r.last_seen).into(),
        ]);
    }
    g
}

/// Most marks in a sparkline; more windows are merged.
pub const SPARK_WIDTH: usize = 60;
/// The width of a sparkline's label.
const SPARK_LABEL: usize = 18;

/// The bucket's private / public mix over time, one mark per slot, on one scale:
/// `·` for none, `▁` to `█` for a few to the most.
fn write_sparklines(
    b: &BucketReport,
    interval: i64,
    zone: &Zone,
    out: &mut dyn Write,
    screen: &Screen,
) -> io::Result<()> {
    let marks = screen
        .columns()
        .saturating_sub(SPARK_LABEL)
        .clamp(8, SPARK_WIDTH);
    let series = Series::of(&b.timeline, interval, marks);
    if series.slots.is_empty() {
        return Ok(());
    }
    let row = |value: fn(&Slot) -> u64| series.slots.iter().map(value).collect::<Vec<u64>>();
    let mut rows: Vec<(&str, Vec<u64>, Option<Tone>)> = vec![
        (
            "private",
            row(|s| s.private_allowed + s.private_denied),
            None,
        ),
        ("public allowed", row(|s| s.public_allowed), Some(Tone::Bad)),
    ];
    if b.private_denied > 0 {
        rows.push((
            "private denied",
            row(|s| s.private_denied),
            Some(Tone::Warn),
        ));
    }
    if b.public_denied > 0 {
        rows.push(("public denied", row(|s| s.public_denied), Some(Tone::Warn)));
    }
    if b.public_rejected > 0 {
        rows.push((
            "public refused",
            row(|s| s.public_rejected),
            Some(Tone::Warn),
        ));
    }
    let max = rows
        .iter()
        .flat_map(|(_, v, _)| v)
        .copied()
        .max()
        .unwrap_or(0);
    for (name, values, tone) in &rows {
        let line = sparkline(values, max);
        let line = match tone {
            Some(t) if values.iter().any(|&v| v > 0) => screen.paint(&line, *t),
            _ => line,
        };
        writeln!(out, "  {name:<16}{line}")?;
    }
    let scale = format!(
        "{} .. {}, one mark per {}",
        zone.show_secs(series.start),
        zone.show_secs(series.end()),
        duration_name(series.slot_seconds)
    );
    // Under the marks, or less indented on a narrow screen; times stay whole.
    let indent = if SPARK_LABEL + 2 * 26 <= screen.columns() {
        SPARK_LABEL
    } else {
        2
    };
    for line in super::grid::wrap_words(&scale, screen.columns().saturating_sub(indent)) {
        writeln!(out, "{:indent$}{line}", "")?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Buckets drawn on the workers and buckets drawn straight to the output make the
    /// same text, in name order, escaped for the terminal.
    #[test]
    fn buckets_drawn_apart_or_in_line_make_the_same_text() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let report = crate::report::tests::escaped_report(9);
        let screen = Screen {
            width: Some(100),
            color: true,
        };
        let draw = |in_line| {
            let mut out = Vec::new();
            pool.install(|| write_with(&report, &mut out, &screen, in_line))
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        let apart = draw(usize::MAX);
        assert_eq!(apart, draw(0));
        assert_eq!(apart, draw(20));
        let names: Vec<usize> = (0..9)
            .map(|b| {
                apart
                    .find(&format!("bucket b{b}-\"q\"\\x0a\\x1b[2J"))
                    .unwrap()
            })
            .collect();
        assert!(names.is_sorted(), "{names:?}");
        assert!(!apart.contains("\u{1b}[2J"));
    }

    #[test]
    fn sparklines_scale_to_the_largest_value_and_keep_single_requests() {
        assert_eq!(sparkline(&[0, 1, 50, 100], 100), "·▁▄█");
        assert_eq!(sparkline(&[1, 2], 2), "▄█");
        assert_eq!(sparkline(&[0, 0], 0), "··");
    }
}
