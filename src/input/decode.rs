//! Decompression: gzip is recognised by its magic bytes, never by the file name.
//!
//! S3 delivers access logs uncompressed, but archives and log shippers gzip them,
//! sometimes as several concatenated members; all members are read. Zero bytes after
//! the last member (the padding tar and some tape and block tools add) end the data,
//! as `gzip -d` reads them; anything else after a member is an error. Other compressed
//! formats (zstd, bzip2, xz) are recognised by their magic bytes too and refused by
//! name: their bytes would otherwise be rejected line by line as garbage, and the
//! records inside never judged.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

/// The first two bytes of every gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Compressed formats this build does not read: their magic bytes, their name and the
/// command that decompresses them.
const REFUSED: [(&[u8], &str, &str); 3] = [
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd", "zstd -d"),
    (b"BZh", "bzip2", "bunzip2"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz", "xz -d"),
];

/// The plain bytes of `reader`: gunzipped if it starts with the gzip magic bytes,
/// passed through otherwise. A stream in a compressed format that is not gzip is an
/// error that names the format.
pub fn decoded<'a, R: Read + 'a>(mut reader: R) -> io::Result<Box<dyn Read + 'a>> {
    let mut head = [0u8; 6];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    if let Some((_, name, command)) = REFUSED
        .iter()
        .find(|(magic, _, _)| head[..n].starts_with(magic))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{name}-compressed, which vpce-audit does not read: decompress it first ({command}), or gzip it"),
        ));
    }
    let stream = io::Cursor::new(head).take(n as u64).chain(reader);
    if head[..n].starts_with(&GZIP_MAGIC) {
        let buffered = BufReader::with_capacity(128 * 1024, stream);
        Ok(Box::new(Members::Member(Box::new(GzDecoder::new(
            buffered,
        )))))
    } else {
        Ok(Box::new(stream))
    }
}

/// The members of a gzip stream, one after the other, then zero padding or nothing.
enum Members<R: BufRead> {
    /// Inside a member.
    Member(Box<GzDecoder<R>>),
    /// Past the last member: only zero bytes may follow.
    Padding(R),
    /// Taken apart between two states (only while [`Members::read`] runs).
    Switching,
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self {
                Members::Member(member) => {
                    let n = member.read(buf)?;
                    if n > 0 || buf.is_empty() {
                        return Ok(n);
                    }
                    let Members::Member(member) = std::mem::replace(self, Members::Switching)
                    else {
                        unreachable!("matched above")
                    };
                    let mut rest = member.into_inner();
                    let next = rest.fill_buf()?;
                    *self = if next.starts_with(&GZIP_MAGIC) || next.len() == 1 && next[0] == 0x1f {
                        Members::Member(Box::new(GzDecoder::new(rest)))
                    } else {
                        Members::Padding(rest)
                    };
                }
                Members::Padding(rest) => {
                    let data = rest.fill_buf()?;
                    if data.is_empty() {
                        return Ok(0);
                    }
                    if data.iter().any(|&b| b != 0) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "data after the end of the gzip stream that is neither another \
                             member nor zero padding",
                        ));
                    }
                    let len = data.len();
                    rest.consume(len);
                }
                Members::Switching => unreachable!("restored before read returns"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(input: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoded(input)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn plain_input_passes_through_even_when_short() {
        assert_eq!(read_all(b"").unwrap(), b"");
        assert_eq!(read_all(b"x").unwrap(), b"x");
        assert_eq!(read_all(b"\x1f").unwrap(), b"\x1f");
        assert_eq!(read_all(b"hello\n").unwrap(), b"hello\n");
    }

    #[test]
    fn every_gzip_member_is_read() {
        let mut two = gzip(b"first\n");
        two.extend(gzip(b"second\n"));
        assert_eq!(read_all(&two).unwrap(), b"first\nsecond\n");
    }

    #[test]
    fn zstd_bzip2_and_xz_are_refused_by_name() {
        for (data, name, command) in [
            (&b"\x28\xb5\x2f\xfd\x04\x58\x45\x00"[..], "zstd", "zstd -d"),
            (b"BZh91AY&SY", "bzip2", "bunzip2"),
            (b"\xfd7zXZ\x00\x00\x04", "xz", "xz -d"),
        ] {
            let e = read_all(data).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{name}-compressed")), "{e}");
            assert!(e.contains(command), "{e}");
        }
        // A log line that happens to start like one of them is still plain text.
        assert_eq!(read_all(b"BZ").unwrap(), b"BZ");
        assert_eq!(read_all(b"BZ bucket").unwrap(), b"BZ bucket");
    }

    #[test]
    fn zero_padding_after_the_last_member_ends_the_data_as_gzip_reads_it() {
        let mut padded = gzip(b"first\n");
        padded.extend(gzip(b"second\n"));
        padded.extend(vec![0u8; 10_000]);
        assert_eq!(read_all(&padded).unwrap(), b"first\nsecond\n");
        // Anything else after a member is an error, as is a member cut short.
        let mut garbage = gzip(b"first\n");
        garbage.extend(b"\0\0junk");
        assert!(read_all(&garbage).is_err());
        let mut cut = gzip(b"first\n");
        cut.extend(&gzip(b"second\n")[..8]);
        assert!(read_all(&cut).is_err());
        assert_eq!(read_all(&gzip(b"")).unwrap(), b"");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let data = gzip(&b"line of log\n".repeat(1000));
        assert!(read_all(&data[..data.len() / 2]).is_err());
    }
}
