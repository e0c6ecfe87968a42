//! The memory of incremental runs: `check --state FILE`.
//!
//! The state lists every log object already read, **by its content**: the SHA-256 and
//! size of its decoded bytes, taken while it is read ([`crate::input::digest`]). A log
//! that is renamed, moved into an archive folder, gzipped, copied without its times or
//! synced into a fresh folder is the same log and is not counted again; two files are
//! never taken for one because their names look alike. So that an hourly job does not
//! read the whole folder to learn that, each entry also remembers where it was read
//! last and what that copy looked like ([`Location`]: a digest of the path or URL, and
//! of the device, inode, size and times, or of the size and ETag): an input found
//! there unchanged is skipped without being read. An input at a known place whose
//! content is new has changed since it was processed (log objects never change): an
//! error, not a silent re-count.
//!
//! Beside the objects, the state holds the per-bucket counters summed over all runs.
//! It is written only after a run that read everything it listed, so no object is
//! counted twice and none is skipped. Entries older than the retention are pruned; the
//! records of a pruned object are older than the state's `horizon`, and records that
//! old are no longer judged (they could belong to a forgotten object).
//!
//! Runs on one state file take turns: each holds an exclusive lock ([`Lock`]) on a
//! companion file from before it reads the state until after it wrote the next one,
//! so two runs never judge the same object. The file is JSON, written to a temporary
//! file in the same directory (keeping the old file's permissions) and renamed over
//! the old one, so a crash leaves either the old or the new state; temporary files
//! left by a killed run are removed by the next. A file that cannot be read as a
//! state, or that was written under other rules, is refused.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::counters::Counters;
use crate::input::digest::{hex, Digest};
use crate::input::side::{Limited, STATE_LIMIT};
use crate::input::{describe, Input};
use crate::time::{civil_from_days, days_from_civil, rfc3339};

/// Identifies the file format.
pub const FORMAT: &str = "vpce-audit check state";
/// The format version this build reads and writes.
pub const VERSION: u32 = 2;
/// How long a run waits for another to release the state unless told otherwise.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(300);
/// How long processed objects are remembered unless told otherwise: 90 days.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

/// Where a log object was read, as the state remembers it: digests, not names, so that
/// any name (invalid UTF-8 included) is remembered exactly and the file stays small.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// 32 hex digits of the SHA-256 of the canonical path's bytes (or of the URL).
    pub at: String,
    /// 16 hex digits of the SHA-256 of what changes when the copy there changes:
    /// device, inode, size, modification and change times (or size and ETag).
    pub stamp: String,
}

/// Where `input` is, or `None` for standard input, which has no place.
pub fn locate(input: &Input) -> io::Result<Option<Location>> {
    match input {
        Input::Stdin => Ok(None),
        Input::File(path) => {
            let canonical = fs::canonicalize(path)?;
            let meta = fs::metadata(&canonical)?;
            Ok(Some(Location {
                at: short(&[b"file:", &path_bytes(&canonical)], 16),
                stamp: short(&[&stamp_bytes(&meta)?], 8),
            }))
        }
        #[cfg(feature = "s3")]
        Input::S3(object) => Ok(Some(Location {
            at: short(&[b"s3:", object.url().as_bytes()], 16),
            stamp: short(&[&object.size().to_le_bytes(), object.etag().as_bytes()], 8),
        })),
        #[cfg(feature = "s3")]
        Input::S3Listing(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a listing is remembered by its objects",
        )),
    }
}

/// The first `bytes` bytes of the SHA-256 of `parts`, in hex.
fn short(parts: &[&[u8]], bytes: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex(&h.finalize()[..bytes])
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().as_encoded_bytes().to_vec()
}

#[cfg(unix)]
fn stamp_bytes(meta: &fs::Metadata) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::MetadataExt;
    let numbers = [
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime() as u64,
        meta.mtime_nsec() as u64,
        meta.ctime() as u64,
        meta.ctime_nsec() as u64,
    ];
    Ok(numbers.iter().flat_map(|n| n.to_le_bytes()).collect())
}

#[cfg(not(unix))]
fn stamp_bytes(meta: &fs::Metadata) -> io::Result<Vec<u8>> {
    let mtime = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let numbers = [meta.len(), mtime.as_secs(), u64::from(mtime.subsec_nanos())];
    Ok(numbers.iter().flat_map(|n| n.to_le_bytes()).collect())
}

/// One processed log object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processed {
    /// Its decoded size in bytes.
    pub size: u64,
    /// The day (UTC) it was first processed; entries older than the retention go.
    pub seen: String,
    /// Where it was read last ([`Location::at`]).
    pub at: String,
    /// What the copy there looked like ([`Location::stamp`]).
    pub stamp: String,
}

/// A state file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("state file {path}: {message}")]
    Io { path: String, message: String },
    /// The file is not a state this build can read.
    #[error("state file {path} is not a valid vpce-audit state ({message}); it was left untouched — restore it from a backup, or start over with a new file (every log object is then read again)")]
    Corrupt { path: String, message: String },
    /// The file was written by an older vpce-audit, which knew log files by name.
    #[error("state file {path} was written by an older vpce-audit (state format {version}, which knew log files by their path, not their content); it was left untouched — start a new state file (every log object is then read once more, so the first run reports their violations again)")]
    Outdated { path: String, version: u32 },
    /// This run's counts added to the state's would not fit in 64 bits.
    #[error("state file {path}: the counters of bucket {bucket:?} would overflow with this run's requests added; start a new state file")]
    Overflow { path: String, bucket: String },
    /// The counters were made under other rules or settings.
    #[error("state file {path} was written with other rules or settings, so its counters would mix two policies; use the same rules, or a new state file\n  state:   {was}\n  now:     {now}")]
    SettingsChanged {
        path: String,
        was: String,
        now: String,
    },
    /// Another run holds the state.
    #[error("state file {path} is in use by another run (waited {waited_s} s for it); each run reads only the log objects the runs before it did not, so runs take turns: try again later, or wait longer with --lock-timeout")]
    Busy { path: String, waited_s: u64 },
}

/// The state of an incremental check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    format: String,
    version: u32,
    /// What the counters were computed under: rules, private ranges, filters.
    pub settings: serde_json::Value,
    /// Successful runs so far.
    pub runs: u64,
    /// When the last successful run ended (RFC 3339).
    pub updated: Option<String>,
    /// Records older than this are not judged: objects processed before it were
    /// pruned and may come back (RFC 3339; `null` until something was pruned).
    pub horizon: Option<String>,
    /// Every object processed, by the SHA-256 of its decoded bytes.
    pub objects: BTreeMap<String, Processed>,
    /// Per-bucket counters over all runs.
    pub buckets: BTreeMap<String, Counters>,
    /// The kind of log the state has judged (`null` until a run read a record): one
    /// kind per state, so that a request in both an access log and CloudTrail is
    /// never judged twice across runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Where each object was read last ([`Processed::at`] → its key in `objects`).
    #[serde(skip)]
    index: HashMap<String, String>,
}

/// The kinds of log a state judges, one per state file: a request is in both an access
/// log and CloudTrail, and runs that see it once in each cannot join them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// S3 server access logs.
    AccessLogs,
    /// CloudTrail log files or exports.
    Cloudtrail,
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Evidence::AccessLogs => "S3 server access logs",
            Evidence::Cloudtrail => "CloudTrail",
        })
    }
}

/// The text of a state file, at most [`STATE_LIMIT`] bytes of it; `Ok(Err(why))` when
/// it cannot be a state. A state is a JSON object: a file that does not start like one
/// (`/dev/full` reads as endless zeros) is refused after its first bytes, not read to
/// the limit.
fn read_state_text(file: File) -> io::Result<Result<String, String>> {
    let mut reader = Limited::new(file, STATE_LIMIT, "a state file");
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => break,
            Some(_) => return Ok(Err("not a JSON object".into())),
            None => {}
        }
    }
    reader.read_to_end(&mut bytes)?;
    Ok(String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string()))
}

/// What the state knows of a place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtPlace<'a> {
    /// Nothing: the input is read.
    Unknown,
    /// The same copy was processed there: skipped unread.
    Unchanged,
    /// Another copy (or other content) was processed there, this one: the input is
    /// read, and its content decides.
    Was(&'a Processed),
}

impl State {
    /// An empty state for `settings`.
    pub fn new(settings: serde_json::Value) -> Self {
        State {
            format: FORMAT.to_string(),
            version: VERSION,
            settings,
            runs: 0,
            updated: None,
            horizon: None,
            objects: BTreeMap::new(),
            buckets: BTreeMap::new(),
            evidence: None,
            index: HashMap::new(),
        }
    }

    /// Loads the state at `path`, or a new one if there is no file yet. Refuses a
    /// file that is not a state, one of an older format, one whose counters do not
    /// hold together or add up to more than 64 bits hold, one larger than
    /// [`STATE_LIMIT`], or one written under other `settings`.
    pub fn load(path: &Path, settings: &serde_json::Value) -> Result<Self, StateError> {
        let name = path.display().to_string();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(State::new(settings.clone()))
            }
            Err(e) => {
                return Err(StateError::Io {
                    path: name,
                    message: describe(&e),
                })
            }
        };
        let text = match read_state_text(file) {
            Ok(Ok(text)) => text,
            Ok(Err(message)) => {
                return Err(StateError::Corrupt {
                    path: name,
                    message,
                })
            }
            Err(e) => {
                return Err(StateError::Io {
                    path: name,
                    message: describe(&e),
                })
            }
        };
        #[derive(Deserialize)]
        struct Head {
            format: String,
            version: u32,
        }
        let head: Head = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: name.clone(),
            message: e.to_string(),
        })?;
        if head.format == FORMAT && head.version < VERSION {
            return Err(StateError::Outdated {
                path: name,
                version: head.version,
            });
        }
        if head.format != FORMAT || head.version != VERSION {
            return Err(StateError::Corrupt {
                path: name,
                message: format!(
                    "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
                    head.format, head.version
                ),
            });
        }
        let mut state: State = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: name.clone(),
            message: e.to_string(),
        })?;
        let mut all = Counters::default();
        for (bucket, c) in &state.buckets {
            let sum = all.checked_add(c).filter(|_| c.consistent());
            all = sum.ok_or_else(|| StateError::Corrupt {
                path: name.clone(),
                message: format!("the counters of bucket {bucket:?} do not add up"),
            })?;
        }
        if state.settings != *settings {
            return Err(StateError::SettingsChanged {
                path: name,
                was: state.settings.to_string(),
                now: settings.to_string(),
            });
        }
        state.index = state
            .objects
            .iter()
            .map(|(id, p)| (p.at.clone(), id.clone()))
            .collect();
        Ok(state)
    }

    /// What the state knows of the place `location`.
    pub fn at(&self, location: &Location) -> AtPlace<'_> {
        let Some(p) = self
            .index
            .get(&location.at)
            .and_then(|id| self.objects.get(id))
        else {
            return AtPlace::Unknown;
        };
        if p.stamp == location.stamp {
            AtPlace::Unchanged
        } else {
            AtPlace::Was(p)
        }
    }

    /// Was content with this digest processed before?
    pub fn knows(&self, content: &Digest) -> bool {
        self.objects
            .get(&content.hex())
            .is_some_and(|p| p.size == content.bytes)
    }

    /// The time before which records are not judged, if any.
    pub fn horizon(&self) -> Option<i64> {
        self.horizon.as_deref().and_then(crate::time::parse_rfc3339)
    }

    /// Adds a successful run at `now`: the objects it read and where, the known
    /// objects it found in a new place, and its per-bucket counters; then forgets
    /// objects first processed more than `retention_days` days before `now`. Fails,
    /// changing nothing, when a count would no longer fit in 64 bits (`path` names the
    /// file in the error).
    pub fn record(
        &mut self,
        read: &[(Digest, Location)],
        moved: &[(Digest, Location)],
        buckets: &BTreeMap<String, Counters>,
        now: i64,
        retention_days: i64,
        path: &Path,
    ) -> Result<(), StateError> {
        let mut sums = Vec::with_capacity(buckets.len());
        let mut all = self
            .buckets
            .values()
            .try_fold(Counters::default(), |all, c| all.checked_add(c));
        for (name, counters) in buckets {
            let was = self.buckets.get(name).copied().unwrap_or_default();
            all = all.and_then(|all| all.checked_add(counters));
            match (was.checked_add(counters), all) {
                (Some(sum), Some(_)) => sums.push((name, sum)),
                _ => {
                    return Err(StateError::Overflow {
                        path: path.display().to_string(),
                        bucket: name.clone(),
                    })
                }
            }
        }
        let today = day_name(now.div_euclid(86_400));
        for (content, location) in read.iter().chain(moved) {
            let entry = self
                .objects
                .entry(content.hex())
                .or_insert_with(|| Processed {
                    size: content.bytes,
                    seen: today.clone(),
                    at: String::new(),
                    stamp: String::new(),
                });
            entry.at.clone_from(&location.at);
            entry.stamp.clone_from(&location.stamp);
        }
        for (name, sum) in sums {
            self.buckets.insert(name.clone(), sum);
        }
        self.prune(now, retention_days);
        self.index = self
            .objects
            .iter()
            .map(|(id, p)| (p.at.clone(), id.clone()))
            .collect();
        self.runs += 1;
        self.updated = Some(rfc3339(now));
        Ok(())
    }

    /// Forgets the objects first processed before the day `retention_days` days
    /// before `now`, and moves the horizon up to that day.
    fn prune(&mut self, now: i64, retention_days: i64) {
        let cutoff = now.div_euclid(86_400) - retention_days;
        let before = self.objects.len();
        self.objects
            .retain(|_, p| day_number(&p.seen).is_none_or(|day| day >= cutoff));
        if self.objects.len() < before {
            let horizon = cutoff * 86_400;
            if self.horizon().is_none_or(|h| h < horizon) {
                self.horizon = Some(rfc3339(horizon));
            }
        }
    }

    /// Writes the state atomically: a temporary file in the same directory, with the
    /// permissions of the file it replaces (0600 for a new one), synced, then renamed
    /// over `path`.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io_err = |e: io::Error| StateError::Io {
            path: path.display().to_string(),
            message: describe(&e),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(path))
            .tempfile_in(directory(path))
            .map_err(io_err)?;
        if let Ok(meta) = fs::metadata(path) {
            tmp.as_file()
                .set_permissions(meta.permissions())
                .map_err(io_err)?;
        }
        serde_json::to_writer(&mut tmp, self).map_err(|e| io_err(e.into()))?;
        tmp.write_all(b"\n").map_err(io_err)?;
        tmp.as_file().sync_all().map_err(io_err)?;
        tmp.persist(path).map_err(|e| io_err(e.error))?;
        Ok(())
    }
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
fn day_name(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The day number of `YYYY-MM-DD`.
fn day_number(name: &str) -> Option<i64> {
    let mut parts = name.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    Some(days_from_civil(y, m, d))
}

/// The directory a state file lives in.
fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The name a state file's temporary files start with: hidden, and its own.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}.tmp")
}

/// The companion file whose lock a run holds: hidden, beside the state file.
pub fn lock_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    directory(path).join(format!(".{name}.lock"))
}

/// The exclusive lock of a state file, held by one run at a time; released when
/// dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock of the state at `path`, waiting at most `timeout` for another
    /// run to release it; then removes the temporary files a killed run left.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<Lock, StateError> {
        let io_err = |e: io::Error| StateError::Io {
            path: path.display().to_string(),
            message: describe(&e),
        };
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(path))
            .map_err(io_err)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StateError::Busy {
                        path: path.display().to_string(),
                        waited_s: start.elapsed().as_secs(),
                    })
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
            }
        }
        remove_leftovers(path);
        Ok(Lock { _file: file })
    }
}

/// Removes the temporary files of `path`'s state that a killed run left behind; only
/// called with the lock held, so none of them is being written.
fn remove_leftovers(path: &Path) {
    let prefix = temp_prefix(path);
    let Ok(entries) = fs::read_dir(directory(path)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> serde_json::Value {
        serde_json::json!({"rules": ["b"]})
    }

    const DAY: i64 = 86_400;
    const NOW: i64 = 19_000 * DAY + 3600;

    fn place(at: &str, stamp: &str) -> Location {
        Location {
            at: at.into(),
            stamp: stamp.into(),
        }
    }

    #[test]
    fn a_saved_state_loads_back_and_knows_its_objects_by_content_and_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::load(&path, &settings()).unwrap();
        assert_eq!(s.runs, 0);
        let log = Digest::of(b"one log line\n");
        let mut buckets = BTreeMap::new();
        buckets.insert(
            "b".to_string(),
            Counters {
                requests: 3,
                public: 3,
                violations: 1,
                first_violation: crate::check::counters::Earliest(Some(5)),
                last_violation: crate::check::counters::Latest(Some(5)),
                ..Counters::default()
            },
        );
        s.record(&[(log, place("p1", "s1"))], &[], &buckets, NOW, 90, &path)
            .unwrap();
        s.record(&[], &[], &buckets, NOW + 60, 90, &path).unwrap();
        s.save(&path).unwrap();
        let back = State::load(&path, &settings()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.runs, 2);
        assert_eq!(back.buckets["b"].requests, 6);
        assert!(back.knows(&log));
        assert!(!back.knows(&Digest::of(b"another\n")));
        assert_eq!(back.at(&place("p1", "s1")), AtPlace::Unchanged);
        assert!(matches!(back.at(&place("p1", "s2")), AtPlace::Was(p) if p.size == 13));
        assert_eq!(back.at(&place("p2", "s1")), AtPlace::Unknown);
        // No temporary file is left behind, and nothing else was written there.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_known_log_found_elsewhere_is_remembered_there() {
        let mut s = State::new(settings());
        let log = Digest::of(b"x\n");
        s.record(
            &[(log, place("old", "s"))],
            &[],
            &BTreeMap::new(),
            NOW,
            90,
            std::path::Path::new("state"),
        )
        .unwrap();
        s.record(
            &[],
            &[(log, place("new", "t"))],
            &BTreeMap::new(),
            NOW,
            90,
            std::path::Path::new("state"),
        )
        .unwrap();
        assert_eq!(s.objects.len(), 1);
        assert_eq!(s.at(&place("new", "t")), AtPlace::Unchanged);
        assert_eq!(s.at(&place("old", "s")), AtPlace::Unknown);
    }

    #[test]
    fn old_entries_are_pruned_and_their_records_fall_behind_the_horizon() {
        let mut s = State::new(settings());
        let (a, b) = (Digest::of(b"a\n"), Digest::of(b"b\n"));
        s.record(
            &[(a, place("a", "s"))],
            &[],
            &BTreeMap::new(),
            NOW,
            90,
            std::path::Path::new("state"),
        )
        .unwrap();
        assert_eq!(s.horizon, None);
        s.record(
            &[(b, place("b", "s"))],
            &[],
            &BTreeMap::new(),
            NOW + 50 * DAY,
            90,
            std::path::Path::new("state"),
        )
        .unwrap();
        assert_eq!((s.objects.len(), s.horizon.as_deref()), (2, None));
        // 91 days after a was first seen, it goes; b stays.
        s.record(
            &[],
            &[],
            &BTreeMap::new(),
            NOW + 91 * DAY,
            90,
            std::path::Path::new("state"),
        )
        .unwrap();
        assert!(!s.knows(&a) && s.knows(&b));
        assert_eq!(s.horizon(), Some(NOW - NOW % DAY + DAY));
        // Seeing a known log again does not renew it.
        s.record(
            &[],
            &[(b, place("b2", "s"))],
            &BTreeMap::new(),
            NOW + 130 * DAY,
            90,
            std::path::Path::new("state"),
        )
        .unwrap();
        assert!(s.knows(&b));
        s.record(
            &[],
            &[],
            &BTreeMap::new(),
            NOW + 141 * DAY,
            90,
            std::path::Path::new("state"),
        )
        .unwrap();
        assert!(s.objects.is_empty());
        // The horizon moves up to the day b went.
        assert_eq!(s.horizon(), Some(NOW - NOW % DAY + 51 * DAY));
    }

    #[test]
    fn an_entry_takes_about_170_bytes() {
        let mut s = State::new(settings());
        let read: Vec<(Digest, Location)> = (0..1000u32)
            .map(|i| {
                let content = Digest::of(format!("log {i}\n").repeat(1000).as_bytes());
                let location = Location {
                    at: short(&[format!("/logs/{i}").as_bytes()], 16),
                    stamp: short(&[&i.to_le_bytes()], 8),
                };
                (content, location)
            })
            .collect();
        let empty = serde_json::to_vec(&s).unwrap().len();
        s.record(
            &read,
            &[],
            &BTreeMap::new(),
            NOW,
            90,
            std::path::Path::new("state"),
        )
        .unwrap();
        let per_entry = (serde_json::to_vec(&s).unwrap().len() - empty) / 1000;
        assert!(
            (150..=180).contains(&per_entry),
            "{per_entry} bytes per entry"
        );
    }

    #[test]
    fn corrupt_foreign_or_outdated_states_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for bad in [
            "",
            "{",
            "[]",
            "{\"format\": \"x\"}",
            "{\"format\": \"x\", \"version\": 2}",
        ] {
            fs::write(&path, bad).unwrap();
            let e = State::load(&path, &settings()).unwrap_err();
            assert!(matches!(e, StateError::Corrupt { .. }), "{bad}: {e}");
        }
        fs::write(
            &path,
            r#"{"format": "vpce-audit check state", "version": 1, "settings": {}, "runs": 3}"#,
        )
        .unwrap();
        let e = State::load(&path, &settings()).unwrap_err();
        assert!(matches!(e, StateError::Outdated { version: 1, .. }), "{e}");
        assert!(e.to_string().contains("start a new state file"), "{e}");
        State::new(settings()).save(&path).unwrap();
        let e = State::load(&path, &serde_json::json!({"rules": ["c"]})).unwrap_err();
        assert!(matches!(e, StateError::SettingsChanged { .. }), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn the_state_keeps_its_permissions_and_a_new_one_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        State::new(settings()).save(&path).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        State::new(settings()).save(&path).unwrap();
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn a_second_run_waits_for_the_lock_and_cleans_up_after_a_killed_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // What a run killed while saving leaves: a temporary file.
        let leftover = dir.path().join(".state.json.tmpAbC123");
        fs::write(&leftover, "{").unwrap();
        let other = dir.path().join(".other.json.tmpAbC123");
        fs::write(&other, "{").unwrap();
        let held = Lock::acquire(&path, Duration::ZERO).unwrap();
        assert!(!leftover.exists(), "removed once the lock is held");
        assert!(other.exists(), "another state's files are left alone");
        let e = Lock::acquire(&path, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(e, StateError::Busy { .. }), "{e}");
        assert!(e.to_string().contains("--lock-timeout"), "{e}");
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || Lock::acquire(&path, Duration::from_secs(30)).is_ok())
        };
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        assert!(
            waiter.join().unwrap(),
            "the waiting run gets the lock once it is free"
        );
    }

    /// No file yet is a new state; a file that is not text, or a path that cannot be
    /// read as a file, is an error that names it, never a new state that would read
    /// every log again.
    #[test]
    fn a_missing_state_is_new_and_an_unreadable_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("state.json");
        let new = State::load(&missing, &settings()).unwrap();
        assert_eq!(new.settings, settings());
        assert!(new.objects.is_empty());
        fs::write(&missing, b"{\"format\": \"\xff\"}").unwrap();
        let e = State::load(&missing, &settings()).unwrap_err();
        assert!(
            matches!(&e, StateError::Corrupt { message, .. } if message == "not UTF-8 text"),
            "{e}"
        );
        let e = State::load(dir.path(), &settings()).unwrap_err();
        assert!(matches!(e, StateError::Io { .. }), "{e}");
        // A state that cannot even be opened (its folder is a file) is no missing one.
        let e = State::load(&missing.join("state.json"), &settings()).unwrap_err();
        assert!(matches!(e, StateError::Io { .. }), "{e}");
    }

    /// Several objects saved together load back each with its content and place, and
    /// a future or foreign format is refused.
    #[test]
    fn several_objects_load_back_each_at_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::new(settings());
        let logs: Vec<(Digest, Location)> = (0..3)
            .map(|i| {
                let log = Digest::of(format!("log {i}\n").as_bytes());
                (log, place(&format!("p{i}"), &format!("s{i}")))
            })
            .collect();
        s.record(&logs[..2], &[], &BTreeMap::new(), NOW, 90, &path)
            .unwrap();
        s.record(&logs[2..], &[], &BTreeMap::new(), NOW + DAY, 90, &path)
            .unwrap();
        s.save(&path).unwrap();
        let back = State::load(&path, &settings()).unwrap();
        assert_eq!(back.objects.len(), 3);
        for (i, (log, _)) in logs.iter().enumerate() {
            assert!(back.knows(log), "log {i}");
            let here = place(&format!("p{i}"), &format!("s{i}"));
            assert_eq!(back.at(&here), AtPlace::Unchanged, "log {i}");
            let changed = place(&format!("p{i}"), "other");
            assert!(matches!(back.at(&changed), AtPlace::Was(p) if p.size == log.bytes));
        }
        let text = fs::read_to_string(&path).unwrap();
        for (format, version) in [(FORMAT, VERSION + 1), ("another tool", VERSION)] {
            let other = text.replacen(
                &format!("\"version\":{VERSION}"),
                &format!("\"version\":{version}"),
                1,
            );
            let other = other.replacen(FORMAT, format, 1);
            assert_ne!(other, text);
            fs::write(&path, other).unwrap();
            let e = State::load(&path, &settings()).unwrap_err();
            assert!(
                matches!(e, StateError::Corrupt { .. }),
                "{format} {version}: {e}"
            );
        }
    }

    #[test]
    fn a_state_file_named_without_a_folder_lives_in_the_current_one() {
        assert_eq!(directory(Path::new("state.json")), Path::new("."));
        assert_eq!(
            directory(Path::new("/var/lib/state.json")),
            Path::new("/var/lib")
        );
        assert_eq!(directory(Path::new("dir/state.json")), Path::new("dir"));
    }

    #[test]
    fn places_differ_by_every_byte_of_the_name() {
        // Two names that differ only in bytes that are not UTF-8 are two places.
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let a = Path::new(std::ffi::OsStr::from_bytes(b"/logs/a\xff"));
            let b = Path::new(std::ffi::OsStr::from_bytes(b"/logs/a\xfe"));
            assert_ne!(
                short(&[b"file:", &path_bytes(a)], 16),
                short(&[b"file:", &path_bytes(b)], 16)
            );
        }
        assert_eq!(short(&[b"x"], 16).len(), 32);
        assert_eq!(short(&[b"x"], 8).len(), 16);
    }
}
