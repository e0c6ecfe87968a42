//! Decompression: gzip is recognised by its magic bytes, never by the file name.
//!
//! S3 delivers access logs uncompressed, but archives and log shippers gzip them,
//! sometimes as several concatenated members; all members are read. Other compressed
//! formats (zstd, bzip2, xz) are recognised by their magic bytes too and refused by
//! name: their bytes would otherwise be rejected line by line as garbage, and the
//! records inside never judged.

use std::io::{self, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

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
        Ok(Box::new(MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(stream))
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
    fn truncated_gzip_is_an_error() {
        let data = gzip(&b"line of log\n".repeat(1000));
        assert!(read_all(&data[..data.len() / 2]).is_err());
    }
}
