//! CloudTrail events one at a time from a byte stream, through one reused buffer: what
//! [`super::lines`] is to access logs.
//!
//! A CloudTrail log file is one JSON object, `{"Records":[event, event, …]}`, often
//! hundreds of megabytes on one line; an export (CloudTrail Lake, EventBridge) has one
//! event per line. Neither is parsed as a whole: the stream is walked byte by byte
//! (strings, escapes and nesting tracked), and each event's bytes are handed on alone,
//! to be parsed by [`crate::cloudtrail`]. Memory stays bounded: an event longer than
//! [`MAX_EVENT`] is not buffered but reported as [`Event::TooLong`] and skipped. Both
//! layouts may follow each other in one stream (concatenated files).
//!
//! The format of an input is told by its content ([`is_cloudtrail`]): JSON starts with
//! `{`, an access log line never does.

use std::io::{self, Read};

/// The longest event accepted: 1 MiB. CloudTrail's own events are at most 256 KiB.
pub const MAX_EVENT: usize = 1024 * 1024;

/// How deep objects and arrays may nest in an event.
const MAX_DEPTH: usize = 256;

const READ_SIZE: usize = 256 * 1024;

/// One event of the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The event's JSON.
    Json(&'a [u8]),
    /// An event of this many bytes, over the limit.
    TooLong(u64),
}

/// Why the walk stopped before the end: the JSON around the events is broken, or the
/// stream could not be read.
#[derive(Debug)]
pub enum Stop {
    /// Not CloudTrail's layout, or JSON broken between events or inside one so that its
    /// end cannot be found.
    Syntax(String),
    /// The stream failed (a corrupt gzip stream, a read error).
    Io(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

/// Does the text start like JSON (after blanks and a byte-order mark)? Access log
/// records start with the bucket owner's id, never with `{`.
pub fn is_cloudtrail(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A stream whose first bytes were read, given back in front of the rest.
pub type Sniffed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Reads the start of `reader` (up to its first non-blank byte, at most 64 KiB) to tell
/// its format (`true`: CloudTrail's JSON), and gives back a reader of the whole stream.
pub fn sniff<R: Read>(mut reader: R) -> io::Result<(bool, Sniffed<R>)> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 512];
    while head.len() < 64 * 1024 {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        head.extend_from_slice(&chunk[..n]);
        let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
        if text.iter().any(|b| !b.is_ascii_whitespace()) && !b"\xef\xbb\xbf".starts_with(&head) {
            break;
        }
    }
    Ok((is_cloudtrail(&head), io::Cursor::new(head).chain(reader)))
}

/// The stream's bytes, read through one buffer.
struct Bytes<R> {
    reader: R,
    buf: Vec<u8>,
    at: usize,
    end: usize,
    /// Bytes consumed.
    total: u64,
}

impl<R: Read> Bytes<R> {
    #[inline]
    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.at == self.end {
            self.end = loop {
                match self.reader.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            self.at = 0;
            if self.end == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.at]))
    }

    #[inline]
    fn bump(&mut self) {
        self.at += 1;
        self.total += 1;
    }

    /// The next byte that is not blank (a byte-order mark counts as blank).
    fn skip_blanks(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.peek()? {
                Some(b) if b.is_ascii_whitespace() => self.bump(),
                Some(0xef) if self.total < 3 => self.bump(),
                Some(0xbb | 0xbf) if self.total < 3 => self.bump(),
                other => return Ok(other),
            }
        }
    }
}

/// What a JSON value is, by its first byte.
fn kind(first: u8) -> &'static str {
    match first {
        b'"' => "a string",
        b'{' => "an object",
        b'[' => "an array",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
}

/// One event being framed: its bytes (up to [`MAX_EVENT`]) and its length.
struct Framed {
    bytes: Vec<u8>,
    len: u64,
}

impl Framed {
    #[inline]
    fn push(&mut self, b: u8) {
        if self.bytes.len() < MAX_EVENT {
            self.bytes.push(b);
        }
        self.len += 1;
    }

    fn extend(&mut self, part: &[u8]) {
        let room = MAX_EVENT.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&part[..part.len().min(room)]);
        self.len += part.len() as u64;
    }

    fn event(&self) -> Event<'_> {
        if self.len > MAX_EVENT as u64 {
            Event::TooLong(self.len)
        } else {
            Event::Json(&self.bytes)
        }
    }
}

/// Walks one JSON value whose first byte is next (already known not to be blank),
/// keeping its bytes in `out` if given. `open` holds the closers of values already
/// open (a seeded object). Returns when the value is complete. The buffered bytes are
/// scanned in place and kept in one copy per buffer; inside strings, memchr jumps to
/// the next quote or backslash.
fn frame<R: Read>(
    bytes: &mut Bytes<R>,
    mut out: Option<&mut Framed>,
    mut open: Vec<u8>,
    ordinal: u64,
) -> Result<(), Stop> {
    let mut in_string = false;
    let mut escaped = false;
    let mut first = true;
    let scalar = open.is_empty() && !matches!(bytes.peek()?, Some(b'"' | b'{' | b'['));
    loop {
        if bytes.peek()?.is_none() {
            return Err(Stop::Syntax(format!(
                "event {ordinal}: the stream ends inside it (truncated?)"
            )));
        }
        let buf = &bytes.buf[bytes.at..bytes.end];
        let mut i = 0;
        let mut done = false;
        while i < buf.len() {
            let b = buf[i];
            if scalar {
                let delimiter = b.is_ascii_whitespace() || matches!(b, b',' | b']' | b'}' | b':');
                if delimiter && !first {
                    done = true;
                    break;
                }
                i += 1;
                // A stray delimiter where a value should start is the value, so that
                // the walk moves on.
                done = delimiter;
                first = false;
                if done {
                    break;
                }
                continue;
            }
            i += 1;
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if open.is_empty() {
                        done = true;
                        break;
                    }
                } else {
                    i = memchr::memchr2(b'"', b'\\', &buf[i..]).map_or(buf.len(), |at| i + at);
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    if open.len() == MAX_DEPTH {
                        return Err(Stop::Syntax(format!(
                            "event {ordinal}: nested more than {MAX_DEPTH} deep"
                        )));
                    }
                    open.push(if b == b'{' { b'}' } else { b']' });
                }
                b'}' | b']' => {
                    if open.pop() != Some(b) {
                        return Err(Stop::Syntax(format!(
                            "event {ordinal}: '{}' does not close what is open",
                            b as char
                        )));
                    }
                    if open.is_empty() {
                        done = true;
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(out) = out.as_deref_mut() {
            out.extend(&buf[..i]);
        }
        bytes.at += i;
        bytes.total += i as u64;
        if done {
            return Ok(());
        }
    }
}

/// Reads a string that starts at the next byte; returns its raw bytes (without the
/// quotes, escapes as written), at most 256 of them kept.
fn key<R: Read>(bytes: &mut Bytes<R>, raw: &mut Vec<u8>, ordinal: u64) -> Result<(), Stop> {
    bytes.bump(); // the opening quote
    let mut escaped = false;
    loop {
        let Some(b) = bytes.peek()? else {
            return Err(Stop::Syntax(format!(
                "event {ordinal}: the stream ends inside it (truncated?)"
            )));
        };
        bytes.bump();
        if !escaped && b == b'"' {
            return Ok(());
        }
        escaped = !escaped && b == b'\\';
        if raw.len() < 256 {
            raw.push(b);
        }
    }
}

/// Calls `each(ordinal, event)` for every event of `reader` (ordinals count events from
/// 1 in the stream) until it returns `false`. Returns the bytes read, or why the walk
/// stopped early with the number of events delivered before.
pub fn for_each_event<R: Read>(
    reader: R,
    mut each: impl FnMut(u64, Event<'_>) -> bool,
) -> Result<u64, (Stop, u64)> {
    let mut bytes = Bytes {
        reader,
        buf: vec![0; READ_SIZE],
        at: 0,
        end: 0,
        total: 0,
    };
    let mut ordinal = 0u64;
    let mut framed = Framed {
        bytes: Vec::new(),
        len: 0,
    };
    match walk(&mut bytes, &mut framed, &mut ordinal, &mut each) {
        Ok(()) => Ok(bytes.total),
        Err(stop) => Err((stop, ordinal)),
    }
}

/// Delivers the event in `framed` as number `ordinal`; `false` if `each` says stop.
fn deliver(
    framed: &mut Framed,
    ordinal: u64,
    each: &mut impl FnMut(u64, Event<'_>) -> bool,
) -> bool {
    let go_on = each(ordinal, framed.event());
    framed.bytes.clear();
    framed.len = 0;
    go_on
}

fn walk<R: Read>(
    bytes: &mut Bytes<R>,
    framed: &mut Framed,
    ordinal: &mut u64,
    each: &mut impl FnMut(u64, Event<'_>) -> bool,
) -> Result<(), Stop> {
    let syntax = |m: String| Err(Stop::Syntax(m));
    loop {
        let Some(first) = bytes.skip_blanks()? else {
            return Ok(());
        };
        let next = *ordinal + 1;
        if first != b'{' {
            // A value that is not an object, where an event or a log file should be:
            // framed as an event, so that it is rejected as one.
            *ordinal = next;
            frame(bytes, Some(framed), Vec::new(), next)?;
            if !deliver(framed, next, each) {
                return Ok(());
            }
            continue;
        }
        bytes.bump();
        framed.push(b'{');
        let after_brace = bytes.skip_blanks()?;
        if after_brace != Some(b'"') {
            // `{}` or broken: framed as an event from its brace.
            *ordinal = next;
            frame(bytes, Some(framed), vec![b'}'], next)?;
            if !deliver(framed, next, each) {
                return Ok(());
            }
            continue;
        }
        let mut name = Vec::new();
        key(bytes, &mut name, next)?;
        if name != b"Records" {
            // An event of an export: its first member was read; frame the rest.
            framed.push(b'"');
            for &b in &name {
                framed.push(b);
            }
            framed.push(b'"');
            *ordinal = next;
            frame(bytes, Some(framed), vec![b'}'], next)?;
            if !deliver(framed, next, each) {
                return Ok(());
            }
            continue;
        }
        framed.bytes.clear();
        framed.len = 0;
        // A log file: the members of its object, `Records` first.
        let mut member = name;
        loop {
            if bytes.skip_blanks()? != Some(b':') {
                return syntax(format!(
                    "after event {}: expected ':' after \"{}\"",
                    *ordinal,
                    String::from_utf8_lossy(&member)
                ));
            }
            bytes.bump();
            let Some(value) = bytes.skip_blanks()? else {
                return syntax(format!(
                    "after event {}: the stream ends (truncated?)",
                    *ordinal
                ));
            };
            if member == b"Records" {
                if value != b'[' {
                    return syntax(format!(
                        "Records is {}, not an array of events",
                        kind(value)
                    ));
                }
                bytes.bump();
                records(bytes, framed, ordinal, each)?;
            } else {
                frame(bytes, None, Vec::new(), *ordinal + 1)?;
            }
            match bytes.skip_blanks()? {
                Some(b',') => {
                    bytes.bump();
                    if bytes.skip_blanks()? != Some(b'"') {
                        return syntax(format!(
                            "after event {}: expected a member name in the log file",
                            *ordinal
                        ));
                    }
                    member = Vec::new();
                    key(bytes, &mut member, *ordinal + 1)?;
                }
                Some(b'}') => {
                    bytes.bump();
                    break;
                }
                Some(other) => {
                    return syntax(format!(
                        "after event {}: expected ',' or '}}' in the log file, found '{}'",
                        *ordinal,
                        other.escape_ascii()
                    ))
                }
                None => {
                    return syntax(format!(
                        "after event {}: the stream ends inside the log file (truncated?)",
                        *ordinal
                    ))
                }
            }
        }
    }
}

/// The elements of `Records`, after its `[`; stops after the closing `]`.
fn records<R: Read>(
    bytes: &mut Bytes<R>,
    framed: &mut Framed,
    ordinal: &mut u64,
    each: &mut impl FnMut(u64, Event<'_>) -> bool,
) -> Result<(), Stop> {
    if bytes.skip_blanks()? == Some(b']') {
        bytes.bump();
        return Ok(());
    }
    loop {
        let next = *ordinal + 1;
        if bytes.skip_blanks()?.is_none() {
            return Err(Stop::Syntax(format!(
                "event {next}: the stream ends inside Records (truncated?)"
            )));
        }
        frame(bytes, Some(framed), Vec::new(), next)?;
        *ordinal = next;
        if !deliver(framed, next, each) {
            // Stopped by the reader: the rest is not wanted.
            return Ok(());
        }
        match bytes.skip_blanks()? {
            Some(b',') => bytes.bump(),
            Some(b']') => {
                bytes.bump();
                return Ok(());
            }
            Some(other) => {
                return Err(Stop::Syntax(format!(
                    "after event {next}: expected ',' or ']' in Records, found '{}'",
                    other.escape_ascii()
                )))
            }
            None => {
                return Err(Stop::Syntax(format!(
                    "after event {next}: the stream ends inside Records (truncated?)"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event as text (`<N>` for one too long), and how the walk ended.
    fn walk_all(input: &[u8]) -> (Vec<(u64, String)>, Result<u64, String>) {
        let mut seen = Vec::new();
        let end = for_each_event(input, |n, e| {
            seen.push((
                n,
                match e {
                    Event::Json(j) => String::from_utf8_lossy(j).into_owned(),
                    Event::TooLong(len) => format!("<{len}>"),
                },
            ));
            true
        });
        let end = end.map_err(|(stop, n)| match stop {
            Stop::Syntax(m) => format!("{n}: {m}"),
            Stop::Io(e) => format!("{n}: io {e}"),
        });
        (seen, end)
    }

    fn texts(v: &[(u64, String)]) -> Vec<&str> {
        v.iter().map(|(_, t)| t.as_str()).collect()
    }

    #[test]
    fn a_log_file_yields_its_records_one_by_one() {
        let file = br#"{"Records":[{"a":"x,]}\"y"},  {"b":[1,{"c":null}]} ,{}]}"#;
        let (seen, end) = walk_all(file);
        assert_eq!(
            texts(&seen),
            [r#"{"a":"x,]}\"y"}"#, r#"{"b":[1,{"c":null}]}"#, "{}"]
        );
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(end, Ok(file.len() as u64));
        // Members after Records are skipped; an empty array has no event.
        let (seen, end) =
            walk_all(b"\xef\xbb\xbf { \"Records\" : [ 7 , \"s\" ], \"y\":[{\"Records\":[9]}] }\n");
        assert_eq!(texts(&seen), ["7", "\"s\""]);
        assert!(end.is_ok());
        // CloudTrail writes Records first: an object that starts otherwise is an event.
        let (seen, _) = walk_all(b"{\"x\":1,\"Records\":[7]}");
        assert_eq!(texts(&seen), ["{\"x\":1,\"Records\":[7]}"]);
        assert_eq!(walk_all(br#"{"Records":[]}"#).0.len(), 0);
    }

    #[test]
    fn exports_have_one_event_per_line_and_files_may_follow_each_other() {
        let text = b"{\"eventVersion\":\"1.09\",\"n\":1}\n\n{ \"n\" : 2 }\r\n{\"Records\":[{\"n\":3}]}{\"n\":4}";
        let (seen, end) = walk_all(text);
        assert_eq!(
            texts(&seen),
            [
                "{\"eventVersion\":\"1.09\",\"n\":1}",
                "{\"n\" : 2 }",
                "{\"n\":3}",
                "{\"n\":4}"
            ]
        );
        assert!(end.is_ok());
    }

    #[test]
    fn broken_files_stop_with_a_reason_after_the_good_events() {
        for (input, delivered, reason) in [
            (
                &br#"{"Records":[{"a":1},{"b":"#[..],
                1,
                "event 2: the stream ends inside it",
            ),
            (
                br#"{"Records":[{"a":1}"#,
                1,
                "after event 1: the stream ends inside Records",
            ),
            (
                br#"{"Records":"nope"}"#,
                0,
                "Records is a string, not an array of events",
            ),
            (br#"{"Records":{"a":1}}"#, 0, "Records is an object"),
            (
                br#"{"Records":[{"a":1} {"b":2}]}"#,
                1,
                "expected ',' or ']' in Records, found '{'",
            ),
            (
                br#"{"Records":[{"a":[1}]}"#,
                0,
                "event 1: '}' does not close what is open",
            ),
            (
                br#"{"Records":[1,2]"#,
                2,
                "after event 2: the stream ends inside the log file",
            ),
        ] {
            let (seen, end) = walk_all(input);
            assert_eq!(seen.len(), delivered, "{}", String::from_utf8_lossy(input));
            let err = end.unwrap_err();
            assert!(err.contains(reason), "{err}");
        }
        // Stray delimiters are values of their own, rejected as events: the walk moves on.
        let (seen, _) = walk_all(b"{\"Records\":[1,,2]}");
        assert_eq!(texts(&seen), ["1", ","]);
        let (seen, end) = walk_all(b"{\"a\":1}\n]\n}{\"b\":2}");
        assert_eq!(texts(&seen), ["{\"a\":1}", "]", "}", "{\"b\":2}"]);
        assert!(end.is_ok());
        let deep = format!("{{\"Records\":[{}]}}", "[".repeat(MAX_DEPTH + 1));
        assert!(walk_all(deep.as_bytes())
            .1
            .unwrap_err()
            .contains("nested more than"));
    }

    #[test]
    fn an_event_over_the_limit_is_counted_not_kept() {
        let big = format!("{{\"k\":\"{}\"}}", "x".repeat(10 * 1024 * 1024));
        let file = format!("{{\"Records\":[{{\"a\":1}},{big},{{\"b\":2}}]}}");
        let (seen, end) = walk_all(file.as_bytes());
        assert_eq!(seen[0].1, "{\"a\":1}");
        assert_eq!(seen[1].1, format!("<{}>", big.len()));
        assert_eq!(seen[2].1, "{\"b\":2}");
        assert!(end.is_ok());
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
    fn sniffing_keeps_every_byte_and_tells_json_from_access_logs() {
        for (text, json) in [
            (&b"  \n {\"Records\":[]}"[..], true),
            (b"\xef\xbb\xbf{\"a\":1}", true),
            (b"79a5 bucket [06/Feb/2019:00:00:38 +0000] 10.0.0.1", false),
            (b"\n\n", false),
            (b"", false),
        ] {
            let (is_json, mut reader) = sniff(Trickle(text)).unwrap();
            assert_eq!(is_json, json, "{}", String::from_utf8_lossy(text));
            let mut all = Vec::new();
            reader.read_to_end(&mut all).unwrap();
            assert_eq!(all, text);
        }
        let (seen, end) = {
            let mut seen = Vec::new();
            let end = for_each_event(Trickle(br#"{"Records":[{"a":"\\"},2]}"#), |_, e| {
                seen.push(format!("{e:?}"));
                true
            });
            (seen, end)
        };
        assert_eq!(seen.len(), 2);
        assert!(end.is_ok());
    }
}
