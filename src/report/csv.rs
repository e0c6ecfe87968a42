//! `--format csv`: one row per bucket and window, for spreadsheets and scripts.

use std::io::{self, Write};

use super::Report;
use crate::escape;

/// The header row.
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

/// Writes the timeline rows. With `protect`, cells that a spreadsheet would run as a
/// formula are neutralised (see [`escape::csv_cell`]).
pub fn write(report: &Report, out: &mut dyn Write, protect: bool) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    for b in &report.buckets {
        let bucket = if protect {
            escape::csv_cell(&b.bucket)
        } else {
            b.bucket.as_str().into()
        };
        for p in &b.timeline {
            w.write_record([
                &*bucket,
                b.verdict.name(),
                &p.start,
                &p.requests.to_string(),
                &p.private.to_string(),
                &p.private_denied.to_string(),
                &p.public.to_string(),
                &p.public_denied.to_string(),
                &p.public_rejected.to_string(),
                &p.public_allowed.to_string(),
                &p.internal.to_string(),
                &p.distinct_private_ips.to_string(),
                &p.distinct_public_ips.to_string(),
                &p.bytes_sent.to_string(),
            ])?;
        }
    }
    w.flush()
}
