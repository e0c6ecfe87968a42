//! `--format csv`: one table of the report for spreadsheets and scripts, chosen with
//! `--rows`: the timeline (one row per bucket and window, the default), the requesters,
//! the accounts or the transitions of every bucket. Times are RFC 3339 in the report's
//! time zone (`--tz`), UTC without.

use std::io::{self, Write};

use super::Report;
use crate::escape;
use crate::time::Zone;

/// Which table the rows are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    Timeline,
    Requesters,
    Accounts,
    Transitions,
}

/// The header row of the timeline.
pub const HEADER: [&str; 14] = [
    "bucket",
    "verdict",
    "start",
    "requests",
    "private",
    "private_denied",
    "public",
    "public_denied",
    "public_rejected",
    "public_allowed",
    "internal",
    "distinct_private_ips",
    "distinct_public_ips",
    "bytes_sent",
];

/// The header row of the requesters.
pub const REQUESTERS_HEADER: [&str; 16] = [
    "bucket",
    "requester",
    "account",
    "requests",
    "private",
    "private_denied",
    "public",
    "public_allowed",
    "public_denied",
    "public_rejected",
    "internal",
    "first_seen",
    "last_seen",
    "first_public",
    "last_public",
    "top_public_ips",
];

/// The header row of the accounts.
pub const ACCOUNTS_HEADER: [&str; 11] = [
    "bucket",
    "account",
    "requesters",
    "requests",
    "private",
    "private_denied",
    "public",
    "public_allowed",
    "public_denied",
    "public_rejected",
    "internal",
];

/// The header row of the transitions.
pub const TRANSITIONS_HEADER: [&str; 7] = [
    "bucket",
    "at",
    "requester",
    "account",
    "from",
    "to",
    "remote_ip",
];

/// Writes the `rows` table. With `protect`, cells that a spreadsheet would run as a
/// formula are neutralised (see [`escape::csv_cell`]).
pub fn write(report: &Report, rows: Rows, out: &mut dyn Write, protect: bool) -> io::Result<()> {
    let zone = Zone::named(&report.summary.time_zone);
    let cell = |text: &str| -> String {
        if protect {
            escape::csv_cell(text).into_owned()
        } else {
            text.to_string()
        }
    };
    let time = |t: &str| zone.show(t);
    let mut w = ::csv::Writer::from_writer(out);
    match rows {
        Rows::Timeline => w.write_record(HEADER)?,
        Rows::Requesters => w.write_record(REQUESTERS_HEADER)?,
        Rows::Accounts => w.write_record(ACCOUNTS_HEADER)?,
        Rows::Transitions => w.write_record(TRANSITIONS_HEADER)?,
    }
    for b in &report.buckets {
        let bucket = cell(&b.bucket);
        match rows {
            Rows::Timeline => {
                for p in &b.timeline {
                    w.write_record([
                        bucket.clone(),
                        b.verdict.name().to_string(),
                        time(&p.start),
                        p.requests.to_string(),
                        p.private.to_string(),
                        p.private_denied.to_string(),
                        p.public.to_string(),
                        p.public_denied.to_string(),
                        p.public_rejected.to_string(),
                        p.public_allowed.to_string(),
                        p.internal.to_string(),
                        p.distinct_private_ips.to_string(),
                        p.distinct_public_ips.to_string(),
                        p.bytes_sent.to_string(),
                    ])?;
                }
            }
            Rows::Requesters => {
                for r in &b.requesters {
                    let ips: Vec<String> = r
                        .top_public_ips
                        .iter()
                        .map(|t| format!("{} {}", t.name, t.requests))
                        .collect();
                    let opt = |t: &Option<String>| t.as_deref().map(time).unwrap_or_default();
                    w.write_record([
                        bucket.clone(),
                        cell(&r.requester),
                        cell(&r.account),
                        r.requests.to_string(),
                        r.private.to_string(),
                        r.private_denied.to_string(),
                        r.public.to_string(),
                        r.public_allowed.to_string(),
                        r.public_denied.to_string(),
                        r.public_rejected.to_string(),
                        r.internal.to_string(),
                        time(&r.first_seen),
                        time(&r.last_seen),
                        opt(&r.first_public),
                        opt(&r.last_public),
                        ips.join("; "),
                    ])?;
                }
            }
            Rows::Accounts => {
                for a in &b.accounts {
                    w.write_record([
                        bucket.clone(),
                        cell(&a.account),
                        a.requesters.to_string(),
                        a.requests.to_string(),
                        a.private.to_string(),
                        a.private_denied.to_string(),
                        a.public.to_string(),
                        a.public_allowed.to_string(),
                        a.public_denied.to_string(),
                        a.public_rejected.to_string(),
                        a.internal.to_string(),
                    ])?;
                }
            }
            Rows::Transitions => {
                for t in &b.transitions {
                    w.write_record([
                        bucket.clone(),
                        time(&t.at),
                        cell(&t.requester),
                        cell(&t.account),
                        t.from.name().to_string(),
                        t.to.name().to_string(),
                        t.remote_ip.clone(),
                    ])?;
                }
            }
        }
    }
    w.flush()
}
