//! Time arithmetic shared by every layer: RFC 3339 text, timeline windows, civil dates
//! and durations as people write them. Times are seconds since the Unix epoch, in UTC.
//!
//! Two rules hold for every time read, from a log, a flag or a file:
//!
//! * RFC 3339 writes years 0000 to 9999 only, so a time outside [`FIRST`]..=[`LAST`]
//!   (a log's `[31/Dec/9999:23:59:59 -0100]` is in the year 10000 in UTC) is refused
//!   where it is read, never printed as `+10000-…`;
//! * a second written as `:60` (a leap second) is the first second of the next
//!   minute, in a log as in `--since`/`--until`.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

/// The first time RFC 3339 can write: 0000-01-01T00:00:00Z.
pub const FIRST: i64 = -62_167_219_200;
/// The last time RFC 3339 can write: 9999-12-31T23:59:59Z.
pub const LAST: i64 = 253_402_300_799;

/// Can RFC 3339 write this time (years 0000 to 9999)?
pub fn writable(secs: i64) -> bool {
    (FIRST..=LAST).contains(&secs)
}

/// Seconds since the epoch as RFC 3339 UTC (`2019-02-06T00:00:38Z`). Every time read is
/// [`writable`]; one that is not (the end of a last window) is written as plain
/// seconds.
pub fn rfc3339(secs: i64) -> String {
    match DateTime::<Utc>::from_timestamp(secs, 0) {
        // The direct formatter: no format string to interpret for every window.
        Some(t) if writable(secs) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        _ => secs.to_string(),
    }
}

/// Seconds since the epoch of a time written by [`rfc3339`] (or plain seconds), if it
/// is [`writable`].
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| whole_seconds(&t))
        .or_else(|| text.parse().ok())
        .filter(|&t| writable(t))
}

/// The whole seconds since the epoch of a time chrono read, rounded up when it has a
/// fraction (a log's times are whole seconds, so a bound of `10:00:00.5` holds the
/// same records as `10:00:01`), with a leap second (`:60`, which chrono keeps as `:59`
/// and a fraction over one) read as the next minute's first second; `None` if not
/// [`writable`].
pub fn whole_seconds<Tz: chrono::TimeZone>(t: &DateTime<Tz>) -> Option<i64> {
    let nanos = i64::from(t.nanosecond());
    let secs = t.timestamp() + (nanos + 999_999_999) / 1_000_000_000;
    writable(secs).then_some(secs)
}

/// The start of the window of `interval` seconds holding `time`: windows are aligned
/// on multiples of the interval since the epoch, so in UTC.
#[inline]
pub fn window_start(time: i64, interval: i64) -> i64 {
    time.div_euclid(interval) * interval
}

/// The number of days in `month` (1–12) of `year` (proleptic Gregorian).
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day number (days since 1970-01-01); the
/// inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A duration as a person says it: `90s`, `5m`, `1h`, `2d`, `1h30m`.
pub fn duration_name(seconds: i64) -> String {
    let units = [(86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')];
    let mut rest = seconds;
    let mut out = String::new();
    for (size, unit) in units {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_the_strftime_form_for_years_0000_to_9999() {
        for secs in [0, 1_549_411_238, -1, FIRST, LAST] {
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            assert_eq!(
                rfc3339(secs),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "{secs}"
            );
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs), "{secs}");
        }
        assert_eq!(rfc3339(1_549_411_238), "2019-02-06T00:00:38Z");
        assert_eq!(rfc3339(LAST), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(FIRST), "0000-01-01T00:00:00Z");
        // Never `+10000-…`: a time past the range is plain seconds, and not read back.
        assert_eq!(rfc3339(LAST + 1), "253402300800");
        assert_eq!(parse_rfc3339(&rfc3339(LAST + 1)), None);
        assert_eq!(parse_rfc3339(&rfc3339(i64::MAX)), None);
    }

    #[test]
    fn a_leap_second_is_the_next_minute_and_fractions_round_up() {
        let at = |text: &str| whole_seconds(&DateTime::parse_from_rfc3339(text).unwrap());
        let ten = Some(1_652_090_400); // 2022-05-09T10:00:00Z
        assert_eq!(at("2022-05-09T09:59:60Z"), ten);
        assert_eq!(at("2022-05-09T10:00:00Z"), ten);
        assert_eq!(at("2022-05-09T09:59:59.25Z"), ten);
        assert_eq!(at("2022-05-09T10:00:00.5Z"), ten.map(|t| t + 1));
        assert_eq!(at("9999-12-31T23:59:59Z"), Some(LAST));
        assert_eq!(at("9999-12-31T23:59:59-01:00"), None);
    }

    #[test]
    fn windows_are_aligned_in_utc() {
        assert_eq!(window_start(1_652_090_400 + 1799, 3600), 1_652_090_400);
        assert_eq!(window_start(-1, 3600), -3600);
        assert_eq!(window_start(-3600, 3600), -3600);
        assert_eq!(window_start(-3601, 3600), -7200);
        assert_eq!(window_start(1_652_090_699, 300), 1_652_090_400);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for days in [-1, 0, 11_017, 19_783, 20_000, -719_468, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn month_lengths_follow_the_gregorian_leap_rule() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2024, 4), 30);
        assert_eq!(days_in_month(2024, 12), 31);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_name(60), "1m");
        assert_eq!(duration_name(7200), "2h");
        assert_eq!(duration_name(5400), "1h30m");
        assert_eq!(duration_name(86_400 * 7), "7d");
        assert_eq!(duration_name(0), "0s");
    }
}
