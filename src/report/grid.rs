//! Tables for a person at a terminal, fitted to its width.
//!
//! A [`Grid`] knows what each column holds: numbers and atoms (times, addresses,
//! verdicts) are never broken across lines; text (requesters, keys) wraps at spaces,
//! then after `:`, `/`, `-` and `,` (never inside an address or a time), and may be clipped where a row
//! must stay on one line. When the columns do not fit, the least needed ones are left
//! out, and when even the needed ones do not fit, every row becomes a block of
//! `title  value` lines; either way the output says so. Colour marks verdicts and
//! results only when the [`Screen`] allows it.

use std::io::{self, Write};
use std::net::IpAddr;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Where a table goes: how wide it may be and whether it may be coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screen {
    /// Columns available; `None` for no limit (a file).
    pub width: Option<usize>,
    /// Colour verdicts and results with ANSI escapes.
    pub color: bool,
}

impl Screen {
    /// No width limit and no colour: for files.
    pub const PLAIN: Screen = Screen {
        width: None,
        color: false,
    };

    /// The width to fit, [`usize::MAX`] when unlimited.
    pub fn columns(&self) -> usize {
        self.width.unwrap_or(usize::MAX)
    }

    /// `text` in `tone`, if colour is on.
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        if self.color {
            format!("{}{text}\x1b[0m", tone.sgr())
        } else {
            text.to_string()
        }
    }

    /// A cell's text, in its tone if colour is on.
    pub fn paint_cell(&self, cell: &Cell) -> String {
        match cell.tone {
            Some(t) => self.paint(&cell.text, t),
            None => cell.text.clone(),
        }
    }

    /// Writes `text` then the `cell` (coloured if the screen has colour) on lines of at
    /// most the screen's width; `text` is broken like a text cell.
    pub fn say_with(&self, out: &mut dyn Write, text: &str, cell: &Cell) -> io::Result<()> {
        let mut lines = wrap_text(text, self.columns());
        let last = lines.pop().unwrap_or_default();
        for line in lines {
            writeln!(out, "{line}")?;
        }
        if width(&last) + 1 + width(&cell.text) <= self.columns() {
            writeln!(out, "{last} {}", self.paint_cell(cell))
        } else {
            writeln!(out, "{last}")?;
            writeln!(out, "{}", self.paint_cell(cell))
        }
    }

    /// Writes `text` as lines of at most the screen's width, broken at spaces (a word
    /// longer than a line stays whole).
    pub fn say(&self, out: &mut dyn Write, text: &str) -> io::Result<()> {
        for line in wrap_words(text, self.columns()) {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

/// A colour with a meaning; every use also says the meaning in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Private only, PASS.
    Good,
    /// Something to look at: denied or refused requests.
    Warn,
    /// Public traffic let through, FAIL.
    Bad,
    /// Column titles.
    Title,
}

impl Tone {
    fn sgr(self) -> &'static str {
        match self {
            Tone::Good => "\x1b[32m",
            Tone::Warn => "\x1b[33m",
            Tone::Bad => "\x1b[1;31m",
            Tone::Title => "\x1b[1m",
        }
    }
}

/// What a column holds, which decides how it may be laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A count: right-aligned, never broken.
    Number,
    /// A time, an address, a verdict: never broken.
    Atom,
    /// Free text: wraps at spaces, then after `:`, `/`, `-` and `,`.
    Text,
    /// Free text kept on one line: shortened with `…` when the column is narrower.
    Clip,
}

/// One column: its title, what it holds and how readily it is left out.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub title: &'static str,
    pub kind: Kind,
    /// 0: always shown; otherwise columns with higher numbers are left out first
    /// (after the columns whose every value is 0).
    pub drop: u8,
}

impl Column {
    /// A column shown whatever the width.
    pub const fn keep(title: &'static str, kind: Kind) -> Column {
        Column {
            title,
            kind,
            drop: 0,
        }
    }

    /// A column left out when there is no room, the higher `rank` first.
    pub const fn drop(title: &'static str, kind: Kind, rank: u8) -> Column {
        Column {
            title,
            kind,
            drop: rank,
        }
    }
}

/// One cell: its text (already made safe for a terminal) and maybe a colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    text: String,
    tone: Option<Tone>,
}

impl Cell {
    /// The cell in `tone` (when the screen has colour).
    pub fn tone(mut self, tone: Tone) -> Cell {
        self.tone = Some(tone);
        self
    }

    /// The cell in `tone` if `when`.
    pub fn tone_if(self, when: bool, tone: Tone) -> Cell {
        if when {
            self.tone(tone)
        } else {
            self
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, tone: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Cell {
        Cell::from(n.to_string())
    }
}

impl From<usize> for Cell {
    fn from(n: usize) -> Cell {
        Cell::from(n.to_string())
    }
}

/// Spaces between two columns.
const GAP: usize = 2;
/// A text column is not made narrower than this (unless its longest value is).
const TEXT_MIN: usize = 16;

/// A table to fit a screen.
#[derive(Clone, Debug)]
pub struct Grid {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    /// Lines printed across the table before the row at their index: group headings.
    headings: Vec<(usize, String)>,
}

impl Grid {
    /// An empty table with these columns.
    pub fn new(columns: &[Column]) -> Grid {
        Grid {
            columns: columns.to_vec(),
            rows: Vec::new(),
            headings: Vec::new(),
        }
    }

    /// A line across the table before the next row: the heading of a group of rows.
    pub fn heading(&mut self, text: String) {
        self.headings.push((self.rows.len(), text));
    }

    /// The headings before row `i`.
    fn headings_at(&self, i: usize) -> impl Iterator<Item = &str> {
        self.headings
            .iter()
            .filter(move |(at, _)| *at == i)
            .map(|(_, text)| text.as_str())
    }

    /// Adds a row, one cell per column.
    pub fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Is there no row?
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table fitted to `screen`, followed by a note on what was left out.
    pub fn write(&self, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
        let fit = self.fit(screen.columns());
        match fit {
            Fit::Columns { shown, widths } => {
                self.write_columns(out, screen, &shown, &widths)?;
                let left_out: Vec<&str> = (0..self.columns.len())
                    .filter(|i| !shown.contains(i))
                    .map(|i| self.columns[i].title)
                    .collect();
                let clipped = shown.iter().zip(&widths).any(|(&c, &w)| {
                    self.columns[c].kind == Kind::Clip
                        && self.rows.iter().any(|r| width(&r[c].text) > w)
                });
                if !left_out.is_empty() || clipped {
                    let mut parts = Vec::new();
                    if !left_out.is_empty() {
                        parts.push(format!(
                            "hidden to fit {} columns: {}",
                            screen.columns(),
                            left_out.join(", ")
                        ));
                    }
                    if clipped {
                        parts.push("long values cut short with …".to_string());
                    }
                    screen.say(out, &format!("({})", parts.join("; ")))?;
                }
                Ok(())
            }
            Fit::Blocks => {
                self.write_blocks(out, screen)?;
                screen.say(
                    out,
                    &format!("(one block per row to fit {} columns)", screen.columns()),
                )
            }
        }
    }

    /// The widest value of column `c`.
    fn widest(&self, c: usize) -> usize {
        self.rows
            .iter()
            .map(|r| width(&r[c].text))
            .max()
            .unwrap_or(0)
    }

    /// How narrow column `c` may be: never less than its longest title word, its
    /// unbreakable values, or (for text) [`TEXT_MIN`].
    fn narrowest(&self, c: usize) -> usize {
        let col = &self.columns[c];
        let title = col.title.split(' ').map(width).max().unwrap_or(0);
        let values = match col.kind {
            Kind::Number | Kind::Atom => self.widest(c),
            Kind::Text => self
                .rows
                .iter()
                .flat_map(|r| r[c].text.split(' '))
                .filter(|w| unbreakable(w))
                .map(width)
                .max()
                .unwrap_or(0)
                .max(self.widest(c).min(TEXT_MIN)),
            Kind::Clip => self.widest(c).min(TEXT_MIN),
        };
        title.max(values).max(1)
    }

    /// Which columns to show, and how wide, within `room`.
    fn fit(&self, room: usize) -> Fit {
        let n = self.columns.len();
        let total = |cols: &[usize], w: &dyn Fn(usize) -> usize| {
            cols.iter().map(|&c| w(c)).sum::<usize>() + GAP * cols.len().saturating_sub(1)
        };
        let all: Vec<usize> = (0..n).collect();
        // Titles on one line when that fits.
        let natural = |c: usize| width(self.columns[c].title).max(self.widest(c));
        if total(&all, &natural) <= room {
            return Fit::Columns {
                widths: all.iter().map(|&c| natural(c)).collect(),
                shown: all,
            };
        }
        // Titles wrapped at their spaces, values whole.
        let compact = |c: usize| {
            let title = self.columns[c]
                .title
                .split(' ')
                .map(width)
                .max()
                .unwrap_or(0);
            title.max(self.widest(c)).max(1)
        };
        let narrow = |c: usize| self.narrowest(c);
        let mut shown = all;
        let mut order: Vec<usize> = (0..n).filter(|&c| self.columns[c].drop > 0).collect();
        // Columns with nothing to say (every value 0 or `-`) go first, then by rank,
        // the highest first.
        order.sort_by_key(|&c| {
            let empty = self
                .rows
                .iter()
                .all(|r| r[c].text == "0" || r[c].text == "-");
            (!empty, std::cmp::Reverse(self.columns[c].drop))
        });
        let mut order = order.into_iter();
        loop {
            if total(&shown, &narrow) <= room {
                let mut widths: Vec<usize> = shown.iter().map(|&c| compact(c)).collect();
                shrink(&mut widths, &shown, room, &narrow);
                return Fit::Columns { shown, widths };
            }
            match order.next() {
                Some(c) => shown.retain(|&s| s != c),
                None => return Fit::Blocks,
            }
        }
    }

    fn write_columns(
        &self,
        out: &mut dyn Write,
        screen: &Screen,
        shown: &[usize],
        widths: &[usize],
    ) -> io::Result<()> {
        let titles: Vec<Vec<String>> = shown
            .iter()
            .zip(widths)
            .map(|(&c, &w)| wrap_words(self.columns[c].title, w))
            .collect();
        let tall = titles.iter().map(Vec::len).max().unwrap_or(0);
        for line in 0..tall {
            let cells: Vec<(String, Option<Tone>)> = titles
                .iter()
                .map(|t| (t.get(line).cloned().unwrap_or_default(), Some(Tone::Title)))
                .collect();
            self.write_line(out, screen, shown, widths, &cells)?;
        }
        let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
        writeln!(out, "{}", rule.join(&" ".repeat(GAP)))?;
        for (i, row) in self.rows.iter().enumerate() {
            for heading in self.headings_at(i) {
                screen.say(out, heading)?;
            }
            let parts: Vec<Vec<String>> = shown
                .iter()
                .zip(widths)
                .map(|(&c, &w)| layout(&row[c].text, self.columns[c].kind, w))
                .collect();
            let tall = parts.iter().map(Vec::len).max().unwrap_or(1);
            for line in 0..tall {
                let cells: Vec<(String, Option<Tone>)> = parts
                    .iter()
                    .zip(shown)
                    .map(|(p, &c)| (p.get(line).cloned().unwrap_or_default(), row[c].tone))
                    .collect();
                self.write_line(out, screen, shown, widths, &cells)?;
            }
        }
        Ok(())
    }

    fn write_line(
        &self,
        out: &mut dyn Write,
        screen: &Screen,
        shown: &[usize],
        widths: &[usize],
        cells: &[(String, Option<Tone>)],
    ) -> io::Result<()> {
        let mut line = String::new();
        let mut pending = 0;
        for ((&c, &w), (text, tone)) in shown.iter().zip(widths).zip(cells) {
            let pad = w.saturating_sub(width(text));
            let (before, after) = match self.columns[c].kind {
                Kind::Number => (pad, 0),
                _ => (0, pad),
            };
            if !text.is_empty() {
                line.push_str(&" ".repeat(pending + before));
                pending = 0;
                match tone {
                    Some(t) => line.push_str(&screen.paint(text, *t)),
                    None => line.push_str(text),
                }
            } else {
                pending += before;
            }
            pending += after + GAP;
        }
        writeln!(out, "{line}")
    }

    /// Every row as a block: the first column as its heading, then one `title  value`
    /// line per other column.
    fn write_blocks(&self, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
        let room = screen.columns();
        let label = self.columns[1..]
            .iter()
            .map(|c| width(c.title))
            .max()
            .unwrap_or(0);
        let indent = 2;
        let value_room = room.saturating_sub(indent + label + GAP).max(1);
        for (i, row) in self.rows.iter().enumerate() {
            for heading in self.headings_at(i) {
                screen.say(out, heading)?;
            }
            let head = &row[0];
            for line in layout(&head.text, self.columns[0].kind, room.max(1)) {
                match head.tone {
                    Some(t) => writeln!(out, "{}", screen.paint(&line, t))?,
                    None => writeln!(out, "{line}")?,
                }
            }
            for (col, cell) in self.columns.iter().zip(row).skip(1) {
                let kind = match col.kind {
                    Kind::Clip => Kind::Text,
                    k => k,
                };
                let lines = layout(&cell.text, kind, value_room);
                for (i, line) in lines.iter().enumerate() {
                    let title = if i == 0 { col.title } else { "" };
                    let value = match cell.tone {
                        Some(t) => screen.paint(line, t),
                        None => line.clone(),
                    };
                    let text = format!("{:indent$}{title:<label$}{:GAP$}{value}", "", "");
                    writeln!(out, "{}", text.trim_end())?;
                }
            }
        }
        Ok(())
    }
}

/// The columns shown and their widths, or one block per row.
enum Fit {
    Columns {
        shown: Vec<usize>,
        widths: Vec<usize>,
    },
    Blocks,
}

/// Narrows the columns with the most room to spare, one column at a time, until the
/// row fits `room` (or every column is at its narrowest): the spare width is shared.
fn shrink(widths: &mut [usize], shown: &[usize], room: usize, narrow: &dyn Fn(usize) -> usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
    let floor: Vec<usize> = shown.iter().map(|&c| narrow(c)).collect();
    while total(widths) > room {
        let most = (0..widths.len())
            .filter(|&i| widths[i] > floor[i])
            .max_by_key(|&i| (widths[i] - floor[i], std::cmp::Reverse(i)));
        match most {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
}

/// The display width of `text`.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// A word that must not be broken: a number, an address, a time.
fn unbreakable(word: &str) -> bool {
    let word = word.trim_matches(|c| matches!(c, ',' | '(' | ')' | ';'));
    !word.is_empty()
        && (word.bytes().all(|b| b.is_ascii_digit())
            || word.parse::<IpAddr>().is_ok()
            || crate::time::parse_rfc3339(word).is_some())
}

/// The lines of a cell of `kind` in a column `w` wide.
fn layout(text: &str, kind: Kind, w: usize) -> Vec<String> {
    match kind {
        Kind::Number | Kind::Atom => vec![text.to_string()],
        Kind::Clip => vec![clip(text, w)],
        Kind::Text => wrap_text(text, w),
    }
}

/// `text` cut to `w` columns, ending with `…` if cut.
fn clip(text: &str, w: usize) -> String {
    if width(text) <= w {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}

/// `text` in lines of at most `w` columns, broken at spaces only (a longer word stays
/// whole on a line of its own).
pub fn wrap_words(text: &str, w: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|s| !s.is_empty()) {
        if !line.is_empty() && width(&line) + 1 + width(word) > w {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `word` cut after each of `marks`, the marks kept.
fn split_after(word: &str, marks: &[char]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    for c in word.chars() {
        part.push(c);
        if marks.contains(&c) {
            parts.push(std::mem::take(&mut part));
        }
    }
    if !part.is_empty() {
        parts.push(part);
    }
    parts
}

/// `text` in lines of at most `w` columns: broken at spaces, then after `:` and `/`,
/// then (in a part still too wide) after `-` and `,`, then anywhere, but never inside a
/// number, an address or a time.
fn wrap_text(text: &str, w: usize) -> Vec<String> {
    // Pieces that may end a line, each with whether a space precedes it.
    let mut pieces: Vec<(bool, String)> = Vec::new();
    for (i, word) in text.split(' ').enumerate() {
        let spaced = i > 0;
        if unbreakable(word) {
            pieces.push((spaced, word.to_string()));
            continue;
        }
        // After `:` and `/` first; a part still too wide also after `-` and `,`.
        let mut first = true;
        for part in split_after(word, &[':', '/']) {
            let parts = if width(&part) > w {
                split_after(&part, &['-', ','])
            } else {
                vec![part]
            };
            for piece in parts {
                pieces.push((spaced && first, piece));
                first = false;
            }
        }
        if first {
            pieces.push((spaced, String::new()));
        }
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for (spaced, piece) in pieces {
        let sep = if spaced && !line.is_empty() { 1 } else { 0 };
        if !line.is_empty() && width(&line) + sep + width(&piece) > w {
            lines.push(std::mem::take(&mut line));
        } else if sep == 1 {
            line.push(' ');
        }
        if width(&piece) > w && !unbreakable(&piece) {
            for c in piece.chars() {
                let cw = c.width().unwrap_or(0);
                if !line.is_empty() && width(&line) + cw > w {
                    lines.push(std::mem::take(&mut line));
                }
                line.push(c);
            }
        } else {
            line.push_str(&piece);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(grid: &Grid, width: usize) -> String {
        let mut out = Vec::new();
        let screen = Screen {
            width: Some(width),
            color: false,
        };
        grid.write(&mut out, &screen).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn sample() -> Grid {
        let mut g = Grid::new(&[
            Column::keep("requester", Kind::Text),
            Column::keep("public allowed", Kind::Number),
            Column::drop("bytes sent", Kind::Number, 2),
            Column::drop("first seen", Kind::Atom, 1),
            Column::keep("remote IP", Kind::Atom),
        ]);
        g.row(vec![
            "arn:aws:sts::111122223333:assumed-role/ec2-s3-reader".into(),
            25_560_018u64.into(),
            725_686u64.into(),
            "2022-05-09T10:02:11Z".into(),
            "2600:1f18:abcd:12::57".into(),
        ]);
        g
    }

    #[test]
    fn everything_on_one_line_when_wide_enough() {
        let text = render(&sample(), 200);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("requester ") && lines[0].contains("  public allowed  "));
        assert!(lines[2].contains("arn:aws:sts::111122223333:assumed-role/ec2-s3-reader"));
    }

    #[test]
    fn narrow_screens_drop_columns_then_use_blocks_and_say_so() {
        for w in [40, 60, 80] {
            let text = render(&sample(), w);
            for line in text.lines() {
                assert!(width(line) <= w, "{w}: {line:?}\n{text}");
            }
            for atom in ["25560018", "2600:1f18:abcd:12::57"] {
                assert!(text.contains(atom), "{w}: {atom} broken\n{text}");
            }
        }
        let text = render(&sample(), 80);
        assert!(!text.contains("hidden"), "{text}");
        assert!(text.contains("2022-05-09T10:02:11Z"), "{text}");
        let text = render(&sample(), 60);
        assert!(
            text.contains("(hidden to fit 60 columns: bytes sent, first seen)"),
            "{text}"
        );
        let text = render(&sample(), 40);
        assert!(
            text.contains("one block per row to fit 40 columns"),
            "{text}"
        );
        assert!(text.contains("  bytes sent      725686"), "{text}");
    }

    #[test]
    fn text_breaks_after_colons_and_slashes_never_inside_an_address() {
        assert_eq!(
            wrap_text("arn:aws:sts::111122223333:assumed-role/ec2-s3-reader", 26),
            ["arn:aws:sts::111122223333:", "assumed-role/ec2-s3-reader"]
        );
        assert_eq!(
            wrap_text("52.79.54.241 (8), 2600:1f18::1 (2)", 14),
            ["52.79.54.241", "(8),", "2600:1f18::1", "(2)"]
        );
        assert_eq!(wrap_text("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(
            wrap_text("Access-to-specific-VPCE-only", 24),
            ["Access-to-specific-VPCE-", "only"]
        );
        assert_eq!(clip("a/very/long/key", 8), "a/very/…");
        assert_eq!(wrap_words("one two three", 7), ["one two", "three"]);
    }

    #[test]
    fn colour_only_when_the_screen_has_it() {
        let mut g = Grid::new(&[Column::keep("verdict", Kind::Atom)]);
        g.row(vec![Cell::from("mixed").tone(Tone::Bad)]);
        let mut out = Vec::new();
        let screen = Screen {
            width: Some(80),
            color: true,
        };
        g.write(&mut out, &screen).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\x1b[1;31mmixed\x1b[0m"), "{text:?}");
        assert!(!render(&g, 80).contains('\x1b'));
    }
}
