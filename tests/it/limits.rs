//! End-to-end: the documented limits hold on inputs of hostile size (README, "Limits";
//! docs/security.md). Inputs are generated inside each test; what is measured is the
//! command's own processor time and peak memory ([`util::measure`]), compared with a
//! generous bound, never with the clock.

use std::fs::File;

use crate::util::{self, vpce_command};

#[test]
fn a_large_file_without_newlines_costs_no_more_with_two_threads_than_with_one() {
    // 1 GiB of zeros (a sparse file: no disk used) without a newline: one over-long
    // line. With pieces of 32 MiB, each piece used to scan to the end of the file for
    // its first line start: 16 times the work of one thread. Each piece now looks
    // only inside itself, and the piece that holds the line's start reads only a
    // look-ahead past its end; the pieces after it measure the line.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-newlines.log");
    File::create(&path).unwrap().set_len(1 << 30).unwrap();
    let run = |threads: &str| {
        let mut cmd = vpce_command();
        cmd.args(["report", "--format", "json", "--threads", threads])
            .arg(&path);
        let m = util::measure(cmd, None);
        assert_eq!(m.code, 0);
        let r = util::report_doc(&m.stdout);
        assert_eq!(r["summary"]["rejected"], 1);
        assert_eq!(
            r["rejections"][0]["reason"],
            "line of 1073741824 bytes is longer than the 64 KiB limit for a record"
        );
        m.cpu_seconds
    };
    let one = run("1");
    let two = run("2");
    // Two threads read each byte about once, as one does (the unit tests count the
    // bytes read); the quadratic search read them sixteen times.
    assert!(
        two < 2.0 * one.max(0.05),
        "2 threads: {two:.2} s of processor time, 1 thread: {one:.2} s"
    );
}

/// One record a line: `buckets` buckets of one request each (every third from a
/// public address), or, with `buckets == 1`, one bucket and a request a minute.
fn many(lines: usize, buckets: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines * 160);
    for i in 0..lines {
        let ip = match i % 3 {
            0 => "10.0.0.1".to_string(),
            1 => format!("52.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
            _ => "-".to_string(),
        };
        let (bucket, minute) = if buckets == 1 { (0, i) } else { (i, 0) };
        let (day, hour, min) = (minute / 1440, minute / 60 % 24, minute % 60);
        let date =
            chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(day as u64);
        out.extend(
            format!(
                "o bucket-{bucket:07} [{}:{hour:02}:{min:02}:00 +0000] {ip} \
                 arn:aws:sts::111122223333:assumed-role/r/i-1 REQ REST.GET.OBJECT k \
                 \"GET /k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"\n",
                date.format("%d/%b/%Y")
            )
            .as_bytes(),
        );
    }
    out
}

/// The peak memory (KiB) of `vpce-audit ARGS FILE`, which must exit with `code`.
fn peak(args: &[&str], file: &std::path::Path, code: i32) -> (u64, Vec<u8>) {
    let mut cmd = vpce_command();
    cmd.args(args).arg("--quiet").arg(file);
    let m = util::measure(cmd, None);
    assert_eq!(m.code, code, "{args:?}");
    (m.peak_kib, m.stdout)
}

/// Fifty thousand buckets of one request each, and one bucket of fifty thousand
/// one-minute windows: every output format of `report` and `check` stays under
/// 100 MB. (A bucket costs about 800 bytes and a window about 700; the figures for a
/// million of each are in the README. Built whole, the reports took 160 to 320 MB
/// here, the tables more.)
#[test]
fn many_buckets_and_many_windows_fit_every_output_format_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let buckets = dir.path().join("buckets.log");
    std::fs::write(&buckets, many(50_000, 50_000)).unwrap();
    let windows = dir.path().join("windows.log");
    std::fs::write(&windows, many(50_000, 1)).unwrap();
    let limit_kib = 100 * 1024;
    for format in ["json", "csv", "table", "html"] {
        for (file, what) in [(&buckets, "buckets"), (&windows, "windows")] {
            let (kib, _) = peak(&["report", "--interval", "1m", "--format", format], file, 0);
            assert!(kib < limit_kib, "report {format}, many {what}: {kib} KiB");
            let check = [
                "check",
                "--require-private",
                "*",
                "--interval",
                "1m",
                "--format",
                format,
            ];
            let (kib, _) = peak(&check, file, 1);
            assert!(kib < limit_kib, "check {format}, many {what}: {kib} KiB");
        }
    }
}

#[test]
fn an_html_page_of_many_buckets_charts_the_hundred_with_the_most_public_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let buckets = dir.path().join("buckets.log");
    // More buckets than the check aggregates while checking: its charts come from a
    // second reading of the hundred buckets with a section.
    // One more bucket, private, a day later: no section, but in the time range.
    let mut log = many(3_000, 3_000);
    log.extend(
        b"o zz-later [02/Jan/2020:00:00:00 +0000] 10.0.0.1 arn:aws:iam::1:user/u REQ \
          REST.GET.OBJECT k \"GET /k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\"\n",
    );
    std::fs::write(&buckets, log).unwrap();
    for args in [
        &["report", "--format", "html"][..],
        &["check", "--require-private", "*", "--format", "html"],
    ] {
        let code = if args[0] == "check" { 1 } else { 0 };
        let (_, out) = peak(args, &buckets, code);
        let html = String::from_utf8(out).unwrap();
        assert_eq!(
            html.matches("<details class=\"bucket\"").count(),
            100,
            "{args:?}"
        );
        assert_eq!(
            html.matches("<svg class=\"timeline\"").count(),
            100,
            "{args:?}"
        );
        assert!(
            html.contains("Of 3,001 buckets, the 100 with the most"),
            "{args:?}: the page says a limit applied"
        );
        assert!(html.contains("the next 2,901 are listed without one"));
        assert!(
            html.contains("2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z"),
            "{args:?}: the time range of every request"
        );
        // Only public buckets (every third) have public traffic: they come first.
        let first = &html[html.find("<a href=\"#b1\">").unwrap()..];
        let name = &first[first.find('>').unwrap() + 1..first.find("</a>").unwrap()];
        let n: usize = name.trim_start_matches("bucket-").parse().unwrap();
        assert_eq!(n % 3, 1, "{name}");
    }
}
