//! Validated settings: the command line's strings turned into what the layers below
//! take (a classifier, a filter and bounds in seconds, how to reach S3, the Athena
//! table), with errors a person can act on. The only reader of [`crate::cli`].

use std::io::IsTerminal;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::athena::ddl::{Ddl, Projection};
use crate::athena::{AthenaError, Layout, Table};
use crate::classify::{Class, Classifier};
use crate::cli::{
    ClassArg, ColorChoice, DdlArgs, InputArgs, RequestFilterArgs, SelectArgs, TableArgs, WindowArgs,
};
#[cfg(feature = "s3")]
use crate::cli::{S3Access, S3Args};
use crate::filter::Filter;
use crate::input;
use crate::input::digest::Hashes;
use crate::report::grid::Screen;
use crate::report::requests::RequestFilter;
use crate::settings::Settings;
use crate::time::Zone;
use crate::time::{whole_seconds, writable};

/// Environment variable that fixes "now" for relative times (`--since 24h`), for
/// reproducible runs and tests. RFC 3339.
pub const NOW_VAR: &str = "VPCE_AUDIT_NOW";

/// Builds the settings for the selection flags with the windows of `windows`.
pub fn settings(sel: &SelectArgs, windows: &WindowArgs) -> anyhow::Result<Settings> {
    settings_in(sel, windows.interval, windows.tz.unwrap_or_default())
}

/// Builds the settings for the selection flags with windows of `interval` seconds cut
/// in `zone`.
pub fn settings_in(sel: &SelectArgs, interval: i64, zone: Zone) -> anyhow::Result<Settings> {
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
    if let Some(all) = sel.vpc_cidr.iter().find(|net| net.prefix_len() == 0) {
        anyhow::bail!(
            "--vpc-cidr {all} would count every address as private, so nothing could ever be \
             public; give the VPC's own ranges"
        );
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
        hashes: Hashes::default(),
        zone,
        regions: false,
    })
}

/// The filters of `requests` and `athena requests`.
pub fn request_filter(args: &RequestFilterArgs) -> anyhow::Result<RequestFilter> {
    let classes = args
        .class
        .iter()
        .map(|c| match c {
            ClassArg::Private => Class::Private,
            ClassArg::Public => Class::Public,
            ClassArg::Internal => Class::Internal,
        })
        .collect();
    RequestFilter::new(
        classes,
        &args.status,
        args.error_code.clone(),
        &args.requester,
        &args.ip,
    )
    .map_err(anyhow::Error::msg)
}

/// Environment variable of the width to fit when output is not a terminal.
pub const COLUMNS_VAR: &str = "COLUMNS";
/// The width tables fit when it is unknown.
pub const DEFAULT_COLUMNS: usize = 80;

/// Where a table goes: to a file (`to_file`: no width limit), or to standard output,
/// width is the terminal's, else `COLUMNS`, else 80. Colour as ripgrep decides
/// it: `always`, `never`, or with `auto` only on a terminal, without `NO_COLOR` (set and
/// not empty) and with a `TERM` other than `dumb`.
pub fn screen(to_file: bool, color: ColorChoice) -> Screen {
    let stdout = std::io::stdout();
    let terminal = !to_file && stdout.is_terminal();
    let width = if to_file {
        None
    } else {
        let columns = std::env::var(COLUMNS_VAR)
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0);
        let of_terminal = || {
            terminal
                .then(|| terminal_size::terminal_size_of(&stdout))
                .flatten()
                .map(|(w, _)| usize::from(w.0))
        };
        Some(of_terminal().or(columns).unwrap_or(DEFAULT_COLUMNS))
    };
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
            terminal && !no_color && !dumb
        }
    };
    Screen { width, color }
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

/// How to read `s3://` inputs: the AWS CLI's flags and how many objects at once.
#[cfg(feature = "s3")]
pub fn s3_options(args: &S3Args) -> input::s3::Options {
    input::s3::Options {
        concurrency: args.s3_concurrency.map(usize::from),
        ..s3_access(&args.access)
    }
}

/// How to reach S3: the AWS CLI's flags.
#[cfg(feature = "s3")]
pub fn s3_access(args: &S3Access) -> input::s3::Options {
    input::s3::Options {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        force_path_style: args.force_path_style,
        concurrency: Some(1),
    }
}

/// The Athena table `args` name.
pub fn athena_table(args: &TableArgs) -> Result<Table, AthenaError> {
    let default = if args.cloudtrail {
        "cloudtrail_logs"
    } else {
        "s3_access_logs"
    };
    let name = args.table.as_deref().unwrap_or(default);
    Table::new(&args.database, name, args.layout)
}

/// The DDL of `athena ddl --cloudtrail`.
pub fn athena_cloudtrail_ddl(args: &DdlArgs) -> Result<String, AthenaError> {
    let table = athena_table(&args.table)?;
    if table.layout == Layout::Partitioned
        || !args.account.is_empty()
        || !args.region.is_empty()
        || !args.source_bucket.is_empty()
    {
        return Err(AthenaError::Partition(
            "no --layout, --account, --region or --source-bucket with --cloudtrail (the location names the account and region)",
        ));
    }
    let Some(from) = &args.from else {
        return Err(AthenaError::Partition("--from with --cloudtrail"));
    };
    let from = date("--from", from, "")?;
    let to = if args.to.eq_ignore_ascii_case("now") {
        None
    } else {
        Some(date("--to", &args.to, " or NOW")?)
    };
    crate::athena::cloudtrail::ddl(&table, &args.location, from, to)
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

/// The time `value` of flag `flag` (same forms as `--since`).
pub fn time(flag: &str, value: &str) -> anyhow::Result<i64> {
    parse_time(value, now()?).map_err(|e| anyhow::anyhow!("{flag} {value:?}: {e}"))
}

/// The duration `value` of flag `flag` in seconds: `90s`, `30m`, `26h`, `7d`, `2w`.
pub fn duration(flag: &str, value: &str) -> anyhow::Result<i64> {
    parse_duration(value.trim()).ok_or_else(|| {
        anyhow::anyhow!("{flag} {value:?}: expected a duration such as 90s, 30m, 26h, 7d or 2w")
    })
}

/// The share `value` of flag `flag`, a percentage between 0% and 100% (`1%`, `0.5%`;
/// the `%` may be left out), as a fraction.
pub fn share(flag: &str, value: &str) -> anyhow::Result<f64> {
    let number = value.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => anyhow::bail!("{flag} {value:?}: expected a percentage from 0% to 100%, such as 1%"),
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
    fn durations_and_shares() {
        assert_eq!(duration("--max-age", "26h").unwrap(), 26 * 3600);
        assert_eq!(duration("--max-age", " 90d ").unwrap(), 90 * 86_400);
        assert!(duration("--max-age", "soon").is_err());
        assert_eq!(share("--max-rejected", "1%").unwrap(), 0.01);
        assert_eq!(share("--max-rejected", "0.5").unwrap(), 0.005);
        assert_eq!(share("--max-rejected", "100%").unwrap(), 1.0);
        for bad in ["-1%", "101%", "lots", "NaN"] {
            let e = share("--max-rejected", bad).unwrap_err().to_string();
            assert!(e.contains("expected a percentage"), "{bad}: {e}");
        }
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
