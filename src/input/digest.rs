//! SHA-256 of the bytes an input yields, computed while they are read: the stream is
//! hashed on its way to the line splitter, never read a second time.
//!
//! Two digests serve two purposes. The **raw** digest is of the bytes as stored (a
//! `.gz` file's compressed bytes, what `sha256sum` prints): the chain of custody of
//! `--evidence-hashes`. The **plain** digest is of the decoded bytes, so that a log
//! and its gzipped, renamed or copied twin have the same one: the identity of a log in
//! a `check --state` file. [`Hashing`] computes either, wherever it is put in the
//! stream; its [`Slot`] holds the digest once the stream was read to its end.

use std::fmt;
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};

use sha2::{Digest as _, Sha256};

/// Which digests to take of every input read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hashes {
    /// Of the bytes as stored (`--evidence-hashes`).
    pub raw: bool,
    /// Of the decoded bytes (the identity of a log in a `--state` file).
    pub plain: bool,
}

/// The SHA-256 and length of a whole byte stream.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    /// The SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// How many bytes there were.
    pub bytes: u64,
}

impl Digest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        Digest {
            sha256: Sha256::digest(data).into(),
            bytes: data.len() as u64,
        }
    }

    /// The SHA-256 in lowercase hexadecimal, as `sha256sum` prints it.
    pub fn hex(&self) -> String {
        hex(&self.sha256)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({} bytes, {})", self.bytes, self.hex())
    }
}

/// `bytes` in lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Where a [`Hashing`] reader leaves its digest: set once the stream has been read to
/// its end, never for a stream read in part or cut short by an error.
#[derive(Clone, Debug, Default)]
pub struct Slot(Arc<OnceLock<Digest>>);

impl Slot {
    /// The digest of the whole stream, if it was read to its end.
    pub fn get(&self) -> Option<Digest> {
        self.0.get().copied()
    }
}

/// A reader that hashes every byte read through it.
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
    slot: Slot,
}

/// Wraps `inner` in a [`Hashing`] reader and returns the slot its digest will be in.
pub fn hashing<R: Read>(inner: R) -> (Hashing<R>, Slot) {
    let slot = Slot::default();
    let reader = Hashing {
        inner,
        hasher: Sha256::new(),
        bytes: 0,
        slot: slot.clone(),
    };
    (reader, slot)
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.hasher.update(&buf[..n]);
            self.bytes += n as u64;
        } else if !buf.is_empty() && self.slot.0.get().is_none() {
            let sha256 = std::mem::take(&mut self.hasher).finalize().into();
            let _ = self.slot.0.set(Digest {
                sha256,
                bytes: self.bytes,
            });
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes at a time.
    struct Steps<'a>(&'a [u8], usize);
    impl Read for Steps<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_digest_is_sha256sum_of_the_stream_whatever_the_read_sizes() {
        // sha256sum of the empty input and of "abc" (FIPS 180-2 test vector).
        assert_eq!(
            Digest::of(b"").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Digest::of(b"abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for step in [1, 63, 64, 65, 4096, 1 << 20] {
            let (mut reader, slot) = hashing(Steps(&data, step));
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
            assert_eq!(slot.get(), Some(Digest::of(&data)), "step {step}");
        }
    }

    #[test]
    fn a_stream_not_read_to_its_end_has_no_digest() {
        let (mut reader, slot) = hashing(&b"first line\nsecond line\n"[..]);
        let mut head = [0u8; 5];
        reader.read_exact(&mut head).unwrap();
        assert_eq!(slot.get(), None);
        // A read into an empty buffer says nothing about the end.
        assert_eq!(reader.read(&mut []).unwrap(), 0);
        assert_eq!(slot.get(), None);
    }
}
