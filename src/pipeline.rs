//! The worker loop: input → decode → lines → parse → classify → filter → aggregate,
//! with exact accounting of every line.
//!
//! Inputs are processed in parallel (one worker per input, on rayon's pool); each
//! worker fills its own [`Aggregate`] and [`Tally`], and partial results merge in
//! input order, so rejections are listed in the order a person reads the files.

use std::io::Read;

use rayon::prelude::*;

use crate::aggregate::Aggregate;
use crate::classify::{Class, Classifier};
use crate::decode::decoded;
use crate::filter::Filter;
use crate::lines::{for_each_line, Line, MAX_LINE};
use crate::parse::{parse_line, trim_end};
use crate::record::Record;
use crate::source::{describe, Input, InputError};

/// How many rejected lines are kept with their reasons; all are counted.
pub const KEPT_REJECTIONS: usize = 1000;

/// What the audit looks for: the classifier, the filter and the window length.
#[derive(Clone, Debug)]
pub struct Settings {
    pub classifier: Classifier,
    pub filter: Filter,
    /// Window length in seconds.
    pub interval: i64,
}

/// A line that is not a record, with where it is and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    pub source: String,
    pub line: u64,
    pub reason: String,
}

/// The accounting of a run: `lines == parsed + rejected`, always.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Non-blank lines read.
    pub lines: u64,
    /// Lines that are records.
    pub parsed: u64,
    /// Lines that are not.
    pub rejected: u64,
    /// Parsed records that passed the filter.
    pub matched: u64,
    /// Blank lines, skipped and not counted as lines.
    pub blank: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Inputs opened.
    pub inputs: u64,
    /// The first [`KEPT_REJECTIONS`] rejected lines, in input order.
    pub rejections: Vec<Rejection>,
    /// Inputs that could not be read, fully or at all.
    pub errors: Vec<InputError>,
}

impl Tally {
    /// Adds `other`, whose inputs come after this tally's.
    pub fn merge(&mut self, other: Tally) {
        self.lines += other.lines;
        self.parsed += other.parsed;
        self.rejected += other.rejected;
        self.matched += other.matched;
        self.blank += other.blank;
        self.bytes += other.bytes;
        self.inputs += other.inputs;
        let room = KEPT_REJECTIONS.saturating_sub(self.rejections.len());
        self.rejections
            .extend(other.rejections.into_iter().take(room));
        self.errors.extend(other.errors);
    }

    fn reject(&mut self, source: &str, line: u64, reason: String) {
        self.rejected += 1;
        if self.rejections.len() < KEPT_REJECTIONS {
            self.rejections.push(Rejection {
                source: source.to_string(),
                line,
                reason,
            });
        }
    }
}

/// Reads every input and returns the aggregate of the records that pass the filter,
/// with the accounting of all lines. Runs on the current rayon pool.
pub fn aggregate(inputs: &[Input], settings: &Settings) -> (Aggregate, Tally) {
    let empty = || (Aggregate::new(settings.interval), Tally::default());
    inputs
        .par_iter()
        .with_max_len(1)
        .fold(empty, |(mut agg, mut tally), input| {
            scan_input(input, settings, &mut tally, |record, class, _| {
                agg.add(record, class);
                true
            });
            (agg, tally)
        })
        .reduce(empty, |(mut agg, mut tally), (other_agg, other_tally)| {
            agg.merge(other_agg);
            tally.merge(other_tally);
            (agg, tally)
        })
}

/// Reads one input, calling `each(record, class, line_number)` for every record that
/// passes the filter, until `each` returns `false`. Returns `false` if it was stopped.
pub fn scan_input(
    input: &Input,
    settings: &Settings,
    tally: &mut Tally,
    each: impl FnMut(&Record<'_>, Class, u64) -> bool,
) -> bool {
    let name = input.name();
    let reader = match input.open().and_then(decoded) {
        Ok(r) => r,
        Err(e) => {
            tally.errors.push(InputError::new(name, describe(&e)));
            return true;
        }
    };
    tally.inputs += 1;
    scan(&name, reader, settings, tally, each)
}

/// Like [`scan_input`] for an already decoded stream named `name`.
pub fn scan<R: Read>(
    name: &str,
    reader: R,
    settings: &Settings,
    tally: &mut Tally,
    mut each: impl FnMut(&Record<'_>, Class, u64) -> bool,
) -> bool {
    let mut go_on = true;
    let result = for_each_line(reader, |line_no, line| {
        let text = match line {
            Line::Text(text) => trim_end(text),
            Line::TooLong(len) => {
                tally.lines += 1;
                let reason = format!(
                    "line of {len} bytes is longer than the {} KiB limit for a record",
                    MAX_LINE / 1024
                );
                tally.reject(name, line_no, reason);
                return true;
            }
        };
        if text.is_empty() {
            tally.blank += 1;
            return true;
        }
        tally.lines += 1;
        match parse_line(text) {
            Ok(record) => {
                tally.parsed += 1;
                if settings.filter.matches(&record) {
                    tally.matched += 1;
                    let class = settings.classifier.classify(record.remote_ip);
                    go_on = each(&record, class, line_no);
                }
            }
            Err(e) => tally.reject(name, line_no, e.to_string()),
        }
        go_on
    });
    match result {
        Ok(bytes) => tally.bytes += bytes,
        Err((e, last_line)) => {
            let message = format!("read failed after line {last_line}: {}", describe(&e));
            tally.errors.push(InputError::new(name, message));
        }
    }
    go_on
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            classifier: Classifier::new(&[]),
            filter: Filter::default(),
            interval: 3600,
        }
    }

    const GOOD: &str = "o bkt [06/Feb/2019:00:00:38 +0000] 10.0.0.1 - I REST.GET.OBJECT k \"GET /k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"";

    #[test]
    fn every_non_blank_line_is_parsed_or_rejected() {
        let input = format!("{GOOD}\n\n  \ngarbage\n{GOOD}\r\nxx\n");
        let mut tally = Tally::default();
        let mut seen = Vec::new();
        scan(
            "mem",
            input.as_bytes(),
            &settings(),
            &mut tally,
            |r, c, n| {
                seen.push((r.time, c, n));
                true
            },
        );
        assert_eq!(
            (tally.lines, tally.parsed, tally.rejected, tally.blank),
            (4, 2, 2, 2)
        );
        assert_eq!(tally.lines, tally.parsed + tally.rejected);
        assert_eq!(seen.iter().map(|s| s.2).collect::<Vec<_>>(), [1, 5]);
        assert_eq!(seen[0].1, Class::Private);
        assert_eq!(tally.rejections[0].line, 4);
        assert_eq!(tally.rejections[1].line, 6);
        assert_eq!(tally.rejections[0].source, "mem");
    }

    #[test]
    fn filtered_records_are_parsed_but_not_matched() {
        let mut s = settings();
        s.filter.buckets = vec![b"other".to_vec()];
        let mut tally = Tally::default();
        scan("mem", GOOD.as_bytes(), &s, &mut tally, |_, _, _| {
            panic!("filtered out")
        });
        assert_eq!((tally.parsed, tally.matched), (1, 0));
    }
}
