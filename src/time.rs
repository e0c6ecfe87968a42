//! Time arithmetic shared by every layer: RFC 3339 text, timeline windows, civil dates,
//! durations as people write them, and the time zone times are shown in. Times are
//! seconds since the Unix epoch, in UTC.
//!
//! Two rules hold for every time read, from a log, a flag or a file:
//!
//! * RFC 3339 writes years 0000 to 9999 only, so a time outside [`FIRST`]..=[`LAST`]
//!   (a log's `[31/Dec/9999:23:59:59 -0100]` is in the year 10000 in UTC) is refused
//!   where it is read, never printed as `+10000-…`;
//! * a second written as `:60` (a leap second) is the first second of the next
//!   minute, in a log as in `--since`/`--until`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

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

/// Seconds in a day.
pub const DAY: i64 = 86_400;
/// Seconds in a week: the `1w` interval, whose windows start on Mondays.
pub const WEEK: i64 = 7 * DAY;
/// 1970-01-05, the first Monday after the epoch, in seconds.
pub const FIRST_MONDAY: i64 = 4 * DAY;

/// Parses a window length: a whole number of minutes or hours that divides a day
/// (`1m`, `10m`, `2h`, `6h`), `1d`, or `1w`. Returns its seconds.
pub fn parse_interval(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "{text:?} is not a window length: give minutes or hours that divide a day \
             (1m, 5m, 10m, 15m, 30m, 1h, 2h, 6h, 12h), 1d or 1w"
        )
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let seconds = match unit {
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" if n == 1 => Some(DAY),
        "w" if n == 1 => Some(WEEK),
        _ => None,
    }
    .ok_or_else(bad)?;
    if seconds == WEEK || (seconds <= DAY && DAY % seconds == 0) {
        Ok(seconds)
    } else {
        Err(bad())
    }
}

/// The name of a window length: `1w` for a week, else [`duration_name`].
pub fn interval_name(seconds: i64) -> String {
    if seconds == WEEK {
        "1w".to_string()
    } else {
        duration_name(seconds)
    }
}

/// The time zone windows are cut in and times are shown in: UTC unless `--tz` names
/// another (an IANA name such as `Asia/Seoul`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Zone {
    #[default]
    Utc,
    Named(Tz),
}

impl Zone {
    /// The zone of an IANA name (`UTC`, `Asia/Seoul`, `America/New_York`).
    pub fn parse(name: &str) -> Result<Zone, String> {
        if name.eq_ignore_ascii_case("utc") || name == "Z" {
            return Ok(Zone::Utc);
        }
        name.parse::<Tz>().map(Zone::Named).map_err(|_| {
            format!("{name:?} is not a time zone: give an IANA name such as Asia/Seoul or UTC")
        })
    }

    /// The zone a report names (`summary.time_zone`); UTC if the name is unknown.
    pub fn named(name: &str) -> Zone {
        Zone::parse(name).unwrap_or_default()
    }

    /// The IANA name, `UTC` for UTC.
    pub fn name(&self) -> &'static str {
        match self {
            Zone::Utc => "UTC",
            Zone::Named(tz) => tz.name(),
        }
    }

    /// `, times in Asia/Seoul`, or nothing for UTC: for headings.
    pub fn note(&self) -> String {
        match self {
            Zone::Utc => String::new(),
            Zone::Named(tz) => format!(", times in {}", tz.name()),
        }
    }

    /// An RFC 3339 UTC time as shown in this zone (`2022-05-09T19:32:05+09:00`); text
    /// that is not such a time is returned as it is.
    pub fn show(&self, rfc: &str) -> String {
        match (self, parse_rfc3339(rfc)) {
            (Zone::Named(_), Some(secs)) => self.show_secs(secs),
            _ => rfc.to_string(),
        }
    }

    /// Seconds since the epoch as RFC 3339 in this zone.
    pub fn show_secs(&self, secs: i64) -> String {
        match self {
            Zone::Utc => rfc3339(secs),
            // A local year past 9999 (the last hours of 9999 east of UTC) is shown in
            // UTC: RFC 3339 has no `+10000-…`.
            Zone::Named(tz) => {
                match DateTime::<Utc>::from_timestamp(secs, 0).map(|t| t.with_timezone(tz)) {
                    Some(t) if writable(secs) && (0..=9999).contains(&t.year()) => {
                        t.to_rfc3339_opts(SecondsFormat::Secs, true)
                    }
                    _ => rfc3339(secs),
                }
            }
        }
    }

    /// Seconds since the epoch formatted with a chrono `format` on this zone's clock.
    pub fn format(&self, secs: i64, format: &str) -> String {
        match (self, DateTime::<Utc>::from_timestamp(secs, 0)) {
            (Zone::Utc, Some(t)) => t.format(format).to_string(),
            (Zone::Named(tz), Some(t)) => t.with_timezone(tz).format(format).to_string(),
            (_, None) => secs.to_string(),
        }
    }

    /// How far this zone's clock is ahead of UTC at `secs`, in seconds.
    pub fn offset(&self, secs: i64) -> i64 {
        use chrono::Offset;
        match (self, DateTime::<Utc>::from_timestamp(secs, 0)) {
            (Zone::Named(tz), Some(t)) => {
                i64::from(t.with_timezone(tz).offset().fix().local_minus_utc())
            }
            _ => 0,
        }
    }

    /// The first instant of the local `date` (midnight, or the first time that exists
    /// when a clock change skips midnight).
    fn start_of(tz: Tz, date: NaiveDate) -> i64 {
        let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
        for minutes in (0..=24 * 60).step_by(15) {
            let local = midnight + Duration::minutes(minutes);
            if let Some(t) = tz.from_local_datetime(&local).earliest() {
                return t.timestamp();
            }
        }
        midnight.and_utc().timestamp()
    }

    /// The window of `interval` seconds (dividing a day, or [`WEEK`]) that holds
    /// `time`, as `[start, end)`. In UTC windows are multiples of the interval since the
    /// epoch (weeks since a Monday); in another zone each local day is cut from its
    /// midnight into its usual number of windows, the last ending at the next midnight
    /// (an hour shorter or longer on the days a clock changes), and weeks start on
    /// local Mondays.
    pub fn window(&self, time: i64, interval: i64) -> (i64, i64) {
        match self {
            Zone::Utc if interval == WEEK => {
                let start = (time - FIRST_MONDAY).div_euclid(WEEK) * WEEK + FIRST_MONDAY;
                (start, start.saturating_add(WEEK))
            }
            Zone::Utc => {
                let start = window_start(time, interval);
                (start, start.saturating_add(interval))
            }
            Zone::Named(tz) => {
                let Some(utc) = DateTime::<Utc>::from_timestamp(time, 0) else {
                    return Zone::Utc.window(time, interval);
                };
                let date = utc.with_timezone(tz).date_naive();
                if interval == WEEK {
                    let monday =
                        date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                    let start = Zone::start_of(*tz, monday);
                    return (start, Zone::start_of(*tz, monday + Duration::days(7)));
                }
                let (mut day, mut next) = (
                    Zone::start_of(*tz, date),
                    Zone::start_of(*tz, date + Duration::days(1)),
                );
                if day > time {
                    // A time before the first instant of its own date (a clock change
                    // skipped midnight): it belongs to the previous day's last window.
                    (day, next) = (Zone::start_of(*tz, date - Duration::days(1)), day);
                }
                // A day holds its usual number of windows; the last one ends at the
                // next midnight, an hour longer or shorter on the day a clock changes.
                let last = DAY / interval - 1;
                let k = (time - day).div_euclid(interval).min(last);
                let start = day + k * interval;
                let end = if k == last { next } else { start + interval };
                (start, end.max(time + 1))
            }
        }
    }
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

    /// Times before 1970 (a clock set wrong, a forged record) fall in windows aligned
    /// like any other: the window holds the time, has the interval's length and starts
    /// on a multiple of it; weeks start on Mondays; a named zone's days at its midnight.
    #[test]
    fn windows_before_the_epoch_are_aligned_like_the_others() {
        for interval in [60, 300, 3600, 6 * 3600, DAY] {
            for time in [-1, -interval, -interval - 1, -946_684_800 + 17] {
                let (start, end) = Zone::Utc.window(time, interval);
                assert!(start <= time && time < end, "{time} in {interval}");
                assert_eq!((end - start, start.rem_euclid(interval)), (interval, 0));
            }
        }
        // 1969-12-29 was a Monday.
        let monday = -3 * DAY;
        assert_eq!(Zone::Utc.window(-1, WEEK), (monday, monday + WEEK));
        assert_eq!(Zone::Utc.window(monday, WEEK), (monday, monday + WEEK));
        assert_eq!(Zone::Utc.window(monday - 1, WEEK), (monday - WEEK, monday));
        // 1969-12-31T23:59:59Z is 08:59:59 on 1970-01-01 in Tokyo (UTC+9).
        let tokyo = Zone::parse("Asia/Tokyo").unwrap();
        let midnight = -9 * 3600;
        assert_eq!(tokyo.window(-1, DAY), (midnight, midnight + DAY));
        assert_eq!(tokyo.window(-1, 3600), (-3600, 0));
        assert_eq!(tokyo.window(midnight - 1, DAY), (midnight - DAY, midnight));
    }

    #[test]
    fn intervals_divide_a_day_or_are_a_week() {
        for (text, secs) in [
            ("1m", 60),
            ("10m", 600),
            ("90m", 5400),
            ("1h", 3600),
            ("2h", 7200),
            ("6h", 21_600),
            ("24h", DAY),
            ("1d", DAY),
            ("1w", WEEK),
        ] {
            assert_eq!(parse_interval(text), Ok(secs), "{text}");
        }
        for bad in [
            "7m", "5h", "0m", "2d", "2w", "1s", "-1h", "h", "", "48h", "1x",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert_eq!(interval_name(WEEK), "1w");
        assert_eq!(interval_name(600), "10m");
    }

    #[test]
    fn weeks_start_on_mondays() {
        // 2022-05-09 was a Monday.
        let monday = 1_652_054_400;
        let sunday_night = monday + 7 * DAY - 1;
        assert_eq!(
            Zone::Utc.window(sunday_night, WEEK),
            (monday, monday + WEEK)
        );
        assert_eq!(Zone::Utc.window(monday, WEEK), (monday, monday + WEEK));
        let seoul = Zone::parse("Asia/Seoul").unwrap();
        let (start, end) = seoul.window(monday, WEEK);
        assert_eq!(start, monday - 9 * 3600, "Monday 00:00 in Seoul");
        assert_eq!(end - start, WEEK);
    }

    #[test]
    fn local_days_follow_the_zones_midnight_across_clock_changes() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 2024-03-10: clocks go from 02:00 EST to 03:00 EDT, a 23-hour day.
        let midnight = 1_710_046_800; // 2024-03-10T00:00:00-05:00
        let noon = midnight + 12 * 3600;
        assert_eq!(ny.window(noon, DAY), (midnight, midnight + 23 * 3600));
        assert_eq!(
            ny.show_secs(midnight + 23 * 3600),
            "2024-03-11T00:00:00-04:00"
        );
        // Hours tile the day: 00:00, 01:00, then 03:00 EDT; the day has 23 of them.
        let hours: Vec<(i64, i64)> = (0..23)
            .map(|h| ny.window(midnight + h * 3600 + 10, 3600))
            .collect();
        assert_eq!(hours[2].0, midnight + 2 * 3600);
        assert_eq!(ny.show_secs(hours[2].0), "2024-03-10T03:00:00-04:00");
        for pair in hours.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "windows tile the day");
        }
        assert_eq!(hours[22].1, midnight + 23 * 3600);
        // 2024-11-03: 02:00 EDT back to 01:00 EST, a 25-hour day; its last 6-hour window
        // holds 7 hours.
        let fall = 1_730_606_400; // 2024-11-03T00:00:00-04:00
        let last = ny.window(fall + 24 * 3600 + 5, 6 * 3600);
        assert_eq!(last, (fall + 18 * 3600, fall + 25 * 3600));
        assert_eq!(ny.window(fall + 5, DAY), (fall, fall + 25 * 3600));
        assert_eq!(ny.window(fall + 25 * 3600, DAY).0, fall + 25 * 3600);
        // Without --tz nothing changes: multiples of the interval in UTC.
        assert_eq!(
            Zone::Utc.window(noon, DAY),
            (window_start(noon, DAY), window_start(noon, DAY) + DAY)
        );
        assert!(Zone::parse("Mars/Olympus").is_err());
        assert_eq!(Zone::named("nonsense"), Zone::Utc);
        assert_eq!(
            Zone::parse("Asia/Seoul")
                .unwrap()
                .show("2022-05-09T10:32:05Z"),
            "2022-05-09T19:32:05+09:00"
        );
    }

    #[test]
    fn utc_in_any_spelling_is_utc_and_other_zones_keep_their_iana_names() {
        for utc in ["UTC", "utc", "Utc", "Z"] {
            assert_eq!(Zone::parse(utc), Ok(Zone::Utc), "{utc}");
        }
        let seoul = Zone::named("Asia/Seoul");
        assert_eq!(seoul, Zone::Named(chrono_tz::Asia::Seoul));
        assert_eq!((seoul.name(), Zone::Utc.name()), ("Asia/Seoul", "UTC"));
        assert_eq!(seoul.note(), ", times in Asia/Seoul");
        assert_eq!(Zone::Utc.note(), "");
    }

    /// Zones that skipped their midnight, or went back across it: every window holds
    /// its time and a day starts at its first instant that exists.
    #[test]
    fn windows_hold_their_time_where_clocks_skip_or_repeat_midnight() {
        let utc = |y, mo, d, h, mi, s| {
            Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
                .unwrap()
                .timestamp()
        };
        // Antarctica/Casey went from +08 to +11 at midnight on 2016-10-22: the day
        // starts at 03:00 (16:00 UTC the day before).
        let casey = Zone::parse("Antarctica/Casey").unwrap();
        let noon = utc(2016, 10, 22, 1, 0, 0);
        let day = casey.window(noon, DAY);
        assert_eq!(
            day,
            (utc(2016, 10, 21, 16, 0, 0), utc(2016, 10, 22, 13, 0, 0))
        );
        assert_eq!(casey.show_secs(day.0), "2016-10-22T03:00:00+11:00");
        // Africa/Monrovia went from -00:44:30 to GMT at 00:44:30 UTC on 1972-01-07:
        // 00:44:40 is on the 7th but before its first quarter hour that exists (00:45),
        // so it is in the 6th's last hour.
        let monrovia = Zone::parse("Africa/Monrovia").unwrap();
        let t = utc(1972, 1, 7, 0, 44, 40);
        assert_eq!(
            monrovia.window(t, 3600),
            (utc(1972, 1, 6, 23, 44, 30), utc(1972, 1, 7, 0, 45, 0))
        );
        // America/Goose_Bay went back from 00:01 ADT to 23:01 AST on 2010-11-07: 23:30
        // AST is on the 6th, after the 7th's midnight came once already.
        let goose_bay = Zone::parse("America/Goose_Bay").unwrap();
        let t = utc(2010, 11, 7, 3, 30, 0);
        let (start, end) = goose_bay.window(t, DAY);
        assert_eq!(start, utc(2010, 11, 6, 3, 0, 0));
        assert!(start <= t && t < end, "{start} <= {t} < {end}");
    }

    #[test]
    fn a_named_zone_shows_formats_and_offsets_on_its_own_clock() {
        let seoul = Zone::parse("Asia/Seoul").unwrap();
        assert_eq!(seoul.offset(0), 9 * 3600);
        assert_eq!(Zone::Utc.offset(0), 0);
        assert_eq!(seoul.format(0, "%Y-%m-%d %H:%M"), "1970-01-01 09:00");
        assert_eq!(Zone::Utc.format(0, "%Y-%m-%d %H:%M"), "1970-01-01 00:00");
        // The last hours of 9999 are in the year 10000 in Seoul: shown in UTC.
        assert_eq!(seoul.show_secs(LAST), "9999-12-31T23:59:59Z");
        assert_eq!(seoul.show_secs(LAST - 9 * 3600 + 1), "9999-12-31T15:00:00Z");
        assert_eq!(
            seoul.show_secs(LAST - 9 * 3600),
            "9999-12-31T23:59:59+09:00"
        );
        assert_eq!(seoul.show_secs(LAST + 1), "253402300800");
        // A week in Seoul starts on the local Monday, whatever the day.
        let wednesday = 1_652_054_400 + 2 * DAY; // 2022-05-11
        assert_eq!(seoul.window(wednesday, WEEK).0, 1_652_054_400 - 9 * 3600);
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
        // Every month of four centuries and more, against chrono's calendar.
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-800_000..400_000).step_by(29) {
            let date = epoch + Duration::days(days);
            let civil = (
                i64::from(date.year()),
                i64::from(date.month()),
                i64::from(date.day()),
            );
            assert_eq!(civil_from_days(days), civil, "{days}");
        }
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
