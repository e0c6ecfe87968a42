//! The line parser: one S3 server access log line in, one borrowed [`Record`] out.
//!
//! Nothing is copied or allocated per line. Fields are cut at the next space or quote,
//! found 16 bytes at a time (SSE2, inlined: most fields are shorter than one call to
//! memchr costs). The timestamp is read by a nom grammar, behind a fast path for the
//! UTC timestamps S3 writes (the date of the previous line is kept); numbers of up to
//! 8 digits are converted 8 bytes at once, IPv4 addresses straight from bytes. The
//! grammar follows what S3 really writes, not what its documentation promises:
//!
//! * fields are separated by one or more spaces; the line may end in CR or blanks, but a
//!   carriage return inside it rejects the line: a lone CR is no line end here (S3
//!   ends lines with LF), so the line may hold several records run together, and
//!   none of them is read as part of another;
//! * any field may be `-`, and quoted fields may appear as a bare `-`;
//! * quotes inside quoted fields are *not* escaped, so the end of the request-URI and
//!   of the referer is found by what follows: the request-URI ends at the quote after
//!   which status, error code, four numbers and a quoted referer fit, the referer at
//!   the quote followed by a quoted user-agent, the user-agent at the last quote of the
//!   line (nothing AWS writes after it is quoted). A line that can be read so in more
//!   than one way is **ambiguous** and rejected: a requester who puts `" 403 …` in a
//!   URI or `" "` in a referer or user agent cannot choose how the line is read
//!   ([`Cursor::quoted`] has the rule, `docs/security.md` the reasoning);
//! * 17 fields (up to the user-agent) are required; the ten later fields are read when
//!   present, and any fields beyond the 27th are ignored.
//!
//! A rejection quotes at most the first [`SAMPLE_BYTES`] bytes of the offending field,
//! escaped, and never the rest of the line: enough to find what is wrong, too little to
//! turn a report into a way to read a file that is not a log.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use memchr::memrchr_iter;
use nom::branch::alt;
use nom::bytes::complete::{tag, take};
use nom::character::complete::one_of;
use nom::combinator::{all_consuming, map_opt, value};
use nom::{IResult, Parser};

use crate::escape;
use crate::record::{Field, Record};
use crate::time::{days_from_civil, days_in_month, writable};

mod fast;

/// Why a line is not a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The line ended before the user-agent, the last required field.
    Truncated { fields: usize },
    /// A field was present but its value is not valid for that field.
    Invalid { field: Field, problem: Problem },
    /// The quoted field can end at more than one of its quotes, each reading giving
    /// other values to the fields after it.
    Ambiguous { field: Field },
    /// A carriage return inside the line (a lone CR, not the CR of a CRLF end).
    CarriageReturn,
}

/// What is wrong with a field's value; the offending text is kept escaped and short
/// (at most [`SAMPLE_BYTES`] bytes of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    NotAnIp(String),
    NotATime(String),
    /// A valid time, but in UTC before the year 0000 or after 9999, which RFC 3339
    /// cannot write.
    BeyondRfc3339(String),
    NotANumber(String),
    NotAStatus(String),
    NotQuoted(String),
    Unterminated,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated { fields: 0 } => f.write_str("not an access log record"),
            ParseError::Truncated { fields } => write!(
                f,
                "truncated record: {fields} of the {} required fields, the {} field is missing",
                Field::REQUIRED,
                Field::ALL[*fields]
            ),
            ParseError::Ambiguous { field } => write!(
                f,
                "ambiguous: the {field} field (#{}) can end at more than one of its quotes, \
                 and the fields after it differ with each; the line is not read",
                field.number()
            ),
            ParseError::CarriageReturn => f.write_str(
                "carriage return inside the line: a lone CR does not end a record, so the \
                 line may hold several; convert its line ends to LF",
            ),
            ParseError::Invalid { field, problem } => {
                write!(f, "{field} field (#{}): ", field.number())?;
                match problem {
                    Problem::NotAnIp(v) => write!(f, "'{v}' is not an IP address or '-'"),
                    Problem::NotATime(v) => {
                        write!(f, "'{v}' is not a time like [06/Feb/2019:00:00:38 +0000]")
                    }
                    Problem::BeyondRfc3339(v) => {
                        write!(f, "'{v}' is outside the years 0000 to 9999 in UTC")
                    }
                    Problem::NotANumber(v) => write!(f, "'{v}' is not a number or '-'"),
                    Problem::NotAStatus(v) => write!(f, "'{v}' is not a 3-digit status or '-'"),
                    Problem::NotQuoted(v) => {
                        write!(f, "expected a quoted value or '-', found '{v}'")
                    }
                    Problem::Unterminated => {
                        f.write_str("no closing quote followed by the fields that come next")
                    }
                }
            }
        }
    }
}

impl std::error::Error for ParseError {}

fn invalid(field: Field, problem: Problem) -> ParseError {
    ParseError::Invalid { field, problem }
}

/// How many bytes of an offending field a rejection quotes, at most.
pub const SAMPLE_BYTES: usize = 16;

fn shown(bytes: &[u8]) -> String {
    escape::snippet(bytes, SAMPLE_BYTES)
}

/// Parses one line (without its `\n`; a trailing CR and blanks are ignored). A
/// convenience for one-off use: the hot path keeps a [`LineParser`].
pub fn parse_line(line: &[u8]) -> Result<Record<'_>, ParseError> {
    LineParser::default().parse(line)
}

/// The line without trailing CR, LF, spaces and tabs; an empty result is a blank line.
pub fn trim_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n' | b' ' | b'\t') {
        end -= 1;
    }
    &line[..end]
}

/// Parses lines one after the other.
#[derive(Clone, Debug, Default)]
pub struct LineParser {
    /// Stop after the user-agent: the later fields are left `None`.
    required_only: bool,
    /// The date of the previous line: consecutive lines nearly always share it.
    last_date: LastDate,
    /// Read every line with the full parser, never the fast path.
    no_fast_path: bool,
    /// The fast path's index, reused from line to line.
    index: fast::Index,
}

impl LineParser {
    /// A parser that reads every field.
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that validates the 17 required fields and leaves the later ones (version
    /// ID … source region, free-form tokens that cannot be invalid) unread: what the
    /// report needs, with less work per line.
    pub fn required_only() -> Self {
        LineParser {
            required_only: true,
            ..LineParser::default()
        }
    }

    /// Parses one line (without its `\n`; a trailing CR and blanks are ignored).
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Record<'a>, ParseError> {
        let mut record = Record::default();
        self.parse_into(line, &mut record)?;
        Ok(record)
    }

    /// The same parser without its fast path for the common line (`parse/fast.rs`):
    /// every line read by the full parser, the reference the fast path is tested
    /// against. Its results are the same, only slower.
    pub fn without_fast_path(self) -> Self {
        LineParser {
            no_fast_path: true,
            ..self
        }
    }

    /// Like [`LineParser::parse`], into a record the caller provides (the hot loop saves
    /// moving a new record per line). On error, `record` holds some fields of the line.
    #[inline]
    pub fn parse_into<'a>(
        &mut self,
        line: &'a [u8],
        record: &mut Record<'a>,
    ) -> Result<(), ParseError> {
        let line = trim_end(line);
        if !self.no_fast_path
            && fast::parse(
                line,
                self.required_only,
                &mut self.last_date,
                &mut self.index,
                record,
            )
            .is_some()
        {
            return Ok(());
        }
        if memchr::memchr(b'\r', line).is_some() {
            return Err(ParseError::CarriageReturn);
        }
        Cursor {
            line,
            pos: 0,
            required_only: self.required_only,
            closes: None,
        }
        .record(record, &mut self.last_date)
    }
}

/// The offset of the first `BYTE` at or after `from`, or the length of `line`.
#[inline(always)]
fn find<const BYTE: u8>(line: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::find::<BYTE>(line, from)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        memchr::memchr(BYTE, &line[from..]).map_or(line.len(), |p| from + p)
    }
}

/// The search for the next space or quote with SSE2, which every x86_64 processor has:
/// 16 bytes compared at once, inlined into the parser. Fields are mostly short, and for
/// them a call to memchr (with its runtime dispatch and setup) costs more than the
/// search.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };

    #[inline(always)]
    pub(super) fn find<const BYTE: u8>(line: &[u8], from: usize) -> usize {
        let mut at = from;
        while at + 16 <= line.len() {
            // SAFETY: SSE2 is part of the x86_64 baseline, and the load reads the 16
            // bytes at `at`, which the loop condition keeps in bounds.
            let mask = unsafe {
                let v = _mm_loadu_si128(line.as_ptr().add(at).cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(BYTE as i8)))
            };
            if mask != 0 {
                return at + mask.trailing_zeros() as usize;
            }
            at += 16;
        }
        line[at.min(line.len())..]
            .iter()
            .position(|&c| c == BYTE)
            .map_or(line.len(), |p| at + p)
    }
}

/// A position in a line.
#[derive(Clone, Copy)]
struct Cursor<'l> {
    line: &'l [u8],
    pos: usize,
    required_only: bool,
    /// Where the quoted fields can end, once a quoted field asked.
    closes: Option<Closes>,
}

impl<'l> Cursor<'l> {
    /// Reads the line into `r`, writing every field on success.
    fn record(mut self, r: &mut Record<'l>, last_date: &mut LastDate) -> Result<(), ParseError> {
        let v = self.token();
        if v.is_empty() {
            return Err(ParseError::Truncated { fields: 0 });
        }
        r.bucket_owner = dash(v);
        r.bucket = dash(self.field(Field::Bucket)?);
        self.separator(Field::Time)?;
        r.time = self.timestamp(last_date)?;
        r.remote_ip = remote_ip(self.field(Field::RemoteIp)?)?;
        r.requester = dash(self.field(Field::Requester)?);
        r.request_id = dash(self.field(Field::RequestId)?);
        r.operation = dash(self.field(Field::Operation)?);
        r.key = dash(self.field(Field::Key)?);
        self.separator(Field::RequestUri)?;
        r.request_uri = self.quoted(Field::RequestUri)?;
        r.http_status = status(self.field(Field::HttpStatus)?)?;
        r.error_code = dash(self.field(Field::ErrorCode)?);
        r.bytes_sent = self.number(Field::BytesSent)?;
        r.object_size = self.number(Field::ObjectSize)?;
        r.total_time = self.number(Field::TotalTime)?;
        r.turn_around_time = self.number(Field::TurnAroundTime)?;
        self.separator(Field::Referer)?;
        r.referer = self.quoted(Field::Referer)?;
        self.separator(Field::UserAgent)?;
        r.user_agent = self.user_agent()?;

        let optional: [&mut Option<&[u8]>; 10] = [
            &mut r.version_id,
            &mut r.host_id,
            &mut r.signature_version,
            &mut r.cipher_suite,
            &mut r.authentication_type,
            &mut r.host_header,
            &mut r.tls_version,
            &mut r.access_point_arn,
            &mut r.acl_required,
            &mut r.source_region,
        ];
        if self.required_only {
            for slot in optional {
                *slot = None;
            }
            return Ok(());
        }
        for slot in optional {
            *slot = if self.at_end() {
                None
            } else {
                self.skip_spaces();
                dash(self.token())
            };
        }
        // Fields AWS adds after the 27th are not ours to judge: they are ignored.
        Ok(())
    }

    fn at_end(&self) -> bool {
        self.pos >= self.line.len()
    }

    fn rest(&self) -> &'l [u8] {
        &self.line[self.pos.min(self.line.len())..]
    }

    /// Steps over a run of spaces.
    fn skip_spaces(&mut self) {
        while self.line.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// One or more spaces before `next`; the end of the line here means the record is
    /// truncated.
    #[inline]
    fn separator(&mut self, next: Field) -> Result<(), ParseError> {
        if self.line.get(self.pos) != Some(&b' ') {
            return Err(ParseError::Truncated {
                fields: next as usize,
            });
        }
        self.skip_spaces();
        if self.at_end() {
            return Err(ParseError::Truncated {
                fields: next as usize,
            });
        }
        Ok(())
    }

    /// Everything up to the next space (quotes included) or the end of the line.
    #[inline]
    fn token(&mut self) -> &'l [u8] {
        let start = self.pos;
        self.pos = find::<b' '>(self.line, start);
        &self.line[start..self.pos]
    }

    /// A separator, then one unquoted field.
    #[inline(always)]
    fn field(&mut self, field: Field) -> Result<&'l [u8], ParseError> {
        // The common case: one space, then the field.
        let start = self.pos + 1;
        if self.line.get(self.pos) == Some(&b' ')
            && self.line.get(start).is_some_and(|&c| c != b' ')
        {
            self.pos = find::<b' '>(self.line, start + 1);
            return Ok(&self.line[start..self.pos]);
        }
        self.separator(field)?;
        Ok(self.token())
    }

    /// A separator, then a decimal number or `-`.
    #[inline(always)]
    fn number(&mut self, field: Field) -> Result<Option<u64>, ParseError> {
        let v = self.field(field)?;
        number_at(self.line, self.pos - v.len(), self.pos, field)
    }

    /// `[06/Feb/2019:00:00:38 +0000]`, in seconds since the epoch, in UTC.
    fn timestamp(&mut self, last_date: &mut LastDate) -> Result<i64, ParseError> {
        let rest = self.rest();
        if let Some(time) = utc_timestamp(rest, last_date) {
            self.pos += UTC_TIMESTAMP_LEN;
            return Ok(time);
        }
        let end = || {
            rest.iter()
                .position(|&c| c == b']')
                .map_or(rest.len().min(28), |p| p + 1)
        };
        match timestamp(rest) {
            Ok((after, time)) if writable(time) => {
                self.pos = self.line.len() - after.len();
                Ok(time)
            }
            Ok(_) => Err(invalid(
                Field::Time,
                Problem::BeyondRfc3339(shown(&rest[..end()])),
            )),
            Err(_) => Err(invalid(
                Field::Time,
                Problem::NotATime(shown(&rest[..end()])),
            )),
        }
    }

    /// The request-URI or the referer: a quoted field or a bare `-`. Inner quotes are not
    /// escaped in S3 logs, so the closing quote is found by what follows it:
    ///
    /// 1. S3 writes the request-URI, referer and user-agent all three quoted (or all
    ///    three as a bare `-`). Read so, the user-agent ends at the line's last
    ///    closing quote ([`Closes::user_agent`]) and the referer at the latest
    ///    closing quote followed by a quoted field that ends there
    ///    ([`Closes::referer`]). A request-URI candidate fits when status, error code
    ///    and four numbers follow it and then a quoted referer that can end there; a
    ///    referer candidate fits when a quoted user-agent follows it. Exactly one fit
    ///    is the field's end; more than one is [`ParseError::Ambiguous`]: the line is
    ///    rejected, not guessed.
    /// 2. When no candidate fits so (the other fields are a bare `-`, or the line is
    ///    cut short), the fields that follow may also be a bare `-`: one complete fit
    ///    is the end, two are ambiguous; with none, the first candidate after which
    ///    the fields fit as far as the line goes, or fit but for one field (so that
    ///    this field reports what is wrong), or else the quote is unterminated.
    ///
    /// The cost is linear in the rest of the line, whatever its quotes: a candidate is a
    /// quote that ends a token, each candidate's look-ahead reads at most the seven
    /// tokens after it, so each token is read by at most seven candidates in each of
    /// the two passes (`tests/it/parse_props.rs` parses 1 MB lines of quotes and
    /// spaces).
    #[inline(always)]
    fn quoted(&mut self, field: Field) -> Result<Option<&'l [u8]>, ParseError> {
        if self.bare_dash() {
            return Ok(None);
        }
        let start = self.pos;
        if self.line[start] != b'"' {
            return Err(invalid(
                field,
                Problem::NotQuoted(shown(self.clone().token())),
            ));
        }
        let closes = self.closes();
        if let Some(referer_end) = closes.referer.filter(|&r| r > start) {
            if field == Field::RequestUri {
                if let Some(q) = self.only_end_before(start, referer_end) {
                    // One quote ends a token before the referer's end: the request-URI
                    // can end nowhere else (the fields after it are checked as they
                    // are read), and no second reading exists.
                    self.pos = q + 1;
                    return Ok(dash(&self.line[start + 1..q]));
                }
            }
            let mut found = None;
            let mut q = start;
            loop {
                q = find::<b'"'>(self.line, q + 1);
                if q > referer_end {
                    break;
                }
                if !self.closes_field(q) {
                    continue;
                }
                let after = Cursor {
                    pos: q + 1,
                    ..*self
                };
                let fits = match field {
                    Field::RequestUri => after.opens_referer_before(referer_end),
                    _ => after.opens_quoted_field(),
                };
                if fits {
                    if found.is_some() {
                        return Err(ParseError::Ambiguous { field });
                    }
                    found = Some((after, q));
                }
            }
            if let Some((after, q)) = found {
                *self = after;
                return Ok(dash(&self.line[start + 1..q]));
            }
        }
        self.first_fit(field, start)
    }

    /// The second reading of [`Cursor::quoted`]: the fields after the quoted one may
    /// be a bare `-`.
    fn first_fit(&mut self, field: Field, start: usize) -> Result<Option<&'l [u8]>, ParseError> {
        let mut complete = None;
        let mut full = None;
        let mut but_one = None;
        let mut q = start;
        loop {
            q = find::<b'"'>(self.line, q + 1);
            if q == self.line.len() {
                break;
            }
            if !self.closes_field(q) {
                continue;
            }
            let after = Cursor {
                pos: q + 1,
                ..*self
            };
            let (fit, whole) = match field {
                Field::RequestUri => {
                    let f = after.after_request_uri();
                    (f.fit, f.complete)
                }
                _ => {
                    let fit = after.after_referer();
                    (fit, fit == Fit::Full)
                }
            };
            if whole {
                if complete.is_some() {
                    return Err(ParseError::Ambiguous { field });
                }
                complete = Some((after, q));
            }
            match fit {
                Fit::Full => {
                    full.get_or_insert((after, q));
                }
                Fit::ButOne => {
                    but_one.get_or_insert((after, q));
                }
                Fit::None => {}
            }
        }
        match complete.or(full).or(but_one) {
            Some((after, q)) => {
                *self = after;
                Ok(dash(&self.line[start + 1..q]))
            }
            None => Err(invalid(field, Problem::Unterminated)),
        }
    }

    /// The quote after `start` and before `end` that ends a token, if it is the only
    /// one: the common case, found without reading the fields after it.
    #[inline(always)]
    fn only_end_before(&self, start: usize, end: usize) -> Option<usize> {
        let mut only = None;
        let mut q = start;
        loop {
            q = find::<b'"'>(self.line, q + 1);
            if q >= end {
                return only;
            }
            if self.closes_field(q) {
                if only.is_some() {
                    return None;
                }
                only = Some(q);
            }
        }
    }

    /// Where the quoted fields of this line can end, found on first use.
    fn closes(&mut self) -> Closes {
        *self.closes.get_or_insert_with(|| Closes::of(self.line))
    }

    /// Does the quote at `q` end a field (followed by a space or the end of the line)?
    fn closes_field(&self, q: usize) -> bool {
        self.line.get(q + 1).is_none_or(|&c| c == b' ')
    }

    /// The user-agent: a bare `-`, or quoted up to the last quote of the line that ends
    /// a field (no later field is ever quoted, while user agents may contain `" `).
    #[inline(always)]
    fn user_agent(&mut self) -> Result<Option<&'l [u8]>, ParseError> {
        if self.bare_dash() {
            return Ok(None);
        }
        let start = self.pos;
        if self.line[start] != b'"' {
            return Err(invalid(
                Field::UserAgent,
                Problem::NotQuoted(shown(self.clone().token())),
            ));
        }
        match self.closes().user_agent.filter(|&q| q > start) {
            Some(q) => {
                self.pos = q + 1;
                Ok(dash(&self.line[start + 1..q]))
            }
            None => Err(invalid(Field::UserAgent, Problem::Unterminated)),
        }
    }

    /// A `-` standing alone as a field: consumed, and `true`.
    #[inline(always)]
    fn bare_dash(&mut self) -> bool {
        let here = self.rest();
        if here == b"-" || here.starts_with(b"- ") {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// How well the text after a candidate closing quote of the request-URI fits the
    /// fields that follow it: status, error code, four numbers, then the referer. For
    /// the second reading, a 3-digit status right after it is enough (a request line
    /// has no spaces inside its target, so nothing else looks like that), and a line
    /// that ends early fits as far as it goes (the truncation is reported later).
    #[inline(always)]
    fn after_request_uri(mut self) -> UriFit {
        let mut tokens: [Option<&[u8]>; 7] = [None; 7];
        for slot in &mut tokens {
            self.skip_spaces();
            if self.at_end() {
                break;
            }
            *slot = Some(self.token());
        }
        let text = |i: usize| tokens[i];
        let is_code = |t: &[u8]| t.len() == 3 && t.iter().all(u8::is_ascii_digit);
        let is_number = |t: &[u8]| t == b"-" || t.iter().all(u8::is_ascii_digit);
        let status = text(0);
        let status_fits = status.is_none_or(|s| s == b"-" || is_code(s));
        let numbers_misfit = (2..6).filter(|&i| !text(i).is_none_or(is_number)).count();
        let referer_fits = text(6).is_none_or(|r| r[0] == b'"' || r == b"-");
        let fit = if status.is_none_or(is_code) {
            Fit::Full
        } else {
            match usize::from(!status_fits) + numbers_misfit + usize::from(!referer_fits) {
                0 => Fit::Full,
                1 => Fit::ButOne,
                _ => Fit::None,
            }
        };
        UriFit {
            fit,
            complete: tokens.iter().all(Option::is_some)
                && status_fits
                && numbers_misfit == 0
                && referer_fits,
        }
    }

    /// Does the text after a closing quote of the referer start like a user-agent
    /// (`"…` or a bare `-`)?
    #[inline(always)]
    fn after_referer(mut self) -> Fit {
        self.skip_spaces();
        match self.rest() {
            [b'"', ..] | [b'-'] | [b'-', b' ', ..] => Fit::Full,
            _ => Fit::None,
        }
    }

    /// Do a status (3 digits or `-`), an error code, four numbers (digits or `-`) and a
    /// quoted referer opening before `end` follow here? The first reading's test of a
    /// request-URI's end: [`Cursor::after_request_uri`] with an early exit, since it
    /// runs on every record.
    #[inline(always)]
    fn opens_referer_before(mut self, end: usize) -> bool {
        let mut next = || {
            self.skip_spaces();
            (!self.at_end()).then(|| (self.pos, self.token()))
        };
        let is_number = |t: &[u8]| t == b"-" || t.iter().all(u8::is_ascii_digit);
        match next() {
            Some((_, s)) if s == b"-" || (s.len() == 3 && s.iter().all(u8::is_ascii_digit)) => {}
            _ => return false,
        }
        if next().is_none() {
            return false;
        }
        for _ in 0..4 {
            if !next().is_some_and(|(_, n)| is_number(n)) {
                return false;
            }
        }
        next().is_some_and(|(at, r)| r[0] == b'"' && at < end)
    }

    /// Does a quoted field start after the blanks here?
    #[inline(always)]
    fn opens_quoted_field(mut self) -> bool {
        self.skip_spaces();
        self.rest().first() == Some(&b'"')
    }
}

/// What follows a candidate closing quote of the request-URI.
#[derive(Clone, Copy)]
struct UriFit {
    /// How well it fits, for the second reading.
    fit: Fit,
    /// All seven fields are there and fit (the referer quoted or a bare `-`).
    complete: bool,
}

/// Where the quoted fields at the end of a record can end: found once per line, from
/// its end.
#[derive(Clone, Copy, Debug)]
struct Closes {
    /// The last quote of the line that ends a field: the end of a quoted user-agent,
    /// since nothing S3 writes after the user-agent is quoted.
    user_agent: Option<usize>,
    /// The last quote that ends a field and is followed, past blanks, by a quote that
    /// opens a field ending at [`Closes::user_agent`]: the latest end of a quoted
    /// referer with a quoted user-agent after it.
    referer: Option<usize>,
}

impl Closes {
    fn of(line: &[u8]) -> Closes {
        let closes_field = |q: usize| line.get(q + 1).is_none_or(|&c| c == b' ');
        let mut quotes = memrchr_iter(b'"', line);
        let user_agent = quotes.by_ref().find(|&q| closes_field(q));
        // Each quote looks back only over the blanks right before it: linear.
        let referer = user_agent.and_then(|_| {
            quotes.find_map(|open| {
                let before = line[..open].iter().rposition(|&c| c != b' ')?;
                (before + 1 < open && line[before] == b'"').then_some(before)
            })
        });
        Closes {
            user_agent,
            referer,
        }
    }
}

/// How well the text after a candidate closing quote fits the fields that follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// Not like the fields that follow.
    None,
    /// Everything fits but one field: that field is what is wrong.
    ButOne,
    /// Everything fits.
    Full,
}

fn dash(v: &[u8]) -> Option<&[u8]> {
    (v != b"-").then_some(v)
}

type Res<'a, T> = IResult<&'a [u8], T, ()>;

fn digits<const N: usize>(i: &[u8]) -> Res<'_, i64> {
    map_opt(take(N), |d: &[u8]| {
        d.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    })
    .parse(i)
}

fn month(i: &[u8]) -> Res<'_, i64> {
    alt((
        value(1, tag("Jan")),
        value(2, tag("Feb")),
        value(3, tag("Mar")),
        value(4, tag("Apr")),
        value(5, tag("May")),
        value(6, tag("Jun")),
        value(7, tag("Jul")),
        value(8, tag("Aug")),
        value(9, tag("Sep")),
        value(10, tag("Oct")),
        value(11, tag("Nov")),
        value(12, tag("Dec")),
    ))
    .parse(i)
}

/// `06/Feb/2019`, in days since 1970-01-01; the day must exist.
fn date(i: &[u8]) -> Res<'_, i64> {
    let (rest, (day, _, month, _, year)) =
        (digits::<2>, tag("/"), month, tag("/"), digits::<4>).parse(i)?;
    if day < 1 || day > days_in_month(year, month) {
        return Err(nom::Err::Error(()));
    }
    Ok((rest, days_from_civil(year, month, day)))
}

/// `00:00:38`, in seconds since midnight (a leap second is let through).
fn clock(i: &[u8]) -> Res<'_, i64> {
    let (rest, (hour, _, min, _, sec)) =
        (digits::<2>, tag(":"), digits::<2>, tag(":"), digits::<2>).parse(i)?;
    if hour > 23 || min > 59 || sec > 60 {
        return Err(nom::Err::Error(()));
    }
    Ok((rest, hour * 3600 + min * 60 + sec))
}

/// `+0000`, `-0500`: the UTC offset in seconds.
fn utc_offset(i: &[u8]) -> Res<'_, i64> {
    let (rest, (sign, oh, om)) = (one_of("+-"), digits::<2>, digits::<2>).parse(i)?;
    if oh > 23 || om > 59 {
        return Err(nom::Err::Error(()));
    }
    let offset = oh * 3600 + om * 60;
    Ok((rest, if sign == '-' { -offset } else { offset }))
}

/// `[06/Feb/2019:00:00:38 +0000]`, converted to seconds since the epoch, in UTC.
fn timestamp(i: &[u8]) -> Res<'_, i64> {
    let (rest, (_, days, _, clock, _, offset, _)) = (
        tag("["),
        date,
        tag(":"),
        clock,
        tag(" "),
        utc_offset,
        tag("]"),
    )
        .parse(i)?;
    Ok((rest, days * 86_400 + clock - offset))
}

/// The length of a timestamp: `[06/Feb/2019:00:00:38 +0000]`.
const UTC_TIMESTAMP_LEN: usize = 28;

/// The date text of the previous line and its [`date`], to skip re-reading it.
#[derive(Clone, Debug, Default)]
struct LastDate {
    text: [u8; 11],
    days: i64,
}

/// The fast path for the timestamps S3 writes, always in UTC (`+0000`): the date is
/// usually the previous line's, and the clock is six digits at fixed places. Anything
/// else (another offset, or an invalid value) is `None`, and [`timestamp`] decides.
#[inline]
fn utc_timestamp(i: &[u8], last: &mut LastDate) -> Option<i64> {
    let t: &[u8; UTC_TIMESTAMP_LEN] = i.get(..UTC_TIMESTAMP_LEN)?.try_into().ok()?;
    // Compared as arrays of fixed length: a few word compares, no call to memcmp.
    let (date_text, zone) = (&t[1..12], &t[21..]);
    if t[0] != b'[' || t[12] != b':' || <[u8; 7]>::try_from(zone).ok()? != *b" +0000]" {
        return None;
    }
    if <[u8; 11]>::try_from(date_text).ok()? != last.text {
        let (_, days) = all_consuming(date).parse(date_text).ok()?;
        last.text.copy_from_slice(date_text);
        last.days = days;
    }
    let two = |at: usize| {
        let (a, b) = (t[at].wrapping_sub(b'0'), t[at + 1].wrapping_sub(b'0'));
        (a < 10 && b < 10).then(|| i64::from(a * 10 + b))
    };
    let (hour, min, sec) = (two(13)?, two(16)?, two(19)?);
    if t[15] != b':' || t[18] != b':' || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(last.days * 86_400 + hour * 3600 + min * 60 + sec)
}

fn remote_ip(v: &[u8]) -> Result<Option<IpAddr>, ParseError> {
    if v == b"-" {
        return Ok(None);
    }
    if let Some(v4) = ipv4(v) {
        return Ok(Some(IpAddr::V4(v4)));
    }
    if let Some(v6) = ipv6(v) {
        return Ok(Some(IpAddr::V6(v6)));
    }
    // Anything else (an IPv6 address ending in dotted IPv4, or not an address) is
    // left to the standard library, which also decides what is rejected.
    match std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()) {
        Some(ip) => Ok(Some(ip)),
        None => Err(invalid(Field::RemoteIp, Problem::NotAnIp(shown(v)))),
    }
}

/// IPv6 of hex groups straight from bytes, as the standard library reads it: eight
/// groups of one to four hex digits, or fewer with one `::` standing for at least one
/// zero group. `None` for anything else, dotted IPv4 endings included (the standard
/// parser, several times slower, reads those).
fn ipv6(v: &[u8]) -> Option<Ipv6Addr> {
    if v.len() < 2 || v.len() > 39 {
        return None;
    }
    let mut groups = [0u16; 8];
    let (mut n, mut at) = (0, 0);
    let mut gap = None;
    if v.starts_with(b"::") {
        gap = Some(0);
        at = 2;
    }
    while at < v.len() {
        let start = at;
        let mut group = 0u16;
        while at < v.len() && at - start < 4 {
            let Some(d) = char::from(v[at]).to_digit(16) else {
                break;
            };
            group = group << 4 | d as u16;
            at += 1;
        }
        if at == start || n == groups.len() {
            return None;
        }
        groups[n] = group;
        n += 1;
        if at == v.len() {
            break;
        }
        if v[at] != b':' {
            return None;
        }
        at += 1;
        if v.get(at) == Some(&b':') {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            at += 1;
        } else if at == v.len() {
            // A single `:` at the end.
            return None;
        }
    }
    match gap {
        None if n == 8 => Some(Ipv6Addr::from(groups)),
        Some(at) if n < 8 => {
            // The groups after the gap move to the end.
            let tail = n - at;
            groups.copy_within(at..n, 8 - tail);
            groups[at..8 - tail].fill(0);
            Some(Ipv6Addr::from(groups))
        }
        _ => None,
    }
}

/// Dotted-quad IPv4 straight from bytes: four decimal octets, no leading zeros.
#[inline]
pub fn ipv4(v: &[u8]) -> Option<Ipv4Addr> {
    if v.len() < 7 || v.len() > 15 {
        return None;
    }
    let digit = |at: usize| v.get(at).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10);
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if v.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let first = digit(at)?;
        let mut value = u16::from(first);
        at += 1;
        // A leading 0 stands alone; otherwise up to two more digits.
        if first != 0 {
            for _ in 0..2 {
                let Some(d) = digit(at) else { break };
                value = value * 10 + u16::from(d);
                at += 1;
            }
        }
        *octet = u8::try_from(value).ok()?;
    }
    (at == v.len()).then_some(Ipv4Addr::from(octets))
}

fn status(v: &[u8]) -> Result<Option<u16>, ParseError> {
    match *v {
        [b'-'] => Ok(None),
        [a, b, c] if v.iter().all(u8::is_ascii_digit) => Ok(Some(
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
        )),
        _ => Err(invalid(Field::HttpStatus, Problem::NotAStatus(shown(v)))),
    }
}

/// The number or `-` at `start..end` of `line`: up to 8 digits are read as one word
/// when the line goes on for 8 bytes from them.
#[inline(always)]
fn number_at(
    line: &[u8],
    start: usize,
    end: usize,
    field: Field,
) -> Result<Option<u64>, ParseError> {
    let v = &line[start..end];
    if let (1..=8, Some(word)) = (v.len(), line[start..].first_chunk::<8>()) {
        if let Some(n) = eight_digits(u64::from_le_bytes(*word), v.len()) {
            return Ok(Some(n));
        }
    }
    number(v, field)
}

fn number(v: &[u8], field: Field) -> Result<Option<u64>, ParseError> {
    if v == b"-" {
        return Ok(None);
    }
    decimal(v)
        .map(Some)
        .ok_or_else(|| invalid(field, Problem::NotANumber(shown(v))))
}

/// The number written by the first `len` (1 to 8) bytes of `word` (loaded little-endian,
/// so the first byte is the lowest), if they are all digits: all eight are converted at
/// once (SWAR), the unused bytes replaced by leading zeros.
#[inline(always)]
fn eight_digits(word: u64, len: usize) -> Option<u64> {
    const ZEROS: u64 = u64::from_le_bytes([b'0'; 8]);
    let unused = 8 * (8 - len as u32);
    let word = (word << unused) | ZEROS.checked_shr(64 - unused).unwrap_or(0);
    if !all_digits(word) {
        return None;
    }
    // Lemire's conversion: pairs of digits, then fours, then all eight.
    let v = word - ZEROS;
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((v.wrapping_mul(10_000) + (v >> 32)) & 0xFFFF_FFFF)
}

/// Are the 8 bytes of `word` all ASCII digits? Each is 0x30..=0x39 when its high
/// nibble is 3 and still is after adding 6 (no carry crosses bytes once the first
/// test holds).
#[inline(always)]
pub(crate) fn all_digits(word: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = u64::from_le_bytes([b'0'; 8]);
    word & HIGH == ZEROS && word.wrapping_add(0x0606_0606_0606_0606) & HIGH == ZEROS
}

/// One or more decimal digits that fit a `u64`.
#[inline]
fn decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &c| {
        let digit = c.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_2019: &[u8] = b"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - \"GET /awsexamplebucket1?versioning HTTP/1.1\" 200 - 113 - 7 - \"-\" \"S3Console/0.4\" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV2 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1";

    fn line(middle: &str) -> String {
        format!("owner bkt [06/Feb/2019:00:00:38 +0000] {middle}")
    }

    #[test]
    fn documented_example_parses_field_by_field() {
        let r = parse_line(DOC_2019).unwrap();
        assert_eq!(r.bucket, Some(&b"awsexamplebucket1"[..]));
        assert_eq!(r.time, 1_549_411_238);
        assert_eq!(r.remote_ip, Some("192.0.2.3".parse().unwrap()));
        assert_eq!(r.operation, Some(&b"REST.GET.VERSIONING"[..]));
        assert_eq!(r.key, None);
        assert_eq!(
            r.request_uri,
            Some(&b"GET /awsexamplebucket1?versioning HTTP/1.1"[..])
        );
        assert_eq!(r.http_status, Some(200));
        assert_eq!(r.bytes_sent, Some(113));
        assert_eq!(r.object_size, None);
        assert_eq!(r.total_time, Some(7));
        assert_eq!(r.referer, None);
        assert_eq!(r.user_agent, Some(&b"S3Console/0.4"[..]));
        assert_eq!(r.signature_version, Some(&b"SigV2"[..]));
        assert_eq!(r.tls_version, Some(&b"TLSV1.1"[..]));
        assert_eq!(r.access_point_arn, None);
    }

    #[test]
    fn raw_quote_inside_request_uri_is_kept() {
        let l = line(
            r#"1.2.3.4 - ID REST.GET.OBJECT k "GET /" HTTP/1.1" 403 AccessDenied 243 - 8 - "-" "curl/7.38.0""#,
        );
        let r = parse_line(l.as_bytes()).unwrap();
        assert_eq!(r.request_uri, Some(&b"GET /\" HTTP/1.1"[..]));
        assert_eq!(r.http_status, Some(403));
        assert_eq!(r.user_agent, Some(&b"curl/7.38.0"[..]));
    }

    #[test]
    fn user_agent_may_start_with_a_quote_and_contain_quote_space() {
        let l = line(
            r#"1.2.3.4 - ID OP k "GET / HTTP/1.1" 200 - 1 2 3 4 "a" b" ""Mozilla "x" y" - HOSTID"#,
        );
        let r = parse_line(l.as_bytes()).unwrap();
        assert_eq!(r.referer, Some(&b"a\" b"[..]));
        assert_eq!(r.user_agent, Some(&b"\"Mozilla \"x\" y"[..]));
        assert_eq!(r.host_id, Some(&b"HOSTID"[..]));
    }

    #[test]
    fn bare_dashes_double_spaces_and_crlf() {
        let l = line("-  - ID BATCH.DELETE.OBJECT k - 204 - - - 5 - - -  - HOST\r\n");
        let r = parse_line(l.as_bytes()).unwrap();
        assert_eq!(r.remote_ip, None);
        assert_eq!((r.request_uri, r.referer, r.user_agent), (None, None, None));
        assert_eq!(r.host_id, Some(&b"HOST"[..]));
        // The field after a double space starts after both, also in the full parser
        // (the fast path leaves such lines to it).
        assert_eq!((r.requester, r.request_id), (None, Some(&b"ID"[..])));
        assert_eq!((r.total_time, r.version_id), (Some(5), None));
        assert_eq!(
            LineParser::new().without_fast_path().parse(l.as_bytes()),
            Ok(r)
        );
    }

    /// A quoted request-URI followed by a bare referer and user-agent is read by the
    /// second reading (no quoted referer to end before): its text is what is between
    /// the quotes.
    #[test]
    fn a_quoted_field_before_bare_dashes_is_the_text_between_its_quotes() {
        let l = line(r#"1.2.3.4 - ID OP k "GET /a" b HTTP/1.1" 200 - 1 2 3 4 - - - HOST"#);
        for mut parser in [LineParser::new(), LineParser::new().without_fast_path()] {
            let r = parser.parse(l.as_bytes()).unwrap();
            assert_eq!(r.request_uri, Some(&b"GET /a\" b HTTP/1.1"[..]));
            assert_eq!(
                (r.http_status, r.referer, r.user_agent),
                (Some(200), None, None)
            );
        }
        let l = line(r#"1.2.3.4 - ID OP k - 200 - 1 2 3 4 "http://x/" y" - - HOST"#);
        let r = LineParser::new()
            .without_fast_path()
            .parse(l.as_bytes())
            .unwrap();
        assert_eq!(r.referer, Some(&b"http://x/\" y"[..]));
    }

    #[test]
    fn unknown_trailing_fields_are_ignored() {
        let mut l = DOC_2019.to_vec();
        l.extend_from_slice(
            b" arn:aws:s3:us-west-1:1:accesspoint/x Yes us-east-1 NewField1 NewField2",
        );
        let r = parse_line(&l).unwrap();
        assert_eq!(r.source_region, Some(&b"us-east-1"[..]));
        assert_eq!(r.user_agent, Some(&b"S3Console/0.4"[..]));
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let l = "o www.example.com [06/Feb/2019:00:00:38 -0500] 1.2.3.4 - I O k \"GET / HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"";
        assert_eq!(
            parse_line(l.as_bytes()).unwrap().time,
            1_549_411_238 + 5 * 3600
        );
    }

    #[test]
    fn utc_offsets_have_hours_up_to_23_and_minutes_up_to_59() {
        let at = |offset: &str| {
            let l = format!("o b [06/Feb/2019:00:00:38 {offset}] 1.2.3.4 - I O k \"GET / HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"");
            parse_line(l.as_bytes()).map(|r| r.time - 1_549_411_238)
        };
        assert_eq!(at("+0530"), Ok(-(5 * 3600 + 30 * 60)));
        assert_eq!(at("-0930"), Ok(9 * 3600 + 30 * 60));
        assert_eq!(at("+2359"), Ok(-(23 * 3600 + 59 * 60)));
        assert_eq!(at("-2359"), Ok(23 * 3600 + 59 * 60));
        for bad in ["+2400", "+0060", "-2400", "+2460"] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_time_with_a_wrong_separator_or_digit_is_rejected() {
        let at = |time: &str| {
            let l =
                format!("o b {time} 1.2.3.4 - I O k \"GET / HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"");
            parse_line(l.as_bytes()).map(|r| r.time)
        };
        assert_eq!(at("[06/Feb/2019:00:00:38 +0000]"), Ok(1_549_411_238));
        for bad in [
            "[06/Feb/2019-00:00:38 +0000]",
            "[06/Feb/2019:00-00:38 +0000]",
            "[06/Feb/2019:00:00-38 +0000]",
            "[06/Feb/2019:1::00:38 +0000]",
            "[06/Feb/2019:00:1::38 +0000]",
            "[06/Feb/2019:00:00:1: +0000]",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn large_sizes_ipv6_and_four_part_operations() {
        let l = line(
            r#"2001:db8::7 - 6f1e4f0a-6c1b-4c1e-9e0b-2a7f0e5f3b11 S3.COMPUTE.OBJECT.CHECKSUM k "-" 200 - 6616308 422868123111 1 - "-" "-""#,
        );
        let r = parse_line(l.as_bytes()).unwrap();
        assert_eq!(r.remote_ip, Some("2001:db8::7".parse().unwrap()));
        assert_eq!(r.object_size, Some(422_868_123_111));
        assert_eq!(r.operation, Some(&b"S3.COMPUTE.OBJECT.CHECKSUM"[..]));
    }

    #[test]
    fn rejections_name_the_field() {
        let bad_ip = line(r#"xx.xx.xx.xx - I O k "GET / HTTP/1.1" 200 - 1 1 1 1 "-" "ua""#);
        let e = parse_line(bad_ip.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "remote IP field (#4): 'xx.xx.xx.xx' is not an IP address or '-'"
        );
        let short = line("1.2.3.4 - I O k \"GET / HTTP/1.1\" 200");
        assert_eq!(
            parse_line(short.as_bytes()).unwrap_err().to_string(),
            "truncated record: 10 of the 17 required fields, the error code field is missing"
        );
        let date = "o b [31/Feb/2019:00:00:38 +0000] 1.2.3.4";
        assert!(parse_line(date.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("time field (#3): '[31/Feb"));
        // A short time is shown whole, up to its closing bracket and no further.
        let e = parse_line(b"o b [06/Feb] 1.2.3.4").unwrap_err();
        let shown = invalid(Field::Time, Problem::NotATime("[06/Feb]".into()));
        assert_eq!(e.to_string(), shown.to_string());
        let size = line(
            r#"1.2.3.4 - I O k "GET / HTTP/1.1" 200 - 99999999999999999999999 1 1 1 "-" "ua""#,
        );
        assert!(parse_line(size.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("bytes sent field (#12)"));
        assert_eq!(
            parse_line(b"garbage").unwrap_err().to_string(),
            "truncated record: 1 of the 17 required fields, the bucket field is missing"
        );
        let open = line(r#"1.2.3.4 - I O k "GET / HTTP/1.1 200 - 1 1 1 1 "-" "ua"#);
        assert!(parse_line(open.as_bytes()).is_err());
    }

    /// A record cut after any of its first 16 fields (the referer included, with or
    /// without a trailing space) is truncated, and the error names the first missing
    /// field: a line is counted only when all 17 required fields are there.
    #[test]
    fn a_record_cut_before_the_user_agent_is_truncated() {
        let fields = [
            "owner",
            "bkt",
            "[06/Feb/2019:00:00:38 +0000]",
            "192.0.2.3",
            "requester",
            "3E57427F3EXAMPLE",
            "REST.GET.OBJECT",
            "k",
            "\"GET /bkt/k HTTP/1.1\"",
            "200",
            "-",
            "113",
            "113",
            "7",
            "6",
            "-",
            "\"ua\"",
        ];
        assert_eq!(fields.len(), Field::REQUIRED);
        assert!(parse_line(fields.join(" ").as_bytes()).is_ok());
        for kept in 1..Field::REQUIRED {
            let cut = fields[..kept].join(" ");
            for line in [cut.clone(), format!("{cut} "), format!("{cut}  \r")] {
                for mut parser in [LineParser::new(), LineParser::required_only()] {
                    assert_eq!(
                        parser.parse(line.as_bytes()).map(|_| ()),
                        Err(ParseError::Truncated { fields: kept }),
                        "{line:?}"
                    );
                }
            }
        }
        let sixteen = fields[..16].join(" ");
        assert_eq!(
            parse_line(sixteen.as_bytes()).unwrap_err().to_string(),
            "truncated record: 16 of the 17 required fields, the user-agent field is missing"
        );
        // A quoted referer that ends the line: no user-agent follows its quote.
        for referer in ["\"-\"", "\"https://example.com/\"", "\"a\" b\""] {
            let line = format!("{} {referer}", fields[..15].join(" "));
            for mut parser in [LineParser::new(), LineParser::required_only()] {
                assert_eq!(
                    parser.parse(line.as_bytes()).map(|_| ()),
                    Err(invalid(Field::Referer, Problem::Unterminated)),
                    "{line:?}"
                );
            }
        }
    }

    /// The line read by the full parser, which the fast path declines and leaves to it:
    /// both give the same.
    fn full_and_fast(l: &str) -> Result<Record<'_>, ParseError> {
        let full = LineParser::new().without_fast_path().parse(l.as_bytes());
        assert_eq!(LineParser::new().parse(l.as_bytes()), full, "{l:?}");
        full
    }

    /// A request-URI that can end at one quote only ends there, even when the fields
    /// after it do not fit: the wrong field is named, whether the referer and
    /// user-agent are quoted (a single end before the referer's) or bare dashes (an
    /// end after which all fits but one field).
    #[test]
    fn a_wrong_status_after_a_request_uri_with_one_end_is_named() {
        let not_a_status = Err(invalid(
            Field::HttpStatus,
            Problem::NotAStatus("2000".into()),
        ));
        for after in [r#""ref" "ua""#, "- -"] {
            let l = line(&format!(
                r#"1.2.3.4 - ID OP k "GET / HTTP/1.1" 2000 - 1 2 3 4 {after}"#
            ));
            assert_eq!(full_and_fast(&l), not_a_status, "{l:?}");
        }
    }

    /// A referer may hold what follows a request-URI (`" 200 - 1 2 3 4 "`). Read with
    /// the referer and user-agent quoted, the request-URI ends at the one quote after
    /// which those fields and a referer opening before the referer's last possible end
    /// follow (a referer cannot open at the quote that ends it); the line is read, not
    /// rejected as ambiguous, which the reading with bare dashes alone would find it.
    #[test]
    fn a_referer_holding_what_follows_a_request_uri_is_read_with_all_three_quoted() {
        let l = line(r#"1.2.3.4 - ID OP k "GET /" 200 - 1 2 3 4 "x" 200 - 1 2 3 4 " "ua""#);
        let r = full_and_fast(&l).unwrap();
        assert_eq!(r.request_uri, Some(&b"GET /"[..]));
        assert_eq!((r.http_status, r.bytes_sent), (Some(200), Some(1)));
        assert_eq!(r.referer, Some(&b"x\" 200 - 1 2 3 4 "[..]));
        assert_eq!(r.user_agent, Some(&b"ua"[..]));
    }

    /// A status is three digits or `-`: three letters after an inner quote of the
    /// request-URI end nothing, in either reading. With the referer and user-agent
    /// quoted, the only end is the later quote (not two ends, ambiguous); in a line
    /// cut short, the later end is taken and the line is truncated, not rejected for a
    /// status `abc`.
    #[test]
    fn three_letters_after_an_inner_quote_are_no_status() {
        let l = line(
            r#"1.2.3.4 - ID OP k "GET /" abc - 1 2 3 4 "x HTTP/1.1" 200 - 1 2 3 4 "ref" "ua""#,
        );
        let r = full_and_fast(&l).unwrap();
        assert_eq!(
            r.request_uri,
            Some(&b"GET /\" abc - 1 2 3 4 \"x HTTP/1.1"[..])
        );
        assert_eq!((r.http_status, r.referer), (Some(200), Some(&b"ref"[..])));
        let cut = line(r#"1.2.3.4 - ID OP k "GET /a" abc HTTP/1.1" 200 - 1 2"#);
        assert_eq!(
            full_and_fast(&cut).map(|_| ()),
            Err(ParseError::Truncated {
                fields: Field::TotalTime as usize
            })
        );
    }

    /// In a line cut short after the request-URI, the reading with bare dashes takes an
    /// end after which every field there fits (a `-` status fits) over one after
    /// which one field does not: the line is truncated, not unterminated, and not
    /// rejected for the bytes sent `x` that an earlier end would give.
    #[test]
    fn a_line_cut_short_is_read_at_the_end_after_which_every_field_fits() {
        let l = line(r#"1.2.3.4 - ID OP k "GET / HTTP/1.1" - AccessDenied 243"#);
        assert_eq!(
            full_and_fast(&l).map(|_| ()),
            Err(ParseError::Truncated {
                fields: Field::ObjectSize as usize
            })
        );
        let l = line(r#"1.2.3.4 - ID OP k "GET /a" - - x 2 3 4 - b" - - 1 2"#);
        assert_eq!(
            full_and_fast(&l).map(|_| ()),
            Err(ParseError::Truncated {
                fields: Field::TotalTime as usize
            })
        );
    }

    /// The referer's last possible end is a quote followed by blanks and the
    /// user-agent's opening quote; a pair of quotes `""` inside the request-URI is not
    /// one (no blank between them), so the request-URI is not cut before it.
    #[test]
    fn an_empty_pair_of_quotes_inside_the_request_uri_ends_no_referer() {
        let l = line(r#"1.2.3.4 - ID OP k "GET /x" "" HTTP/1.1" 200 - 1 2 3 4 - -"#);
        let r = full_and_fast(&l).unwrap();
        assert_eq!(r.request_uri, Some(&b"GET /x\" \"\" HTTP/1.1"[..]));
        assert_eq!(
            (r.http_status, r.referer, r.user_agent),
            (Some(200), None, None)
        );
    }

    /// The reference the fast path is tested against reads every line with the full
    /// parser, whatever it was made for; else the tests would compare the fast path
    /// with itself.
    #[test]
    fn the_reference_parser_has_no_fast_path() {
        assert!(!LineParser::new().no_fast_path);
        assert!(LineParser::new().without_fast_path().no_fast_path);
        let reference = LineParser::required_only().without_fast_path();
        assert!(reference.no_fast_path && reference.required_only);
    }

    #[test]
    fn reading_only_the_required_fields_changes_nothing_else() {
        let mut lines = Vec::new();
        crate::synth::write_logs(&mut lines, 9, 3000).unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/quirks");
        for entry in std::fs::read_dir(dir).unwrap() {
            lines.extend(std::fs::read(entry.unwrap().path()).unwrap());
            lines.push(b'\n');
        }
        let (mut full, mut head) = (LineParser::new(), LineParser::required_only());
        for line in lines.split(|&c| c == b'\n') {
            match (full.parse(line), head.parse(line)) {
                (Ok(mut f), Ok(h)) => {
                    assert_eq!(h.version_id, None);
                    f.version_id = None;
                    f.host_id = None;
                    f.signature_version = None;
                    f.cipher_suite = None;
                    f.authentication_type = None;
                    f.host_header = None;
                    f.tls_version = None;
                    f.access_point_arn = None;
                    f.acl_required = None;
                    f.source_region = None;
                    assert_eq!(f, h, "{}", String::from_utf8_lossy(line));
                }
                (f, h) => assert_eq!(f.err(), h.err(), "{}", String::from_utf8_lossy(line)),
            }
        }
    }

    #[test]
    fn times_outside_the_years_0000_to_9999_in_utc_are_rejected() {
        let at = |time: &str| {
            parse_line(
                format!(
                    "o b [{time}] 1.2.3.4 - I O k \"GET / HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\""
                )
                .as_bytes(),
            )
            .map(|r| r.time)
        };
        assert_eq!(at("31/Dec/9999:23:59:59 +0000"), Ok(crate::time::LAST));
        assert_eq!(at("01/Jan/0000:00:00:00 +0000"), Ok(crate::time::FIRST));
        assert_eq!(
            at("31/Dec/9999:23:59:59 -0100").unwrap_err().to_string(),
            "time field (#3): '[31/Dec/9999:23:…' is outside the years 0000 to 9999 in UTC"
        );
        assert!(at("01/Jan/0000:00:00:00 +0100").is_err());
        // A leap second is the next minute's first second.
        assert_eq!(at("09/May/2022:09:59:60 +0000"), Ok(1_652_090_400));
    }

    #[test]
    fn ipv4_matches_std() {
        for s in [
            "0.0.0.0",
            "10.0.0.1",
            "255.255.255.255",
            "256.1.1.1",
            "01.1.1.1",
            "1.1.1",
            "1.1.1.1.1",
            "1..1.1",
            "a.b.c.d",
            "1.1.1.1 ",
            // `:` is the byte after `9`.
            "1.2.3.:",
            "1.2.:.4",
            "19:.1.1.1",
        ] {
            assert_eq!(ipv4(s.as_bytes()), s.parse().ok(), "{s}");
        }
    }

    #[test]
    fn a_status_is_three_digits_or_a_dash() {
        assert_eq!(status(b"-"), Ok(None));
        assert_eq!(status(b"429"), Ok(Some(429)));
        assert_eq!(status(b"099"), Ok(Some(99)));
        for bad in [&b"42"[..], b"4290", b"4x9", b"--"] {
            assert!(status(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_utc_fast_path_agrees_with_the_grammar() {
        let mut last = LastDate::default();
        let days = [
            "06/Feb/2019",
            "29/Feb/2020",
            "29/Feb/2019",
            "31/Apr/2024",
            "00/Jan/2024",
        ];
        let more = [
            "31/Dec/1999",
            "01/Jan/2000",
            "1/Jan/2000x",
            "01/Foo/2000",
            "01/jan/2000",
        ];
        let clocks = [
            "00:00:00",
            "23:59:60",
            "24:00:00",
            "12:60:00",
            "1:2:3:444",
            "0a:00:00",
        ];
        let offsets = ["+0000", "-0000", "+0130", "-0500", "+2400", "0000x"];
        for date in days.iter().chain(&more) {
            for clock in clocks {
                for offset in offsets {
                    let text = format!("[{date}:{clock} {offset}] rest");
                    let grammar = timestamp(text.as_bytes()).ok().map(|(_, t)| t);
                    match utc_timestamp(text.as_bytes(), &mut last) {
                        Some(fast) => assert_eq!(Some(fast), grammar, "{text}"),
                        None => assert!(grammar.is_none() || offset != "+0000", "{text}"),
                    }
                }
            }
        }
    }

    #[test]
    fn eight_digits_agree_with_std() {
        let mut values: Vec<String> = (0..2000u64).map(|n| (n * 7919).to_string()).collect();
        values.extend(
            [
                "0", "00", "007", "99999999", "10000000", "12345678", "1", "9",
            ]
            .map(String::from),
        );
        values.extend(
            ["1a", "a1", "12 4", "-1", "+1", "1.5", "/", ":", "12345678"].map(String::from),
        );
        for v in values {
            for tail in [&b" \"-\" \"ua\""[..], b"99999999", b":::::::::"] {
                let mut word = [0u8; 8];
                let text = [v.as_bytes(), tail].concat();
                word.copy_from_slice(&text[..8]);
                let len = v.len().min(8);
                let expected = v[..len]
                    .parse::<u64>()
                    .ok()
                    .filter(|_| v[..len].bytes().all(|c| c.is_ascii_digit()));
                assert_eq!(
                    eight_digits(u64::from_le_bytes(word), len),
                    expected,
                    "{v:?}"
                );
            }
        }
    }

    #[test]
    fn numbers_of_every_length_parse() {
        for digits in 1..=20 {
            let v = "9".repeat(digits);
            let fits = v.parse::<u64>().ok();
            let l = line(&format!(
                r#"1.2.3.4 - I O k "GET / HTTP/1.1" 200 - {v} - - - "-" "ua""#
            ));
            let parsed = parse_line(l.as_bytes());
            assert_eq!(parsed.ok().and_then(|r| r.bytes_sent), fits, "{v}");
            // At the end of the line, with fewer than 8 bytes after the number.
            let l = line(&format!(
                r#"1.2.3.4 - I O k "GET / HTTP/1.1" 200 - 1 2 3 {v}"#
            ));
            let expected = match fits {
                Some(_) => ParseError::Truncated { fields: 15 },
                None => invalid(
                    Field::TurnAroundTime,
                    Problem::NotANumber(escape::snippet(v.as_bytes(), SAMPLE_BYTES)),
                ),
            };
            assert_eq!(parse_line(l.as_bytes()), Err(expected), "{v}");
        }
    }

    /// A fixed-seed linear congruential generator of numbers below 2^31.
    fn lcg(mut state: u64) -> impl FnMut() -> usize {
        move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize
        }
    }

    #[test]
    fn ipv6_of_hex_groups_matches_std_and_leaves_dotted_endings_to_it() {
        for s in [
            "::",
            "::1",
            "1::",
            "2001:db8::8a2e:370:7334",
            "2600:1f18:0:5::9",
            "FE80::0202:B3FF:FE1E:8329",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "0001:0:0:0:0:0:0:0",
            // The longest, 39 bytes: eight groups of four digits.
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        ] {
            assert_eq!(ipv6(s.as_bytes()), Some(s.parse().unwrap()), "{s}");
        }
        for s in [
            "",
            ":",
            ":::",
            "1:::2",
            "1::2::3",
            ":1::",
            "1:",
            "1::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "12345::",
            "g::",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1 ::",
        ] {
            assert_eq!(ipv6(s.as_bytes()), None, "{s}");
        }
        // The dotted endings are read by the full rule.
        assert_eq!(
            remote_ip(b"::ffff:1.2.3.4"),
            Ok(Some("::ffff:1.2.3.4".parse().unwrap()))
        );
    }

    #[test]
    fn ipv6_matches_std_on_generated_text() {
        // Groups of 0 to 5 hex digits joined by one or two colons, with a colon at
        // either end now and then, from a fixed-seed LCG.
        let mut next = lcg(0x9e37_79b9_7f4a_7c15u64);
        let mut valid = 0;
        for _ in 0..200_000 {
            let mut text = String::new();
            if next().is_multiple_of(8) {
                text.push(':');
            }
            for g in 0..next() % 10 {
                if g > 0 {
                    text.push_str(if next().is_multiple_of(6) { "::" } else { ":" });
                }
                for _ in 0..next() % 6 {
                    text.push(b"0123456789abcdefABCDEF"[next() % 22] as char);
                }
            }
            if next().is_multiple_of(8) {
                text.push(':');
            }
            let expected = text.parse::<Ipv6Addr>().ok();
            assert_eq!(ipv6(text.as_bytes()), expected, "{text}");
            valid += usize::from(expected.is_some());
        }
        assert!(
            valid > 2000,
            "only {valid} addresses among the generated texts"
        );
    }

    #[test]
    fn ipv4_matches_std_on_generated_text() {
        // Digits and dots in every arrangement up to 15 bytes, from a fixed-seed LCG.
        let mut next = lcg(0x2545_f491_4f6c_dd1du64);
        let mut valid = 0;
        for _ in 0..200_000 {
            let len = 7 + next() % 9;
            let text: String = (0..len)
                .map(|_| match next() % 13 {
                    0..=2 => '.',
                    n => char::from(b'0' + (n as u8 - 3)),
                })
                .collect();
            assert_eq!(ipv4(text.as_bytes()), text.parse().ok(), "{text}");
            valid += usize::from(ipv4(text.as_bytes()).is_some());
        }
        assert!(
            valid > 500,
            "only {valid} addresses among the generated texts"
        );
    }
}
