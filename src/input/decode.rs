//! Decompression: gzip is recognised by its magic bytes, never by the file name.
//!
//! S3 delivers access logs uncompressed, but archives and log shippers gzip them,
//! sometimes as several concatenated members; all members are read.

use std::io::{self, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The plain bytes of `reader`: gunzipped if it starts with the gzip magic bytes,
/// passed through otherwise.
pub fn decoded<'a, R: Read + 'a>(mut reader: R) -> io::Result<Box<dyn Read + 'a>> {
    let mut head = [0u8; 2];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let stream = io::Cursor::new(head).take(n as u64).chain(reader);
    if n == head.len() && head == GZIP_MAGIC {
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
    fn truncated_gzip_is_an_error() {
        let data = gzip(&b"line of log\n".repeat(1000));
        assert!(read_all(&data[..data.len() / 2]).is_err());
    }
}
