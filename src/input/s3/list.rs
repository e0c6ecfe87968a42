//! Listing log objects with ListObjectsV2, pruned by the time in their names.
//!
//! S3 names a log object `[prefix]YYYY-mm-DD-HH-MM-SS-UniqueString`, or with date-based
//! partitioning `[prefix][AccountId]/[Region]/[SourceBucket]/YYYY/MM/DD/YYYY-mm-DD-HH-MM-SS-UniqueString`.
//! Without `--since/--until/--bucket` everything under the prefix is listed. With them
//! the prefix is walked folder by folder: flat runs of dated names outside the window
//! are jumped over with `StartAfter`, account/region/bucket folders are recognised by
//! their names and only the `--bucket` source buckets are entered, and a bucket's date
//! folders are listed one prefix per day of the window, several days at once. Objects
//! whose name time is outside the window (widened by [`MARGIN`]) are skipped; names
//! without a time are always read.

use aws_sdk_s3::Client;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime};
use tokio::task::JoinSet;

use super::error::{from_sdk, Action, Error, ErrorKind};
use super::progress::Progress;

/// How far outside `--since/--until` an object's name time may be and the object still
/// be read: log delivery lags (usually minutes, at times hours), and a partition date
/// may be the event or the delivery time. Records are still filtered exactly.
pub const MARGIN: i64 = 24 * 3600;

/// What the listing may prune: the record filter's window and source buckets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// `--since`, seconds since the epoch.
    pub since: Option<i64>,
    /// `--until` (exclusive), seconds since the epoch.
    pub until: Option<i64>,
    /// `--bucket` names: on the partitioned layout only these folders are listed.
    pub buckets: Vec<String>,
}

impl Scope {
    fn from(&self) -> Option<i64> {
        self.since.map(|s| s.saturating_sub(MARGIN))
    }

    fn to(&self) -> Option<i64> {
        self.until.map(|u| u.saturating_add(MARGIN))
    }

    fn dated(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// May an object whose name says `time` hold records inside the window?
    pub fn wants(&self, time: i64) -> bool {
        self.from().is_none_or(|f| time >= f) && self.to().is_none_or(|t| time < t)
    }
}

/// The time in a log object's name: the `YYYY-mm-DD-HH-MM-SS-` that starts its last
/// path segment, as seconds since the epoch (UTC).
pub fn key_time(key: &str) -> Option<i64> {
    stamp_time(key.rsplit('/').next().unwrap_or(key))
}

fn stamp_time(name: &str) -> Option<i64> {
    let b = name.as_bytes();
    if b.len() < 20 || b[19] != b'-' {
        return None;
    }
    let shape_ok = b[..19].iter().enumerate().all(|(i, c)| match i {
        4 | 7 | 10 | 13 | 16 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    NaiveDateTime::parse_from_str(&name[..19], "%Y-%m-%d-%H-%M-%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

fn stamp(time: i64) -> String {
    DateTime::from_timestamp(time, 0)
        .map(|t| t.format("%Y-%m-%d-%H-%M-%S").to_string())
        .unwrap_or_default()
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit())
}

fn is_year(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|c| c.is_ascii_digit())
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `cn-north-1`, ...
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// The per-day prefixes `PREFIXYYYY/MM/DD/` of the window, within the years present.
fn day_prefixes(prefix: &str, years: &[i32], scope: &Scope) -> Vec<String> {
    let (Some(&first_year), Some(&last_year)) = (years.iter().min(), years.iter().max()) else {
        return Vec::new();
    };
    let day = |t: i64| DateTime::from_timestamp(t, 0).map(|d| d.date_naive());
    let lowest = NaiveDate::from_ymd_opt(first_year, 1, 1);
    let highest = NaiveDate::from_ymd_opt(last_year, 12, 31);
    let (Some(lowest), Some(highest)) = (lowest, highest) else {
        return Vec::new();
    };
    let start = scope.from().and_then(day).map_or(lowest, |d| d.max(lowest));
    let end = scope
        .to()
        .and_then(|t| day(t - 1))
        .map_or(highest, |d| d.min(highest));
    let mut out = Vec::new();
    let mut d = start;
    while d <= end {
        if years.contains(&d.year()) {
            out.push(format!("{prefix}{}", d.format("%Y/%m/%d/")));
        }
        d += Duration::days(1);
    }
    out
}

/// A listed object worth reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// The outcome of listing one `s3://` input.
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// Objects to read, in key order per listed prefix.
    pub objects: Vec<Listed>,
    /// Objects the listings returned.
    pub listed: u64,
    /// Of those, objects skipped for the time in their name.
    pub skipped: u64,
}

/// Which folders a level of the partitioned layout holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    /// Not known: recognised by the children's names.
    Unknown,
    /// Children are regions (inside an account folder).
    Regions,
    /// Children are source buckets (inside a region folder).
    Buckets,
}

/// Lists one bucket and prefix for a scope.
pub(super) struct Lister<'a> {
    client: &'a Client,
    bucket: &'a str,
    scope: &'a Scope,
    concurrency: usize,
    progress: &'a Progress,
    out: Listing,
}

impl<'a> Lister<'a> {
    pub fn new(
        client: &'a Client,
        bucket: &'a str,
        scope: &'a Scope,
        concurrency: usize,
        progress: &'a Progress,
    ) -> Self {
        Lister {
            client,
            bucket,
            scope,
            concurrency: concurrency.max(1),
            progress,
            out: Listing::default(),
        }
    }

    /// Lists everything under `prefix` that the scope keeps.
    pub async fn run(mut self, prefix: &str) -> Result<Listing, Error> {
        if self.scope.dated() || !self.scope.buckets.is_empty() {
            self.level(prefix.to_string(), Level::Unknown).await?;
        } else {
            let all = list_all(self.client, self.bucket, prefix, self.progress).await?;
            self.consider(all);
        }
        Ok(self.out)
    }

    fn consider(&mut self, objects: Vec<Listed>) {
        for object in objects {
            self.out.listed += 1;
            if key_time(&object.key).is_some_and(|t| !self.scope.wants(t)) {
                self.out.skipped += 1;
            } else {
                self.out.objects.push(object);
            }
        }
    }

    /// One folder, listed with the `/` delimiter: its objects are considered, its
    /// subfolders walked by what their names say they are.
    async fn level(&mut self, prefix: String, level: Level) -> Result<(), Error> {
        let mut years = Vec::new();
        let mut children = Vec::new();
        let mut start_after: Option<String> = None;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(self.bucket)
                .prefix(&prefix)
                .delimiter("/")
                .set_start_after(start_after.clone())
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| from_sdk(Action::List(self.bucket), e))?;
            let objects = objects_of(&page);
            let mut last = objects.last().map(|o| o.key.clone());
            self.progress.listing(objects.len());
            self.consider(objects);
            for p in page.common_prefixes() {
                let Some(child) = p.prefix() else { continue };
                if last.as_deref().is_none_or(|l| child > l) {
                    last = Some(child.to_string());
                }
                let name = child[prefix.len().min(child.len())..].trim_end_matches('/');
                match level {
                    Level::Regions => children.push((child.to_string(), Level::Buckets)),
                    Level::Buckets => {
                        if self.scope.buckets.is_empty()
                            || self.scope.buckets.iter().any(|b| b == name)
                        {
                            children.push((child.to_string(), Level::Unknown));
                        }
                    }
                    Level::Unknown if is_year(name) => {
                        years.extend(name.parse::<i32>().ok());
                    }
                    Level::Unknown if is_account(name) => {
                        children.push((child.to_string(), Level::Regions));
                    }
                    Level::Unknown if is_region(name) => {
                        children.push((child.to_string(), Level::Buckets));
                    }
                    Level::Unknown => children.push((child.to_string(), Level::Unknown)),
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            match last.as_deref().and_then(|l| self.jump(&prefix, l)) {
                Some(jump) => start_after = Some(jump),
                None => {
                    token = page.next_continuation_token().map(str::to_string);
                    if token.is_none() {
                        return Err(Error::new(
                            ErrorKind::Other,
                            format!(
                                "listing s3://{}/{prefix}: S3 said there is more but gave no continuation token",
                                self.bucket
                            ),
                        ));
                    }
                }
            }
        }
        if !years.is_empty() {
            self.days(&prefix, &years).await?;
        }
        for (child, level) in children {
            Box::pin(self.level(child, level)).await?;
        }
        Ok(())
    }

    /// Where to continue a folder listing whose page ended on `last`: past a run of
    /// flat-layout names that are all before the window, or past the rest of a year
    /// whose names are after it. `None` to go on page by page.
    fn jump(&self, prefix: &str, last: &str) -> Option<String> {
        let name = last.strip_prefix(prefix)?;
        if name.contains('/') {
            return None;
        }
        let t = stamp_time(name)?;
        if let Some(from) = self.scope.from().filter(|&f| t < f) {
            return Some(format!("{prefix}{}", stamp(from)));
        }
        if self.scope.to().is_some_and(|to| t >= to) {
            // `.` sorts right after `-`: past every `YYYY-...` name of that year, before
            // any folder named `YYYY0...`.
            return Some(format!("{prefix}{}.", &name[..4]));
        }
        None
    }

    /// A source bucket's date folders: one listing per day of the window (or per year
    /// without one), up to `concurrency` at once, considered in date order.
    async fn days(&mut self, prefix: &str, years: &[i32]) -> Result<(), Error> {
        let prefixes: Vec<String> = if self.scope.dated() {
            day_prefixes(prefix, years, self.scope)
        } else {
            let mut years = years.to_vec();
            years.sort_unstable();
            years.iter().map(|y| format!("{prefix}{y:04}/")).collect()
        };
        let mut results: Vec<Option<Vec<Listed>>> = vec![None; prefixes.len()];
        let mut running = JoinSet::new();
        let mut next = 0;
        while next < prefixes.len() || !running.is_empty() {
            while next < prefixes.len() && running.len() < self.concurrency {
                let client = self.client.clone();
                let bucket = self.bucket.to_string();
                let day = prefixes[next].clone();
                let progress = self.progress.clone();
                let index = next;
                running.spawn(
                    async move { (index, list_all(&client, &bucket, &day, &progress).await) },
                );
                next += 1;
            }
            match running.join_next().await {
                Some(Ok((index, listed))) => results[index] = Some(listed?),
                Some(Err(e)) => {
                    return Err(Error::new(
                        ErrorKind::Other,
                        format!("listing s3://{}/{prefix} failed: {e}", self.bucket),
                    ))
                }
                None => break,
            }
        }
        for listed in results.into_iter().flatten() {
            self.consider(listed);
        }
        Ok(())
    }
}

/// Every object under `prefix`, all pages.
async fn list_all(
    client: &Client,
    bucket: &str,
    prefix: &str,
    progress: &Progress,
) -> Result<Vec<Listed>, Error> {
    let mut out = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk(Action::List(bucket), e))?;
        let objects = objects_of(&page);
        progress.listing(objects.len());
        out.extend(objects);
    }
    Ok(out)
}

/// The objects of a page, without folder markers (keys ending in `/`).
fn objects_of(page: &aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output) -> Vec<Listed> {
    page.contents()
        .iter()
        .filter_map(|o| {
            let key = o.key()?;
            (!key.ends_with('/')).then(|| Listed {
                key: key.to_string(),
                size: o.size().unwrap_or(0).max(0) as u64,
                etag: o.e_tag().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const MAY_9: i64 = 1_652_054_400; // 2022-05-09T00:00:00Z

    #[test]
    fn times_come_from_the_last_path_segment() {
        assert_eq!(
            key_time("logs/2022-05-09-10-31-44-7C1A9E3F5B2D4086"),
            Some(MAY_9 + 10 * 3600 + 31 * 60 + 44)
        );
        assert_eq!(
            key_time("p/123456789012/us-east-1/b/2022/05/09/2022-05-09-00-00-00-X"),
            Some(MAY_9)
        );
        for no in [
            "2022-05-09-10-31-44",
            "2022-05-09-10-31-44X",
            "2022-13-09-10-31-44-X",
            "2022-05-09 10-31-44-X",
            "logs/archive.gz",
            "2022-05-09-10-31-4a-X",
        ] {
            assert_eq!(key_time(no), None, "{no}");
        }
    }

    #[test]
    fn the_window_is_widened_by_the_margin() {
        let scope = Scope {
            since: Some(MAY_9),
            until: Some(MAY_9 + DAY),
            buckets: vec![],
        };
        assert!(!scope.wants(MAY_9 - MARGIN - 1));
        assert!(scope.wants(MAY_9 - MARGIN));
        assert!(scope.wants(MAY_9 + DAY + MARGIN - 1));
        assert!(!scope.wants(MAY_9 + DAY + MARGIN));
        assert!(Scope::default().wants(0));
    }

    #[test]
    fn folder_names_are_recognised() {
        assert!(is_account("123456789012"));
        assert!(!is_account("12345678901"));
        assert!(is_year("2022"));
        for r in ["us-east-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"] {
            assert!(is_region(r), "{r}");
        }
        for r in [
            "us-east",
            "logs",
            "us-east-1a",
            "US-EAST-1",
            "-east-1",
            "us--1",
        ] {
            assert!(!is_region(r), "{r}");
        }
    }

    #[test]
    fn one_prefix_per_day_of_the_widened_window_within_the_years_present() {
        let scope = Scope {
            since: Some(MAY_9 + 12 * 3600),
            until: Some(MAY_9 + DAY),
            buckets: vec![],
        };
        assert_eq!(
            day_prefixes("p/", &[2022], &scope),
            ["p/2022/05/08/", "p/2022/05/09/", "p/2022/05/10/"]
        );
        assert!(day_prefixes("p/", &[2021], &scope).is_empty());
        let open_start = Scope {
            until: Some(
                NaiveDate::from_ymd_opt(2021, 1, 2)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp(),
            ),
            ..Scope::default()
        };
        let days = day_prefixes("", &[2020, 2021], &open_start);
        assert_eq!(days.first().map(String::as_str), Some("2020/01/01/"));
        assert_eq!(days.last().map(String::as_str), Some("2021/01/02/"));
        assert_eq!(days.len(), 366 + 2);
    }

    #[test]
    fn stamps_round_trip() {
        assert_eq!(stamp(MAY_9), "2022-05-09-00-00-00");
        assert_eq!(stamp_time("2022-05-09-00-00-00-"), Some(MAY_9));
    }
}
