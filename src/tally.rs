//! The accounting of a run: every line read is either parsed or rejected (with where it
//! is and why), and every input that could not be read is named. Tallies of parts of
//! the input merge in input order.

use derive_more::AddAssign;

use crate::cloudtrail::Change;
use crate::input::digest::Digest;
use crate::input::InputError;

/// How many rejected lines are kept with their reasons; all are counted.
pub const KEPT_REJECTIONS: usize = 1000;
/// How many changes to the network path (CloudTrail management events) are kept.
pub const KEPT_CHANGES: usize = 1000;

/// A line that is not a record, with where it is and why.
#[derive(Clone, Debug, Eq, serde::Serialize)]
pub struct Rejection {
    /// The input's name.
    pub source: String,
    /// The line number in that input (1-based, blank lines included).
    pub line: u64,
    /// Why the line is not a record, for a person.
    pub reason: String,
    /// The work unit the line was found in, while `line` counts from its start.
    #[serde(skip)]
    pub(crate) unit: usize,
}

/// Rejections are equal when they say the same thing about the same line.
impl PartialEq for Rejection {
    fn eq(&self, other: &Self) -> bool {
        (&self.source, self.line, &self.reason) == (&other.source, other.line, &other.reason)
    }
}

/// The numbers of a tally: `lines == parsed + rejected`, always.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, AddAssign)]
pub struct LineCounts {
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
    /// Inputs read as CloudTrail (their events count as lines).
    pub cloudtrail_inputs: u64,
    /// CloudTrail events that are not S3 requests to a bucket (other services, S3
    /// calls on no bucket): skipped, not counted as lines.
    pub skipped_events: u64,
}

/// How access logs and CloudTrail were joined on the request id (see
/// [`crate::join`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, AddAssign, serde::Serialize)]
pub struct JoinCounts {
    /// CloudTrail requests kept to be joined with the access logs.
    pub kept: u64,
    /// Access log records that found their CloudTrail event: counted once, from the
    /// access log, with the endpoint from CloudTrail.
    pub joined: u64,
    /// Of those, how many named a VPC endpoint.
    pub joined_with_endpoint: u64,
    /// CloudTrail events with a request id already seen in CloudTrail (a data event
    /// and its network activity event, or a duplicate delivery): counted once.
    pub duplicates: u64,
    /// CloudTrail requests past the memory limit of the join, counted without looking
    /// for their access log record: a request in both is then counted twice.
    pub unjoined: u64,
}

/// The digests taken of one input read to its end ([`crate::input::digest`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputDigest {
    /// The input's name.
    pub source: String,
    /// Of the bytes as stored, if asked for.
    pub raw: Option<Digest>,
    /// Of the decoded bytes, if asked for.
    pub plain: Option<Digest>,
}

/// The accounting of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// What was read, in numbers.
    pub counts: LineCounts,
    /// The first [`KEPT_REJECTIONS`] rejected lines, in input order.
    pub rejections: Vec<Rejection>,
    /// Inputs that could not be read, fully or at all.
    pub errors: Vec<InputError>,
    /// The first [`KEPT_CHANGES`] changes to the network path found in CloudTrail.
    pub changes: Vec<Change>,
    /// The join of access logs with CloudTrail, when both were read.
    pub join: Option<JoinCounts>,
    /// The digests of the inputs read to their end, when digests were asked for, in
    /// input order.
    pub digests: Vec<InputDigest>,
    /// Inputs whose first bytes are recognisably another log than S3 server access
    /// logs, with its name (see [`crate::input::sniff`]).
    pub other_logs: Vec<(String, &'static str)>,
    /// What was left out on purpose and said so (links not followed, link loops): not
    /// errors, but what the run did not read.
    pub warnings: Vec<InputError>,
    /// Lines (blank ones included) of each work unit, to number lines across pieces.
    pub(crate) unit_lines: Vec<(usize, u64)>,
    /// The first newline of each piece of a file but its first (`None`: the piece has
    /// none), to measure the lines still going where a piece stopped reading.
    pub(crate) first_newlines: Vec<(usize, Option<u64>)>,
    /// Over-long lines still going where the piece they start in stopped reading.
    pub(crate) unfinished: Vec<Unfinished>,
}

/// An over-long line that starts in a piece of a file and was read only to the end of
/// that piece's look-ahead: it is measured once every piece was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unfinished {
    /// The work unit it starts in.
    pub unit: usize,
    /// Its line number, counted from the start of that unit.
    pub line: u64,
    /// The file offset it starts at.
    pub start: u64,
    /// The file offset its piece read (and counted) up to.
    pub read_to: u64,
}

impl Tally {
    /// Adds `other`, whose inputs come after this tally's.
    pub fn merge(&mut self, other: Tally) {
        self.counts += other.counts;
        let room = KEPT_REJECTIONS.saturating_sub(self.rejections.len());
        self.rejections
            .extend(other.rejections.into_iter().take(room));
        self.errors.extend(other.errors);
        let room = KEPT_CHANGES.saturating_sub(self.changes.len());
        self.changes.extend(other.changes.into_iter().take(room));
        self.join = match (self.join, other.join) {
            (Some(mut a), Some(b)) => {
                a += b;
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.digests.extend(other.digests);
        self.other_logs.extend(other.other_logs);
        self.warnings.extend(other.warnings);
        self.unit_lines.extend(other.unit_lines);
        self.first_newlines.extend(other.first_newlines);
        self.unfinished.extend(other.unfinished);
    }

    /// Keeps a change to the network path, up to [`KEPT_CHANGES`].
    pub(crate) fn change(&mut self, change: Change) {
        if self.changes.len() < KEPT_CHANGES {
            self.changes.push(change);
        }
    }

    /// Counts a rejected line of work unit `unit`, keeping the first ones.
    pub(crate) fn reject(&mut self, source: &str, unit: usize, line: u64, reason: String) {
        self.counts.rejected += 1;
        if self.rejections.len() < KEPT_REJECTIONS {
            self.rejections.push(Rejection {
                source: source.to_string(),
                line,
                reason,
                unit,
            });
        }
    }
}
