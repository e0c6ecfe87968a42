//! The line parser: one S3 server access log line in, one borrowed [`Record`] out.
//!
//! Built from nom parsers over `&[u8]`; nothing is copied or allocated unless the line
//! is rejected. The grammar follows what S3 really writes, not what its documentation
//! promises:
//!
//! * fields are separated by one or more spaces; the line may end in CR or blanks;
//! * any field may be `-`, and quoted fields may appear as a bare `-`;
//! * quotes inside quoted fields are *not* escaped. The request-URI ends at the first
//!   quote that is followed by an HTTP status (`200`, `-`); the referer at the first
//!   quote that is followed by the user-agent; the user-agent at the last quote of the
//!   line, since nothing AWS writes after it is quoted;
//! * 17 fields (up to the user-agent) are required; the ten later fields are read when
//!   present, and any fields beyond the 27th are ignored.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use memchr::{memchr, memchr_iter, memrchr_iter};
use nom::bytes::complete::take_while1;
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::{IResult, Parser};

use crate::escape;
use crate::record::{Field, Record};

/// Why a line is not a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The line ended before the user-agent, the last required field.
    Truncated { fields: usize },
    /// A field was present but its value is not valid for that field.
    Invalid { field: Field, problem: Problem },
}

/// What is wrong with a field's value; the offending text is kept escaped and short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    NotAnIp(String),
    NotATime(String),
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
            ParseError::Invalid { field, problem } => {
                write!(f, "{field} field (#{}): ", field.number())?;
                match problem {
                    Problem::NotAnIp(v) => write!(f, "'{v}' is not an IP address or '-'"),
                    Problem::NotATime(v) => {
                        write!(f, "'{v}' is not a time like [06/Feb/2019:00:00:38 +0000]")
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

/// nom's error type for this grammar: where parsing stopped and why.
#[derive(Debug)]
struct Failure {
    fields: usize,
    error: Option<ParseError>,
}

impl<'a> NomParseError<&'a [u8]> for Failure {
    fn from_error_kind(_input: &'a [u8], _kind: ErrorKind) -> Self {
        Failure {
            fields: 0,
            error: None,
        }
    }

    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<&'a [u8], T, Failure>;

fn invalid<T>(field: Field, problem: Problem) -> Res<'static, T> {
    Err(nom::Err::Failure(Failure {
        fields: field as usize,
        error: Some(ParseError::Invalid { field, problem }),
    }))
}

fn shown(bytes: &[u8]) -> String {
    escape::snippet(bytes, 60)
}

/// Parses one line (without its `\n`; a trailing CR and blanks are ignored).
pub fn parse_line(line: &[u8]) -> Result<Record<'_>, ParseError> {
    match record(trim_end(line)) {
        Ok((_, record)) => Ok(record),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e
            .error
            .unwrap_or(ParseError::Truncated { fields: e.fields })),
        Err(nom::Err::Incomplete(_)) => Err(ParseError::Truncated { fields: 0 }),
    }
}

/// The line without trailing CR, LF, spaces and tabs; an empty result is a blank line.
pub fn trim_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n' | b' ' | b'\t') {
        end -= 1;
    }
    &line[..end]
}

fn record(i: &[u8]) -> Res<'_, Record<'_>> {
    let mut r = Record::default();
    let (i, v) = first_token(i)?;
    r.bucket_owner = dash(v);
    let (i, v) = token(i, Field::Bucket)?;
    r.bucket = dash(v);
    let (i, ()) = separator(i, Field::Time)?;
    let (i, time) = timestamp(i)?;
    r.time = time;
    let (i, v) = token(i, Field::RemoteIp)?;
    r.remote_ip = remote_ip(v)?;
    let (i, v) = token(i, Field::Requester)?;
    r.requester = dash(v);
    let (i, v) = token(i, Field::RequestId)?;
    r.request_id = dash(v);
    let (i, v) = token(i, Field::Operation)?;
    r.operation = dash(v);
    let (i, v) = token(i, Field::Key)?;
    r.key = dash(v);
    let (i, ()) = separator(i, Field::RequestUri)?;
    let (i, v) = quoted(i, Field::RequestUri, after_request_uri)?;
    r.request_uri = v;
    let (i, v) = token(i, Field::HttpStatus)?;
    r.http_status = status(v)?;
    let (i, v) = token(i, Field::ErrorCode)?;
    r.error_code = dash(v);
    let (i, v) = token(i, Field::BytesSent)?;
    r.bytes_sent = number(v, Field::BytesSent)?;
    let (i, v) = token(i, Field::ObjectSize)?;
    r.object_size = number(v, Field::ObjectSize)?;
    let (i, v) = token(i, Field::TotalTime)?;
    r.total_time = number(v, Field::TotalTime)?;
    let (i, v) = token(i, Field::TurnAroundTime)?;
    r.turn_around_time = number(v, Field::TurnAroundTime)?;
    let (i, ()) = separator(i, Field::Referer)?;
    let (i, v) = quoted(i, Field::Referer, after_referer)?;
    r.referer = v;
    let (i, ()) = separator(i, Field::UserAgent)?;
    let (mut i, v) = user_agent(i)?;
    r.user_agent = v;

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
    for slot in optional {
        if i.is_empty() {
            break;
        }
        let (rest, v) = token(i, Field::VersionId)?;
        *slot = dash(v);
        i = rest;
    }
    // Fields AWS adds after the 27th are not ours to judge: they are ignored.
    Ok((&[], r))
}

fn dash(v: &[u8]) -> Option<&[u8]> {
    (v != b"-").then_some(v)
}

/// One or more spaces before `next`; end of line here means the record is truncated.
fn separator(i: &[u8], next: Field) -> Res<'_, ()> {
    let mut spaces = take_while1::<_, _, Failure>(|c| c == b' ');
    match spaces.parse(i) {
        Ok((rest, _)) if !rest.is_empty() => Ok((rest, ())),
        _ => Err(nom::Err::Error(Failure {
            fields: next as usize,
            error: None,
        })),
    }
}

/// The first field: everything up to the first space.
fn first_token(i: &[u8]) -> Res<'_, &[u8]> {
    let end = memchr(b' ', i).unwrap_or(i.len());
    if end == 0 {
        return Err(nom::Err::Error(Failure {
            fields: 0,
            error: None,
        }));
    }
    Ok((&i[end..], &i[..end]))
}

/// A separator, then one unquoted field.
fn token(i: &[u8], field: Field) -> Res<'_, &[u8]> {
    let (i, ()) = separator(i, field)?;
    let end = memchr(b' ', i).unwrap_or(i.len());
    Ok((&i[end..], &i[..end]))
}

/// `[06/Feb/2019:00:00:38 +0000]`, converted to seconds since the epoch, in UTC.
fn timestamp(i: &[u8]) -> Res<'_, i64> {
    let bad = |i: &[u8]| {
        let end = i
            .iter()
            .position(|&c| c == b']')
            .map_or(i.len().min(28), |p| p + 1);
        invalid(Field::Time, Problem::NotATime(shown(&i[..end])))
    };
    let Some(t) = i.get(..28) else {
        return bad(i);
    };
    if t[0] != b'[' || t[27] != b']' || t[3] != b'/' || t[7] != b'/' || t[12] != b':' {
        return bad(i);
    }
    if t[15] != b':' || t[18] != b':' || t[21] != b' ' || !matches!(t[22], b'+' | b'-') {
        return bad(i);
    }
    let digits = |from: usize, to: usize| -> Option<i64> {
        t[from..to].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let month = match &t[4..7] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return bad(i),
    };
    let parts = (
        digits(1, 3),
        digits(8, 12),
        digits(13, 15),
        digits(16, 18),
        digits(19, 21),
        digits(23, 25),
        digits(25, 27),
    );
    let (Some(day), Some(year), Some(hour), Some(min), Some(sec), Some(oh), Some(om)) = parts
    else {
        return bad(i);
    };
    if day < 1 || day > days_in_month(year, month) || hour > 23 || min > 59 || sec > 60 {
        return bad(i);
    }
    if oh > 23 || om > 59 {
        return bad(i);
    }
    let offset = (oh * 3600 + om * 60) * if t[22] == b'-' { -1 } else { 1 };
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    Ok((&i[28..], local - offset))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn remote_ip(v: &[u8]) -> Result<Option<IpAddr>, nom::Err<Failure>> {
    if v == b"-" {
        return Ok(None);
    }
    if let Some(v4) = ipv4(v) {
        return Ok(Some(IpAddr::V4(v4)));
    }
    match std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()) {
        Some(ip) => Ok(Some(ip)),
        None => invalid(Field::RemoteIp, Problem::NotAnIp(shown(v))).map(|(_, ip)| ip),
    }
}

/// Dotted-quad IPv4 straight from bytes: four decimal octets, no leading zeros.
pub fn ipv4(v: &[u8]) -> Option<Ipv4Addr> {
    if v.len() < 7 || v.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut parts = v.split(|&c| c == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut n: u16 = 0;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(c - b'0');
        }
        *octet = u8::try_from(n).ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

fn status(v: &[u8]) -> Result<Option<u16>, nom::Err<Failure>> {
    match v {
        b"-" => Ok(None),
        [a, b, c] if v.iter().all(u8::is_ascii_digit) => Ok(Some(
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
        )),
        _ => invalid(Field::HttpStatus, Problem::NotAStatus(shown(v))).map(|(_, s)| s),
    }
}

fn number(v: &[u8], field: Field) -> Result<Option<u64>, nom::Err<Failure>> {
    if v == b"-" {
        return Ok(None);
    }
    let parsed = (!v.is_empty() && v.len() <= 20)
        .then(|| {
            v.iter().try_fold(0u64, |acc, &c| {
                if c.is_ascii_digit() {
                    acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
                } else {
                    None
                }
            })
        })
        .flatten();
    match parsed {
        Some(n) => Ok(Some(n)),
        None => invalid(field, Problem::NotANumber(shown(v))).map(|(_, n)| n),
    }
}

/// How well the text after a candidate closing quote of the request-URI fits the
/// fields that follow it: status, error code, four numbers, then the referer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fit {
    /// Not like the fields after a request-URI.
    None,
    /// Everything fits but one field: that field is what is wrong.
    ButOne,
    /// Everything fits.
    Full,
}

fn after_request_uri(after: &[u8]) -> Fit {
    let mut rest = after;
    // The next token, or `None` at the end of the line (a truncated record fits as far
    // as it goes: the parser then reports the truncation).
    let mut next = || {
        rest = skip_spaces(rest);
        if rest.is_empty() {
            return None;
        }
        let end = memchr(b' ', rest).unwrap_or(rest.len());
        let (tok, tail) = rest.split_at(end);
        rest = tail;
        Some(tok)
    };
    let is_status = |t: &[u8]| t == b"-" || (t.len() == 3 && t.iter().all(u8::is_ascii_digit));
    let is_number = |t: &[u8]| t == b"-" || t.iter().all(u8::is_ascii_digit);
    let mut misfits = usize::from(!next().is_none_or(is_status));
    let _error_code = next();
    misfits += (0..4).filter(|_| !next().is_none_or(is_number)).count();
    misfits += usize::from(!next().is_none_or(|referer| referer[0] == b'"' || referer == b"-"));
    match misfits {
        0 => Fit::Full,
        1 => Fit::ButOne,
        _ => Fit::None,
    }
}

/// Does the text after a closing quote of the referer start like a user-agent (`"…`
/// or a bare `-`)?
fn after_referer(after: &[u8]) -> Fit {
    match skip_spaces(after) {
        [b'"', ..] | [b'-'] | [b'-', b' ', ..] => Fit::Full,
        _ => Fit::None,
    }
}

fn skip_spaces(i: &[u8]) -> &[u8] {
    let n = i.iter().take_while(|&&c| c == b' ').count();
    &i[n..]
}

/// A quoted field or a bare `-`. Inner quotes are not escaped in S3 logs, so the
/// closing quote is the first quote followed by a space (or the end of the line)
/// after which `fit` fully recognises the fields that follow; failing that, the first
/// one after which they fit but for one field, so that this field reports what is
/// wrong; failing that, the quote is unterminated.
fn quoted<'a>(i: &'a [u8], field: Field, fit: fn(&[u8]) -> Fit) -> Res<'a, Option<&'a [u8]>> {
    if let Some(rest) = bare_dash(i) {
        return Ok((rest, None));
    }
    if i.first() != Some(&b'"') {
        let end = memchr(b' ', i).unwrap_or(i.len());
        return invalid(field, Problem::NotQuoted(shown(&i[..end])));
    }
    let mut fallback = None;
    for q in memchr_iter(b'"', &i[1..]).map(|q| q + 1) {
        let after = &i[q + 1..];
        if !(after.is_empty() || after[0] == b' ') {
            continue;
        }
        match fit(after) {
            Fit::Full => return Ok((after, dash(&i[1..q]))),
            Fit::ButOne => {
                fallback.get_or_insert(q);
            }
            Fit::None => {}
        }
    }
    match fallback {
        Some(q) => Ok((&i[q + 1..], dash(&i[1..q]))),
        None => invalid(field, Problem::Unterminated),
    }
}

/// The user-agent: a bare `-`, or quoted up to the last quote of the line that ends a
/// field (no later field is ever quoted, while user agents may contain `" `).
fn user_agent(i: &[u8]) -> Res<'_, Option<&[u8]>> {
    if let Some(rest) = bare_dash(i) {
        return Ok((rest, None));
    }
    if i.first() != Some(&b'"') {
        let end = memchr(b' ', i).unwrap_or(i.len());
        return invalid(Field::UserAgent, Problem::NotQuoted(shown(&i[..end])));
    }
    let close = memrchr_iter(b'"', i)
        .take_while(|&q| q > 0)
        .find(|&q| i.get(q + 1).is_none_or(|&c| c == b' '));
    match close {
        Some(q) => Ok((&i[q + 1..], dash(&i[1..q]))),
        None => invalid(Field::UserAgent, Problem::Unterminated),
    }
}

fn bare_dash(i: &[u8]) -> Option<&[u8]> {
    match i {
        [b'-'] => Some(&i[1..]),
        [b'-', b' ', ..] => Some(&i[1..]),
        _ => None,
    }
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
        ] {
            assert_eq!(ipv4(s.as_bytes()), s.parse().ok(), "{s}");
        }
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }
}
