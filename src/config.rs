//! Validated settings: the command line's strings turned into what the layers below
//! take (a classifier, a filter and bounds in seconds, how to reach S3, the Athena
//! table), with errors a person can act on. The only reader of [`crate::cli`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::athena::ddl::{Ddl, Projection};
use crate::athena::{AthenaError, Layout, Table};
use crate::classify::Classifier;
#[cfg(feature = "s3")]
use crate::cli::S3Args;
use crate::cli::{DdlArgs, InputArgs, SelectArgs, TableArgs};
use crate::filter::Filter;
use crate::input;
use crate::settings::Settings;

/// Environment variable that fixes "now" for relative times (`--since 24h`), for
/// reproducible runs and tests. RFC 3339.
pub const NOW_VAR: &str = "VPCE_AUDIT_NOW";

/// Builds the settings for the selection flags with windows of `interval` seconds.
pub fn settings(sel: &SelectArgs, interval: i64) -> anyhow::Result<Settings> {
    let now = now()?;
    let since = sel
        .since
        .as_deref()
        .map(|s| parse_time(s, now).map_err(|e| anyhow::anyhow!("--since {s:?}: {e}")))
        .transpose()?;
    let until = sel
        .until
        .as_deref()
        .map(|s| parse_time(s, now).map_err(|e| anyhow::anyhow!("--until {s:?}: {e}")))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        anyhow::ensure!(s < u, "--since must be before --until");
    }
    Ok(Settings {
        classifier: Classifier::new(&sel.vpc_cidr),
        filter: Filter {
            buckets: sel.bucket.iter().map(|b| b.as_bytes().to_vec()).collect(),
            since,
            until,
            operations: sel
                .operation
                .iter()
                .map(|o| o.as_bytes().to_vec())
                .collect(),
        },
        interval,
    })
}

/// How to find the inputs of `args`: how to reach S3, and what a listing may leave out
/// under `settings`' filter.
pub fn input_options(args: &InputArgs, settings: &Settings) -> input::Options {
    #[cfg(feature = "s3")]
    {
        let filter = &settings.filter;
        input::Options {
            s3: s3_options(&args.s3),
            scope: input::s3::Scope {
                since: filter.since,
                until: filter.until,
                buckets: filter
                    .buckets
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect(),
            },
        }
    }
    #[cfg(not(feature = "s3"))]
    {
        let _ = (args, settings);
        input::Options::default()
    }
}

/// How to reach S3: the AWS CLI's flags.
#[cfg(feature = "s3")]
pub fn s3_options(args: &S3Args) -> input::s3::Options {
    input::s3::Options {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        force_path_style: args.force_path_style,
        concurrency: args.s3_concurrency.map(usize::from),
    }
}

/// The Athena table `args` name.
pub fn athena_table(args: &TableArgs) -> Result<Table, AthenaError> {
    Table::new(&args.database, &args.table, args.layout)
}

/// The validated DDL of `athena ddl`.
pub fn athena_ddl(args: &DdlArgs) -> Result<Ddl, AthenaError> {
    let table = athena_table(&args.table)?;
    let partition_flags = !args.account.is_empty()
        || !args.region.is_empty()
        || !args.source_bucket.is_empty()
        || args.from.is_some();
    if table.layout == Layout::Simple && partition_flags {
        return Err(AthenaError::Partition(
            "to be chosen for --account, --region, --source-bucket and --from",
        ));
    }
    let projection = match (&args.from, table.layout) {
        (Some(from), Layout::Partitioned) => Some(Projection {
            accounts: args.account.clone(),
            regions: args.region.clone(),
            buckets: args.source_bucket.clone(),
            from: date("--from", from, "")?,
            to: if args.to.eq_ignore_ascii_case("now") {
                None
            } else {
                Some(date("--to", &args.to, " or NOW")?)
            },
        }),
        _ => None,
    };
    Ddl::new(table, &args.location, projection)
}

fn date(
    flag: &'static str,
    value: &str,
    now: &'static str,
) -> Result<chrono::NaiveDate, AthenaError> {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| AthenaError::Date {
        flag,
        value: value.to_string(),
        now,
    })
}

/// Now, in seconds since the epoch: [`NOW_VAR`] if set and valid, else the clock.
pub fn now_or_env() -> i64 {
    now().unwrap_or_else(|_| Utc::now().timestamp())
}

fn now() -> anyhow::Result<i64> {
    match std::env::var(NOW_VAR) {
        Ok(v) => DateTime::parse_from_rfc3339(&v)
            .map(|t| t.timestamp())
            .map_err(|e| anyhow::anyhow!("{NOW_VAR}={v:?} is not an RFC 3339 time: {e}")),
        Err(_) => Ok(Utc::now().timestamp()),
    }
}

/// Parses a time bound: RFC 3339, a date or date-time taken as UTC, or a duration
/// (`90s`, `30m`, `24h`, `7d`, `2w`) before `now`.
pub fn parse_time(s: &str, now: i64) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(t.and_utc().timestamp());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp());
    }
    if let Some(ago) = parse_duration(s) {
        return Ok(now - ago);
    }
    Err(
        "expected RFC 3339 (2022-05-09T10:00:00Z), a date (2022-05-09) or a duration (24h, 7d)"
            .into(),
    )
}

fn parse_duration(s: &str) -> Option<i64> {
    let unit = match s.as_bytes().last()? {
        b's' => 1,
        b'm' => 60,
        b'h' => 3600,
        b'd' => 86_400,
        b'w' => 604_800,
        _ => return None,
    };
    let n: i64 = s[..s.len() - 1].parse().ok().filter(|n| *n >= 0)?;
    n.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_652_090_400; // 2022-05-09T10:00:00Z

    #[test]
    fn absolute_times() {
        assert_eq!(parse_time("2022-05-09T10:00:00Z", 0), Ok(NOW));
        assert_eq!(parse_time("2022-05-09T19:00:00+09:00", 0), Ok(NOW));
        assert_eq!(parse_time("2022-05-09 10:00", 0), Ok(NOW));
        assert_eq!(parse_time("2022-05-09", 0), Ok(NOW - 10 * 3600));
    }

    #[test]
    fn relative_times_count_back_from_now() {
        assert_eq!(parse_time("24h", NOW), Ok(NOW - 86_400));
        assert_eq!(parse_time("7d", NOW), Ok(NOW - 7 * 86_400));
        assert_eq!(parse_time("30m", NOW), Ok(NOW - 1800));
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "yesterday",
            "2022-13-01",
            "-5h",
            "h",
            "99999999999999999999d",
        ] {
            assert!(parse_time(bad, NOW).is_err(), "{bad}");
        }
    }
}
