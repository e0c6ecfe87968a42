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
//! hidden files and folders (names starting with `.`) are skipped. Like ripgrep and fd,
//! a symbolic link inside a folder is not followed unless [`Options::follow_links`]
//! (`--follow`) says so, so a link in a log folder cannot make a report read
//! `~/.aws/credentials`; each link left out is a warning. Paths named on the command
//! line are read whatever they are (a link, a FIFO from `<(zcat …)`). Inside a folder,
//! anything but a regular file (a FIFO, a socket, a device) is an input error, not
//! skipped silently; a link that loops back is a warning, since the files it leads to
//! are read by the other way. S3 prefixes are listed while they are read, pruned by the
//! time in the object names. The same file reached twice (overlapping arguments, links
//! followed with `--follow`: the same device and inode) or the same `s3://` argument
//! given twice is read once.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
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
pub mod side;

/// How to find the inputs the command line names.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Follow symbolic links inside folders (`--follow`).
    pub follow_links: bool,
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

    /// Opens the raw (possibly compressed) byte stream. A file is read through one
    /// handle, so a file renamed away while it is read is read to its end; one that
    /// shrinks (truncated or rewritten) before its end is read fails with an error
    /// saying how far it got, never a silent short count.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::Stdin => {
                let head =
                    std::mem::take(&mut *STDIN_HEAD.lock().unwrap_or_else(|p| p.into_inner()));
                Ok(Box::new(progress::counted(
                    io::Cursor::new(head).chain(io::stdin()),
                )))
            }
            Input::File(path) => {
                let file = File::open(path)?;
                let size = file.metadata()?.len();
                Ok(Box::new(progress::counted(Whole {
                    file,
                    size,
                    read: 0,
                })))
            }
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

    /// Opens a regular file once, to be read in pieces at any offset from that one
    /// handle; standard input is not one.
    pub fn open_file(&self) -> io::Result<OpenFile> {
        match self {
            Input::Stdin => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "standard input cannot be read in pieces",
            )),
            Input::File(path) => {
                let file = File::open(path)?;
                let size = file.metadata()?.len();
                Ok(OpenFile {
                    file,
                    size,
                    #[cfg(test)]
                    bytes_read: Default::default(),
                })
            }
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

/// A file read whole through one handle (see [`Input::open`]).
struct Whole {
    file: File,
    /// The size when it was opened.
    size: u64,
    /// Bytes read so far.
    read: u64,
}

impl Read for Whole {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && self.read < self.size {
            return Err(shrank(self.read, self.size));
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// The error of a file that ended before the size it had when it was opened.
fn shrank(read: u64, size: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "the file shrank while it was read (truncated or rewritten): it ended after \
             {read} of the {size} bytes it had when opened; run again once it is stable"
        ),
    )
}

/// A regular file opened once, with its size then: every piece of it reads from this
/// handle ([`OpenFile::read_at`], [`OpenFile::reader`]), so renaming the path away
/// changes nothing, and no piece reads past that size.
#[derive(Debug)]
pub struct OpenFile {
    file: File,
    size: u64,
    /// Bytes read from it, for tests of how often each byte is read.
    #[cfg(test)]
    pub(crate) bytes_read: std::sync::atomic::AtomicU64,
}

impl OpenFile {
    /// The size when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads at `offset` into `buf`, at most up to [`OpenFile::size`]; 0 at that size.
    /// A file that ends before it shrank: an error saying how far it got.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let left = self.size.saturating_sub(offset);
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        loop {
            match self.file.read_at(&mut buf[..want], offset) {
                Ok(0) => return Err(shrank(offset, self.size)),
                Ok(n) => {
                    #[cfg(test)]
                    self.bytes_read
                        .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The bytes from `offset` to the size it had when opened, as a stream.
    pub fn reader(&self, offset: u64) -> impl Read + '_ {
        progress::counted(At { file: self, offset })
    }
}

/// A stream over an [`OpenFile`] from an offset.
struct At<'f> {
    file: &'f OpenFile,
    offset: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
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
    /// What was left out on purpose and said so: links not followed, link loops.
    pub warnings: Vec<InputError>,
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
/// pruned by the options' scope, that yields them while it goes on; problems (missing
/// paths, unreadable folders, special files, S3 errors) are returned beside the inputs
/// that could be found, and so are warnings (links not followed, link loops).
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
            Ok(meta) if meta.is_dir() => walk(path, options.follow_links, &mut out),
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

fn walk(root: PathBuf, follow_links: bool, out: &mut Expanded) {
    let walker = WalkDir::new(&root)
        .follow_links(follow_links)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => out.inputs.push(Input::File(e.into_path())),
            Ok(e) if e.file_type().is_dir() => {}
            Ok(e) if e.path_is_symlink() && !follow_links => out.warnings.push(InputError::new(
                e.path().display().to_string(),
                "symbolic link, not followed (give --follow to read what links point to)",
            )),
            Ok(e) => out.errors.push(InputError::new(
                e.path().display().to_string(),
                format!(
                    "{}, not a regular file: not read",
                    special_kind(e.file_type())
                ),
            )),
            Err(e) => {
                let name = e
                    .path()
                    .map_or_else(|| root.display().to_string(), |p| p.display().to_string());
                if e.loop_ancestor().is_some() {
                    out.warnings.push(InputError::new(
                        name,
                        "symbolic link loop, not followed (the files it leads to are read once)",
                    ));
                    continue;
                }
                let message = match e.io_error() {
                    Some(io) => describe(io),
                    None => e.to_string(),
                };
                out.errors.push(InputError::new(name, message));
            }
        }
    }
}

/// What a file that is neither a regular file nor a folder is, in words.
fn special_kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
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
    use std::io::Write;

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
    fn a_file_that_shrinks_while_it_is_read_whole_fails_saying_how_far() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, vec![b'x'; 100_000]).unwrap();
        let input = Input::File(path.clone());
        let mut reader = input.open().unwrap();
        let mut head = vec![0u8; 1000];
        reader.read_exact(&mut head).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(5000)
            .unwrap();
        let mut rest = Vec::new();
        let e = reader.read_to_end(&mut rest).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            describe(&e),
            "the file shrank while it was read (truncated or rewritten): it ended after 5000 \
             of the 100000 bytes it had when opened; run again once it is stable"
        );
        // Growing is not an error: what was appended is read too.
        std::fs::write(&path, vec![b'y'; 10]).unwrap();
        let mut reader = input.open().unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"zz")
            .unwrap();
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"yyyyyyyyyyzz");
    }

    #[test]
    fn an_open_file_reads_no_further_than_its_size_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = Input::File(path.clone()).open_file().unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"appended")
            .unwrap();
        let mut all = Vec::new();
        file.reader(4).read_to_end(&mut all).unwrap();
        assert_eq!(all, b"456789");
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(3)
            .unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(
            file.read_at(&mut buf, 5).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
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
        let rel = |n: &str| {
            n.strip_prefix(&format!("{}/", root.display()))
                .unwrap()
                .to_string()
        };
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        for follow_links in [false, true] {
            let args = [logs.clone(), archive.clone()];
            // The S3 fields exist only with the `s3` feature.
            #[allow(clippy::needless_update)]
            let options = Options {
                follow_links,
                ..Options::default()
            };
            let expanded = expand(&args, &options);
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
                .map(|d| (rel(&d.name), rel(&d.same_as)))
                .collect();
            let left_out: Vec<String> = expanded
                .warnings
                .iter()
                .map(|w| rel(&w.source_name))
                .collect();
            let mut expected = vec![pair("logs/archive/c.log", "logs/a.log")];
            if follow_links {
                // Followed, the link is the same file as a.log: read once.
                expected.push(pair("logs/z-link.log", "logs/a.log"));
                assert!(left_out.is_empty(), "{left_out:?}");
            } else {
                // Not followed: left out with a warning, not read.
                assert_eq!(left_out, ["logs/z-link.log"]);
            }
            expected.extend([
                pair("logs/archive/b.log", "logs/archive/b.log"),
                pair("logs/archive/c.log", "logs/a.log"),
            ]);
            assert_eq!(again, expected, "follow_links {follow_links}");
        }
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
