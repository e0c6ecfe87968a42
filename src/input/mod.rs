//! Where log bytes come from: files, directories walked recursively, stdin, or
//! `s3://bucket/prefix` (the [`s3`] module, with the `s3` feature); then [`decode`]
//! (gzip by its magic bytes) and [`lines`] (numbered lines from one reused buffer) for
//! access logs, or [`events`] (CloudTrail events one at a time) for JSON, told apart by
//! content; with the [`progress`] of reading on stderr; [`stream`] hands inputs on in
//! order as S3 listings go on. On the way, [`digest`] hashes the bytes it is asked to
//! (the stored bytes for `--evidence-hashes`, the decoded ones for the identity of a
//! log in a `--state` file), and [`sniff`] names another log format found where access
//! logs were expected.
//!
//! Directories are walked in name order so every run reads inputs in the same order;
//! hidden files and folders (names starting with `.`) are skipped; symbolic links are
//! followed, and a link that loops back is reported instead of walked forever. S3
//! prefixes are listed while they are read, pruned by the time in the object names.
//! The same file reached twice (overlapping arguments, a link inside the folder: the
//! same device and inode) or the same `s3://` argument given twice is read once.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
#[cfg(feature = "s3")]
use std::sync::Arc;
use std::sync::Mutex;

use walkdir::WalkDir;

pub mod decode;
pub mod digest;
pub mod events;
pub mod lines;
pub mod progress;
#[cfg(feature = "s3")]
pub mod s3;
pub mod sniff;
pub mod stream;

use digest::{Hashes, Slot};

/// How to find the inputs the command line names.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// How to reach S3 for `s3://` inputs.
    #[cfg(feature = "s3")]
    pub s3: s3::Options,
    /// What the listing of `s3://` inputs may leave out: objects whose name dates them
    /// outside `--since/--until`, folders of other `--bucket`s.
    #[cfg(feature = "s3")]
    pub scope: s3::Scope,
}

/// One input stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Standard input, named `-` on the command line.
    Stdin,
    /// A regular file.
    File(PathBuf),
    /// An object in S3.
    #[cfg(feature = "s3")]
    S3(s3::Object),
    /// The objects of an `s3://` input, as its listing yields them ([`stream::each`]).
    #[cfg(feature = "s3")]
    S3Listing(s3::Listing),
}

/// What [`Input::holds_cloudtrail`] read of standard input, given back when it is opened.
static STDIN_HEAD: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A reader that keeps a copy of what it reads.
struct Recording<R> {
    inner: R,
    seen: Vec<u8>,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Input {
    /// Does this input hold CloudTrail events (JSON) rather than access log lines?
    /// Told by content for a file and for standard input (what is read of it is given
    /// back when it is opened); by the name for an S3 object (`.json`, `.json.gz`),
    /// which is downloaded once; never for a listing. The content decides how it is read in any case: this
    /// only orders the reading (CloudTrail first, to be joined with the access logs).
    pub fn holds_cloudtrail(&self) -> bool {
        match self {
            // The first 64 KiB are enough to see the first character, gzip or not.
            Input::File(path) => File::open(path)
                .and_then(|f| decode::decoded(f.take(64 * 1024)))
                .and_then(events::sniff)
                .is_ok_and(|(json, _)| json),
            Input::Stdin => {
                let mut head = STDIN_HEAD.lock().unwrap_or_else(|p| p.into_inner());
                let mut recording = Recording {
                    inner: io::Cursor::new(std::mem::take(&mut *head)).chain(io::stdin()),
                    seen: Vec::new(),
                };
                let json = decode::decoded(&mut recording)
                    .and_then(events::sniff)
                    .is_ok_and(|(json, _)| json);
                *head = recording.seen;
                json
            }
            #[cfg(feature = "s3")]
            Input::S3(object) => {
                let key = object.key();
                key.ends_with(".json") || key.ends_with(".json.gz")
            }
            // A listing's objects are read as they come: CloudTrail among them is read
            // by its content with the access logs, and counted without the join.
            #[cfg(feature = "s3")]
            Input::S3Listing(_) => false,
        }
    }

    /// Opens the raw (possibly compressed) byte stream.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::Stdin => {
                let head =
                    std::mem::take(&mut *STDIN_HEAD.lock().unwrap_or_else(|p| p.into_inner()));
                Ok(Box::new(progress::counted(
                    io::Cursor::new(head).chain(io::stdin()),
                )))
            }
            Input::File(path) => Ok(Box::new(progress::counted(File::open(path)?))),
            #[cfg(feature = "s3")]
            Input::S3(object) => object.open().map_err(io::Error::other),
            #[cfg(feature = "s3")]
            Input::S3Listing(_) => Err(listing_not_opened()),
        }
    }

    /// Opens the decoded stream of lines, with the digests `hashes` asks for taken on
    /// the way and a look at its first bytes ([`sniff`]).
    pub fn open_decoded(&self, hashes: Hashes) -> io::Result<Opened> {
        let stored = self.open()?;
        let (stored, raw): (Box<dyn Read + Send>, _) = if hashes.raw {
            let (reader, slot) = digest::hashing(stored);
            (Box::new(reader), Some(slot))
        } else {
            (stored, None)
        };
        let (head, stored) = peek(stored, decode::GZIP_MAGIC.len())?;
        let compressed = head == decode::GZIP_MAGIC;
        let plain = decode::decoded(stored)?;
        let (plain, decoded): (Box<dyn Read>, _) = match (hashes.plain, &raw) {
            // Stored bytes that are not compressed are the decoded bytes: hashed once.
            (true, Some(raw)) if !compressed => (plain, Some(raw.clone())),
            (true, _) => {
                let (reader, slot) = digest::hashing(plain);
                (Box::new(reader), Some(slot))
            }
            (false, _) => (plain, None),
        };
        let (head, reader) = peek(plain, SNIFF_BYTES)?;
        Ok(Opened {
            reader,
            raw,
            plain: decoded,
            other_log: sniff::other_log(&head),
            cloudtrail: events::is_cloudtrail(&head),
        })
    }

    /// Opens a regular file for reading at any offset; standard input is not one.
    pub fn open_file(&self) -> io::Result<File> {
        match self {
            Input::Stdin => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "standard input cannot be read in pieces",
            )),
            Input::File(path) => File::open(path),
            #[cfg(feature = "s3")]
            Input::S3(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an S3 object is streamed, not read in pieces",
            )),
            #[cfg(feature = "s3")]
            Input::S3Listing(_) => Err(listing_not_opened()),
        }
    }

    /// The name used in messages: the path as given, `<stdin>`, or `s3://bucket/key`.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(path) => path.display().to_string(),
            #[cfg(feature = "s3")]
            Input::S3(object) => object.url(),
            #[cfg(feature = "s3")]
            Input::S3Listing(listing) => listing.url().to_string(),
        }
    }
}

#[cfg(feature = "s3")]
fn listing_not_opened() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "a listing is read as its objects, not opened",
    )
}

/// How many decoded bytes [`sniff`] looks at.
const SNIFF_BYTES: usize = 512;

/// An input opened for its lines ([`Input::open_decoded`]).
pub struct Opened {
    /// The decoded bytes.
    pub reader: Box<dyn Read>,
    /// Where the digest of the stored bytes will be, if asked for.
    pub raw: Option<Slot>,
    /// Where the digest of the decoded bytes will be, if asked for.
    pub plain: Option<Slot>,
    /// The log the input looks like, if its first bytes say it is not access logs.
    pub other_log: Option<&'static str>,
    /// Is it CloudTrail's JSON ([`events::is_cloudtrail`]), to be read as events?
    pub cloudtrail: bool,
}

/// The first `n` bytes of `reader` (fewer at its end, or before a read error), and a
/// reader that yields them and then the rest, the read error included where it was.
fn peek<'a>(mut reader: impl Read + 'a, n: usize) -> io::Result<(Vec<u8>, Box<dyn Read + 'a>)> {
    let mut head = vec![0u8; n];
    let mut filled = 0;
    let mut error = None;
    while filled < n {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    head.truncate(filled);
    let again = Peeked {
        head: io::Cursor::new(head.clone()),
        error,
        rest: reader,
    };
    Ok((head, Box::new(again)))
}

/// The bytes [`peek`] took, then the error it met (if any), then the rest.
struct Peeked<R> {
    head: io::Cursor<Vec<u8>>,
    error: Option<io::Error>,
    rest: R,
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 || buf.is_empty() {
            return Ok(n);
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => self.rest.read(buf),
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A problem with one input; the others are still read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct InputError {
    /// The input's name as shown to the user.
    pub source_name: String,
    /// What went wrong, for a person.
    pub message: String,
}

impl InputError {
    /// An error about `source_name`.
    pub fn new(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
}

/// What happened to the objects of `s3://` inputs: the `s3` object of the JSON summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct S3Counts {
    /// Objects the listings returned.
    pub objects_listed: u64,
    /// Listed objects not read because the time in their name is outside
    /// `--since/--until` (widened for delivery lag).
    pub objects_skipped: u64,
    /// Objects read to the end.
    pub objects_read: u64,
    /// Bytes downloaded, as stored (compressed or not).
    pub bytes_read: u64,
}

impl fmt::Display for S3Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "s3: {} objects listed, {} skipped by the time in their name, {} read ({} bytes)",
            self.objects_listed, self.objects_skipped, self.objects_read, self.bytes_read
        )
    }
}

/// The inputs a command line names, with the problems met while finding them.
#[derive(Debug, Default)]
pub struct Expanded {
    /// Every input, in command-line order (an `s3://` input as its listing: read
    /// them with [`stream::each`]).
    pub inputs: Vec<Input>,
    /// Arguments (or parts of them) that could not be found or walked (a listing's
    /// errors come through [`stream::each`]).
    pub errors: Vec<InputError>,
    /// Inputs reached a second time (the same file by device and inode, the same S3
    /// object by URL): left out of `inputs`, as they would be counted twice.
    pub duplicates: Vec<Duplicate>,
    #[cfg(feature = "s3")]
    session: Option<Arc<s3::Session>>,
}

impl Expanded {
    /// The size of the local inputs, to size a progress bar: the files' sizes added
    /// up, `Unknown` with standard input among them, `None` when an input is in S3
    /// (which has a display of its own).
    pub fn local_size(&self) -> Option<progress::Size> {
        let mut total = 0u64;
        let mut stdin = false;
        for input in &self.inputs {
            match input {
                Input::File(path) => total += std::fs::metadata(path).map_or(0, |m| m.len()),
                Input::Stdin => stdin = true,
                #[cfg(feature = "s3")]
                Input::S3(_) | Input::S3Listing(_) => return None,
            }
        }
        Some(if stdin {
            progress::Size::Unknown
        } else {
            progress::Size::Known(total)
        })
    }

    /// Adds the S3 objects that listings gave twice and were read once to
    /// `duplicates`: call it after the run.
    pub fn note_listed_duplicates(&mut self) {
        #[cfg(feature = "s3")]
        if let Some(session) = &self.session {
            for url in session.duplicates() {
                self.duplicates.push(Duplicate {
                    name: url.clone(),
                    same_as: url,
                });
            }
        }
    }

    /// Objects listed, skipped and read, if any input was an `s3://` URL; read it
    /// after the run.
    pub fn s3_counts(&self) -> Option<S3Counts> {
        #[cfg(feature = "s3")]
        {
            self.session.as_ref().map(|s| s.counts())
        }
        #[cfg(not(feature = "s3"))]
        {
            None
        }
    }
}

/// An input reached a second time, and the name it was first reached by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    /// The name it was reached by again.
    pub name: String,
    /// The name of the input kept.
    pub same_as: String,
}

/// Expands the command line's INPUTs into inputs, in order. Directories become the
/// files below them; `s3://bucket/prefix` becomes a listing of the objects there,
/// pruned by the options' scope, that yields them while it goes on; problems (missing paths, unreadable folders, link loops, S3
/// errors) are returned beside the inputs that could be found.
pub fn expand(args: &[String], options: &Options) -> Expanded {
    let mut out = Expanded::default();
    for arg in args {
        if arg.starts_with("s3://") {
            expand_s3(arg, options, &mut out);
            continue;
        }
        if arg == "-" {
            if out.inputs.contains(&Input::Stdin) {
                out.errors
                    .push(InputError::new("-", "standard input can be read only once"));
            } else {
                out.inputs.push(Input::Stdin);
            }
            continue;
        }
        let path = PathBuf::from(arg);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut out.inputs, &mut out.errors),
            Ok(_) => out.inputs.push(Input::File(path)),
            Err(e) => out.errors.push(InputError::new(arg, describe(&e))),
        }
    }
    drop_duplicates(&mut out);
    #[cfg(feature = "s3")]
    if let Some(session) = &out.session {
        let listings = out
            .inputs
            .iter()
            .filter(|i| matches!(i, Input::S3Listing(_)))
            .count();
        if listings > 1 {
            session.read_objects_once();
        }
    }
    out
}

/// Keeps the first of the inputs that are the same file or object; records the others.
fn drop_duplicates(out: &mut Expanded) {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut duplicates = Vec::new();
    out.inputs.retain(|input| {
        let Some(identity) = identity(input) else {
            return true;
        };
        match seen.get(&identity) {
            Some(first) => {
                duplicates.push(Duplicate {
                    name: input.name(),
                    same_as: first.clone(),
                });
                false
            }
            None => {
                seen.insert(identity, input.name());
                true
            }
        }
    });
    out.duplicates = duplicates;
}

/// What makes two inputs the same: a file's device and inode (its canonical path
/// where there are none), an S3 object's or listing's URL. `None` for standard input.
fn identity(input: &Input) -> Option<String> {
    match input {
        Input::Stdin => None,
        Input::File(path) => Some(file_identity(path)),
        #[cfg(feature = "s3")]
        Input::S3(object) => Some(object.url()),
        #[cfg(feature = "s3")]
        Input::S3Listing(listing) => Some(listing.url().to_string()),
    }
}

#[cfg(unix)]
fn file_identity(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => format!("inode {}:{}", m.dev(), m.ino()),
        Err(_) => format!("path {}", path.display()),
    }
}

#[cfg(not(unix))]
fn file_identity(path: &Path) -> String {
    match std::fs::canonicalize(path) {
        Ok(p) => format!("path {}", p.display()),
        Err(_) => format!("path {}", path.display()),
    }
}

#[cfg(feature = "s3")]
fn expand_s3(arg: &str, options: &Options, out: &mut Expanded) {
    let location = match s3::Location::parse(arg) {
        Ok(l) => l,
        Err(e) => return out.errors.push(InputError::new(arg, e.to_string())),
    };
    let session = match &out.session {
        Some(s) => Arc::clone(s),
        None => match s3::Session::connect(&options.s3) {
            Ok(s) => Arc::clone(out.session.insert(s)),
            Err(e) => return out.errors.push(InputError::new(arg, e.to_string())),
        },
    };
    let listing = session.list(arg, &location, &options.scope);
    out.inputs.push(Input::S3Listing(listing));
}

#[cfg(not(feature = "s3"))]
fn expand_s3(arg: &str, _options: &Options, out: &mut Expanded) {
    out.errors.push(InputError::new(
        arg,
        "this vpce-audit was built without S3 support (cargo feature `s3`)",
    ));
}

fn walk(root: PathBuf, inputs: &mut Vec<Input>, errors: &mut Vec<InputError>) {
    let walker = WalkDir::new(&root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => inputs.push(Input::File(e.into_path())),
            Ok(_) => {}
            Err(e) => {
                let name = e
                    .path()
                    .map_or_else(|| root.display().to_string(), |p| p.display().to_string());
                let message = if e.loop_ancestor().is_some() {
                    "symbolic link loop, not followed".to_string()
                } else if let Some(io) = e.io_error() {
                    describe(io)
                } else {
                    e.to_string()
                };
                errors.push(InputError::new(name, message));
            }
        }
    }
}

/// An I/O error in words, without Rust's `(os error N)` suffix.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_args(inputs: &[&str]) -> Expanded {
        let args: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        expand(&args, &Options::default())
    }

    #[test]
    fn directories_are_walked_in_order_without_hidden_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/.hidden")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        for f in [
            "b/2.log",
            "b/1.log",
            "a/z.log",
            ".secret",
            "b/.hidden/x.log",
            "c.log",
        ] {
            std::fs::write(root.join(f), "").unwrap();
        }
        let expanded = expand_args(&[&root.display().to_string()]);
        assert!(expanded.errors.is_empty());
        assert_eq!(expanded.s3_counts(), None);
        let names: Vec<_> = expanded
            .inputs
            .iter()
            .map(|i| match i {
                Input::File(p) => p.strip_prefix(root).unwrap().display().to_string(),
                other => other.name(),
            })
            .collect();
        assert_eq!(names, ["a/z.log", "b/1.log", "b/2.log", "c.log"]);
    }

    #[test]
    fn cloudtrail_is_told_by_content_even_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("trail");
        std::fs::write(&json, "\n {\"Records\":[]}").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &[b' '; 1_000]).unwrap();
        std::io::Write::write_all(&mut gz, b"{\"Records\":[]}").unwrap();
        let zipped = dir.path().join("trail.log");
        std::fs::write(&zipped, gz.finish().unwrap()).unwrap();
        let log = dir.path().join("log.json");
        std::fs::write(&log, "o bucket [06/Feb/2019:00:00:38 +0000] 10.0.0.1").unwrap();
        assert!(Input::File(json).holds_cloudtrail());
        assert!(
            Input::File(zipped).holds_cloudtrail(),
            "past blanks, inside gzip"
        );
        assert!(!Input::File(log).holds_cloudtrail(), "not by its name");
        assert!(!Input::File(dir.path().join("missing")).holds_cloudtrail());
    }

    #[test]
    fn the_local_size_adds_up_files_and_is_unknown_with_standard_input() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), "x\n").unwrap();
        std::fs::File::create(dir.path().join("b.log"))
            .unwrap()
            .set_len(1000)
            .unwrap();
        let root = dir.path().display().to_string();
        let files = expand_args(&[&root]);
        assert_eq!(files.local_size(), Some(progress::Size::Known(1002)));
        let with_stdin = expand_args(&["-", &root]);
        assert_eq!(with_stdin.local_size(), Some(progress::Size::Unknown));
        assert_eq!(
            expand_args(&[]).local_size(),
            Some(progress::Size::Known(0))
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_same_file_reached_twice_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("logs/archive")).unwrap();
        std::fs::write(root.join("logs/a.log"), "a\n").unwrap();
        std::fs::write(root.join("logs/archive/b.log"), "b\n").unwrap();
        // A link inside the folder to a file already in it, and a hard link.
        std::os::unix::fs::symlink(root.join("logs/a.log"), root.join("logs/z-link.log")).unwrap();
        std::fs::hard_link(root.join("logs/a.log"), root.join("logs/archive/c.log")).unwrap();
        let logs = root.join("logs").display().to_string();
        let archive = root.join("logs/archive").display().to_string();
        let expanded = expand_args(&[&logs, &archive]);
        let names: Vec<String> = expanded
            .inputs
            .iter()
            .map(|i| match i {
                Input::File(p) => p.strip_prefix(root).unwrap().display().to_string(),
                other => other.name(),
            })
            .collect();
        assert_eq!(names, ["logs/a.log", "logs/archive/b.log"]);
        let again: Vec<(String, String)> = expanded
            .duplicates
            .iter()
            .map(|d| {
                let rel = |n: &str| {
                    n.strip_prefix(&format!("{}/", root.display()))
                        .unwrap()
                        .to_string()
                };
                (rel(&d.name), rel(&d.same_as))
            })
            .collect();
        assert_eq!(
            again,
            [
                ("logs/archive/c.log".to_string(), "logs/a.log".to_string()),
                ("logs/z-link.log".to_string(), "logs/a.log".to_string()),
                (
                    "logs/archive/b.log".to_string(),
                    "logs/archive/b.log".to_string()
                ),
                ("logs/archive/c.log".to_string(), "logs/a.log".to_string()),
            ]
        );
    }

    #[test]
    fn an_opened_input_is_decoded_hashed_and_sniffed() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"{\"Records\": []}\n".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &text).unwrap();
        let stored = gz.finish().unwrap();
        let path = dir.path().join("trail.json.gz");
        std::fs::write(&path, &stored).unwrap();
        let hashes = Hashes {
            raw: true,
            plain: true,
        };
        let mut opened = Input::File(path).open_decoded(hashes).unwrap();
        assert_eq!(opened.other_log, Some("CloudTrail JSON"));
        let mut out = Vec::new();
        opened.reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, text);
        assert_eq!(opened.raw.unwrap().get(), Some(digest::Digest::of(&stored)));
        assert_eq!(opened.plain.unwrap().get(), Some(digest::Digest::of(&text)));
    }

    #[test]
    fn a_read_error_in_the_first_bytes_comes_after_them() {
        struct Failing(u8);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 += 1;
                match self.0 {
                    1 => {
                        buf[..3].copy_from_slice(b"ab\n");
                        Ok(3)
                    }
                    2 => Err(io::Error::other("corrupt deflate stream")),
                    _ => Ok(0),
                }
            }
        }
        let (head, mut reader) = peek(Failing(0), 512).unwrap();
        assert_eq!(head, b"ab\n");
        let mut buf = [0u8; 16];
        assert_eq!(reader.read(&mut buf).unwrap(), 3);
        assert_eq!(
            reader.read(&mut buf).unwrap_err().to_string(),
            "corrupt deflate stream"
        );
    }

    #[test]
    fn missing_paths_and_repeated_stdin_are_errors() {
        let Expanded { inputs, errors, .. } = expand_args(&["-", "/no/such/path", "-"]);
        assert_eq!(inputs, vec![Input::Stdin]);
        assert_eq!(
            errors[0].to_string(),
            "/no/such/path: no such file or directory"
        );
        assert_eq!(errors[1].message, "standard input can be read only once");
    }

    #[cfg(feature = "s3")]
    #[test]
    fn a_malformed_s3_url_is_an_input_error() {
        let expanded = expand_args(&["s3://", "-"]);
        assert_eq!(expanded.inputs, vec![Input::Stdin]);
        assert_eq!(expanded.errors[0].source_name, "s3://");
        assert!(expanded.errors[0].message.starts_with("no bucket name"));
    }

    #[cfg(not(feature = "s3"))]
    #[test]
    fn s3_urls_need_the_s3_feature() {
        let expanded = expand_args(&["s3://logs/x", "-"]);
        assert_eq!(expanded.inputs, vec![Input::Stdin]);
        assert_eq!(expanded.errors[0].source_name, "s3://logs/x");
        assert!(expanded.errors[0].message.contains("without S3 support"));
        assert_eq!(expanded.s3_counts(), None);
    }
}
