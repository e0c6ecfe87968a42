//! Splitting a byte stream into numbered lines with one reused buffer.
//!
//! Lines are handed out as `&[u8]` slices of the buffer, found with memchr; nothing is
//! allocated per line. A line longer than [`MAX_LINE`] is not buffered: it is reported
//! once as [`Line::TooLong`] and skipped up to its newline, so memory stays bounded
//! whatever the input.

use std::io::{self, Read};

use memchr::memchr;

/// The longest line accepted as a record: 64 KiB. Real records are a few hundred
/// bytes to a few KiB (long presigned URLs and user agents included).
pub const MAX_LINE: usize = 64 * 1024;

const READ_SIZE: usize = 256 * 1024;

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line's bytes, without the `\n`.
    Text(&'a [u8]),
    /// A line of this many bytes (at least; counted up to its end), over the limit.
    TooLong(u64),
}

/// Calls `each(line_number, line)` for every line of `reader` (1-based numbers, blank
/// lines included so numbers match an editor's) until it returns `false`. Returns the
/// number of bytes read; an I/O error (such as a corrupt gzip stream) stops the walk
/// after the lines before it were delivered, and is returned with the number of the
/// last complete line.
pub fn for_each_line<R: Read>(
    mut reader: R,
    mut each: impl FnMut(u64, Line<'_>) -> bool,
) -> Result<u64, (io::Error, u64)> {
    let mut buf = vec![0u8; READ_SIZE + MAX_LINE];
    let mut filled = 0; // bytes of buf holding data
    let mut line_no = 0u64;
    let mut total = 0u64;
    // Length so far of an over-long line being skipped, if any.
    let mut skipping: Option<u64> = None;
    loop {
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((e, line_no)),
        };
        total += n as u64;
        let eof = n == 0;
        let data_end = filled + n;
        let mut start = 0;
        while let Some(pos) = memchr(b'\n', &buf[start..data_end]) {
            line_no += 1;
            let end = start + pos;
            let go_on = match skipping.take() {
                Some(len) => each(line_no, Line::TooLong(len + pos as u64)),
                None if pos > MAX_LINE => each(line_no, Line::TooLong(pos as u64)),
                None => each(line_no, Line::Text(&buf[start..end])),
            };
            if !go_on {
                return Ok(total);
            }
            start = end + 1;
        }
        let tail = data_end - start;
        if eof {
            if let Some(len) = skipping {
                each(line_no + 1, Line::TooLong(len + tail as u64));
            } else if tail > 0 {
                each(line_no + 1, Line::Text(&buf[start..data_end]));
            }
            return Ok(total);
        }
        if let Some(len) = skipping.as_mut() {
            *len += tail as u64;
            filled = 0;
        } else if tail > MAX_LINE {
            skipping = Some(tail as u64);
            filled = 0;
        } else {
            buf.copy_within(start..data_end, 0);
            filled = tail;
        }
    }
}

/// Like [`for_each_line`] for bytes already in memory: the lines are slices of `data`,
/// nothing is copied. Returns `data.len()`.
pub fn for_each_line_in(data: &[u8], mut each: impl FnMut(u64, Line<'_>) -> bool) -> u64 {
    let mut line_no = 0;
    let mut start = 0;
    while start < data.len() {
        line_no += 1;
        let end = memchr(b'\n', &data[start..]).map_or(data.len(), |pos| start + pos);
        let line = match end - start {
            len if len > MAX_LINE => Line::TooLong(len as u64),
            _ => Line::Text(&data[start..end]),
        };
        if !each(line_no, line) {
            break;
        }
        start = end + 1;
    }
    data.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8]) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for_each_line(input, |n, line| {
            let shown = match line {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong(len) => format!("<{len}>"),
            };
            out.push((n, shown));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_in_memory_are_the_lines_read_from_a_stream() {
        let long = "y".repeat(MAX_LINE + 1);
        for input in [
            String::new(),
            "\n".into(),
            "a".into(),
            "a\n\nb\r\nc".into(),
            "a\n\n".into(),
            format!("a\n{long}\nb\n"),
            long.clone(),
            "x".repeat(MAX_LINE) + "\n",
        ] {
            let mut seen = Vec::new();
            let read = for_each_line_in(input.as_bytes(), |n, line| {
                let shown = match line {
                    Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    Line::TooLong(len) => format!("<{len}>"),
                };
                seen.push((n, shown));
                true
            });
            assert_eq!(seen, collect(input.as_bytes()), "{input:.20?}");
            assert_eq!(read, input.len() as u64);
        }
    }

    #[test]
    fn numbers_lines_and_keeps_a_last_line_without_newline() {
        assert_eq!(
            collect(b"a\n\nb\r\nc"),
            vec![
                (1, "a".into()),
                (2, "".into()),
                (3, "b\r".into()),
                (4, "c".into())
            ]
        );
        assert!(collect(b"").is_empty());
    }

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * READ_SIZE));
        input.extend_from_slice(b"\nafter\n");
        let lines = collect(&input);
        assert_eq!(lines[0], (1, "ok".into()));
        assert_eq!(lines[1], (2, format!("<{}>", 3 * READ_SIZE)));
        assert_eq!(lines[2], (3, "after".into()));
    }

    #[test]
    fn returning_false_stops_early() {
        let mut seen = 0;
        for_each_line(&b"a\nb\nc\n"[..], |_, _| {
            seen += 1;
            seen < 2
        })
        .unwrap();
        assert_eq!(seen, 2);
    }

    #[test]
    fn a_line_at_the_limit_is_kept() {
        let mut input = vec![b'y'; MAX_LINE];
        input.push(b'\n');
        let lines = collect(&input);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].1.len(), MAX_LINE);
    }

    /// A reader that returns one byte at a time exercises every buffer boundary.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn byte_at_a_time_reads_give_the_same_lines() {
        let mut seen = Vec::new();
        for_each_line(Trickle(b"one\ntwo\n\nthree"), |n, l| {
            if let Line::Text(t) = l {
                seen.push((n, t.to_vec()));
            }
            true
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                (1, b"one".to_vec()),
                (2, b"two".to_vec()),
                (3, vec![]),
                (4, b"three".to_vec())
            ]
        );
    }
}
