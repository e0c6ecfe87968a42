//! `vpce-audit athena ddl`: the `CREATE EXTERNAL TABLE` that lets Athena read S3 server
//! access logs.
//!
//! The table uses Hive's RegexSerDe with one regular expression for every era of the
//! format. The expression follows [`crate::parse`] as far as a regular expression can:
//!
//! * fields are separated by one or more spaces; trailing blanks are allowed;
//! * the time must look like `[06/Feb/2019:00:00:38 +0000]`; the remote IP must be `-`,
//!   a dotted quad without leading zeros, or IPv6-shaped; the status `-` or three
//!   digits; sizes and times `-` or at most 20 digits;
//! * quotes inside quoted fields are not escaped by S3, so the request-URI ends at the
//!   first quote after which the rest of the line matches, the referer likewise, and
//!   the user-agent at the last quote after which only unquoted fields follow;
//! * 17 fields are required; fields 18 to 27 are captured when present and anything
//!   after the 27th is accepted and ignored.
//!
//! What a regular expression cannot check is left to the query ([`super::sql`]): a
//! real calendar date and in-range clock and offset, and (on Trino) a valid IPv6
//! address. Lines the expression does not match come back from Athena as rows whose
//! columns are all NULL; the query counts them as rejected.
//!
//! The expression uses only what Java's `java.util.regex` (Athena) and RE2 (DuckDB, the
//! equality test) both implement with the same leftmost-first semantics: no look-around,
//! no back-references; `(?s)` so that `.` also matches the line separators Java's `.`
//! would otherwise refuse.
//!
//! Partition projection maps a partition to an S3 *prefix*. The date-partitioned
//! layout has one prefix per account, region, bucket and day, so Athena computes the
//! partitions from the query's `WHERE` and lists only those prefixes. The simple layout
//! puts every object in one flat prefix whose names merely *start* with the date; no
//! projection template can address such a file group, so that table is not partitioned
//! and every query reads every log object under the location.

use std::fmt::Write as _;

use chrono::NaiveDate;

use super::{AthenaError, Layout, Table, PARTITION_COLUMNS};

/// The columns, in log order, with their Hive types. The names are the ones AWS's own
/// documentation uses, so existing Athena queries over access logs keep working.
pub const COLUMNS: [(&str, &str); 27] = [
    ("bucketowner", "STRING"),
    ("bucket_name", "STRING"),
    ("requestdatetime", "STRING"),
    ("remoteip", "STRING"),
    ("requester", "STRING"),
    ("requestid", "STRING"),
    ("operation", "STRING"),
    ("key", "STRING"),
    ("request_uri", "STRING"),
    ("httpstatus", "STRING"),
    ("errorcode", "STRING"),
    ("bytessent", "BIGINT"),
    ("objectsize", "BIGINT"),
    ("totaltime", "STRING"),
    ("turnaroundtime", "STRING"),
    ("referrer", "STRING"),
    ("useragent", "STRING"),
    ("versionid", "STRING"),
    ("hostid", "STRING"),
    ("sigv", "STRING"),
    ("ciphersuite", "STRING"),
    ("authtype", "STRING"),
    ("endpoint", "STRING"),
    ("tlsversion", "STRING"),
    ("accesspointarn", "STRING"),
    ("aclrequired", "STRING"),
    ("sourceregion", "STRING"),
];

const OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

/// The RegexSerDe expression: one capturing group per column of [`COLUMNS`]. Quoted
/// fields capture their text without the quotes, and nothing (NULL) for a bare `-`.
pub fn regex() -> String {
    let token = " +([^ ]+)";
    let number = " +(-|[0-9]{1,20})";
    let mut re = String::from("(?s)^([^ ]+)");
    re.push_str(token); // bucket
    re.push_str(r" +\[([0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4})\]");
    let _ = write!(
        re,
        r" +(-|{OCTET}(?:\.{OCTET}){{3}}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)"
    );
    for _ in 0..4 {
        re.push_str(token); // requester, request ID, operation, key
    }
    re.push_str(r#" +(?:-|"(.*?)")"#); // request-URI: first quote the rest accepts
    re.push_str(" +(-|[0-9]{3})"); // HTTP status
    re.push_str(token); // error code
    for _ in 0..4 {
        re.push_str(number); // bytes sent, object size, total time, turn-around time
    }
    re.push_str(r#" +(?:-|"(.*?)")"#); // referer
    re.push_str(r#" +(?:-|"(.*)")"#); // user-agent: last quote before unquoted fields
    for _ in 17..27 {
        re.push_str("(?: +([^ ]+))?");
    }
    re.push_str(r"(?: +[^ ]+)*[ \t\r]*$");
    re
}

/// Partition projection of the date-partitioned layout: which values each partition
/// column can take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Projection {
    /// Source account IDs (12 digits).
    pub accounts: Vec<String>,
    /// Source regions, e.g. `ap-northeast-2`.
    pub regions: Vec<String>,
    /// Source bucket names.
    pub buckets: Vec<String>,
    /// First day of logs.
    pub from: NaiveDate,
    /// Last day of logs; `None` is Athena's `NOW`.
    pub to: Option<NaiveDate>,
}

/// Everything the DDL statement needs.
#[derive(Clone, Debug)]
pub struct Ddl {
    pub table: Table,
    location: String,
    projection: Option<Projection>,
}

impl Ddl {
    /// Checks the location and, for [`Layout::Partitioned`], the projection values.
    pub fn new(
        table: Table,
        location: &str,
        projection: Option<Projection>,
    ) -> Result<Ddl, AthenaError> {
        let mut location = location.to_string();
        let path = location.strip_prefix("s3://").unwrap_or("");
        let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '\'' | '\\');
        if path.is_empty() || path.starts_with('/') || path.contains(bad) || path.contains("${") {
            return Err(AthenaError::Location(location));
        }
        if !location.ends_with('/') {
            location.push('/');
        }
        let projection = match (table.layout, projection) {
            (Layout::Simple, _) => None,
            (Layout::Partitioned, None) => {
                return Err(AthenaError::Partition(
                    "--account, --region, --source-bucket and --from",
                ))
            }
            (Layout::Partitioned, Some(p)) => {
                check_values(&p.accounts, "--account (12 digits)", |v| {
                    v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())
                })?;
                check_values(&p.regions, "--region (like us-east-1)", |v| {
                    v.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })?;
                check_values(&p.buckets, "--source-bucket (an S3 bucket name)", |v| {
                    (3..=63).contains(&v.len())
                        && v.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                        })
                })?;
                if p.to.is_some_and(|to| to < p.from) {
                    return Err(AthenaError::Partition("--from on or before --to"));
                }
                Some(p)
            }
        };
        Ok(Ddl {
            table,
            location,
            projection,
        })
    }

    /// The `CREATE EXTERNAL TABLE` statement.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "CREATE EXTERNAL TABLE IF NOT EXISTS {} (",
            self.table.backticked()
        );
        for (i, (name, ty)) in COLUMNS.iter().enumerate() {
            let comma = if i + 1 < COLUMNS.len() { "," } else { "" };
            let _ = writeln!(s, "  `{name}` {ty}{comma}");
        }
        s.push_str(")\n");
        if self.projection.is_some() {
            let cols: Vec<String> = PARTITION_COLUMNS
                .iter()
                .map(|c| format!("`{c}` STRING"))
                .collect();
            let _ = writeln!(s, "PARTITIONED BY ({})", cols.join(", "));
        }
        s.push_str("ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'\n");
        s.push_str("WITH SERDEPROPERTIES (\n");
        let _ = writeln!(s, "  'input.regex' = '{}'", hive_escape(&regex()));
        s.push_str(")\n");
        s.push_str("STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n");
        s.push_str("OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n");
        let _ = writeln!(s, "LOCATION '{}'", self.location);
        if let Some(p) = &self.projection {
            let to =
                p.to.map_or_else(|| "NOW".to_string(), |d| d.format("%Y/%m/%d").to_string());
            let props = [
                ("projection.enabled", "true".to_string()),
                ("projection.source_account.type", "enum".into()),
                ("projection.source_account.values", p.accounts.join(",")),
                ("projection.source_region.type", "enum".into()),
                ("projection.source_region.values", p.regions.join(",")),
                ("projection.source_bucket.type", "enum".into()),
                ("projection.source_bucket.values", p.buckets.join(",")),
                ("projection.dt.type", "date".into()),
                ("projection.dt.format", "yyyy/MM/dd".into()),
                (
                    "projection.dt.range",
                    format!("{},{to}", p.from.format("%Y/%m/%d")),
                ),
                ("projection.dt.interval", "1".into()),
                ("projection.dt.interval.unit", "DAYS".into()),
                (
                    "storage.location.template",
                    format!(
                        "{}${{source_account}}/${{source_region}}/${{source_bucket}}/${{dt}}",
                        self.location
                    ),
                ),
            ];
            s.push_str("TBLPROPERTIES (\n");
            for (i, (k, v)) in props.iter().enumerate() {
                let comma = if i + 1 < props.len() { "," } else { "" };
                let _ = writeln!(s, "  '{k}' = '{v}'{comma}");
            }
            s.push_str(")\n");
        }
        s
    }
}

fn check_values(
    values: &[String],
    what: &'static str,
    valid: impl Fn(&str) -> bool,
) -> Result<(), AthenaError> {
    if values.is_empty() || !values.iter().all(|v| valid(v)) {
        return Err(AthenaError::Partition(what));
    }
    Ok(())
}

/// A Hive string literal's content: Hive unescapes backslashes, so they are doubled.
pub fn hive_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(layout: Layout) -> Table {
        Table::new("audit", "s3_access_logs", layout).unwrap()
    }

    #[test]
    fn one_capturing_group_per_column() {
        let re = regex();
        // Every `(` that is not escaped and not `(?` opens a capturing group.
        let bytes = re.as_bytes();
        let groups = (0..bytes.len())
            .filter(|&i| {
                bytes[i] == b'('
                    && (i == 0 || bytes[i - 1] != b'\\')
                    && bytes.get(i + 1) != Some(&b'?')
            })
            .count();
        assert_eq!(groups, COLUMNS.len());
        assert!(!re.contains("(?=") && !re.contains("(?!") && !re.contains("(?<"));
    }

    #[test]
    fn simple_layout_is_a_plain_table() {
        let ddl = Ddl::new(table(Layout::Simple), "s3://logs-bucket/s3/", None).unwrap();
        let text = ddl.render();
        assert!(text.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `audit`.`s3_access_logs` ("));
        assert!(text.contains("  `bytessent` BIGINT,\n"));
        assert!(text.contains("  `sourceregion` STRING\n)"));
        assert!(!text.contains("PARTITIONED BY"));
        assert!(!text.contains("projection"));
        assert!(text.contains("LOCATION 's3://logs-bucket/s3/'\n"));
        // Backslashes doubled for Hive's literal unescaping.
        assert!(text.contains(r"\\[([0-9]{2}/"));
    }

    #[test]
    fn partitioned_layout_projects_every_key_part() {
        let p = Projection {
            accounts: vec!["111122223333".into()],
            regions: vec!["ap-northeast-2".into()],
            buckets: vec!["shared-data-prod".into(), "team-reports".into()],
            from: NaiveDate::from_ymd_opt(2022, 5, 1).unwrap(),
            to: None,
        };
        let ddl = Ddl::new(table(Layout::Partitioned), "s3://logs/x", Some(p)).unwrap();
        let text = ddl.render();
        assert!(text.contains("PARTITIONED BY (`source_account` STRING, `source_region` STRING, `source_bucket` STRING, `dt` STRING)"));
        assert!(
            text.contains("'projection.source_bucket.values' = 'shared-data-prod,team-reports'")
        );
        assert!(text.contains("'projection.dt.range' = '2022/05/01,NOW'"));
        assert!(text.contains(
            "'storage.location.template' = 's3://logs/x/${source_account}/${source_region}/${source_bucket}/${dt}'\n)"
        ));
    }

    #[test]
    fn bad_locations_and_values_are_refused() {
        for bad in [
            "logs/",
            "s3://",
            "s3:///x",
            "s3://a b/",
            "s3://a'/",
            "s3://a/${x}",
        ] {
            assert!(Ddl::new(table(Layout::Simple), bad, None).is_err(), "{bad}");
        }
        assert!(Ddl::new(table(Layout::Partitioned), "s3://l/", None).is_err());
        let p = Projection {
            accounts: vec!["1111".into()],
            regions: vec!["us-east-1".into()],
            buckets: vec!["b-1".into()],
            from: NaiveDate::from_ymd_opt(2022, 5, 1).unwrap(),
            to: None,
        };
        assert!(Ddl::new(table(Layout::Partitioned), "s3://l/", Some(p)).is_err());
    }
}
