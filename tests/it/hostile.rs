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

/// ESC[2J (clear screen), CR, backspace, BEL, the C1 CSI (U+009B) and a right-to-left
/// override (U+202E): every way a value could rewrite what a terminal shows.
const CONTROLS: &[u8] = b"\x1b[2J\r\x08\x07\xc2\x9b31m\xe2\x80\xae";

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
        text.contains(r"\x1b[2J\x0d\x08\x07\u{9b}31m\u{202e}"),
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
        err.contains(r"hostile-\x1b[2J\x0d\x08\x07\u{9b}31m\u{202e}.log:3: rejected: remote IP field (#4): '\x1b[2J"),
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
    assert!(html.contains(r"\x1b[2J\x0d\x08\x07\u{9b}31m\u{202e}"));
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
            requester: b"\rcr",
            key: b"plain",
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
    let formula = |c: &String| c.starts_with(['=', '+', '-', '@', '\t', '\r']);

    for raw in [false, true] {
        let p = |s: &str| if raw { s.to_string() } else { format!("'{s}") };
        let report = csv_of(&["--format", "csv"], raw);
        assert_eq!(column(&report, "bucket"), vec![p("=cmd|'/Ccalc'!A0"); 2]);

        let requests = csv_of(&["requests", "--format", "csv"], raw);
        assert_eq!(column(&requests, "key"), [p("+a,\"b\""), "plain".into()]);
        assert_eq!(column(&requests, "requester"), [p("@SUM(1+1)"), p("\rcr")]);
        assert_eq!(column(&requests, "referer")[0], p("\tx"));
        assert_eq!(column(&requests, "user_agent")[0], p("-2+3, \"quoted\""));
        assert_eq!(column(&requests, "source"), [source, source]);
        assert_eq!(
            column(&requests, "request_uri")[0],
            "GET /+a,\"b\" HTTP/1.1"
        );

        let check = csv_of(&["check", "--require-private", "*", "--format", "csv"], raw);
        assert_eq!(column(&check, "bucket"), vec![p("=cmd|'/Ccalc'!A0"); 2]);
        assert_eq!(column(&check, "key"), [p("+a,\"b\""), "plain".into()]);
        assert_eq!(column(&check, "requester"), [p("@SUM(1+1)"), p("\rcr")]);
        assert_eq!(column(&check, "source"), [source, source]);

        if !raw {
            for rows in [&report, &requests, &check] {
                assert!(rows.iter().flatten().all(|c| !formula(c)), "{rows:?}");
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
    // A link to nothing inside a folder that is walked, and one given by name.
    symlink(dir.path().join("gone"), logs.join("b-dangling.log")).unwrap();
    symlink(dir.path().join("gone"), dir.path().join("dangling.log")).unwrap();
    // A file that opens but fails to read, for root as for anyone: reading address 0
    // of a process's memory is an I/O error.
    let mem = "/proc/self/mem";
    let r = util::report_json(
        &[
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
fn a_symlink_loop_is_reported_not_walked() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("sub")).unwrap();
    std::fs::write(logs.join("sub/a.log"), Rec::default().line()).unwrap();
    symlink(&logs, logs.join("sub/loop")).unwrap();
    let r = util::report_json(&[logs.to_str().unwrap()], 2);
    assert_eq!(r["summary"]["parsed"], 1);
    assert_eq!(
        r["errors"][0]["message"],
        "symbolic link loop, not followed"
    );
    assert!(r["errors"][0]["source"]
        .as_str()
        .unwrap()
        .ends_with("sub/loop"));
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
            r"deny\u001b[2J\r\u0008\u0007\u009b31m\u202e",
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
    assert!(column(&rows, "bucket").contains(&format!("'{hostile}")));

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
