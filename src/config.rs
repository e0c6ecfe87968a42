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
use crate::time::{whole_seconds, writable};

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
            follow_links: args.follow,
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
        let _ = settings;
        input::Options {
            follow_links: args.follow,
        }
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
        concurrency: usize::from(args.s3_concurrency),
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
            .ok()
            .and_then(|t| whole_seconds(&t))
            .ok_or_else(|| anyhow::anyhow!("{NOW_VAR}={v:?} is not an RFC 3339 time")),
        Err(_) => Ok(Utc::now().timestamp()),
    }
}

/// Parses a time bound: RFC 3339, a date or date-time taken as UTC, or a duration
/// (`90s`, `30m`, `24h`, `7d`, `2w`) before `now`. A fraction of a second rounds up (log
/// times are whole seconds: `--until 10:00:00.5` keeps the records of 10:00:00), a
/// leap second `:60` is the next minute's first second, as in a log, and the time must
/// be in the years 0000 to 9999.
pub fn parse_time(s: &str, now: i64) -> Result<i64, String> {
    let s = s.trim();
    let time = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        whole_seconds(&t)
    } else if let Some(t) = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())
    {
        whole_seconds(&t.and_utc())
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        whole_seconds(&d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
    } else if let Some(ago) = parse_duration(s) {
        now.checked_sub(ago).filter(|&t| writable(t))
    } else {
        return Err(
            "expected RFC 3339 (2022-05-09T10:00:00Z), a date (2022-05-09) or a duration (24h, 7d)"
                .into(),
        );
    };
    time.ok_or_else(|| "outside the years 0000 to 9999".into())
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
    fn fractions_round_up_and_a_leap_second_is_the_next_minute() {
        assert_eq!(parse_time("2022-05-09T10:00:00.5Z", 0), Ok(NOW + 1));
        assert_eq!(parse_time("2022-05-09T09:59:59.001Z", 0), Ok(NOW));
        assert_eq!(parse_time("2022-05-09 10:00:00.5", 0), Ok(NOW + 1));
        assert_eq!(parse_time("2022-05-09T09:59:60Z", 0), Ok(NOW));
        assert_eq!(parse_time("2022-05-09 09:59:60", 0), Ok(NOW));
    }

    #[test]
    fn times_outside_the_years_0000_to_9999_are_refused() {
        assert_eq!(
            parse_time("9999-12-31T23:59:59-01:00", 0),
            Err("outside the years 0000 to 9999".into())
        );
        assert!(parse_time("99999999999s", NOW).is_err());
        assert_eq!(parse_time("9999-12-31T23:59:59Z", 0), Ok(crate::time::LAST));
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
