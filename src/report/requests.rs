//! `vpce-audit requests`: one output row per matched request, like the Athena `SELECT`
//! auditors run today, as `table`, `csv` or `ndjson`.
//!
//! Rows are written as they are parsed; the table is printed in pages, so a listing of
//! millions of requests never sits in memory.

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::table::{header, new_table};
use crate::classify::Class;
use crate::escape;
use crate::ipranges::AwsRanges;
use crate::record::{Field, Record, Value};
use crate::time::rfc3339;

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
const TABLE_COLUMNS: [Field; 7] = [
    Field::Time,
    Field::Bucket,
    Field::RemoteIp,
    Field::Requester,
    Field::Operation,
    Field::Key,
    Field::HttpStatus,
];

/// Streams requests to `out` in one format.
pub struct RequestWriter<W: Write> {
    form: Form,
    out: Option<W>,
    csv: Option<::csv::Writer<W>>,
    page: Vec<Vec<String>>,
    fit: bool,
    protect_csv: bool,
    ranges: Option<AwsRanges>,
    /// Has the CSV header been written?
    header: bool,
}

impl<W: Write> RequestWriter<W> {
    /// A paged terminal table of the main columns; `fit` wraps it to the terminal.
    pub fn table(out: W, fit: bool) -> Self {
        Self::new(Form::Table, out, fit, false)
    }

    /// CSV of every field; `protect` neutralises spreadsheet formulas in cells.
    pub fn csv(out: W, protect: bool) -> Self {
        Self::new(Form::Csv, out, false, protect)
    }

    /// One JSON object per line.
    pub fn ndjson(out: W) -> Self {
        Self::new(Form::Ndjson, out, false, false)
    }

    fn new(form: Form, out: W, fit: bool, protect_csv: bool) -> Self {
        let (out, csv) = match form {
            Form::Csv => (None, Some(::csv::Writer::from_writer(out))),
            _ => (Some(out), None),
        };
        RequestWriter {
            form,
            out,
            csv,
            page: Vec::new(),
            fit,
            protect_csv,
            ranges: None,
            header: false,
        }
    }

    /// Tags public addresses with their AWS range: `aws_service` and `aws_region`
    /// (both null outside AWS, and for private and internal requests); in the table,
    /// one `aws` column. Call before the first row.
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
                serde_json::to_writer(&mut *out, &json)?;
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
                    csv.write_field(cell(&plain(r.get(field))))?;
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
                let mut row: Vec<String> = TABLE_COLUMNS
                    .iter()
                    .map(|&f| match r.get(f) {
                        Value::Text(t) => escape::terminal(t).into_owned(),
                        v => plain(v),
                    })
                    .collect();
                row.insert(3, class.name().to_string());
                if let Some((service, region)) = aws(self.ranges.as_ref(), r, class) {
                    row.push(match (service, region) {
                        (Some(s), Some(r)) => format!("{s} {r}"),
                        _ if class == Class::Public => crate::ipranges::OUTSIDE.to_string(),
                        _ => String::new(),
                    });
                }
                self.page.push(row);
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
        let mut t = new_table(self.fit);
        let mut names: Vec<&str> = TABLE_COLUMNS.iter().map(|f| f.key()).collect();
        names.insert(3, "class");
        if self.ranges.is_some() {
            names.push("aws");
        }
        t.set_header(header(&names));
        for row in self.page.drain(..) {
            t.add_row(row);
        }
        let out = self.out.as_mut().expect("table writes to out");
        writeln!(out, "{t}")
    }

    /// Writes what is buffered and flushes the output.
    pub fn finish(mut self) -> io::Result<()> {
        self.write_header();
        self.flush_page()?;
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
