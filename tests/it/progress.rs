//! End-to-end: the progress bar never reaches a stderr that is not a terminal, shows on
//! one that is, and `--quiet` (`-q`) hides it there; `--quiet` is accepted by every
//! command that reads logs without changing what it writes.

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

/// On a terminal (a pseudo-terminal, as a person would run it), reading standard input
/// for longer than [`DELAY`](vpce_audit::input::progress::DELAY) draws the bar on
/// stderr; `-q` and `--quiet` leave only the output, for every command that reads logs.
/// (`requests` streams its listing, so it draws the bar only when stdout is not the
/// terminal: here a file.)
#[test]
fn quiet_hides_the_progress_bar_a_terminal_would_show() {
    let bin = env!("CARGO_BIN_EXE_vpce-audit");
    let log = testdata("logs/2022-05-09-10-31-44-7C1A9E3F5B2D4086");
    let log = log.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(vpce_audit::input::progress::DELAY.as_secs() < 3);
    let commands = [
        "report --format json",
        "requests --format ndjson",
        "check --require-private shared-data-* --format json",
    ];
    let runs: Vec<(&str, &str)> = commands
        .iter()
        .flat_map(|c| ["", "-q", "--quiet"].map(|f| (*c, f)))
        .collect();
    // Standard input always gets a bar; held open for 3 s, the run outlasts DELAY.
    let outputs: Vec<(String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .enumerate()
            .map(|(i, (command, flag))| {
                let listing = dir.path().join(format!("listing-{i}"));
                s.spawn(move || {
                    let redirect = if command.starts_with("requests") {
                        format!("> {}", listing.display())
                    } else {
                        String::new()
                    };
                    let text = util::on_a_terminal(
                        &format!("(cat {log}; sleep 3) | {bin} {command} {flag} - {redirect}"),
                        &[],
                    );
                    (text, std::fs::read_to_string(&listing).unwrap_or_default())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // The bar: "{spinner} 4.99 KiB read, {rate}", redrawn in place.
    let bar = " KiB read, ";
    for ((command, flag), (text, listing)) in runs.iter().zip(&outputs) {
        if flag.is_empty() {
            assert!(
                text.contains(bar),
                "{command}: no bar on a terminal: {text:?}"
            );
            continue;
        }
        assert!(!text.contains(bar), "{command} {flag}: {text:?}");
        assert!(
            !text.contains("\x1b[2K"),
            "{command} {flag}: a line cleared"
        );
        // What is left is the output alone.
        if command.starts_with("requests") {
            assert_eq!(text, "vpce-audit: 8 request(s) listed\r\n");
            assert_eq!(listing.lines().count(), 8, "{command} {flag}");
            for line in listing.lines() {
                serde_json::from_str::<serde_json::Value>(line).expect("an NDJSON line");
            }
        } else if command.starts_with("report") {
            util::report_doc(text.as_bytes());
        } else {
            util::check_doc(text.as_bytes());
        }
    }
}
