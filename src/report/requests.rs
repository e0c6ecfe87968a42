//! `vpce-audit requests`: one output row per matched request, like the Athena `SELECT`
//! auditors run today, as `table`, `csv` or `ndjson`.
//!
//! Rows are written as they are parsed; the table is printed in pages, so a listing of
//! millions of requests never sits in memory.

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use ipnet::IpNet;

use super::grid::{Cell, Column, Grid, Kind, Screen, Tone};
use crate::arn::{account_of, principal, requester_name};
use crate::check::wildcard;
use crate::classify::Class;
use crate::escape;
use crate::ipranges::AwsRanges;
use crate::record::{Field, Record, Value};
use crate::time::{rfc3339, Zone};

/// The forms of the listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// Paged terminal table of the main columns.
    Table,
    /// Every field plus `class`, `source`, `line` and `vpc_endpoint_id`; `-` fields
    /// are empty cells.
    Csv,
    /// One JSON object per line: every field in snake_case plus `class`, `source`,
    /// `line` (where the request is in the input) and `vpc_endpoint_id`.
    Ndjson,
}

const TABLE_PAGE: usize = 500;
const TRAILER: [&str; 4] = ["class", "source", "line", "vpc_endpoint_id"];
/// With `--aws-ip-ranges`, after the trailer: the AWS range of a public address.
const AWS_COLUMNS: [&str; 2] = ["aws_service", "aws_region"];
/// The fields of the table form, in order, after the class.
const TABLE_COLUMNS: [Field; 8] = [
    Field::Time,
    Field::Bucket,
    Field::RemoteIp,
    Field::Requester,
    Field::Operation,
    Field::HttpStatus,
    Field::ErrorCode,
    Field::Key,
];
/// The columns of the table form: [`TABLE_COLUMNS`] with the class after the address.
const GRID: [Column; 9] = [
    Column::keep("time", Kind::Atom),
    Column::drop("bucket", Kind::Text, 4),
    Column::keep("remote IP", Kind::Atom),
    Column::keep("class", Kind::Atom),
    Column::keep("requester", Kind::Text),
    Column::drop("operation", Kind::Atom, 3),
    Column::keep("status", Kind::Number),
    Column::drop("error code", Kind::Atom, 2),
    Column::drop("key", Kind::Clip, 5),
];

/// Streams requests to `out` in one format.
pub struct RequestWriter<W: Write> {
    form: Form,
    out: Option<W>,
    csv: Option<::csv::Writer<W>>,
    page: Grid,
    screen: Screen,
    zone: Zone,
    protect_csv: bool,
    written: u64,
    ranges: Option<AwsRanges>,
    /// Has the CSV header been written?
    header: bool,
}

impl<W: Write> RequestWriter<W> {
    /// A paged terminal table of the main columns, fitted to `screen`, times in `zone`.
    pub fn table(out: W, screen: Screen, zone: Zone) -> Self {
        Self::new(Form::Table, out, screen, zone, false)
    }

    /// CSV of every field, times in `zone`; `protect` neutralises spreadsheet formulas
    /// in cells.
    pub fn csv(out: W, protect: bool, zone: Zone) -> Self {
        Self::new(Form::Csv, out, Screen::PLAIN, zone, protect)
    }

    /// One JSON object per line (times in UTC).
    pub fn ndjson(out: W) -> Self {
        Self::new(Form::Ndjson, out, Screen::PLAIN, Zone::Utc, false)
    }

    fn new(form: Form, out: W, screen: Screen, zone: Zone, protect_csv: bool) -> Self {
        let (out, csv) = match form {
            Form::Csv => (None, Some(::csv::Writer::from_writer(out))),
            _ => (Some(out), None),
        };
        RequestWriter {
            form,
            out,
            csv,
            page: Grid::new(&GRID),
            screen,
            zone,
            protect_csv,
            written: 0,
            ranges: None,
            header: false,
        }
    }

    /// Tags public addresses with their AWS range: `aws_service` and `aws_region`
    /// (both null outside AWS, and for private and internal requests); in the table,
    /// the range after the address. Call before the first row.
    pub fn with_aws_ranges(mut self, ranges: AwsRanges) -> Self {
        self.ranges = Some(ranges);
        self
    }

    /// The CSV header, before the first row (or at the end, for no row).
    fn write_header(&mut self) {
        if std::mem::replace(&mut self.header, true) {
            return;
        }
        let aws = self.ranges.is_some();
        if let Some(csv) = self.csv.as_mut() {
            let names = Field::ALL
                .iter()
                .map(|f| f.key())
                .chain(TRAILER)
                .chain(AWS_COLUMNS.into_iter().filter(|_| aws));
            // The header cannot fail to encode; a write error shows on the next row.
            let _ = csv.write_record(names);
        }
    }

    /// Writes one request, found at `line` of `source`.
    pub fn write(
        &mut self,
        r: &Record<'_>,
        class: Class,
        source: &str,
        line: u64,
    ) -> io::Result<()> {
        self.write_header();
        self.written += 1;
        match self.form {
            Form::Ndjson => {
                let aws = aws(self.ranges.as_ref(), r, class);
                let out = self.out.as_mut().expect("ndjson writes to out");
                let json = JsonRecord {
                    record: r,
                    class,
                    source,
                    line,
                    aws,
                };
                escape::write_json(&mut *out, &json, false)?;
                out.write_all(b"\n")
            }
            Form::Csv => {
                let protect = self.protect_csv;
                let cell = |text: &str| -> String {
                    if protect {
                        escape::csv_cell(text).into_owned()
                    } else {
                        text.to_string()
                    }
                };
                let aws = aws(self.ranges.as_ref(), r, class).map(|(s, r)| {
                    (
                        s.unwrap_or_default().to_string(),
                        r.unwrap_or_default().to_string(),
                    )
                });
                let csv = self.csv.as_mut().expect("csv has a writer");
                for field in Field::ALL {
                    let text = match r.get(field) {
                        Value::Time(t) => self.zone.show_secs(t),
                        v => plain(v),
                    };
                    csv.write_field(cell(&text))?;
                }
                csv.write_field(class.name())?;
                csv.write_field(cell(source))?;
                csv.write_field(line.to_string())?;
                csv.write_field(cell(
                    &r.vpc_endpoint_id.map(escape::lossy).unwrap_or_default(),
                ))?;
                if let Some((service, region)) = aws {
                    csv.write_field(service)?;
                    csv.write_field(region)?;
                }
                csv.write_record(None::<&[u8]>)?;
                Ok(())
            }
            Form::Table => {
                let mut row: Vec<Cell> = TABLE_COLUMNS
                    .iter()
                    .map(|&f| {
                        Cell::from(match (f, r.get(f)) {
                            (Field::Requester, _) => escape::terminal(
                                requester_name(r.requester.unwrap_or(b"-")).as_bytes(),
                            )
                            .into_owned(),
                            (Field::RemoteIp, Value::Ip(ip)) => {
                                match aws(self.ranges.as_ref(), r, class) {
                                    Some((Some(s), Some(region))) => format!("{ip} ({s} {region})"),
                                    Some(_) if class == Class::Public => {
                                        format!("{ip} ({})", crate::ipranges::OUTSIDE)
                                    }
                                    _ => ip.to_string(),
                                }
                            }
                            (_, Value::Text(t)) => escape::terminal(t).into_owned(),
                            (_, Value::Time(t)) => self.zone.show_secs(t),
                            (_, Value::Missing) => "-".to_string(),
                            (_, v) => plain(v),
                        })
                    })
                    .collect();
                row.insert(
                    3,
                    Cell::from(class.name()).tone_if(class == Class::Public, Tone::Bad),
                );
                self.page.row(row);
                if self.page.len() == TABLE_PAGE {
                    self.flush_page()?;
                }
                Ok(())
            }
        }
    }

    fn flush_page(&mut self) -> io::Result<()> {
        if self.page.is_empty() {
            return Ok(());
        }
        let page = std::mem::replace(&mut self.page, Grid::new(&GRID));
        let out = self.out.as_mut().expect("table writes to out");
        page.write(out, &self.screen)
    }

    /// How many requests were written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes what is buffered and flushes the output; the table ends with the number
    /// of requests listed.
    pub fn finish(mut self) -> io::Result<()> {
        self.write_header();
        self.flush_page()?;
        if self.form == Form::Table {
            let out = self.out.as_mut().expect("table writes to out");
            let n = self.written;
            writeln!(out, "{n} request{} listed", if n == 1 { "" } else { "s" })?;
        }
        if let Some(csv) = self.csv.as_mut() {
            csv.flush()?;
        }
        if let Some(out) = self.out.as_mut() {
            out.flush()?;
        }
        Ok(())
    }
}

/// The AWS range of a public request's address: service and region, or neither
/// outside AWS; `None` without ranges.
fn aws<'r>(
    ranges: Option<&'r AwsRanges>,
    r: &Record<'_>,
    class: Class,
) -> Option<(Option<&'r str>, Option<&'r str>)> {
    let tag = match (class, r.remote_ip) {
        (Class::Public, Some(ip)) => ranges?.lookup(ip),
        _ => None,
    };
    ranges.map(|_| {
        (
            tag.map(|t| t.service.as_str()),
            tag.map(|t| t.region.as_str()),
        )
    })
}

/// A value as plain text: `-` fields empty, times in RFC 3339, invalid UTF-8 replaced.
fn plain(v: Value<'_>) -> String {
    match v {
        Value::Missing => String::new(),
        Value::Text(t) => escape::lossy(t).into_owned(),
        Value::Number(n) => n.to_string(),
        Value::Time(t) => rfc3339(t),
        Value::Ip(ip) => ip.to_string(),
    }
}

/// A record as a JSON object: `-` is `null`, numbers are numbers.
struct JsonRecord<'r, 'a> {
    record: &'r Record<'a>,
    class: Class,
    source: &'r str,
    line: u64,
    aws: Option<(Option<&'r str>, Option<&'r str>)>,
}

impl Serialize for JsonRecord<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Field::ALL.len() + TRAILER.len()))?;
        for field in Field::ALL {
            match self.record.get(field) {
                Value::Missing => map.serialize_entry(field.key(), &None::<()>)?,
                Value::Text(t) => map.serialize_entry(field.key(), &escape::lossy(t))?,
                Value::Number(n) => map.serialize_entry(field.key(), &n)?,
                Value::Time(t) => map.serialize_entry(field.key(), &rfc3339(t))?,
                Value::Ip(ip) => map.serialize_entry(field.key(), &ip.to_string())?,
            }
        }
        map.serialize_entry("class", &self.class)?;
        map.serialize_entry("source", self.source)?;
        map.serialize_entry("line", &self.line)?;
        let endpoint = self.record.vpc_endpoint_id.map(escape::lossy);
        map.serialize_entry("vpc_endpoint_id", &endpoint)?;
        if let Some((service, region)) = self.aws {
            map.serialize_entry("aws_service", &service)?;
            map.serialize_entry("aws_region", &region)?;
        }
        map.end()
    }
}

/// The filters of `requests` beyond those of every command: class, status, error code,
/// requester and address. Empty lists let everything through.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub classes: Vec<Class>,
    pub statuses: Vec<Status>,
    /// Error code patterns (`*` and `?` wildcards).
    pub error_codes: Vec<String>,
    /// Requester patterns: ARNs with wildcards, `anonymous`.
    pub requesters: Vec<String>,
    /// 12-digit account ids.
    pub accounts: Vec<String>,
    pub ranges: Vec<IpNet>,
}

/// An HTTP status, or a class of them (`4xx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Exactly(u16),
    Class(u16),
}

impl Status {
    /// `403` or `4xx`.
    pub fn parse(text: &str) -> Result<Status, String> {
        let b = text.as_bytes();
        match b {
            [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Ok(Status::Class(u16::from(d - b'0'))),
            [b'1'..=b'5', b'0'..=b'9', b'0'..=b'9'] => {
                Ok(Status::Exactly(text.parse().expect("three digits")))
            }
            _ => Err(format!(
                "--status {text:?}: expected an HTTP status such as 403, or a class such as 4xx"
            )),
        }
    }

    /// Does `status` match?
    pub fn matches(self, status: u16) -> bool {
        match self {
            Status::Exactly(s) => s == status,
            Status::Class(c) => status / 100 == c,
        }
    }
}

impl RequestFilter {
    /// Builds the filter; account ids are told from ARN patterns by their 12 digits,
    /// ranges may be plain addresses.
    pub fn new(
        classes: Vec<Class>,
        statuses: &[String],
        error_codes: Vec<String>,
        requesters: &[String],
        ranges: &[String],
    ) -> Result<RequestFilter, String> {
        let mut f = RequestFilter {
            classes,
            error_codes,
            ..RequestFilter::default()
        };
        for s in statuses {
            f.statuses.push(Status::parse(s)?);
        }
        for r in requesters {
            if r.is_empty() {
                return Err("--requester: the pattern is empty".into());
            }
            if r.len() == 12 && r.bytes().all(|b| b.is_ascii_digit()) {
                f.accounts.push(r.clone());
            } else {
                f.requesters.push(r.clone());
            }
        }
        for r in ranges {
            let net = r
                .parse::<IpNet>()
                .or_else(|_| r.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("--ip {r:?}: expected a CIDR such as 52.79.0.0/16, or an address")
                })?;
            f.ranges.push(net.trunc());
        }
        Ok(f)
    }

    /// Does the request pass every filter given?
    pub fn matches(&self, r: &Record<'_>, class: Class) -> bool {
        if !self.classes.is_empty() && !self.classes.contains(&class) {
            return false;
        }
        if !self.statuses.is_empty()
            && !r
                .http_status
                .is_some_and(|s| self.statuses.iter().any(|p| p.matches(s)))
        {
            return false;
        }
        if !self.error_codes.is_empty() {
            let Some(code) = r.error_code else {
                return false;
            };
            let code = escape::lossy(code);
            if !self.error_codes.iter().any(|p| wildcard::matches(p, &code)) {
                return false;
            }
        }
        if !self.ranges.is_empty()
            && !r
                .remote_ip
                .is_some_and(|ip| self.ranges.iter().any(|n| n.contains(&ip)))
        {
            return false;
        }
        if !self.requesters.is_empty() || !self.accounts.is_empty() {
            let raw = r.requester.unwrap_or(b"-");
            let who = requester_name(raw);
            let role = requester_name(principal(raw));
            let by_pattern = self
                .requesters
                .iter()
                .any(|p| wildcard::matches(p, &who) || wildcard::matches(p, &role));
            if !by_pattern && !self.accounts.contains(&account_of(&who)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        ip: &str,
        status: u16,
        code: Option<&'static str>,
        who: Option<&'static str>,
    ) -> Record<'static> {
        Record {
            remote_ip: Some(ip.parse().unwrap()),
            http_status: Some(status),
            error_code: code.map(str::as_bytes),
            requester: who.map(str::as_bytes),
            ..Record::default()
        }
    }

    #[test]
    fn statuses_are_exact_or_a_class() {
        assert_eq!(Status::parse("403"), Ok(Status::Exactly(403)));
        assert_eq!(Status::parse("4xx"), Ok(Status::Class(4)));
        for bad in ["40", "4x", "abc", "603", "4xxx", ""] {
            assert!(Status::parse(bad).is_err(), "{bad}");
        }
        assert!(Status::Class(4).matches(404) && !Status::Class(4).matches(500));
    }

    #[test]
    fn every_filter_given_must_pass() {
        let role = "arn:aws:sts::111122223333:assumed-role/ec2-s3-reader/i-0abc";
        let denied = record("52.79.54.241", 403, Some("AccessDenied"), Some(role));
        let f =
            |classes: Vec<Class>, statuses: &[&str], codes: &[&str], who: &[&str], ips: &[&str]| {
                let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
                RequestFilter::new(classes, &s(statuses), s(codes), &s(who), &s(ips)).unwrap()
            };
        assert!(f(vec![], &[], &[], &[], &[]).matches(&denied, Class::Public));
        assert!(f(vec![Class::Public], &["403"], &[], &[], &[]).matches(&denied, Class::Public));
        assert!(!f(vec![Class::Private], &[], &[], &[], &[]).matches(&denied, Class::Public));
        assert!(!f(vec![], &["2xx"], &[], &[], &[]).matches(&denied, Class::Public));
        assert!(f(vec![], &[], &["Access*"], &[], &[]).matches(&denied, Class::Public));
        assert!(!f(vec![], &[], &["NoSuchKey"], &[], &[]).matches(&denied, Class::Public));
        // The role as the report shows it, the session, or the account.
        for who in [
            "arn:aws:sts::111122223333:assumed-role/ec2-s3-reader",
            "arn:aws:sts::*:assumed-role/ec2-*/i-*",
            "111122223333",
        ] {
            assert!(
                f(vec![], &[], &[], &[who], &[]).matches(&denied, Class::Public),
                "{who}"
            );
        }
        assert!(!f(vec![], &[], &[], &["444455556666"], &[]).matches(&denied, Class::Public));
        assert!(f(vec![], &[], &[], &[], &["52.79.0.0/16"]).matches(&denied, Class::Public));
        assert!(f(vec![], &[], &[], &[], &["52.79.54.241"]).matches(&denied, Class::Public));
        assert!(!f(vec![], &[], &[], &[], &["10.0.0.0/8"]).matches(&denied, Class::Public));
        let anonymous = record("52.1.2.3", 200, None, None);
        assert!(f(vec![], &[], &[], &["anonymous"], &[]).matches(&anonymous, Class::Public));
        assert!(!f(vec![], &[], &["*"], &[], &[]).matches(&anonymous, Class::Public));
        assert!(RequestFilter::new(vec![], &[], vec![], &[], &["nonsense".into()]).is_err());
    }
}
