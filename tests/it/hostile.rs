//! End-to-end: hostile and broken input through the real binary. Log fields are chosen
//! by whoever sends a request, file names and S3 keys by whoever writes the bucket:
//! nothing of it may reach a terminal, a spreadsheet, a JSON reader or a browser as
//! anything but text, and no broken input may cost the rest of the run.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::{self, gzip, vpce};

/// ESC[2J (clear screen), vertical tab, backspace, BEL, the C1 CSI (U+009B) and a
/// right-to-left override (U+202E): every way a value could rewrite what a terminal
/// shows. (A carriage return inside a line rejects the line: `line_ends` tests it.)
const CONTROLS: &[u8] = b"\x1b[2J\x0b\x08\x07\xc2\x9b31m\xe2\x80\xae";

/// A record on 2022-05-09 at `hh:mm`, with the fields a test makes hostile; `referer`
/// and `user_agent` are written inside quotes as S3 does (without escaping).
#[derive(Clone, Copy)]
struct Rec<'a> {
    bucket: &'a [u8],
    time: &'a str,
    ip: &'a str,
    requester: &'a [u8],
    key: &'a [u8],
    status: &'a str,
    referer: &'a [u8],
    user_agent: &'a [u8],
}

impl Default for Rec<'_> {
    fn default() -> Self {
        Rec {
            bucket: b"plain-bucket",
            time: "10:00",
            ip: "10.0.0.1",
            requester: b"arn:aws:iam::111122223333:user/alice",
            key: b"data/a.bin",
            status: "200",
            referer: b"-",
            user_agent: b"aws-cli/2.7.0",
        }
    }
}

impl Rec<'_> {
    fn line(&self) -> Vec<u8> {
        let mut l = Vec::new();
        l.extend(b"owner ");
        l.extend(self.bucket);
        l.extend(format!(" [09/May/2022:{}:00 +0000] {} ", self.time, self.ip).as_bytes());
        l.extend(self.requester);
        l.extend(b" REQID REST.GET.OBJECT ");
        l.extend(self.key);
        l.extend(b" \"GET /");
        l.extend(self.key);
        l.extend(format!(" HTTP/1.1\" {} - 100 100 1 1 \"", self.status).as_bytes());
        l.extend(self.referer);
        l.extend(b"\" \"");
        l.extend(self.user_agent);
        l.extend(b"\"\n");
        l
    }
}

fn lines(records: &[Rec<'_>]) -> Vec<u8> {
    records.iter().flat_map(Rec::line).collect()
}

/// A file name made of raw bytes (Linux allows any but `/` and NUL).
fn raw_path(dir: &Path, name: &[u8]) -> PathBuf {
    dir.join(std::ffi::OsStr::from_bytes(name))
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn run(args: &[&std::ffi::OsStr]) -> (i32, Vec<u8>, Vec<u8>) {
    let out = vpce().args(args).output().unwrap();
    (out.status.code().expect("exited"), out.stdout, out.stderr)
}

macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new($a)),*] };
}

/// Characters that must never reach a terminal raw: controls (but the newline ending a
/// line of output) and bidirectional overrides and isolates.
fn assert_terminal_safe(what: &str, out: &[u8]) {
    let text = std::str::from_utf8(out).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    let raw = text.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    });
    assert_eq!(raw, None, "{what}: raw control character in:\n{text}");
}

/// Asserts the hostile controls are shown, escaped, in `out`.
fn assert_shows_escaped(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    assert!(
        text.contains(r"\x1b[2J\x0b\x08\x07\u{9b}31m\u{202e}"),
        "{what}: the escaped controls are missing from:\n{text}"
    );
}

/// A folder with one log whose bucket, requester, key, referer and user agent carry
/// the controls (the requester switches from the endpoint to the internet, so it
/// shows in the transitions), one rejected line quoting them, and a file name that
/// carries them too.
fn hostile_logs() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let name = [&b"hostile-"[..], CONTROLS, b".log"].concat();
    let path = raw_path(dir.path(), &name);
    let bucket = [&b"bkt-"[..], CONTROLS].concat();
    let requester = [&b"evil"[..], CONTROLS].concat();
    let key = [&b"k-"[..], CONTROLS].concat();
    let text = [&b"ua "[..], CONTROLS, b" end"].concat();
    let base = Rec {
        bucket: &bucket,
        requester: &requester,
        key: &key,
        referer: &text,
        user_agent: &text,
        ..Rec::default()
    };
    let mut data = lines(&[
        Rec { ..base },
        Rec {
            time: "10:30",
            ip: "52.79.54.241",
            ..base
        },
    ]);
    let bad_ip = [
        &b"o b [09/May/2022:10:00:00 +0000] "[..],
        CONTROLS,
        b" - I O k - 200 - 1 1 1 1 - -\n",
    ]
    .concat();
    data.extend(bad_ip);
    std::fs::write(&path, data).unwrap();
    (dir, path)
}

#[test]
fn accounting_holds_on_mixed_good_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let good = Rec::default().line();
    let mut mixed = Vec::new();
    for i in 0..50 {
        mixed.extend(&good);
        match i % 5 {
            0 => mixed.extend(b"garbage that is not a record\n"),
            1 => mixed.extend(b"\x00\x01\x02\xff\xfe binary\n"),
            2 => mixed.extend(&good[..good.len() / 2]), // cut mid-record...
            3 => mixed.extend(b"\n   \n\r\n"),          // blank lines: not lines
            _ => mixed.extend(vec![b'x'; 70 * 1024]),   // over the 64 KiB limit
        }
        if i % 5 == 2 {
            mixed.push(b'\n'); // ...then ended
        }
        if i % 5 == 4 {
            mixed.push(b'\n');
        }
    }
    // 50 good, 40 rejected (10 of each kind), 30 blank.
    std::fs::write(dir.path().join("mixed.log"), &mixed).unwrap();
    std::fs::write(dir.path().join("mixed.log.gz"), gzip(&mixed)).unwrap();
    std::fs::write(
        dir.path().join("last-line-unterminated.log"),
        &good[..good.len() - 1],
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();

    let r = util::report_json(&[d], 0);
    let s = &r["summary"];
    let counts = |s: &Value| {
        [
            &s["lines"],
            &s["parsed"],
            &s["rejected"],
            &s["blank_lines"],
            &s["inputs"],
        ]
        .map(|v| v.as_u64().unwrap())
    };
    assert_eq!(counts(s), [2 * 90 + 1, 2 * 50 + 1, 2 * 40, 2 * 30, 3]);
    assert_eq!(r["rejections"].as_array().unwrap().len(), 80);
    let too_long = r["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| {
            x["reason"]
                .as_str()
                .unwrap()
                .starts_with("line of 71680 bytes is longer than the 64 KiB limit")
        })
        .count();
    assert_eq!(too_long, 20);

    // check and requests account for the same lines (80 of 181 rejected: a check
    // fails on that unless told the share is fine).
    let (code, out, err) = run(args![
        "check",
        "--require-private",
        "*",
        "--max-rejected",
        "100%",
        "--format",
        "json",
        d
    ]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let c = util::check_doc(&out);
    assert_eq!(
        [
            &c["summary"]["lines"],
            &c["summary"]["parsed"],
            &c["summary"]["rejected"]
        ]
        .map(|v| v.as_u64().unwrap()),
        [181, 101, 80]
    );
    let (code, out, err) = run(args!["requests", "--format", "ndjson", d]);
    assert_eq!(code, 0);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 101);
    assert!(String::from_utf8_lossy(&err).contains("vpce-audit: 80 of 181 lines rejected"));
}

/// The rejections of a JSON report as (line, reason).
fn rejections(report: &Value) -> Vec<(u64, String)> {
    report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["line"].as_u64().unwrap(),
                x["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_request_uri_that_reads_like_a_denied_request_is_rejected_as_ambiguous() {
    // A public download that succeeded (200, 5 MB) whose URI carries what a 403 with
    // 243 bytes looks like: read at the first fitting quote, it became a blocked
    // attempt and the bucket looked denied-only.
    let dir = tempfile::tempdir().unwrap();
    let steered = "owner plain-bucket [09/May/2022:10:30:00 +0000] 52.79.54.241 \
        arn:aws:iam::111122223333:user/alice REQID REST.GET.OBJECT b/secret.csv \
        \"GET /b/secret.csv?x=\" 403 AccessDenied 243 - 1 1 \"y HTTP/1.1\" 200 - 5000000 5000000 \
        12 10 \"-\" \"curl/8.0\"\n";
    let log = [Rec::default().line(), steered.as_bytes().to_vec()].concat();
    let path = dir.path().join("steered.log");
    std::fs::write(&path, log).unwrap();
    let r = util::report_json(&[path.to_str().unwrap()], 0);
    assert_eq!(
        rejections(&r),
        [(
            2,
            "ambiguous: the request-URI field (#9) can end at more than one of its quotes, \
              and the fields after it differ with each; the line is not read"
                .to_string()
        )]
    );
    let b = util::bucket(&r, "plain-bucket");
    assert_eq!(
        (b["requests"].as_u64(), b["public_denied"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(b["verdict"], "private-only");
    // --strict turns the rejection into a failed run.
    let (code, _, err) = run(args!["--strict", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(String::from_utf8_lossy(&err).contains("steered.log:2: rejected: ambiguous"));
}

#[test]
fn line_ends_lf_crlf_and_a_lone_cr_each_count_or_reject_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let record = |ip: &str| {
        let mut l = Rec {
            ip,
            ..Rec::default()
        }
        .line();
        l.pop(); // the newline
        l
    };
    let (private, public) = (record("10.0.0.1"), record("52.79.54.241"));
    let cases: [(&str, Vec<u8>, [u64; 3]); 4] = [
        (
            "lf.log",
            [&private[..], b"\n", &public, b"\n"].concat(),
            [2, 2, 0],
        ),
        (
            "crlf.log",
            [&private[..], b"\r\n", &public, b"\r\n"].concat(),
            [2, 2, 0],
        ),
        // A lone CR is no line end: the line holding three records is rejected, not
        // read as one record with the two others inside its user agent.
        (
            "cr.log",
            [&private[..], b"\r", &public, b"\r", &public, b"\r"].concat(),
            [1, 0, 1],
        ),
        (
            "mixed.log",
            [
                &private[..],
                b"\r\n",
                &public,
                b"\r",
                &private,
                b"\n",
                &public,
                b"\n",
            ]
            .concat(),
            [3, 2, 1],
        ),
    ];
    for (name, data, [lines, parsed, rejected]) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        let r = util::report_json(&[path.to_str().unwrap()], 0);
        let s = &r["summary"];
        assert_eq!(
            [&s["lines"], &s["parsed"], &s["rejected"]].map(|v| v.as_u64().unwrap()),
            [lines, parsed, rejected],
            "{name}"
        );
        if rejected > 0 {
            let (line, reason) = &rejections(&r)[0];
            assert_eq!(*line, if name == "cr.log" { 1 } else { 2 }, "{name}");
            assert!(
                reason.starts_with("carriage return inside the line"),
                "{reason}"
            );
        }
        // The requests listing sees the same lines.
        let listed = util::requests_ndjson(&[path.to_str().unwrap()]);
        assert_eq!(listed.len() as u64, parsed, "{name}");
        assert!(listed
            .iter()
            .all(|v| !v["user_agent"].as_str().unwrap().contains("owner")));
    }
}

#[test]
fn table_output_and_stderr_show_controls_escaped() {
    let (dir, path) = hostile_logs();
    let d = dir.path().as_os_str();

    let (code, out, err) = run(&[d]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    for (what, bytes) in [("report table", &out), ("report stderr", &err)] {
        assert_terminal_safe(what, bytes);
        assert_shows_escaped(what, bytes);
    }
    let table = String::from_utf8(out).unwrap();
    assert!(table.contains("transitions between the VPC endpoint and the internet"));
    assert!(
        table.contains(r"evil\x1b[2J"),
        "requester escaped in transitions and accounts"
    );
    assert!(table.contains(r"bkt-\x1b[2J"), "bucket escaped");
    // The rejected line: its file name and the bad value, both escaped.
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains(r"hostile-\x1b[2J\x0b\x08\x07\u{9b}31m\u{202e}.log:3: rejected: remote IP field (#4): '\x1b[2J"),
        "{err}"
    );

    let (code, out, err) = run(&[std::ffi::OsStr::new("requests"), d]);
    assert_eq!(code, 0);
    for (what, bytes) in [("requests table", &out), ("requests stderr", &err)] {
        assert_terminal_safe(what, bytes);
        assert_shows_escaped(what, bytes);
    }
    assert!(
        String::from_utf8(out).unwrap().contains(r"k-\x1b[2J"),
        "key escaped"
    );

    let (code, out, err) = run(&[
        std::ffi::OsStr::new("check"),
        std::ffi::OsStr::new("--require-private"),
        std::ffi::OsStr::new("*"),
        path.as_os_str(),
    ]);
    assert_eq!(code, 1, "the public request is a violation");
    for (what, bytes) in [("check table", &out), ("check stderr", &err)] {
        assert_terminal_safe(what, bytes);
        assert_shows_escaped(what, bytes);
    }
    let table = String::from_utf8(out).unwrap();
    assert!(table.contains(r"k-\x1b[2J"), "key in the violations");
    assert!(
        table.contains(r"hostile-\x1b[2J"),
        "file name in the violations"
    );
}

#[test]
fn error_messages_escape_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let missing = raw_path(dir.path(), &[&b"missing-"[..], CONTROLS].concat());
    let corrupt = raw_path(dir.path(), &[&b"corrupt-"[..], CONTROLS, b".gz"].concat());
    let gz = gzip(&Rec::default().line().repeat(2000));
    std::fs::write(&corrupt, &gz[..gz.len() / 2]).unwrap();
    let policy = raw_path(dir.path(), &[&b"policy-"[..], CONTROLS, b".toml"].concat());
    for args in [
        vec![missing.as_os_str()],
        vec![corrupt.as_os_str()],
        vec![
            std::ffi::OsStr::new("check"),
            std::ffi::OsStr::new("--policy"),
            policy.as_os_str(),
            corrupt.as_os_str(),
        ],
        vec![std::ffi::OsStr::new("policy"), policy.as_os_str()],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}");
        assert_terminal_safe("stderr", &err);
        assert_shows_escaped("stderr", &err);
    }
}

#[test]
fn html_shows_hostile_values_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = [&b"<script>alert(1)</script>"[..], CONTROLS].concat();
    let requester = b"\"><img/src=x/onerror=alert(1)>";
    let log = lines(&[
        Rec {
            bucket: &bucket,
            requester,
            ..Rec::default()
        },
        Rec {
            bucket: &bucket,
            requester,
            time: "10:30",
            ip: "52.79.54.241",
            ..Rec::default()
        },
    ]);
    std::fs::write(dir.path().join("x.log"), log).unwrap();
    let (code, out, _) = run(&[
        std::ffi::OsStr::new("--format"),
        std::ffi::OsStr::new("html"),
        dir.path().as_os_str(),
    ]);
    assert_eq!(code, 0);
    assert_terminal_safe("html", &out);
    let html = String::from_utf8(out).unwrap();
    assert!(!html.contains("<script"), "a script element in the page");
    assert!(!html.contains("<img"), "an image element in the page");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img/src=x/onerror=alert(1)&gt;"));
    assert!(html.contains(r"\x1b[2J\x0b\x08\x07\u{9b}31m\u{202e}"));
}

/// A CSV document's rows, header included; the reader checks the quoting.
fn csv_rows(out: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(out)
        .records()
        .map(|r| {
            r.expect("the CSV parses")
                .iter()
                .map(String::from)
                .collect()
        })
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> Vec<String> {
    let i = rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name}"));
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

#[test]
fn csv_cells_are_neutralised_and_quoted_correctly() {
    let dir = tempfile::tempdir().unwrap();
    // A file name with a newline, a comma and a quote: it is the `source` cell.
    let path = raw_path(dir.path(), b"we\"ird,\nname.log");
    let log = lines(&[
        Rec {
            bucket: b"=cmd|'/Ccalc'!A0",
            requester: b"@SUM(1+1)",
            key: b"+a,\"b\"",
            referer: b"\tx",
            user_agent: b"-2+3, \"quoted\"",
            ip: "52.79.54.241",
            ..Rec::default()
        },
        Rec {
            bucket: b"=cmd|'/Ccalc'!A0",
            requester: b"=1+1",
            key: "\u{ff1d}HYPERLINK".as_bytes(),
            user_agent: "  =1+1 bell\x07 csi\u{9b}2J rlo\u{202e}".as_bytes(),
            ip: "52.79.54.241",
            time: "11:00",
            ..Rec::default()
        },
    ]);
    std::fs::write(&path, log).unwrap();
    let source = path.to_str().unwrap();

    let csv_of = |args: &[&str], raw: bool| {
        let mut cmd = vpce();
        cmd.args(args);
        if raw {
            cmd.arg("--raw-csv");
        }
        let out = cmd.arg(&path).output().unwrap();
        assert!(out.status.code() == Some(0) || out.status.code() == Some(1));
        csv_rows(&out.stdout)
    };
    let formula = |c: &String| {
        c.trim_start_matches(' ')
            .starts_with(['=', '+', '-', '@', '\t', '\r', '\u{ff1d}'])
    };
    let controls = |c: &String| {
        c.chars().any(|c| {
            c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
    };

    for raw in [false, true] {
        let p = |s: &str| if raw { s.to_string() } else { format!("'{s}") };
        // Protected cells show controls escaped, as the terminal does.
        let esc = |plain: &str, escaped: &str| {
            if raw {
                plain.to_string()
            } else {
                escaped.to_string()
            }
        };
        let report = csv_of(&["--format", "csv"], raw);
        assert_eq!(column(&report, "bucket"), vec![p("=cmd|'/Ccalc'!A0"); 2]);

        let requests = csv_of(&["requests", "--format", "csv"], raw);
        assert_eq!(
            column(&requests, "key"),
            [p("+a,\"b\""), p("\u{ff1d}HYPERLINK")]
        );
        assert_eq!(column(&requests, "requester"), [p("@SUM(1+1)"), p("=1+1")]);
        assert_eq!(column(&requests, "referer")[0], esc("\tx", r"\x09x"));
        assert_eq!(column(&requests, "user_agent")[0], p("-2+3, \"quoted\""));
        assert_eq!(
            column(&requests, "user_agent")[1],
            p(&esc(
                "  =1+1 bell\x07 csi\u{9b}2J rlo\u{202e}",
                r"  =1+1 bell\x07 csi\u{9b}2J rlo\u{202e}"
            ))
        );
        let shown_source = esc(source, &source.replace('\n', r"\x0a"));
        assert_eq!(
            column(&requests, "source"),
            [shown_source.clone(), shown_source.clone()]
        );
        assert_eq!(
            column(&requests, "request_uri")[0],
            "GET /+a,\"b\" HTTP/1.1"
        );

        let check = csv_of(&["check", "--require-private", "*", "--format", "csv"], raw);
        assert_eq!(column(&check, "bucket"), vec![p("=cmd|'/Ccalc'!A0"); 2]);
        assert_eq!(
            column(&check, "key"),
            [p("+a,\"b\""), p("\u{ff1d}HYPERLINK")]
        );
        assert_eq!(column(&check, "requester"), [p("@SUM(1+1)"), p("=1+1")]);
        assert_eq!(
            column(&check, "source"),
            [shown_source.clone(), shown_source.clone()]
        );

        if !raw {
            for rows in [&report, &requests, &check] {
                assert!(rows.iter().flatten().all(|c| !formula(c)), "{rows:?}");
                assert!(rows.iter().flatten().all(|c| !controls(c)), "{rows:?}");
            }
        }
    }
}

#[test]
fn json_stays_valid_for_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_path(dir.path(), b"log-\xff.log");
    let log = lines(&[Rec {
        bucket: b"bkt\xff",
        key: b"k\xc3(",
        requester: b"\xfe\xffwho",
        user_agent: b"ua \xe2\x80 \"\x00\"",
        ip: "52.79.54.241",
        ..Rec::default()
    }]);
    std::fs::write(&path, log).unwrap();

    let r = util::report_json(&[dir.path().to_str().unwrap()], 0);
    assert_eq!(r["buckets"][0]["bucket"], "bkt\u{fffd}");
    assert_eq!(
        r["buckets"][0]["accounts"][0]["account"],
        "\u{fffd}\u{fffd}who"
    );

    // A name that is not UTF-8 cannot be typed as an argument, but a walked folder has it.
    let d = dir.path().to_str().unwrap();
    let (code, out, _) = run(args!["requests", "--format", "ndjson", d]);
    assert_eq!(code, 0);
    let row: Value = serde_json::from_slice(&out).expect("NDJSON line parses");
    assert_eq!(row["key"], "k\u{fffd}(");
    assert_eq!(row["user_agent"], "ua \u{fffd} \"\u{0}\"");
    assert_eq!(
        row["source"],
        raw_path(dir.path(), "log-\u{fffd}.log".as_bytes())
            .to_str()
            .unwrap()
    );

    let (code, out, _) = run(args![
        "check",
        "--require-private",
        "*",
        "--format",
        "json",
        d
    ]);
    assert_eq!(code, 1);
    let c = util::check_doc(&out);
    assert_eq!(c["violations"][0]["bucket"], "bkt\u{fffd}");
    assert_eq!(c["violations"][0]["requester"], "\u{fffd}\u{fffd}who");
}

#[test]
fn corrupt_gzip_is_named_counted_up_to_the_damage_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = Rec::default().line();
    let gz = gzip(&good.repeat(5000));
    let truncated = dir.path().join("a-truncated.gz");
    std::fs::write(&truncated, &gz[..gz.len() / 2]).unwrap();
    let corrupt = dir.path().join("b-corrupt.gz");
    let mut damaged = gz.clone();
    let middle = damaged.len() / 2;
    for b in &mut damaged[middle..middle + 64] {
        *b = !*b;
    }
    std::fs::write(&corrupt, damaged).unwrap();
    std::fs::write(dir.path().join("c-fine.log"), good.repeat(7)).unwrap();
    let d = dir.path().to_str().unwrap();

    let r = util::report_json(&[d], 2);
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    let mut got_to = Vec::new();
    for (e, name) in errors.iter().zip(["a-truncated.gz", "b-corrupt.gz"]) {
        assert!(e["source"].as_str().unwrap().ends_with(name), "{e}");
        let message = e["message"].as_str().unwrap();
        let n: u64 = message
            .strip_prefix("read failed after line ")
            .and_then(|m| m.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("how far it got: {message}"));
        assert!(n > 0 && n < 5000, "{message}");
        got_to.push(n);
    }
    let s = &r["summary"];
    // Every line decoded before the damage is counted, and the fine file is read; the
    // truncated stream is intact up to its cut.
    assert_eq!(s["lines"].as_u64().unwrap(), got_to[0] + got_to[1] + 7);
    assert!(s["parsed"].as_u64().unwrap() >= got_to[0] + 7);
    assert_eq!(s["inputs"], 3);

    let (code, _, err) = run(args!["requests", "--format", "ndjson", d]);
    assert_eq!(code, 2);
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains("a-truncated.gz: read failed after line "),
        "{err}"
    );
    assert!(
        err.contains("b-corrupt.gz: read failed after line "),
        "{err}"
    );
    let (code, _, _) = run(args!["check", "--require-private", "*", d]);
    assert_eq!(code, 2);
}

#[test]
fn unreadable_inputs_are_named_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("a.log"), Rec::default().line()).unwrap();
    // A link to nothing inside a folder that is walked (with --follow), and one given
    // by name.
    symlink(dir.path().join("gone"), logs.join("b-dangling.log")).unwrap();
    symlink(dir.path().join("gone"), dir.path().join("dangling.log")).unwrap();
    // A file that opens but fails to read, for root as for anyone: reading address 0
    // of a process's memory is an I/O error.
    let mem = "/proc/self/mem";
    let r = util::report_json(
        &[
            "--follow",
            mem,
            dir.path().join("dangling.log").to_str().unwrap(),
            logs.to_str().unwrap(),
        ],
        2,
    );
    assert_eq!(r["summary"]["parsed"], 1);
    let errors: Vec<(String, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|(s, m)| s.ends_with("/dangling.log") && m == "no such file or directory"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(s, m)| s.ends_with("logs/b-dangling.log") && m == "no such file or directory"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(s, m)| s == mem && m.contains("Input/output error")),
        "{errors:?}"
    );
}

#[test]
fn empty_files_and_folders_give_a_clean_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("empty/nested")).unwrap();
    std::fs::write(dir.path().join("zero-bytes.log"), b"").unwrap();
    std::fs::write(dir.path().join("blank-lines.log"), b"\n\n \r\n").unwrap();
    std::fs::write(dir.path().join("empty.gz"), gzip(b"")).unwrap();
    let d = dir.path().to_str().unwrap();
    let r = util::report_json(&[d], 0);
    let s = &r["summary"];
    assert_eq!(
        (s["lines"].as_u64(), s["inputs"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(r["buckets"], serde_json::json!([]));
    assert_eq!(r["errors"], serde_json::json!([]));
    let (code, out, err) = run(args![d]);
    assert_eq!(code, 0);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("no requests matched"));
    assert!(err.is_empty());
    let (code, out, _) = run(args!["requests", "--format", "ndjson", d]);
    assert_eq!((code, out.len()), (0, 0));
    // Nothing read is no evidence: the check fails, unless silence is expected.
    let (code, _, _) = run(args!["check", "--require-private", "*", d]);
    assert_eq!(code, 1);
    let (code, _, _) = run(args![
        "check",
        "--require-private",
        "*",
        "--allow-no-evidence",
        d
    ]);
    assert_eq!(code, 0);
}

#[test]
fn a_binary_file_is_rejected_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    // 2 MB of deterministic noise: NULs, newlines, high bytes, gzip-less.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..2 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let path = dir.path().join("noise.bin");
    std::fs::write(&path, &noise).unwrap();
    let r = util::report_json(&[path.to_str().unwrap()], 0);
    let s = &r["summary"];
    let non_blank = noise
        .split(|&b| b == b'\n')
        .filter(|l| !vpce_audit::parse::trim_end(l).is_empty())
        .count() as u64;
    assert_eq!(s["lines"].as_u64(), Some(non_blank));
    assert_eq!(s["rejected"].as_u64(), Some(non_blank));
    assert_eq!(s["parsed"], 0);
    let (code, _, err) = run(args![path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_terminal_safe("stderr", &err);
}

#[test]
fn a_symlink_loop_is_a_warning_when_every_file_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("sub")).unwrap();
    std::fs::write(logs.join("sub/a.log"), Rec::default().line()).unwrap();
    symlink(&logs, logs.join("sub/loop")).unwrap();
    let r = util::report_json(&["--follow", logs.to_str().unwrap()], 0);
    assert_eq!(r["summary"]["parsed"], 1);
    assert_eq!(r["errors"], serde_json::json!([]));
    assert_eq!(
        r["warnings"][0]["message"],
        "symbolic link loop, not followed (the files it leads to are read once)"
    );
    assert!(r["warnings"][0]["source"]
        .as_str()
        .unwrap()
        .ends_with("sub/loop"));
    let (code, _, err) = run(args!["--follow", logs.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(String::from_utf8_lossy(&err).contains("vpce-audit: warning: "));
}

/// A log folder with a link to a file that looks like `~/.aws/credentials`.
fn folder_with_a_link_to_credentials() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let home = dir.path().join("home/.aws");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("credentials"),
        format!(
            "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret}\n"
        ),
    )
    .unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("a.log"), Rec::default().line()).unwrap();
    symlink(home.join("credentials"), logs.join("b.log")).unwrap();
    (dir, logs, secret.to_string())
}

#[test]
fn links_inside_a_folder_are_not_followed_without_follow() {
    let (_dir, logs, secret) = folder_with_a_link_to_credentials();
    let folder = logs.to_str().unwrap();
    let r = util::report_json(&[folder], 0);
    assert_eq!(
        [
            &r["summary"]["inputs"],
            &r["summary"]["lines"],
            &r["summary"]["rejected"]
        ],
        [1, 1, 0]
    );
    assert_eq!(r["warnings"].as_array().unwrap().len(), 1);
    assert!(r["warnings"][0]["source"]
        .as_str()
        .unwrap()
        .ends_with("b.log"));
    assert!(r["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not followed (give --follow"));
    let (code, out, err) = run(args![folder]);
    assert_eq!(code, 0);
    let all = [out, err].concat();
    assert!(!String::from_utf8_lossy(&all).contains("AKIA"));
    assert!(!String::from_utf8_lossy(&all).contains(&secret[..4]));
    // A link named on the command line is read: the user chose it.
    let named = logs.join("b.log");
    let r = util::report_json(&[named.to_str().unwrap()], 0);
    assert_eq!(r["summary"]["rejected"], 3);
}

#[test]
fn rejections_never_quote_more_than_the_first_bytes_of_a_field() {
    let (_dir, logs, secret) = folder_with_a_link_to_credentials();
    let folder = logs.to_str().unwrap();
    let (code, out, err) = run(args![
        "--follow",
        "--show-rejects",
        "10",
        "--format",
        "json",
        folder
    ]);
    assert_eq!(code, 0);
    let r = util::report_doc(&out);
    assert_eq!(r["summary"]["rejected"], 3);
    // The secret is the third field of its line: its first 16 bytes at most are shown,
    // never the 24 after them, in any output.
    let tail = &secret[16..];
    let json = String::from_utf8_lossy(&out);
    let stderr = String::from_utf8_lossy(&err);
    for text in [&json, &stderr] {
        assert!(!text.contains(tail), "{text}");
        assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"), "{text}");
    }
    let reasons: Vec<&str> = r["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons[2],
        "time field (#3): 'wJalrXUtnFEMI/K7…' is not a time like [06/Feb/2019:00:00:38 +0000]"
    );
    let (_, out, _) = run(args!["--follow", "--format", "html", folder]);
    let html = String::from_utf8_lossy(&out);
    assert!(!html.contains(tail) && !html.contains("AKIAIOSFODNN7EXAMPLE"));
}

#[test]
fn a_fifo_or_socket_inside_a_folder_is_an_input_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), Rec::default().line()).unwrap();
    let fifo = dir.path().join("b.fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("c.sock")).unwrap();
    let r = util::report_json(&[dir.path().to_str().unwrap()], 2);
    assert_eq!(r["summary"]["parsed"], 1);
    let errors: Vec<(String, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["source"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (
                "b.fifo".to_string(),
                "a FIFO (named pipe), not a regular file: not read".to_string()
            ),
            (
                "c.sock".to_string(),
                "a socket, not a regular file: not read".to_string()
            ),
        ]
    );
}

/// Runs the binary with `feed` writing its standard input, and returns its exit code,
/// stdout and peak resident memory in KiB ([`util::run_measured`]).
fn run_fed(
    args: &[&str],
    feed: impl FnOnce(&mut dyn Write) + Send + 'static,
) -> (i32, Vec<u8>, u64) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    cmd.args(args);
    util::run_measured(cmd, Some(Box::new(feed)))
}

#[test]
fn a_100_mb_line_is_rejected_in_bounded_memory() {
    let (code, out, peak_kib) = run_fed(&["report", "--format", "json", "-"], |w| {
        let _ = w.write_all(&Rec::default().line());
        let block = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            if w.write_all(&block).is_err() {
                return;
            }
        }
    });
    assert_eq!(code, 0);
    let r = util::report_doc(&out);
    let s = &r["summary"];
    assert_eq!(
        [&s["lines"], &s["parsed"], &s["rejected"]].map(|v| v.as_u64().unwrap()),
        [2, 1, 1]
    );
    assert_eq!(
        r["rejections"][0]["reason"],
        "line of 104857600 bytes is longer than the 64 KiB limit for a record"
    );
    assert_eq!(r["rejections"][0]["line"], 2);
    // Buffering the line would take over 100 MB; the reader holds 320 KiB.
    assert!(peak_kib < 32 * 1024, "peak RSS {peak_kib} KiB");
}

/// Two million requests from two million distinct addresses (and as many requesters),
/// fed through a pipe as they are generated. The limits — 1024 exact addresses per
/// window, 100 000 tracked public addresses, 10 000 requesters per bucket — are what
/// bound the memory; two million is twenty times the largest of them, and as many as
/// a debug build reads in a few seconds (ten million behave the same, only slower).
#[test]
fn millions_of_distinct_addresses_fit_in_bounded_memory_and_are_flagged_approximate() {
    const N: u32 = 2_000_000;
    let (code, out, peak_kib) = run_fed(&["report", "--format", "json", "-"], |w| {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
        for i in 0..N {
            // 52.0.0.0 + i: all public, all distinct; 24 hourly windows.
            let ip = std::net::Ipv4Addr::from(0x3400_0000 + i);
            let line = format!(
                "o bkt [09/May/2022:{:02}:00:00 +0000] {ip} arn:aws:iam::123456789012:user/u{i} I REST.GET.OBJECT k - 200 - 1 1 1 1 - -\n",
                i / (N / 24 + 1)
            );
            if w.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
        let _ = w.flush();
    });
    assert_eq!(code, 0);
    let r = util::report_doc(&out);
    let b = &r["buckets"][0];
    assert_eq!(b["requests"], N);
    assert_eq!(
        b["approximations"],
        serde_json::json!([
            "distinct_ips",
            "top_public_ips",
            "requesters",
            "requesters.top_public_ips"
        ])
    );
    let estimate = b["distinct_public_ips"].as_f64().unwrap();
    assert!(
        (estimate / f64::from(N) - 1.0).abs() < 0.05,
        "estimate {estimate}"
    );
    assert!(peak_kib < 150 * 1024, "peak RSS {peak_kib} KiB");
}

/// Reads the first line of `args`' output, then closes the pipe: the run must end
/// quietly with exit status `code`.
fn assert_quiet_on_closed_pipe(args: &[&str], code: i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vpce-audit"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}");
    assert!(
        out.stderr.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_closed_pipe_ends_every_long_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // 6000 one-minute windows: every output is far larger than a pipe's buffer.
    let mut log = Vec::new();
    for m in 0..6000 {
        let time = format!(
            "{:02}/May/2022:{:02}:{:02}",
            9 + m / 1440,
            m / 60 % 24,
            m % 60
        );
        log.extend(
            Rec::default()
                .line()
                .replace_all(b"09/May/2022:10:00", time.as_bytes()),
        );
    }
    let path = dir.path().join("long.log");
    std::fs::write(&path, &log).unwrap();
    let public_path = dir.path().join("public.log");
    std::fs::write(
        &public_path,
        log.replace_all(b" 10.0.0.1 ", b" 52.79.54.241 "),
    )
    .unwrap();
    let public = public_path.to_str().unwrap();
    let p = path.to_str().unwrap();
    for format in ["csv", "json", "table"] {
        assert_quiet_on_closed_pipe(&["report", "--interval", "1m", "--format", format, p], 0);
    }
    for format in ["csv", "table", "ndjson"] {
        assert_quiet_on_closed_pipe(&["requests", "--format", format, p], 0);
    }
    // `check` keeps its verdict: 6000 violations are exit status 1 even unread.
    for format in ["csv", "json", "table"] {
        assert_quiet_on_closed_pipe(
            &[
                "check",
                "--require-private",
                "*",
                "--format",
                format,
                public,
            ],
            1,
        );
    }
}

#[test]
fn policy_text_is_escaped_too() {
    let dir = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string(util::testdata("policies/blog-post.json"))
        .unwrap()
        .replace(
            "Access-to-specific-VPCE-only",
            r"deny\u001b[2J\u000b\u0008\u0007\u009b31m\u202e",
        )
        .replace("shared-data-prod", r"evil\u001b[2J");
    let path = dir.path().join("policy.json");
    std::fs::write(&path, policy).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, _) = run(args!["policy", p]);
    assert_eq!(code, 1, "the blog post's policy has gaps");
    assert_terminal_safe("policy table", &out);
    assert_shows_escaped("policy table", &out);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains(r"bucket policy of evil\x1b[2J"));
    let (code, out, _) = run(args!["policy", "--format", "json", p]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["bucket"], "evil\u{1b}[2J");
}

#[test]
fn athena_results_are_escaped_like_logs() {
    let dir = tempfile::tempdir().unwrap();
    // The bucket name as Athena writes it: quoted, inner quotes doubled.
    let results = std::fs::read_to_string(util::testdata("athena/blog-post-15m.csv"))
        .unwrap()
        .replace(
            "\"shared-data-prod\"",
            "\"=evil\u{1b}[2J\r\u{202e}\"\"q\"\"\"",
        );
    let path = dir.path().join("results.csv");
    std::fs::write(&path, results).unwrap();
    let p = path.to_str().unwrap();
    let hostile = "=evil\u{1b}[2J\r\u{202e}\"q\"";

    let (code, out, err) = run(args!["report", "--from-athena", p]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    assert_terminal_safe("table", &out);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains(r#"=evil\x1b[2J\x0d\u{202e}"q""#));

    let (code, out, _) = run(args!["report", "--from-athena", "--format", "csv", p]);
    assert_eq!(code, 0);
    let rows = csv_rows(&out);
    let cell = column(&rows, "bucket");
    assert!(
        cell.contains(&r#"'=evil\x1b[2J\x0d\u{202e}"q""#.to_string()),
        "{cell:?}"
    );

    let (code, out, _) = run(args!["report", "--from-athena", "--format", "json", p]);
    assert_eq!(code, 0);
    let r = util::report_doc(&out);
    util::bucket(&r, hostile);

    let (code, out, _) = run(args!["report", "--from-athena", "--format", "html", p]);
    assert_eq!(code, 0);
    assert_terminal_safe("html", &out);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains(r"=evil\x1b[2J\x0d\u{202e}&quot;q&quot;"));
}

/// `replace_all` for byte strings.
trait ReplaceAll {
    fn replace_all(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl ReplaceAll for Vec<u8> {
    fn replace_all(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        let mut i = 0;
        while i < self.len() {
            if self[i..].starts_with(from) {
                out.extend(to);
                i += from.len();
            } else {
                out.push(self[i]);
                i += 1;
            }
        }
        out
    }
}

/// Runs the binary with its standard input read from `stdin`; returns (exit code,
/// stdout, stderr).
fn run_with_stdin(args: &[&str], stdin: &str) -> (i32, Vec<u8>, Vec<u8>) {
    let out = util::vpce_command()
        .args(args)
        .stdin(std::fs::File::open(stdin).unwrap())
        .output()
        .unwrap();
    (out.status.code().expect("exited"), out.stdout, out.stderr)
}

#[test]
fn side_inputs_larger_than_their_limit_are_errors_naming_the_limit() {
    let logs = util::testdata("logs");
    let logs = logs.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["policy", "/dev/zero"],
            "reading bucket policy /dev/zero: larger than 1 MiB, the limit for a bucket policy",
        ),
        (
            &["check", "--policy", "/dev/zero", logs],
            "reading --policy /dev/zero: larger than 1 MiB, the limit for a rules file",
        ),
        (
            &[
                "check",
                "--require-private",
                "x",
                "--bucket-policy",
                "/dev/zero",
                logs,
            ],
            "reading bucket policy /dev/zero: larger than 1 MiB, the limit for a bucket policy",
        ),
        (
            &["report", "--from-athena", "/dev/zero"],
            "reading /dev/zero: reading Athena results: a row longer than 64 KiB",
        ),
    ];
    for (args, said) in cases {
        let (code, _, err) = run(&args.iter().map(std::ffi::OsStr::new).collect::<Vec<_>>());
        let err = String::from_utf8_lossy(&err);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
    }
    // Standard input, endless: cut off too.
    let (code, _, err) = run_with_stdin(&["policy", "-"], "/dev/zero");
    assert_eq!(code, 2);
    assert!(String::from_utf8_lossy(&err).contains(
        "reading the bucket policy from standard input: larger than 1 MiB, the limit for a bucket policy"
    ));
    // A state that is not one (/dev/full reads as endless zeros) is refused at once.
    let (code, _, err) = run(args![
        "check",
        "--require-private",
        "x",
        "--state",
        "/dev/full",
        logs
    ]);
    assert_eq!(code, 2);
    assert!(String::from_utf8_lossy(&err)
        .contains("state file /dev/full is not a valid vpce-audit state"));
}

#[test]
fn an_endless_athena_field_is_an_error_in_bounded_memory() {
    let header = std::fs::read_to_string(util::testdata("athena/blog-post-15m.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let (code, out, peak_kib) = run_fed(&["report", "--from-athena", "-"], move |w| {
        let _ = w.write_all(format!("{header}\n\"total\",\"").as_bytes());
        let block = vec![b'x'; 1 << 20];
        for _ in 0..200 {
            if w.write_all(&block).is_err() {
                return;
            }
        }
    });
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(peak_kib < 32 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn athena_counts_that_would_wrap_around_are_an_error_not_a_verdict() {
    // Three windows (two of 2^63 - 1 requests, the most a field holds) add up,
    // wrapped, to the bucket's 2: a "mixed" bucket of almost no requests, had the sums
    // been allowed to wrap.
    let max = i64::MAX.to_string();
    let header = std::fs::read_to_string(util::testdata("athena/blog-post-15m.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let columns: Vec<&str> = header.split(',').map(|c| c.trim_matches('"')).collect();
    // A row of the result: the named columns set, the others empty.
    let row = |values: &[(&str, &str)]| -> String {
        columns
            .iter()
            .map(|c| {
                values
                    .iter()
                    .find(|(name, _)| name == c)
                    .map_or(String::new(), |(_, v)| format!("\"{v}\""))
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let counts = |requests: &str, private: &str, public: &str, allowed: &str| {
        vec![
            ("requests", requests.to_string()),
            ("private", private.to_string()),
            ("private_denied", "0".to_string()),
            ("public", public.to_string()),
            ("internal", "0".to_string()),
            ("public_denied", "0".to_string()),
            ("public_rejected", "0".to_string()),
            ("public_allowed", allowed.to_string()),
            ("distinct_private_ips", "1".to_string()),
            ("distinct_public_ips", "0".to_string()),
            ("bytes_sent", "0".to_string()),
        ]
    };
    let with = |mut base: Vec<(&'static str, String)>, more: &[(&'static str, &str)]| {
        base.extend(more.iter().map(|(k, v)| (*k, v.to_string())));
        row(&base
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>())
    };
    let rows = [
        with(
            counts("2", "1", "1", "1"),
            &[
                ("kind", "total"),
                ("first_epoch", "0"),
                ("last_epoch", "7200"),
                ("lines", "2"),
                ("rejected", "0"),
                ("inputs", "1"),
                ("interval_seconds", "3600"),
                ("private_ranges", "10.0.0.0/8"),
                ("time_zone", "UTC"),
            ],
        ),
        with(
            counts("2", "1", "1", "1"),
            &[
                ("kind", "bucket"),
                ("bucket", "b"),
                ("first_epoch", "0"),
                ("last_epoch", "7200"),
            ],
        ),
        with(
            counts(&max, &max, "0", "0"),
            &[
                ("kind", "window"),
                ("bucket", "b"),
                ("window_epoch", "0"),
                ("first_epoch", "0"),
                ("last_epoch", "10"),
            ],
        ),
        with(
            counts(&max, &max, "0", "0"),
            &[
                ("kind", "window"),
                ("bucket", "b"),
                ("window_epoch", "3600"),
                ("first_epoch", "3600"),
                ("last_epoch", "3600"),
            ],
        ),
        with(
            counts("4", "3", "1", "1"),
            &[
                ("kind", "window"),
                ("bucket", "b"),
                ("window_epoch", "7200"),
                ("first_epoch", "7200"),
                ("last_epoch", "7200"),
            ],
        ),
    ];
    let csv = format!("{header}\n{}\n", rows.join("\n"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrapped.csv");
    std::fs::write(&path, csv).unwrap();
    let (code, out, err) = run(args!["report", "--from-athena", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{}", String::from_utf8_lossy(&out));
    assert!(String::from_utf8_lossy(&err)
        .contains("bucket \"b\": its windows add up to more requests or bytes than 64 bits hold"));
}

#[test]
fn state_counters_that_would_wrap_around_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let logs = util::testdata("logs");
    let state = dir.path().join("state.json");
    let s = state.to_str().unwrap();
    let base = [
        "check",
        "--require-private",
        "shared-data-prod",
        "--state",
        s,
    ];
    let (code, _, err) = run(&[&base[..], &[logs.to_str().unwrap()]]
        .concat()
        .iter()
        .map(std::ffi::OsStr::new)
        .collect::<Vec<_>>());
    assert_eq!(code, 1, "{}", String::from_utf8_lossy(&err));
    // Counts near 2^64 in the file (consistent, so the file loads), then a new log.
    let mut v: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let c = &mut v["buckets"]["shared-data-prod"];
    let n = u64::MAX;
    c["requests"] = n.into();
    c["private"] = (n - c["public"].as_u64().unwrap() - c["internal"].as_u64().unwrap()).into();
    std::fs::write(&state, serde_json::to_vec(&v).unwrap()).unwrap();
    let more = dir.path().join("more.log");
    std::fs::write(
        &more,
        Rec {
            bucket: b"shared-data-prod",
            ..Rec::default()
        }
        .line(),
    )
    .unwrap();
    let (code, _, err) = run(&[&base[..], &[more.to_str().unwrap()]]
        .concat()
        .iter()
        .map(std::ffi::OsStr::new)
        .collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the counters of bucket \"shared-data-prod\" would overflow"),
        "{err}"
    );
    // Counts that do not hold together are a corrupt state, not a verdict.
    c_mut(&mut v)["requests"] = 5.into();
    std::fs::write(&state, serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, _, err) = run(&[&base[..], &[more.to_str().unwrap()]]
        .concat()
        .iter()
        .map(std::ffi::OsStr::new)
        .collect::<Vec<_>>());
    assert_eq!(code, 2);
    assert!(String::from_utf8_lossy(&err).contains("do not add up"));
}

fn c_mut(v: &mut Value) -> &mut Value {
    &mut v["buckets"]["shared-data-prod"]
}

#[test]
fn error_messages_keep_their_lines_say_each_thing_once_and_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let logs = util::testdata("logs");
    let logs = logs.to_str().unwrap();
    let toml = dir.path().join("rules.toml");
    std::fs::write(&toml, "[[bucket]]\nname = \"x\"\nbad = \n").unwrap();
    let (code, _, err) = run(args!["check", "--policy", toml.to_str().unwrap(), logs]);
    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, 2);
    assert!(!err.contains(r"\x0a"), "{err}");
    assert_eq!(err.matches("TOML parse error").count(), 1, "{err}");
    assert!(err.contains("\n3 | bad = \n"), "{err}");

    let json = dir.path().join("policy.json");
    std::fs::write(&json, "{\"Statement\": [").unwrap();
    let (code, _, err) = run(args!["policy", json.to_str().unwrap()]);
    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, 2);
    assert_eq!(err.matches("EOF while parsing").count(), 1, "{err}");

    let (code, _, err) = run(args![
        "report",
        "--from-athena",
        dir.path().to_str().unwrap()
    ]);
    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("reading {}", dir.path().display())),
        "{err}"
    );
}

#[test]
fn a_byte_order_mark_before_a_policy_or_rules_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string(util::testdata("policies/enforced.json")).unwrap();
    let with_bom = dir.path().join("policy.json");
    std::fs::write(&with_bom, format!("\u{feff}{policy}")).unwrap();
    let (code, _, err) = run(args!["policy", with_bom.to_str().unwrap()]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "\u{feff}[[bucket]]\nname = \"shared-data-prod\"\n").unwrap();
    let logs = util::testdata("logs");
    let (code, _, err) = run(args![
        "check",
        "--policy",
        rules.to_str().unwrap(),
        "--bucket-policy",
        with_bom.to_str().unwrap(),
        logs.to_str().unwrap()
    ]);
    assert_eq!(code, 1, "{}", String::from_utf8_lossy(&err));
}

#[test]
fn help_version_and_completions_that_cannot_be_written_exit_2_with_a_message() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for args in [
        &["completions", "bash"][..],
        &["--help"],
        &["--version"],
        &["check", "--help"],
    ] {
        let out = util::vpce_command()
            .args(args)
            .stdout(full())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err,
            "vpce-audit: error: writing to standard output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

#[test]
fn help_version_and_completions_to_a_closed_pipe_exit_quietly() {
    for args in [&["completions", "bash"][..], &["--help"], &["--version"]] {
        let mut child = util::vpce_command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before anything is written: every write fails with a broken pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn threads_are_bounded_with_a_clear_error() {
    let logs = util::testdata("logs");
    let logs = logs.to_str().unwrap();
    for n in ["1025", "100000", "1000000000"] {
        let (code, _, err) = run(args!["--threads", n, logs]);
        assert_eq!(code, 2);
        assert!(
            String::from_utf8_lossy(&err).contains("is not in 0..=1024"),
            "{}",
            String::from_utf8_lossy(&err)
        );
    }
    for n in ["0", "1", "1024"] {
        let r = util::report_json(&["--threads", n, logs], 0);
        assert_eq!(r["summary"]["parsed"], 26);
    }
}

#[test]
fn a_time_past_the_year_9999_in_utc_is_rejected_not_printed_as_plus_10000() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("far.log");
    let far = Rec::default()
        .line()
        .replace_all(b"09/May/2022:10:00:00 +0000", b"31/Dec/9999:23:30:00 -0100");
    let last = Rec::default()
        .line()
        .replace_all(b"09/May/2022:10:00:00 +0000", b"31/Dec/9999:23:59:59 +0000");
    std::fs::write(&path, [far, last].concat()).unwrap();
    let r = util::report_json(&[path.to_str().unwrap()], 0);
    assert_eq!(
        rejections(&r),
        [(
            1,
            "time field (#3): '[31/Dec/9999:23:…' is outside the years 0000 to 9999 in UTC"
                .to_string()
        )]
    );
    assert_eq!(r["summary"]["last"], "9999-12-31T23:59:59Z");
    // What the report prints, --since reads back.
    let (code, _, err) = run(args![
        "--since",
        "9999-12-31T23:59:59Z",
        path.to_str().unwrap()
    ]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let (code, _, err) = run(args![
        "--until",
        "9999-12-31T23:59:59-01:00",
        path.to_str().unwrap()
    ]);
    assert_eq!(code, 2);
    assert!(String::from_utf8_lossy(&err).contains("outside the years 0000 to 9999"));
}

#[test]
fn a_leap_second_and_fractional_bounds_follow_one_rule() {
    // A record at 09:59:59, the one at 10:00:00 written as 09:59:60, one at 10:00:01.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leap.log");
    let before = Rec::default()
        .line()
        .replace_all(b"09/May/2022:10:00:00", b"09/May/2022:09:59:59");
    let leap = Rec::default()
        .line()
        .replace_all(b"09/May/2022:10:00:00", b"09/May/2022:09:59:60");
    let next = Rec::default()
        .line()
        .replace_all(b"09/May/2022:10:00:00", b"09/May/2022:10:00:01");
    std::fs::write(&path, [before, leap, next].concat()).unwrap();
    let p = path.to_str().unwrap();
    let matched = |args: &[&str]| {
        let r = util::report_json(&[args, &[p]].concat(), 0);
        r["summary"]["matched"].as_u64().unwrap()
    };
    // :60 is 10:00:00 in the log and in a bound alike.
    assert_eq!(matched(&["--since", "2022-05-09T09:59:60Z"]), 2);
    assert_eq!(matched(&["--until", "2022-05-09T09:59:60Z"]), 1);
    assert_eq!(
        matched(&[
            "--since",
            "2022-05-09T10:00:00Z",
            "--until",
            "2022-05-09T10:00:01Z"
        ]),
        1
    );
    // A fraction rounds up: until 10:00:00.5 keeps the record of 10:00:00, since
    // 10:00:00.5 leaves it out.
    assert_eq!(matched(&["--until", "2022-05-09T10:00:00.5Z"]), 2);
    assert_eq!(matched(&["--since", "2022-05-09T10:00:00.5Z"]), 1);
    let r = util::report_json(&["--until", "2022-05-09T10:00:00.5Z", p], 0);
    assert_eq!(r["summary"]["until"], "2022-05-09T10:00:01Z");
}

#[test]
fn json_outputs_escape_c1_controls_and_bidi_overrides() {
    let (_dir, path) = hostile_logs();
    let p = path.to_str().unwrap();
    let outputs = [
        run(args!["report", "--format", "json", p]).1,
        run(args!["requests", "--format", "ndjson", p]).1,
        run(args![
            "check",
            "--require-private",
            "*",
            "--format",
            "json",
            p
        ])
        .1,
    ];
    for out in outputs {
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains('\u{9b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert!(text.contains(r"\u009b31m\u202e"), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
    }
}
