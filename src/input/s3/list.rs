//! Listing log objects with ListObjectsV2: in parallel, streamed, pruned by the time in
//! their names.
//!
//! S3 names a log object `[prefix]YYYY-mm-DD-HH-MM-SS-UniqueString`, or with date-based
//! partitioning `[prefix][AccountId]/[Region]/[SourceBucket]/YYYY/MM/DD/YYYY-mm-DD-HH-MM-SS-UniqueString`.
//! A listing is a row of key ranges `(after, upto]` in key order. When a page of a range
//! ends on a dated name and more is to come, the rest of the range is cut at name times
//! (whole hours when the rest spans hours) into as many ranges as the page's density
//! says it holds pages, and those are listed at once, so a day is read as hour ranges in
//! parallel and several days at once. The ranges split the key space without gap or
//! overlap, so every key, dated or not, is listed exactly once. Pages come back in any
//! order; they are handed on in range order, through a bounded buffer: the first objects
//! can be read after the first page, and the listing never sits whole in memory.
//!
//! Without `--since/--until/--bucket` everything under the prefix is one range. With
//! them the prefix is walked folder by folder: runs of dated names outside the window
//! are jumped over with `StartAfter`, account/region/bucket folders are recognised by
//! their names and only the `--bucket` source buckets are entered, and a bucket's date
//! folders are listed one prefix per day of the window. Objects whose name time is
//! outside the window (widened by [`MARGIN`]) are skipped.
//!
//! A listing that does not move forward (a continuation token or a key seen again, pages
//! that stay empty) or that passes [`Limits::keys`] ends with an error.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use aws_sdk_s3::Client;
use chrono::{DateTime, Datelike, Duration, NaiveDate};
use tokio::runtime::Handle;

use super::error::{from_sdk, Action, Error, ErrorKind};
use super::pages::{FastPages, Listed, Page, Slot};
use super::progress::Progress;
use super::ObjectCounts;

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
    // Read once per listed key: the digits by hand, the calendar by chrono (a format
    // string would be parsed again for every key).
    let number = |at: usize, len: usize| {
        b[at..at + len]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let date = NaiveDate::from_ymd_opt(number(0, 4) as i32, number(5, 2), number(8, 2))?;
    // A leap second (`60`) is the second before it, as chrono's parser has it.
    let second = match number(17, 2) {
        60 => 59,
        s => s,
    };
    let time = date.and_hms_opt(number(11, 2), number(14, 2), second)?;
    Some(time.and_utc().timestamp())
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

/// One ListObjectsV2 request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PageRequest {
    pub prefix: String,
    /// Roll keys up to their next `/` into folders.
    pub delimiter: bool,
    /// Only keys after this one (sent only without a token).
    pub start_after: Option<String>,
    pub token: Option<String>,
}

/// Where pages come from: S3, or a fake in the tests.
pub(super) trait Pages: Send + Sync + 'static {
    /// Sends one request.
    fn page(
        &self,
        request: PageRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Page, Error>> + Send>>;
}

/// The pages of one bucket through the SDK.
pub(super) struct S3Pages {
    pub client: Client,
    pub bucket: String,
}

impl Pages for S3Pages {
    fn page(
        &self,
        request: PageRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Page, Error>> + Send>> {
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        Box::pin(async move {
            let mut call = client
                .list_objects_v2()
                .bucket(&bucket)
                .prefix(&request.prefix);
            if request.delimiter {
                call = call.delimiter("/");
            }
            call = match request.token {
                Some(token) => call.continuation_token(token),
                None => call.set_start_after(request.start_after),
            };
            let slot = Slot::default();
            let out = call
                .customize()
                .interceptor(FastPages(Arc::clone(&slot)))
                .send()
                .await
                .map_err(|e| from_sdk(Action::List(&bucket), e))?;
            if let Some(page) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Ok(page);
            }
            // An answer the fast reader left to the SDK's decoder: its strings are moved,
            // not copied (a page is a thousand keys).
            let objects = out
                .contents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| {
                    let key = o.key.filter(|k| !k.ends_with('/'))?;
                    Some(Listed {
                        key,
                        size: o.size.unwrap_or(0).max(0) as u64,
                        etag: o.e_tag.unwrap_or_default(),
                    })
                })
                .collect();
            let folders = out
                .common_prefixes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.prefix)
                .collect();
            Ok(Page {
                objects,
                folders,
                truncated: out.is_truncated == Some(true),
                next_token: out.next_continuation_token,
            })
        })
    }
}

/// How a listing is cut and bounded.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// Requests in flight at once.
    pub requests: usize,
    /// Pages buffered or on their way, beyond the one the reader waits for.
    pub pages: usize,
    /// Ranges one page may be cut into.
    pub split: usize,
    /// Ranges known at once (listed, waiting or being read).
    pub ranges: usize,
    /// Objects one listing may return; past this it ends with an error.
    pub keys: u64,
    /// Truncated pages in a row without a key or folder before the listing is taken
    /// for one that does not move.
    pub empty_pages: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests: 32,
            pages: 64,
            split: 64,
            ranges: 20_000,
            keys: 100_000_000,
            empty_pages: 100,
        }
    }
}

/// How names are laid out around a dated key: the key of any time `t` in the same place.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Base {
    /// `DIR/YYYY-mm-DD-HH-MM-SS…`: the folder `DIR/` (possibly empty).
    Flat(String),
    /// `ROOT/YYYY/MM/DD/YYYY-mm-DD-HH-MM-SS…`: `ROOT/`.
    Partitioned(String),
}

impl Base {
    /// The layout of `key` and the time in its name, if it is a dated log name.
    fn of(key: &str) -> Option<(Base, i64)> {
        let cut = key.rfind('/').map_or(0, |i| i + 1);
        let (dir, name) = key.split_at(cut);
        let time = stamp_time(name)?;
        let d = dir.as_bytes();
        let dated_dir = d.len() >= 11
            && d[d.len() - 11..].iter().enumerate().all(|(i, c)| match i {
                4 | 7 | 10 => *c == b'/',
                _ => c.is_ascii_digit(),
            });
        Some(if dated_dir {
            (Base::Partitioned(dir[..dir.len() - 11].to_string()), time)
        } else {
            (Base::Flat(dir.to_string()), time)
        })
    }

    /// The name of second `t` in this layout, without its unique part: every name of
    /// that second sorts after it, every earlier one before.
    fn boundary(&self, t: i64) -> String {
        match self {
            Base::Flat(dir) => format!("{dir}{}", stamp(t)),
            Base::Partitioned(root) => {
                let day = DateTime::from_timestamp(t, 0)
                    .map(|d| d.format("%Y/%m/%d/").to_string())
                    .unwrap_or_default();
                format!("{root}{day}{}", stamp(t))
            }
        }
    }
}

/// Where to cut the names from time `lo` to `end` when a full page of `page` entries held
/// `count` dated names from `first` to `last`: into ranges expected to hold nine tenths
/// of a page each, so that most ranges are listed by one request and the names past a
/// range's end that its page also returns stay few; at most `max` ranges, cut at whole
/// hours (or minutes) when they span that much. Empty: no cut.
fn split_times(
    count: u64,
    page: u64,
    first: i64,
    last: i64,
    lo: i64,
    end: i64,
    max: usize,
) -> Vec<i64> {
    if end <= lo || max < 2 {
        return Vec::new();
    }
    let covered = i128::from((last - first).max(1));
    let names = i128::from(count.max(1)) * i128::from(end - lo) / covered;
    let per_range = i128::from((page * 9 / 10).max(1));
    let ranges = (names + per_range - 1) / per_range;
    let n = usize::try_from(ranges).unwrap_or(usize::MAX).min(max) as i64;
    if n < 2 {
        return Vec::new();
    }
    let step = (end - lo) / n;
    let unit = match step {
        s if s >= 3600 => 3600,
        s if s >= 60 => 60,
        _ => 1,
    };
    let mut times: Vec<i64> = (1..n)
        .map(|i| {
            let t = lo + (end - lo) * i / n;
            t - t.rem_euclid(unit)
        })
        .chain(std::iter::once(end))
        .filter(|&t| t > lo)
        .collect();
    times.dedup();
    times
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

/// What a folder listing found below it, walked once the folder's own objects are out.
#[derive(Debug, Default)]
struct Found {
    /// The folder listed.
    prefix: String,
    /// Year folders (`YYYY/`): the date folders of a source bucket.
    years: Vec<i32>,
    /// Other folders to walk, with what they hold.
    folders: Vec<(String, Level)>,
}

/// One range of keys under a prefix: those after `after` up to `upto` (inclusive).
#[derive(Debug)]
struct Range {
    prefix: String,
    /// Listed folder by folder (with the delimiter), at this level; `None`: all keys.
    level: Option<Level>,
    after: Option<String>,
    upto: Option<String>,
    token: Option<String>,
    /// Tokens this range has been given: one seen again means a loop.
    tokens: HashSet<String>,
    /// The last key (and folder) handed on: the next must sort after it.
    last_key: Option<String>,
    last_folder: Option<String>,
    empty_pages: u32,
    /// Why the range ended early, for the reader when it gets there.
    failed: Option<Error>,
    /// Where the folders found go (shared by the ranges a folder listing was cut into).
    found: Option<Arc<Mutex<Found>>>,
    pages: VecDeque<Vec<Listed>>,
    requested: bool,
    done: bool,
}

impl Found {
    fn under(prefix: &str) -> Arc<Mutex<Found>> {
        Arc::new(Mutex::new(Found {
            prefix: prefix.to_string(),
            ..Found::default()
        }))
    }
}

impl Range {
    fn new(prefix: String, level: Option<Level>, found: Option<Arc<Mutex<Found>>>) -> Range {
        Range {
            prefix,
            level,
            after: None,
            upto: None,
            token: None,
            tokens: HashSet::new(),
            last_key: None,
            last_folder: None,
            empty_pages: 0,
            failed: None,
            found,
            pages: VecDeque::new(),
            requested: false,
            done: false,
        }
    }

    /// The part of this range after `after`, up to the same end.
    fn rest(&self, after: String) -> Range {
        let mut r = Range::new(self.prefix.clone(), self.level, self.found.clone());
        r.upto = self.upto.clone();
        r.last_key = Some(after.clone());
        r.after = Some(after);
        r
    }

    /// Does `key` belong to this range's end (not past `upto`, under the prefix)?
    fn holds(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) && self.upto.as_deref().is_none_or(|u| key <= u)
    }

    fn request(&self) -> PageRequest {
        PageRequest {
            prefix: self.prefix.clone(),
            delimiter: self.level.is_some(),
            start_after: self.after.clone(),
            token: self.token.clone(),
        }
    }
}

#[derive(Debug)]
enum Entry {
    Range(Box<Range>),
    /// The folders a folder listing found: walked when the listing is out.
    Folders(Arc<Mutex<Found>>),
}

/// The state of one listing, behind a lock.
struct State {
    entries: VecDeque<(u64, Entry)>,
    next_id: u64,
    in_flight: usize,
    /// Pages in `entries`.
    buffered: usize,
    /// Objects of the page being handed out.
    current: VecDeque<Listed>,
    keys: u64,
    ended: bool,
}

/// What a listing needs besides its state.
struct Shared {
    state: Mutex<State>,
    /// Signalled when a page arrives or the listing fails.
    arrived: Condvar,
    pages: Arc<dyn Pages>,
    runtime: Handle,
    scope: Scope,
    /// Names are not expected later than this (seconds since the epoch): where cutting
    /// an open-ended range stops.
    horizon: i64,
    limits: Limits,
    progress: Progress,
    counters: Arc<ObjectCounts>,
}

/// The objects under one prefix, in listing order, as the listing goes on.
pub(super) struct Keys {
    shared: Arc<Shared>,
}

/// Everything a listing is started with.
pub(super) struct Start {
    pub pages: Arc<dyn Pages>,
    pub runtime: Handle,
    pub prefix: String,
    pub scope: Scope,
    /// The time now, seconds since the epoch.
    pub now: i64,
    pub limits: Limits,
    pub progress: Progress,
    pub counters: Arc<ObjectCounts>,
}

impl Keys {
    /// Starts listing: the first request goes out now.
    pub fn start(start: Start) -> Keys {
        let pruned = start.scope.dated() || !start.scope.buckets.is_empty();
        let mut state = State {
            entries: VecDeque::new(),
            next_id: 0,
            in_flight: 0,
            buffered: 0,
            current: VecDeque::new(),
            keys: 0,
            ended: false,
        };
        if pruned {
            let found = Found::under(&start.prefix);
            let root = Range::new(start.prefix, Some(Level::Unknown), Some(found.clone()));
            state.push_back(Entry::Range(Box::new(root)));
            state.push_back(Entry::Folders(found));
        } else {
            state.push_back(Entry::Range(Box::new(Range::new(start.prefix, None, None))));
        }
        start.progress.listing_started();
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            arrived: Condvar::new(),
            pages: start.pages,
            runtime: start.runtime,
            scope: start.scope,
            horizon: start.now.saturating_add(24 * 3600),
            limits: start.limits,
            progress: start.progress,
            counters: start.counters,
        });
        {
            let mut state = shared.lock();
            shared.pump(&mut state);
        }
        Keys { shared }
    }

    /// The next object: `None` at the end, or, with `wait` false, when none has arrived
    /// yet. An error ends the listing.
    pub fn next(&self, wait: bool) -> Option<Result<Listed, Error>> {
        let shared = &self.shared;
        let mut state = shared.lock();
        loop {
            if let Some(listed) = state.current.pop_front() {
                return Some(Ok(listed));
            }
            if state.ended {
                return None;
            }
            match state.entries.front_mut() {
                None => {
                    state.end(&shared.progress);
                    return None;
                }
                Some((_, Entry::Range(range))) => {
                    if let Some(page) = range.pages.pop_front() {
                        state.buffered -= 1;
                        state.current = page.into();
                        shared.pump(&mut state);
                    } else if let Some(e) = range.failed.take() {
                        // What came before it is out: the listing ends here.
                        state.end(&shared.progress);
                        return Some(Err(e));
                    } else if range.done {
                        state.entries.pop_front();
                    } else if !wait {
                        return None;
                    } else {
                        shared.pump(&mut state);
                        state = shared
                            .arrived
                            .wait(state)
                            .unwrap_or_else(|p| p.into_inner());
                    }
                }
                Some((_, Entry::Folders(_))) => {
                    let Some((_, Entry::Folders(found))) = state.entries.pop_front() else {
                        unreachable!("the front entry is a folder list")
                    };
                    let found =
                        std::mem::take(&mut *found.lock().unwrap_or_else(|p| p.into_inner()));
                    shared.walk(&mut state, found);
                    shared.pump(&mut state);
                }
            }
        }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if !state.ended {
            state.end(&self.shared.progress);
        }
    }
}

impl State {
    fn push_back(&mut self, entry: Entry) {
        self.entries.push_back((self.next_id, entry));
        self.next_id += 1;
    }

    fn insert(&mut self, at: usize, entry: Entry) {
        self.entries.insert(at, (self.next_id, entry));
        self.next_id += 1;
    }

    fn end(&mut self, progress: &Progress) {
        self.ended = true;
        self.entries.clear();
        self.current.clear();
        self.buffered = 0;
        progress.listing_done();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends requests for the first ranges that have more to list, while requests and
    /// buffered pages stay within the limits. The first range the reader needs is
    /// always asked for, so pages of later ranges can never hold it up.
    fn pump(self: &Arc<Self>, state: &mut State) {
        if state.ended {
            return;
        }
        let mut in_flight = state.in_flight;
        // The range the reader is at or will be at next, whatever is buffered.
        let mut head = true;
        let mut to_send = Vec::new();
        for (id, entry) in state.entries.iter_mut() {
            if in_flight >= self.limits.requests {
                break;
            }
            let Entry::Range(range) = entry else {
                head = false;
                continue;
            };
            if range.done && range.pages.is_empty() {
                continue;
            }
            // Exempt while the reader has nothing of it: one request at a time.
            let exempt = head && range.pages.is_empty();
            head = false;
            // A range goes on with its next page as soon as it knows where that starts,
            // not when its pages are read: within the budget, each range reads ahead.
            if range.done || range.requested {
                continue;
            }
            if !exempt && in_flight + state.buffered >= self.limits.pages {
                break;
            }
            range.requested = true;
            in_flight += 1;
            to_send.push((*id, range.request()));
        }
        state.in_flight = in_flight;
        for (id, request) in to_send {
            let shared = Arc::clone(self);
            let page = self.pages.page(request);
            self.runtime.spawn(async move {
                let result = page.await;
                let mut state = shared.lock();
                state.in_flight -= 1;
                shared.arrive(&mut state, id, result);
                shared.pump(&mut state);
                drop(state);
                shared.arrived.notify_all();
            });
        }
    }

    /// Ends the range at `at` with an error, handed on when the reader gets there.
    fn fail(&self, state: &mut State, at: usize, error: Error) {
        if let (_, Entry::Range(range)) = &mut state.entries[at] {
            range.failed.get_or_insert(error);
            range.done = true;
        }
    }

    /// Takes in a page of range `id`: checks that it moves forward, keeps its objects
    /// and folders inside the range, and decides how the range goes on.
    fn arrive(&self, state: &mut State, id: u64, result: Result<Page, Error>) {
        if state.ended {
            return;
        }
        let Some(at) = state.entries.iter().position(|(i, _)| *i == id) else {
            return;
        };
        let page = match result {
            Ok(page) => page,
            Err(e) => return self.fail(state, at, e),
        };
        let (_, Entry::Range(range)) = &mut state.entries[at] else {
            return;
        };
        range.requested = false;
        range.token = None;
        // What comes back must sort after what came before, or the listing loops.
        let mut problem = None;
        let returned = (page.objects.len() + page.folders.len()) as u64;
        let mut objects = page.objects;
        let mut previous = range.last_key.as_deref();
        for object in &objects {
            if previous.is_some_and(|l| object.key.as_str() <= l) {
                problem = Some(format!(
                    "S3 listed {} again or out of key order; the listing does not move forward",
                    object.key
                ));
                break;
            }
            previous = Some(&object.key);
        }
        if problem.is_none() {
            if let Some(last) = objects.last() {
                range.last_key = Some(last.key.clone());
            }
        }
        let mut past_end = false;
        objects.retain(|o| {
            let inside = range.holds(&o.key);
            past_end |= !inside;
            inside
        });
        let mut folders = Vec::new();
        for folder in page.folders {
            if range
                .last_folder
                .as_deref()
                .is_some_and(|l| folder.as_str() <= l)
            {
                problem = Some(format!(
                    "S3 listed the folder {} again or out of key order; the listing does not move forward",
                    folder
                ));
                break;
            }
            range.last_folder = Some(folder.clone());
            if folder.len() <= range.prefix.len() {
                continue;
            }
            if range.holds(&folder) {
                folders.push(folder);
            } else {
                past_end = true;
            }
        }
        if let Some(problem) = problem {
            return self.fail(state, at, Error::new(ErrorKind::Other, problem));
        }
        if objects.is_empty() && folders.is_empty() && page.truncated && !past_end {
            range.empty_pages += 1;
            if range.empty_pages > self.limits.empty_pages {
                let message = format!(
                    "{} pages in a row said there is more but held nothing; the listing does not move forward",
                    range.empty_pages
                );
                return self.fail(state, at, Error::new(ErrorKind::Other, message));
            }
        } else {
            range.empty_pages = 0;
        }
        // The last name the page returned, inside the range or not: where it goes on.
        let last = match (objects.last(), folders.last()) {
            (Some(o), Some(f)) => Some(o.key.clone().max(f.clone())),
            (Some(o), None) => Some(o.key.clone()),
            (None, Some(f)) => Some(f.clone()),
            (None, None) => None,
        };
        let dated_last = objects.last().map(|o| o.key.clone()).filter(|k| {
            last.as_deref() == Some(k.as_str())
                && (range.level.is_none() || !k[range.prefix.len()..].contains('/'))
        });
        if let (Some(level), Some(found)) = (range.level, &range.found) {
            let mut found = found.lock().unwrap_or_else(|p| p.into_inner());
            for folder in &folders {
                self.classify(&mut found, &range.prefix, folder, level);
            }
        }
        // Count and keep; the names' times say how dense the page was.
        let listed = objects.len() as u64;
        let (mut dated, mut first, mut skipped) = (0u64, None::<i64>, 0u64);
        let mut kept = objects;
        kept.retain(|o| {
            let Some(t) = key_time(&o.key) else {
                return true;
            };
            dated += 1;
            first = Some(first.map_or(t, |f| f.min(t)));
            let wanted = self.scope.wants(t);
            skipped += u64::from(!wanted);
            wanted
        });
        state.keys += listed;
        self.counters.add_listed(listed, skipped);
        self.progress.listing(listed as usize);
        if !kept.is_empty() {
            self.progress
                .to_read(kept.len() as u64, kept.iter().map(|o| o.size).sum());
            range.pages.push_back(kept);
            state.buffered += 1;
        }
        if state.keys > self.limits.keys {
            let message = format!(
                "more than {} objects; narrow the listing with --since/--until or a longer prefix",
                self.limits.keys
            );
            return self.fail(state, at, Error::new(ErrorKind::Other, message));
        }
        if past_end || !page.truncated {
            range.done = true;
            return;
        }
        let Some(last) = last else {
            // Nothing inside yet: go on where S3 says.
            return self.go_on(state, at, page.next_token);
        };
        let Some(key) = dated_last else {
            return self.go_on(state, at, page.next_token);
        };
        let Some((base, time)) = Base::of(&key) else {
            return self.go_on(state, at, page.next_token);
        };
        let room = self
            .limits
            .ranges
            .saturating_sub(state.entries.len())
            .min(self.limits.split);
        let (_, Entry::Range(range)) = &mut state.entries[at] else {
            return;
        };
        // Before the window: jump to its first second.
        if let Some(from) = self.scope.from().filter(|&f| time < f) {
            let jump = base.boundary(from);
            if jump > last {
                if !range.holds(&jump) {
                    range.done = true;
                } else {
                    range.after = Some(jump);
                }
                return;
            }
        }
        // After the window, in the flat layout: past the rest of that year's names (`.`
        // sorts right after `-`, before any folder named `YYYY0…`).
        if let (Some(_), Base::Flat(dir)) = (self.scope.to().filter(|&t| time >= t), &base) {
            let name = &key[dir.len()..];
            let jump = format!("{dir}{}.", &name[..4]);
            if jump > last {
                if !range.holds(&jump) {
                    range.done = true;
                } else {
                    range.after = Some(jump);
                }
                return;
            }
        }
        let end = self.end_time(range, &base, time);
        let first = first.unwrap_or(time);
        let cuts: Vec<String> = split_times(dated, returned, first, time, time, end, room)
            .into_iter()
            .map(|t| base.boundary(t))
            .filter(|b| *b > last && range.holds(b))
            .collect();
        let mut cuts = cuts;
        cuts.dedup();
        if cuts.is_empty() {
            return self.go_on(state, at, page.next_token);
        }
        // This range ends at the first cut; the others follow it.
        let old_upto = range.upto.take();
        range.after = Some(last);
        range.upto = Some(cuts[0].clone());
        let mut pieces = Vec::with_capacity(cuts.len());
        for (i, cut) in cuts.iter().enumerate() {
            let mut piece = range.rest(cut.clone());
            piece.upto = match cuts.get(i + 1) {
                Some(next) => Some(next.clone()),
                None => old_upto.clone(),
            };
            pieces.push(piece);
        }
        for (i, piece) in pieces.into_iter().enumerate() {
            state.insert(at + 1 + i, Entry::Range(Box::new(piece)));
        }
    }

    /// Goes on with the next page of the range at `at`.
    fn go_on(&self, state: &mut State, at: usize, token: Option<String>) {
        let (_, Entry::Range(range)) = &mut state.entries[at] else {
            return;
        };
        let Some(token) = token else {
            let message = "S3 said there is more but gave no continuation token";
            return self.fail(state, at, Error::new(ErrorKind::Other, message));
        };
        if !range.tokens.insert(token.clone()) {
            let message = "S3 gave the same continuation token twice; the listing loops";
            return self.fail(state, at, Error::new(ErrorKind::Other, message));
        }
        range.token = Some(token);
    }

    /// The latest name time worth cutting a range at: the window's end, the time past
    /// which names would leave the range, and no later than the horizon.
    fn end_time(&self, range: &Range, base: &Base, from: i64) -> i64 {
        let mut end = self.horizon;
        if let Some(to) = self.scope.to() {
            end = end.min(to);
        }
        if end <= from || range.holds(&base.boundary(end)) {
            return end;
        }
        // The boundaries grow with the time: find the last one still inside.
        let (mut lo, mut hi) = (from, end);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if range.holds(&base.boundary(mid)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Notes a folder a listing at `level` found under `prefix`.
    fn classify(&self, found: &mut Found, prefix: &str, folder: &str, level: Level) {
        let name = folder[prefix.len().min(folder.len())..].trim_end_matches('/');
        match level {
            Level::Regions => found.folders.push((folder.to_string(), Level::Buckets)),
            Level::Buckets => {
                if self.scope.buckets.is_empty() || self.scope.buckets.iter().any(|b| b == name) {
                    found.folders.push((folder.to_string(), Level::Unknown));
                }
            }
            Level::Unknown if is_year(name) => found.years.extend(name.parse::<i32>().ok()),
            Level::Unknown if is_account(name) => {
                found.folders.push((folder.to_string(), Level::Regions))
            }
            Level::Unknown if is_region(name) => {
                found.folders.push((folder.to_string(), Level::Buckets))
            }
            Level::Unknown => found.folders.push((folder.to_string(), Level::Unknown)),
        }
    }

    /// Puts what a folder listing found at the front: its date folders (one range per
    /// day of the window, or per year without one), then its other folders.
    fn walk(&self, state: &mut State, found: Found) {
        let dates = if found.years.is_empty() {
            Vec::new()
        } else if self.scope.dated() {
            day_prefixes(&found.prefix, &found.years, &self.scope)
        } else {
            let mut years = found.years.clone();
            years.sort_unstable();
            years.dedup();
            years
                .iter()
                .map(|y| format!("{}{y:04}/", found.prefix))
                .collect()
        };
        let mut at = 0;
        for prefix in dates {
            state.insert(at, Entry::Range(Box::new(Range::new(prefix, None, None))));
            at += 1;
        }
        for (folder, level) in found.folders {
            let inner = Found::under(&folder);
            state.insert(
                at,
                Entry::Range(Box::new(Range::new(
                    folder,
                    Some(level),
                    Some(inner.clone()),
                ))),
            );
            state.insert(at + 1, Entry::Folders(inner));
            at += 2;
        }
    }
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

    #[test]
    fn name_times_are_read_as_chronos_parser_reads_them() {
        let chrono = |name: &str| {
            chrono::NaiveDateTime::parse_from_str(&name[..19], "%Y-%m-%d-%H-%M-%S")
                .ok()
                .map(|t| t.and_utc().timestamp())
        };
        for name in [
            "2022-05-09-10-31-44-X",
            "2020-02-29-23-59-59-X",
            "2021-02-29-00-00-00-X",
            "2022-04-31-00-00-00-X",
            "2022-00-10-00-00-00-X",
            "2022-05-00-00-00-00-X",
            "2022-12-31-23-59-60-X",
            "2022-05-09-24-00-00-X",
            "2022-05-09-10-60-00-X",
            "2022-05-09-10-00-61-X",
            "0000-01-01-00-00-00-X",
            "9999-12-31-23-59-59-X",
        ] {
            assert_eq!(stamp_time(name), chrono(name), "{name}");
        }
    }

    /// ListObjectsV2 over a set of keys, `page` entries a page, like S3: a token says
    /// where the last page ended; with the delimiter, keys roll up into folders.
    struct Fake {
        keys: std::collections::BTreeSet<String>,
        page: usize,
        requests: std::sync::atomic::AtomicUsize,
        in_flight: std::sync::atomic::AtomicUsize,
        most_in_flight: std::sync::atomic::AtomicUsize,
        starts: Mutex<Vec<Option<String>>>,
    }

    impl Fake {
        fn new(keys: &[String], page: usize) -> Arc<Fake> {
            Arc::new(Fake {
                keys: keys.iter().cloned().collect(),
                page,
                requests: Default::default(),
                in_flight: Default::default(),
                most_in_flight: Default::default(),
                starts: Mutex::default(),
            })
        }

        fn answer(&self, r: &PageRequest) -> Page {
            use std::ops::Bound::{Excluded, Included, Unbounded};
            let from = r.token.clone().or(r.start_after.clone());
            let lower = match from.clone() {
                Some(f) if f >= r.prefix => Excluded(f),
                _ => Included(r.prefix.clone()),
            };
            let mut page = Page::default();
            let mut n = 0;
            let mut last = None;
            for key in self.keys.range::<String, _>((lower, Unbounded)) {
                if !key.starts_with(&r.prefix) {
                    if key.as_str() > r.prefix.as_str() {
                        break;
                    }
                    continue;
                }
                let rest = &key[r.prefix.len()..];
                let entry = match rest.find('/') {
                    Some(i) if r.delimiter => {
                        let folder = format!("{}{}", r.prefix, &rest[..=i]);
                        if page.folders.last() == Some(&folder)
                            || from.as_deref().is_some_and(|f| f.starts_with(&folder))
                        {
                            continue;
                        }
                        folder
                    }
                    _ => key.clone(),
                };
                if n == self.page {
                    page.truncated = true;
                    page.next_token = last.clone();
                    break;
                }
                n += 1;
                last = Some(entry.clone());
                if entry.len() > key.len() || (r.delimiter && entry != *key) {
                    page.folders.push(entry);
                } else if entry.ends_with('/') {
                    // A folder marker: counted, not returned as an object.
                } else {
                    page.objects.push(Listed {
                        key: entry,
                        size: 1,
                        etag: String::new(),
                    });
                }
            }
            page
        }
    }

    impl Pages for Arc<Fake> {
        fn page(
            &self,
            request: PageRequest,
        ) -> Pin<Box<dyn Future<Output = Result<Page, Error>> + Send>> {
            use std::sync::atomic::Ordering::SeqCst;
            let fake = Arc::clone(self);
            Box::pin(async move {
                fake.requests.fetch_add(1, SeqCst);
                let now = fake.in_flight.fetch_add(1, SeqCst) + 1;
                fake.most_in_flight.fetch_max(now, SeqCst);
                fake.starts.lock().unwrap().push(
                    request
                        .start_after
                        .clone()
                        .filter(|_| request.token.is_none()),
                );
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                let page = fake.answer(&request);
                fake.in_flight.fetch_sub(1, SeqCst);
                Ok(page)
            })
        }
    }

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
        RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
        })
    }

    fn start(pages: Arc<dyn Pages>, prefix: &str, scope: Scope, limits: Limits) -> Keys {
        Keys::start(Start {
            pages,
            runtime: runtime().handle().clone(),
            prefix: prefix.to_string(),
            scope,
            now: MAY_9 + 40 * DAY,
            limits,
            progress: Progress::default(),
            counters: Arc::default(),
        })
    }

    /// Every key the listing hands out, in order, or its error.
    fn drain(keys: &Keys) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        while let Some(next) = keys.next(true) {
            out.push(next?.key);
        }
        Ok(out)
    }

    fn listed(fake: &Arc<Fake>, prefix: &str, scope: Scope) -> Vec<String> {
        drain(&start(
            Arc::new(fake.clone()),
            prefix,
            scope,
            Limits::default(),
        ))
        .unwrap()
    }

    fn flat(t: i64, unique: &str) -> String {
        format!("logs/{}-{unique}", stamp(t))
    }

    fn partitioned(source: &str, t: i64, unique: &str) -> String {
        let day = DateTime::from_timestamp(t, 0).unwrap().format("%Y/%m/%d");
        format!(
            "logs/123456789012/eu-west-1/{source}/{day}/{}-{unique}",
            stamp(t)
        )
    }

    /// Keys at every hour boundary of 3 days (the first and last second of each hour,
    /// several in the same second), plus keys that follow no pattern, in both layouts.
    fn boundary_keys() -> Vec<String> {
        let mut keys = Vec::new();
        for hour in 0..72 {
            let t = MAY_9 + hour * 3600;
            for unique in ["0", "A", "ZZZZ"] {
                keys.push(flat(t, unique));
                keys.push(flat(t + 3599, unique));
                keys.push(partitioned("src-a", t, unique));
                keys.push(partitioned("src-b", t + 3599, unique));
            }
            keys.push(flat(t + 1800, &format!("{hour:04}")));
        }
        for odd in [
            "logs/",
            "logs/!early",
            "logs/0000",
            "logs/2022-05-09-10-00-00",
            "logs/2022-05-09-10-00-00-",
            "logs/2022-05-09-junk",
            "logs/2022-05-10",
            "logs/2022-05-10/x",
            "logs/2022.txt",
            "logs/2022/05/09/loose",
            "logs/123456789012/eu-west-1/src-a/2022/05/09/notes.txt",
            "logs/123456789012/eu-west-1/src-a/2022/05/10/2022-05-09-23-59-59-LATE",
            "logs/123456789012/eu-west-1/src-a/2022/05/10",
            "logs/123456789012/eu-west-1/src-b/readme",
            "logs/archive/old.gz",
            "logs/zzz",
            "logs/\u{10FFFF}",
            "other/2022-05-09-10-00-00-X",
        ] {
            keys.push(odd.to_string());
        }
        keys.sort();
        keys.dedup();
        keys
    }

    fn under(keys: &[String], prefix: &str) -> Vec<String> {
        keys.iter()
            .filter(|k| k.starts_with(prefix) && !k.ends_with('/'))
            .cloned()
            .collect()
    }

    #[test]
    fn every_key_is_listed_exactly_once_in_key_order_while_ranges_fan_out() {
        let keys = boundary_keys();
        for page in [1, 2, 7, 50, 1000] {
            let fake = Fake::new(&keys, page);
            let got = listed(&fake, "logs/", Scope::default());
            assert_eq!(got, under(&keys, "logs/"), "page size {page}");
            if page <= 7 {
                // Ranges were cut at name times and listed at once.
                let starts = fake.starts.lock().unwrap();
                assert!(
                    starts.iter().flatten().any(|s| s.ends_with("-00-00")),
                    "page size {page}: {starts:?}"
                );
                let most = fake
                    .most_in_flight
                    .load(std::sync::atomic::Ordering::SeqCst);
                assert!(most > 1, "page size {page}: at most {most} at once");
            }
        }
        // Any prefix, down to one source bucket's day or one hour of flat names.
        let fake = Fake::new(&keys, 3);
        for prefix in [
            "",
            "logs",
            "logs/2022-05-10-",
            "logs/2022-05-10-07",
            "logs/123456789012/",
            "logs/123456789012/eu-west-1/src-a/2022/05/10/",
            "nothing/",
        ] {
            assert_eq!(
                listed(&fake, prefix, Scope::default()),
                under(&keys, prefix),
                "{prefix}"
            );
        }
    }

    #[test]
    fn keys_at_every_minute_boundary_are_listed_once_in_both_layouts() {
        // The first and last second of every minute of a day, names that are exactly a
        // cut (no unique part), and a page of 10: ranges are cut at whole minutes.
        let mut keys = Vec::new();
        for minute in 0..24 * 60 {
            let t = MAY_9 + minute * 60;
            keys.push(flat(t, "A"));
            keys.push(flat(t + 59, "Z"));
            keys.push(partitioned("src", t, "A"));
            keys.push(partitioned("src", t + 59, "Z"));
            if minute % 7 == 0 {
                keys.push(format!("logs/{}", stamp(t)));
                keys.push(format!(
                    "logs/123456789012/eu-west-1/src/2022/05/09/{}",
                    stamp(t)
                ));
            }
        }
        keys.sort();
        for page in [10, 1000] {
            let fake = Fake::new(&keys, page);
            assert_eq!(
                listed(&fake, "logs/", Scope::default()),
                under(&keys, "logs/"),
                "page {page}"
            );
        }
    }

    #[test]
    fn a_busy_day_is_cut_into_hours_and_read_in_parallel() {
        // 24 hours of 60 names each: a 10-name page covers 10 minutes, so the rest of
        // the day is cut into many ranges at once.
        let keys: Vec<String> = (0..24 * 60).map(|m| flat(MAY_9 + m * 60, "U")).collect();
        let fake = Fake::new(&keys, 10);
        assert_eq!(listed(&fake, "logs/", Scope::default()), keys);
        let requests = fake.requests.load(std::sync::atomic::Ordering::SeqCst);
        let most = fake
            .most_in_flight
            .load(std::sync::atomic::Ordering::SeqCst);
        assert!(most >= 8, "at most {most} requests at once");
        // Ranges hold nine tenths of a page, one request each: cutting costs under twice
        // the 144 pages, plus one request for each of the 64 pieces the first page cut
        // the time up to the horizon into (all but one past the last name).
        assert!(requests < 144 * 2 + 64, "{requests} requests");
        // The same in the partitioned layout, with its date folders.
        let keys: Vec<String> = (0..24 * 60)
            .map(|m| partitioned("src", MAY_9 + m * 60, "U"))
            .collect();
        let fake = Fake::new(&keys, 10);
        assert_eq!(listed(&fake, "logs/", Scope::default()), keys);
        let most = fake
            .most_in_flight
            .load(std::sync::atomic::Ordering::SeqCst);
        assert!(most >= 8, "at most {most} requests at once");
    }

    #[test]
    fn a_window_lists_its_days_in_both_layouts_and_skips_nothing_inside() {
        let keys = boundary_keys();
        let since = MAY_9 + DAY + 12 * 3600;
        let until = since + 6 * 3600;
        let scope = Scope {
            since: Some(since),
            until: Some(until),
            buckets: vec![],
        };
        for page in [1, 3, 1000] {
            let fake = Fake::new(&keys, page);
            let got = listed(&fake, "logs/", scope.clone());
            let mut sorted = got.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), got.len(), "page {page}: a key listed twice");
            // Every dated key the window wants is there, and none it does not.
            for key in under(&keys, "logs/") {
                match key_time(&key) {
                    Some(t) if scope.wants(t) => {
                        assert!(got.contains(&key), "page {page}: {key} missing")
                    }
                    Some(_) => assert!(!got.contains(&key), "page {page}: {key} read"),
                    None => {}
                }
            }
            // Folders and names that carry no time are read.
            for odd in ["logs/archive/old.gz", "logs/zzz", "logs/!early"] {
                assert!(got.contains(&odd.to_string()), "page {page}: {odd}");
            }
        }
    }

    #[test]
    fn a_listing_that_does_not_move_forward_is_an_error() {
        struct Loop(&'static str);
        impl Pages for Loop {
            fn page(
                &self,
                request: PageRequest,
            ) -> Pin<Box<dyn Future<Output = Result<Page, Error>> + Send>> {
                let kind = self.0;
                Box::pin(async move {
                    let n: u64 = request.token.as_deref().map_or(0, |t| t.parse().unwrap());
                    let key = match kind {
                        "same-token" => format!("x/{n}"),
                        "keys-again" => "x/a".to_string(),
                        _ => String::new(),
                    };
                    let token = match kind {
                        "same-token" => "1".to_string(),
                        _ => (n + 1).to_string(),
                    };
                    Ok(Page {
                        objects: (!key.is_empty())
                            .then(|| Listed {
                                key,
                                size: 1,
                                etag: String::new(),
                            })
                            .into_iter()
                            .collect(),
                        folders: vec![],
                        truncated: true,
                        next_token: Some(token),
                    })
                })
            }
        }
        for (kind, says) in [
            ("same-token", "same continuation token twice"),
            ("keys-again", "S3 listed x/a again or out of key order"),
            (
                "empty",
                "pages in a row said there is more but held nothing",
            ),
        ] {
            let keys = start(
                Arc::new(Loop(kind)),
                "x/",
                Scope::default(),
                Limits::default(),
            );
            let e = drain(&keys).unwrap_err();
            assert!(e.to_string().contains(says), "{kind}: {e}");
            assert!(keys.next(true).is_none(), "{kind}: the listing ended");
        }
        // An endless listing of new keys stops at the cap.
        struct Endless;
        impl Pages for Endless {
            fn page(
                &self,
                request: PageRequest,
            ) -> Pin<Box<dyn Future<Output = Result<Page, Error>> + Send>> {
                Box::pin(async move {
                    let n: u64 = request.token.as_deref().map_or(0, |t| t.parse().unwrap());
                    Ok(Page {
                        objects: (0..10)
                            .map(|i| Listed {
                                key: format!("x/{:020}", n * 10 + i),
                                size: 1,
                                etag: String::new(),
                            })
                            .collect(),
                        folders: vec![],
                        truncated: true,
                        next_token: Some((n + 1).to_string()),
                    })
                })
            }
        }
        let limits = Limits {
            keys: 1000,
            ..Limits::default()
        };
        let keys = start(Arc::new(Endless), "x/", Scope::default(), limits);
        let e = drain(&keys).unwrap_err();
        assert!(e.to_string().contains("more than 1000 objects"), "{e}");
    }

    #[test]
    fn pages_are_not_fetched_far_ahead_of_the_reader() {
        let keys: Vec<String> = (0..20_000).map(|i| flat(MAY_9 + i, "U")).collect();
        let fake = Fake::new(&keys, 10);
        let limits = Limits::default();
        let listing = start(Arc::new(fake.clone()), "logs/", Scope::default(), limits);
        assert_eq!(listing.next(true).unwrap().unwrap().key, keys[0]);
        // However long the reader takes, the listing stops at its buffer.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (pages, keys_held) = {
            let state = listing.shared.lock();
            let pages: Vec<usize> = state
                .entries
                .iter()
                .filter_map(|(_, e)| match e {
                    Entry::Range(r) => Some(r.pages.iter().map(Vec::len)),
                    Entry::Folders(_) => None,
                })
                .flatten()
                .collect();
            (
                pages.len(),
                pages.iter().sum::<usize>() + state.current.len(),
            )
        };
        assert!(pages <= limits.pages + 1, "{pages} pages held");
        assert!(
            keys_held <= (limits.pages + 2) * 10,
            "{keys_held} keys held"
        );
        assert!(pages > 1, "the listing went ahead of the reader");
        let rest = drain(&listing).unwrap();
        assert_eq!(rest.len(), keys.len() - 1);
    }

    #[test]
    fn cuts_are_at_whole_hours_when_the_ranges_span_hours() {
        // A page of 1,000 names covered 150 s; the rest of the day is nearly 24 h.
        let times = split_times(1000, 1000, MAY_9, MAY_9 + 150, MAY_9 + 150, MAY_9 + DAY, 64);
        assert_eq!(times.len(), 64);
        assert_eq!(*times.last().unwrap(), MAY_9 + DAY);
        assert!(times[..63].iter().all(|t| t % 60 == 0), "{times:?}");
        // 1,000 names in 3 hours: the other 21 hold about 7,000, 8 ranges of hours.
        let hours = split_times(
            1000,
            1000,
            MAY_9,
            MAY_9 + 3 * 3600,
            MAY_9 + 3 * 3600,
            MAY_9 + DAY,
            64,
        );
        assert!((7..=8).contains(&hours.len()), "{hours:?}");
        assert!(hours.iter().all(|t| t % 3600 == 0), "{hours:?}");
        // Minutes: 900 names a minute, 10 minutes left.
        let minutes = split_times(900, 1000, MAY_9, MAY_9 + 60, MAY_9 + 60, MAY_9 + 660, 64);
        assert_eq!(
            minutes,
            (2..=11).map(|m| MAY_9 + m * 60).collect::<Vec<_>>()
        );
        // What is left fits one range (or the limit is one): no cut.
        assert!(split_times(
            1000,
            1000,
            MAY_9,
            MAY_9 + DAY,
            MAY_9 + DAY,
            MAY_9 + DAY + 10,
            64
        )
        .is_empty());
        assert!(split_times(800, 1000, MAY_9, MAY_9 + 60, MAY_9 + 60, MAY_9 + 120, 64).is_empty());
        assert!(split_times(1000, 1000, MAY_9, MAY_9 + 1, MAY_9 + 1, MAY_9 + DAY, 1).is_empty());
        assert_eq!(
            Base::of("a/b/2022/05/09/2022-05-09-00-00-00-X"),
            Some((Base::Partitioned("a/b/".into()), MAY_9))
        );
        assert_eq!(
            Base::Partitioned("r/".into()).boundary(MAY_9 + 3600),
            "r/2022/05/09/2022-05-09-01-00-00"
        );
        assert_eq!(
            Base::of("x/2022-05-09-00-00-00-X"),
            Some((Base::Flat("x/".into()), MAY_9))
        );
        assert_eq!(Base::of("x/notes"), None);
    }
}
