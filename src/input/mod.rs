//! Where log bytes come from: files, directories walked recursively, stdin, or
//! `s3://bucket/prefix` (the [`s3`] module, with the `s3` feature); then [`decode`]
//! (gzip by its magic bytes) and [`lines`] (numbered lines from one reused buffer),
//! with the [`progress`] of reading on stderr.
//!
//! Directories are walked in name order so every run reads inputs in the same order;
//! hidden files and folders (names starting with `.`) are skipped. Like ripgrep and fd,
//! a symbolic link inside a folder is not followed unless [`Options::follow_links`]
//! (`--follow`) says so, so a link in a log folder cannot make a report read
//! `~/.aws/credentials`; each link left out is a warning. Paths named on the command
//! line are read whatever they are (a link, a FIFO from `<(zcat …)`). Inside a folder,
//! anything but a regular file (a FIFO, a socket, a device) is an input error, not
//! skipped silently; a link that loops back is a warning, since the files it leads to
//! are read by the other way. S3 prefixes are listed in key order, pruned by the time
//! in the object names.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
#[cfg(feature = "s3")]
use std::sync::Arc;

use walkdir::WalkDir;

pub mod decode;
pub mod lines;
pub mod progress;
#[cfg(feature = "s3")]
pub mod s3;
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
}

impl Input {
    /// Opens the raw (possibly compressed) byte stream. A file is read through one
    /// handle, so a file renamed away while it is read is read to its end; one that
    /// shrinks (truncated or rewritten) before its end is read fails with an error
    /// saying how far it got, never a silent short count.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::Stdin => Ok(Box::new(progress::counted(io::stdin()))),
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
        }
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
                Ok(OpenFile { file, size })
            }
            #[cfg(feature = "s3")]
            Input::S3(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an S3 object is streamed, not read in pieces",
            )),
        }
    }

    /// The name used in messages: the path as given, `<stdin>`, or `s3://bucket/key`.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(path) => path.display().to_string(),
            #[cfg(feature = "s3")]
            Input::S3(object) => object.url(),
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
                Ok(n) => return Ok(n),
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
    /// Every input, in command-line order.
    pub inputs: Vec<Input>,
    /// Arguments (or parts of them) that could not be found, walked or listed.
    pub errors: Vec<InputError>,
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
                Input::S3(_) => return None,
            }
        }
        Some(if stdin {
            progress::Size::Unknown
        } else {
            progress::Size::Known(total)
        })
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

/// Expands the command line's INPUTs into inputs, in order. Directories become the
/// files below them; `s3://bucket/prefix` becomes the objects listed there, pruned by
/// the options' scope; problems (missing paths, unreadable folders, special files, S3
/// errors) are returned beside the inputs that could be found, and so are warnings
/// (links not followed, link loops).
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
    out
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
    match session.list(&location, &options.scope) {
        Ok(objects) => out.inputs.extend(objects.into_iter().map(Input::S3)),
        Err(e) => out.errors.push(InputError::new(arg, e.to_string())),
    }
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
