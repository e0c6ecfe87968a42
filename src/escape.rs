//! Making untrusted log bytes safe for the place they are shown.
//!
//! Keys, referers and user agents are chosen by whoever sent the request. Before such a
//! value reaches a terminal (tables, error messages) its control characters and invalid
//! UTF-8 are written as visible escapes; before it reaches a spreadsheet cell, the same
//! escapes apply and a leading formula character is neutralised; in JSON
//! ([`write_json`]) C1 controls and bidi overrides are written as `\u` escapes too,
//! which serde_json leaves raw. HTML has its own escaping in its writer.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// Text for a terminal: UTF-8 kept, but every control character (C0, DEL, C1), bidi
/// override and invalid byte shown as `\xNN` (or `\u{NN}` above ASCII). Backslashes
/// are kept as they are: a value holding the text `\x1b` reads like one holding ESC,
/// but no raw control ever reaches the terminal.
pub fn terminal(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.chars().any(needs_terminal_escape) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if needs_terminal_escape(c) {
                if (c as u32) < 0x80 {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                } else {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// Writes `value` as JSON (indented when `pretty`) in which every character that
/// [`terminal`] escapes is a `\uXXXX` escape: serde_json escapes C0 controls, but
/// writes DEL, the C1 controls (U+009B is a terminal's CSI) and bidi overrides raw.
pub fn write_json<W: io::Write, T: serde::Serialize + ?Sized>(
    out: W,
    value: &T,
    pretty: bool,
) -> io::Result<()> {
    if pretty {
        write_json_nested(out, value, 0)
    } else {
        let f = JsonEscapes {
            layout: CompactFormatter,
            depth: 0,
        };
        value.serialize(&mut serde_json::Serializer::with_formatter(out, f))?;
        Ok(())
    }
}

/// [`write_json`], indented, for a value that stands `depth` levels deep in a larger
/// document: every line after its first is indented `depth` levels more, so that the
/// text is what the document's own writing would put there.
pub fn write_json_nested<W: io::Write, T: serde::Serialize + ?Sized>(
    out: W,
    value: &T,
    depth: usize,
) -> io::Result<()> {
    let f = JsonEscapes {
        layout: PrettyFormatter::new(),
        depth,
    };
    value.serialize(&mut serde_json::Serializer::with_formatter(out, f))?;
    Ok(())
}

/// A serde_json formatter that escapes what [`terminal`] escapes, as `\uXXXX`, and
/// leaves the layout to `layout`, `depth` levels deeper.
struct JsonEscapes<F> {
    layout: F,
    depth: usize,
}

impl<F> JsonEscapes<F> {
    /// `w` for the layout's line breaks and indents: two spaces per level of `depth`
    /// after each line break.
    fn nested<'w, W: ?Sized>(&self, w: &'w mut W) -> Nested<'w, W> {
        Nested {
            w,
            spaces: 2 * self.depth,
        }
    }
}

/// What a layout writes around values (`[`, `,\n` and an indent, `: `…), with
/// `spaces` more after a line break: the layout writes each line break at the end of
/// a write, and never inside a string.
struct Nested<'w, W: ?Sized> {
    w: &'w mut W,
    spaces: usize,
}

impl<W: ?Sized + io::Write> io::Write for Nested<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        const SPACES: &[u8] = &[b' '; 32];
        self.w.write_all(buf)?;
        if buf.ends_with(b"\n") {
            let mut left = self.spaces;
            while left > 0 {
                let n = left.min(SPACES.len());
                self.w.write_all(&SPACES[..n])?;
                left -= n;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl<F: Formatter> Formatter for JsonEscapes<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Nearly every fragment is printable ASCII (serde_json has taken the C0
        // controls out): one pass that the compiler vectorises.
        if fragment.bytes().all(|b| b < 0x7f) {
            return w.write_all(fragment.as_bytes());
        }
        let mut plain = 0;
        for (at, c) in fragment.char_indices() {
            if needs_terminal_escape(c) {
                w.write_all(&fragment.as_bytes()[plain..at])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
                plain = at + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[plain..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_array(w)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_array(&mut self.nested(w))
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.layout.begin_array_value(&mut self.nested(w), first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_array_value(w)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_object(w)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_object(&mut self.nested(w))
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.layout.begin_object_key(&mut self.nested(w), first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_object_value(w)
    }
}

fn needs_terminal_escape(c: char) -> bool {
    c.is_control()
        // Bidirectional overrides can make a key read differently from what it is.
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Like [`terminal`] for a message of several lines: each line is escaped, and the
/// line breaks between them are kept as line breaks (a multi-line error reads as
/// lines, not as one line full of `\x0a`). A trailing line break is dropped.
pub fn terminal_lines(text: &str) -> String {
    text.trim_end_matches('\n')
        .split('\n')
        .map(|line| terminal(line.as_bytes()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first `max` bytes of `bytes` as [`terminal`] text, with an ellipsis when there
/// were more: for quoting a bad value inside an error message without quoting all of
/// it (a character cut in two shows as the escapes of its first bytes).
pub fn snippet(bytes: &[u8], max: usize) -> String {
    let mut text = terminal(&bytes[..bytes.len().min(max)]).into_owned();
    if bytes.len() > max {
        text.push('…');
    }
    text
}

/// Text for JSON and CSV: valid UTF-8 kept as is, invalid bytes replaced by U+FFFD
/// (the documented, lossy replacement; everything else is escaped by the writer).
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// A CSV cell that a spreadsheet will neither run as a formula nor show with hidden
/// text: control characters (tab, CR and newline included) and bidi overrides are
/// escaped as for [`terminal`], and a value beginning with `=`, `+`, `-` or `@`, also
/// after spaces or in their full-width forms (`＝`, `＋`, `－`, `＠`, which some
/// spreadsheets take for the ASCII ones), gets a leading `'` (OWASP's advice).
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let shown = terminal(text.as_bytes());
    let formula = matches!(
        shown.trim_start_matches(' ').chars().next(),
        Some('=' | '+' | '-' | '@' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}')
    );
    if formula {
        Cow::Owned(format!("'{shown}"))
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(terminal(b"Mozilla/5.0 (X11)"), Cow::Borrowed(_)));
        assert_eq!(terminal("ключ/файл.txt".as_bytes()), "ключ/файл.txt");
    }

    #[test]
    fn controls_and_invalid_bytes_are_visible_escapes() {
        assert_eq!(terminal(b"a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(terminal(b"x\ry\x08\x7f"), "x\\x0dy\\x08\\x7f");
        assert_eq!(terminal(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(terminal("a\u{9b}31m".as_bytes()), "a\\u{9b}31m");
        assert_eq!(terminal("evil\u{202e}txt".as_bytes()), "evil\\u{202e}txt");
    }

    #[test]
    fn json_escapes_c1_controls_and_bidi_overrides_too() {
        // `d` is ASCII throughout, DEL its only character to escape.
        let value = serde_json::json!({
            "d": "x\u{7f}y",
            "k": "a\u{9b}31m\u{202e}b\u{7f}\n\u{1b}é😀",
            "n": [1, 2],
        });
        for pretty in [false, true] {
            let mut out = Vec::new();
            write_json(&mut out, &value, pretty).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(
                text.contains(r#""a\u009b31m\u202eb\u007f\n\u001bé😀""#),
                "{text}"
            );
            assert!(text.contains(r#""x\u007fy""#), "{text}");
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&text).unwrap(),
                value
            );
        }
        let mut out = Vec::new();
        write_json(&mut out, &value, true).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("\n  \"n\": [\n    1,"));
    }

    /// A value written apart at its depth is the text the whole document holds for
    /// it: objects and arrays nested, empty and not, and strings with line breaks.
    #[test]
    fn nested_json_is_the_text_of_the_value_in_its_document() {
        let inner = serde_json::json!({
            "a": [1, {"b": [], "c": {}}, [[2], []]],
            "s": "x\ny\u{9b}",
            "e": {},
        });
        for depth in 0..4 {
            let mut document = inner.clone();
            for _ in 0..depth {
                document = serde_json::json!([document]);
            }
            let mut whole = Vec::new();
            write_json(&mut whole, &document, true).unwrap();
            let mut apart = Vec::new();
            write_json_nested(&mut apart, &inner, depth).unwrap();
            let at = whole.iter().position(|&b| b == b'{').unwrap();
            assert_eq!(
                String::from_utf8_lossy(&whole[at..at + apart.len()]),
                String::from_utf8_lossy(&apart),
                "depth {depth}"
            );
            assert!(whole[at + apart.len()..]
                .iter()
                .all(|&b| b" \n]".contains(&b)));
        }
    }

    /// Where there is nothing to escape, the text is serde_json's own, indented or
    /// compact: the layout is left to it, empty and nested objects and arrays too.
    #[test]
    fn json_without_characters_to_escape_is_laid_out_as_serde_json_does() {
        let value = serde_json::json!({
            "a": [1, {"b": [], "c": {}}, [[2], []], "x"],
            "e": {},
            "n": null,
            "o": {"p": {"q": [true, 1.5]}},
        });
        let mut out = Vec::new();
        write_json(&mut out, &value, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        let mut out = Vec::new();
        write_json(&mut out, &value, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
    }

    /// serde_json hands a string over in pieces cut at the characters it escapes
    /// itself: a piece made only of DEL, a C1 control, a bidi override or other
    /// characters beyond ASCII is escaped like one that starts with a letter.
    #[test]
    fn json_escapes_a_piece_of_a_string_made_only_of_characters_to_escape() {
        let value = serde_json::json!([
            "\u{7f}",
            "\u{9b}",
            "\n\u{202e}\n",
            "\"\u{7f}\u{7f}\"",
            "\té",
        ]);
        for pretty in [false, true] {
            let mut out = Vec::new();
            write_json(&mut out, &value, pretty).unwrap();
            let text = String::from_utf8(out).unwrap();
            for escaped in [
                r#""\u007f""#,
                r#""\u009b""#,
                r#""\n\u202e\n""#,
                r#""\"\u007f\u007f\"""#,
                r#""\té""#,
            ] {
                assert!(text.contains(escaped), "{escaped} in {text}");
            }
        }
    }

    /// The indenting writer is a whole `io::Write`: `write` takes the whole buffer and
    /// indents after its line break, and `flush` reaches the writer underneath.
    #[test]
    fn the_indenting_writer_writes_whole_buffers_and_flushes_through() {
        let mut inner = io::BufWriter::new(Vec::new());
        let mut nested = Nested {
            w: &mut inner,
            spaces: 3,
        };
        assert_eq!(io::Write::write(&mut nested, b"[\n").unwrap(), 2);
        assert_eq!(io::Write::write(&mut nested, b"1").unwrap(), 1);
        io::Write::flush(&mut nested).unwrap();
        assert_eq!(inner.get_ref(), b"[\n   1");
    }

    #[test]
    fn messages_keep_their_line_breaks_and_escape_the_rest() {
        assert_eq!(
            terminal_lines("TOML parse error\n  |\n3 | x = \u{1b}[2J\r\n"),
            "TOML parse error\n  |\n3 | x = \\x1b[2J\\x0d"
        );
        assert_eq!(terminal_lines("one line"), "one line");
    }

    #[test]
    fn snippets_are_cut_with_an_ellipsis() {
        assert_eq!(snippet(b"abcdef", 3), "abc…");
        assert_eq!(snippet(b"abc", 3), "abc");
        assert_eq!(snippet(b"\x1b[2Jx", 4), "\\x1b[2J…");
        assert_eq!(snippet("ключ".as_bytes(), 3), "к\\xd0…");
    }

    #[test]
    fn formula_starts_are_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for start in [
            "+1",
            "-1",
            "@SUM(A1)",
            "  =1+1",
            " @x",
            "\u{ff1d}1+1",
            "\u{ff0b}1",
            "\u{ff20}x",
        ] {
            assert!(csv_cell(start).starts_with('\''), "{start:?}");
        }
        assert!(matches!(csv_cell("normal"), Cow::Borrowed("normal")));
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("a = b"), "a = b");
    }

    #[test]
    fn csv_cells_show_controls_escaped() {
        assert_eq!(csv_cell("\tx"), "\\x09x");
        assert_eq!(csv_cell("\r=1"), "\\x0d=1");
        assert_eq!(csv_cell("a\nb"), "a\\x0ab");
        assert_eq!(
            csv_cell("\u{1b}[2J\u{9b}31m\u{202e}"),
            "\\x1b[2J\\u{9b}31m\\u{202e}"
        );
        assert_eq!(csv_cell("=\u{7}"), "'=\\x07");
    }
}
