//! The memory of incremental runs: `check --state FILE`.
//!
//! The state lists every log object already read, by a stable id, its size and a
//! version token (files: canonical path + size + modification time; an S3 object
//! plugs in as `s3://bucket/key` + size + ETag), and the per-bucket counters summed
//! over all runs. An hourly job therefore reads only objects it has not seen: none
//! is counted twice, and none is skipped, because the state is written only after a
//! run that read everything it listed. An object that is known but has changed (log
//! objects never change) is an error, not a silent re-count.
//!
//! The file is JSON, written to a temporary file in the same directory and renamed
//! over the old one, so a crash leaves either the old or the new state. A file that
//! cannot be read as a state, or that was written under other rules, is refused.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use super::counters::Counters;
use crate::input::{describe, Input};

/// Identifies the file format.
pub const FORMAT: &str = "vpce-audit check state";
/// The format version this build reads and writes.
pub const VERSION: u32 = 1;

/// One log object as the state knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectId {
    /// Stable name: the canonical path of a file (or `s3://bucket/key`).
    pub id: String,
    /// Size in bytes as stored (compressed, for `.gz`).
    pub size: u64,
    /// Changes when the content may have changed: mtime for files, ETag for S3.
    pub version: String,
}

/// Size and version of a processed object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processed {
    pub size: u64,
    pub version: String,
}

/// Whether an object was processed before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Known {
    /// Never seen: read it.
    New,
    /// Processed with the same size and version: skip it.
    Processed,
    /// Processed, but it has changed since.
    Changed(Processed),
}

/// The identity of an input, or `None` for standard input (which has none).
pub fn identify(input: &Input) -> io::Result<Option<ObjectId>> {
    match input {
        Input::Stdin => Ok(None),
        Input::File(path) => {
            let canonical = fs::canonicalize(path)?;
            let meta = fs::metadata(&canonical)?;
            let mtime = meta
                .modified()?
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Ok(Some(ObjectId {
                id: canonical.to_string_lossy().into_owned(),
                size: meta.len(),
                version: format!("mtime:{}.{:09}", mtime.as_secs(), mtime.subsec_nanos()),
            }))
        }
        #[cfg(feature = "s3")]
        Input::S3(object) => Ok(Some(ObjectId {
            id: object.url(),
            size: object.size(),
            version: format!("etag:{}", object.etag()),
        })),
        #[cfg(feature = "s3")]
        Input::S3Listing(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a listing is remembered by its objects",
        )),
    }
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
    /// The counters were made under other rules or settings.
    #[error("state file {path} was written with other rules or settings, so its counters would mix two policies; use the same rules, or a new state file\n  state:   {was}\n  now:     {now}")]
    SettingsChanged {
        path: String,
        was: String,
        now: String,
    },
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
    /// Every object processed, by id.
    pub objects: BTreeMap<String, Processed>,
    /// Per-bucket counters over all runs.
    pub buckets: BTreeMap<String, Counters>,
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
            objects: BTreeMap::new(),
            buckets: BTreeMap::new(),
        }
    }

    /// Loads the state at `path`, or a new one if there is no file yet. Refuses a
    /// file that is not a state, or one written under other `settings`.
    pub fn load(path: &Path, settings: &serde_json::Value) -> Result<Self, StateError> {
        let name = path.display().to_string();
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(State::new(settings.clone()))
            }
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(StateError::Corrupt {
                    path: name,
                    message: "not UTF-8 text".into(),
                })
            }
            Err(e) => {
                return Err(StateError::Io {
                    path: name,
                    message: describe(&e),
                })
            }
        };
        let state: State = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: name.clone(),
            message: e.to_string(),
        })?;
        if state.format != FORMAT || state.version != VERSION {
            return Err(StateError::Corrupt {
                path: name,
                message: format!(
                    "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
                    state.format, state.version
                ),
            });
        }
        if state.settings != *settings {
            return Err(StateError::SettingsChanged {
                path: name,
                was: state.settings.to_string(),
                now: settings.to_string(),
            });
        }
        Ok(state)
    }

    /// Was this object processed before?
    pub fn lookup(&self, object: &ObjectId) -> Known {
        match self.objects.get(&object.id) {
            None => Known::New,
            Some(s) if s.size == object.size && s.version == object.version => Known::Processed,
            Some(s) => Known::Changed(s.clone()),
        }
    }

    /// Adds a successful run: the objects it read and its per-bucket counters.
    pub fn record(
        &mut self,
        objects: &[ObjectId],
        buckets: &BTreeMap<String, Counters>,
        at: String,
    ) {
        for o in objects {
            self.objects.insert(
                o.id.clone(),
                Processed {
                    size: o.size,
                    version: o.version.clone(),
                },
            );
        }
        for (name, counters) in buckets {
            *self.buckets.entry(name.clone()).or_default() += *counters;
        }
        self.runs += 1;
        self.updated = Some(at);
    }

    /// Writes the state atomically: a temporary file in the same directory, synced,
    /// then renamed over `path`.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io_err = |e: io::Error| StateError::Io {
            path: path.display().to_string(),
            message: describe(&e),
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".vpce-audit-state")
            .tempfile_in(dir)
            .map_err(io_err)?;
        serde_json::to_writer_pretty(&mut tmp, self).map_err(|e| io_err(e.into()))?;
        tmp.write_all(b"\n").map_err(io_err)?;
        tmp.as_file().sync_all().map_err(io_err)?;
        tmp.persist(path).map_err(|e| io_err(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> serde_json::Value {
        serde_json::json!({"rules": ["b"]})
    }

    #[test]
    fn a_saved_state_loads_back_and_knows_its_objects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::load(&path, &settings()).unwrap();
        assert_eq!(s.runs, 0);
        let obj = ObjectId {
            id: "/logs/a".into(),
            size: 10,
            version: "mtime:1.0".into(),
        };
        let mut buckets = BTreeMap::new();
        buckets.insert(
            "b".to_string(),
            Counters {
                requests: 3,
                violations: 1,
                first_violation: crate::check::counters::Earliest(Some(5)),
                last_violation: crate::check::counters::Latest(Some(5)),
                ..Counters::default()
            },
        );
        s.record(std::slice::from_ref(&obj), &buckets, "now".into());
        s.record(&[], &buckets, "later".into());
        s.save(&path).unwrap();
        let back = State::load(&path, &settings()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.buckets["b"].requests, 6);
        assert_eq!(back.lookup(&obj), Known::Processed);
        let grown = ObjectId {
            size: 11,
            ..obj.clone()
        };
        assert!(matches!(back.lookup(&grown), Known::Changed(_)));
        let other = ObjectId {
            id: "/logs/b".into(),
            ..obj
        };
        assert_eq!(back.lookup(&other), Known::New);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn corrupt_or_foreign_states_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for bad in ["", "{", "[]", "{\"format\": \"x\"}"] {
            fs::write(&path, bad).unwrap();
            let e = State::load(&path, &settings()).unwrap_err();
            assert!(matches!(e, StateError::Corrupt { .. }), "{bad}: {e}");
        }
        State::new(settings()).save(&path).unwrap();
        let e = State::load(&path, &serde_json::json!({"rules": ["c"]})).unwrap_err();
        assert!(matches!(e, StateError::SettingsChanged { .. }), "{e}");
    }
}
