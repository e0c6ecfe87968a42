//! The page kit of the HTML outputs (`report --format html`, `check --format html`):
//! one self-contained page of evidence for an audit file.
//!
//! A page is plain HTML with inline CSS and inline SVG charts: no script, no font, no
//! image or style sheet to fetch, and a Content-Security-Policy that forbids loading
//! anything, so it reads the same offline, years later, and prints to PDF. This module
//! holds what every page shares: the document's frame ([`begin`], [`end`]), the
//! escaping of untrusted text ([`Esc`]), the header rows that say how a page was made,
//! number formatting and the style sheet. [`audit`] writes the report's page and
//! [`check`] the compliance check's; [`chart`] draws a bucket's timeline.
//!
//! Long lists stop after [`MAX_ROWS`] rows (the JSON output has them all). Every
//! string that came from a log goes through [`Esc`].

pub mod audit;
pub mod chart;
pub mod check;

use std::ffi::OsString;
use std::fmt::{self, Display};
use std::io::{self, Write};

use super::{ErrorEntry, InputHash, Report, Summary};
use crate::escape;

/// Most rows in one table.
pub const MAX_ROWS: usize = 100;
/// With at most this many buckets every section starts open; with more, only the
/// sections of buckets with public traffic let through do.
pub const OPEN_ALL: usize = 10;
/// Most buckets with a section of their own (chart, transitions, top talkers): in a
/// page of more, the sections go to those with the most public traffic.
pub const SECTIONS: usize = 100;
/// Most buckets listed in the compact table of the buckets without a section; the
/// others are counted, and the JSON and CSV outputs list them.
pub const COMPACT_ROWS: usize = 10_000;

/// Which buckets a page shows, and how: with at most [`SECTIONS`] buckets, all of them
/// in name order with a section each; with more, the [`SECTIONS`] that come first by
/// `rank` get a section, the next [`COMPACT_ROWS`] a row in a compact table, and the
/// rest are only counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Shown {
    /// The buckets (their places in name order) that get a section, in page order.
    pub sections: Vec<usize>,
    /// The buckets listed in the compact table, in page order.
    pub compact: Vec<usize>,
    /// The buckets neither has room for.
    pub hidden: usize,
}

impl Shown {
    /// The choice among `len` buckets, ranked by `rank` (higher first; ties keep name
    /// order) when there are more than [`SECTIONS`].
    pub(crate) fn of<K: Ord>(len: usize, rank: impl Fn(usize) -> K) -> Shown {
        if len <= SECTIONS {
            return Shown {
                sections: (0..len).collect(),
                compact: Vec::new(),
                hidden: 0,
            };
        }
        let mut order: Vec<(std::cmp::Reverse<K>, usize)> =
            (0..len).map(|i| (std::cmp::Reverse(rank(i)), i)).collect();
        let kept = (SECTIONS + COMPACT_ROWS).min(len);
        if kept < len {
            order.select_nth_unstable(kept - 1);
            order.truncate(kept);
        }
        order.sort_unstable();
        let mut places = order.into_iter().map(|(_, i)| i);
        Shown {
            sections: places.by_ref().take(SECTIONS).collect(),
            compact: places.collect(),
            hidden: len - kept,
        }
    }

    /// Did a limit leave buckets without a section?
    pub(crate) fn capped(&self) -> bool {
        !self.compact.is_empty() || self.hidden > 0
    }
}

#[cfg(test)]
mod shown_tests {
    use super::*;

    #[test]
    fn a_page_shows_everything_up_to_its_sections_then_ranks_and_caps() {
        let few = Shown::of(3, |i| i);
        assert_eq!(
            (few.sections, few.compact, few.hidden),
            (vec![0, 1, 2], vec![], 0)
        );
        let len = SECTIONS + COMPACT_ROWS + 5;
        // Ranked by the key, higher first; ties in name order.
        let many = Shown::of(len, |i| i % 3);
        assert!(many.capped());
        assert_eq!(many.hidden, 5);
        assert_eq!(many.sections.len(), SECTIONS);
        assert_eq!(many.compact.len(), COMPACT_ROWS);
        assert_eq!(&many.sections[..3], &[2, 5, 8]);
        let ranks: Vec<usize> = many
            .sections
            .iter()
            .chain(&many.compact)
            .map(|i| i % 3)
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] >= w[1]));
    }
}

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
         <meta name=\"generator\" content=\"{} {}\">\n<title>{}</title>\n<style>{CSS}{css}</style>\n</head>\n<body>\n{PATTERNS}",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        Esc(title)
    )
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

/// The inputs that could not be read, and those left out with a warning, if any, each
/// in a box of their own.
pub(crate) fn input_errors(
    errors: &[ErrorEntry],
    warnings: &[ErrorEntry],
    out: &mut dyn Write,
) -> io::Result<()> {
    for (list, title, what) in [
        (errors, "Inputs that could not be read", "input errors"),
        (warnings, "Inputs left out", "warnings"),
    ] {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "<div class=\"errors\"><h2>{title}</h2><ul>")?;
        for e in list.iter().take(MAX_ROWS) {
            writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                Esc(&e.source),
                Esc(&e.message)
            )?;
        }
        more(list.len(), what, out)?;
        writeln!(out, "</ul></div>")?;
    }
    Ok(())
}

/// Most inputs listed in the chain of custody (the JSON output lists them all).
pub const MAX_HASHED: usize = 10_000;

/// The chain of custody, when digests were taken (`--evidence-hashes`): every input's
/// name, size and SHA-256 as stored.
pub(crate) fn input_hashes(list: Option<&[InputHash]>, out: &mut dyn Write) -> io::Result<()> {
    let Some(list) = list else {
        return Ok(());
    };
    writeln!(
        out,
        "<details class=\"custody\"><summary><h2>Chain of custody</h2> <span class=\"counts\">\
         the name, size and SHA-256 of the {} read, as stored (<code>sha256sum</code> gives \
         the same), hashed while they were read</span></summary>",
        plural(list.len() as u64, "input")
    )?;
    writeln!(
        out,
        "<table class=\"hashes\"><thead><tr><th>input</th><th class=\"n\">bytes</th>\
         <th>SHA-256</th></tr></thead><tbody>"
    )?;
    for h in list.iter().take(MAX_HASHED) {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
            Esc(&h.source),
            thousands(h.bytes),
            Esc(&h.sha256)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if list.len() > MAX_HASHED {
        writeln!(
            out,
            "<p class=\"note\">{} more inputs are not shown; <code>--format json</code> lists them all.</p>",
            thousands((list.len() - MAX_HASHED) as u64)
        )?;
    }
    writeln!(out, "</details>")
}

/// A note that a list was cut at [`MAX_ROWS`].
fn more(len: usize, what: &str, out: &mut dyn Write) -> io::Result<()> {
    if len > MAX_ROWS {
        writeln!(
            out,
            "<p class=\"note\">{} more {what} are not shown; <code>--format json</code> lists them all.</p>",
            thousands((len - MAX_ROWS) as u64)
        )?;
    }
    Ok(())
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
    let blank = blank.map_or(String::new(), |b| {
        format!("{} blank skipped; ", thousands(b))
    });
    writeln!(
        out,
        "<dt>Lines</dt><dd>{} read: {} parsed, <span class=\"{}\">{} rejected</span>; \
         {blank}{} matched requests</dd>",
        thousands(s.lines),
        thousands(s.parsed),
        if s.rejected > 0 { "warn" } else { "ok" },
        thousands(s.rejected),
        thousands(s.matched)
    )
}

/// The header row listing the ranges counted as private.
pub(crate) fn private_ranges_row(ranges: &[String], out: &mut dyn Write) -> io::Result<()> {
    write!(out, "<dt>Private ranges</dt><dd>")?;
    code_list(ranges, out)?;
    writeln!(out, "</dd>")
}

/// A count with thousands separators: `12,345`.
pub(crate) fn thousands(v: u64) -> String {
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
    format!("{} {what}{}", thousands(v), if v == 1 { "" } else { "s" })
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

/// The fills of the chart's bars: Okabe and Ito's colour-blind-safe colours, and a
/// pattern for each kind of refusal or leak, so that no meaning rides on colour alone
/// (printed in grey, the bars still differ). Defined once per page, used by every chart.
const PATTERNS: &str = concat!(
    "<svg class=\"patterns\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>",
    // Let through over the internet: vermilion, hatched.
    "<pattern id=\"fill-allowed\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">",
    "<rect width=\"6\" height=\"6\" fill=\"#D55E00\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#000\" stroke-width=\"2\" stroke-opacity=\".45\"/></pattern>",
    // Denied by a policy over the internet: orange, crossed.
    "<pattern id=\"fill-denied\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">",
    "<rect width=\"6\" height=\"6\" fill=\"#E69F00\"/><path d=\"M0 0L6 6M6 0L0 6\" stroke=\"#000\" stroke-width=\"1\" stroke-opacity=\".4\"/></pattern>",
    // Refused before a policy: yellow, dotted.
    "<pattern id=\"fill-rejected\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">",
    "<rect width=\"5\" height=\"5\" fill=\"#F0E442\"/><circle cx=\"2.5\" cy=\"2.5\" r=\"1\" fill=\"#000\" fill-opacity=\".5\"/></pattern>",
    // Denied through the endpoint: reddish purple, striped across.
    "<pattern id=\"fill-private-denied\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">",
    "<rect width=\"6\" height=\"6\" fill=\"#CC79A7\"/><line x1=\"0\" y1=\"3\" x2=\"6\" y2=\"3\" stroke=\"#000\" stroke-width=\"1.5\" stroke-opacity=\".45\"/></pattern>",
    "</defs></svg>\n"
);

const CSS: &str = r#"
:root{--private:#0072B2;--private-denied:#CC79A7;--allowed:#D55E00;--denied:#E69F00;--rejected:#F0E442;--internal:#999999;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb}
svg.patterns{position:absolute}
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
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;color:#000;vertical-align:middle;border:1px solid #000}
.v-private-only{background:#009E73}.v-mixed{background:#D55E00}.v-public-only{background:#D55E00;border-width:3px;border-style:double}
.v-denied-only{background:#E69F00}.v-internal-only{background:#cccccc}
.mix{display:inline-flex;width:120px;height:10px;background:#f3f4f6;border-radius:2px;overflow:hidden;vertical-align:middle}
.mix span{display:block;height:100%;min-width:2px}
.mix .private,.sw.private{background:var(--private)}.mix .internal,.sw.internal{background:var(--internal)}
.mix .allowed,.sw.allowed{background:repeating-linear-gradient(45deg,rgba(0,0,0,.45) 0 1.5px,transparent 1.5px 4px),var(--allowed)}
.mix .denied,.sw.denied{background:repeating-linear-gradient(45deg,rgba(0,0,0,.4) 0 1px,transparent 1px 4px),repeating-linear-gradient(-45deg,rgba(0,0,0,.4) 0 1px,transparent 1px 4px),var(--denied)}
.mix .private-denied,.sw.private-denied{background:repeating-linear-gradient(0deg,rgba(0,0,0,.45) 0 1.5px,transparent 1.5px 4px),var(--private-denied)}
.mix .rejected,.sw.rejected{background:radial-gradient(rgba(0,0,0,.5) 1px,transparent 1.2px) 0 0/4px 4px,var(--rejected)}
details.bucket,details.rejections,details.custody{border:1px solid var(--line);border-radius:6px;margin:14px 0;padding:8px 14px}
details>summary{cursor:pointer}
.counts{color:var(--muted);margin-left:6px}
.verdict-text{font-size:15px;margin:10px 0 4px}
.warning{border-left:4px solid #b45309;background:#fffbeb;padding:4px 10px;margin:6px 0}
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
svg .bar.private{fill:var(--private)}svg .bar.allowed{fill:url(#fill-allowed)}
svg .bar.denied{fill:url(#fill-denied)}svg .bar.internal{fill:var(--internal)}
svg .bar.private-denied{fill:url(#fill-private-denied)}svg .bar.rejected{fill:url(#fill-rejected)}
svg .mark line{stroke-width:1.5;stroke-dasharray:4 3}
svg .mark text{font-size:10.5px;font-weight:600}
svg .to-public line{stroke:#D55E00;stroke-dasharray:6 3}svg .to-public text{fill:#A63A00}
svg .to-private line{stroke:#0072B2;stroke-dasharray:2 2}svg .to-private text{fill:#0072B2}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;padding:0;margin:4px 0 0 58px;font-size:13px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.sw-line{display:inline-block;width:18px;height:0;border-top:2px dashed;margin-right:5px;vertical-align:3px}
.sw-line.to-public{border-color:#D55E00}.sw-line.to-private{border-color:#0072B2;border-top-style:dotted}
svg .change line{stroke:#6b7280;stroke-dasharray:1 4}
.sw-line.change{border-color:#6b7280;border-top-style:dotted}
figcaption .note{margin-left:58px}
tr.to-public td:nth-child(3){color:#A63A00;font-weight:600}
.requesters td.public{font-weight:600}
.requesters td:first-child{min-width:300px}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:0 24px}
footer{color:var(--muted);font-size:12px;margin:24px 0 8px;border-top:1px solid var(--line);padding-top:8px}
@media print{body{max-width:none;padding:0}figure.chart,tr{break-inside:avoid}.cmd{background:none;color:var(--ink);border:1px solid var(--line)}}
"#;

#[cfg(test)]
mod tests {
    use super::*;

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
}
