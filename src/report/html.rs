//! `--format html`: one self-contained page of evidence for an audit file.
//!
//! The page is plain HTML with inline CSS and inline SVG charts: no script, no font,
//! no image or style sheet to fetch, and a Content-Security-Policy that forbids
//! loading anything, so it reads the same offline, years later, and prints to PDF.
//! Per bucket it shows the verdict, a stacked timeline of private / public let
//! through / public denied / internal requests with the transitions between the VPC
//! endpoint and the internet marked on it, the top public addresses and requesters
//! and the per-account breakdown; the header says how the report was made.
//!
//! Sizes are bounded: a chart has at most [`MAX_BARS`] bars (adjacent windows are
//! merged, see [`Series`]), at most [`MAX_MARKS`] transition markers, and long lists
//! stop after [`MAX_ROWS`] rows (the JSON output has them all). Every string that
//! came from a log goes through [`Esc`].
//!
//! The page is written in pieces ([`begin`], [`header`], [`contents`], then per
//! bucket [`bucket_open`], [`bucket_body`], [`bucket_close`], then [`rejections`] and
//! [`end`]) so another command can add its own sections, for example findings inside
//! a bucket's section, between the body and the close.

use std::ffi::OsString;
use std::fmt::{self, Display};
use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::series::{duration_name, window_start, Series, Slot};
use super::{BucketReport, Report, Summary, Talker, Transition, Verdict};
use crate::classify::Class;
use crate::escape;

/// Most bars in one chart; more windows are merged into longer slots.
pub const MAX_BARS: usize = 120;
/// Most transitions marked on one chart.
pub const MAX_MARKS: usize = 24;
/// Most rows in one table.
pub const MAX_ROWS: usize = 100;
/// With at most this many buckets every section starts open; with more, only the
/// sections of buckets with public traffic let through do.
pub const OPEN_ALL: usize = 10;

/// How the report was made, shown in its header so the evidence can be reproduced.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The command line, quoted for a POSIX shell (see [`command_line`]).
    pub command_line: String,
    /// The INPUT arguments as given.
    pub inputs: Vec<String>,
}

/// The process arguments as one line a POSIX shell would split back into them:
/// arguments with anything but `A-Za-z0-9_./:=@%+,-` are single-quoted.
pub fn command_line(args: impl IntoIterator<Item = OsString>) -> String {
    let quoted: Vec<String> = args
        .into_iter()
        .map(|arg| {
            let arg = arg.to_string_lossy().into_owned();
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
            if plain {
                arg
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect();
    quoted.join(" ")
}

/// Text made safe for HTML and SVG element content and for quoted attribute values:
/// control characters and invalid bytes become visible escapes as in the terminal
/// ([`escape::terminal`]), and `& < > " '` become character references.
pub struct Esc<'a>(pub &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let visible = escape::terminal(self.0.as_bytes());
        let mut rest: &str = &visible;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// Writes the whole report page.
pub fn write(report: &Report, invocation: &Invocation, out: &mut dyn Write) -> io::Result<()> {
    begin(&title(report), out)?;
    header(report, invocation, out)?;
    contents(report, out)?;
    let open_all = report.buckets.len() <= OPEN_ALL;
    for (i, b) in report.buckets.iter().enumerate() {
        bucket_open(i, b, open_all || needs_attention(b), out)?;
        bucket_body(i, b, report.summary.interval_seconds, out)?;
        bucket_close(out)?;
    }
    rejections(report, out)?;
    end(report, out)
}

/// The page title: what was audited and when.
pub fn title(report: &Report) -> String {
    let s = &report.summary;
    match (&s.first, &s.last) {
        (Some(first), Some(last)) => format!(
            "VPC endpoint audit: {} bucket(s), {first} to {last}",
            s.buckets
        ),
        _ => "VPC endpoint audit: no requests matched".to_string(),
    }
}

/// Opens the document: doctype, the no-fetch policy, the style sheet and `<body>`.
pub fn begin(title: &str, out: &mut dyn Write) -> io::Result<()> {
    begin_with(title, "", out)
}

/// [`begin`], with `css` (trusted, not from a log) added to the style sheet.
pub fn begin_with(title: &str, css: &str, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{} {}\">\n<title>{}</title>\n<style>{CSS}{css}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        Esc(title)
    )
}

/// The summary header: command line, tool version, inputs, time range, line counts.
pub fn header(report: &Report, invocation: &Invocation, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "<header>\n<h1>VPC endpoint audit</h1>")?;
    writeln!(
        out,
        "<p class=\"lead\">Which requests to these S3 buckets came through a VPC endpoint \
         (private source address) and which came over the internet, from the buckets' \
         server access logs. All times are UTC.</p>"
    )?;
    writeln!(out, "<dl class=\"summary\">")?;
    invocation_rows(invocation, s, out)?;
    writeln!(
        out,
        " ({} read, {} decompressed{})</dd>",
        plural(s.inputs, "file"),
        bytes(s.bytes),
        if s.input_errors > 0 {
            format!(", {} failed", plural(s.input_errors as u64, "input"))
        } else {
            String::new()
        }
    )?;
    match (&s.first, &s.last) {
        (Some(first), Some(last)) => writeln!(
            out,
            "<dt>Time range</dt><dd>{} to {} (first and last matched request), windows of {}</dd>",
            Esc(first),
            Esc(last),
            Esc(&s.interval)
        )?,
        _ => writeln!(out, "<dt>Time range</dt><dd>no requests matched</dd>")?,
    }
    filter_and_lines(s, Some(s.blank_lines), out)?;
    writeln!(
        out,
        "<dt>Requests</dt><dd>{}: {} private, {} public ({} of them denied), {} internal</dd>",
        n(s.requests),
        n(s.private),
        n(s.public),
        n(s.public_denied),
        n(s.internal)
    )?;
    private_ranges_row(&s.private_ranges, out)?;
    writeln!(out, "</dl>")?;
    if !report.errors.is_empty() {
        writeln!(
            out,
            "<div class=\"errors\"><h2>Inputs that could not be read</h2><ul>"
        )?;
        for e in report.errors.iter().take(MAX_ROWS) {
            writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                Esc(&e.source),
                Esc(&e.message)
            )?;
        }
        more(report.errors.len(), "input errors", out)?;
        writeln!(out, "</ul></div>")?;
    }
    writeln!(out, "</header>")
}

/// The bucket overview: one row per bucket with its verdict, numbers, a bar of its
/// traffic mix and a link to its section.
pub fn contents(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<nav>\n<h2>Buckets</h2>")?;
    if report.buckets.is_empty() {
        return writeln!(out, "<p>No requests matched.</p>\n</nav>");
    }
    if report.buckets.len() > OPEN_ALL {
        writeln!(
            out,
            "<p class=\"note\">Sections of buckets without public traffic let through start \
             closed; click a name to open one.</p>"
        )?;
    }
    writeln!(
        out,
        "<table class=\"toc\">\n<thead><tr><th>bucket</th><th>verdict</th>\
         <th class=\"n\">requests</th><th class=\"n\">private</th>\
         <th class=\"n\">public let through</th><th class=\"n\">public denied</th>\
         <th class=\"n\">internal</th><th>mix</th></tr></thead>\n<tbody>"
    )?;
    for (i, b) in report.buckets.iter().enumerate() {
        writeln!(
            out,
            "<tr><td><a href=\"#b{}\">{}</a></td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td></tr>",
            i + 1,
            Esc(&b.bucket),
            badge(b.verdict),
            n(b.requests),
            n(b.private),
            n(b.public_allowed),
            n(b.public_denied),
            n(b.internal),
            MixBar(b)
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</nav>\n<main>")
}

/// Opens bucket `index`'s section (collapsible; `open` decides how it starts).
pub fn bucket_open(
    index: usize,
    b: &BucketReport,
    open: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "<details class=\"bucket\" id=\"b{}\"{}>\n<summary><h2>{}</h2> {} \
         <span class=\"counts\">{} requests</span></summary>\n<div class=\"body\">",
        index + 1,
        if open { " open" } else { "" },
        Esc(&b.bucket),
        badge(b.verdict),
        n(b.requests)
    )
}

/// A bucket's evidence: verdict, numbers, timeline chart, transitions, top public
/// addresses and requesters, accounts. `interval` is the window length in seconds.
pub fn bucket_body(
    index: usize,
    b: &BucketReport,
    interval: i64,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "<p class=\"verdict-text\">{}</p>", verdict_text(b))?;
    writeln!(
        out,
        "<dl class=\"facts\"><dt>first request</dt><dd>{}</dd><dt>last request</dt><dd>{}</dd>\
         <dt>private addresses</dt><dd>{}</dd><dt>public addresses</dt><dd>{}</dd>\
         <dt>bytes sent</dt><dd>{}</dd></dl>",
        Esc(&b.first_seen),
        Esc(&b.last_seen),
        n(b.distinct_private_ips as u64),
        n(b.distinct_public_ips as u64),
        bytes(b.bytes_sent)
    )?;
    chart(index, b, interval, out)?;
    transitions(b, out)?;
    writeln!(out, "<div class=\"pair\">")?;
    talkers(
        "Top public addresses",
        "address",
        &b.top_public_ips,
        b.public,
        "No request came from a public address.",
        out,
    )?;
    talkers(
        "Top requesters",
        "requester",
        &b.top_requesters,
        b.requests,
        "No requests.",
        out,
    )?;
    writeln!(out, "</div>")?;
    accounts(b, out)
}

/// Closes a bucket's section.
pub fn bucket_close(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "</div>\n</details>")
}

/// The first rejected lines with their reasons, in a closed section.
pub fn rejections(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "</main>")?;
    if report.rejections.is_empty() {
        return Ok(());
    }
    let shown = report.rejections.len().min(MAX_ROWS);
    writeln!(
        out,
        "<details class=\"rejections\">\n<summary><h2>Rejected lines</h2> \
         <span class=\"counts\">{} rejected, first {} shown</span></summary>\n\
         <table><thead><tr><th>input</th><th class=\"n\">line</th><th>reason</th></tr></thead><tbody>",
        n(report.summary.rejected),
        n(shown as u64)
    )?;
    for r in &report.rejections[..shown] {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td>{}</td></tr>",
            Esc(&r.source),
            r.line,
            Esc(&r.reason)
        )?;
    }
    writeln!(out, "</tbody></table>\n</details>")
}

/// Closes the document with a footer naming the tool.
pub fn end(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<footer>Made by {} {}. This page is self-contained: it loads nothing from the \
         network.</footer>\n</body>\n</html>",
        Esc(report.summary.tool),
        Esc(report.summary.version)
    )
}

fn needs_attention(b: &BucketReport) -> bool {
    matches!(b.verdict, Verdict::Mixed | Verdict::PublicOnly)
}

fn badge(v: Verdict) -> String {
    format!("<span class=\"verdict v-{0}\">{0}</span>", v.name())
}

fn verdict_text(b: &BucketReport) -> String {
    match b.verdict {
        Verdict::PrivateOnly if b.public_denied > 0 => format!(
            "Every request that got through came through the VPC endpoint; {} from the \
             internet {} denied (HTTP 403).",
            plural(b.public_denied, "request"),
            if b.public_denied == 1 { "was" } else { "were" }
        ),
        Verdict::PrivateOnly => {
            "Every request with a remote address came through the VPC endpoint.".to_string()
        }
        Verdict::Mixed => format!(
            "Mixed: {} came through the VPC endpoint, and {} from the internet {} let \
             through.",
            plural(b.private, "request"),
            plural(b.public_allowed, "request"),
            if b.public_allowed == 1 { "was" } else { "were" }
        ),
        Verdict::PublicOnly => format!(
            "No request came through the VPC endpoint; {} from the internet {} let through.",
            plural(b.public_allowed, "request"),
            if b.public_allowed == 1 { "was" } else { "were" }
        ),
        Verdict::DeniedOnly => format!(
            "No request came through the VPC endpoint; all {} from the internet were \
             denied (HTTP 403).",
            plural(b.public_denied, "request")
        ),
        Verdict::InternalOnly => {
            "Only S3's own requests (no remote address): nothing to judge.".to_string()
        }
    }
}

/// One series of a chart: its CSS class, its legend name and its value in a slot.
struct Band {
    class: &'static str,
    name: &'static str,
    value: fn(&Slot) -> u64,
}

/// The four series of a chart, stacked bottom to top.
const BANDS: [Band; 4] = [
    Band {
        class: "private",
        name: "private (VPC endpoint)",
        value: |s| s.private,
    },
    Band {
        class: "allowed",
        name: "public, let through",
        value: |s| s.public_allowed,
    },
    Band {
        class: "denied",
        name: "public, denied (403)",
        value: |s| s.public_denied,
    },
    Band {
        class: "internal",
        name: "internal (S3 itself)",
        value: |s| s.internal,
    },
];

// Chart geometry, in SVG user units (the chart scales to the page width).
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 258.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 40.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
/// Baselines of the rows of marker labels above the plot.
const LABEL_ROWS: [f64; 3] = [13.0, 26.0, 39.0];
/// Estimated width of one character of a marker label.
const CHAR_W: f64 = 6.0;

fn chart(index: usize, b: &BucketReport, interval: i64, out: &mut dyn Write) -> io::Result<()> {
    let series = Series::of(&b.timeline, interval, MAX_BARS);
    if series.slots.is_empty() {
        return Ok(());
    }
    let windows = b.timeline.len();
    let slot = duration_name(series.slot_seconds);
    writeln!(
        out,
        "<figure class=\"chart\">\n<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-labelledby=\"c{}\">\n<title id=\"c{}\">Requests to {} per {slot}, by network</title>",
        index + 1,
        index + 1,
        Esc(&b.bucket)
    )?;

    // Value axis with grid lines.
    let (step, top) = y_scale(series.max_total());
    let y_of = |v: f64| TOP + PLOT_H - v / top as f64 * PLOT_H;
    for v in (0..=top / step).map(|k| k * step) {
        let y = y_of(v as f64);
        writeln!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"ylab\" x=\"{}\" y=\"{:.1}\">{}</text>",
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 3.5,
            n(v)
        )?;
    }
    writeln!(
        out,
        "<text class=\"ytitle\" transform=\"translate(13 {:.1}) rotate(-90)\">requests per {slot}</text>",
        TOP + PLOT_H / 2.0
    )?;

    // Time axis.
    let (start, end) = (series.start, series.end());
    let span = (end - start).max(1) as f64;
    let x_of = |t: i64| LEFT + (t - start) as f64 / span * PLOT_W;
    let tick = x_step(end - start);
    let mut t = start.div_euclid(tick) * tick;
    if t < start {
        t += tick;
    }
    let mut last_day = None;
    while t <= end {
        let x = x_of(t);
        let (day, time) = (format_time(t, "%Y-%m-%d"), format_time(t, "%H:%M"));
        let base = TOP + PLOT_H;
        write!(
            out,
            "<line class=\"tick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{base}\" y2=\"{}\"/>",
            base + 5.0
        )?;
        if tick >= 86_400 {
            writeln!(
                out,
                "<text class=\"xlab\" x=\"{x:.1}\" y=\"{}\">{day}</text>",
                base + 17.0
            )?;
        } else {
            write!(
                out,
                "<text class=\"xlab\" x=\"{x:.1}\" y=\"{}\">{time}</text>",
                base + 17.0
            )?;
            if last_day.as_ref() != Some(&day) {
                write!(
                    out,
                    "<text class=\"xlab day\" x=\"{x:.1}\" y=\"{}\">{day}</text>",
                    base + 31.0
                )?;
            }
            writeln!(out)?;
        }
        last_day = Some(day);
        let Some(next) = t.checked_add(tick) else {
            break;
        };
        t = next;
    }
    writeln!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>",
        LEFT + PLOT_W,
        TOP + PLOT_H,
        TOP + PLOT_H
    )?;

    // Bars: one stacked group per slot with requests.
    let slot_w = PLOT_W / series.slots.len() as f64;
    let bar_w = (slot_w - (slot_w * 0.1).max(1.0)).max(1.0);
    for (i, s) in series.slots.iter().enumerate() {
        if s.total() == 0 {
            continue;
        }
        let from = series.start + i as i64 * series.slot_seconds;
        let x = LEFT + i as f64 * slot_w + (slot_w - bar_w) / 2.0;
        write!(
            out,
            "<g><title>{} to {} UTC: {} private, {} public let through, {} public denied, {} internal</title>",
            format_time(from, "%Y-%m-%d %H:%M"),
            format_time(from + series.slot_seconds, "%H:%M"),
            n(s.private),
            n(s.public_allowed),
            n(s.public_denied),
            n(s.internal)
        )?;
        let mut base = TOP + PLOT_H;
        for Band { class, value, .. } in BANDS {
            let v = value(s);
            if v == 0 {
                continue;
            }
            // A lone public request among thousands must still show.
            let h = (v as f64 / top as f64 * PLOT_H).max(1.5);
            base -= h;
            write!(
                out,
                "<rect class=\"bar {class}\" x=\"{x:.1}\" y=\"{base:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\"/>"
            )?;
        }
        writeln!(out, "</g>")?;
    }

    // Transition markers, labelled where there is room.
    let same_day = format_time(start, "%F") == format_time(end - 1, "%F");
    let mut labels = LabelRows::default();
    for (k, tr) in b.transitions.iter().take(MAX_MARKS).enumerate() {
        let Some(at) = window_start(&tr.at) else {
            continue;
        };
        let x = x_of(at.clamp(start, end));
        let long = format!("[{}] {}", k + 1, transition_label(tr, same_day));
        let short = format!("[{}]", k + 1);
        let placed = [&long, &short]
            .into_iter()
            .find_map(|text| labels.place(x, text).map(|p| (text, p)));
        let to = if tr.to == Class::Public {
            "to-public"
        } else {
            "to-private"
        };
        let y1 = placed.map_or(TOP, |(_, label)| label.y + 3.0);
        write!(
            out,
            "<g class=\"mark {to}\"><title>{} {}</title><line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y1}\" y2=\"{}\"/>",
            Esc(&long),
            Esc(&tr.requester),
            TOP + PLOT_H
        )?;
        if let Some((text, label)) = placed {
            write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
                label.x,
                label.y,
                label.anchor,
                Esc(text)
            )?;
        }
        writeln!(out, "</g>")?;
    }
    writeln!(out, "</svg>")?;

    // Legend and what a bar is.
    write!(out, "<figcaption><ul class=\"legend\">")?;
    for Band { class, name, value } in BANDS {
        let total: u64 = series.slots.iter().map(value).sum();
        write!(
            out,
            "<li><span class=\"sw {class}\"></span>{name}: <b>{}</b></li>",
            n(total)
        )?;
    }
    if !b.transitions.is_empty() {
        write!(
            out,
            "<li><span class=\"sw-line to-public\"></span>to the internet</li>\
             <li><span class=\"sw-line to-private\"></span>back to the endpoint</li>"
        )?;
    }
    let merged = if series.slot_seconds > interval {
        format!(
            "; adjacent {} windows merged into bars of {slot}",
            duration_name(interval)
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "</ul><p class=\"note\">Requests per {slot} (UTC), {} with requests{merged}.{}</p></figcaption>\n</figure>",
        plural(windows as u64, "window"),
        if b.transitions.len() > MAX_MARKS {
            format!(" The first {MAX_MARKS} transitions are marked.")
        } else {
            String::new()
        }
    )
}

/// Where a marker's label goes: its anchor point and side.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Label {
    x: f64,
    y: f64,
    anchor: &'static str,
}

/// The rows of marker labels above the plot, filled left to right without overlap.
#[derive(Default)]
struct LabelRows {
    taken: [Vec<(f64, f64)>; LABEL_ROWS.len()],
}

impl LabelRows {
    /// Places `text` next to a marker at `x` (right of it, or left near the edge) in
    /// the first row where it overlaps nothing; `None` when no row has room.
    fn place(&mut self, x: f64, text: &str) -> Option<Label> {
        let w = text.chars().count() as f64 * CHAR_W;
        let (from, to, label_x, anchor) = if x + 3.0 + w <= WIDTH {
            (x + 3.0, x + 3.0 + w, x + 3.0, "start")
        } else {
            (x - 3.0 - w, x - 3.0, x - 3.0, "end")
        };
        let row = self
            .taken
            .iter()
            .position(|r| r.iter().all(|&(a, b)| to + 4.0 < a || b + 4.0 < from))?;
        self.taken[row].push((from, to));
        Some(Label {
            x: label_x,
            y: LABEL_ROWS[row],
            anchor,
        })
    }
}

fn transition_label(tr: &Transition, same_day: bool) -> String {
    let at = window_start(&tr.at)
        .map(|t| format_time(t, if same_day { "%H:%M" } else { "%m-%d %H:%M" }))
        .unwrap_or_else(|| tr.at.clone());
    match tr.to {
        Class::Public => format!("public traffic starts {at} from {}", tr.remote_ip),
        _ => format!("back on the endpoint {at} from {}", tr.remote_ip),
    }
}

fn transitions(b: &BucketReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<h3>Transitions between the VPC endpoint and the internet</h3>"
    )?;
    if b.transitions.is_empty() {
        return writeln!(
            out,
            "<p>None: no requester switched between private and public addresses.</p>"
        );
    }
    writeln!(
        out,
        "<table class=\"transitions\"><thead><tr><th class=\"n\">#</th><th>at</th><th>change</th>\
         <th>remote address</th><th>requester</th><th>account</th></tr></thead><tbody>"
    )?;
    for (k, tr) in b.transitions.iter().take(MAX_ROWS).enumerate() {
        writeln!(
            out,
            "<tr class=\"{}\"><td class=\"n\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{} → {}</td>\
             <td class=\"nw\"><code>{}</code></td><td><code>{}</code></td><td class=\"nw\"><code>{}</code></td></tr>",
            if tr.to == Class::Public {
                "to-public"
            } else {
                "to-private"
            },
            k + 1,
            Esc(&tr.at),
            tr.from.name(),
            tr.to.name(),
            Esc(&tr.remote_ip),
            Esc(&tr.requester),
            Esc(&tr.account)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    more(b.transitions.len(), "transitions", out)
}

fn talkers(
    heading: &str,
    what: &str,
    list: &[Talker],
    of: u64,
    none: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "<section><h3>{heading}</h3>")?;
    if list.is_empty() {
        return writeln!(out, "<p>{none}</p></section>");
    }
    writeln!(
        out,
        "<table><thead><tr><th>{what}</th><th class=\"n\">requests</th><th class=\"n\">share</th></tr></thead><tbody>"
    )?;
    for t in list {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{:.1}%</td></tr>",
            Esc(&t.name),
            n(t.requests),
            t.requests as f64 * 100.0 / of.max(1) as f64
        )?;
    }
    writeln!(out, "</tbody></table></section>")
}

fn accounts(b: &BucketReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<h3>Requests per account</h3>\n<table class=\"accounts\"><thead><tr><th>account</th>\
         <th class=\"n\">requesters</th><th class=\"n\">requests</th><th class=\"n\">private</th>\
         <th class=\"n\">public</th><th class=\"n\">public denied</th><th class=\"n\">internal</th>\
         </tr></thead><tbody>"
    )?;
    for a in b.accounts.iter().take(MAX_ROWS) {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>",
            Esc(&a.account),
            n(a.requesters as u64),
            n(a.requests),
            n(a.private),
            n(a.public),
            n(a.public_denied),
            n(a.internal)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    more(b.accounts.len(), "accounts", out)
}

/// A note that a list was cut at [`MAX_ROWS`].
fn more(len: usize, what: &str, out: &mut dyn Write) -> io::Result<()> {
    if len > MAX_ROWS {
        writeln!(
            out,
            "<p class=\"note\">{} more {what} are not shown; <code>--format json</code> lists them all.</p>",
            n((len - MAX_ROWS) as u64)
        )?;
    }
    Ok(())
}

/// A bar of a bucket's traffic mix for the overview table, in HTML.
struct MixBar<'a>(&'a BucketReport);

impl Display for MixBar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let total = b.requests.max(1) as f64;
        f.write_str("<span class=\"mix\">")?;
        let all = Slot {
            private: b.private,
            public_allowed: b.public_allowed,
            public_denied: b.public_denied,
            internal: b.internal,
        };
        for Band { class, value, .. } in BANDS {
            let v = value(&all);
            if v > 0 {
                write!(
                    f,
                    "<span class=\"{class}\" style=\"width:{:.1}%\"></span>",
                    v as f64 * 100.0 / total
                )?;
            }
        }
        f.write_str("</span>")
    }
}

/// The value axis: grid step and top, round numbers with about four steps.
fn y_scale(max: u64) -> (u64, u64) {
    let raw = max.div_ceil(4).max(1);
    let mut magnitude = 1u64;
    while magnitude.saturating_mul(10) <= raw {
        magnitude *= 10;
    }
    let step = [1, 2, 5, 10]
        .into_iter()
        .map(|m| magnitude.saturating_mul(m))
        .find(|&s| s >= raw)
        .unwrap_or(raw);
    (step, max.div_ceil(step).max(1).saturating_mul(step))
}

/// The time axis step: the shortest round step that cuts the span into at most 8.
fn x_step(span: i64) -> i64 {
    const STEPS: [i64; 19] = [
        60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
        1_209_600, 2_592_000, 7_776_000, 15_552_000, 31_536_000,
    ];
    let fits = |s: i64| span / s <= 8;
    STEPS.into_iter().find(|&s| fits(s)).unwrap_or_else(|| {
        let mut s = 31_536_000i64;
        while !fits(s) {
            s = s.saturating_mul(2);
        }
        s
    })
}

fn format_time(secs: i64, format: &str) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .map(|t| t.format(format).to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// The header rows naming the command line and the tool, and the opening of the inputs
/// row with the inputs as given: the caller adds what was read and closes the row.
pub(crate) fn invocation_rows(
    invocation: &Invocation,
    s: &Summary,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "<dt>Command</dt><dd><code class=\"cmd\">{}</code></dd>",
        Esc(&invocation.command_line)
    )?;
    writeln!(
        out,
        "<dt>Tool</dt><dd>{} {}</dd>",
        Esc(s.tool),
        Esc(s.version)
    )?;
    write!(out, "<dt>Inputs</dt><dd>")?;
    code_list(&invocation.inputs, out)
}

/// `items` as `<code>` elements separated by commas.
fn code_list(items: &[String], out: &mut dyn Write) -> io::Result<()> {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            write!(out, ", ")?;
        }
        write!(out, "<code>{}</code>", Esc(item))?;
    }
    Ok(())
}

/// The header rows for `--since/--until` (when given) and the accounting of lines;
/// `blank` is shown when known.
pub(crate) fn filter_and_lines(
    s: &Summary,
    blank: Option<u64>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if s.since.is_some() || s.until.is_some() {
        writeln!(
            out,
            "<dt>Filter</dt><dd>since {}, until {}</dd>",
            Esc(s.since.as_deref().unwrap_or("the beginning")),
            Esc(s.until.as_deref().unwrap_or("the end"))
        )?;
    }
    let blank = blank.map_or(String::new(), |b| format!("{} blank skipped; ", n(b)));
    writeln!(
        out,
        "<dt>Lines</dt><dd>{} read: {} parsed, <span class=\"{}\">{} rejected</span>; \
         {blank}{} matched requests</dd>",
        n(s.lines),
        n(s.parsed),
        if s.rejected > 0 { "warn" } else { "ok" },
        n(s.rejected),
        n(s.matched)
    )
}

/// The header row listing the ranges counted as private.
pub(crate) fn private_ranges_row(ranges: &[String], out: &mut dyn Write) -> io::Result<()> {
    write!(out, "<dt>Private ranges</dt><dd>")?;
    code_list(ranges, out)?;
    writeln!(out, "</dd>")
}

/// A count with thousands separators: `12,345`.
pub(crate) fn n(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 request`, `2 requests`.
pub(crate) fn plural(v: u64, what: &str) -> String {
    format!("{} {what}{}", n(v), if v == 1 { "" } else { "s" })
}

/// A byte count for a person: `725.7 kB`.
fn bytes(v: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if v < 1000 {
        return format!("{v} bytes");
    }
    let mut x = v as f64;
    let mut unit = "B";
    for u in UNITS {
        if x < 1000.0 {
            break;
        }
        x /= 1000.0;
        unit = u;
    }
    format!("{x:.1} {unit}")
}

const CSS: &str = r#"
:root{--private:#2563eb;--allowed:#dc2626;--denied:#f59e0b;--internal:#9ca3af;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;color:var(--ink);max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:0;display:inline}
h3{font-size:15px;margin:18px 0 6px}
code{font:12.5px/1.3 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
.nw,.nw code{white-space:nowrap}
.lead{color:var(--muted);margin:0 0 10px}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0 0 12px;padding:10px 14px;background:#f9fafb;border:1px solid var(--line);border-radius:6px}
dl.summary dt{font-weight:600}
dl.summary dd{margin:0}
.cmd{background:#111827;color:#f9fafb;padding:1px 6px;border-radius:4px;white-space:pre-wrap}
.warn{color:#b45309;font-weight:600}
.errors{border:1px solid #fca5a5;background:#fef2f2;padding:8px 14px;border-radius:6px}
nav{margin:16px 0}
nav h2{display:block;margin-bottom:6px}
table{border-collapse:collapse;margin:4px 0 8px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}
.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:var(--muted);font-size:12.5px;margin:4px 0}
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;color:#fff;vertical-align:middle}
.v-private-only{background:#15803d}.v-mixed{background:#b91c1c}.v-public-only{background:#7f1d1d}
.v-denied-only{background:#b45309}.v-internal-only{background:#6b7280}
.mix{display:inline-flex;width:120px;height:10px;background:#f3f4f6;border-radius:2px;overflow:hidden;vertical-align:middle}
.mix span{display:block;height:100%;min-width:2px}
.mix .private,.sw.private{background:var(--private)}.mix .allowed,.sw.allowed{background:var(--allowed)}
.mix .denied,.sw.denied{background:var(--denied)}.mix .internal,.sw.internal{background:var(--internal)}
details.bucket,details.rejections{border:1px solid var(--line);border-radius:6px;margin:14px 0;padding:8px 14px}
details>summary{cursor:pointer}
.counts{color:var(--muted);margin-left:6px}
.verdict-text{font-size:15px;margin:10px 0 4px}
dl.facts{display:flex;flex-wrap:wrap;gap:2px 6px;margin:4px 0 8px;color:var(--muted);font-size:13px}
dl.facts dt::after{content:":"}
dl.facts dd{margin:0 12px 0 0;color:var(--ink)}
figure.chart{margin:6px 0 10px}
svg.timeline{width:100%;height:auto;display:block;font-family:system-ui,"DejaVu Sans",sans-serif}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axis,svg .tick{stroke:#374151;stroke-width:1}
svg .ylab{font-size:11px;fill:#374151;text-anchor:end}
svg .ytitle{font-size:11px;fill:var(--muted);text-anchor:middle}
svg .xlab{font-size:11px;fill:#374151;text-anchor:middle}
svg .xlab.day{fill:var(--muted)}
svg .bar.private{fill:var(--private)}svg .bar.allowed{fill:var(--allowed)}
svg .bar.denied{fill:var(--denied)}svg .bar.internal{fill:var(--internal)}
svg .mark line{stroke-width:1.5;stroke-dasharray:4 3}
svg .mark text{font-size:10.5px;font-weight:600}
svg .to-public line{stroke:#991b1b}svg .to-public text{fill:#991b1b}
svg .to-private line{stroke:#1e3a8a}svg .to-private text{fill:#1e3a8a}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;padding:0;margin:4px 0 0 58px;font-size:13px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.sw-line{display:inline-block;width:18px;height:0;border-top:2px dashed;margin-right:5px;vertical-align:3px}
.sw-line.to-public{border-color:#991b1b}.sw-line.to-private{border-color:#1e3a8a}
figcaption .note{margin-left:58px}
tr.to-public td:nth-child(3){color:#991b1b;font-weight:600}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:0 24px}
footer{color:var(--muted);font-size:12px;margin:24px 0 8px;border-top:1px solid var(--line);padding-top:8px}
@media print{body{max-width:none;padding:0}figure.chart,tr{break-inside:avoid}.cmd{background:none;color:var(--ink);border:1px solid var(--line)}}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{rfc3339, Account, Point, Summary};

    const T0: i64 = 1_652_090_400; // 2022-05-09T10:00:00Z

    fn bucket(name: &str, windows: i64, interval: i64) -> BucketReport {
        let timeline: Vec<Point> = (0..windows)
            .map(|i| Point {
                start: rfc3339(T0 + i * interval),
                requests: 3,
                private: 1,
                public: 2,
                internal: 0,
                public_denied: (i % 2) as u64,
                public_allowed: 2 - (i % 2) as u64,
                distinct_private_ips: 1,
                distinct_public_ips: 1,
                bytes_sent: 10,
            })
            .collect();
        let transitions = (0..windows.min(200))
            .map(|i| Transition {
                requester: "arn:aws:sts::111122223333:assumed-role/r/s".into(),
                account: "111122223333".into(),
                from: if i % 2 == 0 {
                    Class::Private
                } else {
                    Class::Public
                },
                to: if i % 2 == 0 {
                    Class::Public
                } else {
                    Class::Private
                },
                at: rfc3339(T0 + i * interval + 30),
                remote_ip: if i % 2 == 0 {
                    "52.79.54.241"
                } else {
                    "10.0.1.5"
                }
                .into(),
            })
            .collect();
        let n = windows as u64;
        BucketReport {
            bucket: name.into(),
            verdict: Verdict::Mixed,
            first_seen: rfc3339(T0),
            last_seen: rfc3339(T0 + windows * interval - 1),
            requests: 3 * n,
            private: n,
            public: 2 * n,
            public_denied: n / 2,
            public_allowed: 2 * n - n / 2,
            internal: 0,
            bytes_sent: 10 * n,
            distinct_private_ips: 1,
            distinct_public_ips: 1,
            top_public_ips: vec![Talker {
                name: "52.79.54.241".into(),
                requests: 2 * n,
            }],
            top_requesters: vec![Talker {
                name: "arn:aws:sts::111122223333:assumed-role/r/s".into(),
                requests: 3 * n,
            }],
            approximations: Vec::new(),
            timeline,
            transitions,
            accounts: (0..300)
                .map(|i| Account {
                    account: format!("{:012}", i),
                    requesters: 1,
                    requests: 1,
                    private: 1,
                    public: 0,
                    public_denied: 0,
                    internal: 0,
                })
                .collect(),
        }
    }

    fn report(buckets: Vec<BucketReport>, interval: i64) -> Report {
        Report {
            schema_version: crate::report::SCHEMA_VERSION,
            summary: Summary {
                tool: "vpce-audit",
                version: "0.1.0",
                inputs: 1,
                input_errors: 0,
                bytes: 0,
                lines: 0,
                parsed: 0,
                rejected: 0,
                matched: 0,
                blank_lines: 0,
                interval: duration_name(interval),
                interval_seconds: interval,
                since: None,
                until: None,
                first: Some(rfc3339(T0)),
                last: Some(rfc3339(T0 + 1)),
                s3: None,
                not_available: Vec::new(),
                private_ranges: vec!["10.0.0.0/8".into()],
                buckets: buckets.len(),
                requests: 0,
                private: 0,
                public: 0,
                public_denied: 0,
                internal: 0,
            },
            buckets,
            rejections: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn render(report: &Report) -> String {
        let invocation = Invocation {
            command_line: "vpce-audit --format html logs/".into(),
            inputs: vec!["logs/".into()],
        };
        let mut out = Vec::new();
        write(report, &invocation, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            Esc("<script>alert(1)</script>").to_string(),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            Esc("\"><img src=x onerror=alert(1)>").to_string(),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(Esc("a&b 'c'").to_string(), "a&amp;b &#39;c&#39;");
        assert_eq!(Esc("&lt;").to_string(), "&amp;lt;");
        assert_eq!(
            Esc("x\u{1b}[2J\u{202e}y").to_string(),
            "x\\x1b[2J\\u{202e}y"
        );
        assert_eq!(Esc("ключ/файл").to_string(), "ключ/файл");
    }

    #[test]
    fn command_lines_are_shell_quoted() {
        let args = [
            "vpce-audit",
            "--format",
            "html",
            "my logs/",
            "it's",
            "",
            "a=b,c",
        ];
        assert_eq!(
            command_line(args.iter().map(OsString::from)),
            r"vpce-audit --format html 'my logs/' 'it'\''s' '' a=b,c"
        );
    }

    #[test]
    fn axes_use_round_numbers() {
        assert_eq!(y_scale(13), (5, 15));
        assert_eq!(y_scale(1), (1, 1));
        assert_eq!(y_scale(0), (1, 1));
        assert_eq!(y_scale(98_765), (50_000, 100_000));
        assert!(y_scale(u64::MAX).1 >= u64::MAX / 2);
        assert_eq!(x_step(7200), 900);
        assert_eq!(x_step(3600), 600);
        assert_eq!(x_step(86_400 * 30), 604_800);
        assert!(x_step(i64::MAX) > 0);
        assert_eq!(n(0), "0");
        assert_eq!(n(1234567), "1,234,567");
        assert_eq!(bytes(725_686), "725.7 kB");
    }

    #[test]
    fn marker_labels_never_overlap() {
        let mut rows = LabelRows::default();
        let long = "x".repeat(40);
        let placed: Vec<Option<Label>> = (0..4).map(|_| rows.place(100.0, &long)).collect();
        let ys: Vec<f64> = placed.iter().flatten().map(|l| l.y).collect();
        assert_eq!(ys, LABEL_ROWS);
        assert_eq!(placed[3], None, "three rows are full");
        assert_eq!(
            rows.place(WIDTH - 10.0, "[9]"),
            Some(Label {
                x: WIDTH - 13.0,
                y: LABEL_ROWS[0],
                anchor: "end"
            }),
            "near the right edge a label goes left of its marker"
        );
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn ten_thousand_windows_make_a_page_of_bounded_size() {
        let one = render(&report(vec![bucket("b", 1, 60)], 60));
        let many = render(&report(vec![bucket("b", 10_000, 60)], 60));
        assert!(many.len() < 150_000, "{} bytes", many.len());
        assert!(count(&many, "<g><title>") <= MAX_BARS);
        assert_eq!(count(&many, "<g class=\"mark"), MAX_MARKS);
        assert!(many.contains(&format!("The first {MAX_MARKS} transitions are marked.")));
        assert!(many
            .contains("10,000 windows with requests; adjacent 1m windows merged into bars of 2h"));
        assert_eq!(count(&many, "<td><code>00000"), MAX_ROWS);
        assert!(many.contains("200 more accounts are not shown"));
        // One window: one bar with one rect per non-empty series.
        assert_eq!(count(&one, "<g><title>"), 1);
        assert_eq!(count(&one, "<rect class=\"bar "), 2);
        assert!(one.len() < 60_000);
    }

    #[test]
    fn two_hundred_buckets_get_a_table_of_contents_and_closed_sections() {
        let mut buckets: Vec<BucketReport> = (0..200)
            .map(|i| bucket(&format!("bkt-{i:03}"), 3, 3600))
            .collect();
        for b in &mut buckets[1..] {
            b.verdict = Verdict::PrivateOnly;
        }
        let html = render(&report(buckets, 3600));
        assert_eq!(count(&html, "<a href=\"#b"), 200);
        assert!(html.contains("<a href=\"#b200\">bkt-199</a>"));
        assert_eq!(count(&html, "<details class=\"bucket\""), 200);
        assert_eq!(count(&html, "<details class=\"bucket\" id=\"b1\" open>"), 1);
        assert_eq!(
            count(&html, " open>"),
            1,
            "only the mixed bucket starts open"
        );
        assert_eq!(count(&html, "<svg class=\"timeline\""), 200);
        let few = render(&report(
            vec![bucket("a", 3, 3600), bucket("b", 3, 3600)],
            3600,
        ));
        assert_eq!(count(&few, " open>"), 2);
    }

    #[test]
    fn a_page_loads_nothing() {
        let html = render(&report(vec![bucket("b", 50, 300)], 300));
        assert!(html.contains("default-src 'none'"));
        for fetch in [
            "http:", "https:", "<script", "<link", "src=", "url(", "@import",
        ] {
            assert!(!html.contains(fetch), "{fetch}");
        }
    }
}
