//! `vpce-audit athena ddl --cloudtrail`: the table AWS documents for querying CloudTrail
//! log files with Athena, with partition projection on the delivery day.
//!
//! CloudTrail delivers its log files under `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`;
//! the table's `LOCATION` is one account and region, and the `timestamp` partition is
//! the day, projected from `--from` to `--to`, so a query with `--since/--until` reads
//! only those days. `CloudTrailInputFormat` hands each element of `Records` to the
//! JSON SerDe as one row, so the table has one row per event; `requestParameters`,
//! `responseElements` and `additionalEventData` stay JSON text. The audit over it is
//! [`super::sql::Query::endpoint_breakdown`].

use std::fmt::Write as _;

use chrono::NaiveDate;

use super::ddl::hive_escape;
use super::{AthenaError, Table};

/// The columns, as AWS's documentation names and types them.
pub const COLUMNS: [(&str, &str); 25] = [
    ("eventversion", "STRING"),
    (
        "useridentity",
        "STRUCT<type:STRING, principalid:STRING, arn:STRING, accountid:STRING, invokedby:STRING, accesskeyid:STRING, username:STRING, sessioncontext:STRUCT<attributes:STRUCT<mfaauthenticated:STRING, creationdate:STRING>, sessionissuer:STRUCT<type:STRING, principalid:STRING, arn:STRING, accountid:STRING, username:STRING>, sourceidentity:STRING, ec2roledelivery:STRING>>",
    ),
    ("eventtime", "STRING"),
    ("eventsource", "STRING"),
    ("eventname", "STRING"),
    ("awsregion", "STRING"),
    ("sourceipaddress", "STRING"),
    ("useragent", "STRING"),
    ("errorcode", "STRING"),
    ("errormessage", "STRING"),
    ("requestparameters", "STRING"),
    ("responseelements", "STRING"),
    ("additionaleventdata", "STRING"),
    ("requestid", "STRING"),
    ("eventid", "STRING"),
    ("readonly", "STRING"),
    (
        "resources",
        "ARRAY<STRUCT<arn:STRING, accountid:STRING, type:STRING>>",
    ),
    ("eventtype", "STRING"),
    ("apiversion", "STRING"),
    ("recipientaccountid", "STRING"),
    ("sharedeventid", "STRING"),
    ("vpcendpointid", "STRING"),
    ("vpcendpointaccountid", "STRING"),
    ("eventcategory", "STRING"),
    (
        "tlsdetails",
        "STRUCT<tlsversion:STRING, ciphersuite:STRING, clientprovidedhostheader:STRING>",
    ),
];

/// The `CREATE EXTERNAL TABLE` of CloudTrail log files under `location`
/// (`s3://bucket/AWSLogs/ACCOUNT/CloudTrail/REGION/`), with the days from `from` to
/// `to` (`None`: Athena's `NOW`) projected.
pub fn ddl(
    table: &Table,
    location: &str,
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> Result<String, AthenaError> {
    let path = location.strip_prefix("s3://").unwrap_or("");
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '\'' | '\\');
    if path.is_empty() || path.starts_with('/') || path.contains(bad) || path.contains("${") {
        return Err(AthenaError::Location(location.to_string()));
    }
    if to.is_some_and(|to| to < from) {
        return Err(AthenaError::Partition("--from on or before --to"));
    }
    let mut location = location.to_string();
    if !location.ends_with('/') {
        location.push('/');
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "CREATE EXTERNAL TABLE IF NOT EXISTS {} (",
        table.backticked()
    );
    for (i, (name, ty)) in COLUMNS.iter().enumerate() {
        let comma = if i + 1 < COLUMNS.len() { "," } else { "" };
        let _ = writeln!(s, "  `{name}` {ty}{comma}");
    }
    s.push_str(")\nPARTITIONED BY (`timestamp` STRING)\n");
    s.push_str("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n");
    s.push_str("STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n");
    s.push_str("OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n");
    let _ = writeln!(s, "LOCATION '{}'", hive_escape(&location));
    let to = to.map_or_else(|| "NOW".to_string(), |d| d.format("%Y/%m/%d").to_string());
    let props = [
        ("projection.enabled", "true".to_string()),
        ("projection.timestamp.type", "date".into()),
        ("projection.timestamp.format", "yyyy/MM/dd".into()),
        (
            "projection.timestamp.range",
            format!("{},{to}", from.format("%Y/%m/%d")),
        ),
        ("projection.timestamp.interval", "1".into()),
        ("projection.timestamp.interval.unit", "DAYS".into()),
        (
            "storage.location.template",
            format!("{}${{timestamp}}", hive_escape(&location)),
        ),
    ];
    s.push_str("TBLPROPERTIES (\n");
    for (i, (k, v)) in props.iter().enumerate() {
        let comma = if i + 1 < props.len() { "," } else { "" };
        let _ = writeln!(s, "  '{k}' = '{v}'{comma}");
    }
    s.push_str(")\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::athena::Layout;

    #[test]
    fn the_table_projects_the_delivery_days() {
        let t = Table::new("audit", "cloudtrail_logs", Layout::Simple).unwrap();
        let from = NaiveDate::from_ymd_opt(2022, 5, 1).unwrap();
        let text = ddl(
            &t,
            "s3://trail/AWSLogs/111122223333/CloudTrail/ap-northeast-2",
            from,
            None,
        )
        .unwrap();
        assert!(text.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `audit`.`cloudtrail_logs` ("));
        assert!(text.contains("  `vpcendpointid` STRING,\n"));
        assert!(text.contains("PARTITIONED BY (`timestamp` STRING)"));
        assert!(text.contains("'com.amazon.emr.cloudtrail.CloudTrailInputFormat'"));
        assert!(text.contains("'projection.timestamp.range' = '2022/05/01,NOW'"));
        assert!(text.contains(
            "'storage.location.template' = 's3://trail/AWSLogs/111122223333/CloudTrail/ap-northeast-2/${timestamp}'"
        ));
        assert!(ddl(&t, "trail/", from, None).is_err());
        let before = NaiveDate::from_ymd_opt(2022, 4, 1);
        assert!(ddl(&t, "s3://trail/", from, before).is_err());
    }
}
