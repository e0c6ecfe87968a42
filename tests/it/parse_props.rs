//! Property tests of the line parser: every record S3 could write parses to exactly its
//! fields, and no input at all makes it panic or disagree with itself.

use std::net::IpAddr;
use std::time::Instant;

use chrono::{FixedOffset, NaiveDate, TimeZone};
use proptest::collection::vec;
use proptest::prelude::*;
use vpce_audit::parse::{LineParser, ParseError};
use vpce_audit::record::{Field, Record};

use crate::oracle;

/// One record as S3 would write it, with the values the parser must return.
#[derive(Clone, Debug)]
struct Generated {
    line: Vec<u8>,
    bucket_owner: Option<Vec<u8>>,
    bucket: Option<Vec<u8>>,
    time: i64,
    remote_ip: Option<IpAddr>,
    requester: Option<Vec<u8>>,
    request_id: Option<Vec<u8>>,
    operation: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    request_uri: Option<Vec<u8>>,
    http_status: Option<u16>,
    error_code: Option<Vec<u8>>,
    numbers: [Option<u64>; 4],
    referer: Option<Vec<u8>>,
    user_agent: Option<Vec<u8>>,
    /// The fields after the user agent (0 to 10 of them, one per era).
    later: Vec<Option<Vec<u8>>>,
}

/// Bytes of an unquoted field: anything but space, quote and line ends, hostile
/// controls and multi-byte UTF-8 included.
fn token_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        8 => (b'!'..=b'~').prop_filter("no quote", |&c| c != b'"'),
        1 => prop::sample::select(vec![0x1b, 0x08, 0x07, 0x00, 0x7f, 0x9b, 0xc3, 0xa9, 0xff]),
    ]
}

/// An unquoted field's text (never a lone `-`, which means "no value").
fn token() -> impl Strategy<Value = Vec<u8>> {
    vec(token_byte(), 1..24).prop_filter("a lone dash is no value", |t| t != b"-")
}

/// A field that may be `-`.
fn maybe<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![1 => Just(None), 4 => s.prop_map(Some)]
}

/// A request line as S3 logs it: method, target, protocol, with the target's quotes
/// (which S3 does not escape) kept raw.
fn request_line() -> impl Strategy<Value = Vec<u8>> {
    let target = vec(prop_oneof![8 => token_byte(), 1 => Just(b'"')], 1..40);
    (
        prop::sample::select(vec!["GET", "PUT", "HEAD", "POST", "DELETE"]),
        target,
        prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0", "HTTP/2.0"]),
    )
        .prop_map(|(method, target, proto)| {
            let mut v = method.as_bytes().to_vec();
            v.push(b' ');
            v.extend(target);
            v.push(b' ');
            v.extend(proto.as_bytes());
            v
        })
}

/// Free text inside quotes: spaces and quotes anywhere (S3 writes them raw).
fn quoted_text() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![6 => token_byte(), 2 => Just(b' '), 1 => Just(b'"'), 1 => Just(b'\t')],
        0..60,
    )
}

/// A referer: free text, except that a quote followed by blanks and then a quote or
/// a dash would end it there (the text is ambiguous and S3 cannot be asked).
fn referer() -> impl Strategy<Value = Vec<u8>> {
    quoted_text().prop_filter("unambiguous end", |t| {
        t.windows(2).all(|w| !(w[0] == b'"' && w[1] == b' '))
    })
}

/// Does `text` hold a quote, blanks and a quote: a place where a quoted field could end
/// and the next begin (`a" "b` in a user agent reads as well as referer `…a` and user
/// agent `b`)?
fn quote_blanks_quote(text: &[u8]) -> bool {
    text.iter().enumerate().any(|(i, &c)| {
        c == b'"' && {
            let blanks = text[i + 1..].iter().take_while(|&&b| b == b' ').count();
            blanks > 0 && text.get(i + 1 + blanks) == Some(&b'"')
        }
    })
}

/// A user agent: free text, but without a quote, blanks and a quote, counting the
/// one that opens it (ambiguous).
fn user_agent() -> impl Strategy<Value = Vec<u8>> {
    quoted_text().prop_filter("unambiguous end", |t| {
        !quote_blanks_quote(&[&b"\""[..], t].concat())
    })
}

/// A timestamp: `[dd/Mon/yyyy:hh:mm:ss ±hhmm]` and its seconds since the epoch, as
/// chrono computes them.
fn timestamp() -> impl Strategy<Value = (String, i64)> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    (
        1970i32..2200,
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..60,
        -(23i32 * 60 + 59)..=(23 * 60 + 59),
    )
        .prop_filter_map("a real date", move |(y, m, d, hh, mm, ss, off)| {
            let date = NaiveDate::from_ymd_opt(y, m, d)?;
            let zone = FixedOffset::east_opt(off * 60)?;
            let local = date.and_hms_opt(hh, mm, ss)?;
            let secs = zone.from_local_datetime(&local).single()?.timestamp();
            let sign = if off < 0 { '-' } else { '+' };
            let text = format!(
                "[{d:02}/{}/{y:04}:{hh:02}:{mm:02}:{ss:02} {sign}{:02}{:02}]",
                MONTHS[m as usize - 1],
                off.abs() / 60,
                off.abs() % 60
            );
            Some((text, secs))
        })
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(IpAddr::from),
    ]
}

/// A field after the user agent: ids, names and flags without quotes.
fn later_field() -> impl Strategy<Value = Vec<u8>> {
    token()
}

/// The fields after the user agent (0 to 10 of them, one per era). The host header,
/// the sixth, is a host name whenever the field is written, as S3 writes it: six
/// fields of `-` or digits after the user agent's quote would read like the status,
/// error code and numbers of a request-URI ending there, and a record written so
/// would be ambiguous.
fn later_fields() -> impl Strategy<Value = Vec<Option<Vec<u8>>>> {
    let host = "[a-z][a-z0-9.-]{0,30}".prop_map(String::into_bytes);
    (vec(maybe(later_field()), 0..=10), host).prop_map(|(mut fields, host)| {
        if let Some(slot) = fields.get_mut(5) {
            *slot = Some(host);
        }
        fields
    })
}

/// Separators: S3 writes one space; the parser also takes runs of them.
fn sep() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just(" "), 1 => Just("  ")]
}

fn record() -> impl Strategy<Value = Generated> {
    let head = (
        maybe(token()),
        maybe(token()),
        timestamp(),
        maybe(ip()),
        maybe(token()),
        maybe(token()),
        maybe(token()),
        maybe(token()),
    );
    let middle = (
        prop_oneof![1 => Just(None), 1 => Just(Some(None)), 4 => request_line().prop_map(|l| Some(Some(l)))],
        maybe(100u16..=599),
        maybe(token()),
        [
            maybe(any::<u64>()),
            maybe(any::<u64>()),
            maybe(any::<u64>()),
            maybe(any::<u64>()),
        ],
    );
    let tail = (
        prop_oneof![1 => Just(None), 1 => Just(Some(None)), 4 => referer().prop_map(|r| Some(Some(r)))],
        prop_oneof![1 => Just(None), 1 => Just(Some(None)), 4 => user_agent().prop_map(|u| Some(Some(u)))],
        later_fields(),
        vec(sep(), 26),
        prop::sample::select(vec!["", "\r", "  ", " \t\r"]),
    );
    (head, middle, tail).prop_map(|(head, middle, tail)| {
        let (owner, bucket, (time_text, time), remote_ip, requester, request_id, operation, key) =
            head;
        let (uri, http_status, error_code, numbers) = middle;
        let (referer, user_agent, later, seps, end) = tail;
        let dash = |v: &Option<Vec<u8>>| v.clone().unwrap_or_else(|| b"-".to_vec());
        // A quoted field: None is a bare `-`, Some(None) a quoted `"-"`.
        let quoted = |v: &Option<Option<Vec<u8>>>| match v {
            None => b"-".to_vec(),
            Some(inner) => [&b"\""[..], &dash(inner), b"\""].concat(),
        };
        let mut fields: Vec<Vec<u8>> = vec![
            dash(&owner),
            dash(&bucket),
            time_text.into_bytes(),
            remote_ip.map_or(b"-".to_vec(), |ip| ip.to_string().into_bytes()),
            dash(&requester),
            dash(&request_id),
            dash(&operation),
            dash(&key),
            quoted(&uri),
            http_status.map_or(b"-".to_vec(), |s| s.to_string().into_bytes()),
            dash(&error_code),
        ];
        fields.extend(
            numbers
                .iter()
                .map(|n| n.map_or(b"-".to_vec(), |n| n.to_string().into_bytes())),
        );
        fields.push(quoted(&referer));
        fields.push(quoted(&user_agent));
        fields.extend(later.iter().map(dash));
        let mut line = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                line.extend(seps[i - 1].as_bytes());
            }
            line.extend(f);
        }
        line.extend(end.as_bytes());
        let flat = |v: Option<Option<Vec<u8>>>| v.flatten().filter(|t| t != b"-");
        Generated {
            line,
            bucket_owner: owner,
            bucket,
            time,
            remote_ip,
            requester,
            request_id,
            operation,
            key,
            request_uri: flat(uri),
            http_status,
            error_code,
            numbers,
            referer: flat(referer),
            user_agent: flat(user_agent),
            later,
        }
    })
}

fn assert_fields(g: &Generated, r: &Record<'_>, later: bool) {
    fn b(v: &Option<Vec<u8>>) -> Option<&[u8]> {
        v.as_deref()
    }
    assert_eq!(r.bucket_owner, b(&g.bucket_owner));
    assert_eq!(r.bucket, b(&g.bucket));
    assert_eq!(r.time, g.time);
    assert_eq!(r.remote_ip, g.remote_ip);
    assert_eq!(r.requester, b(&g.requester));
    assert_eq!(r.request_id, b(&g.request_id));
    assert_eq!(r.operation, b(&g.operation));
    assert_eq!(r.key, b(&g.key));
    assert_eq!(r.request_uri, b(&g.request_uri));
    assert_eq!(r.http_status, g.http_status);
    assert_eq!(r.error_code, b(&g.error_code));
    assert_eq!(
        [
            r.bytes_sent,
            r.object_size,
            r.total_time,
            r.turn_around_time
        ],
        g.numbers
    );
    assert_eq!(r.referer, b(&g.referer));
    assert_eq!(r.user_agent, b(&g.user_agent));
    let got = [
        r.version_id,
        r.host_id,
        r.signature_version,
        r.cipher_suite,
        r.authentication_type,
        r.host_header,
        r.tls_version,
        r.access_point_arn,
        r.acl_required,
        r.source_region,
    ];
    for (i, value) in got.iter().enumerate() {
        let expected = if later {
            g.later.get(i).and_then(|v| v.as_deref())
        } else {
            None
        };
        assert_eq!(*value, expected, "field {}", 18 + i);
    }
}

/// Inputs built from the pieces of records, to reach deep into the grammar.
fn log_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b" "[..],
        b"\"",
        b"-",
        b"\" ",
        b" \"",
        b"200",
        b"1",
        b"o b [06/Feb/2019:00:00:38 +0000] 10.0.0.1 r i O k ",
        b"[06/Feb/2019:00:00:38 +0000]",
        b"2001:db8::1",
        b"\"GET / HTTP/1.1\"",
        b"\r",
        b"\t",
        b"\xff",
        b"\x1b[2J",
    ]);
    vec(piece, 0..80).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_generated_record_parses_to_exactly_its_fields(g in record()) {
        let full = LineParser::new().parse(&g.line);
        let shown = String::from_utf8_lossy(&g.line).into_owned();
        let full = full.unwrap_or_else(|e| panic!("{e}: {shown}"));
        assert_fields(&g, &full, true);
        let head = LineParser::required_only().parse(&g.line).unwrap();
        assert_fields(&g, &head, false);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_both_parsers_agree(data in vec(any::<u8>(), 0..400)) {
        oracle::parse_line(&data);
    }

    #[test]
    fn log_like_bytes_never_panic_and_both_parsers_agree(data in log_like_bytes()) {
        oracle::parse_line(&data);
    }
}

/// A record as S3 writes a request, its three free-text fields quoted.
fn request_record(uri: &[u8], referer: &[u8], agent: &[u8]) -> Vec<u8> {
    [
        UP_TO_URI,
        b"\"",
        uri,
        b"\" 200 - 512 512 10 4 \"",
        referer,
        b"\" \"",
        agent,
        b"\" - HOSTID SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader b.s3.amazonaws.com TLSv1.2",
    ]
    .concat()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A requester who writes `" 403 AccessDenied 243 - 1 1 "` into a URI offers a
    /// second place where it could end, with other status and numbers after it: the
    /// line is rejected as ambiguous, whichever reading would have been picked.
    #[test]
    fn a_request_uri_with_a_second_place_to_end_is_rejected_as_ambiguous(
        head in vec(token_byte(), 0..20),
        tail in vec(token_byte(), 0..20),
        status in prop_oneof![(100u16..=599).prop_map(|s| s.to_string()), Just("-".to_string())],
        numbers in [maybe(any::<u64>()), maybe(any::<u64>()), maybe(any::<u64>()), maybe(any::<u64>())],
        referer in referer(),
        agent in user_agent(),
    ) {
        let numbers: Vec<String> = numbers
            .iter()
            .map(|n| n.map_or("-".to_string(), |n| n.to_string()))
            .collect();
        let fake = format!("\" {status} AccessDenied {} \"", numbers.join(" "));
        let uri = [&b"GET /"[..], &head, fake.as_bytes(), &tail, b" HTTP/1.1"].concat();
        let line = request_record(&uri, &referer, &agent);
        for mut p in [LineParser::new(), LineParser::required_only()] {
            prop_assert_eq!(
                p.parse(&line),
                Err(ParseError::Ambiguous { field: Field::RequestUri })
            );
        }
        // Without the quote that opens the fake referer, only one reading is left.
        let honest = [&b"GET /"[..], &head, fake.trim_end_matches('"').as_bytes(), &tail, b" HTTP/1.1"].concat();
        let line = request_record(&honest, &referer, &agent);
        let r = LineParser::new().parse(&line).unwrap();
        prop_assert_eq!(r.request_uri, Some(&honest[..]));
        prop_assert_eq!(r.http_status, Some(200));
    }

    /// `a" "b` in a referer or a user agent could be the end of the referer and the
    /// start of the user agent: ambiguous, rejected.
    #[test]
    fn a_quote_blanks_quote_in_the_referer_or_user_agent_is_rejected_as_ambiguous(
        a in vec(token_byte(), 0..12),
        b in vec(token_byte(), 0..12),
        blanks in 1usize..3,
        in_agent in any::<bool>(),
        uri in request_line(),
    ) {
        let both = [&a[..], b"\"", &b" ".repeat(blanks), b"\"", &b].concat();
        let line = if in_agent {
            request_record(&uri, b"-", &both)
        } else {
            request_record(&uri, &both, b"Mozilla/5.0")
        };
        for mut p in [LineParser::new(), LineParser::required_only()] {
            prop_assert_eq!(
                p.parse(&line),
                Err(ParseError::Ambiguous { field: Field::Referer })
            );
        }
    }
}

/// A prefix that reaches the request-URI, the start of the quoted fields.
const UP_TO_URI: &[u8] = b"owner bkt [06/Feb/2019:00:00:38 +0000] 10.0.0.1 - ID REST.GET.OBJECT k ";

/// The closing quote of a quoted field is searched among many candidates, each checked
/// against a bounded look-ahead: lines made of nothing but candidates are read to the
/// right result (their cost is bounded by
/// `quote_heavy_lines_cost_a_bounded_multiple_of_ordinary_records_per_byte`).
#[test]
fn lines_of_quotes_and_spaces_cost_linear_time() {
    let mut parsers = [LineParser::new(), LineParser::required_only()];
    // 60 KiB of `" ` after a record's start, a hundred times: 6 MB in all, where a
    // quadratic search would take hours.
    let mut line = UP_TO_URI.to_vec();
    line.extend(b"\" ".repeat(30 * 1024));
    for _ in 0..100 {
        for p in &mut parsers {
            assert!(p.parse(&line).is_err());
        }
    }
    // 1 MB lines, parsed directly (the line splitter would stop them at 64 KiB).
    let shapes: [&[u8]; 5] = [b"\" ", b"\"", b" ", b"\"\" ", b"\" 200 - 1 2 3 4 "];
    for shape in shapes {
        for prefix in [&b""[..], UP_TO_URI] {
            let mut line = prefix.to_vec();
            line.push(b'"');
            while line.len() < 1 << 20 {
                line.extend(shape);
            }
            for p in &mut parsers {
                let _ = p.parse(&line);
            }
        }
    }
    // 100 000 fields that each look like a closing quote of the referer: each one
    // could be its end, so the line is ambiguous, found in one pass.
    let mut line = UP_TO_URI.to_vec();
    line.extend(b"\"GET / HTTP/1.1\" 200 - 1 2 3 4 \"");
    line.extend(b"x\" \"".repeat(100_000));
    for p in &mut parsers {
        assert_eq!(
            p.parse(&line),
            Err(ParseError::Ambiguous {
                field: Field::Referer
            })
        );
    }
    // 100 000 places where the request-URI could end.
    let mut line = UP_TO_URI.to_vec();
    line.push(b'"');
    line.extend(b"GET /x\" 200 - 1 2 3 4 \"".repeat(100_000));
    line.extend(b"y\" \"ua\"");
    for p in &mut parsers {
        assert_eq!(
            p.parse(&line),
            Err(ParseError::Ambiguous {
                field: Field::RequestUri
            })
        );
    }
}

/// Nanoseconds per byte that `parsers` take on `lines`, the least of three tries (the
/// try least disturbed by other work on the machine).
fn nanos_per_byte(parsers: &mut [LineParser], lines: &[Vec<u8>]) -> f64 {
    let bytes = lines.iter().map(Vec::len).sum::<usize>() * parsers.len();
    let fastest = (0..3)
        .map(|_| {
            let start = Instant::now();
            for p in parsers.iter_mut() {
                for line in lines {
                    std::hint::black_box(p.parse(line).is_ok());
                }
            }
            start.elapsed().as_nanos()
        })
        .min()
        .unwrap();
    fastest as f64 / bytes as f64
}

/// How many times more a byte of a hostile line may cost than a byte of ordinary
/// records. The look-ahead of at most seven tokens per candidate quote keeps the ratio
/// constant whatever the length: about 60 for the worst shape here (`" ` after the
/// request-URI's quote: every other byte a candidate), 10 or less for the others.
/// A search that rereads the rest of the line per candidate makes the ratio grow with
/// the length, past this bound by lines of 64 KiB.
const COST_BOUND: f64 = 400.0;

/// Lines of quotes and spaces cost a bounded multiple per byte of what ordinary records
/// cost, measured in the same run (no wall-clock limit): a linear parser stays under
/// [`COST_BOUND`] at every length from 4 KiB to 256 KiB, a quadratic one fails at a
/// short length, quickly.
#[test]
fn quote_heavy_lines_cost_a_bounded_multiple_of_ordinary_records_per_byte() {
    let mut parsers = [LineParser::new(), LineParser::required_only()];
    let mut logs = Vec::new();
    vpce_audit::synth::write_logs(&mut logs, 3, 3000).unwrap();
    let records: Vec<Vec<u8>> = logs
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let baseline = nanos_per_byte(&mut parsers, &records);
    let to_referer = [UP_TO_URI, b"\"GET / HTTP/1.1\" 200 - 1 2 3 4 "].concat();
    let shapes: [&[u8]; 6] = [
        b"\" ",
        b"\"",
        b" ",
        b"\"\" ",
        b"\" 200 - 1 2 3 4 ",
        b"x\" \"",
    ];
    for shape in shapes {
        for prefix in [&b""[..], UP_TO_URI, &to_referer] {
            let mut length = 4 << 10;
            while length <= 256 << 10 {
                let mut line = prefix.to_vec();
                line.push(b'"');
                while line.len() < length {
                    line.extend(shape);
                }
                let ratio = nanos_per_byte(&mut parsers, std::slice::from_ref(&line)) / baseline;
                eprintln!(
                    "RATIO {} {} {length} {ratio:.2}",
                    String::from_utf8_lossy(shape),
                    prefix.len()
                );
                assert!(
                    ratio < COST_BOUND,
                    "{length} bytes of {:?} after {:?}: {ratio:.1} times the cost per byte of records",
                    String::from_utf8_lossy(shape),
                    String::from_utf8_lossy(prefix),
                );
                length *= 4;
            }
        }
    }
}
