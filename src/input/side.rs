//! Side inputs: the files a command reads whole besides the logs (a bucket policy, the
//! compliance rules, the state of incremental runs, an Athena result), each with a
//! size limit, so that `/dev/zero`, `/dev/full` or a wrong file given by mistake is an
//! error that says so, not memory grown until the system kills the process.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The largest bucket policy read: 1 MiB (AWS itself accepts 20 KB).
pub const POLICY_LIMIT: u64 = 1 << 20;
/// The largest compliance rules file read: 1 MiB.
pub const RULES_LIMIT: u64 = 1 << 20;
/// The largest state file read: 1 GiB, about seven million log objects.
pub const STATE_LIMIT: u64 = 1 << 30;
/// The largest Athena result read: 4 GiB, far more than the row limit needs.
pub const RESULTS_LIMIT: u64 = 4 << 30;

/// A reader that fails, with [`io::ErrorKind::FileTooLarge`] and a message naming
/// `what`, as soon as more than `limit` bytes come from `inner`.
#[derive(Debug)]
pub struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
    what: &'static str,
}

impl<R: Read> Limited<R> {
    /// `inner`, cut off with an error past `limit` bytes of `what` (e.g. "a bucket
    /// policy").
    pub fn new(inner: R, limit: u64, what: &'static str) -> Self {
        Limited {
            inner,
            left: limit,
            limit,
            what,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // One byte past the limit tells a file of exactly the limit from a longer one.
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(too_large(self.limit, self.what));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The error of a side input over its limit.
pub fn too_large(limit: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "larger than {}, the limit for {what}: not read (is it the right file?)",
            size_name(limit)
        ),
    )
}

/// A size in bytes as a person says it: `1 MiB`, `4 GiB`.
pub fn size_name(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Opens `path` (`-` is standard input) for reading as `what`, cut off past `limit`
/// bytes.
pub fn open(path: &Path, limit: u64, what: &'static str) -> io::Result<Limited<Box<dyn Read>>> {
    let inner: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(path)?)
    };
    Ok(Limited::new(inner, limit, what))
}

/// Reads all of `path` (`-` is standard input) as UTF-8 text, at most `limit` bytes of
/// `what`. A UTF-8 byte order mark at the start, which some editors write, is dropped.
pub fn read_text(path: &Path, limit: u64, what: &'static str) -> io::Result<String> {
    let mut bytes = Vec::new();
    open(path, limit, what)?.read_to_end(&mut bytes)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_input_over_its_limit_is_an_error_naming_the_limit() {
        let mut out = Vec::new();
        let e = Limited::new(io::repeat(0), 1 << 20, "a bucket policy")
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            e.to_string(),
            "larger than 1 MiB, the limit for a bucket policy: not read (is it the right file?)"
        );
        assert!(out.len() <= 1 << 20);
        // Exactly the limit is read.
        let mut out = Vec::new();
        Limited::new(&[7u8; 100][..], 100, "x")
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 100);
        let mut out = Vec::new();
        assert!(Limited::new(&[7u8; 101][..], 100, "x")
            .read_to_end(&mut out)
            .is_err());
    }

    #[test]
    fn text_loses_its_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        std::fs::write(&path, "\u{feff}[exceptions]\n").unwrap();
        assert_eq!(read_text(&path, 100, "rules").unwrap(), "[exceptions]\n");
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert_eq!(
            read_text(&path, 100, "rules").unwrap_err().to_string(),
            "not UTF-8 text"
        );
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size_name(1 << 20), "1 MiB");
        assert_eq!(size_name(4 << 30), "4 GiB");
        assert_eq!(size_name(1500), "1500 bytes");
    }
}
