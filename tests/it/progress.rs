//! End-to-end: the progress bar never reaches a stderr that is not a terminal, and
//! `--quiet` (`-q`) is accepted by every command that reads logs without changing what
//! it writes.

use crate::util::{self, testdata, vpce};

#[test]
fn a_large_input_leaves_a_non_terminal_stderr_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.log");
    let mut logs = Vec::new();
    // About 66 MiB: over the size that gets a bar on a terminal.
    vpce_audit::synth::write_logs(&mut logs, 7, 98_000).unwrap();
    assert!(logs.len() as u64 >= vpce_audit::input::progress::LARGE);
    std::fs::write(&path, &logs).unwrap();
    let path = path.to_str().unwrap();
    for threads in ["1", "2"] {
        let out = vpce()
            .args(["report", "--format", "json", "--threads", threads, path])
            .assert()
            .success()
            .get_output()
            .clone();
        assert!(
            out.stderr.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = util::report_doc(&out.stdout);
        assert_eq!(report["summary"]["parsed"], 98_000);
    }
}

#[test]
fn quiet_is_accepted_and_changes_nothing_but_progress() {
    let logs = testdata("logs");
    let logs = logs.to_str().unwrap();
    for command in [
        &["report", "--format", "json", logs][..],
        &["requests", "--format", "ndjson", logs],
        &["check", "--require-private", "shared-data-*", logs],
    ] {
        let plain = vpce().args(command).output().unwrap();
        if command[..3] == ["report", "--format", "json"] {
            util::report_doc(&plain.stdout);
        }
        for flag in ["--quiet", "-q"] {
            let quiet = vpce().args(command).arg(flag).output().unwrap();
            assert_eq!(
                quiet.status.code(),
                plain.status.code(),
                "{command:?} {flag}"
            );
            assert_eq!(quiet.stdout, plain.stdout, "{command:?} {flag}");
            assert_eq!(quiet.stderr, plain.stderr, "{command:?} {flag}");
        }
    }
}
