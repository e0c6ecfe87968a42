//! The worker loop: input → decode → lines → parse → classify → filter → aggregate,
//! with exact accounting of every line.
//!
//! Inputs are processed in parallel on rayon's pool: one work unit per input, and a
//! large uncompressed file is cut into pieces at line boundaries so that one file
//! keeps every core busy; a single stream that cannot be cut at byte offsets
//! (standard input, a gzip file) is read by one thread and parsed by every worker in
//! chunks of whole lines. Each worker takes the next unit until none is left and
//! counts into one [`Aggregate`] of its own; the [`Tally`] of each unit merges in input
//! order, so rejections are listed in the order a person reads the files, with their
//! line numbers in the whole file.
//!
//! An input is read as CloudTrail when its content is JSON ([`events::is_cloudtrail`]).
//! When a run has both, CloudTrail is read first and joined with the access logs on
//! the request id ([`crate::join`]), so that a request in both is counted once. The
//! objects of an S3 listing are read as the listing yields them ([`read_each`]), each
//! whole, their tallies merged in listing order.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex};

use rayon::prelude::*;

use crate::aggregate::Aggregate;
use crate::classify::Class;
use crate::cloudtrail::parse_event;
use crate::input::digest::{Hashes, Slot};
use crate::input::events::{for_each_event, Event, Stop, MAX_EVENT};
use crate::input::lines::{for_each_line, for_each_line_in, Line, MAX_LINE};
use crate::input::stream::{self, Item, SourceExt};
use crate::input::{describe, Input, InputError, OpenFile, Opened};
use crate::join::{Held, Join, Keeper};
use crate::parse::{trim_end, LineParser};
use crate::record::Record;
use crate::settings::Settings;
use crate::tally::{InputDigest, Rejection, Tally, Unfinished};

/// A large plain file is read in pieces of this size, in parallel.
pub const PIECE: u64 = 32 * 1024 * 1024;
/// The smallest of the pieces at the end of a file, which are cut smaller and smaller.
const MIN_PIECE: u64 = 2 * 1024 * 1024;
/// A stream that cannot be cut at byte offsets (standard input, a gzip file) is read by
/// one thread and handed to the workers in chunks of whole lines of about this size.
const CHUNK: usize = 1024 * 1024;

/// The pipeline's part of the accounting: opening inputs, the end of a stream, line
/// numbers across the pieces of a file.
impl Tally {
    /// Opens and decodes `input` (taking the digests `hashes` asks for on the way),
    /// counting it, or notes why it cannot be read.
    fn open(&mut self, input: &Input, hashes: Hashes) -> Option<Opened> {
        match input.open_decoded(hashes) {
            Ok(opened) => {
                self.counts.inputs += 1;
                Some(opened)
            }
            Err(e) => {
                self.errors
                    .push(InputError::new(input.name(), describe(&e)));
                None
            }
        }
    }

    /// Counts the bytes of a stream whose lines took `offset` bytes (each with its
    /// newline) once [`for_each_line`] returned `result`, and notes a read error: after
    /// which line, when the stream's lines are numbered from its start (not so in a
    /// piece of a file, whose errors say at which byte).
    fn end_of(
        &mut self,
        name: &str,
        offset: u64,
        result: Result<u64, (io::Error, u64)>,
        numbered: bool,
    ) {
        match result {
            // A last line without a newline was counted one byte long.
            Ok(read) => self.counts.bytes += offset.min(read),
            Err((e, last_line)) => {
                self.counts.bytes += offset;
                let message = if numbered {
                    format!("read failed after line {last_line}: {}", describe(&e))
                } else {
                    format!("read failed: {}", describe(&e))
                };
                self.errors.push(InputError::new(name, message));
            }
        }
    }

    /// Names the log an input looks like (when its first bytes say it is another log)
    /// if any of its lines were rejected: `rejected_before` is the count before it.
    fn looked_like(&mut self, name: &str, other_log: Option<&'static str>, rejected_before: u64) {
        if let Some(kind) = other_log {
            if self.counts.rejected > rejected_before {
                self.other_logs.push((name.to_string(), kind));
            }
        }
    }

    /// Records the digests of an input once its stream has ended: only those of a
    /// stream read to its end exist.
    fn digested(&mut self, name: &str, raw: Option<Slot>, plain: Option<Slot>) {
        let (raw, plain) = (raw.and_then(|s| s.get()), plain.and_then(|s| s.get()));
        if raw.is_some() || plain.is_some() {
            self.digests.push(InputDigest {
                source: name.to_string(),
                raw,
                plain,
            });
        }
    }

    /// Joins the tallies of the pieces of a file: measures the over-long lines that ran
    /// past the piece they start in, and turns line numbers counted from the start of a
    /// piece into line numbers in the whole file.
    fn join_pieces(&mut self, units: &[Unit<'_>]) {
        let mut first_newline = vec![None; units.len()];
        for &(unit, newline) in &self.first_newlines {
            first_newline[unit] = Some(newline);
        }
        for line in std::mem::take(&mut self.unfinished) {
            let size = units[line.unit]
                .piece
                .as_ref()
                .map_or(line.read_to, |(_, file)| file.size());
            // The line ends at the first newline of the pieces after its own, or with
            // the file; a piece that could not be read leaves it measured as far as read.
            let mut end = Some(size);
            for (unit, newline) in units.iter().zip(&first_newline).skip(line.unit + 1) {
                if !unit.continues_previous {
                    break;
                }
                match newline {
                    Some(None) => {}
                    Some(Some(at)) => {
                        end = Some(*at);
                        break;
                    }
                    None => {
                        end = None;
                        break;
                    }
                }
            }
            // The bytes past the piece's look-ahead are counted here, up to the newline.
            let (end, counted_to) = match end {
                Some(end) => (end.max(line.read_to), (end + 1).min(size)),
                None => (line.read_to, line.read_to),
            };
            self.counts.bytes += counted_to.saturating_sub(line.read_to);
            let this = |r: &&mut Rejection| r.unit == line.unit && r.line == line.line;
            if let Some(rejection) = self.rejections.iter_mut().find(this) {
                rejection.reason = too_long(end - line.start);
            }
        }
        self.first_newlines.clear();
        let mut lines = vec![0; units.len()];
        for &(unit, n) in &self.unit_lines {
            lines[unit] = n;
        }
        let mut offsets = vec![0; units.len()];
        for (i, unit) in units.iter().enumerate().skip(1) {
            if unit.continues_previous {
                offsets[i] = offsets[i - 1] + lines[i - 1];
            }
        }
        for r in &mut self.rejections {
            r.line += offsets[r.unit];
        }
        self.unit_lines.clear();
    }
}

/// A piece of work: a whole input, or a byte range of a large plain file.
#[derive(Debug)]
struct Unit<'a> {
    input: &'a Input,
    /// For a piece of a file: its byte range, and the file, opened once for all its
    /// pieces.
    piece: Option<(Range<u64>, Arc<OpenFile>)>,
    /// Is this the next piece of the same file as the unit before it?
    continues_previous: bool,
}

/// Cuts the inputs into work units: whole inputs, and uncompressed files larger than
/// two pieces in pieces of `piece` bytes, all read from one handle opened here.
fn plan(inputs: &[Input], piece: u64) -> Vec<Unit<'_>> {
    let workers = rayon::current_num_threads() as u64;
    let mut units = Vec::with_capacity(inputs.len());
    for input in inputs {
        match open_splittable(input, piece) {
            Some(file) => {
                let file = Arc::new(file);
                let size = file.size();
                let mut start = 0;
                while start < size {
                    // Toward the end of the file the pieces shrink, so that the
                    // workers finish it together rather than one waiting on another's
                    // last full piece.
                    let shrunk = ((size - start) / (2 * workers)).max(MIN_PIECE);
                    let end = (start + piece.min(shrunk)).min(size);
                    units.push(Unit {
                        input,
                        piece: Some((start..end, Arc::clone(&file))),
                        continues_previous: start > 0,
                    });
                    start = end;
                }
            }
            None => units.push(Unit {
                input,
                piece: None,
                continues_previous: false,
            }),
        }
    }
    units
}

/// A file worth reading in pieces, opened: a regular file larger than two pieces,
/// not gzip. (The size is read from the path first, so that a FIFO named on the
/// command line is not opened here: opening one waits for its writer.)
fn open_splittable(input: &Input, piece: u64) -> Option<OpenFile> {
    let Input::File(path) = input else {
        return None;
    };
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() <= piece.saturating_mul(2) {
        return None;
    }
    let file = input.open_file().ok()?;
    let mut head = [0u8; 2];
    let n = file.read_at(&mut head, 0).ok()?;
    (file.size() > piece.saturating_mul(2) && (n < 2 || head != [0x1f, 0x8b])).then_some(file)
}

/// Reads every input and returns the aggregate of the records that pass the filter,
/// with the accounting of all lines. Runs on the current rayon pool.
///
/// When digests are asked for ([`Settings::hashes`]), every input is read whole and in
/// order, by one thread, for its bytes to be hashed as they pass: a single input is
/// still parsed by every worker ([`aggregate_stream`]), several are read side by side.
pub fn aggregate(inputs: &[Input], settings: &Settings) -> (Aggregate, Tally) {
    let (trails, logs): (Vec<&Input>, Vec<&Input>) =
        inputs.iter().partition(|i| i.holds_cloudtrail());
    if trails.is_empty() {
        return aggregate_logs(inputs, settings, None);
    }
    // CloudTrail first, kept for the join; past the budget, or with no access logs to
    // join with, counted at once (a request CloudTrail logged twice, once).
    let counted = Mutex::new(Aggregate::in_zone(settings.interval, settings.zone));
    let count = |r: &Record<'_>, class, _: &str, _| {
        counted.lock().expect("no worker panicked").add(r, class);
        true
    };
    let mut tally = Tally::default();
    let join = read_cloudtrail(&trails, !logs.is_empty(), settings, &mut tally, &count);
    let logs: Vec<Input> = logs.into_iter().cloned().collect();
    let (mut agg, logs_tally) = aggregate_logs(&logs, settings, Some(&join));
    tally.merge(logs_tally);
    agg.merge(counted.into_inner().expect("no worker panicked"));
    agg.merge(pending(&join, settings, &mut tally));
    tally.join = Some(joined(&join, &tally));
    (agg, tally)
}

/// The access logs (and any CloudTrail input their names hid) into an aggregate,
/// joined with `join`: runs of local inputs as they are, each S3 listing as its
/// objects come.
fn aggregate_logs(
    inputs: &[Input],
    settings: &Settings,
    join: Option<&Join>,
) -> (Aggregate, Tally) {
    let mut agg: Option<Aggregate> = None;
    let mut tally = Tally::default();
    let mut rest = inputs;
    while !rest.is_empty() {
        let local = rest.iter().take_while(|i| !is_listing(i)).count();
        let (part, after) = if local > 0 {
            (
                aggregate_local(&rest[..local], settings, join),
                &rest[local..],
            )
        } else {
            let source = stream::each(&rest[..1]).ahead(stream::AHEAD);
            (aggregate_each(source, settings, join), &rest[1..])
        };
        match &mut agg {
            Some(agg) => agg.merge(part.0),
            None => agg = Some(part.0),
        }
        tally.merge(part.1);
        rest = after;
    }
    (
        agg.unwrap_or_else(|| Aggregate::in_zone(settings.interval, settings.zone)),
        tally,
    )
}

fn is_listing(input: &Input) -> bool {
    #[cfg(feature = "s3")]
    {
        matches!(input, Input::S3Listing(_))
    }
    #[cfg(not(feature = "s3"))]
    {
        let _ = input;
        false
    }
}

/// Reads the objects of `source` (an S3 listing), each whole, while it goes on.
fn aggregate_each(
    source: impl Iterator<Item = Item> + Send,
    settings: &Settings,
    join: Option<&Join>,
) -> (Aggregate, Tally) {
    let mut tally = Tally::default();
    let aggs = read_each(
        source,
        || Aggregate::in_zone(settings.interval, settings.zone),
        |agg, item| {
            let mut t = Tally::default();
            match item {
                Ok(input) => {
                    let span = Span {
                        unit: 0,
                        budget: u64::MAX,
                        required_only: true,
                        join,
                        cut: None,
                    };
                    scan_whole(&input, span, settings, &mut t, |record, class, _| {
                        agg.add(record, class);
                        true
                    });
                    t.unit_lines.clear();
                }
                Err(e) => t.errors.push(e),
            }
            t
        },
        |t| tally.merge(t),
    );
    (merge_all(aggs, settings), tally)
}

/// How far the workers may get ahead of the earliest input not yet done.
const REORDER: usize = 256;

/// Reads the inputs `source` yields while it goes on (an S3 listing yields its objects
/// as they are listed), each whole, on every worker of the current pool: `read` turns
/// an input (or the error met finding it) into a result, with a state of the worker's
/// own, and `merge` takes the results in the source's order, whatever order they are
/// done in. Returns the workers' states.
pub fn read_each<W: Send, T: Send>(
    source: impl Iterator<Item = Item> + Send,
    worker: impl Fn() -> W + Sync,
    read: impl Fn(&mut W, Item) -> T + Sync,
    merge: impl FnMut(T) + Send,
) -> Vec<W> {
    struct Merged<T, M> {
        next: usize,
        waiting: BTreeMap<usize, T>,
        merge: M,
    }
    let feed = Mutex::new((source, 0usize));
    let merged = Mutex::new(Merged {
        next: 0,
        waiting: BTreeMap::new(),
        merge,
    });
    let room = Condvar::new();
    rayon::broadcast(|_| {
        let mut state = worker();
        loop {
            let (seq, item) = {
                let mut feed = feed.lock().expect("no worker panicked");
                let mut m = merged.lock().expect("no worker panicked");
                while feed.1 >= m.next + REORDER {
                    m = room.wait(m).expect("no worker panicked");
                }
                drop(m);
                let Some(item) = feed.0.next() else { break };
                feed.1 += 1;
                (feed.1 - 1, item)
            };
            let result = read(&mut state, item);
            let mut m = merged.lock().expect("no worker panicked");
            m.waiting.insert(seq, result);
            while let Some(result) = {
                let next = m.next;
                m.waiting.remove(&next)
            } {
                (m.merge)(result);
                m.next += 1;
            }
            drop(m);
            room.notify_all();
        }
        state
    })
}

/// [`aggregate`] of local inputs, joined with `join`.
fn aggregate_local(
    inputs: &[Input],
    settings: &Settings,
    join: Option<&Join>,
) -> (Aggregate, Tally) {
    let whole = settings.hashes != Hashes::default();
    if rayon::current_num_threads() == 1 {
        return aggregate_in_pieces(inputs, settings, u64::MAX, join);
    }
    match inputs {
        [input] if whole || !splittable(input) => aggregate_stream(input, settings, CHUNK, join),
        _ if whole => aggregate_in_pieces(inputs, settings, u64::MAX, join),
        _ => aggregate_in_pieces(inputs, settings, PIECE, join),
    }
}

/// Reads the CloudTrail inputs `trails` in parallel: their S3 requests are kept in
/// `keeper` for the join, or, past its budget, handed to `count`.
fn read_trails(
    trails: &[&Input],
    settings: &Settings,
    keeper: &Keeper,
    count: &(dyn Fn(&Record<'_>, Class, &str, u64) -> bool + Sync),
) -> Tally {
    let tallies: Vec<Tally> = trails
        .par_iter()
        .with_max_len(1)
        .enumerate()
        .map(|(at, input)| {
            let mut tally = Tally::default();
            let name = input.name();
            if let Some(opened) = tally.open(input, settings.hashes) {
                scan_events(
                    &name,
                    opened.reader,
                    0,
                    Some((keeper, at)),
                    settings,
                    &mut tally,
                    |r, class, n| count(r, class, &name, n),
                );
                tally.digested(&name, opened.raw, opened.plain);
            }
            tally.unit_lines.clear();
            tally
        })
        .collect();
    let mut tally = Tally::default();
    for t in tallies {
        tally.merge(t);
    }
    tally
}

/// What the join did, with the CloudTrail requests counted without it because they
/// were found among the access logs (noted in `tally`).
pub fn joined(join: &Join, tally: &Tally) -> crate::tally::JoinCounts {
    let mut counts = join.counts();
    counts.unjoined += tally.join.map_or(0, |j| j.unjoined);
    counts
}

/// The CloudTrail requests no access log record took the place of, counted last.
fn pending(join: &Join, settings: &Settings, tally: &mut Tally) -> Aggregate {
    let chunk = join.len().div_ceil(rayon::current_num_threads() * 4).max(1);
    let starts: Vec<usize> = (0..join.len()).step_by(chunk).collect();
    let (agg, matched) = starts
        .into_par_iter()
        .map(|start| {
            let mut agg = Aggregate::in_zone(settings.interval, settings.zone);
            let mut matched = 0;
            join.pending(start..(start + chunk).min(join.len()), |r, _, _| {
                if settings.filter.matches(r) {
                    matched += 1;
                    agg.add(r, settings.classifier.classify_record(r));
                }
                true
            });
            (agg, matched)
        })
        .reduce(
            || (Aggregate::in_zone(settings.interval, settings.zone), 0),
            |(mut a, m), (b, n)| {
                a.merge(b);
                (a, m + n)
            },
        );
    tally.counts.matched += matched;
    agg
}

/// Can `input` be read in pieces at byte offsets?
fn splittable(input: &Input) -> bool {
    open_splittable(input, PIECE).is_some()
}

fn aggregate_in_pieces(
    inputs: &[Input],
    settings: &Settings,
    piece: u64,
    join: Option<&Join>,
) -> (Aggregate, Tally) {
    aggregate_units(&plan(inputs, piece), settings, join)
}

/// Reads the planned `units` on the current pool.
fn aggregate_units(
    units: &[Unit<'_>],
    settings: &Settings,
    join: Option<&Join>,
) -> (Aggregate, Tally) {
    // Every worker takes the next unit until none is left, into an aggregate of its
    // own: one per worker, not one per unit, so the maps are not rebuilt from empty
    // and merged again for every piece. Tallies stay per unit and merge in input order.
    let next = AtomicUsize::new(0);
    let per_worker = rayon::broadcast(|_| {
        let mut agg = Aggregate::in_zone(settings.interval, settings.zone);
        let mut tallies = Vec::new();
        loop {
            let id = next.fetch_add(1, Ordering::Relaxed);
            let Some(unit) = units.get(id) else {
                break;
            };
            let mut tally = Tally::default();
            let add = |record: &Record<'_>, class, _| {
                agg.add(record, class);
                true
            };
            match &unit.piece {
                None => {
                    let span = Span {
                        unit: id,
                        budget: u64::MAX,
                        required_only: true,
                        join,
                        cut: None,
                    };
                    scan_whole(unit.input, span, settings, &mut tally, add);
                }
                Some((range, file)) => {
                    let name = unit.input.name();
                    let span = Span {
                        unit: id,
                        budget: u64::MAX,
                        required_only: true,
                        join,
                        cut: None,
                    };
                    scan_piece(&name, file, range, span, settings, &mut tally, add);
                }
            }
            tallies.push((id, tally));
        }
        (agg, tallies)
    });
    let (aggs, tallies): (Vec<_>, Vec<_>) = per_worker.into_iter().unzip();
    let agg = merge_all(aggs, settings);
    let mut in_order: Vec<(usize, Tally)> = tallies.into_iter().flatten().collect();
    in_order.sort_unstable_by_key(|(id, _)| *id);
    let mut tally = Tally::default();
    for (_, t) in in_order {
        tally.merge(t);
    }
    tally.join_pieces(units);
    (agg, tally)
}

/// Merges the workers' aggregates, in parallel.
fn merge_all(aggs: Vec<Aggregate>, settings: &Settings) -> Aggregate {
    aggs.into_par_iter().reduce(
        || Aggregate::in_zone(settings.interval, settings.zone),
        |mut a, b| {
            a.merge(b);
            a
        },
    )
}

/// Lines of a stream on their way from the reader to a worker.
enum Chunk {
    /// Whole lines, each ending with `\n`.
    Lines(Vec<u8>),
    /// A line over [`MAX_LINE`] bytes long, and its length.
    TooLong(u64),
}

/// Reads one stream on a thread of its own (decompressing it if need be) while every
/// worker parses the chunks of lines it hands out, into an aggregate of its own. The
/// chunks' tallies merge in stream order as they come, so memory stays bounded.
fn aggregate_stream(
    input: &Input,
    settings: &Settings,
    chunk: usize,
    join: Option<&Join>,
) -> (Aggregate, Tally) {
    let name = input.name();
    // One chunk waiting per worker: the reader stays ahead, memory stays bounded.
    let (send, receive) = mpsc::sync_channel(rayon::current_num_threads());
    let receive = Mutex::new(receive);
    let in_order = Mutex::new(InOrder::default());
    let (aggs, read) = std::thread::scope(|s| {
        let reader = s.spawn(|| read_chunks(input, settings, chunk, send));
        let aggs = rayon::broadcast(|_| {
            let mut agg = Aggregate::in_zone(settings.interval, settings.zone);
            // The lock is held while waiting, so the next chunk goes to one worker.
            while let Ok((seq, chunk)) = receive.lock().expect("no worker panicked").recv() {
                let mut tally = Tally::default();
                let lines = match chunk {
                    Chunk::Lines(data) => {
                        let span = Span {
                            unit: 0,
                            budget: u64::MAX,
                            required_only: true,
                            join,
                            cut: None,
                        };
                        let add = |record: &Record<'_>, class, _| {
                            agg.add(record, class);
                            true
                        };
                        scan_lines(&name, &data[..], span, settings, &mut tally, add);
                        // The reader counts the stream's bytes.
                        tally.counts.bytes = 0;
                        tally.unit_lines.pop().map_or(0, |(_, lines)| lines)
                    }
                    Chunk::TooLong(len) => {
                        tally.counts.lines += 1;
                        tally.reject(&name, 0, 1, too_long(len));
                        1
                    }
                };
                in_order
                    .lock()
                    .expect("no worker panicked")
                    .add(seq, tally, lines);
            }
            agg
        });
        (aggs, reader.join().expect("the reader does not panic"))
    });
    let (read, events) = read;
    let mut tally = in_order.into_inner().expect("no worker panicked").done;
    tally.merge(read);
    if tally.counts.rejected == 0 {
        tally.other_logs.clear();
    }
    let mut agg = merge_all(aggs, settings);
    agg.merge(events);
    (agg, tally)
}

/// Reads `input` and sends its lines in chunks of about `chunk` bytes; returns the
/// tally of what only the reader knows: the input, its bytes and any read error. A
/// stream that turns out to be CloudTrail (an S3 object named like a log) is read by
/// this thread alone, into the aggregate it returns.
fn read_chunks(
    input: &Input,
    settings: &Settings,
    chunk: usize,
    send: SyncSender<(usize, Chunk)>,
) -> (Tally, Aggregate) {
    let mut tally = Tally::default();
    let mut agg = Aggregate::in_zone(settings.interval, settings.zone);
    let Some(Opened {
        reader,
        raw,
        plain,
        other_log,
        cloudtrail,
    }) = tally.open(input, settings.hashes)
    else {
        return (tally, agg);
    };
    if cloudtrail {
        let name = input.name();
        scan_events(
            &name,
            reader,
            0,
            None,
            settings,
            &mut tally,
            |r, class, _| {
                agg.add(r, class);
                true
            },
        );
        tally.unit_lines.clear();
        tally.digested(&name, raw, plain);
        return (tally, agg);
    }
    // The workers count the rejected lines: the stream's tally names what the input
    // looks like, and [`aggregate_stream`] keeps it only if lines were rejected.
    if let Some(kind) = other_log {
        tally.other_logs.push((input.name(), kind));
    }
    let mut seq = 0;
    let mut send_next = |c: Chunk| {
        seq += 1;
        send.send((seq - 1, c)).is_ok()
    };
    let fresh = || Vec::with_capacity(chunk + MAX_LINE);
    let mut lines = fresh();
    let mut offset = 0u64;
    let result = for_each_line(reader, |_, line| match line {
        Line::Text(text) => {
            offset += text.len() as u64 + 1;
            lines.extend_from_slice(text);
            lines.push(b'\n');
            lines.len() < chunk || send_next(Chunk::Lines(std::mem::replace(&mut lines, fresh())))
        }
        Line::TooLong(len) => {
            offset += len + 1;
            (lines.is_empty() || send_next(Chunk::Lines(std::mem::replace(&mut lines, fresh()))))
                && send_next(Chunk::TooLong(len))
        }
    });
    if !lines.is_empty() {
        send_next(Chunk::Lines(lines));
    }
    let name = input.name();
    tally.end_of(&name, offset, result, true);
    tally.digested(&name, raw, plain);
    (tally, agg)
}

/// The chunks' tallies of a stream, merged in stream order whatever order they come in.
#[derive(Default)]
struct InOrder {
    /// The next chunk to merge.
    next: usize,
    /// Chunks done ahead of their turn, with their number of lines.
    waiting: BTreeMap<usize, (Tally, u64)>,
    /// Lines of the chunks merged so far: the next chunk's line numbers start after.
    lines_before: u64,
    done: Tally,
}

impl InOrder {
    fn add(&mut self, seq: usize, tally: Tally, lines: u64) {
        self.waiting.insert(seq, (tally, lines));
        while let Some((mut tally, lines)) = self.waiting.remove(&self.next) {
            for r in &mut tally.rejections {
                r.line += self.lines_before;
            }
            self.lines_before += lines;
            self.done.merge(tally);
            self.next += 1;
        }
    }
}

/// Reads one input, calling `each(record, class, line_number)` for every record that
/// passes the filter, until `each` returns `false`. Returns `false` if it was stopped.
/// Access log records are joined with `join` (CloudTrail read before); a CloudTrail
/// input's records are handed on as they are, and `line` is then the event's number.
pub fn scan_input(
    input: &Input,
    settings: &Settings,
    join: Option<&Join>,
    tally: &mut Tally,
    each: impl FnMut(&Record<'_>, Class, u64) -> bool,
) -> bool {
    let span = Span {
        join,
        cut: None,
        ..Span::WHOLE
    };
    scan_whole(input, span, settings, tally, each)
}

/// Reads `trails`, the CloudTrail inputs of a run, and keeps their S3 requests for the
/// join when the run has access logs (`join`); past the join's budget, or without
/// access logs, they are handed to `each` at once, with their input's name and number
/// (a request logged twice, once). Read the access logs with the join, then
/// [`pending`](Join::pending) gives the requests no access log record had.
pub fn read_cloudtrail(
    trails: &[&Input],
    join: bool,
    settings: &Settings,
    tally: &mut Tally,
    each: &(dyn Fn(&Record<'_>, Class, &str, u64) -> bool + Sync),
) -> Join {
    let keeper = if join {
        Keeper::default()
    } else {
        Keeper::counting()
    };
    tally.merge(read_trails(trails, settings, &keeper, each));
    keeper.finish(trails.iter().map(|i| i.name()).collect())
}

fn scan_whole(
    input: &Input,
    span: Span<'_>,
    settings: &Settings,
    tally: &mut Tally,
    each: impl FnMut(&Record<'_>, Class, u64) -> bool,
) -> bool {
    let rejected_before = tally.counts.rejected;
    let Some(Opened {
        reader,
        raw,
        plain,
        other_log,
        cloudtrail,
    }) = tally.open(input, settings.hashes)
    else {
        return true;
    };
    let name = input.name();
    let go_on = if cloudtrail {
        let parsed = tally.counts.parsed;
        let go_on = scan_events(&name, reader, span.unit, None, settings, tally, each);
        if span.join.is_some() {
            // CloudTrail found among the access logs (an S3 object named like a log):
            // its requests were counted without the join.
            let late = tally.counts.parsed - parsed;
            tally.join.get_or_insert_with(Default::default).unjoined += late;
        }
        go_on
    } else {
        let go_on = scan_lines(&name, Stream(reader), span, settings, tally, each);
        tally.looked_like(&name, other_log, rejected_before);
        go_on
    };
    tally.digested(&name, raw, plain);
    go_on
}

/// Why an event of `len` bytes is rejected unread.
fn event_too_long(ordinal: u64, len: u64) -> String {
    format!(
        "event {ordinal}: {len} bytes, longer than the {} KiB limit for an event",
        MAX_EVENT / 1024
    )
}

/// The worker loop over the events of a CloudTrail stream: each event is an S3
/// request (a line, parsed), a malformed event (a line, rejected), or another
/// service's event (skipped and counted); changes to the network path are kept in the
/// tally. With `keep`, S3 requests go to the join's keeper (unfiltered, as the access
/// log record that takes an event's place is filtered on its own) unless its budget is
/// spent; the others pass the filter and go to `each` with their event number.
fn scan_events<R: Read>(
    name: &str,
    reader: R,
    unit: usize,
    keep: Option<(&Keeper, usize)>,
    settings: &Settings,
    tally: &mut Tally,
    mut each: impl FnMut(&Record<'_>, Class, u64) -> bool,
) -> bool {
    tally.counts.cloudtrail_inputs += 1;
    let mut go_on = true;
    let mut events = 0;
    let result = for_each_event(reader, |ordinal, event| {
        events = ordinal;
        let json = match event {
            Event::Json(json) => json,
            Event::TooLong(len) => {
                tally.counts.lines += 1;
                tally.reject(name, unit, ordinal, event_too_long(ordinal, len));
                return true;
            }
        };
        let event = match parse_event(json) {
            Ok(event) => event,
            Err(e) => {
                tally.counts.lines += 1;
                tally.reject(name, unit, ordinal, format!("event {ordinal}: {e}"));
                return true;
            }
        };
        if let Some(change) = event.change {
            tally.change(change);
        }
        let Some(request) = event.request else {
            tally.counts.skipped_events += 1;
            return true;
        };
        tally.counts.lines += 1;
        tally.counts.parsed += 1;
        let record = request.record();
        if let Some((keeper, input)) = keep {
            if keeper.hold(&record, input, ordinal, request.network_activity) != Held::CountNow {
                return true;
            }
        }
        if settings.filter.matches(&record) {
            tally.counts.matched += 1;
            go_on = each(
                &record,
                settings.classifier.classify_record(&record),
                ordinal,
            );
        }
        go_on
    });
    tally.unit_lines.push((unit, events));
    match result {
        Ok(bytes) => tally.counts.bytes += bytes,
        Err((Stop::Syntax(reason), before)) => {
            tally.counts.lines += 1;
            tally.reject(name, unit, before + 1, reason);
        }
        Err((Stop::Io(e), before)) => {
            let message = format!("read failed after event {before}: {}", describe(&e));
            tally.errors.push(InputError::new(name, message));
        }
    }
    go_on
}

/// Reads the lines of the plain file `name` (opened once as `file`) that start inside
/// `range`, as work unit `unit`. The piece reads its own bytes and a look-ahead of
/// [`MAX_LINE`] past its end, enough to finish any line that is not over-long: a line
/// still going there is measured from the first newline of the pieces after it
/// ([`Tally::join_pieces`]). So every byte of a file is read about once, however
/// few newlines it has.
fn scan_piece(
    name: &str,
    file: &OpenFile,
    range: &Range<u64>,
    span: Span<'_>,
    settings: &Settings,
    tally: &mut Tally,
    each: impl FnMut(&Record<'_>, Class, u64) -> bool,
) {
    let first_line = if range.start == 0 {
        tally.counts.inputs += 1;
        Ok(Some(0))
    } else {
        first_newline(file, range).map(|newline| {
            tally.first_newlines.push((span.unit, newline));
            newline.map(|at| at + 1).filter(|&start| start < range.end)
        })
    };
    match first_line {
        // The line that starts before the range runs through all of it: the piece
        // that holds its start reads it.
        Ok(None) => {}
        Ok(Some(start)) => {
            let look_ahead = (range.end + MAX_LINE as u64 + 1).min(file.size());
            let span = Span {
                budget: range.end - start,
                cut: (look_ahead < file.size()).then_some(Cut {
                    origin: start,
                    len: look_ahead - start,
                }),
                ..span
            };
            let reader = file.reader(start).take(look_ahead - start);
            scan_lines(name, Stream(reader), span, settings, tally, each);
        }
        Err(e) => {
            let message = format!("read failed at byte {}: {}", range.start, describe(&e));
            tally.errors.push(InputError::new(name, message));
        }
    }
}

/// The offset of the first newline from the byte before `range` to its last byte,
/// `None` if there is none. The search never leaves the range (but for that one byte
/// before it), so a file without newlines costs linear time however many pieces it
/// has.
fn first_newline(file: &OpenFile, range: &Range<u64>) -> io::Result<Option<u64>> {
    // Reads start small, as the first line usually starts within a few hundred bytes,
    // and grow to the size of a line reader's.
    let mut buf = vec![0u8; 256 * 1024];
    let mut want = 4096;
    let from = range.start.saturating_sub(1);
    let mut reader = file.reader(from).take(range.end - from);
    let mut pos = from;
    loop {
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(Some(pos + i as u64));
        }
        pos += n as u64;
        want = (want * 2).min(buf.len());
    }
}

/// Like [`scan_input`] for an already decoded stream named `name`.
pub fn scan<R: Read>(
    name: &str,
    reader: R,
    settings: &Settings,
    tally: &mut Tally,
    each: impl FnMut(&Record<'_>, Class, u64) -> bool,
) -> bool {
    match crate::input::events::sniff(reader) {
        Ok((false, reader)) => scan_lines(name, Stream(reader), Span::WHOLE, settings, tally, each),
        Ok((true, reader)) => scan_events(name, reader, 0, None, settings, tally, each),
        Err(e) => {
            tally.errors.push(InputError::new(name, describe(&e)));
            true
        }
    }
}

/// Which lines of a stream are read, how much of each, and what they are joined with.
#[derive(Clone, Copy, Debug)]
struct Span<'j> {
    /// The work unit; line numbers count from the start of the stream.
    unit: usize,
    /// Only lines that start in the stream's first `budget` bytes are read.
    budget: u64,
    /// Read only the 17 required fields of a record (see [`LineParser::required_only`]).
    required_only: bool,
    /// The CloudTrail requests to join the records with.
    join: Option<&'j Join>,
    /// Where the stream was cut short of its input's end, if it was.
    cut: Option<Cut>,
}

/// Where the stream of a piece of a file stops before the file's end: a line still
/// going there is unfinished ([`Unfinished`]).
#[derive(Clone, Copy, Debug)]
struct Cut {
    /// The file offset the stream starts at.
    origin: u64,
    /// The bytes it has.
    len: u64,
}

impl Span<'_> {
    /// Every line and every field of a whole input, joined with nothing.
    const WHOLE: Span<'static> = Span {
        unit: 0,
        budget: u64::MAX,
        required_only: false,
        join: None,
        cut: None,
    };
}

/// Why a line of `len` bytes is rejected unread.
fn too_long(len: u64) -> String {
    format!(
        "line of {len} bytes is longer than the {} KiB limit for a record",
        MAX_LINE / 1024
    )
}

/// Where [`scan_lines`] takes its lines from: a stream read through a buffer, or bytes
/// already in memory.
trait LineSource {
    /// Calls `each` for every line, as [`for_each_line`] does.
    fn each_line(self, each: impl FnMut(u64, Line<'_>) -> bool) -> Result<u64, (io::Error, u64)>;
}

/// A stream, read through [`for_each_line`]'s buffer.
struct Stream<R>(R);

impl<R: Read> LineSource for Stream<R> {
    fn each_line(self, each: impl FnMut(u64, Line<'_>) -> bool) -> Result<u64, (io::Error, u64)> {
        for_each_line(self.0, each)
    }
}

impl LineSource for &[u8] {
    fn each_line(self, each: impl FnMut(u64, Line<'_>) -> bool) -> Result<u64, (io::Error, u64)> {
        Ok(for_each_line_in(self, each))
    }
}

/// The worker loop over the lines of `source` in `span`.
fn scan_lines(
    name: &str,
    source: impl LineSource,
    span: Span<'_>,
    settings: &Settings,
    tally: &mut Tally,
    mut each: impl FnMut(&Record<'_>, Class, u64) -> bool,
) -> bool {
    let mut go_on = true;
    let mut offset = 0u64;
    let mut last_line = 0;
    let Span {
        unit,
        budget,
        required_only,
        join,
        cut,
    } = span;
    let mut parser = if required_only {
        LineParser::required_only()
    } else {
        LineParser::new()
    };
    // A bucket's region is in its records' host header, past the required fields: when
    // asked for, a line of each bucket is read in full until one names the region.
    let mut regions = (settings.regions && required_only).then(|| {
        (
            LineParser::new(),
            Vec::new(),
            std::collections::HashSet::new(),
        )
    });
    let result = source.each_line(|line_no, line| {
        if offset >= budget {
            return false;
        }
        last_line = line_no;
        let text = match line {
            Line::Text(text) => {
                offset += text.len() as u64 + 1;
                trim_end(text)
            }
            Line::TooLong(len) => {
                let start = offset;
                offset += len + 1;
                tally.counts.lines += 1;
                tally.reject(name, unit, line_no, too_long(len));
                if let Some(cut) = cut.filter(|cut| start + len == cut.len) {
                    tally.unfinished.push(Unfinished {
                        unit,
                        line: line_no,
                        start: cut.origin + start,
                        read_to: cut.origin + cut.len,
                    });
                }
                return true;
            }
        };
        if text.is_empty() {
            tally.counts.blank += 1;
            return true;
        }
        tally.counts.lines += 1;
        let mut record = Record::default();
        match parser.parse_into(text, &mut record) {
            Ok(()) => {
                tally.counts.parsed += 1;
                if let Some((full, last_bucket, known)) = regions.as_mut() {
                    let bucket = record.bucket.unwrap_or_default();
                    if bucket != last_bucket.as_slice() && !known.contains(bucket) {
                        let mut whole = Record::default();
                        if full.parse_into(text, &mut whole).is_ok() {
                            record.host_header = whole.host_header;
                        }
                        if record.host_header.is_some() {
                            known.insert(bucket.to_vec());
                        }
                    }
                    if bucket != last_bucket.as_slice() {
                        last_bucket.clear();
                        last_bucket.extend_from_slice(bucket);
                    }
                }
                if let Some(join) = join {
                    join.enrich(&mut record);
                }
                if settings.filter.matches(&record) {
                    tally.counts.matched += 1;
                    let class = settings.classifier.classify_record(&record);
                    go_on = each(&record, class, line_no);
                }
            }
            Err(e) => tally.reject(name, unit, line_no, e.to_string()),
        }
        go_on
    });
    tally.unit_lines.push((unit, last_line));
    // A piece (a finite budget) numbers its lines from its own start.
    tally.end_of(name, offset, result, budget == u64::MAX);
    go_on
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;
    use crate::filter::Filter;
    use std::fs::File;

    fn settings() -> Settings {
        Settings {
            classifier: Classifier::new(&[]),
            filter: Filter::default(),
            interval: 3600,
            hashes: Hashes::default(),
            zone: crate::time::Zone::Utc,
            regions: false,
        }
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
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
            (
                tally.counts.lines,
                tally.counts.parsed,
                tally.counts.rejected,
                tally.counts.blank
            ),
            (4, 2, 2, 2)
        );
        assert_eq!(
            tally.counts.lines,
            tally.counts.parsed + tally.counts.rejected
        );
        assert_eq!(seen.iter().map(|s| s.2).collect::<Vec<_>>(), [1, 5]);
        assert_eq!(seen[0].1, Class::Private);
        assert_eq!(tally.rejections[0].line, 4);
        assert_eq!(tally.rejections[1].line, 6);
        assert_eq!(tally.rejections[0].source, "mem");
    }

    #[test]
    fn pieces_give_the_same_result_and_line_numbers_as_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut text = String::new();
        for i in 0..300 {
            match i % 37 {
                5 => text.push_str("rejected line\n"),
                9 => text.push('\n'),
                _ => {
                    text.push_str(&GOOD.replace("10.0.0.1", &format!("10.0.{}.1", i % 7)));
                    text.push('\n');
                }
            }
        }
        text.push_str("last line without newline");
        std::fs::write(&path, &text).unwrap();
        let inputs = [Input::File(path.clone()), Input::File(path)];
        let (whole_agg, whole) = aggregate_in_pieces(&inputs, &settings(), u64::MAX, None);
        assert_eq!(whole.rejections.len(), 2 * 9);
        assert_eq!(whole.rejections[0].line, 6);
        assert_eq!(whole.rejections[8].line, 301);
        // Workers take pieces in turns: any number of them gives the same tally.
        for (piece, threads) in [(1, 2), (7, 3), (100, 8), (333, 2), (4096, 1)] {
            let pool = pool(threads);
            let (agg, tally) =
                pool.install(|| aggregate_in_pieces(&inputs, &settings(), piece, None));
            assert_eq!(tally, whole, "piece {piece}, {threads} threads");
            let counts = |a: &Aggregate| {
                a.buckets()
                    .iter()
                    .map(|(_, s)| s.counts)
                    .collect::<Vec<_>>()
            };
            assert_eq!(counts(&agg), counts(&whole_agg), "piece {piece}");
        }
    }

    #[test]
    fn over_long_lines_across_pieces_are_measured_as_in_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let long = |c: &str, len: usize| c.repeat(len);
        // Over-long lines ending in the next piece, far past it, one byte past a
        // piece's look-ahead (a line of MAX_LINE + 2 from a one-byte piece), on the
        // file's last byte, or not at all; and a file with no newline.
        let body = format!(
            "{GOOD}\n{}\n{GOOD}\n{}\n{}\nshort\n{GOOD}\n{}",
            long("x", 3 * MAX_LINE),
            long("y", MAX_LINE + 1),
            long("w", MAX_LINE + 2),
            long("z", 2 * MAX_LINE + 5),
        );
        let files = [
            body.clone(),
            body + "\n",
            long("n", 5 * MAX_LINE),
            long("n", 5 * MAX_LINE) + "\n",
        ];
        for (i, text) in files.iter().enumerate() {
            let path = dir.path().join(format!("log{i}"));
            std::fs::write(&path, text).unwrap();
            let inputs = [Input::File(path.clone()), Input::File(path)];
            let (_, whole) = aggregate_in_pieces(&inputs, &settings(), u64::MAX, None);
            assert_eq!(whole.counts.bytes, 2 * text.len() as u64, "file {i}");
            assert!(whole.counts.rejected >= 2, "file {i}");
            let pieces = [
                1,
                7,
                1000,
                MAX_LINE - 1,
                MAX_LINE,
                MAX_LINE + 1,
                2 * MAX_LINE + 3,
            ];
            for (piece, threads) in pieces.into_iter().zip([2, 3, 1, 2, 4, 2, 3]) {
                let pool = pool(threads);
                let (_, tally) =
                    pool.install(|| aggregate_in_pieces(&inputs, &settings(), piece as u64, None));
                assert_eq!(tally, whole, "file {i}, piece {piece}, {threads} threads");
            }
        }
    }

    #[test]
    fn a_file_without_newlines_is_read_about_once_however_many_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let size = 40 * MAX_LINE as u64;
        File::create(&path).unwrap().set_len(size).unwrap();
        let inputs = [Input::File(path)];
        let pool = pool(2);
        let units = pool.install(|| plan(&inputs, 100_000));
        assert!(units.len() > 20, "{}", units.len());
        let (_, tally) = pool.install(|| aggregate_units(&units, &settings(), None));
        assert_eq!((tally.counts.lines, tally.counts.bytes), (1, size));
        assert_eq!(tally.rejections[0].reason, too_long(size));
        // Each piece reads itself and the byte before it; the first reads a look-ahead
        // too, and the plan looked at two bytes for gzip. Reading the line through
        // from its start would read it twice.
        let (_, file) = units[0].piece.as_ref().unwrap();
        let read = file.bytes_read.load(Ordering::Relaxed);
        assert!(
            read <= size + MAX_LINE as u64 + 1 + units.len() as u64 + 2,
            "{read} bytes read of {size}"
        );
    }

    #[test]
    fn a_stream_read_in_chunks_gives_the_result_of_one_worker() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for i in 0..400 {
            match i % 53 {
                5 => text.push_str("rejected line\n"),
                9 => text.push_str("\r\n"),
                17 => text.push_str(&format!("{}\n", "x".repeat(MAX_LINE + i))),
                _ => {
                    text.push_str(&GOOD.replace("10.0.0.1", &format!("10.0.{}.1", i % 7)));
                    text.push_str(if i % 2 == 0 { "\n" } else { "\r\n" });
                }
            }
        }
        text.push_str("last line without newline");
        let plain = dir.path().join("log");
        std::fs::write(&plain, &text).unwrap();
        let gzip = dir.path().join("log.gz");
        let mut encoder = flate2::write::GzEncoder::new(
            File::create(&gzip).unwrap(),
            flate2::Compression::fast(),
        );
        io::Write::write_all(&mut encoder, text.as_bytes()).unwrap();
        encoder.finish().unwrap();
        // A gzip stream cut short: the read fails after some lines.
        let cut = dir.path().join("cut.gz");
        let whole = std::fs::read(&gzip).unwrap();
        std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
        let counts = |a: &Aggregate| {
            a.buckets()
                .iter()
                .map(|(_, s)| (s.counts, s.timeline().len()))
                .collect::<Vec<_>>()
        };
        for (path, cut_short) in [(plain, false), (gzip, false), (cut, true)] {
            let input = Input::File(path);
            let (one_agg, one) =
                aggregate_in_pieces(std::slice::from_ref(&input), &settings(), u64::MAX, None);
            if cut_short {
                assert_eq!(one.errors.len(), 1);
                assert!(
                    one.counts.lines > 0 && one.counts.lines < 400,
                    "{}",
                    one.counts.lines
                );
            } else {
                assert_eq!((one.rejections.len(), one.errors.len()), (2 * 8 + 1, 0));
            }
            assert_eq!(one.counts.lines, one.counts.parsed + one.counts.rejected);
            for (chunk, threads) in [(1, 2), (700, 3), (5000, 2), (CHUNK, 4)] {
                let pool = pool(threads);
                let (agg, tally) =
                    pool.install(|| aggregate_stream(&input, &settings(), chunk, None));
                assert_eq!(tally, one, "chunk {chunk}, {threads} threads");
                assert_eq!(counts(&agg), counts(&one_agg), "chunk {chunk}");
            }
        }
    }

    /// A log of `n` records, numbered by their remote address.
    fn numbered_log(n: u32) -> String {
        (0..n)
            .map(|i| GOOD.replace("10.0.0.1", &format!("10.0.{}.{}", i / 250, i % 250)) + "\n")
            .collect()
    }

    #[test]
    fn a_file_that_shrinks_while_its_pieces_are_read_is_an_input_error_saying_how_far() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let text = numbered_log(2000);
        std::fs::write(&path, &text).unwrap();
        let inputs = [Input::File(path.clone())];
        let pool = pool(2);
        let units = pool.install(|| plan(&inputs, 16 * 1024));
        assert!(units.len() > 4);
        // Truncated (or rewritten shorter) after the run opened it.
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(text.len() as u64 / 2)
            .unwrap();
        let (_, tally) = pool.install(|| aggregate_units(&units, &settings(), None));
        assert!(tally.counts.lines < 2000, "{}", tally.counts.lines);
        assert!(!tally.errors.is_empty());
        let e = &tally.errors[0];
        assert_eq!(e.source_name, path.display().to_string());
        assert!(
            e.message.contains("the file shrank while it was read")
                && e.message
                    .contains(&format!("of the {} bytes it had when opened", text.len())),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_file_renamed_away_and_replaced_while_its_pieces_are_read_is_read_as_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, numbered_log(2000)).unwrap();
        let inputs = [Input::File(path.clone())];
        let (whole_agg, whole) = aggregate_in_pieces(&inputs, &settings(), u64::MAX, None);
        let pool = pool(2);
        let units = pool.install(|| plan(&inputs, 16 * 1024));
        // Rotated: the file moves away and a new, shorter one takes its name.
        std::fs::rename(&path, dir.path().join("log.1")).unwrap();
        std::fs::write(&path, numbered_log(10)).unwrap();
        let (agg, tally) = pool.install(|| aggregate_units(&units, &settings(), None));
        assert_eq!(tally, whole);
        assert_eq!(tally.counts.parsed, 2000);
        let requests = |a: &Aggregate| a.buckets()[0].1.counts.requests;
        assert_eq!(requests(&agg), requests(&whole_agg));
    }

    #[test]
    fn digests_are_taken_while_reading_and_change_no_count() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{GOOD}\n").repeat(2000) + "garbage\n";
        let plain = dir.path().join("a.log");
        std::fs::write(&plain, &text).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut encoder, text.as_bytes()).unwrap();
        let stored = encoder.finish().unwrap();
        let gzip = dir.path().join("b.log.gz");
        std::fs::write(&gzip, &stored).unwrap();
        let inputs = [Input::File(plain.clone()), Input::File(gzip)];
        let (plain_agg, plain_tally) = aggregate(&inputs, &settings());
        assert!(plain_tally.digests.is_empty());
        let hashed = Settings {
            hashes: Hashes {
                raw: true,
                plain: true,
            },
            ..settings()
        };
        let counts = |a: &Aggregate| {
            a.buckets()
                .iter()
                .map(|(_, s)| s.counts)
                .collect::<Vec<_>>()
        };
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            // Several inputs, then one alone (read by one thread, parsed by all).
            let (agg, tally) = pool.install(|| aggregate(&inputs, &hashed));
            assert_eq!(counts(&agg), counts(&plain_agg));
            assert_eq!(tally.counts, plain_tally.counts);
            let of_text = crate::input::digest::Digest::of(text.as_bytes());
            let want = [
                InputDigest {
                    source: inputs[0].name(),
                    raw: Some(of_text),
                    plain: Some(of_text),
                },
                InputDigest {
                    source: inputs[1].name(),
                    raw: Some(crate::input::digest::Digest::of(&stored)),
                    plain: Some(of_text),
                },
            ];
            assert_eq!(tally.digests, want, "{threads} threads");
            let (_, one) = pool.install(|| aggregate(&inputs[1..], &hashed));
            assert_eq!(one.digests, want[1..], "{threads} threads");
        }
        // A read cut short leaves no digest: a truncated gzip stream.
        let cut = dir.path().join("cut.gz");
        std::fs::write(&cut, &stored[..stored.len() / 2]).unwrap();
        let (_, tally) = aggregate(&[Input::File(cut)], &hashed);
        assert_eq!(tally.errors.len(), 1);
        assert!(
            tally.digests.iter().all(|d| d.plain.is_none()),
            "{:?}",
            tally.digests
        );
    }

    #[test]
    fn another_log_is_named_beside_its_rejected_lines() {
        let dir = tempfile::tempdir().unwrap();
        // CloudTrail is read as events; VPC flow logs are another log.
        let trail = dir.path().join("flow.log");
        std::fs::write(
            &trail,
            "2 123456789012 eni-0a1b2c3d 10.0.1.5 52.79.54.241 443 49152 6 10 840 1652090400 1652090460 ACCEPT OK\n",
        )
        .unwrap();
        // An access log beside it: nothing to name.
        let log = dir.path().join("access.log");
        std::fs::write(&log, format!("{GOOD}\n")).unwrap();
        let inputs = [Input::File(trail.clone()), Input::File(log)];
        for threads in [1, 2] {
            let pool = pool(threads);
            let (_, tally) = pool.install(|| aggregate(&inputs, &settings()));
            assert_eq!(
                tally.other_logs,
                [(trail.display().to_string(), "VPC flow logs")]
            );
            let (_, one) = pool.install(|| aggregate(&inputs[..1], &settings()));
            assert_eq!(one.other_logs.len(), 1, "{threads} threads, one stream");
        }
        assert_eq!(crate::input::sniff::other_log(GOOD.as_bytes()), None);
    }

    #[test]
    fn a_stream_that_cannot_be_opened_is_an_input_error() {
        let input = Input::File("/nonexistent/vpce-audit-test".into());
        let (agg, tally) = aggregate_stream(&input, &settings(), CHUNK, None);
        assert_eq!(
            (tally.counts.inputs, tally.errors.len(), tally.counts.lines),
            (0, 1, 0)
        );
        assert!(agg.buckets().is_empty());
    }

    #[test]
    fn a_file_ends_in_smaller_and_smaller_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let size = 64 << 20;
        File::create(&path).unwrap().set_len(size).unwrap();
        let inputs = [Input::File(path)];
        let pool = pool(2);
        let piece = 8 << 20;
        let units = pool.install(|| plan(&inputs, piece));
        let ranges: Vec<_> = units
            .iter()
            .map(|u| u.piece.as_ref().unwrap().0.clone())
            .collect();
        assert_eq!((ranges[0].start, ranges.last().unwrap().end), (0, size));
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        let lens: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
        assert!(lens.windows(2).all(|w| w[0] >= w[1]), "{lens:?}");
        assert_eq!(lens[0], piece);
        assert_eq!(lens[lens.len() - 2], MIN_PIECE, "{lens:?}");
    }

    #[test]
    fn filtered_records_are_parsed_but_not_matched() {
        let mut s = settings();
        s.filter.buckets = vec![b"other".to_vec()];
        let mut tally = Tally::default();
        scan("mem", GOOD.as_bytes(), &s, &mut tally, |_, _, _| {
            panic!("filtered out")
        });
        assert_eq!((tally.counts.parsed, tally.counts.matched), (1, 0));
    }
}
