//! `vpce-audit report --from-athena`: the CSV Athena writes for the timeline query of
//! [`super::sql`], turned back into a [`Report`] that every format renders.
//!
//! Athena writes a header and quotes every value; NULL is an empty unquoted field.
//! The rows are checked against each other (windows add up to their bucket, buckets
//! to the total), so a truncated or edited file is an error, not a wrong verdict.
//!
//! The rows carry the timeline, the per-bucket totals, distinct addresses, the line
//! accounting, the requesters (hence the accounts and the top requesters), the top
//! addresses and the transitions; the requesters add up to their bucket as the windows
//! do. What only reading the files can tell is not there: rejected lines with their
//! reasons, bytes read, blank lines and unreadable inputs. Those parts are left empty
//! (or zero) and listed in `summary.not_available`.
//!
//! The file is bounded as it is read: at most [`MAX_ROWS`] rows of at most
//! [`MAX_ROW_BYTES`] each (the CSV reader keeps a whole field in memory, so an endless
//! field would otherwise grow without end), and counts are added with checked
//! arithmetic, so counts chosen to wrap around are an error, not a verdict.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::net::IpAddr;
use std::rc::Rc;

use super::sql::RESULT_COLUMNS;
use super::{AthenaError, Position};
use crate::aggregate::Traffic;
use crate::arn::account_of;
use crate::classify::Class;
use crate::escape;
use crate::report::{
    accounts_of, requester_list, top, top_addresses, warnings, BucketReport, Point, Report,
    Requester, Summary, Talker, Transition,
};
use crate::time::{interval_name, rfc3339, writable, Zone};

/// The parts of the report the rows cannot give.
pub const NOT_AVAILABLE: [&str; 4] = [
    "summary.bytes",
    "summary.blank_lines",
    "rejections",
    "summary.input_errors",
];

/// The most rows a result file may have: five million (a year of hourly windows for
/// 570 buckets).
pub const MAX_ROWS: u64 = 5_000_000;
/// The longest row a result file may have: 64 KiB (a row is a few hundred bytes; a
/// bucket name from a hostile log can be long, but not that long). The bound is
/// checked on what the CSV reader has read, which runs up to its 64 KiB buffer past the
/// row: a row is refused somewhere between this and twice this length.
pub const MAX_ROW_BYTES: u64 = 64 * 1024;

/// `a + b`, or `None` when a count would not fit in 64 bits (Traffic's `+=` wraps in
/// a release build).
fn checked_sum(a: Traffic, b: &Traffic) -> Option<Traffic> {
    let Traffic {
        requests,
        private,
        private_denied,
        public,
        public_denied,
        public_rejected,
        internal,
        bytes_sent,
    } = *b;
    Some(Traffic {
        requests: a.requests.checked_add(requests)?,
        private: a.private.checked_add(private)?,
        private_denied: a.private_denied.checked_add(private_denied)?,
        public: a.public.checked_add(public)?,
        public_denied: a.public_denied.checked_add(public_denied)?,
        public_rejected: a.public_rejected.checked_add(public_rejected)?,
        internal: a.internal.checked_add(internal)?,
        bytes_sent: a.bytes_sent.checked_add(bytes_sent)?,
    })
}

/// The bytes read since the last row ended, shared by the reader and the row loop.
type SinceRow = Rc<Cell<u64>>;

/// A reader that fails once a row runs past [`MAX_ROW_BYTES`] (plus the CSV reader's
/// own buffer, which reads ahead).
struct RowBound<R> {
    inner: R,
    since_row: SinceRow,
}

impl<R: Read> Read for RowBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let since = self.since_row.get() + n as u64;
        if since > MAX_ROW_BYTES + READ_AHEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a row longer than {} KiB", MAX_ROW_BYTES / 1024),
            ));
        }
        self.since_row.set(since);
        Ok(n)
    }
}

/// The CSV reader's buffer.
const READ_AHEAD: u64 = 64 * 1024;

/// One result row, by column.
struct Row<'r> {
    record: &'r csv::ByteRecord,
    index: &'r [usize; RESULT_COLUMNS.len()],
    line: u64,
}

impl Row<'_> {
    fn text(&self, column: &str) -> &[u8] {
        let i = RESULT_COLUMNS
            .iter()
            .position(|c| *c == column)
            .expect("a result column");
        self.record.get(self.index[i]).unwrap_or_default()
    }

    fn fail<T>(&self, problem: String) -> Result<T, AthenaError> {
        Err(AthenaError::Results {
            at: Position::Line(self.line),
            problem,
        })
    }

    fn int(&self, column: &str) -> Result<Option<i64>, AthenaError> {
        let v = self.text(column);
        if v.is_empty() {
            return Ok(None);
        }
        match std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()) {
            Some(n) => Ok(Some(n)),
            None => self.fail(format!(
                "{column} '{}' is not an integer",
                escape::snippet(v, 40)
            )),
        }
    }

    fn count(&self, column: &str) -> Result<u64, AthenaError> {
        match self.int(column)? {
            Some(n) if n >= 0 => Ok(n as u64),
            Some(n) => self.fail(format!("{column} is negative ({n})")),
            None => self.fail(format!("{column} is empty")),
        }
    }

    fn epoch(&self, column: &str) -> Result<i64, AthenaError> {
        match self.time(column)? {
            Some(n) => Ok(n),
            None => self.fail(format!("{column} is empty")),
        }
    }

    /// A text column, invalid UTF-8 replaced.
    fn string(&self, column: &str) -> String {
        escape::lossy(self.text(column)).into_owned()
    }

    /// The `address` column, which must be an IP address.
    fn address(&self) -> Result<IpAddr, AthenaError> {
        let text = self.text("address");
        match std::str::from_utf8(text).ok().and_then(|s| s.parse().ok()) {
            Some(ip) => Ok(ip),
            None => self.fail(format!(
                "address '{}' is not an IP address",
                escape::snippet(text, 40)
            )),
        }
    }

    /// A class column: `private` or `public`.
    fn class(&self, column: &str) -> Result<Class, AthenaError> {
        match self.text(column) {
            b"private" => Ok(Class::Private),
            b"public" => Ok(Class::Public),
            other => self.fail(format!(
                "{column} '{}' is neither private nor public",
                escape::snippet(other, 20)
            )),
        }
    }

    /// A time in seconds since the epoch, or empty; refused outside the years 0000 to
    /// 9999, which RFC 3339 cannot write.
    fn time(&self, column: &str) -> Result<Option<i64>, AthenaError> {
        match self.int(column)? {
            Some(n) if !writable(n) => {
                self.fail(format!("{column} {n} is outside the years 0000 to 9999"))
            }
            t => Ok(t),
        }
    }

    /// The `total` row.
    fn total(&self) -> Result<Total, AthenaError> {
        let interval = self.epoch("interval_seconds")?;
        if interval <= 0 {
            return self.fail(format!("interval_seconds {interval} is not positive"));
        }
        Ok(Total {
            counts: self.counts()?,
            lines: self.count("lines")?,
            rejected: self.count("rejected")?,
            inputs: self.count("inputs")?,
            interval,
            since: self.time("since_epoch")?,
            until: self.time("until_epoch")?,
            zone: self.string("time_zone"),
            first: self.time("first_epoch")?,
            last: self.time("last_epoch")?,
            ranges: String::from_utf8_lossy(self.text("private_ranges"))
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        })
    }

    fn counts(&self) -> Result<Traffic, AthenaError> {
        let c = Traffic {
            requests: self.count("requests")?,
            private: self.count("private")?,
            private_denied: self.count("private_denied")?,
            public: self.count("public")?,
            public_denied: self.count("public_denied")?,
            public_rejected: self.count("public_rejected")?,
            internal: self.count("internal")?,
            bytes_sent: self.count("bytes_sent")?,
        };
        let classes = c
            .private
            .checked_add(c.public)
            .and_then(|n| n.checked_add(c.internal));
        let refused = c.public_denied.checked_add(c.public_rejected);
        if classes != Some(c.requests)
            || c.private_denied > c.private
            || refused.is_none_or(|n| n > c.public)
        {
            return self.fail(format!(
                "requests {} is not private {} + public {} + internal {} (or more denied or \
                 rejected than there were)",
                c.requests, c.private, c.public, c.internal
            ));
        }
        Ok(c)
    }
}

/// One requester's row: its traffic, first and last request, first and last public
/// one.
struct RequesterRow {
    counts: Traffic,
    seen: (i64, i64),
    public: Option<(i64, i64)>,
    addresses: Vec<(IpAddr, u64)>,
}

/// The rows of one bucket: its own, its windows', its requesters', its top addresses
/// and its transitions.
#[derive(Default)]
struct BucketRows {
    name: String,
    total: Option<(Traffic, usize, usize, i64, i64)>,
    windows: BTreeMap<i64, (Traffic, usize, usize)>,
    requesters: BTreeMap<String, RequesterRow>,
    /// Requester addresses, kept until every requester row is read.
    requester_ips: Vec<(String, IpAddr, u64, u64)>,
    public_ips: Vec<(IpAddr, u64)>,
    denied_private_ips: Vec<(IpAddr, u64)>,
    transitions: Vec<Transition>,
}

impl BucketRows {
    /// Adds a row of this bucket.
    fn add(&mut self, row: &Row<'_>) -> Result<(), AthenaError> {
        match row.text("kind") {
            b"requester" => {
                let name = row.string("requester");
                let public = match (
                    row.time("first_public_epoch")?,
                    row.time("last_public_epoch")?,
                ) {
                    (Some(first), Some(last)) => Some((first, last)),
                    _ => None,
                };
                let entry = RequesterRow {
                    counts: row.counts()?,
                    seen: (row.epoch("first_epoch")?, row.epoch("last_epoch")?),
                    public,
                    addresses: Vec::new(),
                };
                if self.requesters.insert(name.clone(), entry).is_some() {
                    return row.fail(format!("requester {name:?} twice"));
                }
                return Ok(());
            }
            b"requester_ip" => {
                let n = row.count("requests")?;
                self.requester_ips
                    .push((row.string("requester"), row.address()?, n, row.line));
                return Ok(());
            }
            b"public_ip" => {
                self.public_ips
                    .push((row.address()?, row.count("requests")?));
                return Ok(());
            }
            b"denied_private_ip" => {
                let n = row.count("requests")?;
                self.denied_private_ips.push((row.address()?, n));
                return Ok(());
            }
            b"transition" => {
                let requester = row.string("requester");
                self.transitions.push(Transition {
                    account: account_of(&requester).into(),
                    requester: requester.into(),
                    from: row.class("from_class")?,
                    to: row.class("to_class")?,
                    at: rfc3339(row.epoch("at_epoch")?),
                    remote_ip: row.address()?.to_string(),
                    likely_cause: None,
                    aws: None,
                });
                return Ok(());
            }
            _ => {}
        }
        let ips = (
            row.count("distinct_private_ips")? as usize,
            row.count("distinct_public_ips")? as usize,
        );
        match row.text("kind") {
            b"bucket" => {
                if self.total.is_some() {
                    return row.fail(format!("a second 'bucket' row for {:?}", self.name));
                }
                self.total = Some((
                    row.counts()?,
                    ips.0,
                    ips.1,
                    row.epoch("first_epoch")?,
                    row.epoch("last_epoch")?,
                ));
            }
            b"window" => {
                let start = row.epoch("window_epoch")?;
                let counts = row.counts()?;
                if self.windows.insert(start, (counts, ips.0, ips.1)).is_some() {
                    return row.fail(format!("window {} twice", rfc3339(start)));
                }
            }
            other => {
                return row.fail(format!(
                    "kind '{}' is none of window, bucket, total, requester, requester_ip, \
                     public_ip, denied_private_ip, transition",
                    escape::snippet(other, 20)
                ))
            }
        }
        Ok(())
    }

    /// The bucket's part of the report and its traffic, once its windows are checked
    /// against its row (windows of `interval` seconds).
    fn report(mut self, interval: i64, zone: Zone) -> Result<(BucketReport, Traffic), AthenaError> {
        let fail = |problem: String| {
            Err(AthenaError::Results {
                at: Position::File,
                problem,
            })
        };
        let Some((counts, private_ips, public_ips, first, last)) = self.total else {
            return fail(format!(
                "bucket {:?} has windows but no 'bucket' row",
                self.name
            ));
        };
        let mut windows = Traffic::default();
        let mut timeline = Vec::with_capacity(self.windows.len());
        for (&start, (c, private, public)) in &self.windows {
            if zone.window(start, interval).0 != start {
                return fail(format!(
                    "bucket {:?}: {start} is not the start of a {} window{}",
                    self.name,
                    interval_name(interval),
                    zone.note()
                ));
            }
            windows = checked_sum(windows, c).ok_or_else(|| AthenaError::Results {
                at: Position::File,
                problem: format!(
                    "bucket {:?}: its windows add up to more requests or bytes than 64 bits hold",
                    self.name
                ),
            })?;
            timeline.push(Point::new(start, c, *private, *public));
        }
        if windows != counts {
            return fail(format!(
                "bucket {:?}: its windows add up to {} requests, its 'bucket' row says {}",
                self.name, windows.requests, counts.requests
            ));
        }
        for (name, ip, n, line) in std::mem::take(&mut self.requester_ips) {
            match self.requesters.get_mut(&name) {
                Some(r) => r.addresses.push((ip, n)),
                None => {
                    return Err(AthenaError::Results {
                        at: Position::Line(line),
                        problem: format!("an address of requester {name:?}, which has no row"),
                    })
                }
            }
        }
        let mut by_requesters = Traffic::default();
        for r in self.requesters.values() {
            by_requesters =
                checked_sum(by_requesters, &r.counts).ok_or_else(|| AthenaError::Results {
                    at: Position::File,
                    problem: format!(
                        "bucket {:?}: its requesters add up to more requests or bytes than 64 bits hold",
                        self.name
                    ),
                })?;
        }
        if by_requesters != counts {
            return fail(format!(
                "bucket {:?}: its requesters add up to {} requests, its 'bucket' row says {}",
                self.name, by_requesters.requests, counts.requests
            ));
        }
        let accounts = accounts_of(self.requesters.iter().map(|(n, r)| (n.as_str(), &r.counts)));
        let talkers = self
            .requesters
            .iter()
            .map(|(name, r)| Talker {
                name: name.clone(),
                requests: r.counts.requests,
                aws: None,
            })
            .collect();
        let requesters = self
            .requesters
            .into_iter()
            .map(|(name, r)| {
                Requester::new(name, &r.counts, r.seen, r.public, r.addresses.into_iter())
            })
            .collect();
        let denied_private_ips = top_addresses(self.denied_private_ips.into_iter());
        let mut transitions = self.transitions;
        transitions.sort_by(|a, b| (&a.at, &a.requester).cmp(&(&b.at, &b.requester)));
        let report = BucketReport {
            warnings: warnings(&counts, &denied_private_ips),
            top_public_ips: top_addresses(self.public_ips.into_iter()),
            denied_private_ips,
            top_requesters: top(talkers),
            requesters: requester_list(requesters),
            transitions,
            accounts,
            ..BucketReport::of(
                self.name,
                &counts,
                (first, last),
                (private_ips, public_ips),
                timeline,
            )
        };
        Ok((report, counts))
    }
}

/// The `total` row.
struct Total {
    counts: Traffic,
    lines: u64,
    rejected: u64,
    inputs: u64,
    interval: i64,
    since: Option<i64>,
    until: Option<i64>,
    first: Option<i64>,
    last: Option<i64>,
    ranges: Vec<String>,
    zone: String,
}

/// Reads the CSV of `vpce-audit athena query` and builds the report.
pub fn read<R: Read>(reader: R) -> Result<Report, AthenaError> {
    read_rows(reader, MAX_ROWS)
}

/// [`read`], with at most `max_rows` rows.
fn read_rows<R: Read>(reader: R, max_rows: u64) -> Result<Report, AthenaError> {
    let since_row = SinceRow::default();
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(READ_AHEAD as usize)
        .from_reader(RowBound {
            inner: reader,
            since_row: Rc::clone(&since_row),
        });
    let header = csv.byte_headers()?.clone();
    let mut index = [0usize; RESULT_COLUMNS.len()];
    for (slot, name) in index.iter_mut().zip(RESULT_COLUMNS) {
        *slot = header
            .iter()
            .position(|h| h == name.as_bytes())
            .ok_or_else(|| AthenaError::Results {
                at: Position::Line(1),
                problem: format!("no column '{name}': not the result of `vpce-audit athena query`"),
            })?;
    }

    let mut buckets: BTreeMap<Vec<u8>, BucketRows> = BTreeMap::new();
    let mut total: Option<Total> = None;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    while csv.read_byte_record(&mut record)? {
        since_row.set(0);
        rows += 1;
        if rows > max_rows {
            return Err(AthenaError::Results {
                at: Position::Line(record.position().map_or(0, |p| p.line())),
                problem: format!(
                    "more than {max_rows} rows, the limit: narrow the query with --since, \
                     --until or --bucket"
                ),
            });
        }
        let row = Row {
            record: &record,
            index: &index,
            line: record.position().map_or(0, |p| p.line()),
        };
        if row.text("kind") == b"total" {
            if total.is_some() {
                return row.fail("a second 'total' row".into());
            }
            total = Some(row.total()?);
            continue;
        }
        let name = row.text("bucket").to_vec();
        let entry = buckets.entry(name.clone()).or_insert_with(|| BucketRows {
            name: escape::lossy(&name).into_owned(),
            ..BucketRows::default()
        });
        entry.add(&row)?;
    }
    let Some(total) = total else {
        return Err(AthenaError::Results {
            at: Position::File,
            problem: "no 'total' row: not the complete result of `vpce-audit athena query`".into(),
        });
    };
    build(total, buckets.into_values().collect())
}

fn build(total: Total, buckets: Vec<BucketRows>) -> Result<Report, AthenaError> {
    let fail = |problem: String| {
        Err(AthenaError::Results {
            at: Position::File,
            problem,
        })
    };
    let mut sum = Traffic::default();
    let mut reports = Vec::with_capacity(buckets.len());
    for b in buckets {
        let (report, counts) = b.report(total.interval, Zone::named(&total.zone))?;
        sum = checked_sum(sum, &counts).ok_or_else(|| AthenaError::Results {
            at: Position::File,
            problem: "the buckets add up to more requests or bytes than 64 bits hold".into(),
        })?;
        reports.push(report);
    }
    if sum != total.counts {
        return fail(format!(
            "the buckets add up to {} requests, the 'total' row says {}",
            sum.requests, total.counts.requests
        ));
    }
    if total.rejected > total.lines || total.counts.requests > total.lines - total.rejected {
        return fail(format!(
            "{} lines cannot hold {} rejected and {} matched",
            total.lines, total.rejected, total.counts.requests
        ));
    }
    let interval = interval_name(total.interval);
    let c = &total.counts;
    let summary = Summary {
        inputs: total.inputs,
        lines: total.lines,
        parsed: total.lines - total.rejected,
        rejected: total.rejected,
        matched: c.requests,
        interval,
        interval_seconds: total.interval,
        since: total.since.map(rfc3339),
        until: total.until.map(rfc3339),
        first: total.first.map(rfc3339),
        last: total.last.map(rfc3339),
        private_ranges: total.ranges,
        buckets: reports.len(),
        not_available: NOT_AVAILABLE.to_vec(),
        time_zone: if total.zone.is_empty() {
            "UTC".to_string()
        } else {
            total.zone
        },
        ..Summary::of(c)
    };
    Ok(Report {
        schema_version: crate::report::SCHEMA_VERSION,
        summary,
        buckets: reports.into(),
        inputs: None,
        rejections: Vec::new(),
        errors: Vec::new(),
        changes: Vec::new(),
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "\"kind\",\"bucket\",\"window_start\",\"window_epoch\",\"requests\",\"private\",\"private_denied\",\"public\",\"internal\",\"public_denied\",\"public_rejected\",\"public_allowed\",\"distinct_private_ips\",\"distinct_public_ips\",\"bytes_sent\",\"first_epoch\",\"last_epoch\",\"lines\",\"rejected\",\"inputs\",\"interval_seconds\",\"since_epoch\",\"until_epoch\",\"private_ranges\",\"requester\",\"address\",\"from_class\",\"to_class\",\"at_epoch\",\"first_public_epoch\",\"last_public_epoch\",\"time_zone\"\n";

    fn csv(rows: &[&str]) -> String {
        let mut s = HEADER.to_string();
        for r in rows {
            s.push_str(r);
            s.push('\n');
        }
        s
    }

    const TOTAL: &str = "\"total\",,,,\"5\",\"3\",\"1\",\"2\",\"0\",\"1\",\"0\",\"1\",\"2\",\"1\",\"50\",\"0\",\"3700\",\"7\",\"1\",\"2\",\"3600\",,,\"10.0.0.0/8 fc00::/7\",,,,,,,,\"UTC\"";
    const BUCKET: &str = "\"bucket\",\"b\",,,\"5\",\"3\",\"1\",\"2\",\"0\",\"1\",\"0\",\"1\",\"2\",\"1\",\"50\",\"0\",\"3700\",,,,,,,,,,,,,,,";
    const W0: &str = "\"window\",\"b\",\"1970-01-01T00:00:00Z\",\"0\",\"3\",\"2\",\"1\",\"1\",\"0\",\"1\",\"0\",\"0\",\"1\",\"1\",\"30\",\"0\",\"10\",,,,,,,,,,,,,,,";
    const W1: &str = "\"window\",\"b\",\"1970-01-01T01:00:00Z\",\"3600\",\"2\",\"1\",\"0\",\"1\",\"0\",\"0\",\"0\",\"1\",\"1\",\"1\",\"20\",\"3600\",\"3700\",,,,,,,,,,,,,,,";
    const ROLE: &str = "\"requester\",\"b\",,,\"4\",\"3\",\"1\",\"1\",\"0\",\"0\",\"0\",\"1\",,,\"40\",\"0\",\"3700\",,,,,,,,\"arn:aws:sts::111122223333:assumed-role/r\",,,,,\"3700\",\"3700\",";
    const ANONYMOUS: &str = "\"requester\",\"b\",,,\"1\",\"0\",\"0\",\"1\",\"0\",\"1\",\"0\",\"0\",,,\"10\",\"5\",\"5\",,,,,,,,\"anonymous\",,,,,\"5\",\"5\",";
    const ROLE_IP: &str = "\"requester_ip\",\"b\",,,\"1\",,,,,,,,,,,,,,,,,,,,\"arn:aws:sts::111122223333:assumed-role/r\",\"52.79.54.241\",,,,,,";
    const SWITCH: &str = "\"transition\",\"b\",,,,,,,,,,,,,,,,,,,,,,,\"arn:aws:sts::111122223333:assumed-role/r\",\"52.79.54.241\",\"private\",\"public\",\"3700\",,,";

    #[test]
    fn rows_become_the_report_model() {
        let all = [TOTAL, BUCKET, W0, W1, ROLE, ANONYMOUS, ROLE_IP, SWITCH];
        let r = read(csv(&all).as_bytes()).unwrap();
        assert_eq!(r.summary.lines, 7);
        assert_eq!((r.summary.parsed, r.summary.rejected), (6, 1));
        assert_eq!(r.summary.interval, "1h");
        assert_eq!(r.summary.private_ranges, ["10.0.0.0/8", "fc00::/7"]);
        assert_eq!(r.summary.first.as_deref(), Some("1970-01-01T00:00:00Z"));
        let b = r.buckets.get(0);
        assert_eq!(b.verdict, crate::report::Verdict::Mixed);
        assert_eq!((b.public_allowed, b.distinct_private_ips), (1, 2));
        assert_eq!((b.private_denied, r.summary.private_denied), (1, 1));
        assert_eq!(b.timeline[0].private_denied, 1);
        assert_eq!(b.timeline.len(), 2);
        assert_eq!(b.timeline[1].start, "1970-01-01T01:00:00Z");
        assert_eq!(b.timeline[0].public_allowed, 0);
        assert_eq!(r.summary.not_available, NOT_AVAILABLE);
        assert_eq!(
            b.requesters[0].requester,
            "arn:aws:sts::111122223333:assumed-role/r"
        );
        assert_eq!(b.requesters[0].top_public_ips[0].name, "52.79.54.241");
        assert_eq!(
            b.requesters[1].first_public.as_deref(),
            Some("1970-01-01T00:00:05Z")
        );
        assert_eq!(b.accounts.len(), 2);
        assert_eq!(b.transitions[0].at, "1970-01-01T01:01:40Z");
        assert_eq!(b.top_requesters[0].requests, 4);
    }

    /// Every row's counts must add up: requests are private + public + internal, and
    /// no more are denied or refused than there were; no count is negative.
    #[test]
    fn counts_that_do_not_add_up_or_are_negative_are_refused() {
        let internal = TOTAL.replacen(
            "\"5\",\"3\",\"1\",\"2\",\"0\"",
            "\"4\",\"3\",\"1\",\"2\",\"1\"",
            1,
        );
        let refused = TOTAL.replacen(
            "\"2\",\"0\",\"1\",\"0\",\"1\"",
            "\"2\",\"0\",\"1\",\"2\",\"1\"",
            1,
        );
        let negative = TOTAL.replacen("\"50\"", "\"-50\"", 1);
        for (row, message) in [
            (
                &internal,
                "requests 4 is not private 3 + public 2 + internal 1",
            ),
            (&refused, "more denied or rejected than there were"),
            (&negative, "bytes_sent is negative (-50)"),
        ] {
            assert_ne!(row, TOTAL);
            let e = read(csv(&[row, BUCKET, W0, W1]).as_bytes()).unwrap_err();
            assert!(e.to_string().contains(message), "{e}");
        }
    }

    /// A bucket's top public addresses and the private addresses refused through the
    /// endpoint come from their own rows.
    #[test]
    fn address_rows_become_the_buckets_top_addresses() {
        let address = |kind: &str, ip: &str, n: u64| {
            format!("\"{kind}\",\"b\",,,\"{n}\",,,,,,,,,,,,,,,,,,,,,\"{ip}\",,,,,,")
        };
        let public = address("public_ip", "52.79.54.241", 1);
        let denied = address("denied_private_ip", "10.0.3.57", 1);
        let r = read(csv(&[TOTAL, BUCKET, W0, W1, ROLE, ANONYMOUS, &public, &denied]).as_bytes())
            .unwrap();
        let b = r.buckets.get(0);
        let names = |list: &[crate::report::Talker]| -> Vec<(String, u64)> {
            list.iter().map(|n| (n.name.clone(), n.requests)).collect()
        };
        assert_eq!(names(&b.top_public_ips), [("52.79.54.241".to_string(), 1)]);
        assert_eq!(names(&b.denied_private_ips), [("10.0.3.57".to_string(), 1)]);
        assert_eq!(b.bucket, "b");
        assert!(
            b.warnings[0].contains("denied (HTTP 403 AccessDenied), from 10.0.3.57 (1)"),
            "{:?}",
            b.warnings
        );
    }

    /// The `total` row's lines must hold its rejected lines and matched requests: as
    /// many as that is fine, fewer is refused.
    #[test]
    fn the_lines_must_hold_the_rejected_and_the_matched() {
        let with_lines = |lines: u64, rejected: u64| {
            TOTAL.replacen(
                "\"3700\",\"7\",\"1\",\"2\"",
                &format!("\"3700\",\"{lines}\",\"{rejected}\",\"2\""),
                1,
            )
        };
        let all = |total: &str| csv(&[total, BUCKET, W0, W1, ROLE, ANONYMOUS]);
        // Every line rejected, no request: nothing to refuse.
        let none = "\"total\",,,,\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",,,\"3\",\"3\",\"1\",\"3600\",,,\"10.0.0.0/8\",,,,,,,,\"UTC\"";
        let empty = read(csv(&[none]).as_bytes()).unwrap();
        assert_eq!((empty.summary.lines, empty.summary.rejected), (3, 3));
        let exact = read(all(&with_lines(6, 1)).as_bytes()).unwrap();
        assert_eq!(
            (
                exact.summary.lines,
                exact.summary.parsed,
                exact.summary.matched
            ),
            (6, 5, 5)
        );
        assert_eq!(exact.summary.inputs, 2);
        for (lines, rejected) in [(5, 1), (7, 8), (0, 1)] {
            let e = read(all(&with_lines(lines, rejected)).as_bytes()).unwrap_err();
            assert!(
                e.to_string().contains(&format!(
                    "{lines} lines cannot hold {rejected} rejected and 5 matched"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn the_total_row_becomes_the_summary() {
        let total = TOTAL
            .replacen("\"3600\",,,", "\"3600\",\"0\",\"7200\",", 1)
            .replacen("\"UTC\"", "\"Asia/Seoul\"", 1);
        assert_ne!(total, TOTAL);
        let r = read(csv(&[&total, BUCKET, W0, W1, ROLE, ANONYMOUS]).as_bytes()).unwrap();
        let s = &r.summary;
        assert_eq!(
            (s.interval_seconds, s.buckets, s.inputs, s.matched),
            (3600, 1, 2, 5)
        );
        assert_eq!(
            (s.since.as_deref(), s.until.as_deref()),
            (Some("1970-01-01T00:00:00Z"), Some("1970-01-01T02:00:00Z"))
        );
        assert_eq!(
            (s.first.as_deref(), s.last.as_deref()),
            (Some("1970-01-01T00:00:00Z"), Some("1970-01-01T01:01:40Z"))
        );
        assert_eq!(s.time_zone, "Asia/Seoul");
    }

    #[test]
    fn rows_and_rows_lengths_are_bounded() {
        let all = [TOTAL, BUCKET, W0, W1, ROLE, ANONYMOUS, ROLE_IP, SWITCH];
        let text = csv(&all);
        assert!(read_rows(text.as_bytes(), 8).is_ok());
        let e = read_rows(text.as_bytes(), 7).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Athena results, line 9: more than 7 rows, the limit: narrow the query with \
             --since, --until or --bucket"
        );
        let long = W1.replace("\"b\"", &format!("\"{}\"", "b".repeat(200 * 1024)));
        let e = read(csv(&[TOTAL, BUCKET, W0, &long, ROLE, ANONYMOUS]).as_bytes()).unwrap_err();
        assert!(e.to_string().ends_with("a row longer than 64 KiB"), "{e}");
    }

    #[test]
    fn rows_that_do_not_add_up_are_refused() {
        let e = read(csv(&[TOTAL, BUCKET, W0, ROLE, ANONYMOUS]).as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("windows add up to 3 requests"),
            "{e}"
        );
        let e = read(csv(&[TOTAL, BUCKET, W0, W1, ROLE]).as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("requesters add up to 4 requests"),
            "{e}"
        );
        let e = read(csv(&[TOTAL, BUCKET, W0, W1, ANONYMOUS, ROLE_IP]).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("which has no row"), "{e}");
        let e = read(csv(&[BUCKET, W0, W1]).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no 'total' row"), "{e}");
        let e = read(csv(&[TOTAL, W0, W1]).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no 'bucket' row"), "{e}");
        let bad = W1.replace("\"2\",\"1\",\"0\",\"1\"", "\"2\",\"1\",\"0\",\"x\"");
        let e = read(csv(&[TOTAL, BUCKET, W0, &bad]).as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Athena results, line 5: public 'x' is not an integer"
        );
        let more_denied = W1.replace("\"2\",\"1\",\"0\",\"1\"", "\"2\",\"1\",\"2\",\"1\"");
        let e = read(csv(&[TOTAL, BUCKET, W0, &more_denied]).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("more denied or rejected"), "{e}");
        let e = read("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no column 'kind'"), "{e}");
    }

    /// A reader that hands out at most `chunk` bytes a call, as a pipe or a slow
    /// network may.
    struct Trickle<'a> {
        text: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.text.len());
            buf[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            Ok(n)
        }
    }

    /// A row may take 128 KiB, its line end included ([`MAX_ROW_BYTES`], 64 KiB, and
    /// the CSV reader's read-ahead of 64 KiB), and not one byte more, whatever size the
    /// reads come in: a byte at a time (the bytes read for a row are then the row's),
    /// or in chunks of 1000 bytes, which never add up to the bound exactly (a row is
    /// then refused once a chunk past the bound; its first bytes may have come with the
    /// row before).
    #[test]
    fn a_row_is_refused_one_byte_past_the_bound_whatever_the_reads() {
        let bound = 128 * 1024;
        // W1 for a bucket whose name makes the row, with its '\n', `len` bytes long.
        let row_of = |len: u64| {
            let name = "b".repeat(len as usize - W1.len());
            W1.replacen("\"b\"", &format!("\"{name}\""), 1)
        };
        let too_long = |text: &str, chunk: usize| {
            let e = read(Trickle {
                text: text.as_bytes(),
                chunk,
            })
            .unwrap_err();
            e.to_string().ends_with("a row longer than 64 KiB")
        };
        let fits = csv(&[TOTAL, &row_of(bound)]);
        let over = csv(&[TOTAL, &row_of(bound + 1)]);
        assert_eq!(row_of(bound).len() as u64 + 1, bound);
        // The row that fits is read, and refused for what it says (a bucket with a
        // window and no 'bucket' row), not for its length.
        assert!(!too_long(&fits, 1));
        assert!(too_long(&over, 1));
        assert!(too_long(&csv(&[TOTAL, &row_of(bound + 1000)]), 1000));
    }

    /// Every time column is refused outside the years 0000 to 9999, which RFC 3339
    /// cannot write: the report never shows a time it cannot write as one.
    #[test]
    fn times_outside_the_years_0000_to_9999_are_refused() {
        let after = crate::time::LAST + 1;
        let first = TOTAL.replacen("\"0\",\"3700\"", &format!("\"{after}\",\"3700\""), 1);
        assert_ne!(first, TOTAL);
        let e = read(csv(&[&first, BUCKET, W0, W1, ROLE, ANONYMOUS]).as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Athena results, line 2: first_epoch {after} is outside the years 0000 to 9999"
            )
        );
        let before = crate::time::FIRST - 1;
        let since = TOTAL.replacen("\"3600\",,,", &format!("\"3600\",\"{before}\",,"), 1);
        let e = read(csv(&[&since, BUCKET, W0, W1, ROLE, ANONYMOUS]).as_bytes()).unwrap_err();
        assert!(
            e.to_string().ends_with(&format!(
                "since_epoch {before} is outside the years 0000 to 9999"
            )),
            "{e}"
        );
    }
}
