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
    // only inside itself, and the piece that holds the line's start reads it through.
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
    // Two threads read the bytes at most twice (the pieces' look-ahead, and the line
    // read through); the quadratic search read them sixteen times.
    assert!(
        two < 4.0 * one.max(0.05),
        "2 threads: {two:.2} s of processor time, 1 thread: {one:.2} s"
    );
}
