//! `report --format html`: the audit report as one self-contained page.
//!
//! Per bucket it shows the verdict, the timeline chart with the transitions between
//! the VPC endpoint and the internet marked on it, the top public addresses and
//! requesters and the per-account breakdown; the header says how the report was made.
//!
//! The page is written in pieces ([`begin`](super::begin), [`header`], [`contents`],
//! then per bucket [`bucket_open`], [`bucket_body`], [`bucket_close`], then
//! [`rejections`] and [`end`](super::end)) so another page can add its own sections,
//! for example findings inside a bucket's section, between the body and the close.
//!
//! A page of many buckets stays readable and bounded ([`Shown`]): the
//! [`SECTIONS`](super::SECTIONS) buckets with the most public traffic let through get a
//! section, the next ones a row in a compact table, and the page says how many it
//! leaves out; the JSON and CSV outputs have them all.

use std::fmt::{self, Display};
use std::io::{self, Write};

use super::chart::{chart, Band, BANDS};
use super::{
    begin, bytes, end, filter_and_lines, input_errors, input_hashes, invocation_rows, more, plural,
    private_ranges_row, thousands, Esc, Invocation, Shown, MAX_ROWS, OPEN_ALL,
};
use crate::classify::Class;
use crate::report::series::Slot;
use crate::report::{BucketReport, Buckets, ChangeReport, Report, Summary, Talker, Verdict};
use crate::time::Zone;

/// Writes the whole report page.
pub fn write(report: &Report, invocation: &Invocation, out: &mut dyn Write) -> io::Result<()> {
    begin(&title(report), out)?;
    header(report, invocation, out)?;
    let shown = shown(&report.buckets);
    contents(report, &shown, out)?;
    let open_all = report.buckets.len() <= OPEN_ALL;
    for (n, &i) in shown.sections.iter().enumerate() {
        let b = report.buckets.get(i);
        bucket_open(n, &b, open_all || needs_attention(&b), out)?;
        bucket_body(n, &b, &report.summary, out)?;
        bucket_close(out)?;
    }
    if !report.changes.is_empty() {
        writeln!(out, "<section class=\"changes\">")?;
        changes(
            "Changes to the network path not tied to a bucket above (CloudTrail)",
            &report.changes,
            &Zone::named(&report.summary.time_zone),
            out,
        )?;
        writeln!(out, "</section>")?;
    }
    rejections(report, out)?;
    end(report, out)
}

/// CloudTrail's changes to the network path, as a table under `heading`.
pub fn changes(
    heading: &str,
    list: &[ChangeReport],
    zone: &Zone,
    out: &mut dyn Write,
) -> io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<h3>{heading}</h3>\n<table class=\"changes\"><thead><tr><th>time</th><th>event</th>\
         <th>endpoint or bucket</th><th>by</th><th>result</th></tr></thead><tbody>"
    )?;
    for c in list.iter().take(MAX_ROWS) {
        let what = match &c.bucket {
            Some(b) => b.clone(),
            None => c.endpoints.join(" "),
        };
        writeln!(
            out,
            "<tr><td class=\"nw\">{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            Esc(&zone.show(&c.time)),
            Esc(&c.event),
            Esc(&what),
            Esc(c.by.as_deref().unwrap_or("-")),
            Esc(c.error.as_deref().unwrap_or("done"))
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    more(list.len(), "changes", out)
}

/// The VPC endpoints that carried a bucket's requests (CloudTrail).
fn endpoints(b: &BucketReport, zone: &Zone, out: &mut dyn Write) -> io::Result<()> {
    if b.endpoints.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<h3>VPC endpoints that carried requests (CloudTrail)</h3>\n<table class=\"endpoints\">\
         <thead><tr><th>endpoint</th><th>account</th><th class=\"n\">requests</th>\
         <th class=\"n\">denied</th><th>first seen</th><th>last seen</th></tr></thead><tbody>"
    )?;
    for e in b.endpoints.iter().take(MAX_ROWS) {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}</td></tr>",
            Esc(&e.id),
            Esc(e.account.as_deref().unwrap_or("-")),
            thousands(e.requests),
            thousands(e.denied),
            Esc(&zone.show(&e.first_seen)),
            Esc(&zone.show(&e.last_seen))
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    more(b.endpoints.len(), "endpoints", out)
}

/// Which buckets get a section: in a page of many, those with the most public traffic
/// let through, then denied, then requests.
pub(crate) fn shown(buckets: &Buckets) -> Shown {
    Shown::of(buckets.len(), |i| buckets.public_traffic(i))
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

/// The summary header: command line, tool version, inputs, time range, line counts.
pub fn header(report: &Report, invocation: &Invocation, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "<header>\n<h1>VPC endpoint audit</h1>")?;
    writeln!(
        out,
        "<p class=\"lead\">Which requests to these S3 buckets came through a VPC endpoint \
         (private source address) and which came over the internet, from the buckets' \
         server access logs. {}</p>",
        times_note(&Zone::named(&s.time_zone))
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
    let zone = Zone::named(&s.time_zone);
    match (&s.first, &s.last) {
        (Some(first), Some(last)) => writeln!(
            out,
            "<dt>Time range</dt><dd>{} to {} (first and last matched request), windows of {}</dd>",
            Esc(&zone.show(first)),
            Esc(&zone.show(last)),
            Esc(&s.interval)
        )?,
        _ => writeln!(out, "<dt>Time range</dt><dd>no requests matched</dd>")?,
    }
    filter_and_lines(s, Some(s.blank_lines), out)?;
    writeln!(
        out,
        "<dt>Requests</dt><dd>{}: {} private ({} of them denied), {} public ({} let through, \
         {} denied, {} refused before any policy), {} internal</dd>",
        thousands(s.requests),
        thousands(s.private),
        thousands(s.private_denied),
        thousands(s.public),
        thousands(s.public_allowed),
        thousands(s.public_denied),
        thousands(s.public_rejected),
        thousands(s.internal)
    )?;
    private_ranges_row(&s.private_ranges, out)?;
    writeln!(out, "</dl>")?;
    input_errors(&report.errors, &report.warnings, out)?;
    input_hashes(report.inputs.as_deref(), out)?;
    writeln!(out, "</header>")
}

/// The bucket overview: one row per bucket with a section, with its verdict, numbers,
/// a bar of its traffic mix and a link to the section; then, in a page of many, the
/// compact table of the others and what was left out.
pub(crate) fn contents(report: &Report, shown: &Shown, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<nav>\n<h2>Buckets</h2>")?;
    if report.buckets.is_empty() {
        return writeln!(out, "<p>No requests matched.</p>\n</nav>");
    }
    if shown.capped() {
        cap_note(
            report.buckets.len(),
            shown,
            "the most public traffic let through (then denied, then requests)",
            out,
        )?;
    }
    if report.buckets.len() > OPEN_ALL {
        writeln!(
            out,
            "<p class=\"note\">Sections of buckets without public traffic let through start \
             closed; click a name to open one.</p>"
        )?;
    }
    let head = "<th>verdict</th><th class=\"n\">requests</th><th class=\"n\">private</th>\
         <th class=\"n\">public let through</th><th class=\"n\">public denied</th>\
         <th class=\"n\">internal</th><th class=\"n\">private denied</th>\
         <th class=\"n\">public refused</th><th>mix</th></tr></thead>\n<tbody>";
    writeln!(
        out,
        "<table class=\"toc\">\n<thead><tr><th>bucket</th>{head}"
    )?;
    for (n, &i) in shown.sections.iter().enumerate() {
        let b = report.buckets.get(i);
        let name = format!("<a href=\"#b{}\">{}</a>", n + 1, Esc(&b.bucket));
        overview_row(&name, &b, out)?;
    }
    writeln!(out, "</tbody>\n</table>")?;
    if !shown.compact.is_empty() {
        writeln!(
            out,
            "<h3>Buckets without a section</h3>\n<table class=\"toc\">\n<thead><tr>\
             <th>bucket</th>{head}"
        )?;
        for &i in &shown.compact {
            let b = report.buckets.get(i);
            overview_row(&Esc(&b.bucket).to_string(), &b, out)?;
        }
        writeln!(out, "</tbody>\n</table>")?;
    }
    writeln!(out, "</nav>\n<main>")
}

/// A row of the overview: the bucket's `name` cell (HTML), verdict, numbers and mix.
fn overview_row(name: &str, b: &BucketReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<tr><td>{name}</td><td>{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td>{}</td></tr>",
        badge(b.verdict),
        thousands(b.requests),
        thousands(b.private),
        thousands(b.public_allowed),
        thousands(b.public_denied),
        thousands(b.internal),
        thousands(b.private_denied),
        thousands(b.public_rejected),
        MixBar(b)
    )
}

/// The note of a page with more buckets than sections: which have one, how many are
/// listed without, how many are left out and where they are.
pub(crate) fn cap_note(
    total: usize,
    shown: &Shown,
    by: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    write!(
        out,
        "<p class=\"note warn\">Of {} buckets, the {} with {by} have a section of their \
         own; the next {} are listed without one",
        thousands(total as u64),
        thousands(shown.sections.len() as u64),
        thousands(shown.compact.len() as u64)
    )?;
    if shown.hidden > 0 {
        write!(
            out,
            ", and the other {} are not listed on this page",
            thousands(shown.hidden as u64)
        )?;
    }
    writeln!(
        out,
        ". <code>--format json</code> and <code>--format csv</code> have every bucket.</p>"
    )
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
        thousands(b.requests)
    )
}

/// What the page says of its times: UTC, or the `--tz` zone.
pub fn times_note(zone: &Zone) -> String {
    match zone {
        Zone::Utc => "All times are UTC.".to_string(),
        Zone::Named(_) => format!(
            "All times are on the clock of {} (offset from UTC shown); days and weeks start \
             at its midnight.",
            zone.name()
        ),
    }
}

/// A bucket's evidence: verdict, numbers, timeline chart, requesters, transitions, top
/// public addresses, accounts; windows and times as `summary` says (interval, zone).
pub fn bucket_body(
    index: usize,
    b: &BucketReport,
    summary: &Summary,
    out: &mut dyn Write,
) -> io::Result<()> {
    let zone = Zone::named(&summary.time_zone);
    writeln!(out, "<p class=\"verdict-text\">{}</p>", verdict_text(b))?;
    for w in &b.warnings {
        writeln!(out, "<p class=\"warning\">{}</p>", Esc(w))?;
    }
    writeln!(
        out,
        "<dl class=\"facts\"><dt>first request</dt><dd>{}</dd><dt>last request</dt><dd>{}</dd>\
         <dt>private addresses</dt><dd>{}</dd><dt>public addresses</dt><dd>{}</dd>\
         <dt>bytes sent</dt><dd>{}</dd>\
         <dt>public let through</dt><dd>{}</dd><dt>public denied</dt><dd>{}</dd>\
         <dt>public refused before a policy</dt><dd>{}</dd>\
         <dt>private denied</dt><dd>{}</dd></dl>",
        Esc(&zone.show(&b.first_seen)),
        Esc(&zone.show(&b.last_seen)),
        thousands(b.distinct_private_ips as u64),
        thousands(b.distinct_public_ips as u64),
        bytes(b.bytes_sent),
        thousands(b.public_allowed),
        thousands(b.public_denied),
        thousands(b.public_rejected),
        thousands(b.private_denied)
    )?;
    if let Some(n) = &b.public_networks {
        let own = match (&n.region, n.ec2_same_region) {
            (Some(region), Some(ec2)) => format!(
                "<b>{}</b> from EC2 addresses of {} (the bucket's region), ",
                thousands(ec2),
                Esc(region)
            ),
            _ => "the bucket's region is not known, ".to_string(),
        };
        writeln!(
            out,
            "<p class=\"networks\">Public requests by network: {own}<b>{}</b> from other AWS ranges, \
             <b>{}</b> from outside AWS{}.</p>",
            thousands(n.other_aws),
            thousands(n.outside_aws),
            if n.not_looked_up > 0 {
                format!(", {} not looked up", thousands(n.not_looked_up))
            } else {
                String::new()
            }
        )?;
    }
    chart(index, b, summary.interval_seconds, zone, out)?;
    requesters(b, &zone, out)?;
    transitions(b, &zone, out)?;
    endpoints(b, &zone, out)?;
    changes(
        "Changes to its network path (CloudTrail)",
        &b.changes,
        &zone,
        out,
    )?;
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
        "Private addresses denied through the endpoint",
        "address",
        &b.denied_private_ips,
        b.private_denied,
        "No request through the endpoint was denied.",
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
        thousands(report.summary.rejected),
        thousands(shown as u64)
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
             refused: {} denied by a policy (HTTP 403), {} before any policy was evaluated.",
            plural(b.public, "request"),
            thousands(b.public_denied),
            thousands(b.public_rejected)
        ),
        Verdict::InternalOnly => {
            "Only S3's own requests (no remote address): nothing to judge.".to_string()
        }
    }
}

/// Who did what: every requester with a public request, then the busiest others.
fn requesters(b: &BucketReport, zone: &Zone, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<h3>Requesters</h3>")?;
    if b.requesters.is_empty() {
        return writeln!(out, "<p>No requests.</p>");
    }
    writeln!(
        out,
        "<table class=\"requesters\"><thead><tr><th>requester</th><th>account</th>\
         <th class=\"n\">requests</th><th class=\"n\">private</th>\
         <th class=\"n\">private denied</th><th class=\"n\">public let through</th>\
         <th class=\"n\">public denied</th><th class=\"n\">public refused</th>\
         <th class=\"n\">internal</th><th>first public</th><th>last public</th>\
         <th>public addresses</th></tr></thead><tbody>"
    )?;
    let time = |t: &Option<String>| t.as_deref().map_or("-".to_string(), |t| zone.show(t));
    for r in b.requesters.iter().take(MAX_ROWS) {
        let addresses: Vec<String> = r
            .top_public_ips
            .iter()
            .map(|a| {
                format!(
                    "<span class=\"nw\"><code>{}</code> ({})</span>",
                    Esc(&a.name),
                    thousands(a.requests)
                )
            })
            .collect();
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"nw\"><code>{}</code></td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}</td><td>{}</td></tr>",
            Esc(&r.requester),
            Esc(&r.account),
            thousands(r.requests),
            thousands(r.private),
            thousands(r.private_denied),
            if r.public_allowed > 0 { " public" } else { "" },
            thousands(r.public_allowed),
            thousands(r.public_denied),
            thousands(r.public_rejected),
            thousands(r.internal),
            Esc(&time(&r.first_public)),
            Esc(&time(&r.last_public)),
            if addresses.is_empty() {
                "-".to_string()
            } else {
                addresses.join(", ")
            }
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    more(b.requesters.len(), "requesters", out)
}

fn transitions(b: &BucketReport, zone: &Zone, out: &mut dyn Write) -> io::Result<()> {
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
    let causes = b.transitions.iter().any(|t| t.likely_cause.is_some());
    writeln!(
        out,
        "<table class=\"transitions\"><thead><tr><th class=\"n\">#</th><th>at</th><th>change</th>\
         <th>remote address</th><th>requester</th><th>account</th>{}</tr></thead><tbody>",
        if causes {
            "<th>likely cause (CloudTrail)</th>"
        } else {
            ""
        }
    )?;
    for (k, tr) in b.transitions.iter().take(MAX_ROWS).enumerate() {
        let address = match &tr.aws {
            Some(aws) => format!("<code>{}</code> ({})", Esc(&tr.remote_ip), Esc(aws)),
            None => format!("<code>{}</code>", Esc(&tr.remote_ip)),
        };
        let cause = match (&tr.likely_cause, causes) {
            (Some(c), _) => format!(
                "<td>{} <code>{}</code> at {}</td>",
                Esc(&c.event),
                Esc(&c.endpoints.join(" ")),
                Esc(&c.time)
            ),
            (None, true) => "<td></td>".to_string(),
            (None, false) => String::new(),
        };
        writeln!(
            out,
            "<tr class=\"{}\"><td class=\"n\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{} → {}</td>\
             <td class=\"nw\">{address}</td><td><code>{}</code></td><td class=\"nw\"><code>{}</code></td>{cause}</tr>",
            if tr.to == Class::Public {
                "to-public"
            } else {
                "to-private"
            },
            k + 1,
            Esc(&zone.show(&tr.at)),
            tr.from.name(),
            tr.to.name(),
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
        let aws = t
            .aws
            .as_ref()
            .map_or(String::new(), |a| format!(" ({})", Esc(a)));
        writeln!(
            out,
            "<tr><td><code>{}</code>{aws}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}%</td></tr>",
            Esc(&t.name),
            thousands(t.requests),
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
         <th class=\"n\">private denied</th><th class=\"n\">public let through</th>\
         <th class=\"n\">public denied</th><th class=\"n\">public refused</th>\
         <th class=\"n\">internal</th></tr></thead><tbody>"
    )?;
    for a in b.accounts.iter().take(MAX_ROWS) {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            Esc(&a.account),
            thousands(a.requesters as u64),
            thousands(a.requests),
            thousands(a.private),
            thousands(a.private_denied),
            thousands(a.public_allowed),
            thousands(a.public_denied),
            thousands(a.public_rejected),
            thousands(a.internal)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    more(b.accounts.len(), "accounts", out)
}

/// A bar of a bucket's traffic mix for the overview table, in HTML.
struct MixBar<'a>(&'a BucketReport);

impl Display for MixBar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let total = b.requests.max(1) as f64;
        f.write_str("<span class=\"mix\">")?;
        let all = Slot {
            private_allowed: b.private - b.private_denied,
            private_denied: b.private_denied,
            public_allowed: b.public_allowed,
            public_denied: b.public_denied,
            public_rejected: b.public_rejected,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Traffic;
    use crate::report::html::chart::{MAX_BARS, MAX_MARKS};
    use crate::report::html::SECTIONS;
    use crate::report::{Account, Point, Summary, Transition};
    use crate::time::{duration_name, rfc3339};

    const T0: i64 = 1_652_090_400; // 2022-05-09T10:00:00Z

    fn bucket(name: &str, windows: i64, interval: i64) -> BucketReport {
        let traffic = |i: i64| Traffic {
            requests: 3,
            private: 1,
            public: 2,
            public_denied: (i % 2) as u64,
            bytes_sent: 10,
            ..Traffic::default()
        };
        let timeline: Vec<Point> = (0..windows)
            .map(|i| Point::new(T0 + i * interval, &traffic(i), 1, 1))
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
                likely_cause: None,
                aws: None,
            })
            .collect();
        let mut all = Traffic::default();
        for i in 0..windows {
            all += traffic(i);
        }
        BucketReport {
            top_public_ips: vec![Talker {
                name: "52.79.54.241".into(),
                requests: all.public,
                aws: None,
            }],
            top_requesters: vec![Talker {
                name: "arn:aws:sts::111122223333:assumed-role/r/s".into(),
                requests: all.requests,
                aws: None,
            }],
            transitions,
            accounts: (0..300)
                .map(|i| Account {
                    account: format!("{:012}", i),
                    requesters: 1,
                    requests: 1,
                    private: 1,
                    private_denied: 0,
                    public: 0,
                    public_allowed: 0,
                    public_denied: 0,
                    public_rejected: 0,
                    internal: 0,
                })
                .collect(),
            ..BucketReport::of(
                name.into(),
                &all,
                (T0, T0 + windows * interval - 1),
                (1, 1),
                timeline,
            )
        }
    }

    fn report(buckets: Vec<BucketReport>, interval: i64) -> Report {
        Report {
            schema_version: crate::report::SCHEMA_VERSION,
            summary: Summary {
                inputs: 1,
                interval: duration_name(interval),
                interval_seconds: interval,
                first: Some(rfc3339(T0)),
                last: Some(rfc3339(T0 + 1)),
                private_ranges: vec!["10.0.0.0/8".into()],
                buckets: buckets.len(),
                ..Summary::of(&Traffic::default())
            },
            buckets: buckets.into(),
            inputs: None,
            rejections: Vec::new(),
            errors: Vec::new(),
            changes: Vec::new(),
            warnings: Vec::new(),
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
        let mut buckets: Vec<BucketReport> = (0..100)
            .map(|i| bucket(&format!("bkt-{i:03}"), 3, 3600))
            .collect();
        for b in &mut buckets[1..] {
            b.verdict = Verdict::PrivateOnly;
        }
        let html = render(&report(buckets, 3600));
        assert_eq!(count(&html, "<a href=\"#b"), 100);
        assert!(html.contains("<a href=\"#b100\">bkt-099</a>"));
        assert_eq!(count(&html, "<details class=\"bucket\""), 100);
        assert_eq!(count(&html, "<details class=\"bucket\" id=\"b1\" open>"), 1);
        assert_eq!(
            count(&html, " open>"),
            1,
            "only the mixed bucket starts open"
        );
        assert_eq!(count(&html, "<svg class=\"timeline\""), 100);
        assert!(!html.contains("Buckets without a section"));
        let few = render(&report(
            vec![bucket("a", 3, 3600), bucket("b", 3, 3600)],
            3600,
        ));
        assert_eq!(count(&few, " open>"), 2);
    }

    #[test]
    fn a_page_of_many_buckets_gives_sections_to_those_with_the_most_public_traffic() {
        // 250 buckets, each with its own amount of public traffic let through.
        let buckets: Vec<BucketReport> = (0..250)
            .map(|i| {
                let mut b = bucket(&format!("bkt-{i:03}"), 3, 3600);
                b.public_allowed = i * 37 % 250;
                b
            })
            .collect();
        let html = render(&report(buckets, 3600));
        assert_eq!(count(&html, "<details class=\"bucket\""), SECTIONS);
        assert_eq!(count(&html, "<svg class=\"timeline\""), SECTIONS);
        assert_eq!(count(&html, "<a href=\"#b"), SECTIONS);
        // The most public traffic first: 249 let through is bucket 27 (27 * 37 % 250).
        assert!(
            html.contains("<a href=\"#b1\">bkt-027</a>"),
            "first section"
        );
        assert!(html.contains(
            "Of 250 buckets, the 100 with the most public traffic let through (then denied, \
             then requests) have a section of their own; the next 150 are listed without one."
        ));
        let compact = &html[html.find("Buckets without a section").unwrap()..];
        assert_eq!(count(compact, "<tr><td>bkt-"), 150);
    }

    #[test]
    fn a_page_loads_nothing() {
        let html = render(&report(vec![bucket("b", 50, 300)], 300));
        assert!(html.contains("default-src 'none'"));
        for fetch in ["http:", "https:", "<script", "<link", "src=", "@import"] {
            assert!(!html.contains(fetch), "{fetch}");
        }
        // The bars' patterns are defined in the page itself.
        assert!(html.contains("fill:url(#fill-allowed)"));
        assert_eq!(html.matches("url(").count(), html.matches("url(#").count());
    }
}
