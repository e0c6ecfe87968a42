//! Tables for a person at a terminal, fitted to its width and drawn by comfy-table.
//!
//! A [`Grid`] knows what each column holds: numbers and atoms (times, addresses,
//! verdicts) are never broken across lines; text (requesters, keys) wraps at spaces,
//! then after `:`, `/`, `-` and `,` (never inside an address or a time), and may be
//! clipped where a row must stay on one line. This module decides only what comfy-table
//! cannot: which columns to leave out when they do not fit (the least needed first),
//! the block of `title  value` lines per row when even the needed ones do not fit
//! (either way the output says so), and each column's constraint from its [`Kind`].
//! comfy-table lays the columns out within the width and draws them in the house
//! preset, `UTF8_FULL_CONDENSED`. Colour marks verdicts and results only when the
//! [`Screen`] allows it.

use std::io::{self, Write};
use std::net::IpAddr;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};
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

/// Spaces between a block's titles and its values.
const GAP: usize = 2;
/// A text column is not made narrower than this (unless its longest value is).
const TEXT_MIN: usize = 16;
/// The space comfy-table puts either side of a cell.
const PADDING: usize = 2;

/// The width of the borders and padding the house preset draws around `n` columns.
fn chrome(n: usize) -> usize {
    n * (PADDING + 1) + 1
}

/// Rows per printed table: a longer table is printed as several, each a table of its
/// own, so that a million rows never sit in memory as cells.
pub const PAGE: usize = 500;

/// Writes `rows` under `columns` as tables of at most [`PAGE`] rows each (one table,
/// empty but for its header, when there are no rows).
pub fn paged(
    columns: &[Column],
    rows: impl IntoIterator<Item = Vec<Cell>>,
    out: &mut dyn Write,
    screen: &Screen,
) -> io::Result<()> {
    let mut page = Grid::new(columns);
    let mut written = false;
    for row in rows {
        page.row(row);
        if page.len() == PAGE {
            page.write(out, screen)?;
            page = Grid::new(columns);
            written = true;
        }
    }
    if !page.is_empty() || !written {
        page.write(out, screen)?;
    }
    Ok(())
}

/// A table to fit a screen.
#[derive(Clone, Debug)]
pub struct Grid {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    /// Lines printed before the row at their index: group headings.
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

    /// A line before the next row: the heading of a group of rows, which gets a table
    /// of its own (the same columns, equally wide).
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
        let floors: Vec<usize> = (0..self.columns.len()).map(|c| self.narrowest(c)).collect();
        let Some(shown) = self.fit(screen.columns(), &floors) else {
            self.write_blocks(out, screen)?;
            return screen.say(
                out,
                &format!("(one block per row to fit {} columns)", screen.columns()),
            );
        };
        let widths = self.arrange(&shown, &floors, screen.width);
        let clipped = shown.iter().zip(&widths).any(|(&c, &w)| {
            self.columns[c].kind == Kind::Clip && self.rows.iter().any(|r| width(&r[c].text) > w)
        });
        let (lines, widths) = self.break_cells(&shown, widths);
        // A table per group of rows, each after its headings.
        let mut starts: Vec<usize> = self.headings.iter().map(|&(at, _)| at).collect();
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        for (k, &first) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(self.rows.len());
            for heading in self.headings_at(first) {
                screen.say(out, heading)?;
            }
            if first < end || self.rows.is_empty() {
                let rows = self.rows[first..end].iter().zip(&lines[first..end]);
                let table = self.draw(&shown, &widths, rows, screen);
                for line in table.lines() {
                    writeln!(out, "{line}")?;
                }
            }
        }
        let left_out: Vec<&str> = (0..self.columns.len())
            .filter(|i| !shown.contains(i))
            .map(|i| self.columns[i].title)
            .collect();
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

    /// Which columns to show within `room`, each at least as wide as its entry in
    /// `floors`, or `None` when even the columns always shown do not fit.
    fn fit(&self, room: usize, floors: &[usize]) -> Option<Vec<usize>> {
        let n = self.columns.len();
        let need =
            |cols: &[usize]| cols.iter().map(|&c| floors[c]).sum::<usize>() + chrome(cols.len());
        let mut shown: Vec<usize> = (0..n).collect();
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
        while need(&shown) > room {
            let c = order.next()?;
            shown.retain(|&s| s != c);
        }
        Some(shown)
    }

    /// The content width of each of the `shown` columns, as comfy-table lays them out
    /// (dynamically within `width`, or as wide as their values for a file). Numbers and
    /// atoms are never narrower than their widest value; when text would still be
    /// wrapped or cut, they are also no wider, their titles wrapped at spaces, and leave
    /// the rest of the width to the text.
    fn arrange(&self, shown: &[usize], floors: &[usize], width: Option<usize>) -> Vec<usize> {
        let samples = self.samples(shown);
        let widths = self.arrange_with(
            shown,
            floors,
            &samples,
            width,
            ColumnConstraint::LowerBoundary,
        );
        let squeezed = shown.iter().zip(&widths).any(|(&c, &w)| {
            matches!(self.columns[c].kind, Kind::Text | Kind::Clip) && w < self.widest(c)
        });
        if squeezed {
            self.arrange_with(shown, floors, &samples, width, ColumnConstraint::Absolute)
        } else {
            widths
        }
    }

    /// The widths comfy-table gives the `shown` columns within `width`, laid out from
    /// `samples` of their values, numbers and atoms held by `atom` at their `floors`.
    /// A text column is held at its floor only when comfy-table would make it narrower
    /// still: a floor it does not need would keep it from the width the others leave.
    fn arrange_with(
        &self,
        shown: &[usize],
        floors: &[usize],
        samples: &[Vec<&str>],
        width: Option<usize>,
        atom: fn(Width) -> ColumnConstraint,
    ) -> Vec<usize> {
        let mut table = house_table(width);
        table.set_header(shown.iter().map(|&c| self.columns[c].title));
        let rows = samples.iter().map(Vec::len).max().unwrap_or(0);
        for r in 0..rows {
            table.add_row(samples.iter().map(|s| s.get(r).copied().unwrap_or("")));
        }
        let mut floored: Vec<bool> = shown
            .iter()
            .map(|&c| matches!(self.columns[c].kind, Kind::Number | Kind::Atom))
            .collect();
        loop {
            for (i, &c) in shown.iter().enumerate() {
                let floor = fixed(floors[c] + PADDING);
                let constraint = match self.columns[c].kind {
                    Kind::Number | Kind::Atom => atom(floor),
                    Kind::Text | Kind::Clip => ColumnConstraint::LowerBoundary(floor),
                };
                if let (true, Some(column)) = (floored[i], table.column_mut(i)) {
                    column.set_constraint(constraint);
                }
            }
            let widths = chosen_widths(&table);
            let mut again = false;
            for ((&c, &w), floored) in shown.iter().zip(&widths).zip(&mut floored) {
                if !*floored && w < floors[c] {
                    *floored = true;
                    again = true;
                }
            }
            if !again {
                return widths;
            }
        }
    }

    /// The values of each of the `shown` columns that comfy-table's layout depends on:
    /// it takes the widest of each column, and splits text to see how narrow it may
    /// be. A number or an atom is held at least as wide as its widest value, so its
    /// widest and its longest in bytes (what comfy-table measures there) decide; a text
    /// column's distinct values do. A page of a listing is then laid out from a few rows.
    fn samples(&self, shown: &[usize]) -> Vec<Vec<&str>> {
        shown
            .iter()
            .map(|&c| {
                let values = self.rows.iter().map(|r| r[c].text.as_str());
                let mut sample: Vec<&str> = match self.columns[c].kind {
                    Kind::Number | Kind::Atom => {
                        let widest = values.clone().max_by_key(|v| width(v));
                        widest
                            .into_iter()
                            .chain(values.max_by_key(|v| v.len()))
                            .collect()
                    }
                    Kind::Text | Kind::Clip => values.collect(),
                };
                sample.sort_unstable();
                sample.dedup();
                sample
            })
            .collect()
    }

    /// Each cell's lines in a column as wide as `widths` says (text broken here, see
    /// [`wrap_text`]; clipped values cut), and the widths to draw: a text column as
    /// wide as its longest line, its title on one line if it was.
    fn break_cells(
        &self,
        shown: &[usize],
        widths: Vec<usize>,
    ) -> (Vec<Vec<Vec<String>>>, Vec<usize>) {
        let lines: Vec<Vec<Vec<String>>> = self
            .rows
            .iter()
            .map(|row| {
                shown
                    .iter()
                    .zip(&widths)
                    .map(|(&c, &w)| layout(&row[c].text, self.columns[c].kind, w))
                    .collect()
            })
            .collect();
        let widths = shown
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (&c, w))| {
                if self.columns[c].kind != Kind::Text {
                    return w;
                }
                let title = self.columns[c].title;
                let title = if width(title) <= w {
                    width(title)
                } else {
                    title.split(' ').map(width).max().unwrap_or(0)
                };
                lines
                    .iter()
                    .flat_map(|row| &row[i])
                    .map(|l| width(l))
                    .fold(title.max(1), usize::max)
            })
            .collect();
        (lines, widths)
    }

    /// The `rows` (each with its cells' lines) as a comfy-table table of the `shown`
    /// columns, each as wide as `widths` says, coloured if the screen has colour.
    fn draw<'a>(
        &self,
        shown: &[usize],
        widths: &[usize],
        rows: impl Iterator<Item = (&'a Vec<Cell>, &'a Vec<Vec<String>>)>,
        screen: &Screen,
    ) -> Table {
        let mut table = house_table(screen.width);
        table.set_header(
            shown
                .iter()
                .map(|&c| screen.paint(self.columns[c].title, Tone::Title)),
        );
        for (row, lines) in rows {
            table.add_row(shown.iter().zip(lines).map(|(&c, lines)| {
                let painted: Vec<String> = match row[c].tone {
                    Some(t) => lines.iter().map(|l| screen.paint(l, t)).collect(),
                    None => lines.clone(),
                };
                painted.join("\n")
            }));
        }
        table.set_constraints(
            widths
                .iter()
                .map(|&w| ColumnConstraint::Absolute(fixed(w + PADDING))),
        );
        for (i, &c) in shown.iter().enumerate() {
            if self.columns[c].kind == Kind::Number {
                if let Some(column) = table.column_mut(i) {
                    column.set_cell_alignment(CellAlignment::Right);
                }
            }
        }
        table
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

/// An empty table in the house style: laid out within `width`, or as wide as its
/// values when there is no limit.
fn house_table(width: Option<usize>) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    match width {
        Some(w) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(w).unwrap_or(u16::MAX));
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}

/// A fixed comfy-table width, saturated at its limit.
fn fixed(w: usize) -> Width {
    Width::Fixed(u16::try_from(w).unwrap_or(u16::MAX))
}

/// The content width comfy-table gives each column of `table`. comfy-table does not
/// expose its layout, but the top border of the house preset draws it: one run of `─`
/// per column, as wide as the column and its padding.
fn chosen_widths(table: &Table) -> Vec<usize> {
    let top = table.lines().next().unwrap_or_default();
    top.trim_start_matches('┌')
        .trim_end_matches('┐')
        .split('┬')
        .map(|run| run.chars().count().saturating_sub(PADDING))
        .collect()
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
///
/// Text cells reach comfy-table already broken by this (it keeps the line breaks): its
/// own wrapping breaks at spaces only, then cuts a long word at any character, which
/// would split an ARN inside its account id.
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
        // The top border, the titles, the rule under them, the row, the bottom border.
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[1].starts_with("│ requester ") && lines[1].contains(" ┆ public allowed ┆ "));
        assert!(lines[3].contains("arn:aws:sts::111122223333:assumed-role/ec2-s3-reader"));
    }

    #[test]
    fn narrow_screens_drop_columns_then_use_blocks_and_say_so() {
        for w in [40, 60, 80, 90] {
            let text = render(&sample(), w);
            for line in text.lines() {
                assert!(width(line) <= w, "{w}: {line:?}\n{text}");
            }
            for atom in ["25560018", "2600:1f18:abcd:12::57"] {
                assert!(text.contains(atom), "{w}: {atom} broken\n{text}");
            }
        }
        // Borders and padding take three columns per column and one more: the sample
        // needs 87.
        let text = render(&sample(), 90);
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
    fn each_group_is_a_table_after_its_heading_all_equally_wide() {
        let mut g = Grid::new(&[
            Column::keep("time", Kind::Atom),
            Column::keep("status", Kind::Number),
            Column::keep("key", Kind::Text),
        ]);
        g.heading("role-a: 1".into());
        g.row(vec![
            "2022-05-09T10:32:05Z".into(),
            200u64.into(),
            "exports/2022-05-09/part-0000.csv".into(),
        ]);
        g.heading("role-b: 1".into());
        g.row(vec![
            "2022-05-09T11:21:15Z".into(),
            403u64.into(),
            "k".into(),
        ]);
        let text = render(&g, 52);
        assert_eq!(
            text,
            "\
role-a: 1
┌──────────────────────┬────────┬───────────────┐
│ time                 ┆ status ┆ key           │
╞══════════════════════╪════════╪═══════════════╡
│ 2022-05-09T10:32:05Z ┆    200 ┆ exports/      │
│                      ┆        ┆ 2022-05-09/   │
│                      ┆        ┆ part-0000.csv │
└──────────────────────┴────────┴───────────────┘
role-b: 1
┌──────────────────────┬────────┬───────────────┐
│ time                 ┆ status ┆ key           │
╞══════════════════════╪════════╪═══════════════╡
│ 2022-05-09T11:21:15Z ┆    403 ┆ k             │
└──────────────────────┴────────┴───────────────┘
"
        );
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
